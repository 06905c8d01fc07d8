//! fastai's `Normalize`: per-channel `(x - mean) / std` on images scaled to `0..1`.

use crate::error::Result;
use candle_core::{Device, Tensor};
use fastcandle_core::error::Context;

/// Per-channel normalisation of `[B, 3, H, W]` batches whose values are in `0..1` (fastai's
/// `IntToFloatTensor` then `Normalize`).
///
/// The image loader folds it into the table that writes each batch, so its batches come out
/// already normalised; [`Normalize::apply`] does the same on any tensor, on any device.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Normalize {
    /// The mean of each channel (of values in `0..1`).
    pub mean: [f32; 3],
    /// The standard deviation of each channel.
    pub std: [f32; 3],
}

impl Normalize {
    /// ImageNet's statistics, for pretrained models: mean `[0.485, 0.456, 0.406]`, std
    /// `[0.229, 0.224, 0.225]`.
    pub fn imagenet() -> Self {
        Self::new([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    }

    /// Normalisation with the given statistics.
    pub fn new(mean: [f32; 3], std: [f32; 3]) -> Self {
        Self { mean, std }
    }

    /// The normalised value of channel `c` of a pixel of 8-bit value `v`.
    pub fn value(&self, c: usize, v: u8) -> f32 {
        (v as f32 / 255.0 - self.mean[c]) / self.std[c]
    }

    fn stats(&self, device: &Device) -> Result<(Tensor, Tensor)> {
        let what = || "building the normalisation statistics".to_string();
        let mean = Tensor::from_slice(&self.mean, (1, 3, 1, 1), device).context(what)?;
        let std = Tensor::from_slice(&self.std, (1, 3, 1, 1), device).context(what)?;
        Ok((mean, std))
    }

    /// `(x - mean) / std` for a `[B, 3, H, W]` tensor `x` in `0..1`, on its device.
    pub fn apply(&self, x: &Tensor) -> Result<Tensor> {
        let (mean, std) = self.stats(x.device())?;
        let what = || format!("normalising a batch of shape {:?}", x.dims());
        let mean = mean.to_dtype(x.dtype()).context(what)?;
        let std = std.to_dtype(x.dtype()).context(what)?;
        Ok(x.broadcast_sub(&mean)
            .and_then(|y| y.broadcast_div(&std))
            .context(what)?)
    }

    /// The inverse of [`Normalize::apply`] (`x * std + mean`), to show a normalised batch.
    pub fn decode(&self, x: &Tensor) -> Result<Tensor> {
        let (mean, std) = self.stats(x.device())?;
        let what = || format!("decoding a batch of shape {:?}", x.dims());
        let mean = mean.to_dtype(x.dtype()).context(what)?;
        let std = std.to_dtype(x.dtype()).context(what)?;
        Ok(x.broadcast_mul(&std)
            .and_then(|y| y.broadcast_add(&mean))
            .context(what)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imagenet_numbers_by_hand() {
        let n = Normalize::imagenet();
        // A pixel (255, 0, 51): (1 - 0.485) / 0.229, (0 - 0.456) / 0.224, (0.2 - 0.406) / 0.225.
        let x = Tensor::from_vec(vec![1.0f32, 0.0, 0.2], (1, 3, 1, 1), &Device::Cpu).unwrap();
        let y = n
            .apply(&x)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let want = [2.2489083, -2.0357144, -0.9155556];
        for (a, b) in y.iter().zip(want) {
            assert!((a - b).abs() < 1e-5, "{y:?}");
        }
        assert!((n.value(0, 255) - want[0]).abs() < 1e-5);
        assert!((n.value(2, 51) - want[2]).abs() < 1e-5);
        let back = n.decode(&n.apply(&x).unwrap()).unwrap();
        let back = back.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        for (a, b) in back.iter().zip([1.0, 0.0, 0.2]) {
            assert!((a - b).abs() < 1e-6);
        }
        let custom = Normalize::new([0.5; 3], [0.25; 3]);
        assert_eq!(custom.value(1, 0), -2.0);
    }
}
