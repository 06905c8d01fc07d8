//! Dropout and stochastic depth (drop path) with seeded masks.

use crate::rng::SeededRng;
use candle_core::{Result, Tensor};
use rand::Rng;

/// Zeroes each element with probability `p` and scales the rest by `1/(1-p)` (inverted
/// dropout, as PyTorch), drawing the mask from `rng` so that runs repeat per seed.
pub fn dropout(x: &Tensor, p: f32, rng: &mut SeededRng) -> Result<Tensor> {
    if p <= 0.0 {
        return Ok(x.clone());
    }
    if p >= 1.0 {
        return x.zeros_like();
    }
    let keep = 1.0 / (1.0 - p);
    let mask: Vec<f32> = (0..x.elem_count())
        .map(|_| if rng.random::<f32>() < p { 0.0 } else { keep })
        .collect();
    let mask = Tensor::from_vec(mask, x.shape(), x.device())?.to_dtype(x.dtype())?;
    x * mask
}

/// Stochastic depth (torchvision's `stochastic_depth(x, p, "row")`, timm's `drop_path`): zeroes
/// each sample of the batch (axis 0) with probability `p` and scales the others by `1/(1-p)`, so
/// that a residual branch is dropped for whole samples. The mask is drawn from `rng`.
pub fn drop_path(x: &Tensor, p: f32, rng: &mut SeededRng) -> Result<Tensor> {
    if p <= 0.0 {
        return Ok(x.clone());
    }
    if p >= 1.0 {
        return x.zeros_like();
    }
    let keep = 1.0 / (1.0 - p);
    let n = x.dim(0)?;
    let mask: Vec<f32> = (0..n)
        .map(|_| if rng.random::<f32>() < p { 0.0 } else { keep })
        .collect();
    let mut shape = vec![1; x.rank()];
    shape[0] = n;
    let mask = Tensor::from_vec(mask, shape, x.device())?.to_dtype(x.dtype())?;
    x.broadcast_mul(&mask)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::rng;
    use candle_core::Device;

    #[test]
    fn keeps_expectation_and_repeats_per_seed() {
        let x = Tensor::ones(10_000, candle_core::DType::F32, &Device::Cpu).unwrap();
        let a: Vec<f32> = dropout(&x, 0.25, &mut rng(3)).unwrap().to_vec1().unwrap();
        let b: Vec<f32> = dropout(&x, 0.25, &mut rng(3)).unwrap().to_vec1().unwrap();
        assert_eq!(a, b);
        let zeros = a.iter().filter(|v| **v == 0.0).count() as f32 / 1e4;
        assert!((zeros - 0.25).abs() < 0.02, "{zeros}");
        let mean: f32 = a.iter().sum::<f32>() / 1e4;
        assert!((mean - 1.0).abs() < 0.03, "{mean}");
        assert!(a.iter().all(|v| *v == 0.0 || (*v - 4.0 / 3.0).abs() < 1e-6));
    }

    #[test]
    fn drop_path_drops_whole_samples() {
        let x = Tensor::ones((4000, 3, 2), candle_core::DType::F32, &Device::Cpu).unwrap();
        let y: Vec<Vec<Vec<f32>>> = drop_path(&x, 0.2, &mut rng(5)).unwrap().to_vec3().unwrap();
        let mut dropped = 0;
        for s in &y {
            let v = s[0][0];
            assert!(v == 0.0 || (v - 1.25).abs() < 1e-6, "{v}");
            assert!(s.iter().flatten().all(|w| *w == v), "one value per sample");
            dropped += usize::from(v == 0.0);
        }
        let share = dropped as f32 / 4000.0;
        assert!((share - 0.2).abs() < 0.02, "{share}");
        let none: Vec<f32> = drop_path(&x, 0.0, &mut rng(5))
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        assert!(none.iter().all(|v| *v == 1.0));
    }
}
