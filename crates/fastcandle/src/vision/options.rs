//! The options every vision `DataLoaders` factory shares (split, seed, batch size, transforms,
//! normalisation, device), with fastai's defaults, and the builder setters that set them.

use fastcandle_core::DeviceChoice;
use fastcandle_data::RandomSplitter;
use fastcandle_data::vision::{AugTransforms, ItemSplitter, ItemTransform, Normalize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The shared options of [`ImageDataLoadersBuilder`](super::ImageDataLoadersBuilder) and
/// [`SegmentationDataLoadersBuilder`](super::SegmentationDataLoadersBuilder).
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
        self.seed.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0)
        })
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

/// The setters of [`LoaderOptions`] on a builder with an `opts` field.
macro_rules! loader_option_setters {
    () => {
        /// The fraction of items put aside at random for validation (fastai: 0.2); it
        /// replaces any splitter.
        pub fn valid_pct(mut self, valid_pct: f64) -> Self {
            self.opts.valid_pct = Some(valid_pct);
            self.opts.splitter = None;
            self
        }

        /// Splits with `splitter` (such as `FileSplitter` for a `valid.txt`) instead of at
        /// random.
        pub fn splitter(
            mut self,
            splitter: impl fastcandle_data::vision::ItemSplitter + 'static,
        ) -> Self {
            self.opts.splitter = Some(Box::new(splitter));
            self.opts.valid_pct = None;
            self
        }

        /// The seed of the random split, the shuffle and the augmentations (default: a random
        /// seed, as fastai's `seed=None`).
        pub fn seed(mut self, seed: u64) -> Self {
            self.opts.seed = Some(seed);
            self
        }

        /// The batch size (fastai: 64).
        pub fn bs(mut self, bs: usize) -> Self {
            self.opts.bs = bs;
            self
        }

        /// Sets the item transform (fastai's `item_tfms=Resize(224)`).
        pub fn item_tfms(
            mut self,
            tfm: impl fastcandle_data::vision::ItemTransform + 'static,
        ) -> Self {
            self.opts.item_tfms = vec![std::sync::Arc::new(tfm)];
            self
        }

        /// Appends an item transform, run after the others.
        pub fn add_item_tfm(
            mut self,
            tfm: impl fastcandle_data::vision::ItemTransform + 'static,
        ) -> Self {
            self.opts.item_tfms.push(std::sync::Arc::new(tfm));
            self
        }

        /// Sets the training augmentations (fastai's `batch_tfms=aug_transforms()`).
        pub fn batch_tfms(mut self, aug: fastcandle_data::vision::AugTransforms) -> Self {
            self.opts.batch_tfms = Some(aug);
            self
        }

        /// Normalises batches (fastai's `Normalize.from_stats(...)` in `batch_tfms`).
        pub fn normalize(mut self, normalize: fastcandle_data::vision::Normalize) -> Self {
            self.opts.normalize = Some(normalize);
            self
        }

        /// Where the batches go (default: the best device this build has).
        pub fn device(mut self, device: fastcandle_core::DeviceChoice) -> Self {
            self.opts.device = device;
            self
        }

        /// Skips images that cannot be decoded instead of failing.
        pub fn skip_bad(mut self, skip_bad: bool) -> Self {
            self.opts.skip_bad = skip_bad;
            self
        }

        /// Whether the training items are shuffled at each epoch (fastai's `shuffle`: yes).
        pub fn shuffle(mut self, shuffle: bool) -> Self {
            self.opts.shuffle = shuffle;
            self
        }
    };
}

pub(crate) use loader_option_setters;

/// `loader` (an `ImageLoader` or a `SegmentationLoader`) with the options `opts` and `seed`.
macro_rules! apply_loader_options {
    ($loader:expr, $opts:expr, $seed:expr) => {{
        let opts = $opts;
        let mut loader = $loader
            .seed($seed)
            .bs(opts.bs)
            .aug_transforms(opts.batch_tfms)
            .skip_bad(opts.skip_bad)
            .shuffle(opts.shuffle);
        for t in opts.item_tfms {
            loader = loader.add_item_tfm_arc(t);
        }
        if let Some(n) = opts.normalize {
            loader = loader.normalize(n);
        }
        loader
    }};
}

pub(crate) use apply_loader_options;

/// The accessors both `DataLoaders` of the application share, over a `loader` and a `path`
/// field (`$loader` is the loader's type).
macro_rules! dls_accessors {
    ($loader:ty) => {
        /// The loaders underneath.
        pub fn loader(&self) -> &$loader {
            &self.loader
        }

        /// The loaders as the training layer takes them.
        pub fn loaders(&self) -> std::sync::Arc<dyn fastcandle_core::DataLoaders> {
            std::sync::Arc::new(self.loader.clone())
        }

        /// The device the batches go to.
        pub fn device(&self) -> &candle_core::Device {
            fastcandle_core::DataLoaders::device(&self.loader)
        }

        /// The data set's folder.
        pub fn path(&self) -> &std::path::Path {
            &self.path
        }

        /// The class (or code) names, in code order (fastai's `dls.vocab`).
        pub fn vocab(&self) -> &[String] {
            self.loader.classes()
        }

        /// The number of classes or codes (fastai's `dls.c`): the model's outputs.
        pub fn c(&self) -> usize {
            self.vocab().len()
        }

        /// Writes a picture of the first `n` items of a training batch, as a PNG (fastai's
        /// `dls.show_batch`).
        pub fn show_batch(&self, path: impl AsRef<std::path::Path>, n: usize) -> Result<()> {
            Ok(self.loader.show_batch(path, n)?)
        }

        /// The same loaders with `normalize` applied to their images.
        pub(crate) fn with_normalize(&self, normalize: fastcandle_data::vision::Normalize) -> Self {
            Self {
                loader: self.loader.clone().normalize(normalize),
                path: self.path.clone(),
            }
        }
    };
}

pub(crate) use dls_accessors;
