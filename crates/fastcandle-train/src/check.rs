//! Checks of training options, so that a rate that cannot train (NaN, infinite, zero,
//! negative) is an error naming the option before any step, not a model full of NaN.

use crate::error::{Error, Result};

/// `lr` as a learning rate: finite and above zero, else an error naming `what`.
pub(crate) fn check_lr(what: &str, lr: f64) -> Result<()> {
    positive(what, lr, "a learning rate must be")
}

/// `v` as a positive finite factor (`div`, `div_final`, `lr_mult`), else an error naming
/// `what`.
pub(crate) fn check_positive(what: &str, v: f64) -> Result<()> {
    positive(what, v, "must be")
}

fn positive(what: &str, v: f64, must: &str) -> Result<()> {
    if v.is_finite() && v > 0.0 {
        return Ok(());
    }
    Err(Error::Invalid(format!(
        "{what}: {must} a finite number above 0, got {v}"
    )))
}

/// `v` as a fraction in `[0, 1]` (`pct_start`), else an error naming `what`.
pub(crate) fn check_fraction(what: &str, v: f64) -> Result<()> {
    if (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "{what}: must be between 0 and 1, got {v}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_that_cannot_train_are_errors_naming_the_option() {
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.0, -1e-3] {
            let err = check_lr("lr_max", bad).unwrap_err().to_string();
            assert!(err.starts_with("lr_max:"), "{err}");
        }
        check_lr("lr", 1e-3).unwrap();
        assert!(check_positive("div", 0.0).is_err());
        assert!(check_fraction("pct_start", 1.5).is_err());
        check_fraction("pct_start", 0.99).unwrap();
    }
}
