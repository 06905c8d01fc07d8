//! The axes of the line charts: an [`Axis`] with the ticks we choose (plotters' `WithKeyPoints`
//! cannot format `f64` values), a chart whose grid and lines plotters draws, and the tick
//! labels, axis labels and frame that we write after it ([`Frame`]) in the embedded font.

use super::canvas::{Area, AtPath, Canvas, INK, LABEL, TICK};
use crate::error::Result;
use plotters::backend::{BitMapBackend, RGBPixel};
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use std::ops::Range;
use std::path::Path;

/// A chart on a [`Canvas`] with two [`Axis`].
pub(crate) type Chart<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b, RGBPixel>, Cartesian2d<Axis, Axis>>;

/// A linear axis over `range`: labelled ticks with bold grid lines at `major`, light grid lines
/// at `minor`.
#[derive(Debug, Clone)]
pub(crate) struct Axis {
    range: Range<f64>,
    major: Vec<f64>,
    minor: Vec<f64>,
    labels: Vec<String>,
}

impl Axis {
    /// An axis over `range`, ticks at `major` labelled by `label`, light lines at `minor`.
    pub(crate) fn new(
        range: Range<f64>,
        major: Vec<f64>,
        minor: Vec<f64>,
        label: impl Fn(f64) -> String,
    ) -> Self {
        let major: Vec<f64> = major.into_iter().filter(|v| range.contains(v)).collect();
        let labels = major.iter().map(|&v| label(v)).collect();
        Self {
            range,
            major,
            minor,
            labels,
        }
    }

    /// An axis over `range` with about `max` round-numbered ticks (plotters' choice).
    pub(crate) fn linear(range: Range<f64>, max: usize) -> Self {
        let (ticks, step) = linear_ticks(&range, max);
        Self::new(range, ticks, Vec::new(), |v| tick_label(v, step))
    }
}

impl Ranged for Axis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        RangedCoordf64::from(self.range.clone()).map(value, limit)
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.minor.clone()
        } else {
            self.major.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.range.clone()
    }
}

/// Where a chart's text goes, in pixels: the plotting area (x range, y range), each tick
/// (pixel and label) and the axis labels.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    /// The plotting area: columns, rows.
    pub(crate) plot: (Range<i32>, Range<i32>),
    x_ticks: Vec<(i32, String)>,
    y_ticks: Vec<(i32, String)>,
    x_desc: String,
    y_desc: String,
}

/// Space between an axis and its tick labels (the tick marks are 5 pixels).
const TICK_GAP: i32 = 9;

/// Builds a chart of `x` against `y` on `area` (a part of the canvas) with `top` and `right`
/// pixels of margin, room left and below for the tick labels and the axis labels `x_desc`
/// and `y_desc` (empty for none), and draws its grid and axes; the text comes after, from
/// the returned [`Frame`] ([`Frame::write`]).
pub(crate) fn chart<'a, 'b>(
    area: &'a Area<'b>,
    (x, y): (Axis, Axis),
    (x_desc, y_desc): (&str, &str),
    (top, right): (u32, u32),
    path: &Path,
) -> Result<(Chart<'a, 'b>, Frame)> {
    let y_labels_w = y.labels.iter().map(|s| TICK.width(s)).max().unwrap_or(0);
    let desc_w = if y_desc.is_empty() {
        0
    } else {
        LABEL.line_height() + 10
    };
    let left = TICK_GAP as u32 + y_labels_w + 8 + desc_w;
    let desc_h = if x_desc.is_empty() {
        0
    } else {
        LABEL.line_height() + 6
    };
    let bottom = TICK_GAP as u32 + TICK.line_height() + 6 + desc_h;
    let (x_labels, y_labels) = (x.labels.clone(), y.labels.clone());
    let (x_major, y_major) = (x.major.clone(), y.major.clone());
    let (x_lo, y_lo) = (x.range.start, y.range.start);
    let mut chart = ChartBuilder::on(area)
        .margin_top(top)
        .margin_right(right)
        .margin_left(10)
        .margin_bottom(10)
        .x_label_area_size(bottom)
        .y_label_area_size(left)
        .build_cartesian_2d(x, y)
        .at(path)?;
    chart
        .configure_mesh()
        .x_label_formatter(&|_| String::new())
        .y_label_formatter(&|_| String::new())
        // Plotters' own (empty) labels still need a font it knows.
        .label_style(TICK.desc())
        .axis_desc_style(LABEL.desc())
        .bold_line_style(RGBColor(224, 224, 224))
        .light_line_style(RGBColor(242, 242, 242))
        .axis_style(RGBColor(40, 40, 40))
        .draw()
        .at(path)?;
    let plot = chart.plotting_area().get_pixel_range();
    let frame = Frame {
        plot,
        x_ticks: x_major
            .iter()
            .map(|&v| chart.backend_coord(&(v, y_lo)).0)
            .zip(x_labels)
            .collect(),
        y_ticks: y_major
            .iter()
            .map(|&v| chart.backend_coord(&(x_lo, v)).1)
            .zip(y_labels)
            .collect(),
        x_desc: x_desc.to_string(),
        y_desc: y_desc.to_string(),
    };
    Ok((chart, frame))
}

impl Frame {
    /// Writes the tick labels and the axis labels, and closes the plotting area's box (as
    /// matplotlib's four spines).
    pub(crate) fn write(&self, canvas: &mut Canvas, path: &Path) -> Result<()> {
        let (xs, ys) = (&self.plot.0, &self.plot.1);
        canvas.frame(
            (xs.start, ys.start),
            ((xs.end - xs.start) as u32, (ys.end - ys.start) as u32),
            [40, 40, 40],
        );
        let below = ys.end + TICK_GAP;
        for (x, s) in &self.x_ticks {
            canvas.write_centred(TICK, s, (*x, below), INK, path)?;
        }
        let line = TICK.line_height() as i32;
        let mut widest = 0;
        for (y, s) in &self.y_ticks {
            let w = TICK.width(s) as i32;
            widest = widest.max(w);
            canvas.write(TICK, s, (xs.start - TICK_GAP - w, y - line / 2), INK, path)?;
        }
        if !self.x_desc.is_empty() {
            let centre = (xs.start + xs.end) / 2;
            canvas.write_centred(LABEL, &self.x_desc, (centre, below + line + 6), INK, path)?;
        }
        if !self.y_desc.is_empty() {
            let x = xs.start - TICK_GAP - widest - 8 - LABEL.line_height() as i32;
            let y = (ys.start + ys.end) / 2 - LABEL.width(&self.y_desc) as i32 / 2;
            canvas.write_up(LABEL, &self.y_desc, (x, y), INK, path)?;
        }
        Ok(())
    }
}

/// About `max` round-numbered ticks over `range` (plotters' choice) and the step between them.
pub(crate) fn linear_ticks(range: &Range<f64>, max: usize) -> (Vec<f64>, f64) {
    let coord = RangedCoordf64::from(range.clone());
    let points = coord.key_points(max);
    let step = match points.as_slice() {
        [a, b, ..] => b - a,
        _ => range.end - range.start,
    };
    (points, step)
}

/// A tick label for `v` on a linear axis whose ticks are `step` apart: as many decimals as
/// the step needs, or scientific notation (`2e-6`) for steps below 1e-4.
pub(crate) fn tick_label(v: f64, step: f64) -> String {
    if v.abs() < step.abs() * 1e-9 || v == 0.0 {
        return "0".into();
    }
    let decimals = if step > 0.0 {
        (-step.log10().floor()).max(0.0) as usize
    } else {
        2
    };
    if decimals > 4 {
        let s = format!("{v:.1e}");
        match s.split_once('e') {
            Some((m, e)) => format!("{}e{e}", m.trim_end_matches(".0")),
            None => s,
        }
    } else {
        format!("{v:.decimals$}")
    }
}

/// `x` as Python's `{:.2e}` writes it: `1.45e-03`.
pub(crate) fn sci(x: f64) -> String {
    let s = format!("{x:.2e}");
    match s.split_once('e') {
        Some((mantissa, exp)) => {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            format!("{mantissa}e{sign}{digits:0>2}")
        }
        None => s,
    }
}

/// The range `lo..hi` widened by 5% of its span on each side (matplotlib's margins), or by 1
/// around a single value.
pub(crate) fn padded(lo: f64, hi: f64) -> Range<f64> {
    let span = hi - lo;
    if span > 0.0 {
        lo - 0.05 * span..hi + 0.05 * span
    } else {
        lo - 1.0..hi + 1.0
    }
}

/// The smallest and the largest of `v` (infinite bounds when it is empty).
pub(crate) fn min_max(v: impl IntoIterator<Item = f64>) -> (f64, f64) {
    v.into_iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
            (lo.min(x), hi.max(x))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_matplotlib_writes_them() {
        assert_eq!(sci(1.45e-3), "1.45e-03");
        assert_eq!(sci(0.0123), "1.23e-02");
        assert_eq!(sci(12.0), "1.20e+01");
        assert_eq!(tick_label(0.25, 0.05), "0.25");
        assert_eq!(tick_label(3.0, 1.0), "3");
        assert_eq!(tick_label(0.0004, 0.0002), "0.0004");
        assert_eq!(tick_label(2e-6, 1e-6), "2e-6");
        assert_eq!(tick_label(2.5e-6, 5e-7), "2.5e-6");
        assert_eq!(tick_label(1e-17, 0.1), "0");
        assert_eq!(padded(0.0, 10.0), -0.5..10.5);
        let (ticks, step) = linear_ticks(&(0.0..1.0), 6);
        assert_eq!(step, 0.2);
        assert_eq!(ticks.len(), 6);
        assert_eq!(min_max([3.0, -1.0, 2.0]), (-1.0, 3.0));
    }
}
