//! Metrics, accumulated over a whole validation pass, each as fastai's Learner reports it:
//! classification's [`accuracy`] and [`error_rate`], segmentation's [`foreground_acc`],
//! [`pixel_accuracy`] and [`dice_multi`].

use crate::error::Result;
use crate::loss::class_axis;
use candle_core::{D, DType, Tensor};

/// A metric accumulated batch by batch and read at the end of the validation pass.
pub trait Metric: Send {
    /// The column name in the epoch table and `history.csv`.
    fn name(&self) -> &str;
    /// Clears the accumulated state (before each validation pass).
    fn reset(&mut self);
    /// Adds one batch of raw model outputs and targets.
    fn accumulate(&mut self, pred: &Tensor, target: &Tensor) -> Result<()>;
    /// The value over everything accumulated since the last reset.
    fn value(&self) -> f64;
    /// This metric boxed, for [`Learner::metrics`](crate::Learner::metrics).
    fn boxed(self) -> Box<dyn Metric>
    where
        Self: Sized + 'static,
    {
        Box::new(self)
    }
}

/// The share of items whose arg-max prediction equals the target (fastai's `accuracy`).
pub fn accuracy() -> Box<dyn Metric> {
    Box::new(Accuracy {
        name: "accuracy",
        error: false,
        correct: 0,
        total: 0,
    })
}

/// `1 - accuracy` (fastai's `error_rate`).
pub fn error_rate() -> Box<dyn Metric> {
    Box::new(Accuracy {
        name: "error_rate",
        error: true,
        correct: 0,
        total: 0,
    })
}

struct Accuracy {
    name: &'static str,
    error: bool,
    correct: usize,
    total: usize,
}

impl Metric for Accuracy {
    fn name(&self) -> &str {
        self.name
    }

    fn reset(&mut self) {
        self.correct = 0;
        self.total = 0;
    }

    fn accumulate(&mut self, pred: &Tensor, target: &Tensor) -> Result<()> {
        let c = *pred.dims().last().unwrap_or(&1);
        let n = target.elem_count();
        let pred = pred.reshape((n, c))?.argmax(D::Minus1)?;
        let target = target.reshape(n)?.to_dtype(DType::U32)?;
        let correct = pred
            .eq(&target)?
            .to_dtype(DType::U32)?
            .sum_all()?
            .to_scalar::<u32>()?;
        self.correct += correct as usize;
        self.total += n;
        Ok(())
    }

    fn value(&self) -> f64 {
        let acc = if self.total == 0 {
            0.0
        } else {
            self.correct as f64 / self.total as f64
        };
        if self.error { 1.0 - acc } else { acc }
    }
}

/// fastai's `foreground_acc` for segmentation: the share of positions whose arg-max class
/// (over the class axis, 1 by default: `[B, C, H, W]` outputs against `[B, H, W]` codes) equals
/// the target, over the positions whose target is not the background code (0 by default; set
/// it with [`SegAccuracy::bkg_idx`]). As fastai's Learner wraps a plain function in its
/// `AvgMetric`, the value is each batch's accuracy weighted by its number of images, not the
/// accuracy over all foreground pixels pooled; a batch without foreground gives NaN, as in
/// fastai.
pub fn foreground_acc() -> SegAccuracy {
    SegAccuracy {
        name: "foreground_acc",
        bkg_idx: Some(0),
        axis: 1,
        total: 0.0,
        count: 0,
    }
}

/// The share of all positions of a segmentation mask whose arg-max class (over the class axis,
/// 1 by default) equals the target: fastai's `accuracy` with `axis=1`, each batch's value
/// weighted by its number of images as fastai's `AvgMetric` does (the pooled pixel accuracy
/// when all images have the same size).
pub fn pixel_accuracy() -> SegAccuracy {
    SegAccuracy {
        name: "pixel_accuracy",
        bkg_idx: None,
        axis: 1,
        total: 0.0,
        count: 0,
    }
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

/// fastai's `DiceMulti` (macro F1) for segmentation: per class, the pixels predicted (arg-max
/// over the class axis, 1 by default) and the pixels labelled with it, with their
/// intersection, all summed over the validation pass; the value is the mean of
/// `2 * inter / (predicted + labelled)` over the classes that appear in the predictions or the
/// targets (NaN if none does). Target codes outside the classes (an ignored code) match no
/// class but their pixels' predictions still count, as in fastai.
pub fn dice_multi() -> DiceMulti {
    DiceMulti {
        axis: 1,
        inter: Vec::new(),
        union: Vec::new(),
    }
}

/// The state of [`dice_multi`]: per-class intersections and unions.
#[derive(Debug, Clone)]
pub struct DiceMulti {
    axis: isize,
    inter: Vec<u64>,
    union: Vec<u64>,
}

impl DiceMulti {
    /// Sets the class axis of the outputs (negative counts from the end).
    pub fn axis(mut self, axis: isize) -> Self {
        self.axis = axis;
        self
    }
}

impl Metric for DiceMulti {
    fn name(&self) -> &str {
        "dice_multi"
    }

    fn reset(&mut self) {
        self.inter.clear();
        self.union.clear();
    }

    fn accumulate(&mut self, pred: &Tensor, target: &Tensor) -> Result<()> {
        let b = Decoded::new(pred, target, self.axis, "dice_multi")?;
        if self.inter.len() < b.classes {
            self.inter.resize(b.classes, 0);
            self.union.resize(b.classes, 0);
        }
        for (&p, &t) in b.pred.iter().zip(&b.targ) {
            self.union[p as usize] += 1;
            if let Some(u) = self.union.get_mut(t as usize) {
                *u += 1;
            }
            if p == t {
                self.inter[p as usize] += 1;
            }
        }
        Ok(())
    }

    fn value(&self) -> f64 {
        let scores: Vec<f64> = self
            .inter
            .iter()
            .zip(&self.union)
            .filter(|&(_, &u)| u > 0)
            .map(|(&i, &u)| 2.0 * i as f64 / u as f64)
            .collect();
        scores.iter().sum::<f64>() / scores.len() as f64
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
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn accuracy_and_error_rate_accumulate_over_batches() {
        let d = Device::Cpu;
        let mut acc = accuracy();
        let mut err = error_rate();
        let p1 = Tensor::new(&[[0.1f32, 0.9], [0.8, 0.2]], &d).unwrap();
        let t1 = Tensor::new(&[1u32, 1], &d).unwrap();
        let p2 = Tensor::new(&[[0.3f32, 0.7]], &d).unwrap();
        let t2 = Tensor::new(&[1u32], &d).unwrap();
        for m in [&mut acc, &mut err] {
            m.accumulate(&p1, &t1).unwrap();
            m.accumulate(&p2, &t2).unwrap();
        }
        assert!((acc.value() - 2.0 / 3.0).abs() < 1e-12);
        assert!((err.value() - 1.0 / 3.0).abs() < 1e-12);
        acc.reset();
        assert_eq!(acc.value(), 0.0);
    }

    /// `[B, C, 1, W]` logits whose arg-max along axis 1 is `classes`.
    fn seg_logits(classes: &[&[u32]], c: usize) -> Tensor {
        let (b, w) = (classes.len(), classes[0].len());
        let mut v = vec![0f32; b * c * w];
        for (i, row) in classes.iter().enumerate() {
            for (j, &k) in row.iter().enumerate() {
                v[(i * c + k as usize) * w + j] = 1.0;
            }
        }
        Tensor::from_vec(v, (b, c, 1, w), &Device::Cpu).unwrap()
    }

    fn codes(rows: &[&[u32]]) -> Tensor {
        let flat: Vec<u32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
        Tensor::from_vec(flat, (rows.len(), 1, rows[0].len()), &Device::Cpu).unwrap()
    }

    #[test]
    fn foreground_acc_weights_each_batch_by_its_images() {
        let mut fg = foreground_acc();
        let mut px = pixel_accuracy();
        let mut fg1 = foreground_acc().bkg_idx(1);
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

    #[test]
    fn dice_multi_sums_over_the_pass_and_skips_absent_classes() {
        let mut dice = dice_multi();
        assert_eq!(dice.name(), "dice_multi");
        // 4 classes; class 3 is never predicted nor labelled; 9 is a void code.
        let p1 = seg_logits(&[&[0, 1, 1, 2]], 4);
        let t1 = codes(&[&[0, 1, 2, 9]]);
        let p2 = seg_logits(&[&[0, 0, 2, 2]], 4);
        let t2 = codes(&[&[1, 0, 2, 2]]);
        dice.accumulate(&p1, &t1).unwrap();
        dice.accumulate(&p2, &t2).unwrap();
        // class 0: pred 3, targ 2, inter 2; class 1: pred 2, targ 2, inter 1;
        // class 2: pred 3, targ 3, inter 2.
        let expect = (4. / 5. + 2. / 4. + 4. / 6.) / 3.;
        assert!((dice.value() - expect).abs() < 1e-12, "{}", dice.value());
        dice.reset();
        assert!(dice.value().is_nan());
    }

    #[test]
    fn segmentation_metrics_reject_a_target_of_another_shape() {
        let p = seg_logits(&[&[0, 1, 1, 2]], 3);
        let bad = Tensor::zeros((1, 2, 2), DType::U32, &Device::Cpu).unwrap();
        let mut metrics: [Box<dyn Metric>; 3] = [
            foreground_acc().boxed(),
            pixel_accuracy().boxed(),
            dice_multi().boxed(),
        ];
        for m in metrics.iter_mut() {
            let e = m.accumulate(&p, &bad).unwrap_err().to_string();
            assert!(e.contains("does not match"), "{}: {e}", m.name());
            let ok = Tensor::zeros((1, 4), DType::U32, &Device::Cpu).unwrap();
            m.accumulate(&p, &ok).unwrap();
        }
    }
}
