//! Segmentation's loss and metrics against fastai's own, from
//! `scripts/reference/seg_metrics_reference.py`: `CrossEntropyLossFlat(axis=1)` with its
//! gradient (with and without an ignored code), and what `Learner.validate` reports for
//! `foreground_acc`, `DiceMulti` and the pixel accuracy over three batches.

mod common;

use candle_core::{Device, Tensor, Var};
use fastcandle_core::batch::BatchIter;
use fastcandle_core::{Batch, Model, ParamStore};
use fastcandle_train::{
    CrossEntropyLossFlat, Learner, Loss, SegAccuracy, dice_multi, foreground_acc, pixel_accuracy,
};
use serde_json::Value;

const TOL: f64 = 1e-4;

fn reference() -> Value {
    serde_json::from_str(include_str!("data/seg_metrics_reference.json")).unwrap()
}

fn shape(r: &Value) -> Vec<usize> {
    let dims = r["shape"].as_array().unwrap();
    dims.iter().map(|d| d.as_u64().unwrap() as usize).collect()
}

fn logits(r: &Value) -> Tensor {
    let v: Vec<f32> = r["logits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect();
    Tensor::from_vec(v, shape(r), &Device::Cpu).unwrap()
}

fn codes(r: &Value, key: &str) -> Tensor {
    let v: Vec<u32> = r[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect();
    let s = shape(r);
    Tensor::from_vec(v, (s[0], s[2], s[3]), &Device::Cpu).unwrap()
}

fn close(what: &str, got: f64, want: &Value) {
    let want = want.as_f64().unwrap_or_else(|| panic!("{what}: {want}"));
    assert!((got - want).abs() < TOL, "{what}: {got} vs {want}");
}

#[test]
fn flattened_cross_entropy_and_its_gradient_match_fastai() {
    let r = reference();
    let void = r["void"].as_u64().unwrap() as u32;
    let cases = [
        ("plain", "target", None),
        ("ignore_void", "target_void", Some(void)),
        ("ignore_class0", "target", Some(0)),
    ];
    for (case, target, ignore) in cases {
        let want = &r["loss"][case];
        let x = Var::from_tensor(&logits(&r)).unwrap();
        let mut loss_func = CrossEntropyLossFlat::new().axis(1);
        loss_func.ignore_index = ignore;
        let loss = loss_func.loss(&x, &codes(&r, target)).unwrap();
        close(
            case,
            loss.to_scalar::<f32>().unwrap() as f64,
            &want["value"],
        );
        let grads = loss.backward().unwrap();
        let g: Vec<f32> = grads
            .get(x.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let want = want["grad"].as_array().unwrap();
        assert_eq!(g.len(), want.len());
        for (i, (&g, w)) in g.iter().zip(want).enumerate() {
            close(&format!("{case} grad {i}"), g as f64, w);
        }
    }
}

/// Returns its input: the stored logits are the model's output.
struct Identity(ParamStore);

impl Model for Identity {
    fn forward_t(&self, xs: &[Tensor], _train: bool) -> fastcandle_core::Result<Tensor> {
        Ok(xs[0].clone())
    }
    fn params(&self) -> &ParamStore {
        &self.0
    }
}

#[test]
fn learner_validate_reports_fastais_segmentation_metrics() {
    let r = reference();
    let void = r["void"].as_u64().unwrap() as u32;
    let (x, y) = (logits(&r), codes(&r, "target_void"));
    let (n, bs) = (x.dim(0).unwrap(), r["bs"].as_u64().unwrap() as usize);
    let metrics = [
        foreground_acc(),
        SegAccuracy::foreground().bkg_idx(2).into(),
        dice_multi(),
        pixel_accuracy(),
    ];
    let mut learn = Learner::new(
        Box::new(Identity(ParamStore::new())),
        common::ToyData::new(10, 2),
        Box::new(CrossEntropyLossFlat::new().axis(1).ignore_index(void)),
    )
    .metrics(metrics);
    learn.quiet(true);
    let batches: BatchIter<'_> = Box::new((0..n).step_by(bs).map(move |i| {
        let len = bs.min(n - i);
        Ok(Batch {
            xs: vec![x.narrow(0, i, len)?],
            ys: y.narrow(0, i, len)?,
        })
    }));
    let got = learn.validate(Some(batches)).unwrap();
    let want = &r["validate"];
    let names: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "valid_loss",
            "foreground_acc",
            "foreground_acc",
            "dice_multi",
            "pixel_accuracy"
        ]
    );
    let keys = [
        "valid_loss",
        "foreground_acc",
        "foreground_acc_bkg2",
        "dice_multi",
        "pixel_accuracy",
    ];
    for ((name, v), key) in got.iter().zip(keys) {
        close(name, *v, &want[key]);
    }
}
