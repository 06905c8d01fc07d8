//! Layers with PyTorch's parameter names and initialisations.

mod activation;
mod batch_norm;
mod conv;
mod dropout;
mod embedding;
mod layer_norm2d;
mod lin_bn_drop;
mod linear;
mod pool;
mod same_padding;
mod sequential;
mod squeeze_excitation;
mod stochastic_depth;

pub use activation::{Gelu, Relu, Relu6, Silu};
pub use batch_norm::BatchNorm;
pub use conv::{Conv2d, Conv2dConfig};
pub use dropout::Dropout;
pub use embedding::Embedding;
pub use layer_norm2d::LayerNorm2d;
pub use lin_bn_drop::LinBnDrop;
pub use linear::Linear;
pub use pool::{AdaptiveConcatPool2d, Flatten, MaxPool2d};
pub use same_padding::{SamePad, pad_same};
pub use sequential::{Layer, Sequential};
pub use squeeze_excitation::SqueezeExcitation;
pub use stochastic_depth::StochasticDepth;
