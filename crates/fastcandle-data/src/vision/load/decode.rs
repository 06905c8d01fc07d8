//! Decoding image files into 8-bit RGB, whatever their mode.

use crate::error::{Error, Result};
use crate::vision::items::image::Image;
use image::DynamicImage;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// Reads and decodes the image at `path` into RGB: grey becomes three equal channels, an alpha
/// channel is dropped (as PIL's `convert('RGB')`), 16-bit and float images are scaled to 8
/// bits. The format is read from the file's first bytes, not its extension.
///
/// A missing, corrupt or truncated file, or a format that cannot be decoded, is an error
/// naming the file.
pub fn decode_image(path: &Path) -> Result<Image> {
    decode(path, false)
}

/// Decodes `path`, keeping a grey image grey (1 channel) when `keep_grey`: the loader expands
/// it to 3 channels only when it writes the batch, which saves two thirds of the work of
/// resizing and augmenting it.
pub(crate) fn decode(path: &Path, keep_grey: bool) -> Result<Image> {
    let bad = |reason: String| Error::BadImage {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let img = image::load_from_memory(&bytes).map_err(|e| bad(e.to_string()))?;
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w == 0 || h == 0 {
        return Err(bad("the image is empty (0 pixels)".into()));
    }
    let grey = matches!(
        img,
        DynamicImage::ImageLuma8(_)
            | DynamicImage::ImageLumaA8(_)
            | DynamicImage::ImageLuma16(_)
            | DynamicImage::ImageLumaA16(_)
    );
    if keep_grey && grey {
        return Image::new(w, h, 1, img.into_luma8().into_raw());
    }
    Image::new(w, h, 3, img.into_rgb8().into_raw())
}

/// fastai's `verify_images`: the files among `paths` that cannot be decoded, checked in
/// parallel.
pub fn verify_images(paths: &[PathBuf]) -> Vec<PathBuf> {
    fastcandle_core::threads::run_in_pool(|| {
        paths
            .par_iter()
            .filter(|p| decode(p, true).is_err())
            .cloned()
            .collect()
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Writes `img` (an `image` crate buffer) as PNG to `dir/name`.
    pub(crate) fn write_png(dir: &Path, name: &str, img: &DynamicImage) -> PathBuf {
        let p = dir.join(name);
        img.save_with_format(&p, image::ImageFormat::Png).unwrap();
        p
    }

    #[test]
    fn grey_becomes_three_equal_channels_and_alpha_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let grey = image::GrayImage::from_fn(3, 2, |x, y| image::Luma([(10 * x + 100 * y) as u8]));
        let p = write_png(dir.path(), "g.png", &DynamicImage::ImageLuma8(grey));
        let img = decode_image(&p).unwrap();
        assert_eq!((img.width(), img.height(), img.channels()), (3, 2, 3));
        assert_eq!(img.pixel(2, 1), [120, 120, 120]);
        assert_eq!(&img.data()[..6], &[0, 0, 0, 10, 10, 10]);
        // The loader's path keeps it grey.
        let g = decode(&p, true).unwrap();
        assert_eq!((g.channels(), g.data()[5]), (1, 120));

        let rgba = image::RgbaImage::from_pixel(2, 2, image::Rgba([1, 2, 3, 0]));
        let p = write_png(dir.path(), "a.png", &DynamicImage::ImageRgba8(rgba));
        assert_eq!(decode_image(&p).unwrap().pixel(1, 1), [1, 2, 3]);

        let deep =
            image::ImageBuffer::<image::Luma<u16>, _>::from_pixel(1, 1, image::Luma([65535u16]));
        let p = write_png(dir.path(), "d.png", &DynamicImage::ImageLuma16(deep));
        assert_eq!(decode_image(&p).unwrap().pixel(0, 0), [255, 255, 255]);
        let jpeg = image::RgbImage::from_pixel(8, 6, image::Rgb([200, 100, 50]));
        let p = dir.path().join("c.jpg");
        DynamicImage::ImageRgb8(jpeg)
            .save_with_format(&p, image::ImageFormat::Jpeg)
            .unwrap();
        let j = decode_image(&p).unwrap();
        assert_eq!((j.width(), j.height(), j.channels()), (8, 6, 3));
        let [r, g, b] = j.pixel(3, 3);
        assert!(r.abs_diff(200) < 4 && g.abs_diff(100) < 4 && b.abs_diff(50) < 4);
        let half = image::ImageBuffer::<image::Rgb<u16>, _>::from_pixel(
            1,
            1,
            image::Rgb([257u16 * 128, 0, 65535]),
        );
        let p = write_png(dir.path(), "h.png", &DynamicImage::ImageRgb16(half));
        assert_eq!(decode_image(&p).unwrap().pixel(0, 0), [128, 0, 255]);
    }

    #[test]
    fn truncated_or_corrupt_files_are_errors_naming_them() {
        let dir = tempfile::tempdir().unwrap();
        let img = image::RgbImage::from_fn(16, 16, |x, y| image::Rgb([x as u8, y as u8, 7]));
        let p = write_png(dir.path(), "whole.png", &DynamicImage::ImageRgb8(img));
        let bytes = std::fs::read(&p).unwrap();
        let cut = dir.path().join("cut.png");
        std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
        let e = decode_image(&cut).unwrap_err();
        assert!(matches!(e, Error::BadImage { .. }), "{e}");
        assert!(e.to_string().contains("cut.png"), "{e}");
        let junk = dir.path().join("junk.jpg");
        std::fs::write(&junk, b"not an image at all").unwrap();
        assert!(
            decode_image(&junk)
                .unwrap_err()
                .to_string()
                .contains("junk.jpg")
        );
        let missing = dir.path().join("missing.png");
        assert!(
            decode_image(&missing)
                .unwrap_err()
                .to_string()
                .contains("missing.png")
        );
        assert_eq!(verify_images(&[p, cut.clone(), junk.clone()]), [cut, junk]);
    }
}
