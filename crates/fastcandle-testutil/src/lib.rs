//! Dev-only helpers shared by fastcandle's tests: the largest absolute difference between two
//! slices or tensors, value-by-value closeness assertions that name what they compare, and the
//! readers of the reference JSON files that `scripts/reference/` writes.
//!
//! It depends on `candle-core` and `serde_json` only, so that every fastcandle crate, core
//! included, can take it as a dev-dependency without a cycle.

use candle_core::Tensor;
use serde_json::Value;

/// The largest `|a[i] - b[i]|` over the pairs of `a` and `b` (0 for empty slices; NaN
/// differences are skipped, as `f32::max` does). Check the lengths first where they matter.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max)
}

/// [`max_abs_diff`] in `f64`.
pub fn max_abs_diff_f64(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0f64, f64::max)
}

/// The largest absolute difference between two `f32` tensors of the same shape, computed with
/// candle's ops. Panics on a shape or dtype mismatch.
pub fn tensor_max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

/// Asserts that `got` and `want` have the same length and that every `got[i]` is within
/// `atol + rtol * |want[i]|` of `want[i]`; a failure names `what` and the two values.
pub fn assert_close(what: &str, got: &[f32], want: &[f32], atol: f32, rtol: f32) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() <= atol + rtol * w.abs(), "{what}: {g} vs {w}");
    }
}

/// Checks every value of `got` (flattened, `f32`) within `tol * (1 + |want[i]|)` of `want[i]`
/// (a relative tolerance with an absolute floor of the same size) and returns the largest
/// error; a failure names `what[i]` and the two values.
pub fn close_rel(what: &str, got: &Tensor, want: &[f32], tol: f32) -> f32 {
    let got: Vec<f32> = got.flatten_all().unwrap().to_vec1().unwrap();
    assert_eq!(got.len(), want.len(), "{what}: length");
    let mut worst = 0f32;
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let err = (g - w).abs();
        assert!(err <= tol * (1.0 + w.abs()), "{what}[{i}]: {g} vs {w}");
        worst = worst.max(err);
    }
    worst
}

/// A JSON array of numbers as `f64`. Panics on anything else.
pub fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// A JSON array of numbers as `f32` (each read as `f64`, then rounded). Panics on anything else.
pub fn floats_f32(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

/// A JSON array of non-negative integers (a shape) as `usize`. Panics on anything else.
pub fn dims(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_and_readers() {
        assert_eq!(max_abs_diff(&[1.0, 2.0], &[1.5, 0.0]), 2.0);
        assert_eq!(max_abs_diff_f64(&[], &[]), 0.0);
        let a = Tensor::new(&[1f32, -2.0], &candle_core::Device::Cpu).unwrap();
        let b = Tensor::new(&[1f32, 1.0], &candle_core::Device::Cpu).unwrap();
        assert_eq!(tensor_max_abs_diff(&a, &b), 3.0);
        assert_eq!(close_rel("a", &a, &[1.0, -2.0], 1e-4), 0.0);
        assert_close("a", &[1.0, 2.0], &[1.0, 2.0001], 1e-5, 1e-4);
        let v: Value = serde_json::json!([1, 2.5]);
        assert_eq!(
            (floats(&v), floats_f32(&v)),
            (vec![1.0, 2.5], vec![1.0, 2.5])
        );
        assert_eq!(dims(&serde_json::json!([2, 3])), [2, 3]);
    }

    #[test]
    #[should_panic(expected = "x: 1 vs 2")]
    fn assert_close_names_what_fails() {
        assert_close("x", &[1.0], &[2.0], 1e-5, 1e-4);
    }
}
