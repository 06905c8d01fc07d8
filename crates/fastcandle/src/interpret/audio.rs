//! Interpretation of sound classifiers: `ClassificationInterpretation::from_learner` on an
//! [`AudioLearner`] (top losses shown as spectrograms), and its `show_results`.

use super::Interpret;
use super::classification::ClassificationInterpretation;
use super::shown::{RIGHT, Shown, WRONG};
use crate::audio::AudioLearner;
use crate::error::{Error, Result};
use fastcandle_data::audio::{AudioLoader, spectrogram_image};
use fastcandle_data::vision::{Image, save_captioned_grid};
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
    /// fastai's `learn.show_results()`: writes a PNG grid of the spectrograms of the first `n`
    /// validation recordings, each captioned with its prediction over its true label, under a
    /// green bar when right and a red one when wrong.
    pub fn show_results(&self, path: impl AsRef<Path>, n: usize) -> Result<()> {
        let loader = self.dls.loader();
        let paths: Vec<_> = loader.valid_paths().iter().take(n).cloned().collect();
        if paths.is_empty() {
            return Err(Error::Invalid(format!(
                "show_results: the validation set is empty; nothing to write to {}",
                path.as_ref().display()
            )));
        }
        let predicted = self.predict_many(paths.clone())?;
        let idx: Vec<usize> = (0..paths.len()).collect();
        let images = spectrograms_of(loader, &idx)?;
        let vocab = self.vocab();
        let actual: Vec<&str> = loader.valid_codes()[..paths.len()]
            .iter()
            .map(|&c| vocab[c as usize].as_str())
            .collect();
        let captions: Vec<String> = predicted
            .iter()
            .zip(&actual)
            .map(|(p, a)| format!("{}\nactual: {a}", p.label))
            .collect();
        let colours: Vec<[u8; 3]> = predicted
            .iter()
            .zip(&actual)
            .map(|(p, a)| if p.label == *a { RIGHT } else { WRONG })
            .collect();
        Ok(save_captioned_grid(
            &images,
            &captions,
            &colours,
            path.as_ref(),
        )?)
    }
}
