//! fastai's `ClassificationInterpretation.plot_confusion_matrix`: a heat map of the actual
//! classes (rows) against the predicted ones (columns) in matplotlib's `Blues`, each cell
//! holding its count.

use super::canvas::{Canvas, INK, LABEL, TICK, TITLE, plot_error};
use crate::error::Result;
use fastcandle_data::vision::show::Font;
use std::path::Path;

/// matplotlib's `Blues` (ColorBrewer's nine blues), from 0 to 1 in equal steps.
const BLUES: [[u8; 3]; 9] = [
    [247, 251, 255],
    [222, 235, 247],
    [198, 219, 239],
    [158, 202, 225],
    [107, 174, 214],
    [66, 146, 198],
    [33, 113, 181],
    [8, 81, 156],
    [8, 48, 107],
];

/// A class name wider than this many pixels is wrapped.
const MAX_LABEL_WIDTH: u32 = 220;

/// Draws `matrix` (`matrix[actual][predicted]`, counts) as a square heat map: rows are the
/// actual classes ("Actual"), columns the predicted ones ("Predicted"), both named by
/// `vocab`; colours from matplotlib's `Blues` scaled from the smallest value to the largest;
/// each cell holds its count, or with `normalize` its share of its row to 2 decimals, in white
/// on cells darker than half the largest value and in black elsewhere (fastai's rule).
/// Class names are written whole: wrapped when very long, and turned upright under the
/// columns when they do not fit a column's width. The picture grows with the number of
/// classes (about 500 x 500 pixels for 2, 900 x 900 for 11). Writes a PNG to `path`.
///
/// An error names the file when the matrix is empty, not square, or not as large as `vocab`.
pub fn plot_confusion_matrix(
    matrix: &[Vec<usize>],
    vocab: &[String],
    normalize: bool,
    path: impl AsRef<Path>,
) -> Result<()> {
    let path = path.as_ref();
    let n = matrix.len();
    if n == 0 {
        return Err(plot_error(path, "the confusion matrix is empty"));
    }
    if let Some((i, row)) = matrix.iter().enumerate().find(|(_, r)| r.len() != n) {
        return Err(plot_error(
            path,
            format!(
                "the confusion matrix is not square: it has {n} rows but row {i} has {} \
                 columns",
                row.len()
            ),
        ));
    }
    if vocab.len() != n {
        return Err(plot_error(
            path,
            format!(
                "the confusion matrix has {n} classes but the vocabulary names {}",
                vocab.len()
            ),
        ));
    }
    let values: Vec<Vec<f64>> = matrix
        .iter()
        .map(|row| {
            let total: usize = row.iter().sum();
            row.iter()
                .map(|&c| match (normalize, total) {
                    (false, _) => c as f64,
                    (true, 0) => 0.0,
                    (true, t) => c as f64 / t as f64,
                })
                .collect()
        })
        .collect();
    let texts: Vec<Vec<String>> = values
        .iter()
        .map(|row| {
            row.iter()
                .map(|&v| {
                    if normalize {
                        format!("{v:.2}")
                    } else {
                        format!("{v}")
                    }
                })
                .collect()
        })
        .collect();
    let (lo, hi) = values
        .iter()
        .flatten()
        .fold((f64::INFINITY, 0f64), |(lo, hi), &v| (lo.min(v), hi.max(v)));

    // Sizes in pixels: cells, the numbers in them, and the class names around.
    let cell = (700 / n as i32).clamp(28, 180);
    let number = fit_font(texts.iter().flatten(), cell as u32 - 6);
    let row_names: Vec<Vec<String>> = vocab
        .iter()
        .map(|v| TICK.wrap(v, MAX_LABEL_WIDTH))
        .collect();
    let row_names_w = widest(row_names.iter().flatten());
    // Under the columns, names read upwards (matplotlib's `rotation=90`) unless all fit.
    let upright = vocab.iter().any(|v| TICK.width(v) as i32 + 4 > cell);
    let col_names: Vec<Vec<String>> = if upright {
        row_names.clone()
    } else {
        vocab.iter().map(|v| vec![v.clone()]).collect()
    };
    let line = TICK.line_height() as i32;
    let col_names_h = if upright {
        widest(col_names.iter().flatten())
    } else {
        line
    };
    let (pad, tick, gap) = (16, 5, 4);
    let grid = n as i32 * cell;
    let left = pad + LABEL.line_height() as i32 + 10 + row_names_w + gap + tick;
    let top = pad + TITLE.line_height() as i32 + 14;
    let title = "Confusion matrix";
    let width = (left + grid + 2 * pad).max(TITLE.width(title) as i32 + 2 * pad);
    let below = top + grid + tick + gap;
    let height = below + col_names_h + 10 + LABEL.line_height() as i32 + pad;

    let mut canvas = Canvas::new(width as u32, height as u32);
    let centre = left + grid / 2;
    canvas.write_centred(TITLE, title, (centre, pad), INK, path)?;
    for (i, row) in values.iter().enumerate() {
        for (j, &v) in row.iter().enumerate() {
            let t = if hi > lo { (v - lo) / (hi - lo) } else { 0.0 };
            let (x, y) = (left + j as i32 * cell, top + i as i32 * cell);
            canvas.fill((x, y), (cell as u32, cell as u32), blues(t));
            let ink = if v > hi / 2.0 { [255; 3] } else { INK };
            let ty = y + (cell - number.line_height() as i32) / 2;
            canvas.write_centred(number, &texts[i][j], (x + cell / 2, ty), ink, path)?;
        }
    }
    canvas.frame((left - 1, top - 1), (grid as u32 + 2, grid as u32 + 2), INK);
    for (k, name) in row_names.iter().enumerate() {
        let mid = top + k as i32 * cell + cell / 2;
        canvas.fill((left - 1 - tick, mid), (tick as u32, 1), INK);
        let block = name.len() as i32 * line;
        for (l, s) in name.iter().enumerate() {
            let x = left - 1 - tick - gap - TICK.width(s) as i32;
            canvas.write(TICK, s, (x, mid - block / 2 + l as i32 * line), INK, path)?;
        }
    }
    for (k, name) in col_names.iter().enumerate() {
        let mid = left + k as i32 * cell + cell / 2;
        canvas.fill((mid, top + grid + 1), (1, tick as u32), INK);
        let block = name.len() as i32 * line;
        for (l, s) in name.iter().enumerate() {
            let x = mid - block / 2 + l as i32 * line;
            if upright {
                canvas.write_up(TICK, s, (x, below), INK, path)?;
            } else {
                canvas.write_centred(TICK, s, (mid, below), INK, path)?;
            }
        }
    }
    let predicted_top = below + col_names_h + 10;
    canvas.write_centred(LABEL, "Predicted", (centre, predicted_top), INK, path)?;
    let actual_y = top + grid / 2 - LABEL.width("Actual") as i32 / 2;
    canvas.write_up(LABEL, "Actual", (pad, actual_y), INK, path)?;
    canvas.save(path)
}

/// `Blues` at `t` in `0..=1`, interpolated between its nine colours.
fn blues(t: f64) -> [u8; 3] {
    let pos = t.clamp(0.0, 1.0) * (BLUES.len() - 1) as f64;
    let (i, f) = (pos.floor() as usize, pos.fract());
    let (a, b) = (BLUES[i], BLUES[(i + 1).min(BLUES.len() - 1)]);
    std::array::from_fn(|c| (a[c] as f64 + (b[c] as f64 - a[c] as f64) * f).round() as u8)
}

/// The largest font (16 pixels down to 8) in which every text is at most `width` wide.
fn fit_font<'a>(texts: impl Iterator<Item = &'a String> + Clone, width: u32) -> Font {
    let mut px = 16.0;
    while px > 8.0 && texts.clone().any(|s| Font::sans(px).width(s) > width) {
        px -= 1.0;
    }
    Font::sans(px)
}

/// The width of the widest of `lines` in the tick font.
fn widest<'a>(lines: impl Iterator<Item = &'a String>) -> i32 {
    lines.map(|s| TICK.width(s) as i32).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blues_run_from_white_to_navy() {
        assert_eq!(blues(0.0), BLUES[0]);
        assert_eq!(blues(1.0), BLUES[8]);
        assert_eq!(blues(0.5), BLUES[4]);
        let mid = blues(1.0 / 16.0);
        assert!(mid[0] < BLUES[0][0] && mid[0] > BLUES[1][0]);
    }
}
