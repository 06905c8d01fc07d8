//! fastai's `TabularModel`: an embedding per categorical column, BatchNorm on the continuous
//! columns, then blocks of Linear, ReLU and BatchNorm.

use crate::layers::{BatchNorm, Dropout, LinBnDrop};
use candle_core::{D, Device, Tensor};
use fastcandle_core::{Error, Model, ParamBuilder, ParamStore, Result};

/// fastai's rule of thumb for the embedding size of a column with `n` categories (`#na#`
/// included): `min(600, round(1.6 * n^0.56))`.
pub fn emb_sz_rule(n: usize) -> usize {
    (1.6 * (n as f64).powf(0.56)).round().min(600.0) as usize
}

/// The options of [`TabularModel`], with fastai's defaults (`tabular_config`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct TabularConfig {
    /// Sizes of the hidden layers (default `[200, 100]`).
    pub layers: Vec<usize>,
    /// Dropout after each hidden layer (default none; one value per layer, or one for all).
    pub ps: Vec<f32>,
    /// Dropout on the concatenated embeddings (default 0).
    pub embed_p: f32,
    /// Squashes regression outputs into `(lo, hi)` with a sigmoid (default none).
    pub y_range: Option<(f32, f32)>,
    /// BatchNorm in the hidden blocks (default true).
    pub use_bn: bool,
    /// BatchNorm on the output too (default false).
    pub bn_final: bool,
    /// BatchNorm on the continuous inputs (default true).
    pub bn_cont: bool,
    /// Embedding sizes to use instead of [`emb_sz_rule`], by categorical column index.
    pub emb_szs: Option<Vec<usize>>,
}

impl Default for TabularConfig {
    fn default() -> Self {
        Self {
            layers: vec![200, 100],
            ps: vec![],
            embed_p: 0.0,
            y_range: None,
            use_bn: true,
            bn_final: false,
            bn_cont: true,
            emb_szs: None,
        }
    }
}

/// fastai's `TabularModel`, with fastai's parameter names (`embeds.0.weight`, `bn_cont.weight`,
/// `layers.0.0.weight`, ...). Inputs: categorical codes (`u32`, `[N, n_cat]`) and continuous
/// values (`f32`, `[N, n_cont]`). All parameters are in one layer group.
pub struct TabularModel {
    embeds: Vec<crate::layers::Embedding>,
    emb_drop: Dropout,
    bn_cont: Option<BatchNorm>,
    layers: Vec<LinBnDrop>,
    y_range: Option<(f32, f32)>,
    n_cont: usize,
    params: ParamStore,
}

impl TabularModel {
    /// Builds the model for categorical columns of the given cardinalities (`#na#` counted),
    /// `n_cont` continuous columns and `n_out` outputs, on `device`, initialised from `seed`.
    pub fn new(
        cardinalities: &[usize],
        n_cont: usize,
        n_out: usize,
        config: &TabularConfig,
        device: &Device,
        seed: u64,
    ) -> Result<Self> {
        let pb = ParamBuilder::new(device, seed);
        let emb_szs: Vec<usize> = match &config.emb_szs {
            Some(s) if s.len() == cardinalities.len() => s.clone(),
            Some(s) => {
                return Err(Error::BadTensor {
                    name: "emb_szs".into(),
                    reason: format!(
                        "{} sizes for {} categorical columns",
                        s.len(),
                        cardinalities.len()
                    ),
                });
            }
            None => cardinalities.iter().map(|&n| emb_sz_rule(n)).collect(),
        };
        let embeds = cardinalities
            .iter()
            .zip(&emb_szs)
            .enumerate()
            .map(|(i, (&n, &d))| crate::layers::Embedding::new(&pb.pp("embeds").pp(i), n, d))
            .collect::<Result<Vec<_>>>()?;
        let emb_drop = Dropout::new(&pb, config.embed_p);
        let bn_cont = if config.bn_cont && n_cont > 0 {
            Some(BatchNorm::new(&pb.pp("bn_cont"), n_cont)?)
        } else {
            None
        };
        let n_emb: usize = emb_szs.iter().sum();
        let mut sizes = vec![n_emb + n_cont];
        sizes.extend(&config.layers);
        sizes.push(n_out);
        let n_blocks = sizes.len() - 1;
        let p_of = |i: usize| match config.ps.len() {
            0 => 0.0,
            1 => config.ps[0],
            _ => config.ps.get(i).copied().unwrap_or(0.0),
        };
        let layers = (0..n_blocks)
            .map(|i| {
                let last = i == n_blocks - 1;
                let bn = config.use_bn && (!last || config.bn_final);
                let p = if last { 0.0 } else { p_of(i) };
                LinBnDrop::new(&pb.pp("layers").pp(i), sizes[i], sizes[i + 1], bn, p, !last)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            embeds,
            emb_drop,
            bn_cont,
            layers,
            y_range: config.y_range,
            n_cont,
            params: pb.store().clone(),
        })
    }
}

impl Model for TabularModel {
    fn forward_t(&self, xs: &[Tensor], train: bool) -> Result<Tensor> {
        let [x_cat, x_cont] = xs else {
            return Err(Error::BadTensor {
                name: "tabular inputs".into(),
                reason: format!(
                    "expected [categorical codes, continuous values], got {} tensors",
                    xs.len()
                ),
            });
        };
        let mut parts = Vec::with_capacity(2);
        if !self.embeds.is_empty() {
            let embs = self
                .embeds
                .iter()
                .enumerate()
                .map(|(i, e)| e.forward(&x_cat.narrow(1, i, 1)?.squeeze(1)?.contiguous()?))
                .collect::<Result<Vec<_>>>()?;
            let mut x = Tensor::cat(&embs, 1)?;
            if self.n_cont > 0 {
                // Under mixed precision the embeddings (f32 master weights) join the
                // continuous values in their half dtype; no copy when both are f32.
                x = x.to_dtype(x_cont.dtype())?;
            }
            parts.push(self.emb_drop.forward_t(&x, train)?);
        }
        if self.n_cont > 0 {
            parts.push(match &self.bn_cont {
                Some(bn) => bn.forward_t(x_cont, train)?,
                None => x_cont.clone(),
            });
        }
        let mut x = if parts.len() == 1 {
            parts.pop().unwrap()
        } else {
            Tensor::cat(&parts, D::Minus1)?
        };
        for l in &self.layers {
            x = l.forward_t(&x, train)?;
        }
        if let Some((lo, hi)) = self.y_range {
            x = ((candle_nn::ops::sigmoid(&x)? * (hi - lo) as f64)? + lo as f64)?;
        }
        Ok(x)
    }

    fn params(&self) -> &ParamStore {
        &self.params
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::DType;

    #[test]
    fn embedding_sizes_follow_fastai_rule() {
        // fastai: emb_sz_rule(10) == 6, (17) == 8, (8) == 5, (3) == 3, (1000) == 77.
        assert_eq!(emb_sz_rule(10), 6);
        assert_eq!(emb_sz_rule(17), 8);
        assert_eq!(emb_sz_rule(8), 5);
        assert_eq!(emb_sz_rule(3), 3);
        assert_eq!(emb_sz_rule(1000), 77);
        assert_eq!(emb_sz_rule(10_000_000), 600);
    }

    #[test]
    fn names_shapes_and_output() {
        let dev = Device::Cpu;
        let m = TabularModel::new(&[10, 3], 2, 2, &TabularConfig::default(), &dev, 0).unwrap();
        let names: Vec<(String, Vec<usize>)> = m
            .params()
            .all()
            .into_iter()
            .map(|p| (p.name.clone(), p.tensor().dims().to_vec()))
            .collect();
        let expect: Vec<(&str, Vec<usize>)> = vec![
            ("embeds.0.weight", vec![10, 6]),
            ("embeds.1.weight", vec![3, 3]),
            ("bn_cont.weight", vec![2]),
            ("bn_cont.bias", vec![2]),
            ("bn_cont.running_mean", vec![2]),
            ("bn_cont.running_var", vec![2]),
            ("layers.0.0.weight", vec![200, 11]),
            ("layers.0.2.weight", vec![200]),
            ("layers.0.2.bias", vec![200]),
            ("layers.0.2.running_mean", vec![200]),
            ("layers.0.2.running_var", vec![200]),
            ("layers.1.0.weight", vec![100, 200]),
            ("layers.1.2.weight", vec![100]),
            ("layers.1.2.bias", vec![100]),
            ("layers.1.2.running_mean", vec![100]),
            ("layers.1.2.running_var", vec![100]),
            ("layers.2.0.weight", vec![2, 100]),
            ("layers.2.0.bias", vec![2]),
        ];
        let got: Vec<(&str, Vec<usize>)> =
            names.iter().map(|(n, s)| (n.as_str(), s.clone())).collect();
        assert_eq!(got, expect);
        let cats = Tensor::new(&[[1u32, 2], [0, 0], [9, 1]], &dev).unwrap();
        let conts = Tensor::new(&[[0.5f32, -1.], [0., 0.], [1., 2.]], &dev).unwrap();
        let y = m.forward_t(&[cats.clone(), conts.clone()], true).unwrap();
        assert_eq!(y.dims(), &[3, 2]);
        let y = m.forward_t(&[cats, conts], false).unwrap();
        assert_eq!(y.dtype(), DType::F32);
        assert!(m.forward_t(&[], false).is_err());
    }

    #[test]
    fn half_precision_continuous_values_run_the_model_in_their_dtype() {
        // Mixed precision: bf16 continuous values, u32 codes and f32 master weights. The
        // embeddings join the continuous values in bf16, the output is bf16 and close to the
        // f32 one, and every weight gets an f32 gradient.
        let dev = Device::Cpu;
        let m = TabularModel::new(&[10, 3], 2, 2, &TabularConfig::default(), &dev, 0).unwrap();
        let cats = Tensor::new(&[[1u32, 2], [0, 0], [9, 1], [4, 2]], &dev).unwrap();
        let conts = Tensor::new(&[[0.5f32, -1.], [0., 0.], [1., 2.], [-2., 0.5]], &dev).unwrap();
        let y32 = m.forward_t(&[cats.clone(), conts.clone()], true).unwrap();
        let half = conts.to_dtype(DType::BF16).unwrap();
        let y = m.forward_t(&[cats, half], true).unwrap();
        assert_eq!(y.dtype(), DType::BF16);
        let diff = (y.to_dtype(DType::F32).unwrap() - &y32)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        // bf16 rounds at 2^-9 relative; through four layers the outputs (of size ~1) agree
        // within a few hundredths.
        assert!(diff < 0.05, "{diff}");
        let grads = y
            .to_dtype(DType::F32)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        for p in m.params().parameters() {
            let g = grads.get(p.var.as_tensor()).unwrap();
            assert_eq!(g.dtype(), DType::F32, "{}", p.name);
        }
    }

    #[test]
    fn y_range_bounds_outputs() {
        let dev = Device::Cpu;
        let cfg = TabularConfig {
            y_range: Some((-1.0, 2.0)),
            ..Default::default()
        };
        let m = TabularModel::new(&[4], 0, 1, &cfg, &dev, 0).unwrap();
        let cats = Tensor::new(&[[1u32], [2], [3]], &dev).unwrap();
        let conts = Tensor::zeros((3, 0), DType::F32, &dev).unwrap();
        let y: Vec<Vec<f32>> = m
            .forward_t(&[cats, conts], true)
            .unwrap()
            .to_vec2()
            .unwrap();
        assert!(y.iter().flatten().all(|v| *v > -1.0 && *v < 2.0));
    }
}
