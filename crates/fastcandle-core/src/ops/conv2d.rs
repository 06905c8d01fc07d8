//! 2D convolution (one group) as im2col and one matrix product, with a backward that
//! recomputes the columns instead of keeping them.
//!
//! candle 0.11's convolution backward is slow on the CPU (the input gradient is a transposed
//! convolution of dot products, the weight gradient a convolution whose kernel is the whole
//! output), and fails when height and width leave different remainders under a stride. Here a
//! chunk of the batch is unfolded into columns `[c_in·k·k, chunk·oh·ow]` and multiplied by the
//! weight `[c_out, c_in·k·k]` with candle's matrix product: forward `W · cols`; backward
//! `dW = dY · colsᵀ` and `dcols = Wᵀ · dY`, folded back onto the input. Chunks keep the columns
//! to a few tens of megabytes. Other devices use candle's convolution.

use super::gemm::{matmul, pool};
use super::par::min_len;
use super::storage::{cpu_f32, grad_if, with_f32};
use candle_core::{CpuStorage, CustomOp2, DType, Layout, Result, Shape, Tensor, bail};
use rayon::prelude::*;

/// Elements of the column buffer per chunk of the batch.
const COLS_MAX: usize = 1 << 23;

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
        cols_max: COLS_MAX,
    };
    if x.device().is_cpu() && x.dtype() == DType::F32 && w.dtype() == DType::F32 {
        if (kh, kw, stride, padding) == (1, 1, 1, 0) {
            return super::pointwise_conv::pointwise_conv2d(x, w);
        }
        return x
            .contiguous()?
            .apply_op2(&w.contiguous()?, Conv2d { geom: g });
    }
    match_remainders(x, &g)?.conv2d(w, padding, stride, 1, 1)
}

/// `x`, with zero rows or columns appended where needed so that its height and width leave the
/// same remainder after the last window: candle's convolution backward sizes the input
/// gradient from the height alone. The appended cells lie where padding or nothing was read
/// before, so the output is the same.
fn match_remainders(x: &Tensor, g: &Geom) -> Result<Tensor> {
    let rh = (g.h + 2 * g.p - g.kh) % g.s;
    let rw = (g.w + 2 * g.p - g.kw) % g.s;
    match rh.cmp(&rw) {
        std::cmp::Ordering::Equal => Ok(x.clone()),
        std::cmp::Ordering::Less => x.pad_with_zeros(2, 0, rw - rh),
        std::cmp::Ordering::Greater => x.pad_with_zeros(3, 0, rh - rw),
    }
}

#[derive(Debug, Clone, Copy)]
struct Geom {
    n: usize,
    c_in: usize,
    h: usize,
    w: usize,
    c_out: usize,
    kh: usize,
    kw: usize,
    oh: usize,
    ow: usize,
    s: usize,
    p: usize,
    /// Elements of the column buffer per chunk of the batch.
    cols_max: usize,
}

impl Geom {
    /// Rows of the columns: one per input channel and kernel cell.
    fn k(&self) -> usize {
        self.c_in * self.kh * self.kw
    }

    /// Output cells per channel.
    fn l(&self) -> usize {
        self.oh * self.ow
    }

    /// Samples per chunk.
    fn chunk(&self) -> usize {
        (self.cols_max / (self.k() * self.l()).max(1)).clamp(1, self.n)
    }

    /// The input row read by output row `oy` through kernel row `ky`, if inside the input.
    fn in_row(&self, oy: usize, ky: usize) -> Option<usize> {
        super::window::in_index(oy, ky, self.s, self.p, self.h)
    }

    /// The output columns `lo..hi` whose input column `ox * s + kx - p` is inside the input.
    fn out_cols(&self, kx: usize) -> (usize, usize) {
        super::window::out_range(kx, self.s, self.p, self.w, self.ow)
    }

    /// Unfolds samples `b0..b0 + nb` of `x` into columns `[k, nb * l]`.
    fn im2col(&self, x: &[f32], b0: usize, nb: usize) -> Vec<f32> {
        let (l, plane) = (self.l(), self.h * self.w);
        let row_len = nb * l;
        let mut cols = vec![0f32; self.k() * row_len];
        cols.par_chunks_mut(row_len)
            .enumerate()
            .with_min_len(min_len(row_len))
            .for_each(|(r, row)| {
                let (ci, kk) = (r / (self.kh * self.kw), r % (self.kh * self.kw));
                let (ky, kx) = (kk / self.kw, kk % self.kw);
                let (lo, hi) = self.out_cols(kx);
                for b in 0..nb {
                    let xp = &x[((b0 + b) * self.c_in + ci) * plane..][..plane];
                    let dst = &mut row[b * l..(b + 1) * l];
                    for oy in 0..self.oh {
                        let Some(iy) = self.in_row(oy, ky) else {
                            continue;
                        };
                        if lo >= hi {
                            continue;
                        }
                        let xr = &xp[iy * self.w..(iy + 1) * self.w];
                        let d = &mut dst[oy * self.ow + lo..oy * self.ow + hi];
                        let start = lo * self.s + kx - self.p;
                        if self.s == 1 {
                            d.copy_from_slice(&xr[start..start + (hi - lo)]);
                        } else {
                            for (j, v) in d.iter_mut().enumerate() {
                                *v = xr[start + j * self.s];
                            }
                        }
                    }
                }
            });
        cols
    }

    /// The output gradients of samples `b0..b0 + nb` gathered as `[c_out, nb * l]`.
    fn gather_dy(&self, gs: &[f32], b0: usize, nb: usize) -> Vec<f32> {
        let l = self.l();
        let mut dy = vec![0f32; self.c_out * nb * l];
        dy.par_chunks_mut(l)
            .enumerate()
            .with_min_len(min_len(l))
            .for_each(|(i, dst)| {
                let (co, b) = (i / nb, i % nb);
                dst.copy_from_slice(&gs[((b0 + b) * self.c_out + co) * l..][..l]);
            });
        dy
    }

    /// Folds columns `[k, nb * l]` back onto samples `b0..b0 + nb` of `dx`, adding.
    fn col2im(&self, cols: &[f32], dx: &mut [f32], b0: usize, nb: usize) {
        let (l, plane) = (self.l(), self.h * self.w);
        let row_len = nb * l;
        let ksz = self.kh * self.kw;
        dx[b0 * self.c_in * plane..(b0 + nb) * self.c_in * plane]
            .par_chunks_mut(plane)
            .enumerate()
            .with_min_len(min_len(plane + ksz * l))
            .for_each(|(i, dp)| {
                let (b, ci) = (i / self.c_in, i % self.c_in);
                for ky in 0..self.kh {
                    for kx in 0..self.kw {
                        let r = (ci * self.kh + ky) * self.kw + kx;
                        let src = &cols[r * row_len + b * l..][..l];
                        let (lo, hi) = self.out_cols(kx);
                        if lo >= hi {
                            continue;
                        }
                        let start = lo * self.s + kx - self.p;
                        for oy in 0..self.oh {
                            let Some(iy) = self.in_row(oy, ky) else {
                                continue;
                            };
                            let dr = &mut dp[iy * self.w..(iy + 1) * self.w];
                            let sr = &src[oy * self.ow + lo..oy * self.ow + hi];
                            if self.s == 1 {
                                for (d, &v) in dr[start..start + (hi - lo)].iter_mut().zip(sr) {
                                    *d += v;
                                }
                            } else {
                                for (j, &v) in sr.iter().enumerate() {
                                    dr[start + j * self.s] += v;
                                }
                            }
                        }
                    }
                }
            });
    }
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
        let len = g.n * co * l;
        // Every cell is written below (by a product or a copy) before `set_len`.
        let mut y: Vec<f32> = Vec::with_capacity(len);
        let yp = SendPtr(y.as_mut_ptr());
        let chunk = g.chunk();
        for b0 in (0..g.n).step_by(chunk) {
            let nb = chunk.min(g.n - b0);
            let cols = g.im2col(x, b0, nb);
            let row = (nb * l) as isize;
            if l >= DIRECT_MIN {
                // Sample b's output [c_out, l] = W [c_out, k] · its columns [k, l] (every
                // `nb * l`-th row of the chunk's columns), written in place.
                for b in 0..nb {
                    // SAFETY: `y` has room for `len` cells; sample `b0 + b` owns its
                    // [c_out, l] block; `cols` holds [k, nb * l].
                    unsafe {
                        matmul(
                            (co, l, k),
                            yp.0.add((b0 + b) * co * l),
                            (l as isize, 1),
                            false,
                            wt.as_ptr(),
                            (k as isize, 1),
                            cols.as_ptr().add(b * l),
                            (row, 1),
                            pool(),
                        )
                    }
                }
            } else {
                // Small planes: one product for the chunk, then each row to its sample.
                let mut prod: Vec<f32> = Vec::with_capacity(co * nb * l);
                // SAFETY: `prod` has room for [c_out, nb * l], all written by the product.
                unsafe {
                    matmul(
                        (co, nb * l, k),
                        prod.as_mut_ptr(),
                        (row, 1),
                        false,
                        wt.as_ptr(),
                        (k as isize, 1),
                        cols.as_ptr(),
                        (row, 1),
                        pool(),
                    );
                    prod.set_len(co * nb * l);
                }
                (0..co * nb)
                    .into_par_iter()
                    .with_min_len(min_len(l))
                    .for_each(|i| {
                        let (b, c) = (i / co, i % co);
                        // SAFETY: rows `(b0 + b, c)` are distinct for distinct `i`.
                        unsafe {
                            std::ptr::copy_nonoverlapping(
                                prod.as_ptr().add(c * nb * l + b * l),
                                yp.get().add(((b0 + b) * co + c) * l),
                                l,
                            )
                        }
                    });
            }
        }
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
        let chunk = g.chunk();
        let (dx, dw) = with_f32(x, |xs| {
            with_f32(w, |wt| {
                with_f32(grad, |gs| {
                    let mut dx = if need_dx {
                        vec![0f32; xs.len()]
                    } else {
                        Vec::new()
                    };
                    let mut dw = if need_dw {
                        vec![0f32; co * k]
                    } else {
                        Vec::new()
                    };
                    for b0 in (0..g.n).step_by(chunk) {
                        let nb = chunk.min(g.n - b0);
                        let row = (nb * l) as isize;
                        // dY of the chunk as products read it: each sample's [c_out, l] block
                        // where it lies (large planes), or gathered into [c_out, nb * l].
                        let gathered = (l < DIRECT_MIN).then(|| g.gather_dy(gs, b0, nb));
                        // (pointer, row stride) of sample b's dY [c_out, l].
                        let dy_of = |b: usize| match &gathered {
                            Some(d) => (d[b * l..].as_ptr(), row),
                            None => (gs[(b0 + b) * co * l..].as_ptr(), l as isize),
                        };
                        let whole = gathered.is_some();
                        let per = if whole { 1 } else { nb };
                        let (m_n, cols_n) = if whole { (nb * l, nb * l) } else { (l, l) };
                        if need_dw {
                            let cols = g.im2col(xs, b0, nb);
                            for b in 0..per {
                                let (dy, dy_rs) = dy_of(b);
                                // dW [c_out, k] += dY_b [c_out, l] · cols_bᵀ [l, k].
                                // SAFETY: sizes as laid out above.
                                unsafe {
                                    matmul(
                                        (co, k, m_n),
                                        dw.as_mut_ptr(),
                                        (k as isize, 1),
                                        true,
                                        dy,
                                        (dy_rs, 1),
                                        cols.as_ptr().add(b * l),
                                        (1, row),
                                        pool(),
                                    )
                                }
                            }
                        }
                        if need_dx {
                            let mut dcols: Vec<f32> = Vec::with_capacity(k * nb * l);
                            for b in 0..per {
                                let (dy, dy_rs) = dy_of(b);
                                // dcols_b [k, l] = Wᵀ [k, c_out] · dY_b [c_out, l].
                                // SAFETY: `dcols` has room for [k, nb * l]; every cell is
                                // written by one of the products.
                                unsafe {
                                    matmul(
                                        (k, cols_n, co),
                                        dcols.as_mut_ptr().add(b * l),
                                        (row, 1),
                                        false,
                                        wt.as_ptr(),
                                        (1, k as isize),
                                        dy,
                                        (dy_rs, 1),
                                        pool(),
                                    )
                                }
                            }
                            // SAFETY: written above.
                            unsafe { dcols.set_len(k * nb * l) };
                            g.col2im(&dcols, &mut dx, b0, nb);
                        }
                    }
                    Ok((dx, dw))
                })
            })
        })?;
        Ok((grad_if(need_dx, dx, x)?, grad_if(need_dw, dw, w)?))
    }
}

/// Output planes of at least this many cells are multiplied sample by sample, in place; smaller
/// ones (deep layers) a chunk of samples at once, gathered, so that each product stays large.
const DIRECT_MIN: usize = 256;

/// A raw pointer shared by the tasks that write disjoint parts of one buffer.
#[derive(Clone, Copy)]
struct SendPtr(*mut f32);
// SAFETY: the tasks sharing it write disjoint cells.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}

impl SendPtr {
    fn get(self) -> *mut f32 {
        self.0
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
        // (n, c_in, h, w, c_out, k, stride, padding)
        for &(n, ci, h, w, co, k, s, p) in &[
            (2, 3, 9, 7, 4, 3, 1, 1),
            (1, 3, 10, 8, 5, 3, 2, 1),
            (2, 3, 18, 16, 4, 7, 2, 3),
            (2, 4, 6, 6, 3, 1, 2, 0),
            (1, 2, 5, 5, 2, 3, 2, 0),
            (3, 2, 4, 4, 2, 3, 1, 2),
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
                assert!(d < 1e-3, "{:?}: {d}", (n, ci, h, w, co, k, s, p));
            }
        }
    }

    #[test]
    fn chunks_of_the_batch_add_up() {
        let dev = Device::Cpu;
        let x = Var::from_tensor(&Tensor::rand(-1f32, 1., (5, 3, 9, 8), &dev).unwrap()).unwrap();
        let w = Var::from_tensor(&Tensor::rand(-1f32, 1., (2, 3, 3, 3), &dev).unwrap()).unwrap();
        let g = Geom {
            n: 5,
            c_in: 3,
            h: 9,
            w: 8,
            c_out: 2,
            kh: 3,
            kw: 3,
            oh: 5,
            ow: 4,
            s: 2,
            p: 1,
            // Two samples' columns per chunk: chunks of 2, 2 and 1.
            cols_max: 2 * 27 * 20,
        };
        assert_eq!(g.chunk(), 2);
        let y = x.apply_op2(&w, Conv2d { geom: g }).unwrap();
        let yr = conv2d(&x, &w, 2, 1).unwrap();
        assert!(max_diff(&y, &yr) < 1e-5);
        let up = yr.cos().unwrap().detach();
        let ga = (y * &up).unwrap().sum_all().unwrap().backward().unwrap();
        let gb = (yr * &up).unwrap().sum_all().unwrap().backward().unwrap();
        for t in [x.as_tensor(), w.as_tensor()] {
            assert!(max_diff(ga.get(t).unwrap(), gb.get(t).unwrap()) < 1e-4);
        }
    }
}
