//! The fit loop and the optimizers on the device under test against the CPU's own kernels.
//!
//! The device under test is `FASTCANDLE_TEST_DEVICE` (`cuda`, `metal`, ...) when set, else the
//! first GPU this build finds; without one (CI) it is the CPU with the composed forms of the
//! ops and of the optimizer's update forced, which are what a GPU computes. One test in this
//! file: the switch it flips is process-wide.

mod common;

use candle_core::Device;
use fastcandle_core::DeviceChoice;
use fastcandle_core::ops::set_force_generic;
use fastcandle_train::OptFunc;

fn device_under_test() -> (Device, bool) {
    let dev = match std::env::var("FASTCANDLE_TEST_DEVICE") {
        Ok(name) if !name.is_empty() => name
            .parse::<DeviceChoice>()
            .and_then(|c| c.device())
            .expect("FASTCANDLE_TEST_DEVICE names a device this build opens"),
        _ => DeviceChoice::Auto.device().unwrap(),
    };
    let forced = dev.is_cpu();
    (dev, forced)
}

/// Each epoch's recorded row, and each parameter's final values by name.
type Trained = (Vec<Vec<f64>>, Vec<(String, Vec<f32>)>);

/// Trains the toy model for 4 epochs of one cycle; the recorded losses and the final weights.
fn train(dev: &Device, opt: OptFunc) -> Trained {
    let mut l = common::learner_on(3, 400, 16, dev).opt_func(opt);
    l.fit_one_cycle(4, Some(2e-2)).unwrap();
    let rows = l.recorder().unwrap().last().unwrap().values.clone();
    let w = l
        .model
        .params()
        .state_dict()
        .into_iter()
        .map(|(k, v)| {
            let v = v.to_device(&Device::Cpu).unwrap().flatten_all().unwrap();
            (k, v.to_vec1::<f32>().unwrap())
        })
        .collect();
    (rows, w)
}

#[test]
fn training_on_the_device_under_test_follows_the_cpu() {
    let (dev, forced) = device_under_test();
    println!("device under test: {dev:?}, composed forms forced: {forced}");
    for opt in [OptFunc::Adam, OptFunc::Sgd] {
        set_force_generic(false);
        let (rows0, w0) = train(&Device::Cpu, opt);
        set_force_generic(forced);
        let (rows1, w1) = train(&dev, opt);
        set_force_generic(false);
        assert_eq!(rows0.len(), 4, "{opt:?}: epochs recorded");
        for (e, (a, b)) in rows0.iter().zip(&rows1).enumerate() {
            for (x, y) in a.iter().zip(b) {
                // 4 epochs of float32 steps in another order of summation.
                assert!(
                    (x - y).abs() <= 1e-3 * x.abs().max(1e-3),
                    "{opt:?} epoch {e}: {a:?} on the CPU, {b:?} on {dev:?}"
                );
            }
        }
        for ((k, a), (_, b)) in w0.iter().zip(&w1) {
            let d = a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
            assert!(d < 1e-3, "{opt:?} {k}: weights differ by {d}");
        }
    }
}
