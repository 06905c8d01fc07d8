//! Weight initialisations (PyTorch's and fastai's), drawn from a seeded generator.

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
}
