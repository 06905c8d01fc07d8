//! Pictures of batches: a PNG grid of images, each under a bar in its class's colour with its
//! caption written in DejaVu Sans ([`Font`]).

use super::png::save_png;
use super::text::Font;
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

/// The captions' font size in pixels.
const CAPTION_PX: f64 = 15.0;

/// Cells narrower than this are scaled up (by a whole factor) so that captions stay readable.
const MIN_CELL_WIDTH: usize = 128;

/// Writes `images` as a PNG grid, each under a bar of its class's colour (`codes`, see
/// [`class_colour`]) holding its label (see [`save_captioned_grid`]).
pub fn save_grid(images: &[Image], labels: &[String], codes: &[u32], path: &Path) -> Result<()> {
    let colours: Vec<[u8; 3]> = codes.iter().map(|&c| class_colour(c)).collect();
    save_captioned_grid(images, labels, &colours, path)
}

/// Writes `images` as a PNG grid (about as many columns as rows), each under a bar of colour
/// `colours[k]` holding `captions[k]` in black or white, whichever reads better on the bar.
///
/// A caption may hold several lines (`'\n'`), each wrapped to the cell's width; the bars grow
/// to hold the longest caption, so nothing is cut off. Images narrower than 128 pixels are
/// scaled up (nearest neighbour, by a whole factor) for the captions to stay readable. A
/// missing caption is empty, a missing colour is class 0's. The file is written atomically.
pub fn save_captioned_grid(
    images: &[Image],
    captions: &[String],
    colours: &[[u8; 3]],
    path: &Path,
) -> Result<()> {
    if images.is_empty() {
        return Err(Error::BadData {
            what: format!("the picture {}", path.display()),
            reason: "there is no image to show".into(),
        });
    }
    let font = Font::sans(CAPTION_PX);
    let widest = images.iter().map(Image::width).max().unwrap_or(1).max(1);
    let scale = MIN_CELL_WIDTH.div_ceil(widest).max(1);
    let cell_w = widest * scale;
    let cell_h = images.iter().map(Image::height).max().unwrap_or(1) * scale;
    let pad = 4;
    let lines: Vec<Vec<String>> = (0..images.len())
        .map(|k| {
            let caption = captions.get(k).map(String::as_str).unwrap_or("");
            font.wrap(caption, (cell_w - 2 * pad) as u32)
        })
        .collect();
    let most_lines = lines.iter().map(Vec::len).max().unwrap_or(1);
    let bar = most_lines * font.line_height() as usize + 2 * pad;
    let gap = 6;
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
        let colour = colours.get(k).copied().unwrap_or(class_colour(0));
        canvas.fill(x0, y0, cell_w, bar, colour);
        for y in 0..img.height() * scale {
            for x in 0..img.width() * scale {
                canvas.put(x0 + x, y0 + bar + y, img.pixel(x / scale, y / scale));
            }
        }
        let size = (width as u32, height as u32);
        for (i, line) in lines[k].iter().enumerate() {
            let x = x0 + (cell_w - (font.width(line) as usize).min(cell_w)) / 2;
            let top = y0 + pad + i * font.line_height() as usize;
            font.draw(
                &mut canvas.data,
                size,
                line,
                (x as i32, top as i32),
                ink_on(colour),
            )?;
        }
    }
    save_png(&canvas.data, width as u32, height as u32, path)
}

/// Black or white, whichever reads better on `background` (by its luma).
pub(crate) fn ink_on(background: [u8; 3]) -> [u8; 3] {
    let [r, g, b] = background.map(f32::from);
    if 0.299 * r + 0.587 * g + 0.114 * b > 140.0 {
        [0, 0, 0]
    } else {
        [255, 255, 255]
    }
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line_h() -> usize {
        Font::sans(CAPTION_PX).line_height() as usize
    }

    #[test]
    fn grid_scales_small_images_up_under_bars() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("grid.png");
        let imgs: Vec<Image> = (0..3)
            .map(|k| Image::from_fn(20, 10, move |x, y| [50 * k as u8, x as u8, y as u8]))
            .collect();
        let labels = vec!["cat".to_string(), "dog".into(), "cat".into()];
        save_grid(&imgs, &labels, &[0, 1, 0], &path).unwrap();
        let png = image::open(&path).unwrap().into_rgb8();
        // 20 pixels wide, scaled 7 times to 140 (at least 128); 2 columns, 2 rows, gaps of 6,
        // bars of one line and 4 pixels above and below.
        let bar = line_h() + 8;
        assert_eq!(
            png.dimensions(),
            (2 * 146 + 6, (2 * (70 + bar + 6) + 6) as u32)
        );
        // The second image sits below its bar, each pixel a 7 x 7 block.
        let (x0, y0) = (6 + 146, 6 + bar);
        for (x, y) in [(0, 0), (6, 6), (7, 0), (139, 69), (50, 23)] {
            let got = png.get_pixel((x0 + x) as u32, (y0 + y) as u32).0;
            assert_eq!(got, [50, (x / 7) as u8, (y / 7) as u8], "at {x}, {y}");
        }
        // Its bar has class 1's colour around label ink.
        let bar_pixels: Vec<[u8; 3]> = (x0..x0 + 140)
            .flat_map(|x| (6..6 + bar).map(move |y| (x, y)))
            .map(|(x, y)| png.get_pixel(x as u32, y as u32).0)
            .collect();
        assert!(bar_pixels.contains(&class_colour(1)));
        assert!(bar_pixels.contains(&ink_on(class_colour(1))));
        assert!(save_grid(&[], &[], &[], &path).is_err());
    }

    #[test]
    fn long_captions_wrap_and_the_bar_grows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("long.png");
        let img = vec![Image::from_fn(128, 16, |_, _| [0, 200, 0])];
        let navy = [0, 0, 128];
        save_captioned_grid(&img, &["short".into()], &[navy], &path).unwrap();
        let short = image::open(&path).unwrap().into_rgb8();
        let caption = "a rather long caption that cannot fit on one line\nand a second one";
        save_captioned_grid(&img, &[caption.into()], &[navy], &path).unwrap();
        let long = image::open(&path).unwrap().into_rgb8();
        let lines = Font::sans(CAPTION_PX).wrap(caption, 120);
        assert!(lines.len() >= 4, "{lines:?}");
        assert_eq!(lines.last().unwrap(), "and a second one");
        assert_eq!(
            long.height() - short.height(),
            ((lines.len() - 1) * line_h()) as u32
        );
        // White ink in every line's band of the bar, and the image right below the bar.
        for k in 0..lines.len() {
            let band = (6 + 4 + k * line_h())..(6 + 4 + (k + 1) * line_h());
            let ink = band
                .flat_map(|y| (6..6 + 128).map(move |x| (x, y)))
                .filter(|&(x, y)| long.get_pixel(x as u32, y as u32).0[0] > 200)
                .count();
            assert!(ink > 10, "line {k}: {ink} ink pixels");
        }
        let below = 6 + 8 + lines.len() * line_h();
        assert_eq!(long.get_pixel(6, below as u32).0, [0, 200, 0]);
        assert_eq!(long.get_pixel(6, below as u32 - 1).0, navy);
    }

    #[test]
    fn ink_reads_on_its_bar() {
        assert_eq!(ink_on([255, 255, 0]), [0, 0, 0]);
        assert_eq!(ink_on([31, 119, 180]), [255, 255, 255]);
    }
}
