//! Segmentation's accuracies: fastai's `foreground_acc`, and the accuracy over every pixel.

use super::{Decoded, Metric};
use crate::error::Result;
use candle_core::Tensor;

/// fastai's `foreground_acc` for segmentation: the share of positions whose arg-max class
/// (over the class axis, 1 by default: `[B, C, H, W]` outputs against `[B, H, W]` codes) equals
/// the target, over the positions whose target is not the background code (0 by default). As
/// fastai's Learner wraps a plain function in its `AvgMetric`, the value is each batch's accuracy weighted by its number of images, not the
/// accuracy over all foreground pixels pooled; a batch without foreground gives NaN, as in
/// fastai.
///
/// Its options are set on [`SegAccuracy::foreground`]:
/// `SegAccuracy::foreground().bkg_idx(2).into()` is the same metric with background code 2.
pub fn foreground_acc() -> Box<dyn Metric> {
    SegAccuracy::foreground().into()
}

/// The share of all positions of a segmentation mask whose arg-max class (over the class axis,
/// 1 by default) equals the target: fastai's `accuracy` with `axis=1`, each batch's value
/// weighted by its number of images as fastai's `AvgMetric` does (the pooled pixel accuracy
/// when all images have the same size).
///
/// Its option (`axis`) is on [`SegAccuracy::pixel`].
pub fn pixel_accuracy() -> Box<dyn Metric> {
    SegAccuracy::pixel().into()
}

/// The accuracy of segmentation outputs over the positions whose target is not a background
/// code: [`foreground_acc`], or with no background [`pixel_accuracy`].
#[derive(Debug, Clone)]
pub struct SegAccuracy {
    name: &'static str,
    bkg_idx: Option<u32>,
    axis: isize,
    total: f64,
    count: usize,
}

impl SegAccuracy {
    /// [`foreground_acc`] with its options: background code 0, class axis 1.
    pub fn foreground() -> Self {
        Self {
            name: "foreground_acc",
            bkg_idx: Some(0),
            axis: 1,
            total: 0.0,
            count: 0,
        }
    }

    /// [`pixel_accuracy`] with its option: no background code, class axis 1.
    pub fn pixel() -> Self {
        Self {
            name: "pixel_accuracy",
            bkg_idx: None,
            ..Self::foreground()
        }
    }

    /// Leaves out the positions whose target is `code` (fastai's `bkg_idx`).
    pub fn bkg_idx(mut self, code: u32) -> Self {
        self.bkg_idx = Some(code);
        self
    }

    /// Sets the class axis of the outputs (negative counts from the end).
    pub fn axis(mut self, axis: isize) -> Self {
        self.axis = axis;
        self
    }
}

impl Metric for SegAccuracy {
    fn name(&self) -> &str {
        self.name
    }

    fn reset(&mut self) {
        self.total = 0.0;
        self.count = 0;
    }

    fn accumulate(&mut self, pred: &Tensor, target: &Tensor) -> Result<()> {
        let b = Decoded::new(pred, target, self.axis, self.name)?;
        let (mut hits, mut n) = (0usize, 0usize);
        for (&p, &t) in b.pred.iter().zip(&b.targ) {
            if Some(t) != self.bkg_idx {
                n += 1;
                hits += usize::from(p == t);
            }
        }
        self.total += hits as f64 / n as f64 * b.bs as f64;
        self.count += b.bs;
        Ok(())
    }

    fn value(&self) -> f64 {
        self.total / self.count as f64
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{codes, seg_logits};
    use super::*;

    #[test]
    fn foreground_acc_weights_each_batch_by_its_images() {
        let mut fg = foreground_acc();
        let mut px = pixel_accuracy();
        let mut fg1: Box<dyn Metric> = SegAccuracy::foreground().bkg_idx(1).into();
        assert_eq!(fg.name(), "foreground_acc");
        // Batch 1 (2 images): 5 foreground pixels, 1 right; 8 pixels, 3 right.
        let p1 = seg_logits(&[&[0, 1, 2, 0], &[2, 2, 0, 1]], 3);
        let t1 = codes(&[&[0, 1, 1, 0], &[1, 0, 2, 2]]);
        // Batch 2 (1 image): 1 foreground pixel, right; 4 pixels, 1 right.
        let p2 = seg_logits(&[&[1, 1, 2, 2]], 3);
        let t2 = codes(&[&[0, 1, 0, 0]]);
        for m in [&mut fg, &mut px, &mut fg1] {
            m.accumulate(&p1, &t1).unwrap();
            m.accumulate(&p2, &t2).unwrap();
        }
        // Per batch, weighted by images: (1/5 * 2 + 1 * 1) / 3, not the pooled 2/6.
        assert!((fg.value() - 1.4 / 3.).abs() < 1e-12, "{}", fg.value());
        assert!((px.value() - (3. / 8. * 2. + 1. / 4.) / 3.).abs() < 1e-12);
        // Background 1: batch 1 has 5 other pixels, 2 right; batch 2 has 3, none right.
        assert!((fg1.value() - (2. / 5. * 2.) / 3.).abs() < 1e-12);
        fg.reset();
        assert!(fg.value().is_nan());
        // A batch without foreground is NaN, as fastai's mean of nothing.
        fg.accumulate(&p2, &codes(&[&[0, 0, 0, 0]])).unwrap();
        assert!(fg.value().is_nan());
    }
}
