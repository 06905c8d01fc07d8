//! Mel-frequency cepstral coefficients as torchaudio's `MFCC` (DCT-II, `norm="ortho"`) computes
//! them from a mel spectrogram in decibels.

/// torchaudio's `create_dct(n_mfcc, n_mels, "ortho")`: `[n_mels, n_mfcc]` row-major.
pub fn dct_matrix(n_mfcc: usize, n_mels: usize) -> Vec<f64> {
    let mut out = vec![0.0; n_mels * n_mfcc];
    let norm = (2.0 / n_mels as f64).sqrt();
    for n in 0..n_mels {
        for k in 0..n_mfcc {
            let mut v = (std::f64::consts::PI / n_mels as f64 * (n as f64 + 0.5) * k as f64).cos();
            if k == 0 {
                v /= 2f64.sqrt();
            }
            out[n * n_mfcc + k] = v * norm;
        }
    }
    out
}

/// The coefficients `[n_mfcc, n_frames]` of a mel spectrogram in decibels `[n_mels, n_frames]`,
/// with `dct` from [`dct_matrix`].
pub fn mfcc(mel_db: &[f64], n_frames: usize, dct: &[f64], n_mfcc: usize) -> Vec<f64> {
    let n_mels = mel_db.len() / n_frames.max(1);
    let mut out = vec![0.0; n_mfcc * n_frames];
    for m in 0..n_mels {
        let src = &mel_db[m * n_frames..(m + 1) * n_frames];
        for k in 0..n_mfcc {
            let w = dct[m * n_mfcc + k];
            for (o, s) in out[k * n_frames..(k + 1) * n_frames].iter_mut().zip(src) {
                *o += w * s;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ortho_dct_is_orthonormal() {
        let (n, k) = (16, 16);
        let d = dct_matrix(k, n);
        for a in 0..k {
            for b in 0..k {
                let dot: f64 = (0..n).map(|i| d[i * k + a] * d[i * k + b]).sum();
                let want = if a == b { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-12, "{a} {b} {dot}");
            }
        }
        // A flat spectrum has only a zeroth coefficient: sqrt(n) times the level.
        let c = mfcc(&vec![2.0; n], 1, &d, k);
        assert!((c[0] - 2.0 * (n as f64).sqrt()).abs() < 1e-12);
        assert!(c[1..].iter().all(|v| v.abs() < 1e-12));
    }
}
