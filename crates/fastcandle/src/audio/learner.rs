//! `audio_learner`: the vision learner on spectrograms. A body of the model zoo (pretrained
//! or not) and fastai's head classify the pictures an [`AudioDataLoaders`] makes, so that
//! `fine_tune`, `fit_one_cycle`, `lr_find` and the interpretation work as for images.

use super::AudioDataLoaders;
use crate::error::{Error, Result};
use crate::prediction::{Prediction, predict_batch};
use crate::vision::learner_options::LearnerOptions;
use fastcandle_data::audio::Placement;
use fastcandle_models::{Arch, HeadConfig, Pretrained, VisionModel};
use fastcandle_train::{CrossEntropyLossFlat, IntoMetrics, Learner};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// A [`Learner`] for sound classification that also turns a new recording into a
/// prediction. It dereferences to the [`Learner`], so `fine_tune`, `fit_one_cycle`,
/// `lr_find`, `validate`, `get_preds`... apply.
pub struct AudioLearner {
    /// The learner.
    pub learn: Learner,
    pub(crate) dls: AudioDataLoaders,
    pub(crate) arch: Arch,
    pub(crate) head: HeadConfig,
}

/// The options of [`audio_learner`], with fastai's defaults: no pretrained weights unless
/// told, the default head, the data's seed, no metric.
pub struct AudioLearnerBuilder<'a> {
    dls: &'a AudioDataLoaders,
    arch: Arch,
    head: HeadConfig,
    opts: LearnerOptions,
}

/// fastaudio's `audio_learner` (fastai's `vision_learner` on spectrograms): `arch`'s body
/// (its ImageNet weights loaded from `pretrained`), fastai's head for the data's classes,
/// cross-entropy, Adam. A pretrained learner starts frozen, as `vision_learner`'s. The
/// spectrograms keep the data's own normalisation (ImageNet's statistics do not describe
/// decibels).
///
/// ```no_run
/// # use fastcandle::audio::prelude::*;
/// # fn main() -> fastcandle::Result<()> {
/// let path = std::path::Path::new("spoken-digits/recordings");
/// let dls = AudioDataLoaders::from_name_re(path, get_audio_files(path)?, r"^(\d)_")
///     .spectrogram(SpectrogramConfig::default().sample_rate(8000).hop_length(64))
///     .build()?;
/// let mut learn = audio_learner(&dls, Arch::Resnet18, Pretrained::No)?.metrics([accuracy()]);
/// learn.fit_one_cycle(5, Some(3e-3))?;
/// println!("{}", learn.predict(path.join("7_theo_3.wav"))?.label);
/// # Ok(()) }
/// ```
pub fn audio_learner(
    dls: &AudioDataLoaders,
    arch: Arch,
    pretrained: Pretrained,
) -> Result<AudioLearner> {
    AudioLearner::builder(dls, arch)
        .pretrained(pretrained)
        .build()
}

impl AudioLearner {
    /// The options of a learner on `dls` with body `arch` (not pretrained unless told).
    pub fn builder(dls: &AudioDataLoaders, arch: Arch) -> AudioLearnerBuilder<'_> {
        AudioLearnerBuilder {
            dls,
            arch,
            head: HeadConfig::default(),
            opts: LearnerOptions::default(),
        }
    }

    /// Replaces the metrics shown after each epoch.
    pub fn metrics(mut self, metrics: impl IntoMetrics) -> Self {
        self.learn.metrics = metrics.into_metrics();
        self
    }

    /// The architecture of the body.
    pub fn arch(&self) -> Arch {
        self.arch
    }

    /// The head's options.
    pub fn head(&self) -> &HeadConfig {
        &self.head
    }

    /// The data the learner trains on.
    pub fn dls(&self) -> &AudioDataLoaders {
        &self.dls
    }

    /// The class names.
    pub fn vocab(&self) -> &[String] {
        self.dls.vocab()
    }

    /// fastai's `learn.predict(path)`: the class of one recording and the probability of
    /// each class; the recording is pictured as the validation set's are (centred).
    pub fn predict(&self, path: impl AsRef<Path>) -> Result<Prediction> {
        Ok(self
            .predict_many(vec![path.as_ref().to_path_buf()])?
            .remove(0))
    }

    /// [`AudioLearner::predict`] on many recordings, batched.
    pub fn predict_many(&self, paths: Vec<PathBuf>) -> Result<Vec<Prediction>> {
        predict_recordings(
            self.learn.model.as_ref(),
            self.dls.pipeline(),
            &paths,
            self.vocab(),
            self.dls.device(),
        )
    }
}

impl AudioLearnerBuilder<'_> {
    /// Where the body's starting weights come from (default: none, a random body).
    pub fn pretrained(mut self, pretrained: Pretrained) -> Self {
        self.opts.pretrained = pretrained;
        self
    }

    /// The metrics shown after each epoch.
    pub fn metrics(mut self, metrics: impl IntoMetrics) -> Self {
        self.opts.metrics = metrics.into_metrics();
        self
    }

    /// The seed of the new layers' initial weights and of dropout (default: the data's).
    pub fn seed(mut self, seed: u64) -> Self {
        self.opts.seed = Some(seed);
        self
    }

    /// The head's options (fastai's `lin_ftrs`, `ps`, `concat_pool`).
    pub fn head(mut self, head: HeadConfig) -> Self {
        self.head = head;
        self
    }

    /// Builds the model (loading the pretrained weights) and the learner. Pictures of other
    /// than 3 channels are refused: every body of the model zoo takes 3.
    pub fn build(self) -> Result<AudioLearner> {
        let channels = self.dls.pipeline().channels;
        if channels != 3 {
            return Err(Error::Invalid(format!(
                "audio_learner: the pictures have {channels} channel(s) but {} takes 3; build \
                 the data with .channels(3) (the spectrogram repeated)",
                self.arch
            )));
        }
        let seed = self.opts.seed.unwrap_or(self.dls.seed_value());
        let device = self.dls.device().clone();
        let model = VisionModel::with_head(
            self.arch,
            self.dls.c(),
            &self.head,
            &self.opts.pretrained,
            &device,
            seed,
        )?;
        let loss = Box::new(CrossEntropyLossFlat::default());
        let learn = self
            .opts
            .learner(Box::new(model), self.dls.loaders(), loss, seed);
        Ok(AudioLearner {
            learn,
            dls: self.dls.clone(),
            arch: self.arch,
            head: self.head,
        })
    }
}

/// The prediction of `model` for each recording of `paths`, pictured by `pipeline` (centred),
/// in batches of 64.
pub(crate) fn predict_recordings(
    model: &dyn fastcandle_core::Model,
    pipeline: &fastcandle_data::audio::AudioPipeline,
    paths: &[PathBuf],
    classes: &[String],
    device: &candle_core::Device,
) -> Result<Vec<Prediction>> {
    fastcandle_core::threads::run_in_pool(|| {
        let mut out = Vec::with_capacity(paths.len());
        for chunk in paths.chunks(64) {
            let pictures = chunk
                .par_iter()
                .map(|p| {
                    let wave = pipeline.load(p)?;
                    Ok(pipeline.spectrogrammer().picture(&wave, Placement::Centre))
                })
                .collect::<fastcandle_data::Result<Vec<_>>>()?;
            let xs = pipeline.to_batch(&pictures, device)?;
            out.extend(predict_batch(model, &[xs], classes)?);
        }
        Ok(out)
    })
}

impl std::ops::Deref for AudioLearner {
    type Target = Learner;
    fn deref(&self) -> &Learner {
        &self.learn
    }
}

impl std::ops::DerefMut for AudioLearner {
    fn deref_mut(&mut self) -> &mut Learner {
        &mut self.learn
    }
}
