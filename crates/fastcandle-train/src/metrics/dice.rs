//! fastai's `DiceMulti`, the macro F1 of segmentation.

use super::{Decoded, Metric};
use crate::error::Result;
use candle_core::Tensor;

/// fastai's `DiceMulti` (macro F1) for segmentation: per class, the pixels predicted (arg-max
/// over the class axis, 1 by default) and the pixels labelled with it, with their
/// intersection, all summed over the validation pass; the value is the mean of
/// `2 * inter / (predicted + labelled)` over the classes that appear in the predictions or the
/// targets (NaN if none does). Target codes outside the classes (an ignored code) match no
/// class but their pixels' predictions still count, as in fastai.
///
/// Its option (`axis`) is on [`DiceMulti::new`].
pub fn dice_multi() -> Box<dyn Metric> {
    DiceMulti::new().into()
}

/// The state of [`dice_multi`]: per-class intersections and unions.
#[derive(Debug, Clone, Default)]
pub struct DiceMulti {
    axis: isize,
    inter: Vec<u64>,
    union: Vec<u64>,
}

impl DiceMulti {
    /// [`dice_multi`] with its option: class axis 1.
    pub fn new() -> Self {
        Self {
            axis: 1,
            ..Self::default()
        }
    }

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

#[cfg(test)]
mod tests {
    use super::super::test_util::{codes, seg_logits};
    use super::*;

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
}
