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

/// The permutation of `0..n` that PyTorch's `torch.manual_seed(seed); torch.randperm(n)` gives on
/// the CPU: Fisher-Yates from the front over the Mersenne Twister (MT19937) that torch seeds with
/// the low 32 bits of `seed`, taking each draw modulo the number of places left, as torch's
/// `randperm_cpu` does. fastai's `RandomSplitter` shuffles with it, so a split by this
/// permutation holds the same items as fastai's for the same seed.
pub fn torch_permutation(n: usize, seed: u64) -> Vec<usize> {
    let mut mt = rand_mt::Mt::new(seed as u32);
    let mut idx: Vec<usize> = (0..n).collect();
    // torch draws 32 bits while n < u32::MAX / 20, and 64 bits above.
    let wide = n as u64 >= u64::from(u32::MAX / 20);
    for i in 0..n.saturating_sub(1) {
        let r = if wide {
            mt.next_u64()
        } else {
            u64::from(mt.next_u32())
        };
        let z = (r % (n - i) as u64) as usize;
        idx.swap(i, i + z);
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
    fn torch_permutation_equals_torch_randperm() {
        // `torch.manual_seed(42); torch.randperm(n)` with torch 2.15 (scripts/reference/randperm.py).
        assert_eq!(torch_permutation(10, 42), [2, 6, 1, 8, 4, 5, 0, 9, 3, 7]);
        let p = torch_permutation(2000, 42);
        assert_eq!(p[..8], [1542, 1486, 252, 1959, 410, 190, 1488, 1520]);
        assert_eq!(p[1992..], [1141, 442, 1658, 240, 873, 1532, 635, 1217]);
        let q = torch_permutation(32561, 42);
        assert_eq!(
            q[..8],
            [26459, 14308, 30129, 7933, 23325, 4624, 24726, 19755]
        );
        assert_eq!(torch_permutation(5, 1), [0, 4, 2, 3, 1]);
        let mut s = q.clone();
        s.sort_unstable();
        assert_eq!(s, (0..32561).collect::<Vec<_>>());
        assert!(torch_permutation(0, 3).is_empty());
        assert_eq!(torch_permutation(1, 3), [0]);
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
