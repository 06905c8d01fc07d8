//! The target column: classes (sorted, from the training rows) or regression values.

use super::categorify::sort_values;
use super::column::{self, Kind};
use super::data::Targets;
use crate::error::{Error, Result};
use polars::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};

/// What kind of target the y column holds (fastai's `y_block`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum YBlock {
    /// Classification: the classes are the sorted unique training values.
    Category,
    /// Regression on the values, as `f32`.
    Regression,
    /// fastai's rule, applied to the type pandas would give the column: floats are a regression
    /// target, integers and text are categories. A text column whose values all parse as
    /// integers counts as integers, and as floats if all parse as numbers and one is not an
    /// integer.
    #[default]
    Auto,
}

/// The fitted target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum TargetMap {
    /// Classification over these classes (sorted, no `#na#`).
    Classes(Vec<String>),
    /// Regression.
    Regression,
}

impl TargetMap {
    /// Fits the target on the training `rows`.
    pub(crate) fn fit(
        df: &DataFrame,
        name: &str,
        y_block: YBlock,
        rows: &[usize],
        file: &str,
    ) -> Result<Self> {
        let col = column::get(df, name, file)?;
        let is_regression = match y_block {
            YBlock::Category => false,
            YBlock::Regression => true,
            YBlock::Auto => column::kind(col, file, rows)? == Kind::Float,
        };
        if is_regression {
            Self::Regression.encode(df, name, rows, file)?;
            return Ok(Self::Regression);
        }
        let ca = column::strings(col, file)?;
        let all: Vec<Option<&str>> = ca.iter().collect();
        // Every row of the file, not only the training ones: a row without a target is an
        // error wherever the split puts it.
        let every: Vec<usize> = (0..all.len()).collect();
        check_present(name, &every, file, |i| all[i].is_none())?;
        let unique: BTreeSet<&str> = rows.iter().filter_map(|&r| all[r]).collect();
        let classes = sort_values(unique.into_iter().collect());
        if classes.len() < 2 {
            return Err(Error::SingleClass {
                column: name.to_string(),
                class: classes.into_iter().next().unwrap_or_default(),
            });
        }
        Ok(Self::Classes(classes))
    }

    /// The targets of `rows`: class indices or values.
    pub(crate) fn encode(
        &self,
        df: &DataFrame,
        name: &str,
        rows: &[usize],
        file: &str,
    ) -> Result<Targets> {
        match self {
            Self::Regression => {
                let values = column::numbers(df, name, file, rows)?;
                check_present(name, rows, file, |i| values[i].is_nan())?;
                Ok(Targets::Values(
                    values.into_iter().map(|v| v as f32).collect(),
                ))
            }
            Self::Classes(classes) => {
                let col = column::get(df, name, file)?;
                let ca = column::strings(col, file)?;
                let all: Vec<Option<&str>> = ca.iter().collect();
                check_present(name, rows, file, |i| all[rows[i]].is_none())?;
                let index: HashMap<&str, u32> = classes
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (c.as_str(), i as u32))
                    .collect();
                rows.iter()
                    .map(|&r| {
                        let value = all[r].unwrap_or_default();
                        index
                            .get(value)
                            .copied()
                            .ok_or_else(|| Error::UnseenTarget {
                                file: file.to_string(),
                                column: name.to_string(),
                                value: value.to_string(),
                                row: r + 1,
                            })
                    })
                    .collect::<Result<Vec<u32>>>()
                    .map(Targets::Classes)
            }
        }
    }
}

impl TargetMap {
    /// The targets of positions `rows` of `ys` as a column named `name`: class names, or values.
    pub(crate) fn decode(&self, ys: &Targets, rows: &[usize], name: &str) -> Result<Column> {
        let bad = |reason: String| Error::BadData {
            what: format!("decoding the target `{name}`"),
            reason,
        };
        match (self, ys) {
            (Self::Classes(classes), Targets::Classes(ys)) => {
                let names = rows
                    .iter()
                    .map(|&r| {
                        classes
                            .get(ys[r] as usize)
                            .map(String::as_str)
                            .ok_or_else(|| {
                                bad(format!("class {} of {} classes", ys[r], classes.len()))
                            })
                    })
                    .collect::<Result<Vec<&str>>>()?;
                Ok(Column::new(name.into(), names))
            }
            (Self::Regression, Targets::Values(ys)) => {
                let values: Vec<f32> = rows.iter().map(|&r| ys[r]).collect();
                Ok(Column::new(name.into(), values))
            }
            _ => Err(bad(
                "the targets are of another kind (classes or values) than the processor's".into(),
            )),
        }
    }
}

/// [`Error::MissingTarget`] when `missing(i)` holds for some position `i` of `rows`.
fn check_present(
    name: &str,
    rows: &[usize],
    file: &str,
    missing: impl Fn(usize) -> bool,
) -> Result<()> {
    let (listed, count) = column::missing_rows(rows, missing);
    if count == 0 {
        return Ok(());
    }
    Err(Error::MissingTarget {
        file: file.to_string(),
        column: name.to_string(),
        rows: listed,
        count,
    })
}

/// Refuses a CSV file cut inside its last row's target: when `path` ends without an
/// end-of-line and the last row's `y_name` is text that no other row has (`<=5` where the
/// others say `<=50K`), the file is an error naming that line. A target that is a number on
/// every row (regression) is left to the target's own parsing.
pub fn check_cut_last_target(df: &DataFrame, y_name: &str, path: &std::path::Path) -> Result<()> {
    let Some(last) = super::csv::unterminated_last_line(path)? else {
        return Ok(());
    };
    let file = path.display().to_string();
    let ca = column::strings(column::get(df, y_name, &file)?, &file)?;
    let Some(Some(value)) = ca.iter().last() else {
        return Ok(());
    };
    if value.parse::<f64>().is_ok() {
        return Ok(());
    }
    let count = ca.iter().filter(|v| *v == Some(value)).count();
    if count > 1 || df.height() < 2 {
        return Ok(());
    }
    Err(Error::Csv {
        file,
        reason: format!(
            "line {} (the last, with no end-of-line) has the target `{value}` in `{y_name}`, \
             which no other row has: the file looks cut short; complete or remove that line",
            last.number
        ),
    })
}

/// The frame without the rows whose `y_name` is missing, for data where some rows have no
/// target (fastai would fail on them too).
pub fn drop_missing_targets(df: &DataFrame, y_name: &str, file: &str) -> Result<DataFrame> {
    let col = column::get(df, y_name, file)?;
    let mut keep: Vec<bool> = (0..df.height()).map(|_| true).collect();
    if col.dtype().is_float() {
        let cast = col
            .cast(&DataType::Float64)
            .map_err(|e| csv_error(file, e))?;
        for (k, v) in keep
            .iter_mut()
            .zip(cast.f64().expect("a float column").iter())
        {
            *k = v.is_some_and(|x| !x.is_nan());
        }
    } else {
        for (k, v) in keep.iter_mut().zip(col.is_not_null().iter()) {
            *k = v.unwrap_or(false);
        }
    }
    let mask = BooleanChunked::from_slice("keep".into(), &keep);
    df.filter(&mask).map_err(|e| csv_error(file, e))
}

fn csv_error(file: &str, e: PolarsError) -> Error {
    Error::Csv {
        file: file.to_string(),
        reason: e.to_string(),
    }
}
