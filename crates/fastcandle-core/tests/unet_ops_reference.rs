//! fastcandle-core's resizing ops for DynamicUnet against PyTorch
//! (`scripts/reference/unet_ops_reference.py`): forward outputs and the gradients of
//! `sum(y * up)` for nearest interpolation (`F.interpolate(mode="nearest")`), bilinear
//! interpolation with and without aligned corners, and pixel shuffle, on sizes up and down with
//! whole and odd ratios, 1x1 inputs and outputs, and batch 1.

use candle_core::{Device, Tensor, Var};
use fastcandle_core::ops;
use serde_json::Value;

use fastcandle_testutil::{close_rel, dims, floats_f32 as floats};

/// Every value within `TOL * (1 + |want|)`.
const TOL: f32 = 1e-4;

/// A case's stored values `key` (`x` or `up`), or, for the larger cases, the values rebuilt from
/// the formula `{key}_fill` = `[a, b, scale]`: element `i` is `sin(a * i + b) * scale`, computed in
/// `f64` and rounded to `f32` as the script does.
fn values(c: &Value, key: &str, len: usize) -> Vec<f32> {
    if let Some(v) = c.get(key) {
        return floats(v);
    }
    let f = c[format!("{key}_fill")].as_array().unwrap();
    let [a, b, scale] = [0, 1, 2].map(|i| f[i].as_f64().unwrap());
    (0..len)
        .map(|i| ((a * i as f64 + b).sin() * scale) as f32)
        .collect()
}

fn reference() -> Value {
    serde_json::from_str(include_str!("data/unet_ops_reference.json")).unwrap()
}

/// Runs `f` on every case of `op`, checking the output and the input gradient.
fn check(op: &str, f: impl Fn(&Tensor, &Value) -> Tensor) {
    let r = reference();
    let dev = Device::Cpu;
    let cases = r[op].as_array().unwrap();
    assert!(!cases.is_empty());
    let mut worst = 0f32;
    for (i, c) in cases.iter().enumerate() {
        let what = format!(
            "{op} case {i} {:?} -> {:?}",
            dims(&c["shape"]),
            dims(&c["out_shape"])
        );
        let shape = dims(&c["shape"]);
        let x = values(c, "x", shape.iter().product());
        let x = Var::from_vec(x, shape, &dev).unwrap();
        let y = f(&x, c);
        assert_eq!(y.dims(), dims(&c["out_shape"]).as_slice(), "{what}");
        worst = worst.max(close_rel(&format!("{what} y"), &y, &floats(&c["y"]), TOL));
        let up = Tensor::from_vec(values(c, "up", y.elem_count()), y.dims(), &dev).unwrap();
        let grads = (y * up).unwrap().sum_all().unwrap().backward().unwrap();
        worst = worst.max(close_rel(
            &format!("{what} dx"),
            grads.get(&x).unwrap(),
            &floats(&c["dx"]),
            TOL,
        ));
    }
    println!("{op}: {} cases, largest error {worst:e}", cases.len());
}

#[test]
fn upsample_nearest2d_matches_pytorch() {
    check("upsample_nearest2d", |x, c| {
        let s = dims(&c["size"]);
        ops::upsample_nearest2d(x, s[0], s[1]).unwrap()
    });
}

#[test]
fn interpolate_bilinear_matches_pytorch() {
    check("interpolate_bilinear", |x, c| {
        let s = dims(&c["size"]);
        let align = c["align_corners"].as_bool().unwrap();
        ops::interpolate_bilinear(x, s[0], s[1], align).unwrap()
    });
}

#[test]
fn pixel_shuffle_matches_pytorch() {
    check("pixel_shuffle", |x, c| {
        ops::pixel_shuffle(x, c["scale"].as_u64().unwrap() as usize).unwrap()
    });
}
