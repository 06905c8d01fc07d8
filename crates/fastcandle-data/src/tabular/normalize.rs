//! Normalize: the training mean and standard deviation of each continuous column.

/// fastai's statistics: the mean and the population standard deviation (ddof 0) plus `1e-7`,
/// missing values (NaN) ignored as pandas does. `(NaN, NaN)` when no value is left.
pub(crate) fn mean_std(values: &[f64]) -> (f64, f64) {
    let (mut n, mut sum) = (0usize, 0.0);
    for &x in values.iter().filter(|x| !x.is_nan()) {
        n += 1;
        sum += x;
    }
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let mean = sum / n as f64;
    let var = values
        .iter()
        .filter(|x| !x.is_nan())
        .map(|x| (x - mean) * (x - mean))
        .sum::<f64>()
        / n as f64;
    (mean, var.sqrt() + 1e-7)
}

/// A value normalised with a column's statistics.
pub(crate) fn normalize(x: f64, mean: f64, std: f64) -> f64 {
    (x - mean) / std
}

/// Undoes [`normalize`] (fastai's `Normalize.decodes`).
pub(crate) fn denormalize(x: f64, mean: f64, std: f64) -> f64 {
    x * std + mean
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn population_std_plus_epsilon() {
        // mean 5; squared deviations 9, 1, 1, 9 -> variance 20 / 4 = 5 (ddof 0).
        let (m, s) = mean_std(&[2.0, 4.0, 6.0, 8.0]);
        assert_eq!(m, 5.0);
        assert!((s - (5f64.sqrt() + 1e-7)).abs() < 1e-12);
        let (m, s) = mean_std(&[3.0, f64::NAN, 3.0]);
        assert_eq!((m, s), (3.0, 1e-7));
    }

    #[test]
    fn denormalize_undoes_normalize() {
        let (m, s) = mean_std(&[20.0, 35.0, 61.0, 44.0]);
        for x in [20.0, 0.0, -3.5, 1e6] {
            let z = normalize(x, m, s);
            assert!((denormalize(z, m, s) - x).abs() <= 1e-9 * x.abs().max(1.0));
            // Through f32, as batches hold them: exact to f32's precision of `z`.
            let back = denormalize(f64::from(z as f32), m, s);
            assert!((back - x).abs() <= 1e-6 * x.abs().max(s));
        }
    }
}
