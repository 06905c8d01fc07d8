//! Pictures of batches: a PNG grid of images, each under a bar in its class's colour with the
//! label written in a small built-in bitmap font.

use crate::error::{Error, Result};
use crate::vision::items::image::Image;
use crate::vision::load::loader::ImageLoader;
use crate::vision::load::loader_core::LoaderSettings;
use crate::vision::transforms::normalize::Normalize;
use candle_core::{DType, Device};
use fastcandle_core::error::Context;
use fastcandle_core::{Batch, DataLoaders};
use std::path::Path;

/// Colours for class codes (matplotlib's `tab10`), repeated beyond 10 classes.
const PALETTE: [[u8; 3]; 10] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [127, 127, 127],
    [188, 189, 34],
    [23, 190, 207],
];

/// The colour of class `code` in pictures.
pub fn class_colour(code: u32) -> [u8; 3] {
    PALETTE[code as usize % PALETTE.len()]
}

impl ImageLoader {
    /// fastai's `show_batch`: writes a PNG grid of the first `n` images of the first training
    /// batch (augmented, as the model sees them) with their labels.
    pub fn show_batch(&self, path: impl AsRef<Path>, n: usize) -> Result<()> {
        let (batch, images) = first_batch(self, self.normalization())?;
        let codes = batch
            .ys
            .to_device(&Device::Cpu)
            .and_then(|y| y.to_vec1::<u32>())
            .context(|| "reading the batch's targets".into())?;
        let n = n.min(images.len());
        let labels: Vec<String> = codes[..n]
            .iter()
            .map(|&c| self.classes()[c as usize].clone())
            .collect();
        save_grid(&images[..n], &labels, &codes[..n], path.as_ref())
    }
}

/// The first training batch of `dls` and its images (see [`batch_images`]), for pictures.
pub(crate) fn first_batch(
    dls: &dyn DataLoaders,
    normalize: Option<&Normalize>,
) -> Result<(Batch, Vec<Image>)> {
    match dls.train(0).next() {
        Some(b) => {
            let b = b?;
            let images = batch_images(&b, normalize)?;
            Ok((b, images))
        }
        None => Err(Error::BadData {
            what: "show_batch".into(),
            reason: "the training set gives no batch (fewer items than the batch size?)".into(),
        }),
    }
}

/// The images of a batch (`xs[0]`, `[B, 3, H, W]` in `0..1`, or normalised by `normalize`) as
/// 8-bit RGB images.
pub fn batch_images(batch: &Batch, normalize: Option<&Normalize>) -> Result<Vec<Image>> {
    let what = || "turning a batch back into images".to_string();
    let mut x = batch.xs[0]
        .to_device(&Device::Cpu)
        .and_then(|x| x.to_dtype(DType::F32))
        .context(what)?;
    if let Some(n) = normalize {
        x = n.decode(&x)?;
    }
    let (b, c, h, w) = x.dims4().context(what)?;
    let data = x
        .flatten_all()
        .and_then(|x| x.to_vec1::<f32>())
        .context(what)?;
    let plane = h * w;
    (0..b)
        .map(|i| {
            let img = &data[i * c * plane..(i + 1) * c * plane];
            let mut hwc = Vec::with_capacity(plane * 3);
            for p in 0..plane {
                for ch in 0..3 {
                    let v = img[ch.min(c - 1) * plane + p];
                    hwc.push((v * 255.0).round().clamp(0.0, 255.0) as u8);
                }
            }
            Image::new(w, h, 3, hwc)
        })
        .collect()
}

/// Writes `images` as a PNG grid, each under a bar of its class's colour (`codes`) holding its
/// label.
pub fn save_grid(images: &[Image], labels: &[String], codes: &[u32], path: &Path) -> Result<()> {
    if images.is_empty() {
        return Err(Error::BadData {
            what: format!("the picture {}", path.display()),
            reason: "there is no image to show".into(),
        });
    }
    let cell_w = images.iter().map(Image::width).max().unwrap_or(1);
    let cell_h = images.iter().map(Image::height).max().unwrap_or(1);
    let scale = (cell_w / 100).max(1);
    let bar = 8 * scale + 4;
    let gap = 4;
    let cols = (images.len() as f64).sqrt().ceil() as usize;
    let rows = images.len().div_ceil(cols);
    let width = cols * (cell_w + gap) + gap;
    let height = rows * (cell_h + bar + gap) + gap;
    let mut canvas = Canvas {
        width,
        data: vec![255u8; width * height * 3],
    };
    for (k, img) in images.iter().enumerate() {
        let (x0, y0) = (
            gap + (k % cols) * (cell_w + gap),
            gap + (k / cols) * (cell_h + bar + gap),
        );
        let colour = class_colour(codes.get(k).copied().unwrap_or(0));
        canvas.fill(x0, y0, cell_w, bar, colour);
        let luma = 0.299 * colour[0] as f32 + 0.587 * colour[1] as f32 + 0.114 * colour[2] as f32;
        let ink = if luma > 140.0 {
            [0, 0, 0]
        } else {
            [255, 255, 255]
        };
        let label = labels.get(k).map(String::as_str).unwrap_or("");
        let fits = (cell_w.saturating_sub(4)) / (8 * scale);
        canvas.text(x0 + 2, y0 + 2, label, fits, scale, ink);
        for y in 0..img.height() {
            for x in 0..img.width() {
                canvas.put(x0 + x, y0 + bar + y, img.pixel(x, y));
            }
        }
    }
    image::save_buffer(
        path,
        &canvas.data,
        width as u32,
        height as u32,
        image::ExtendedColorType::Rgb8,
    )
    .map_err(|e| Error::BadData {
        what: format!("writing {}", path.display()),
        reason: e.to_string(),
    })
}

struct Canvas {
    width: usize,
    data: Vec<u8>,
}

impl Canvas {
    fn put(&mut self, x: usize, y: usize, rgb: [u8; 3]) {
        let i = (y * self.width + x) * 3;
        self.data[i..i + 3].copy_from_slice(&rgb);
    }

    fn fill(&mut self, x0: usize, y0: usize, w: usize, h: usize, rgb: [u8; 3]) {
        for y in y0..y0 + h {
            for x in x0..x0 + w {
                self.put(x, y, rgb);
            }
        }
    }

    /// Writes at most `max_chars` characters of `text` (ASCII; others as `?`) in the 8x8 font,
    /// each font pixel a `scale x scale` block.
    fn text(
        &mut self,
        x0: usize,
        y0: usize,
        text: &str,
        max_chars: usize,
        scale: usize,
        ink: [u8; 3],
    ) {
        for (k, ch) in text.chars().take(max_chars).enumerate() {
            let code = if ch.is_ascii() {
                ch as usize
            } else {
                '?' as usize
            };
            let glyph = font8x8::legacy::BASIC_LEGACY[code];
            for (row, bits) in glyph.iter().enumerate() {
                for col in 0..8 {
                    if bits >> col & 1 == 1 {
                        let (x, y) = (x0 + (k * 8 + col) * scale, y0 + row * scale);
                        self.fill(x, y, scale, scale, ink);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_has_cells_bars_and_label_ink() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("grid.png");
        let imgs: Vec<Image> = (0..3)
            .map(|k| Image::from_fn(20, 10, move |_, _| [50 * k as u8, 0, 0]))
            .collect();
        let labels = vec!["cat".to_string(), "dog".into(), "cat".into()];
        save_grid(&imgs, &labels, &[0, 1, 0], &path).unwrap();
        let png = image::open(&path).unwrap().into_rgb8();
        // 2 columns, 2 rows: width 2 * (20 + 4) + 4, height 2 * (10 + 12 + 4) + 4.
        assert_eq!(png.dimensions(), (52, 56));
        // The second image's pixels sit below its bar.
        assert_eq!(png.get_pixel(28 + 5, 4 + 12 + 5).0, [50, 0, 0]);
        // Its bar has class 1's colour around white label ink.
        let bar: Vec<[u8; 3]> = (28..48)
            .flat_map(|x| (4..16).map(move |y| (x, y)))
            .map(|(x, y)| png.get_pixel(x, y).0)
            .collect();
        assert!(bar.contains(&class_colour(1)));
        assert!(bar.contains(&[0, 0, 0]) || bar.contains(&[255, 255, 255]));
        assert!(save_grid(&[], &[], &[], &path).is_err());
    }
}
