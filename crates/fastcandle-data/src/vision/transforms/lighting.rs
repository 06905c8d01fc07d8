//! The table that turns an 8-bit value into the batch's float: fastai's lighting change in
//! logit space, the scaling to `0..1` and the normalisation, in one lookup.

use super::augment::AugParams;
use super::normalize::Normalize;

/// fastai's `logit`, clamped away from 0 and 1.
fn logit(x: f64) -> f64 {
    let x = x.clamp(1e-7, 1.0 - 1e-7);
    -(1.0 / x - 1.0).ln()
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// fastai's brightness then contrast on a value `x` in `0..1`:
/// `sigmoid((logit(x) + logit(brightness)) * contrast)`.
pub fn lighting(x: f64, brightness: f64, contrast: f64) -> f64 {
    sigmoid((logit(x) + logit(brightness)) * contrast)
}

/// For each channel, the float written for each 8-bit value.
pub(crate) struct ValueTable(pub(crate) [[f32; 256]; 3]);

impl ValueTable {
    /// The table for one image: lighting as `aug` says (none when `None`), scaled to `0..1`,
    /// normalised when `norm` is given.
    pub(crate) fn new(aug: Option<&AugParams>, norm: Option<&Normalize>) -> Self {
        let lit = aug.filter(|a| a.changes_lighting());
        let mut base = [0f64; 256];
        for (v, b) in base.iter_mut().enumerate() {
            let x = v as f64 / 255.0;
            *b = match lit {
                Some(a) => lighting(x, a.brightness, a.contrast),
                None => x,
            };
        }
        let mut t = [[0f32; 256]; 3];
        for (c, row) in t.iter_mut().enumerate() {
            for (out, &x) in row.iter_mut().zip(&base) {
                *out = match norm {
                    Some(n) => ((x as f32) - n.mean[c]) / n.std[c],
                    None => x as f32,
                };
            }
        }
        Self(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lighting_by_hand() {
        // Neutral changes leave the value (up to the clamp).
        assert!((lighting(0.3, 0.5, 1.0) - 0.3).abs() < 1e-12);
        // Brightness 0.6 on 0.5: logit 0 + logit(0.6) -> sigmoid gives 0.6.
        assert!((lighting(0.5, 0.6, 1.0) - 0.6).abs() < 1e-12);
        // Contrast 2 on 0.75: logit(0.75) = ln 3; doubled: ln 9 -> 0.9.
        assert!((lighting(0.75, 0.5, 2.0) - 0.9).abs() < 1e-12);
        let mut p = AugParams::identity();
        p.contrast = 2.0;
        let t = ValueTable::new(Some(&p), None);
        assert!((t.0[1][255] - 1.0).abs() < 1e-6);
        assert!((t.0[0][0]).abs() < 1e-6);
        let n = Normalize::imagenet();
        let t = ValueTable::new(None, Some(&n));
        assert!((t.0[2][51] - n.value(2, 51)).abs() < 1e-6);
    }
}
