//! Depthwise 2D convolution (one filter per channel) with its own backward.
//!
//! candle runs a grouped convolution as one convolution per group, which for MobileNetV2's
//! widest depthwise layer is 960 small convolutions forward and more backward. On the CPU this
//! op walks each channel plane directly: forward, input gradient and weight gradient are each
//! one pass over the planes, with the inner loop a multiply-add along an output row. Other
//! devices use candle's grouped convolution, which candle differentiates.

use super::par::min_len;
use super::storage::{cpu_f32, grad_if, with_f32};
use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor, bail};
use rayon::prelude::*;

/// Convolves every channel of `x` (`[N, C, H, W]`) with its own filter of `w`
/// (`[C, 1, kh, kw]`), as PyTorch's `conv2d(x, w, stride=stride, padding=padding, groups=C)`
/// without bias: the output is `[N, C, (H + 2p - kh) / s + 1, (W + 2p - kw) / s + 1]`.
pub fn depthwise_conv2d(x: &Tensor, w: &Tensor, stride: usize, padding: usize) -> Result<Tensor> {
    let (n, c, h, wd) = x.dims4()?;
    let (wc, one, kh, kw) = w.dims4()?;
    if wc != c || one != 1 {
        bail!(
            "depthwise_conv2d: weight {:?} does not fit {c} channels (expected [{c}, 1, k, k])",
            w.dims()
        );
    }
    if stride == 0 {
        bail!("depthwise_conv2d: stride must be positive");
    }
    if h + 2 * padding < kh || wd + 2 * padding < kw {
        bail!(
            "depthwise_conv2d: input {h}x{wd} with padding {padding} is smaller than kernel {kh}x{kw}"
        );
    }
    if super::widened::native(x, &[w]) {
        let geom = Geom {
            n,
            c,
            h,
            w: wd,
            kh,
            kw,
            oh: (h + 2 * padding - kh) / stride + 1,
            ow: (wd + 2 * padding - kw) / stride + 1,
            s: stride,
            p: padding,
        };
        return super::widened::apply2(x, w, DepthwiseConv2d { geom });
    }
    if super::cpu_half(x) {
        // The composed forms forced on the CPU, which has no half-precision convolution in
        // candle 0.11: widened, as `conv2d`'s.
        let (dt, f32) = (x.dtype(), candle_core::DType::F32);
        let y = depthwise_conv2d(&x.to_dtype(f32)?, &w.to_dtype(f32)?, stride, padding)?;
        return y.to_dtype(dt);
    }
    // The f32 master weight meets a half-precision activation in its dtype (no copy when equal).
    super::conv2d::composed_conv2d(x, &w.to_dtype(x.dtype())?, padding, stride, c)
}

#[derive(Debug, Clone, Copy)]
struct Geom {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    kh: usize,
    kw: usize,
    oh: usize,
    ow: usize,
    s: usize,
    p: usize,
}

impl Geom {
    /// The input row read by output row `oy` through kernel row `ky`, if inside the input.
    fn in_row(&self, oy: usize, ky: usize) -> Option<usize> {
        super::window::in_index(oy, ky, self.s, self.p, self.h)
    }

    /// The output columns `lo..hi` whose input column `ox * s + kx - p` is inside the input.
    fn out_cols(&self, kx: usize) -> (usize, usize) {
        super::window::out_range(kx, self.s, self.p, self.w, self.ow)
    }
}

struct DepthwiseConv2d {
    geom: Geom,
}

/// `y[ox] += wv * x[ox * s + kx - p]` for the output columns `lo..hi`.
#[inline]
fn axpy_strided(y: &mut [f32], x: &[f32], wv: f32, (lo, hi): (usize, usize), s: usize, off: isize) {
    if lo >= hi {
        return;
    }
    let start = (lo * s) as isize + off;
    if s == 1 {
        let xs = &x[start as usize..start as usize + (hi - lo)];
        for (yv, &xv) in y[lo..hi].iter_mut().zip(xs) {
            *yv += wv * xv;
        }
    } else {
        for (j, yv) in y[lo..hi].iter_mut().enumerate() {
            *yv += wv * x[start as usize + j * s];
        }
    }
}

/// `sum(g[ox] * x[ox * s + kx - p])` over the output columns `lo..hi`.
#[inline]
fn dot_strided(g: &[f32], x: &[f32], (lo, hi): (usize, usize), s: usize, off: isize) -> f32 {
    if lo >= hi {
        return 0.0;
    }
    let start = ((lo * s) as isize + off) as usize;
    let mut acc = [0f32; 8];
    if s == 1 {
        let (gs, xs) = (&g[lo..hi], &x[start..start + (hi - lo)]);
        let (gc, xc) = (gs.chunks_exact(8), xs.chunks_exact(8));
        let tail: f32 = gc
            .remainder()
            .iter()
            .zip(xc.remainder())
            .map(|(a, b)| a * b)
            .sum();
        for (a8, b8) in gc.zip(xc) {
            for ((acc, a), b) in acc.iter_mut().zip(a8).zip(b8) {
                *acc += a * b;
            }
        }
        acc.iter().sum::<f32>() + tail
    } else {
        g[lo..hi]
            .iter()
            .enumerate()
            .map(|(j, &gv)| gv * x[start + j * s])
            .sum()
    }
}

impl CustomOp2 for DepthwiseConv2d {
    fn name(&self) -> &'static str {
        "depthwise-conv2d"
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
        let (plane, oplane, ksz) = (g.h * g.w, g.oh * g.ow, g.kh * g.kw);
        let cols: Vec<(usize, usize)> = (0..g.kw).map(|kx| g.out_cols(kx)).collect();
        let mut y = vec![0f32; g.n * g.c * oplane];
        y.par_chunks_mut(oplane)
            .zip(x.par_chunks(plane))
            .enumerate()
            .with_min_len(min_len(plane + oplane))
            .for_each(|(i, (yp, xp))| {
                let wc = &wt[(i % g.c) * ksz..(i % g.c + 1) * ksz];
                for oy in 0..g.oh {
                    let yr = &mut yp[oy * g.ow..(oy + 1) * g.ow];
                    for ky in 0..g.kh {
                        let Some(iy) = g.in_row(oy, ky) else { continue };
                        let xr = &xp[iy * g.w..(iy + 1) * g.w];
                        for kx in 0..g.kw {
                            let off = kx as isize - g.p as isize;
                            axpy_strided(yr, xr, wc[ky * g.kw + kx], cols[kx], g.s, off);
                        }
                    }
                }
            });
        Ok((CpuStorage::F32(y), Shape::from((g.n, g.c, g.oh, g.ow))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let g = self.geom;
        // Only the gradients backward will use (none for a frozen, detached weight).
        let (need_dx, need_dw) = (x.track_op(), w.track_op());
        if !need_dx && !need_dw {
            return Ok((None, None));
        }
        let (plane, oplane, ksz) = (g.h * g.w, g.oh * g.ow, g.kh * g.kw);
        let cols: Vec<(usize, usize)> = (0..g.kw).map(|kx| g.out_cols(kx)).collect();
        let (dx, dw) = with_f32(x, |xs| {
            with_f32(w, |wt| {
                with_f32(grad, |gs| {
                    // Input gradient: scatter every output row back through the kernel.
                    let mut dx = if need_dx {
                        vec![0f32; xs.len()]
                    } else {
                        Vec::new()
                    };
                    dx.par_chunks_mut(plane)
                        .zip(gs.par_chunks(oplane))
                        .enumerate()
                        .with_min_len(min_len(plane + oplane))
                        .for_each(|(i, (dp, gp))| {
                            let wc = &wt[(i % g.c) * ksz..(i % g.c + 1) * ksz];
                            for oy in 0..g.oh {
                                let gr = &gp[oy * g.ow..(oy + 1) * g.ow];
                                for ky in 0..g.kh {
                                    let Some(iy) = g.in_row(oy, ky) else { continue };
                                    let dr = &mut dp[iy * g.w..(iy + 1) * g.w];
                                    for kx in 0..g.kw {
                                        let (lo, hi) = cols[kx];
                                        if lo >= hi {
                                            continue;
                                        }
                                        let wv = wc[ky * g.kw + kx];
                                        let start = lo * g.s + kx - g.p;
                                        if g.s == 1 {
                                            for (d, &gv) in dr[start..start + hi - lo]
                                                .iter_mut()
                                                .zip(&gr[lo..hi])
                                            {
                                                *d += wv * gv;
                                            }
                                        } else {
                                            for (j, &gv) in gr[lo..hi].iter().enumerate() {
                                                dr[start + j * g.s] += wv * gv;
                                            }
                                        }
                                    }
                                }
                            }
                        });
                    if !need_dw {
                        return Ok((dx, Vec::new()));
                    }
                    // Weight gradient: per channel, correlate the output gradient with the input.
                    let dw: Vec<Vec<f32>> = (0..g.c)
                        .into_par_iter()
                        .with_min_len(min_len(g.n * (plane + oplane)))
                        .map(|ch| {
                            let mut acc = vec![0f64; ksz];
                            for b in 0..g.n {
                                let o = (b * g.c + ch) * plane;
                                let xp = &xs[o..o + plane];
                                let o = (b * g.c + ch) * oplane;
                                let gp = &gs[o..o + oplane];
                                for oy in 0..g.oh {
                                    let gr = &gp[oy * g.ow..(oy + 1) * g.ow];
                                    for ky in 0..g.kh {
                                        let Some(iy) = g.in_row(oy, ky) else { continue };
                                        let xr = &xp[iy * g.w..(iy + 1) * g.w];
                                        for kx in 0..g.kw {
                                            let off = kx as isize - g.p as isize;
                                            acc[ky * g.kw + kx] +=
                                                dot_strided(gr, xr, cols[kx], g.s, off) as f64;
                                        }
                                    }
                                }
                            }
                            acc.into_iter().map(|v| v as f32).collect()
                        })
                        .collect();
                    Ok((dx, dw.concat()))
                })
            })
        })?;
        Ok((grad_if(need_dx, dx, x)?, grad_if(need_dw, dw, w)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::DType;
    use candle_core::{Device, Var};
    use fastcandle_testutil::tensor_max_abs_diff as max_diff;

    #[test]
    fn matches_the_composed_form_built_on_candles_grouped_convolution() {
        let dev = Device::Cpu;
        for &(n, c, h, w, k, s, p) in &[
            (2, 4, 9, 7, 3, 1, 1),
            (1, 3, 10, 8, 3, 2, 1),
            (2, 2, 11, 9, 7, 1, 3),
            (1, 5, 8, 8, 7, 2, 3),
            (1, 3, 6, 6, 1, 1, 0),
            (2, 2, 5, 5, 3, 2, 0),
            (1, 2, 3, 3, 3, 1, 2),
            // Height and width leave different remainders after the last window: candle's own
            // backward gets the input gradient's shape wrong there (MobileNetV2 at 48x40).
            (2, 3, 6, 5, 3, 2, 1),
            (1, 2, 7, 10, 5, 2, 2),
        ] {
            let len = n * c * h * w;
            let xv: Vec<f32> = (0..len).map(|i| (i as f32 * 0.37).sin()).collect();
            let wv: Vec<f32> = (0..c * k * k)
                .map(|i| (i as f32 * 0.71 + 0.3).cos())
                .collect();
            let x = Var::from_vec(xv, (n, c, h, w), &dev).unwrap();
            let wt = Var::from_vec(wv, (c, 1, k, k), &dev).unwrap();
            let y = depthwise_conv2d(&x, &wt, s, p).unwrap();
            let yr = crate::ops::conv2d::composed_conv2d(&x, &wt, p, s, c).unwrap();
            assert_eq!(y.dims(), yr.dims());
            assert!(
                max_diff(&y, &yr) < 1e-5,
                "forward {:?}",
                (n, c, h, w, k, s, p)
            );
            let up = y.sin().unwrap().detach();
            let ga = (y * &up).unwrap().sum_all().unwrap().backward().unwrap();
            let gb = (yr * &up).unwrap().sum_all().unwrap().backward().unwrap();
            for (name, t) in [("x", x.as_tensor()), ("w", wt.as_tensor())] {
                let d = max_diff(ga.get(t).unwrap(), gb.get(t).unwrap());
                assert!(d < 1e-4, "grad {name} {:?}: {d}", (n, c, h, w, k, s, p));
            }
        }
    }

    #[test]
    fn a_weight_of_the_wrong_shape_is_an_error() {
        let x = Tensor::zeros((1, 3, 4, 4), DType::F32, &Device::Cpu).unwrap();
        let w = Tensor::zeros((3, 2, 3, 3), DType::F32, &Device::Cpu).unwrap();
        assert!(depthwise_conv2d(&x, &w, 1, 1).is_err());
    }
}
