//! Custom ops with their own backward, where candle lacks a fast or a correct one.

pub mod batch_norm;
pub mod dropout;
mod storage;

pub use batch_norm::batch_norm_train;
pub use dropout::dropout;
