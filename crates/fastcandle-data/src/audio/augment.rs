//! Training augmentations of sound: on the recording, a random position in its window (a
//! random crop of a long recording, a random shift of a short one), a random gain and added
//! noise; on the spectrogram, SpecAugment's frequency and time masks (fastaudio's `MaskFreq`
//! and `MaskTime`, filled with the spectrogram's mean). Each item draws from its own seeded
//! stream, so an epoch's augmentations are the same however it is run.

use super::crop::Placement;
use super::spectrogram::Spectrogram;
use fastcandle_core::rng::SeededRng;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// The training augmentations, with their defaults: random placement on, gain and noise off,
/// one frequency mask of up to 8 bands and one time mask of up to 12 frames (both drawn with
/// probability 0.5).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AudioAugment {
    /// Whether a recording goes at a random place of its window (otherwise centred).
    pub shift: bool,
    /// The largest gain applied, up or down, in decibels (0: none).
    pub gain_db: f64,
    /// The largest noise added: Gaussian noise of standard deviation up to this fraction of
    /// the recording's RMS level (0: none).
    pub noise: f64,
    /// How many frequency masks (SpecAugment's `F` masks).
    pub freq_masks: usize,
    /// The largest width of a frequency mask, in bands.
    pub freq_mask_size: usize,
    /// How many time masks.
    pub time_masks: usize,
    /// The largest width of a time mask, in frames.
    pub time_mask_size: usize,
    /// The probability that each mask is drawn.
    pub mask_p: f64,
}

impl Default for AudioAugment {
    fn default() -> Self {
        Self {
            shift: true,
            gain_db: 0.0,
            noise: 0.0,
            freq_masks: 1,
            freq_mask_size: 8,
            time_masks: 1,
            time_mask_size: 12,
            mask_p: 0.5,
        }
    }
}

impl AudioAugment {
    /// No augmentation at all (recordings centred).
    pub fn none() -> Self {
        Self {
            shift: false,
            gain_db: 0.0,
            noise: 0.0,
            freq_masks: 0,
            freq_mask_size: 0,
            time_masks: 0,
            time_mask_size: 0,
            mask_p: 0.0,
        }
    }

    /// Sets the random placement.
    pub fn shift(mut self, shift: bool) -> Self {
        self.shift = shift;
        self
    }

    /// Sets the largest gain, in decibels.
    pub fn gain_db(mut self, gain_db: f64) -> Self {
        self.gain_db = gain_db;
        self
    }

    /// Sets the largest noise level, as a fraction of the RMS level.
    pub fn noise(mut self, noise: f64) -> Self {
        self.noise = noise;
        self
    }

    /// Sets SpecAugment's frequency masks: how many, and their largest width in bands.
    pub fn freq_masks(mut self, n: usize, size: usize) -> Self {
        self.freq_masks = n;
        self.freq_mask_size = size;
        self
    }

    /// Sets SpecAugment's time masks: how many, and their largest width in frames.
    pub fn time_masks(mut self, n: usize, size: usize) -> Self {
        self.time_masks = n;
        self.time_mask_size = size;
        self
    }

    /// Sets the probability of each mask.
    pub fn mask_p(mut self, p: f64) -> Self {
        self.mask_p = p;
        self
    }

    /// Checks the values, naming the one out of range.
    pub fn check(&self) -> crate::Result<()> {
        let bad =
            |option: &'static str, reason: String| Err(crate::Error::BadOption { option, reason });
        if !(self.gain_db.is_finite() && self.gain_db >= 0.0) {
            return bad(
                "gain_db",
                format!("a gain of 0 dB or more, got {}", self.gain_db),
            );
        }
        if !(self.noise.is_finite() && self.noise >= 0.0) {
            return bad(
                "noise",
                format!("a noise level of 0 or more, got {}", self.noise),
            );
        }
        if !(0.0..=1.0).contains(&self.mask_p) {
            return bad(
                "mask_p",
                format!("a probability in [0, 1], got {}", self.mask_p),
            );
        }
        Ok(())
    }

    /// Where the recording goes in its window.
    pub fn placement(&self, rng: &mut SeededRng) -> Placement {
        if self.shift {
            Placement::At(rng.random::<f64>())
        } else {
            Placement::Centre
        }
    }

    /// The gain and the noise, applied to the (fitted) recording.
    pub fn apply_wave(&self, samples: &mut [f32], rng: &mut SeededRng) {
        if self.gain_db > 0.0 {
            let db = (rng.random::<f64>() * 2.0 - 1.0) * self.gain_db;
            let g = 10f64.powf(db / 20.0) as f32;
            samples.iter_mut().for_each(|s| *s *= g);
        }
        if self.noise > 0.0 && !samples.is_empty() {
            let rms = (samples.iter().map(|&s| (s as f64).powi(2)).sum::<f64>()
                / samples.len() as f64)
                .sqrt();
            let std = rng.random::<f64>() * self.noise * rms;
            for s in samples.iter_mut() {
                // Box-Muller.
                let (u1, u2) = (rng.random::<f64>().max(1e-300), rng.random::<f64>());
                let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
                *s += (z * std) as f32;
            }
        }
    }

    /// SpecAugment's masks, filled with the spectrogram's mean.
    pub fn apply_spec(&self, spec: &mut Spectrogram, rng: &mut SeededRng) {
        let fill = spec.mean();
        for _ in 0..self.freq_masks {
            if let Some((start, width)) = self.draw_mask(spec.rows, self.freq_mask_size, rng) {
                spec.data[start * spec.cols..(start + width) * spec.cols].fill(fill);
            }
        }
        for _ in 0..self.time_masks {
            if let Some((start, width)) = self.draw_mask(spec.cols, self.time_mask_size, rng) {
                for r in 0..spec.rows {
                    spec.data[r * spec.cols + start..r * spec.cols + start + width].fill(fill);
                }
            }
        }
    }

    /// A mask of width `0..=size` (torchaudio's `mask_param`) at a random start, drawn with
    /// probability `mask_p`.
    fn draw_mask(&self, n: usize, size: usize, rng: &mut SeededRng) -> Option<(usize, usize)> {
        if rng.random::<f64>() >= self.mask_p || size == 0 || n == 0 {
            return None;
        }
        let width = rng.random_range(0..=size.min(n));
        let start = rng.random_range(0..=n - width);
        Some((start, width))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fastcandle_core::rng;

    #[test]
    fn masks_fill_whole_bands_and_frames_with_the_mean() {
        let mut s = Spectrogram {
            rows: 10,
            cols: 20,
            data: (0..200).map(|i| i as f32).collect(),
        };
        let mean = s.mean();
        let aug = AudioAugment::none()
            .freq_masks(1, 10)
            .time_masks(1, 20)
            .mask_p(1.0);
        let mut g = rng::rng(3);
        aug.apply_spec(&mut s, &mut g);
        let masked_rows: Vec<usize> = (0..10)
            .filter(|&r| s.data[r * 20..(r + 1) * 20].iter().all(|&v| v == mean))
            .collect();
        let masked_cols: Vec<usize> = (0..20)
            .filter(|&c| (0..10).all(|r| s.data[r * 20 + c] == mean))
            .collect();
        let changed = s.data.iter().filter(|&&v| v == mean).count();
        assert_eq!(
            changed,
            masked_rows.len() * 20 + masked_cols.len() * 10 - masked_rows.len() * masked_cols.len()
        );
        assert!(changed > 0);
        // The same stream gives the same masks.
        let mut t = Spectrogram {
            rows: 10,
            cols: 20,
            data: (0..200).map(|i| i as f32).collect(),
        };
        aug.apply_spec(&mut t, &mut rng::rng(3));
        assert_eq!(s, t);
    }

    #[test]
    fn gain_and_noise_stay_in_their_range() {
        let aug = AudioAugment::none().gain_db(6.0);
        for seed in 0..20 {
            let mut x = vec![0.5f32; 4];
            aug.apply_wave(&mut x, &mut rng::rng(seed));
            let g = x[0] / 0.5;
            assert!((0.5..=2.0).contains(&g), "{g}");
        }
        let aug = AudioAugment::none().noise(0.1);
        let mut x = vec![1.0f32; 10_000];
        aug.apply_wave(&mut x, &mut rng::rng(1));
        let std = (x.iter().map(|v| (v - 1.0).powi(2)).sum::<f32>() / 10_000.0).sqrt();
        assert!(std <= 0.1 + 0.01, "{std}");
        assert!(AudioAugment::default().mask_p(2.0).check().is_err());
        assert!(AudioAugment::default().gain_db(-1.0).check().is_err());
    }
}
