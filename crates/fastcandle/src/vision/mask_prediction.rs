//! A predicted segmentation mask (what fastai's `learn.predict` gives for a `MaskBlock`): the
//! code of every pixel, the probability of every code at every pixel, and the mask written as
//! a PNG, coloured with [`mask_palette`] or as raw grey codes.

use crate::error::{Error, Result};
use candle_core::{DType, Device, Tensor};
use fastcandle_data::vision::{Image, save_mask};
use std::path::Path;

/// A predicted mask: one code per pixel, row by row, and the probability of each code.
///
/// As fastai's `learn.predict`, the mask has the size of the model's input, that is of the
/// image after the item transforms (a `Resize(224)` gives a 224 x 224 mask); the predictors'
/// `predict_original_size` gives it at the image's own size.
#[derive(Debug, Clone, PartialEq)]
pub struct MaskPrediction {
    /// The width of the mask.
    pub width: usize,
    /// The height of the mask.
    pub height: usize,
    /// The code of each pixel (the arg-max of the model's outputs), row by row.
    pub mask: Vec<u32>,
    /// The probability of each code at each pixel (the soft-max over codes), code-major as
    /// fastai's `[C, H, W]`: code `c` at `(x, y)` is `probs[(c * height + y) * width + x]`
    /// (see [`MaskPrediction::prob`]).
    pub probs: Vec<f32>,
}

impl MaskPrediction {
    /// The number of codes the model predicts.
    pub fn n_codes(&self) -> usize {
        self.probs.len() / (self.width * self.height).max(1)
    }

    /// The probability of `code` at pixel `(x, y)`, or `None` outside the mask or the codes.
    pub fn prob(&self, code: usize, x: usize, y: usize) -> Option<f32> {
        if x >= self.width || y >= self.height || code >= self.n_codes() {
            return None;
        }
        self.probs
            .get((code * self.height + y) * self.width + x)
            .copied()
    }

    /// The code at pixel `(x, y)`, or `None` outside the mask.
    pub fn code(&self, x: usize, y: usize) -> Option<u32> {
        (x < self.width && y < self.height).then(|| self.mask[y * self.width + x])
    }

    /// The number of pixels of each code (`n_codes` long; codes beyond it are not counted).
    pub fn counts(&self, n_codes: usize) -> Vec<usize> {
        let mut c = vec![0; n_codes];
        for &m in &self.mask {
            if let Some(x) = c.get_mut(m as usize) {
                *x += 1;
            }
        }
        c
    }

    /// Writes the mask as a palette PNG, atomically: each pixel's palette index is its code
    /// (so [`decode_mask`](fastcandle_data::vision::decode_mask) reads the codes back) and the
    /// palette is [`mask_palette`]`(n_codes)`, a distinct colour per code. A model of more
    /// than 256 codes is an error (a PNG palette holds 256 colours).
    pub fn save_mask_png(&self, path: impl AsRef<Path>) -> Result<()> {
        let palette = mask_palette(self.n_codes().max(1));
        self.write(path.as_ref(), Some(&palette))
    }

    /// Writes the mask as an 8-bit grey PNG of raw codes (the value of a pixel is its code, as
    /// the data set's labels are), atomically. A model of more than 256 codes is an error.
    pub fn save_grey_png(&self, path: impl AsRef<Path>) -> Result<()> {
        self.write(path.as_ref(), None)
    }

    fn write(&self, path: &Path, palette: Option<&[[u8; 3]]>) -> Result<()> {
        let too_many = |n: usize| Error::File {
            path: path.display().to_string(),
            reason: format!("cannot write a mask of {n} codes as an 8-bit PNG (at most 256)"),
        };
        if self.n_codes() > 256 {
            return Err(too_many(self.n_codes()));
        }
        let data = self
            .mask
            .iter()
            .map(|&c| u8::try_from(c).map_err(|_| too_many(c as usize + 1)))
            .collect::<Result<Vec<u8>>>()?;
        let img = Image::new(self.width, self.height, 1, data)?;
        // Written beside the target, then renamed over it: never half a file.
        let name = path
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
        save_mask(&tmp, &img, palette)?;
        std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::File {
                path: path.display().to_string(),
                reason: format!("cannot write: {e}"),
            }
        })
    }
}

/// The colour of every code `0..n` in the PNGs [`MaskPrediction::save_mask_png`] writes: the
/// PASCAL VOC colour map, which gives each of the 256 codes of an 8-bit mask its own colour
/// (code 0 black, 1 dark red `(128, 0, 0)`, 2 dark green `(0, 128, 0)`, 3 olive, 4 navy,
/// ...: the bits of the code spread over the high bits of red, green and blue). Codes beyond
/// 255 wrap around.
pub fn mask_palette(n: usize) -> Vec<[u8; 3]> {
    (0..n).map(|code| mask_colour(code as u32)).collect()
}

/// The colour of `code` in [`mask_palette`].
pub fn mask_colour(code: u32) -> [u8; 3] {
    let mut rgb = [0u8; 3];
    let mut c = code & 0xff;
    for shift in (0..8).rev() {
        for (k, channel) in rgb.iter_mut().enumerate() {
            *channel |= (((c >> k) & 1) as u8) << shift;
        }
        c >>= 3;
    }
    rgb
}

/// The masks of a batch of logits `[N, C, H, W]`: the arg-max code of every pixel and the
/// soft-max probabilities.
pub(crate) fn masks_of(logits: &Tensor) -> Result<Vec<MaskPrediction>> {
    let (_, c, height, width) = logits.dims4()?;
    let logits = logits.to_dtype(DType::F32)?;
    let probs = candle_nn::ops::softmax(&logits, 1)?;
    let codes: Vec<Vec<u32>> = logits
        .argmax(1)?
        .to_device(&Device::Cpu)?
        .to_dtype(DType::U32)?
        .flatten_from(1)?
        .to_vec2()?;
    let probs: Vec<Vec<f32>> = probs.to_device(&Device::Cpu)?.flatten_from(1)?.to_vec2()?;
    debug_assert!(probs.iter().all(|p| p.len() == c * height * width));
    Ok(codes
        .into_iter()
        .zip(probs)
        .map(|(mask, probs)| MaskPrediction {
            width,
            height,
            mask,
            probs,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_palette_is_pascal_voc_and_distinct() {
        let p = mask_palette(256);
        assert_eq!(
            &p[..5],
            &[
                [0, 0, 0],
                [128, 0, 0],
                [0, 128, 0],
                [128, 128, 0],
                [0, 0, 128]
            ]
        );
        // VOC's 15 (person) and 255 (its border colour).
        assert_eq!(p[15], [192, 128, 128]);
        assert_eq!(p[255], [224, 224, 192]);
        let mut sorted = p.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 256);
    }

    #[test]
    fn masks_are_the_arg_max_and_probabilities_the_soft_max() {
        // One image 2 wide, 1 high, 3 codes.
        let logits = Tensor::from_vec(
            vec![0f32, 3.0, 1.0, 0.0, 2.0, 0.0],
            (1, 3, 1, 2),
            &Device::Cpu,
        )
        .unwrap();
        let m = masks_of(&logits).unwrap().remove(0);
        assert_eq!(m.mask, [2, 0]);
        assert_eq!(m.n_codes(), 3);
        let e = |x: f32| x.exp();
        let z0 = e(0.0) + e(1.0) + e(2.0);
        assert!((m.prob(2, 0, 0).unwrap() - e(2.0) / z0).abs() < 1e-6);
        let z1 = e(3.0) + e(0.0) + e(0.0);
        assert!((m.prob(0, 1, 0).unwrap() - e(3.0) / z1).abs() < 1e-6);
        assert_eq!(m.prob(3, 0, 0), None);
        assert_eq!(m.code(1, 0), Some(0));
    }
}
