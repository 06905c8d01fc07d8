//! A chart's legend, as matplotlib's `loc="best"`: a white box with a grey border in the
//! corner of the plotting area that hides the fewest of the data's pixels.

use super::canvas::{Canvas, INK, LABEL};
use crate::error::Result;
use std::ops::Range;
use std::path::Path;

/// How a legend entry is drawn.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Key {
    /// A line.
    Line([u8; 3]),
    /// A filled circle.
    Dot([u8; 3]),
    /// A line through a filled circle.
    LineDot([u8; 3]),
}

/// Draws a legend of `entries` in a corner of the plotting area `plot` (pixel columns, rows):
/// the corner that hides the fewest of the pixels `data`, upper right first, then upper left,
/// lower right, lower left.
pub(crate) fn legend(
    canvas: &mut Canvas,
    plot: &(Range<i32>, Range<i32>),
    entries: &[(String, Key)],
    data: &[(i32, i32)],
    path: &Path,
) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let (pad, key_w, line_h) = (8, 30, LABEL.line_height() as i32);
    let text_w = entries
        .iter()
        .map(|(s, _)| LABEL.width(s) as i32)
        .max()
        .unwrap_or(0);
    let w = pad + key_w + pad + text_w + pad;
    let h = pad + line_h * entries.len() as i32 + pad;
    let (xs, ys) = plot;
    let corners = [
        (xs.end - w - 10, ys.start + 10),
        (xs.start + 10, ys.start + 10),
        (xs.end - w - 10, ys.end - h - 10),
        (xs.start + 10, ys.end - h - 10),
    ];
    let hidden = |&(x0, y0): &(i32, i32)| {
        data.iter()
            .filter(|&&(x, y)| (x0..=x0 + w).contains(&x) && (y0..=y0 + h).contains(&y))
            .count()
    };
    // `min_by_key` keeps the first of equals: the upper right when nothing is hidden.
    let (x0, y0) = corners
        .iter()
        .copied()
        .min_by_key(|c| hidden(c))
        .unwrap_or(corners[0]);
    canvas.fill((x0, y0), (w as u32, h as u32), [255; 3]);
    canvas.frame((x0, y0), (w as u32, h as u32), [204, 204, 204]);
    for (k, (label, key)) in entries.iter().enumerate() {
        let top = y0 + pad + k as i32 * line_h;
        let mid = top + line_h / 2;
        let (kx0, kx1) = (x0 + pad, x0 + pad + key_w);
        let (colour, line, dot) = match *key {
            Key::Line(c) => (c, true, false),
            Key::Dot(c) => (c, false, true),
            Key::LineDot(c) => (c, true, true),
        };
        if line {
            canvas.fill((kx0, mid - 1), (key_w as u32, 2), colour);
        }
        if dot {
            canvas.disc(((kx0 + kx1) / 2, mid), 5.0, colour);
        }
        canvas.write(LABEL, label, (kx1 + pad, top), INK, path)?;
    }
    Ok(())
}

/// The pixels along the polyline through `points` (pixels), one every few pixels: what a
/// legend should not hide.
pub(crate) fn trace(points: &[(i32, i32)]) -> Vec<(i32, i32)> {
    let mut out: Vec<(i32, i32)> = points.first().copied().into_iter().collect();
    for w in points.windows(2) {
        let ((x0, y0), (x1, y1)) = (w[0], w[1]);
        let steps = ((x1 - x0).abs().max((y1 - y0).abs()) / 3).max(1);
        out.extend((1..=steps).map(|k| (x0 + (x1 - x0) * k / steps, y0 + (y1 - y0) * k / steps)));
    }
    out
}

/// The pixels along each line of `runs` (data points, put in pixels by `to_px`): what a legend
/// should not hide.
pub(crate) fn trace_runs<'a, P: 'a>(
    runs: impl IntoIterator<Item = &'a Vec<P>>,
    to_px: impl Fn(&P) -> (i32, i32),
) -> Vec<(i32, i32)> {
    runs.into_iter()
        .flat_map(|run| trace(&run.iter().map(&to_px).collect::<Vec<_>>()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traces_follow_the_line() {
        let t = trace(&[(0, 0), (9, 0), (9, 3)]);
        assert_eq!(t.first(), Some(&(0, 0)));
        assert_eq!(t.last(), Some(&(9, 3)));
        assert!(t.contains(&(3, 0)) && t.contains(&(6, 0)));
        assert!(trace(&[]).is_empty());
    }
}
