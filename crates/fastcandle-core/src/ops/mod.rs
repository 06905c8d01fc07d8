//! Custom ops with their own backward, where candle lacks a fast or a correct one.

pub mod batch_norm;
pub mod cross_entropy;
pub mod dropout;
pub mod running_stats;
mod storage;

pub use batch_norm::batch_norm_train;
pub use cross_entropy::cross_entropy;
pub use dropout::dropout;
pub use running_stats::update_running;
