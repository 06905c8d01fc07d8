//! `unet_learner`: fastai's `DynamicUnet` on a pretrainable body, trained on a
//! [`SegmentationDataLoaders`] with cross-entropy over pixels, ready to `fine_tune`.

use super::SegmentationDataLoaders;
use super::learner_options::{AppLearner, LearnerBuilder};
use crate::error::{Error, Result};
use candle_core::{DType, Device, Tensor};
use fastcandle_core::DataLoaders;
use fastcandle_core::grad::no_grad;
use fastcandle_data::vision::{
    Image, LoaderSettings, Normalize, SegmentationLoader, TestImages, batch_images, save_mask,
    show_seg_results,
};
use fastcandle_models::{Arch, DynamicUnet, Pretrained};
use fastcandle_train::CrossEntropyLossFlat;
use std::path::{Path, PathBuf};

/// A [`Learner`](fastcandle_train::Learner) for segmentation that also turns a new image into a mask. It dereferences to
/// the [`Learner`](fastcandle_train::Learner), so `fine_tune`, `fit_one_cycle`, `lr_find`, `validate`, `freeze`... apply;
/// the accessors shared with classification are on [`AppLearner`].
pub type UnetLearner = AppLearner<SegmentationLoader>;

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

/// A predicted mask: one code per pixel, row by row.
#[derive(Debug, Clone, PartialEq)]
pub struct MaskPrediction {
    /// The width of the mask (the model's input width).
    pub width: usize,
    /// The height of the mask.
    pub height: usize,
    /// The code of each pixel (the arg-max of the model's outputs), row by row.
    pub mask: Vec<u32>,
}

impl MaskPrediction {
    /// The number of pixels of each code (`n_codes` long).
    pub fn counts(&self, n_codes: usize) -> Vec<usize> {
        let mut c = vec![0; n_codes];
        for &m in &self.mask {
            if let Some(x) = c.get_mut(m as usize) {
                *x += 1;
            }
        }
        c
    }

    /// Writes the mask as an 8-bit grey PNG of codes (as the data set's labels are).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let data = self.mask.iter().map(|&c| c.min(255) as u8).collect();
        let img = Image::new(self.width, self.height, 1, data)?;
        Ok(save_mask(path.as_ref(), &img, None)?)
    }
}

impl UnetLearner {
    /// The options of a learner on `dls` with body `arch` (not pretrained unless told).
    pub fn builder(dls: &SegmentationDataLoaders, arch: Arch) -> UnetLearnerBuilder<'_> {
        UnetLearnerBuilder::with(dls, arch, ())
    }

    /// fastai's `learn.predict(path)`: the mask of one image, through the data's validation
    /// transforms.
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
        let model = self.learn.model.as_ref();
        fastcandle_core::threads::run_in_pool(|| {
            let mut out = Vec::with_capacity(images.len());
            for batch in images.batches() {
                let batch = batch?;
                out.extend(masks_of(&no_grad(|| model.forward_t(&batch.xs, false))?)?);
            }
            Ok(out)
        })
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

/// The arg-max masks of a batch of logits `[N, C, H, W]`.
fn masks_of(logits: &Tensor) -> Result<Vec<MaskPrediction>> {
    let (_, _, height, width) = logits.dims4()?;
    let codes: Vec<Vec<u32>> = logits
        .argmax(1)?
        .to_device(&Device::Cpu)?
        .to_dtype(DType::U32)?
        .flatten_from(1)?
        .to_vec2()?;
    Ok(codes
        .into_iter()
        .map(|mask| MaskPrediction {
            width,
            height,
            mask,
        })
        .collect())
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
            head: (),
        })
    }
}
