//! fastai's `Recorder.plot_sched`: the learning rate and the momentum of each parameter group
//! at every iteration, side by side, every fit of the recorder laid end to end.

use super::axes::{Axis, Frame, chart, min_max, padded};
use super::canvas::{Area, AtPath, Canvas, GREY, INK, LABEL, TITLE, plot_error, rgb, tab10};
use super::fits::{draw_fit_starts, finite_runs, fit_starts};
use super::legend::{Key, legend, trace_runs};
use crate::error::Result;
use fastcandle_train::callback::{FitRecord, Recorder};
use plotters::prelude::*;
use std::path::Path;

/// The panels' width.
const PANEL: u32 = 600;

/// Draws two panels side by side, the learning rate ([`FitRecord::lrs`]) and the momentum
/// ([`FitRecord::moms`]) against the iterations of all the recorder's fits end to end, one
/// line per parameter group (`group 0`, ...), a dashed line where each fit after the first
/// starts; the momentum panel says so when the optimizer has no momentum. Writes a 1200 x 480
/// PNG to `path`.
///
/// An error names the file when the recorder holds no training iteration.
///
/// [`FitRecord::lrs`]: fastcandle_train::callback::FitRecord::lrs
/// [`FitRecord::moms`]: fastcandle_train::callback::FitRecord::moms
pub fn plot_sched(rec: &Recorder, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let (starts, total) = fit_starts(rec);
    let lrs = per_group(rec, &starts, |f| &f.lrs);
    let moms = per_group(rec, &starts, |f| &f.moms);
    if lrs.iter().flatten().next().is_none() {
        return Err(plot_error(
            path,
            format!(
                "the recorder holds no learning rate to plot ({} fit(s), {total} training \
                 batch(es)); was it given to the learner, and did a fit run?",
                rec.fits.len()
            ),
        ));
    }
    let has_moms = moms.iter().flatten().next().is_some();
    let mut canvas = Canvas::new(2 * PANEL, 480);
    let new_fits = &starts[starts.len().min(1)..];
    let panels = {
        let root = canvas.area(path)?;
        let (left, right) = root.split_horizontally(PANEL);
        let mut panels = vec![panel(&left, &lrs, total, new_fits, path)?];
        if has_moms {
            panels.push(panel(&right, &moms, total, new_fits, path)?);
        }
        panels
    };
    let centre = PANEL as i32 / 2;
    canvas.write_centred(TITLE, "Learning rate", (centre, 12), INK, path)?;
    canvas.write_centred(TITLE, "Momentum", (PANEL as i32 + centre, 12), INK, path)?;
    if !has_moms {
        let note = "The optimizer has no momentum.";
        canvas.write_centred(LABEL, note, (PANEL as i32 + centre, 220), GREY, path)?;
    }
    for (p, groups) in panels.iter().zip([&lrs, &moms]) {
        p.frame.write(&mut canvas, path)?;
        draw_fit_starts(&mut canvas, &p.frame.plot, &p.new_fits, path)?;
        let entries: Vec<(String, Key)> = (0..groups.len())
            .map(|g| (format!("group {g}"), Key::Line(tab10(g))))
            .collect();
        legend(&mut canvas, &p.frame.plot, &entries, &p.data, path)?;
    }
    canvas.save(path)
}

/// What a panel leaves to write once plotters is done: its frame, the pixel columns where
/// fits start (and their numbers), and the pixels of its lines.
struct Panel {
    frame: Frame,
    new_fits: Vec<(i32, usize)>,
    data: Vec<(i32, i32)>,
}

/// The runs of finite points `(iteration, value)` of each parameter group, for the per-group
/// vectors that `values` picks from each fit; a line breaks where a fit starts.
fn per_group(
    rec: &Recorder,
    starts: &[usize],
    values: impl Fn(&FitRecord) -> &Vec<Vec<f64>>,
) -> Vec<Vec<Vec<(f64, f64)>>> {
    let groups = rec
        .fits
        .iter()
        .flat_map(|f| values(f).iter().map(Vec::len))
        .max()
        .unwrap_or(0);
    (0..groups)
        .map(|g| {
            rec.fits
                .iter()
                .zip(starts)
                .flat_map(|(f, &s)| {
                    finite_runs(
                        values(f)
                            .iter()
                            .enumerate()
                            .map(|(i, v)| ((s + i) as f64, v.get(g).copied().unwrap_or(f64::NAN))),
                    )
                })
                .collect()
        })
        .collect()
}

/// One panel on `area`: a chart of `groups` (runs of points per group) over `total`
/// iterations, below room for a title; dashed lines to come at the iterations `new_fits`.
fn panel(
    area: &Area,
    groups: &[Vec<Vec<(f64, f64)>>],
    total: usize,
    new_fits: &[usize],
    path: &Path,
) -> Result<Panel> {
    let (lo, hi) = min_max(groups.iter().flatten().flatten().map(|p| p.1));
    let x_axis = Axis::linear(padded(0.0, total.max(1) as f64), 8);
    let y_axis = Axis::linear(padded(lo, hi), 8);
    let (mut chart, frame) = chart(area, (x_axis, y_axis), ("Iterations", ""), (48, 24), path)?;
    for (g, runs) in groups.iter().enumerate() {
        for run in runs {
            chart
                .draw_series(LineSeries::new(
                    run.iter().copied(),
                    rgb(tab10(g)).stroke_width(2),
                ))
                .at(path)?;
        }
    }
    let data = trace_runs(groups.iter().flatten(), |p| chart.backend_coord(p));
    let new_fits = new_fits
        .iter()
        .enumerate()
        .map(|(k, &s)| (chart.backend_coord(&(s as f64, lo)).0, k + 2))
        .collect();
    Ok(Panel {
        frame,
        new_fits,
        data,
    })
}
