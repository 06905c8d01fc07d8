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

/// What the finder saw and suggests: fastai's four `SuggestionMethod`s on the curve, and the
/// curve itself.
#[derive(Debug, Clone)]
pub struct LrSuggestion {
    /// fastai's default suggestion (`valley`): a rate in the longest downhill stretch.
    pub valley: f64,
    /// The rate of the lowest smoothed loss divided by 10 (fastai's `minimum`).
    pub minimum: f64,
    /// The rate where the loss falls fastest against the log of the rate (fastai's `steep`).
    pub steep: f64,
    /// fastai's `slide`: the rate where the slope of the loss stops changing, sliding down
    /// from the end of the curve (`None` on a curve too short for its 15-point interval).
    pub slide: Option<f64>,
    /// Every rate tried.
    pub lrs: Vec<f64>,
    /// The smoothed loss at every rate.
    pub losses: Vec<f32>,
}

impl LrSuggestion {
    /// The suggestions by fastai's names (`valley`, `minimum`, `steep`, `slide`), those there
    /// are.
    pub fn named(&self) -> Vec<(&'static str, f64)> {
        let mut out = vec![
            ("valley", self.valley),
            ("minimum", self.minimum),
            ("steep", self.steep),
        ];
        out.extend(self.slide.map(|s| ("slide", s)));
        out
    }
}

/// fastai's four suggestions on a whole recorded curve of a finder run of `num_it` batches:
/// the first tenth and the last five points are left out, and the curve stops at its first NaN,
/// as fastai's `lr_find` does before calling its `SuggestionMethod`s. `None` when nothing is
/// left.
pub fn suggest(lrs: &[f64], losses: &[f32], num_it: usize) -> Option<LrSuggestion> {
    let n = lrs.len().min(losses.len());
    let lo = (num_it / 10).min(n);
    let hi = n.saturating_sub(5).max(lo);
    let nan = losses[lo..hi].iter().position(|l| l.is_nan());
    let hi = nan.map(|i| lo + i).unwrap_or(hi);
    let (l, s) = (&lrs[lo..hi], &losses[lo..hi]);
    Some(LrSuggestion {
        valley: valley(l, s)?,
        minimum: minimum(l, s)?,
        steep: steep(l, s)?,
        slide: slide(l, s),
        lrs: lrs.to_vec(),
        losses: losses.to_vec(),
    })
}

/// fastai's `minimum`: a tenth of the rate with the lowest loss (its first, if several).
pub fn minimum(lrs: &[f64], losses: &[f32]) -> Option<f64> {
    let mut best: Option<usize> = None;
    for (i, l) in losses.iter().enumerate() {
        if best.is_none_or(|b| *l < losses[b]) {
            best = Some(i);
        }
    }
    Some(as_f32(*lrs.get(best?)?) / 10.0)
}

/// fastai's `steep`: the rate where the loss falls fastest against the log of the rate, the
/// slope `(loss[i+1] - loss[i]) / (ln lr[i+1] - ln lr[i])` at its lowest, taken in `f32` as
/// fastai's tensors are.
pub fn steep(lrs: &[f64], losses: &[f32]) -> Option<f64> {
    let n = lrs.len().min(losses.len());
    if n < 2 {
        return None;
    }
    let mut best: Option<(usize, f32)> = None;
    for i in 0..n - 1 {
        let d = (as_f32(lrs[i + 1]) as f32).ln() - (as_f32(lrs[i]) as f32).ln();
        let g = (losses[i + 1] - losses[i]) / d;
        if best.is_none_or(|(_, b)| g < b) {
            best = Some((i, g));
        }
    }
    Some(as_f32(lrs[best?.0]))
}

/// fastai's `slide` (interval 15, threshold 0.005): from the last point, slides a 15-point
/// interval down the curve while the slopes (`np.gradient`) at its two ends differ by more than
/// the threshold, and gives the rate at its left end. `None` on a curve of fewer than 16
/// points.
pub fn slide(lrs: &[f64], losses: &[f32]) -> Option<f64> {
    const LR_DIFF: usize = 15;
    const THRESH: f32 = 0.005;
    let n = lrs.len().min(losses.len());
    if n < LR_DIFF + 1 {
        return None;
    }
    let grad = gradient(&losses[..n]);
    let (mut r, mut l) = (n - 1, n - 1 - LR_DIFF);
    let mut local_min = lrs[l];
    loop {
        if (grad[r] - grad[l]).abs() <= THRESH {
            break;
        }
        local_min = lrs[l];
        if l == 0 {
            break;
        }
        r -= 1;
        l -= 1;
    }
    Some(as_f32(local_min))
}

/// numpy's `gradient` with unit spacing: central differences inside, one-sided at the ends.
fn gradient(v: &[f32]) -> Vec<f32> {
    let n = v.len();
    (0..n)
        .map(|i| match i {
            0 => v[1] - v[0],
            i if i == n - 1 => v[n - 1] - v[n - 2],
            i => (v[i + 1] - v[i - 1]) / 2.0,
        })
        .collect()
}

/// `x` rounded to `f32` (fastai holds the rates in an `f32` tensor).
fn as_f32(x: f64) -> f64 {
    x as f32 as f64
}

/// The callback of `lr_find`'s fit (trackers check for it to sit that fit out).
pub(crate) struct LrFinder {
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
    lrs.get(idx.min(n - 1)).copied().map(as_f32)
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
        // The finder's fit is not training: its record leaves the Recorder (as fastai's
        // Recorder forgets a fit at the next), so that `plot_loss` shows the training alone.
        let rec = self
            .cb_mut::<Recorder>()
            .and_then(|r| r.fits.pop())
            .ok_or_else(|| Error::Invalid("lr_find needs the Recorder callback".into()))?;
        let lrs: Vec<f64> = rec
            .lrs
            .iter()
            .map(|g| *g.last().unwrap_or(&f64::NAN))
            .collect();
        let losses = rec.losses.clone();
        suggest(&lrs, &losses, opts.num_it).ok_or_else(|| {
            Error::Invalid(format!(
                "lr_find: {} batch(es) ran, too few to suggest a rate (the first tenth of {} and \
                 the last 5 are left out, and the curve stops at its first NaN)",
                lrs.len(),
                opts.num_it
            ))
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
        assert_eq!(valley(&lrs, &losses), Some(as_f32(lrs[3])));
    }
}
