//! Pictures of segmentation batches: each image beside itself with its mask coloured on top
//! (fastai's `show_batch` draws the mask over the image at half opacity).

use super::grid::{class_colour, first_batch, save_grid};
use crate::error::Result;
use crate::vision::items::codes::Codes;
use crate::vision::items::image::Image;
use crate::vision::load::loader_core::LoaderSettings;
use crate::vision::load::seg_loader::SegmentationLoader;
use candle_core::{DType, Device};
use fastcandle_core::error::Context;
use std::path::Path;

impl SegmentationLoader {
    /// fastai's `show_batch` for segmentation: writes a PNG grid of the first `n` items of the
    /// first training batch (augmented, as the model sees them), each image beside itself with
    /// its mask laid over it ([`overlay_mask`]), under a bar naming the codes present (the void
    /// code, a code named `Void`, left out and left clear).
    pub fn show_batch(&self, path: impl AsRef<Path>, n: usize) -> Result<()> {
        let (batch, images) = first_batch(self, self.normalization())?;
        let masks = batch
            .ys
            .to_device(&Device::Cpu)
            .and_then(|y| y.to_dtype(DType::U32))
            .and_then(|y| y.flatten_from(1))
            .and_then(|y| y.to_vec2::<u32>())
            .context(|| "reading the batch's masks".into())?;
        let void = self.codes().index_of("Void");
        let (mut cells, mut labels, mut bars) = (Vec::new(), Vec::new(), Vec::new());
        for (img, mask) in images.iter().zip(&masks).take(n) {
            let n_codes = self.codes().len();
            let mut counts = vec![0usize; n_codes];
            for &c in mask {
                counts[(c as usize).min(n_codes - 1)] += 1;
            }
            let present: Vec<u32> = (0..counts.len() as u32)
                .filter(|&c| counts[c as usize] > 0 && Some(c) != void)
                .collect();
            let names: Vec<&str> = present
                .iter()
                .filter_map(|&c| self.codes().name(c))
                .collect();
            labels.push(names.join(", "));
            bars.push(
                present
                    .iter()
                    .copied()
                    .max_by_key(|&c| counts[c as usize])
                    .unwrap_or(0),
            );
            cells.push(in_a_row(&[img, &overlay_mask(img, mask, void)], 2));
        }
        save_grid(&cells, &labels, &bars, path.as_ref())
    }
}

/// fastai's `show_results` for segmentation: writes a PNG grid with one cell per image, the
/// image beside its true mask and its predicted mask laid over it ([`overlay_mask`]), under a
/// bar giving the share of pixels predicted right. `truths` and `preds` hold one code per
/// pixel, row by row; codes named by `codes` (a `Void` code is left clear).
pub fn show_seg_results(
    images: &[Image],
    truths: &[Vec<u32>],
    preds: &[Vec<u32>],
    codes: &Codes,
    path: impl AsRef<Path>,
) -> Result<()> {
    let void = codes.index_of("Void");
    let n = images.len().min(truths.len()).min(preds.len());
    let (mut cells, mut labels, mut bars) = (Vec::new(), Vec::new(), Vec::new());
    for ((img, truth), pred) in images.iter().zip(truths).zip(preds).take(n) {
        let right = truth.iter().zip(pred).filter(|(t, p)| t == p).count();
        labels.push(format!(
            "image | truth | prediction\n{:.0}% of pixels right",
            100.0 * right as f64 / truth.len().max(1) as f64
        ));
        bars.push(0);
        let (t, p) = (
            overlay_mask(img, truth, void),
            overlay_mask(img, pred, void),
        );
        cells.push(in_a_row(&[img, &t, &p], 2));
    }
    save_grid(&cells, &labels, &bars, path.as_ref())
}

/// `img` with the colour of each pixel's code ([`class_colour`]) mixed in at half strength;
/// pixels of the `void` code are left as they are. `mask` holds one code per pixel, row by
/// row.
pub fn overlay_mask(img: &Image, mask: &[u32], void: Option<u32>) -> Image {
    let w = img.width();
    Image::from_fn(w, img.height(), |x, y| {
        let p = img.pixel(x, y);
        match mask.get(y * w + x) {
            Some(&c) if Some(c) != void => {
                let k = class_colour(c);
                std::array::from_fn(|i| ((p[i] as u16 + k[i] as u16) / 2) as u8)
            }
            _ => p,
        }
    })
}

/// `images` side by side, top-aligned, `gap` white pixels apart (white below the shorter
/// ones): the cells of segmentation and heat-map pictures.
pub fn in_a_row(images: &[&Image], gap: usize) -> Image {
    let h = images.iter().map(|i| i.height()).max().unwrap_or(0);
    let w = (images.iter().map(|i| i.width() + gap).sum::<usize>()).saturating_sub(gap);
    Image::from_fn(w, h, |x, y| {
        let mut x0 = 0;
        for img in images {
            if x < x0 + img.width() {
                return if y < img.height() {
                    img.pixel(x - x0, y)
                } else {
                    [255; 3]
                };
            }
            x0 += img.width() + gap;
            if x < x0 {
                return [255; 3];
            }
        }
        [255; 3]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vision::show::text::Font;

    #[test]
    fn results_captions_read_in_full() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.png");
        let img = Image::from_fn(96, 72, |_, _| [0, 0, 0]);
        let truth: Vec<u32> = (0..96 * 72).map(|i| (i % 2) as u32).collect();
        let pred = vec![1u32; 96 * 72];
        let codes = Codes::new(vec!["Void".into(), "Road".into()]);
        show_seg_results(&[img], &[truth], &[pred], &codes, &path).unwrap();
        let png = image::open(&path).unwrap().into_rgb8();
        // One cell of three images side by side (3 x 96 + 2 gaps of 2), 6 pixels of margin; the
        // caption in two whole lines: "image | truth | prediction", "50% of pixels right".
        let cell_w = 3 * 96 + 4;
        assert_eq!(png.width(), cell_w + 12);
        let font = Font::sans(15.0);
        let lines = font.wrap(
            "image | truth | prediction\n50% of pixels right",
            cell_w - 8,
        );
        assert_eq!(lines.len(), 2);
        let bar = 2 * font.line_height() + 8;
        assert_eq!(png.height(), 6 + bar + 72 + 6);
        assert_eq!(png.get_pixel(6, 6).0, class_colour(0));
        assert_eq!(png.get_pixel(6, 6 + bar).0, [0, 0, 0]);
    }

    #[test]
    fn overlays_mix_colours_and_leave_void_clear() {
        let img = Image::from_fn(2, 1, |_, _| [100, 100, 100]);
        let o = overlay_mask(&img, &[0, 1], Some(0));
        assert_eq!(o.pixel(0, 0), [100, 100, 100]);
        let k = class_colour(1);
        assert_eq!(o.pixel(1, 0)[0], ((100 + k[0] as u16) / 2) as u8);
        let both = in_a_row(&[&img, &o], 2);
        assert_eq!((both.width(), both.height()), (6, 1));
        assert_eq!(both.pixel(2, 0), [255; 3]);
        assert_eq!(both.pixel(5, 0), o.pixel(1, 0));
    }
}
