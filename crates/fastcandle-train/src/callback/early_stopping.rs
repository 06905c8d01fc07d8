//! fastai's `EarlyStoppingCallback`: stops the fit when the monitored value stops improving.

use super::Callback;
use super::tracker::{Tracker, check_patience, tracker_options, verbose};
use crate::error::{Cancel, Error, Result};
use crate::learner::Learner;

/// Stops the fit (`Cancel::Fit`) after [`patience`](Self::patience) epochs in a row without
/// the monitored value (fastai: `valid_loss`) beating its best by more than `min_delta`.
///
/// ```no_run
/// # fn run(learn: &mut fastcandle_train::Learner) -> fastcandle_train::Result<()> {
/// use fastcandle_train::callback::EarlyStoppingCallback;
/// let stop = EarlyStoppingCallback::new().patience(3)?.min_delta(0.01)?;
/// learn.fit_with(50, Some(1e-3), vec![Box::new(stop)])?;
/// # Ok(()) }
/// ```
///
/// # Notes
/// Runs last of the trackers (order 93, after the Recorder, the table, the CSV history, the
/// checkpoint and [`SaveModelCallback`](super::SaveModelCallback)): the stopping epoch is
/// logged and saved like any other. It sits out `lr_find`'s fit.
#[derive(Debug, Clone)]
pub struct EarlyStoppingCallback {
    tracker: Tracker,
    patience: usize,
    wait: usize,
}

tracker_options!(EarlyStoppingCallback);

impl Default for EarlyStoppingCallback {
    fn default() -> Self {
        Self::new()
    }
}

impl EarlyStoppingCallback {
    /// fastai's defaults: monitor `valid_loss`, `min_delta` 0, `patience` 1.
    pub fn new() -> Self {
        Self {
            tracker: Tracker::new(),
            patience: 1,
            wait: 0,
        }
    }

    /// The epochs without improvement before stopping (fastai: 1); 0 is an error naming
    /// `patience`.
    pub fn patience(mut self, patience: usize) -> Result<Self> {
        self.patience = check_patience("EarlyStoppingCallback", patience)?;
        Ok(self)
    }

    /// The epochs since the last improvement.
    pub fn wait(&self) -> usize {
        self.wait
    }
}

impl Callback for EarlyStoppingCallback {
    fn order(&self) -> i32 {
        93
    }

    fn before_fit(&mut self, learn: &mut Learner) -> Result<()> {
        self.wait = 0;
        self.tracker.before_fit(learn, "EarlyStoppingCallback")
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
            if verbose(learn) {
                println!(
                    "No improvement since epoch {}: early stopping",
                    learn.state.epoch as i64 - self.wait as i64
                );
            }
            return Err(Error::Cancelled(Cancel::Fit));
        }
        Ok(())
    }

    fn after_fit(&mut self, _: &mut Learner) -> Result<()> {
        self.tracker.run = true;
        Ok(())
    }
}
