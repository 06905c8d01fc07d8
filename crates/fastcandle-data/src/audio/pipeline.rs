//! One recording's way to the model, shared by the loader and by inference: read, mixed down,
//! resampled, pictured ([`Spectrogrammer`]), normalised, repeated to the model's channels.

use super::resample::resample;
use super::spectrogram::{Spectrogram, SpectrogramConfig, Spectrogrammer};
use super::wav::{Waveform, read_wav};
use crate::error::Result;
use candle_core::{Device, Tensor};
use fastcandle_core::error::Context;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The statistics spectrograms are normalised with: one mean and standard deviation over
/// every value of the training set's (centred, unaugmented) spectrograms.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AudioNormalize {
    /// The mean subtracted.
    pub mean: f32,
    /// The standard deviation divided by.
    pub std: f32,
}

impl AudioNormalize {
    /// The statistics of `pictures` (a standard deviation of 0 becomes 1).
    pub fn from_pictures<'a>(pictures: impl Iterator<Item = &'a Spectrogram>) -> Self {
        let (mut n, mut sum, mut sq) = (0usize, 0.0f64, 0.0f64);
        for p in pictures {
            n += p.data.len();
            for &v in &p.data {
                sum += v as f64;
                sq += (v as f64) * (v as f64);
            }
        }
        let mean = if n == 0 { 0.0 } else { sum / n as f64 };
        let var = if n == 0 {
            0.0
        } else {
            (sq / n as f64 - mean * mean).max(0.0)
        };
        let std = if var > 0.0 { var.sqrt() } else { 1.0 };
        Self {
            mean: mean as f32,
            std: std as f32,
        }
    }
}

/// What turns recordings into model inputs: the spectrogram settings, the normalisation and
/// the number of channels (1, or 3 repeated for bodies made for RGB).
#[derive(Debug, Clone)]
pub struct AudioPipeline {
    spectrogrammer: Spectrogrammer,
    /// The normalisation of the values, if any.
    pub normalize: Option<AudioNormalize>,
    /// The channels of each picture: 1, or 3 (the spectrogram repeated, for pretrained bodies
    /// and every architecture of the model zoo).
    pub channels: usize,
}

impl AudioPipeline {
    /// A pipeline for `config` (checked), without normalisation, giving `channels` (1 or 3).
    pub fn new(config: &SpectrogramConfig, channels: usize) -> Result<Self> {
        Self {
            spectrogrammer: config.build()?,
            normalize: None,
            channels: 3,
        }
        .with_channels(channels)
    }

    /// The same pipeline giving `channels` (1 or 3; checked, naming `channels`).
    pub fn with_channels(mut self, channels: usize) -> Result<Self> {
        if channels != 1 && channels != 3 {
            return Err(crate::Error::BadOption {
                option: "channels",
                reason: format!("1 (the spectrogram) or 3 (repeated), got {channels}"),
            });
        }
        self.channels = channels;
        Ok(self)
    }

    /// The spectrogram settings.
    pub fn config(&self) -> &SpectrogramConfig {
        self.spectrogrammer.config()
    }

    /// The planned spectrogram.
    pub fn spectrogrammer(&self) -> &Spectrogrammer {
        &self.spectrogrammer
    }

    /// `wave` mixed down to mono and resampled to the configured rate.
    pub fn prepare(&self, wave: Waveform) -> Vec<f32> {
        let rate = wave.sample_rate;
        let mono = wave.to_mono().samples;
        resample(&mono, rate, self.config().sample_rate)
    }

    /// The file at `path`, read and [prepared](Self::prepare).
    pub fn load(&self, path: &Path) -> Result<Vec<f32>> {
        Ok(self.prepare(read_wav(path)?))
    }

    /// The model's input for `pictures` (of one shape): `[n, channels, rows, cols]` `f32`,
    /// normalised, on `device`.
    pub fn to_batch(&self, pictures: &[Spectrogram], device: &Device) -> Result<Tensor> {
        let (rows, cols) = pictures
            .first()
            .map(|p| (p.rows, p.cols))
            .unwrap_or(self.config().shape());
        let plane = rows * cols;
        let c = self.channels;
        let mut data = Vec::with_capacity(pictures.len() * c * plane);
        let (mean, std) = self.normalize.map_or((0.0, 1.0), |n| (n.mean, n.std));
        for p in pictures {
            let start = data.len();
            data.extend(p.data.iter().map(|v| (v - mean) / std));
            for _ in 1..c {
                data.extend_from_within(start..start + plane);
            }
        }
        Ok(
            Tensor::from_vec(data, (pictures.len(), c, rows, cols), device)
                .context(|| "making a batch of spectrograms".into())?,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_normalised_and_repeated() {
        let cfg = SpectrogramConfig::default().sample_rate(8000).duration(0.1);
        let mut p = AudioPipeline::new(&cfg, 3).unwrap();
        let a = Spectrogram {
            rows: 1,
            cols: 2,
            data: vec![1.0, 3.0],
        };
        let b = Spectrogram {
            rows: 1,
            cols: 2,
            data: vec![5.0, 7.0],
        };
        p.normalize = Some(AudioNormalize::from_pictures([&a, &b].into_iter()));
        let n = p.normalize.unwrap();
        assert_eq!(n.mean, 4.0);
        assert!((n.std - 5f32.sqrt()).abs() < 1e-6);
        let x = p.to_batch(&[a, b], &Device::Cpu).unwrap();
        assert_eq!(x.dims(), &[2, 3, 1, 2]);
        let v: Vec<f32> = x.flatten_all().unwrap().to_vec1().unwrap();
        let s = 5f32.sqrt();
        let want = [-3.0 / s, -1.0 / s];
        assert!((v[0] - want[0]).abs() < 1e-6 && (v[3] - want[1]).abs() < 1e-6);
        assert_eq!(&v[0..2], &v[2..4]);
        assert!(
            AudioPipeline::new(&cfg, 2)
                .unwrap_err()
                .to_string()
                .contains("channels")
        );
    }

    #[test]
    fn stereo_at_another_rate_is_mixed_and_resampled() {
        let cfg = SpectrogramConfig::default().sample_rate(8000);
        let p = AudioPipeline::new(&cfg, 1).unwrap();
        let w = Waveform {
            sample_rate: 16000,
            channels: 2,
            samples: vec![0.5; 3200],
        };
        let mono = p.prepare(w);
        assert_eq!(mono.len(), 800);
        assert!((mono[400] - 0.5).abs() < 1e-3);
    }
}
