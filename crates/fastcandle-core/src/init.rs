//! Weight initialisations (PyTorch's and fastai's), drawn from a seeded generator.

use crate::error::{Error, Result};
use crate::rng::SeededRng;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// How to fill a new parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    /// Every element equal to the value.
    Const(f64),
    /// Uniform on `[-bound, bound]`.
    Uniform {
        /// The half-width.
        bound: f64,
    },
    /// PyTorch's default for `nn.Linear` and `nn.Conv2d` weights and biases:
    /// `kaiming_uniform_(a=sqrt(5))`, which is uniform on `±1/sqrt(fan_in)`.
    PytorchDefault {
        /// Inputs feeding one output (in_features, or in_channels x kernel area).
        fan_in: usize,
    },
    /// Kaiming (He) normal with ReLU gain, `std = sqrt(2 / fan)`.
    KaimingNormal {
        /// fan_in or fan_out, as the layer's convention asks.
        fan: usize,
    },
    /// fastai's `trunc_normal_`: a standard normal folded into (-2, 2) by `fmod`, times `std`.
    TruncNormal {
        /// The standard deviation.
        std: f64,
    },
}

impl Init {
    /// Draws `n` values.
    pub fn sample(&self, n: usize, rng: &mut SeededRng) -> Vec<f32> {
        match *self {
            Init::Const(v) => vec![v as f32; n],
            Init::Uniform { bound } => uniform(n, bound, rng),
            Init::PytorchDefault { fan_in } => uniform(n, 1.0 / (fan_in.max(1) as f64).sqrt(), rng),
            Init::KaimingNormal { fan } => {
                let std = (2.0 / fan.max(1) as f64).sqrt();
                (0..n)
                    .map(|_| (std * rng.sample::<f64, _>(StandardNormal)) as f32)
                    .collect()
            }
            Init::TruncNormal { std } => (0..n)
                .map(|_| {
                    let z: f64 = StandardNormal.sample(rng);
                    (z % 2.0 * std) as f32
                })
                .collect(),
        }
    }
}

/// fastai's `icnr_init(x, scale)` with its default `init=nn.init.kaiming_normal_`, for a
/// convolution weight of `shape` `[c_out, c_in, kh, kw]` that feeds a pixel shuffle by `scale`:
/// `c_out / scale²` kernels `[c_in, kh, kw]` drawn Kaiming normal (fan_in `c_in·kh·kw`, ReLU gain),
/// each repeated for `scale²` consecutive output channels, so that output channel `o` holds
/// kernel `o / scale²`. The `scale²` channels that the shuffle spreads over one `scale`×`scale`
/// block then hold the same kernel, and the convolution and shuffle start as a convolution
/// followed by nearest-neighbour upsampling (no checkerboard). The values come in the weight's
/// row-major order. An error when `shape` is not 4D or `c_out` does not divide by `scale²`.
pub fn icnr(shape: &[usize], scale: usize, rng: &mut SeededRng) -> Result<Vec<f32>> {
    let bad = |reason: String| Error::BadTensor {
        name: "icnr".into(),
        reason,
    };
    let &[c_out, c_in, kh, kw] = shape else {
        return Err(bad(format!(
            "expected a [c_out, c_in, kh, kw] weight shape, got {shape:?}"
        )));
    };
    let r2 = scale * scale;
    if r2 == 0 || c_out % r2 != 0 {
        return Err(bad(format!(
            "{c_out} output channels of shape {shape:?} do not divide by scale {scale} squared"
        )));
    }
    let kernel = c_in * kh * kw;
    let base = Init::KaimingNormal { fan: kernel }.sample(c_out / r2 * kernel, rng);
    let mut out = Vec::with_capacity(c_out * kernel);
    for o in 0..c_out {
        let k = o / r2;
        out.extend_from_slice(&base[k * kernel..(k + 1) * kernel]);
    }
    Ok(out)
}

fn uniform(n: usize, bound: f64, rng: &mut SeededRng) -> Vec<f32> {
    (0..n)
        .map(|_| (rng.random::<f64>() * 2.0 - 1.0) as f32 * bound as f32)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::rng;

    #[test]
    fn pytorch_default_stays_in_bound_and_spreads() {
        let v = Init::PytorchDefault { fan_in: 25 }.sample(10_000, &mut rng(0));
        assert!(v.iter().all(|x| x.abs() <= 0.2));
        let var = v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>() / v.len() as f64;
        // Uniform(-b, b) has variance b^2/3.
        assert!((var - 0.04 / 3.0).abs() < 1e-3, "{var}");
    }

    #[test]
    fn trunc_normal_is_folded_and_scaled() {
        let v = Init::TruncNormal { std: 0.01 }.sample(10_000, &mut rng(1));
        assert!(v.iter().all(|x| x.abs() < 0.02));
        let mean = v.iter().map(|x| *x as f64).sum::<f64>() / v.len() as f64;
        assert!(mean.abs() < 5e-4);
    }

    #[test]
    fn icnr_repeats_each_kernel_over_its_shuffle_block() {
        let (c_out, c_in, k, r) = (64, 40, 3, 2);
        let w = icnr(&[c_out, c_in, k, k], r, &mut rng(5)).unwrap();
        let kernel = c_in * k * k;
        assert_eq!(w.len(), c_out * kernel);
        let chan = |o: usize| &w[o * kernel..(o + 1) * kernel];
        for o in 0..c_out {
            assert_eq!(chan(o), chan(o / (r * r) * (r * r)), "channel {o}");
        }
        assert_ne!(chan(0), chan(r * r));
        // Kaiming normal over the distinct kernels: mean 0, std sqrt(2 / fan_in).
        let distinct: Vec<f64> = (0..c_out / (r * r))
            .flat_map(|k| chan(k * r * r).iter().map(|&v| v as f64))
            .collect();
        let n = distinct.len() as f64;
        let mean = distinct.iter().sum::<f64>() / n;
        let std = (distinct.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
        let want = (2.0 / kernel as f64).sqrt();
        assert!(mean.abs() < 0.05 * want, "{mean}");
        assert!((std / want - 1.0).abs() < 0.05, "{std} vs {want}");
        // The same seed gives the same weight.
        assert_eq!(w, icnr(&[c_out, c_in, k, k], r, &mut rng(5)).unwrap());
    }

    #[test]
    fn icnr_conv_then_shuffle_starts_as_nearest_upsampling() {
        use crate::ops::{conv2d, pixel_shuffle, upsample_nearest2d};
        use candle_core::{Device, Tensor};
        let dev = Device::Cpu;
        let (c_in, c, r) = (3, 2, 3);
        let w = icnr(&[c * r * r, c_in, 1, 1], r, &mut rng(7)).unwrap();
        let w = Tensor::from_vec(w, (c * r * r, c_in, 1, 1), &dev).unwrap();
        let x = Tensor::arange(0f32, 2.0 * 3.0 * 4.0 * 5.0, &dev)
            .unwrap()
            .reshape((2, c_in, 4, 5))
            .unwrap()
            .sin()
            .unwrap();
        let shuffled = pixel_shuffle(&conv2d(&x, &w, 1, 0).unwrap(), r).unwrap();
        // The distinct kernels alone, then nearest upsampling.
        let base = w
            .reshape((c, r * r, c_in, 1, 1))
            .unwrap()
            .narrow(1, 0, 1)
            .unwrap();
        let base = base.reshape((c, c_in, 1, 1)).unwrap();
        let nearest = upsample_nearest2d(&conv2d(&x, &base, 1, 0).unwrap(), 4 * r, 5 * r).unwrap();
        let d = fastcandle_testutil::tensor_max_abs_diff(&shuffled, &nearest);
        assert!(d < 1e-6, "{d}");
    }

    #[test]
    fn icnr_rejects_bad_shapes() {
        assert!(icnr(&[6, 3, 1, 1], 2, &mut rng(0)).is_err());
        assert!(icnr(&[8, 3, 1], 2, &mut rng(0)).is_err());
        assert!(icnr(&[8, 3, 1, 1], 0, &mut rng(0)).is_err());
        let e = icnr(&[6, 3, 1, 1], 2, &mut rng(0)).unwrap_err().to_string();
        assert!(e.contains("icnr") && e.contains("[6, 3, 1, 1]"), "{e}");
    }
}
