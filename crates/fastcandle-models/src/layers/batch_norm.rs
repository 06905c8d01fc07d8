use candle_core::{DType, Tensor, Var};
use fastcandle_core::grad::tracked;
use fastcandle_core::init::Init;
use fastcandle_core::ops::Act;
use fastcandle_core::{ParamBuilder, ParamKind, Result};

/// Batch normalisation over the channel axis 1 (PyTorch's `BatchNorm1d` and `BatchNorm2d`):
/// batch statistics in training, updating running statistics with momentum 0.1 (the variance
/// unbiased, as PyTorch); running statistics in evaluation.
#[derive(Debug, Clone)]
pub struct BatchNorm {
    weight: Tensor,
    bias: Tensor,
    running_mean: Var,
    running_var: Var,
    eps: f64,
    momentum: f64,
}

impl BatchNorm {
    /// Registers `weight`, `bias` (trainable, kind `Norm`), `running_mean` and `running_var`
    /// (buffers) under `pb`.
    pub fn new(pb: &ParamBuilder, c: usize) -> Result<Self> {
        Self::with_bias(pb, c, 0.0)
    }

    /// fastai's `BatchNorm(nf)` (its heads and tabular model): the bias starts at 1e-3.
    pub fn fastai(pb: &ParamBuilder, c: usize) -> Result<Self> {
        Self::with_bias(pb, c, 1e-3)
    }

    /// The layer with `eps` added to the variance instead of PyTorch's 1e-5 (checkpoints
    /// ported from TensorFlow, EfficientNet's originals among them, were trained with 1e-3).
    pub fn with_eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// The layer with running statistics updated by `momentum` instead of PyTorch's 0.1
    /// (TensorFlow's decay 0.99 is momentum 0.01).
    pub fn with_momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }

    fn with_bias(pb: &ParamBuilder, c: usize, bias: f64) -> Result<Self> {
        let weight = pb.param("weight", &[c], ParamKind::Norm, Init::Const(1.0))?;
        let bias = pb.param("bias", &[c], ParamKind::Norm, Init::Const(bias))?;
        let dev = pb.device();
        let running_mean = pb.buffer("running_mean", &Tensor::zeros(c, DType::F32, dev)?)?;
        let running_var = pb.buffer("running_var", &Tensor::ones(c, DType::F32, dev)?)?;
        Ok(Self {
            weight,
            bias,
            running_mean,
            running_var,
            eps: 1e-5,
            momentum: 0.1,
        })
    }

    /// Applies the layer to `[N, C]` or `[N, C, H, W]`.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.forward_act_t(x, train, Act::Identity)
    }

    /// [`forward_t`](Self::forward_t) followed by `act`, fused into the same passes (a
    /// conv-bn-relu block walks its activations once forward and once backward).
    pub fn forward_act_t(&self, x: &Tensor, train: bool, act: Act) -> Result<Tensor> {
        if train {
            let (y, mean, var) = fastcandle_core::ops::batch_norm_train_act(
                x,
                &self.weight,
                &self.bias,
                self.eps,
                act,
            )?;
            self.update_running(x, &mean, &var)?;
            return Ok(y);
        }
        let inv = (tracked(self.running_var.as_tensor()) + self.eps)?
            .sqrt()?
            .recip()?;
        let scale = (tracked(&self.weight) * &inv)?;
        let shift = (tracked(&self.bias) - (&scale * tracked(self.running_mean.as_tensor()))?)?;
        Ok(fastcandle_core::ops::channel_affine_act(
            x, &scale, &shift, act,
        )?)
    }
}

impl BatchNorm {
    /// `act(self(x) + identity)`: a residual block's last BatchNorm, the sum with its identity
    /// branch and the activation, fused into the same passes in training mode (which also keeps
    /// less for backward: see [`batch_norm_train_add_act`](fastcandle_core::ops::batch_norm_train_add_act)).
    pub fn forward_add_act_t(
        &self,
        x: &Tensor,
        identity: &Tensor,
        train: bool,
        act: Act,
    ) -> Result<Tensor> {
        if train {
            let (y, mean, var) = fastcandle_core::ops::batch_norm_train_add_act(
                x,
                identity,
                &self.weight,
                &self.bias,
                self.eps,
                act,
            )?;
            self.update_running(x, &mean, &var)?;
            return Ok(y);
        }
        let y = self.forward_act_t(x, false, Act::Identity)?;
        Ok(match act {
            Act::Relu => fastcandle_core::ops::add_relu(&y, identity)?,
            act => act.apply_tensor(&(y + identity)?)?,
        })
    }

    /// Moves the running statistics towards a training batch's `mean` and biased `var`, as
    /// PyTorch does (the variance unbiased over the batch's values per channel).
    fn update_running(&self, x: &Tensor, mean: &Tensor, var: &Tensor) -> Result<()> {
        let m = (x.elem_count() / x.dims()[1]) as f64;
        let unbias = if m > 1.0 { m / (m - 1.0) } else { 1.0 };
        let mo = self.momentum;
        fastcandle_core::ops::update_running(&self.running_mean, mean, mo, 1.0)?;
        fastcandle_core::ops::update_running(&self.running_var, var, mo, unbias)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn running_stats_follow_pytorch_momentum_and_eval_uses_them() {
        let pb = ParamBuilder::new(&Device::Cpu, 0);
        let bn = BatchNorm::new(&pb.pp("bn"), 2).unwrap();
        let x = Tensor::new(&[[1f32, 10.], [3., 20.], [5., 30.]], &Device::Cpu).unwrap();
        bn.forward_t(&x, true).unwrap();
        // mean (3, 20); unbiased var (4, 100).
        let rm: Vec<f32> = bn.running_mean.as_tensor().to_vec1().unwrap();
        let rv: Vec<f32> = bn.running_var.as_tensor().to_vec1().unwrap();
        assert!(
            (rm[0] - 0.3).abs() < 1e-6 && (rm[1] - 2.0).abs() < 1e-5,
            "{rm:?}"
        );
        assert!(
            (rv[0] - (0.9 + 0.4)).abs() < 1e-5 && (rv[1] - (0.9 + 10.0)).abs() < 1e-4,
            "{rv:?}"
        );
        let y: Vec<Vec<f32>> = bn.forward_t(&x, false).unwrap().to_vec2().unwrap();
        let expect = (1.0 - 0.3) / (1.3f32 + 1e-5).sqrt();
        assert!((y[0][0] - expect).abs() < 1e-5, "{y:?}");
        assert_eq!(pb.store().len(), 4);
    }

    #[test]
    fn eps_and_momentum_are_configurable() {
        let pb = ParamBuilder::new(&Device::Cpu, 0);
        let bn = BatchNorm::new(&pb.pp("bn"), 1)
            .unwrap()
            .with_eps(1e-3)
            .with_momentum(0.01);
        let x = Tensor::new(&[[1f32], [3.], [5.]], &Device::Cpu).unwrap();
        let y: Vec<Vec<f32>> = bn.forward_t(&x, true).unwrap().to_vec2().unwrap();
        // Batch mean 3, biased variance 8/3.
        let expect = -2.0 / (8f32 / 3.0 + 1e-3).sqrt();
        assert!((y[0][0] - expect).abs() < 1e-6, "{y:?}");
        let rm: Vec<f32> = bn.running_mean.as_tensor().to_vec1().unwrap();
        assert!((rm[0] - 0.03).abs() < 1e-6, "{rm:?}");
        let y: Vec<Vec<f32>> = bn.forward_t(&x, false).unwrap().to_vec2().unwrap();
        let rv = 0.99 + 0.01 * 4.0;
        let expect = (1.0 - 0.03) / (rv as f32 + 1e-3).sqrt();
        assert!((y[0][0] - expect).abs() < 1e-5, "{y:?}");
    }
}
