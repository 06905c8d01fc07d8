//! fastai's `Recorder.plot_loss`: the smoothed training loss per iteration and the validation
//! loss at the end of each epoch, every fit of the recorder laid end to end.

use super::axes::{Axis, chart, min_max, padded};
use super::canvas::{AtPath, Canvas, plot_error, rgb, tab10};
use super::fits::{draw_fit_starts, finite_runs, fit_starts};
use super::legend::{Key, legend, trace_runs};
use crate::error::Result;
use fastcandle_train::callback::Recorder;
use plotters::prelude::*;
use std::path::Path;

/// fastai leaves the first iterations out (`skip_start=5`): the smoothed loss starts noisy.
const SKIP_START: usize = 5;

/// Draws the recorder's losses against the iterations (training batches) of all its fits, end
/// to end: the smoothed training loss ([`FitRecord::losses`]) as a line, its first 5 points
/// left out when there are more, and the validation loss (column `valid_loss` of
/// [`FitRecord::values`]) as dots joined by a line at the iteration where each epoch ends; a
/// dashed line marks where each fit after the first starts. NaN values are left out. Writes
/// an 800 x 500 PNG to `path`.
///
/// An error names the file when the recorder holds no loss.
///
/// [`FitRecord::losses`]: fastcandle_train::callback::FitRecord::losses
/// [`FitRecord::values`]: fastcandle_train::callback::FitRecord::values
pub fn plot_loss(rec: &Recorder, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let (starts, total) = fit_starts(rec);
    let skip = if total > SKIP_START { SKIP_START } else { 0 };
    let valid_col = rec
        .names
        .iter()
        .position(|n| n == "valid_loss")
        .unwrap_or(1);
    // The training line breaks where a fit starts: its smoothed loss starts afresh.
    let mut train = Vec::new();
    let mut valid = Vec::new();
    for (fit, &start) in rec.fits.iter().zip(&starts) {
        let n_iter = fit.losses.len();
        train.extend(finite_runs(fit.losses.iter().enumerate().filter_map(
            |(i, &l)| (start + i >= skip).then_some(((start + i) as f64, l as f64)),
        )));
        let n_epochs = fit.values.len();
        for (e, row) in fit.values.iter().enumerate() {
            // Where epoch `e` ends, as fastai's `Recorder.iters` (epochs of equal length).
            let end = start + ((e + 1) * n_iter + n_epochs / 2) / n_epochs;
            let loss = row.get(valid_col).copied().unwrap_or(f64::NAN);
            if end >= skip {
                valid.push((end as f64, loss));
            }
        }
    }
    let valid = finite_runs(valid);
    let (y_lo, y_hi) = min_max(train.iter().chain(&valid).flatten().map(|p| p.1));
    if !y_lo.is_finite() {
        return Err(plot_error(
            path,
            format!(
                "the recorder holds no finite loss to plot ({} fit(s), {total} training \
                 batch(es)); was it given to the learner, and did a fit run?",
                rec.fits.len()
            ),
        ));
    }
    let x_axis = Axis::linear(padded(0.0, total.max(1) as f64), 10);
    let y_axis = Axis::linear(padded(y_lo, y_hi), 8);

    let mut canvas = Canvas::new(800, 500);
    let (frame, data, new_fits) = {
        let root = canvas.area(path)?;
        let axes = ("Iterations", "Loss");
        let (mut chart, frame) = chart(&root, (x_axis, y_axis), axes, (16, 24), path)?;
        for run in &train {
            chart
                .draw_series(LineSeries::new(
                    run.iter().copied(),
                    rgb(tab10(0)).stroke_width(2),
                ))
                .at(path)?;
        }
        for run in &valid {
            chart
                .draw_series(LineSeries::new(
                    run.iter().copied(),
                    rgb(tab10(1)).stroke_width(2),
                ))
                .at(path)?;
        }
        let data = trace_runs(train.iter().chain(&valid), |p| chart.backend_coord(p));
        let new_fits: Vec<(i32, usize)> = starts
            .iter()
            .enumerate()
            .skip(1)
            .map(|(k, &s)| (chart.backend_coord(&(s as f64, y_lo)).0, k + 1))
            .collect();
        let dots: Vec<(i32, i32)> = valid
            .iter()
            .flatten()
            .map(|p| chart.backend_coord(p))
            .collect();
        (frame, (data, dots), new_fits)
    };
    let (data, dots) = data;
    frame.write(&mut canvas, path)?;
    draw_fit_starts(&mut canvas, &frame.plot, &new_fits, path)?;
    for &dot in &dots {
        canvas.disc(dot, 4.0, tab10(1));
    }
    let mut entries = Vec::new();
    if !train.is_empty() {
        entries.push(("train".to_string(), Key::Line(tab10(0))));
    }
    if !valid.is_empty() {
        entries.push(("valid".to_string(), Key::LineDot(tab10(1))));
    }
    legend(&mut canvas, &frame.plot, &entries, &data, path)?;
    canvas.save(path)
}
