//! Layers with PyTorch's parameter names and initialisations.

mod activation;
mod batch_norm;
mod conv;
mod dropout;
mod embedding;
mod lin_bn_drop;
mod linear;
mod pool;
mod sequential;

pub use activation::{Relu, Relu6};
pub use batch_norm::BatchNorm;
pub use conv::{Conv2d, Conv2dConfig};
pub use dropout::Dropout;
pub use embedding::Embedding;
pub use lin_bn_drop::LinBnDrop;
pub use linear::Linear;
pub use pool::{AdaptiveConcatPool2d, Flatten, MaxPool2d};
pub use sequential::{Layer, Sequential};
