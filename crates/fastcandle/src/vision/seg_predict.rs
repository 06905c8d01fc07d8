//! Turning images into masks, shared by a [`UnetLearner`](super::UnetLearner) and an exported
//! one ([`SegmentationPredictor`](super::SegmentationPredictor)): at the model's size (the
//! image after the item transforms, as fastai's `predict`) or at the image's own size.

use super::mask_prediction::{MaskPrediction, masks_of};
use crate::error::{Error, Result};
use candle_core::Device;
use fastcandle_core::Model;
use fastcandle_core::grad::no_grad;
use fastcandle_core::ops::upsample_nearest2d;
use fastcandle_data::vision::{ItemTfmConfig, Normalize, Resize, ResizeMethod, TestImages};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The masks `model` predicts for every image of `images`, in order.
pub(crate) fn predict_masks(model: &dyn Model, images: &TestImages) -> Result<Vec<MaskPrediction>> {
    fastcandle_core::threads::run_in_pool(|| {
        let mut out = Vec::with_capacity(images.len());
        for batch in images.batches() {
            let batch = batch?;
            out.extend(masks_of(&no_grad(|| model.forward_t(&batch.xs, false))?)?);
        }
        Ok(out)
    })
}

/// The mask of the image at `path` at its own size: the whole image (nothing cropped) resized
/// by the scale the item transforms `item_tfms` give it, normalised, through `model` (a U-Net
/// takes any size), and the logits resized (nearest) back to the image's size.
pub(crate) fn predict_original_size(
    model: &dyn Model,
    path: &Path,
    item_tfms: &[ItemTfmConfig],
    normalize: Option<Normalize>,
    device: &Device,
) -> Result<MaskPrediction> {
    let (w, h) = image::image_dimensions(path)
        .map(|(w, h)| (w as usize, h as usize))
        .map_err(|e| Error::File {
            path: path.display().to_string(),
            reason: format!("cannot read the image: {e}"),
        })?;
    let (sw, sh) = item_tfms.iter().fold((w, h), scaled_size);
    let tfms: Vec<Arc<dyn fastcandle_data::vision::ItemTransform>> = if (sw, sh) == (w, h) {
        Vec::new()
    } else {
        vec![Arc::new(
            Resize::with_size(sw, sh).method(ResizeMethod::Squish),
        )]
    };
    let images = TestImages::new(
        vec![PathBuf::from(path)],
        tfms,
        normalize,
        1,
        device.clone(),
    )?;
    fastcandle_core::threads::run_in_pool(|| {
        let mut batches = images.batches();
        let batch = batches.next().ok_or_else(|| Error::File {
            path: path.display().to_string(),
            reason: "the image gave no batch".into(),
        })??;
        let logits = no_grad(|| model.forward_t(&batch.xs, false))?;
        let logits = if (sw, sh) == (w, h) {
            logits
        } else {
            upsample_nearest2d(&logits, h, w)?
        };
        Ok(masks_of(&logits)?.remove(0))
    })
}

/// The size a `w x h` image has once `tfm` has scaled it, before any crop: a cropping
/// `Resize` fits the short side, a padding one the long side, a squishing one (and
/// `RandomResizedCrop`'s validation, which squishes to the size plus `val_xtra`) both.
fn scaled_size((w, h): (usize, usize), tfm: &ItemTfmConfig) -> (usize, usize) {
    let (tw, th, method, extra) = match *tfm {
        ItemTfmConfig::Resize(r) => (r.width, r.height, r.method, 0.0),
        ItemTfmConfig::RandomResizedCrop(r) => {
            (r.width, r.height, ResizeMethod::Squish, r.val_xtra)
        }
    };
    let (fx, fy) = (tw as f64 / w as f64, th as f64 / h as f64);
    let (fx, fy) = match method {
        ResizeMethod::Crop => (fx.max(fy), fx.max(fy)),
        ResizeMethod::Pad => (fx.min(fy), fx.min(fy)),
        ResizeMethod::Squish => (fx, fy),
    };
    let size = |n: usize, f: f64| ((n as f64 * f * (1.0 + extra)).round() as usize).max(1);
    (size(w, fx), size(h, fy))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_keeps_the_whole_image() {
        let crop = ItemTfmConfig::Resize(Resize::new(64));
        // A 200 x 100 image: its short side becomes 64, its long side 128 (not cropped).
        assert_eq!(scaled_size((200, 100), &crop), (128, 64));
        let pad = ItemTfmConfig::Resize(Resize::new(64).method(ResizeMethod::Pad));
        assert_eq!(scaled_size((200, 100), &pad), (64, 32));
        let squish = ItemTfmConfig::Resize(Resize::with_size(30, 20).method(ResizeMethod::Squish));
        assert_eq!(scaled_size((200, 100), &squish), (30, 20));
    }
}
