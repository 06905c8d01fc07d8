//! fastai's `ActivationStats`: the recorded numbers against a hand computation, one record
//! per training batch, and hooks that never outlive the fit.

mod common;

use candle_core::{Device, Tensor};
use common::ToyData;
use fastcandle_core::hooks::Hooks;
use fastcandle_core::init::Init;
use fastcandle_core::{Model, ParamBuilder, ParamKind, ParamStore, Result};
use fastcandle_train::callback::{ActivationStats, LayerStats};
use fastcandle_train::{Callback, Cancel, CrossEntropyLossFlat, Error, Learner};
use std::sync::{Arc, Mutex};

/// Known activations: tapped as the module `fixed` at every forward pass.
const FIXED: [f32; 12] = [
    -1.0, 0.0, 0.05, 0.06, 0.24, 0.25, 0.3, 2.5, 9.99, 10.0, 12.0, -0.2,
];

type Slot = Arc<Mutex<Option<Arc<Hooks>>>>;

/// Linear(2, 8), ReLU, Linear(8, 2), with hook points `fixed` (the constant [`FIXED`]),
/// `linear1`, `relu` and `head`. Its hooks live in a slot the test can look into.
struct HookedToy {
    w1: Tensor,
    w2: Tensor,
    store: ParamStore,
    hooks: Slot,
}

impl HookedToy {
    fn new() -> (Self, Slot) {
        let pb = ParamBuilder::new(&Device::Cpu, 3);
        let w1 = pb
            .group(0)
            .param(
                "linear1.weight",
                &[8, 2],
                ParamKind::Weight,
                Init::PytorchDefault { fan_in: 2 },
            )
            .unwrap();
        let w2 = pb
            .group(0)
            .param(
                "head.weight",
                &[2, 8],
                ParamKind::Weight,
                Init::PytorchDefault { fan_in: 8 },
            )
            .unwrap();
        let hooks = Slot::default();
        let model = Self {
            w1,
            w2,
            store: pb.store().clone(),
            hooks: hooks.clone(),
        };
        (model, hooks)
    }

    fn tap(&self, name: &str, t: Tensor) -> Result<Tensor> {
        match self.hooks.lock().unwrap().as_ref() {
            Some(h) => h.tap(name, t),
            None => Ok(t),
        }
    }
}

impl Model for HookedToy {
    fn forward_t(&self, xs: &[Tensor], _train: bool) -> Result<Tensor> {
        self.tap("fixed", Tensor::new(&FIXED, xs[0].device())?)?;
        let h = self.tap("linear1", xs[0].matmul(&self.w1.t()?)?)?;
        let h = self.tap("relu", h.relu()?)?;
        self.tap("head", h.matmul(&self.w2.t()?)?)
    }
    fn params(&self) -> &ParamStore {
        &self.store
    }
    fn hook_points(&self) -> Vec<String> {
        ["fixed", "linear1", "relu", "head"]
            .map(String::from)
            .to_vec()
    }
    fn set_hooks(&self, hooks: Option<Arc<Hooks>>) -> Result<()> {
        *self.hooks.lock().unwrap() = hooks;
        Ok(())
    }
}

/// 80 items, batches of 8: 8 training and 2 validation batches per epoch.
fn learner() -> (Learner, Slot) {
    let (model, slot) = HookedToy::new();
    let mut l = Learner::new(
        Box::new(model),
        ToyData::new(80, 8),
        Box::new(CrossEntropyLossFlat::default()),
    );
    l.quiet(true);
    (l, slot)
}

/// Keeps the hooks seen during the fit, and fails or cancels after `stop_after` training
/// batches.
#[derive(Default)]
struct Watch {
    seen: Option<Arc<Hooks>>,
    stop_after: Option<(usize, bool)>,
    slot: Slot,
}

impl Callback for Watch {
    fn before_train(&mut self, _: &mut Learner) -> fastcandle_train::Result<()> {
        self.seen = self.slot.lock().unwrap().clone();
        Ok(())
    }
    fn after_batch(&mut self, learn: &mut Learner) -> fastcandle_train::Result<()> {
        match self.stop_after {
            Some((n, fail)) if learn.state.training && learn.state.train_iter + 1 == n => {
                if fail {
                    Err(Error::Invalid("stopped by the test".into()))
                } else {
                    Err(Error::Cancelled(Cancel::Fit))
                }
            }
            _ => Ok(()),
        }
    }
}

fn hand_stats(v: &[f32]) -> (f64, f64, f64, Vec<f32>) {
    let n = v.len() as f64;
    let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
    let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let near = v.iter().filter(|&&x| x <= 0.05).count() as f64 / n;
    let mut hist = vec![0f32; 40];
    for &x in v {
        if (0.0..=10.0).contains(&x) {
            hist[((x * 4.0) as usize).min(39)] += 1.0;
        }
    }
    (mean, var.sqrt(), near, hist)
}

#[test]
fn the_numbers_are_fastais_on_known_activations() {
    let s = LayerStats::of(&Tensor::new(&FIXED, &Device::Cpu).unwrap(), true).unwrap();
    // By hand: mean 34.19 / 12, unbiased std, 4 of 12 values <= 0.05 (-1, 0, 0.05, -0.2),
    // and bins of width 0.25: [0, .25) holds 0, .05, .06, .24; [.25, .5) .25, .3; bin 10
    // holds 2.5; the last bin 9.99 and 10; -1, -0.2 and 12 are outside.
    assert!((s.mean - 2.849_166_7).abs() < 1e-5, "{}", s.mean);
    assert!((s.std - 4.804_291).abs() < 1e-5, "{}", s.std);
    assert_eq!(s.near_zero, 4.0 / 12.0);
    let mut hist = vec![0f32; 40];
    hist[0] = 4.0;
    hist[1] = 2.0;
    hist[10] = 1.0;
    hist[39] = 2.0;
    assert_eq!(s.hist, hist);
    assert!(
        LayerStats::of(&Tensor::new(&FIXED, &Device::Cpu).unwrap(), false)
            .unwrap()
            .hist
            .is_empty()
    );

    // Many values, against the same formulas in f64.
    let v: Vec<f32> = (0..5000)
        .map(|i| (i as f32 * 0.37).sin() * 6.0 + 3.0)
        .collect();
    let s = LayerStats::of(&Tensor::new(v.as_slice(), &Device::Cpu).unwrap(), true).unwrap();
    let (mean, std, near, hist) = hand_stats(&v);
    assert!((s.mean as f64 - mean).abs() < 1e-4);
    assert!((s.std as f64 - std).abs() < 1e-4);
    assert!((s.near_zero as f64 - near).abs() < 1e-6);
    assert_eq!(s.hist, hist);
}

#[test]
fn one_record_per_training_batch_and_the_hooks_go_after_the_fit() {
    let (mut learn, slot) = learner();
    learn.add_cb(ActivationStats::new().with_hist(true));
    let watch = Watch {
        slot: slot.clone(),
        ..Watch::default()
    };
    learn.add_cb(watch);
    learn.fit(2, None).unwrap();

    let a = learn.cb::<ActivationStats>().unwrap();
    // Every hook point but the head.
    assert_eq!(a.names, ["fixed", "linear1", "relu"]);
    // 2 epochs of 8 training batches; the 4 validation batches add nothing.
    assert_eq!(a.stats.len(), 16);
    let (mean, std, near, hist) = hand_stats(&FIXED);
    for row in &a.stats {
        assert_eq!(row.len(), 3);
        assert!((row[0].mean as f64 - mean).abs() < 1e-5);
        assert!((row[0].std as f64 - std).abs() < 1e-5);
        assert_eq!(row[0].near_zero, near as f32);
        assert_eq!(row[0].hist, hist);
        // After a ReLU: nothing negative, and 8 items x 8 units of values.
        assert!(row[2].mean >= 0.0 && row[2].near_zero >= 0.0);
        assert!(row[2].hist.iter().sum::<f32>() <= 64.0);
    }
    let [means, stds, nears] = a.layer_stats("relu").unwrap();
    assert_eq!((means.len(), stds.len(), nears.len()), (16, 16, 16));
    assert_eq!(a.hist("fixed").unwrap()[3], hist);
    assert!(a.layer_stats("head").is_none());

    // The hooks are off the model: a forward after the fit stores nothing.
    assert!(slot.lock().unwrap().is_none());
    let seen = learn.cb::<Watch>().unwrap().seen.clone().unwrap();
    seen.clear();
    let x = Tensor::new(&[[0.5f32, -0.5]], &Device::Cpu).unwrap();
    learn.model.forward_t(&[x], true).unwrap();
    assert!(seen.all().iter().all(|(_, t)| t.is_none()));
}

#[test]
fn the_hooks_go_when_the_fit_fails_or_is_cancelled() {
    for fail in [true, false] {
        let (mut learn, slot) = learner();
        learn.add_cb(ActivationStats::new().modules(["relu"]));
        learn.add_cb(Watch {
            slot: slot.clone(),
            stop_after: Some((3, fail)),
            ..Watch::default()
        });
        let r = learn.fit(2, None);
        assert_eq!(r.is_err(), fail, "{r:?}");
        assert!(slot.lock().unwrap().is_none(), "fail: {fail}");
        let a = learn.cb::<ActivationStats>().unwrap();
        assert_eq!(a.names, ["relu"]);
        // Recorded before the test's callback stopped the fit at the third batch.
        assert_eq!(a.stats.len(), 3);
        assert!(a.stats[0][0].hist.is_empty());
    }
}

#[test]
fn an_unknown_module_or_an_unhookable_model_fails_the_fit_naming_why() {
    let (mut learn, slot) = learner();
    learn.add_cb(ActivationStats::new().modules(["layer9"]));
    let e = learn.fit(1, None).unwrap_err().to_string();
    assert!(e.contains("layer9") && e.contains("relu"), "{e}");
    assert!(slot.lock().unwrap().is_none());

    let mut learn = common::learner(0, 80, 8);
    learn.add_cb(ActivationStats::new());
    let e = learn.fit(1, None).unwrap_err().to_string();
    assert!(e.contains("no module to hook"), "{e}");
}
