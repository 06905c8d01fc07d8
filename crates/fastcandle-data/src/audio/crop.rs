//! Fitting recordings to one duration, so that every spectrogram of a batch has the same width:
//! longer ones are cropped, shorter ones padded with silence (fastaudio's `ResizeSignal`).

/// Where a recording goes in its window of fixed length.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Placement {
    /// Centred: the middle of a longer recording is kept, a shorter one gets equal silence on
    /// both sides (validation and inference).
    Centre,
    /// At a position `u` in `[0, 1]` of the free range: a random crop of a longer recording, a
    /// random shift of a shorter one in its silence (training, `u` drawn per item).
    At(f64),
}

/// `samples` fitted to `len` samples, placed as `placement` says.
pub fn fit_length(samples: &[f32], len: usize, placement: Placement) -> Vec<f32> {
    let n = samples.len();
    let free = n.abs_diff(len);
    let offset = match placement {
        Placement::Centre => free / 2,
        Placement::At(u) => ((u.clamp(0.0, 1.0) * (free + 1) as f64) as usize).min(free),
    };
    if n >= len {
        samples[offset..offset + len].to_vec()
    } else {
        let mut out = vec![0.0; len];
        out[offset..offset + n].copy_from_slice(samples);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crops_and_pads() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(fit_length(&x, 3, Placement::Centre), vec![2.0, 3.0, 4.0]);
        assert_eq!(fit_length(&x, 3, Placement::At(0.0)), vec![1.0, 2.0, 3.0]);
        assert_eq!(fit_length(&x, 3, Placement::At(1.0)), vec![3.0, 4.0, 5.0]);
        assert_eq!(
            fit_length(&x, 8, Placement::Centre),
            vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 0.0, 0.0]
        );
        assert_eq!(
            fit_length(&x, 7, Placement::At(1.0)),
            vec![0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
        );
        assert_eq!(fit_length(&x, 5, Placement::At(0.7)), x.to_vec());
    }
}
