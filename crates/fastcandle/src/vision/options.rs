//! What every vision `DataLoaders` shares: the options of its factories (split, seed, batch
//! size, transforms, normalisation, device) with fastai's defaults and their setters
//! ([`DataLoadersBuilder`]), and the accessors of the built loaders ([`VisionDataLoaders`]).

use candle_core::Device;
use fastcandle_core::{DataLoaders, DeviceChoice};
use fastcandle_data::RandomSplitter;
use fastcandle_data::settings::{check_bs, check_item_tfms, check_valid_pct};
use fastcandle_data::vision::{
    AugTransforms, ItemSplitter, ItemTransform, Labeller, LoaderSettings, Normalize,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The shared options of every [`DataLoadersBuilder`].
pub(crate) struct LoaderOptions {
    pub(crate) splitter: Option<Box<dyn ItemSplitter>>,
    pub(crate) valid_pct: Option<f64>,
    pub(crate) seed: Option<u64>,
    pub(crate) bs: usize,
    pub(crate) item_tfms: Vec<Arc<dyn ItemTransform>>,
    pub(crate) batch_tfms: Option<AugTransforms>,
    pub(crate) normalize: Option<Normalize>,
    pub(crate) device: DeviceChoice,
    pub(crate) skip_bad: bool,
    pub(crate) shuffle: bool,
}

impl Default for LoaderOptions {
    fn default() -> Self {
        Self {
            splitter: None,
            valid_pct: None,
            seed: None,
            bs: 64,
            item_tfms: Vec::new(),
            batch_tfms: None,
            normalize: None,
            device: DeviceChoice::Auto,
            skip_bad: false,
            shuffle: true,
        }
    }
}

impl LoaderOptions {
    /// The seed asked for, or one from the clock (fastai's `seed=None`).
    pub(crate) fn seed_or_clock(&self) -> u64 {
        crate::files::seed_or_clock(self.seed)
    }

    /// The splitter asked for, or fastai's random split (`valid_pct`, default 0.2) by `seed`.
    pub(crate) fn take_splitter(&mut self, seed: u64) -> Box<dyn ItemSplitter> {
        match self.splitter.take() {
            Some(s) => s,
            None => Box::new(RandomSplitter::new(self.valid_pct.unwrap_or(0.2), seed)),
        }
    }
}

/// `files` with the relative ones taken under the data set's `path` (as fastai joins them).
pub(crate) fn resolve_files(path: &Path, files: Vec<PathBuf>) -> Vec<PathBuf> {
    files
        .into_iter()
        .map(|f| {
            if f.is_absolute() || f.starts_with(path) {
                f
            } else {
                path.join(f)
            }
        })
        .collect()
}

/// A vision `DataLoaders` builder: the options every factory shares (`LoaderOptions`, with
/// their setters, written once here) and what its factory read (`S`: the files and labels of
/// [`ImageDataLoadersBuilder`](super::ImageDataLoadersBuilder), the images and masks of
/// [`SegmentationDataLoadersBuilder`](super::SegmentationDataLoadersBuilder), the in-memory
/// files of [`InMemoryDataLoadersBuilder`](super::InMemoryDataLoadersBuilder)), each with its
/// own `build()`.
///
/// Setters only record; `build()` checks every value and names the option it refuses
/// (`bs: the batch size must be at least 1, got 0`).
pub struct DataLoadersBuilder<S> {
    pub(crate) source: S,
    pub(crate) opts: LoaderOptions,
}

impl<S> DataLoadersBuilder<S> {
    pub(crate) fn with_source(source: S) -> Self {
        Self {
            source,
            opts: LoaderOptions::default(),
        }
    }

    /// The fraction of items put aside at random for validation (fastai: 0.2), in `[0, 1)`
    /// (checked by `build()`); it replaces any splitter.
    pub fn valid_pct(mut self, valid_pct: f64) -> Self {
        self.opts.valid_pct = Some(valid_pct);
        self.opts.splitter = None;
        self
    }

    /// Splits with `splitter` (such as `FileSplitter` for a `valid.txt`) instead of at
    /// random.
    pub fn splitter(mut self, splitter: impl ItemSplitter + 'static) -> Self {
        self.opts.splitter = Some(Box::new(splitter));
        self.opts.valid_pct = None;
        self
    }

    /// The seed of the random split, the shuffle and the augmentations (default: a random
    /// seed, as fastai's `seed=None`).
    ///
    /// # Notes
    /// One seed draws the split, epoch `k`'s training order (from `(seed, k)`) and each
    /// item's augmentation, so a seed gives the same run however it is resumed. Without
    /// [`shuffle`](Self::shuffle) it still draws the split and the augmentations. The
    /// learner takes the data's seed for its own initial weights unless given one.
    pub fn seed(mut self, seed: u64) -> Self {
        self.opts.seed = Some(seed);
        self
    }

    /// The batch size (fastai: 64); `build()` refuses 0, naming `bs`.
    ///
    /// # Notes
    /// The validation set is cut into batches of `bs` too, all kept. Training drops the last
    /// incomplete batch (fastai's `drop_last`), so up to `bs - 1` items, different ones each
    /// epoch when shuffled, are left out of an epoch. A larger `bs` means fewer optimizer steps
    /// per epoch: fastai's default learning rates assume 64.
    pub fn bs(mut self, bs: usize) -> Self {
        self.opts.bs = bs;
        self
    }

    /// Sets the item transform (fastai's `item_tfms=Resize(224)`).
    pub fn item_tfms(mut self, tfm: impl ItemTransform + 'static) -> Self {
        self.opts.item_tfms = vec![Arc::new(tfm)];
        self
    }

    /// Appends an item transform, run after the others.
    pub fn add_item_tfm(mut self, tfm: impl ItemTransform + 'static) -> Self {
        self.opts.item_tfms.push(Arc::new(tfm));
        self
    }

    /// Sets the training augmentations (fastai's `batch_tfms=aug_transforms()`).
    pub fn batch_tfms(mut self, aug: AugTransforms) -> Self {
        self.opts.batch_tfms = Some(aug);
        self
    }

    /// Normalises batches (fastai's `Normalize.from_stats(...)` in `batch_tfms`).
    pub fn normalize(mut self, normalize: Normalize) -> Self {
        self.opts.normalize = Some(normalize);
        self
    }

    /// Where the batches go (default: the best device this build has).
    pub fn device(mut self, device: DeviceChoice) -> Self {
        self.opts.device = device;
        self
    }

    /// Skips images that cannot be decoded instead of failing.
    pub fn skip_bad(mut self, skip_bad: bool) -> Self {
        self.opts.skip_bad = skip_bad;
        self
    }

    /// Whether the training items are shuffled at each epoch (fastai's `shuffle`: yes).
    ///
    /// # Notes
    /// The validation items are never shuffled. Without shuffling, the last incomplete
    /// training batch dropped each epoch holds the same items every time.
    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.opts.shuffle = shuffle;
        self
    }
}

impl LoaderOptions {
    /// Checks the values set, naming the option refused (as the data layer does).
    pub(crate) fn check(&self) -> fastcandle_data::Result<()> {
        check_bs(self.bs)?;
        check_item_tfms(&self.item_tfms)?;
        if let Some(pct) = self.valid_pct {
            check_valid_pct(pct)?;
        }
        Ok(())
    }

    /// `loader` (an `ImageLoader` or a `SegmentationLoader`) with these options and `seed`.
    pub(crate) fn apply<L: LoaderSettings>(self, loader: L, seed: u64) -> crate::Result<L> {
        let mut loader = loader
            .seed(seed)
            .bs(self.bs)?
            .aug_transforms(self.batch_tfms)
            .skip_bad(self.skip_bad)
            .shuffle(self.shuffle);
        for t in self.item_tfms {
            loader = loader.add_item_tfm_arc(t);
        }
        if let Some(n) = self.normalize {
            loader = loader.normalize(n);
        }
        Ok(loader)
    }
}

/// What a vision `DataLoaders` holds: the built loader (`L`: an
/// [`ImageLoader`](fastcandle_data::vision::ImageLoader) for
/// [`ImageDataLoaders`](super::ImageDataLoaders), a
/// [`SegmentationLoader`](fastcandle_data::vision::SegmentationLoader) for
/// [`SegmentationDataLoaders`](super::SegmentationDataLoaders)) and the data set's folder,
/// with the accessors both share, written once here. It dereferences to the loader.
#[derive(Clone)]
pub struct VisionDataLoaders<L> {
    pub(crate) loader: L,
    pub(crate) path: PathBuf,
    /// How the items were labelled, when new files can be labelled the same way (fastai's
    /// `test_dl(..., with_labels=True)`): not for labels given as lists, nor for masks.
    pub(crate) labeller: Option<Arc<dyn Labeller>>,
}

impl<L: LoaderSettings + DataLoaders + Clone + 'static> VisionDataLoaders<L> {
    /// The loaders underneath.
    pub fn loader(&self) -> &L {
        &self.loader
    }

    /// The loaders as the training layer takes them.
    pub fn loaders(&self) -> Arc<dyn DataLoaders> {
        Arc::new(self.loader.clone())
    }

    /// The device the batches go to.
    pub fn device(&self) -> &Device {
        DataLoaders::device(&self.loader)
    }

    /// The data set's folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The class (or code) names, in code order (fastai's `dls.vocab`).
    pub fn vocab(&self) -> &[String] {
        DataLoaders::vocab(&self.loader).unwrap_or_default()
    }

    /// The number of classes or codes (fastai's `dls.c`): the model's outputs.
    pub fn c(&self) -> usize {
        self.vocab().len()
    }

    /// The same loaders with `normalize` applied to their images.
    pub(crate) fn with_normalize(&self, normalize: Normalize) -> Self {
        Self {
            loader: self.loader.clone().normalize(normalize),
            path: self.path.clone(),
            labeller: self.labeller.clone(),
        }
    }
}

impl<L> std::ops::Deref for VisionDataLoaders<L> {
    type Target = L;
    fn deref(&self) -> &L {
        &self.loader
    }
}
