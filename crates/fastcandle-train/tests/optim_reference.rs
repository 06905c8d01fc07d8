//! One Adam and one SGD-momentum step (three, in fact) against PyTorch's numbers, from
//! `scripts/reference/train_reference.py`.

use candle_core::{Device, Tensor};
use fastcandle_core::init::Init;
use fastcandle_core::{ParamBuilder, ParamKind};
use fastcandle_testutil::floats_f32 as floats;
use fastcandle_train::optim::{Hypers, OptFunc, Optimizer};
use serde_json::Value;

fn reference() -> Value {
    let text = include_str!("data/reference.json");
    serde_json::from_str(text).unwrap()
}

fn values(n: usize, a: f64, b: f64) -> Vec<f32> {
    (0..n).map(|i| (a * i as f64 + b).sin() as f32).collect()
}

fn grads_for(step: usize, n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((0.37 * i as f64 + 1.3 * step as f64).cos() * 0.5) as f32)
        .collect()
}

fn check(case: &str, func: OptFunc, decouple_wd: bool) {
    let r = &reference()[case];
    let dev = Device::Cpu;
    let pb = ParamBuilder::new(&dev, 0);
    let w = pb
        .param("w", &[5, 3], ParamKind::Weight, Init::Const(0.0))
        .unwrap();
    let b = pb
        .param("b", &[5], ParamKind::Bias, Init::Const(0.0))
        .unwrap();
    let store = pb.store();
    store
        .get("w")
        .unwrap()
        .var
        .set(&Tensor::from_vec(values(15, 0.7, 0.1), (5, 3), &dev).unwrap())
        .unwrap();
    store
        .get("b")
        .unwrap()
        .var
        .set(&Tensor::from_vec(values(5, 1.1, 0.4), 5, &dev).unwrap())
        .unwrap();
    let h = Hypers {
        lr: r["lr"].as_f64().unwrap(),
        mom: r["mom"].as_f64().unwrap(),
        sqr_mom: r.get("sqr_mom").and_then(Value::as_f64).unwrap_or(0.99),
        eps: r.get("eps").and_then(Value::as_f64).unwrap_or(1e-5),
        wd: r["wd"].as_f64().unwrap(),
    };
    let mut opt = Optimizer::for_store(store, func, h);
    opt.decouple_wd = decouple_wd;
    for (s, expect) in r["steps"].as_array().unwrap().iter().enumerate() {
        // Gradients of w·gw + b·gb are exactly gw and gb.
        let gw = Tensor::from_vec(grads_for(s, 15), (5, 3), &dev).unwrap();
        let gb = Tensor::from_vec(grads_for(s + 10, 5), 5, &dev).unwrap();
        let loss = ((&w * &gw).unwrap().sum_all().unwrap()
            + (&b * &gb).unwrap().sum_all().unwrap())
        .unwrap();
        opt.step(&loss.backward().unwrap()).unwrap();
        for (name, t) in [("w", &w), ("b", &b)] {
            let got: Vec<f32> = t.flatten_all().unwrap().to_vec1().unwrap();
            let want = floats(&expect[name]);
            for (g, e) in got.iter().zip(&want) {
                assert!(
                    (g - e).abs() <= 1e-6 + 1e-5 * e.abs(),
                    "{case} step {s} {name}: {g} vs {e}"
                );
            }
        }
    }
}

#[test]
fn adam_matches_pytorch_adamw() {
    check("adam", OptFunc::Adam, true);
}

#[test]
fn sgd_momentum_with_l2_matches_pytorch_sgd() {
    check("sgd_l2", OptFunc::Sgd, false);
}

#[test]
fn sgd_momentum_with_decoupled_wd_matches_pytorch() {
    check("sgd_decoupled", OptFunc::Sgd, true);
}

#[test]
fn no_weight_decay_on_batchnorm_and_bias_unless_asked() {
    let dev = Device::Cpu;
    let pb = ParamBuilder::new(&dev, 0);
    let w = pb
        .param("w", &[2], ParamKind::Weight, Init::Const(1.0))
        .unwrap();
    let bn = pb
        .param("bn", &[2], ParamKind::Norm, Init::Const(1.0))
        .unwrap();
    let b = pb
        .param("b", &[2], ParamKind::Bias, Init::Const(1.0))
        .unwrap();
    let h = Hypers {
        lr: 0.1,
        mom: 0.9,
        sqr_mom: 0.99,
        eps: 1e-5,
        wd: 0.5,
    };
    let zero = || {
        // A loss whose gradients are negligible, so only weight decay moves anything (candle
        // drops the gradient of `x * 0` altogether, hence not zero).
        ((&w * 1e-30).unwrap().sum_all().unwrap()
            + (&bn * 1e-30).unwrap().sum_all().unwrap()
            + (&b * 1e-30).unwrap().sum_all().unwrap())
        .unwrap()
        .backward()
        .unwrap()
    };
    let mut opt = Optimizer::for_store(pb.store(), OptFunc::Sgd, h);
    opt.step(&zero()).unwrap();
    let read = |t: &Tensor| t.to_vec1::<f32>().unwrap()[0];
    assert!((read(&w) - 0.95).abs() < 1e-7, "weight decays by lr*wd");
    assert_eq!(read(&bn), 1.0);
    assert_eq!(read(&b), 1.0);
    opt.wd_bn_bias = true;
    opt.step(&zero()).unwrap();
    assert!((read(&bn) - 0.95).abs() < 1e-7 && (read(&b) - 0.95).abs() < 1e-7);
}

#[test]
fn frozen_parameters_do_not_move() {
    let dev = Device::Cpu;
    let pb = ParamBuilder::new(&dev, 0);
    let a = pb
        .group(0)
        .param("a", &[3], ParamKind::Weight, Init::Const(1.0))
        .unwrap();
    let c = pb
        .group(1)
        .param("c", &[3], ParamKind::Weight, Init::Const(1.0))
        .unwrap();
    pb.store().freeze_to(1, true);
    let mut opt = Optimizer::for_store(pb.store(), OptFunc::Adam, Hypers::defaults(OptFunc::Adam));
    assert_eq!(opt.groups.len(), 2);
    let g =
        ((&a * 2.0).unwrap().sum_all().unwrap() + (&c * 2.0).unwrap().sum_all().unwrap()).unwrap();
    opt.step(&g.backward().unwrap()).unwrap();
    assert_eq!(a.to_vec1::<f32>().unwrap(), vec![1.0; 3]);
    assert!(c.to_vec1::<f32>().unwrap().iter().all(|v| *v < 1.0));
}

#[test]
fn set_hyper_checks_group_count() {
    let pb = ParamBuilder::new(&Device::Cpu, 0);
    pb.group(0)
        .param("a", &[1], ParamKind::Weight, Init::Const(1.0))
        .unwrap();
    pb.group(2)
        .param("c", &[1], ParamKind::Weight, Init::Const(1.0))
        .unwrap();
    let mut opt = Optimizer::for_store(pb.store(), OptFunc::Adam, Hypers::defaults(OptFunc::Adam));
    assert_eq!(opt.groups.len(), 3);
    opt.set_hyper("lr", &[1.0, 2.0, 3.0]).unwrap();
    assert_eq!(opt.hyper("lr"), vec![1.0, 2.0, 3.0]);
    assert!(opt.set_hyper("lr", &[1.0, 2.0]).is_err());
    assert!(opt.set_hyper("nope", &[1.0]).is_err());
}

#[test]
fn sgd_momentum_raised_after_the_state_exists_still_applies() {
    let pb = ParamBuilder::new(&Device::Cpu, 0);
    let p = pb
        .param("p", &[1], ParamKind::Weight, Init::Const(1.0))
        .unwrap();
    let h = Hypers {
        lr: 0.1,
        mom: 0.0,
        sqr_mom: 0.99,
        eps: 1e-5,
        wd: 0.0,
    };
    let mut opt = Optimizer::for_store(pb.store(), OptFunc::Sgd, h);
    let grad = || p.sum_all().unwrap().backward().unwrap(); // gradient 1
    opt.step(&grad()).unwrap();
    assert!((p.to_vec1::<f32>().unwrap()[0] - 0.9).abs() < 1e-7);
    // A schedule raises the momentum: buf = 0.9 * 1 + 1 = 1.9, p = 0.9 - 0.1 * 1.9.
    opt.set_hyper("mom", &[0.9]).unwrap();
    opt.step(&grad()).unwrap();
    assert!((p.to_vec1::<f32>().unwrap()[0] - 0.71).abs() < 1e-6);
}
