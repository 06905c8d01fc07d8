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
