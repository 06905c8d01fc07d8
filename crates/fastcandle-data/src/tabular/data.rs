//! Processed, model-ready tabular arrays.

/// The targets of processed rows.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    /// Class indices into the processor's classes.
    Classes(Vec<u32>),
    /// Regression values.
    Values(Vec<f32>),
}

impl Targets {
    /// The number of targets.
    pub fn len(&self) -> usize {
        match self {
            Targets::Classes(v) => v.len(),
            Targets::Values(v) => v.len(),
        }
    }

    /// Whether there is no target.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Processed rows: categorical codes and continuous values, row-major, and the targets when
/// the rows are labelled.
#[derive(Debug, Clone, PartialEq)]
pub struct TabularData {
    /// Categorical codes, row-major `[n_rows, n_cat]`; 0 is `#na#`.
    pub cats: Vec<u32>,
    /// Continuous values, row-major `[n_rows, n_cont]`.
    pub conts: Vec<f32>,
    /// The targets, `None` for unlabelled rows (a test set without answers).
    pub ys: Option<Targets>,
    /// The number of rows.
    pub n_rows: usize,
    /// The number of categorical columns (the user's and the `_na` flags).
    pub n_cat: usize,
    /// The number of continuous columns.
    pub n_cont: usize,
}

impl TabularData {
    /// The number of rows.
    pub fn len(&self) -> usize {
        self.n_rows
    }

    /// Whether there is no row.
    pub fn is_empty(&self) -> bool {
        self.n_rows == 0
    }

    /// The categorical codes of row `i`.
    pub fn cat_row(&self, i: usize) -> &[u32] {
        &self.cats[i * self.n_cat..(i + 1) * self.n_cat]
    }

    /// The continuous values of row `i`.
    pub fn cont_row(&self, i: usize) -> &[f32] {
        &self.conts[i * self.n_cont..(i + 1) * self.n_cont]
    }

    /// Checks that the arrays have the lengths their shape says.
    pub(crate) fn check(&self, what: &str) -> crate::Result<()> {
        let bad = |reason: String| {
            Err(crate::Error::BadData {
                what: what.to_string(),
                reason,
            })
        };
        if self.cats.len() != self.n_rows * self.n_cat {
            return bad(format!(
                "{} categorical codes for {} rows of {} columns",
                self.cats.len(),
                self.n_rows,
                self.n_cat
            ));
        }
        if self.conts.len() != self.n_rows * self.n_cont {
            return bad(format!(
                "{} continuous values for {} rows of {} columns",
                self.conts.len(),
                self.n_rows,
                self.n_cont
            ));
        }
        match &self.ys {
            Some(ys) if ys.len() != self.n_rows => {
                bad(format!("{} targets for {} rows", ys.len(), self.n_rows))
            }
            _ => Ok(()),
        }
    }
}
