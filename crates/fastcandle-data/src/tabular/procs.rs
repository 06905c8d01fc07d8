//! The tabular preprocessing steps a user asks for.

use serde::{Deserialize, Serialize};

/// A tabular proc, as listed by the user (fastai's `procs=[Categorify, FillMissing, Normalize]`).
///
/// Whatever order they are listed in, they run in fastai's order: [`Proc::FillMissing`],
/// [`Proc::Categorify`], [`Proc::Normalize`]. All are fitted on the training rows only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Proc {
    /// Fills missing continuous values with the training median and adds a `<col>_na` column.
    FillMissing,
    /// Encodes categorical columns with a training vocabulary, `#na#` at code 0.
    Categorify,
    /// Normalises continuous columns with the training mean and std (ddof 0, + 1e-7).
    Normalize,
}

impl Proc {
    /// The procs to run, without repeats, in fastai's order.
    pub fn in_fastai_order(procs: &[Proc]) -> Vec<Proc> {
        // The variants are declared in fastai's order, so sorting gives it.
        let mut out = procs.to_vec();
        out.sort();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_listing_runs_in_fastai_order() {
        use Proc::*;
        let want = vec![FillMissing, Categorify, Normalize];
        assert_eq!(
            Proc::in_fastai_order(&[Normalize, Categorify, FillMissing]),
            want
        );
        assert_eq!(
            Proc::in_fastai_order(&[Categorify, Normalize, FillMissing, Normalize]),
            want
        );
        assert_eq!(
            Proc::in_fastai_order(&[Normalize, Categorify]),
            vec![Categorify, Normalize]
        );
    }
}
