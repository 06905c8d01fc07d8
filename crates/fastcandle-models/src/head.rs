//! fastai's classifier head (`create_head`) for a vision body.

use crate::layers::{AdaptiveConcatPool2d, BatchNorm, Dropout, Flatten, Layer, Linear};
use candle_core::Tensor;
use fastcandle_core::init::Init;
use fastcandle_core::{ParamBuilder, ParamKind, Result};

/// The options of [`Head`], with fastai's defaults.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct HeadConfig {
    /// Sizes of the hidden linear layers (default `[512]`).
    pub lin_ftrs: Vec<usize>,
    /// Dropout before the last linear layer; the earlier ones get half (default 0.5).
    pub ps: f32,
    /// Pool with [`AdaptiveConcatPool2d`] (max and average, doubling the features) rather than
    /// average pooling alone (default true).
    pub concat_pool: bool,
}

impl Default for HeadConfig {
    fn default() -> Self {
        Self {
            lin_ftrs: vec![512],
            ps: 0.5,
            concat_pool: true,
        }
    }
}

/// One `LinBnDrop` block with `lin_first=False`: BatchNorm1d, dropout, Linear (no bias),
/// then ReLU except after the last.
struct Block {
    bn: BatchNorm,
    drop: Dropout,
    lin: Linear,
    relu: bool,
}

/// fastai's head: `AdaptiveConcatPool2d`, `Flatten`, then for the default configuration
/// `BatchNorm1d(2nf)`, `Dropout(0.25)`, `Linear(2nf, 512, bias=False)`, `ReLU`,
/// `BatchNorm1d(512)`, `Dropout(0.5)`, `Linear(512, n_out, bias=False)`.
///
/// Parameters are named `bn1`, `lin1`, `bn2`, `lin2`, ... under the builder's prefix; the
/// linear weights start as fastai's `apply_init(head, kaiming_normal_)`.
pub struct Head {
    concat_pool: bool,
    blocks: Vec<Block>,
}

impl Head {
    /// Builds the head on `nf` body channels for `n_out` outputs under `pb`.
    pub fn new(pb: &ParamBuilder, nf: usize, n_out: usize, cfg: &HeadConfig) -> Result<Self> {
        let nf = if cfg.concat_pool { 2 * nf } else { nf };
        let mut sizes = vec![nf];
        sizes.extend(&cfg.lin_ftrs);
        sizes.push(n_out);
        let n = sizes.len() - 1;
        let blocks = (0..n)
            .map(|i| {
                let (ni, no) = (sizes[i], sizes[i + 1]);
                let p = if i + 1 == n { cfg.ps } else { cfg.ps / 2.0 };
                let lin = pb.pp(format!("lin{}", i + 1));
                // kaiming_normal_ with fastai's defaults: fan_in, ReLU gain.
                let w = lin.param(
                    "weight",
                    &[no, ni],
                    ParamKind::Weight,
                    Init::KaimingNormal { fan: ni },
                )?;
                Ok(Block {
                    bn: BatchNorm::fastai(&pb.pp(format!("bn{}", i + 1)), ni)?,
                    drop: Dropout::new(pb, p),
                    lin: Linear::from_weights(w, None),
                    relu: i + 1 < n,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            concat_pool: cfg.concat_pool,
            blocks,
        })
    }
}

impl Layer for Head {
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let mut x = if self.concat_pool {
            AdaptiveConcatPool2d::default().forward_t(x, train)?
        } else {
            fastcandle_core::ops::adaptive_avg_pool2d(x, (1, 1))?
        };
        x = Flatten.forward_t(&x, train)?;
        for b in &self.blocks {
            x = b.bn.forward_t(&x, train)?;
            x = b.drop.forward_t(&x, train)?;
            x = b.lin.forward(&x)?;
            if b.relu {
                x = fastcandle_core::ops::relu(&x)?;
            }
        }
        Ok(x)
    }
}
