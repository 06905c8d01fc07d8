//! fastai's `GradientAccumulation`: several small batches make one optimizer step, as one
//! batch of `n_acc` items would.

use super::Callback;
use crate::error::{Cancel, Error, Result};
use crate::learner::Learner;
use candle_core::backprop::GradStore;

/// Steps the optimizer once every `n_acc` training items (fastai: 32) rather than every
/// batch: each batch's loss is scaled by `bs / n_acc` before backward (as fastai does), the
/// gradients are summed across batches, and the step is cancelled (`Cancel::Step`) until
/// `n_acc` items were seen; the step then takes the sum. Four batches of 8 with `n_acc = 32`
/// make the update of one batch of 32 (for a model without BatchNorm, whose statistics depend
/// on the batch).
///
/// ```no_run
/// # fn run(learn: &mut fastcandle_train::Learner) -> fastcandle_train::Result<()> {
/// use fastcandle_train::callback::GradientAccumulation;
/// // Batches of 8 on the device, steps of 64 items.
/// learn.add_cb(GradientAccumulation::new(64)?);
/// learn.fit_one_cycle(3, None)?;
/// # Ok(()) }
/// ```
///
/// # Notes
/// Where fastai's gradients pile up in each parameter's `.grad`, candle's backward returns a
/// fresh store of gradients per batch: this callback keeps one running sum (one tensor per
/// parameter, whatever `n_acc`) and hands it to the step in `learn.grads`. The recorded loss
/// stays each batch's true loss. As in fastai, the count of items carries over from one epoch
/// to the next, a schedule still moves every batch, and an `n_acc` smaller than the batch
/// size steps every batch with the loss scaled up by `bs / n_acc`. Order 6 (fastai's
/// `MixedPrecision.order - 4`).
#[derive(Debug)]
pub struct GradientAccumulation {
    n_acc: usize,
    count: usize,
    sum: Option<GradStore>,
}

impl GradientAccumulation {
    /// Accumulates until `n_acc` training items (the effective batch size) were seen; 0 is an
    /// error naming `n_acc`.
    pub fn new(n_acc: usize) -> Result<Self> {
        if n_acc == 0 {
            return Err(Error::Invalid(
                "GradientAccumulation: n_acc (the items per optimizer step) must be at least 1, \
                 got 0"
                    .into(),
            ));
        }
        Ok(Self {
            n_acc,
            count: 0,
            sum: None,
        })
    }

    /// The items per optimizer step.
    pub fn n_acc(&self) -> usize {
        self.n_acc
    }

    /// The items whose gradients wait for the next step.
    pub fn pending(&self) -> usize {
        self.count
    }

    /// `bs / n_acc`: what each batch's loss is multiplied by for backward.
    fn scale(&self, learn: &Learner) -> Option<f64> {
        let bs = learn.batch.as_ref()?.len();
        Some(bs as f64 / self.n_acc as f64)
    }
}

impl Default for GradientAccumulation {
    /// fastai's default, 32 items per step.
    fn default() -> Self {
        Self {
            n_acc: 32,
            count: 0,
            sum: None,
        }
    }
}

impl Callback for GradientAccumulation {
    fn order(&self) -> i32 {
        6
    }

    fn before_fit(&mut self, _: &mut Learner) -> Result<()> {
        self.count = 0;
        self.sum = None;
        Ok(())
    }

    fn after_loss(&mut self, learn: &mut Learner) -> Result<()> {
        if !learn.state.training {
            return Ok(());
        }
        let Some(scale) = self.scale(learn) else {
            return Ok(());
        };
        if let Some(loss) = learn.loss.take() {
            learn.loss = Some(loss.affine(scale, 0.0)?);
        }
        Ok(())
    }

    fn before_step(&mut self, learn: &mut Learner) -> Result<()> {
        let Some(scale) = self.scale(learn) else {
            return Ok(());
        };
        // The loss back to the batch's own, for any later reader (fastai's "log correct loss").
        if let Some(loss) = learn.loss.take() {
            learn.loss = Some(loss.affine(1.0 / scale, 0.0)?);
        }
        let Some(grads) = learn.grads.take() else {
            return Ok(());
        };
        match &mut self.sum {
            Some(sum) => sum.extend(grads)?,
            None => self.sum = Some(grads),
        }
        self.count += learn.batch.as_ref().map_or(0, |b| b.len());
        if self.count < self.n_acc {
            return Err(Error::Cancelled(Cancel::Step));
        }
        self.count = 0;
        learn.grads = self.sum.take();
        Ok(())
    }

    fn after_fit(&mut self, _: &mut Learner) -> Result<()> {
        self.sum = None;
        Ok(())
    }

    fn cleanup_fit(&mut self, _: &mut Learner) -> Result<()> {
        self.sum = None;
        Ok(())
    }
}
