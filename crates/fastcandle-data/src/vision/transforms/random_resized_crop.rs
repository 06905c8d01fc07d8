//! fastai's `RandomResizedCrop`: a random window of random area and aspect, resized.

use super::resample::{CropPlan, Interpolation, PadMode, crop_pad};
use crate::error::Result;
use crate::vision::items::image::Image;
use fastcandle_core::SeededRng;
use rand::Rng;

/// fastai's `RandomResizedCrop(size)`: in training, a window covering a random `min_scale` to
/// `max_scale` of the area with an aspect drawn log-uniformly in `ratio`, resized to the size;
/// in validation, the whole image squished to the size plus `val_xtra` (rounded up to a
/// multiple of 8 pixels), then its centre.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RandomResizedCrop {
    /// The output width.
    pub width: usize,
    /// The output height.
    pub height: usize,
    /// The smallest fraction of the area kept (fastai: 0.08).
    pub min_scale: f64,
    /// The largest fraction of the area kept (fastai: 1).
    pub max_scale: f64,
    /// The range of the window's width / height (fastai: 3/4 to 4/3).
    pub ratio: (f64, f64),
    /// The extra fraction of the size that validation images are resized to before their
    /// centre is cut (fastai: 0.14).
    pub val_xtra: f64,
    /// How pixels are interpolated.
    pub interpolation: Interpolation,
}

impl RandomResizedCrop {
    /// A square crop of `size` with fastai's defaults.
    pub fn new(size: usize) -> Self {
        Self {
            width: size,
            height: size,
            min_scale: 0.08,
            max_scale: 1.0,
            ratio: (3.0 / 4.0, 4.0 / 3.0),
            val_xtra: 0.14,
            interpolation: Interpolation::Bilinear,
        }
    }

    /// Sets the smallest fraction of the area kept.
    pub fn min_scale(mut self, min_scale: f64) -> Self {
        self.min_scale = min_scale;
        self
    }

    /// Sets the interpolation (nearest for masks).
    pub fn interpolation(mut self, interpolation: Interpolation) -> Self {
        self.interpolation = interpolation;
        self
    }

    /// The training window of a `w x h` source, drawn as fastai's `before_call`.
    pub fn plan(&self, w: usize, h: usize, rng: &mut SeededRng) -> CropPlan {
        let (wf, hf) = (w as f64, h as f64);
        let plan = |left, top, width, height| CropPlan {
            left,
            top,
            width,
            height,
            out_width: self.width,
            out_height: self.height,
        };
        for _ in 0..10 {
            let area = uniform(rng, self.min_scale, self.max_scale) * wf * hf;
            let ratio = uniform(rng, self.ratio.0.ln(), self.ratio.1.ln()).exp();
            // Python's round(): ties to even.
            let nw = (area * ratio).sqrt().round_ties_even() as usize;
            let nh = (area / ratio).sqrt().round_ties_even() as usize;
            if nw <= w && nh <= h && nw > 0 && nh > 0 {
                let left = rng.random_range(0..=w - nw) as i64;
                let top = rng.random_range(0..=h - nh) as i64;
                return plan(left, top, nw, nh);
            }
        }
        let (cw, ch) = if wf / hf < self.ratio.0 {
            (w, (wf / self.ratio.0) as usize)
        } else if wf / hf > self.ratio.1 {
            ((hf * self.ratio.1) as usize, h)
        } else {
            (w, h)
        };
        plan(((w - cw) / 2) as i64, ((h - ch) / 2) as i64, cw, ch)
    }

    /// The size validation images are squished to before their centre is cut.
    pub fn valid_size(&self) -> (usize, usize) {
        let xtra =
            ((self.width.max(self.height) as f64 * self.val_xtra / 8.0).ceil() * 8.0) as usize;
        (self.width + xtra, self.height + xtra)
    }

    /// The transform of one image (the work of its `ItemTransform::apply`): the training window resized, or in validation the squished image's centre.
    pub(crate) fn crop(&self, img: &Image, train: bool, rng: &mut SeededRng) -> Result<Image> {
        if train {
            return self.plan(img.width(), img.height(), rng).apply(
                img,
                self.interpolation,
                PadMode::Zeros,
            );
        }
        let (fw, fh) = self.valid_size();
        let squished = CropPlan {
            left: 0,
            top: 0,
            width: img.width(),
            height: img.height(),
            out_width: fw,
            out_height: fh,
        }
        .apply(img, self.interpolation, PadMode::Zeros)?;
        let (left, top) = ((fw - self.width) / 2, (fh - self.height) / 2);
        Ok(crop_pad(
            &squished,
            left as i64,
            top as i64,
            self.width,
            self.height,
            PadMode::Zeros,
        ))
    }
}

fn uniform(rng: &mut SeededRng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.random::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use fastcandle_core::rng::rng;

    #[test]
    fn output_sizes_and_windows_follow_fastai() {
        let t = RandomResizedCrop::new(16);
        let img = Image::from_fn(40, 30, |x, y| [x as u8, y as u8, 0]);
        let mut g = rng(3);
        for _ in 0..20 {
            let out = t.crop(&img, true, &mut g).unwrap();
            assert_eq!((out.width(), out.height()), (16, 16));
            let p = t.plan(40, 30, &mut g);
            let (area, aspect) = (
                (p.width * p.height) as f64 / 1200.0,
                p.width as f64 / p.height as f64,
            );
            assert!(p.left >= 0 && p.left as usize + p.width <= 40);
            assert!(p.top >= 0 && p.top as usize + p.height <= 30);
            assert!((0.06..=1.0).contains(&area), "{area}");
            assert!((0.70..=1.43).contains(&aspect), "{aspect}");
        }
        // Validation: 16 + ceil(16 * 0.14 / 8) * 8 = 24, then the centre 16.
        assert_eq!(t.valid_size(), (24, 24));
        let out = t.crop(&img, false, &mut g).unwrap();
        assert_eq!((out.width(), out.height()), (16, 16));
        assert_eq!(RandomResizedCrop::new(224).valid_size(), (256, 256));
        // A very thin image falls back to the widest window of an allowed aspect.
        let thin = RandomResizedCrop::new(8).min_scale(1.0);
        let p = thin.plan(100, 10, &mut g);
        assert_eq!((p.width, p.height, p.left, p.top), (13, 10, 43, 0));
    }
}
