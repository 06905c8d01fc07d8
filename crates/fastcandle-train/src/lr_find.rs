//! fastai's learning-rate finder.

use crate::callback::{Callback, Recorder};
use crate::error::{Cancel, Error, Result};
use crate::learner::Learner;
use crate::schedule::Sched;
use std::collections::HashMap;

/// The options of [`Learner::lr_find_with`] (fastai's defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct LrFindOptions {
    /// The first rate tried (default 1e-7).
    pub start_lr: f64,
    /// The last rate tried (default 10).
    pub end_lr: f64,
    /// How many batches (default 100).
    pub num_it: usize,
    /// Stop when the smoothed loss passes 4x the best (default true).
    pub stop_div: bool,
}

impl Default for LrFindOptions {
    fn default() -> Self {
        Self {
            start_lr: 1e-7,
            end_lr: 10.0,
            num_it: 100,
            stop_div: true,
        }
    }
}

/// What the finder saw and suggests.
#[derive(Debug, Clone)]
pub struct LrSuggestion {
    /// fastai's default suggestion (`valley`): a rate in the longest downhill stretch.
    pub valley: f64,
    /// The rate of the lowest smoothed loss divided by 10 (fastai's `minimum`).
    pub minimum: f64,
    /// Every rate tried.
    pub lrs: Vec<f64>,
    /// The smoothed loss at every rate.
    pub losses: Vec<f32>,
}

struct LrFinder {
    sched: Sched,
    num_it: usize,
    stop_div: bool,
    best: f32,
}

impl Callback for LrFinder {
    fn order(&self) -> i32 {
        60
    }

    fn before_batch(&mut self, learn: &mut Learner) -> Result<()> {
        if learn.state.training {
            let pos = learn.state.train_iter as f64 / self.num_it as f64;
            learn.opt.set_hyper("lr", &[self.sched.at(pos)])?;
        }
        Ok(())
    }

    fn after_batch(&mut self, learn: &mut Learner) -> Result<()> {
        if !learn.state.training {
            return Ok(());
        }
        let s = learn.state.smooth_loss;
        if s < self.best {
            self.best = s;
        }
        if (self.stop_div && (s > 4.0 * self.best || !s.is_finite()))
            || learn.state.train_iter + 1 >= self.num_it
        {
            return Err(Error::Cancelled(Cancel::Fit));
        }
        Ok(())
    }

    fn before_validate(&mut self, _: &mut Learner) -> Result<()> {
        Err(Error::Cancelled(Cancel::Validate))
    }
}

/// fastai's `valley`: the middle of the longest decreasing run of losses, a bit towards its end.
pub fn valley(lrs: &[f64], losses: &[f32]) -> Option<f64> {
    let n = losses.len();
    if n == 0 {
        return None;
    }
    let mut lds = vec![1usize; n];
    let (mut max_start, mut max_end) = (0usize, 0usize);
    for i in 1..n {
        for j in 0..i {
            if losses[i] < losses[j] && lds[i] < lds[j] + 1 {
                lds[i] = lds[j] + 1;
            }
            if lds[max_end] < lds[i] {
                max_end = i;
                max_start = max_end - lds[max_end];
            }
        }
    }
    let sections = (max_end - max_start) as f64 / 3.0;
    let idx = max_start + sections as usize + (sections / 2.0) as usize;
    lrs.get(idx.min(n - 1)).copied()
}

impl Learner {
    /// fastai's `lr_find()`: trains at exponentially growing rates from 1e-7 to 10 for up to 100
    /// batches, stops when the smoothed loss passes 4x its best, restores the weights and the
    /// optimizer it started from, and suggests a rate.
    pub fn lr_find(&mut self) -> Result<LrSuggestion> {
        self.lr_find_with(&LrFindOptions::default())
    }

    /// `lr_find` with every option.
    pub fn lr_find_with(&mut self, opts: &LrFindOptions) -> Result<LrSuggestion> {
        let n_iter = self.dls.n_train_batches().max(1);
        let n_epoch = opts.num_it.div_ceil(n_iter);
        let weights: HashMap<_, _> = self.model.params().state_dict().into_iter().collect();
        let (opt_tensors, steps) = self.opt.state_tensors()?;
        let opt_tensors: HashMap<_, _> = opt_tensors.into_iter().collect();
        let hypers: Vec<_> = self.opt.groups.iter().map(|g| g.hypers).collect();
        let finder = LrFinder {
            sched: Sched::Exp(opts.start_lr, opts.end_lr),
            num_it: opts.num_it,
            stop_div: opts.stop_div,
            best: f32::INFINITY,
        };
        let was_quiet = std::mem::replace(&mut self.state.no_logging, true);
        let epochs_before = self.epochs_before;
        let fit = self.fit_with(n_epoch, None, vec![Box::new(finder)]);
        self.state.no_logging = was_quiet;
        self.epochs_before = epochs_before;
        // Restore whatever happened.
        self.model.params().load_state_dict(&weights, true)?;
        self.opt.load_state(&opt_tensors, &steps)?;
        for (g, h) in self.opt.groups.iter_mut().zip(hypers) {
            g.hypers = h;
        }
        fit?;
        let rec = self
            .cb::<Recorder>()
            .and_then(|r| r.last())
            .ok_or_else(|| Error::Invalid("lr_find needs the Recorder callback".into()))?;
        let lrs: Vec<f64> = rec
            .lrs
            .iter()
            .map(|g| *g.last().unwrap_or(&f64::NAN))
            .collect();
        let losses = rec.losses.clone();
        // fastai skips the first tenth and the last five points.
        let lo = (opts.num_it / 10).min(lrs.len());
        let hi = lrs.len().saturating_sub(5).max(lo);
        let (l, s): (Vec<f64>, Vec<f32>) = lrs[lo..hi]
            .iter()
            .zip(&losses[lo..hi])
            .filter(|(_, s)| s.is_finite())
            .map(|(a, b)| (*a, *b))
            .unzip();
        let (l, s) = if l.is_empty() {
            (lrs.clone(), losses.clone())
        } else {
            (l, s)
        };
        let valley_lr = valley(&l, &s).unwrap_or(self.lr);
        let min_idx = s
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .min_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, _)| i)
            .unwrap_or(0);
        let minimum = l.get(min_idx).copied().unwrap_or(self.lr) / 10.0;
        Ok(LrSuggestion {
            valley: valley_lr,
            minimum,
            lrs,
            losses,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valley_picks_inside_the_longest_descent() {
        // Losses fall from index 2 to index 8, then rise.
        let losses = [5.0f32, 5.5, 5.0, 4.0, 3.0, 2.0, 1.5, 1.2, 1.0, 3.0, 9.0];
        let lrs: Vec<f64> = (0..losses.len())
            .map(|i| 10f64.powi(i as i32 - 7))
            .collect();
        // lds: longest decreasing subsequence ends at 8 with length 8 (5.5 excluded);
        // max_start = 8 - 8 = 0, sections = 8/3, idx = 0 + 2 + 1 = 3.
        assert_eq!(valley(&lrs, &losses), Some(lrs[3]));
    }
}
