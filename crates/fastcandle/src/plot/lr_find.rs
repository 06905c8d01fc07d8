//! fastai's `plot_lr_find`: the finder's smoothed loss against the learning rate on a log
//! scale, with each suggestion marked on the curve.

use super::axes::{Axis, chart, min_max, padded, sci};
use super::canvas::{AtPath, Canvas, plot_error, rgb, tab10};
use super::legend::{Key, legend, trace};
use crate::error::Result;
use fastcandle_train::LrSuggestion;
use plotters::prelude::*;
use std::path::Path;

/// fastai leaves the last points out (`skip_end=5`): the loss has blown up there.
const SKIP_END: usize = 5;

/// Draws the finder's curve ([`LrSuggestion::lrs`] against [`LrSuggestion::losses`], the last
/// 5 points and non-finite losses left out) with the learning rate on a log scale, each of its
/// suggestions ([`LrSuggestion::named`]) a coloured dot on the curve named in the legend
/// (`valley: 1.45e-03`), and writes it to `path` as an 800 x 500 PNG.
///
/// An error names the file when no point is left to draw.
pub fn plot_lr_find(s: &LrSuggestion, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let n = s.lrs.len().min(s.losses.len());
    let mut curve: Vec<(f64, f64)> = (0..n.saturating_sub(SKIP_END))
        .filter(|&i| s.lrs[i] > 0.0 && s.lrs[i].is_finite() && s.losses[i].is_finite())
        .map(|i| (s.lrs[i].log10(), s.losses[i] as f64))
        .collect();
    if curve.is_empty() {
        return Err(plot_error(
            path,
            format!(
                "the learning-rate finder's curve has {n} point(s) and none to draw (the last \
                 {SKIP_END} are left out, as are non-finite losses and rates)"
            ),
        ));
    }
    curve.sort_by(|a, b| a.0.total_cmp(&b.0));
    let marks: Vec<(String, f64, f64)> = s
        .named()
        .into_iter()
        .filter(|(_, lr)| *lr > 0.0 && lr.is_finite())
        .map(|(name, lr)| {
            (
                format!("{name}: {}", sci(lr)),
                lr.log10(),
                at(&curve, lr.log10()),
            )
        })
        .collect();

    let (x_lo, x_hi) = min_max(curve.iter().map(|p| p.0).chain(marks.iter().map(|m| m.1)));
    let (y_lo, y_hi) = min_max(curve.iter().map(|p| p.1));
    let x_range = padded(x_lo, x_hi);
    let (x_ticks, x_minor) = decades(&x_range);
    let x_axis = Axis::new(x_range, x_ticks, x_minor, decade_label);
    let y_axis = Axis::linear(padded(y_lo, y_hi), 8);

    let mut canvas = Canvas::new(800, 500);
    let (frame, data, dots) = {
        let root = canvas.area(path)?;
        let axes = ("Learning Rate", "Loss");
        let (mut chart, frame) = chart(&root, (x_axis, y_axis), axes, (16, 24), path)?;
        chart
            .draw_series(LineSeries::new(
                curve.iter().copied(),
                rgb(tab10(0)).stroke_width(2),
            ))
            .at(path)?;
        let line: Vec<(i32, i32)> = curve.iter().map(|p| chart.backend_coord(p)).collect();
        let dots: Vec<(i32, i32)> = marks
            .iter()
            .map(|m| chart.backend_coord(&(m.1, m.2)))
            .collect();
        (frame, trace(&line), dots)
    };
    frame.write(&mut canvas, path)?;
    for (k, &dot) in dots.iter().enumerate() {
        canvas.disc(dot, 6.0, tab10(k + 1));
    }
    let entries: Vec<(String, Key)> = marks
        .iter()
        .enumerate()
        .map(|(k, m)| (m.0.clone(), Key::Dot(tab10(k + 1))))
        .collect();
    let hidden: Vec<(i32, i32)> = data.into_iter().chain(dots).collect();
    legend(&mut canvas, &frame.plot, &entries, &hidden, path)?;
    canvas.save(path)
}

/// The loss on `curve` (points sorted by x) at `x`, interpolated linearly; the nearest end's
/// outside the curve.
fn at(curve: &[(f64, f64)], x: f64) -> f64 {
    match curve.iter().position(|p| p.0 >= x) {
        None => curve[curve.len() - 1].1,
        Some(0) => curve[0].1,
        Some(i) => {
            let ((x0, y0), (x1, y1)) = (curve[i - 1], curve[i]);
            if x1 > x0 {
                y0 + (y1 - y0) * (x - x0) / (x1 - x0)
            } else {
                y1
            }
        }
    }
}

/// Ticks at the powers of ten within `range` (of log10 rates), and the minor ticks (2 to 9
/// times each power); on a range within one decade, ticks at 1 to 9 times its power.
fn decades(range: &std::ops::Range<f64>) -> (Vec<f64>, Vec<f64>) {
    let (lo, hi) = (range.start.floor() as i32, range.end.ceil() as i32);
    let inside = |v: &f64| range.contains(v);
    let majors: Vec<f64> = (lo..=hi).map(f64::from).filter(inside).collect();
    let minors: Vec<f64> = (lo..=hi)
        .flat_map(|e| (2..10).map(move |m| f64::from(e) + f64::from(m).log10()))
        .filter(inside)
        .collect();
    if majors.len() >= 2 {
        (majors, minors)
    } else {
        let all = (lo..=hi)
            .flat_map(|e| (1..10).map(move |m| f64::from(e) + f64::from(m).log10()))
            .filter(inside)
            .collect();
        (all, Vec::new())
    }
}

/// The label of the log10 rate `v`: `1e-6` at a power of ten, else `2e-6`.
fn decade_label(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("1e{}", v.round() as i32)
    } else {
        format!("{:.0e}", 10f64.powf(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_sit_on_the_curve_and_ticks_on_decades() {
        let curve = [(-3.0, 1.0), (-2.0, 3.0), (-1.0, 2.0)];
        assert_eq!(at(&curve, -2.5), 2.0);
        assert_eq!(at(&curve, -5.0), 1.0);
        assert_eq!(at(&curve, 0.0), 2.0);
        let (majors, minors) = decades(&(-6.5..-1.2));
        assert_eq!(majors, [-6.0, -5.0, -4.0, -3.0, -2.0]);
        // 4e-7 to 9e-7, 2 to 9 times 1e-6 ... 1e-3, then 2e-2 to 6e-2 (log10 6e-2 < -1.2).
        assert_eq!(minors.len(), 6 + 8 * 4 + 5);
        assert_eq!(decade_label(-6.0), "1e-6");
        assert_eq!(decade_label(2f64.log10() - 3.0), "2e-3");
        let (few, _) = decades(&(-2.9..-2.1));
        // 2e-3 to 7e-3.
        assert_eq!(few.len(), 6);
    }
}
