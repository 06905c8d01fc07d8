//! What the classification and segmentation loaders share: the two splits, the batch settings
//! and transforms, the training order and the streams of batches ([`LoaderCore`]), the setters
//! and getters both expose on top of it ([`LoaderSettings`]), and their
//! [`DataLoaders`](fastcandle_core::DataLoaders) implementation (`data_loaders!`).

use super::image_items::ImageItems;
use super::item::{Pipeline, SkipLog};
use super::mask::Masks;
use super::prefetch::Batches;
use crate::error::Result;
use crate::settings::{check_bs, check_prefetch};
use crate::tabular::DEFAULT_BS;
use crate::vision::transforms::augment::AugTransforms;
use crate::vision::transforms::item_tfms::ItemTransform;
use crate::vision::transforms::normalize::Normalize;
use candle_core::Device;
use fastcandle_core::batch::BatchIter;
use fastcandle_core::rng;
use std::path::PathBuf;
use std::sync::Arc;

/// The epoch number test-time augmentation passes draw from (plus the pass): past any
/// training run's epochs.
const TTA_EPOCHS: usize = 1 << 30;

/// The state of an image loader. (Public in name only: this module is private, so that
/// [`HasLoaderCore`] can hand it out.)
#[derive(Debug, Clone)]
pub struct LoaderCore {
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

    /// The validation batches, in order, through the training transforms (random crops,
    /// augmentation) drawn for pass `pass`: what test-time augmentation averages over.
    ///
    /// Each item's random choices come from `mix([seed, TTA_EPOCHS + pass, item, 1])`, so the
    /// passes differ from each other and from every training epoch's draws for the same item
    /// position.
    pub(crate) fn valid_augmented_batches(&self, pass: usize) -> BatchIter<'static> {
        let idx: Vec<usize> = (0..self.valid.len()).collect();
        let plan = idx.chunks(self.bs).map(<[usize]>::to_vec).collect();
        let mut pipeline = self.pipeline(false, TTA_EPOCHS.saturating_add(pass));
        pipeline.train = true;
        Box::new(Batches::new(pipeline, plan, self.prefetch))
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

/// Gives [`LoaderSettings`] the loader's state; implemented by the loaders of this folder only,
/// so that the settings stay theirs.
pub trait HasLoaderCore {
    /// The loader's state.
    fn core(&self) -> &LoaderCore;
    /// The loader's state, to change.
    fn core_mut(&mut self) -> &mut LoaderCore;
}

/// The batch settings and their getters that [`ImageLoader`](crate::vision::ImageLoader) and
/// [`SegmentationLoader`](crate::vision::SegmentationLoader) share (bring it into scope with
/// `use fastcandle_data::vision::*` or `fastcandle::vision::prelude::*`).
///
/// A value out of range is an error naming the option when it is set (`bs(0)`, a `prefetch`
/// over [`MAX_PREFETCH`](crate::settings::MAX_PREFETCH)): those setters return a `Result`.
pub trait LoaderSettings: HasLoaderCore + Sized {
    /// Sets the batch size (fastai: 64); 0 is an error naming `bs`.
    ///
    /// # Notes
    /// The validation set is cut into batches of `bs` too, all kept. With
    /// [`drop_last`](Self::drop_last) (the default) an epoch trains on `n / bs` full batches,
    /// so up to `bs - 1` items, different ones each epoch when [`shuffle`](Self::shuffle)d,
    /// are left out of it. A larger `bs` means fewer optimizer steps per epoch: fastai's
    /// default learning rates assume 64.
    fn bs(mut self, bs: usize) -> Result<Self> {
        self.core_mut().bs = check_bs(bs)?;
        Ok(self)
    }

    /// Sets the seed of the training shuffle and of the augmentations (default 0).
    ///
    /// # Notes
    /// Epoch `k`'s order is drawn from `(seed, k)` and each item's augmentation from
    /// `(seed, k, item)`, so a seed gives the same epochs however they are run (resumed, with
    /// or without [`prefetch`](Self::prefetch)). Without [`shuffle`](Self::shuffle) the seed
    /// still draws the augmentations.
    fn seed(mut self, seed: u64) -> Self {
        self.core_mut().seed = seed;
        self
    }

    /// Whether the training items are shuffled at each epoch (fastai's `shuffle`: yes);
    /// without, every epoch takes them in the split's order.
    ///
    /// # Notes
    /// The validation items are never shuffled. With [`drop_last`](Self::drop_last) and no
    /// shuffle, the same last items are left out of every epoch.
    fn shuffle(mut self, shuffle: bool) -> Self {
        self.core_mut().shuffle = shuffle;
        self
    }

    /// Whether the last incomplete training batch is dropped (fastai: yes).
    ///
    /// # Notes
    /// Only training batches are dropped; validation keeps every item. A training set smaller
    /// than [`bs`](Self::bs) gives no training batch at all with `drop_last`.
    fn drop_last(mut self, drop_last: bool) -> Self {
        self.core_mut().drop_last = drop_last;
        self
    }

    /// Sets the item transforms to the single `tfm` (fastai's `item_tfms=Resize(224)`).
    fn item_tfms(mut self, tfm: impl ItemTransform + 'static) -> Self {
        self.core_mut().item_tfms = vec![Arc::new(tfm)];
        self
    }

    /// Appends an item transform, run after the others.
    fn add_item_tfm(mut self, tfm: impl ItemTransform + 'static) -> Self {
        self.core_mut().item_tfms.push(Arc::new(tfm));
        self
    }

    /// Appends an item transform already shared (as [`Self::item_transforms`] gives them).
    fn add_item_tfm_arc(mut self, tfm: Arc<dyn ItemTransform>) -> Self {
        self.core_mut().item_tfms.push(tfm);
        self
    }

    /// Sets the training augmentations (fastai's `batch_tfms=aug_transforms()`); `None`
    /// removes them.
    fn aug_transforms(mut self, aug: impl Into<Option<AugTransforms>>) -> Self {
        self.core_mut().aug = aug.into();
        self
    }

    /// Sets the normalisation (fastai's `Normalize.from_stats(*imagenet_stats)`).
    fn normalize(mut self, normalize: Normalize) -> Self {
        self.core_mut().normalize = Some(normalize);
        self
    }

    /// Skips image files that cannot be decoded instead of failing the batch;
    /// [`Self::n_skipped`] tells how many were skipped. (A segmentation mask that cannot be
    /// read or does not fit its image always fails the batch.)
    fn skip_bad(mut self, skip_bad: bool) -> Self {
        self.core_mut().skip_bad = skip_bad;
        self
    }

    /// How many finished batches may wait while the one in use trains (default 1, with one
    /// more in the making); 0 makes each batch when asked, in the calling thread. More than
    /// [`MAX_PREFETCH`](crate::settings::MAX_PREFETCH) is an error naming `prefetch`.
    fn prefetch(mut self, depth: usize) -> Result<Self> {
        self.core_mut().prefetch = check_prefetch(depth)?;
        Ok(self)
    }

    /// The number of distinct files skipped as undecodable so far (with `skip_bad`).
    fn n_skipped(&self) -> usize {
        self.core().skipped.files().len()
    }

    /// The files skipped so far, sorted.
    fn skipped_files(&self) -> Vec<PathBuf> {
        self.core().skipped.files()
    }

    /// The batch size.
    fn batch_size(&self) -> usize {
        self.core().bs
    }

    /// The item transforms, in order.
    fn item_transforms(&self) -> &[Arc<dyn ItemTransform>] {
        &self.core().item_tfms
    }

    /// The seed of the shuffle and augmentations.
    fn seed_value(&self) -> u64 {
        self.core().seed
    }

    /// The normalisation applied to batches, if any.
    fn normalization(&self) -> Option<&Normalize> {
        self.core().normalize.as_ref()
    }

    /// The order of the training items in `epoch`: a permutation drawn from `mix([seed,
    /// epoch])`, or their own order without [`Self::shuffle`].
    fn train_order(&self, epoch: usize) -> Vec<usize> {
        self.core().train_order(epoch)
    }
}

impl<T: HasLoaderCore> LoaderSettings for T {}

/// `impl DataLoaders` for a loader with a `core: LoaderCore` field and a `classes()` method;
/// with `tta`, its validation items can also be read through the training transforms
/// ([`DataLoaders::valid_augmented`](fastcandle_core::DataLoaders::valid_augmented)).
macro_rules! data_loaders {
    ($loader:ty, tta) => {
        data_loaders!($loader, {
            fn valid_augmented(
                &self,
                pass: usize,
            ) -> Option<::fastcandle_core::batch::BatchIter<'_>> {
                Some(self.core.valid_augmented_batches(pass))
            }
        });
    };
    ($loader:ty) => {
        data_loaders!($loader, {});
    };
    ($loader:ty, { $($extra:item)* }) => {
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

            fn train_shape(&self) -> Option<::fastcandle_core::batch::TrainShape> {
                Some(::fastcandle_core::batch::TrainShape {
                    items: self.core.train.len(),
                    bs: self.core.bs,
                    drop_last: self.core.drop_last,
                })
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

            $($extra)*
        }
    };
}
pub(crate) use data_loaders;
