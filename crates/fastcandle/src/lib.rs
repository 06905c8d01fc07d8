//! # fastcandle
//!
//! fastai's layered deep-learning API in Rust, on [candle](https://github.com/huggingface/candle).
//! This crate is the application layer: it joins the data layer (`fastcandle-data`), the models
//! (`fastcandle-models`) and the training layer (`fastcandle-train`) into the few calls of a
//! fastai lesson.
//!
//! ```no_run
//! use fastcandle::tabular::prelude::*;
//!
//! # fn main() -> fastcandle::Result<()> {
//! let dls = TabularDataLoaders::from_csv("datasets/adult_sample/adult.csv")
//!     .y_names(["salary"])
//!     .cat_names(["workclass", "education", "marital-status", "occupation", "relationship", "race"])
//!     .cont_names(["age", "fnlwgt", "education-num"])
//!     .procs([Categorify, FillMissing, Normalize])
//!     .build()?;
//! let mut learn = tabular_learner(&dls)?.metrics([accuracy()]);
//! learn.fit_one_cycle(3, None)?;
//! # Ok(())
//! # }
//! ```
//!
//! Every layer stays open underneath: [`core`], [`data`], [`models`] and [`train`] re-export the
//! lower crates.

pub mod audio;
pub mod error;
mod files;
pub mod interpret;
pub mod plot;
mod prediction;
pub mod prelude;
pub mod tabular;
pub mod vision;
pub mod visualize;

pub use error::{Error, Result};

/// The guide's page on export and inference (`docs/export-and-inference.md`), whose examples
/// are compiled as doc tests so that the page stays true.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/export-and-inference.md")]
pub struct ExportAndInferenceGuide;
pub use fastcandle_core as core;
pub use fastcandle_data as data;
pub use fastcandle_models as models;
pub use fastcandle_train as train;
pub use prediction::Prediction;
