//! fastai's `ClassificationInterpretation`: the confusion matrix, the most confused pairs and
//! the items with the largest losses of a classifier, from its predictions on a labelled set.

use super::shown::Shown;
use crate::error::{Error, Result};
use candle_core::DType;
use fastcandle_train::{Preds, largest_first};
use serde_json::json;
use std::path::Path;

/// One item among the largest losses (fastai's `top_losses` with the item).
#[derive(Debug, Clone, PartialEq)]
pub struct TopLoss {
    /// The item's position in the set interpreted (the validation set's order).
    pub index: usize,
    /// The item: its file, or its row described.
    pub item: String,
    /// Its loss.
    pub loss: f32,
    /// The probability the model gave its prediction.
    pub probability: f32,
    /// The predicted class.
    pub predicted: String,
    /// The true class.
    pub actual: String,
}

/// A pair of classes the model mixed up: `count` items of `actual` predicted as `predicted`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confusion {
    /// The true class.
    pub actual: String,
    /// The class predicted instead.
    pub predicted: String,
    /// How many items.
    pub count: usize,
}

/// fastai's `ClassificationInterpretation`, for image and tabular classifiers: made from a
/// learner's predictions on its validation set (`from_learner` on
/// [`VisionLearner`](crate::vision::VisionLearner) and
/// [`TabularLearner`](crate::tabular::TabularLearner)) or on any labelled set ([`Self::new`]).
///
/// ```no_run
/// # use fastcandle::vision::prelude::*;
/// # fn main() -> fastcandle::Result<()> {
/// # let dls = ImageDataLoaders::from_folder("data").build()?;
/// let mut learn = vision_learner(&dls, Arch::Resnet34, Pretrained::Hub)?;
/// learn.fine_tune(1)?;
/// let interp = ClassificationInterpretation::from_learner(&mut learn)?;
/// interp.plot_confusion_matrix("confusion_matrix.png", false)?;
/// println!("{:?}", interp.most_confused(2));
/// interp.plot_top_losses(9, "top_losses.png")?;
/// # Ok(()) }
/// ```
pub struct ClassificationInterpretation {
    vocab: Vec<String>,
    probs: Vec<Vec<f32>>,
    actual: Vec<u32>,
    predicted: Vec<u32>,
    losses: Vec<f32>,
    items: Vec<String>,
    shown: Shown,
}

impl std::fmt::Debug for ClassificationInterpretation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClassificationInterpretation")
            .field("vocab", &self.vocab)
            .field("items", &self.items.len())
            .finish()
    }
}

impl ClassificationInterpretation {
    /// The interpretation of `preds` (from
    /// [`Learner::get_preds_with`](fastcandle_train::Learner::get_preds_with): probabilities
    /// `[N, C]`, class targets `[N]`, per-item losses) over the classes `vocab`, with each
    /// item described by `items` (its file, its row; `N` of them). Shapes that do not agree,
    /// or a target outside the classes, are errors.
    pub fn new(vocab: &[String], preds: &Preds, items: Vec<String>) -> Result<Self> {
        Self::with_shown(vocab, preds, items, Shown::Text)
    }

    pub(crate) fn with_shown(
        vocab: &[String],
        preds: &Preds,
        items: Vec<String>,
        shown: Shown,
    ) -> Result<Self> {
        let bad =
            |reason: String| Error::Invalid(format!("ClassificationInterpretation: {reason}"));
        let (n, c) = preds.probs.dims2().map_err(|_| {
            bad(format!(
                "predictions of shape {:?}, not [items, classes]",
                preds.probs.dims()
            ))
        })?;
        if c != vocab.len() {
            return Err(bad(format!("{c} outputs but {} classes", vocab.len())));
        }
        let probs: Vec<Vec<f32>> = preds.probs.to_dtype(DType::F32)?.to_vec2()?;
        let actual: Vec<u32> = preds
            .targets
            .flatten_all()?
            .to_dtype(DType::U32)?
            .to_vec1()?;
        let predicted: Vec<u32> = preds
            .decoded
            .flatten_all()?
            .to_dtype(DType::U32)?
            .to_vec1()?;
        let losses = preds.loss_values()?;
        if actual.len() != n || predicted.len() != n || losses.len() != n || items.len() != n {
            return Err(bad(format!(
                "{n} predictions, {} targets, {} decoded, {} losses and {} items",
                actual.len(),
                predicted.len(),
                losses.len(),
                items.len()
            )));
        }
        if let Some(t) = actual.iter().find(|&&t| t as usize >= c) {
            return Err(bad(format!("target {t} is outside the {c} classes")));
        }
        Ok(Self {
            vocab: vocab.to_vec(),
            probs,
            actual,
            predicted,
            losses,
            items,
            shown,
        })
    }

    /// The class names, in code order.
    pub fn vocab(&self) -> &[String] {
        &self.vocab
    }

    /// How many items were interpreted.
    pub fn len(&self) -> usize {
        self.actual.len()
    }

    /// Whether no item was interpreted (never, once made).
    pub fn is_empty(&self) -> bool {
        self.actual.is_empty()
    }

    /// The items, described (their files or rows), in the set's order.
    pub fn items(&self) -> &[String] {
        &self.items
    }

    /// Each item's loss, in the set's order.
    pub fn losses(&self) -> &[f32] {
        &self.losses
    }

    /// fastai's `confusion_matrix()`: counts, rows the actual class and columns the predicted
    /// one, in vocabulary order.
    pub fn confusion_matrix(&self) -> Vec<Vec<usize>> {
        let c = self.vocab.len();
        let mut m = vec![vec![0usize; c]; c];
        for (&a, &p) in self.actual.iter().zip(&self.predicted) {
            if let Some(cell) = m.get_mut(a as usize).and_then(|r| r.get_mut(p as usize)) {
                *cell += 1;
            }
        }
        m
    }

    /// The share of items predicted wrong: `1 - trace / sum` of the confusion matrix.
    pub fn error_rate(&self) -> f64 {
        let wrong = self
            .actual
            .iter()
            .zip(&self.predicted)
            .filter(|(a, p)| a != p)
            .count();
        wrong as f64 / self.len().max(1) as f64
    }

    /// fastai's `most_confused(min_val)`: the pairs of different classes mixed up at least
    /// `min_val` times, most often first (ties in vocabulary order).
    pub fn most_confused(&self, min_val: usize) -> Vec<Confusion> {
        let m = self.confusion_matrix();
        let mut out: Vec<Confusion> = Vec::new();
        for (a, row) in m.iter().enumerate() {
            for (p, &count) in row.iter().enumerate() {
                if a != p && count >= min_val.max(1) {
                    out.push(Confusion {
                        actual: self.vocab[a].clone(),
                        predicted: self.vocab[p].clone(),
                        count,
                    });
                }
            }
        }
        out.sort_by_key(|c| std::cmp::Reverse(c.count));
        out
    }

    /// fastai's `top_losses(k)`: the `k` items with the largest losses, largest first (ties in
    /// the set's order), with the probability of their prediction and both labels.
    pub fn top_losses(&self, k: usize) -> Vec<TopLoss> {
        largest_first(&self.losses)
            .into_iter()
            .take(k)
            .map(|i| {
                let p = self.predicted[i] as usize;
                TopLoss {
                    index: i,
                    item: self.items[i].clone(),
                    loss: self.losses[i],
                    probability: self.probs[i].get(p).copied().unwrap_or(f32::NAN),
                    predicted: self.vocab.get(p).cloned().unwrap_or_else(|| p.to_string()),
                    actual: self.vocab[self.actual[i] as usize].clone(),
                }
            })
            .collect()
    }

    /// fastai's `plot_confusion_matrix()`: writes the matrix as a PNG heat map with the count
    /// in each cell (with `normalize`, each row's shares).
    pub fn plot_confusion_matrix(&self, path: impl AsRef<Path>, normalize: bool) -> Result<()> {
        crate::plot::plot_confusion_matrix(&self.confusion_matrix(), &self.vocab, normalize, path)
    }

    /// fastai's `plot_top_losses(k)`: writes a PNG of the `k` items with the largest losses,
    /// each captioned `predicted/actual`, loss and probability: images in a grid (wrong ones
    /// under a red bar), rows as a table.
    pub fn plot_top_losses(&self, k: usize, path: impl AsRef<Path>) -> Result<()> {
        let top = self.top_losses(k);
        if top.is_empty() {
            return Err(Error::Invalid(format!(
                "plot_top_losses: no item to show in {}",
                path.as_ref().display()
            )));
        }
        self.shown.plot_top_losses(&top, path.as_ref())
    }

    /// What `interp.json` holds: `vocab`, `confusion_matrix`, `most_confused` (pairs seen at
    /// least once), the `k` `top_losses` with their items, `error_rate` and the count `n`.
    pub fn to_json(&self, k: usize) -> serde_json::Value {
        let confused: Vec<_> = self
            .most_confused(1)
            .into_iter()
            .map(|c| json!({"actual": c.actual, "predicted": c.predicted, "count": c.count}))
            .collect();
        let top: Vec<_> = self
            .top_losses(k)
            .into_iter()
            .map(|t| {
                json!({
                    "index": t.index,
                    "item": t.item,
                    "actual": t.actual,
                    "predicted": t.predicted,
                    "loss": t.loss,
                    "probability": t.probability,
                })
            })
            .collect();
        json!({
            "vocab": self.vocab,
            "confusion_matrix": self.confusion_matrix(),
            "most_confused": confused,
            "top_losses": top,
            "error_rate": self.error_rate(),
            "n": self.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Tensor};

    /// Six items of classes a, b, c: two right, four wrong (b->a twice, a->c, c->b).
    fn interp() -> ClassificationInterpretation {
        let d = Device::Cpu;
        let probs = [
            [0.7f32, 0.2, 0.1], // a, right
            [0.2, 0.1, 0.7],    // a -> c
            [0.6, 0.3, 0.1],    // b -> a
            [0.8, 0.1, 0.1],    // b -> a
            [0.1, 0.1, 0.8],    // c, right
            [0.3, 0.6, 0.1],    // c -> b
        ];
        let actual = [0u32, 0, 1, 1, 2, 2];
        let flat: Vec<f32> = probs.iter().flatten().copied().collect();
        let probs = Tensor::from_vec(flat, (6, 3), &d).unwrap();
        let losses: Vec<f32> = (0..6)
            .map(|i| {
                -probs
                    .get(i)
                    .unwrap()
                    .get(actual[i] as usize)
                    .unwrap()
                    .to_scalar::<f32>()
                    .unwrap()
                    .ln()
            })
            .collect();
        let preds = Preds {
            decoded: probs.argmax(1).unwrap(),
            probs,
            targets: Tensor::new(&actual, &d).unwrap(),
            losses: Tensor::new(losses.as_slice(), &d).unwrap(),
            inputs: None,
        };
        let vocab: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let items = (0..6).map(|i| format!("item{i}")).collect();
        ClassificationInterpretation::new(&vocab, &preds, items).unwrap()
    }

    #[test]
    fn the_confusion_matrix_counts_actual_by_predicted() {
        let it = interp();
        assert_eq!(
            it.confusion_matrix(),
            vec![vec![1, 0, 1], vec![2, 0, 0], vec![0, 1, 1]]
        );
        assert!((it.error_rate() - 4.0 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn most_confused_lists_pairs_most_often_first() {
        let it = interp();
        let c = it.most_confused(1);
        let pairs: Vec<(&str, &str, usize)> = c
            .iter()
            .map(|c| (c.actual.as_str(), c.predicted.as_str(), c.count))
            .collect();
        assert_eq!(pairs, [("b", "a", 2), ("a", "c", 1), ("c", "b", 1)]);
        assert_eq!(it.most_confused(2).len(), 1);
        assert!(it.most_confused(3).is_empty());
    }

    #[test]
    fn top_losses_are_the_largest_with_their_labels() {
        let it = interp();
        let top = it.top_losses(3);
        // Losses are -ln p(actual): items 3 and 5 tie at -ln 0.1 (in the set's order), then
        // item 1 at -ln 0.2.
        assert_eq!(top.iter().map(|t| t.index).collect::<Vec<_>>(), [3, 5, 1]);
        assert_eq!(
            (top[0].predicted.as_str(), top[0].actual.as_str()),
            ("a", "b")
        );
        assert!((top[0].probability - 0.8).abs() < 1e-6);
        assert!((top[0].loss - (-(0.1f32).ln())).abs() < 1e-6);
        assert_eq!(top[0].item, "item3");
        assert_eq!(it.top_losses(10).len(), 6);
        let j = it.to_json(2);
        assert_eq!(j["top_losses"].as_array().unwrap().len(), 2);
        assert_eq!(j["confusion_matrix"][1][0], 2);
        assert_eq!(j["most_confused"][0]["count"], 2);
        assert_eq!(j["n"], 6);
    }

    #[test]
    fn shapes_that_disagree_are_errors() {
        let d = Device::Cpu;
        let probs = Tensor::zeros((2, 3), DType::F32, &d).unwrap();
        let preds = Preds {
            decoded: probs.argmax(1).unwrap(),
            probs: probs.clone(),
            targets: Tensor::new(&[0u32, 7], &d).unwrap(),
            losses: Tensor::zeros(2, DType::F32, &d).unwrap(),
            inputs: None,
        };
        let vocab: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let items = || vec!["x".to_string(), "y".to_string()];
        let e = ClassificationInterpretation::new(&vocab, &preds, items()).unwrap_err();
        assert!(e.to_string().contains("target 7"), "{e}");
        let e = ClassificationInterpretation::new(&vocab[..2], &preds, items()).unwrap_err();
        assert!(e.to_string().contains("3 outputs but 2 classes"), "{e}");
        let e = ClassificationInterpretation::new(&vocab, &preds, vec![]).unwrap_err();
        assert!(e.to_string().contains("0 items"), "{e}");
    }
}
