//! The short-time Fourier transform as `torch.stft` computes it for torchaudio's
//! `Spectrogram`: a periodic Hann window of `win_length` centred in frames of `n_fft`, frames
//! every `hop_length` samples over the signal padded by `n_fft / 2` reflected samples on each
//! side (`center=True`, `pad_mode="reflect"`), the one-sided spectrum of each frame
//! ([`realfft`], in `f64`), raised to `power` (2: power, 1: magnitude).

use realfft::RealFftPlanner;
use realfft::RealToComplex;
use std::sync::Arc;

/// A planned STFT: the window and the FFT, made once and shared by the loader's workers.
#[derive(Clone)]
pub struct Stft {
    n_fft: usize,
    hop_length: usize,
    power: f64,
    window: Vec<f64>,
    fft: Arc<dyn RealToComplex<f64>>,
}

impl std::fmt::Debug for Stft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Stft(n_fft {}, hop {}, power {})",
            self.n_fft, self.hop_length, self.power
        )
    }
}

impl Stft {
    /// An STFT of `n_fft` points with a Hann window of `win_length` (at most `n_fft`), frames
    /// `hop_length` apart, giving `|X|^power`.
    pub fn new(n_fft: usize, win_length: usize, hop_length: usize, power: f64) -> Self {
        let win_length = win_length.min(n_fft);
        let left = (n_fft - win_length) / 2;
        let mut window = vec![0.0; n_fft];
        for (i, w) in window[left..left + win_length].iter_mut().enumerate() {
            // torch.hann_window(win_length), periodic.
            *w = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / win_length as f64).cos();
        }
        let fft = RealFftPlanner::<f64>::new().plan_fft_forward(n_fft);
        Self {
            n_fft,
            hop_length: hop_length.max(1),
            power,
            window,
            fft,
        }
    }

    /// The number of frequency bins, `n_fft / 2 + 1`.
    pub fn n_freqs(&self) -> usize {
        self.n_fft / 2 + 1
    }

    /// The number of frames of a signal of `len` samples: `1 + len / hop_length`.
    pub fn n_frames(&self, len: usize) -> usize {
        1 + len / self.hop_length
    }

    /// The spectrogram of `signal`, `[n_freqs, n_frames]` row-major (frequency rows, time
    /// columns). An empty signal gives frames of zeros.
    pub fn compute(&self, signal: &[f32]) -> Vec<f64> {
        let (nf, nt) = (self.n_freqs(), self.n_frames(signal.len()));
        let pad = (self.n_fft / 2) as isize;
        let n = signal.len() as isize;
        let at = |i: isize| -> f64 {
            if n == 0 {
                return 0.0;
            }
            if n == 1 {
                return signal[0] as f64;
            }
            // Reflection without repeating the edge sample, bouncing as often as needed.
            let period = 2 * (n - 1);
            let mut j = i.rem_euclid(period);
            if j >= n {
                j = period - j;
            }
            signal[j as usize] as f64
        };
        let mut out = vec![0.0; nf * nt];
        let mut frame = self.fft.make_input_vec();
        let mut spectrum = self.fft.make_output_vec();
        let mut scratch = self.fft.make_scratch_vec();
        for t in 0..nt {
            let start = (t * self.hop_length) as isize - pad;
            for (k, x) in frame.iter_mut().enumerate() {
                *x = at(start + k as isize) * self.window[k];
            }
            self.fft
                .process_with_scratch(&mut frame, &mut spectrum, &mut scratch)
                .expect("buffers made by the plan have its lengths");
            for (f, c) in spectrum.iter().enumerate() {
                let p = c.norm_sqr();
                out[f * nt + t] = if self.power == 2.0 {
                    p
                } else {
                    p.powf(self.power / 2.0)
                };
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tone_peaks_in_its_bin() {
        // 1 kHz at 8 kHz with n_fft 256: bin 32.
        let x: Vec<f32> = (0..2048)
            .map(|i| (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / 8000.0).sin())
            .collect();
        let s = Stft::new(256, 256, 64, 2.0);
        let spec = s.compute(&x);
        let nt = s.n_frames(x.len());
        assert_eq!((s.n_freqs(), nt), (129, 33));
        let t = nt / 2;
        let col: Vec<f64> = (0..129).map(|f| spec[f * nt + t]).collect();
        let peak = col
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0;
        assert_eq!(peak, 32);
        // Magnitude is the square root of power.
        let m = Stft::new(256, 256, 64, 1.0).compute(&x);
        assert!((m[32 * nt + t] - spec[32 * nt + t].sqrt()).abs() < 1e-9);
    }
}
