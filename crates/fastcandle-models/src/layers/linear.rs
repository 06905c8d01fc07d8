use candle_core::{Module, Tensor};
use fastcandle_core::grad::grad_enabled;
use fastcandle_core::init::Init;
use fastcandle_core::{ParamBuilder, ParamKind, Result};

/// A fully connected layer, `y = x W^T + b`, initialised as PyTorch's `nn.Linear`.
#[derive(Debug, Clone)]
pub struct Linear {
    inner: candle_nn::Linear,
}

impl Linear {
    /// Registers `weight` (`[n_out, n_in]`) and, with `bias`, `bias` (`[n_out]`) under `pb`.
    pub fn new(pb: &ParamBuilder, n_in: usize, n_out: usize, bias: bool) -> Result<Self> {
        let init = Init::PytorchDefault { fan_in: n_in };
        let w = pb.param("weight", &[n_out, n_in], ParamKind::Weight, init)?;
        let b = if bias {
            Some(pb.param("bias", &[n_out], ParamKind::Bias, init)?)
        } else {
            None
        };
        Ok(Self {
            inner: candle_nn::Linear::new(w, b),
        })
    }

    /// A layer on existing tensors (registered elsewhere, for example with another
    /// initialisation).
    pub fn from_weights(weight: Tensor, bias: Option<Tensor>) -> Self {
        Self {
            inner: candle_nn::Linear::new(weight, bias),
        }
    }

    /// Applies the layer.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let dtype = x.dtype();
        if grad_enabled() && self.inner.weight().dtype() == dtype {
            return Ok(self.inner.forward(x)?);
        }
        // Without gradients the weights are detached; under mixed precision the f32 master
        // weights meet a half-precision activation in its dtype (the cast's backward gives
        // them an f32 gradient).
        let keep = |t: &Tensor| -> Result<Tensor> {
            let t = if grad_enabled() {
                t.clone()
            } else {
                t.detach()
            };
            Ok(t.to_dtype(dtype)?)
        };
        let inner = candle_nn::Linear::new(
            keep(self.inner.weight())?,
            self.inner.bias().map(keep).transpose()?,
        );
        Ok(inner.forward(x)?)
    }
}
