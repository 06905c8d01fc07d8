//! `fit_one_cycle` and `fine_tune`, with fastai's defaults.

use crate::callback::ParamScheduler;
use crate::check::{check_fraction, check_lr, check_positive};
use crate::checkpoint::CheckpointInfo;
use crate::error::{Error, Result};
use crate::learner::Learner;
use crate::schedule::{LrRange, combined_cos};

/// The options of [`Learner::fit_one_cycle_with`] (fastai's defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct OneCycleOptions {
    /// The peak learning rate (default: the learner's `lr`, 1e-3).
    pub lr_max: Option<LrRange>,
    /// The rate starts at `lr_max / div` (default 25).
    pub div: f64,
    /// The rate ends at `lr_max / div_final` (default 1e5).
    pub div_final: f64,
    /// The share of the fit spent warming up (default 0.25).
    pub pct_start: f64,
    /// Momentum at the start, the peak and the end (default 0.95, 0.85, 0.95).
    pub moms: (f64, f64, f64),
    /// Weight decay for this fit (default: the optimizer's, 0.01 for Adam).
    pub wd: Option<f64>,
}

impl Default for OneCycleOptions {
    fn default() -> Self {
        Self {
            lr_max: None,
            div: 25.0,
            div_final: 1e5,
            pct_start: 0.25,
            moms: (0.95, 0.85, 0.95),
            wd: None,
        }
    }
}

impl OneCycleOptions {
    /// Sets the peak rate.
    pub fn lr_max(mut self, lr: impl Into<LrRange>) -> Self {
        self.lr_max = Some(lr.into());
        self
    }
}

/// The options of [`Learner::fine_tune_with`] (fastai's defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct FineTuneOptions {
    /// The base learning rate (default 2e-3).
    pub base_lr: f64,
    /// Epochs with the body frozen (default 1).
    pub freeze_epochs: usize,
    /// The first group trains at `base_lr / 2 / lr_mult` after unfreezing (default 100).
    pub lr_mult: f64,
    /// `pct_start` of the unfrozen phase (default 0.3).
    pub pct_start: f64,
    /// `div` of the unfrozen phase (default 5).
    pub div: f64,
}

impl Default for FineTuneOptions {
    fn default() -> Self {
        Self {
            base_lr: 2e-3,
            freeze_epochs: 1,
            lr_mult: 100.0,
            pct_start: 0.3,
            div: 5.0,
        }
    }
}

impl Learner {
    /// fastai's `fit_one_cycle(n_epoch, lr_max)`: the learning rate rises by a cosine from
    /// `lr_max/25` to `lr_max` over the first quarter, then falls to `lr_max/1e5`; momentum does
    /// the reverse between 0.95 and 0.85. Both are set before every batch.
    pub fn fit_one_cycle(&mut self, n_epoch: usize, lr_max: Option<f64>) -> Result<()> {
        let opts = OneCycleOptions {
            lr_max: lr_max.map(LrRange::Single),
            ..Default::default()
        };
        self.fit_one_cycle_with(n_epoch, &opts)
    }

    /// `fit_one_cycle` with every option.
    pub fn fit_one_cycle_with(&mut self, n_epoch: usize, opts: &OneCycleOptions) -> Result<()> {
        let n_groups = self.opt.groups.len();
        let lr_max = opts
            .lr_max
            .unwrap_or(LrRange::Single(self.lr))
            .per_group(n_groups);
        for &lr in &lr_max {
            check_lr("lr_max", lr)?;
        }
        check_positive("div", opts.div)?;
        check_positive("div_final", opts.div_final)?;
        check_fraction("pct_start", opts.pct_start)?;
        if let Some(wd) = opts.wd {
            self.opt.set_hyper("wd", &[wd])?;
        }
        let lr = lr_max
            .iter()
            .map(|&lr| combined_cos(opts.pct_start, lr / opts.div, lr, lr / opts.div_final))
            .collect();
        let (m0, m1, m2) = opts.moms;
        let mom = vec![combined_cos(opts.pct_start, m0, m1, m2)];
        let sched = ParamScheduler::new(vec![("lr".into(), lr), ("mom".into(), mom)]);
        self.fit_with(n_epoch, None, vec![Box::new(sched)])
    }

    /// fastai's `fine_tune(epochs)`: `freeze`, one-cycle of `freeze_epochs` at `slice(base_lr)`
    /// with `pct_start` 0.99, then halve `base_lr`, `unfreeze` and one-cycle of `epochs` with
    /// rates from `base_lr/lr_mult` to `base_lr` across groups, `pct_start` 0.3 and `div` 5.
    pub fn fine_tune(&mut self, epochs: usize) -> Result<()> {
        self.fine_tune_with(epochs, &FineTuneOptions::default())
    }

    /// `fine_tune` with every option.
    pub fn fine_tune_with(&mut self, epochs: usize, opts: &FineTuneOptions) -> Result<()> {
        check_lr("base_lr", opts.base_lr)?;
        check_positive("lr_mult", opts.lr_mult)?;
        self.freeze();
        self.fine_tune_phases(epochs, opts, true)
    }

    /// Finishes a `fine_tune_with(epochs, opts)` that was interrupted, from the checkpoint
    /// `info` it saved ([`load_checkpoint`](crate::checkpoint::load_checkpoint) must have
    /// loaded it into this learner): in the frozen phase, it finishes that phase and runs the
    /// unfrozen one; in the unfrozen phase, it unfreezes and finishes it. The weights end as the
    /// uninterrupted run's. A checkpoint of another fit is an error saying which.
    pub fn fine_tune_resume(
        &mut self,
        epochs: usize,
        opts: &FineTuneOptions,
        info: &CheckpointInfo,
    ) -> Result<()> {
        check_lr("base_lr", opts.base_lr)?;
        check_positive("lr_mult", opts.lr_mult)?;
        let frozen_phase = info.epochs_before == 0 && info.n_epoch == opts.freeze_epochs;
        let unfrozen_phase = info.epochs_before == opts.freeze_epochs && info.n_epoch == epochs;
        // The groups are set as the interrupted phase had them, keeping the optimizer state the
        // checkpoint restored (`freeze`/`unfreeze` would clear it, as fastai's `freeze_to`).
        if frozen_phase {
            self.model.params().freeze_to(-1, self.train_bn);
            self.fine_tune_phases(epochs, opts, true)
        } else if unfrozen_phase {
            self.model.params().freeze_to(0, self.train_bn);
            self.fine_tune_phases(epochs, opts, false)
        } else {
            Err(Error::Invalid(format!(
                "the checkpoint was saved after {} earlier epoch(s) in a fit of {} epoch(s); it \
                 is not from fine_tune({epochs}) with {} frozen epoch(s)",
                info.epochs_before, info.n_epoch, opts.freeze_epochs
            )))
        }
    }

    /// `fine_tune`'s two phases from the frozen one (`frozen`, the body already frozen), or
    /// the unfrozen one alone (the body already unfrozen).
    fn fine_tune_phases(
        &mut self,
        epochs: usize,
        opts: &FineTuneOptions,
        frozen: bool,
    ) -> Result<()> {
        if frozen {
            let frozen = OneCycleOptions {
                pct_start: 0.99,
                ..Default::default()
            }
            .lr_max(LrRange::Slice(opts.base_lr));
            self.fit_one_cycle_with(opts.freeze_epochs, &frozen)?;
        }
        let base_lr = opts.base_lr / 2.0;
        if frozen {
            self.unfreeze();
        }
        let unfrozen = OneCycleOptions {
            pct_start: opts.pct_start,
            div: opts.div,
            ..Default::default()
        }
        .lr_max(LrRange::Range(base_lr / opts.lr_mult, base_lr));
        self.fit_one_cycle_with(epochs, &unfrozen)
    }
}
