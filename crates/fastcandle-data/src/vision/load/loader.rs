//! The image loaders of a classification data set (fastai's `ImageDataLoaders` once built).

use super::decode::decode;
use super::image_items::ImageItems;
use super::loader_core::{HasLoaderCore, LoaderCore, data_loaders};
use crate::error::{Error, Result};
use crate::vision::items::categories::Categories;
use crate::vision::items::label::{Labeller, label_items};
use crate::vision::items::split::ItemSplitter;
use candle_core::Device;
use rayon::prelude::*;
use std::path::PathBuf;
use std::sync::Arc;

/// The training and validation loaders of an image classification set.
///
/// A batch is `xs = [images f32 [B, 3, H, W]]` and `ys = codes u32 [B]`. Image values are
/// scaled to `0..1` (fastai's `IntToFloatTensor`), then normalised when a
/// [`Normalize`](crate::vision::Normalize) is set: the loader folds the normalisation into the writing
/// of the batch, so batches arrive normalised. Grey images fill the three channels alike.
///
/// Per batch, the items are decoded, item-transformed (such as [`Resize`](crate::vision::Resize)),
/// augmented (training only, [`AugTransforms`](crate::vision::AugTransforms), on the CPU) and written
/// into the batch in parallel on the rayon pool; a producer thread builds the next batches
/// (`prefetch`, default 1 waiting) while the current one trains. The training order of epoch
/// `k` is a permutation drawn from `mix([seed, k])`, the last incomplete batch dropped; each
/// item's random choices come from `mix([seed, k, item, 1])`, so an epoch is the same however
/// it is run.
#[derive(Debug, Clone)]
pub struct ImageLoader {
    core: LoaderCore,
    vocab: Vec<String>,
}

impl ImageLoader {
    /// Loaders over labelled `train` and `valid` items whose codes index `vocab`: batch size
    /// 64, seed 0, no transform, on `device`.
    pub fn new(
        train: ImageItems,
        valid: ImageItems,
        vocab: Vec<String>,
        device: Device,
    ) -> Result<Self> {
        let bad = |reason: String| {
            Err(Error::BadData {
                what: "the image loader".into(),
                reason,
            })
        };
        if train.is_empty() {
            return bad("there are no training items".into());
        }
        for (items, name) in [(&train, "training"), (&valid, "validation")] {
            if items.paths.len() != items.codes.len() {
                return bad(format!(
                    "{} {name} paths but {} codes",
                    items.paths.len(),
                    items.codes.len()
                ));
            }
            if let Some(i) = items.codes.iter().position(|&c| c as usize >= vocab.len()) {
                return bad(format!(
                    "{name} item {} has code {} but there are {} classes",
                    items.paths[i].display(),
                    items.codes[i],
                    vocab.len()
                ));
            }
        }
        Ok(Self {
            core: LoaderCore::new(train, valid, None, device),
            vocab,
        })
    }

    /// Loaders over `items` with their `labels`, split by `(train, valid)` indices. The
    /// vocabulary is the training labels' (sorted); a single class, or a validation label no
    /// training item has, is an error.
    pub fn from_split(
        items: &[PathBuf],
        labels: &[String],
        (train, valid): (Vec<usize>, Vec<usize>),
        device: Device,
    ) -> Result<Self> {
        if items.len() != labels.len() {
            return Err(Error::BadData {
                what: "the image loader".into(),
                reason: format!("{} items but {} labels", items.len(), labels.len()),
            });
        }
        let pick = |idx: &[usize]| -> (Vec<PathBuf>, Vec<String>) {
            idx.iter()
                .map(|&i| (items[i].clone(), labels[i].clone()))
                .unzip()
        };
        let (train_paths, train_labels) = pick(&train);
        let (valid_paths, valid_labels) = pick(&valid);
        let cats = Categories::from_labels(&train_labels)?;
        let train_codes = cats.encode(&train_labels, &train_paths)?;
        let valid_codes = cats.encode(&valid_labels, &valid_paths)?;
        Self::new(
            ImageItems::new(train_paths, train_codes)?,
            ImageItems::new(valid_paths, valid_codes)?,
            cats.classes().to_vec(),
            device,
        )
    }

    /// Loaders over `items`, labelled by `labeller` and split by `splitter` (the data block of
    /// fastai's `ImageDataLoaders.from_name_func` and friends).
    pub fn from_labeller(
        items: &[PathBuf],
        labeller: &dyn Labeller,
        splitter: &dyn ItemSplitter,
        device: Device,
    ) -> Result<Self> {
        let labels = label_items(items, labeller)?;
        let split = splitter.split_items(items)?;
        Self::from_split(items, &labels, split, device)
    }

    /// Decodes every item once (in parallel) before any training. Files that cannot be decoded
    /// are one error naming them all (the first ten with their reasons), or, with `skip_bad`,
    /// are removed and counted in [`n_skipped`](crate::vision::LoaderSettings::n_skipped).
    pub fn verify(mut self) -> Result<Self> {
        let core = &mut self.core;
        let mut failures: Vec<Error> = Vec::new();
        for split in [&mut core.train, &mut core.valid] {
            if split.memory.is_some() {
                continue; // images in memory were checked when they were read
            }
            let bad: Vec<Option<Error>> = fastcandle_core::threads::run_in_pool(|| {
                split
                    .paths
                    .par_iter()
                    .map(|p| decode(p, true).err())
                    .collect()
            });
            if bad.iter().all(Option::is_none) {
                continue;
            }
            let mut kept = ImageItems::default();
            for ((path, &code), err) in split.paths.iter().zip(&split.codes).zip(bad) {
                match err {
                    None => {
                        kept.paths.push(path.clone());
                        kept.codes.push(code);
                    }
                    Some(_) if core.skip_bad => core.skipped.add(path.clone()),
                    Some(e) => failures.push(e),
                }
            }
            *split = Arc::new(kept);
        }
        if !failures.is_empty() {
            const SHOWN: usize = 10;
            let mut reason: Vec<String> =
                failures.iter().take(SHOWN).map(|e| e.to_string()).collect();
            if failures.len() > SHOWN {
                reason.push(format!("... and {} more", failures.len() - SHOWN));
            }
            return Err(Error::BadData {
                what: format!("{} image file(s)", failures.len()),
                reason: format!(
                    "cannot be decoded (skip them with skip_bad):\n  {}",
                    reason.join("\n  ")
                ),
            });
        }
        if core.train.is_empty() {
            return Err(Error::BadData {
                what: "the image loader".into(),
                reason: "no training image could be decoded".into(),
            });
        }
        Ok(self)
    }

    /// The training items.
    pub fn train_items(&self) -> &ImageItems {
        &self.core.train
    }

    /// The validation items.
    pub fn valid_items(&self) -> &ImageItems {
        &self.core.valid
    }

    /// The class names (code order).
    pub fn classes(&self) -> &[String] {
        &self.vocab
    }
}

impl HasLoaderCore for ImageLoader {
    fn core(&self) -> &LoaderCore {
        &self.core
    }

    fn core_mut(&mut self) -> &mut LoaderCore {
        &mut self.core
    }
}

// Test-time augmentation for classification only: a segmentation mask would have to move with
// every augmented pass, and the passes' pixel predictions would no longer line up.
data_loaders!(ImageLoader, tta);
