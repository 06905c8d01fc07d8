//! Exporting a trained audio learner and loading it back in another program (fastai's
//! `learn.export()` and `load_learner`): the weights, and the settings that turn a recording
//! into the model's input (spectrogram, normalisation, channels).

use super::learner::{AudioLearner, predict_recordings};
use crate::error::Result;
use crate::prediction::Prediction;
use crate::vision::export::{load_model, read_export, write_export};
use candle_core::Device;
use fastcandle_core::DeviceChoice;
use fastcandle_data::audio::{AudioNormalize, AudioPipeline, SpectrogramConfig};
use fastcandle_models::{Arch, HeadConfig, VisionModel};
use std::path::{Path, PathBuf};

/// What `config.json` of an exported audio learner holds.
#[derive(serde::Serialize, serde::Deserialize)]
struct ExportedAudio {
    format: String,
    arch: Arch,
    head: HeadConfig,
    vocab: Vec<String>,
    spectrogram: SpectrogramConfig,
    normalize: Option<AudioNormalize>,
    channels: usize,
}

const FORMAT: &str = "fastcandle-audio-1";

impl AudioLearner {
    /// fastai's `learn.export()`: writes `model.safetensors` and `config.json` (architecture,
    /// head, classes, spectrogram settings, normalisation, channels) into `dir`, each
    /// atomically. [`load_audio_learner`] reads them back.
    pub fn export(&self, dir: impl AsRef<Path>) -> Result<()> {
        let p = self.dls.pipeline();
        let config = ExportedAudio {
            format: FORMAT.into(),
            arch: self.arch,
            head: self.head.clone(),
            vocab: self.vocab().to_vec(),
            spectrogram: p.config().clone(),
            normalize: p.normalize,
            channels: p.channels,
        };
        write_export(dir.as_ref(), self.learn.model.params(), &config)
    }
}

/// An exported audio learner, loaded for inference.
pub struct AudioPredictor {
    model: VisionModel,
    vocab: Vec<String>,
    pipeline: AudioPipeline,
    device: Device,
}

impl AudioPredictor {
    /// The class of the recording at `path` and the probability of each class.
    pub fn predict(&self, path: impl AsRef<Path>) -> Result<Prediction> {
        Ok(self
            .predict_many(vec![path.as_ref().to_path_buf()])?
            .remove(0))
    }

    /// [`AudioPredictor::predict`] on many recordings, batched.
    pub fn predict_many(&self, paths: Vec<PathBuf>) -> Result<Vec<Prediction>> {
        predict_recordings(
            &self.model,
            &self.pipeline,
            &paths,
            &self.vocab,
            &self.device,
        )
    }

    /// The class names.
    pub fn vocab(&self) -> &[String] {
        &self.vocab
    }

    /// How recordings become the model's inputs.
    pub fn pipeline(&self) -> &AudioPipeline {
        &self.pipeline
    }

    /// The model.
    pub fn model(&self) -> &VisionModel {
        &self.model
    }
}

/// Loads what [`AudioLearner::export`] wrote into `dir`, onto `device`.
///
/// ```no_run
/// # use fastcandle::audio::prelude::*;
/// # fn main() -> fastcandle::Result<()> {
/// let learn = load_audio_learner("runs/spoken-digits/export", DeviceChoice::Auto)?;
/// let p = learn.predict("7_theo_3.wav")?;
/// println!("{} ({:.3})", p.label, p.probs[p.index]);
/// # Ok(()) }
/// ```
pub fn load_audio_learner(dir: impl AsRef<Path>, device: DeviceChoice) -> Result<AudioPredictor> {
    let dir = dir.as_ref();
    let config: ExportedAudio = read_export(dir, FORMAT, "audio")?;
    let device = device.device()?;
    let model = load_model(dir, config.arch, config.vocab.len(), &config.head, &device)?;
    let mut pipeline = AudioPipeline::new(&config.spectrogram, config.channels)?;
    pipeline.normalize = config.normalize;
    Ok(AudioPredictor {
        model,
        vocab: config.vocab,
        pipeline,
        device,
    })
}
