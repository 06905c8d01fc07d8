//! fastai's tracker callbacks (`SaveModelCallback`, `EarlyStoppingCallback`,
//! `ReduceLROnPlateau`) against scripted epoch values: a callback writes the monitored column
//! of each epoch's Recorder row before the trackers read it, so the epoch each one acts at is
//! known in advance.

mod common;

use common::{learner, weights};
use fastcandle_train::callback::{
    Comp, EarlyStoppingCallback, GradientAccumulation, Recorder, ReduceLROnPlateau,
    SaveModelCallback,
};
use fastcandle_train::{Callback, Learner, Result};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// A model's weights by name.
type Weights = Vec<(String, Vec<f32>)>;
type Snapshots = Arc<Mutex<Vec<Weights>>>;

/// Writes `values[epoch]` into column `col` of the epoch's Recorder row (after the Recorder,
/// before the trackers), and keeps the weights each epoch ended with.
struct Script {
    col: &'static str,
    values: Vec<f64>,
    snapshots: Snapshots,
}

impl Script {
    fn new(col: &'static str, values: &[f64]) -> (Self, Snapshots) {
        let snapshots = Snapshots::default();
        let s = Self {
            col,
            values: values.to_vec(),
            snapshots: snapshots.clone(),
        };
        (s, snapshots)
    }
}

impl Callback for Script {
    fn order(&self) -> i32 {
        55
    }

    fn after_epoch(&mut self, learn: &mut Learner) -> Result<()> {
        let epoch = learn.state.epoch;
        self.snapshots.lock().unwrap().push(weights(learn));
        let rec = learn.cb_mut::<Recorder>().unwrap();
        let idx = rec.names.iter().position(|n| n == self.col).unwrap();
        rec.fits.last_mut().unwrap().values.last_mut().unwrap()[idx] = self.values[epoch];
        Ok(())
    }
}

/// The model tensors (`model.*`) of a saved file, and whether it holds optimizer state.
fn saved_weights(path: &Path) -> (Vec<(String, Vec<f32>)>, bool) {
    let (tensors, _) =
        fastcandle_core::tensor_io::load_safetensors(path, &candle_core::Device::Cpu).unwrap();
    let mut model: Vec<(String, Vec<f32>)> = tensors
        .iter()
        .filter_map(|(k, v)| {
            let name = k.strip_prefix("model.")?;
            Some((
                name.to_string(),
                v.flatten_all().unwrap().to_vec1().unwrap(),
            ))
        })
        .collect();
    model.sort_by(|a, b| a.0.cmp(&b.0));
    (model, tensors.keys().any(|k| k.starts_with("opt.")))
}

fn sorted(mut w: Vec<(String, Vec<f32>)>) -> Vec<(String, Vec<f32>)> {
    w.sort_by(|a, b| a.0.cmp(&b.0));
    w
}

/// Fits as many epochs as `values` at 1e-2 with the script and `cb` (kept on the learner, to
/// be read back); returns the learner and the weights each epoch ended with.
fn fit_scripted(col: &'static str, values: &[f64], cb: impl Callback) -> (Learner, Vec<Weights>) {
    let mut learn = learner(3, 200, 16);
    let (script, snaps) = Script::new(col, values);
    learn.add_cb(cb);
    learn
        .fit_with(values.len(), Some(1e-2), vec![Box::new(script)])
        .unwrap();
    let snaps = snaps.lock().unwrap().clone();
    (learn, snaps)
}

#[test]
fn save_model_keeps_the_best_epoch_and_loads_it_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let cb = SaveModelCallback::new().dir(dir.path());
    let (learn, snaps) = fit_scripted("valid_loss", &[0.9, 0.5, 0.7, 0.4, 0.6], cb);
    let saver = learn.cb::<SaveModelCallback>().unwrap();
    assert_eq!(saver.best(), Some((3, 0.4)));
    assert_eq!(
        saver.last_saved_path(),
        Some(dir.path().join("model.safetensors").as_path())
    );
    assert_eq!(snaps.len(), 5);
    assert_ne!(snaps[3], snaps[4], "the last epoch moved the weights");
    assert_eq!(
        weights(&learn),
        snaps[3],
        "the best epoch (3) is loaded back"
    );
    let (file, has_opt) = saved_weights(&dir.path().join("model.safetensors"));
    assert_eq!(file, sorted(snaps[3].clone()));
    assert!(!has_opt, "without with_opt no optimizer state is saved");

    // min_delta: 0.45 does not beat 0.5 by more than 0.1, so epoch 1 stays the best.
    let cb = SaveModelCallback::new()
        .dir(dir.path())
        .fname("delta")
        .min_delta(0.1)
        .unwrap();
    let (learn, snaps) = fit_scripted("valid_loss", &[0.9, 0.5, 0.45, 0.6], cb);
    assert_eq!(weights(&learn), snaps[1]);
}

#[test]
fn save_model_compares_metrics_upwards_unless_told() {
    let dir = tempfile::tempdir().unwrap();
    // `accuracy` has neither `loss` nor `error` in its name: higher is better.
    let cb = SaveModelCallback::new().dir(dir.path()).monitor("accuracy");
    assert_eq!(cb.tracker().direction(), Comp::Greater);
    let (learn, snaps) = fit_scripted("accuracy", &[0.5, 0.8, 0.7], cb);
    assert_eq!(weights(&learn), snaps[1]);
    let cb = SaveModelCallback::new()
        .dir(dir.path())
        .monitor("accuracy")
        .comp(Comp::Less);
    let (learn, snaps) = fit_scripted("accuracy", &[0.5, 0.8, 0.7], cb);
    assert_eq!(weights(&learn), snaps[0]);
    // `train_loss` is lower-is-better by its name.
    let cb = SaveModelCallback::new()
        .dir(dir.path())
        .monitor("train_loss");
    let (learn, snaps) = fit_scripted("train_loss", &[0.5, 0.8, 0.3, 0.4], cb);
    assert_eq!(weights(&learn), snaps[2]);
}

#[test]
fn save_model_every_epoch_and_at_end_save_without_loading() {
    let dir = tempfile::tempdir().unwrap();
    let cb = SaveModelCallback::new()
        .dir(dir.path())
        .every_epoch(2)
        .unwrap();
    let (learn, snaps) = fit_scripted("valid_loss", &[0.1, 0.5, 0.7, 0.9, 1.0], cb);
    assert_eq!(weights(&learn), snaps[4], "every_epoch loads nothing");
    for (e, snap) in snaps.iter().enumerate() {
        let f = dir.path().join(format!("model_{e}.safetensors"));
        assert_eq!(f.exists(), e % 2 == 0, "{}", f.display());
        if e % 2 == 0 {
            assert_eq!(saved_weights(&f).0, sorted(snap.clone()));
        }
    }

    let cb = SaveModelCallback::new()
        .dir(dir.path())
        .fname("end")
        .at_end(true);
    let (learn, snaps) = fit_scripted("valid_loss", &[0.1, 0.5, 0.7], cb);
    assert_eq!(weights(&learn), snaps[2], "at_end keeps the last weights");
    let file = saved_weights(&dir.path().join("end.safetensors")).0;
    assert_eq!(file, sorted(snaps[2].clone()));

    let cb = SaveModelCallback::new()
        .dir(dir.path())
        .every_epoch(1)
        .unwrap()
        .at_end(true);
    let mut learn = learner(3, 200, 16);
    let err = learn.fit_with(1, None, vec![Box::new(cb)]).unwrap_err();
    assert!(err.to_string().contains("every_epoch and at_end"), "{err}");
}

/// The optimizer's state tensors of `learn`, by name.
fn opt_state(learn: &Learner) -> HashMap<String, Vec<f32>> {
    let (t, _) = learn.opt.state_tensors().unwrap();
    t.into_iter()
        .map(|(k, v)| (k, v.flatten_all().unwrap().to_vec1().unwrap()))
        .collect()
}

#[test]
fn save_model_with_opt_saves_and_loads_the_optimizer_state() {
    let dir = tempfile::tempdir().unwrap();
    let cb = SaveModelCallback::new().dir(dir.path()).with_opt(true);
    let (learn, snaps) = fit_scripted("valid_loss", &[0.9, 0.3, 0.7], cb);
    assert_eq!(weights(&learn), snaps[1]);
    let path = dir.path().join("model.safetensors");
    let (_, has_opt) = saved_weights(&path);
    assert!(has_opt);
    // The learner's moments are the best epoch's (as saved), not the last epoch's.
    let (tensors, _) =
        fastcandle_core::tensor_io::load_safetensors(&path, &candle_core::Device::Cpu).unwrap();
    let saved: HashMap<String, Vec<f32>> = tensors
        .iter()
        .filter_map(|(k, v)| {
            let name = k.strip_prefix("opt.")?;
            Some((
                name.to_string(),
                v.flatten_all().unwrap().to_vec1().unwrap(),
            ))
        })
        .collect();
    assert!(!saved.is_empty());
    assert_eq!(opt_state(&learn), saved);
}

#[test]
fn an_unknown_monitor_is_an_error_naming_the_known_ones() {
    let mut learn = learner(3, 200, 16);
    let cb = EarlyStoppingCallback::new().monitor("valid_acc");
    let err = learn.fit_with(1, None, vec![Box::new(cb)]).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("`valid_acc`")
            && text.contains("train_loss, valid_loss, accuracy")
            && text.contains("EarlyStoppingCallback"),
        "{text}"
    );
    let cb = SaveModelCallback::new().monitor("nope");
    let err = learn.fit_with(1, None, vec![Box::new(cb)]).unwrap_err();
    assert!(err.to_string().contains("`nope`"), "{err}");
    let cb = ReduceLROnPlateau::new().monitor("nope");
    let err = learn.fit_with(1, None, vec![Box::new(cb)]).unwrap_err();
    assert!(err.to_string().contains("`nope`"), "{err}");
}

#[test]
fn bad_options_are_errors_naming_them() {
    let named = |r: std::result::Result<(), fastcandle_train::Error>, name: &str| {
        let e = r.unwrap_err().to_string();
        assert!(e.contains(name), "{name}: {e}");
    };
    named(
        EarlyStoppingCallback::new().patience(0).map(|_| ()),
        "patience",
    );
    named(ReduceLROnPlateau::new().patience(0).map(|_| ()), "patience");
    named(ReduceLROnPlateau::new().factor(1.0).map(|_| ()), "factor");
    named(
        ReduceLROnPlateau::new().factor(f64::NAN).map(|_| ()),
        "factor",
    );
    named(ReduceLROnPlateau::new().min_lr(-1e-3).map(|_| ()), "min_lr");
    named(
        EarlyStoppingCallback::new().min_delta(-0.1).map(|_| ()),
        "min_delta",
    );
    named(
        SaveModelCallback::new()
            .min_delta(f64::INFINITY)
            .map(|_| ()),
        "min_delta",
    );
    named(
        SaveModelCallback::new().every_epoch(0).map(|_| ()),
        "every_epoch",
    );
    named(GradientAccumulation::new(0).map(|_| ()), "n_acc");
}

/// The number of epochs the last fit recorded.
fn epochs_run(learn: &Learner) -> usize {
    learn.recorder().unwrap().last().unwrap().values.len()
}

#[test]
fn early_stopping_stops_after_patience_epochs_without_improvement() {
    let losses = [0.9, 0.8, 0.85, 0.83, 0.7, 0.9, 0.9, 0.9, 0.9, 0.9];
    // patience 1 (fastai's default): epoch 2 does not improve on epoch 1, stop there.
    let (learn, _) = fit_scripted("valid_loss", &losses, EarlyStoppingCallback::new());
    assert_eq!(epochs_run(&learn), 3);
    // patience 2: epochs 2 and 3 do not improve, stop after epoch 3.
    let cb = EarlyStoppingCallback::new().patience(2).unwrap();
    let (learn, _) = fit_scripted("valid_loss", &losses, cb);
    assert_eq!(epochs_run(&learn), 4);
    // patience 3: epoch 4 improves and resets the wait; 5, 6, 7 do not, stop after 7.
    let cb = EarlyStoppingCallback::new().patience(3).unwrap();
    let (learn, _) = fit_scripted("valid_loss", &losses, cb);
    assert_eq!(epochs_run(&learn), 8);

    // min_delta: 0.95 and 0.92 do not beat 1.0 by more than 0.1.
    let losses = [1.0, 0.95, 0.92, 0.5];
    let cb = EarlyStoppingCallback::new()
        .patience(2)
        .unwrap()
        .min_delta(0.1)
        .unwrap();
    let (learn, _) = fit_scripted("valid_loss", &losses, cb);
    assert_eq!(epochs_run(&learn), 3);
    let cb = EarlyStoppingCallback::new().patience(2).unwrap();
    let (learn, _) = fit_scripted("valid_loss", &losses, cb);
    assert_eq!(
        epochs_run(&learn),
        4,
        "without min_delta each epoch improves"
    );
}

#[test]
fn early_stopping_with_save_model_ends_on_the_best_weights() {
    let dir = tempfile::tempdir().unwrap();
    let mut learn = learner(3, 200, 16);
    let (script, snaps) = Script::new("valid_loss", &[0.9, 0.4, 0.6, 0.7, 0.1]);
    learn
        .fit_with(
            5,
            Some(1e-2),
            vec![
                Box::new(script),
                Box::new(EarlyStoppingCallback::new().patience(2).unwrap()),
                Box::new(SaveModelCallback::new().dir(dir.path())),
            ],
        )
        .unwrap();
    assert_eq!(epochs_run(&learn), 4);
    assert_eq!(weights(&learn), snaps.lock().unwrap()[1]);
}

#[test]
fn reduce_lr_on_plateau_divides_every_group_and_stops_at_min_lr() {
    let losses = [0.9, 0.8, 0.85, 0.86, 0.7, 0.75, 0.76, 0.77];
    let mut learn = learner(3, 200, 16);
    learn.opt.set_hyper("lr", &[1e-2, 2e-2]).unwrap();
    let (script, _) = Script::new("valid_loss", &losses);
    let cb = ReduceLROnPlateau::new()
        .patience(2)
        .unwrap()
        .min_lr(2e-4)
        .unwrap();
    learn
        .fit_with(losses.len(), None, vec![Box::new(script), Box::new(cb)])
        .unwrap();
    let fit = learn.recorder().unwrap().last().unwrap();
    let per_epoch = learn.dls.n_train_batches();
    let at_start: Vec<Vec<f64>> = (0..losses.len())
        .map(|e| fit.lrs[e * per_epoch].clone())
        .collect();
    // Epochs 2 and 3 do not improve: /10 after epoch 3; epoch 4 improves; 5 and 6 do not:
    // /10 again after epoch 6, held at min_lr for the first group.
    let expected: Vec<Vec<f64>> = [
        [1e-2, 2e-2],
        [1e-2, 2e-2],
        [1e-2, 2e-2],
        [1e-2, 2e-2],
        [1e-3, 2e-3],
        [1e-3, 2e-3],
        [1e-3, 2e-3],
        [2e-4, 2e-4],
    ]
    .iter()
    .map(|r| r.to_vec())
    .collect();
    for (e, (got, want)) in at_start.iter().zip(&expected).enumerate() {
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "epoch {e}: {got:?} vs {want:?}");
        }
    }
    assert_eq!(learn.opt.hyper("lr"), vec![2e-4, 2e-4]);
}

#[test]
fn trackers_sit_out_lr_find() {
    let dir = tempfile::tempdir().unwrap();
    let mut learn = learner(3, 400, 8);
    learn.add_cb(SaveModelCallback::new().dir(dir.path()));
    learn.add_cb(EarlyStoppingCallback::new());
    learn.lr_find().unwrap();
    assert!(!dir.path().join("model.safetensors").exists());
    // And they run in the next fit.
    learn.fit(2, Some(1e-2)).unwrap();
    assert!(dir.path().join("model.safetensors").exists());
}
