//! fastai's `ReduceLROnPlateau`: lowers the learning rate when the monitored value stops
//! improving.

use super::Callback;
use super::tracker::{Tracker, check_patience, tracker_options, verbose};
use crate::error::{Error, Result};
use crate::learner::Learner;

/// After [`patience`](Self::patience) epochs in a row without the monitored value (fastai:
/// `valid_loss`) beating its best by more than `min_delta`, divides every group's learning
/// rate by [`factor`](Self::factor) (fastai: 10), never below [`min_lr`](Self::min_lr)
/// (fastai: 0), and starts counting again.
///
/// ```no_run
/// # fn run(learn: &mut fastcandle_train::Learner) -> fastcandle_train::Result<()> {
/// use fastcandle_train::callback::ReduceLROnPlateau;
/// let plateau = ReduceLROnPlateau::new().patience(2)?.factor(5.0)?.min_lr(1e-6)?;
/// learn.fit_with(30, Some(1e-2), vec![Box::new(plateau)])?; // a constant-rate fit
/// # Ok(()) }
/// ```
///
/// # Notes
/// It is for fits at a constant rate (`fit`): under `fit_one_cycle` the schedule sets the
/// rate before every batch and overrides it, as in fastai. Order 92, after the Recorder and
/// the loggers; it sits out `lr_find`'s fit.
#[derive(Debug, Clone)]
pub struct ReduceLROnPlateau {
    tracker: Tracker,
    patience: usize,
    factor: f64,
    min_lr: f64,
    wait: usize,
}

tracker_options!(ReduceLROnPlateau);

impl Default for ReduceLROnPlateau {
    fn default() -> Self {
        Self::new()
    }
}

impl ReduceLROnPlateau {
    /// fastai's defaults: monitor `valid_loss`, `min_delta` 0, `patience` 1, `factor` 10,
    /// `min_lr` 0.
    pub fn new() -> Self {
        Self {
            tracker: Tracker::new(),
            patience: 1,
            factor: 10.0,
            min_lr: 0.0,
            wait: 0,
        }
    }

    /// The epochs without improvement before lowering the rate (fastai: 1); 0 is an error
    /// naming `patience`.
    pub fn patience(mut self, patience: usize) -> Result<Self> {
        self.patience = check_patience("ReduceLROnPlateau", patience)?;
        Ok(self)
    }

    /// What the rate is divided by (fastai: 10); it must be a finite number above 1, else an
    /// error naming `factor` (1 or less would not lower the rate).
    pub fn factor(mut self, factor: f64) -> Result<Self> {
        if !(factor.is_finite() && factor > 1.0) {
            return Err(Error::Invalid(format!(
                "ReduceLROnPlateau: factor divides the learning rate and must be a finite \
                 number above 1, got {factor}"
            )));
        }
        self.factor = factor;
        Ok(self)
    }

    /// The lowest rate it sets (fastai: 0); a negative or non-finite value is an error naming
    /// `min_lr`.
    pub fn min_lr(mut self, min_lr: f64) -> Result<Self> {
        if !(min_lr.is_finite() && min_lr >= 0.0) {
            return Err(Error::Invalid(format!(
                "ReduceLROnPlateau: min_lr must be a finite number of at least 0, got {min_lr}"
            )));
        }
        self.min_lr = min_lr;
        Ok(self)
    }
}

impl Callback for ReduceLROnPlateau {
    fn order(&self) -> i32 {
        92
    }

    fn before_fit(&mut self, learn: &mut Learner) -> Result<()> {
        self.wait = 0;
        self.tracker.before_fit(learn, "ReduceLROnPlateau")
    }

    fn after_epoch(&mut self, learn: &mut Learner) -> Result<()> {
        if !self.tracker.run {
            return Ok(());
        }
        if self.tracker.after_epoch(learn) {
            self.wait = 0;
            return Ok(());
        }
        self.wait += 1;
        if self.wait >= self.patience {
            let old = learn.opt.hyper("lr");
            let new: Vec<f64> = old
                .iter()
                .map(|lr| (lr / self.factor).max(self.min_lr))
                .collect();
            learn.opt.set_hyper("lr", &new)?;
            self.wait = 0;
            if verbose(learn) && new.last() < old.last() {
                println!(
                    "Epoch {}: reducing lr to {}",
                    learn.state.epoch,
                    new.last().copied().unwrap_or(f64::NAN)
                );
            }
        }
        Ok(())
    }

    fn after_fit(&mut self, _: &mut Learner) -> Result<()> {
        self.tracker.run = true;
        Ok(())
    }
}
