use super::Layer;
use candle_core::Tensor;
use fastcandle_core::rng::SeededRng;
use fastcandle_core::{ParamBuilder, Result};
use std::sync::{Arc, Mutex};

/// Stochastic depth in torchvision's `"row"` mode (timm's `DropPath`): in training, a residual
/// branch is zeroed for each sample with probability `p` and scaled by `1/(1-p)` otherwise
/// ([`fastcandle_core::ops::drop_path`]); in evaluation it passes unchanged. Draws from the
/// model's seeded generator, as [`super::Dropout`].
#[derive(Debug, Clone)]
pub struct StochasticDepth {
    p: f32,
    rng: Arc<Mutex<SeededRng>>,
}

impl StochasticDepth {
    /// A layer dropping with probability `p`, drawing from the generator of `pb`'s store.
    pub fn new(pb: &ParamBuilder, p: f64) -> Self {
        Self {
            p: p as f32,
            rng: pb.store().rng(),
        }
    }

    /// The probability of dropping a sample's branch.
    pub fn p(&self) -> f64 {
        f64::from(self.p)
    }
}

impl Layer for StochasticDepth {
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        if !train || self.p <= 0.0 {
            return Ok(x.clone());
        }
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        Ok(fastcandle_core::ops::drop_path(x, self.p, &mut rng)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn drops_whole_samples_in_training_only() {
        let pb = ParamBuilder::new(&Device::Cpu, 0);
        let sd = StochasticDepth::new(&pb, 0.5);
        let x = Tensor::ones((64, 2, 3, 3), candle_core::DType::F32, &Device::Cpu).unwrap();
        let eval: Vec<f32> = sd
            .forward_t(&x, false)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        assert!(eval.iter().all(|v| *v == 1.0));
        let y = sd.forward_t(&x, true).unwrap();
        let per_sample: Vec<f32> = y.sum((1, 2, 3)).unwrap().to_vec1().unwrap();
        assert!(
            per_sample.iter().all(|s| *s == 0.0 || *s == 36.0),
            "{per_sample:?}"
        );
        let dropped = per_sample.iter().filter(|s| **s == 0.0).count();
        assert!(
            (16..=48).contains(&dropped),
            "{dropped} of 64 dropped at p = 0.5"
        );
    }
}
