use super::Layer;
use candle_core::Tensor;
use fastcandle_core::Result;

/// `max(x, 0)` ([`fastcandle_core::ops::relu`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Relu;

impl Layer for Relu {
    fn forward_t(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
        Ok(fastcandle_core::ops::relu(x)?)
    }
}

/// `min(max(x, 0), 6)`, MobileNetV2's activation ([`fastcandle_core::ops::relu6`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Relu6;

impl Layer for Relu6 {
    fn forward_t(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
        Ok(fastcandle_core::ops::relu6(x)?)
    }
}

/// `x * sigmoid(x)` (SiLU, or swish), EfficientNet's activation: candle's `silu`, which
/// candle differentiates.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silu;

impl Layer for Silu {
    fn forward_t(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
        Ok(x.silu()?)
    }
}

/// The exact GELU, `x * Φ(x)` with the normal distribution's `erf` (PyTorch's
/// `GELU(approximate='none')`), ConvNeXt's activation: candle's `gelu_erf`, which candle
/// differentiates.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gelu;

impl Layer for Gelu {
    fn forward_t(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
        Ok(x.gelu_erf()?)
    }
}
