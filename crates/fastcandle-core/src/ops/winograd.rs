//! Winograd's minimal filtering F(2x2, 3x3) (Lavin and Gray, "Fast Algorithms for
//! Convolutional Neural Networks", 2016) for 3x3 stride-1 convolutions.
//!
//! The input is cut into 4x4 tiles that overlap by two, each giving a 2x2 block of the output.
//! In the transformed domain the convolution is 16 independent matrix products
//! `M_ξ = U_ξ · V_ξ`, with `U = G g Gᵀ` for each kernel `g` (`[c_out, c_in]` per ξ) and
//! `V = Bᵀ d B` for each tile `d` (`[c_in, tiles]` per ξ); the output block is `Aᵀ M A`.
//! That is 16 multiplications per 2x2 outputs where im2col's product takes 36: 2.25x fewer,
//! for transforms that read and write about as much memory as im2col's columns.
//!
//! The same routine gives a 3x3 stride-1 convolution's input gradient: the output gradient
//! convolved, with padding `2 - p`, by the kernel turned by 180 degrees and transposed in its
//! channels (`transform_kernel` with `transpose`).

use super::gemm::{matmul, parallelism};
use super::par::{SendPtr, by_group, into_part, min_len, sum_parts};
use super::scratch::Scratch;
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};

/// Tiles a group of samples should hold at least, so that each of the 16 products is wide
/// enough to pay for packing its left-hand side (the transformed kernel).
const GROUP_TILES: usize = 256;

/// Channels below which the products are too thin for the transforms to pay.
const MIN_CHANNELS: usize = 8;

/// Tiles over the whole batch below which im2col's product is faster. The kernel's transform
/// costs `25 · c_out · c_in` reads and writes whatever the batch, and saves `20 · c_out · c_in`
/// multiplications per tile; with few tiles the 16 products are also too narrow to run at the
/// gemm's speed. ResNet34's last stage at 128 pixels and batch 8 has 32 tiles and trains
/// about 5% faster through im2col; its third stage there (128 tiles) and its last stage at 224
/// (128 tiles) are faster through Winograd.
const MIN_BATCH_TILES: usize = 64;

/// The planes a group's 16 matrices are made from.
#[derive(Debug, Clone, Copy)]
enum Tiles {
    /// The input's 4x4 tiles, `Bᵀ d B`.
    Input,
    /// The output gradient's 2x2 blocks, `A dY Aᵀ` (the weight gradient's other factor).
    OutputGrad,
}

/// One 3x3 stride-1 convolution: `c_in` planes of `h x w`, padded by `p` zeros on each side,
/// to `c_out` planes of `(h + 2p - 2) x (w + 2p - 2)`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Wino {
    pub(crate) c_in: usize,
    pub(crate) c_out: usize,
    pub(crate) h: usize,
    pub(crate) w: usize,
    pub(crate) p: usize,
}

/// Whether a convolution of kernel `kh x kw`, `stride` and `padding` between `c_in` and
/// `c_out` channels, whose output makes `batch_tiles` 2x2 tiles over the whole batch, runs
/// (forward and input gradient) as Winograd's F(2x2, 3x3).
pub(crate) fn fits(
    (kh, kw): (usize, usize),
    stride: usize,
    padding: usize,
    (c_in, c_out): (usize, usize),
    batch_tiles: usize,
) -> bool {
    (kh, kw, stride) == (3, 3, 1)
        && padding <= 2
        && c_in.min(c_out) >= MIN_CHANNELS
        && batch_tiles >= MIN_BATCH_TILES
        && ENABLED.load(Ordering::Relaxed)
}

/// Whether 3x3 stride-1 convolutions may run as Winograd's F(2x2, 3x3) (on by default).
static ENABLED: AtomicBool = AtomicBool::new(true);

/// Turns Winograd's F(2x2, 3x3) for 3x3 stride-1 convolutions on the CPU on (the default) or
/// off, for the whole process.
///
/// Winograd's transforms round differently from a direct product: the output agrees with
/// im2col's to about 2e-6 relative, which is at the level of float32 itself, but a chain that
/// amplifies rounding (a BatchNorm over a handful of values) shows it in the gradients as
/// PyTorch's own float32 does. Turn it off to compare with a float64 reference bit for bit
/// closer, at about 1.3x the time of a ResNet's training step.
pub fn set_winograd(enabled: bool) {
    ENABLED.store(enabled, Ordering::Relaxed);
}

/// Whether [`set_winograd`] left Winograd's F(2x2, 3x3) on.
pub fn winograd_enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

impl Wino {
    fn oh(&self) -> usize {
        self.h + 2 * self.p - 2
    }

    fn ow(&self) -> usize {
        self.w + 2 * self.p - 2
    }

    /// Rows of tiles.
    fn th(&self) -> usize {
        self.oh().div_ceil(2)
    }

    /// Tiles per row.
    fn tw(&self) -> usize {
        self.ow().div_ceil(2)
    }

    /// Tiles per plane.
    fn tiles(&self) -> usize {
        self.th() * self.tw()
    }

    /// Convolves the `n` samples of `x` (`[n, c_in, h, w]`) by the transformed kernel `u`
    /// (16 matrices `[c_out, c_in]`, from [`transform_kernel`]) into `y` (`[n, c_out, oh, ow]`),
    /// writing every cell. Samples are shared among the pool's threads in groups of at least
    /// [`GROUP_TILES`] tiles where a plane has fewer.
    ///
    /// # Safety
    /// `y` must be valid for `n · c_out · oh · ow` writes that nothing else reads or writes
    /// during the call.
    pub(crate) unsafe fn conv(&self, n: usize, x: &[f32], u: &[f32], y: SendPtr) {
        let (ci, co) = (self.c_in, self.c_out);
        let tiles = self.tiles();
        let (x_plane, y_plane) = (self.h * self.w, self.oh() * self.ow());
        debug_assert_eq!(x.len(), n * ci * x_plane);
        debug_assert_eq!(u.len(), 16 * co * ci);
        by_group(
            n,
            GROUP_TILES.div_ceil(tiles),
            || (),
            |r, _, parallel| {
                let pb = r.len() * tiles;
                let mut v = Scratch::take(16 * ci * pb);
                let mut m = Scratch::take(16 * co * pb);
                let (vp, mp) = (SendPtr(v.as_mut_ptr()), SendPtr(m.as_mut_ptr()));
                // SAFETY: `v` holds the 16 matrices `[ci, pb]`.
                unsafe { self.transform_group(Tiles::Input, x, r.clone(), vp, parallel) };
                for xi in 0..16 {
                    // M_ξ [co, pb] = U_ξ [co, ci] · V_ξ [ci, pb].
                    // SAFETY: the buffers hold 16 matrices of the sizes given.
                    unsafe {
                        matmul(
                            (co, pb, ci),
                            m.as_mut_ptr().add(xi * co * pb),
                            (pb as isize, 1),
                            false,
                            u.as_ptr().add(xi * co * ci),
                            (ci as isize, 1),
                            v.as_ptr().add(xi * ci * pb),
                            (pb as isize, 1),
                            parallelism(parallel),
                        )
                    }
                }
                each(r.len() * co, parallel, y_plane, |j, buf| {
                    let (i, k) = (j / co, j % co);
                    // SAFETY: plane (sample, k) of `y` is written by this job alone (the
                    // caller gives `y` to this call), and M's cells are only read here.
                    unsafe {
                        let plane = std::slice::from_raw_parts_mut(
                            y.get().add(((r.start + i) * co + k) * y_plane),
                            y_plane,
                        );
                        self.tiles_out(mp.get().add(k * pb + i * tiles), co * pb, plane, buf);
                    }
                });
            },
            drop,
        );
    }

    /// The weight gradient (`[c_out, c_in, 3, 3]`) of this convolution of the `n` samples of
    /// `x` given the output gradient `dy` (`[n, c_out, oh, ow]`), through the same transform:
    /// `dU_ξ = Σ dM_ξ · V_ξᵀ` over the tiles, with `dM = A dY Aᵀ` the output gradient's
    /// tiles, and `dW = Gᵀ dU G`: 16 products of `4·c_out·c_in` per 2x2 outputs where the
    /// columns' product takes 36. Sums come back in a fixed order, the same from run to run.
    pub(crate) fn weight_grad(&self, n: usize, x: &[f32], dy: &[f32]) -> Vec<f32> {
        let (ci, co) = (self.c_in, self.c_out);
        let tiles = self.tiles();
        let (x_plane, y_plane) = (self.h * self.w, self.oh() * self.ow());
        debug_assert_eq!(x.len(), n * ci * x_plane);
        debug_assert_eq!(dy.len(), n * co * y_plane);
        let parts = by_group(
            n,
            GROUP_TILES.div_ceil(tiles),
            // A thread's part is made by its first group's products (`into_part`).
            Vec::new,
            |r, du: &mut Vec<f32>, parallel| {
                let pb = r.len() * tiles;
                let mut v = Scratch::take(16 * ci * pb);
                let mut m = Scratch::take(16 * co * pb);
                let (vp, mp) = (SendPtr(v.as_mut_ptr()), SendPtr(m.as_mut_ptr()));
                // SAFETY: `v` and `m` hold the 16 matrices `[ci, pb]` and `[co, pb]`.
                unsafe {
                    self.transform_group(Tiles::Input, x, r.clone(), vp, parallel);
                    self.transform_group(Tiles::OutputGrad, dy, r.clone(), mp, parallel);
                }
                // SAFETY: the 16 products write (or add to) every cell of the part's 16
                // matrices [co, ci]; the other buffers hold the matrices of the sizes given.
                unsafe {
                    into_part(du, 16 * co * ci, |du, accumulate| {
                        for xi in 0..16 {
                            // dU_ξ [co, ci] += dM_ξ [co, pb] · V_ξᵀ [pb, ci].
                            matmul(
                                (co, ci, pb),
                                du.add(xi * co * ci),
                                (ci as isize, 1),
                                accumulate,
                                m.as_ptr().add(xi * co * pb),
                                (pb as isize, 1),
                                v.as_ptr().add(xi * ci * pb),
                                (1, pb as isize),
                                parallelism(parallel),
                            )
                        }
                    })
                };
            },
            |du| du,
        );
        kernel_grad(&sum_parts(parts), co, ci)
    }

    /// Transforms planes `(sample, channel)` of `src` (`[n, channels, plane]`, `channels` and
    /// the plane's size as `kind` says) for the samples `r` of a group into the 16 matrices
    /// `[channels, pb]` at `dst` (`pb` the group's tiles): the plane of the group's `i`-th
    /// sample and channel `c` fills columns `i·tiles..` of row `c`.
    ///
    /// # Safety
    /// `dst` must be valid for the 16 matrices' writes, which nothing else touches meanwhile.
    unsafe fn transform_group(
        &self,
        kind: Tiles,
        src: &[f32],
        r: std::ops::Range<usize>,
        dst: SendPtr,
        parallel: bool,
    ) {
        let tiles = self.tiles();
        let (channels, plane) = match kind {
            Tiles::Input => (self.c_in, self.h * self.w),
            Tiles::OutputGrad => (self.c_out, self.oh() * self.ow()),
        };
        let pb = r.len() * tiles;
        each(r.len() * channels, parallel, plane, |j, buf| {
            let (i, c) = (j / channels, j % channels);
            let p = &src[((r.start + i) * channels + c) * plane..][..plane];
            // SAFETY: this plane's cells of the 16 matrices are its own.
            unsafe {
                self.transform_plane(
                    kind,
                    p,
                    dst.get().add(c * pb + i * tiles),
                    channels * pb,
                    buf,
                )
            }
        });
    }

    /// Writes the 16 transformed values of every tile of one plane `src`, as `kind` says:
    /// value ξ of tile `t` (row-major over the tiles) goes to `dst[ξ · stride + t]`.
    ///
    /// # Safety
    /// `dst` must be valid for those writes.
    unsafe fn transform_plane(
        &self,
        kind: Tiles,
        src: &[f32],
        dst: *mut f32,
        stride: usize,
        buf: &mut Vec<f32>,
    ) {
        #[cfg(target_arch = "x86_64")]
        if simd() {
            // SAFETY: the CPU has the features; the rest is forwarded from the caller.
            return unsafe { self.transform_plane_avx2(kind, src, dst, stride, buf) };
        }
        // SAFETY: forwarded from the caller.
        unsafe { self.transform_plane_body(kind, src, dst, stride, buf) }
    }

    /// [`Self::transform_plane`] compiled for AVX2.
    ///
    /// # Safety
    /// As [`Self::transform_plane`], on a CPU with AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn transform_plane_avx2(
        &self,
        kind: Tiles,
        src: &[f32],
        dst: *mut f32,
        stride: usize,
        buf: &mut Vec<f32>,
    ) {
        // SAFETY: forwarded from the caller.
        unsafe { self.transform_plane_body(kind, src, dst, stride, buf) }
    }

    #[inline(always)]
    unsafe fn transform_plane_body(
        &self,
        kind: Tiles,
        src: &[f32],
        dst: *mut f32,
        stride: usize,
        buf: &mut Vec<f32>,
    ) {
        // SAFETY: forwarded from the caller.
        unsafe {
            match kind {
                Tiles::Input => self.tiles_in_body(src, dst, stride, buf),
                Tiles::OutputGrad => self.tiles_grad_body(src, dst, stride, buf),
            }
        }
    }

    /// `A dY Aᵀ` of every 2x2 block `dY` of one output-gradient plane `dy` (`[oh, ow]`, zeros
    /// beyond its edges), for [`Self::transform_plane`].
    #[inline(always)]
    unsafe fn tiles_grad_body(&self, dy: &[f32], dst: *mut f32, stride: usize, buf: &mut Vec<f32>) {
        let (th, tw, oh, ow) = (self.th(), self.tw(), self.oh(), self.ow());
        buf.resize(6 * tw, 0.0);
        // Even and odd cells of the block row's two rows, then one row of A dY.
        let (e, rest) = buf.split_at_mut(2 * tw);
        let (o, rest) = rest.split_at_mut(2 * tw);
        let (re, ro) = rest.split_at_mut(tw);
        for ty in 0..th {
            for r in 0..2 {
                let (er, or) = (&mut e[r * tw..][..tw], &mut o[r * tw..][..tw]);
                let oy = 2 * ty + r;
                if oy >= oh {
                    er.fill(0.0);
                    or.fill(0.0);
                    continue;
                }
                let row = &dy[oy * ow..][..ow];
                deinterleave(row, er, or);
                if ow % 2 == 1 {
                    er[tw - 1] = row[ow - 1];
                    or[tw - 1] = 0.0;
                }
            }
            let (e0, e1) = e.split_at(tw);
            let (o0, o1) = o.split_at(tw);
            for i in 0..4 {
                // Row i of A dY, A = [[1, 0], [1, 1], [1, -1], [0, -1]]: y0, y0 + y1, y0 - y1, -y1.
                match i {
                    0 => {
                        re.copy_from_slice(e0);
                        ro.copy_from_slice(o0);
                    }
                    1 | 2 => {
                        combine(re, e0, e1, i == 1);
                        combine(ro, o0, o1, i == 1);
                    }
                    _ => {
                        negate(re, e1);
                        negate(ro, o1);
                    }
                }
                // ... and the same on the columns: e, e + o, e - o, -o.
                // SAFETY: forwarded from the caller; the four rows are disjoint.
                let out = |j: usize| unsafe {
                    std::slice::from_raw_parts_mut(dst.add((4 * i + j) * stride + ty * tw), tw)
                };
                columns_grad(re, ro, out(0), out(1), out(2), out(3));
            }
        }
    }

    /// `Bᵀ d B` of every tile `d` of one input plane `x` (`[h, w]`, padded by `p` zeros), for
    /// [`Self::transform_plane`].
    #[inline(always)]
    unsafe fn tiles_in_body(&self, x: &[f32], dst: *mut f32, stride: usize, buf: &mut Vec<f32>) {
        let (th, tw, h, w, p) = (self.th(), self.tw(), self.h, self.w, self.p);
        // A padded input row holds every column the tiles read: 2·tw + 2 >= w + p.
        let (wp, n1) = (2 * tw + 2, tw + 1);
        buf.resize(wp + 10 * n1, 0.0);
        let (pad, rest) = buf.split_at_mut(wp);
        // Even and odd columns of the tile row's four input rows, then one row of Bᵀ d.
        let (e, rest) = rest.split_at_mut(4 * n1);
        let (o, rest) = rest.split_at_mut(4 * n1);
        let (te, to) = rest.split_at_mut(n1);
        for ty in 0..th {
            for r in 0..4 {
                match (2 * ty + r).checked_sub(p).filter(|&iy| iy < h) {
                    Some(iy) => {
                        pad[..p].fill(0.0);
                        pad[p..p + w].copy_from_slice(&x[iy * w..][..w]);
                        pad[p + w..].fill(0.0);
                    }
                    None => pad.fill(0.0),
                }
                deinterleave(pad, &mut e[r * n1..][..n1], &mut o[r * n1..][..n1]);
            }
            for i in 0..4 {
                // Row i of Bᵀ d: d0 - d2, d1 + d2, d2 - d1, d1 - d3.
                let (a, b, add) = match i {
                    0 => (0, 2, false),
                    1 => (1, 2, true),
                    2 => (2, 1, false),
                    _ => (1, 3, false),
                };
                combine(te, &e[a * n1..][..n1], &e[b * n1..][..n1], add);
                combine(to, &o[a * n1..][..n1], &o[b * n1..][..n1], add);
                // That row times B, for tile tx reading columns 2tx..2tx+4:
                // e[tx] - e[tx+1], o[tx] + e[tx+1], e[tx+1] - o[tx], o[tx] - o[tx+1].
                // SAFETY: forwarded from the caller; the four rows are disjoint.
                let out = |j: usize| unsafe {
                    std::slice::from_raw_parts_mut(dst.add((4 * i + j) * stride + ty * tw), tw)
                };
                columns_in(te, to, out(0), out(1), out(2), out(3));
            }
        }
    }

    /// Writes one output plane `y` (`[oh, ow]`, every cell) as `Aᵀ M A` of each tile's 16
    /// products, value ξ of tile `t` read at `src[ξ · stride + t]`.
    ///
    /// # Safety
    /// `src` must be valid for those reads.
    unsafe fn tiles_out(&self, src: *const f32, stride: usize, y: &mut [f32], buf: &mut Vec<f32>) {
        #[cfg(target_arch = "x86_64")]
        if simd() {
            // SAFETY: the CPU has the features; the rest is forwarded from the caller.
            return unsafe { self.tiles_out_avx2(src, stride, y, buf) };
        }
        // SAFETY: forwarded from the caller.
        unsafe { self.tiles_out_body(src, stride, y, buf) }
    }

    /// [`Self::tiles_out`] compiled for AVX2.
    ///
    /// # Safety
    /// As [`Self::tiles_out`], on a CPU with AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn tiles_out_avx2(
        &self,
        src: *const f32,
        stride: usize,
        y: &mut [f32],
        buf: &mut Vec<f32>,
    ) {
        // SAFETY: forwarded from the caller.
        unsafe { self.tiles_out_body(src, stride, y, buf) }
    }

    #[inline(always)]
    unsafe fn tiles_out_body(
        &self,
        src: *const f32,
        stride: usize,
        y: &mut [f32],
        buf: &mut Vec<f32>,
    ) {
        let (th, tw, oh, ow) = (self.th(), self.tw(), self.oh(), self.ow());
        buf.resize(10 * tw, 0.0);
        // Rows of Aᵀ M (two rows of four columns), then one output row's even and odd cells.
        let (s, rest) = buf.split_at_mut(8 * tw);
        let (ev, od) = rest.split_at_mut(tw);
        for ty in 0..th {
            // SAFETY: forwarded from the caller.
            let m = |xi: usize| unsafe {
                std::slice::from_raw_parts(src.add(xi * stride + ty * tw), tw)
            };
            let (s0, s1) = s.split_at_mut(4 * tw);
            for (j, (s0, s1)) in s0
                .chunks_exact_mut(tw)
                .zip(s1.chunks_exact_mut(tw))
                .enumerate()
            {
                // Aᵀ = [[1, 1, 1, 0], [0, 1, -1, -1]] on the rows.
                let ms = m(j)
                    .iter()
                    .zip(m(4 + j))
                    .zip(m(8 + j).iter().zip(m(12 + j)));
                for ((a, b), ((&m0, &m1), (&m2, &m3))) in s0.iter_mut().zip(s1.iter_mut()).zip(ms) {
                    *a = m0 + m1 + m2;
                    *b = m1 - m2 - m3;
                }
            }
            for a in 0..2 {
                let oy = 2 * ty + a;
                if oy >= oh {
                    break;
                }
                // ... and on the columns.
                let mut c = s[a * 4 * tw..][..4 * tw].chunks_exact(tw);
                let (c0, c1, c2, c3) = (
                    c.next().unwrap(),
                    c.next().unwrap(),
                    c.next().unwrap(),
                    c.next().unwrap(),
                );
                out_pair(c0, c1, c2, c3, ev, od);
                let row = &mut y[oy * ow..][..ow];
                interleave(ev, od, row);
                if ow % 2 == 1 {
                    row[ow - 1] = ev[tw - 1];
                }
            }
        }
    }
}

/// Whether the CPU runs the AVX2 builds of the transforms.
#[cfg(target_arch = "x86_64")]
fn simd() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}

// The loops of the transforms, each a function of its own so that the compiler knows its
// slices apart, and each walked in blocks of eight cells of constant width (then one by one)
// so that it becomes vector code even for rows of a few tiles (inlined into the AVX2 builds).

/// Runs `$body` with `$lo` the first cell and `$w` (a constant) the width of each block of
/// `0..$n`: blocks of eight, then single cells.
macro_rules! blocks {
    ($n:expr, |$lo:ident, $w:ident| $body:block) => {{
        let n = $n;
        let mut $lo = 0;
        while $lo + 8 <= n {
            const $w: usize = 8;
            $body
            $lo += 8;
        }
        while $lo < n {
            const $w: usize = 1;
            $body
            $lo += 1;
        }
    }};
}

/// `even[t] = src[2t]` and `odd[t] = src[2t + 1]` for the whole pairs of `src` that `even`
/// has room for.
#[inline(always)]
fn deinterleave(src: &[f32], even: &mut [f32], odd: &mut [f32]) {
    blocks!(even.len().min(src.len() / 2), |lo, W| {
        let (s, e, o) = (
            &src[2 * lo..][..2 * W],
            &mut even[lo..][..W],
            &mut odd[lo..][..W],
        );
        for j in 0..W {
            e[j] = s[2 * j];
            o[j] = s[2 * j + 1];
        }
    });
}

/// `dst[2t] = even[t]` and `dst[2t + 1] = odd[t]` for the `dst.len() / 2` pairs of `dst`.
#[inline(always)]
fn interleave(even: &[f32], odd: &[f32], dst: &mut [f32]) {
    blocks!(dst.len() / 2, |lo, W| {
        let (d, e, o) = (
            &mut dst[2 * lo..][..2 * W],
            &even[lo..][..W],
            &odd[lo..][..W],
        );
        for j in 0..W {
            d[2 * j] = e[j];
            d[2 * j + 1] = o[j];
        }
    });
}

/// One row of `Bᵀ d`, split into its even (`e`) and odd (`o`) columns, times `B`: for tile
/// `t` (columns `2t..2t + 4`), `e[t] - e[t+1]`, `o[t] + e[t+1]`, `e[t+1] - o[t]`,
/// `o[t] - o[t+1]`.
#[inline(always)]
fn columns_in(
    e: &[f32],
    o: &[f32],
    d0: &mut [f32],
    d1: &mut [f32],
    d2: &mut [f32],
    d3: &mut [f32],
) {
    blocks!(d0.len(), |lo, W| {
        let (e, o) = (&e[lo..][..W + 1], &o[lo..][..W + 1]);
        let (d0, d1) = (&mut d0[lo..][..W], &mut d1[lo..][..W]);
        let (d2, d3) = (&mut d2[lo..][..W], &mut d3[lo..][..W]);
        for j in 0..W {
            d0[j] = e[j] - e[j + 1];
            d1[j] = o[j] + e[j + 1];
            d2[j] = e[j + 1] - o[j];
            d3[j] = o[j] - o[j + 1];
        }
    });
}

/// One row of `A dY` (even cells `e`, odd `o`) times `Aᵀ`: `e`, `e + o`, `e - o`, `-o`.
#[inline(always)]
fn columns_grad(
    e: &[f32],
    o: &[f32],
    d0: &mut [f32],
    d1: &mut [f32],
    d2: &mut [f32],
    d3: &mut [f32],
) {
    blocks!(d0.len(), |lo, W| {
        let (e, o) = (&e[lo..][..W], &o[lo..][..W]);
        let (d0, d1) = (&mut d0[lo..][..W], &mut d1[lo..][..W]);
        let (d2, d3) = (&mut d2[lo..][..W], &mut d3[lo..][..W]);
        for j in 0..W {
            d0[j] = e[j];
            d1[j] = e[j] + o[j];
            d2[j] = e[j] - o[j];
            d3[j] = -o[j];
        }
    });
}

/// `Aᵀ` on four vectors: `a = m0 + m1 + m2`, `b = m1 - m2 - m3`.
#[inline(always)]
fn out_pair(m0: &[f32], m1: &[f32], m2: &[f32], m3: &[f32], a: &mut [f32], b: &mut [f32]) {
    blocks!(a.len(), |lo, W| {
        let (m0, m1) = (&m0[lo..][..W], &m1[lo..][..W]);
        let (m2, m3) = (&m2[lo..][..W], &m3[lo..][..W]);
        let (a, b) = (&mut a[lo..][..W], &mut b[lo..][..W]);
        for j in 0..W {
            a[j] = m0[j] + m1[j] + m2[j];
            b[j] = m1[j] - m2[j] - m3[j];
        }
    });
}

/// `dst = -src`, cell by cell.
#[inline(always)]
fn negate(dst: &mut [f32], src: &[f32]) {
    blocks!(dst.len(), |lo, W| {
        let (d, s) = (&mut dst[lo..][..W], &src[lo..][..W]);
        for j in 0..W {
            d[j] = -s[j];
        }
    });
}

/// `dst = a + b` (`add`) or `a - b`, cell by cell.
#[inline(always)]
fn combine(dst: &mut [f32], a: &[f32], b: &[f32], add: bool) {
    blocks!(dst.len(), |lo, W| {
        let (d, a, b) = (&mut dst[lo..][..W], &a[lo..][..W], &b[lo..][..W]);
        for j in 0..W {
            d[j] = if add { a[j] + b[j] } else { a[j] - b[j] };
        }
    });
}

/// Runs `f(j, buf)` for `j` in `0..jobs`, across the pool when `parallel`, `buf` a small
/// buffer of the running thread's own; `plane` is the cells one job walks.
fn each(jobs: usize, parallel: bool, plane: usize, f: impl Fn(usize, &mut Vec<f32>) + Sync) {
    if parallel {
        (0..jobs)
            .into_par_iter()
            .with_min_len(min_len(plane))
            .for_each_init(Vec::new, |buf, j| f(j, buf));
    } else {
        let mut buf = Vec::new();
        for j in 0..jobs {
            f(j, &mut buf);
        }
    }
}

/// The kernel `w` (`[c_out, c_in, 3, 3]`) in the transformed domain, `G g Gᵀ` of each 3x3
/// kernel `g`: 16 matrices `[c_out, c_in]` for the forward or, with `transpose`, 16 matrices
/// `[c_in, c_out]` of the kernels turned by 180 degrees, for the input gradient. The buffer is
/// one of the calling thread's spares.
pub(crate) fn transform_kernel(w: &[f32], c_out: usize, c_in: usize, transpose: bool) -> Scratch {
    let plane = c_out * c_in;
    debug_assert_eq!(w.len(), 9 * plane);
    let (rows, cols) = if transpose {
        (c_in, c_out)
    } else {
        (c_out, c_in)
    };
    // The kernel of row r, column q: (k, c) = (r, q) for the forward, (q, r) transposed.
    let (row_step, col_step) = if transpose {
        (9, 9 * c_in)
    } else {
        (9 * c_in, 9)
    };
    let mut u = Scratch::take(16 * plane);
    let up = SendPtr(u.as_mut_ptr());
    (0..rows)
        .into_par_iter()
        .with_min_len(min_len(16 * cols))
        .for_each(|r| {
            // SAFETY: row r of each of the 16 matrices is this task's alone.
            unsafe {
                kernel_row(
                    &w[r * row_step..],
                    col_step,
                    cols,
                    transpose,
                    up.get().add(r * cols),
                    plane,
                )
            }
        });
    u
}

/// Writes `G g Gᵀ` of the `n` kernels `src[q · step..][..9]` (turned when `flip`) to
/// `dst[ξ · plane + q]`.
///
/// # Safety
/// `dst` must be valid for those writes.
unsafe fn kernel_row(src: &[f32], step: usize, n: usize, flip: bool, dst: *mut f32, plane: usize) {
    #[cfg(target_arch = "x86_64")]
    if simd() {
        // SAFETY: the CPU has the features; the rest is forwarded from the caller.
        return unsafe { kernel_row_avx2(src, step, n, flip, dst, plane) };
    }
    // SAFETY: forwarded from the caller.
    unsafe { kernel_row_body(src, step, n, flip, dst, plane) }
}

/// [`kernel_row`] compiled for AVX2.
///
/// # Safety
/// As [`kernel_row`], on a CPU with AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn kernel_row_avx2(
    src: &[f32],
    step: usize,
    n: usize,
    flip: bool,
    dst: *mut f32,
    plane: usize,
) {
    // SAFETY: forwarded from the caller.
    unsafe { kernel_row_body(src, step, n, flip, dst, plane) }
}

#[inline(always)]
unsafe fn kernel_row_body(
    src: &[f32],
    step: usize,
    n: usize,
    flip: bool,
    dst: *mut f32,
    plane: usize,
) {
    // G = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]], W kernels side by side.
    blocks!(n, |lo, W| {
        let mut g = [[0f32; W]; 9];
        for l in 0..W {
            let k = &src[(lo + l) * step..][..9];
            for j in 0..9 {
                g[if flip { 8 - j } else { j }][l] = k[j];
            }
        }
        // t = G g ([4, 3]), then u = t Gᵀ ([4, 4]).
        let mut t = [[[0f32; W]; 3]; 4];
        for c in 0..3 {
            for l in 0..W {
                let (a, b, d) = (g[c][l], g[3 + c][l], g[6 + c][l]);
                t[0][c][l] = a;
                t[1][c][l] = 0.5 * (a + b + d);
                t[2][c][l] = 0.5 * (a - b + d);
                t[3][c][l] = d;
            }
        }
        let mut u = [[0f32; W]; 16];
        for i in 0..4 {
            for l in 0..W {
                let (a, b, d) = (t[i][0][l], t[i][1][l], t[i][2][l]);
                u[4 * i][l] = a;
                u[4 * i + 1][l] = 0.5 * (a + b + d);
                u[4 * i + 2][l] = 0.5 * (a - b + d);
                u[4 * i + 3][l] = d;
            }
        }
        for (xi, row) in u.iter().enumerate() {
            // SAFETY: forwarded from the caller.
            unsafe { std::ptr::copy_nonoverlapping(row.as_ptr(), dst.add(xi * plane + lo), W) };
        }
    });
}

/// The weight gradient `Gᵀ dU G` (`[c_out, c_in, 3, 3]`) from the gradient `du` of the
/// transformed kernels (16 matrices `[c_out, c_in]`).
fn kernel_grad(du: &[f32], c_out: usize, c_in: usize) -> Vec<f32> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A direct 3x3 stride-1 correlation with zero padding, the definition.
    fn direct(x: &[f32], wt: &[f32], g: &Wino, n: usize) -> Vec<f32> {
        let (oh, ow) = (g.oh(), g.ow());
        let mut y = vec![0f32; n * g.c_out * oh * ow];
        for b in 0..n {
            for k in 0..g.c_out {
                for oy in 0..oh {
                    for ox in 0..ow {
                        let mut acc = 0f64;
                        for c in 0..g.c_in {
                            for a in 0..3 {
                                for d in 0..3 {
                                    let (iy, ix) = (oy + a, ox + d);
                                    if iy < g.p || ix < g.p || iy - g.p >= g.h || ix - g.p >= g.w {
                                        continue;
                                    }
                                    let xv =
                                        x[((b * g.c_in + c) * g.h + iy - g.p) * g.w + ix - g.p];
                                    acc +=
                                        xv as f64 * wt[((k * g.c_in + c) * 3 + a) * 3 + d] as f64;
                                }
                            }
                        }
                        y[((b * g.c_out + k) * oh + oy) * ow + ox] = acc as f32;
                    }
                }
            }
        }
        y
    }

    #[test]
    fn equals_the_direct_convolution_on_odd_shapes() {
        // (n, c_in, h, w, c_out, p): odd and even sides, all three paddings, a 1x1 output,
        // groups of several samples (small planes) and a batch smaller than the pool.
        for &(n, ci, h, w, co, p) in &[
            (3, 8, 7, 9, 10, 1),
            (2, 9, 6, 6, 8, 0),
            (1, 8, 5, 4, 8, 2),
            (5, 8, 3, 3, 9, 0),
            (4, 12, 2, 3, 8, 1),
            (2, 8, 30, 28, 8, 1),
        ] {
            let g = Wino {
                c_in: ci,
                c_out: co,
                h,
                w,
                p,
            };
            let x: Vec<f32> = (0..n * ci * h * w)
                .map(|i| (i as f32 * 0.37).sin())
                .collect();
            let wt: Vec<f32> = (0..co * ci * 9)
                .map(|i| (i as f32 * 0.71 + 0.3).cos())
                .collect();
            let want = direct(&x, &wt, &g, n);
            // NaN where nothing may be read before it is written.
            let mut y = vec![f32::NAN; want.len()];
            let u = transform_kernel(&wt, co, ci, false);
            // SAFETY: `y` has the output's size.
            unsafe { g.conv(n, &x, &u, SendPtr(y.as_mut_ptr())) };
            let d = fastcandle_testutil::max_abs_diff(&y, &want);
            assert!(d < 1e-4, "{:?}: {d}", (n, ci, h, w, co, p));
        }
    }

    #[test]
    fn weight_gradient_equals_the_direct_sum() {
        // dW[k, c, a, d] = Σ dY[b, k, oy, ox] · x[b, c, oy + a - p, ox + d - p].
        for &(n, ci, h, w, co, p) in &[(3, 8, 7, 9, 10, 1), (2, 9, 6, 5, 8, 0), (5, 8, 3, 4, 9, 2)]
        {
            let g = Wino {
                c_in: ci,
                c_out: co,
                h,
                w,
                p,
            };
            let (oh, ow) = (g.oh(), g.ow());
            let x: Vec<f32> = (0..n * ci * h * w)
                .map(|i| (i as f32 * 0.37).sin())
                .collect();
            let dy: Vec<f32> = (0..n * co * oh * ow)
                .map(|i| (i as f32 * 0.53).cos())
                .collect();
            let mut want = vec![0f64; co * ci * 9];
            for b in 0..n {
                for k in 0..co {
                    for c in 0..ci {
                        for a in 0..3 {
                            for d in 0..3 {
                                for oy in 0..oh {
                                    for ox in 0..ow {
                                        let (iy, ix) = (oy + a, ox + d);
                                        if iy < p || ix < p || iy - p >= h || ix - p >= w {
                                            continue;
                                        }
                                        want[((k * ci + c) * 3 + a) * 3 + d] += dy
                                            [((b * co + k) * oh + oy) * ow + ox]
                                            as f64
                                            * x[((b * ci + c) * h + iy - p) * w + ix - p] as f64;
                                    }
                                }
                            }
                        }
                    }
                }
            }
            let got = g.weight_grad(n, &x, &dy);
            let got: Vec<f64> = got.iter().map(|&a| a as f64).collect();
            let d = fastcandle_testutil::max_abs_diff_f64(&got, &want);
            assert!(d < 1e-4, "{:?}: {d}", (n, ci, h, w, co, p));
        }
    }

    #[test]
    fn few_tiles_over_the_batch_stay_on_im2col() {
        // ResNet34's last stage at 128 pixels and batch 8: 4x4 planes, 2x2 tiles each.
        assert!(!fits((3, 3), 1, 1, (512, 512), 8 * 2 * 2));
        // Its third stage there (8x8 planes), and the last stage at 224 (7x7).
        assert!(fits((3, 3), 1, 1, (256, 256), 8 * 4 * 4));
        assert!(fits((3, 3), 1, 1, (512, 512), 8 * 4 * 4));
        assert!(!fits((3, 3), 2, 1, (512, 512), 8 * 4 * 4));
    }

    #[test]
    fn the_flipped_transposed_kernel_is_the_turned_kernel() {
        let (co, ci) = (11, 10);
        let wt: Vec<f32> = (0..co * ci * 9).map(|i| i as f32 * 0.5 - 3.0).collect();
        let mut turned = vec![0f32; wt.len()];
        for k in 0..co {
            for c in 0..ci {
                for a in 0..9 {
                    turned[(c * co + k) * 9 + a] = wt[(k * ci + c) * 9 + 8 - a];
                }
            }
        }
        assert_eq!(
            transform_kernel(&wt, co, ci, true).to_vec(),
            transform_kernel(&turned, ci, co, false).to_vec()
        );
    }
}
