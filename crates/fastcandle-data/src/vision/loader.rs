//! The image loaders of a classification data set (fastai's `ImageDataLoaders` once built).

use super::augment::AugTransforms;
use super::categories::Categories;
use super::collate::{ImageItems, Pipeline, SkipLog};
use super::decode::decode;
use super::item_tfms::ItemTransform;
use super::label::{Labeller, label_items};
use super::normalize::Normalize;
use super::prefetch::Batches;
use super::split::ItemSplitter;
use crate::error::{Error, Result};
use crate::tabular::DEFAULT_BS;
use candle_core::Device;
use fastcandle_core::batch::BatchIter;
use fastcandle_core::{DataLoaders, rng};
use rayon::prelude::*;
use std::path::PathBuf;
use std::sync::Arc;

/// The training and validation loaders of an image classification set.
///
/// A batch is `xs = [images f32 [B, 3, H, W]]` and `ys = codes u32 [B]`. Image values are
/// scaled to `0..1` (fastai's `IntToFloatTensor`), then normalised when a [`Normalize`] is set:
/// the loader folds the normalisation into the writing of the batch, so batches arrive
/// normalised. Grey images fill the three channels alike.
///
/// Per batch, the items are decoded, item-transformed (such as [`Resize`](super::Resize)),
/// augmented (training only, [`AugTransforms`], on the CPU) and written into the batch in
/// parallel on the rayon pool; a producer thread builds the next batches (`prefetch`, default
/// 1 waiting) while the current one trains. The training order of epoch `k` is a permutation
/// drawn from `mix([seed, k])`, the last incomplete batch dropped; each item's random choices
/// come from `mix([seed, k, item, 1])`, so an epoch is the same however it is run.
#[derive(Debug, Clone)]
pub struct ImageLoader {
    train: Arc<ImageItems>,
    valid: Arc<ImageItems>,
    vocab: Vec<String>,
    bs: usize,
    seed: u64,
    drop_last: bool,
    device: Device,
    item_tfms: Vec<Arc<dyn ItemTransform>>,
    aug: Option<AugTransforms>,
    normalize: Option<Normalize>,
    skip_bad: bool,
    skipped: Arc<SkipLog>,
    prefetch: usize,
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
            train: Arc::new(train),
            valid: Arc::new(valid),
            vocab,
            bs: DEFAULT_BS,
            seed: 0,
            drop_last: true,
            device,
            item_tfms: Vec::new(),
            aug: None,
            normalize: None,
            skip_bad: false,
            skipped: Arc::default(),
            prefetch: 1,
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

    /// Sets the batch size (at least 1; fastai: 64).
    pub fn bs(mut self, bs: usize) -> Self {
        self.bs = bs.max(1);
        self
    }

    /// Sets the seed of the training shuffle and of the augmentations.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Whether the last incomplete training batch is dropped (fastai: yes).
    pub fn drop_last(mut self, drop_last: bool) -> Self {
        self.drop_last = drop_last;
        self
    }

    /// Sets the item transforms to the single `tfm` (fastai's `item_tfms=Resize(224)`).
    pub fn item_tfms(mut self, tfm: impl ItemTransform + 'static) -> Self {
        self.item_tfms = vec![Arc::new(tfm)];
        self
    }

    /// Appends an item transform, run after the others.
    pub fn add_item_tfm(mut self, tfm: impl ItemTransform + 'static) -> Self {
        self.item_tfms.push(Arc::new(tfm));
        self
    }

    /// Appends an item transform already shared (as [`Self::item_transforms`] gives them).
    pub fn add_item_tfm_arc(mut self, tfm: Arc<dyn ItemTransform>) -> Self {
        self.item_tfms.push(tfm);
        self
    }

    /// Sets the training augmentations (fastai's `batch_tfms=aug_transforms()`); `None`
    /// removes them.
    pub fn aug_transforms(mut self, aug: impl Into<Option<AugTransforms>>) -> Self {
        self.aug = aug.into();
        self
    }

    /// Sets the normalisation (fastai's `Normalize.from_stats(*imagenet_stats)`).
    pub fn normalize(mut self, normalize: Normalize) -> Self {
        self.normalize = Some(normalize);
        self
    }

    /// Skips files that cannot be decoded instead of failing the batch; [`Self::n_skipped`]
    /// tells how many were skipped.
    pub fn skip_bad(mut self, skip_bad: bool) -> Self {
        self.skip_bad = skip_bad;
        self
    }

    /// How many finished batches may wait while the one in use trains (default 1, with one
    /// more in the making); 0 makes each batch when asked, in the calling thread.
    pub fn prefetch(mut self, depth: usize) -> Self {
        self.prefetch = depth;
        self
    }

    /// Decodes every item once (in parallel) before any training. A file that cannot be decoded
    /// is an error naming it, or, with `skip_bad`, is removed and counted in
    /// [`Self::n_skipped`].
    pub fn verify(mut self) -> Result<Self> {
        for split in [&mut self.train, &mut self.valid] {
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
                    Some(_) if self.skip_bad => self.skipped.add(path.clone()),
                    Some(e) => return Err(e),
                }
            }
            *split = Arc::new(kept);
        }
        if self.train.is_empty() {
            return Err(Error::BadData {
                what: "the image loader".into(),
                reason: "no training image could be decoded".into(),
            });
        }
        Ok(self)
    }

    /// The number of distinct files skipped as undecodable so far (by [`Self::verify`] or
    /// while iterating, with `skip_bad`).
    pub fn n_skipped(&self) -> usize {
        self.skipped.files().len()
    }

    /// The files skipped so far, sorted.
    pub fn skipped_files(&self) -> Vec<PathBuf> {
        self.skipped.files()
    }

    /// The training items.
    pub fn train_items(&self) -> &ImageItems {
        &self.train
    }

    /// The validation items.
    pub fn valid_items(&self) -> &ImageItems {
        &self.valid
    }

    /// The class names (code order).
    pub fn classes(&self) -> &[String] {
        &self.vocab
    }

    /// The batch size.
    pub fn batch_size(&self) -> usize {
        self.bs
    }

    /// The item transforms, in order.
    pub fn item_transforms(&self) -> &[Arc<dyn ItemTransform>] {
        &self.item_tfms
    }

    /// The seed of the shuffle and augmentations.
    pub fn seed_value(&self) -> u64 {
        self.seed
    }

    /// The normalisation applied to batches, if any.
    pub fn normalization(&self) -> Option<&Normalize> {
        self.normalize.as_ref()
    }

    /// The order of the training items in `epoch`: a permutation drawn from `mix([seed,
    /// epoch])`.
    pub fn train_order(&self, epoch: usize) -> Vec<usize> {
        let mut g = rng::rng(rng::mix(&[self.seed, epoch as u64]));
        rng::permutation(self.train.len(), &mut g)
    }

    fn pipeline(&self, train: bool, epoch: usize) -> Pipeline {
        Pipeline {
            items: if train { &self.train } else { &self.valid }.clone(),
            item_tfms: self.item_tfms.clone(),
            aug: self.aug,
            normalize: self.normalize,
            seed: self.seed,
            train,
            epoch,
            skip_bad: self.skip_bad,
            skipped: self.skipped.clone(),
            device: self.device.clone(),
        }
    }
}

impl DataLoaders for ImageLoader {
    fn train(&self, epoch: usize) -> BatchIter<'_> {
        let order = self.train_order(epoch);
        let plan = order
            .chunks(self.bs)
            .take(self.n_train_batches())
            .map(<[usize]>::to_vec)
            .collect();
        Box::new(Batches::new(
            self.pipeline(true, epoch),
            plan,
            self.prefetch,
        ))
    }

    fn valid(&self) -> BatchIter<'_> {
        let idx: Vec<usize> = (0..self.valid.len()).collect();
        let plan = idx.chunks(self.bs).map(<[usize]>::to_vec).collect();
        Box::new(Batches::new(self.pipeline(false, 0), plan, self.prefetch))
    }

    fn n_train_batches(&self) -> usize {
        let n = self.train.len();
        if self.drop_last {
            n / self.bs
        } else {
            n.div_ceil(self.bs)
        }
    }

    fn n_valid_batches(&self) -> usize {
        self.valid.len().div_ceil(self.bs)
    }

    fn device(&self) -> &Device {
        &self.device
    }

    fn vocab(&self) -> Option<&[String]> {
        Some(&self.vocab)
    }
}
