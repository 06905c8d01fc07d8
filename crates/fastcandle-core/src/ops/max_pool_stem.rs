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

/// Per-thread scratch: the plane's rows split into even cells and odd cells, each row padded
/// with `-inf` to whole runs of [`LANES`] outputs.
#[derive(Default)]
pub(super) struct Split {
    even: Vec<f32>,
    /// Each row's odd cells after one `-inf`: `odd[r][j]` is cell `2j - 1` of row `r`.
    odd: Vec<f32>,
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
    let we = ow.next_multiple_of(LANES);
    let wo = we + 1;
    s.even.clear();
    s.even.resize(h * we, f32::NEG_INFINITY);
    s.odd.clear();
    s.odd.resize(h * wo, f32::NEG_INFINITY);
    for (r, row) in x.chunks_exact(w).enumerate() {
        let (even, odd) = (&mut s.even[r * we..][..ow], &mut s.odd[r * wo + 1..][..ow]);
        for (j, (e, o)) in even.iter_mut().zip(odd).enumerate() {
            *e = row[2 * j];
            *o = row.get(2 * j + 1).copied().unwrap_or(f32::NEG_INFINITY);
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
                let (yr, ar) = (&mut y[oy * ow..][..ow], &mut arg[oy * ow..][..ow]);
                for x0 in (0..ow).step_by(LANES) {
                    let n = LANES.min(ow - x0);
                    // The run's places stay in registers over the nine cells: storing them
                    // back after each cell stalls the next cell's loads.
                    let mut best = [f32::NEG_INFINITY; LANES];
                    // Where no cell takes the place, PyTorch keeps the first cell inside the plane.
                    let mut at = [3 * first as u32; LANES];
                    at[0] += u32::from(x0 == 0);
                    for dy in first..last {
                        let r = 2 * oy + dy - 1;
                        let even = &s.even[r * we + x0..][..LANES];
                        let odd = &s.odd[r * wo + x0..][..LANES + 1];
                        let k = 3 * dy as u32;
                        visit(&mut best, &mut at, &odd[..LANES], k);
                        visit(&mut best, &mut at, even, k + 1);
                        visit(&mut best, &mut at, &odd[1..], k + 2);
                    }
                    for i in 0..n {
                        let (ox, k) = (x0 + i, at[i] as usize);
                        yr[ox] = best[i];
                        // The window's cell (k / 3, k % 3) is input cell
                        // (2oy - 1 + k / 3, 2ox - 1 + k % 3).
                        ar[ox] = ((2 * oy + k / 3 - 1) * w + 2 * ox + k % 3 - 1) as u32;
                    }
                }
            }
        },
    )
}

/// Outputs pooled together, one AVX2 register of them.
const LANES: usize = 8;

/// One cell of every output's window: `v[ox]` takes the place of `best[ox]` when greater or
/// NaN, and `at[ox]` becomes `k`.
#[inline(always)]
fn visit(best: &mut [f32; LANES], at: &mut [u32; LANES], v: &[f32], k: u32) {
    let v: &[f32; LANES] = v.try_into().expect("a run of LANES cells");
    for i in 0..LANES {
        // Both comparisons, no short circuit: a branch would stop the lanes running together.
        let take = (v[i] > best[i]) | v[i].is_nan();
        best[i] = if take { v[i] } else { best[i] };
        at[i] = if take { k } else { at[i] };
    }
}
