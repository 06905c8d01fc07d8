//! The checks of the loaders' numeric settings, shared by every loader and builder of every
//! layer, so that a bad value is the same error everywhere and names its option.
//!
//! The data-layer loaders check a value when it is set (their setters return a `Result`); the
//! application builders check theirs in `build()`.

use crate::error::{Error, Result};

/// The most batches a loader may make ahead ([`prefetch`](crate::vision::LoaderSettings::prefetch)):
/// one producer thread fills the queue, so a deeper one only holds more memory (a 64-image
/// batch of 224 pixels is 38 MB).
pub const MAX_PREFETCH: usize = 16;

/// `bs` if it is a usable batch size (at least 1), else an error naming `bs`.
pub fn check_bs(bs: usize) -> Result<usize> {
    if bs == 0 {
        return Err(bad(
            "bs",
            format!("the batch size must be at least 1, got {bs}"),
        ));
    }
    Ok(bs)
}

/// `tfms` if none resizes to an empty image (`Resize::new(0)`), else an error naming
/// `item_tfms`.
pub fn check_item_tfms(tfms: &[std::sync::Arc<dyn crate::vision::ItemTransform>]) -> Result<()> {
    for t in tfms {
        if let Some((w, h)) = t.output_size()
            && (w == 0 || h == 0)
        {
            return Err(bad(
                "item_tfms",
                format!("a resize to {w}x{h} makes empty images: a size must be at least 1"),
            ));
        }
    }
    Ok(())
}

/// `valid_pct` if it is a usable validation share (in `[0, 1)`), else an error naming
/// `valid_pct`.
pub fn check_valid_pct(valid_pct: f64) -> Result<f64> {
    if !(0.0..1.0).contains(&valid_pct) {
        return Err(bad(
            "valid_pct",
            format!("the validation share must be in [0, 1), got {valid_pct}"),
        ));
    }
    Ok(valid_pct)
}

/// `depth` if it is a usable prefetch depth (0 to [`MAX_PREFETCH`]), else an error naming
/// `prefetch`.
pub fn check_prefetch(depth: usize) -> Result<usize> {
    if depth > MAX_PREFETCH {
        return Err(bad(
            "prefetch",
            format!("at most {MAX_PREFETCH} batches can be made ahead, got {depth}"),
        ));
    }
    Ok(depth)
}

fn bad(option: &'static str, reason: String) -> Error {
    Error::BadOption { option, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_name_their_option() {
        assert_eq!(check_bs(1).unwrap(), 1);
        assert_eq!(
            check_bs(0).unwrap_err().to_string(),
            "bs: the batch size must be at least 1, got 0"
        );
        assert_eq!(check_valid_pct(0.0).unwrap(), 0.0);
        for bad in [1.0, 1.5, -0.1, f64::NAN] {
            let e = check_valid_pct(bad).unwrap_err().to_string();
            assert!(e.starts_with("valid_pct: "), "{e}");
        }
        assert_eq!(check_prefetch(MAX_PREFETCH).unwrap(), MAX_PREFETCH);
        let e = check_prefetch(MAX_PREFETCH + 1).unwrap_err().to_string();
        assert!(e.starts_with("prefetch: "), "{e}");
    }
}
