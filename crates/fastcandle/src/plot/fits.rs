//! A [`Recorder`]'s fits laid end to end on one iteration axis (fastai plots one fit; a
//! `fine_tune` is two, frozen then unfrozen), with a dashed line where each new fit starts.

use super::canvas::{Canvas, GREY, TICK};
use crate::error::Result;
use fastcandle_train::callback::Recorder;
use std::ops::Range;
use std::path::Path;

/// The iteration (training batch) at which each fit starts, and the number of iterations in
/// all.
pub(crate) fn fit_starts(rec: &Recorder) -> (Vec<usize>, usize) {
    let mut starts = Vec::with_capacity(rec.fits.len());
    let mut total = 0;
    for fit in &rec.fits {
        starts.push(total);
        total += fit.losses.len().max(fit.lrs.len());
    }
    (starts, total)
}

/// The runs of finite points of `points`: a line breaks where a value is NaN or infinite.
pub(crate) fn finite_runs(points: impl IntoIterator<Item = (f64, f64)>) -> Vec<Vec<(f64, f64)>> {
    let mut runs = vec![Vec::new()];
    for (x, y) in points {
        if y.is_finite() {
            runs.last_mut().expect("one run at least").push((x, y));
        } else if !runs.last().is_some_and(Vec::is_empty) {
            runs.push(Vec::new());
        }
    }
    runs.retain(|r| !r.is_empty());
    runs
}

/// Draws a dashed grey line down the plotting area `plot` (pixel columns, rows) at each
/// pixel column of `starts`, the start of fit `k` (counted from 1), labelled `fit k`.
pub(crate) fn draw_fit_starts(
    canvas: &mut Canvas,
    plot: &(Range<i32>, Range<i32>),
    starts: &[(i32, usize)],
    path: &Path,
) -> Result<()> {
    for &(x, k) in starts {
        if !plot.0.contains(&x) {
            continue;
        }
        canvas.dashed_vline(x, (plot.1.start, plot.1.end), GREY);
        canvas.write(
            TICK,
            &format!("fit {k}"),
            (x + 5, plot.1.start + 3),
            GREY,
            path,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_break_at_nan() {
        let pts = [
            (0.0, 1.0),
            (1.0, f64::NAN),
            (2.0, 2.0),
            (3.0, 3.0),
            (4.0, f64::NAN),
        ];
        assert_eq!(
            finite_runs(pts),
            vec![vec![(0.0, 1.0)], vec![(2.0, 2.0), (3.0, 3.0)]]
        );
        assert!(finite_runs([(0.0, f64::NAN)]).is_empty());
    }
}
