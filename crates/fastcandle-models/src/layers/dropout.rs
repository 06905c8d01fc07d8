use candle_core::Tensor;
use fastcandle_core::rng::SeededRng;
use fastcandle_core::{ParamBuilder, Result};
use std::sync::{Arc, Mutex};

/// Dropout with probability `p`, active only in training, drawing from the model's seeded
/// generator (see [`fastcandle_core::ParamStore::reseed`]).
#[derive(Debug, Clone)]
pub struct Dropout {
    p: f32,
    rng: Arc<Mutex<SeededRng>>,
}

impl Dropout {
    /// A dropout layer drawing from the generator of `pb`'s store.
    pub fn new(pb: &ParamBuilder, p: f32) -> Self {
        Self {
            p,
            rng: pb.store().rng(),
        }
    }

    /// Applies dropout when `train` is true, and nothing otherwise.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        if !train || self.p <= 0.0 {
            return Ok(x.clone());
        }
        let mut rng = self.rng.lock().expect("model rng lock poisoned");
        Ok(fastcandle_core::ops::dropout(x, self.p, &mut rng)?)
    }
}
