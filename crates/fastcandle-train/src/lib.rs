//! # fastcandle-train
//!
//! fastai's training layer in Rust: a [`Learner`] whose small fit loop runs [`Callback`]s at
//! every event, optimizers built over parameter groups ([`optim`]), schedules
//! ([`schedule`]: one-cycle, `fine_tune`, `lr_find`), losses, metrics, progress, CSV history and
//! resumable checkpoints.
//!
//! It depends only on `fastcandle-core`: models and data come in through the
//! [`fastcandle_core::Model`] and [`fastcandle_core::DataLoaders`] traits.

pub mod callback;
mod check;
pub mod checkpoint;
pub mod error;
pub mod learner;
pub mod loss;
pub mod lr_find;
pub mod metrics;
pub mod one_cycle;
pub mod optim;
pub mod preds;
pub mod schedule;
pub mod tta;

pub use callback::{
    Callback, Comp, EarlyStoppingCallback, Event, GradScaler, GradientAccumulation, MixedPrecision,
    ReduceLROnPlateau, SaveModelCallback,
};
pub use error::{Cancel, Error, Result};
pub use learner::Learner;
pub use loss::{CrossEntropyLossFlat, Loss, MseLossFlat};
pub use lr_find::{LrFindOptions, LrSuggestion};
pub use metrics::{
    DiceMulti, IntoMetrics, Metric, SegAccuracy, accuracy, dice_multi, error_rate, foreground_acc,
    pixel_accuracy,
};
pub use one_cycle::{FineTuneOptions, OneCycleOptions};
pub use optim::{Hypers, OptFunc, Optimizer};
pub use preds::{Preds, largest_first};
pub use tta::{Tta, TtaOptions};
