//! Adaptive average and max pooling to a fixed output size, with their own backward.
//!
//! Bins follow PyTorch: output cell `i` of an axis of `len` input cells pools the cells
//! `floor(i * len / out) .. ceil((i + 1) * len / out)`, so bins may differ in size and overlap.
//! On the CPU each op walks every input plane once forward and once backward (the max keeps its
//! argmax from the forward). The 1×1 output of a classifier's head is one sum or one maximum per
//! plane. Other devices use a composed form (a reshape and a reduction where bins are equal and
//! disjoint, one reduction per bin otherwise), which candle differentiates.

use super::max_pool::scatter_to_argmax;
use super::par::min_len;
use super::storage::{cpu_f32, with_f32};
use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor, bail};
use rayon::prelude::*;
use std::sync::{Arc, Mutex};

/// PyTorch's `adaptive_avg_pool2d`: `x` (`[N, C, H, W]`) averaged over bins to
/// `[N, C, oh, ow]`.
pub fn adaptive_avg_pool2d(x: &Tensor, (oh, ow): (usize, usize)) -> Result<Tensor> {
    let geom = Geom::new(x, oh, ow, "adaptive_avg_pool2d")?;
    if super::widened::native(x, &[]) {
        return super::widened::apply1(x, AdaptiveAvg { geom });
    }
    composed(x, &geom, Kind::Avg)
}

/// PyTorch's `adaptive_max_pool2d`: the maximum of `x` (`[N, C, H, W]`) over bins, as
/// `[N, C, oh, ow]` (the indices are not returned).
pub fn adaptive_max_pool2d(x: &Tensor, (oh, ow): (usize, usize)) -> Result<Tensor> {
    let geom = Geom::new(x, oh, ow, "adaptive_max_pool2d")?;
    if super::widened::native(x, &[]) {
        let op = AdaptiveMax {
            geom,
            argmax: Arc::default(),
        };
        return super::widened::apply1(x, op);
    }
    composed(x, &geom, Kind::Max)
}

#[derive(Debug, Clone, Copy)]
struct Geom {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    oh: usize,
    ow: usize,
}

/// The input cells `start..end` pooled into output cell `i` of `out` from `len` cells.
fn bin(i: usize, len: usize, out: usize) -> (usize, usize) {
    (i * len / out, ((i + 1) * len).div_ceil(out))
}

impl Geom {
    fn new(x: &Tensor, oh: usize, ow: usize, op: &str) -> Result<Self> {
        let (n, c, h, w) = x.dims4()?;
        if oh == 0 || ow == 0 || h == 0 || w == 0 {
            bail!("{op}: cannot pool {h}x{w} to {oh}x{ow}");
        }
        Ok(Self { n, c, h, w, oh, ow })
    }

    fn is_global(&self) -> bool {
        self.oh == 1 && self.ow == 1
    }

    fn out_shape(&self) -> Shape {
        Shape::from((self.n, self.c, self.oh, self.ow))
    }
}

/// The sum of a slice, in independent lanes so that the compiler vectorises it.
fn sum(v: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let chunks = v.chunks_exact(8);
    let rest = chunks.remainder();
    for ch in chunks {
        for (a, &x) in acc.iter_mut().zip(ch) {
            *a += x;
        }
    }
    acc.iter().sum::<f32>() + rest.iter().sum::<f32>()
}

struct AdaptiveAvg {
    geom: Geom,
}

impl CustomOp1 for AdaptiveAvg {
    fn name(&self) -> &'static str {
        "adaptive-avg-pool2d"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = cpu_f32(s, l)?;
        let g = self.geom;
        let (plane, oplane) = (g.h * g.w, g.oh * g.ow);
        let mut y = vec![0f32; g.n * g.c * oplane];
        if g.is_global() {
            let inv = 1.0 / plane as f32;
            y.par_iter_mut()
                .zip(x.par_chunks(plane))
                .with_min_len(min_len(plane))
                .for_each(|(yv, xp)| *yv = sum(xp) * inv);
        } else {
            y.par_chunks_mut(oplane)
                .zip(x.par_chunks(plane))
                .with_min_len(min_len(plane))
                .for_each(|(yp, xp)| {
                    for oy in 0..g.oh {
                        let (y0, y1) = bin(oy, g.h, g.oh);
                        for ox in 0..g.ow {
                            let (x0, x1) = bin(ox, g.w, g.ow);
                            let total: f32 = (y0..y1)
                                .map(|iy| sum(&xp[iy * g.w + x0..iy * g.w + x1]))
                                .sum();
                            yp[oy * g.ow + ox] = total / ((y1 - y0) * (x1 - x0)) as f32;
                        }
                    }
                });
        }
        Ok((CpuStorage::F32(y), g.out_shape()))
    }

    fn bwd(&self, x: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let g = self.geom;
        let (plane, oplane) = (g.h * g.w, g.oh * g.ow);
        let dx = with_f32(grad, |gs| {
            let mut dx = vec![0f32; g.n * g.c * plane];
            dx.par_chunks_mut(plane)
                .zip(gs.par_chunks(oplane))
                .with_min_len(min_len(plane))
                .for_each(|(dp, gp)| {
                    if g.is_global() {
                        dp.fill(gp[0] / plane as f32);
                        return;
                    }
                    for oy in 0..g.oh {
                        let (y0, y1) = bin(oy, g.h, g.oh);
                        for ox in 0..g.ow {
                            let (x0, x1) = bin(ox, g.w, g.ow);
                            let v = gp[oy * g.ow + ox] / ((y1 - y0) * (x1 - x0)) as f32;
                            for iy in y0..y1 {
                                dp[iy * g.w + x0..iy * g.w + x1]
                                    .iter_mut()
                                    .for_each(|d| *d += v);
                            }
                        }
                    }
                });
            Ok(dx)
        })?;
        Ok(Some(Tensor::from_vec(dx, x.shape(), x.device())?))
    }
}

struct AdaptiveMax {
    geom: Geom,
    /// For every output cell, the index of its maximum within its input plane.
    argmax: Arc<Mutex<Vec<u32>>>,
}

/// The first maximum of `xp` over rows `y0..y1` and columns `x0..x1` of width `w`, and its
/// index; NaN propagates, as in PyTorch.
fn argmax(xp: &[f32], w: usize, (y0, y1): (usize, usize), (x0, x1): (usize, usize)) -> (f32, u32) {
    let mut best = f32::NEG_INFINITY;
    let mut at = y0 * w + x0;
    for iy in y0..y1 {
        let row = iy * w + x0;
        for (i, &v) in xp[row..iy * w + x1].iter().enumerate() {
            if v > best || v.is_nan() {
                best = v;
                at = row + i;
            }
        }
    }
    (best, at as u32)
}

impl CustomOp1 for AdaptiveMax {
    fn name(&self) -> &'static str {
        "adaptive-max-pool2d"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = cpu_f32(s, l)?;
        let g = self.geom;
        let (plane, oplane) = (g.h * g.w, g.oh * g.ow);
        let mut y = vec![0f32; g.n * g.c * oplane];
        let mut arg = vec![0u32; g.n * g.c * oplane];
        y.par_chunks_mut(oplane)
            .zip(arg.par_chunks_mut(oplane))
            .zip(x.par_chunks(plane))
            .with_min_len(min_len(plane))
            .for_each(|((yp, ap), xp)| {
                for oy in 0..g.oh {
                    let rows = bin(oy, g.h, g.oh);
                    for ox in 0..g.ow {
                        let (v, i) = argmax(xp, g.w, rows, bin(ox, g.w, g.ow));
                        yp[oy * g.ow + ox] = v;
                        ap[oy * g.ow + ox] = i;
                    }
                }
            });
        *self.argmax.lock().expect("adaptive max pool lock poisoned") = arg;
        Ok((CpuStorage::F32(y), g.out_shape()))
    }

    fn bwd(&self, x: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let g = self.geom;
        let (plane, oplane) = (g.h * g.w, g.oh * g.ow);
        let arg = self
            .argmax
            .lock()
            .expect("adaptive max pool lock poisoned")
            .clone();
        Ok(Some(scatter_to_argmax(x, grad, &arg, plane, oplane)?))
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Avg,
    Max,
}

/// The differentiable form for devices other than the CPU.
fn composed(x: &Tensor, g: &Geom, kind: Kind) -> Result<Tensor> {
    let reduce = |t: &Tensor| -> Result<Tensor> {
        let t = t.flatten_from(2)?;
        match kind {
            Kind::Avg => t.mean_keepdim(2)?.unsqueeze(3),
            Kind::Max => t.max_keepdim(2)?.unsqueeze(3),
        }
    };
    if g.is_global() {
        return reduce(x);
    }
    if g.h % g.oh == 0 && g.w % g.ow == 0 {
        // Equal disjoint bins: a reshape and a reduction. (Not candle's `max_pool2d`, whose
        // backward in candle 0.11 divides the gradient by the kernel area.)
        let (kh, kw) = (g.h / g.oh, g.w / g.ow);
        let t = x.reshape((g.n, g.c, g.oh, kh, g.ow, kw))?;
        return match kind {
            Kind::Avg => t.mean_keepdim(5)?.mean_keepdim(3)?,
            Kind::Max => t.max_keepdim(5)?.max_keepdim(3)?,
        }
        .reshape((g.n, g.c, g.oh, g.ow));
    }
    let mut rows = Vec::with_capacity(g.oh);
    for oy in 0..g.oh {
        let (y0, y1) = bin(oy, g.h, g.oh);
        let band = x.narrow(2, y0, y1 - y0)?;
        let cells = (0..g.ow)
            .map(|ox| {
                let (x0, x1) = bin(ox, g.w, g.ow);
                reduce(&band.narrow(3, x0, x1 - x0)?)
            })
            .collect::<Result<Vec<_>>>()?;
        rows.push(Tensor::cat(&cells, 3)?);
    }
    Tensor::cat(&rows, 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};
    use fastcandle_testutil::tensor_max_abs_diff as max_diff;

    #[test]
    fn bins_follow_pytorch() {
        // PyTorch pools 5 cells to 3 as [0, 2), [1, 4), [3, 5).
        assert_eq!(
            (0..3).map(|i| bin(i, 5, 3)).collect::<Vec<_>>(),
            vec![(0, 2), (1, 4), (3, 5)]
        );
        assert_eq!(bin(0, 7, 1), (0, 7));
    }

    #[test]
    fn fast_paths_match_the_composed_forms() {
        let dev = Device::Cpu;
        for &(n, c, h, w, oh, ow) in &[
            (2, 3, 7, 5, 1, 1),
            (2, 3, 7, 5, 3, 2),
            (1, 2, 4, 4, 2, 2),
            (1, 1, 3, 4, 5, 3),
        ] {
            let len = n * c * h * w;
            let v: Vec<f32> = (0..len)
                .map(|i| ((i * 7919) % len) as f32 * 0.01 - 1.0)
                .collect();
            let geom = Geom { n, c, h, w, oh, ow };
            for kind in [Kind::Avg, Kind::Max] {
                let x = Var::from_vec(v.clone(), (n, c, h, w), &dev).unwrap();
                let y = match kind {
                    Kind::Avg => adaptive_avg_pool2d(&x, (oh, ow)),
                    Kind::Max => adaptive_max_pool2d(&x, (oh, ow)),
                }
                .unwrap();
                let yr = composed(&x, &geom, kind).unwrap();
                assert_eq!(y.dims(), &[n, c, oh, ow]);
                assert!(max_diff(&y, &yr) < 1e-6);
                let up = Tensor::arange(0f32, y.elem_count() as f32, &dev)
                    .unwrap()
                    .reshape(y.dims())
                    .unwrap();
                let ga = (y * &up).unwrap().sum_all().unwrap().backward().unwrap();
                let gb = (yr * &up).unwrap().sum_all().unwrap().backward().unwrap();
                let d = max_diff(ga.get(&x).unwrap(), gb.get(&x).unwrap());
                assert!(d < 1e-5, "{:?} {d}", (n, c, h, w, oh, ow, kind as u8));
            }
        }
    }
}
