//! Resampling, cropping and padding of 8-bit images: the primitives of the item transforms.
//!
//! Resizing runs on `fast_image_resize` (SIMD), whose bilinear convolution is Pillow's (the
//! resampler fastai's `Resize` uses): a triangle filter widened by the scale when shrinking,
//! plain bilinear interpolation of pixel centres when enlarging.

use crate::error::{Error, Result};
use crate::vision::items::image::Image;
use fast_image_resize::images::ImageRef;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use std::cell::RefCell;

/// How pixel values are interpolated when resizing: bilinear for images, nearest for masks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Interpolation {
    /// Pillow's bilinear filter (fastai's default for images).
    #[default]
    Bilinear,
    /// The nearest pixel (fastai's default for segmentation masks: no new class codes).
    Nearest,
}

/// fastai's `PadMode`: how the area outside an image is filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum PadMode {
    /// Black (zero) pixels.
    Zeros,
    /// The edge pixel repeated.
    Border,
    /// The image mirrored about its edge pixels (`... 2 1 | 0 1 2 ... n-1 | n-2 ...`), repeated
    /// as often as needed (fastai's default).
    #[default]
    Reflection,
}

impl PadMode {
    /// The source index for index `i` of a line of `n` pixels, or `None` for zero padding.
    pub(crate) fn index(self, i: i64, n: usize) -> Option<usize> {
        let n = n as i64;
        if (0..n).contains(&i) {
            return Some(i as usize);
        }
        match self {
            PadMode::Zeros => None,
            PadMode::Border => Some(i.clamp(0, n - 1) as usize),
            PadMode::Reflection => {
                if n == 1 {
                    return Some(0);
                }
                let period = 2 * (n - 1);
                let m = i.rem_euclid(period);
                Some(if m < n { m } else { period - m } as usize)
            }
        }
    }
}

thread_local! {
    // A resizer per worker, so its buffers are allocated once.
    static RESIZER: RefCell<Resizer> = RefCell::new(Resizer::new());
}

/// `img` resized to `width x height`.
pub fn resample(img: &Image, width: usize, height: usize, interp: Interpolation) -> Result<Image> {
    if (width, height) == (img.width(), img.height()) {
        return Ok(img.clone());
    }
    let bad = |reason: String| Error::BadData {
        what: format!(
            "resizing a {}x{} image to {width}x{height}",
            img.width(),
            img.height()
        ),
        reason,
    };
    if width == 0 || height == 0 {
        return Err(bad("the target size is empty".into()));
    }
    let pixel = if img.channels() == 1 {
        PixelType::U8
    } else {
        PixelType::U8x3
    };
    let src = ImageRef::new(img.width() as u32, img.height() as u32, img.data(), pixel)
        .map_err(|e| bad(e.to_string()))?;
    let mut dst = fast_image_resize::images::Image::new(width as u32, height as u32, pixel);
    let alg = match interp {
        Interpolation::Bilinear => ResizeAlg::Convolution(FilterType::Bilinear),
        Interpolation::Nearest => ResizeAlg::Nearest,
    };
    let options = ResizeOptions::new().resize_alg(alg);
    RESIZER
        .with(|r| r.borrow_mut().resize(&src, &mut dst, &options))
        .map_err(|e| bad(e.to_string()))?;
    Image::new(width, height, img.channels(), dst.into_vec())
}

/// The `width x height` window of `img` whose top-left corner is `(left, top)` (which may be
/// negative); the part outside the image is filled as `pad` says (fastai's `crop_pad`).
pub fn crop_pad(
    img: &Image,
    left: i64,
    top: i64,
    width: usize,
    height: usize,
    pad: PadMode,
) -> Image {
    let (w, h) = (img.width() as i64, img.height() as i64);
    if left >= 0 && top >= 0 && left + width as i64 <= w && top + height as i64 <= h {
        if (left, top, width as i64, height as i64) == (0, 0, w, h) {
            return img.clone();
        }
        return img.crop(left as usize, top as usize, width, height);
    }
    let c = img.channels();
    let xs: Vec<Option<usize>> = (0..width as i64)
        .map(|x| pad.index(left + x, img.width()))
        .collect();
    let mut data = vec![0u8; width * height * c];
    for (y, row) in data.chunks_exact_mut(width * c).enumerate() {
        let Some(sy) = pad.index(top + y as i64, img.height()) else {
            continue;
        };
        let src = &img.data()[sy * img.width() * c..(sy + 1) * img.width() * c];
        for (x, sx) in xs.iter().enumerate() {
            if let Some(sx) = sx {
                row[x * c..(x + 1) * c].copy_from_slice(&src[sx * c..(sx + 1) * c]);
            }
        }
    }
    Image::new(width, height, c, data).expect("sizes computed above")
}

/// A window of an image (possibly reaching outside it) and the size to resize it to: what
/// `Resize` and `RandomResizedCrop` decide for one item, so that an image and its mask can be
/// cut the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CropPlan {
    /// The window's left edge in the source (negative: padding).
    pub left: i64,
    /// The window's top edge in the source (negative: padding).
    pub top: i64,
    /// The window's width in source pixels.
    pub width: usize,
    /// The window's height in source pixels.
    pub height: usize,
    /// The output width.
    pub out_width: usize,
    /// The output height.
    pub out_height: usize,
}

impl CropPlan {
    /// Cuts the window out of `img` (padding as `pad` says) and resizes it.
    pub fn apply(&self, img: &Image, interp: Interpolation, pad: PadMode) -> Result<Image> {
        let window = crop_pad(img, self.left, self.top, self.width, self.height, pad);
        resample(&window, self.out_width, self.out_height, interp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflection_repeats_without_the_edge() {
        let idx: Vec<usize> = (-4..8)
            .map(|i| PadMode::Reflection.index(i, 3).unwrap())
            .collect();
        assert_eq!(idx, [0, 1, 2, 1, 0, 1, 2, 1, 0, 1, 2, 1]);
        assert_eq!(PadMode::Border.index(-2, 3), Some(0));
        assert_eq!(PadMode::Zeros.index(3, 3), None);
        assert_eq!(PadMode::Reflection.index(-5, 1), Some(0));
    }

    #[test]
    fn crop_pad_reflects_outside_pixels() {
        // One row: 10 20 30.
        let img = Image::new(3, 1, 1, vec![10, 20, 30]).unwrap();
        let p = crop_pad(&img, -2, 0, 7, 1, PadMode::Reflection);
        assert_eq!(p.data(), [30, 20, 10, 20, 30, 20, 10]);
        let p = crop_pad(&img, -1, 0, 4, 1, PadMode::Zeros);
        assert_eq!(p.data(), [0, 10, 20, 30]);
        let c = crop_pad(&img, 1, 0, 2, 1, PadMode::Zeros);
        assert_eq!(c.data(), [20, 30]);
    }

    #[test]
    fn bilinear_upscale_interpolates_pixel_centres() {
        // 2x1 -> 4x1: output centres at 0.25, 0.75, 1.25, 1.75 in source pixels map to
        // sources -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped): 0, 0.25, 0.75, 1 of the way.
        let img = Image::new(2, 1, 1, vec![0, 200]).unwrap();
        let r = resample(&img, 4, 1, Interpolation::Bilinear).unwrap();
        assert_eq!(r.data(), [0, 50, 150, 200]);
        let n = resample(&img, 4, 1, Interpolation::Nearest).unwrap();
        assert_eq!(n.data(), [0, 0, 200, 200]);
    }
}
