//! Helpers of the op reference tests (`ops_reference.rs`, `unet_ops_reference.rs`): values in
//! `f32`, each checked within `TOL_F32 * (1 + |want|)`.

use candle_core::Tensor;
use serde_json::Value;

/// The tolerance of the op tests: relative to each value (plus an absolute floor of the same).
pub const TOL_F32: f32 = 1e-4;

/// A JSON array of numbers as `f32`.
pub fn floats_f32(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

/// The largest error, after checking every value is within `TOL_F32 * (1 + |want|)`.
pub fn close_f32(what: &str, got: &Tensor, want: &[f32]) -> f32 {
    let got: Vec<f32> = got.flatten_all().unwrap().to_vec1().unwrap();
    assert_eq!(got.len(), want.len(), "{what}: length");
    let mut worst = 0f32;
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let err = (g - w).abs();
        assert!(err <= TOL_F32 * (1.0 + w.abs()), "{what}[{i}]: {g} vs {w}");
        worst = worst.max(err);
    }
    worst
}
