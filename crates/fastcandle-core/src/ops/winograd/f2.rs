//! The transforms of Winograd's F(2x2, 3x3): 4x4 input tiles that overlap by two, each giving a
//! 2x2 block of the output through 16 products, and the weight gradient's own transforms (the
//! output gradient's blocks `A dY Aᵀ`, and `Gᵀ dU G` back to the kernels).
//!
//! ```text
//! Bᵀ = [1  0 -1  0]   G = [  1    0    0 ]   Aᵀ = [1 1  1  0]
//!      [0  1  1  0]       [1/2  1/2  1/2 ]        [0 1 -1 -1]
//!      [0 -1  1  0]       [1/2 -1/2  1/2 ]
//!      [0  1  0 -1]       [  0    0    1 ]
//! ```

use super::tiles::{Points, gather, load, store};
use super::{Wino, simd};
use crate::ops::par::min_len;
use rayon::prelude::*;

/// F(2x2, 3x3)'s points.
pub(super) struct F2;

impl Points<4, 2> for F2 {
    #[inline(always)]
    fn bt<const W: usize>(d: &[[f32; W]; 4]) -> [[f32; W]; 4] {
        let mut o = [[0f32; W]; 4];
        for l in 0..W {
            let (d0, d1, d2, d3) = (d[0][l], d[1][l], d[2][l], d[3][l]);
            o[0][l] = d0 - d2;
            o[1][l] = d1 + d2;
            o[2][l] = d2 - d1;
            o[3][l] = d1 - d3;
        }
        o
    }

    #[inline(always)]
    fn at<const W: usize>(m: &[[f32; W]; 4]) -> [[f32; W]; 2] {
        let mut o = [[0f32; W]; 2];
        for l in 0..W {
            let (m0, m1, m2, m3) = (m[0][l], m[1][l], m[2][l], m[3][l]);
            o[0][l] = m0 + m1 + m2;
            o[1][l] = m1 - m2 - m3;
        }
        o
    }

    #[inline(always)]
    fn g<const W: usize>(g: &[[f32; W]; 3]) -> [[f32; W]; 4] {
        let mut o = [[0f32; W]; 4];
        for l in 0..W {
            let (g0, g1, g2) = (g[0][l], g[1][l], g[2][l]);
            o[0][l] = g0;
            o[1][l] = 0.5 * (g0 + g1 + g2);
            o[2][l] = 0.5 * (g0 - g1 + g2);
            o[3][l] = g2;
        }
        o
    }
}

/// `A y` of a 2x2 block's two values, lane by lane: `y0, y0 + y1, y0 - y1, -y1`.
#[inline(always)]
fn a<const W: usize>(y: &[[f32; W]; 2]) -> [[f32; W]; 4] {
    let mut o = [[0f32; W]; 4];
    for l in 0..W {
        let (y0, y1) = (y[0][l], y[1][l]);
        o[0][l] = y0;
        o[1][l] = y0 + y1;
        o[2][l] = y0 - y1;
        o[3][l] = -y1;
    }
    o
}

/// `A dY Aᵀ` of every 2x2 block `dY` of one output-gradient plane `dy` (`[oh, ow]`, zeros
/// beyond its edges): value `ξ = 4i + j` of block `t` goes to `dst[ξ · stride + t]`. As
/// [`super::tiles::tiles_in`]: the rows with the columns as lanes, then the columns with every
/// block of the plane as a lane.
///
/// # Safety
/// `dst` must be valid for those writes.
#[inline(always)]
pub(super) unsafe fn tiles_grad(
    g: &Wino,
    dy: &[f32],
    dst: *mut f32,
    stride: usize,
    buf: &mut Vec<f32>,
) {
    let (th, tw, oh, ow) = (g.th(), g.tw(), g.oh(), g.ow());
    let tiles = th * tw;
    let wp = 2 * tw;
    buf.resize(6 * wp + 8 * tiles, 0.0);
    let (rows, rest) = buf.split_at_mut(2 * wp);
    let (rt, ph) = rest.split_at_mut(4 * wp);
    for ty in 0..th {
        for (r, row) in rows.chunks_exact_mut(wp).enumerate() {
            let oy = 2 * ty + r;
            if oy < oh {
                row[..ow].copy_from_slice(&dy[oy * ow..][..ow]);
                row[ow..].fill(0.0);
            } else {
                row.fill(0.0);
            }
        }
        blocks!(wp, |lo, W| {
            let d = [load::<W>(rows, lo), load::<W>(&rows[wp..], lo)];
            for (i, o) in a(&d).iter().enumerate() {
                rt[i * wp + lo..][..W].copy_from_slice(o);
            }
        });
        gather(rt, (4, wp), (2, 2), (ty, tw, tiles), ph);
    }
    for i in 0..4 {
        blocks!(tiles, |lo, W| {
            let d = [
                load::<W>(&ph[2 * i * tiles..], lo),
                load::<W>(&ph[(2 * i + 1) * tiles..], lo),
            ];
            for (j, o) in a(&d).iter().enumerate() {
                // SAFETY: forwarded from the caller.
                unsafe { store(o, dst.add((4 * i + j) * stride + lo)) };
            }
        });
    }
}

/// The weight gradient `Gᵀ dU G` (`[c_out, c_in, 3, 3]`) from the gradient `du` of the
/// transformed kernels (16 matrices `[c_out, c_in]`).
pub(super) fn kernel_grad(du: &[f32], c_out: usize, c_in: usize) -> Vec<f32> {
    let plane = c_out * c_in;
    let mut dw = vec![0f32; 9 * plane];
    dw.par_chunks_mut(9 * c_in)
        .enumerate()
        .with_min_len(min_len(16 * c_in))
        .for_each(|(k, row)| {
            #[cfg(target_arch = "x86_64")]
            if simd() {
                // SAFETY: the CPU has the features.
                return unsafe { kernel_grad_row_avx2(du, plane, k * c_in, row) };
            }
            kernel_grad_row(du, plane, k * c_in, row)
        });
    dw
}

/// [`kernel_grad_row`] compiled for AVX2.
///
/// # Safety
/// The CPU must have AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn kernel_grad_row_avx2(du: &[f32], plane: usize, at: usize, dw: &mut [f32]) {
    kernel_grad_row(du, plane, at, dw)
}

/// `Gᵀ dU G` of the kernels `at..at + dw.len() / 9`, read at `du[ξ · plane + kernel]`.
#[inline(always)]
fn kernel_grad_row(du: &[f32], plane: usize, at: usize, dw: &mut [f32]) {
    // Gᵀ = [[1, 1/2, 1/2, 0], [0, 1/2, -1/2, 0], [0, 1/2, 1/2, 1]], W kernels side by side.
    blocks!(dw.len() / 9, |lo, W| {
        let u: [&[f32]; 16] = std::array::from_fn(|xi| &du[xi * plane + at + lo..][..W]);
        // t = Gᵀ dU ([3, 4]), then g = t G ([3, 3]).
        let mut t = [[[0f32; W]; 4]; 3];
        for c in 0..4 {
            for l in 0..W {
                let (a, b, d, e) = (u[c][l], u[4 + c][l], u[8 + c][l], u[12 + c][l]);
                t[0][c][l] = a + 0.5 * (b + d);
                t[1][c][l] = 0.5 * (b - d);
                t[2][c][l] = 0.5 * (b + d) + e;
            }
        }
        let out = &mut dw[9 * lo..][..9 * W];
        for r in 0..3 {
            for l in 0..W {
                let (a, b, d, e) = (t[r][0][l], t[r][1][l], t[r][2][l], t[r][3][l]);
                out[9 * l + 3 * r] = a + 0.5 * (b + d);
                out[9 * l + 3 * r + 1] = 0.5 * (b - d);
                out[9 * l + 3 * r + 2] = 0.5 * (b + d) + e;
            }
        }
    });
}
