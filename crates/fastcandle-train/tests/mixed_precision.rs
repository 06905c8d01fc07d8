//! Mixed precision (`to_fp16`, `to_bf16`): training in a half dtype over f32 master weights
//! follows the f32 run, the master weights get f32 gradients equal to the f32 ones, an
//! overflowing f16 step is skipped and the scale backs off and grows as PyTorch's
//! `GradScaler`, and bad options are clear errors.

mod common;

use candle_core::{DType, Device, Tensor};
use common::ToyData;
use fastcandle_core::{Model, ParamBuilder, ParamStore, Result as CoreResult};
use fastcandle_models::layers::{
    AdaptiveConcatPool2d, BatchNorm, Conv2d, Conv2dConfig, Flatten, Layer, Linear, Relu, Sequential,
};
use fastcandle_train::{
    Callback, CrossEntropyLossFlat, Error, GradScaler, Learner, MixedPrecision, Result,
};

/// A tiny MLP of the models crate's layers: Linear, BatchNorm, ReLU, Linear.
struct Mlp {
    layers: Sequential,
    store: ParamStore,
}

impl Mlp {
    fn new(seed: u64) -> Self {
        let pb = ParamBuilder::new(&Device::Cpu, seed);
        let layers = Sequential::new()
            .with(Linear::new(&pb.pp(0), 2, 16, true).unwrap())
            .with(BatchNorm::new(&pb.pp(1), 16).unwrap())
            .with(Relu)
            .with(Linear::new(&pb.pp(3), 16, 2, true).unwrap());
        Self {
            layers,
            store: pb.store().clone(),
        }
    }
}

impl Model for Mlp {
    fn forward_t(&self, xs: &[Tensor], train: bool) -> CoreResult<Tensor> {
        self.layers.forward_t(&xs[0], train)
    }
    fn params(&self) -> &ParamStore {
        &self.store
    }
}

/// A tiny CNN of the models crate's layers on a 6x6 picture drawn from each point (a fixed
/// pattern scaled by its two coordinates): Conv-BN-ReLU, a strided conv with bias, concat
/// pooling, BatchNorm1d, Linear.
struct Cnn {
    pattern: Tensor,
    layers: Sequential,
    store: ParamStore,
}

impl Cnn {
    fn new(seed: u64) -> Self {
        let pb = ParamBuilder::new(&Device::Cpu, seed);
        let pad = Conv2dConfig {
            padding: 1,
            bias: false,
            ..Default::default()
        };
        let strided = Conv2dConfig {
            stride: 2,
            padding: 1,
            ..Default::default()
        };
        let layers = Sequential::new()
            .with(Conv2d::new(&pb.pp(0), 2, 8, 3, pad).unwrap())
            .with(BatchNorm::new(&pb.pp(1), 8).unwrap())
            .with(Relu)
            .with(Conv2d::new(&pb.pp(3), 8, 8, 3, strided).unwrap())
            .with(Relu)
            .with(AdaptiveConcatPool2d::default())
            .with(Flatten)
            .with(BatchNorm::new(&pb.pp(7), 16).unwrap())
            .with(Linear::new(&pb.pp(8), 16, 2, true).unwrap());
        let pattern: Vec<f32> = (0..2 * 36)
            .map(|i| ((i * 7 % 11) as f32) / 5.0 - 1.0)
            .collect();
        Self {
            pattern: Tensor::from_vec(pattern, (1, 2, 6, 6), &Device::Cpu).unwrap(),
            layers,
            store: pb.store().clone(),
        }
    }
}

impl Model for Cnn {
    fn forward_t(&self, xs: &[Tensor], train: bool) -> CoreResult<Tensor> {
        let x = &xs[0];
        let n = x.dims()[0];
        let img = x
            .reshape((n, 2, 1, 1))?
            .broadcast_mul(&self.pattern.to_dtype(x.dtype())?)?;
        self.layers.forward_t(&img, train)
    }
    fn params(&self) -> &ParamStore {
        &self.store
    }
}

fn learner(model: Box<dyn Model>, n: usize, bs: usize) -> Learner {
    let mut l = Learner::new(
        model,
        ToyData::new(n, bs),
        Box::new(CrossEntropyLossFlat::default()),
    )
    .metrics([fastcandle_train::accuracy()]);
    l.quiet(true);
    l
}

/// Each epoch's (train loss, valid loss) and the final validation predictions' dtype.
fn curve(model: Box<dyn Model>, precision: &str) -> (Vec<(f64, f64)>, DType) {
    let l = learner(model, 400, 16);
    let mut l = match precision {
        "fp16" => l.to_fp16(),
        "bf16" => l.to_bf16(),
        _ => l,
    };
    l.fit_one_cycle(4, Some(1e-2)).unwrap();
    let rows = l.recorder().unwrap().last().unwrap().values.clone();
    let (probs, _) = l.get_preds(None).unwrap();
    (rows.iter().map(|r| (r[0], r[1])).collect(), probs.dtype())
}

/// The half-precision runs follow the f32 loss curve, for an MLP and a CNN with BatchNorm.
/// Tolerance: each epoch's training loss (a mean over 20 batches) within 5% of the f32 one
/// (measured: up to 3%), each validation loss within 10% plus 0.05 (measured: up to 0.04).
/// The roundings of the half dtype (2^-9 relative per stored value in bf16, 2^-12 in f16)
/// move the weights' trajectory a little at every step; a validation loss near 0.1 over 80
/// items is dominated by the few items near the boundary, which such a move shifts by a few
/// hundredths. A cast in the wrong place (weights trained in half, a scale not undone, a
/// gradient lost) leaves the loss near ln 2 = 0.69 or makes it blow up.
#[test]
fn half_precision_training_follows_the_f32_loss_curve() {
    for (name, make) in [
        (
            "mlp",
            (|| Box::new(Mlp::new(3)) as Box<dyn Model>) as fn() -> Box<dyn Model>,
        ),
        ("cnn", || Box::new(Cnn::new(3)) as Box<dyn Model>),
    ] {
        let (f32_curve, dt) = curve(make(), "fp32");
        assert_eq!(dt, DType::F32);
        assert!(
            f32_curve.last().unwrap().1 < 0.4,
            "{name}: the f32 run should learn: {f32_curve:?}"
        );
        for precision in ["bf16", "fp16"] {
            let (half, dt) = curve(make(), precision);
            assert_eq!(
                dt,
                DType::F32,
                "{name} {precision}: predictions come back f32"
            );
            for (e, (a, b)) in f32_curve.iter().zip(&half).enumerate() {
                for (what, x, y) in [("train", a.0, b.0), ("valid", a.1, b.1)] {
                    let (rel, abs) = if what == "train" {
                        (0.05, 0.0)
                    } else {
                        (0.1, 0.05)
                    };
                    assert!(
                        (x - y).abs() <= rel * x + abs,
                        "{name} {precision} epoch {e} {what} loss {y} vs f32 {x}\nf32 {f32_curve:?}\n{precision} {half:?}"
                    );
                }
            }
        }
    }
}

/// Puts an infinity into one gradient at the given training batches (before the
/// mixed-precision callback unscales them), and records around every batch the weights, the
/// scale and the count of skipped steps.
struct Overflow {
    at: Vec<usize>,
    before: Vec<Vec<f32>>,
    after: Vec<Vec<f32>>,
    scales: Vec<f64>,
}

/// The parameters (not the BatchNorm running statistics, which every forward in training
/// updates, skipped step or not, as PyTorch's), flattened.
fn flat_weights(l: &Learner) -> Vec<f32> {
    l.model
        .params()
        .parameters()
        .iter()
        .flat_map(|p| p.var.flatten_all().unwrap().to_vec1::<f32>().unwrap())
        .collect()
}

impl Callback for Overflow {
    fn order(&self) -> i32 {
        5
    }
    fn before_batch(&mut self, learn: &mut Learner) -> Result<()> {
        if learn.state.training {
            self.before.push(flat_weights(learn));
        }
        Ok(())
    }
    fn before_step(&mut self, learn: &mut Learner) -> Result<()> {
        if self.at.contains(&learn.state.iter) {
            let p = learn.model.params().parameters()[0].clone();
            let grads = learn.grads.as_mut().unwrap();
            let g = grads.get(p.var.as_tensor()).unwrap();
            let bad = (g.ones_like()? * f64::INFINITY)?;
            grads.insert(p.var.as_tensor(), bad);
        }
        Ok(())
    }
    fn after_batch(&mut self, learn: &mut Learner) -> Result<()> {
        if learn.state.training {
            self.after.push(flat_weights(learn));
            self.scales
                .push(learn.cb::<MixedPrecision>().unwrap().scale().unwrap());
        }
        Ok(())
    }
}

#[test]
fn an_overflowing_step_is_skipped_and_the_scale_backs_off_then_grows() {
    // 10 batches; growth every 3 good steps in a row; overflows at batches 2 and 3.
    let scaler = GradScaler::default().init_scale(1024.0).growth_interval(3);
    let mut l = learner(Box::new(Mlp::new(1)), 200, 16)
        .to_fp16_with(scaler)
        .unwrap();
    l.add_cb(Overflow {
        at: vec![2, 3],
        before: vec![],
        after: vec![],
        scales: vec![],
    });
    l.fit(1, Some(1e-2)).unwrap();
    let o = l.cb::<Overflow>().unwrap();
    assert_eq!(o.before.len(), 10);
    for i in 0..10 {
        if i == 2 || i == 3 {
            assert_eq!(
                o.before[i], o.after[i],
                "batch {i}: a skipped step changes nothing"
            );
        } else {
            assert_ne!(o.before[i], o.after[i], "batch {i}: a good step applies");
        }
    }
    // 1024 after batches 0, 1; halved at 2 and 3; three good steps (4, 5, 6) grow it to 512,
    // three more (7, 8, 9) to 1024.
    let expect = [
        1024., 1024., 512., 256., 256., 256., 512., 512., 512., 1024.,
    ];
    assert_eq!(o.scales, expect);
    let mp = l.cb::<MixedPrecision>().unwrap();
    assert_eq!(mp.skipped_steps(), 2);
    assert_eq!(mp.scale(), Some(1024.0));
}

#[test]
fn a_scale_that_overflows_every_step_stops_the_fit_with_an_error() {
    // With a loss scale of 2^40 the f16 gradients of the logits overflow at once, and four
    // halvings in the epoch's four steps do not bring them back into range.
    let scaler = GradScaler::default().init_scale(2f64.powi(40));
    let mut l = learner(Box::new(Mlp::new(1)), 40, 8)
        .to_fp16_with(scaler)
        .unwrap();
    let start = flat_weights(&l);
    let err = l.fit(2, Some(1e-2)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::AllStepsSkipped {
                epoch: 0,
                skipped: 4,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("to_bf16"), "{err}");
    assert_eq!(
        flat_weights(&l),
        start,
        "no skipped step touched the weights"
    );
    let mp = l.cb::<MixedPrecision>().unwrap();
    assert_eq!(mp.skipped_steps(), 4);
    assert_eq!(mp.scale(), Some(2f64.powi(36)));
}

/// Keeps the (unscaled) gradients of the first training step, as the optimizer would see
/// them, then stops the fit.
#[derive(Default)]
struct FirstGrads(Vec<(String, DType, Vec<f32>)>);

impl Callback for FirstGrads {
    fn order(&self) -> i32 {
        20
    }
    fn before_step(&mut self, learn: &mut Learner) -> Result<()> {
        let grads = learn.grads.as_ref().unwrap();
        for p in learn.model.params().parameters() {
            let g = grads.get(p.var.as_tensor()).unwrap();
            let v = g.to_dtype(DType::F32)?.flatten_all()?.to_vec1()?;
            self.0.push((p.name.clone(), g.dtype(), v));
        }
        Err(Error::Cancelled(fastcandle_train::Cancel::Fit))
    }
}

#[test]
fn master_weights_get_f32_gradients_equal_to_the_f32_ones() {
    let grads = |precision: &str| {
        let l = learner(Box::new(Cnn::new(7)), 80, 16);
        let mut l = match precision {
            "fp16" => l.to_fp16(),
            "bf16" => l.to_bf16(),
            _ => l,
        };
        l.add_cb(FirstGrads::default());
        l.fit(1, Some(1e-3)).unwrap();
        l.cb::<FirstGrads>().unwrap().0.clone()
    };
    let reference = grads("fp32");
    assert_eq!(reference.len(), 9);
    // f16 keeps 11 significant bits (a rounding of 2^-12 per stored value): each tensor's
    // gradient is within 1% of its largest element (measured: up to 0.5%). bf16 keeps 8
    // (2^-9), and a weight or bias gradient behind a BatchNorm is a sum whose terms mostly
    // cancel (the BatchNorm's backward removes the gradient's mean), so it keeps the terms'
    // absolute rounding (measured: up to 13% of a tensor's largest element, about 10 times
    // f16's deviation, as 2^-9 / 2^-12 = 8 predicts; PyTorch's autocast stores the same bf16
    // gradients). bf16 is held to the direction of each tensor's gradient (cosine at least
    // 0.95; measured 0.973 and up) and to the whole model's gradient (cosine at least 0.99,
    // norm within 5%). A lost gradient fails the cosine, a wrong scale the size.
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    let cosine = |a: &[f32], b: &[f32]| {
        a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>() / (norm(a) * norm(b))
    };
    let flat = |g: &[(String, DType, Vec<f32>)]| -> Vec<f32> {
        g.iter().flat_map(|(_, _, v)| v.iter().copied()).collect()
    };
    for precision in ["bf16", "fp16"] {
        let half = grads(precision);
        for ((name, _, a), (name_h, dt, b)) in reference.iter().zip(&half) {
            assert_eq!(name, name_h);
            assert_eq!(
                *dt,
                DType::F32,
                "{precision} {name}: the master gradient is f32"
            );
            let cos = cosine(a, b);
            let top = a.iter().fold(0f32, |m, v| m.max(v.abs()));
            let diff = a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
            let ok = if precision == "fp16" {
                diff <= 0.01 * top
            } else {
                cos >= 0.95
            };
            assert!(
                ok,
                "{precision} {name}: max diff {diff} (largest {top}), cosine {cos}"
            );
        }
        let (a, b) = (flat(&reference), flat(&half));
        let (cos, ratio) = (cosine(&a, &b), norm(&b) / norm(&a));
        assert!(
            cos >= 0.99 && (ratio - 1.0).abs() <= 0.05,
            "{precision}: the model's gradient has cosine {cos} and norm ratio {ratio}"
        );
    }
}

#[test]
fn bad_scaling_options_are_errors_naming_the_option() {
    let d = GradScaler::default;
    for (scaler, name) in [
        (d().init_scale(0.0), "init_scale"),
        (d().init_scale(-1.0), "init_scale"),
        (d().init_scale(f64::INFINITY), "init_scale"),
        (d().growth_factor(1.0), "growth_factor"),
        (d().growth_factor(0.5), "growth_factor"),
        (d().backoff_factor(1.0), "backoff_factor"),
        (d().backoff_factor(0.0), "backoff_factor"),
        (d().backoff_factor(f64::NAN), "backoff_factor"),
        (d().growth_interval(0), "growth_interval"),
    ] {
        let err = MixedPrecision::fp16_with(scaler).unwrap_err();
        assert!(err.to_string().contains(name), "{name}: {err}");
        let err = learner(Box::new(Mlp::new(0)), 40, 8)
            .to_fp16_with(scaler)
            .err()
            .unwrap();
        assert!(matches!(err, Error::Invalid(_)), "{err}");
    }
    assert!(MixedPrecision::fp16_with(d()).is_ok());
}

#[test]
fn to_fp32_removes_mixed_precision_and_the_dtypes_are_reported() {
    let l = learner(Box::new(Mlp::new(0)), 40, 8).to_fp16();
    let mp = l.cb::<MixedPrecision>().unwrap();
    assert_eq!((mp.dtype(), mp.scale()), (DType::F16, Some(65536.0)));
    let l = l.to_bf16();
    assert_eq!(
        l.cb_names()
            .iter()
            .filter(|n| *n == "MixedPrecision")
            .count(),
        1
    );
    let mp = l.cb::<MixedPrecision>().unwrap();
    assert_eq!((mp.dtype(), mp.scale()), (DType::BF16, None));
    let l = l.to_fp32();
    assert!(l.cb::<MixedPrecision>().is_none());
}
