//! Custom ops with their own backward, where candle lacks a fast or a correct one.

pub mod activation;
pub mod adaptive_pool;
pub mod batch_norm;
mod batch_norm_runs;
pub mod channel_affine;
pub mod channel_bias;
pub mod conv2d;
pub mod cross_entropy;
pub mod depthwise_conv;
pub mod dropout;
mod gemm;
mod im2col;
pub mod interpolate_bilinear;
pub mod max_pool;
mod max_pool_stem;
mod native;
mod par;
pub mod pixel_shuffle;
mod pointwise_conv;
pub mod running_stats;
mod scratch;
mod side_by_side;
mod simd;
mod storage;
pub mod upsample_nearest;
mod widened;
mod window;
pub mod winograd;

pub use activation::{Act, add_relu, relu, relu6};
pub use adaptive_pool::{adaptive_avg_pool2d, adaptive_max_pool2d};
pub use batch_norm::{batch_norm_train, batch_norm_train_act, batch_norm_train_add_act};
pub use channel_affine::{channel_affine, channel_affine_act};
pub use channel_bias::add_channel_bias;
pub use conv2d::conv2d;
pub use cross_entropy::{cross_entropy, cross_entropy_axis};
pub use depthwise_conv::depthwise_conv2d;
pub use dropout::{drop_path, dropout};
pub use interpolate_bilinear::interpolate_bilinear;
pub use max_pool::max_pool2d;
pub use native::{GENERIC_OPS_ENV, cpu_half, generic_forced, native_f32, set_force_generic};
pub use pixel_shuffle::pixel_shuffle;
pub use running_stats::update_running;
pub use upsample_nearest::upsample_nearest2d;
pub use winograd::{
    WINOGRAD_F4_ENV, set_winograd, set_winograd_f4, winograd_enabled, winograd_f4_enabled,
};
