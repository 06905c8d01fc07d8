//! Where a sliding window reads along one spatial axis (convolution geometry).

/// The input index read by output index `o` through kernel offset `k`, with stride `s` and
/// padding `p`, if it falls inside an input of length `len`.
pub(crate) fn in_index(o: usize, k: usize, s: usize, p: usize, len: usize) -> Option<usize> {
    (o * s + k).checked_sub(p).filter(|&i| i < len)
}

/// The output indices `lo..hi` (of `out` in all) whose input index `o * s + k - p` falls inside
/// an input of length `len`.
pub(crate) fn out_range(k: usize, s: usize, p: usize, len: usize, out: usize) -> (usize, usize) {
    let lo = if p > k { (p - k).div_ceil(s) } else { 0 };
    // o * s + k - p <= len - 1  <=>  o <= (len - 1 + p - k) / s
    let hi = match (len - 1 + p).checked_sub(k) {
        Some(m) => (m / s + 1).min(out),
        None => 0,
    };
    (lo, hi.max(lo))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_bounds_match_a_brute_force_scan() {
        for (len, k_size, s, p) in [(7, 3, 2, 1), (6, 3, 2, 1), (5, 7, 1, 3), (4, 1, 1, 0)] {
            let out = (len + 2 * p - k_size) / s + 1;
            for k in 0..k_size {
                let inside: Vec<usize> = (0..out)
                    .filter(|&o| in_index(o, k, s, p, len).is_some())
                    .collect();
                let (lo, hi) = out_range(k, s, p, len, out);
                assert_eq!(
                    inside,
                    (lo..hi).collect::<Vec<_>>(),
                    "len {len} k {k} s {s} p {p}"
                );
            }
        }
    }
}
