//! Changing a recording's sample rate as torchaudio's `functional.resample` does by default:
//! band-limited interpolation with a Hann-windowed sinc kernel (`lowpass_filter_width` 6,
//! `rolloff` 0.99), one kernel per output phase, so that results match torchaudio's to
//! rounding (checked by `tests/audio_reference.rs`).

/// The zero crossings of the sinc kept on each side (torchaudio's `lowpass_filter_width`).
pub const LOWPASS_FILTER_WIDTH: f64 = 6.0;
/// The cut-off as a fraction of the lower Nyquist frequency (torchaudio's `rolloff`).
pub const ROLLOFF: f64 = 0.99;

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// `samples` (one channel at `from` Hz) at `to` Hz: `ceil(len * to / from)` samples. Equal
/// rates give the samples back unchanged.
pub fn resample(samples: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to || samples.is_empty() {
        return samples.to_vec();
    }
    let g = gcd(from as u64, to as u64);
    let orig = (from as u64 / g) as usize;
    let new = (to as u64 / g) as usize;
    let base = orig.min(new) as f64 * ROLLOFF;
    let lw = LOWPASS_FILTER_WIDTH;
    let width = (lw * orig as f64 / base).ceil() as usize;
    let taps = 2 * width + orig;
    let scale = base / orig as f64;
    // kernel[phase][k]: the weight of padded input `frame * orig + k` in output
    // `frame * new + phase`.
    let kernel: Vec<f64> = (0..new)
        .flat_map(|phase| {
            (0..taps).map(move |k| {
                let idx = (k as f64 - width as f64) / orig as f64;
                let t = ((-(phase as f64) / new as f64 + idx) * base).clamp(-lw, lw);
                let window = (t * std::f64::consts::PI / lw / 2.0).cos().powi(2);
                let t = t * std::f64::consts::PI;
                let sinc = if t == 0.0 { 1.0 } else { t.sin() / t };
                sinc * window * scale
            })
        })
        .collect();
    let len = samples.len();
    let at = |i: isize| -> f64 {
        if i < 0 || i as usize >= len {
            0.0
        } else {
            samples[i as usize] as f64
        }
    };
    let target = (new as u128 * len as u128).div_ceil(orig as u128) as usize;
    (0..target)
        .map(|j| {
            let (frame, phase) = (j / new, j % new);
            let start = (frame * orig) as isize - width as isize;
            let k = &kernel[phase * taps..(phase + 1) * taps];
            k.iter()
                .enumerate()
                .map(|(i, w)| w * at(start + i as isize))
                .sum::<f64>() as f32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_and_identity() {
        let x: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.01).sin()).collect();
        assert_eq!(resample(&x, 8000, 8000), x);
        assert_eq!(resample(&x, 8000, 16000).len(), 2000);
        assert_eq!(resample(&x, 16000, 8000).len(), 500);
        assert_eq!(
            resample(&x[..999], 44100, 16000).len(),
            (999 * 160usize).div_ceil(441)
        );
    }

    #[test]
    fn a_low_tone_survives_the_round_trip() {
        // 200 Hz at 8 kHz, up to 16 kHz and back: the middle of the signal is kept.
        let x: Vec<f32> = (0..4000)
            .map(|i| (2.0 * std::f32::consts::PI * 200.0 * i as f32 / 8000.0).sin())
            .collect();
        let y = resample(&resample(&x, 8000, 16000), 16000, 8000);
        let err = x[500..3500]
            .iter()
            .zip(&y[500..3500])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(err < 1e-3, "{err}");
    }
}
