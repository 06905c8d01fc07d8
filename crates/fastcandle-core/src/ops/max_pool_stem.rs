//! ResNet's stem pooling (kernel 3, stride 2, padding 1) on one plane, eight outputs at a time.
//!
//! Each input row is first split into its even cells and its odd cells, so that the three
//! columns of every output's window (`2x - 1`, `2x`, `2x + 1`) are three contiguous runs. The
//! nine cells of a window are then visited in PyTorch's order (rows in order, cells in order
//! within a row) with its rule, a cell takes the place when it is greater or NaN, as selects
//! over whole runs of outputs instead of one branch per cell.

use super::simd::fast;

/// Whether a pooling is the one this file computes.
pub(super) fn applies(kernel: usize, stride: usize, padding: usize) -> bool {
    (kernel, stride, padding) == (3, 2, 1)
}

/// Per-thread scratch: the plane's rows split into even cells and odd cells.
#[derive(Default)]
pub(super) struct Split {
    even: Vec<f32>,
    /// Each row's odd cells after one `-inf`: `odd[r][j]` is cell `2j - 1` of row `r`.
    odd: Vec<f32>,
    best: Vec<f32>,
    at: Vec<u32>,
}

/// Pools plane `x` (`h`×`w`) into `y` (`oh`×`ow`), with `arg` the index within the plane of
/// each output's first maximum (or NaN).
pub(super) fn pool_plane(
    x: &[f32],
    (h, w): (usize, usize),
    y: &mut [f32],
    arg: &mut [u32],
    s: &mut Split,
) {
    let (oh, ow) = ((h - 1) / 2 + 1, (w - 1) / 2 + 1);
    debug_assert_eq!((y.len(), arg.len()), (oh * ow, oh * ow));
    let wo = ow + 1;
    s.even.resize(h * ow, 0.0);
    s.odd.resize(h * wo, 0.0);
    s.best.resize(ow, 0.0);
    s.at.resize(ow, 0);
    for (r, row) in x.chunks_exact(w).enumerate() {
        let (even, odd) = (&mut s.even[r * ow..][..ow], &mut s.odd[r * wo..][..wo]);
        odd[0] = f32::NEG_INFINITY;
        for j in 0..ow {
            even[j] = row[2 * j];
            odd[j + 1] = row.get(2 * j + 1).copied().unwrap_or(f32::NEG_INFINITY);
        }
    }
    fast(
        #[inline(always)]
        || {
            for oy in 0..oh {
                // Window row `dy` is input row `2oy - 1 + dy`; rows outside the plane are skipped
                // (their cells are padding, which never takes the place).
                let first = usize::from(oy == 0);
                let last = (2 * oy + 3).min(h + 1) - 2 * oy;
                let (best, at) = (&mut s.best[..ow], &mut s.at[..ow]);
                for (ox, (b, a)) in best.iter_mut().zip(at.iter_mut()).enumerate() {
                    // Where no cell takes the place, PyTorch keeps the first cell inside the plane.
                    *b = f32::NEG_INFINITY;
                    *a = (3 * first + usize::from(ox == 0)) as u32;
                }
                for dy in first..last {
                    let r = 2 * oy + dy - 1;
                    let even = &s.even[r * ow..][..ow];
                    let odd = &s.odd[r * wo..][..wo];
                    let k = 3 * dy as u32;
                    visit(best, at, &odd[..ow], k);
                    visit(best, at, even, k + 1);
                    visit(best, at, &odd[1..], k + 2);
                }
                let (yr, ar) = (&mut y[oy * ow..][..ow], &mut arg[oy * ow..][..ow]);
                for ox in 0..ow {
                    let k = at[ox] as usize;
                    yr[ox] = best[ox];
                    // The window's cell (k / 3, k % 3) is input cell (2oy - 1 + k / 3, 2ox - 1 + k % 3).
                    ar[ox] = ((2 * oy + k / 3 - 1) * w + 2 * ox + k % 3 - 1) as u32;
                }
            }
        },
    )
}

/// One cell of every output's window: `v[ox]` takes the place of `best[ox]` when greater or
/// NaN, and `at[ox]` becomes `k`.
#[inline(always)]
fn visit(best: &mut [f32], at: &mut [u32], v: &[f32], k: u32) {
    for ((b, a), &v) in best.iter_mut().zip(at.iter_mut()).zip(v) {
        let take = v > *b || v.is_nan();
        *b = if take { v } else { *b };
        *a = if take { k } else { *a };
    }
}
