//! The fit loop end to end on a toy task: learning, events, cancellation, schedules,
//! fine_tune's rates, lr_find, checkpoints and the CSV history.

mod common;

use common::{learner, weights};
use fastcandle_train::callback::{CsvLogger, Recorder, SaveCheckpoint};
use fastcandle_train::checkpoint::load_checkpoint;
use fastcandle_train::{Callback, Cancel, Error, Learner, Result};
use std::sync::{Arc, Mutex};

#[test]
fn a_tiny_model_learns_a_toy_task() {
    let mut l = learner(1, 600, 32);
    let before = l.validate(None).unwrap();
    l.fit_one_cycle(6, Some(2e-2)).unwrap();
    let after = l.validate(None).unwrap();
    assert!(
        after[0].1 < before[0].1,
        "valid loss {:?} -> {:?}",
        before,
        after
    );
    assert!(after[1].1 > 0.93, "accuracy {}", after[1].1);
    let rec = l.recorder().unwrap();
    assert_eq!(rec.names, ["train_loss", "valid_loss", "accuracy"]);
    assert_eq!(rec.last().unwrap().values.len(), 6);
}

/// Records every event it sees.
struct Spy(
    Arc<Mutex<Vec<String>>>,
    Option<(&'static str, usize, Cancel)>,
);

macro_rules! spy_events {
    ($($name:ident),*) => {
        impl Callback for Spy {
            $(fn $name(&mut self, learn: &mut Learner) -> Result<()> {
                self.0.lock().unwrap().push(stringify!($name).to_string());
                if let Some((event, iter, cancel)) = self.1 {
                    if event == stringify!($name) && learn.state.iter == iter && learn.state.training {
                        return Err(Error::Cancelled(cancel));
                    }
                }
                Ok(())
            })*
        }
    };
}

spy_events!(
    before_fit,
    before_epoch,
    before_train,
    before_batch,
    after_pred,
    after_loss,
    before_backward,
    after_backward,
    before_step,
    after_step,
    after_cancel_batch,
    after_batch,
    after_cancel_train,
    after_train,
    before_validate,
    after_cancel_validate,
    after_validate,
    after_cancel_epoch,
    after_epoch,
    after_cancel_fit,
    after_fit
);

fn events_of(cancel: Option<(&'static str, usize, Cancel)>) -> Vec<String> {
    // 100 items: 80 train (2 batches of 40), 20 valid (1 batch).
    let mut l = learner(0, 100, 40);
    let log = Arc::new(Mutex::new(Vec::new()));
    l.fit_with(1, None, vec![Box::new(Spy(log.clone(), cancel))])
        .unwrap();
    log.lock().unwrap().clone()
}

#[test]
fn events_run_in_fastai_order() {
    let train_batch = [
        "before_batch",
        "after_pred",
        "after_loss",
        "before_backward",
        "after_backward",
        "before_step",
        "after_step",
        "after_batch",
    ];
    let mut expect = vec!["before_fit", "before_epoch", "before_train"];
    expect.extend(train_batch);
    expect.extend(train_batch);
    expect.extend([
        "after_train",
        "before_validate",
        "before_batch",
        "after_pred",
        "after_loss",
        "after_batch",
    ]);
    expect.extend(["after_validate", "after_epoch", "after_fit"]);
    assert_eq!(events_of(None), expect);
}

#[test]
fn cancelling_a_batch_skips_its_step_but_not_the_next_batch() {
    let ev = events_of(Some(("after_loss", 0, Cancel::Batch)));
    assert_eq!(ev.iter().filter(|e| *e == "after_step").count(), 1);
    assert_eq!(ev.iter().filter(|e| *e == "after_cancel_batch").count(), 1);
    assert_eq!(ev.iter().filter(|e| *e == "after_batch").count(), 3);
}

#[test]
fn cancelling_training_goes_on_to_validation_and_cancelling_the_fit_stops() {
    let ev = events_of(Some(("before_batch", 0, Cancel::Train)));
    assert!(ev.contains(&"after_cancel_train".to_string()));
    assert!(ev.contains(&"before_validate".to_string()));
    assert_eq!(ev.iter().filter(|e| *e == "after_step").count(), 0);

    let ev = events_of(Some(("after_step", 0, Cancel::Fit)));
    assert!(!ev.contains(&"before_validate".to_string()));
    // As fastai's `finally`: the `after_*` events of the levels it passes through still run.
    let tail: Vec<&str> = ev[ev.len() - 5..].iter().map(String::as_str).collect();
    assert_eq!(
        tail,
        [
            "after_batch",
            "after_train",
            "after_epoch",
            "after_cancel_fit",
            "after_fit"
        ]
    );
    assert_eq!(ev[ev.len() - 2..], ["after_cancel_fit", "after_fit"]);

    let ev = events_of(Some(("after_step", 1, Cancel::Epoch)));
    assert!(!ev.contains(&"before_validate".to_string()));
    assert!(ev.contains(&"after_cancel_epoch".to_string()));
    assert_eq!(ev.last().unwrap(), "after_fit");
}

#[test]
fn one_cycle_rates_and_momenta_follow_the_formulas() {
    let mut l = learner(0, 500, 10); // 40 train batches per epoch
    l.fit_one_cycle(2, Some(1e-2)).unwrap();
    let fit = l.recorder().unwrap().last().unwrap().clone();
    let n = fit.lrs.len();
    assert_eq!(n, 80);
    let lr = |i: usize| fit.lrs[i][1];
    let mom = |i: usize| fit.moms[i][1];
    // Start: lr_max / div, momentum 0.95.
    assert!((lr(0) - 1e-2 / 25.0).abs() < 1e-12);
    assert!((mom(0) - 0.95).abs() < 1e-12);
    // Peak at pct_start = 0.25 (batch 20 of 80): lr_max, momentum 0.85.
    assert!((lr(20) - 1e-2).abs() < 1e-12);
    assert!((mom(20) - 0.85).abs() < 1e-12);
    // End: pos = 79/80, cosine towards lr_max / 1e5.
    let pos = (79.0 / 80.0 - 0.25) / 0.75;
    let expect = 1e-2 + (1.0 + (std::f64::consts::PI * (1.0 - pos)).cos()) * (1e-7 - 1e-2) / 2.0;
    assert!((lr(79) - expect).abs() < 1e-12, "{} vs {}", lr(79), expect);
    assert!(lr(79) < 1e-5);
    let expect_mom =
        0.85 + (1.0 + (std::f64::consts::PI * (1.0 - pos)).cos()) * (0.95 - 0.85) / 2.0;
    assert!((mom(79) - expect_mom).abs() < 1e-12);
    // Every group got the same rate.
    assert_eq!(fit.lrs[5][0], fit.lrs[5][1]);
}

#[test]
fn fine_tune_rates_per_group_and_frozen_body() {
    let mut l = learner(0, 500, 10);
    l.fine_tune_with(
        1,
        &fastcandle_train::FineTuneOptions {
            freeze_epochs: 1,
            ..Default::default()
        },
    )
    .unwrap();
    let rec = l.recorder().unwrap();
    let n = rec.fits.len();
    let frozen = &rec.fits[n - 2];
    let unfrozen = &rec.fits[n - 1];
    // Frozen phase: slice(2e-3) -> [2e-4, 2e-3], pct_start 0.99, div 25.
    assert!((frozen.lrs[0][0] - 2e-4 / 25.0).abs() < 1e-15);
    assert!((frozen.lrs[0][1] - 2e-3 / 25.0).abs() < 1e-15);
    // The last of 40 batches is at pos 39/40 < 0.99: still warming up towards 2e-3.
    let pos = (39.0 / 40.0) / 0.99;
    let expect = 2e-3 / 25.0
        + (1.0 + (std::f64::consts::PI * (1.0 - pos)).cos()) * (2e-3 - 2e-3 / 25.0) / 2.0;
    assert!((frozen.lrs[39][1] - expect).abs() < 1e-12);
    assert!((frozen.lrs[39][0] - expect / 10.0).abs() < 1e-12);
    // Unfrozen phase: base_lr halved to 1e-3, groups from 1e-5 to 1e-3 (even_mults), div 5.
    assert!((unfrozen.lrs[0][0] - 1e-5 / 5.0).abs() < 1e-15);
    assert!((unfrozen.lrs[0][1] - 1e-3 / 5.0).abs() < 1e-15);
    assert!(
        (unfrozen.lrs[12][0] - 1e-5).abs() < 1e-15,
        "peak at pct_start 0.3 of 40 batches"
    );
    assert!((unfrozen.lrs[12][1] - 1e-3).abs() < 1e-15);
}

#[test]
fn freezing_moves_only_the_head_and_batchnorm() {
    let mut l = learner(0, 300, 20);
    let before = weights(&l);
    l.freeze();
    l.fit_one_cycle(1, Some(1e-2)).unwrap();
    let after = weights(&l);
    for ((name, a), (_, b)) in before.iter().zip(&after) {
        let moved = a != b;
        let should = name.starts_with("head") || name.starts_with("body.1");
        assert_eq!(moved, should, "{name} moved: {moved}");
    }
    // As fastai's, unfreezing clears the optimizer's moments and step counts.
    assert!(!l.opt.state_tensors().unwrap().1.is_empty());
    l.unfreeze();
    assert!(l.opt.state_tensors().unwrap().1.is_empty());
}

#[test]
fn lr_find_restores_the_weights_and_suggests_a_rate_in_range() {
    let mut l = learner(2, 2000, 16); // 100 train batches per epoch
    let before = weights(&l);
    let s = l.lr_find().unwrap();
    assert_eq!(weights(&l), before);
    // lr_find leaves the epoch count alone; a fit moves it on, so a second fit draws new
    // shuffles and dropout masks.
    assert_eq!(l.epochs_before, 0);
    assert!(s.lrs.len() <= 100 && s.lrs.len() > 10);
    assert!(s.valley > 1e-7 && s.valley < 10.0, "{}", s.valley);
    assert!(s.minimum > 1e-8 && s.minimum < 1.0);
    // Rates grow exponentially from 1e-7.
    assert!((s.lrs[0] - 1e-7).abs() < 1e-15);
    assert!((s.lrs[1] / s.lrs[0] - 1e8f64.powf(0.01)).abs() < 1e-9);
    // The learner still trains normally afterwards.
    l.fit_one_cycle(1, Some(1e-2)).unwrap();
    assert_eq!(l.epochs_before, 1);
}

/// Stops the fit after the given epoch (after the checkpoint is written).
struct StopAfter(usize);
impl Callback for StopAfter {
    fn order(&self) -> i32 {
        90
    }
    fn after_epoch(&mut self, learn: &mut Learner) -> Result<()> {
        if learn.state.epoch == self.0 {
            return Err(Error::Cancelled(Cancel::Fit));
        }
        Ok(())
    }
}

#[test]
fn a_resumed_fit_ends_with_the_same_weights() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("ckpt.safetensors");

    let mut full = learner(3, 400, 20);
    full.fit_one_cycle(4, Some(1e-2)).unwrap();

    let mut first = learner(3, 400, 20);
    let options = serde_json::json!({ "bs": 20, "lr": 1e-2, "data": "xor" });
    first.add_cb(SaveCheckpoint::new(&ckpt).options(options.clone()));
    first.add_cb(StopAfter(1));
    first.fit_one_cycle(4, Some(1e-2)).unwrap();
    assert_ne!(
        weights(&first),
        weights(&full),
        "the interrupted run stopped early"
    );

    // A new process: another initialisation, then the checkpoint.
    let mut resumed = learner(99, 400, 20);
    let info = load_checkpoint(&mut resumed, &ckpt).unwrap();
    assert_eq!(info.epochs_done, 2);
    assert_eq!(
        info.options.as_ref(),
        Some(&options),
        "the run's options are saved"
    );
    resumed.fit_one_cycle(4, Some(1e-2)).unwrap();
    for ((name, a), (_, b)) in weights(&full).iter().zip(&weights(&resumed)) {
        let d = fastcandle_testutil::max_abs_diff(a, b);
        assert!(d < 1e-6, "{name} differs by {d}");
    }
    // The resumed run recorded only the epochs it ran.
    assert_eq!(resumed.recorder().unwrap().last().unwrap().values.len(), 2);
}

/// Stops `fine_tune`'s unfrozen phase: before its first epoch (`None`, so the last checkpoint
/// is the frozen phase's) or after epoch `Some(k)` (after its checkpoint).
struct StopUnfrozen(Option<usize>);
impl Callback for StopUnfrozen {
    fn order(&self) -> i32 {
        90
    }
    fn before_epoch(&mut self, learn: &mut Learner) -> Result<()> {
        if learn.epochs_before > 0 && self.0.is_none() {
            return Err(Error::Cancelled(Cancel::Fit));
        }
        Ok(())
    }
    fn after_epoch(&mut self, learn: &mut Learner) -> Result<()> {
        if learn.epochs_before > 0 && self.0 == Some(learn.state.epoch) {
            return Err(Error::Cancelled(Cancel::Fit));
        }
        Ok(())
    }
}

#[test]
fn a_resumed_fine_tune_ends_with_the_same_weights_from_either_phase() {
    let opts = fastcandle_train::FineTuneOptions::default();
    let mut full = learner(3, 400, 20);
    full.fine_tune(3).unwrap();
    for stop in [None, Some(1)] {
        let dir = tempfile::tempdir().unwrap();
        let ckpt = dir.path().join("ckpt.safetensors");
        let mut first = learner(3, 400, 20);
        first.add_cb(SaveCheckpoint::new(&ckpt));
        first.add_cb(StopUnfrozen(stop));
        first.fine_tune(3).unwrap();
        assert_ne!(weights(&first), weights(&full), "{stop:?}: stopped early");

        let mut resumed = learner(99, 400, 20);
        let info = load_checkpoint(&mut resumed, &ckpt).unwrap();
        match stop {
            None => assert_eq!((info.epochs_before, info.n_epoch), (0, 1)),
            Some(_) => assert_eq!((info.epochs_before, info.epochs_done), (1, 2)),
        }
        resumed.fine_tune_resume(3, &opts, &info).unwrap();
        for ((name, a), (_, b)) in weights(&full).iter().zip(&weights(&resumed)) {
            let d = fastcandle_testutil::max_abs_diff(a, b);
            assert!(d < 1e-6, "{stop:?}: {name} differs by {d}");
        }
        // A checkpoint of another fine_tune is refused, saying why.
        let err = learner(99, 400, 20).fine_tune_resume(5, &opts, &info);
        if stop.is_some() {
            assert!(
                err.unwrap_err()
                    .to_string()
                    .contains("not from fine_tune(5)")
            );
        }
    }
}

#[test]
fn a_file_that_is_not_a_checkpoint_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("junk.safetensors");
    std::fs::write(&p, b"junk").unwrap();
    let mut l = learner(0, 100, 10);
    let err = load_checkpoint(&mut l, &p).unwrap_err().to_string();
    assert!(err.contains("junk.safetensors"), "{err}");
}

#[test]
fn csv_history_has_one_row_per_epoch_across_fits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.csv");
    let mut l = learner(0, 200, 20);
    l.add_cb(CsvLogger::new(&path));
    l.fine_tune(2).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "epoch,train_loss,valid_loss,accuracy,time_s");
    assert_eq!(lines.len(), 1 + 3, "frozen epoch + 2: {text}");
    for (i, line) in lines[1..].iter().enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells[0], i.to_string());
        let acc: f64 = cells[3].parse().unwrap();
        assert!((0.0..=1.0).contains(&acc));
    }
    let rec = l.cb::<Recorder>().unwrap();
    assert_eq!(rec.fits.len(), 2);
}

#[test]
fn a_fit_of_no_epoch_still_writes_the_history_header() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.csv");
    let mut l = learner(0, 200, 20);
    l.add_cb(CsvLogger::new(&path));
    l.fit_one_cycle(0, Some(1e-2)).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text, "epoch,train_loss,valid_loss,accuracy,time_s\n");
}

/// Cancels the fit in the middle of the given epoch.
struct CrashIn(usize);
impl Callback for CrashIn {
    fn after_step(&mut self, learn: &mut Learner) -> Result<()> {
        if learn.state.epoch == self.0 && learn.state.iter == 3 {
            return Err(Error::Cancelled(Cancel::Fit));
        }
        Ok(())
    }
}

#[test]
fn an_epoch_cut_short_is_not_checkpointed_and_the_history_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("ckpt.safetensors");
    let hist = dir.path().join("history.csv");
    let mut l = learner(5, 400, 20);
    l.add_cb(SaveCheckpoint::new(&ckpt));
    l.add_cb(CsvLogger::new(&hist));
    l.add_cb(CrashIn(1));
    l.fit_one_cycle(3, Some(1e-2)).unwrap();
    let mut resumed = learner(5, 400, 20);
    let info = load_checkpoint(&mut resumed, &ckpt).unwrap();
    assert_eq!(info.epochs_done, 1, "only the complete epoch 0 is saved");
    // The history kept every epoch that ran (epoch 1's partial row too); resuming keeps the
    // checkpointed one and goes on from there.
    resumed.add_cb(CsvLogger::resume(&hist, info.epochs_done).unwrap());
    resumed.fit_one_cycle(3, Some(1e-2)).unwrap();
    let text = std::fs::read_to_string(&hist).unwrap();
    let epochs: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(epochs, ["0", "1", "2"]);
}

#[test]
fn lr_find_logs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let hist = dir.path().join("history.csv");
    let mut l = learner(2, 400, 16);
    l.add_cb(CsvLogger::new(&hist));
    l.lr_find().unwrap();
    assert!(!hist.exists());
    l.fit_one_cycle(1, Some(1e-2)).unwrap();
    assert_eq!(std::fs::read_to_string(&hist).unwrap().lines().count(), 2);
}

/// Cancels the step of every other training batch and the backward of every fourth, counting
/// the events it sees.
#[derive(Default)]
struct SkipSome {
    batch: usize,
    cancelled_steps: usize,
    cancelled_backwards: usize,
    steps: usize,
    backwards: usize,
}

impl Callback for SkipSome {
    fn before_backward(&mut self, learn: &mut Learner) -> Result<()> {
        self.batch += 1;
        if learn.state.training && self.batch % 4 == 0 {
            return Err(Error::Cancelled(Cancel::Backward));
        }
        Ok(())
    }
    fn after_cancel_backward(&mut self, _: &mut Learner) -> Result<()> {
        self.cancelled_backwards += 1;
        Ok(())
    }
    fn after_backward(&mut self, learn: &mut Learner) -> Result<()> {
        self.backwards += 1;
        assert!(learn.grads.is_some() == (self.batch % 4 != 0));
        Ok(())
    }
    fn before_step(&mut self, _: &mut Learner) -> Result<()> {
        if self.batch % 2 == 1 {
            return Err(Error::Cancelled(Cancel::Step));
        }
        Ok(())
    }
    fn after_cancel_step(&mut self, _: &mut Learner) -> Result<()> {
        self.cancelled_steps += 1;
        Ok(())
    }
    fn after_step(&mut self, _: &mut Learner) -> Result<()> {
        self.steps += 1;
        Ok(())
    }
}

#[test]
fn a_callback_cancels_steps_and_backwards_as_fastai() -> Result<()> {
    // Every 4th batch skips its backward (and so its step), the odd ones skip their step, and
    // the others step; `after_step` runs after a cancelled step too, as fastai's.
    let mut learn = common::learner(0, 200, 16);
    let n = learn.dls.n_train_batches();
    learn.add_cb(SkipSome::default());
    learn.fit(1, Some(1e-2))?;
    let cb = learn.cb::<SkipSome>().unwrap();
    assert_eq!(cb.batch, n);
    assert_eq!(cb.cancelled_backwards, n / 4);
    assert_eq!(
        cb.backwards, n,
        "after_backward runs after a cancelled backward too"
    );
    assert_eq!(cb.cancelled_steps, n.div_ceil(2));
    assert_eq!(cb.steps, n.div_ceil(2) + (n / 2 - n / 4));
    assert!(
        learn.grads.is_none(),
        "a cancelled step leaves no gradients behind"
    );

    // Every step cancelled: the weights do not move.
    let mut learn = common::learner(0, 200, 16);
    let before = common::weights(&learn);
    learn.add_cb(SkipAllSteps);
    learn.fit(1, Some(1e-2))?;
    assert_eq!(common::weights(&learn), before);
    Ok(())
}

struct SkipAllSteps;

impl Callback for SkipAllSteps {
    fn before_step(&mut self, _: &mut Learner) -> Result<()> {
        Err(Error::Cancelled(Cancel::Step))
    }
}
