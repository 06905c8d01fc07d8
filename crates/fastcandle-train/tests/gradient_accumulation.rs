//! fastai's `GradientAccumulation`: batches of 8 accumulated to 32 items make the update of
//! batches of 32, with plain SGD, SGD with momentum and Adam, and the recorded loss stays each
//! batch's own.

mod common;

use common::{ToyData, mlp_learner, weights};
use fastcandle_train::callback::GradientAccumulation;
use fastcandle_train::optim::{Hypers, OptFunc, Optimizer};
use fastcandle_train::{Callback, Cancel, Error, Learner, Result};

/// 80 items, 64 for training: two steps of 32 per epoch, whatever the batch size (the shuffle
/// depends only on the seed and the epoch, so four batches of 8 are one batch of 32).
fn fit(bs: usize, n_acc: Option<usize>, opt: OptFunc, mom: f64) -> Learner {
    let mut learn = mlp_learner(5, ToyData::new(80, bs));
    let hypers = Hypers {
        mom,
        ..Hypers::defaults(opt)
    };
    learn.opt = Optimizer::for_store(learn.model.params(), opt, hypers);
    if let Some(n) = n_acc {
        learn.add_cb(GradientAccumulation::new(n).unwrap());
    }
    learn.fit(2, Some(5e-2)).unwrap();
    learn
}

fn max_diff(a: &[(String, Vec<f32>)], b: &[(String, Vec<f32>)]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .flat_map(|((na, x), (nb, y))| {
            assert_eq!(na, nb);
            x.iter().zip(y).map(|(p, q)| (p - q).abs())
        })
        .fold(0.0, f32::max)
}

#[test]
fn four_batches_of_8_step_as_one_batch_of_32() {
    for (opt, mom) in [
        (OptFunc::Sgd, 0.0),
        (OptFunc::Sgd, 0.9),
        (OptFunc::Adam, 0.9),
    ] {
        let big = fit(32, None, opt, mom);
        let acc = fit(8, Some(32), opt, mom);
        let plain = fit(8, None, opt, mom);
        let d = max_diff(&weights(&big), &weights(&acc));
        println!(
            "{opt:?} mom {mom}: max abs weight difference {d:e} accumulated, {:e} plain bs 8",
            max_diff(&weights(&big), &weights(&plain))
        );
        assert!(d < 1e-5, "{opt:?} mom {mom}: accumulated differs by {d}");
        // The check can fail: without accumulation, batches of 8 end elsewhere.
        let d_plain = max_diff(&weights(&big), &weights(&plain));
        assert!(
            d_plain > 1e-3,
            "{opt:?}: batches of 8 differ by only {d_plain}"
        );
        assert_eq!(acc.cb::<GradientAccumulation>().unwrap().pending(), 0);
        assert!(acc.grads.is_none());
    }
}

/// Cancels every step: the weights stay where they start.
struct NoStep;

impl Callback for NoStep {
    fn order(&self) -> i32 {
        10
    }
    fn before_step(&mut self, _: &mut Learner) -> Result<()> {
        Err(Error::Cancelled(Cancel::Step))
    }
}

#[test]
fn the_recorded_loss_is_each_batch_true_loss() {
    let acc = fit(8, Some(32), OptFunc::Sgd, 0.0);
    let big = fit(32, None, OptFunc::Sgd, 0.0);
    // Before the first step (batches 0-3), the weights are the initial ones: the losses are
    // those of a run that never steps.
    let mut still = mlp_learner(5, ToyData::new(80, 8));
    still.add_cb(NoStep);
    still.fit(1, Some(5e-2)).unwrap();
    let acc_losses = &acc.recorder().unwrap().fits[0].raw_losses;
    let still_losses = &still.recorder().unwrap().fits[0].raw_losses;
    assert_eq!(acc_losses[..4], still_losses[..4]);
    // And their mean is the loss of the batch of 32 they make.
    let mean: f32 = acc_losses[..4].iter().sum::<f32>() / 4.0;
    let first_big = big.recorder().unwrap().fits[0].raw_losses[0];
    assert!((mean - first_big).abs() < 1e-5, "{mean} vs {first_big}");
}

#[test]
fn steps_come_every_n_acc_items_and_carry_over_epochs() {
    // 64 training items at batch size 8, n_acc 24: steps after batches 3, 6 (items 24, 48),
    // and the 16 left wait into the next epoch.
    let mut learn = mlp_learner(5, ToyData::new(80, 8));
    learn.add_cb(GradientAccumulation::new(24).unwrap());
    learn.add_cb(CountSteps::default());
    learn.fit(1, Some(1e-2)).unwrap();
    assert_eq!(learn.cb::<CountSteps>().unwrap().steps, vec![2, 5]);
    learn.fit(2, Some(1e-2)).unwrap();
    // A new fit starts counting afresh: epoch 0 as above, epoch 1 steps at batches 0 (16 + 8 =
    // 24), 3 and 6.
    let steps = &learn.cb::<CountSteps>().unwrap().steps;
    assert_eq!(steps[2..], [2, 5, 8, 11, 14]);
}

/// The training batches (numbered across the fit) whose step ran.
#[derive(Default)]
struct CountSteps {
    steps: Vec<usize>,
    batch: usize,
}

impl Callback for CountSteps {
    fn before_fit(&mut self, _: &mut Learner) -> Result<()> {
        self.batch = 0;
        Ok(())
    }
    fn after_step(&mut self, learn: &mut Learner) -> Result<()> {
        // after_step runs after a cancelled step too: only a real one consumed the gradients
        // the accumulator handed over.
        if learn.grads.is_none() && learn.cb::<GradientAccumulation>().unwrap().pending() == 0 {
            self.steps.push(self.batch);
        }
        Ok(())
    }
    fn after_batch(&mut self, learn: &mut Learner) -> Result<()> {
        if learn.state.training {
            self.batch += 1;
        }
        Ok(())
    }
}
