//! Segmentation masks (fastai's `MaskBlock`): one class code per pixel, read as integers.
//!
//! A mask is an 8-bit grey image, or a palette PNG read as its palette indices. The `image`
//! crate expands palettes to their colours, so PNG masks are read with the `png` crate, which
//! leaves the indices (and grey values of 1, 2 or 4 bits) as they are.

use crate::error::{Error, Result};
use crate::vision::items::image::Image;
use std::io::Cursor;
use std::path::{Path, PathBuf};

/// Reads the mask at `path` into a 1-channel [`Image`] of class codes: an 8-bit (or 1, 2, 4-bit)
/// grey image's values, or a palette PNG's indices (other formats are read by the `image`
/// crate, which expands palettes: a BMP mask needs a grey palette, whose levels are the codes).
/// Colour (RGB) masks, 16-bit masks, and files that cannot be read or decoded are errors naming
/// the file.
pub fn decode_mask(path: &Path) -> Result<Image> {
    read_codes(path).map_err(|reason| Error::BadMask {
        mask: path.to_path_buf(),
        image: None,
        reason,
    })
}

/// Writes `mask` (1 channel of codes) as an 8-bit PNG: grey, or with `palette` (the colour of
/// each code, at most 256) a palette PNG whose indices are the codes.
pub fn save_mask(path: &Path, mask: &Image, palette: Option<&[[u8; 3]]>) -> Result<()> {
    let bad = |reason: String| Error::BadMask {
        mask: path.to_path_buf(),
        image: None,
        reason,
    };
    if mask.channels() != 1 {
        return Err(bad(format!(
            "cannot write a mask of {} channels; a mask has 1 channel of codes",
            mask.channels()
        )));
    }
    let file = std::fs::File::create(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut enc = png::Encoder::new(
        std::io::BufWriter::new(file),
        mask.width() as u32,
        mask.height() as u32,
    );
    enc.set_depth(png::BitDepth::Eight);
    match palette {
        Some(p) if p.is_empty() || p.len() > 256 => {
            return Err(bad(format!(
                "a palette has 1 to 256 colours, not {}",
                p.len()
            )));
        }
        Some(p) => {
            enc.set_color(png::ColorType::Indexed);
            enc.set_palette(p.concat());
        }
        None => enc.set_color(png::ColorType::Grayscale),
    }
    enc.write_header()
        .and_then(|mut w| {
            w.write_image_data(mask.data())?;
            w.finish()
        })
        .map_err(|e| bad(format!("cannot write the PNG: {e}")))
}

/// The masks of one split, parallel to its images, and how many codes they may hold.
#[derive(Debug, Clone)]
pub(crate) struct Masks {
    /// The mask of each image.
    pub(crate) paths: Vec<PathBuf>,
    /// The number of codes: every value of a mask is below it.
    pub(crate) n_codes: usize,
}

impl Masks {
    /// The mask of item `idx`, whose image `image` is `size = (width, height)`: an error naming
    /// both files when the mask cannot be read, is not of the image's size, or holds a code of
    /// `n_codes` or more.
    pub(crate) fn load(&self, idx: usize, image: &Path, size: (usize, usize)) -> Result<Image> {
        let mask = &self.paths[idx];
        let bad = |reason: String| Error::BadMask {
            mask: mask.clone(),
            image: Some(image.to_path_buf()),
            reason,
        };
        let m = read_codes(mask).map_err(bad)?;
        if (m.width(), m.height()) != size {
            return Err(bad(format!(
                "the mask is {}x{} but its image is {}x{}; a mask must have its image's size",
                m.width(),
                m.height(),
                size.0,
                size.1
            )));
        }
        if let Some(i) = m.data().iter().position(|&v| v as usize >= self.n_codes) {
            return Err(bad(format!(
                "pixel ({}, {}) holds code {} but there are {} codes (0 to {}); check the mask \
                 and the codes",
                i % m.width(),
                i / m.width(),
                m.data()[i],
                self.n_codes,
                self.n_codes.saturating_sub(1)
            )));
        }
        Ok(m)
    }
}

/// The codes of the mask at `path`, or why they cannot be had.
fn read_codes(path: &Path) -> std::result::Result<Image, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read the mask: {e}"))?;
    if image::guess_format(&bytes).ok() == Some(image::ImageFormat::Png) {
        return read_png(&bytes);
    }
    let img = image::load_from_memory(&bytes).map_err(|e| format!("cannot decode it: {e}"))?;
    let (w, h) = (img.width() as usize, img.height() as usize);
    let colour = img.color();
    let data = match img {
        image::DynamicImage::ImageLuma8(g) => g.into_raw(),
        // The image crate expands a BMP's palette: grey palettes come back as equal channels.
        image::DynamicImage::ImageRgb8(rgb)
            if rgb.pixels().all(|p| p[0] == p[1] && p[1] == p[2]) =>
        {
            rgb.pixels().map(|p| p[0]).collect()
        }
        _ => return Err(not_codes(&format!("{colour:?}"))),
    };
    Image::new(w, h, 1, data).map_err(|e| e.to_string())
}

fn not_codes(what: &str) -> String {
    format!(
        "the mask is {what}; a mask must be grey or palette: one class code per pixel, as 8-bit \
         grey values or the indices of a palette PNG"
    )
}

/// A PNG's raw samples: grey values or palette indices, not expanded.
fn read_png(bytes: &[u8]) -> std::result::Result<Image, String> {
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::IDENTITY);
    let decoding = |e: png::DecodingError| format!("cannot decode it: {e}");
    let mut reader = decoder.read_info().map_err(decoding)?;
    let size = reader
        .output_buffer_size()
        .ok_or("cannot decode it: the image is too large")?;
    let mut buf = vec![0; size];
    let info = reader.next_frame(&mut buf).map_err(decoding)?;
    match info.color_type {
        png::ColorType::Grayscale | png::ColorType::Indexed => {}
        png::ColorType::Rgb => return Err(not_codes("RGB")),
        png::ColorType::Rgba => return Err(not_codes("RGBA")),
        png::ColorType::GrayscaleAlpha => return Err(not_codes("grey with alpha")),
    }
    let depth = info.bit_depth as usize;
    if depth > 8 {
        return Err(not_codes("16-bit grey"));
    }
    let (w, h) = (info.width as usize, info.height as usize);
    if w == 0 || h == 0 {
        return Err("the mask is empty (0 pixels)".into());
    }
    let mut data = Vec::with_capacity(w * h);
    for row in buf[..info.buffer_size()].chunks_exact(info.line_size) {
        data.extend((0..w).map(|x| sample(row, x, depth)));
    }
    Image::new(w, h, 1, data).map_err(|e| e.to_string())
}

/// Sample `x` of a row of `depth`-bit samples (1, 2, 4 or 8; packed from the high bits).
fn sample(row: &[u8], x: usize, depth: usize) -> u8 {
    if depth == 8 {
        return row[x];
    }
    let bit = x * depth;
    let shift = 8 - depth - bit % 8;
    (row[bit / 8] >> shift) & ((1u16 << depth) - 1) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(w: usize, h: usize, f: impl Fn(usize, usize) -> u8) -> Image {
        let data = (0..w * h).map(|i| f(i % w, i / w)).collect();
        Image::new(w, h, 1, data).unwrap()
    }

    #[test]
    fn grey_and_palette_masks_read_as_codes() {
        let dir = tempfile::tempdir().unwrap();
        let m = codes(5, 3, |x, y| (x + y) as u8);
        let grey = dir.path().join("g.png");
        save_mask(&grey, &m, None).unwrap();
        assert_eq!(decode_mask(&grey).unwrap(), m);
        // Palette colours whose brightness is nothing like the index.
        let pal = dir.path().join("p.png");
        let colours: Vec<[u8; 3]> = (0..7u8).map(|k| [255 - 40 * k, 9 * k, 200]).collect();
        save_mask(&pal, &m, Some(&colours)).unwrap();
        assert_eq!(decode_mask(&pal).unwrap(), m);
        let bmp = dir.path().join("g.bmp");
        image::GrayImage::from_raw(5, 3, m.data().to_vec())
            .unwrap()
            .save(&bmp)
            .unwrap();
        assert_eq!(decode_mask(&bmp).unwrap(), m);
        image::RgbImage::from_pixel(2, 1, image::Rgb([1, 2, 3]))
            .save(&bmp)
            .unwrap();
        let e = decode_mask(&bmp).unwrap_err().to_string();
        assert!(e.contains("g.bmp") && e.contains("Rgb8"), "{e}");
    }

    #[test]
    fn packed_samples_unpack_from_the_high_bits() {
        // 2-bit samples 3 0 1 2 | 1: 0b11_00_01_10, 0b01_000000.
        let row = [0b1100_0110, 0b0100_0000];
        let got: Vec<u8> = (0..5).map(|x| sample(&row, x, 2)).collect();
        assert_eq!(got, [3, 0, 1, 2, 1]);
        assert_eq!(sample(&[0b1010_0000], 2, 1), 1);
        assert_eq!(sample(&[0x4b], 1, 4), 0xb);
        // A 4-bit palette PNG, written by the png crate.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("four.png");
        let file = std::io::BufWriter::new(std::fs::File::create(&p).unwrap());
        let mut enc = png::Encoder::new(file, 3, 2);
        enc.set_color(png::ColorType::Indexed);
        enc.set_depth(png::BitDepth::Four);
        enc.set_palette([7u8; 3 * 16].to_vec());
        let mut w = enc.write_header().unwrap();
        w.write_image_data(&[0x12, 0x30, 0xf0, 0x00]).unwrap();
        w.finish().unwrap();
        assert_eq!(decode_mask(&p).unwrap().data(), [1, 2, 3, 15, 0, 0]);
    }

    #[test]
    fn colour_masks_and_bad_files_are_errors_naming_them() {
        let dir = tempfile::tempdir().unwrap();
        let rgb = dir.path().join("rgb.png");
        image::RgbImage::new(2, 2).save(&rgb).unwrap();
        let e = decode_mask(&rgb).unwrap_err().to_string();
        assert!(
            e.contains("rgb.png") && e.contains("must be grey or palette"),
            "{e}"
        );
        let junk = dir.path().join("junk.png");
        std::fs::write(&junk, b"\x89PNG\r\n\x1a\nnope").unwrap();
        let e = decode_mask(&junk).unwrap_err().to_string();
        assert!(e.contains("junk.png") && e.contains("cannot decode"), "{e}");
        let e = save_mask(&rgb, &Image::from_fn(1, 1, |_, _| [0; 3]), None).unwrap_err();
        assert!(e.to_string().contains("1 channel"), "{e}");
    }

    #[test]
    fn loading_checks_the_size_and_the_codes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.png");
        save_mask(&p, &codes(4, 2, |x, _| x as u8), None).unwrap();
        let masks = Masks {
            paths: vec![p, dir.path().join("gone.png")],
            n_codes: 4,
        };
        let img = Path::new("img.png");
        assert_eq!(masks.load(0, img, (4, 2)).unwrap().data()[3], 3);
        let e = masks.load(0, img, (5, 2)).unwrap_err().to_string();
        assert!(e.contains("m.png") && e.contains("img.png"), "{e}");
        assert!(e.contains("4x2") && e.contains("5x2"), "{e}");
        let few = Masks {
            n_codes: 3,
            ..masks
        };
        let e = few.load(0, img, (4, 2)).unwrap_err().to_string();
        assert!(e.contains("code 3") && e.contains("3 codes"), "{e}");
        let e = few.load(1, img, (4, 2)).unwrap_err().to_string();
        assert!(e.contains("gone.png") && e.contains("img.png"), "{e}");
    }
}
