//! A picture of a table (fastai shows tabular top losses as a table): a title, a header row on
//! light grey, and rows, each column as wide as its widest text.

use super::canvas::{Canvas, INK, TITLE, plot_error};
use crate::error::Result;
use fastcandle_data::vision::show::Font;
use std::path::Path;

/// Header cells.
const HEAD: Font = Font {
    face: fastcandle_data::vision::show::Face::SansBold,
    px: 15.0,
};
/// Body cells.
const BODY: Font = Font {
    face: fastcandle_data::vision::show::Face::Sans,
    px: 15.0,
};
/// A cell wider than this many pixels is wrapped onto more lines.
const MAX_COLUMN_WIDTH: u32 = 420;

/// Draws `title` above a table of `header` and `rows` and writes it to `path` as a PNG that
/// fits the content: each column as wide as its widest cell (cells past 420 pixels wrap onto
/// more lines, as do cells holding `'\n'`), the header on light grey, a thin line under each
/// row, numbers aligned right and text left.
///
/// An error names the file when there is no column or a row has not as many cells as the
/// header.
pub fn plot_table(
    title: &str,
    header: &[String],
    rows: &[Vec<String>],
    path: impl AsRef<Path>,
) -> Result<()> {
    let path = path.as_ref();
    if header.is_empty() {
        return Err(plot_error(
            path,
            "the table has no column (the header is empty)",
        ));
    }
    if let Some((i, row)) = rows
        .iter()
        .enumerate()
        .find(|(_, r)| r.len() != header.len())
    {
        return Err(plot_error(
            path,
            format!(
                "row {} of the table has {} cells, the header {}",
                i + 1,
                row.len(),
                header.len()
            ),
        ));
    }
    let cols = header.len();
    let width_of =
        |font: Font, s: &str| -> u32 { s.split('\n').map(|l| font.width(l)).max().unwrap_or(0) };
    let col_w: Vec<u32> = (0..cols)
        .map(|c| {
            let body = rows.iter().map(|r| width_of(BODY, &r[c]));
            body.chain([width_of(HEAD, &header[c])])
                .max()
                .unwrap_or(0)
                .clamp(8, MAX_COLUMN_WIDTH)
        })
        .collect();
    let numeric: Vec<bool> = (0..cols)
        .map(|c| {
            !rows.is_empty()
                && rows
                    .iter()
                    .all(|r| r[c].trim().is_empty() || r[c].trim().parse::<f64>().is_ok())
        })
        .collect();
    let head_lines: Vec<Vec<String>> = header
        .iter()
        .zip(&col_w)
        .map(|(h, &w)| HEAD.wrap(h, w))
        .collect();
    let body_lines: Vec<Vec<Vec<String>>> = rows
        .iter()
        .map(|r| {
            r.iter()
                .zip(&col_w)
                .map(|(s, &w)| BODY.wrap(s, w))
                .collect()
        })
        .collect();

    let (margin, pad_x, pad_y) = (16, 10, 5);
    let lines_in = |cells: &[Vec<String>]| cells.iter().map(Vec::len).max().unwrap_or(1) as u32;
    let head_h = lines_in(&head_lines) * HEAD.line_height() + 2 * pad_y;
    let row_h: Vec<u32> = body_lines
        .iter()
        .map(|r| lines_in(r) * BODY.line_height() + 2 * pad_y)
        .collect();
    let table_w: u32 = col_w.iter().map(|w| w + 2 * pad_x).sum();
    let width = (table_w + 2 * margin).max(TITLE.width(title) + 2 * margin);
    let title_h = if title.is_empty() {
        0
    } else {
        TITLE.line_height() + 10
    };
    let height = margin + title_h + head_h + row_h.iter().sum::<u32>() + margin;

    let mut canvas = Canvas::new(width, height);
    let x = margin as i32;
    if !title.is_empty() {
        canvas.write(TITLE, title, (x, margin as i32), INK, path)?;
    }
    let mut y = (margin + title_h) as i32;
    let layout = Layout {
        col_w: &col_w,
        numeric: &numeric,
        pad: (pad_x, pad_y),
    };
    canvas.fill((x, y), (table_w, head_h), [232, 232, 232]);
    layout.row(&mut canvas, HEAD, &head_lines, (x, y), path)?;
    y += head_h as i32;
    canvas.fill((x, y - 1), (table_w, 1), [150, 150, 150]);
    for (cells, &h) in body_lines.iter().zip(&row_h) {
        layout.row(&mut canvas, BODY, cells, (x, y), path)?;
        y += h as i32;
        canvas.fill((x, y - 1), (table_w, 1), [220, 220, 220]);
    }
    canvas.save(path)
}

/// The columns: their widths (padding left out), which hold numbers, and the padding around
/// each cell's text (across, down).
struct Layout<'a> {
    col_w: &'a [u32],
    numeric: &'a [bool],
    pad: (u32, u32),
}

impl Layout<'_> {
    /// Writes one row of cells (each its lines) from `(x, y)`, numbers aligned right.
    fn row(
        &self,
        canvas: &mut Canvas,
        font: Font,
        cells: &[Vec<String>],
        (mut x, y): (i32, i32),
        path: &Path,
    ) -> Result<()> {
        let (pad_x, pad_y) = (self.pad.0 as i32, self.pad.1 as i32);
        for ((lines, &w), &right) in cells.iter().zip(self.col_w).zip(self.numeric) {
            for (l, s) in lines.iter().enumerate() {
                let dx = if right {
                    w.saturating_sub(font.width(s)) as i32
                } else {
                    0
                };
                let top = y + pad_y + (l as u32 * font.line_height()) as i32;
                canvas.write(font, s, (x + pad_x + dx, top), INK, path)?;
            }
            x += w as i32 + 2 * pad_x;
        }
        Ok(())
    }
}
