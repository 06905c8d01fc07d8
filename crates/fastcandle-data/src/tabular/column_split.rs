//! Splitting the rows of a table by the order of one column (a time split).

use super::column::{self, Kind};
use crate::error::{Error, Result};
use crate::split::split_by_order;
use polars::prelude::*;

/// Puts the rows with the largest `int(valid_pct * n)` values of `column` in the validation
/// set: with a date column, the latest rows, as the fastai book recommends for data that grows
/// with time. Numbers (and text columns whose values are all numbers) order numerically, text
/// in byte order (ISO dates such as `2020-03-01` order correctly). Both sets come back in
/// ascending row order.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnSplitter {
    /// The column to order the rows by.
    pub column: String,
    /// The fraction of rows for validation, in `[0, 1)`.
    pub valid_pct: f64,
}

impl ColumnSplitter {
    /// A splitter by `column` with `valid_pct` of the rows for validation.
    pub fn new(column: impl Into<String>, valid_pct: f64) -> Self {
        Self {
            column: column.into(),
            valid_pct,
        }
    }

    /// The `(train, valid)` row indices of `df`; `file_label` names the data in errors. A
    /// missing value in the column is [`Error::MissingSplitKey`].
    pub fn split_df(&self, df: &DataFrame, file_label: &str) -> Result<(Vec<usize>, Vec<usize>)> {
        let name = self.column.as_str();
        let col = column::get(df, name, file_label)?;
        let rows: Vec<usize> = (0..df.height()).collect();
        let missing_error = |is_missing: &dyn Fn(usize) -> bool| {
            let (listed, count) = column::missing_rows(&rows, is_missing);
            Error::MissingSplitKey {
                file: file_label.to_string(),
                column: name.to_string(),
                rows: listed,
                count,
            }
        };
        if column::kind(col, file_label, &rows)? == Kind::Text {
            let ca = column::strings(col, file_label)?;
            let keys: Vec<Option<&str>> = ca.iter().collect();
            if keys.iter().any(Option::is_none) {
                return Err(missing_error(&|i| keys[i].is_none()));
            }
            split_by_order(&keys, self.valid_pct)
        } else {
            let keys = column::numbers(df, name, file_label, &rows)?;
            if keys.iter().any(|k| k.is_nan()) {
                return Err(missing_error(&|i| keys[i].is_nan()));
            }
            split_by_order(&keys, self.valid_pct)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_by_date_text_and_by_numbers() {
        let df = df!(
            "date" => ["2021-05-01", "2020-01-01", "2021-12-31", "2020-06-30", "2021-01-01"],
            "n" => ["10", "9", "100", "1", "50"],
        )
        .unwrap();
        let (t, v) = ColumnSplitter::new("date", 0.4)
            .split_df(&df, "d.csv")
            .unwrap();
        assert_eq!((t, v), (vec![1, 3, 4], vec![0, 2]));
        // As numbers, 100 and 50 are the largest (as text, "9" would be).
        let (t, v) = ColumnSplitter::new("n", 0.4)
            .split_df(&df, "d.csv")
            .unwrap();
        assert_eq!((t, v), (vec![0, 1, 3], vec![2, 4]));
    }

    #[test]
    fn missing_column_and_missing_values_are_errors() {
        let df = df!("date" => [Some("2020"), None, Some("2021")]).unwrap();
        let e = ColumnSplitter::new("when", 0.2)
            .split_df(&df, "d.csv")
            .unwrap_err();
        assert!(
            matches!(&e, Error::MissingColumn { file, column, .. } if file == "d.csv" && column == "when")
        );
        let e = ColumnSplitter::new("date", 0.2)
            .split_df(&df, "d.csv")
            .unwrap_err();
        assert!(
            matches!(&e, Error::MissingSplitKey { rows, count: 1, .. } if rows == &vec![2]),
            "{e}"
        );
    }
}
