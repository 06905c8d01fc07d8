//! One stage's top patches as a PNG: a row per channel, its patches largest first, each scaled
//! to a common cell so that a stem's 11-pixel fields are as visible as a last stage's.

use super::patches::StagePatches;
use crate::plot::canvas::{AtPath, Canvas, GREY, INK};
use crate::{Error, Result};
use fastcandle_data::vision::Image;
use fastcandle_data::vision::show::{Face, Font};
use std::path::Path;

/// The side of the square each patch is scaled to fit.
const CELL: u32 = 80;
/// Space between cells and around the picture.
const GAP: u32 = 6;
/// The cells' background, where a patch does not fill them (clipped fields, tall or wide).
const CELL_BG: [u8; 3] = [225, 225, 225];

const TITLE: Font = Font {
    face: Face::SansBold,
    px: 16.0,
};
const LABEL: Font = Font {
    face: Face::Sans,
    px: 13.0,
};
const SMALL: Font = Font {
    face: Face::Sans,
    px: 11.0,
};

/// Writes `patches` as a PNG at `path`: a title (stage, field size and stride), then one row
/// per channel with a caption (channel, top and mean activation) and its patches cropped from
/// `images` (indexed by [`super::Patch::image`]), largest activation first, each scaled (area
/// average down, nearest up, aspect kept) to fit an 80-pixel cell, its activation under it.
pub fn save_top_patches(
    patches: &StagePatches,
    images: &[Image],
    path: impl AsRef<Path>,
) -> Result<()> {
    let path = path.as_ref();
    let s = &patches.stage;
    let title = format!(
        "{}: {} channels, receptive field {} px, stride {}",
        s.name, s.channels, s.field.size, s.field.stride
    );
    let captions: Vec<[String; 3]> = patches
        .channels
        .iter()
        .map(|c| {
            let top = c.patches.first().map_or(0.0, |p| p.activation);
            [
                format!("channel {}", c.channel),
                format!("top {top:.2}"),
                format!("mean {:.2}", c.mean),
            ]
        })
        .collect();
    let label_w = captions
        .iter()
        .flatten()
        .map(|t| LABEL.width(t))
        .max()
        .unwrap_or(0)
        + 2 * GAP;
    let cols = patches
        .channels
        .iter()
        .map(|c| c.patches.len())
        .max()
        .unwrap_or(0) as u32;
    let row_h = CELL + SMALL.line_height() + GAP;
    let top = TITLE.line_height() + 2 * GAP;
    let width = (label_w + cols * (CELL + GAP) + GAP).max(TITLE.width(&title) + 2 * GAP);
    let height = top + patches.channels.len() as u32 * row_h + GAP;
    let mut canvas = Canvas::new(width, height);
    canvas.write(TITLE, &title, (GAP as i32, GAP as i32), INK, path)?;
    for (r, (ch, caption)) in patches.channels.iter().zip(&captions).enumerate() {
        let y = (top + r as u32 * row_h) as i32;
        for (k, line) in caption.iter().enumerate() {
            let ink = if k == 0 { INK } else { GREY };
            let ly = y + (k as u32 * LABEL.line_height()) as i32;
            canvas.write(LABEL, line, (GAP as i32, ly), ink, path)?;
        }
        for (k, p) in ch.patches.iter().enumerate() {
            let x = (label_w + k as u32 * (CELL + GAP)) as i32;
            let img = images.get(p.image).ok_or_else(|| Error::Plot {
                path: path.display().to_string(),
                reason: format!(
                    "patch of image {} but {} images given",
                    p.image,
                    images.len()
                ),
            })?;
            canvas.fill((x, y), (CELL, CELL), CELL_BG);
            let (rgb, w, h) = scaled_crop(img, p.bbox, CELL);
            let at = (x + ((CELL - w) / 2) as i32, y + ((CELL - h) / 2) as i32);
            canvas.blit(at, (w, h), &rgb);
            let value = format!("{:.2}", p.activation);
            let centre = x + CELL as i32 / 2;
            canvas.write_centred(SMALL, &value, (centre, y + CELL as i32), GREY, path)?;
        }
    }
    canvas.save(path).at(path)
}

/// The box `(y0, x0, y1, x1)` of `img` scaled to fit `cell` x `cell` (aspect kept): each
/// output pixel the mean of the source pixels it covers, or the nearest one when enlarging.
fn scaled_crop(
    img: &Image,
    (y0, x0, y1, x1): (usize, usize, usize, usize),
    cell: u32,
) -> (Vec<u8>, u32, u32) {
    let (bw, bh) = ((x1 - x0).max(1), (y1 - y0).max(1));
    let scale = f64::from(cell) / bw.max(bh) as f64;
    let w = ((bw as f64 * scale).round() as u32).clamp(1, cell);
    let h = ((bh as f64 * scale).round() as u32).clamp(1, cell);
    let span = |d: u32, n: usize, len: u32| {
        if n <= len as usize {
            let i = ((f64::from(d) + 0.5) * n as f64 / f64::from(len)) as usize;
            return (i.min(n - 1), i.min(n - 1) + 1);
        }
        let a = d as f64 * n as f64 / f64::from(len);
        let b = (d + 1) as f64 * n as f64 / f64::from(len);
        let lo = (a.floor() as usize).min(n - 1);
        (lo, (b.ceil() as usize).clamp(lo + 1, n))
    };
    let mut rgb = Vec::with_capacity((w * h * 3) as usize);
    for dy in 0..h {
        let (sy0, sy1) = span(dy, bh, h);
        for dx in 0..w {
            let (sx0, sx1) = span(dx, bw, w);
            let mut acc = [0u32; 3];
            for sy in sy0..sy1 {
                for sx in sx0..sx1 {
                    let p = img.pixel(
                        (x0 + sx).min(img.width() - 1),
                        (y0 + sy).min(img.height() - 1),
                    );
                    for c in 0..3 {
                        acc[c] += u32::from(p[c]);
                    }
                }
            }
            let n = ((sy1 - sy0) * (sx1 - sx0)) as u32;
            rgb.extend(acc.map(|v| ((v + n / 2) / n) as u8));
        }
    }
    (rgb, w, h)
}
