//! ReLU and ReLU6 as ops with a one-pass backward.
//!
//! candle's `relu` backward builds a mask tensor, converts it and multiplies (four passes and
//! three allocations), and `clamp` is a maximum then a minimum, each with a mask backward: at
//! MobileNetV2's sizes ReLU6 cost fifteen times PyTorch's. Here forward and backward are each one
//! pass on the CPU. Other devices use candle's ops.

use super::par::PAR_MIN;
use super::storage::{cpu_f32, with_f32, written};
use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

/// An activation fused into the op before it (BatchNorm, a per-channel affine), so that a
/// conv-bn-relu block walks its activations once forward and once backward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Act {
    /// No activation.
    #[default]
    Identity,
    /// `max(x, 0)`.
    Relu,
    /// `min(max(x, 0), 6)`.
    Relu6,
}

impl Act {
    /// The activation of `v` (NaN stays NaN, as in PyTorch).
    #[inline(always)]
    pub fn apply(self, v: f32) -> f32 {
        match self {
            Act::Identity => v,
            _ if v.is_nan() => v,
            Act::Relu => v.max(0.0),
            Act::Relu6 => v.clamp(0.0, 6.0),
        }
    }

    /// Whether the gradient passes at a point whose activated output is `y`: where the input
    /// was above 0 (and below 6 for ReLU6), as PyTorch's `threshold_backward` and
    /// `hardtanh_backward` decide from the input.
    #[inline(always)]
    pub fn passes(self, y: f32) -> bool {
        match self {
            Act::Identity => true,
            Act::Relu => y > 0.0,
            Act::Relu6 => y > 0.0 && y < 6.0,
        }
    }

    /// The activation of a tensor with candle's own ops (devices without our fused ops), with
    /// PyTorch's gradient.
    pub fn apply_tensor(self, x: &Tensor) -> Result<Tensor> {
        match self {
            Act::Identity => Ok(x.clone()),
            Act::Relu => composed_relu(x),
            Act::Relu6 => composed_relu6(x),
        }
    }
}

/// `max(x, 0)`; the gradient passes where `x > 0`, as PyTorch's.
pub fn relu(x: &Tensor) -> Result<Tensor> {
    if super::widened::native(x, &[]) {
        return super::widened::apply1(x, Clamp { act: Act::Relu });
    }
    composed_relu(x)
}

/// The composed ReLU: `x * (x > 0)`, whose gradient is PyTorch's (zero at `x = 0`; candle's
/// own `relu` passes it there).
fn composed_relu(x: &Tensor) -> Result<Tensor> {
    x * x.gt(0f64)?.to_dtype(x.dtype())?
}

/// `min(max(x, 0), 6)` (MobileNetV2's activation); the gradient passes where `0 < x < 6`, as
/// PyTorch's `hardtanh_backward`.
pub fn relu6(x: &Tensor) -> Result<Tensor> {
    if super::widened::native(x, &[]) {
        return super::widened::apply1(x, Clamp { act: Act::Relu6 });
    }
    composed_relu6(x)
}

/// The composed ReLU6: `x * (0 < x < 6) + 6 * (x >= 6)`, PyTorch's values and gradient (zero at
/// both ends; candle's `clamp` splits the gradient at a tie).
fn composed_relu6(x: &Tensor) -> Result<Tensor> {
    let inside = (x.gt(0f64)?.to_dtype(x.dtype())? * x.lt(6f64)?.to_dtype(x.dtype())?)?;
    let top = (x.ge(6f64)?.to_dtype(x.dtype())? * 6f64)?;
    (x * inside)? + top
}

/// `max(a + b, 0)`: a residual block's sum and its ReLU in one pass. Backward gives both
/// inputs the same gated gradient (one tensor, shared), where `a + b > 0`.
pub fn add_relu(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    if a.dims() != b.dims() {
        candle_core::bail!("add_relu: shapes {:?} and {:?} differ", a.dims(), b.dims());
    }
    if super::widened::native(a, &[b]) {
        return super::widened::apply2(a, b, AddRelu);
    }
    composed_relu(&(a + b)?)
}

struct AddRelu;

impl CustomOp2 for AddRelu {
    fn name(&self) -> &'static str {
        "add-relu"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (a, b) = (cpu_f32(s1, l1)?, cpu_f32(s2, l2)?);
        let y = map2(a, b, |a, b| Act::Relu.apply(a + b));
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }

    fn bwd(
        &self,
        _a: &Tensor,
        _b: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let g = gate(res, grad, Act::Relu)?;
        Ok((Some(g.clone()), Some(g)))
    }
}

/// `grad` where `act` lets it through at output `res`, zero elsewhere.
pub(crate) fn gate(res: &Tensor, grad: &Tensor, act: Act) -> Result<Tensor> {
    let g = with_f32(res, |ys| {
        with_f32(grad, |gs| {
            Ok(map2(ys, gs, |y, g| if act.passes(y) { g } else { 0.0 }))
        })
    })?;
    Tensor::from_vec(g, grad.shape(), grad.device())
}

/// `f(x[i])` of every cell, across the pool, into a buffer that is not zeroed first.
fn map1(x: &[f32], f: impl Fn(f32) -> f32 + Sync) -> Vec<f32> {
    // SAFETY: the chunks of the buffer cover it (`x.len()` cells), and each is written cell by
    // cell from its chunk of `x`, of the same length.
    unsafe {
        written(x.len(), |y| {
            y.par_chunks_mut(PAR_MIN)
                .zip(x.par_chunks(PAR_MIN))
                .for_each(|(yc, xc)| {
                    for (y, &x) in yc.iter_mut().zip(xc) {
                        y.write(f(x));
                    }
                })
        })
    }
}

/// `f(a[i], b[i])` of every cell of two slices of one length, across the pool, into a buffer
/// that is not zeroed first.
fn map2(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32 + Sync) -> Vec<f32> {
    // A shorter `b` would leave cells unwritten.
    assert_eq!(a.len(), b.len(), "map2: slices of different lengths");
    // SAFETY: the chunks of the buffer cover it (`a.len()` cells), and each is written cell by
    // cell from its chunks of `a` and `b`, of the same length.
    unsafe {
        written(a.len(), |y| {
            y.par_chunks_mut(PAR_MIN)
                .zip(a.par_chunks(PAR_MIN).zip(b.par_chunks(PAR_MIN)))
                .for_each(|(yc, (ac, bc))| {
                    for ((y, &a), &b) in yc.iter_mut().zip(ac).zip(bc) {
                        y.write(f(a, b));
                    }
                })
        })
    }
}

/// ReLU or ReLU6 as an op: one pass forward, one backward (gated by the output).
struct Clamp {
    act: Act,
}

impl CustomOp1 for Clamp {
    fn name(&self) -> &'static str {
        "clamp-relu"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = cpu_f32(s, l)?;
        let y = map1(x, |x| self.act.apply(x));
        Ok((CpuStorage::F32(y), l.shape().clone()))
    }

    fn bwd(&self, _x: &Tensor, res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(gate(res, grad, self.act)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::DType;
    use candle_core::{Device, Var};
    use fastcandle_testutil::tensor_max_abs_diff as max_diff;

    #[test]
    fn add_relu_equals_relu_of_the_sum_with_gradients() {
        let dev = Device::Cpu;
        let a = Var::from_tensor(&Tensor::randn(0f32, 1., (2, 3, 5, 7), &dev).unwrap()).unwrap();
        let b = Var::from_tensor(&Tensor::randn(0f32, 1., (2, 3, 5, 7), &dev).unwrap()).unwrap();
        let up = Tensor::randn(0f32, 1., (2, 3, 5, 7), &dev).unwrap();
        let y = add_relu(&a, &b).unwrap();
        let yr = relu(&(a.as_tensor() + b.as_tensor()).unwrap()).unwrap();
        assert_eq!(max_diff(&y, &yr), 0.0);
        // `a` also feeds the sum a second time, so its gradient accumulates.
        let ga = ((y * &up).unwrap().sum_all().unwrap() + a.sum_all().unwrap())
            .unwrap()
            .backward()
            .unwrap();
        let gb = ((yr * &up).unwrap().sum_all().unwrap() + a.sum_all().unwrap())
            .unwrap()
            .backward()
            .unwrap();
        for t in [a.as_tensor(), b.as_tensor()] {
            assert_eq!(max_diff(ga.get(t).unwrap(), gb.get(t).unwrap()), 0.0);
        }
        let e = add_relu(&a, &Tensor::zeros(3, DType::F32, &dev).unwrap()).unwrap_err();
        assert!(e.to_string().contains("add_relu"), "{e}");
    }

    #[test]
    fn fused_activations_match_the_ops() {
        let v = [-2f32, 0.0, 0.5, 5.9, 6.0, 7.5, f32::NAN];
        for (act, max) in [(Act::Relu, f32::INFINITY), (Act::Relu6, 6.0)] {
            for &x in &v {
                let y = act.apply(x);
                if x.is_nan() {
                    assert!(y.is_nan());
                    assert!(!act.passes(y));
                } else {
                    assert_eq!(y, x.max(0.0).min(max));
                    assert_eq!(act.passes(y), x > 0.0 && x < max, "{act:?} {x}");
                }
            }
        }
        assert_eq!(Act::Identity.apply(-3.0), -3.0);
        assert!(Act::Identity.passes(-3.0));
    }

    #[test]
    fn values_and_gradients_follow_pytorch() {
        let dev = Device::Cpu;
        let v = [-2f32, -0.0, 0.0, 0.5, 5.9, 6.0, 7.5];
        let x = Var::new(&v, &dev).unwrap();
        let up = Tensor::new(&[1f32, 2., 3., 4., 5., 6., 7.], &dev).unwrap();
        let y6 = relu6(&x).unwrap();
        assert_eq!(
            y6.to_vec1::<f32>().unwrap(),
            vec![0., 0., 0., 0.5, 5.9, 6., 6.]
        );
        let g = (y6 * &up).unwrap().sum_all().unwrap().backward().unwrap();
        assert_eq!(
            g.get(&x).unwrap().to_vec1::<f32>().unwrap(),
            vec![0., 0., 0., 4., 5., 0., 0.]
        );
        let y = relu(&x).unwrap();
        assert_eq!(
            y.to_vec1::<f32>().unwrap(),
            vec![0., 0., 0., 0.5, 5.9, 6., 7.5]
        );
        let g = (y * &up).unwrap().sum_all().unwrap().backward().unwrap();
        assert_eq!(
            g.get(&x).unwrap().to_vec1::<f32>().unwrap(),
            vec![0., 0., 0., 4., 5., 6., 7.]
        );
    }
}
