//! Metrics, accumulated over a whole validation pass, each as fastai's Learner reports it:
//! classification's [`accuracy`] and [`error_rate`], segmentation's [`foreground_acc`],
//! [`pixel_accuracy`] and [`dice_multi`].
//!
//! One type for every metric, as fastai's `mk_metric` ("convert `m` to an `AvgMetric`, unless
//! it's already a `Metric`"): every constructor returns a `Box<dyn Metric>`, so a list of
//! metrics is just a list, whatever their kinds. A metric with options is also a struct whose
//! setters configure it ([`SegAccuracy`], [`DiceMulti`]), and any [`Metric`], yours included,
//! converts into a `Box<dyn Metric>` with `.into()`:
//!
//! ```
//! use fastcandle_train::{Metric, SegAccuracy, accuracy, dice_multi, foreground_acc};
//! let metrics: Vec<Box<dyn Metric>> =
//!     vec![accuracy(), foreground_acc(), dice_multi(), SegAccuracy::foreground().bkg_idx(2).into()];
//! assert_eq!(metrics[3].name(), "foreground_acc");
//! ```

mod accuracy;
mod dice;
mod seg_accuracy;

pub use accuracy::{accuracy, error_rate};
pub use dice::{DiceMulti, dice_multi};
pub use seg_accuracy::{SegAccuracy, foreground_acc, pixel_accuracy};

use crate::error::Result;
use crate::loss::class_axis;
use candle_core::{DType, Tensor};

/// A metric accumulated batch by batch and read at the end of the validation pass.
///
/// [`Learner::metrics`](crate::Learner::metrics) takes anything that converts into a
/// `Box<dyn Metric>`, and every `Metric` does.
pub trait Metric: Send {
    /// The column name in the epoch table and `history.csv`.
    fn name(&self) -> &str;
    /// Clears the accumulated state (before each validation pass).
    fn reset(&mut self);
    /// Adds one batch of raw model outputs and targets.
    fn accumulate(&mut self, pred: &Tensor, target: &Tensor) -> Result<()>;
    /// The value over everything accumulated since the last reset.
    fn value(&self) -> f64;
}

/// Any metric becomes the one type a list of metrics holds (fastai's `mk_metric`).
impl<M: Metric + 'static> From<M> for Box<dyn Metric> {
    fn from(metric: M) -> Self {
        Box::new(metric)
    }
}

/// A list of metrics as every `.metrics(..)` setter takes it: any iterable (an array, a `Vec`)
/// of things that convert into `Box<dyn Metric>`, that is of metrics.
pub trait IntoMetrics {
    /// The metrics, boxed.
    fn into_metrics(self) -> Vec<Box<dyn Metric>>;
}

impl<I: IntoIterator<Item = M>, M: Into<Box<dyn Metric>>> IntoMetrics for I {
    fn into_metrics(self) -> Vec<Box<dyn Metric>> {
        self.into_iter().map(Into::into).collect()
    }
}

/// One batch of segmentation outputs decoded on the host: the arg-max class and the target
/// code of every position, in the same order, with the number of classes and of images.
struct Decoded {
    pred: Vec<u32>,
    targ: Vec<u32>,
    classes: usize,
    bs: usize,
}

impl Decoded {
    fn new(pred: &Tensor, target: &Tensor, axis: isize, what: &str) -> Result<Self> {
        let (axis, classes) = class_axis(pred, target, axis, what)?;
        Ok(Self {
            pred: pred.argmax(axis)?.flatten_all()?.to_vec1()?,
            targ: target.flatten_all()?.to_dtype(DType::U32)?.to_vec1()?,
            classes,
            bs: target.dims().first().copied().unwrap_or(1),
        })
    }
}

#[cfg(test)]
pub(crate) mod test_util {
    use candle_core::{Device, Tensor};

    /// `[B, C, 1, W]` logits whose arg-max along axis 1 is `classes`.
    pub(crate) fn seg_logits(classes: &[&[u32]], c: usize) -> Tensor {
        let (b, w) = (classes.len(), classes[0].len());
        let mut v = vec![0f32; b * c * w];
        for (i, row) in classes.iter().enumerate() {
            for (j, &k) in row.iter().enumerate() {
                v[(i * c + k as usize) * w + j] = 1.0;
            }
        }
        Tensor::from_vec(v, (b, c, 1, w), &Device::Cpu).unwrap()
    }

    /// `[B, 1, W]` target codes.
    pub(crate) fn codes(rows: &[&[u32]]) -> Tensor {
        let flat: Vec<u32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
        Tensor::from_vec(flat, (rows.len(), 1, rows[0].len()), &Device::Cpu).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::test_util::seg_logits;
    use super::*;
    use candle_core::Device;

    #[test]
    fn segmentation_metrics_reject_a_target_of_another_shape() {
        let p = seg_logits(&[&[0, 1, 1, 2]], 3);
        let bad = Tensor::zeros((1, 2, 2), DType::U32, &Device::Cpu).unwrap();
        let mut metrics = [foreground_acc(), pixel_accuracy(), dice_multi()];
        for m in metrics.iter_mut() {
            let e = m.accumulate(&p, &bad).unwrap_err().to_string();
            assert!(e.contains("does not match"), "{}: {e}", m.name());
            let ok = Tensor::zeros((1, 4), DType::U32, &Device::Cpu).unwrap();
            m.accumulate(&p, &ok).unwrap();
        }
    }

    #[test]
    fn a_mixed_list_is_one_type() {
        // Constructors, configured structs and a custom metric, in one list.
        struct Count(usize);
        impl Metric for Count {
            fn name(&self) -> &str {
                "count"
            }
            fn reset(&mut self) {
                self.0 = 0;
            }
            fn accumulate(&mut self, _: &Tensor, target: &Tensor) -> Result<()> {
                self.0 += target.dims()[0];
                Ok(())
            }
            fn value(&self) -> f64 {
                self.0 as f64
            }
        }
        let metrics: Vec<Box<dyn Metric>> = [
            accuracy(),
            foreground_acc(),
            dice_multi(),
            SegAccuracy::foreground().bkg_idx(2).into(),
            DiceMulti::new().axis(1).into(),
            Count(0).into(),
        ]
        .into_iter()
        .collect();
        let names: Vec<&str> = metrics.iter().map(|m| m.name()).collect();
        assert_eq!(
            names,
            [
                "accuracy",
                "foreground_acc",
                "dice_multi",
                "foreground_acc",
                "dice_multi",
                "count"
            ]
        );
    }
}
