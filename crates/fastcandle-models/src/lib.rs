//! # fastcandle-models
//!
//! Models and the layers they are built from, with PyTorch's parameter names so that
//! checkpoints load by name. Every model implements [`fastcandle_core::Model`].
//!
//! - [`layers`]: `Linear`, `Embedding`, `BatchNorm`, `Dropout`, fastai's `LinBnDrop`.
//! - [`tabular`]: fastai's `TabularModel` and its embedding-size rule.

pub mod layers;
pub mod tabular;

pub use tabular::{TabularConfig, TabularModel, emb_sz_rule};
