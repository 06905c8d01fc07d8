//! Layers with PyTorch's parameter names and initialisations.

mod batch_norm;
mod dropout;
mod embedding;
mod lin_bn_drop;
mod linear;

pub use batch_norm::BatchNorm;
pub use dropout::Dropout;
pub use embedding::Embedding;
pub use lin_bn_drop::LinBnDrop;
pub use linear::Linear;
