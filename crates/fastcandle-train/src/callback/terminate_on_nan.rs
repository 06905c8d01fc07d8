//! fastai's `TerminateOnNaNCallback`, on by default here: a loss that becomes NaN or infinite
//! stops the fit with an error naming the epoch and the batch, before the step that would put
//! it into the weights, so that no program goes on to save a meaningless model.

use super::Callback;
use crate::error::{Error, Result};
use crate::learner::Learner;

/// Stops the fit with [`Error::NonFiniteLoss`] as soon as a batch's loss is NaN or infinite
/// (checked after the loss, before backward and the step). Every [`Learner`] has one; remove it
/// with [`Learner::remove_cbs`] to let such a fit run on.
#[derive(Debug, Clone, Copy, Default)]
pub struct TerminateOnNaN;

impl Callback for TerminateOnNaN {
    fn order(&self) -> i32 {
        // Before any callback that acts on the loss (fastai's order is 0 too).
        0
    }

    fn after_loss(&mut self, learn: &mut Learner) -> Result<()> {
        let value = learn.state.loss_value;
        if value.is_finite() {
            return Ok(());
        }
        Err(Error::NonFiniteLoss {
            value,
            epoch: learn.state.epoch,
            batch: learn.state.iter,
            phase: if learn.state.training {
                "training"
            } else {
                "validation"
            },
        })
    }
}
