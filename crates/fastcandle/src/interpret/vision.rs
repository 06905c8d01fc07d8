//! Interpretation of image classifiers: `ClassificationInterpretation::from_learner` on a
//! [`VisionLearner`], and its `show_results`.

use super::Interpret;
use super::classification::ClassificationInterpretation;
use super::shown::{Shown, save_results};
use crate::error::{Error, Result};
use crate::vision::VisionLearner;
use candle_core::DType;
use fastcandle_core::grad::no_grad;
use fastcandle_data::vision::{Image, ImageItems, ImageLoader, LoaderSettings, batch_images};
use std::path::Path;

impl Interpret for VisionLearner {
    fn interpret(&mut self) -> Result<ClassificationInterpretation> {
        let preds = self.learn.get_preds_with(None, false)?;
        let loader = self.dls.loader().clone();
        let items = loader.valid_items().clone();
        let names = items
            .paths
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        let vocab = self.vocab().to_vec();
        let shown = Shown::Images {
            loader: Box::new(loader),
            items,
        };
        ClassificationInterpretation::with_shown(&vocab, &preds, names, shown)
    }
}

impl VisionLearner {
    /// fastai's `learn.show_results()`: writes a PNG grid of the first `n` validation images,
    /// each captioned with its prediction over its true label, under a green bar when right and
    /// a red one when wrong.
    pub fn show_results(&self, path: impl AsRef<Path>, n: usize) -> Result<()> {
        let loader = self.dls.loader();
        let valid = loader.valid_items();
        let n = n.min(valid.len());
        if n == 0 {
            return Err(Error::Invalid(format!(
                "show_results: the validation set is empty; nothing to write to {}",
                path.as_ref().display()
            )));
        }
        let idx: Vec<usize> = (0..n).collect();
        let items = valid.subset(&idx);
        let actual = items.codes.clone();
        let tdl = loader.test_dl_items(items)?;
        let model = self.learn.model.as_ref();
        let (mut images, mut predicted) = (Vec::with_capacity(n), Vec::with_capacity(n));
        fastcandle_core::threads::run_in_pool(|| -> Result<()> {
            for b in tdl.batches() {
                let b = b?;
                let logits = no_grad(|| model.forward_t(&b.xs, false))?;
                let codes: Vec<u32> = logits.argmax(1)?.to_dtype(DType::U32)?.to_vec1()?;
                predicted.extend(codes);
                images.extend(batch_images(&b, loader.normalization())?);
            }
            Ok(())
        })?;
        let vocab = self.vocab();
        let name = |c: u32| {
            vocab
                .get(c as usize)
                .cloned()
                .unwrap_or_else(|| c.to_string())
        };
        let pairs: Vec<(String, String)> = predicted
            .iter()
            .zip(&actual)
            .map(|(&p, &a)| (name(p), name(a)))
            .collect();
        save_results(&images, &pairs, path.as_ref())
    }
}

/// The images of `items` as `loader` shows its validation set (its item transforms, without
/// normalisation), in order.
pub(crate) fn images_of(loader: &ImageLoader, items: ImageItems) -> Result<Vec<Image>> {
    let tdl = loader.test_dl_items(items)?;
    let mut out = Vec::with_capacity(tdl.len());
    for b in tdl.batches() {
        out.extend(batch_images(&b?, loader.normalization())?);
    }
    Ok(out)
}
