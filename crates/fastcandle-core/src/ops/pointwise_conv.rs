//! 1x1 convolution (stride 1, no padding, one group): one matrix product per sample, written
//! straight into the output.
//!
//! Two of the three convolutions of each MobileNetV2 block are pointwise. As a general
//! convolution they would be unfolded into columns (a copy of the input), multiplied, and the
//! product copied and scattered into `[N, C_out, H, W]`; here sample `b`'s output is
//! `W · X_b` with `X_b` the sample's `[C_in, H·W]` plane block as it lies in memory, and the
//! backward is `dX_b = Wᵀ · dY_b` and `dW = Σ_b dY_b · X_bᵀ`, each gradient computed only when
//! backward uses it (no weight gradient for a frozen, detached weight).

use super::gemm::{matmul, parallelism};
use super::par::{SendPtr, by_group, into_part, sum_parts};
use super::scratch::Scratch;
use super::side_by_side::{gather, group, scatter};
use super::storage::{cpu_f32, grad_if, with_f32};
use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};

/// The 1x1 convolution of `x` `[N, C_in, H, W]` (f32, or half floats widened, on the CPU) by
/// `w` `[C_out, C_in, 1, 1]`.
pub(crate) fn pointwise_conv2d(x: &Tensor, w: &Tensor) -> Result<Tensor> {
    super::widened::apply2(x, w, PointwiseConv)
}

struct PointwiseConv;

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
        let len = n * c_out * l;
        // Every cell is written by one sample's product before `set_len`.
        let mut y: Vec<f32> = Vec::with_capacity(len);
        let yp = SendPtr(y.as_mut_ptr());
        // Samples side by side where planes are small (`side_by_side`).
        let grp = group(l);
        by_group(
            n,
            grp,
            || {
                let side = if grp > 1 { grp * l } else { 0 };
                (Scratch::take(c_in * side), Scratch::take(c_out * side))
            },
            |r, (xg, yg), parallel| {
                let gl = r.len() * l;
                let one = r.len() == 1;
                let xb = if one {
                    x[r.start * c_in * l..].as_ptr()
                } else {
                    gather(x, (c_in, l), r.clone(), xg);
                    xg.as_ptr()
                };
                // SAFETY: the group owns its samples' [c_out, l] blocks of `y`; w [c_out, c_in],
                // the group's x [c_in, gl] and `yg` [c_out, gl] are row-major.
                unsafe {
                    matmul(
                        (c_out, gl, c_in),
                        if one {
                            yp.get().add(r.start * c_out * l)
                        } else {
                            yg.as_mut_ptr()
                        },
                        (gl as isize, 1),
                        false,
                        w.as_ptr(),
                        (c_in as isize, 1),
                        xb,
                        (gl as isize, 1),
                        parallelism(parallel),
                    );
                    if !one {
                        scatter(yg, (c_out, l), r, yp.get());
                    }
                }
            },
            drop,
        );
        // SAFETY: every one of the `len` cells was written above.
        unsafe { y.set_len(len) };
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
        let (dx, dw) = with_f32(x, |xs| {
            with_f32(w, |ws| {
                with_f32(grad, |gs| {
                    // Every cell of dx is written by one sample's product before `set_len`.
                    let mut dx: Vec<f32> = Vec::with_capacity(if need_dx { xs.len() } else { 0 });
                    let dxp = SendPtr(dx.as_mut_ptr());
                    let grp = group(l);
                    let parts = by_group(
                        n,
                        grp,
                        || {
                            let side = if grp > 1 { grp * l } else { 0 };
                            let take = |rows: usize, need: bool| {
                                Scratch::take(if need { rows * side } else { 0 })
                            };
                            // The group's x, dY and dX side by side; the thread's part of dW.
                            let bufs = (take(c_in, need_dw), take(c_out, true));
                            (bufs, take(c_in, need_dx), Vec::new())
                        },
                        |r, ((xg, gg), dxg, dw), parallel| {
                            let gl = r.len() * l;
                            let one = r.len() == 1;
                            let gb = if one {
                                gs[r.start * c_out * l..].as_ptr()
                            } else {
                                gather(gs, (c_out, l), r.clone(), gg);
                                gg.as_ptr()
                            };
                            if need_dx {
                                // dX [c_in, gl] = Wᵀ (w [c_out, c_in] with swapped strides)
                                // · dY [c_out, gl].
                                // SAFETY: the group owns its samples' [c_in, l] blocks of dx;
                                // `dxg` holds [c_in, gl] when used.
                                unsafe {
                                    matmul(
                                        (c_in, gl, c_out),
                                        if one {
                                            dxp.get().add(r.start * c_in * l)
                                        } else {
                                            dxg.as_mut_ptr()
                                        },
                                        (gl as isize, 1),
                                        false,
                                        ws.as_ptr(),
                                        (1, c_in as isize),
                                        gb,
                                        (gl as isize, 1),
                                        parallelism(parallel),
                                    );
                                    if !one {
                                        scatter(dxg, (c_in, l), r.clone(), dxp.get());
                                    }
                                }
                            }
                            if need_dw {
                                let xb = if one {
                                    xs[r.start * c_in * l..].as_ptr()
                                } else {
                                    gather(xs, (c_in, l), r, xg);
                                    xg.as_ptr()
                                };
                                // dW [c_out, c_in] (+)= dY [c_out, gl] · Xᵀ (the group's
                                // x [c_in, gl] with swapped strides).
                                // SAFETY: the product writes (or adds to) every cell of the
                                // part [c_out, c_in]; the other sizes are as above.
                                unsafe {
                                    into_part(dw, c_out * c_in, |dw, accumulate| {
                                        matmul(
                                            (c_out, c_in, gl),
                                            dw,
                                            (c_in as isize, 1),
                                            accumulate,
                                            gb,
                                            (gl as isize, 1),
                                            xb,
                                            (1, gl as isize),
                                            parallelism(parallel),
                                        )
                                    })
                                }
                            }
                        },
                        |(_, _, dw)| dw,
                    );
                    if need_dx {
                        // SAFETY: every cell was written above.
                        unsafe { dx.set_len(xs.len()) };
                    }
                    let dw = if need_dw {
                        sum_parts(parts)
                    } else {
                        Vec::new()
                    };
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
    use candle_core::{Device, Var};
    use fastcandle_testutil::tensor_max_abs_diff as max_diff;

    #[test]
    fn matches_candles_convolution_with_gradients() {
        let dev = Device::Cpu;
        // Few samples (products spread over the pool) and many (one sample per task).
        for &(n, ci, co, h, w) in &[
            (1, 3, 5, 4, 6),
            (9, 4, 3, 5, 5),
            (2, 16, 8, 7, 3),
            // 2x2 planes: several samples per product, and one left over.
            (7, 6, 5, 2, 2),
        ] {
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
