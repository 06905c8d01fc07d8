//! Interpretation of sound classifiers: `ClassificationInterpretation::from_learner` on an
//! [`AudioLearner`] (top losses shown as spectrograms), and its `show_results`.

use super::Interpret;
use super::classification::ClassificationInterpretation;
use super::shown::{Shown, save_results};
use crate::audio::AudioLearner;
use crate::error::{Error, Result};
use fastcandle_data::audio::{AudioLoader, spectrogram_image};
use fastcandle_data::vision::Image;
use std::path::Path;

impl Interpret for AudioLearner {
    fn interpret(&mut self) -> Result<ClassificationInterpretation> {
        let preds = self.learn.get_preds_with(None, false)?;
        let loader = self.dls.loader().clone();
        let names = loader
            .valid_paths()
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        let vocab = self.vocab().to_vec();
        let shown = Shown::Recordings {
            loader: Box::new(loader),
        };
        ClassificationInterpretation::with_shown(&vocab, &preds, names, shown)
    }
}

/// The spectrograms of validation items `idx` of `loader`, as pictures.
pub(crate) fn spectrograms_of(loader: &AudioLoader, idx: &[usize]) -> Result<Vec<Image>> {
    Ok(loader
        .valid_pictures(idx)?
        .iter()
        .map(spectrogram_image)
        .collect::<fastcandle_data::Result<Vec<_>>>()?)
}

impl AudioLearner {
    /// fastai's `learn.show_results()`: writes a PNG grid of the spectrograms of `n`
    /// validation recordings (spread evenly over the validation set, so that a set sorted by
    /// class shows several classes), each captioned with its prediction over its true label,
    /// under a green bar when right and a red one when wrong.
    pub fn show_results(&self, path: impl AsRef<Path>, n: usize) -> Result<()> {
        let loader = self.dls.loader();
        let len = loader.valid_paths().len();
        let n = n.min(len);
        if n == 0 {
            return Err(Error::Invalid(format!(
                "show_results: the validation set is empty; nothing to write to {}",
                path.as_ref().display()
            )));
        }
        let idx: Vec<usize> = (0..n).map(|i| i * len / n).collect();
        let paths = idx
            .iter()
            .map(|&i| loader.valid_paths()[i].clone())
            .collect();
        let predicted = self.predict_many(paths)?;
        let images = spectrograms_of(loader, &idx)?;
        let vocab = self.vocab();
        let actual: Vec<&str> = idx
            .iter()
            .map(|&i| vocab[loader.valid_codes()[i] as usize].as_str())
            .collect();
        let pairs: Vec<(String, String)> = predicted
            .into_iter()
            .zip(actual)
            .map(|(p, a)| (p.label, a.to_string()))
            .collect();
        save_results(&images, &pairs, path.as_ref())
    }
}
