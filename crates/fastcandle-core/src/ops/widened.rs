//! The f32 CPU kernels run on half-precision (bf16, f16) activations, for mixed precision.
//!
//! candle 0.11 has no half-precision convolution on the CPU, and its elementwise half ops are
//! slow. [`Widened`] wraps one of our f32 ops: its forward widens the half inputs into f32
//! buffers that live only for the call, runs the f32 kernel, and narrows the output back to the
//! activation's dtype (rounding to nearest even, as candle's casts). Its backward does the same
//! with the inputs, the output and the gradient, and gives each input a gradient of its own
//! dtype (an f32 master weight an f32 one). So the graph keeps the half activations alone,
//! half the memory of f32 ones, and no f32 copy of them (a widening cast before the op would
//! keep both until backward).

use candle_core::backend::BackendStorage;
use candle_core::{
    CpuStorage, CustomOp1, CustomOp2, CustomOp3, DType, Layout, Result, Shape, Tensor, bail,
};
use half::slice::HalfFloatSliceExt;
use rayon::prelude::*;

/// Cells converted per task.
const CHUNK: usize = 1 << 16;

/// Whether our CPU kernels take `x` with `others` (weights, a residual branch): all f32 on the
/// CPU, or `x` a half-precision activation on the CPU (run widened) with `others` there in f32
/// or `x`'s dtype; never when the composed forms are forced.
pub(crate) fn native(x: &Tensor, others: &[&Tensor]) -> bool {
    let half = super::cpu_half(x);
    let fits = |t: &Tensor| {
        t.device().is_cpu() && (t.dtype() == DType::F32 || (half && t.dtype() == x.dtype()))
    };
    !super::generic_forced() && (half || fits(x)) && others.iter().all(|t| fits(t))
}

/// An f32 CPU op taking half-precision activations (see the module's documentation).
pub(crate) struct Widened<T>(pub(crate) T);

/// `s` under `l` as a contiguous f32 storage when it holds half floats (`None` when it is f32
/// already).
fn widen(s: &CpuStorage, l: &Layout) -> Result<Option<(CpuStorage, Layout)>> {
    let v = match s {
        CpuStorage::BF16(src) => widened(src, l)?,
        CpuStorage::F16(src) => widened(src, l)?,
        _ => return Ok(None),
    };
    Ok(Some((CpuStorage::F32(v), Layout::contiguous(l.shape()))))
}

/// The cells of `src` under the contiguous layout `l`, widened to f32 across the pool.
fn widened<T: Sync>(src: &[T], l: &Layout) -> Result<Vec<f32>>
where
    [T]: HalfFloatSliceExt,
{
    let src = match l.contiguous_offsets() {
        Some((a, b)) if b <= src.len() => &src[a..b],
        _ => bail!("widened op: expected a contiguous input"),
    };
    let mut v = vec![0f32; src.len()];
    v.par_chunks_mut(CHUNK)
        .zip(src.par_chunks(CHUNK))
        .for_each(|(d, s)| s.convert_to_f32_slice(d));
    Ok(v)
}

/// The f32 storage `out` in `dtype`.
fn narrow(out: CpuStorage, dtype: DType) -> Result<CpuStorage> {
    let CpuStorage::F32(v) = out else {
        bail!("widened op: the f32 kernel returned {:?}", out.dtype());
    };
    Ok(match dtype {
        DType::BF16 => CpuStorage::BF16(narrowed(&v, half::bf16::ZERO)),
        DType::F16 => CpuStorage::F16(narrowed(&v, half::f16::ZERO)),
        _ => CpuStorage::F32(v),
    })
}

/// `v` rounded to the half type of `zero` (to nearest even), across the pool.
fn narrowed<T: Copy + Send + Sync>(v: &[f32], zero: T) -> Vec<T>
where
    [T]: HalfFloatSliceExt,
{
    let mut d = vec![zero; v.len()];
    d.par_chunks_mut(CHUNK)
        .zip(v.par_chunks(CHUNK))
        .for_each(|(d, s)| d.convert_from_f32_slice(s));
    d
}

/// `t` in f32 (the same tensor when it is f32 already).
fn f32(t: &Tensor) -> Result<Tensor> {
    t.to_dtype(DType::F32)
}

/// The gradient `g` in the dtype of its input `like`.
fn like(g: Option<Tensor>, like: &Tensor) -> Result<Option<Tensor>> {
    g.map(|g| g.to_dtype(like.dtype())).transpose()
}

/// Runs `f` on `(s, l)` widened where it holds half floats.
fn with_wide<R>(
    s: &CpuStorage,
    l: &Layout,
    f: impl FnOnce(&CpuStorage, &Layout) -> Result<R>,
) -> Result<R> {
    match widen(s, l)? {
        Some((s, l)) => f(&s, &l),
        None => f(s, l),
    }
}

impl<T: CustomOp1> CustomOp1 for Widened<T> {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let (out, shape) = with_wide(s, l, |s, l| self.0.cpu_fwd(s, l))?;
        Ok((narrow(out, s.dtype())?, shape))
    }

    fn bwd(&self, x: &Tensor, res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        like(self.0.bwd(&f32(x)?, &f32(res)?, &f32(grad)?)?, x)
    }
}

impl<T: CustomOp2> CustomOp2 for Widened<T> {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (out, shape) = with_wide(s1, l1, |s1, l1| {
            with_wide(s2, l2, |s2, l2| self.0.cpu_fwd(s1, l1, s2, l2))
        })?;
        Ok((narrow(out, s1.dtype())?, shape))
    }

    fn bwd(
        &self,
        a: &Tensor,
        b: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let (ga, gb) = self.0.bwd(&f32(a)?, &f32(b)?, &f32(res)?, &f32(grad)?)?;
        Ok((like(ga, a)?, like(gb, b)?))
    }
}

impl<T: CustomOp3> CustomOp3 for Widened<T> {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (out, shape) = with_wide(s1, l1, |s1, l1| {
            with_wide(s2, l2, |s2, l2| {
                with_wide(s3, l3, |s3, l3| self.0.cpu_fwd(s1, l1, s2, l2, s3, l3))
            })
        })?;
        Ok((narrow(out, s1.dtype())?, shape))
    }

    fn bwd(
        &self,
        a: &Tensor,
        b: &Tensor,
        c: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (ga, gb, gc) = self
            .0
            .bwd(&f32(a)?, &f32(b)?, &f32(c)?, &f32(res)?, &f32(grad)?)?;
        Ok((like(ga, a)?, like(gb, b)?, like(gc, c)?))
    }
}

/// `op` applied to `x`: directly on f32, [`Widened`] on half floats.
pub(crate) fn apply1<T: CustomOp1 + Send + Sync + 'static>(x: &Tensor, op: T) -> Result<Tensor> {
    let x = x.contiguous()?;
    if x.dtype() == DType::F32 {
        x.apply_op1(op)
    } else {
        x.apply_op1(Widened(op))
    }
}

/// `op` applied to `(x, b)`: directly on f32, [`Widened`] when `x` holds half floats.
pub(crate) fn apply2<T: CustomOp2 + Send + Sync + 'static>(
    x: &Tensor,
    b: &Tensor,
    op: T,
) -> Result<Tensor> {
    let (x, b) = (x.contiguous()?, b.contiguous()?);
    if x.dtype() == DType::F32 {
        x.apply_op2(&b, op)
    } else {
        x.apply_op2(&b, Widened(op))
    }
}

/// `op` applied to `(x, b, c)`: directly on f32, [`Widened`] when `x` holds half floats.
pub(crate) fn apply3<T: CustomOp3 + Send + Sync + 'static>(
    x: &Tensor,
    b: &Tensor,
    c: &Tensor,
    op: T,
) -> Result<Tensor> {
    let (x, b, c) = (x.contiguous()?, b.contiguous()?, c.contiguous()?);
    if x.dtype() == DType::F32 {
        x.apply_op3(&b, &c, op)
    } else {
        x.apply_op3(&b, &c, Widened(op))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{
        Act, adaptive_avg_pool2d, add_relu, batch_norm_train_act, batch_norm_train_add_act, conv2d,
        depthwise_conv2d, max_pool2d, relu,
    };
    use candle_core::{DType, Device, Tensor, Var};
    use fastcandle_testutil::tensor_max_abs_diff as max_diff;

    type Op = fn(&Tensor, &Tensor, &Tensor) -> candle_core::Result<Tensor>;

    /// A residual branch of the same bf16 values on both sides (`x²` rounded to bf16), in
    /// `x`'s dtype.
    fn identity(x: &Tensor) -> candle_core::Result<Tensor> {
        x.to_dtype(DType::BF16)?.sqr()?.to_dtype(x.dtype())
    }

    #[test]
    fn half_activations_match_the_widening_casts_forward_and_backward() {
        // Each op on a bf16 activation (with an f32 weight where it has one) against the same
        // op on the activation cast to f32 and its output cast back: the forward is the same
        // bit for bit (one f32 kernel, one rounding), and the gradients agree to bf16's
        // rounding (the widened backward reads the rounded output), each in its input's dtype.
        if super::super::generic_forced() {
            // The composed forms forced (FASTCANDLE_GENERIC_OPS): no op is widened.
            eprintln!("skipped: the composed forms are forced, and they widen nothing");
            return;
        }
        let dev = Device::Cpu;
        let (n, c, h, w) = (2, 4, 9, 8);
        let xv: Vec<f32> = (0..n * c * h * w)
            .map(|i| (i as f32 * 0.37).sin() * 2.0)
            .collect();
        let bn = |x: &Tensor, wt: &Tensor, b: &Tensor| {
            let (g, bias) = (wt.narrow(0, 0, 1)?.flatten_all()?, b.flatten_all()?);
            Ok(batch_norm_train_act(
                x,
                &g.narrow(0, 0, 4)?,
                &bias.narrow(0, 0, 4)?,
                1e-5,
                Act::Relu,
            )?
            .0)
        };
        let ops: [(&str, Op); 8] = [
            ("conv3x3", |x, wt, _| conv2d(x, wt, 1, 1)),
            ("conv1x1", |x, wt, _| {
                conv2d(x, &wt.narrow(2, 0, 1)?.narrow(3, 0, 1)?.contiguous()?, 1, 0)
            }),
            ("conv_s2", |x, wt, _| conv2d(x, wt, 2, 1)),
            ("depthwise", |x, wt, _| {
                depthwise_conv2d(x, &wt.narrow(1, 0, 1)?.contiguous()?, 1, 1)
            }),
            ("bn_relu", bn),
            ("bn_add_relu", |x, wt, b| {
                let g = wt.flatten_all()?.narrow(0, 0, 4)?;
                let bias = b.flatten_all()?.narrow(0, 0, 4)?;
                Ok(batch_norm_train_add_act(x, &identity(x)?, &g, &bias, 1e-5, Act::Relu)?.0)
            }),
            ("relu_add_pool", |x, _, _| {
                adaptive_avg_pool2d(&add_relu(&relu(x)?, &identity(x)?)?, (2, 3))
            }),
            ("max_pool", |x, _, _| max_pool2d(x, 3, 2, 1)),
        ];
        for (name, op) in ops {
            let x = Var::from_tensor(
                &Tensor::from_vec(xv.clone(), (n, c, h, w), &dev)
                    .unwrap()
                    .to_dtype(DType::BF16)
                    .unwrap(),
            )
            .unwrap();
            let wt = Var::from_vec(
                (0..c * c * 9)
                    .map(|i| (i as f32 * 0.71).cos() * 0.3)
                    .collect::<Vec<f32>>(),
                (c, c, 3, 3),
                &dev,
            )
            .unwrap();
            let b = Var::from_vec(
                (0..c).map(|i| i as f32 * 0.1).collect::<Vec<f32>>(),
                c,
                &dev,
            )
            .unwrap();
            let y = op(x.as_tensor(), wt.as_tensor(), b.as_tensor()).unwrap();
            let yr = op(
                &x.to_dtype(DType::F32).unwrap(),
                wt.as_tensor(),
                b.as_tensor(),
            )
            .unwrap()
            .to_dtype(DType::BF16)
            .unwrap();
            assert_eq!(y.dtype(), DType::BF16, "{name}");
            let (yf, yrf) = (
                y.to_dtype(DType::F32).unwrap(),
                yr.to_dtype(DType::F32).unwrap(),
            );
            assert_eq!(max_diff(&yf, &yrf), 0.0, "{name}: forward");
            let up = yrf.cos().unwrap().detach();
            let ga = (yf * &up).unwrap().sum_all().unwrap().backward().unwrap();
            let gb = (yrf * &up).unwrap().sum_all().unwrap().backward().unwrap();
            for (t, what) in [
                (x.as_tensor(), "x"),
                (wt.as_tensor(), "w"),
                (b.as_tensor(), "b"),
            ] {
                match (ga.get(t), gb.get(t)) {
                    (Some(a), Some(r)) => {
                        assert_eq!(a.dtype(), t.dtype(), "{name}: d{what}'s dtype");
                        let (a, r) = (
                            a.to_dtype(DType::F32).unwrap(),
                            r.to_dtype(DType::F32).unwrap(),
                        );
                        let scale = r
                            .abs()
                            .unwrap()
                            .max_all()
                            .unwrap()
                            .to_scalar::<f32>()
                            .unwrap();
                        let d = max_diff(&a, &r);
                        assert!(
                            d <= 1e-2 * scale.max(1e-6),
                            "{name}: d{what} differs by {d} of {scale}"
                        );
                    }
                    (None, None) => {}
                    (a, r) => panic!(
                        "{name}: d{what} {:?} against {:?}",
                        a.is_some(),
                        r.is_some()
                    ),
                }
            }
        }
    }
}
