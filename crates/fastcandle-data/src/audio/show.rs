//! Sound as a picture: a spectrogram coloured on matplotlib's viridis scale (plotters'
//! colormap), low frequencies at the bottom, and [`AudioLoader::show_batch`]'s grid of them.

use super::loader::AudioLoader;
use super::spectrogram::Spectrogram;
use crate::error::{Error, Result};
use crate::vision::{Image, save_grid};
use plotters::style::colors::colormaps::ViridisRGB;
use std::path::Path;

/// `spec` as an RGB image, `cols` wide and `rows` high (row 0 of the spectrogram, the lowest
/// band, at the bottom), its values scaled from their minimum (dark purple) to their maximum
/// (yellow).
pub fn spectrogram_image(spec: &Spectrogram) -> Result<Image> {
    let (lo, hi) = spec
        .data
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let span = if hi > lo { hi - lo } else { 1.0 };
    let mut rgb = Vec::with_capacity(spec.rows * spec.cols * 3);
    for y in 0..spec.rows {
        let row = spec.rows - 1 - y;
        for x in 0..spec.cols {
            let t = (spec.data[row * spec.cols + x] - lo) / span;
            let c = ViridisRGB::get_color(t.clamp(0.0, 1.0));
            rgb.extend([c.0, c.1, c.2]);
        }
    }
    Image::new(spec.cols, spec.rows, 3, rgb)
}

impl AudioLoader {
    /// fastai's `show_batch`: writes a PNG grid of the first `n` spectrograms of the first
    /// training batch (augmented, as the model sees them, before normalisation) under their
    /// labels.
    pub fn show_batch(&self, path: impl AsRef<Path>, n: usize) -> Result<()> {
        let order = self.train_order(0);
        let idx = &order[..n.min(order.len()).min(self.batch_size())];
        if idx.is_empty() {
            return Err(Error::BadData {
                what: "show_batch".into(),
                reason: "the training set holds no recording".into(),
            });
        }
        let pictures = self.train_pictures(idx, 0)?;
        let images = pictures
            .iter()
            .map(spectrogram_image)
            .collect::<Result<Vec<_>>>()?;
        let codes = self.train_codes(idx);
        let labels: Vec<String> = codes
            .iter()
            .map(|&c| self.classes()[c as usize].clone())
            .collect();
        save_grid(&images, &labels, &codes, path.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn low_bands_go_at_the_bottom_in_viridis() {
        let s = Spectrogram {
            rows: 2,
            cols: 1,
            data: vec![0.0, 1.0],
        };
        let img = spectrogram_image(&s).unwrap();
        // Row 0 (low, value 0) at the bottom in viridis' purple, the top in its yellow.
        assert_eq!(img.pixel(0, 1), [68, 1, 84]);
        assert_eq!(img.pixel(0, 0), [254, 232, 37]);
    }
}
