//! Reading the values of one column of a data frame, typed as the processor needs them.

use crate::error::{Error, Result};
use polars::prelude::*;

/// The column `name` of `df`, or [`Error::MissingColumn`] naming `file`.
pub(crate) fn get<'a>(df: &'a DataFrame, name: &str, file: &str) -> Result<&'a Column> {
    df.column(name).map_err(|_| Error::MissingColumn {
        file: file.to_string(),
        column: name.to_string(),
        available: df
            .get_column_names()
            .iter()
            .map(|n| n.to_string())
            .collect(),
    })
}

/// Checks that every row index is inside the frame.
pub(crate) fn check_rows(df: &DataFrame, rows: &[usize], file: &str) -> Result<()> {
    match rows.iter().find(|&&r| r >= df.height()) {
        Some(r) => Err(Error::BadData {
            what: file.to_string(),
            reason: format!(
                "row index {r} is out of range: the data has {} rows",
                df.height()
            ),
        }),
        None => Ok(()),
    }
}

/// The column as strings: string columns as they are, others cast (numbers print as polars
/// prints them).
pub(crate) fn strings(col: &Column, file: &str) -> Result<StringChunked> {
    let cast;
    let col = if col.dtype().is_string() {
        col
    } else {
        cast = col.cast(&DataType::String).map_err(|e| Error::Csv {
            file: file.to_string(),
            reason: format!("column `{}` cannot be read as text: {e}", col.name()),
        })?;
        &cast
    };
    Ok(col.str().expect("a string column").clone())
}

/// Whether the column holds numbers (or booleans) rather than text.
fn is_numeric(col: &Column) -> bool {
    col.dtype().is_primitive_numeric() || col.dtype().is_bool()
}

/// The values of `rows` as numbers, NaN where missing. Text that is not a number is
/// [`Error::NotNumeric`] naming the row.
pub(crate) fn numbers(df: &DataFrame, name: &str, file: &str, rows: &[usize]) -> Result<Vec<f64>> {
    let col = get(df, name, file)?;
    if is_numeric(col) {
        let cast = col.cast(&DataType::Float64).map_err(|e| Error::Csv {
            file: file.to_string(),
            reason: format!("column `{name}` cannot be read as numbers: {e}"),
        })?;
        let all: Vec<Option<f64>> = cast.f64().expect("a float column").iter().collect();
        return Ok(rows.iter().map(|&r| all[r].unwrap_or(f64::NAN)).collect());
    }
    let ca = strings(col, file)?;
    let all: Vec<Option<&str>> = ca.iter().collect();
    rows.iter()
        .map(|&r| match all[r] {
            None => Ok(f64::NAN),
            Some(text) => parse_number(text).ok_or_else(|| Error::NotNumeric {
                file: file.to_string(),
                column: name.to_string(),
                row: r + 1,
                value: text.to_string(),
            }),
        })
        .collect()
}

/// Parses a number as pandas would read it (surrounding spaces allowed); an empty text is NaN.
pub(crate) fn parse_number(text: &str) -> Option<f64> {
    let t = text.trim();
    if t.is_empty() {
        Some(f64::NAN)
    } else {
        t.parse::<f64>().ok()
    }
}

/// The kind of values a column holds, as pandas would type it on reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Integers (or booleans).
    Integer,
    /// Numbers, at least one not an integer.
    Float,
    /// Text.
    Text,
}

/// How pandas would type the non-missing values of `rows` of `col`.
pub(crate) fn kind(col: &Column, file: &str, rows: &[usize]) -> Result<Kind> {
    if col.dtype().is_float() {
        return Ok(Kind::Float);
    }
    if is_numeric(col) {
        return Ok(Kind::Integer);
    }
    let ca = strings(col, file)?;
    let all: Vec<Option<&str>> = ca.iter().collect();
    let mut kind = Kind::Integer;
    for v in rows.iter().filter_map(|&r| all[r]) {
        if v.trim().parse::<i64>().is_ok() {
            continue;
        }
        if v.trim().parse::<f64>().is_ok() {
            kind = Kind::Float;
        } else {
            return Ok(Kind::Text);
        }
    }
    Ok(kind)
}

/// Up to [`MAX_LISTED_ROWS`](crate::error::MAX_LISTED_ROWS) 1-based row numbers of `rows`
/// where `missing` holds, and how many there are in all.
pub(crate) fn missing_rows(rows: &[usize], missing: impl Fn(usize) -> bool) -> (Vec<usize>, usize) {
    // In file order, whatever the order of `rows` (a random split's).
    let mut all: Vec<usize> = rows
        .iter()
        .enumerate()
        .filter(|&(i, _)| missing(i))
        .map(|(_, &r)| r + 1)
        .collect();
    all.sort_unstable();
    let count = all.len();
    all.truncate(crate::error::MAX_LISTED_ROWS);
    (all, count)
}
