//! Loss functions, with how to turn the model's output into predictions.

use crate::error::{Error, Result};
use candle_core::{D, DType, Tensor};

/// A loss: a scalar to minimise, and how predictions are decoded from the model's output.
pub trait Loss: Send + Sync {
    /// The mean loss over the batch.
    fn loss(&self, pred: &Tensor, target: &Tensor) -> Result<Tensor>;
    /// Turns raw outputs into what a user reads (probabilities for classification).
    fn activation(&self, pred: &Tensor) -> Result<Tensor> {
        Ok(pred.clone())
    }
    /// fastai's `decodes`: the activated outputs as the target's kind (the class index of
    /// each position for classification; the values themselves for regression).
    fn decodes(&self, activated: &Tensor) -> Result<Tensor> {
        Ok(activated.clone())
    }
    /// The loss of each item of the batch (`[N]`, `f32`), as fastai's `reduction='none'`
    /// averaged over each item's own positions: their mean, weighted by the items' counts of
    /// positions, is [`Loss::loss`]. The default computes [`Loss::loss`] item by item.
    fn loss_per_item(&self, pred: &Tensor, target: &Tensor) -> Result<Tensor> {
        let n = pred.dim(0)?;
        let losses = (0..n)
            .map(|i| {
                let l = self.loss(&pred.narrow(0, i, 1)?, &target.narrow(0, i, 1)?)?;
                Ok(l.to_dtype(DType::F32)?.reshape(1)?)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Tensor::cat(&losses, 0)?)
    }
    /// A short name.
    fn name(&self) -> &str;
}

/// fastai's `CrossEntropyLossFlat`: cross-entropy over the class axis `axis` (by default the
/// last), the mean over every position of the output without that axis. Targets are class
/// indices (`u32`), one per position. With `axis(1)` it is fastai's
/// `CrossEntropyLossFlat(axis=1)` for segmentation: `[B, C, H, W]` logits against `[B, H, W]`
/// codes, read in place (no transposed copy on the CPU). An optional code is ignored: those
/// positions count neither in the sum nor in the mean, as PyTorch's `ignore_index`.
#[derive(Debug, Clone)]
pub struct CrossEntropyLossFlat {
    /// A target code to ignore, as PyTorch's `ignore_index`.
    pub ignore_index: Option<u32>,
    /// The class axis of the output, as fastai's `axis`: a negative one counts from the end
    /// (the default, -1, is the last axis).
    pub axis: isize,
}

impl Default for CrossEntropyLossFlat {
    fn default() -> Self {
        Self {
            ignore_index: None,
            axis: -1,
        }
    }
}

impl CrossEntropyLossFlat {
    /// The loss over the last axis with nothing ignored (fastai's defaults).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the class axis (1 for segmentation's `[B, C, H, W]`; negative counts from the end).
    pub fn axis(mut self, axis: isize) -> Self {
        self.axis = axis;
        self
    }

    /// Ignores the positions whose target is `code` (PyTorch's `ignore_index`).
    pub fn ignore_index(mut self, code: u32) -> Self {
        self.ignore_index = Some(code);
        self
    }
}

impl Loss for CrossEntropyLossFlat {
    fn loss(&self, pred: &Tensor, target: &Tensor) -> Result<Tensor> {
        let (axis, _) = class_axis(pred, target, self.axis, "cross-entropy")?;
        Ok(fastcandle_core::ops::cross_entropy_axis(
            pred,
            target,
            axis,
            self.ignore_index,
        )?)
    }

    fn activation(&self, pred: &Tensor) -> Result<Tensor> {
        let axis = resolve_axis(pred, self.axis, "cross-entropy")?;
        Ok(if axis + 1 == pred.rank() {
            candle_nn::ops::softmax_last_dim(pred)?
        } else {
            candle_nn::ops::softmax(pred, axis)?
        })
    }

    fn decodes(&self, activated: &Tensor) -> Result<Tensor> {
        let axis = resolve_axis(activated, self.axis, "cross-entropy")?;
        Ok(activated.argmax(axis)?)
    }

    fn loss_per_item(&self, pred: &Tensor, target: &Tensor) -> Result<Tensor> {
        let (axis, _) = class_axis(pred, target, self.axis, "cross-entropy")?;
        let n = pred.dim(0)?;
        if axis == 0 {
            return Err(Error::Invalid(
                "cross-entropy: per-item losses need the items on axis 0, not the classes".into(),
            ));
        }
        let pred = pred.to_dtype(DType::F32)?;
        let logp = candle_nn::ops::log_softmax(&pred, axis)?;
        // One code per position, laid out as the output without its class axis.
        let mut index_dims = pred.dims().to_vec();
        index_dims[axis] = 1;
        let codes = target.to_dtype(DType::U32)?.reshape(index_dims)?;
        let keep = match self.ignore_index {
            Some(code) => codes.ne(code)?,
            None => codes.ones_like()?.to_dtype(DType::U8)?,
        };
        // Ignored codes may lie outside the classes: read class 0 there, and weigh it 0.
        let safe = keep.where_cond(&codes, &codes.zeros_like()?)?;
        let c = pred.dim(axis)?;
        let max_code = safe.max_all()?.to_scalar::<u32>()?;
        if max_code as usize >= c {
            return Err(Error::Invalid(format!(
                "cross-entropy: target {max_code} is outside the {c} classes"
            )));
        }
        let nll = logp.gather(&safe, axis)?.neg()?;
        let w = keep.to_dtype(DType::F32)?;
        let total = (nll * &w)?.reshape((n, ()))?.sum(D::Minus1)?;
        let count = w.reshape((n, ()))?.sum(D::Minus1)?;
        // An item whose every position is ignored has no loss: 0, as PyTorch's mean of none.
        Ok(total.div(&count.maximum(1f32)?)?)
    }

    fn name(&self) -> &str {
        "CrossEntropyLossFlat"
    }
}

/// `axis` of `pred` as an index, a negative one counting from the end.
fn resolve_axis(pred: &Tensor, axis: isize, what: &str) -> Result<usize> {
    let rank = pred.rank() as isize;
    let a = if axis < 0 { axis + rank } else { axis };
    if a < 0 || a >= rank {
        return Err(Error::Invalid(format!(
            "{what}: no class axis {axis} in an output of shape {:?}",
            pred.dims()
        )));
    }
    Ok(a as usize)
}

/// The class axis of `pred` (`axis`, negative from the end) and its number of classes, after
/// checking that `target` holds one code per position of `pred` without that axis: its shape
/// is `pred`'s without the axis, up to axes of size 1 (`[B]` and `[B, 1]` both fit `[B, C]`,
/// `[B, H, W]` and `[B, 1, H, W]` both fit `[B, C, H, W]`).
pub(crate) fn class_axis(
    pred: &Tensor,
    target: &Tensor,
    axis: isize,
    what: &str,
) -> Result<(usize, usize)> {
    let a = resolve_axis(pred, axis, what)?;
    let non_unit = |dims: &[usize], skip: Option<usize>| -> Vec<usize> {
        let kept = dims.iter().enumerate().filter(|&(i, _)| Some(i) != skip);
        kept.map(|(_, &d)| d).filter(|&d| d != 1).collect()
    };
    let dims = pred.dims();
    let positions = non_unit(dims, Some(a));
    let codes = non_unit(target.dims(), None);
    if positions != codes || dims[a] == 0 {
        return Err(Error::Invalid(format!(
            "{what}: output {dims:?} with classes on axis {a} does not match target {:?}",
            target.dims()
        )));
    }
    Ok((a, dims[a]))
}

/// fastai's `MSELossFlat`: mean squared error with output and target flattened.
#[derive(Debug, Clone, Copy, Default)]
pub struct MseLossFlat;

impl Loss for MseLossFlat {
    fn loss(&self, pred: &Tensor, target: &Tensor) -> Result<Tensor> {
        if pred.elem_count() != target.elem_count() {
            return Err(Error::Invalid(format!(
                "mse: output {:?} does not match target {:?}",
                pred.dims(),
                target.dims()
            )));
        }
        let n = pred.elem_count();
        let t = target.reshape(n)?.to_dtype(pred.dtype())?;
        Ok(candle_nn::loss::mse(&pred.reshape(n)?, &t)?)
    }

    fn loss_per_item(&self, pred: &Tensor, target: &Tensor) -> Result<Tensor> {
        if pred.elem_count() != target.elem_count() {
            return Err(Error::Invalid(format!(
                "mse: output {:?} does not match target {:?}",
                pred.dims(),
                target.dims()
            )));
        }
        let n = pred.dim(0)?;
        let p = pred.to_dtype(DType::F32)?.reshape((n, ()))?;
        let t = target.to_dtype(DType::F32)?.reshape((n, ()))?;
        Ok((p - t)?.sqr()?.mean(D::Minus1)?)
    }

    fn name(&self) -> &str {
        "MSELossFlat"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn cross_entropy_matches_the_formula() {
        let d = Device::Cpu;
        let pred = Tensor::new(&[[1f32, 2., 0.5], [0.1, -1., 3.]], &d).unwrap();
        let t = Tensor::new(&[1u32, 2], &d).unwrap();
        let l = CrossEntropyLossFlat::default()
            .loss(&pred, &t)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        let lse = |v: [f32; 3]| v.iter().map(|x| x.exp()).sum::<f32>().ln();
        let expect = ((lse([1., 2., 0.5]) - 2.) + (lse([0.1, -1., 3.]) - 3.)) / 2.;
        assert!((l - expect).abs() < 1e-6, "{l} vs {expect}");
        let ign = CrossEntropyLossFlat::new().ignore_index(2);
        let l2 = ign.loss(&pred, &t).unwrap().to_scalar::<f32>().unwrap();
        assert!((l2 - (lse([1., 2., 0.5]) - 2.)).abs() < 1e-6);
        assert!(
            CrossEntropyLossFlat::default()
                .loss(&pred, &Tensor::new(&[1u32], &d).unwrap())
                .is_err()
        );
    }

    #[test]
    fn segmentation_loss_reads_the_class_axis() {
        let d = Device::Cpu;
        // [1, 3, 1, 2] logits: pixel 0 is (1, 2, 0.5), pixel 1 is (0.1, -1, 3).
        let pred = Tensor::new(&[[[[1f32, 0.1]], [[2., -1.]], [[0.5, 3.]]]], &d).unwrap();
        let t = Tensor::new(&[[[1u32, 2]]], &d).unwrap();
        let seg = CrossEntropyLossFlat::new().axis(1);
        let l = seg.loss(&pred, &t).unwrap().to_scalar::<f32>().unwrap();
        let lse = |v: [f32; 3]| v.iter().map(|x| x.exp()).sum::<f32>().ln();
        let expect = ((lse([1., 2., 0.5]) - 2.) + (lse([0.1, -1., 3.]) - 3.)) / 2.;
        assert!((l - expect).abs() < 1e-6, "{l} vs {expect}");
        // A unit axis in the target ([B, 1, H, W]) is fine.
        let l1 = seg.loss(&pred, &t.unsqueeze(1).unwrap()).unwrap();
        assert_eq!(l1.to_scalar::<f32>().unwrap(), l);
        let soft = seg.activation(&pred).unwrap().sum(1).unwrap();
        for v in soft.flatten_all().unwrap().to_vec1::<f32>().unwrap() {
            assert!((v - 1.0).abs() < 1e-6);
        }
    }

    #[test]
    fn a_code_outside_the_classes_is_an_error_naming_it() {
        let d = Device::Cpu;
        let pred = Tensor::zeros((2, 3, 2, 2), candle_core::DType::F32, &d).unwrap();
        let t = Tensor::new(&[[[0u32, 1], [2, 0]], [[1, 5], [0, 0]]], &d).unwrap();
        let seg = CrossEntropyLossFlat::new().axis(1);
        let e = seg.loss(&pred, &t).unwrap_err().to_string();
        assert!(e.contains("target 5"), "{e}");
        assert!(seg.clone().ignore_index(5).loss(&pred, &t).is_ok());
    }

    #[test]
    fn output_and_target_shapes_must_fit() {
        let d = Device::Cpu;
        let pred = Tensor::zeros((2, 3, 2, 4), candle_core::DType::F32, &d).unwrap();
        let seg = CrossEntropyLossFlat::new().axis(1);
        for bad in [(2, 4, 2), (2, 2, 3), (1, 2, 4)] {
            let t = Tensor::zeros(bad, candle_core::DType::U32, &d).unwrap();
            let e = seg.loss(&pred, &t).unwrap_err().to_string();
            assert!(e.contains("does not match"), "{bad:?}: {e}");
        }
        let t = Tensor::zeros((2, 2, 4), candle_core::DType::U32, &d).unwrap();
        assert!(seg.clone().axis(4).loss(&pred, &t).is_err());
        assert!(seg.axis(-3).loss(&pred, &t).is_ok());
    }

    /// `loss` item by item, through the trait's default `loss_per_item`.
    struct ItemByItem<'a>(&'a dyn Loss);

    impl Loss for ItemByItem<'_> {
        fn loss(&self, pred: &Tensor, target: &Tensor) -> Result<Tensor> {
            self.0.loss(pred, target)
        }
        fn name(&self) -> &str {
            "item by item"
        }
    }

    fn per_item(l: &dyn Loss, pred: &Tensor, t: &Tensor) -> Vec<f32> {
        l.loss_per_item(pred, t).unwrap().to_vec1::<f32>().unwrap()
    }

    #[test]
    fn per_item_losses_are_each_items_own_loss() {
        let d = Device::Cpu;
        let pred = Tensor::new(&[[1f32, 2., 0.5], [0.1, -1., 3.], [0., 0., 0.]], &d).unwrap();
        let t = Tensor::new(&[1u32, 2, 0], &d).unwrap();
        let ce = CrossEntropyLossFlat::new();
        let fast = per_item(&ce, &pred, &t);
        let slow = per_item(&ItemByItem(&ce), &pred, &t);
        assert_eq!(fast.len(), 3);
        for (a, b) in fast.iter().zip(&slow) {
            assert!((a - b).abs() < 1e-6, "{fast:?} vs {slow:?}");
        }
        assert!((fast[2] - 3f32.ln()).abs() < 1e-6);
        // Their mean is the batch's loss.
        let mean = ce.loss(&pred, &t).unwrap().to_scalar::<f32>().unwrap();
        assert!((fast.iter().sum::<f32>() / 3.0 - mean).abs() < 1e-6);
        // Decoded: the class of the largest output.
        let dec = ce.decodes(&ce.activation(&pred).unwrap()).unwrap();
        assert_eq!(dec.to_vec1::<u32>().unwrap(), [1, 2, 0]);
    }

    #[test]
    fn segmentation_per_item_losses_average_each_images_kept_pixels() {
        let d = Device::Cpu;
        let pred = Tensor::arange(0f32, 24., &d)
            .unwrap()
            .affine(0.37, -2.0)
            .unwrap()
            .sin()
            .unwrap()
            .reshape((2, 3, 2, 2))
            .unwrap();
        let t = Tensor::new(&[[[0u32, 1], [2, 1]], [[2, 2], [0, 9]]], &d).unwrap();
        let seg = CrossEntropyLossFlat::new().axis(1).ignore_index(9);
        let fast = per_item(&seg, &pred, &t);
        let slow = per_item(&ItemByItem(&seg), &pred, &t);
        for (a, b) in fast.iter().zip(&slow) {
            assert!((a - b).abs() < 1e-6, "{fast:?} vs {slow:?}");
        }
        // An image whose pixels are all ignored has loss 0.
        let all = Tensor::new(&[[[9u32, 9], [9, 9]], [[2, 2], [0, 1]]], &d).unwrap();
        assert_eq!(per_item(&seg, &pred, &all)[0], 0.0);
        // A code outside the classes is still an error.
        let bad = Tensor::new(&[[[0u32, 1], [2, 5]], [[2, 2], [0, 1]]], &d).unwrap();
        assert!(seg.loss_per_item(&pred, &bad).is_err());
        let dec = seg.decodes(&pred).unwrap();
        assert_eq!(dec.dims(), &[2, 2, 2]);
    }

    #[test]
    fn mse_per_item_is_each_rows_mean_square() {
        let d = Device::Cpu;
        let pred = Tensor::new(&[[1f32, 2.], [3., 5.]], &d).unwrap();
        let t = Tensor::new(&[[2f32, 2.], [1., 1.]], &d).unwrap();
        assert_eq!(per_item(&MseLossFlat, &pred, &t), [0.5, 10.0]);
    }

    #[test]
    fn mse_matches_the_formula() {
        let d = Device::Cpu;
        let pred = Tensor::new(&[[1f32], [3.]], &d).unwrap();
        let t = Tensor::new(&[2f32, 1.], &d).unwrap();
        let l = MseLossFlat
            .loss(&pred, &t)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!((l - 2.5).abs() < 1e-6);
    }
}
