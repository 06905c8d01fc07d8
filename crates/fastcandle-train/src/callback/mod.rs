//! Callbacks: everything beyond the bare loop (schedules, recording, progress, logging,
//! checkpoints, the LR finder, the trackers that save the best model, stop early or lower the
//! rate, gradient accumulation) is a callback run at the loop's events.

mod activation_stats;
mod checkpoint;
mod csv_logger;
mod early_stopping;
mod gradient_accumulation;
mod mixed_precision;
mod param_scheduler;
mod progress;
mod recorder;
mod reduce_lr_on_plateau;
mod save_model;
mod terminate_on_nan;
mod tracker;

pub use activation_stats::{ActivationStats, HIST_BINS, HIST_MAX, HIST_MIN, LayerStats, NEAR_ZERO};
pub use checkpoint::SaveCheckpoint;
pub use csv_logger::CsvLogger;
pub use early_stopping::EarlyStoppingCallback;
pub use gradient_accumulation::GradientAccumulation;
pub use mixed_precision::{GradScaler, MixedPrecision};
pub use param_scheduler::ParamScheduler;
pub use progress::ProgressCallback;
pub use recorder::{FitRecord, Recorder};
pub use reduce_lr_on_plateau::ReduceLROnPlateau;
pub use save_model::SaveModelCallback;
pub use terminate_on_nan::TerminateOnNaN;
pub use tracker::{Comp, Tracker};

use crate::error::Result;
use crate::learner::Learner;
use std::any::Any;

/// The events of the fit loop, in the order they happen (fastai's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Event {
    BeforeFit,
    BeforeEpoch,
    BeforeTrain,
    BeforeBatch,
    AfterPred,
    AfterLoss,
    BeforeBackward,
    AfterCancelBackward,
    AfterBackward,
    BeforeStep,
    AfterCancelStep,
    AfterStep,
    AfterCancelBatch,
    AfterBatch,
    AfterCancelTrain,
    AfterTrain,
    BeforeValidate,
    AfterCancelValidate,
    AfterValidate,
    AfterCancelEpoch,
    AfterEpoch,
    AfterCancelFit,
    AfterFit,
    /// Not one of fastai's: runs last in every fit, see [`Callback::cleanup_fit`].
    CleanupFit,
}

/// A callback: a method per event, each a no-op unless overridden. Return
/// `Err(Error::Cancelled(..))` to cancel a batch, a phase, an epoch or the fit.
#[allow(unused_variables, missing_docs)]
pub trait Callback: Any + Send {
    /// A name for listings.
    fn name(&self) -> &str {
        std::any::type_name::<Self>()
            .rsplit("::")
            .next()
            .unwrap_or("callback")
    }
    /// Callbacks run in increasing order (fastai: Recorder 50, schedulers and progress 60).
    fn order(&self) -> i32 {
        0
    }
    fn before_fit(&mut self, learn: &mut Learner) -> Result<()> {
        Ok(())
    }
    fn before_epoch(&mut self, learn: &mut Learner) -> Result<()> {
        Ok(())
    }
    fn before_train(&mut self, learn: &mut Learner) -> Result<()> {
        Ok(())
    }
    fn before_batch(&mut self, learn: &mut Learner) -> Result<()> {
        Ok(())
    }
    fn after_pred(&mut self, learn: &mut Learner) -> Result<()> {
        Ok(())
    }
    fn after_loss(&mut self, learn: &mut Learner) -> Result<()> {
        Ok(())
    }
    fn before_backward(&mut self, learn: &mut Learner) -> Result<()> {
        Ok(())
    }
    fn after_backward(&mut self, learn: &mut Learner) -> Result<()> {
        Ok(())
    }
    fn before_step(&mut self, learn: &mut Learner) -> Result<()> {
        Ok(())
    }
    fn after_step(&mut self, learn: &mut Learner) -> Result<()> {
        Ok(())
    }
    fn after_cancel_backward(&mut self, learn: &mut Learner) -> Result<()> {
        Ok(())
    }
    fn after_cancel_step(&mut self, learn: &mut Learner) -> Result<()> {
        Ok(())
    }
    fn after_cancel_batch(&mut self, learn: &mut Learner) -> Result<()> {
        Ok(())
    }
    fn after_batch(&mut self, learn: &mut Learner) -> Result<()> {
        Ok(())
    }
    fn after_cancel_train(&mut self, learn: &mut Learner) -> Result<()> {
        Ok(())
    }
    fn after_train(&mut self, learn: &mut Learner) -> Result<()> {
        Ok(())
    }
    fn before_validate(&mut self, learn: &mut Learner) -> Result<()> {
        Ok(())
    }
    fn after_cancel_validate(&mut self, learn: &mut Learner) -> Result<()> {
        Ok(())
    }
    fn after_validate(&mut self, learn: &mut Learner) -> Result<()> {
        Ok(())
    }
    fn after_cancel_epoch(&mut self, learn: &mut Learner) -> Result<()> {
        Ok(())
    }
    fn after_epoch(&mut self, learn: &mut Learner) -> Result<()> {
        Ok(())
    }
    fn after_cancel_fit(&mut self, learn: &mut Learner) -> Result<()> {
        Ok(())
    }
    fn after_fit(&mut self, learn: &mut Learner) -> Result<()> {
        Ok(())
    }
    /// Runs last in every fit however it ended: after `after_fit`, or straight after an error
    /// that stopped the fit (where fastai runs nothing more). For giving back what
    /// `before_fit` took, such as hooks on the model. Every callback's `cleanup_fit` runs even
    /// when one fails; the first error is returned unless the fit had already failed.
    fn cleanup_fit(&mut self, learn: &mut Learner) -> Result<()> {
        Ok(())
    }
}

/// Runs the method of `cb` for `event`.
pub(crate) fn dispatch(cb: &mut dyn Callback, event: Event, learn: &mut Learner) -> Result<()> {
    match event {
        Event::BeforeFit => cb.before_fit(learn),
        Event::BeforeEpoch => cb.before_epoch(learn),
        Event::BeforeTrain => cb.before_train(learn),
        Event::BeforeBatch => cb.before_batch(learn),
        Event::AfterPred => cb.after_pred(learn),
        Event::AfterLoss => cb.after_loss(learn),
        Event::BeforeBackward => cb.before_backward(learn),
        Event::AfterBackward => cb.after_backward(learn),
        Event::BeforeStep => cb.before_step(learn),
        Event::AfterStep => cb.after_step(learn),
        Event::AfterCancelBackward => cb.after_cancel_backward(learn),
        Event::AfterCancelStep => cb.after_cancel_step(learn),
        Event::AfterCancelBatch => cb.after_cancel_batch(learn),
        Event::AfterBatch => cb.after_batch(learn),
        Event::AfterCancelTrain => cb.after_cancel_train(learn),
        Event::AfterTrain => cb.after_train(learn),
        Event::BeforeValidate => cb.before_validate(learn),
        Event::AfterCancelValidate => cb.after_cancel_validate(learn),
        Event::AfterValidate => cb.after_validate(learn),
        Event::AfterCancelEpoch => cb.after_cancel_epoch(learn),
        Event::AfterEpoch => cb.after_epoch(learn),
        Event::AfterCancelFit => cb.after_cancel_fit(learn),
        Event::AfterFit => cb.after_fit(learn),
        Event::CleanupFit => cb.cleanup_fit(learn),
    }
}

/// Lets a `&dyn Callback` be downcast to its concrete type.
pub(crate) fn as_any(cb: &dyn Callback) -> &dyn Any {
    cb
}

/// Lets a `&mut dyn Callback` be downcast to its concrete type.
pub(crate) fn as_any_mut(cb: &mut dyn Callback) -> &mut dyn Any {
    cb
}
