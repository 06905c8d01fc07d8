//! What the classification and segmentation loaders share: the two splits, the batch settings
//! and transforms, the training order and the streams of batches ([`LoaderCore`]), and the
//! builder methods and the [`DataLoaders`](fastcandle_core::DataLoaders) implementation that
//! both expose on top of it (`loader_settings!`, `data_loaders!`).

use super::image_items::ImageItems;
use super::item::{Pipeline, SkipLog};
use super::mask::Masks;
use super::prefetch::Batches;
use crate::tabular::DEFAULT_BS;
use crate::vision::transforms::augment::AugTransforms;
use crate::vision::transforms::item_tfms::ItemTransform;
use crate::vision::transforms::normalize::Normalize;
use candle_core::Device;
use fastcandle_core::batch::BatchIter;
use fastcandle_core::rng;
use std::sync::Arc;

/// The state of an image loader.
#[derive(Debug, Clone)]
pub(crate) struct LoaderCore {
    pub(crate) train: Arc<ImageItems>,
    pub(crate) valid: Arc<ImageItems>,
    /// For segmentation: the masks of the training and of the validation images.
    pub(crate) masks: Option<(Arc<Masks>, Arc<Masks>)>,
    pub(crate) bs: usize,
    pub(crate) seed: u64,
    pub(crate) drop_last: bool,
    /// Whether the training items are shuffled each epoch (fastai's `shuffle`, default yes).
    pub(crate) shuffle: bool,
    pub(crate) device: Device,
    pub(crate) item_tfms: Vec<Arc<dyn ItemTransform>>,
    pub(crate) aug: Option<AugTransforms>,
    pub(crate) normalize: Option<Normalize>,
    pub(crate) skip_bad: bool,
    pub(crate) skipped: Arc<SkipLog>,
    pub(crate) prefetch: usize,
}

impl LoaderCore {
    /// Loaders over `train` and `valid` (and their `masks`, for segmentation): batch size 64,
    /// seed 0, no transform, on `device`.
    pub(crate) fn new(
        train: ImageItems,
        valid: ImageItems,
        masks: Option<(Masks, Masks)>,
        device: Device,
    ) -> Self {
        Self {
            train: Arc::new(train),
            valid: Arc::new(valid),
            masks: masks.map(|(t, v)| (Arc::new(t), Arc::new(v))),
            bs: DEFAULT_BS,
            seed: 0,
            drop_last: true,
            shuffle: true,
            device,
            item_tfms: Vec::new(),
            aug: None,
            normalize: None,
            skip_bad: false,
            skipped: Arc::default(),
            prefetch: 1,
        }
    }

    /// The order of the training items in `epoch`: a permutation drawn from `mix([seed,
    /// epoch])`, or their own order when not shuffling.
    pub(crate) fn train_order(&self, epoch: usize) -> Vec<usize> {
        if !self.shuffle {
            return (0..self.train.len()).collect();
        }
        let mut g = rng::rng(rng::mix(&[self.seed, epoch as u64]));
        rng::permutation(self.train.len(), &mut g)
    }

    fn pipeline(&self, train: bool, epoch: usize) -> Pipeline {
        let masks = self.masks.as_ref().map(|(t, v)| if train { t } else { v });
        Pipeline {
            items: if train { &self.train } else { &self.valid }.clone(),
            masks: masks.cloned(),
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

    /// The training batches of `epoch`: shuffled, the last incomplete batch dropped when
    /// `drop_last`.
    pub(crate) fn train_batches(&self, epoch: usize) -> BatchIter<'static> {
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

    /// The validation batches, in order.
    pub(crate) fn valid_batches(&self) -> BatchIter<'static> {
        let idx: Vec<usize> = (0..self.valid.len()).collect();
        let plan = idx.chunks(self.bs).map(<[usize]>::to_vec).collect();
        Box::new(Batches::new(self.pipeline(false, 0), plan, self.prefetch))
    }

    pub(crate) fn n_train_batches(&self) -> usize {
        let n = self.train.len();
        if self.drop_last {
            n / self.bs
        } else {
            n.div_ceil(self.bs)
        }
    }

    pub(crate) fn n_valid_batches(&self) -> usize {
        self.valid.len().div_ceil(self.bs)
    }
}

/// The builder methods and getters of a loader with a `core: LoaderCore` field, written once
/// for [`ImageLoader`](crate::vision::ImageLoader) and
/// [`SegmentationLoader`](crate::vision::SegmentationLoader).
macro_rules! loader_settings {
    () => {
        /// Sets the batch size (at least 1; fastai: 64).
        pub fn bs(mut self, bs: usize) -> Self {
            self.core.bs = bs.max(1);
            self
        }

        /// Sets the seed of the training shuffle and of the augmentations.
        pub fn seed(mut self, seed: u64) -> Self {
            self.core.seed = seed;
            self
        }

        /// Whether the training items are shuffled at each epoch (fastai's `shuffle`: yes);
        /// without, every epoch takes them in the split's order.
        pub fn shuffle(mut self, shuffle: bool) -> Self {
            self.core.shuffle = shuffle;
            self
        }

        /// Whether the last incomplete training batch is dropped (fastai: yes).
        pub fn drop_last(mut self, drop_last: bool) -> Self {
            self.core.drop_last = drop_last;
            self
        }

        /// Sets the item transforms to the single `tfm` (fastai's `item_tfms=Resize(224)`).
        pub fn item_tfms(mut self, tfm: impl $crate::vision::ItemTransform + 'static) -> Self {
            self.core.item_tfms = vec![::std::sync::Arc::new(tfm)];
            self
        }

        /// Appends an item transform, run after the others.
        pub fn add_item_tfm(mut self, tfm: impl $crate::vision::ItemTransform + 'static) -> Self {
            self.core.item_tfms.push(::std::sync::Arc::new(tfm));
            self
        }

        /// Appends an item transform already shared (as [`Self::item_transforms`] gives them).
        pub fn add_item_tfm_arc(
            mut self,
            tfm: ::std::sync::Arc<dyn $crate::vision::ItemTransform>,
        ) -> Self {
            self.core.item_tfms.push(tfm);
            self
        }

        /// Sets the training augmentations (fastai's `batch_tfms=aug_transforms()`); `None`
        /// removes them.
        pub fn aug_transforms(
            mut self,
            aug: impl Into<Option<$crate::vision::AugTransforms>>,
        ) -> Self {
            self.core.aug = aug.into();
            self
        }

        /// Sets the normalisation (fastai's `Normalize.from_stats(*imagenet_stats)`).
        pub fn normalize(mut self, normalize: $crate::vision::Normalize) -> Self {
            self.core.normalize = Some(normalize);
            self
        }

        /// Skips image files that cannot be decoded instead of failing the batch;
        /// [`Self::n_skipped`] tells how many were skipped. (A segmentation mask that cannot be
        /// read or does not fit its image always fails the batch.)
        pub fn skip_bad(mut self, skip_bad: bool) -> Self {
            self.core.skip_bad = skip_bad;
            self
        }

        /// How many finished batches may wait while the one in use trains (default 1, with one
        /// more in the making); 0 makes each batch when asked, in the calling thread.
        pub fn prefetch(mut self, depth: usize) -> Self {
            self.core.prefetch = depth;
            self
        }

        /// The number of distinct files skipped as undecodable so far (with `skip_bad`).
        pub fn n_skipped(&self) -> usize {
            self.core.skipped.files().len()
        }

        /// The files skipped so far, sorted.
        pub fn skipped_files(&self) -> Vec<::std::path::PathBuf> {
            self.core.skipped.files()
        }

        /// The batch size.
        pub fn batch_size(&self) -> usize {
            self.core.bs
        }

        /// The item transforms, in order.
        pub fn item_transforms(&self) -> &[::std::sync::Arc<dyn $crate::vision::ItemTransform>] {
            &self.core.item_tfms
        }

        /// The seed of the shuffle and augmentations.
        pub fn seed_value(&self) -> u64 {
            self.core.seed
        }

        /// The normalisation applied to batches, if any.
        pub fn normalization(&self) -> Option<&$crate::vision::Normalize> {
            self.core.normalize.as_ref()
        }

        /// The order of the training items in `epoch`: a permutation drawn from `mix([seed,
        /// epoch])`, or their own order without [`Self::shuffle`].
        pub fn train_order(&self, epoch: usize) -> Vec<usize> {
            self.core.train_order(epoch)
        }
    };
}
pub(crate) use loader_settings;

/// `impl DataLoaders` for a loader with a `core: LoaderCore` field and a `classes()` method.
macro_rules! data_loaders {
    ($loader:ty) => {
        impl ::fastcandle_core::DataLoaders for $loader {
            fn train(&self, epoch: usize) -> ::fastcandle_core::batch::BatchIter<'_> {
                self.core.train_batches(epoch)
            }

            fn valid(&self) -> ::fastcandle_core::batch::BatchIter<'_> {
                self.core.valid_batches()
            }

            fn n_train_batches(&self) -> usize {
                self.core.n_train_batches()
            }

            fn n_valid_batches(&self) -> usize {
                self.core.n_valid_batches()
            }

            fn device(&self) -> &::candle_core::Device {
                &self.core.device
            }

            fn vocab(&self) -> Option<&[String]> {
                Some(self.classes())
            }
        }
    };
}
pub(crate) use data_loaders;
