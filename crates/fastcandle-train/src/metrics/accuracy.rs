//! Classification's accuracy and error rate (fastai's `accuracy`, `error_rate`).

use super::Metric;
use crate::error::Result;
use candle_core::{D, DType, Tensor};

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
}
