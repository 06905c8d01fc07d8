//! `vision_learner` (and its old name `cnn_learner`): a pretrainable body and fastai's head on an
//! [`ImageDataLoaders`], ready to `fine_tune`.

use super::ImageDataLoaders;
use super::learner_options::{AppLearner, LearnerBuilder};
use crate::error::{Error, Result};
use crate::prediction::{Prediction, predict_batch};
use candle_core::Device;
use fastcandle_core::{DataLoaders, Model};
use fastcandle_data::vision::{
    ImageLoader, ItemTfmConfig, ItemTransform, LoaderSettings, Normalize, TestImages,
};
use fastcandle_models::{Arch, HeadConfig, Pretrained, VisionModel};
use fastcandle_train::CrossEntropyLossFlat;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A [`Learner`](fastcandle_train::Learner) for image classification that also knows how to turn a new image into a
/// prediction. It dereferences to the [`Learner`](fastcandle_train::Learner), so `fine_tune`, `fit_one_cycle`, `lr_find`,
/// `validate`, `freeze`... apply; the accessors shared with segmentation are on [`AppLearner`].
pub type VisionLearner = AppLearner<ImageLoader, HeadConfig>;

/// The options of [`vision_learner`], with fastai's defaults: the default head, the data's
/// seed, ImageNet normalisation added to the data when the body is pretrained, no metric. The
/// setters shared with [`unet_learner`](super::unet_learner) are on [`LearnerBuilder`].
pub type VisionLearnerBuilder<'a> = LearnerBuilder<'a, ImageLoader, HeadConfig>;

/// fastai's `vision_learner(dls, arch, pretrained)`: `arch`'s body (its ImageNet weights loaded
/// from `pretrained`), fastai's head for the data's classes, cross-entropy, Adam. A pretrained
/// learner starts frozen (only the head and the BatchNorm layers train) and its data gets
/// ImageNet's normalisation if it has none.
pub fn vision_learner(
    dls: &ImageDataLoaders,
    arch: Arch,
    pretrained: Pretrained,
) -> Result<VisionLearner> {
    VisionLearner::builder(dls, arch)
        .pretrained(pretrained)
        .build()
}

/// fastai's old name for [`vision_learner`].
pub fn cnn_learner(
    dls: &ImageDataLoaders,
    arch: Arch,
    pretrained: Pretrained,
) -> Result<VisionLearner> {
    vision_learner(dls, arch, pretrained)
}

impl VisionLearner {
    /// The options of a learner on `dls` with body `arch` (not pretrained unless told).
    pub fn builder(dls: &ImageDataLoaders, arch: Arch) -> VisionLearnerBuilder<'_> {
        VisionLearnerBuilder::with(dls, arch, HeadConfig::default())
    }

    /// fastai's `learn.predict(path)`: the label of one image and the probability of each class.
    /// The image goes through the validation transforms of the data.
    pub fn predict(&self, path: impl AsRef<Path>) -> Result<Prediction> {
        Ok(self
            .predict_many(vec![path.as_ref().to_path_buf()])?
            .remove(0))
    }

    /// [`VisionLearner::predict`] on many images, batched.
    pub fn predict_many(&self, paths: Vec<PathBuf>) -> Result<Vec<Prediction>> {
        let images = self.dls.test_dl(paths)?;
        predict_images(self.learn.model.as_ref(), &images, self.vocab())
    }
}

impl VisionLearnerBuilder<'_> {
    /// The head's options (fastai's `lin_ftrs`, `ps`, `concat_pool`).
    pub fn head(mut self, head: HeadConfig) -> Self {
        self.head = head;
        self
    }

    /// Builds the model (loading the pretrained weights) and the learner.
    pub fn build(self) -> Result<VisionLearner> {
        let seed = self.opts.seed.unwrap_or(self.dls.loader().seed_value());
        let device = self.dls.loader().device().clone();
        let model = VisionModel::with_head(
            self.arch,
            self.dls.c(),
            &self.head,
            &self.opts.pretrained,
            &device,
            seed,
        )?;
        let dls = if self.opts.adds_normalize(self.dls.normalization().is_some()) {
            self.dls.with_normalize(Normalize::imagenet())
        } else {
            self.dls.clone()
        };
        let loss = Box::new(CrossEntropyLossFlat::default());
        let learn = self
            .opts
            .learner(Box::new(model), dls.loaders(), loss, seed);
        Ok(VisionLearner {
            learn,
            dls,
            arch: self.arch,
            head: self.head,
        })
    }
}

/// The prediction of every image of `images` by `model` over `classes`.
pub(crate) fn predict_images(
    model: &dyn Model,
    images: &TestImages,
    classes: &[String],
) -> Result<Vec<Prediction>> {
    fastcandle_core::threads::run_in_pool(|| {
        let mut out = Vec::with_capacity(images.len());
        for batch in images.batches() {
            let batch = batch?;
            out.extend(predict_batch(model, &batch.xs, classes)?);
        }
        Ok(out)
    })
}

/// The saved form of the item transforms, or an error naming the one that cannot be saved.
pub(crate) fn item_tfm_configs(tfms: &[Arc<dyn ItemTransform>]) -> Result<Vec<ItemTfmConfig>> {
    tfms.iter()
        .map(|t| {
            t.config().ok_or_else(|| {
                Error::Invalid(format!(
                    "export: the item transform {t:?} cannot be saved (only Resize and \
                     RandomResizedCrop can); predict with the learner itself instead"
                ))
            })
        })
        .collect()
}

/// `TestImages` for `paths` with a saved pipeline.
pub(crate) fn test_images(
    paths: Vec<PathBuf>,
    item_tfms: &[ItemTfmConfig],
    normalize: Option<Normalize>,
    device: &Device,
) -> Result<TestImages> {
    Ok(TestImages::new(
        paths,
        item_tfms.iter().map(ItemTfmConfig::build).collect(),
        normalize,
        64,
        device.clone(),
    )?)
}
