//! 2D convolution (one group) as im2col and a matrix product per sample, with a backward that
//! recomputes the columns instead of keeping them.
//!
//! candle 0.11's convolution backward is slow on the CPU (the input gradient is a transposed
//! convolution of dot products, the weight gradient a convolution whose kernel is the whole
//! output), and fails when height and width leave different remainders under a stride. Here
//! each sample is unfolded into columns `[c_in·k·k, oh·ow]` and multiplied by the weight
//! `[c_out, c_in·k·k]` on the gemm crate, straight into the output: forward `Y_b = W · cols_b`;
//! backward `dW = Σ_b dY_b · cols_bᵀ` and `dcols_b = Wᵀ · dY_b`, folded back onto the input.
//! Samples are shared among the pool's threads, each product on one thread
//! (`par::by_group`); a batch smaller than the pool spreads each product
//! over it instead. Small planes (under 64 output cells) multiply several samples' columns
//! side by side in one product (`side_by_side`). A 3x3 stride-1 convolution's forward and both gradients run as Winograd's
//! F(4x4, 3x3) or F(2x2, 3x3) instead ([`super::winograd`]), 4x or 2.25x fewer
//! multiplications. Other devices use candle's convolution.

use super::gemm::{matmul, parallelism};
use super::im2col::Geom;
use super::par::{SendPtr, by_group, into_part, sum_parts};
use super::scratch::Scratch;
use super::side_by_side::{gather, group, scatter};
use super::storage::{cpu_f32, grad_if, with_f32};
use super::winograd::{Wino, transform_kernel};
use candle_core::{CpuStorage, CustomOp2, DType, Layout, Result, Shape, Tensor, bail};

/// PyTorch's `conv2d(x, w, stride=stride, padding=padding)` without bias, for `x`
/// `[N, C_in, H, W]` and `w` `[C_out, C_in, kh, kw]`: the output is
/// `[N, C_out, (H + 2p - kh) / s + 1, (W + 2p - kw) / s + 1]`.
pub fn conv2d(x: &Tensor, w: &Tensor, stride: usize, padding: usize) -> Result<Tensor> {
    let (n, c_in, h, wd) = x.dims4()?;
    let (c_out, wc, kh, kw) = w.dims4()?;
    if wc != c_in {
        bail!(
            "conv2d: weight {:?} does not fit {c_in} input channels",
            w.dims()
        );
    }
    if stride == 0 {
        bail!("conv2d: stride must be positive");
    }
    if h + 2 * padding < kh || wd + 2 * padding < kw {
        bail!("conv2d: input {h}x{wd} with padding {padding} is smaller than kernel {kh}x{kw}");
    }
    let g = Geom {
        n,
        c_in,
        h,
        w: wd,
        c_out,
        kh,
        kw,
        oh: (h + 2 * padding - kh) / stride + 1,
        ow: (wd + 2 * padding - kw) / stride + 1,
        s: stride,
        p: padding,
    };
    // A half-precision activation on the CPU runs the f32 kernels widened (candle 0.11 has no
    // half-precision convolution there: its im2col product calls a gemm without bf16, and f16
    // runs emulated); activations between layers stay in the half dtype.
    if super::widened::native(x, &[w]) {
        if (kh, kw, stride, padding) == (1, 1, 1, 0) {
            return super::pointwise_conv::pointwise_conv2d(x, w);
        }
        return super::widened::apply2(x, w, Conv2d { geom: g });
    }
    if super::cpu_half(x) {
        // The composed forms forced on the CPU: the half activation is widened, convolved by
        // candle's f32 convolution and narrowed back; the casts' backward does the same for
        // the gradients.
        let dt = x.dtype();
        let w = w.to_dtype(DType::F32)?;
        return conv2d(&x.to_dtype(DType::F32)?, &w, stride, padding)?.to_dtype(dt);
    }
    // A half-precision activation meets the f32 master weight in the activation's dtype (no
    // copy when they already agree); the cast's backward gives the weight an f32 gradient.
    composed_conv2d(x, &w.to_dtype(x.dtype())?, padding, stride, 1)
}

/// candle's convolution (which runs on every device), with `x` first given zero rows or columns
/// where needed so that its height and width leave the same remainder after the last window:
/// candle's convolution backward sizes the input gradient from the height alone, and gets the
/// width wrong otherwise. The appended cells lie where padding or nothing was read before, so
/// the output is the same. `x` and `w` are `[N, C, H, W]` and `[O, C / groups, KH, KW]`.
pub(super) fn composed_conv2d(
    x: &Tensor,
    w: &Tensor,
    padding: usize,
    stride: usize,
    groups: usize,
) -> Result<Tensor> {
    let (_, _, h, wd) = x.dims4()?;
    let (_, _, kh, kw) = w.dims4()?;
    let rh = (h + 2 * padding - kh) % stride;
    let rw = (wd + 2 * padding - kw) % stride;
    let x = match rh.cmp(&rw) {
        std::cmp::Ordering::Equal => Ok(x.clone()),
        std::cmp::Ordering::Less => x.pad_with_zeros(2, 0, rw - rh),
        std::cmp::Ordering::Greater => x.pad_with_zeros(3, 0, rh - rw),
    }?;
    x.conv2d(w, padding, stride, 1, groups)
}

struct Conv2d {
    geom: Geom,
}

impl CustomOp2 for Conv2d {
    fn name(&self) -> &'static str {
        "conv2d-im2col"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = cpu_f32(s1, l1)?;
        let wt = cpu_f32(s2, l2)?;
        let g = self.geom;
        let (k, l, co) = (g.k(), g.l(), g.c_out);
        let (x_len, y_len) = (g.c_in * g.plane(), co * l);
        let len = g.n * y_len;
        // Every cell is written by one sample's product before `set_len`.
        let mut y: Vec<f32> = Vec::with_capacity(len);
        let yp = SendPtr(y.as_mut_ptr());
        if let Some(wg) = g.winograd() {
            let u = transform_kernel(wt, co, g.c_in, false, wg.tile);
            // SAFETY: `y` has room for the whole output, written by this call alone.
            unsafe {
                wg.conv(g.n, x, &u, yp);
                y.set_len(len);
            }
            return Ok((CpuStorage::F32(y), Shape::from((g.n, co, g.oh, g.ow))));
        }
        let grp = group(l);
        by_group(
            g.n,
            grp,
            || {
                let tmp = if grp > 1 { co * grp * l } else { 0 };
                (Scratch::take(k * grp * l), Scratch::take(tmp))
            },
            |r, (cols, tmp), parallel| {
                // The group's columns side by side: cols [k, gl].
                let gl = r.len() * l;
                for (j, b) in r.clone().enumerate() {
                    g.im2col(&x[b * x_len..][..x_len], &mut cols[j * l..], gl, parallel);
                }
                // Y [c_out, gl] = W [c_out, k] · cols [k, gl]: straight into the output for one
                // sample, else into `tmp` and then each sample's block into place.
                let one = r.len() == 1;
                // SAFETY: `y` has room for `len` cells and the group owns its samples' blocks;
                // `cols` holds [k, gl] and `tmp` [c_out, gl] when used.
                unsafe {
                    matmul(
                        (co, gl, k),
                        if one {
                            yp.get().add(r.start * y_len)
                        } else {
                            tmp.as_mut_ptr()
                        },
                        (gl as isize, 1),
                        false,
                        wt.as_ptr(),
                        (k as isize, 1),
                        cols.as_ptr(),
                        (gl as isize, 1),
                        parallelism(parallel),
                    );
                    if !one {
                        scatter(tmp, (co, l), r, yp.get());
                    }
                }
            },
            drop,
        );
        // SAFETY: every one of the `len` cells was written above.
        unsafe { y.set_len(len) };
        Ok((CpuStorage::F32(y), Shape::from((g.n, co, g.oh, g.ow))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let g = self.geom;
        // Only the gradients backward will use: none for an input image, none for a frozen
        // (detached) weight.
        let (need_dx, need_dw) = (x.track_op(), w.track_op());
        if !need_dx && !need_dw {
            return Ok((None, None));
        }
        let (k, l, co) = (g.k(), g.l(), g.c_out);
        let (x_len, y_len) = (g.c_in * g.plane(), co * l);
        if let Some(wg) = g.winograd() {
            return winograd_bwd(wg, &g, (x, need_dx), (w, need_dw), grad);
        }
        let (dx, dw) = with_f32(x, |xs| {
            with_f32(w, |wt| {
                with_f32(grad, |gs| {
                    let mut dx = if need_dx {
                        vec![0f32; xs.len()]
                    } else {
                        Vec::new()
                    };
                    let dxp = SendPtr(dx.as_mut_ptr());
                    let grp = group(l);
                    let buf = |need: bool| Scratch::take(if need { k * grp * l } else { 0 });
                    let states = by_group(
                        g.n,
                        grp,
                        || Buffers {
                            cols: buf(need_dw),
                            dcols: buf(need_dx),
                            dy: Scratch::take(if grp > 1 { co * grp * l } else { 0 }),
                            // Made by the thread's first product (`into_part`).
                            dw: Vec::new(),
                        },
                        |r, s, parallel| {
                            let gl = r.len() * l;
                            // The group's output gradient [c_out, gl]: a sample's own block, or
                            // the samples' blocks side by side.
                            let dy = if r.len() == 1 {
                                gs[r.start * y_len..].as_ptr()
                            } else {
                                gather(gs, (co, l), r.clone(), &mut s.dy);
                                s.dy.as_ptr()
                            };
                            if need_dw {
                                for (j, b) in r.clone().enumerate() {
                                    let xb = &xs[b * x_len..][..x_len];
                                    g.im2col(xb, &mut s.cols[j * l..], gl, parallel);
                                }
                                // dW [c_out, k] += dY [c_out, gl] · colsᵀ [gl, k].
                                // SAFETY: the product writes (or adds to) every cell of the
                                // part [c_out, k]; other sizes as allocated above.
                                unsafe {
                                    into_part(&mut s.dw, co * k, |dw, accumulate| {
                                        matmul(
                                            (co, k, gl),
                                            dw,
                                            (k as isize, 1),
                                            accumulate,
                                            dy,
                                            (gl as isize, 1),
                                            s.cols.as_ptr(),
                                            (1, gl as isize),
                                            parallelism(parallel),
                                        )
                                    })
                                }
                            }
                            if need_dx {
                                // dcols [k, gl] = Wᵀ [k, c_out] · dY [c_out, gl].
                                // SAFETY: sizes as allocated above.
                                unsafe {
                                    matmul(
                                        (k, gl, co),
                                        s.dcols.as_mut_ptr(),
                                        (gl as isize, 1),
                                        false,
                                        wt.as_ptr(),
                                        (1, k as isize),
                                        dy,
                                        (gl as isize, 1),
                                        parallelism(parallel),
                                    )
                                };
                                for (j, b) in r.enumerate() {
                                    // SAFETY: the group owns its samples' blocks of `dx`.
                                    let dxb = unsafe {
                                        std::slice::from_raw_parts_mut(
                                            dxp.get().add(b * x_len),
                                            x_len,
                                        )
                                    };
                                    g.col2im(&s.dcols[j * l..], gl, dxb, parallel);
                                }
                            }
                        },
                        // The columns go back to this thread's spares here.
                        |s| s.dw,
                    );
                    let dw = if need_dw {
                        sum_parts(states)
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

/// The gradients of a 3x3 stride-1 convolution, each only where backward uses it, through
/// Winograd's transform: the weight gradient from the tiles of the input and of the output
/// gradient, the input gradient as the output gradient convolved (padding `2 - p`) by the
/// kernel turned by 180 degrees and transposed in its channels.
fn winograd_bwd(
    wg: Wino,
    g: &Geom,
    (x, need_dx): (&Tensor, bool),
    (w, need_dw): (&Tensor, bool),
    grad: &Tensor,
) -> Result<(Option<Tensor>, Option<Tensor>)> {
    let (dx, dw) = with_f32(grad, |gs| {
        let dw = if need_dw {
            with_f32(x, |xs| Ok(wg.weight_grad(g.n, xs, gs)))?
        } else {
            Vec::new()
        };
        let dx = if need_dx {
            let u = with_f32(w, |wt| {
                Ok(transform_kernel(wt, g.c_out, g.c_in, true, wg.tile))
            })?;
            let len = g.n * g.c_in * g.plane();
            let mut dx = Vec::with_capacity(len);
            let dg = Wino {
                c_in: g.c_out,
                c_out: g.c_in,
                h: g.oh,
                w: g.ow,
                p: 2 - wg.p,
                tile: wg.tile,
            };
            // SAFETY: `dx` has room for the input gradient, written by this call alone.
            unsafe {
                dg.conv(g.n, gs, &u, SendPtr(dx.as_mut_ptr()));
                dx.set_len(len);
            }
            dx
        } else {
            Vec::new()
        };
        Ok((dx, dw))
    })?;
    Ok((grad_if(need_dx, dx, x)?, grad_if(need_dw, dw, w)?))
}

/// One thread's buffers in a convolution's backward: a group's columns and their gradient,
/// its output gradient side by side, and the thread's share of the weight gradient.
struct Buffers {
    cols: Scratch,
    dcols: Scratch,
    dy: Scratch,
    dw: Vec<f32>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::winograd::Tile;
    use candle_core::{Device, Var};
    use fastcandle_testutil::tensor_max_abs_diff as max_diff;

    #[test]
    fn matches_candles_convolution_with_gradients() {
        let dev = Device::Cpu;
        // (n, c_in, h, w, c_out, k, stride, padding)
        for &(n, ci, h, w, co, k, s, p) in &[
            (2, 3, 9, 7, 4, 3, 1, 1),
            (1, 3, 10, 8, 5, 3, 2, 1),
            (2, 3, 18, 16, 4, 7, 2, 3),
            (2, 4, 6, 6, 3, 1, 2, 0),
            (1, 2, 5, 5, 2, 3, 2, 0),
            (3, 2, 4, 4, 2, 3, 1, 2),
            // Stride 3: rows split into three phases of unequal length (sides where the last
            // window ends on the edge: candle's own backward, the reference, needs it).
            (1, 2, 10, 10, 3, 3, 3, 1),
            (2, 2, 7, 10, 3, 4, 3, 0),
            // Small planes, several samples per product (and one left over): 2x2 and 5x5
            // outputs, 1x1 kernels among them.
            (5, 4, 4, 4, 6, 3, 1, 0),
            (7, 3, 9, 9, 5, 3, 2, 1),
            (9, 4, 6, 6, 3, 1, 2, 0),
            // Shapes Winograd's transform takes when the batch has enough tiles (below).
            (2, 8, 9, 7, 12, 3, 1, 1),
            (1, 16, 6, 5, 8, 3, 1, 0),
            (3, 8, 4, 5, 8, 3, 1, 2),
        ] {
            let xv: Vec<f32> = (0..n * ci * h * w)
                .map(|i| (i as f32 * 0.37).sin())
                .collect();
            let wv: Vec<f32> = (0..co * ci * k * k)
                .map(|i| (i as f32 * 0.71 + 0.3).cos())
                .collect();
            let x = Var::from_vec(xv, (n, ci, h, w), &dev).unwrap();
            let wt = Var::from_vec(wv, (co, ci, k, k), &dev).unwrap();
            let y = conv2d(&x, &wt, s, p).unwrap();
            let yr = x.conv2d(&wt, p, s, 1, 1).unwrap();
            assert_eq!(y.dims(), yr.dims());
            assert!(max_diff(&y, &yr) < 1e-4);
            let up = yr.sin().unwrap().detach();
            let ga = (y * &up).unwrap().sum_all().unwrap().backward().unwrap();
            let gb = (yr * &up).unwrap().sum_all().unwrap().backward().unwrap();
            for t in [x.as_tensor(), wt.as_tensor()] {
                let d = max_diff(ga.get(t).unwrap(), gb.get(t).unwrap());
                assert!(d < 1e-4, "{:?}: {d}", (n, ci, h, w, co, k, s, p));
            }
        }
    }

    #[test]
    fn winograds_path_matches_candles_convolution_with_gradients() {
        let dev = Device::Cpu;
        // (n, c_in, h, w, c_out, padding, tile): 3x3 stride 1, at least 64 2x2 blocks over the
        // batch for F(2x2, 3x3), at least 64 4x4 blocks for F(4x4, 3x3).
        for &(n, ci, h, w, co, p, tile) in &[
            (2, 8, 17, 15, 12, 1, Tile::F2),
            (16, 16, 6, 5, 8, 0, Tile::F2),
            (6, 8, 8, 9, 8, 2, Tile::F2),
            (2, 8, 30, 29, 12, 1, Tile::F4),
            (8, 16, 16, 16, 8, 1, Tile::F4),
            (4, 8, 17, 19, 16, 2, Tile::F4),
            (8, 8, 14, 14, 8, 1, Tile::F2),
        ] {
            let (oh, ow) = (h + 2 * p - 2, w + 2 * p - 2);
            let g = Geom {
                n,
                c_in: ci,
                h,
                w,
                c_out: co,
                kh: 3,
                kw: 3,
                oh,
                ow,
                s: 1,
                p,
            };
            assert_eq!(g.winograd().map(|wg| wg.tile), Some(tile));
            let xv: Vec<f32> = (0..n * ci * h * w)
                .map(|i| (i as f32 * 0.37).sin())
                .collect();
            let wv: Vec<f32> = (0..co * ci * 9)
                .map(|i| (i as f32 * 0.71 + 0.3).cos())
                .collect();
            let x = Var::from_vec(xv, (n, ci, h, w), &dev).unwrap();
            let wt = Var::from_vec(wv, (co, ci, 3, 3), &dev).unwrap();
            let y = conv2d(&x, &wt, 1, p).unwrap();
            let yr = x.conv2d(&wt, p, 1, 1, 1).unwrap();
            // Sums of up to n·oh·ow products through the transforms: float32 rounding relative
            // to the largest value. F(2x2, 3x3)'s forward is within about 5e-6 of it, and
            // F(4x4, 3x3)'s within about 2e-5.
            let tol = if tile == Tile::F2 { 1e-5 } else { 5e-5 };
            let close = |a: &Tensor, b: &Tensor| {
                let scale = b
                    .abs()
                    .unwrap()
                    .max_all()
                    .unwrap()
                    .to_scalar::<f32>()
                    .unwrap();
                max_diff(a, b) / scale
            };
            let dy = close(&y, &yr);
            assert!(dy < tol, "{:?}: {dy}", (n, ci, h, w, co, p));
            let up = yr.sin().unwrap().detach();
            let ga = (y * &up).unwrap().sum_all().unwrap().backward().unwrap();
            let gb = (yr * &up).unwrap().sum_all().unwrap().backward().unwrap();
            for t in [x.as_tensor(), wt.as_tensor()] {
                let d = close(ga.get(t).unwrap(), gb.get(t).unwrap());
                assert!(d < tol, "{:?}: {d}", (n, ci, h, w, co, p));
            }
        }
    }

    #[test]
    fn samples_shared_among_threads_and_left_over_agree() {
        // 2t + 1 samples: 2t shared among the pool's threads (one product per thread), the
        // last one alone with its products spread over the pool.
        let dev = Device::Cpu;
        let n = 2 * rayon::current_num_threads() + 1;
        let x = Var::from_tensor(&Tensor::rand(-1f32, 1., (n, 3, 17, 16), &dev).unwrap()).unwrap();
        let w = Var::from_tensor(&Tensor::rand(-1f32, 1., (4, 3, 3, 3), &dev).unwrap()).unwrap();
        let y = conv2d(&x, &w, 1, 1).unwrap();
        let yr = x.conv2d(&w, 1, 1, 1, 1).unwrap();
        assert!(max_diff(&y, &yr) < 1e-4);
        let up = yr.cos().unwrap().detach();
        let ga = (y * &up).unwrap().sum_all().unwrap().backward().unwrap();
        let gb = (yr * &up).unwrap().sum_all().unwrap().backward().unwrap();
        for t in [x.as_tensor(), w.as_tensor()] {
            assert!(max_diff(ga.get(t).unwrap(), gb.get(t).unwrap()) < 1e-4);
        }
        // The same input gives bit-identical gradients run after run (fixed summation order).
        let gc = (conv2d(&x, &w, 1, 1).unwrap() * &up)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let (a, c) = (
            ga.get(w.as_tensor()).unwrap(),
            gc.get(w.as_tensor()).unwrap(),
        );
        assert_eq!(
            a.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            c.flatten_all().unwrap().to_vec1::<f32>().unwrap()
        );
    }
}
