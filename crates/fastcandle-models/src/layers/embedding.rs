use candle_core::Tensor;
use fastcandle_core::grad::tracked;
use fastcandle_core::init::Init;
use fastcandle_core::{ParamBuilder, ParamKind, Result};

/// A lookup table of `n` vectors of size `dim`, initialised as fastai's `Embedding`
/// (`trunc_normal_` with std 0.01).
#[derive(Debug, Clone)]
pub struct Embedding {
    weight: Tensor,
}

impl Embedding {
    /// Registers `weight` (`[n, dim]`) under `pb`.
    pub fn new(pb: &ParamBuilder, n: usize, dim: usize) -> Result<Self> {
        let weight = pb.param(
            "weight",
            &[n, dim],
            ParamKind::Weight,
            Init::TruncNormal { std: 0.01 },
        )?;
        Ok(Self { weight })
    }

    /// Looks up the rows of `codes` (a `u32` vector of length `N`), giving `[N, dim]`.
    pub fn forward(&self, codes: &Tensor) -> Result<Tensor> {
        Ok(tracked(&self.weight).embedding(codes)?)
    }
}
