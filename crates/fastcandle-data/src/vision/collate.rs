//! Turning a list of items into one batch: decode and item transforms, augmentation and the
//! value table, written in parallel straight into the batch's `[B, 3, H, W]` buffer.

use super::augment::AugTransforms;
use super::decode::decode;
use super::image::Image;
use super::item_tfms::ItemTransform;
use super::lighting::ValueTable;
use super::normalize::Normalize;
use super::resample::{Interpolation, PadMode};
use super::warp::render;
use crate::error::{Error, Result};
use candle_core::{Device, Tensor};
use fastcandle_core::error::Context;
use fastcandle_core::rng::{mix, rng};
use fastcandle_core::{Batch, SeededRng};
use rayon::prelude::*;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The items of one split: image paths and their class codes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageItems {
    /// The image files.
    pub paths: Vec<PathBuf>,
    /// The class code of each file.
    pub codes: Vec<u32>,
}

impl ImageItems {
    /// Items from paths and codes of the same length.
    pub fn new(paths: Vec<PathBuf>, codes: Vec<u32>) -> Result<Self> {
        if paths.len() != codes.len() {
            return Err(Error::BadData {
                what: "image items".into(),
                reason: format!("{} paths but {} codes", paths.len(), codes.len()),
            });
        }
        Ok(Self { paths, codes })
    }

    /// The number of items.
    pub fn len(&self) -> usize {
        self.paths.len()
    }

    /// Whether there is no item.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }
}

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

/// A batch's buffer, its images' `(width, height)`, and what became of each item.
type Written = (Vec<f32>, (usize, usize), Vec<Outcome>);

enum Outcome {
    Done,
    Skipped(PathBuf),
    Failed(Error),
}

impl Pipeline {
    /// The generator of item `idx`: the same for the same seed, epoch and item.
    fn item_rng(&self, idx: usize) -> SeededRng {
        rng(mix(&[
            self.seed,
            self.epoch as u64,
            idx as u64,
            self.train as u64,
        ]))
    }

    /// Decodes item `idx` and runs the item transforms.
    fn load(&self, idx: usize, g: &mut SeededRng) -> Result<Image> {
        let path = &self.items.paths[idx];
        let mut img = decode(path, true)?;
        for t in &self.item_tfms {
            img = t
                .apply(&img, self.train, g)
                .map_err(|e| bad_image(e, path))?;
        }
        Ok(img)
    }

    /// Writes `img` into `out`, augmented when training.
    fn write(&self, img: &Image, g: &mut SeededRng, out: &mut [f32]) {
        let aug = match (&self.aug, self.train) {
            (Some(a), true) => Some(a.draw(img.width(), img.height(), g)),
            _ => None,
        };
        let table = ValueTable::new(aug.as_ref(), self.normalize.as_ref());
        render(img, None, aug.as_ref(), &table, out);
    }

    /// Decodes item `idx` and writes it into `out` (a `size` image): through the item
    /// transforms then [`Self::write`], or, for a training item whose only item transform
    /// enlarges a window of it, resized and augmented in one resampling.
    fn load_into(&self, idx: usize, size: (usize, usize), out: &mut [f32]) -> Result<()> {
        let mut g = self.item_rng(idx);
        let path = &self.items.paths[idx];
        let aug = self
            .aug
            .filter(|a| self.train && a.pad_mode != PadMode::Zeros);
        if let (Some(aug), [tfm]) = (aug, self.item_tfms.as_slice()) {
            let img = decode(path, true)?;
            if let Some((plan, pad)) = tfm.window(img.width(), img.height(), true, &mut g) {
                let inside = plan.left >= 0
                    && plan.top >= 0
                    && plan.left as usize + plan.width <= img.width()
                    && plan.top as usize + plan.height <= img.height();
                let enlarges = plan.width <= plan.out_width && plan.height <= plan.out_height;
                if inside && enlarges {
                    check_size(plan.out_width, plan.out_height, size, path)?;
                    let params = aug.draw(plan.out_width, plan.out_height, &mut g);
                    let table = ValueTable::new(Some(&params), self.normalize.as_ref());
                    render(&img, Some(&plan), Some(&params), &table, out);
                    return Ok(());
                }
                let img = plan
                    .apply(&img, Interpolation::Bilinear, pad)
                    .map_err(|e| bad_image(e, path))?;
                check_size(img.width(), img.height(), size, path)?;
                self.write(&img, &mut g, out);
                return Ok(());
            }
        }
        let img = self.load(idx, &mut g)?;
        check_size(img.width(), img.height(), size, path)?;
        self.write(&img, &mut g, out);
        Ok(())
    }

    /// The fixed output size of the item transforms, if the last one has one.
    fn fixed_size(&self) -> Option<(usize, usize)> {
        self.item_tfms.last().and_then(|t| t.output_size())
    }

    /// The batch of items `idxs`; `None` when every one of them was skipped.
    pub(crate) fn batch(&self, idxs: &[usize]) -> Result<Option<Batch>> {
        let (mut buf, (w, h), outcomes) = match self.fixed_size() {
            Some(size) => self.one_pass(idxs, size),
            None => self.two_pass(idxs)?,
        };
        let chunk = 3 * w * h;
        let mut codes = Vec::with_capacity(idxs.len());
        let mut kept = 0;
        for (k, (outcome, &idx)) in outcomes.into_iter().zip(idxs).enumerate() {
            match outcome {
                Outcome::Done => {
                    if kept != k {
                        buf.copy_within(k * chunk..(k + 1) * chunk, kept * chunk);
                    }
                    codes.push(self.items.codes[idx]);
                    kept += 1;
                }
                Outcome::Skipped(path) => self.skipped.add(path),
                Outcome::Failed(e) => return Err(e),
            }
        }
        if kept == 0 {
            return Ok(None);
        }
        buf.truncate(kept * chunk);
        let what = || format!("building an image batch of {kept} items of {w}x{h}");
        let xs = Tensor::from_vec(buf, (kept, 3, h, w), &Device::Cpu)
            .and_then(|t| t.to_device(&self.device))
            .context(what)?;
        let ys = Tensor::from_vec(codes, kept, &self.device).context(what)?;
        Ok(Some(Batch { xs: vec![xs], ys }))
    }

    /// What became of an item: a file that cannot be decoded is skipped with `skip_bad`.
    fn outcome(&self, r: Result<()>) -> Outcome {
        match r {
            Ok(()) => Outcome::Done,
            Err(Error::BadImage { path, .. }) if self.skip_bad => Outcome::Skipped(path),
            Err(e) => Outcome::Failed(e),
        }
    }

    /// Every item decoded, transformed and written in one parallel pass, when the size is
    /// known beforehand.
    fn one_pass(&self, idxs: &[usize], (w, h): (usize, usize)) -> Written {
        let chunk = 3 * w * h;
        let mut buf = super::buffer::batch_buffer(idxs.len() * chunk);
        let outcomes = fastcandle_core::threads::run_in_pool(|| {
            buf.par_chunks_mut(chunk)
                .zip(idxs.par_iter())
                .map(|(out, &idx)| self.outcome(self.load_into(idx, (w, h), out)))
                .collect()
        });
        (buf, (w, h), outcomes)
    }

    /// Items of a size known only once decoded: all decoded first, then written.
    fn two_pass(&self, idxs: &[usize]) -> Result<Written> {
        let loaded: Vec<(Result<Image>, SeededRng)> = fastcandle_core::threads::run_in_pool(|| {
            idxs.par_iter()
                .map(|&idx| {
                    let mut g = self.item_rng(idx);
                    (self.load(idx, &mut g), g)
                })
                .collect()
        });
        let size = loaded
            .iter()
            .find_map(|(r, _)| r.as_ref().ok().map(|i| (i.width(), i.height())))
            .unwrap_or((1, 1));
        let chunk = 3 * size.0 * size.1;
        let mut buf = super::buffer::batch_buffer(idxs.len() * chunk);
        let outcomes = fastcandle_core::threads::run_in_pool(|| {
            buf.par_chunks_mut(chunk)
                .zip(loaded.into_par_iter().zip(idxs.par_iter()))
                .map(|(out, ((img, mut g), &idx))| {
                    let r = img.and_then(|img| {
                        check_size(img.width(), img.height(), size, &self.items.paths[idx])?;
                        self.write(&img, &mut g, out);
                        Ok(())
                    });
                    self.outcome(r)
                })
                .collect()
        });
        Ok((buf, size, outcomes))
    }
}

/// An item transform's failure on an image is the image's error (so `skip_bad` skips it).
fn bad_image(e: Error, path: &std::path::Path) -> Error {
    match e {
        Error::BadData { reason, .. } => Error::BadImage {
            path: path.to_path_buf(),
            reason,
        },
        e => e,
    }
}

fn check_size(
    width: usize,
    height: usize,
    (w, h): (usize, usize),
    path: &std::path::Path,
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
