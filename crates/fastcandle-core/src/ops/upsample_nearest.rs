//! Nearest-neighbour resizing to any size, with a backward that adds.
//!
//! Output cell `o` of an axis of `out` cells reads input cell
//! `min(floor(o * (len / out)), len - 1)` of `len`, the scale computed in `f32` as PyTorch's
//! `F.interpolate(mode="nearest")` does (without a `scale_factor`), so that odd ratios pick the
//! same cells. Downsampling skips cells; upsampling reads a cell several times, and the backward
//! adds the gradients of all the outputs that read one input (candle 0.11's
//! `upsample_nearest2d` backward keeps only one of them). On the CPU the op walks every plane
//! once forward and once backward; other devices use two `index_select`s, whose backward
//! (`index_add`) adds too.

use super::par::min_len;
use super::storage::{cpu_f32, with_f32};
use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor, bail};
use rayon::prelude::*;

/// PyTorch's `F.interpolate(x, size=(out_h, out_w), mode="nearest")` for `x` `[N, C, H, W]`:
/// output `[N, C, out_h, out_w]`, any sizes up or down. This is PyTorch's `"nearest"` (and
/// fastai's), not `"nearest-exact"`, which reads from cell centres.
pub fn upsample_nearest2d(x: &Tensor, out_h: usize, out_w: usize) -> Result<Tensor> {
    let Ok((n, c, h, w)) = x.dims4() else {
        bail!(
            "upsample_nearest2d: expected an [N, C, H, W] input, got shape {:?}",
            x.dims()
        );
    };
    if h == 0 || w == 0 || out_h == 0 || out_w == 0 {
        bail!(
            "upsample_nearest2d: cannot resize {h}x{w} to {out_h}x{out_w} (shape {:?})",
            x.dims()
        );
    }
    let op = UpsampleNearest {
        n,
        c,
        h,
        w,
        rows: source_indices(h, out_h),
        cols: source_indices(w, out_w),
    };
    if super::native_f32(&[x]) {
        return x.contiguous()?.apply_op1(op);
    }
    composed(x, &op.rows, &op.cols)
}

/// PyTorch's `nearest_idx`: the input cell read by each of `out` output cells from `len`.
pub(crate) fn source_indices(len: usize, out: usize) -> Vec<usize> {
    if out == len {
        return (0..out).collect();
    }
    if out == 2 * len {
        return (0..out).map(|o| o >> 1).collect();
    }
    let scale = len as f32 / out as f32;
    (0..out)
        .map(|o| ((o as f32 * scale).floor() as usize).min(len - 1))
        .collect()
}

/// The differentiable form for devices other than the CPU (and dtypes other than `f32`).
fn composed(x: &Tensor, rows: &[usize], cols: &[usize]) -> Result<Tensor> {
    x.index_select(&index_tensor(rows, x)?, 2)?
        .index_select(&index_tensor(cols, x)?, 3)
}

/// `indices` as a `u32` tensor on the device of `like`.
pub(crate) fn index_tensor(indices: &[usize], like: &Tensor) -> Result<Tensor> {
    let v: Vec<u32> = indices.iter().map(|&i| i as u32).collect();
    Tensor::from_vec(v, indices.len(), like.device())
}

struct UpsampleNearest {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    /// The input row read by each output row.
    rows: Vec<usize>,
    /// The input column read by each output column.
    cols: Vec<usize>,
}

impl CustomOp1 for UpsampleNearest {
    fn name(&self) -> &'static str {
        "upsample-nearest2d"
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
                for (oy, &iy) in self.rows.iter().enumerate() {
                    let (done, rest) = yp.split_at_mut(oy * ow);
                    let out = &mut rest[..ow];
                    if oy > 0 && self.rows[oy - 1] == iy {
                        // The row above read the same input row.
                        out.copy_from_slice(&done[(oy - 1) * ow..]);
                        continue;
                    }
                    let src = &xp[iy * self.w..(iy + 1) * self.w];
                    for (o, &ix) in out.iter_mut().zip(&self.cols) {
                        *o = src[ix];
                    }
                }
            });
        Ok((CpuStorage::F32(y), Shape::from((self.n, self.c, oh, ow))))
    }

    fn bwd(&self, x: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let ow = self.cols.len();
        let (plane, oplane) = (self.h * self.w, self.rows.len() * ow);
        let dx = with_f32(grad, |gs| {
            let mut dx = vec![0f32; self.n * self.c * plane];
            dx.par_chunks_mut(plane)
                .zip(gs.par_chunks(oplane))
                .with_min_len(min_len(oplane))
                .for_each(|(dp, gp)| {
                    for (&iy, grow) in self.rows.iter().zip(gp.chunks_exact(ow)) {
                        let drow = &mut dp[iy * self.w..(iy + 1) * self.w];
                        for (&g, &ix) in grow.iter().zip(&self.cols) {
                            drow[ix] += g;
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
    fn source_indices_follow_pytorch() {
        assert_eq!(source_indices(5, 3), vec![0, 1, 3]);
        assert_eq!(source_indices(3, 7), vec![0, 0, 0, 1, 1, 2, 2]);
        assert_eq!(source_indices(4, 8), vec![0, 0, 1, 1, 2, 2, 3, 3]);
        assert_eq!(
            source_indices(96, 48),
            (0..48).map(|i| 2 * i).collect::<Vec<_>>()
        );
        assert_eq!(source_indices(1, 3), vec![0, 0, 0]);
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
        ] {
            let len = n * c * h * w;
            let v: Vec<f32> = (0..len).map(|i| (i as f32 * 0.37).sin()).collect();
            let x = Var::from_vec(v, (n, c, h, w), &dev).unwrap();
            let y = upsample_nearest2d(&x, oh, ow).unwrap();
            let yr = composed(&x, &source_indices(h, oh), &source_indices(w, ow)).unwrap();
            assert_eq!(y.dims(), &[n, c, oh, ow]);
            assert_eq!(max_diff(&y, &yr), 0.0);
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
            assert!(d < 1e-6, "{:?} {d}", (n, c, h, w, oh, ow));
        }
    }

    #[test]
    fn backward_adds_the_gradients_of_every_copy() {
        let x = Var::ones((1, 2, 2, 3), DType::F32, &Device::Cpu).unwrap();
        let y = upsample_nearest2d(&x, 4, 6).unwrap();
        let g = y.sum_all().unwrap().backward().unwrap();
        let dx: Vec<f32> = g.get(&x).unwrap().flatten_all().unwrap().to_vec1().unwrap();
        assert_eq!(dx, vec![4.0; 12]);
    }

    #[test]
    fn bad_shapes_are_errors() {
        let dev = Device::Cpu;
        let x3 = Tensor::zeros((2, 4, 4), DType::F32, &dev).unwrap();
        let e = upsample_nearest2d(&x3, 8, 8).unwrap_err().to_string();
        assert!(
            e.contains("upsample_nearest2d") && e.contains("[2, 4, 4]"),
            "{e}"
        );
        let x = Tensor::zeros((1, 1, 4, 4), DType::F32, &dev).unwrap();
        assert!(upsample_nearest2d(&x, 0, 8).is_err());
        assert!(upsample_nearest2d(&x, 8, 0).is_err());
        let empty = Tensor::zeros((1, 1, 0, 4), DType::F32, &dev).unwrap();
        assert!(upsample_nearest2d(&empty, 2, 2).is_err());
    }
}
