use super::Layer;
use crate::receptive::ReceptiveField;
use candle_core::Tensor;
use fastcandle_core::grad::tracked;
use fastcandle_core::init::Init;
use fastcandle_core::ops::{add_channel_bias, conv2d, depthwise_conv2d};
use fastcandle_core::{Error, Param, ParamBuilder, ParamKind, Result};

/// The options of a [`Conv2d`], with PyTorch's defaults (stride 1, no padding, one group,
/// a bias, `kaiming_uniform_(a=sqrt(5))` initialisation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conv2dConfig {
    /// The step between windows.
    pub stride: usize,
    /// Zero cells added on every side.
    pub padding: usize,
    /// Channel groups: 1 for a full convolution, the channel count for a depthwise one.
    pub groups: usize,
    /// Whether to add a bias.
    pub bias: bool,
    /// The weight's initialisation; `None` is PyTorch's default for `nn.Conv2d`. Biases always
    /// start as PyTorch's default when the weight does, and at zero otherwise (torchvision).
    pub init: Option<Init>,
}

impl Default for Conv2dConfig {
    fn default() -> Self {
        Self {
            stride: 1,
            padding: 0,
            groups: 1,
            bias: true,
            init: None,
        }
    }
}

/// A 2D convolution on `[N, C, H, W]`, with PyTorch's parameter names (`weight`
/// `[c_out, c_in / groups, k, k]`, `bias` `[c_out]`).
///
/// A full convolution runs on [`conv2d()`] (im2col and one matrix product, with its own backward),
/// a depthwise one (groups equal to the channels) on [`depthwise_conv2d`], other groupings on
/// candle's grouped convolution.
#[derive(Debug, Clone)]
pub struct Conv2d {
    weight: Param,
    bias: Option<Tensor>,
    c_in: usize,
    c_out: usize,
    cfg: Conv2dConfig,
}

impl Conv2d {
    /// Registers `weight` and, with `cfg.bias`, `bias` under `pb`.
    pub fn new(
        pb: &ParamBuilder,
        c_in: usize,
        c_out: usize,
        kernel: usize,
        cfg: Conv2dConfig,
    ) -> Result<Self> {
        let g = cfg.groups;
        if g == 0 || c_in % g != 0 || c_out % g != 0 {
            return Err(Error::BadTensor {
                name: pb.path("weight"),
                reason: format!("{c_in} -> {c_out} channels cannot split into {g} groups"),
            });
        }
        let fan_in = c_in / g * kernel * kernel;
        let default = Init::PytorchDefault { fan_in };
        let weight = pb.param_ref(
            "weight",
            &[c_out, c_in / g, kernel, kernel],
            ParamKind::Weight,
            cfg.init.unwrap_or(default),
        )?;
        let bias = if cfg.bias {
            let init = if cfg.init.is_none() {
                default
            } else {
                Init::Const(0.0)
            };
            Some(pb.param("bias", &[c_out], ParamKind::Bias, init)?)
        } else {
            None
        };
        Ok(Self {
            weight,
            bias,
            c_in,
            c_out,
            cfg,
        })
    }

    /// The weight, `[c_out, c_in / groups, k, k]`.
    pub fn weight(&self) -> &Tensor {
        self.weight.tensor()
    }

    /// The side of the (square) kernel.
    pub fn kernel(&self) -> usize {
        self.weight.tensor().dims()[3]
    }

    /// The number of output channels.
    pub fn out_channels(&self) -> usize {
        self.c_out
    }

    /// Applies the convolution.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let Conv2dConfig {
            stride,
            padding,
            groups,
            ..
        } = self.cfg;
        // Detached while frozen: no weight gradient is computed.
        let weight = self.weight.forward_tensor();
        let y = if groups == 1 {
            conv2d(x, &weight, stride, padding)?
        } else if groups > 1 && groups == self.c_in && groups == self.c_out {
            depthwise_conv2d(x, &weight, stride, padding)?
        } else {
            // Grouped: candle's convolution, with the f32 master weight in a half-precision
            // activation's dtype (no copy when equal); widened to f32 on the CPU, where
            // candle has no half-precision convolution.
            let dt = x.dtype();
            if fastcandle_core::ops::cpu_half(x) {
                let f32 = candle_core::DType::F32;
                x.to_dtype(f32)?
                    .conv2d(&weight.to_dtype(f32)?, padding, stride, 1, groups)?
                    .to_dtype(dt)?
            } else {
                x.conv2d(&weight.to_dtype(dt)?, padding, stride, 1, groups)?
            }
        };
        match &self.bias {
            Some(b) => Ok(add_channel_bias(&y, &tracked(b))?),
            None => Ok(y),
        }
    }
}

impl Layer for Conv2d {
    fn forward_t(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
        self.forward(x)
    }

    fn receptive_field(&self, input: ReceptiveField) -> ReceptiveField {
        input.window(self.kernel(), self.cfg.stride, self.cfg.padding, 1)
    }

    fn out_channels_from(&self, _c_in: usize) -> usize {
        self.c_out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device, Var};
    use fastcandle_testutil::tensor_max_abs_diff as diff;

    #[test]
    fn every_path_matches_candles_convolution_with_gradients() {
        let dev = Device::Cpu;
        // (c_in, c_out, k, stride, padding, groups): full 1×1 and k×k, depthwise, grouped.
        for &(ci, co, k, s, p, g) in &[
            (4, 6, 1, 1, 0, 1),
            (4, 6, 1, 2, 0, 1),
            (3, 5, 3, 2, 1, 1),
            (3, 5, 7, 2, 3, 1),
            (4, 4, 3, 1, 1, 4),
            (4, 6, 3, 1, 1, 2),
        ] {
            let pb = ParamBuilder::new(&dev, 1);
            let cfg = Conv2dConfig {
                stride: s,
                padding: p,
                groups: g,
                ..Default::default()
            };
            let conv = Conv2d::new(&pb.pp("c"), ci, co, k, cfg).unwrap();
            // Height and width leave the same remainder under stride 2, as candle's backward
            // needs (the PyTorch reference tests cover the others).
            let xv: Vec<f32> = (0..2 * ci * 7 * 9)
                .map(|i| (i as f32 * 0.3).sin())
                .collect();
            let x = Var::from_vec(xv, (2, ci, 7, 9), &dev).unwrap();
            let y = conv.forward(&x).unwrap();
            let b = pb.store().get("c.bias").unwrap();
            let yr = x
                .conv2d(conv.weight(), p, s, 1, g)
                .unwrap()
                .broadcast_add(&b.tensor().reshape((1, co, 1, 1)).unwrap())
                .unwrap();
            assert!(diff(&y, &yr) < 1e-5);
            let up = yr.cos().unwrap().detach();
            let ga = (y * &up).unwrap().sum_all().unwrap().backward().unwrap();
            let gb = (yr * &up).unwrap().sum_all().unwrap().backward().unwrap();
            for t in [x.as_tensor(), conv.weight(), b.tensor()] {
                assert!(diff(ga.get(t).unwrap(), gb.get(t).unwrap()) < 1e-3);
            }
        }
    }

    #[test]
    fn half_inputs_run_every_path_in_their_dtype_with_f32_weight_gradients() {
        // Mixed precision: an f16 or bf16 activation meets the f32 master weight and bias.
        // Full, depthwise and grouped convolutions, with a bias: the output keeps the input's
        // dtype and is close to the f32 one; the parameters get f32 gradients close to f32's.
        let dev = Device::Cpu;
        for &(ci, co, g) in &[(3, 5, 1), (4, 4, 4), (4, 6, 2)] {
            let pb = ParamBuilder::new(&dev, 2);
            let cfg = Conv2dConfig {
                padding: 1,
                groups: g,
                ..Default::default()
            };
            let conv = Conv2d::new(&pb.pp("c"), ci, co, 3, cfg).unwrap();
            let xv: Vec<f32> = (0..2 * ci * 6 * 6)
                .map(|i| (i as f32 * 0.37).sin())
                .collect();
            let x = Tensor::from_vec(xv, (2, ci, 6, 6), &dev).unwrap();
            let up = conv.forward(&x).unwrap().cos().unwrap().detach();
            let run = |x: &Tensor| {
                let y = conv.forward(x).unwrap();
                let y32 = y.to_dtype(DType::F32).unwrap();
                let gs = (&y32 * &up).unwrap().sum_all().unwrap().backward().unwrap();
                let params = pb.store().parameters();
                let grads: Vec<Tensor> = params
                    .iter()
                    .map(|p| gs.get(p.var.as_tensor()).unwrap().clone())
                    .collect();
                (y.dtype(), y32, grads)
            };
            let (_, y32, g32) = run(&x);
            for (dt, tol) in [(DType::F16, 2e-3), (DType::BF16, 2e-2)] {
                let (ydt, y, gh) = run(&x.to_dtype(dt).unwrap());
                assert_eq!(ydt, dt, "groups {g}");
                assert!(
                    diff(&y, &y32) < tol,
                    "groups {g} {dt:?}: {}",
                    diff(&y, &y32)
                );
                for (a, b) in g32.iter().zip(&gh) {
                    assert_eq!(b.dtype(), DType::F32);
                    let scale = a
                        .abs()
                        .unwrap()
                        .max_all()
                        .unwrap()
                        .to_scalar::<f32>()
                        .unwrap();
                    assert!(diff(a, b) < tol * scale.max(1.0) * 4.0, "groups {g} {dt:?}");
                }
            }
        }
    }

    #[test]
    fn channels_must_split_into_groups() {
        let pb = ParamBuilder::new(&Device::Cpu, 0);
        let cfg = Conv2dConfig {
            groups: 3,
            ..Default::default()
        };
        assert!(Conv2d::new(&pb, 4, 6, 3, cfg).is_err());
    }
}
