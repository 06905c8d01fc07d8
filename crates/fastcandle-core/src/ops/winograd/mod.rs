//! Winograd's minimal filtering F(2x2, 3x3) and F(4x4, 3x3) (Lavin and Gray, "Fast Algorithms
//! for Convolutional Neural Networks", 2016) for 3x3 stride-1 convolutions.
//!
//! With F(2x2, 3x3) the input is cut into 4x4 tiles that overlap by two, each giving a 2x2
//! block of the output. In the transformed domain the convolution is 16 independent matrix
//! products `M_ξ = U_ξ · V_ξ`, with `U = G g Gᵀ` for each kernel `g` (`[c_out, c_in]` per ξ)
//! and `V = Bᵀ d B` for each tile `d` (`[c_in, tiles]` per ξ); the output block is `Aᵀ M A`.
//! That is 16 multiplications per 2x2 outputs where im2col's product takes 36: 2.25x fewer,
//! for transforms that read and write about as much memory as im2col's columns. F(4x4, 3x3)
//! takes 6x6 tiles and 36 products per 4x4 block, 4x fewer than im2col, and is used where
//! the planes are large enough (`fits`), for the forward and both gradients; its rounding is
//! about four times F(2x2, 3x3)'s (2e-5 of the largest output against 5e-6). The transforms
//! are in `tiles`, the points in `f2` and `f4`.
//!
//! The same routine gives a 3x3 stride-1 convolution's input gradient: the output gradient
//! convolved, with padding `2 - p`, by the kernel turned by 180 degrees and transposed in its
//! channels (`transform_kernel` with `transpose`).

use super::gemm::{matmul, parallelism};
use super::par::{SendPtr, by_group, into_part, min_len, sum_parts};
use super::scratch::Scratch;
use super::simd::fast;
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

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

/// The same for F(4x4, 3x3)'s 4x4 blocks, whose kernel transform costs 36 cells per kernel.
const MIN_BATCH_TILES_F4: usize = 64;

/// The output's side below which F(2x2, 3x3) is faster than F(4x4, 3x3): ResNet's 14x14 and
/// 7x7 planes leave a 4x4 block's last row and column partly empty (16 blocks for 14x14
/// outputs, 2x2 for 7x7), and their many channels make the larger kernel transform cost more
/// than the products it saves. Measured at batch 8 and 32: 14x14 is 0-15% slower through
/// F(4x4, 3x3), 16x16 (128 pixels) 15-20% faster, 28x28 and 56x56 20-30% faster.
const MIN_SIDE_F4: usize = 16;

/// The planes a group's 16 matrices are made from.
#[derive(Debug, Clone, Copy)]
enum Tiles {
    /// The input's 4x4 tiles, `Bᵀ d B`.
    Input,
    /// The output gradient's blocks, `A dY Aᵀ` (the weight gradient's other factor).
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
    /// The tile: F(2x2, 3x3) or F(4x4, 3x3).
    pub(crate) tile: Tile,
}

/// The tile a Winograd convolution runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tile {
    /// F(2x2, 3x3): 4x4 input tiles, 2x2 output blocks, 16 products.
    F2,
    /// F(4x4, 3x3): 6x6 input tiles, 4x4 output blocks, 36 products ([`f4`]).
    F4,
}

impl Tile {
    /// The side of an output block.
    pub(crate) fn m(self) -> usize {
        match self {
            Tile::F2 => 2,
            Tile::F4 => 4,
        }
    }

    /// The cells of an input tile, which is the number of products.
    pub(crate) fn cells(self) -> usize {
        (self.m() + 2) * (self.m() + 2)
    }
}

/// How a convolution of kernel `kh x kw`, `stride` and `padding` between `c_in` and `c_out`
/// channels, whose output is `oh x ow` for each of `n` samples, runs its forward and input
/// gradient: as Winograd's F(4x4, 3x3) where the batch has enough 4x4 blocks, as F(2x2, 3x3)
/// where it has enough 2x2 blocks, or (`None`) as im2col's product.
pub(crate) fn fits(
    (kh, kw): (usize, usize),
    stride: usize,
    padding: usize,
    (c_in, c_out): (usize, usize),
    (n, oh, ow): (usize, usize, usize),
) -> Option<Tile> {
    let ok = (kh, kw, stride) == (3, 3, 1)
        && padding <= 2
        && c_in.min(c_out) >= MIN_CHANNELS
        && ENABLED.load(Ordering::Relaxed);
    let tiles = |t: Tile| n * oh.div_ceil(t.m()) * ow.div_ceil(t.m());
    if !ok {
        None
    } else if winograd_f4_enabled()
        && oh.min(ow) >= MIN_SIDE_F4
        && tiles(Tile::F4) >= MIN_BATCH_TILES_F4
    {
        Some(Tile::F4)
    } else {
        (tiles(Tile::F2) >= MIN_BATCH_TILES).then_some(Tile::F2)
    }
}

/// Whether 3x3 stride-1 convolutions may run as Winograd's F(2x2, 3x3) (on by default).
static ENABLED: AtomicBool = AtomicBool::new(true);

/// The variable that turns Winograd's F(4x4, 3x3) off when `0`, `false`, `no` or `off`.
pub const WINOGRAD_F4_ENV: &str = "FASTCANDLE_WINOGRAD_F4";

/// Whether the larger tile F(4x4, 3x3) may be used where it pays: unset (read from
/// [`WINOGRAD_F4_ENV`] on first use), on or off.
static F4_MODE: AtomicU8 = AtomicU8::new(F4_UNSET);
const F4_UNSET: u8 = 0;
const F4_ON: u8 = 1;
const F4_OFF: u8 = 2;

/// Turns Winograd's F(4x4, 3x3) on (the default) or off for the whole process, over
/// [`WINOGRAD_F4_ENV`]. Off, the convolutions that would take it run as F(2x2, 3x3), whose
/// rounding is about a quarter of F(4x4, 3x3)'s, at about 1.1x the time of a ResNet's forward.
pub fn set_winograd_f4(enabled: bool) {
    F4_MODE.store(if enabled { F4_ON } else { F4_OFF }, Ordering::Relaxed);
}

/// Whether F(4x4, 3x3) is on ([`set_winograd_f4`], else [`WINOGRAD_F4_ENV`], else on).
pub fn winograd_f4_enabled() -> bool {
    match F4_MODE.load(Ordering::Relaxed) {
        F4_ON => true,
        F4_OFF => false,
        _ => {
            let off = std::env::var(WINOGRAD_F4_ENV).is_ok_and(|v| {
                matches!(
                    v.trim().to_ascii_lowercase().as_str(),
                    "0" | "false" | "no" | "off"
                )
            });
            let mode = if off { F4_OFF } else { F4_ON };
            // A racing `set_winograd_f4` wins over the environment.
            let _ = F4_MODE.compare_exchange(F4_UNSET, mode, Ordering::Relaxed, Ordering::Relaxed);
            F4_MODE.load(Ordering::Relaxed) == F4_ON
        }
    }
}

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
        self.oh().div_ceil(self.tile.m())
    }

    /// Tiles per row.
    fn tw(&self) -> usize {
        self.ow().div_ceil(self.tile.m())
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
        let cells = self.tile.cells();
        debug_assert_eq!(u.len(), cells * co * ci);
        by_group(
            n,
            GROUP_TILES.div_ceil(tiles),
            || (),
            |r, _, parallel| {
                let pb = r.len() * tiles;
                let mut v = Scratch::take(cells * ci * pb);
                let mut m = Scratch::take(cells * co * pb);
                let (vp, mp) = (SendPtr(v.as_mut_ptr()), SendPtr(m.as_mut_ptr()));
                // SAFETY: `v` holds the `cells` matrices `[ci, pb]`.
                unsafe { self.transform_group(Tiles::Input, x, r.clone(), vp, parallel) };
                for xi in 0..cells {
                    // M_ξ [co, pb] = U_ξ [co, ci] · V_ξ [ci, pb].
                    // SAFETY: the buffers hold `cells` matrices of the sizes given.
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
    /// blocks, and `dW = Gᵀ dU G`: with F(2x2, 3x3) 16 products of `c_out·c_in` per 2x2
    /// outputs, with F(4x4, 3x3) 36 per 4x4, where the columns' product takes 9 per output.
    /// Sums come back in a fixed order, the same from run to run.
    pub(crate) fn weight_grad(&self, n: usize, x: &[f32], dy: &[f32]) -> Vec<f32> {
        let (ci, co) = (self.c_in, self.c_out);
        let (tiles, cells) = (self.tiles(), self.tile.cells());
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
                let mut v = Scratch::take(cells * ci * pb);
                let mut m = Scratch::take(cells * co * pb);
                let (vp, mp) = (SendPtr(v.as_mut_ptr()), SendPtr(m.as_mut_ptr()));
                // SAFETY: `v` and `m` hold the 16 matrices `[ci, pb]` and `[co, pb]`.
                unsafe {
                    self.transform_group(Tiles::Input, x, r.clone(), vp, parallel);
                    self.transform_group(Tiles::OutputGrad, dy, r.clone(), mp, parallel);
                }
                // SAFETY: the 16 products write (or add to) every cell of the part's 16
                // matrices [co, ci]; the other buffers hold the matrices of the sizes given.
                unsafe {
                    into_part(du, cells * co * ci, |du, accumulate| {
                        for xi in 0..cells {
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
        kernel_grad(&sum_parts(parts), co, ci, self.tile)
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
        fast(
            #[inline(always)]
            || {
                // SAFETY: forwarded from the caller.
                unsafe {
                    match kind {
                        Tiles::Input if self.tile == Tile::F4 => {
                            tiles::tiles_in::<6, 4, F4>(self, src, dst, stride, buf)
                        }
                        Tiles::Input => tiles::tiles_in::<4, 2, F2>(self, src, dst, stride, buf),
                        Tiles::OutputGrad if self.tile == Tile::F4 => {
                            tiles::tiles_grad::<6, 4, F4>(self, src, dst, stride, buf)
                        }
                        Tiles::OutputGrad => {
                            tiles::tiles_grad::<4, 2, F2>(self, src, dst, stride, buf)
                        }
                    }
                }
            },
        )
    }

    /// Writes one output plane `y` (`[oh, ow]`, every cell) as `Aᵀ M A` of each tile's 16
    /// products, value ξ of tile `t` read at `src[ξ · stride + t]`.
    ///
    /// # Safety
    /// `src` must be valid for those reads.
    unsafe fn tiles_out(&self, src: *const f32, stride: usize, y: &mut [f32], buf: &mut Vec<f32>) {
        fast(
            #[inline(always)]
            || {
                // SAFETY: forwarded from the caller.
                unsafe {
                    match self.tile {
                        Tile::F2 => tiles::tiles_out::<4, 2, F2>(self, src, stride, y, buf),
                        Tile::F4 => tiles::tiles_out::<6, 4, F4>(self, src, stride, y, buf),
                    }
                }
            },
        )
    }
}

// The loops of the transforms are walked in blocks of eight lanes of constant width (then one
// by one) so that they become vector code (inlined into the AVX2 builds).

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

mod f2;
mod f4;
mod tiles;

use f2::F2;
use f4::F4;

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
pub(crate) fn transform_kernel(
    w: &[f32],
    c_out: usize,
    c_in: usize,
    transpose: bool,
    tile: Tile,
) -> Scratch {
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
    let cells = tile.cells();
    let mut u = Scratch::take(cells * plane);
    let up = SendPtr(u.as_mut_ptr());
    (0..rows)
        .into_par_iter()
        .with_min_len(min_len(cells * cols))
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
                    tile,
                )
            }
        });
    u
}

/// Writes `G g Gᵀ` of the `n` kernels `src[q · step..][..9]` (turned when `flip`) to
/// `dst[ξ · plane + q]`, for `tile`.
///
/// # Safety
/// `dst` must be valid for those writes.
unsafe fn kernel_row(
    src: &[f32],
    step: usize,
    n: usize,
    flip: bool,
    dst: *mut f32,
    plane: usize,
    tile: Tile,
) {
    fast(
        #[inline(always)]
        || {
            // SAFETY: forwarded from the caller.
            unsafe {
                match tile {
                    Tile::F2 => tiles::kernel_row::<4, 2, F2>(src, step, n, flip, dst, plane),
                    Tile::F4 => tiles::kernel_row::<6, 4, F4>(src, step, n, flip, dst, plane),
                }
            }
        },
    )
}

/// The weight gradient `Gᵀ dU G` (`[c_out, c_in, 3, 3]`) from the gradient `du` of the
/// transformed kernels (`tile.cells()` matrices `[c_out, c_in]`).
fn kernel_grad(du: &[f32], c_out: usize, c_in: usize, tile: Tile) -> Vec<f32> {
    let plane = c_out * c_in;
    let mut dw = vec![0f32; 9 * plane];
    dw.par_chunks_mut(9 * c_in)
        .enumerate()
        .with_min_len(min_len(tile.cells() * c_in))
        .for_each(|(k, row)| {
            fast(
                #[inline(always)]
                || match tile {
                    Tile::F2 => tiles::kernel_grad_row::<4, 2, F2>(du, plane, k * c_in, row),
                    Tile::F4 => tiles::kernel_grad_row::<6, 4, F4>(du, plane, k * c_in, row),
                },
            )
        });
    dw
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
        // groups of several samples (small planes) and a batch smaller than the pool; sides
        // that leave every remainder by 4 for F(4x4, 3x3)'s partial blocks.
        for tile in [Tile::F2, Tile::F4] {
            for &(n, ci, h, w, co, p) in &[
                (3, 8, 7, 9, 10, 1),
                (2, 9, 6, 6, 8, 0),
                (1, 8, 5, 4, 8, 2),
                (5, 8, 3, 3, 9, 0),
                (4, 12, 2, 3, 8, 1),
                (2, 8, 30, 28, 8, 1),
                (2, 8, 11, 13, 9, 1),
                (3, 10, 17, 8, 8, 0),
                (1, 8, 58, 56, 16, 1),
            ] {
                let g = Wino {
                    c_in: ci,
                    c_out: co,
                    h,
                    w,
                    p,
                    tile,
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
                let u = transform_kernel(&wt, co, ci, false, tile);
                // SAFETY: `y` has the output's size.
                unsafe { g.conv(n, &x, &u, SendPtr(y.as_mut_ptr())) };
                // Relative to the largest output: float32 rounding through the transforms
                // (F(4x4, 3x3)'s are larger: its points reach 2 and its products 8).
                let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
                let d = fastcandle_testutil::max_abs_diff(&y, &want) / scale;
                let tol = if tile == Tile::F2 { 5e-6 } else { 6e-5 };
                assert!(d < tol, "{tile:?} {:?}: {d}", (n, ci, h, w, co, p));
            }
        }
    }

    #[test]
    fn weight_gradient_equals_the_direct_sum() {
        // dW[k, c, a, d] = Σ dY[b, k, oy, ox] · x[b, c, oy + a - p, ox + d - p].
        for (tile, &(n, ci, h, w, co, p)) in [Tile::F2, Tile::F4].into_iter().flat_map(|t| {
            [
                (3, 8, 7, 9, 10, 1),
                (2, 9, 6, 5, 8, 0),
                (5, 8, 3, 4, 9, 2),
                (2, 8, 30, 29, 8, 1),
                (4, 16, 17, 16, 8, 1),
            ]
            .iter()
            .map(move |s| (t, s))
        }) {
            let g = Wino {
                c_in: ci,
                c_out: co,
                h,
                w,
                p,
                tile,
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
            // Relative to the largest cell: sums over the batch's tiles of float32 products.
            let scale = want.iter().fold(0f64, |m, v| m.max(v.abs()));
            let d = fastcandle_testutil::max_abs_diff_f64(&got, &want) / scale;
            let tol = if tile == Tile::F2 { 5e-6 } else { 5e-5 };
            assert!(d < tol, "{tile:?} {:?}: {d}", (n, ci, h, w, co, p));
        }
    }

    #[test]
    fn few_tiles_over_the_batch_stay_on_im2col() {
        // ResNet34's last stage at 128 pixels and batch 8: 4x4 planes, 2x2 tiles each.
        assert_eq!(fits((3, 3), 1, 1, (512, 512), (8, 4, 4)), None);
        // Its third stage there (8x8 planes), and the last stage at 224 (7x7).
        assert_eq!(fits((3, 3), 1, 1, (256, 256), (8, 8, 8)), Some(Tile::F2));
        assert_eq!(fits((3, 3), 1, 1, (512, 512), (8, 7, 7)), Some(Tile::F2));
        assert_eq!(fits((3, 3), 2, 1, (512, 512), (8, 7, 7)), None);
        // The first stages take the larger tile, down to 16x16 planes (128 pixels); at 224
        // pixels the third stage (14x14) stays on the smaller one.
        assert_eq!(fits((3, 3), 1, 1, (64, 64), (8, 56, 56)), Some(Tile::F4));
        assert_eq!(fits((3, 3), 1, 1, (128, 128), (8, 16, 16)), Some(Tile::F4));
        assert_eq!(fits((3, 3), 1, 1, (256, 256), (32, 14, 14)), Some(Tile::F2));
        // Not enough 4x4 blocks over the batch.
        assert_eq!(fits((3, 3), 1, 1, (64, 64), (1, 28, 28)), Some(Tile::F2));
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
        for tile in [Tile::F2, Tile::F4] {
            assert_eq!(
                transform_kernel(&wt, co, ci, true, tile).to_vec(),
                transform_kernel(&turned, ci, co, false, tile).to_vec()
            );
        }
    }
}
