use super::{Conv2d, Conv2dConfig, Layer};
use candle_core::Tensor;
use fastcandle_core::init::Init;
use fastcandle_core::ops::adaptive_avg_pool2d;
use fastcandle_core::{ParamBuilder, Result};

/// torchvision's `SqueezeExcitation` with SiLU (EfficientNet's; timm's `SqueezeExcite`): the
/// channels are averaged over the image, squeezed by a 1×1 convolution `fc1` and SiLU,
/// expanded by `fc2` and a sigmoid, and the input is scaled by that gate channel by channel.
#[derive(Debug, Clone)]
pub struct SqueezeExcitation {
    fc1: Conv2d,
    fc2: Conv2d,
}

impl SqueezeExcitation {
    /// Registers `fc1` (`c -> squeeze`) and `fc2` (`squeeze -> c`), 1×1 convolutions with
    /// biases initialised by `init` (biases at zero), under `pb`.
    pub fn new(
        pb: &ParamBuilder,
        c: usize,
        squeeze: usize,
        init: fn(usize) -> Init,
    ) -> Result<Self> {
        let cfg = |c_out: usize| Conv2dConfig {
            init: Some(init(c_out)),
            ..Default::default()
        };
        Ok(Self {
            fc1: Conv2d::new(&pb.pp("fc1"), c, squeeze, 1, cfg(squeeze))?,
            fc2: Conv2d::new(&pb.pp("fc2"), squeeze, c, 1, cfg(c))?,
        })
    }
}

impl Layer for SqueezeExcitation {
    fn forward_t(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
        let s = adaptive_avg_pool2d(x, (1, 1))?;
        let s = self.fc1.forward(&s)?.silu()?;
        let gate = candle_nn::ops::sigmoid(&self.fc2.forward(&s)?)?;
        Ok(x.broadcast_mul(&gate)?)
    }
}
