//! fastcandle-core's vision ops against PyTorch (`scripts/reference/ops_reference.py`): forward
//! outputs and the gradients of `sum(y * up)` for max pooling, adaptive average and max
//! pooling, depthwise and full convolution, on odd shapes (stride 2, padding, batch 1,
//! non-square, 1×1, kernels 1, 3 and 7).

use candle_core::{Device, Tensor, Var};
use fastcandle_core::ops;
use serde_json::Value;

use fastcandle_testutil::{close_rel, dims, floats_f32 as floats};

/// Every value within `TOL * (1 + |want|)`.
const TOL: f32 = 1e-4;

fn usize_of(v: &Value) -> usize {
    v.as_u64().unwrap() as usize
}

fn reference() -> Value {
    serde_json::from_str(include_str!("data/ops_reference.json")).unwrap()
}

/// Runs `f` on every case of `op`, checking the output and the input (and weight) gradients.
fn check(op: &str, f: impl Fn(&Tensor, Option<&Tensor>, &Value) -> Tensor) {
    let r = reference();
    let dev = Device::Cpu;
    let cases = r[op].as_array().unwrap();
    assert!(!cases.is_empty());
    let mut worst = 0f32;
    for (i, c) in cases.iter().enumerate() {
        let what = format!("{op} case {i} {:?}", dims(&c["shape"]));
        let x = Var::from_vec(floats(&c["x"]), dims(&c["shape"]), &dev).unwrap();
        let w = c
            .get("w")
            .map(|w| Var::from_vec(floats(w), dims(&c["w_shape"]), &dev).unwrap());
        let y = f(&x, w.as_ref().map(|w| w.as_tensor()), c);
        assert_eq!(y.dims(), dims(&c["out_shape"]).as_slice(), "{what}");
        worst = worst.max(close_rel(&format!("{what} y"), &y, &floats(&c["y"]), TOL));
        let up = Tensor::from_vec(floats(&c["up"]), y.dims(), &dev).unwrap();
        let grads = (y * up).unwrap().sum_all().unwrap().backward().unwrap();
        worst = worst.max(close_rel(
            &format!("{what} dx"),
            grads.get(&x).unwrap(),
            &floats(&c["dx"]),
            TOL,
        ));
        if let Some(w) = &w {
            worst = worst.max(close_rel(
                &format!("{what} dw"),
                grads.get(w).unwrap(),
                &floats(&c["dw"]),
                TOL,
            ));
        }
    }
    println!("{op}: {} cases, largest error {worst:e}", cases.len());
}

#[test]
fn max_pool2d_matches_pytorch() {
    check("max_pool2d", |x, _, c| {
        ops::max_pool2d(
            x,
            usize_of(&c["kernel"]),
            usize_of(&c["stride"]),
            usize_of(&c["padding"]),
        )
        .unwrap()
    });
}

#[test]
fn adaptive_avg_pool2d_matches_pytorch() {
    check("adaptive_avg_pool2d", |x, _, c| {
        let o = dims(&c["output_size"]);
        ops::adaptive_avg_pool2d(x, (o[0], o[1])).unwrap()
    });
}

#[test]
fn adaptive_max_pool2d_matches_pytorch() {
    check("adaptive_max_pool2d", |x, _, c| {
        let o = dims(&c["output_size"]);
        ops::adaptive_max_pool2d(x, (o[0], o[1])).unwrap()
    });
}

#[test]
fn depthwise_conv2d_matches_pytorch() {
    check("depthwise_conv2d", |x, w, c| {
        ops::depthwise_conv2d(
            x,
            w.unwrap(),
            usize_of(&c["stride"]),
            usize_of(&c["padding"]),
        )
        .unwrap()
    });
}

#[test]
fn conv2d_matches_pytorch() {
    check("conv2d", |x, w, c| {
        ops::conv2d(
            x,
            w.unwrap(),
            usize_of(&c["stride"]),
            usize_of(&c["padding"]),
        )
        .unwrap()
    });
}
