//! Mel filter banks as torchaudio's `functional.melscale_fbanks` (and librosa's `filters.mel`)
//! make them: `n_mels` triangles evenly spaced on the mel scale between `f_min` and `f_max`,
//! on the HTK scale or on Slaney's (linear below 1 kHz, logarithmic above), optionally
//! area-normalised (`norm="slaney"`).

use serde::{Deserialize, Serialize};

/// Which mel scale spaces the filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MelScale {
    /// HTK's `2595 log10(1 + f / 700)` (torchaudio's default).
    #[default]
    Htk,
    /// Slaney's Auditory Toolbox scale: linear below 1 kHz, logarithmic above (librosa's
    /// default).
    Slaney,
}

/// How the filters are scaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MelNorm {
    /// Triangles of peak 1 (torchaudio's default).
    #[default]
    None,
    /// Triangles of area 1 in Hz (`2 / (f_high - f_low)`, librosa's default).
    Slaney,
}

const F_SP: f64 = 200.0 / 3.0;
const MIN_LOG_HZ: f64 = 1000.0;
const MIN_LOG_MEL: f64 = MIN_LOG_HZ / F_SP;

fn logstep() -> f64 {
    6.4f64.ln() / 27.0
}

/// `hz` on the mel scale.
pub fn hz_to_mel(hz: f64, scale: MelScale) -> f64 {
    match scale {
        MelScale::Htk => 2595.0 * (1.0 + hz / 700.0).log10(),
        MelScale::Slaney => {
            if hz >= MIN_LOG_HZ {
                MIN_LOG_MEL + (hz / MIN_LOG_HZ).ln() / logstep()
            } else {
                hz / F_SP
            }
        }
    }
}

/// `mel` in Hz (the inverse of [`hz_to_mel`]).
pub fn mel_to_hz(mel: f64, scale: MelScale) -> f64 {
    match scale {
        MelScale::Htk => 700.0 * (10f64.powf(mel / 2595.0) - 1.0),
        MelScale::Slaney => {
            if mel >= MIN_LOG_MEL {
                MIN_LOG_HZ * (logstep() * (mel - MIN_LOG_MEL)).exp()
            } else {
                F_SP * mel
            }
        }
    }
}

/// A mel filter bank, kept sparse: each filter's first frequency bin and its weights.
#[derive(Debug, Clone, PartialEq)]
pub struct MelFilterBank {
    n_freqs: usize,
    filters: Vec<(usize, Vec<f64>)>,
}

impl MelFilterBank {
    /// torchaudio's `melscale_fbanks(n_freqs, f_min, f_max, n_mels, sample_rate, norm,
    /// mel_scale)`: the bins are `n_freqs` frequencies evenly spaced from 0 to
    /// `sample_rate / 2` (integer division, as torchaudio).
    pub fn new(
        n_freqs: usize,
        f_min: f64,
        f_max: f64,
        n_mels: usize,
        sample_rate: u32,
        norm: MelNorm,
        scale: MelScale,
    ) -> Self {
        let nyquist = (sample_rate / 2) as f64;
        let all_freqs: Vec<f64> = (0..n_freqs)
            .map(|i| {
                if n_freqs == 1 {
                    0.0
                } else {
                    nyquist * i as f64 / (n_freqs - 1) as f64
                }
            })
            .collect();
        let (m_min, m_max) = (hz_to_mel(f_min, scale), hz_to_mel(f_max, scale));
        let f_pts: Vec<f64> = (0..n_mels + 2)
            .map(|i| {
                mel_to_hz(
                    m_min + (m_max - m_min) * i as f64 / (n_mels + 1) as f64,
                    scale,
                )
            })
            .collect();
        let filters = (0..n_mels)
            .map(|m| {
                let (lo, mid, hi) = (f_pts[m], f_pts[m + 1], f_pts[m + 2]);
                let enorm = match norm {
                    MelNorm::None => 1.0,
                    MelNorm::Slaney => 2.0 / (hi - lo),
                };
                let w: Vec<f64> = all_freqs
                    .iter()
                    .map(|&f| {
                        let down = (f - lo) / (mid - lo);
                        let up = (hi - f) / (hi - mid);
                        down.min(up).max(0.0) * enorm
                    })
                    .collect();
                let first = w.iter().position(|&v| v != 0.0).unwrap_or(0);
                let last = w.iter().rposition(|&v| v != 0.0).map_or(first, |l| l + 1);
                (first, w[first..last].to_vec())
            })
            .collect();
        Self { n_freqs, filters }
    }

    /// The number of filters.
    pub fn n_mels(&self) -> usize {
        self.filters.len()
    }

    /// The bank as a dense `[n_freqs, n_mels]` matrix, row-major (torchaudio's layout).
    pub fn dense(&self) -> Vec<f64> {
        let n_mels = self.n_mels();
        let mut out = vec![0.0; self.n_freqs * n_mels];
        for (m, (first, w)) in self.filters.iter().enumerate() {
            for (i, v) in w.iter().enumerate() {
                out[(first + i) * n_mels + m] = *v;
            }
        }
        out
    }

    /// The mel spectrogram `[n_mels, n_frames]` of a spectrogram `[n_freqs, n_frames]`.
    pub fn apply(&self, spec: &[f64], n_frames: usize) -> Vec<f64> {
        let mut out = vec![0.0; self.n_mels() * n_frames];
        for (m, (first, w)) in self.filters.iter().enumerate() {
            let row = &mut out[m * n_frames..(m + 1) * n_frames];
            for (i, &v) in w.iter().enumerate() {
                let src = &spec[(first + i) * n_frames..(first + i + 1) * n_frames];
                for (o, s) in row.iter_mut().zip(src) {
                    *o += v * s;
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_invert() {
        for scale in [MelScale::Htk, MelScale::Slaney] {
            for hz in [0.0, 300.0, 999.0, 1000.0, 4000.0, 11025.0] {
                let back = mel_to_hz(hz_to_mel(hz, scale), scale);
                assert!(
                    (back - hz).abs() < 1e-9 * hz.max(1.0),
                    "{scale:?} {hz} {back}"
                );
            }
        }
        // librosa: hz_to_mel(1000) = 15 on Slaney's scale, 1000 on HTK's (to 0.1).
        assert!((hz_to_mel(1000.0, MelScale::Slaney) - 15.0).abs() < 1e-12);
        assert!((hz_to_mel(1000.0, MelScale::Htk) - 999.98).abs() < 0.01);
    }

    #[test]
    fn triangles_peak_at_one_and_slaney_has_unit_area() {
        let b = MelFilterBank::new(257, 0.0, 4000.0, 20, 8000, MelNorm::None, MelScale::Htk);
        let d = b.dense();
        for m in 0..20 {
            let peak = (0..257).map(|f| d[f * 20 + m]).fold(0.0, f64::max);
            assert!(peak > 0.5 && peak <= 1.0, "{m} {peak}");
        }
        let s = MelFilterBank::new(
            257,
            0.0,
            4000.0,
            20,
            8000,
            MelNorm::Slaney,
            MelScale::Slaney,
        );
        let d = s.dense();
        let df = 4000.0 / 256.0;
        for m in 2..18 {
            let area: f64 = (0..257).map(|f| d[f * 20 + m] * df).sum();
            assert!((area - 1.0).abs() < 0.1, "{m} {area}");
        }
    }
}
