//! fastai's pictures of [`ActivationStats`]: `plot_layer_stats` (a layer's mean, standard
//! deviation and share of near-zero activations over the training batches) and `color_dim`
//! (its histograms over time, fastbook chapter 13's "colorful dimension").

use super::axes::{Axis, chart, min_max, padded};
use super::canvas::{AtPath, Canvas, INK, LABEL, TICK, TITLE, plot_error, rgb, tab10};
use crate::error::Result;
use fastcandle_train::callback::{ActivationStats, HIST_MAX, HIST_MIN};
use plotters::prelude::*;
use std::path::Path;

/// The panels' width in [`plot_layer_stats`].
const PANEL: u32 = 420;

/// fastai's `plot_layer_stats(idx)`: three panels side by side, the mean, the standard
/// deviation and the percentage of near-zero activations (`<= 0.05`) of `layer`'s output
/// against the training batches of the last fit, under a title naming the layer. Writes a
/// 1260 x 420 PNG to `path`.
///
/// An error names the file when no training batch was recorded or `layer` was not hooked
/// (listing those that were).
pub fn plot_layer_stats(
    stats: &ActivationStats,
    layer: &str,
    path: impl AsRef<Path>,
) -> Result<()> {
    let path = path.as_ref();
    let [means, stds, nears] = layer_stats(stats, layer, path)?;
    let nears: Vec<f32> = nears.iter().map(|v| v * 100.0).collect();
    let series = [
        ("Mean", &means, None),
        ("Std", &stds, None),
        ("% near zero", &nears, Some((0.0, 100.0))),
    ];
    let mut canvas = Canvas::new(3 * PANEL, 420);
    let frames = {
        let root = canvas.area(path)?;
        let (left, rest) = root.split_horizontally(PANEL);
        let (middle, right) = rest.split_horizontally(PANEL);
        let mut frames = Vec::new();
        for (area, (i, (_, values, fixed))) in
            [left, middle, right].iter().zip(series.iter().enumerate())
        {
            let points: Vec<(f64, f64)> = values
                .iter()
                .enumerate()
                .filter(|(_, v)| v.is_finite())
                .map(|(b, &v)| (b as f64, v as f64))
                .collect();
            let (lo, hi) = match fixed {
                Some(range) => *range,
                None => min_max(points.iter().map(|p| p.1)),
            };
            let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
            let x_axis = Axis::linear(padded(0.0, (values.len().max(2) - 1) as f64), 6);
            let y_axis = Axis::linear(padded(lo, hi), 7);
            let (mut chart, frame) =
                chart(area, (x_axis, y_axis), ("Batches", ""), (70, 20), path)?;
            chart
                .draw_series(LineSeries::new(points, rgb(tab10(i)).stroke_width(2)))
                .at(path)?;
            frames.push(frame);
        }
        frames
    };
    canvas.write_centred(
        TITLE,
        &format!("Activations of `{layer}` over {} batches", means.len()),
        (3 * PANEL as i32 / 2, 8),
        INK,
        path,
    )?;
    for (frame, (title, _, _)) in frames.iter().zip(&series) {
        frame.write(&mut canvas, path)?;
        let centre = (frame.plot.0.start + frame.plot.0.end) / 2;
        canvas.write_centred(LABEL, title, (centre, 42), INK, path)?;
    }
    canvas.save(path)
}

/// fastai's `color_dim(idx)`, the "colorful dimension": `layer`'s histograms (40 bins over
/// `[0, 10]`) of every training batch as an image, one column per batch from left to right,
/// one row per bin with bin 0 at the bottom, coloured by `log(1 + count)` on a viridis scale
/// from the smallest value (dark blue) to the largest (yellow), with a colour bar. Writes a
/// 1000 x 500 PNG to `path`.
///
/// An error names the file when no training batch was recorded, `layer` was not hooked
/// (listing those that were), or the histograms were not recorded
/// ([`ActivationStats::with_hist`]).
pub fn color_dim(stats: &ActivationStats, layer: &str, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    layer_stats(stats, layer, path)?;
    let hists = stats.hist(layer).unwrap_or_default();
    if hists.iter().any(Vec::is_empty) {
        return Err(plot_error(
            path,
            "no histogram was recorded: make the callback with ActivationStats::new()\
             .with_hist(true)",
        ));
    }
    let cells: Vec<Vec<f64>> = hists
        .iter()
        .map(|h| h.iter().map(|&c| (c as f64).ln_1p()).collect())
        .collect();
    let (lo, hi) = min_max(cells.iter().flatten().copied().filter(|v| v.is_finite()));
    let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
    let n = cells.len();
    let bins = cells[0].len();
    let bar_room = 120;
    let mut canvas = Canvas::new(1000, 500);
    let (frame, rects) = {
        let root = canvas.area(path)?;
        // The ends widened by a hair, so that their ticks (the last batch, 10) are labelled.
        let x_axis = Axis::linear(0.0..n as f64 + 1e-9, 10);
        let y_axis = Axis::linear(HIST_MIN as f64..HIST_MAX as f64 + 1e-9, 10);
        let axes = ("Batches", "Activation value (histogram bins)");
        let (chart, frame) = chart(&root, (x_axis, y_axis), axes, (48, bar_room), path)?;
        let step = (HIST_MAX - HIST_MIN) as f64 / bins as f64;
        let mut rects = Vec::with_capacity(n * bins);
        for (b, col) in cells.iter().enumerate() {
            for (k, &v) in col.iter().enumerate() {
                let y0 = HIST_MIN as f64 + k as f64 * step;
                let (x0, py0) = chart.backend_coord(&(b as f64, y0));
                let (x1, py1) = chart.backend_coord(&((b + 1) as f64, y0 + step));
                let t = if hi > lo { (v - lo) / (hi - lo) } else { 0.0 };
                rects.push((
                    (x0, py1),
                    ((x1 - x0).max(1) as u32, (py0 - py1).max(1) as u32),
                    viridis(t),
                ));
            }
        }
        (frame, rects)
    };
    for (at, size, colour) in rects {
        canvas.fill(at, size, colour);
    }
    frame.write(&mut canvas, path)?;
    let (xs, ys) = (&frame.plot.0, &frame.plot.1);
    canvas.write_centred(
        TITLE,
        &format!("Histograms of `{layer}` over training (log(1 + count))"),
        ((xs.start + xs.end) / 2, 12),
        INK,
        path,
    )?;
    colour_bar(&mut canvas, xs.end + 24, ys.clone(), (lo, hi), path)?;
    canvas.save(path)
}

/// A vertical colour bar from `lo` (bottom) to `hi` (top) at column `x` over the rows `ys`,
/// its ends labelled.
fn colour_bar(
    canvas: &mut Canvas,
    x: i32,
    ys: std::ops::Range<i32>,
    (lo, hi): (f64, f64),
    path: &Path,
) -> Result<()> {
    let h = (ys.end - ys.start).max(1);
    for r in 0..h {
        let t = 1.0 - r as f64 / (h - 1).max(1) as f64;
        canvas.fill((x, ys.start + r), (18, 1), viridis(t));
    }
    canvas.frame((x, ys.start), (18, h as u32), [40, 40, 40]);
    let line = TICK.line_height() as i32;
    let steps = 4;
    for s in 0..=steps {
        let t = s as f64 / steps as f64;
        let y = ys.end - 1 - (t * (h - 1) as f64).round() as i32;
        canvas.fill((x + 18, y), (4, 1), [40, 40, 40]);
        let v = lo + t * (hi - lo);
        canvas.write(TICK, &format!("{v:.1}"), (x + 26, y - line / 2), INK, path)?;
    }
    Ok(())
}

/// matplotlib's viridis at `t` in `[0, 1]`, interpolated between 9 of its colours.
fn viridis(t: f64) -> [u8; 3] {
    const STOPS: [[f64; 3]; 9] = [
        [68.0, 1.0, 84.0],
        [71.0, 44.0, 122.0],
        [59.0, 81.0, 139.0],
        [44.0, 113.0, 142.0],
        [33.0, 144.0, 141.0],
        [39.0, 173.0, 129.0],
        [92.0, 200.0, 99.0],
        [170.0, 220.0, 50.0],
        [253.0, 231.0, 37.0],
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = t * (STOPS.len() - 1) as f64;
    let i = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - i as f64;
    let mut c = [0u8; 3];
    for (k, v) in c.iter_mut().enumerate() {
        *v = (STOPS[i][k] * (1.0 - f) + STOPS[i + 1][k] * f).round() as u8;
    }
    c
}

/// The layer's series, or an error naming the file when there is none.
fn layer_stats(stats: &ActivationStats, layer: &str, path: &Path) -> Result<[Vec<f32>; 3]> {
    let Some(series) = stats.layer_stats(layer) else {
        return Err(plot_error(
            path,
            if stats.names.is_empty() {
                format!("no layer `{layer}`: the callback hooked no layer (did a fit run?)")
            } else {
                format!(
                    "no layer `{layer}`; the callback hooked {}",
                    stats.names.join(", ")
                )
            },
        ));
    };
    if series[0].is_empty() {
        return Err(plot_error(
            path,
            format!("no training batch of `{layer}` was recorded; did a fit run?"),
        ));
    }
    Ok(series)
}

#[cfg(test)]
mod tests {
    use super::viridis;

    #[test]
    fn viridis_runs_from_purple_to_yellow() {
        assert_eq!(viridis(0.0), [68, 1, 84]);
        assert_eq!(viridis(1.0), [253, 231, 37]);
        assert_eq!(viridis(f64::NAN), [68, 1, 84]);
    }
}
