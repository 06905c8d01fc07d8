//! fastai's `TrackerCallback`: the best value of one column of the Recorder's epoch rows
//! (`valid_loss`, a metric...), which [`SaveModelCallback`](super::SaveModelCallback),
//! [`EarlyStoppingCallback`](super::EarlyStoppingCallback) and
//! [`ReduceLROnPlateau`](super::ReduceLROnPlateau) act on.

use super::Recorder;
use crate::error::{Error, Result};
use crate::learner::Learner;

/// Which way a monitored value improves (fastai's `comp`, `np.less` or `np.greater`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comp {
    /// Lower is better (losses, error rates).
    Less,
    /// Higher is better (accuracy, dice...).
    Greater,
}

impl Comp {
    /// fastai's default: lower is better for a name with `loss` or `error` in it, higher for
    /// any other.
    pub fn for_monitor(monitor: &str) -> Self {
        if monitor.contains("loss") || monitor.contains("error") {
            Comp::Less
        } else {
            Comp::Greater
        }
    }
}

/// The state the three trackers share: what is monitored, how it improves, and the best value
/// so far. Values come from the [`Recorder`]'s row of the epoch (read after the Recorder has
/// written it).
#[derive(Debug, Clone)]
pub struct Tracker {
    /// The Recorder's column monitored (fastai: `valid_loss`).
    pub monitor: String,
    /// Which way it improves; `None` picks by name ([`Comp::for_monitor`]).
    pub comp: Option<Comp>,
    /// By how much a value must beat the best to count as better (fastai: 0).
    pub min_delta: f64,
    /// Whether the best value is forgotten at each fit (fastai: yes).
    pub reset_on_fit: bool,
    /// The best value so far, `None` before the first fit.
    pub best: Option<f64>,
    idx: usize,
    /// False while `lr_find` runs its fit: trackers sit it out, as fastai's.
    pub(crate) run: bool,
}

impl Tracker {
    /// Monitors `valid_loss` with fastai's defaults.
    pub fn new() -> Self {
        Self {
            monitor: "valid_loss".into(),
            comp: None,
            min_delta: 0.0,
            reset_on_fit: true,
            best: None,
            idx: 0,
            run: true,
        }
    }

    /// The direction in use: `comp`, or the default for the monitored name.
    pub fn direction(&self) -> Comp {
        self.comp
            .unwrap_or_else(|| Comp::for_monitor(&self.monitor))
    }

    /// Checks a `min_delta` for the callback `who`: finite and not negative.
    pub(crate) fn check_min_delta(who: &str, min_delta: f64) -> Result<f64> {
        if min_delta.is_finite() && min_delta >= 0.0 {
            Ok(min_delta)
        } else {
            Err(Error::Invalid(format!(
                "{who}: min_delta must be a finite number of at least 0, got {min_delta}"
            )))
        }
    }

    /// fastai's `before_fit`: resets the best value (with `reset_on_fit`, or before the first
    /// fit) and finds the monitored column; an unknown name is an error naming the known ones.
    pub(crate) fn before_fit(&mut self, learn: &Learner, who: &str) -> Result<()> {
        self.run = learn.cb::<crate::lr_find::LrFinder>().is_none();
        if !self.run {
            return Ok(());
        }
        if self.reset_on_fit || self.best.is_none() {
            self.best = Some(match self.direction() {
                Comp::Less => f64::INFINITY,
                Comp::Greater => f64::NEG_INFINITY,
            });
        }
        let rec = learn.cb::<Recorder>().ok_or_else(|| {
            Error::Invalid(format!(
                "{who} reads the Recorder's epoch rows, but the learner has no Recorder"
            ))
        })?;
        self.idx = rec
            .names
            .iter()
            .position(|n| *n == self.monitor)
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "{who}: monitor `{}` is not recorded; the Recorder has {}",
                    self.monitor,
                    rec.names.join(", ")
                ))
            })?;
        Ok(())
    }

    /// The monitored value of the epoch just ended (`NaN` when the Recorder has no row).
    pub(crate) fn value(&self, learn: &Learner) -> f64 {
        learn
            .cb::<Recorder>()
            .and_then(|r| r.last())
            .and_then(|f| f.values.last())
            .and_then(|row| row.get(self.idx).copied())
            .unwrap_or(f64::NAN)
    }

    /// fastai's `after_epoch`: whether this epoch's value beats the best by more than
    /// `min_delta` (then it becomes the best). A NaN value never does.
    pub(crate) fn after_epoch(&mut self, learn: &Learner) -> bool {
        let val = self.value(learn);
        let best = self.best.unwrap_or(f64::NAN);
        let better = match self.direction() {
            Comp::Less => val + self.min_delta < best,
            Comp::Greater => val - self.min_delta > best,
        };
        if better {
            self.best = Some(val);
        }
        better
    }
}

impl Default for Tracker {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether the learner prints (its progress bar and table are on, and it is not `lr_find`).
pub(crate) fn verbose(learn: &Learner) -> bool {
    !learn.state.no_logging
        && learn
            .cb::<super::ProgressCallback>()
            .is_some_and(|p| !p.silent)
}

/// The builder methods the three trackers share (fastai's `monitor`, `comp`, `min_delta`,
/// `reset_on_fit`), on top of their [`Tracker`].
macro_rules! tracker_options {
    ($cb:ty) => {
        impl $cb {
            /// The Recorder's column to monitor (fastai: `valid_loss`): `train_loss`,
            /// `valid_loss` or a metric's name. An unknown name is an error when the fit
            /// starts, naming the known ones.
            pub fn monitor(mut self, monitor: impl Into<String>) -> Self {
                self.tracker.monitor = monitor.into();
                self
            }

            /// Which way the value improves (fastai's `comp`); by default lower for a name
            /// with `loss` or `error` in it, higher otherwise.
            pub fn comp(mut self, comp: $crate::callback::Comp) -> Self {
                self.tracker.comp = Some(comp);
                self
            }

            /// By how much a value must beat the best to count (fastai: 0); a negative or
            /// non-finite value is an error naming `min_delta`.
            pub fn min_delta(mut self, min_delta: f64) -> $crate::error::Result<Self> {
                self.tracker.min_delta =
                    $crate::callback::Tracker::check_min_delta(stringify!($cb), min_delta)?;
                Ok(self)
            }

            /// Whether the best value is forgotten at each fit (fastai: yes).
            pub fn reset_on_fit(mut self, reset: bool) -> Self {
                self.tracker.reset_on_fit = reset;
                self
            }

            /// The tracked state: the monitored name, the direction and the best value so
            /// far.
            pub fn tracker(&self) -> &$crate::callback::Tracker {
                &self.tracker
            }
        }
    };
}
pub(crate) use tracker_options;

/// Checks a `patience` for the callback `who`: at least one epoch.
pub(crate) fn check_patience(who: &str, patience: usize) -> Result<usize> {
    if patience == 0 {
        return Err(Error::Invalid(format!(
            "{who}: patience must be at least 1 epoch (it counts the epochs without \
             improvement before acting), got 0"
        )));
    }
    Ok(patience)
}
