use super::{BatchNorm, Dropout, Linear};
use candle_core::Tensor;
use fastcandle_core::{ParamBuilder, Result};

/// fastai's `LinBnDrop` with `lin_first=True`: Linear (no bias when followed by BatchNorm),
/// then ReLU, then BatchNorm1d, then dropout. PyTorch names: `0` linear, `2` BatchNorm.
#[derive(Debug, Clone)]
pub struct LinBnDrop {
    lin: Linear,
    relu: bool,
    bn: Option<BatchNorm>,
    drop: Option<Dropout>,
}

impl LinBnDrop {
    /// Builds the block; `relu` adds the activation, `bn` the BatchNorm, `p > 0` the dropout.
    pub fn new(
        pb: &ParamBuilder,
        n_in: usize,
        n_out: usize,
        bn: bool,
        p: f32,
        relu: bool,
    ) -> Result<Self> {
        let lin = Linear::new(&pb.pp(0), n_in, n_out, !bn)?;
        let bn_idx = if relu { 2 } else { 1 };
        let bn = if bn {
            Some(BatchNorm::new(&pb.pp(bn_idx), n_out)?)
        } else {
            None
        };
        let drop = (p > 0.0).then(|| Dropout::new(pb, p));
        Ok(Self {
            lin,
            relu,
            bn,
            drop,
        })
    }

    /// Applies the block.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let mut x = self.lin.forward(x)?;
        if self.relu {
            x = x.relu()?;
        }
        if let Some(bn) = &self.bn {
            x = bn.forward_t(&x, train)?;
        }
        if let Some(d) = &self.drop {
            x = d.forward_t(&x, train)?;
        }
        Ok(x)
    }
}
