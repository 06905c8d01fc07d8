//! Exporting a trained vision learner for inference in another process, and loading it back
//! (fastai's `learn.export()` and `load_learner`).

use super::learner::{VisionLearner, item_tfm_configs, predict_images, test_images};
use crate::error::{Error, Result};
use crate::prediction::Prediction;
use candle_core::Device;
use fastcandle_core::{DeviceChoice, Model};
use fastcandle_data::vision::LoaderSettings;
use fastcandle_data::vision::{ItemTfmConfig, Normalize, TestImages};
use fastcandle_models::{Arch, HeadConfig, Pretrained, VisionModel};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// What `config.json` of an exported vision learner holds.
#[derive(serde::Serialize, serde::Deserialize)]
struct ExportedVision {
    format: String,
    arch: Arch,
    head: HeadConfig,
    vocab: Vec<String>,
    item_tfms: Vec<ItemTfmConfig>,
    normalize: Option<Normalize>,
}

const FORMAT: &str = "fastcandle-vision-1";

pub(crate) fn file_err(path: &Path, reason: impl std::fmt::Display) -> Error {
    Error::File {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

impl VisionLearner {
    /// fastai's `learn.export()`: writes `model.safetensors` (weights and BatchNorm statistics)
    /// and `config.json` (architecture, head, classes, the validation item transforms and the
    /// normalisation) into `dir`, each atomically.
    pub fn export(&self, dir: impl AsRef<Path>) -> Result<()> {
        let dir = dir.as_ref();
        let config = ExportedVision {
            format: FORMAT.into(),
            arch: self.arch,
            head: self.head.clone(),
            vocab: self.vocab().to_vec(),
            item_tfms: item_tfm_configs(self.dls.item_transforms())?,
            normalize: self.dls.normalization().copied(),
        };
        write_export(dir, self.learn.model.params(), &config)
    }
}

/// An exported vision learner, loaded for inference (fastai's `load_learner`).
pub struct VisionPredictor {
    model: VisionModel,
    config: ExportedVision,
    device: Device,
}

impl VisionPredictor {
    /// The label of the image at `path` and the probability of each class.
    pub fn predict(&self, path: impl AsRef<Path>) -> Result<Prediction> {
        Ok(self
            .predict_many(vec![path.as_ref().to_path_buf()])?
            .remove(0))
    }

    /// [`VisionPredictor::predict`] on many images, batched.
    pub fn predict_many(&self, paths: Vec<PathBuf>) -> Result<Vec<Prediction>> {
        let images = test_images(
            paths,
            &self.config.item_tfms,
            self.config.normalize,
            &self.device,
        )?;
        predict_images(&self.model, &images, &self.config.vocab)
    }

    /// The class names.
    pub fn vocab(&self) -> &[String] {
        &self.config.vocab
    }

    /// The architecture.
    pub fn arch(&self) -> Arch {
        self.config.arch
    }

    /// The model.
    pub fn model(&self) -> &VisionModel {
        &self.model
    }

    /// The normalisation the model's inputs get, if any.
    pub fn normalization(&self) -> Option<&Normalize> {
        self.config.normalize.as_ref()
    }

    /// `paths` batched as the learner's validation set was (its item transforms and
    /// normalisation), for the model.
    pub fn test_dl(&self, paths: Vec<PathBuf>) -> Result<TestImages> {
        test_images(
            paths,
            &self.config.item_tfms,
            self.config.normalize,
            &self.device,
        )
    }
}

/// Loads what [`VisionLearner::export`] wrote into `dir`, onto `device`.
pub fn load_learner(dir: impl AsRef<Path>, device: DeviceChoice) -> Result<VisionPredictor> {
    let dir = dir.as_ref();
    let config: ExportedVision = read_export(dir, FORMAT, "vision")?;
    let device = device.device()?;
    let model = load_model(dir, config.arch, config.vocab.len(), &config.head, &device)?;
    Ok(VisionPredictor {
        model,
        config,
        device,
    })
}

/// Writes `model.safetensors` (the parameters and buffers of `params`) and `config.json`
/// (`config`) into `dir`, each atomically: an exported learner.
pub(crate) fn write_export(
    dir: &Path,
    params: &fastcandle_core::ParamStore,
    config: &impl serde::Serialize,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| file_err(dir, e))?;
    fastcandle_core::tensor_io::save_safetensors(
        &dir.join("model.safetensors"),
        &params.state_dict(),
        None,
    )?;
    let text = serde_json::to_string_pretty(config).map_err(|e| Error::Invalid(e.to_string()))?;
    let path = dir.join("config.json");
    fastcandle_core::tensor_io::write_atomic(&path, text.as_bytes()).map_err(|e| file_err(&path, e))
}

/// The `config.json` of an exported learner in `dir`, checked to be of `format` (an exported
/// `kind` learner: "vision", "audio").
pub(crate) fn read_export<T: serde::de::DeserializeOwned>(
    dir: &Path,
    format: &str,
    kind: &str,
) -> Result<T> {
    let path = dir.join("config.json");
    let text =
        std::fs::read_to_string(&path).map_err(|e| file_err(&path, format!("cannot read: {e}")))?;
    let found: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| file_err(&path, format!("not an exported learner: {e}")))?;
    let got = found
        .get("format")
        .and_then(|f| f.as_str())
        .unwrap_or("none");
    if got != format {
        return Err(file_err(
            &path,
            format!("format `{got}`, expected `{format}` (an exported {kind} learner)"),
        ));
    }
    serde_json::from_value(found)
        .map_err(|e| file_err(&path, format!("not an exported {kind} learner: {e}")))
}

/// The exported classifier of `dir`: `arch`'s body and `head` for `n_out` classes, its weights
/// read from `model.safetensors` onto `device`.
pub(crate) fn load_model(
    dir: &Path,
    arch: Arch,
    n_out: usize,
    head: &HeadConfig,
    device: &Device,
) -> Result<VisionModel> {
    let model = VisionModel::with_head(arch, n_out, head, &Pretrained::No, device, 0)?;
    load_weights(dir, model.params(), device)?;
    Ok(model)
}

/// Loads `model.safetensors` of `dir` onto `device` into `params`, strictly.
pub(crate) fn load_weights(
    dir: &Path,
    params: &fastcandle_core::ParamStore,
    device: &Device,
) -> Result<()> {
    let weights = dir.join("model.safetensors");
    let (tensors, _) = fastcandle_core::tensor_io::load_safetensors(&weights, device)?;
    let tensors: HashMap<_, _> = tensors.into_iter().collect();
    params
        .load_state_dict(&tensors, true)
        .map_err(|e| file_err(&weights, e))
}
