//! One item of a batch: decoded (with its mask, for segmentation), item-transformed, augmented
//! and written into its slots of the batch.
//!
//! An image and its mask get the same window and the same augmentation draw, bilinear for the
//! image and nearest for the mask (fastai's `resamples=(BILINEAR, NEAREST)` and
//! `mode_mask='nearest'`); lighting only changes the image.
//!
//! The [`Pipeline`] that builds batches is declared here with its per-item half; `collate.rs`
//! adds the batching on top of it, so the dependency runs one way (collate uses item).

use super::decode::decode;
use super::image_items::ImageItems;
use super::mask::Masks;
use crate::error::{Error, Result};
use crate::vision::items::image::Image;
use crate::vision::transforms::augment::{AugParams, AugTransforms};
use crate::vision::transforms::item_tfms::ItemTransform;
use crate::vision::transforms::lighting::ValueTable;
use crate::vision::transforms::mask_warp::render_mask;
use crate::vision::transforms::normalize::Normalize;
use crate::vision::transforms::resample::{CropPlan, Interpolation, PadMode};
use crate::vision::transforms::warp::render;
use candle_core::Device;
use fastcandle_core::SeededRng;
use fastcandle_core::rng::{mix, rng};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The files skipped as undecodable, shared by every batch of a loader.
#[derive(Debug, Default)]
pub(crate) struct SkipLog(Mutex<BTreeSet<PathBuf>>);

impl SkipLog {
    pub(crate) fn add(&self, path: PathBuf) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(path);
    }

    pub(crate) fn files(&self) -> Vec<PathBuf> {
        let set = self.0.lock().unwrap_or_else(|e| e.into_inner());
        set.iter().cloned().collect()
    }
}

/// Everything needed to build batches, shared with the prefetching thread.
#[derive(Debug, Clone)]
pub(crate) struct Pipeline {
    pub(crate) items: Arc<ImageItems>,
    /// For segmentation: the mask of each item, which becomes the target.
    pub(crate) masks: Option<Arc<Masks>>,
    pub(crate) item_tfms: Vec<Arc<dyn ItemTransform>>,
    pub(crate) aug: Option<AugTransforms>,
    pub(crate) normalize: Option<Normalize>,
    pub(crate) seed: u64,
    pub(crate) train: bool,
    pub(crate) epoch: usize,
    pub(crate) skip_bad: bool,
    pub(crate) skipped: Arc<SkipLog>,
    pub(crate) device: Device,
}

/// An item once decoded or transformed: its image and, for segmentation, its mask.
pub(crate) struct Sample {
    pub(crate) img: Image,
    pub(crate) mask: Option<Image>,
}

/// Where one item goes in a batch: its image's `3 x H x W` floats and, for segmentation, its
/// mask's `H x W` codes (empty otherwise).
pub(crate) struct Slot<'a> {
    img: &'a mut [f32],
    mask: &'a mut [u32],
}

impl<'a> Slot<'a> {
    /// The slots of `n` items in a batch's image and mask buffers (`masks` empty when there is
    /// no mask).
    pub(crate) fn all(images: &'a mut [f32], masks: &'a mut [u32], n: usize) -> Vec<Self> {
        let chunk = (images.len() / n.max(1)).max(1);
        let plane = (masks.len() / n.max(1)).max(1);
        let mut masks = masks.chunks_mut(plane);
        images
            .chunks_mut(chunk)
            .map(|img| Slot {
                img,
                mask: masks.next().unwrap_or_default(),
            })
            .collect()
    }
}

impl Pipeline {
    /// The generator of item `idx`: the same for the same seed, epoch and item.
    pub(crate) fn item_rng(&self, idx: usize) -> SeededRng {
        rng(mix(&[
            self.seed,
            self.epoch as u64,
            idx as u64,
            self.train as u64,
        ]))
    }

    /// Decodes item `idx`: its image (grey kept grey) and its mask, checked against the image.
    fn decode_item(&self, idx: usize) -> Result<Sample> {
        let path = &self.items.paths[idx];
        let img = match &self.items.memory {
            Some(m) => m.image(idx),
            None => decode(path, true)?,
        };
        let mask = match &self.masks {
            Some(m) => Some(m.load(idx, path, (img.width(), img.height()))?),
            None => None,
        };
        Ok(Sample { img, mask })
    }

    /// Runs the item transforms on `s`: the mask through each transform's
    /// [`for_mask`](crate::vision::ItemTransform::for_mask) version with the image's random choices.
    fn transform(&self, mut s: Sample, idx: usize, g: &mut SeededRng) -> Result<Sample> {
        let path = &self.items.paths[idx];
        for t in &self.item_tfms {
            if let Some(mask) = &s.mask {
                let tm = t.for_mask().ok_or_else(|| Error::BadData {
                    what: format!("transforming the mask of {}", path.display()),
                    reason: format!(
                        "the item transform {t:?} cannot transform segmentation masks \
                         (ItemTransform::for_mask gives none)"
                    ),
                })?;
                let m = tm.apply(mask, self.train, &mut g.clone());
                s.mask = Some(m.map_err(|e| bad_image(e, path))?);
            }
            s.img = t
                .apply(&s.img, self.train, g)
                .map_err(|e| bad_image(e, path))?;
        }
        Ok(s)
    }

    /// Decodes item `idx` and runs the item transforms.
    pub(crate) fn load(&self, idx: usize, g: &mut SeededRng) -> Result<Sample> {
        let s = self.decode_item(idx)?;
        self.transform(s, idx, g)
    }

    /// Writes `s` into `slot`, augmented when training.
    pub(crate) fn write(&self, s: &Sample, g: &mut SeededRng, slot: Slot) {
        let aug = match (&self.aug, self.train) {
            (Some(a), true) => Some(a.draw(s.img.width(), s.img.height(), g)),
            _ => None,
        };
        self.render_sample(s, None, aug.as_ref(), slot);
    }

    /// Writes `s` (or the window `plan` of it, resized) moved as `aug` says: the image through
    /// the value table, the mask's codes at the nearest pixel.
    fn render_sample(
        &self,
        s: &Sample,
        plan: Option<&CropPlan>,
        aug: Option<&AugParams>,
        slot: Slot,
    ) {
        let table = ValueTable::new(aug, self.normalize.as_ref());
        render(&s.img, plan, aug, &table, slot.img);
        if let Some(m) = &s.mask {
            render_mask(m, plan, aug, slot.mask);
        }
    }

    /// Decodes item `idx` and writes it into `slot` (a `size` image): through the item
    /// transforms then [`Self::write`], or, for a training item whose only item transform
    /// enlarges a window of it, resized and augmented in one resampling.
    pub(crate) fn load_into(&self, idx: usize, size: (usize, usize), slot: Slot) -> Result<()> {
        let mut g = self.item_rng(idx);
        let path = &self.items.paths[idx];
        let s = self.decode_item(idx)?;
        let aug = self
            .aug
            .filter(|a| self.train && a.pad_mode != PadMode::Zeros);
        let window = match (aug, self.item_tfms.as_slice()) {
            (Some(aug), [tfm]) => tfm
                .window(s.img.width(), s.img.height(), true, &mut g)
                .map(|w| (aug, w)),
            _ => None,
        };
        let s = match window {
            Some((aug, (plan, pad))) => {
                let (iw, ih) = (s.img.width(), s.img.height());
                let inside = plan.left >= 0
                    && plan.top >= 0
                    && plan.left as usize + plan.width <= iw
                    && plan.top as usize + plan.height <= ih;
                let enlarges = plan.width <= plan.out_width && plan.height <= plan.out_height;
                if inside && enlarges {
                    check_size(plan.out_width, plan.out_height, size, path)?;
                    let params = aug.draw(plan.out_width, plan.out_height, &mut g);
                    self.render_sample(&s, Some(&plan), Some(&params), slot);
                    return Ok(());
                }
                let cut = |img: &Image, interp| {
                    plan.apply(img, interp, pad).map_err(|e| bad_image(e, path))
                };
                Sample {
                    img: cut(&s.img, Interpolation::Bilinear)?,
                    mask: s
                        .mask
                        .map(|m| cut(&m, Interpolation::Nearest))
                        .transpose()?,
                }
            }
            None => self.transform(s, idx, &mut g)?,
        };
        check_size(s.img.width(), s.img.height(), size, path)?;
        self.write(&s, &mut g, slot);
        Ok(())
    }
}

/// An item transform's failure on an image is the image's error (so `skip_bad` skips it).
fn bad_image(e: Error, path: &Path) -> Error {
    match e {
        Error::BadData { reason, .. } => Error::BadImage {
            path: path.to_path_buf(),
            reason,
        },
        e => e,
    }
}

pub(crate) fn check_size(
    width: usize,
    height: usize,
    (w, h): (usize, usize),
    path: &Path,
) -> Result<()> {
    if (width, height) != (w, h) {
        return Err(Error::BadData {
            what: format!("batching {}", path.display()),
            reason: format!(
                "the image is {width}x{height} after the item transforms but the batch is \
                 {w}x{h}; add a Resize item transform so that every image has the same size"
            ),
        });
    }
    Ok(())
}
