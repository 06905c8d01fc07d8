//! 2D max pooling with padding and overlapping windows, with its own backward.
//!
//! candle's max pooling has no padding and no backward when the stride differs from the kernel
//! (ResNet's stem pools with kernel 3, stride 2, padding 1). On the CPU this op keeps the argmax
//! of every window from the forward and routes each output gradient to it, adding where windows
//! overlap. Other devices use a composed form (a maximum over the shifted strided views of the
//! padded input), which candle differentiates.

use super::max_pool_stem;
use super::par::min_len;
use super::storage::{cpu_f32, with_f32};
use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor, bail};
use rayon::prelude::*;
use std::sync::{Arc, Mutex};

/// Max pooling of `x` (`[N, C, H, W]`) over `kernel`×`kernel` windows moved by `stride`, with
/// `padding` cells of `-inf` on every side, as PyTorch's `max_pool2d` (no dilation, floor
/// mode): the output is `[N, C, (H + 2p - k) / s + 1, (W + 2p - k) / s + 1]`.
pub fn max_pool2d(x: &Tensor, kernel: usize, stride: usize, padding: usize) -> Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    if kernel == 0 || stride == 0 {
        bail!("max_pool2d: kernel {kernel} and stride {stride} must be positive");
    }
    if 2 * padding > kernel {
        bail!("max_pool2d: padding {padding} must be at most half the kernel {kernel}");
    }
    if h + 2 * padding < kernel || w + 2 * padding < kernel {
        bail!("max_pool2d: input {h}x{w} with padding {padding} is smaller than kernel {kernel}");
    }
    let geom = Geom {
        n,
        c,
        h,
        w,
        oh: (h + 2 * padding - kernel) / stride + 1,
        ow: (w + 2 * padding - kernel) / stride + 1,
        k: kernel,
        s: stride,
        p: padding,
    };
    if super::widened::native(x, &[]) {
        let op = MaxPool2d {
            geom,
            argmax: Arc::default(),
        };
        return super::widened::apply1(x, op);
    }
    composed(x, &geom)
}

/// The sizes of one pooling.
#[derive(Debug, Clone, Copy)]
struct Geom {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    oh: usize,
    ow: usize,
    k: usize,
    s: usize,
    p: usize,
}

impl Geom {
    /// Pools plane `xp` (`h`×`w`) into `yp` (`oh`×`ow`), with `ap` the index within the plane
    /// of each output's first maximum (or NaN), window by window.
    fn pool_plane(&self, xp: &[f32], yp: &mut [f32], ap: &mut [u32]) {
        for oy in 0..self.oh {
            let (y0, y1) = self.window(oy, self.h);
            for ox in 0..self.ow {
                let (x0, x1) = self.window(ox, self.w);
                let mut best = f32::NEG_INFINITY;
                let mut at = y0 * self.w + x0;
                for iy in y0..y1 {
                    let row = &xp[iy * self.w..(iy + 1) * self.w];
                    for (ix, &v) in row.iter().enumerate().take(x1).skip(x0) {
                        // The first maximum wins and NaN propagates, as in PyTorch.
                        if v > best || v.is_nan() {
                            best = v;
                            at = iy * self.w + ix;
                        }
                    }
                }
                yp[oy * self.ow + ox] = best;
                ap[oy * self.ow + ox] = at as u32;
            }
        }
    }

    /// The input cells `lo..hi` that output cell `o` of an axis of `len` cells covers.
    fn window(&self, o: usize, len: usize) -> (usize, usize) {
        let start = (o * self.s) as isize - self.p as isize;
        let lo = start.max(0) as usize;
        let hi = ((start + self.k as isize) as usize).min(len);
        (lo, hi)
    }
}

/// The differentiable form for devices other than the CPU, with the CPU kernel's tie and NaN
/// rule.
fn composed(x: &Tensor, g: &Geom) -> Result<Tensor> {
    // Pad to exactly `k - 1 + s * o` cells per axis, so that every shifted view `ky, ky + s, ..`
    // of `o` cells is a reshape and a narrow: the input with -inf, and a mask of the cells
    // inside the plane (1) with 0.
    let hp = g.k - 1 + g.s * g.oh;
    let wp = g.k - 1 + g.s * g.ow;
    let pad = |t: &Tensor, value: f32| -> Result<Tensor> {
        let t = pad_with(t, 2, g.p, hp - g.h - g.p, value)?;
        pad_with(&t, 3, g.p, wp - g.w - g.p, value)
    };
    let xp = pad(x, f32::NEG_INFINITY)?;
    let inside = pad(&x.ones_like()?, 0.0)?;
    let view = |t: &Tensor, ky: usize, kx: usize| -> Result<Tensor> {
        t.narrow(2, ky, g.s * g.oh)?
            .reshape((g.n, g.c, g.oh, g.s, wp))?
            .narrow(3, 0, 1)?
            .squeeze(3)?
            .narrow(3, kx, g.s * g.ow)?
            .reshape((g.n, g.c, g.oh, g.ow, g.s))?
            .narrow(4, 0, 1)?
            .squeeze(4)
    };
    // PyTorch's rule, cell by cell in the window's row-major order: a cell takes the place
    // when it is greater or NaN, so the first maximum wins and NaN propagates; and the first
    // cell inside the plane takes the place of padding, so that a window of -inf sends its
    // gradient there. `where_cond` routes the gradient to the kept cell alone (candle's
    // `maximum` would split it between ties and drop a NaN met first).
    let (mut best, mut best_inside) = (view(&xp, 0, 0)?, view(&inside, 0, 0)?);
    for ky in 0..g.k {
        for kx in 0..g.k {
            if (ky, kx) == (0, 0) {
                continue;
            }
            let (v, v_inside) = (view(&xp, ky, kx)?, view(&inside, ky, kx)?);
            let take = ((v.gt(&best)? + v.ne(&v)?)? + v_inside.gt(&best_inside)?)?;
            best = take.where_cond(&v, &best)?;
            best_inside = take.where_cond(&v_inside, &best_inside)?;
        }
    }
    best.contiguous()
}

/// `x` with `left` and `right` cells of `value` added along `dim`.
fn pad_with(x: &Tensor, dim: usize, left: usize, right: usize, value: f32) -> Result<Tensor> {
    let mut parts = Vec::with_capacity(3);
    let mut shape = x.dims().to_vec();
    if left > 0 {
        shape[dim] = left;
        parts.push(Tensor::full(value, shape.as_slice(), x.device())?.to_dtype(x.dtype())?);
    }
    parts.push(x.clone());
    if right > 0 {
        shape[dim] = right;
        parts.push(Tensor::full(value, shape.as_slice(), x.device())?.to_dtype(x.dtype())?);
    }
    if parts.len() == 1 {
        return Ok(x.clone());
    }
    Tensor::cat(&parts, dim)
}

struct MaxPool2d {
    geom: Geom,
    /// For every output cell, the index of its maximum within its input plane.
    argmax: Arc<Mutex<Vec<u32>>>,
}

impl CustomOp1 for MaxPool2d {
    fn name(&self) -> &'static str {
        "max-pool2d"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = cpu_f32(s, l)?;
        let g = self.geom;
        let (plane, oplane) = (g.h * g.w, g.oh * g.ow);
        let planes = g.n * g.c;
        let mut y = vec![0f32; planes * oplane];
        let mut arg = vec![0u32; planes * oplane];
        let stem = max_pool_stem::applies(g.k, g.s, g.p);
        y.par_chunks_mut(oplane)
            .zip(arg.par_chunks_mut(oplane))
            .zip(x.par_chunks(plane))
            .with_min_len(min_len(plane))
            .for_each_init(max_pool_stem::Split::default, |split, ((yp, ap), xp)| {
                if stem {
                    max_pool_stem::pool_plane(xp, (g.h, g.w), yp, ap, split)
                } else {
                    g.pool_plane(xp, yp, ap)
                }
            });
        *self.argmax.lock().expect("max pool lock poisoned") = arg;
        Ok((CpuStorage::F32(y), Shape::from((g.n, g.c, g.oh, g.ow))))
    }

    fn bwd(&self, x: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let g = self.geom;
        let (plane, oplane) = (g.h * g.w, g.oh * g.ow);
        let arg = self.argmax.lock().expect("max pool lock poisoned").clone();
        Ok(Some(scatter_to_argmax(x, grad, &arg, plane, oplane)?))
    }
}

/// The backward of a max pool: each output gradient added to the input position that won its
/// window (`argmax`, per plane of `oplane` outputs over `plane` inputs); overlapping windows add.
pub(super) fn scatter_to_argmax(
    x: &Tensor,
    grad: &Tensor,
    argmax: &[u32],
    plane: usize,
    oplane: usize,
) -> Result<Tensor> {
    let dx = with_f32(grad, |gs| {
        let mut dx = vec![0f32; x.elem_count()];
        dx.par_chunks_mut(plane)
            .zip(gs.par_chunks(oplane).zip(argmax.par_chunks(oplane)))
            .with_min_len(min_len(plane))
            .for_each(|(dp, (gp, ap))| {
                for (&gv, &i) in gp.iter().zip(ap) {
                    dp[i as usize] += gv;
                }
            });
        Ok(dx)
    })?;
    Tensor::from_vec(dx, x.shape(), x.device())
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::DType;
    use candle_core::{Device, Var};
    use fastcandle_testutil::tensor_max_abs_diff as max_diff;

    #[test]
    fn ties_go_to_the_first_cell_row_by_row_and_nan_takes_the_place() {
        // PyTorch's CPU rule, scanned window by window: rows in order, cells in order within a
        // row, `v > best || v is NaN`. Values from three levels (ties everywhere, as after a
        // ReLU) and a few NaN.
        let dev = Device::Cpu;
        // Kernel 3, stride 2, padding 1 on odd and even sides and on rows wider than a vector
        // take the stem's own loop; the others the general one.
        for &(n, c, h, w, k, s, p) in &[
            (2, 2, 9, 8, 3, 2, 1),
            (1, 2, 8, 9, 3, 2, 1),
            (1, 1, 24, 37, 3, 2, 1),
            (1, 3, 7, 7, 2, 1, 0),
            (1, 2, 9, 8, 3, 2, 0),
        ] {
            let len = n * c * h * w;
            let levels: Vec<f32> = (0..len)
                .map(|i| match (i * 7) % 23 {
                    0 => f32::NAN,
                    r => (r % 3) as f32,
                })
                .collect();
            // And all -inf, where no cell takes the place: the window's first cell in the plane.
            for v in [levels, vec![f32::NEG_INFINITY; len]] {
                let x = Var::from_vec(v.clone(), (n, c, h, w), &dev).unwrap();
                let y = max_pool2d(&x, k, s, p).unwrap();
                let (oh, ow) = (y.dims()[2], y.dims()[3]);
                let g = Geom {
                    n,
                    c,
                    h,
                    w,
                    oh,
                    ow,
                    k,
                    s,
                    p,
                };
                let up: Vec<f32> = (0..n * c * oh * ow).map(|i| i as f32 + 1.0).collect();
                let (mut want_y, mut want_dx) = (Vec::new(), vec![0f32; len]);
                for pl in 0..n * c {
                    for oy in 0..oh {
                        for ox in 0..ow {
                            let ((y0, y1), (x0, x1)) = (g.window(oy, h), g.window(ox, w));
                            let (mut best, mut at) = (f32::NEG_INFINITY, y0 * w + x0);
                            for iy in y0..y1 {
                                for ix in x0..x1 {
                                    let v = v[pl * h * w + iy * w + ix];
                                    if v > best || v.is_nan() {
                                        (best, at) = (v, iy * w + ix);
                                    }
                                }
                            }
                            want_y.push(best);
                            want_dx[pl * h * w + at] += up[(pl * oh + oy) * ow + ox];
                        }
                    }
                }
                let got_y = y.flatten_all().unwrap().to_vec1::<f32>().unwrap();
                let same = |a: f32, b: f32| a == b || (a.is_nan() && b.is_nan());
                assert!(got_y.iter().zip(&want_y).all(|(&a, &b)| same(a, b)));
                let upt = Tensor::from_vec(up, y.dims(), &dev).unwrap();
                let gr = (y * &upt).unwrap().sum_all().unwrap().backward().unwrap();
                let got_dx = gr
                    .get(&x)
                    .unwrap()
                    .flatten_all()
                    .unwrap()
                    .to_vec1::<f32>()
                    .unwrap();
                assert_eq!(got_dx, want_dx);
            }
        }
    }

    #[test]
    fn fast_path_matches_the_composed_form() {
        let dev = Device::Cpu;
        for &(n, c, h, w, k, s, p) in &[
            (2, 3, 9, 7, 3, 2, 1),
            (1, 2, 8, 8, 2, 2, 0),
            (1, 1, 5, 6, 3, 1, 1),
            (2, 2, 7, 5, 3, 3, 0),
        ] {
            let len = n * c * h * w;
            // Distinct values, so that no window has a tie.
            let v: Vec<f32> = (0..len)
                .map(|i| ((i * 7919) % len) as f32 * 0.01 - 1.0)
                .collect();
            let x = Var::from_vec(v, (n, c, h, w), &dev).unwrap();
            let y = max_pool2d(&x, k, s, p).unwrap();
            let geom = Geom {
                n,
                c,
                h,
                w,
                oh: y.dims()[2],
                ow: y.dims()[3],
                k,
                s,
                p,
            };
            let yr = composed(&x, &geom).unwrap();
            assert_eq!(y.dims(), yr.dims());
            assert_eq!(max_diff(&y, &yr), 0.0);
            let up = Tensor::arange(0f32, y.elem_count() as f32, &dev)
                .unwrap()
                .reshape(y.dims())
                .unwrap();
            let ga = (y * &up).unwrap().sum_all().unwrap().backward().unwrap();
            let gb = (yr * &up).unwrap().sum_all().unwrap().backward().unwrap();
            let d = max_diff(ga.get(&x).unwrap(), gb.get(&x).unwrap());
            assert!(d < 1e-5, "{d}");
        }
    }

    #[test]
    fn bad_arguments_are_errors() {
        let x = Tensor::zeros((1, 1, 4, 4), DType::F32, &Device::Cpu).unwrap();
        assert!(max_pool2d(&x, 3, 2, 2).is_err());
        assert!(max_pool2d(&x, 5, 1, 0).is_err());
        assert!(max_pool2d(&x, 3, 0, 1).is_err());
    }
}
