//! Helpers shared by the reference tests: the weight formula of
//! `scripts/reference/vision_reference.py` (`fill`), its inputs, and comparisons against the
//! script's summaries within 1e-4 relative.
#![allow(dead_code)]

use candle_core::{Device, Tensor};
use fastcandle_core::ParamStore;
use fastcandle_testutil::max_abs_diff_f64;
pub use fastcandle_testutil::{dims, floats};
use serde_json::Value;

/// "Within 1e-4 relative": errors are measured against the largest magnitude of the reference.
pub const TOL: f64 = 1e-4;

/// The script's per-tensor phase.
pub fn phase(name: &str) -> f64 {
    (name.bytes().map(u64::from).sum::<u64>() % 97) as f64 * 0.1
}

/// The script's `fill`: a deterministic value for every parameter and buffer.
pub fn fill(name: &str, shape: &[usize]) -> Vec<f32> {
    let n: usize = shape.iter().product();
    let ph = phase(name);
    let leaf = name.rsplit('.').next().unwrap();
    let fan_in: usize = shape[1..].iter().product();
    (0..n)
        .map(|i| {
            let t = (0.7 * i as f64 + ph).sin() * 43758.5453;
            let b = 2.0 * (2.0 * (t - t.floor()) - 1.0).abs() - 1.0;
            let v = match leaf {
                "running_var" => 1.0 + 0.5 * b * b,
                "running_mean" => 0.1 * b,
                "weight" if shape.len() == 1 => 1.0 + 0.25 * b,
                "bias" => 0.1 * b,
                _ => b * (3.0 / fan_in as f64).sqrt(),
            };
            v as f32
        })
        .collect()
}

pub fn fill_store(store: &ParamStore) {
    for p in store.all() {
        let t = Tensor::from_vec(
            fill(&p.name, p.tensor().dims()),
            p.tensor().dims(),
            &Device::Cpu,
        )
        .unwrap();
        p.var.set(&t).unwrap();
    }
}

/// The script's `det_input`.
pub fn det_input(shape: &[usize], a: f64, b: f64, scale: f64) -> Tensor {
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n)
        .map(|i| ((a * i as f64 + b).sin() * scale) as f32)
        .collect();
    Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
}

pub fn values(t: &Tensor) -> Vec<f64> {
    t.flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect()
}

/// Checks every value against the reference, relative to its largest magnitude; returns the
/// relative error.
pub fn close_all(what: &str, got: &Tensor, want: &[f64]) -> f64 {
    let got = values(got);
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(0f64, |m, v| m.max(v.abs())).max(1e-12);
    let err = max_abs_diff_f64(&got, want) / scale;
    assert!(err <= TOL, "{what}: relative error {err:e}");
    err
}

/// Checks a tensor against a summary from the script (shape, strided sample, sums); returns
/// the relative error of the sample.
pub fn close_summary(what: &str, got: &Tensor, s: &Value) -> f64 {
    close_summary_tol(what, got, s, TOL)
}

/// [`close_summary`] within `tol` (relative) instead of [`TOL`].
pub fn close_summary_tol(what: &str, got: &Tensor, s: &Value, tol: f64) -> f64 {
    assert_eq!(got.dims(), dims(&s["shape"]).as_slice(), "{what}: shape");
    let v = values(got);
    let step = s["step"].as_u64().unwrap() as usize;
    let sample: Vec<f64> = v.iter().step_by(step).copied().collect();
    let want = floats(&s["sample"]);
    assert_eq!(sample.len(), want.len(), "{what}: sample length");
    let abs_max = s["abs_max"].as_f64().unwrap();
    let err = max_abs_diff_f64(&sample, &want) / abs_max;
    if err > tol {
        let (i, g, w) = sample
            .iter()
            .zip(&want)
            .enumerate()
            .map(|(i, (g, w))| (i * step, *g, *w))
            .max_by(|a, b| (a.1 - a.2).abs().total_cmp(&(b.1 - b.2).abs()))
            .unwrap();
        panic!("{what}: sample relative error {err:e} (worst at {i}: {g} vs {w}, |max| {abs_max})");
    }
    let sum: f64 = v.iter().sum();
    let abs_sum = s["abs_sum"].as_f64().unwrap();
    let sum_err = (sum - s["sum"].as_f64().unwrap()).abs() / abs_sum;
    assert!(sum_err <= tol, "{what}: sum {sum} vs {}", s["sum"]);
    let got_max = v.iter().fold(0f64, |m, x| m.max(x.abs()));
    assert!(
        (got_max - abs_max).abs() <= tol * abs_max,
        "{what}: max |x|"
    );
    err
}

/// Asserts two name-and-shape lists are equal, listing only the differences.
pub fn same_keys(what: &str, got: &[(String, Vec<usize>)], want: &[(String, Vec<usize>)]) {
    let only_got: Vec<_> = got.iter().filter(|k| !want.contains(k)).collect();
    let only_want: Vec<_> = want.iter().filter(|k| !got.contains(k)).collect();
    assert!(
        only_got.is_empty() && only_want.is_empty(),
        "{what}: ours only {only_got:?}; torchvision's only {only_want:?}"
    );
}

pub fn names_and_shapes(store: &ParamStore) -> Vec<(String, Vec<usize>)> {
    let mut v: Vec<_> = store
        .all()
        .into_iter()
        .map(|p| (p.name.clone(), p.tensor().dims().to_vec()))
        .collect();
    v.sort();
    v
}
