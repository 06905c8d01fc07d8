//! Every op of `fastcandle_core::ops` on the device under test against the CPU's own kernels,
//! forward and gradients.
//!
//! The device under test is `FASTCANDLE_TEST_DEVICE` (`cuda`, `cuda:1`, `metal`, ...) when set,
//! else the first GPU this build finds; on a machine without one (CI) it is the CPU with the
//! composed forms forced ([`set_force_generic`]), which are what CUDA and Metal compute. So the
//! same comparisons run on every CI run and, through `scripts/gpu-check.sh`, on a GPU. This
//! file holds one test: the switch it flips is process-wide.

use candle_core::{DType, Device, Tensor, Var};
use fastcandle_core::DeviceChoice;
use fastcandle_core::ops::{self, Act, set_force_generic};

type OpFn = dyn Fn(&[Tensor], &Device) -> candle_core::Result<Tensor>;

/// One op on some inputs: the CPU kernel's output and input gradients.
struct Case {
    name: String,
    shapes: Vec<Vec<usize>>,
    op: Box<OpFn>,
    /// Relative tolerance (to the largest magnitude) of output and gradients.
    tol: f32,
}

/// Deterministic values in about [-scale, scale] that differ between inputs.
fn input(shape: &[usize], seed: usize, scale: f32) -> Tensor {
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n)
        .map(|i| {
            scale
                * ((i as f32 * 0.7311 + seed as f32 * 1.37).sin() + 0.25 * (i as f32 * 0.113).cos())
        })
        .collect();
    Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
}

/// The output and the gradients of `sum(op(inputs) * up)` on `dev`, back on the CPU.
fn run(case: &Case, dev: &Device) -> (Tensor, Vec<Tensor>) {
    let vars: Vec<Var> = case
        .shapes
        .iter()
        .enumerate()
        .map(|(i, s)| Var::from_tensor(&input(s, i, 1.0).to_device(dev).unwrap()).unwrap())
        .collect();
    let xs: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
    let y = (case.op)(&xs, dev).unwrap_or_else(|e| panic!("{} on {dev:?}: {e}", case.name));
    let up = input(y.dims(), 7, 1.0).to_device(dev).unwrap();
    let grads = (y.to_dtype(DType::F32).unwrap() * up)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    let gs = vars
        .iter()
        .map(|v| {
            grads
                .get(v.as_tensor())
                .unwrap_or_else(|| panic!("{}: no gradient on {dev:?}", case.name))
                .to_device(&Device::Cpu)
                .unwrap()
        })
        .collect();
    (y.to_device(&Device::Cpu).unwrap(), gs)
}

fn rel_diff(a: &Tensor, b: &Tensor) -> f32 {
    let a: Vec<f32> = a
        .flatten_all()
        .unwrap()
        .to_dtype(DType::F32)
        .unwrap()
        .to_vec1()
        .unwrap();
    let b: Vec<f32> = b
        .flatten_all()
        .unwrap()
        .to_dtype(DType::F32)
        .unwrap()
        .to_vec1()
        .unwrap();
    let scale = a.iter().fold(1e-12f32, |m, x| m.max(x.abs()));
    a.iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max)
        / scale
}

fn case(
    name: impl Into<String>,
    shapes: &[&[usize]],
    tol: f32,
    op: impl Fn(&[Tensor], &Device) -> candle_core::Result<Tensor> + 'static,
) -> Case {
    Case {
        name: name.into(),
        shapes: shapes.iter().map(|s| s.to_vec()).collect(),
        op: Box::new(op),
        tol,
    }
}

fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    // Convolutions: 3x3 stride 1 (Winograd on the CPU), strided, 1x1, the 7x7 stem, odd sizes
    // whose height and width leave different remainders.
    for &(n, ci, h, w, co, k, s, p) in &[
        (2, 8, 12, 10, 16, 3, 1, 1),
        (2, 8, 11, 9, 12, 3, 2, 1),
        (2, 16, 6, 5, 8, 1, 1, 0),
        (2, 8, 9, 7, 8, 1, 2, 0),
        (1, 3, 23, 19, 8, 7, 2, 3),
    ] {
        v.push(case(
            format!("conv2d {k}x{k}/{s} {h}x{w}"),
            &[&[n, ci, h, w], &[co, ci, k, k]],
            1e-4,
            move |x, _| ops::conv2d(&x[0], &(&x[1] * 0.2)?, s, p),
        ));
    }
    for &(c, h, w, k, s, p) in &[(6, 12, 10, 3, 1, 1), (6, 6, 5, 3, 2, 1), (4, 9, 9, 5, 2, 2)] {
        v.push(case(
            format!("depthwise_conv2d {k}x{k}/{s} {h}x{w}"),
            &[&[2, c, h, w], &[c, 1, k, k]],
            1e-4,
            move |x, _| ops::depthwise_conv2d(&x[0], &x[1], s, p),
        ));
    }
    for act in [Act::Identity, Act::Relu, Act::Relu6] {
        v.push(case(
            format!("batch_norm_train_act {act:?}"),
            &[&[4, 6, 5, 3], &[6], &[6]],
            1e-4,
            move |x, _| {
                let w = (&x[1] + 1.5)?;
                let xs = (&x[0] * 4.0)?;
                Ok(ops::batch_norm_train_act(&xs, &w, &x[2], 1e-5, act)?.0)
            },
        ));
        v.push(case(
            format!("channel_affine_act {act:?}"),
            &[&[2, 5, 4, 3], &[5], &[5]],
            1e-5,
            move |x, _| ops::channel_affine_act(&(&x[0] * 8.0)?, &x[1], &x[2], act),
        ));
    }
    v.push(case(
        "add_channel_bias",
        &[&[2, 5, 4, 3], &[5]],
        1e-5,
        |x, _| ops::add_channel_bias(&x[0], &x[1]),
    ));
    v.push(case("relu", &[&[3, 40]], 0.0, |x, _| ops::relu(&x[0])));
    v.push(case("relu6", &[&[3, 40]], 0.0, |x, _| {
        ops::relu6(&(&x[0] * 8.0)?)
    }));
    v.push(case("add_relu", &[&[3, 40], &[3, 40]], 1e-6, |x, _| {
        ops::add_relu(&x[0], &x[1])
    }));
    for &(h, w, k, s, p) in &[(12, 10, 3, 2, 1), (9, 7, 2, 2, 0), (8, 8, 3, 1, 1)] {
        v.push(case(
            format!("max_pool2d {k}/{s} {h}x{w}"),
            &[&[2, 3, h, w]],
            // Overlapping windows sum their gradients, in another order on each path.
            if k > s { 1e-6 } else { 0.0 },
            move |x, _| ops::max_pool2d(&x[0], k, s, p),
        ));
    }
    for &(oh, ow) in &[(1, 1), (3, 2)] {
        v.push(case(
            format!("adaptive_avg_pool2d {oh}x{ow}"),
            &[&[2, 3, 7, 5]],
            1e-6,
            move |x, _| ops::adaptive_avg_pool2d(&x[0], (oh, ow)),
        ));
        v.push(case(
            format!("adaptive_max_pool2d {oh}x{ow}"),
            &[&[2, 3, 7, 5]],
            0.0,
            move |x, _| ops::adaptive_max_pool2d(&x[0], (oh, ow)),
        ));
    }
    v.push(case("cross_entropy", &[&[6, 5]], 1e-6, |x, dev| {
        let t = Tensor::new(&[0u32, 4, 2, 1, 3, 2], dev)?;
        ops::cross_entropy(&(&x[0] * 3.0)?, &t, None)
    }));
    v.push(case(
        "cross_entropy_axis ignore",
        &[&[2, 4, 3, 2]],
        1e-6,
        |x, dev| {
            let t: Vec<u32> = (0..12)
                .map(|i| if i % 5 == 0 { 255 } else { i % 4 })
                .collect();
            let t = Tensor::from_vec(t, (2, 3, 2), dev)?;
            ops::cross_entropy_axis(&(&x[0] * 3.0)?, &t, 1, Some(255))
        },
    ));
    for &(oh, ow, ac) in &[(13, 9, false), (4, 3, false), (11, 14, true)] {
        v.push(case(
            format!("interpolate_bilinear {oh}x{ow} align_corners {ac}"),
            &[&[2, 3, 6, 7]],
            1e-5,
            move |x, _| ops::interpolate_bilinear(&x[0], oh, ow, ac),
        ));
    }
    for &(oh, ow) in &[(12, 14), (5, 3)] {
        v.push(case(
            format!("upsample_nearest2d {oh}x{ow}"),
            &[&[2, 3, 6, 7]],
            1e-6,
            move |x, _| ops::upsample_nearest2d(&x[0], oh, ow),
        ));
    }
    v.push(case("pixel_shuffle 2", &[&[2, 12, 3, 4]], 0.0, |x, _| {
        ops::pixel_shuffle(&x[0], 2)
    }));
    v
}

#[test]
fn every_op_on_the_device_under_test_matches_the_cpu_kernels() {
    let (dev, forced) = match std::env::var("FASTCANDLE_TEST_DEVICE") {
        Ok(name) if !name.is_empty() => {
            let choice: DeviceChoice = name.parse().expect("FASTCANDLE_TEST_DEVICE");
            let dev = choice
                .device()
                .expect("FASTCANDLE_TEST_DEVICE names a device this build opens");
            let forced = dev.is_cpu();
            (dev, forced)
        }
        _ => {
            let dev = DeviceChoice::Auto.device().unwrap();
            let forced = dev.is_cpu();
            (dev, forced)
        }
    };
    println!(
        "device under test: {dev:?}{}",
        if forced {
            " with the composed forms forced"
        } else {
            ""
        }
    );
    let mut failures = Vec::new();
    for case in cases() {
        set_force_generic(false);
        let (y0, g0) = run(&case, &Device::Cpu);
        set_force_generic(forced);
        let (y1, g1) = run(&case, &dev);
        set_force_generic(false);
        assert_eq!(y0.dims(), y1.dims(), "{}: output shape", case.name);
        let mut worst = rel_diff(&y0, &y1);
        for (i, (a, b)) in g0.iter().zip(&g1).enumerate() {
            assert_eq!(a.dims(), b.dims(), "{}: gradient {i} shape", case.name);
            worst = worst.max(rel_diff(a, b));
        }
        // Exact ops (non-overlapping pooling, pixel shuffle, ReLU) must agree exactly; the
        // others to float32's rounding of their sums.
        let tol = if case.tol == 0.0 {
            0.0
        } else {
            case.tol.max(1e-6)
        };
        println!("{}: largest relative difference {worst:.2e}", case.name);
        if worst > tol {
            failures.push(format!("{}: {worst:.2e} > {tol:.0e}", case.name));
        }
    }
    assert!(failures.is_empty(), "on {dev:?}: {failures:#?}");
}
