//! fastai's `Learner.tta`: test-time augmentation. The validation items are predicted `n`
//! times with the training transforms (random crops, flips, rotations...), the passes are
//! averaged (or maxed) and combined with the plain predictions.

use crate::error::{Error, Result};
use crate::learner::Learner;
use candle_core::Tensor;

/// The options of [`Learner::tta_with`], with fastai's defaults: `n` 4, `beta` 0.25,
/// `use_max` false.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TtaOptions {
    /// The augmented passes over the validation set (fastai: 4).
    pub n: usize,
    /// The weight of the plain predictions against the augmented ones:
    /// `lerp(aug, plain, beta) = aug + beta (plain - aug)` (fastai: 0.25). `None` keeps them
    /// apart: [`Tta::preds`] is then the augmented mean (fastai returns the pair).
    pub beta: Option<f64>,
    /// Takes the maximum of the augmented passes, then the maximum of that and the plain
    /// predictions (fastai's `use_max`; `beta` is then unused).
    pub use_max: bool,
}

impl Default for TtaOptions {
    fn default() -> Self {
        Self {
            n: 4,
            beta: Some(0.25),
            use_max: false,
        }
    }
}

/// What [`Learner::tta_with`] gives: one row per validation item, in order.
#[derive(Debug, Clone)]
pub struct Tta {
    /// The combined predictions (activated: probabilities for classification), as fastai's
    /// `tta` returns them.
    pub preds: Tensor,
    /// The targets.
    pub targets: Tensor,
    /// The mean (with `use_max`, the maximum) of the augmented passes.
    pub aug_preds: Tensor,
    /// The plain predictions (validation transforms), as `get_preds` gives them.
    pub plain_preds: Tensor,
}

impl Learner {
    /// fastai's `learn.tta()` with its defaults ([`TtaOptions::default`]): the combined
    /// predictions and the targets of the validation set.
    pub fn tta(&mut self) -> Result<(Tensor, Tensor)> {
        let t = self.tta_with(&TtaOptions::default())?;
        Ok((t.preds, t.targets))
    }

    /// fastai's `learn.tta(n, beta, use_max)` on the validation set: `n` passes with the
    /// training transforms drawn afresh each time
    /// ([`DataLoaders::valid_augmented`](fastcandle_core::DataLoaders::valid_augmented)),
    /// averaged (or maxed with `use_max`), then combined with the plain predictions:
    /// `lerp(aug, plain, beta)`, or the maximum of both with `use_max`.
    ///
    /// Loaders that cannot augment their validation items, `n` of 0, and a `beta` outside
    /// `[0, 1]` are errors naming what is wrong.
    pub fn tta_with(&mut self, opts: &TtaOptions) -> Result<Tta> {
        if opts.n == 0 {
            return Err(Error::Invalid(
                "tta: n (the augmented passes) must be at least 1, got 0".into(),
            ));
        }
        if let Some(beta) = opts.beta
            && !(0.0..=1.0).contains(&beta)
        {
            return Err(Error::Invalid(format!(
                "tta: beta (the plain predictions' weight) must be in [0, 1], got {beta}"
            )));
        }
        let dls = self.dls.clone();
        let mut aug: Option<Tensor> = None;
        for pass in 0..opts.n {
            let batches = dls.valid_augmented(pass).ok_or_else(|| {
                Error::Invalid(
                    "tta: these data loaders cannot apply their training transforms to the \
                     validation items (DataLoaders::valid_augmented gives none); the image \
                     classification loaders can"
                        .into(),
                )
            })?;
            let (probs, _) = self.get_preds(Some(batches))?;
            aug = Some(match aug {
                None => probs,
                Some(acc) if opts.use_max => acc.maximum(&probs)?,
                // A running sum, so that only one pass is held besides it.
                Some(acc) => (acc + probs)?,
            });
        }
        let aug = aug.ok_or_else(|| Error::Invalid("tta: no pass ran".into()))?;
        let aug = if opts.use_max {
            aug
        } else {
            aug.affine(1.0 / opts.n as f64, 0.0)?
        };
        let (plain, targets) = self.get_preds(None)?;
        if aug.dims() != plain.dims() {
            return Err(Error::Invalid(format!(
                "tta: the augmented passes give predictions of shape {:?} but the plain one \
                 {:?}; valid_augmented must give the validation items in order",
                aug.dims(),
                plain.dims()
            )));
        }
        let preds = match (opts.use_max, opts.beta) {
            (true, _) => plain.maximum(&aug)?,
            (false, Some(beta)) => (&aug + ((&plain - &aug)? * beta)?)?,
            (false, None) => aug.clone(),
        };
        Ok(Tta {
            preds,
            targets,
            aug_preds: aug,
            plain_preds: plain,
        })
    }
}
