//! Errors of the training layer, and the cancellations callbacks raise.

/// What a callback can cancel, as fastai's `Cancel*Exception`s. The loop catches a
/// cancellation at its own level, runs the matching `after_*` event and goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cancel {
    /// Skip the rest of this batch.
    Batch,
    /// Skip this batch's backward pass (and so its step), as fastai's
    /// `CancelBackwardException`.
    Backward,
    /// Skip this batch's optimizer step, as fastai's `CancelStepException` (gradient
    /// accumulation, a mixed-precision overflow).
    Step,
    /// Skip the rest of the training phase of this epoch.
    Train,
    /// Skip the validation phase of this epoch.
    Validate,
    /// Skip the rest of this epoch.
    Epoch,
    /// Stop the fit.
    Fit,
}

/// Errors raised while training.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An error of the core layer (tensors, parameters, devices).
    #[error(transparent)]
    Core(#[from] fastcandle_core::Error),
    /// A callback cancelled part of the loop (caught by the loop itself).
    #[error("cancelled: {0:?}")]
    Cancelled(Cancel),
    /// The loss became NaN or infinite (raised by
    /// [`TerminateOnNaN`](crate::callback::TerminateOnNaN)).
    #[error(
        "the loss is {value} at epoch {epoch}, {phase} batch {batch}: the fit is stopped; lower \
         the learning rate or check the data"
    )]
    NonFiniteLoss {
        /// The loss.
        value: f32,
        /// The epoch (from 0).
        epoch: usize,
        /// The batch within the epoch's phase (from 0).
        batch: usize,
        /// `training` or `validation`.
        phase: &'static str,
    },
    /// A file could not be read or written.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// A callback cleared part of the batch's state (`learn.batch`, `pred`, `loss`, `grads`)
    /// that the next stage of the loop needs.
    #[error(
        "{stage}: the {what} was cleared by a callback; a callback that takes it must put one back"
    )]
    Cleared {
        /// The event after which it was found missing (fastai's name, `after_pred`).
        stage: &'static str,
        /// What is missing: `batch`, `prediction`, `loss` or `gradient store`.
        what: &'static str,
    },
    /// Under f16 mixed precision, every training step of an epoch overflowed and was skipped.
    #[error(
        "mixed precision: all {skipped} training steps of epoch {epoch} overflowed in f16 and \
         were skipped (the loss scale is now {scale:e}); the fit is stopped, as the model did \
         not change: lower the learning rate, or train with to_bf16() or to_fp32()"
    )]
    AllStepsSkipped {
        /// The epoch (from 0).
        epoch: usize,
        /// The steps skipped in it.
        skipped: usize,
        /// The loss scale after the last skip.
        scale: f64,
    },
    /// A setting or an argument is not usable.
    #[error("{0}")]
    Invalid(String),
}

impl From<candle_core::Error> for Error {
    fn from(e: candle_core::Error) -> Self {
        Error::Core(e.into())
    }
}

/// The result type of the training layer.
pub type Result<T> = std::result::Result<T, Error>;
