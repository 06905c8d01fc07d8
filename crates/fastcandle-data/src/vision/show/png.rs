//! Pictures to PNG files, written atomically (to a temporary file beside, then renamed), so
//! that a reader never sees half a picture.

use crate::error::{Error, Result};
use std::path::Path;

/// Writes `rgb`, an RGB8 buffer of `width` x `height` pixels, to `path` as a PNG, atomically
/// (the folder is created when missing).
pub fn save_png(rgb: &[u8], width: u32, height: u32, path: &Path) -> Result<()> {
    let fail = |reason: String| Error::BadData {
        what: format!("writing {}", path.display()),
        reason,
    };
    let want = width as usize * height as usize * 3;
    if rgb.len() != want {
        return Err(fail(format!(
            "{width} x {height} RGB pixels need {want} bytes, not {}",
            rgb.len()
        )));
    }
    let mut png = Vec::new();
    image::ImageEncoder::write_image(
        image::codecs::png::PngEncoder::new(&mut png),
        rgb,
        width,
        height,
        image::ExtendedColorType::Rgb8,
    )
    .map_err(|e| fail(e.to_string()))?;
    fastcandle_core::tensor_io::write_atomic(path, &png).map_err(|e| fail(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_png_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("a.png");
        let rgb: Vec<u8> = (0..2 * 3 * 3).map(|i| i as u8 * 10).collect();
        save_png(&rgb, 2, 3, &path).unwrap();
        let img = image::open(&path).unwrap().into_rgb8();
        assert_eq!(img.dimensions(), (2, 3));
        assert_eq!(img.into_raw(), rgb);
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(names.len(), 1);
        let err = save_png(&rgb, 5, 5, &path).unwrap_err().to_string();
        assert!(err.contains("a.png"), "{err}");
    }
}
