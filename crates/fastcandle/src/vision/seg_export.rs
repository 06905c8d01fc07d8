//! Exporting a trained segmentation learner and loading it back in another program (fastai's
//! `learn.export()` and `load_learner` for a `unet_learner`): the weights, and what rebuilds the
//! U-Net and turns an image into its input (architecture, codes, the size the decoder was laid
//! out for, item transforms, normalisation).

use super::UnetLearner;
use super::export::{load_weights, read_export, write_export};
use super::learner::{item_tfm_configs, test_images};
use super::mask_prediction::MaskPrediction;
use super::seg_predict::{predict_masks, predict_original_size};
use super::unet_learner::UnetLayout;
use crate::error::Result;
use candle_core::Device;
use fastcandle_core::{DeviceChoice, Model};
use fastcandle_data::vision::{ItemTfmConfig, LoaderSettings, Normalize, TestImages};
use fastcandle_models::{Arch, DynamicUnet, Pretrained};
use std::path::{Path, PathBuf};

/// What `config.json` of an exported segmentation learner holds.
#[derive(serde::Serialize, serde::Deserialize)]
struct ExportedSegmentation {
    format: String,
    arch: Arch,
    codes: Vec<String>,
    unet: UnetLayout,
    item_tfms: Vec<ItemTfmConfig>,
    normalize: Option<Normalize>,
}

const FORMAT: &str = "fastcandle-segmentation-1";

impl UnetLearner {
    /// fastai's `learn.export()`: writes `model.safetensors` (the U-Net's weights and BatchNorm
    /// statistics) and `config.json` (architecture, codes, the size the decoder was laid out
    /// for, the validation item transforms and the normalisation) into `dir`, each atomically.
    /// [`load_unet_learner`] reads them back without the data. An item transform that cannot
    /// be saved is an error naming it.
    pub fn export(&self, dir: impl AsRef<Path>) -> Result<()> {
        let loader = self.dls.loader();
        let config = ExportedSegmentation {
            format: FORMAT.into(),
            arch: self.arch,
            codes: self.vocab().to_vec(),
            unet: self.head,
            item_tfms: item_tfm_configs(loader.item_transforms())?,
            normalize: loader.normalization().copied(),
        };
        write_export(dir.as_ref(), self.learn.model.params(), &config)
    }
}

/// An exported segmentation learner, loaded for inference: [`load_unet_learner`].
pub struct SegmentationPredictor {
    model: DynamicUnet,
    config: ExportedSegmentation,
    device: Device,
}

impl SegmentationPredictor {
    /// fastai's `learn.predict(path)`: the mask of the image at `path` at the size the model
    /// sees (after the saved item transforms), with the probability of every code at every
    /// pixel, exactly as the learner gave before export. An image that cannot be read is an
    /// error naming it.
    pub fn predict(&self, path: impl AsRef<Path>) -> Result<MaskPrediction> {
        Ok(self
            .predict_many(vec![path.as_ref().to_path_buf()])?
            .remove(0))
    }

    /// [`SegmentationPredictor::predict`] on many images, batched.
    pub fn predict_many(&self, paths: Vec<PathBuf>) -> Result<Vec<MaskPrediction>> {
        predict_masks(&self.model, &self.test_dl(paths)?)
    }

    /// The mask of the image at `path` at the image's own size (see
    /// [`UnetLearner::predict_original_size`]).
    pub fn predict_original_size(&self, path: impl AsRef<Path>) -> Result<MaskPrediction> {
        predict_original_size(
            &self.model,
            path.as_ref(),
            &self.config.item_tfms,
            self.config.normalize,
            &self.device,
        )
    }

    /// `paths` batched as the learner's validation set was, for the model.
    pub fn test_dl(&self, paths: Vec<PathBuf>) -> Result<TestImages> {
        test_images(
            paths,
            &self.config.item_tfms,
            self.config.normalize,
            &self.device,
        )
    }

    /// The names of the codes, in code order.
    pub fn codes(&self) -> &[String] {
        &self.config.codes
    }

    /// The architecture of the encoder.
    pub fn arch(&self) -> Arch {
        self.config.arch
    }

    /// The size (`(height, width)`) the decoder was laid out for.
    pub fn img_size(&self) -> (usize, usize) {
        self.config.unet.img_size
    }

    /// The normalisation the model's inputs get, if any.
    pub fn normalization(&self) -> Option<&Normalize> {
        self.config.normalize.as_ref()
    }

    /// The model.
    pub fn model(&self) -> &DynamicUnet {
        &self.model
    }
}

/// Loads what [`UnetLearner::export`] wrote into `dir` (a `cargo xtask train camvid` run
/// folder is one), onto `device`. A missing or corrupt `config.json` or `model.safetensors`
/// is an error naming the file.
///
/// ```no_run
/// # use fastcandle::vision::prelude::*;
/// # fn main() -> fastcandle::Result<()> {
/// let learn = load_unet_learner("runs/camvid/export", DeviceChoice::Auto)?;
/// let pred = learn.predict("street.png")?;
/// pred.save_mask_png("street_mask.png")?;
/// # Ok(()) }
/// ```
pub fn load_unet_learner(
    dir: impl AsRef<Path>,
    device: DeviceChoice,
) -> Result<SegmentationPredictor> {
    let dir = dir.as_ref();
    let config: ExportedSegmentation = read_export(dir, FORMAT, "segmentation")?;
    let device = device.device()?;
    let model = DynamicUnet::new(
        config.arch,
        config.codes.len(),
        config.unet.img_size,
        &Pretrained::No,
        &device,
        0,
    )?;
    load_weights(dir, model.params(), &device)?;
    Ok(SegmentationPredictor {
        model,
        config,
        device,
    })
}
