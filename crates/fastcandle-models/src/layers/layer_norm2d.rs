use super::Layer;
use candle_core::Tensor;
use fastcandle_core::grad::tracked;
use fastcandle_core::init::Init;
use fastcandle_core::ops::channel_affine;
use fastcandle_core::{ParamBuilder, ParamKind, Result};

/// Layer normalisation over the channel axis 1 of `[N, C, ...]` at every position
/// (torchvision's and timm's `LayerNorm2d`, and ConvNeXt's per-position `LayerNorm` taken in
/// channels-first layout): `(x - mean_c) / sqrt(var_c + eps) * weight + bias`, the variance
/// biased, as PyTorch's `layer_norm`.
///
/// Built from candle's reductions, which candle differentiates, and fastcandle's one-pass
/// per-channel affine. Its `weight` and `bias` are of kind `Norm`: no weight decay, and
/// trainable in frozen groups with `train_bn` (fastai counts `LayerNorm` among its norm types).
#[derive(Debug, Clone)]
pub struct LayerNorm2d {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

impl LayerNorm2d {
    /// Registers `weight` (ones) and `bias` (zeros), `[c]`, under `pb`; ConvNeXt's `eps` is 1e-6.
    pub fn new(pb: &ParamBuilder, c: usize, eps: f64) -> Result<Self> {
        Ok(Self {
            weight: pb.param("weight", &[c], ParamKind::Norm, Init::Const(1.0))?,
            bias: pb.param("bias", &[c], ParamKind::Norm, Init::Const(0.0))?,
            eps,
        })
    }

    /// Normalises `x` over axis 1.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mean = x.mean_keepdim(1)?;
        let centred = x.broadcast_sub(&mean)?;
        let var = centred.sqr()?.mean_keepdim(1)?;
        let normed = centred.broadcast_div(&(var + self.eps)?.sqrt()?)?;
        Ok(channel_affine(
            &normed,
            &tracked(&self.weight),
            &tracked(&self.bias),
        )?)
    }
}

impl Layer for LayerNorm2d {
    fn forward_t(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
        self.forward(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn normalises_each_position_over_channels_with_gradients() {
        let pb = ParamBuilder::new(&Device::Cpu, 0);
        let ln = LayerNorm2d::new(&pb.pp("ln"), 3, 1e-6).unwrap();
        // One position with channels (1, 2, 6): mean 3, biased variance 14/3.
        let x = Var::from_vec(vec![1f32, 2., 6.], (1, 3, 1, 1), &Device::Cpu).unwrap();
        let y: Vec<f32> = ln
            .forward(&x)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let sd = (14f32 / 3.0 + 1e-6).sqrt();
        for (g, w) in y.iter().zip([-2.0 / sd, -1.0 / sd, 3.0 / sd]) {
            assert!((g - w).abs() < 1e-6, "{y:?}");
        }
        // The output's sum does not depend on the input: its gradient is zero.
        let grads = ln
            .forward(&x)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let dx: Vec<f32> = grads
            .get(&x)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        assert!(dx.iter().all(|v| v.abs() < 1e-6), "{dx:?}");
        assert_eq!(pb.store().len(), 2);
    }
}
