//! 1x1 convolution (stride 1, no padding, one group): one matrix product per sample, written
//! straight into the output.
//!
//! Two of the three convolutions of each MobileNetV2 block are pointwise. As a general
//! convolution they would be unfolded into columns (a copy of the input), multiplied, and the
//! product copied and scattered into `[N, C_out, H, W]`; here sample `b`'s output is
//! `W · X_b` with `X_b` the sample's `[C_in, H·W]` plane block as it lies in memory, and the
//! backward is `dX_b = Wᵀ · dY_b` and `dW = Σ_b dY_b · X_bᵀ`, each gradient computed only when
//! backward uses it (no weight gradient for a frozen, detached weight).

use super::gemm::matmul;
use super::storage::{cpu_f32, grad_if, with_f32};
use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};
use gemm::Parallelism;
use rayon::prelude::*;

/// The 1x1 convolution of `x` `[N, C_in, H, W]` (contiguous f32 on the CPU) by `w`
/// `[C_out, C_in, 1, 1]`.
pub(crate) fn pointwise_conv2d(x: &Tensor, w: &Tensor) -> Result<Tensor> {
    x.contiguous()?.apply_op2(&w.contiguous()?, PointwiseConv)
}

struct PointwiseConv;

/// How to share `n` samples among the pool: one sample per task when there are enough of
/// them (each product on one thread), else every product spread over the pool.
fn split(n: usize) -> (bool, Parallelism) {
    let threads = rayon::current_num_threads();
    if n >= 2 * threads {
        (true, Parallelism::None)
    } else {
        (false, Parallelism::Rayon(threads))
    }
}

/// Runs `f(b, out_b)` for every sample `b` of `out` (chunks of `len`), in parallel or not.
fn per_sample(out: &mut [f32], len: usize, parallel: bool, f: impl Fn(usize, &mut [f32]) + Sync) {
    if parallel {
        out.par_chunks_mut(len)
            .enumerate()
            .for_each(|(b, o)| f(b, o));
    } else {
        out.chunks_mut(len).enumerate().for_each(|(b, o)| f(b, o));
    }
}

impl CustomOp2 for PointwiseConv {
    fn name(&self) -> &'static str {
        "pointwise-conv2d"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = cpu_f32(s1, l1)?;
        let w = cpu_f32(s2, l2)?;
        let (n, c_in, h, wd) = l1.shape().dims4()?;
        let c_out = l2.dims()[0];
        let l = h * wd;
        let mut y = vec![0f32; n * c_out * l];
        let (parallel, par) = split(n);
        per_sample(&mut y, c_out * l, parallel, |b, yb| {
            let xb = &x[b * c_in * l..(b + 1) * c_in * l];
            // SAFETY: yb is [c_out, l], w [c_out, c_in], xb [c_in, l], all row-major.
            unsafe {
                matmul(
                    (c_out, l, c_in),
                    yb.as_mut_ptr(),
                    (l as isize, 1),
                    false,
                    w.as_ptr(),
                    (c_in as isize, 1),
                    xb.as_ptr(),
                    (l as isize, 1),
                    par,
                )
            }
        });
        Ok((CpuStorage::F32(y), Shape::from((n, c_out, h, wd))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let (need_dx, need_dw) = (x.track_op(), w.track_op());
        if !need_dx && !need_dw {
            return Ok((None, None));
        }
        let (n, c_in, h, wd) = x.dims4()?;
        let c_out = w.dims()[0];
        let l = h * wd;
        let (parallel, par) = split(n);
        let (dx, dw) = with_f32(x, |xs| {
            with_f32(w, |ws| {
                with_f32(grad, |gs| {
                    let mut dx = Vec::new();
                    if need_dx {
                        dx = vec![0f32; n * c_in * l];
                        per_sample(&mut dx, c_in * l, parallel, |b, dxb| {
                            let gb = &gs[b * c_out * l..(b + 1) * c_out * l];
                            // SAFETY: dxb [c_in, l]; Wᵀ read from w [c_out, c_in] with swapped
                            // strides; gb [c_out, l].
                            unsafe {
                                matmul(
                                    (c_in, l, c_out),
                                    dxb.as_mut_ptr(),
                                    (l as isize, 1),
                                    false,
                                    ws.as_ptr(),
                                    (1, c_in as isize),
                                    gb.as_ptr(),
                                    (l as isize, 1),
                                    par,
                                )
                            }
                        });
                    }
                    let mut dw = Vec::new();
                    if need_dw {
                        let one = |b: usize, acc: &mut Vec<f32>, par: Parallelism| {
                            let gb = &gs[b * c_out * l..(b + 1) * c_out * l];
                            let xb = &xs[b * c_in * l..(b + 1) * c_in * l];
                            let first = acc.is_empty();
                            if first {
                                acc.resize(c_out * c_in, 0.0);
                            }
                            // SAFETY: acc [c_out, c_in]; gb [c_out, l]; X_bᵀ read from xb
                            // [c_in, l] with swapped strides.
                            unsafe {
                                matmul(
                                    (c_out, c_in, l),
                                    acc.as_mut_ptr(),
                                    (c_in as isize, 1),
                                    !first,
                                    gb.as_ptr(),
                                    (l as isize, 1),
                                    xb.as_ptr(),
                                    (1, l as isize),
                                    par,
                                )
                            }
                        };
                        dw = if parallel {
                            (0..n)
                                .into_par_iter()
                                .fold(Vec::new, |mut acc, b| {
                                    one(b, &mut acc, Parallelism::None);
                                    acc
                                })
                                .reduce(Vec::new, |a, b| match (a.is_empty(), b.is_empty()) {
                                    (true, _) => b,
                                    (_, true) => a,
                                    _ => a.iter().zip(&b).map(|(u, v)| u + v).collect(),
                                })
                        } else {
                            let mut acc = Vec::new();
                            for b in 0..n {
                                one(b, &mut acc, par);
                            }
                            acc
                        };
                    }
                    Ok((dx, dw))
                })
            })
        })?;
        Ok((grad_if(need_dx, dx, x)?, grad_if(need_dw, dw, w)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::test_util::max_diff;
    use candle_core::{Device, Var};

    #[test]
    fn matches_candles_convolution_with_gradients() {
        let dev = Device::Cpu;
        // Few samples (products spread over the pool) and many (one sample per task).
        for &(n, ci, co, h, w) in &[(1, 3, 5, 4, 6), (9, 4, 3, 5, 5), (2, 16, 8, 7, 3)] {
            let x =
                Var::from_tensor(&Tensor::randn(0f32, 1., (n, ci, h, w), &dev).unwrap()).unwrap();
            let wt =
                Var::from_tensor(&Tensor::randn(0f32, 1., (co, ci, 1, 1), &dev).unwrap()).unwrap();
            let y = pointwise_conv2d(&x, &wt).unwrap();
            let yr = x.conv2d(&wt, 0, 1, 1, 1).unwrap();
            assert!(max_diff(&y, &yr) < 1e-4);
            let up = Tensor::randn(0f32, 1., yr.dims(), &dev).unwrap();
            let ga = (y * &up).unwrap().sum_all().unwrap().backward().unwrap();
            let gb = (yr * &up).unwrap().sum_all().unwrap().backward().unwrap();
            for t in [x.as_tensor(), wt.as_tensor()] {
                let d = max_diff(ga.get(t).unwrap(), gb.get(t).unwrap());
                assert!(d < 1e-3, "{:?}: {d}", (n, ci, co, h, w));
            }
        }
    }

    #[test]
    fn a_detached_weight_gets_no_gradient_and_the_input_still_does() {
        let dev = Device::Cpu;
        let x = Var::from_tensor(&Tensor::randn(0f32, 1., (4, 3, 2, 2), &dev).unwrap()).unwrap();
        let w = Tensor::randn(0f32, 1., (2, 3, 1, 1), &dev).unwrap();
        let g = pointwise_conv2d(&x, &w)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        assert!(g.get(&w).is_none());
        assert!(g.get(x.as_tensor()).is_some());
    }
}
