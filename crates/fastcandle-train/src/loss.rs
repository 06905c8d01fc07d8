//! Loss functions, with how to turn the model's output into predictions.

use crate::error::{Error, Result};
use candle_core::Tensor;

/// A loss: a scalar to minimise, and how predictions are decoded from the model's output.
pub trait Loss: Send + Sync {
    /// The mean loss over the batch.
    fn loss(&self, pred: &Tensor, target: &Tensor) -> Result<Tensor>;
    /// Turns raw outputs into what a user reads (probabilities for classification).
    fn activation(&self, pred: &Tensor) -> Result<Tensor> {
        Ok(pred.clone())
    }
    /// A short name.
    fn name(&self) -> &str;
}

/// fastai's `CrossEntropyLossFlat`: cross-entropy over the last axis, with the output and the
/// target flattened to `[N, C]` and `[N]` (so it also serves segmentation). Targets are class
/// indices (`u32`). An optional code is ignored (excluded from the mean).
#[derive(Debug, Clone, Default)]
pub struct CrossEntropyLossFlat {
    /// A target code to ignore, as PyTorch's `ignore_index`.
    pub ignore_index: Option<u32>,
}

impl Loss for CrossEntropyLossFlat {
    fn loss(&self, pred: &Tensor, target: &Tensor) -> Result<Tensor> {
        let c = *pred.dims().last().unwrap_or(&0);
        let n = target.elem_count();
        if pred.elem_count() != n * c {
            return Err(Error::Invalid(format!(
                "cross-entropy: output {:?} does not match target {:?}",
                pred.dims(),
                target.dims()
            )));
        }
        let pred = pred.reshape((n, c))?;
        Ok(fastcandle_core::ops::cross_entropy(
            &pred,
            target,
            self.ignore_index,
        )?)
    }

    fn activation(&self, pred: &Tensor) -> Result<Tensor> {
        Ok(candle_nn::ops::softmax_last_dim(pred)?)
    }

    fn name(&self) -> &str {
        "CrossEntropyLossFlat"
    }
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
        let ign = CrossEntropyLossFlat {
            ignore_index: Some(2),
        };
        let l2 = ign.loss(&pred, &t).unwrap().to_scalar::<f32>().unwrap();
        assert!((l2 - (lse([1., 2., 0.5]) - 2.)).abs() < 1e-6);
        assert!(
            CrossEntropyLossFlat::default()
                .loss(&pred, &Tensor::new(&[1u32], &d).unwrap())
                .is_err()
        );
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
