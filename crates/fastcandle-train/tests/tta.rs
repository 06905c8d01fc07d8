//! fastai's `Learner.tta`: the augmented passes averaged (or maxed) and combined with the
//! plain predictions by `torch.lerp(aug, plain, beta)`, checked against the same formula
//! computed by hand from the model's logits.

mod common;

use candle_core::Tensor;
use common::{ToyData, mlp_learner};
use fastcandle_core::batch::{BatchIter, TrainShape};
use fastcandle_core::{Batch, DataLoaders};
use fastcandle_train::{Learner, TtaOptions};
use std::sync::Arc;

/// The toy data whose "training transform" shifts every input by `0.3 * (pass + 1)`, so that
/// each augmented pass is known.
struct Shifted(Arc<ToyData>);

fn shift(pass: usize) -> f64 {
    0.3 * (pass as f64 + 1.0)
}

impl DataLoaders for Shifted {
    fn train(&self, epoch: usize) -> BatchIter<'_> {
        self.0.train(epoch)
    }
    fn valid(&self) -> BatchIter<'_> {
        self.0.valid()
    }
    fn valid_augmented(&self, pass: usize) -> Option<BatchIter<'_>> {
        Some(Box::new(self.0.valid().map(move |b| {
            let b = b?;
            Ok(Batch {
                xs: vec![b.xs[0].affine(1.0, shift(pass))?],
                ys: b.ys,
            })
        })))
    }
    fn n_train_batches(&self) -> usize {
        self.0.n_train_batches()
    }
    fn n_valid_batches(&self) -> usize {
        self.0.n_valid_batches()
    }
    fn device(&self) -> &candle_core::Device {
        self.0.device()
    }
    fn train_shape(&self) -> Option<TrainShape> {
        self.0.train_shape()
    }
}

/// Softmax of each row of the model's logits on the validation inputs shifted by `s`,
/// computed by hand.
fn probs(learn: &Learner, s: f64) -> Vec<Vec<f64>> {
    let data = ToyData::new(60, 16);
    let mut rows = Vec::new();
    for b in data.valid() {
        let b = b.unwrap();
        let x = b.xs[0].affine(1.0, s).unwrap();
        let logits: Vec<Vec<f32>> = learn
            .model
            .forward_t(&[x], false)
            .unwrap()
            .to_vec2()
            .unwrap();
        for l in logits {
            let m = l.iter().copied().fold(f32::MIN, f32::max) as f64;
            let e: Vec<f64> = l.iter().map(|&v| (v as f64 - m).exp()).collect();
            let z: f64 = e.iter().sum();
            rows.push(e.iter().map(|v| v / z).collect());
        }
    }
    rows
}

fn rows(t: &Tensor) -> Vec<Vec<f64>> {
    t.to_dtype(candle_core::DType::F64)
        .unwrap()
        .to_vec2()
        .unwrap()
}

fn close(got: &[Vec<f64>], want: &[Vec<f64>], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (g, w) in got.iter().zip(want) {
        for (a, b) in g.iter().zip(w) {
            assert!((a - b).abs() < 1e-5, "{what}: {g:?} vs {w:?}");
        }
    }
}

fn trained() -> Learner {
    let mut learn = mlp_learner(2, Arc::new(Shifted(ToyData::new(60, 16))));
    learn.fit(1, Some(5e-2)).unwrap();
    learn
}

#[test]
fn tta_lerps_the_mean_of_the_augmented_passes_with_the_plain_predictions() {
    let mut learn = trained();
    let plain = probs(&learn, 0.0);
    let passes: Vec<Vec<Vec<f64>>> = (0..4).map(|p| probs(&learn, shift(p))).collect();
    let combine = |f: &dyn Fn(usize, usize) -> f64| -> Vec<Vec<f64>> {
        (0..plain.len())
            .map(|i| (0..2).map(|c| f(i, c)).collect())
            .collect()
    };
    let mean = combine(&|i, c| passes.iter().map(|p| p[i][c]).sum::<f64>() / 4.0);
    let max = combine(&|i, c| passes.iter().map(|p| p[i][c]).fold(f64::MIN, f64::max));

    // fastai's defaults: n 4, beta 0.25: lerp(mean, plain, 0.25).
    let (preds, targets) = learn.tta().unwrap();
    let want = combine(&|i, c| mean[i][c] + 0.25 * (plain[i][c] - mean[i][c]));
    close(&rows(&preds), &want, "beta 0.25");
    assert_eq!(targets.dims(), [plain.len()]);
    // The shifts move the predictions: the check can fail.
    assert!((want[0][0] - plain[0][0]).abs() > 1e-4);

    // beta None: the augmented mean, both kept apart.
    let t = learn
        .tta_with(&TtaOptions {
            beta: None,
            ..TtaOptions::default()
        })
        .unwrap();
    close(&rows(&t.preds), &mean, "beta None");
    close(&rows(&t.aug_preds), &mean, "aug_preds");
    close(&rows(&t.plain_preds), &plain, "plain_preds");

    // use_max: the maximum over the passes, then with the plain predictions.
    let t = learn
        .tta_with(&TtaOptions {
            use_max: true,
            ..TtaOptions::default()
        })
        .unwrap();
    let want = combine(&|i, c| max[i][c].max(plain[i][c]));
    close(&rows(&t.preds), &want, "use_max");

    // n 2, beta 0.5.
    let t = learn
        .tta_with(&TtaOptions {
            n: 2,
            beta: Some(0.5),
            use_max: false,
        })
        .unwrap();
    let want = combine(&|i, c| 0.5 * (passes[0][i][c] + passes[1][i][c]) / 2.0 + 0.5 * plain[i][c]);
    close(&rows(&t.preds), &want, "n 2 beta 0.5");
}

#[test]
fn tta_refuses_loaders_that_cannot_augment_and_bad_options() {
    let mut learn = mlp_learner(2, ToyData::new(60, 16));
    let err = learn.tta().unwrap_err().to_string();
    assert!(err.contains("valid_augmented"), "{err}");
    let mut learn = trained();
    let err = learn
        .tta_with(&TtaOptions {
            n: 0,
            ..TtaOptions::default()
        })
        .unwrap_err()
        .to_string();
    assert!(err.contains("n (the augmented passes)"), "{err}");
    let err = learn
        .tta_with(&TtaOptions {
            beta: Some(1.5),
            ..TtaOptions::default()
        })
        .unwrap_err()
        .to_string();
    assert!(err.contains("beta"), "{err}");
}
