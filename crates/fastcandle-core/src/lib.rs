//! # fastcandle-core
//!
//! The bottom layer of fastcandle: tensor and autograd glue on [candle](https://github.com/huggingface/candle).
//!
//! - [`device`]: choosing a device (`auto`, `cpu`, `cuda`, `metal`).
//! - [`param`]: parameters registered by name, with a layer group, a kind and a trainable flag.
//! - [`rng`]: seeded randomness, reproducible per seed and per step.
//! - [`init`]: PyTorch's and fastai's weight initialisations on a seeded generator.
//! - [`grad`]: [`no_grad`](grad::no_grad), gradient tracking off for evaluation.
//! - [`ops`]: custom ops with their own backward where candle lacks a fast or correct one.
//! - `alloc`: a global allocator that makes CPU training about twice as fast (feature
//!   `jemalloc`, on by default).
//! - [`model`] and [`batch`]: the contracts between the data, models and training layers.
//! - [`hooks`]: fastai's hooks, the stored outputs (and gradients) of a model's named modules.
//!
//! This crate imports nothing else of fastcandle.

#[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
pub mod alloc;
pub mod batch;
pub mod device;
pub mod error;
pub mod grad;
pub mod hooks;
pub mod init;
pub mod model;
pub mod ops;
pub mod param;
pub mod rng;
pub mod tensor_io;
pub mod threads;

pub use batch::{Batch, DataLoaders};
pub use candle_core as candle;
pub use device::DeviceChoice;
pub use error::{Error, Result};
pub use model::Model;
pub use param::{Param, ParamBuilder, ParamKind, ParamStore};
pub use rng::SeededRng;
