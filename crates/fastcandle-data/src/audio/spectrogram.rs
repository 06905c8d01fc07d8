//! From a recording to the picture a vision model classifies: [`SpectrogramConfig`] (the
//! settings, with defaults for speech, saved with an exported learner) and the
//! [`Spectrogrammer`] built from it, which fits a recording to the duration, takes its STFT,
//! its mel bands, its decibels and optionally its MFCC.

use super::crop::{Placement, fit_length};
use super::db::amplitude_to_db;
use super::mel::{MelFilterBank, MelNorm, MelScale};
use super::mfcc::{dct_matrix, mfcc};
use super::stft::Stft;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// A spectrogram: `rows` frequency bands (low first) by `cols` frames, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Spectrogram {
    /// Frequency bands (mel bands, FFT bins or MFCC coefficients).
    pub rows: usize,
    /// Frames in time.
    pub cols: usize,
    /// The values, `rows x cols`.
    pub data: Vec<f32>,
}

impl Spectrogram {
    /// The mean of the values (0 for an empty spectrogram).
    pub fn mean(&self) -> f32 {
        if self.data.is_empty() {
            return 0.0;
        }
        (self.data.iter().map(|&v| v as f64).sum::<f64>() / self.data.len() as f64) as f32
    }
}

/// How recordings become spectrograms: fastaudio's `AudioConfig` and torchaudio's
/// `MelSpectrogram` + `AmplitudeToDB` (+ `MFCC`) in one set of settings.
///
/// The defaults (speech at 16 kHz, one second, 64 HTK mel bands of a 512-point STFT every 128
/// samples, power in decibels floored 80 dB below the peak) give 64 x 126 pictures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpectrogramConfig {
    /// The rate every recording is resampled to, in Hz (default 16,000).
    pub sample_rate: u32,
    /// The duration every recording is cropped or padded to, in seconds (default 1).
    pub duration: f64,
    /// The FFT's length (default 512).
    pub n_fft: usize,
    /// The Hann window's length (default: `n_fft`).
    pub win_length: Option<usize>,
    /// Samples between frames (default 128).
    pub hop_length: usize,
    /// The lowest frequency of the mel bands, in Hz (default 0).
    pub f_min: f64,
    /// The highest frequency of the mel bands (default: half the sample rate in whole hertz,
    /// `sample_rate / 2` rounded down, as torchaudio's `MelScale`: 5512 Hz at 11,025 Hz).
    pub f_max: Option<f64>,
    /// The number of mel bands (default 64); `None` keeps the STFT's `n_fft / 2 + 1` bins.
    pub n_mels: Option<usize>,
    /// The mel scale (default HTK, as torchaudio).
    pub mel_scale: MelScale,
    /// The filters' normalisation (default none, as torchaudio).
    pub mel_norm: MelNorm,
    /// 2 for power, 1 for magnitude (default 2).
    pub power: f64,
    /// Whether values are taken to decibels (default yes).
    pub to_db: bool,
    /// With `to_db`, how far below each spectrogram's peak values are floored (default 80 dB).
    pub top_db: Option<f64>,
    /// MFCC instead of mel bands: this many coefficients of the mel bands in decibels
    /// (torchaudio's `MFCC`, which takes the decibels as power, `10 log10`, whatever `power`,
    /// and always floors them 80 dB below the peak, whatever `to_db` and `top_db`) (default
    /// none).
    pub n_mfcc: Option<usize>,
}

impl Default for SpectrogramConfig {
    fn default() -> Self {
        Self {
            sample_rate: 16_000,
            duration: 1.0,
            n_fft: 512,
            win_length: None,
            hop_length: 128,
            f_min: 0.0,
            f_max: None,
            n_mels: Some(64),
            mel_scale: MelScale::Htk,
            mel_norm: MelNorm::None,
            power: 2.0,
            to_db: true,
            top_db: Some(80.0),
            n_mfcc: None,
        }
    }
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty,)*) => {
        impl SpectrogramConfig {
            $($(#[$doc])* pub fn $name(mut self, $name: $ty) -> Self {
                self.$name = $name;
                self
            })*
        }
    };
}

setters! {
    /// Sets the sample rate recordings are resampled to.
    sample_rate: u32,
    /// Sets the duration recordings are fitted to, in seconds.
    duration: f64,
    /// Sets the FFT's length.
    n_fft: usize,
    /// Sets the window's length (`None`: `n_fft`).
    win_length: Option<usize>,
    /// Sets the samples between frames.
    hop_length: usize,
    /// Sets the lowest mel frequency.
    f_min: f64,
    /// Sets the highest mel frequency (`None`: half the sample rate, rounded down).
    f_max: Option<f64>,
    /// Sets the number of mel bands (`None`: the linear spectrogram).
    n_mels: Option<usize>,
    /// Sets the mel scale.
    mel_scale: MelScale,
    /// Sets the filters' normalisation.
    mel_norm: MelNorm,
    /// Sets the exponent of the magnitude (2: power, 1: magnitude).
    power: f64,
    /// Sets whether values are taken to decibels.
    to_db: bool,
    /// Sets the floor below each spectrogram's peak, in decibels.
    top_db: Option<f64>,
    /// Sets the number of MFCC (`None`: no MFCC).
    n_mfcc: Option<usize>,
}

impl SpectrogramConfig {
    /// The samples every recording is fitted to: `duration * sample_rate`, rounded.
    pub fn n_samples(&self) -> usize {
        (self.duration * self.sample_rate as f64).round() as usize
    }

    /// The highest frequency of the mel bands: `f_max`, or by default `sample_rate / 2`
    /// rounded down to whole hertz (torchaudio's `float(sample_rate // 2)`).
    pub fn mel_f_max(&self) -> f64 {
        self.f_max.unwrap_or((self.sample_rate / 2) as f64)
    }

    /// The picture's size, `(rows, cols)`: bands by frames.
    pub fn shape(&self) -> (usize, usize) {
        let rows = match (self.n_mfcc, self.n_mels) {
            (Some(k), _) => k,
            (None, Some(m)) => m,
            (None, None) => self.n_fft / 2 + 1,
        };
        (rows, 1 + self.n_samples() / self.hop_length.max(1))
    }

    /// Checks every setting, naming the one out of range.
    pub fn check(&self) -> Result<()> {
        let bad = |option: &'static str, reason: String| Err(Error::BadOption { option, reason });
        if self.sample_rate == 0 {
            return bad(
                "sample_rate",
                "the sample rate must be at least 1 Hz".into(),
            );
        }
        if !(self.duration.is_finite() && self.duration > 0.0) || self.n_samples() == 0 {
            return bad(
                "duration",
                format!(
                    "{} s holds no sample at {} Hz",
                    self.duration, self.sample_rate
                ),
            );
        }
        if self.n_fft < 2 {
            return bad(
                "n_fft",
                format!("the FFT needs at least 2 points, got {}", self.n_fft),
            );
        }
        if let Some(w) = self.win_length
            && !(1..=self.n_fft).contains(&w)
        {
            return bad("win_length", format!("{w} is not in 1..={}", self.n_fft));
        }
        if self.hop_length == 0 {
            return bad(
                "hop_length",
                "frames must be at least 1 sample apart".into(),
            );
        }
        let nyquist = self.sample_rate as f64 / 2.0;
        let f_max = self.mel_f_max();
        if !(0.0..f_max).contains(&self.f_min) || f_max > nyquist {
            return bad(
                "f_min/f_max",
                format!(
                    "the mel bands need 0 <= f_min < f_max <= {nyquist} Hz (half the sample \
                     rate), got {} to {f_max}",
                    self.f_min
                ),
            );
        }
        if self.n_mels == Some(0) {
            return bad("n_mels", "at least one mel band is needed".into());
        }
        if !(self.power == 1.0 || self.power == 2.0) {
            return bad(
                "power",
                format!("1 (magnitude) or 2 (power), got {}", self.power),
            );
        }
        if let Some(t) = self.top_db
            && !(t.is_finite() && t > 0.0)
        {
            return bad("top_db", format!("a positive number of decibels, got {t}"));
        }
        if let Some(k) = self.n_mfcc {
            let Some(m) = self.n_mels else {
                return bad(
                    "n_mfcc",
                    "MFCC are computed from mel bands: set n_mels".into(),
                );
            };
            if k == 0 || k > m {
                return bad("n_mfcc", format!("between 1 and n_mels ({m}), got {k}"));
            }
        }
        Ok(())
    }

    /// The [`Spectrogrammer`] for these settings (checked first).
    pub fn build(&self) -> Result<Spectrogrammer> {
        self.check()?;
        let stft = Stft::new(
            self.n_fft,
            self.win_length.unwrap_or(self.n_fft),
            self.hop_length,
            self.power,
        );
        let mel = self.n_mels.map(|m| {
            MelFilterBank::new(
                stft.n_freqs(),
                self.f_min,
                self.mel_f_max(),
                m,
                self.sample_rate,
                self.mel_norm,
                self.mel_scale,
            )
        });
        let dct = self
            .n_mfcc
            .map(|k| dct_matrix(k, self.n_mels.unwrap_or_default()));
        Ok(Spectrogrammer {
            config: self.clone(),
            stft,
            mel,
            dct,
        })
    }
}

/// The settings of a [`SpectrogramConfig`] made ready: the FFT planned, the filters and the DCT
/// computed once, shared by the loader's workers.
#[derive(Debug, Clone)]
pub struct Spectrogrammer {
    config: SpectrogramConfig,
    stft: Stft,
    mel: Option<MelFilterBank>,
    dct: Option<Vec<f64>>,
}

impl Spectrogrammer {
    /// The settings.
    pub fn config(&self) -> &SpectrogramConfig {
        &self.config
    }

    /// The spectrogram of `samples` (mono, at the configured rate) as it is, without fitting
    /// it to the duration: `[rows, 1 + len / hop_length]`.
    pub fn compute(&self, samples: &[f32]) -> Spectrogram {
        let c = &self.config;
        let cols = self.stft.n_frames(samples.len());
        let mut spec = self.stft.compute(samples);
        let mut rows = self.stft.n_freqs();
        if let Some(mel) = &self.mel {
            spec = mel.apply(&spec, cols);
            rows = mel.n_mels();
        }
        if let Some(dct) = &self.dct {
            // torchaudio's MFCC: the mel bands in decibels as power (`AmplitudeToDB("power",
            // 80)`, even of a magnitude spectrogram) floored at 80 below the peak.
            amplitude_to_db(&mut spec, 10.0, Some(80.0));
            let k = c.n_mfcc.unwrap_or_default();
            spec = mfcc(&spec, cols, dct, k);
            rows = k;
        } else if c.to_db {
            let multiplier = if c.power == 2.0 { 10.0 } else { 20.0 };
            amplitude_to_db(&mut spec, multiplier, c.top_db);
        }
        Spectrogram {
            rows,
            cols,
            data: spec.into_iter().map(|v| v as f32).collect(),
        }
    }

    /// The spectrogram of `samples` fitted to the duration as `placement` says: the picture
    /// every item of a batch becomes, of [`SpectrogramConfig::shape`].
    pub fn picture(&self, samples: &[f32], placement: Placement) -> Spectrogram {
        let fitted = fit_length(samples, self.config.n_samples(), placement);
        self.compute(&fitted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_follow_the_settings() {
        let c = SpectrogramConfig::default();
        assert_eq!(c.shape(), (64, 126));
        let s = c.build().unwrap();
        let p = s.picture(&[0.1; 3000], Placement::Centre);
        assert_eq!((p.rows, p.cols, p.data.len()), (64, 126, 64 * 126));
        let c = c.sample_rate(8000).n_mels(None).n_fft(256).hop_length(64);
        assert_eq!(c.shape(), (129, 126));
        let c = SpectrogramConfig::default().n_mfcc(Some(20));
        assert_eq!(c.shape().0, 20);
        // torchaudio's default f_max: sample_rate // 2.
        assert_eq!(c.mel_f_max(), 8000.0);
        assert_eq!(c.clone().sample_rate(11025).mel_f_max(), 5512.0);
        let p = c.build().unwrap().picture(&[0.0; 10], Placement::Centre);
        assert_eq!((p.rows, p.cols), (20, 126));
        assert!(p.data.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn bad_settings_name_the_option() {
        let e = |c: SpectrogramConfig| c.check().unwrap_err().to_string();
        assert!(e(SpectrogramConfig::default().hop_length(0)).contains("hop_length"));
        assert!(e(SpectrogramConfig::default().n_mels(Some(0))).contains("n_mels"));
        assert!(e(SpectrogramConfig::default().f_max(Some(9000.0))).contains("f_min/f_max"));
        assert!(e(SpectrogramConfig::default().duration(0.0)).contains("duration"));
        assert!(e(SpectrogramConfig::default().power(3.0)).contains("power"));
        let c = SpectrogramConfig::default().n_mels(None).n_mfcc(Some(13));
        assert!(e(c).contains("n_mfcc"));
        assert!(e(SpectrogramConfig::default().n_mfcc(Some(65))).contains("n_mfcc"));
    }
}
