//! fastai's `MixedPrecision` callback (`to_fp16()`, `to_bf16()`): the forward and backward
//! run in a half dtype while the parameters stay f32 (the master weights the optimizer
//! updates). For f16, whose range ends at 65504, the loss is multiplied by a scale before
//! backward so that small gradients do not flush to zero, and the gradients are divided by it
//! before the step; a step whose gradients overflowed is skipped and the scale shrinks,
//! PyTorch's `GradScaler` (which fastai uses) with its defaults. bf16 has f32's range and needs
//! no scaling.
//!
//! What is cast where: the floating inputs of each batch go to the half dtype in
//! `before_batch` (integer inputs, such as tabular codes, stay as they are); each layer casts
//! the f32 parameter it combines with an activation to the activation's dtype (a no-op, no
//! copy, when both are f32), so the cast's backward hands the master weight an f32 gradient;
//! BatchNorm computes its statistics in f32; the prediction goes back to f32 in `after_pred`,
//! so that the loss and the metrics are computed in f32, as under PyTorch's autocast.

use super::Callback;
use crate::error::{Cancel, Error, Result};
use crate::learner::Learner;
use candle_core::{DType, Tensor};

/// The dynamic loss scaling of f16 training (PyTorch's `GradScaler`, fastai's defaults): the
/// loss is multiplied by `scale` before backward; a step whose unscaled gradients hold an
/// infinity or a NaN is skipped and the scale is multiplied by `backoff_factor`; after
/// `growth_interval` steps in a row without overflow it is multiplied by `growth_factor`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GradScaler {
    /// The scale at the first step (default `2^16`).
    pub init_scale: f64,
    /// The factor the scale grows by after `growth_interval` good steps (default 2).
    pub growth_factor: f64,
    /// The factor the scale shrinks by on an overflow (default 0.5).
    pub backoff_factor: f64,
    /// Good steps in a row before the scale grows (default 2000).
    pub growth_interval: usize,
}

impl Default for GradScaler {
    fn default() -> Self {
        Self {
            init_scale: 65536.0,
            growth_factor: 2.0,
            backoff_factor: 0.5,
            growth_interval: 2000,
        }
    }
}

impl GradScaler {
    /// Sets the scale of the first step.
    pub fn init_scale(mut self, v: f64) -> Self {
        self.init_scale = v;
        self
    }

    /// Sets the growth factor.
    pub fn growth_factor(mut self, v: f64) -> Self {
        self.growth_factor = v;
        self
    }

    /// Sets the backoff factor.
    pub fn backoff_factor(mut self, v: f64) -> Self {
        self.backoff_factor = v;
        self
    }

    /// Sets the number of good steps in a row before the scale grows.
    pub fn growth_interval(mut self, v: usize) -> Self {
        self.growth_interval = v;
        self
    }

    /// An error naming the first option that cannot work: `init_scale` must be positive and
    /// finite, `growth_factor` above 1, `backoff_factor` in `(0, 1)`, `growth_interval` at
    /// least 1.
    pub fn check(&self) -> Result<()> {
        let bad = |name: &str, v: String, want: &str| {
            Err(Error::Invalid(format!(
                "mixed precision: {name} is {v}; it must be {want}"
            )))
        };
        if !(self.init_scale.is_finite() && self.init_scale > 0.0) {
            return bad(
                "init_scale",
                self.init_scale.to_string(),
                "positive and finite",
            );
        }
        if !(self.growth_factor.is_finite() && self.growth_factor > 1.0) {
            return bad(
                "growth_factor",
                self.growth_factor.to_string(),
                "above 1 (and finite)",
            );
        }
        if !(self.backoff_factor > 0.0 && self.backoff_factor < 1.0) {
            return bad(
                "backoff_factor",
                self.backoff_factor.to_string(),
                "in (0, 1)",
            );
        }
        if self.growth_interval == 0 {
            return bad("growth_interval", "0".into(), "at least 1");
        }
        Ok(())
    }
}

/// fastai's `MixedPrecision` callback: half-precision forward and backward over f32 master
/// weights, with dynamic loss scaling in f16. Add it with [`Learner::to_fp16`],
/// [`Learner::to_bf16`] (or [`Learner::to_fp16_with`] for other scaling options); remove it
/// with [`Learner::to_fp32`].
///
/// A training epoch in which every step overflowed stops the fit with an error: the model did
/// not change, and going on would only repeat it.
#[derive(Debug, Clone)]
pub struct MixedPrecision {
    dtype: DType,
    scaler: Option<GradScaler>,
    scale: f64,
    good_in_a_row: usize,
    skipped: usize,
    steps_in_epoch: usize,
    skipped_in_epoch: usize,
    /// This batch's step was skipped (`after_step` runs after a cancelled step too, as
    /// fastai's).
    overflowed: bool,
}

impl MixedPrecision {
    /// f16 with PyTorch's `GradScaler` defaults (fastai's `to_fp16()`).
    pub fn fp16() -> Self {
        Self::new(DType::F16, Some(GradScaler::default()))
    }

    /// f16 with the scaling options of `scaler`; an error names a bad option.
    pub fn fp16_with(scaler: GradScaler) -> Result<Self> {
        scaler.check()?;
        Ok(Self::new(DType::F16, Some(scaler)))
    }

    /// bf16, with no loss scaling (fastai's `to_bf16()`).
    pub fn bf16() -> Self {
        Self::new(DType::BF16, None)
    }

    fn new(dtype: DType, scaler: Option<GradScaler>) -> Self {
        Self {
            dtype,
            scale: scaler.map_or(1.0, |s| s.init_scale),
            scaler,
            good_in_a_row: 0,
            skipped: 0,
            steps_in_epoch: 0,
            skipped_in_epoch: 0,
            overflowed: false,
        }
    }

    /// The half dtype of the forward and backward (`F16` or `BF16`).
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The current loss scale (`None` without scaling: bf16).
    pub fn scale(&self) -> Option<f64> {
        self.scaler.map(|_| self.scale)
    }

    /// How many optimizer steps were skipped for overflowing gradients, over every fit.
    pub fn skipped_steps(&self) -> usize {
        self.skipped
    }

    /// `xs` with every floating tensor in the half dtype (integer tensors unchanged).
    pub fn cast_inputs(&self, xs: &[Tensor]) -> Result<Vec<Tensor>> {
        Ok(xs
            .iter()
            .map(|t| {
                if t.dtype().is_float() {
                    t.to_dtype(self.dtype)
                } else {
                    Ok(t.clone())
                }
            })
            .collect::<candle_core::Result<_>>()?)
    }

    /// Divides every gradient of `learn`'s parameters by the scale, in place in the store;
    /// whether they are all finite.
    fn unscale(&self, learn: &mut Learner) -> Result<bool> {
        let params = learn.model.params().parameters();
        let grads = learn.grads.as_mut().ok_or(Error::Cleared {
            stage: "before_step",
            what: "gradient store",
        })?;
        let inv = 1.0 / self.scale;
        let mut finite = true;
        for p in &params {
            let t = p.var.as_tensor();
            let Some(g) = grads.get(t) else { continue };
            let g = (g.to_dtype(DType::F32)? * inv)?;
            // A sum holds an infinity or a NaN of any element (inf - inf is NaN).
            if finite && !g.sum_all()?.to_scalar::<f32>()?.is_finite() {
                finite = false;
            }
            grads.insert(t, g.to_dtype(t.dtype())?);
        }
        Ok(finite)
    }
}

impl Callback for MixedPrecision {
    fn order(&self) -> i32 {
        // fastai's: after TerminateOnNaN (0), before anything that reads the gradients.
        10
    }

    fn before_epoch(&mut self, _learn: &mut Learner) -> Result<()> {
        self.steps_in_epoch = 0;
        self.skipped_in_epoch = 0;
        Ok(())
    }

    fn before_batch(&mut self, learn: &mut Learner) -> Result<()> {
        if let Some(b) = learn.batch.as_mut() {
            b.xs = self.cast_inputs(&b.xs)?;
        }
        Ok(())
    }

    fn after_pred(&mut self, learn: &mut Learner) -> Result<()> {
        if let Some(p) = learn.pred.as_ref() {
            learn.pred = Some(p.to_dtype(DType::F32)?);
        }
        Ok(())
    }

    fn before_backward(&mut self, learn: &mut Learner) -> Result<()> {
        if self.scaler.is_some()
            && let Some(l) = learn.loss.as_ref()
        {
            learn.loss = Some((l * self.scale)?);
        }
        Ok(())
    }

    fn after_backward(&mut self, learn: &mut Learner) -> Result<()> {
        // The loss keeps its unscaled value for callbacks after backward.
        if self.scaler.is_some()
            && let Some(l) = learn.loss.as_ref()
        {
            learn.loss = Some((l / self.scale)?);
        }
        Ok(())
    }

    fn before_step(&mut self, learn: &mut Learner) -> Result<()> {
        let Some(scaler) = self.scaler else {
            return Ok(());
        };
        self.steps_in_epoch += 1;
        self.overflowed = !self.unscale(learn)?;
        if !self.overflowed {
            return Ok(());
        }
        self.scale *= scaler.backoff_factor;
        self.good_in_a_row = 0;
        self.skipped += 1;
        self.skipped_in_epoch += 1;
        Err(Error::Cancelled(Cancel::Step))
    }

    fn after_step(&mut self, _learn: &mut Learner) -> Result<()> {
        let Some(scaler) = self.scaler else {
            return Ok(());
        };
        if std::mem::take(&mut self.overflowed) {
            return Ok(());
        }
        self.good_in_a_row += 1;
        if self.good_in_a_row >= scaler.growth_interval {
            self.scale *= scaler.growth_factor;
            self.good_in_a_row = 0;
        }
        Ok(())
    }

    fn after_train(&mut self, learn: &mut Learner) -> Result<()> {
        if self.steps_in_epoch > 0 && self.skipped_in_epoch == self.steps_in_epoch {
            return Err(Error::AllStepsSkipped {
                epoch: learn.state.epoch,
                skipped: self.skipped_in_epoch,
                scale: self.scale,
            });
        }
        Ok(())
    }
}
