//! A convolution's geometry and the unfolding of one sample into columns (im2col) and back
//! (col2im), on the calling thread or across the pool.

use super::par::min_len;
use super::window::{in_index, out_range};
use rayon::prelude::*;

/// The shapes of one convolution (one group, square stride and padding).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Geom {
    pub(crate) n: usize,
    pub(crate) c_in: usize,
    pub(crate) h: usize,
    pub(crate) w: usize,
    pub(crate) c_out: usize,
    pub(crate) kh: usize,
    pub(crate) kw: usize,
    pub(crate) oh: usize,
    pub(crate) ow: usize,
    pub(crate) s: usize,
    pub(crate) p: usize,
}

impl Geom {
    /// Rows of the columns: one per input channel and kernel cell.
    pub(crate) fn k(&self) -> usize {
        self.c_in * self.kh * self.kw
    }

    /// Output cells per channel: the columns' width.
    pub(crate) fn l(&self) -> usize {
        self.oh * self.ow
    }

    /// This convolution as Winograd's F(4x4, 3x3) or F(2x2, 3x3), where that applies and pays.
    pub(crate) fn winograd(&self) -> Option<super::winograd::Wino> {
        super::winograd::fits(
            (self.kh, self.kw),
            self.s,
            self.p,
            (self.c_in, self.c_out),
            (self.n, self.oh, self.ow),
        )
        .map(|tile| super::winograd::Wino {
            c_in: self.c_in,
            c_out: self.c_out,
            h: self.h,
            w: self.w,
            p: self.p,
            tile,
        })
    }

    /// Input cells per channel.
    pub(crate) fn plane(&self) -> usize {
        self.h * self.w
    }

    /// Writes row `r` (input channel `r / (kh·kw)`, kernel cell `r % (kh·kw)`) of one sample's
    /// columns from that sample's input `x` as [`Self::phases`] lays it out, zeros where the
    /// window reads padding: every cell is written.
    fn unfold_row(&self, x: &[f32], r: usize, dst: &mut [f32]) {
        let ksz = self.kh * self.kw;
        let (ci, kk) = (r / ksz, r % ksz);
        let (ky, kx) = (kk / self.kw, kk % self.kw);
        let (lo, hi) = out_range(kx, self.s, self.p, self.w, self.ow);
        if lo >= hi {
            dst.fill(0.0);
            return;
        }
        // Input cells `start, start + s, ..` of a row are cells `off, off + 1, ..` of its phase.
        let start = lo * self.s + kx - self.p;
        let (wp, phase, off) = (self.w.div_ceil(self.s), start % self.s, start / self.s);
        for (oy, row) in dst.chunks_mut(self.ow).enumerate() {
            let Some(iy) = in_index(oy, ky, self.s, self.p, self.h) else {
                row.fill(0.0);
                continue;
            };
            row[..lo].fill(0.0);
            row[hi..].fill(0.0);
            let src = ((ci * self.h + iy) * self.s + phase) * wp + off;
            row[lo..hi].copy_from_slice(&x[src..src + (hi - lo)]);
        }
    }

    /// One sample's input (`[c_in, h, w]`) with each row split into its `s` phases (cells `j`,
    /// `j + s`, `j + 2s`, .. for `j < s`), each `ceil(w / s)` cells long, so that a strided
    /// convolution's columns are copied as contiguous runs. With stride 1 it is `x` itself.
    fn phases<'a>(&self, x: &'a [f32], parallel: bool) -> std::borrow::Cow<'a, [f32]> {
        if self.s == 1 {
            return x.into();
        }
        let (w, s) = (self.w, self.s);
        let wp = w.div_ceil(s);
        let mut out = vec![0f32; self.c_in * self.h * s * wp];
        let split = |(dst, row): (&mut [f32], &[f32])| {
            for (ph, part) in dst.chunks_mut(wp).enumerate() {
                for (d, &v) in part.iter_mut().zip(row[ph..].iter().step_by(s)) {
                    *d = v;
                }
            }
        };
        if parallel {
            out.par_chunks_mut(s * wp)
                .zip(x.par_chunks(w))
                .with_min_len(min_len(w))
                .for_each(split);
        } else {
            out.chunks_mut(s * wp).zip(x.chunks(w)).for_each(split);
        }
        out.into()
    }

    /// Unfolds one sample `x` (`[c_in, h, w]`) into the first `l` cells of each of the `k`
    /// rows of `cols`, `ld` apart (`[k, l]` when `ld` is `l`; a group's samples side by side
    /// when it is a multiple of `l`), every one of those cells written, across the pool when
    /// `parallel`.
    pub(crate) fn im2col(&self, x: &[f32], cols: &mut [f32], ld: usize, parallel: bool) {
        let (k, l) = (self.k(), self.l());
        let x = self.phases(x, parallel);
        if parallel {
            cols.par_chunks_mut(ld)
                .take(k)
                .enumerate()
                .with_min_len(min_len(l))
                .for_each(|(r, row)| self.unfold_row(&x, r, &mut row[..l]));
        } else {
            for (r, row) in cols.chunks_mut(ld).take(k).enumerate() {
                self.unfold_row(&x, r, &mut row[..l]);
            }
        }
    }

    /// Adds the columns of input channel `ci` (rows `ci·kh·kw ..` of `cols`, `ld` apart, `l`
    /// cells each) onto that channel's input-gradient plane `dp` (`[h, w]`). A strided
    /// convolution adds into the plane split into phases (as [`Self::phases`]), contiguous runs,
    /// and puts the cells back in place at the end.
    fn fold_channel(&self, cols: &[f32], ld: usize, ci: usize, dp: &mut [f32]) {
        let (l, w, s) = (self.l(), self.w, self.s);
        let wp = w.div_ceil(s);
        let mut split = if s == 1 {
            Vec::new()
        } else {
            vec![0f32; self.h * s * wp]
        };
        for ky in 0..self.kh {
            for kx in 0..self.kw {
                let r = (ci * self.kh + ky) * self.kw + kx;
                let src = &cols[r * ld..][..l];
                let (lo, hi) = out_range(kx, s, self.p, w, self.ow);
                if lo >= hi {
                    continue;
                }
                let start = lo * s + kx - self.p;
                for oy in 0..self.oh {
                    let Some(iy) = in_index(oy, ky, s, self.p, self.h) else {
                        continue;
                    };
                    let d = if s == 1 {
                        &mut dp[iy * w + start..][..hi - lo]
                    } else {
                        &mut split[(iy * s + start % s) * wp + start / s..][..hi - lo]
                    };
                    for (d, &v) in d.iter_mut().zip(&src[oy * self.ow + lo..oy * self.ow + hi]) {
                        *d += v;
                    }
                }
            }
        }
        if s > 1 {
            for (row, parts) in dp.chunks_mut(w).zip(split.chunks(s * wp)) {
                for (ph, part) in parts.chunks(wp).enumerate() {
                    for (d, &v) in row[ph..].iter_mut().step_by(s).zip(part) {
                        *d += v;
                    }
                }
            }
        }
    }

    /// Folds one sample's columns (`l` cells in each of `k` rows `ld` apart, as
    /// [`Self::im2col`] writes them) back onto its input gradient `dx` (`[c_in, h, w]`), adding,
    /// across the pool when `parallel`.
    pub(crate) fn col2im(&self, cols: &[f32], ld: usize, dx: &mut [f32], parallel: bool) {
        let plane = self.plane();
        if parallel {
            let per = self.kh * self.kw * self.l();
            dx.par_chunks_mut(plane)
                .enumerate()
                .with_min_len(min_len(plane + per))
                .for_each(|(ci, dp)| self.fold_channel(cols, ld, ci, dp));
        } else {
            for (ci, dp) in dx.chunks_mut(plane).enumerate() {
                self.fold_channel(cols, ld, ci, dp);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cell_of_the_columns_is_written() {
        // Padding 2 around a 3x4 input with a 3x3 kernel, stride 2: rows and whole kernel
        // cells fall outside; a buffer full of NaN must come out as the zeroed one does.
        let g = Geom {
            n: 1,
            c_in: 2,
            h: 3,
            w: 4,
            c_out: 1,
            kh: 3,
            kw: 3,
            oh: (3 + 4 - 3) / 2 + 1,
            ow: (4 + 4 - 3) / 2 + 1,
            s: 2,
            p: 2,
        };
        let x: Vec<f32> = (0..2 * 12).map(|i| i as f32 + 1.0).collect();
        let mut a = vec![f32::NAN; g.k() * g.l()];
        let mut b = vec![0f32; g.k() * g.l()];
        g.im2col(&x, &mut a, g.l(), false);
        g.im2col(&x, &mut b, g.l(), true);
        assert_eq!(a, b);
        assert!(a.contains(&0.0) && a.iter().any(|&v| v > 0.0));
    }
}
