//! Labelled test sets of image files (fastai's `dls.test_dl(items, with_labels=True)`): new
//! files labelled the way the training files were, so that `validate` scores them.

use super::ImageDataLoaders;
use crate::error::{Error, Result};
use fastcandle_data::vision::{IntoLabel, TestImages};
use std::path::PathBuf;

impl ImageDataLoaders {
    /// `paths` batched as the validation set, each labelled by the data loaders' own label
    /// function or pattern (fastai's `test_dl(items, with_labels=True)`), for
    /// [`Learner::validate`](fastcandle_train::Learner::validate) to score.
    ///
    /// A label that is not one of the training classes is an error naming the file, as is a
    /// file the labeller cannot label. Data loaders labelled by lists (`from_lists`) or held in
    /// memory have no labeller for new files: use [`Self::test_dl_labelled`].
    pub fn test_dl_with_labels(&self, paths: Vec<PathBuf>) -> Result<TestImages> {
        let Some(labeller) = &self.labeller else {
            return Err(Error::Invalid(
                "these data loaders were labelled from lists (or are held in memory), so new \
                 files cannot be labelled the same way: give their labels with test_dl_labelled"
                    .into(),
            ));
        };
        let labels = paths
            .iter()
            .map(|p| labeller.label(p))
            .collect::<fastcandle_data::Result<Vec<String>>>()?;
        self.test_dl_labelled(paths, labels)
    }

    /// `paths` with their `labels` (one each, among the training classes) batched as the
    /// validation set, for [`Learner::validate`](fastcandle_train::Learner::validate) to score.
    pub fn test_dl_labelled<L: IntoLabel>(
        &self,
        paths: Vec<PathBuf>,
        labels: Vec<L>,
    ) -> Result<TestImages> {
        if paths.len() != labels.len() {
            return Err(Error::Invalid(format!(
                "{} test images but {} labels",
                paths.len(),
                labels.len()
            )));
        }
        let vocab = self.vocab();
        let codes = paths
            .iter()
            .zip(labels)
            .map(|(p, l)| {
                let label = l.into_label();
                vocab
                    .iter()
                    .position(|c| *c == label)
                    .map(|i| i as u32)
                    .ok_or_else(|| {
                        Error::Invalid(format!(
                            "{}: its label `{label}` is not one of the training classes ({})",
                            p.display(),
                            vocab.join(", ")
                        ))
                    })
            })
            .collect::<Result<Vec<u32>>>()?;
        Ok(self.test_dl(paths)?.with_codes(codes)?)
    }
}
