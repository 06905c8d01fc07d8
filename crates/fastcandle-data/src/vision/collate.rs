//! Turning a list of items into one batch: each item loaded and written (see [`super::item`])
//! in parallel straight into the batch's `[B, 3, H, W]` buffer and, for segmentation, its
//! `[B, H, W]` buffer of mask codes.

use super::augment::AugTransforms;
use super::in_memory::{InMemoryImages, MemoryItems};
use super::item::{Sample, Slot, check_size};
use super::item_tfms::ItemTransform;
use super::mask::Masks;
use super::normalize::Normalize;
use crate::error::{Error, Result};
use candle_core::{Device, Tensor};
use fastcandle_core::error::Context;
use fastcandle_core::{Batch, SeededRng};
use rayon::prelude::*;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The items of one split: image paths and their class codes, and, for images held in memory
/// (IDX, CIFAR-10), the images themselves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageItems {
    /// The image files; for images in memory, their names (`train-images-idx3-ubyte.gz[7]`).
    pub paths: Vec<PathBuf>,
    /// The class code of each file.
    pub codes: Vec<u32>,
    /// For images in memory: the images, read from there instead of from `paths`.
    pub memory: Option<MemoryItems>,
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
        Ok(Self {
            paths,
            codes,
            memory: None,
        })
    }

    /// Items held in memory: image `index[k]` of `images` with code `codes[k]`, named
    /// `name[index[k]]`. An index past the images, or lengths that differ, is an error.
    pub fn in_memory(
        images: Arc<InMemoryImages>,
        index: Vec<usize>,
        codes: Vec<u32>,
    ) -> Result<Self> {
        let what = || format!("image items of {}", images.name());
        if index.len() != codes.len() {
            return Err(Error::BadData {
                what: what(),
                reason: format!("{} images but {} codes", index.len(), codes.len()),
            });
        }
        if let Some(&i) = index.iter().find(|&&i| i >= images.len()) {
            return Err(Error::BadData {
                what: what(),
                reason: format!("item {i} asked for but there are {} images", images.len()),
            });
        }
        Ok(Self {
            paths: index.iter().map(|&i| images.item_name(i)).collect(),
            codes,
            memory: Some(MemoryItems { images, index }),
        })
    }

    /// Every image of `images`, in order, with its code (`codes` has one per image).
    pub fn from_images(images: Arc<InMemoryImages>, codes: Vec<u32>) -> Result<Self> {
        let index = (0..images.len()).collect();
        Self::in_memory(images, index, codes)
    }

    /// The items at positions `idx`, in that order (a split of these items).
    pub fn subset(&self, idx: &[usize]) -> Self {
        Self {
            paths: idx.iter().map(|&i| self.paths[i].clone()).collect(),
            codes: idx.iter().map(|&i| self.codes[i]).collect(),
            memory: self.memory.as_ref().map(|m| MemoryItems {
                images: m.images.clone(),
                index: idx.iter().map(|&i| m.index[i]).collect(),
            }),
        }
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

/// A batch's buffers (images, and mask codes for segmentation), its images' `(width, height)`,
/// and what became of each item.
struct Written {
    images: Vec<f32>,
    masks: Vec<u32>,
    size: (usize, usize),
    outcomes: Vec<Outcome>,
}

enum Outcome {
    Done,
    Skipped(PathBuf),
    Failed(Error),
}

impl Pipeline {
    /// The fixed output size of the item transforms, if the last one has one.
    fn fixed_size(&self) -> Option<(usize, usize)> {
        self.item_tfms.last().and_then(|t| t.output_size())
    }

    /// The number of mask codes an item of `w x h` writes: `w * h` for segmentation, else 0.
    fn mask_plane(&self, (w, h): (usize, usize)) -> usize {
        if self.masks.is_some() { w * h } else { 0 }
    }

    /// The batch of items `idxs`; `None` when every one of them was skipped.
    pub(crate) fn batch(&self, idxs: &[usize]) -> Result<Option<Batch>> {
        let Written {
            mut images,
            mut masks,
            size: (w, h),
            outcomes,
        } = match self.fixed_size() {
            Some(size) => self.one_pass(idxs, size),
            None => self.two_pass(idxs)?,
        };
        let (chunk, plane) = (3 * w * h, self.mask_plane((w, h)));
        let mut codes = Vec::with_capacity(idxs.len());
        let mut kept = 0;
        for (k, (outcome, &idx)) in outcomes.into_iter().zip(idxs).enumerate() {
            match outcome {
                Outcome::Done => {
                    if kept != k {
                        images.copy_within(k * chunk..(k + 1) * chunk, kept * chunk);
                        masks.copy_within(k * plane..(k + 1) * plane, kept * plane);
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
        images.truncate(kept * chunk);
        masks.truncate(kept * plane);
        let what = || format!("building an image batch of {kept} items of {w}x{h}");
        let xs = Tensor::from_vec(images, (kept, 3, h, w), &Device::Cpu)
            .and_then(|t| t.to_device(&self.device))
            .context(what)?;
        let ys = match self.masks {
            Some(_) => Tensor::from_vec(masks, (kept, h, w), &self.device),
            None => Tensor::from_vec(codes, kept, &self.device),
        }
        .context(what)?;
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

    /// Zeroed buffers for `n` items of `size`.
    fn buffers(&self, n: usize, (w, h): (usize, usize)) -> (Vec<f32>, Vec<u32>) {
        let images = super::buffer::batch_buffer(n * 3 * w * h);
        (images, vec![0; n * self.mask_plane((w, h))])
    }

    /// Every item decoded, transformed and written in one parallel pass, when the size is
    /// known beforehand.
    fn one_pass(&self, idxs: &[usize], size: (usize, usize)) -> Written {
        let (mut images, mut masks) = self.buffers(idxs.len(), size);
        let slots = Slot::all(&mut images, &mut masks, idxs.len());
        let outcomes = fastcandle_core::threads::run_in_pool(|| {
            slots
                .into_par_iter()
                .zip(idxs.par_iter())
                .map(|(slot, &idx)| self.outcome(self.load_into(idx, size, slot)))
                .collect()
        });
        Written {
            images,
            masks,
            size,
            outcomes,
        }
    }

    /// Items of a size known only once decoded: all decoded first, then written.
    fn two_pass(&self, idxs: &[usize]) -> Result<Written> {
        let loaded: Vec<(Result<Sample>, SeededRng)> =
            fastcandle_core::threads::run_in_pool(|| {
                idxs.par_iter()
                    .map(|&idx| {
                        let mut g = self.item_rng(idx);
                        (self.load(idx, &mut g), g)
                    })
                    .collect()
            });
        let size = loaded
            .iter()
            .find_map(|(r, _)| r.as_ref().ok().map(|s| (s.img.width(), s.img.height())))
            .unwrap_or((1, 1));
        let (mut images, mut masks) = self.buffers(idxs.len(), size);
        let slots = Slot::all(&mut images, &mut masks, idxs.len());
        let outcomes = fastcandle_core::threads::run_in_pool(|| {
            slots
                .into_par_iter()
                .zip(loaded.into_par_iter().zip(idxs.par_iter()))
                .map(|(slot, ((sample, mut g), &idx))| {
                    let r = sample.and_then(|s| {
                        check_size(s.img.width(), s.img.height(), size, &self.items.paths[idx])?;
                        self.write(&s, &mut g, slot);
                        Ok(())
                    });
                    self.outcome(r)
                })
                .collect()
        });
        Ok(Written {
            images,
            masks,
            size,
            outcomes,
        })
    }
}
