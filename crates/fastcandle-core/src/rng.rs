//! Seeded randomness.
//!
//! candle's CPU generator cannot be seeded, so everything random in fastcandle (initialisation,
//! shuffling, splitting, dropout masks) draws from a [`SeededRng`]. Streams are derived from a
//! base seed and a purpose (and, for training, the epoch and step), so that a run resumed from a
//! checkpoint draws exactly what the uninterrupted run drew.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A reproducible random generator (ChaCha8).
pub type SeededRng = ChaCha8Rng;

/// A generator for `seed`.
pub fn rng(seed: u64) -> SeededRng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// A generator for one independent stream of `seed`: the same `(seed, stream)` always gives the
/// same numbers, and different streams do not overlap in practice.
pub fn stream(seed: u64, stream: u64) -> SeededRng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(stream);
    r
}

/// Mixes several integers into one seed (SplitMix64 finaliser), for per-epoch or per-step streams.
pub fn mix(parts: &[u64]) -> u64 {
    let mut h: u64 = 0x9E37_79B9_7F4A_7C15;
    for &p in parts {
        h ^= p
            .wrapping_add(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(h << 6)
            .wrapping_add(h >> 2);
        h = (h ^ (h >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        h = (h ^ (h >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        h ^= h >> 31;
    }
    h
}

/// A random permutation of `0..n` (Fisher-Yates).
pub fn permutation(n: usize, rng: &mut SeededRng) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = rng.random_range(0..=i);
        idx.swap(i, j);
    }
    idx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_permutation_other_seed_other() {
        let a = permutation(100, &mut rng(42));
        let b = permutation(100, &mut rng(42));
        let c = permutation(100, &mut rng(43));
        assert_eq!(a, b);
        assert_ne!(a, c);
        let mut s = a.clone();
        s.sort();
        assert_eq!(s, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn mix_separates_streams() {
        assert_ne!(mix(&[1, 2]), mix(&[2, 1]));
        assert_eq!(mix(&[7, 3]), mix(&[7, 3]));
        let mut a = stream(1, 0);
        let mut b = stream(1, 1);
        assert_ne!(a.random::<u64>(), b.random::<u64>());
    }
}
