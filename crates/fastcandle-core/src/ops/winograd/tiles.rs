//! The transforms of one plane, written once for both tiles: `Bᵀ d B` of the input's tiles,
//! `Aᵀ M A` of the products back to the output's blocks, and `G g Gᵀ` of the kernels.
//!
//! A tile `F(m x m, 3x3)` has `a = m + 2` cells a side and steps by `m`. Each transform runs on
//! lanes side by side in blocks of eight (then one by one), so that it becomes vector code: the
//! first side of `Bᵀ d B` with the columns of a tile row's input rows as lanes, the second, and
//! both sides of `Aᵀ M A`, with every tile of the plane as a lane. Rows of a few tiles (7x7
//! and 14x14 planes) would otherwise fall to one lane at a time.

use super::Wino;

/// A tile's points: its three matrices, each applied lane by lane.
pub(super) trait Points<const A: usize, const M: usize> {
    /// `Bᵀ d` of `A` values.
    fn bt<const W: usize>(d: &[[f32; W]; A]) -> [[f32; W]; A];
    /// `Aᵀ m` of `A` values.
    fn at<const W: usize>(m: &[[f32; W]; A]) -> [[f32; W]; M];
    /// `G g` of a kernel's three values.
    fn g<const W: usize>(g: &[[f32; W]; 3]) -> [[f32; W]; A];
    /// `A y` of an output block's `M` values (the output gradient's side of the weight
    /// gradient).
    fn a<const W: usize>(y: &[[f32; W]; M]) -> [[f32; W]; A];
    /// `Gᵀ u` of `A` values (back from the transformed kernels' gradient).
    fn gt<const W: usize>(u: &[[f32; W]; A]) -> [[f32; W]; 3];
}

/// `W` cells of `src` from `lo`, as an array.
#[inline(always)]
pub(super) fn load<const W: usize>(src: &[f32], lo: usize) -> [f32; W] {
    src[lo..][..W].try_into().unwrap()
}

/// `W` cells from `lo` of each of the `A` slices `src(k)`.
#[inline(always)]
fn load_all<'a, const A: usize, const W: usize>(
    src: impl Fn(usize) -> &'a [f32],
    lo: usize,
) -> [[f32; W]; A] {
    let mut d = [[0f32; W]; A];
    for (k, row) in d.iter_mut().enumerate() {
        *row = load(src(k), lo);
    }
    d
}

/// Writes `W` lanes to `dst`.
///
/// # Safety
/// `dst` must be valid for `W` writes.
#[inline(always)]
pub(super) unsafe fn store<const W: usize>(v: &[f32; W], dst: *mut f32) {
    // SAFETY: forwarded from the caller.
    unsafe { std::ptr::copy_nonoverlapping(v.as_ptr(), dst, W) }
}

/// Copies `ph[a·i + c][ty · tw + tx] = rt[i][m · tx + c]`: the `a` cells of each of the tile
/// row's `tw` tiles in the `rows` rows of `rt` (`[rows, wp]`), by tile, into `ph`
/// (`[rows · a, tiles]`). Each row is first split into its `m` phases (`split`, `[m, n]` with
/// `m · n <= wp` and `n >= tw + (a - 1) / m`), from which cell `c` of every tile is one run.
#[inline(always)]
pub(super) fn gather<const M: usize>(
    rt: &[f32],
    (rows, wp): (usize, usize),
    a: usize,
    (ty, tw, tiles): (usize, usize, usize),
    (split, n): (&mut [f32], usize),
    ph: &mut [f32],
) {
    for (i, r) in rt.chunks_exact(wp).take(rows).enumerate() {
        blocks!(n, |lo, W| {
            let s = &r[M * lo..][..M * W];
            for j in 0..W {
                for k in 0..M {
                    split[k * n + lo + j] = s[M * j + k];
                }
            }
        });
        for c in 0..a {
            ph[(a * i + c) * tiles + ty * tw..][..tw]
                .copy_from_slice(&split[(c % M) * n + c / M..][..tw]);
        }
    }
}

/// `Bᵀ d B` of every tile `d` of one input plane `x` (`[h, w]`, padded by `p` zeros): value
/// `ξ = a·i + j` of tile `t` (row-major over the tiles) goes to `dst[ξ · stride + t]`.
///
/// # Safety
/// `dst` must be valid for those writes.
#[inline(always)]
pub(super) unsafe fn tiles_in<const A: usize, const M: usize, P: Points<A, M>>(
    g: &Wino,
    x: &[f32],
    dst: *mut f32,
    stride: usize,
    buf: &mut Vec<f32>,
) {
    let (th, tw, h, w, p) = (g.th(), g.tw(), g.h, g.w, g.p);
    let tiles = th * tw;
    // A padded row holds every column the tiles read (m·tw + 2) and the input's (w + p is at
    // most m·tw + 2 - p), in whole phases.
    let n1 = tw + 1;
    let wp = M * n1;
    buf.resize(2 * A * wp + A * A * tiles + wp, 0.0);
    let (rows, rest) = buf.split_at_mut(A * wp);
    let (rt, rest) = rest.split_at_mut(A * wp);
    let (ph, split) = rest.split_at_mut(A * A * tiles);
    for ty in 0..th {
        for (r, row) in rows.chunks_exact_mut(wp).enumerate() {
            match (M * ty + r).checked_sub(p).filter(|&iy| iy < h) {
                Some(iy) => {
                    row[..p].fill(0.0);
                    row[p..p + w].copy_from_slice(&x[iy * w..][..w]);
                    row[p + w..].fill(0.0);
                }
                None => row.fill(0.0),
            }
        }
        // Bᵀ on the tile row's input rows, column by column.
        blocks!(wp, |lo, W| {
            let d: [[f32; W]; A] = load_all(|r| &rows[r * wp..], lo);
            for (i, o) in P::bt(&d).iter().enumerate() {
                rt[i * wp + lo..][..W].copy_from_slice(o);
            }
        });
        gather::<M>(rt, (A, wp), A, (ty, tw, tiles), (split, n1), ph);
    }
    // ... and B on the columns of every tile.
    for i in 0..A {
        blocks!(tiles, |lo, W| {
            let d: [[f32; W]; A] = load_all(|c| &ph[(A * i + c) * tiles..], lo);
            for (j, o) in P::bt(&d).iter().enumerate() {
                // SAFETY: forwarded from the caller.
                unsafe { store(o, dst.add((A * i + j) * stride + lo)) };
            }
        });
    }
}

/// Writes one output plane `y` (`[oh, ow]`, every cell) as `Aᵀ M A` of each tile's products,
/// value `ξ = a·i + j` of tile `t` read at `src[ξ · stride + t]`.
///
/// # Safety
/// `src` must be valid for those reads.
#[inline(always)]
pub(super) unsafe fn tiles_out<const A: usize, const M: usize, P: Points<A, M>>(
    g: &Wino,
    src: *const f32,
    stride: usize,
    y: &mut [f32],
    buf: &mut Vec<f32>,
) {
    let (th, tw, oh, ow) = (g.th(), g.tw(), g.oh(), g.ow());
    let tiles = th * tw;
    buf.resize(M * M * tiles, 0.0);
    // SAFETY: forwarded from the caller.
    let m = |xi: usize| unsafe { std::slice::from_raw_parts(src.add(xi * stride), tiles) };
    let q = &mut buf[..];
    blocks!(tiles, |lo, W| {
        // s = Aᵀ M ([m, a]), column by column, then Aᵀ M A ([m, m]), row by row.
        let mut s = [[[0f32; W]; A]; M];
        // `j` picks both a column of M and a column of s.
        #[allow(clippy::needless_range_loop)]
        for j in 0..A {
            let d: [[f32; W]; A] = load_all(|i| m(A * i + j), lo);
            for (a, o) in P::at(&d).into_iter().enumerate() {
                s[a][j] = o;
            }
        }
        for (a, sa) in s.iter().enumerate() {
            for (b, o) in P::at(sa).iter().enumerate() {
                q[(M * a + b) * tiles + lo..][..W].copy_from_slice(o);
            }
        }
    });
    // Each block into its place.
    let full = ow / M;
    for ty in 0..th {
        for a in 0..M.min(oh - M * ty) {
            let row = &mut y[(M * ty + a) * ow..][..ow];
            let qa: [&[f32]; M] =
                std::array::from_fn(|b| &q[(M * a + b) * tiles + ty * tw..][..tw]);
            for (tx, cells) in row.chunks_exact_mut(M).enumerate() {
                for (b, cell) in cells.iter_mut().enumerate() {
                    *cell = qa[b][tx];
                }
            }
            for (b, cell) in row[M * full..].iter_mut().enumerate() {
                *cell = qa[b][full];
            }
        }
    }
}

/// `G g Gᵀ` of the `n` kernels `src[q · step..][..9]` (turned by 180 degrees when `flip`),
/// value `ξ = a·i + j` written to `dst[ξ · plane + q]`.
///
/// # Safety
/// `dst` must be valid for those writes.
#[inline(always)]
pub(super) unsafe fn kernel_row<const A: usize, const M: usize, P: Points<A, M>>(
    src: &[f32],
    step: usize,
    n: usize,
    flip: bool,
    dst: *mut f32,
    plane: usize,
) {
    blocks!(n, |lo, W| {
        let mut g = [[0f32; W]; 9];
        for l in 0..W {
            let k = &src[(lo + l) * step..][..9];
            for j in 0..9 {
                g[if flip { 8 - j } else { j }][l] = k[j];
            }
        }
        // t = G g ([a, 3]), column by column, then u = t Gᵀ ([a, a]), row by row.
        let mut t = [[[0f32; W]; 3]; A];
        for c in 0..3 {
            for (i, v) in P::g(&[g[c], g[3 + c], g[6 + c]]).into_iter().enumerate() {
                t[i][c] = v;
            }
        }
        for (i, ti) in t.iter().enumerate() {
            for (j, v) in P::g(ti).iter().enumerate() {
                // SAFETY: forwarded from the caller.
                unsafe { store(v, dst.add((A * i + j) * plane + lo)) };
            }
        }
    });
}

/// `A dY Aᵀ` of every block `dY` of one output-gradient plane `dy` (`[oh, ow]`, zeros beyond
/// its edges): value `ξ = a·i + j` of block `t` goes to `dst[ξ · stride + t]`. As
/// [`tiles_in`]: the rows with the columns as lanes, then the columns with every block of the
/// plane as a lane.
///
/// # Safety
/// `dst` must be valid for those writes.
#[inline(always)]
pub(super) unsafe fn tiles_grad<const A: usize, const M: usize, P: Points<A, M>>(
    g: &Wino,
    dy: &[f32],
    dst: *mut f32,
    stride: usize,
    buf: &mut Vec<f32>,
) {
    let (th, tw, oh, ow) = (g.th(), g.tw(), g.oh(), g.ow());
    let tiles = th * tw;
    let wp = M * tw;
    buf.resize((M + A + 1) * wp + A * M * tiles, 0.0);
    let (rows, rest) = buf.split_at_mut(M * wp);
    let (rt, rest) = rest.split_at_mut(A * wp);
    let (ph, split) = rest.split_at_mut(A * M * tiles);
    for ty in 0..th {
        for (r, row) in rows.chunks_exact_mut(wp).enumerate() {
            let oy = M * ty + r;
            if oy < oh {
                row[..ow].copy_from_slice(&dy[oy * ow..][..ow]);
                row[ow..].fill(0.0);
            } else {
                row.fill(0.0);
            }
        }
        blocks!(wp, |lo, W| {
            let d: [[f32; W]; M] = load_all(|r| &rows[r * wp..], lo);
            for (i, o) in P::a(&d).iter().enumerate() {
                rt[i * wp + lo..][..W].copy_from_slice(o);
            }
        });
        gather::<M>(rt, (A, wp), M, (ty, tw, tiles), (split, tw), ph);
    }
    for i in 0..A {
        blocks!(tiles, |lo, W| {
            let d: [[f32; W]; M] = load_all(|c| &ph[(M * i + c) * tiles..], lo);
            for (j, o) in P::a(&d).iter().enumerate() {
                // SAFETY: forwarded from the caller.
                unsafe { store(o, dst.add((A * i + j) * stride + lo)) };
            }
        });
    }
}

/// `Gᵀ dU G` of the kernels `at..at + dw.len() / 9` (written to `dw`, `[kernels, 3, 3]`), value
/// `ξ = a·i + j` of each kernel's transformed gradient read at `du[ξ · plane + kernel]`.
#[inline(always)]
pub(super) fn kernel_grad_row<const A: usize, const M: usize, P: Points<A, M>>(
    du: &[f32],
    plane: usize,
    at: usize,
    dw: &mut [f32],
) {
    blocks!(dw.len() / 9, |lo, W| {
        // t = Gᵀ dU ([3, a]), column by column, then g = t G ([3, 3]), row by row.
        let mut t = [[[0f32; W]; A]; 3];
        for c in 0..A {
            let d: [[f32; W]; A] = load_all(|i| &du[(A * i + c) * plane + at..], lo);
            for (r, v) in P::gt(&d).into_iter().enumerate() {
                t[r][c] = v;
            }
        }
        let out = &mut dw[9 * lo..][..9 * W];
        for (r, tr) in t.iter().enumerate() {
            for (q, v) in P::gt(tr).iter().enumerate() {
                for (l, x) in v.iter().enumerate() {
                    out[9 * l + 3 * r + q] = *x;
                }
            }
        }
    });
}
