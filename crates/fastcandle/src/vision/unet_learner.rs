//! `unet_learner`: fastai's `DynamicUnet` on a pretrainable body, trained on a
//! [`SegmentationDataLoaders`] with cross-entropy over pixels, ready to `fine_tune`.

use super::SegmentationDataLoaders;
use super::learner::item_tfm_configs;
use super::learner_options::{AppLearner, LearnerBuilder};
use super::mask_prediction::{MaskPrediction, masks_of};
use super::seg_predict::{predict_masks, predict_original_size};
use crate::error::{Error, Result};
use candle_core::{DType, Device};
use fastcandle_core::DataLoaders;
use fastcandle_core::grad::no_grad;
use fastcandle_data::vision::{
    LoaderSettings, Normalize, SegmentationLoader, TestImages, batch_images, show_seg_results,
};
use fastcandle_models::{Arch, DynamicUnet, Pretrained};
use fastcandle_train::CrossEntropyLossFlat;
use std::path::{Path, PathBuf};

/// A [`Learner`](fastcandle_train::Learner) for segmentation that also turns a new image into a mask. It dereferences to
/// the [`Learner`](fastcandle_train::Learner), so `fine_tune`, `fit_one_cycle`, `lr_find`, `validate`, `freeze`... apply;
/// the accessors shared with classification are on [`AppLearner`].
pub type UnetLearner = AppLearner<SegmentationLoader, UnetLayout>;

/// The size a U-Net learner's model was laid out for (fastai's `img_size`: the size of the
/// data's images after the item transforms), which an exported learner needs to rebuild it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UnetLayout {
    /// `(height, width)` of the images the decoder was laid out on.
    pub img_size: (usize, usize),
}

/// The options of [`unet_learner`], with fastai's defaults: the data's seed, ImageNet
/// normalisation added to the data when the body is pretrained, no metric. The setters shared
/// with [`vision_learner`](super::vision_learner) are on [`LearnerBuilder`].
pub type UnetLearnerBuilder<'a> = LearnerBuilder<'a, SegmentationLoader>;

/// fastai's `unet_learner(dls, arch, pretrained)`: a `DynamicUnet` on `arch`'s body (its
/// ImageNet weights loaded from `pretrained`) with one output per code, laid out for the size
/// of the data's images, trained with `CrossEntropyLossFlat(axis=1)` and Adam. A pretrained
/// learner starts frozen (only the decoder and the BatchNorm layers train) and its data gets
/// ImageNet's normalisation if it has none.
pub fn unet_learner(
    dls: &SegmentationDataLoaders,
    arch: Arch,
    pretrained: Pretrained,
) -> Result<UnetLearner> {
    UnetLearner::builder(dls, arch)
        .pretrained(pretrained)
        .build()
}

impl UnetLearner {
    /// The options of a learner on `dls` with body `arch` (not pretrained unless told).
    pub fn builder(dls: &SegmentationDataLoaders, arch: Arch) -> UnetLearnerBuilder<'_> {
        UnetLearnerBuilder::with(dls, arch, ())
    }

    /// fastai's `learn.predict(path)`: the mask of one image through the data's validation
    /// transforms, at the size the model sees (the image after the item transforms), with the
    /// probability of every code at every pixel. [`UnetLearner::predict_original_size`] gives
    /// it at the image's own size.
    pub fn predict(&self, path: impl AsRef<Path>) -> Result<MaskPrediction> {
        Ok(self
            .predict_many(vec![path.as_ref().to_path_buf()])?
            .remove(0))
    }

    /// [`UnetLearner::predict`] on many images, batched.
    pub fn predict_many(&self, paths: Vec<PathBuf>) -> Result<Vec<MaskPrediction>> {
        let loader = self.dls.loader();
        let images = TestImages::new(
            paths,
            loader.item_transforms().to_vec(),
            loader.normalization().copied(),
            loader.batch_size(),
            self.dls.device().clone(),
        )?;
        predict_masks(self.learn.model.as_ref(), &images)
    }

    /// The mask of the image at `path` at the image's own size: the whole image (a cropping
    /// `Resize` crops nothing here) scaled as the item transforms scale it, through the model,
    /// and the outputs resized back (nearest) to the image's size. With no item transform it is
    /// [`UnetLearner::predict`]'s mask. An item transform that cannot be saved (see
    /// [`ItemTransform::config`](fastcandle_data::vision::ItemTransform::config)) is an error.
    pub fn predict_original_size(&self, path: impl AsRef<Path>) -> Result<MaskPrediction> {
        let loader = self.dls.loader();
        predict_original_size(
            self.learn.model.as_ref(),
            path.as_ref(),
            &item_tfm_configs(loader.item_transforms())?,
            loader.normalization().copied(),
            self.dls.device(),
        )
    }

    /// fastai's `learn.show_results()`: writes a PNG of the first `n` validation images, each
    /// beside its true mask and the predicted one.
    pub fn show_results(&self, path: impl AsRef<Path>, n: usize) -> Result<()> {
        let loader = self.dls.loader();
        let batch = DataLoaders::valid(loader)
            .next()
            .ok_or_else(|| Error::Invalid("show_results: the validation set is empty".into()))??;
        let model = self.learn.model.as_ref();
        let preds = fastcandle_core::threads::run_in_pool(|| {
            masks_of(&no_grad(|| model.forward_t(&batch.xs, false))?)
        })?;
        let images = batch_images(&batch, loader.normalization())?;
        let truths: Vec<Vec<u32>> = batch
            .ys
            .to_device(&Device::Cpu)?
            .to_dtype(DType::U32)?
            .flatten_from(1)?
            .to_vec2()?;
        let preds: Vec<Vec<u32>> = preds.into_iter().map(|p| p.mask).collect();
        let n = n.min(images.len());
        Ok(show_seg_results(
            &images[..n],
            &truths[..n],
            &preds[..n],
            loader.codes(),
            path,
        )?)
    }
}

impl UnetLearnerBuilder<'_> {
    /// Builds the model (laid out on one validation batch's size, as fastai's
    /// `dls.one_batch()`), loads the pretrained weights, and makes the learner.
    pub fn build(self) -> Result<UnetLearner> {
        let loader = self.dls.loader();
        let seed = self.opts.seed.unwrap_or(loader.seed_value());
        let device = self.dls.device().clone();
        let first = DataLoaders::valid(loader)
            .next()
            .or_else(|| DataLoaders::train(loader, 0).next())
            .ok_or_else(|| Error::Invalid("unet_learner: the data gives no batch".into()))??;
        let (_, _, h, w) = first.xs[0].dims4()?;
        let model = DynamicUnet::new(
            self.arch,
            self.dls.c(),
            (h, w),
            &self.opts.pretrained,
            &device,
            seed,
        )?;
        let dls = if self.opts.adds_normalize(loader.normalization().is_some()) {
            self.dls.with_normalize(Normalize::imagenet())
        } else {
            self.dls.clone()
        };
        let loss = Box::new(CrossEntropyLossFlat::new().axis(1));
        let learn = self
            .opts
            .learner(Box::new(model), dls.loaders(), loss, seed);
        Ok(UnetLearner {
            learn,
            dls,
            arch: self.arch,
            head: UnetLayout { img_size: (h, w) },
        })
    }
}
