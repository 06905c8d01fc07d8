//! Fits that cannot train what they were asked stop with an error before any step, and a loss
//! that turns NaN stops the fit: no run ends "successfully" with a meaningless model.

mod common;

use common::{learner, weights};
use fastcandle_train::{Callback, Error, FineTuneOptions, Learner, Result};

#[test]
fn a_training_set_smaller_than_the_batch_is_an_error_naming_both() {
    // 40 items, 32 of them for training, at batch size 64: no full batch.
    let mut l = learner(1, 40, 64);
    let before = weights(&l);
    let err = l.fit_one_cycle(2, Some(1e-2)).unwrap_err().to_string();
    assert!(
        err.contains("no training step") && err.contains("32 training items at batch size 64"),
        "{err}"
    );
    assert_eq!(weights(&l), before, "no weight may change");
    assert!(
        l.recorder().unwrap().last().is_none(),
        "no epoch was recorded"
    );
}

#[test]
fn learning_rates_that_cannot_train_are_refused_before_any_step() {
    for bad in [f64::NAN, f64::INFINITY, 0.0, -1e-3] {
        let mut l = learner(1, 200, 16);
        let before = weights(&l);
        let err = l.fit_one_cycle(1, Some(bad)).unwrap_err().to_string();
        assert!(err.starts_with("lr_max:"), "{bad}: {err}");
        let err = l.fit(1, Some(bad)).unwrap_err().to_string();
        assert!(err.starts_with("lr:"), "{bad}: {err}");
        let opts = FineTuneOptions {
            base_lr: bad,
            ..FineTuneOptions::default()
        };
        let err = l.fine_tune_with(1, &opts).unwrap_err().to_string();
        assert!(err.starts_with("base_lr:"), "{bad}: {err}");
        l.lr = bad;
        assert!(
            l.fit_one_cycle(1, None).is_err(),
            "{bad}: the learner's own lr"
        );
        assert_eq!(weights(&l), before, "{bad}: no weight may change");
    }
}

/// Puts NaN into the predictions of one training batch, as a diverging model would.
struct PoisonBatch(usize);

impl Callback for PoisonBatch {
    fn after_pred(&mut self, learn: &mut Learner) -> Result<()> {
        if learn.state.training && learn.state.iter == self.0 {
            let pred = learn.pred.as_ref().unwrap();
            learn.pred = Some((pred * f64::NAN)?);
        }
        Ok(())
    }
}

#[test]
fn a_nan_loss_stops_the_fit_naming_epoch_and_batch_before_its_step() {
    let mut l = learner(1, 400, 16);
    l.add_cb(PoisonBatch(3));
    let err = l.fit_one_cycle(2, Some(1e-2)).unwrap_err();
    match &err {
        Error::NonFiniteLoss {
            epoch: 0,
            batch: 3,
            phase: "training",
            value,
        } => assert!(value.is_nan()),
        e => panic!("expected a NaN loss at epoch 0, batch 3: {e}"),
    }
    assert!(
        err.to_string().contains("epoch 0, training batch 3"),
        "{err}"
    );
    for (name, w) in weights(&l) {
        assert!(w.iter().all(|v| v.is_finite()), "{name} took the NaN step");
    }
}
