//! Bilinear resizing to any size, with its own backward.
//!
//! Each output cell blends the four input cells around its source point with PyTorch's weights
//! (`F.interpolate(mode="bilinear")`, no antialiasing): along an axis of `len` cells resized to
//! `out`, output cell `o` reads from `(o + 0.5) * len / out - 0.5` (clamped at 0), or from
//! `o * (len - 1) / (out - 1)` with `align_corners`, computed in `f32` as PyTorch does. On the
//! CPU the op walks every plane once forward and once backward, where each output adds its
//! gradient to its four cells; other devices use `index_select`s and weighted sums, which candle
//! differentiates.

use super::par::min_len;
use super::storage::{cpu_f32, with_f32};
use super::upsample_nearest::index_tensor;
use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor, bail};
use rayon::prelude::*;

/// PyTorch's `F.interpolate(x, size=(out_h, out_w), mode="bilinear",
/// align_corners=align_corners)` for `x` `[N, C, H, W]`: output `[N, C, out_h, out_w]`, any
/// sizes up or down.
pub fn interpolate_bilinear(
    x: &Tensor,
    out_h: usize,
    out_w: usize,
    align_corners: bool,
) -> Result<Tensor> {
    let Ok((n, c, h, w)) = x.dims4() else {
        bail!(
            "interpolate_bilinear: expected an [N, C, H, W] input, got shape {:?}",
            x.dims()
        );
    };
    if h == 0 || w == 0 || out_h == 0 || out_w == 0 {
        bail!(
            "interpolate_bilinear: cannot resize {h}x{w} to {out_h}x{out_w} (shape {:?})",
            x.dims()
        );
    }
    let op = Bilinear {
        n,
        c,
        h,
        w,
        rows: taps(h, out_h, align_corners),
        cols: taps(w, out_w, align_corners),
    };
    if super::native_f32(&[x]) {
        return x.contiguous()?.apply_op1(op);
    }
    composed(x, &op.rows, &op.cols)
}

/// The two input cells an output cell reads along one axis, and their weights.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Tap {
    i0: usize,
    i1: usize,
    l0: f32,
    l1: f32,
}

/// PyTorch's `compute_source_index_and_lambda` for each of `out` output cells from `len`.
fn taps(len: usize, out: usize, align_corners: bool) -> Vec<Tap> {
    if out == len {
        return (0..out)
            .map(|o| Tap {
                i0: o,
                i1: o,
                l0: 1.0,
                l1: 0.0,
            })
            .collect();
    }
    // area_pixel_compute_scale
    let scale = if align_corners {
        if out > 1 {
            (len - 1) as f32 / (out - 1) as f32
        } else {
            0.0
        }
    } else {
        len as f32 / out as f32
    };
    (0..out)
        .map(|o| {
            // area_pixel_compute_source_index
            let real = if align_corners {
                scale * o as f32
            } else {
                (scale * (o as f32 + 0.5) - 0.5).max(0.0)
            };
            // guard_index_and_lambda
            let i0 = (real.floor() as usize).min(len - 1);
            let l1 = (real - i0 as f32).clamp(0.0, 1.0);
            let i1 = if i0 < len - 1 { i0 + 1 } else { i0 };
            Tap {
                i0,
                i1,
                l0: 1.0 - l1,
                l1,
            }
        })
        .collect()
}

/// The differentiable form for devices other than the CPU (and dtypes other than `f32`).
fn composed(x: &Tensor, rows: &[Tap], cols: &[Tap]) -> Result<Tensor> {
    let blend = |t: &Tensor, taps: &[Tap], dim: usize| -> Result<Tensor> {
        let mut shape = [1usize; 4];
        shape[dim] = taps.len();
        let i0: Vec<usize> = taps.iter().map(|t| t.i0).collect();
        let i1: Vec<usize> = taps.iter().map(|t| t.i1).collect();
        let weight =
            |v: Vec<f32>| Tensor::from_vec(v, shape.as_slice(), t.device())?.to_dtype(t.dtype());
        let l0 = weight(taps.iter().map(|t| t.l0).collect())?;
        let l1 = weight(taps.iter().map(|t| t.l1).collect())?;
        let a = t.index_select(&index_tensor(&i0, t)?, dim)?;
        let b = t.index_select(&index_tensor(&i1, t)?, dim)?;
        a.broadcast_mul(&l0)? + b.broadcast_mul(&l1)?
    };
    blend(&blend(x, rows, 2)?, cols, 3)
}

struct Bilinear {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    rows: Vec<Tap>,
    cols: Vec<Tap>,
}

impl CustomOp1 for Bilinear {
    fn name(&self) -> &'static str {
        "interpolate-bilinear"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = cpu_f32(s, l)?;
        let (oh, ow) = (self.rows.len(), self.cols.len());
        let (plane, oplane) = (self.h * self.w, oh * ow);
        let mut y = vec![0f32; self.n * self.c * oplane];
        y.par_chunks_mut(oplane)
            .zip(x.par_chunks(plane))
            .with_min_len(min_len(oplane))
            .for_each(|(yp, xp)| {
                for (out, r) in yp.chunks_exact_mut(ow).zip(&self.rows) {
                    let r0 = &xp[r.i0 * self.w..(r.i0 + 1) * self.w];
                    let r1 = &xp[r.i1 * self.w..(r.i1 + 1) * self.w];
                    for (o, c) in out.iter_mut().zip(&self.cols) {
                        *o = r.l0 * (c.l0 * r0[c.i0] + c.l1 * r0[c.i1])
                            + r.l1 * (c.l0 * r1[c.i0] + c.l1 * r1[c.i1]);
                    }
                }
            });
        Ok((CpuStorage::F32(y), Shape::from((self.n, self.c, oh, ow))))
    }

    fn bwd(&self, x: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let ow = self.cols.len();
        let (plane, oplane) = (self.h * self.w, self.rows.len() * ow);
        let w = self.w;
        let dx = with_f32(grad, |gs| {
            let mut dx = vec![0f32; self.n * self.c * plane];
            dx.par_chunks_mut(plane)
                .zip(gs.par_chunks(oplane))
                .with_min_len(min_len(oplane))
                .for_each(|(dp, gp)| {
                    for (grow, r) in gp.chunks_exact(ow).zip(&self.rows) {
                        for (&g, c) in grow.iter().zip(&self.cols) {
                            let (g0, g1) = (r.l0 * g, r.l1 * g);
                            dp[r.i0 * w + c.i0] += g0 * c.l0;
                            dp[r.i0 * w + c.i1] += g0 * c.l1;
                            dp[r.i1 * w + c.i0] += g1 * c.l0;
                            dp[r.i1 * w + c.i1] += g1 * c.l1;
                        }
                    }
                });
            Ok(dx)
        })?;
        Ok(Some(Tensor::from_vec(dx, x.shape(), x.device())?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::DType;
    use candle_core::{Device, Var};
    use fastcandle_testutil::tensor_max_abs_diff as max_diff;

    #[test]
    fn taps_follow_pytorch() {
        // 2 -> 4 without aligned corners reads from -0.25 (clamped), 0.25, 0.75, 1.25 (past the
        // last cell: both taps on it).
        let t = taps(2, 4, false);
        let got: Vec<(usize, usize, f32)> = t.iter().map(|t| (t.i0, t.i1, t.l1)).collect();
        assert_eq!(
            got,
            vec![(0, 1, 0.0), (0, 1, 0.25), (0, 1, 0.75), (1, 1, 0.25)]
        );
        // With aligned corners the ends meet: 3 -> 5 reads from 0, 0.5, 1, 1.5, 2.
        let t = taps(3, 5, true);
        let got: Vec<(usize, f32)> = t.iter().map(|t| (t.i0, t.l1)).collect();
        assert_eq!(got, vec![(0, 0.0), (0, 0.5), (1, 0.0), (1, 0.5), (2, 0.0)]);
        assert_eq!(taps(4, 1, true)[0].i0, 0);
    }

    #[test]
    fn fast_path_matches_the_composed_form() {
        let dev = Device::Cpu;
        for &(n, c, h, w, oh, ow) in &[
            (2, 3, 4, 5, 8, 10),
            (2, 3, 3, 5, 7, 4),
            (1, 2, 6, 6, 10, 13),
            (1, 1, 8, 6, 4, 3),
            (2, 1, 1, 1, 3, 2),
            (1, 2, 5, 4, 1, 1),
        ] {
            for align in [false, true] {
                let len = n * c * h * w;
                let v: Vec<f32> = (0..len).map(|i| (i as f32 * 0.37).sin()).collect();
                let x = Var::from_vec(v, (n, c, h, w), &dev).unwrap();
                let y = interpolate_bilinear(&x, oh, ow, align).unwrap();
                let yr = composed(&x, &taps(h, oh, align), &taps(w, ow, align)).unwrap();
                assert_eq!(y.dims(), &[n, c, oh, ow]);
                assert!(max_diff(&y, &yr) < 1e-6);
                let up = Tensor::arange(0f32, y.elem_count() as f32, &dev)
                    .unwrap()
                    .reshape(y.dims())
                    .unwrap();
                let ga = (y * &up).unwrap().sum_all().unwrap().backward().unwrap();
                let gb = (yr * &up).unwrap().sum_all().unwrap().backward().unwrap();
                let (ga, gb) = (ga.get(&x).unwrap(), gb.get(&x).unwrap());
                // Relative to the gradient's size: `up` reaches the hundreds.
                let scale = gb
                    .abs()
                    .unwrap()
                    .max_all()
                    .unwrap()
                    .to_scalar::<f32>()
                    .unwrap();
                let d = max_diff(ga, gb) / (1.0 + scale);
                assert!(d < 1e-6, "{:?} {d}", (n, c, h, w, oh, ow, align));
            }
        }
    }

    #[test]
    fn a_constant_stays_constant() {
        let x = Tensor::full(2.5f32, (1, 2, 3, 5), &Device::Cpu).unwrap();
        for align in [false, true] {
            let y = interpolate_bilinear(&x, 7, 4, align).unwrap();
            let v: Vec<f32> = y.flatten_all().unwrap().to_vec1().unwrap();
            assert!(v.iter().all(|v| (v - 2.5).abs() < 1e-6), "{v:?}");
        }
    }

    #[test]
    fn bad_shapes_are_errors() {
        let dev = Device::Cpu;
        let x3 = Tensor::zeros((2, 4, 4), DType::F32, &dev).unwrap();
        let e = interpolate_bilinear(&x3, 8, 8, false)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("interpolate_bilinear") && e.contains("[2, 4, 4]"),
            "{e}"
        );
        let x = Tensor::zeros((1, 1, 4, 4), DType::F32, &dev).unwrap();
        assert!(interpolate_bilinear(&x, 0, 8, false).is_err());
        assert!(interpolate_bilinear(&x, 8, 0, true).is_err());
    }
}
