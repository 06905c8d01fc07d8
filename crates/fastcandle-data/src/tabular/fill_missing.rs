//! FillMissing: the training median of each continuous column, and the `<col>_na` flags.

/// pandas' median: missing values (NaN) ignored, the mean of the two middle values for an even
/// count, NaN when no value is left.
pub(crate) fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// The name of the flag column FillMissing adds for `column`.
pub(crate) fn na_name(column: &str) -> String {
    format!("{column}_na")
}

/// The code of a `<col>_na` flag in the `#na#, false, true` vocabulary
/// ([`CategoryMap::boolean`](super::CategoryMap::boolean)).
pub(crate) fn flag_code(missing: bool) -> u32 {
    if missing { 2 } else { 1 }
}

/// A `<col>_na` code back to whether the value was missing; `None` for `#na#` (code 0).
pub(crate) fn decode_flag(code: u32) -> Option<bool> {
    match code {
        1 => Some(false),
        2 => Some(true),
        _ => None,
    }
}

/// Replaces missing values (NaN) with `fill`, returning which were missing.
pub(crate) fn fill(values: &mut [f64], fill: f64) -> Vec<bool> {
    values
        .iter_mut()
        .map(|x| {
            let missing = x.is_nan();
            if missing {
                *x = fill;
            }
            missing
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    const NAN: f64 = f64::NAN;

    #[test]
    fn median_of_odd_and_even_counts_ignores_missing() {
        assert_eq!(median(&[5.0, 1.0, NAN, 3.0]), 3.0);
        // Even count: (2 + 4) / 2.
        assert_eq!(median(&[4.0, NAN, 1.0, 2.0, 10.0]), 3.0);
        assert_eq!(median(&[7.0]), 7.0);
        assert!(median(&[NAN, NAN]).is_nan());
    }

    #[test]
    fn fill_replaces_and_flags() {
        let mut v = [1.0, NAN, 3.0, NAN];
        assert_eq!(fill(&mut v, 2.0), [false, true, false, true]);
        assert_eq!(v, [1.0, 2.0, 3.0, 2.0]);
    }

    #[test]
    fn flag_codes_decode_to_what_they_encode() {
        let vocab = super::super::CategoryMap::boolean();
        for missing in [false, true] {
            let code = flag_code(missing);
            assert_eq!(decode_flag(code), Some(missing));
            assert_eq!(vocab.decode(code), Some(missing.to_string().as_str()));
        }
        assert_eq!(decode_flag(0), None);
    }
}
