//! Power or magnitude to decibels, as torchaudio's `AmplitudeToDB` (reference 1, `amin`
//! 1e-10), with `top_db` flooring each spectrogram at its maximum minus `top_db`.

/// The smallest value taken before the logarithm (torchaudio's `amin`).
pub const AMIN: f64 = 1e-10;

/// `values` in decibels: `multiplier * log10(max(v, AMIN))` (`multiplier` 10 for power, 20 for
/// magnitude), then, with `top_db`, every value below `max - top_db` raised to it.
pub fn amplitude_to_db(values: &mut [f64], multiplier: f64, top_db: Option<f64>) {
    for v in values.iter_mut() {
        *v = multiplier * v.max(AMIN).log10();
    }
    if let Some(top) = top_db {
        let floor = values.iter().copied().fold(f64::NEG_INFINITY, f64::max) - top;
        for v in values.iter_mut() {
            *v = v.max(floor);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decibels_and_floor() {
        let mut v = vec![1.0, 100.0, 1e-3, 0.0];
        amplitude_to_db(&mut v, 10.0, None);
        assert_eq!(v, vec![0.0, 20.0, -30.0, -100.0]);
        let mut v = vec![1.0, 100.0, 1e-3, 0.0];
        amplitude_to_db(&mut v, 10.0, Some(40.0));
        assert_eq!(v, vec![0.0, 20.0, -20.0, -20.0]);
        let mut v = vec![10.0];
        amplitude_to_db(&mut v, 20.0, None);
        assert_eq!(v, vec![20.0]);
    }
}
