//! fastai's `get_preds`: every prediction of a data set in evaluation mode, with the targets,
//! the decoded predictions and each item's loss, in the data's order (the validation set is
//! never shuffled, so item `i` of [`Preds`] is item `i` of the validation set).

use crate::error::{Error, Result};
use crate::learner::Learner;
use candle_core::{DType, Tensor};
use fastcandle_core::Batch;
use fastcandle_core::batch::BatchIter;

/// What [`Learner::get_preds_with`] gives (fastai's `get_preds(with_input=..,
/// with_decoded=True, with_loss=True)`), one row per item, in the order of the batches.
#[derive(Debug, Clone)]
pub struct Preds {
    /// The activated outputs (probabilities for classification: `[N, C]`, or `[N, C, H, W]`
    /// for segmentation).
    pub probs: Tensor,
    /// The targets.
    pub targets: Tensor,
    /// The outputs decoded as targets (the [`Loss::decodes`](crate::Loss::decodes) of
    /// `probs`: class indices for classification).
    pub decoded: Tensor,
    /// The loss of each item (`[N]`, `f32`; fastai's `reduction='none'`, averaged over each
    /// item's positions for segmentation).
    pub losses: Tensor,
    /// The inputs of the model, each concatenated over the batches, when asked for.
    pub inputs: Option<Vec<Tensor>>,
}

impl Preds {
    /// How many items were predicted.
    pub fn len(&self) -> usize {
        self.losses.dims().first().copied().unwrap_or(0)
    }

    /// Whether no item was predicted.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Each item's loss, as numbers.
    pub fn loss_values(&self) -> Result<Vec<f32>> {
        Ok(self.losses.to_dtype(DType::F32)?.to_vec1()?)
    }

    /// fastai's `top_losses(k)`: the `k` items with the largest losses, largest first, as
    /// `(item index, loss)`; ties keep the data's order. A NaN loss counts as the largest.
    pub fn top_losses(&self, k: usize) -> Result<Vec<(usize, f32)>> {
        let losses = self.loss_values()?;
        Ok(largest_first(&losses)
            .into_iter()
            .take(k)
            .map(|i| (i, losses[i]))
            .collect())
    }
}

/// The positions of `losses` from the largest loss to the smallest (fastai's `top_losses`
/// order): ties keep their order, and a NaN loss counts as the largest.
pub fn largest_first(losses: &[f32]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..losses.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (losses[a], losses[b]);
        match (x.is_nan(), y.is_nan()) {
            (true, false) => std::cmp::Ordering::Less,
            (false, true) => std::cmp::Ordering::Greater,
            _ => y.total_cmp(&x),
        }
    });
    order
}

impl Learner {
    /// The activated predictions (probabilities for classification) and targets of `batches`
    /// (by default the validation set), in evaluation mode.
    pub fn get_preds(&mut self, batches: Option<BatchIter<'_>>) -> Result<(Tensor, Tensor)> {
        let p = self.get_preds_with(batches, false)?;
        Ok((p.probs, p.targets))
    }

    /// fastai's `get_preds(with_decoded=True, with_loss=True)`: the predictions of `batches`
    /// (by default the validation set, in its order), with their targets, decoded predictions
    /// and per-item losses, and (`with_input`) the model's inputs. The per-item losses of the
    /// validation set average to [`Learner::validate`]'s loss (exactly, where every item has
    /// as many positions).
    ///
    /// # Notes
    /// `with_input` keeps every input on the device: the whole set's images for vision. Keep it
    /// for small sets, and read a large set's items again by their index instead.
    pub fn get_preds_with(
        &mut self,
        batches: Option<BatchIter<'_>>,
        with_input: bool,
    ) -> Result<Preds> {
        fastcandle_core::threads::run_in_pool(|| self.get_preds_in_pool(batches, with_input))
    }

    fn get_preds_in_pool(
        &mut self,
        batches: Option<BatchIter<'_>>,
        with_input: bool,
    ) -> Result<Preds> {
        let (mut probs, mut targs, mut losses, mut inputs) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        self.each_batch(batches, |b: Batch, this: &mut Self| -> Result<()> {
            let pred = this.predict_batch(&b.xs)?;
            losses.push(this.loss_func.loss_per_item(&pred, &b.ys)?);
            probs.push(this.loss_func.activation(&pred)?);
            targs.push(b.ys);
            if with_input {
                inputs.push(b.xs);
            }
            Ok(())
        })?;
        if probs.is_empty() {
            return Err(Error::Invalid("get_preds: no batch to predict".into()));
        }
        let probs = Tensor::cat(&probs, 0)?;
        let decoded = self.loss_func.decodes(&probs)?;
        let inputs = if with_input {
            let n_inputs = inputs.first().map(Vec::len).unwrap_or(0);
            let joined = (0..n_inputs)
                .map(|k| {
                    let parts: Vec<&Tensor> = inputs.iter().map(|xs| &xs[k]).collect();
                    Tensor::cat(&parts, 0)
                })
                .collect::<candle_core::Result<Vec<_>>>()?;
            Some(joined)
        } else {
            None
        };
        Ok(Preds {
            probs,
            targets: Tensor::cat(&targs, 0)?,
            decoded,
            losses: Tensor::cat(&losses, 0)?,
            inputs,
        })
    }
}
