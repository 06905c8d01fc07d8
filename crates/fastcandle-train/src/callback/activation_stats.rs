//! fastai's `ActivationStats`: the mean, standard deviation and share of near-zero values of
//! chosen modules' outputs at every training batch, and optionally their histograms (the
//! "colorful dimension"), to see whether training is healthy (fastbook chapter 13).
//!
//! Each hooked output becomes a few scalars on its device (a mean, a variance, counts), all
//! layers' scalars are joined into one vector and read with one `to_vec1` per batch, so the
//! cost is one host transfer of a few numbers per layer. The histogram takes 41 comparisons
//! over the output, hence it is off by default as in fastai.

use super::Callback;
use crate::error::{Error, Result};
use crate::learner::Learner;
use candle_core::{DType, Tensor};
use fastcandle_core::hooks::{Hooks, check_names};
use std::sync::Arc;

/// fastai's histogram of an activation: `o.histc(40, 0, 10)`.
pub const HIST_BINS: usize = 40;
/// The lower end of the histogram's range.
pub const HIST_MIN: f32 = 0.0;
/// The upper end of the histogram's range.
pub const HIST_MAX: f32 = 10.0;
/// fastai's `near_zero` counts the activations at or below this value (`o <= 0.05`).
pub const NEAR_ZERO: f32 = 0.05;

/// The statistics of one module's output at one batch (fastai's record of
/// `ActivationStats.hook`).
#[derive(Debug, Clone, PartialEq)]
pub struct LayerStats {
    /// The mean of the output's values.
    pub mean: f32,
    /// Their standard deviation, unbiased (divided by `n - 1`, as torch's `std()`).
    pub std: f32,
    /// The share of values `<= 0.05` (fastai's `near_zero`: not an absolute value, so that
    /// after a ReLU it is the share of dead or nearly dead units).
    pub near_zero: f32,
    /// With [`ActivationStats::with_hist`], the counts of values in 40 equal bins over
    /// `[0, 10]` (torch's `histc(40, 0, 10)`: values outside the range and NaN are left out,
    /// 10 itself falls in the last bin); empty otherwise.
    pub hist: Vec<f32>,
}

impl LayerStats {
    /// The statistics of `output`, computed as the callback does.
    pub fn of(output: &Tensor, with_hist: bool) -> Result<Self> {
        let v = stats_on_device(output, with_hist)?.to_vec1::<f32>()?;
        Ok(Self::from_slice(&v, with_hist))
    }

    fn from_slice(v: &[f32], with_hist: bool) -> Self {
        Self {
            mean: v[0],
            std: v[1],
            near_zero: v[2],
            hist: if with_hist {
                v[3..3 + HIST_BINS].to_vec()
            } else {
                Vec::new()
            },
        }
    }
}

/// How many values [`stats_on_device`] gives per layer.
fn width(with_hist: bool) -> usize {
    3 + if with_hist { HIST_BINS } else { 0 }
}

/// `[mean, std, near_zero, hist...]` of `output` as one f32 vector on its device.
fn stats_on_device(output: &Tensor, with_hist: bool) -> Result<Tensor> {
    let x = output.to_dtype(DType::F32)?.flatten_all()?;
    let n = x.elem_count() as f64;
    // Counts are summed as u32 (exact; an f32 sum stops counting at 2^24).
    let count = |mask: Tensor| -> Result<Tensor> {
        Ok(mask.to_dtype(DType::U32)?.sum_all()?.to_dtype(DType::F32)?)
    };
    let mut parts = vec![
        x.mean_all()?,
        x.var_keepdim(0)?.sqrt()?.squeeze(0)?,
        (count(x.le(NEAR_ZERO)?)? / n)?,
    ];
    if with_hist {
        // Bin k holds [k/4, (k+1)/4): the count at or above its lower edge less the count at
        // or above the next one; the last bin ends at 10 included. x * 4 is exact in f32, so
        // these comparisons put every value where torch's `(x - min) * bins / (max - min)`
        // does.
        let width = (HIST_MAX - HIST_MIN) / HIST_BINS as f32;
        let mut above = (0..HIST_BINS)
            .map(|k| count(x.ge(HIST_MIN + k as f32 * width)?))
            .collect::<Result<Vec<_>>>()?;
        above.push(count(x.gt(HIST_MAX)?)?);
        let above = Tensor::stack(&above, 0)?;
        let hist = (above.narrow(0, 0, HIST_BINS)? - above.narrow(0, 1, HIST_BINS)?)?;
        parts.push(hist);
    }
    let parts = parts
        .into_iter()
        .map(|t| t.flatten_all())
        .collect::<candle_core::Result<Vec<_>>>()?;
    Ok(Tensor::cat(&parts, 0)?)
}

/// fastai's `ActivationStats`: hooks modules of the model for the fit, and after every
/// training batch records [`LayerStats`] for each of them (none for validation batches).
///
/// By default it hooks every hook point of the model but `head`: the body's children (ResNet's
/// `conv1, bn1, relu, maxpool, layer1..layer4`, MobileNetV2's `features.0..features.18`).
/// fastai hooks every module with parameters; our models name their children and stages
/// rather than every leaf, and the head's output is the logits, whose statistics say little
/// about the health of the activations. [`ActivationStats::modules`] chooses others.
///
/// The hooks go on in `before_fit` and come off at the end of the fit, whether it ended, was
/// cancelled or failed (see [`Callback::cleanup_fit`]). They replace any hooks the model
/// had. Stored outputs are detached and cleared after each batch, so nothing keeps a graph or
/// a batch's activations alive.
#[derive(Debug, Clone, Default)]
pub struct ActivationStats {
    /// The hooked modules, in the model's order (filled in at `before_fit` when not chosen).
    pub names: Vec<String>,
    /// One row per training batch of the last fit, one [`LayerStats`] per module of `names`
    /// (fastai's `stats`).
    pub stats: Vec<Vec<LayerStats>>,
    chosen: Option<Vec<String>>,
    with_hist: bool,
    hooks: Option<Arc<Hooks>>,
}

impl ActivationStats {
    /// Hooks every hook point of the model but `head`, without histograms.
    pub fn new() -> Self {
        Self::default()
    }

    /// Hooks the modules `names` instead (a name the model lacks fails the fit at
    /// `before_fit`, listing those it has).
    pub fn modules<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.chosen = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// Also records each output's histogram (fastai's `with_hist=True`), for
    /// [`ActivationStats::hist`] and the colorful-dimension picture. Costs 41 comparisons over
    /// every hooked output per batch.
    pub fn with_hist(mut self, with_hist: bool) -> Self {
        self.with_hist = with_hist;
        self
    }

    /// Whether histograms are recorded.
    pub fn records_hist(&self) -> bool {
        self.with_hist
    }

    /// The index of `layer` in `names`.
    pub fn index(&self, layer: &str) -> Option<usize> {
        self.names.iter().position(|n| n == layer)
    }

    /// fastai's `layer_stats(idx)`: the means, standard deviations and near-zero shares of
    /// `layer` over the training batches; `None` for a module not hooked.
    pub fn layer_stats(&self, layer: &str) -> Option<[Vec<f32>; 3]> {
        let i = self.index(layer)?;
        let col = |f: fn(&LayerStats) -> f32| self.stats.iter().map(|r| f(&r[i])).collect();
        Some([col(|s| s.mean), col(|s| s.std), col(|s| s.near_zero)])
    }

    /// The histograms of `layer`, one per training batch (empty without
    /// [`ActivationStats::with_hist`]); `None` for a module not hooked. fastai's `hist(idx)`
    /// is their transpose with `log1p`, as the colorful-dimension picture draws them.
    pub fn hist(&self, layer: &str) -> Option<Vec<Vec<f32>>> {
        let i = self.index(layer)?;
        Some(self.stats.iter().map(|r| r[i].hist.clone()).collect())
    }

    fn take_hooks_out(&mut self, learn: &Learner) -> Result<()> {
        if self.hooks.take().is_some() {
            learn.model.set_hooks(None)?;
        }
        Ok(())
    }
}

impl Callback for ActivationStats {
    fn order(&self) -> i32 {
        // fastai's: before the recorder and the schedulers.
        -20
    }

    fn before_fit(&mut self, learn: &mut Learner) -> Result<()> {
        self.stats.clear();
        let names = match &self.chosen {
            Some(n) => n.clone(),
            None => learn
                .model
                .hook_points()
                .into_iter()
                .filter(|n| n != "head")
                .collect(),
        };
        if names.is_empty() {
            return Err(Error::Invalid(
                "ActivationStats: the model has no module to hook (Model::hook_points is empty)"
                    .into(),
            ));
        }
        check_names(learn.model.as_ref(), &names)?;
        let hooks = Arc::new(Hooks::new(names.clone()));
        learn.model.set_hooks(Some(hooks.clone()))?;
        self.names = names;
        self.hooks = Some(hooks);
        Ok(())
    }

    fn after_batch(&mut self, learn: &mut Learner) -> Result<()> {
        let Some(hooks) = self.hooks.clone() else {
            return Ok(());
        };
        if !learn.state.training {
            // Validation outputs are stored too; they go unread.
            hooks.clear();
            return Ok(());
        }
        self.observe(&hooks)
    }

    fn after_fit(&mut self, learn: &mut Learner) -> Result<()> {
        self.take_hooks_out(learn)
    }

    fn cleanup_fit(&mut self, learn: &mut Learner) -> Result<()> {
        self.take_hooks_out(learn)
    }
}

impl ActivationStats {
    /// Records one row of statistics from the outputs `hooks` stored in a forward pass, and
    /// clears them: what the callback does after each training batch, and what a caller does
    /// to gather the statistics of inference batches itself (with [`fastcandle_core::hooks`]).
    /// The first row names the layers when none were chosen.
    pub fn observe(&mut self, hooks: &Hooks) -> Result<()> {
        let stored = hooks.all();
        hooks.clear();
        if self.names.is_empty() {
            self.names = hooks.names().to_vec();
        }
        let mut parts = Vec::with_capacity(stored.len());
        for (name, output) in stored {
            let output = output.ok_or_else(|| {
                Error::Invalid(format!(
                    "ActivationStats: module `{name}` stored no output in this batch's forward"
                ))
            })?;
            parts.push(stats_on_device(&output, self.with_hist)?);
        }
        // One transfer for every layer of the batch.
        let values = Tensor::cat(&parts, 0)?.to_vec1::<f32>()?;
        let w = width(self.with_hist);
        self.stats.push(
            values
                .chunks(w)
                .map(|v| LayerStats::from_slice(v, self.with_hist))
                .collect(),
        );
        Ok(())
    }
}
