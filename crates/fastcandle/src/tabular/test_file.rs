//! Reading a file of new rows the way the training file was read, so that UCI-style test files
//! (`adult.test`: a first line to skip, no header, labels ending in `.`) work as they are.

use super::TabularDataLoaders;
use crate::error::{Error, Result};
use fastcandle_data::{CsvOptions, DataFrame, read_csv};
use polars::prelude::{NamedFrom, Series};
use std::io::{BufRead, BufReader};
use std::path::Path;

/// Reads `path` as rows of the table `dls` was built from:
/// - leading lines starting with `|` (UCI's comments) are skipped;
/// - without a header naming the columns the model needs, the training file's column names are
///   used (the column count must match);
/// - `?` counts as missing as well as an empty field;
/// - a target value unknown to the model but known once a trailing `.` is removed (UCI's
///   `>50K.`) is read without the dot.
pub fn read_like_training(path: &Path, dls: &TabularDataLoaders) -> Result<DataFrame> {
    let label = path.display().to_string();
    let file_err = |reason: String| Error::File {
        path: label.clone(),
        reason,
    };
    if path.is_dir() {
        return Err(file_err(
            "is a folder, not a CSV file: give the path of the file".into(),
        ));
    }
    let file = std::fs::File::open(path).map_err(|e| file_err(format!("cannot open: {e}")))?;
    let mut skip = 0;
    let mut first_data_line = None;
    for line in BufReader::new(file).lines() {
        let line = line.map_err(|e| file_err(format!("cannot read: {e}")))?;
        if line.trim_start().starts_with('|') {
            skip += 1;
            continue;
        }
        first_data_line = Some(line);
        break;
    }
    let Some(first) = first_data_line else {
        return Err(fastcandle_data::Error::EmptyFile { file: label }.into());
    };
    let proc = dls.processor();
    let needed: Vec<&str> = proc
        .cat_names()
        .iter()
        .filter(|c| !c.ends_with("_na"))
        .chain(proc.cont_names())
        .map(String::as_str)
        .chain(proc.y_name())
        .collect();
    let header: Vec<&str> = first.split(',').map(str::trim).collect();
    // A first line naming any of the table's columns is a header; then every column the model
    // reads must be in it (the target may be absent: unlabelled rows).
    let has_header = dls.columns().iter().any(|c| header.contains(&c.as_str()));
    let absent: Vec<&str> = needed
        .iter()
        .copied()
        .filter(|n| Some(*n) != proc.y_name() && !header.contains(n))
        .collect();
    if has_header && !absent.is_empty() {
        return Err(file_err(format!(
            "its header has no column {} (the model reads it)",
            absent
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    // pandas' missing markers, and UCI's `?`.
    let mut null_values = CsvOptions::default().null_values;
    null_values.push("?".to_string());
    let opts = if has_header {
        CsvOptions {
            skip_rows: skip,
            null_values,
            ..Default::default()
        }
    } else {
        if header.len() != dls.columns().len() {
            return Err(file_err(format!(
                "no header naming the columns, and {} fields per row where the training table has {} columns ({})",
                header.len(),
                dls.columns().len(),
                dls.columns().join(", ")
            )));
        }
        CsvOptions {
            has_header: false,
            skip_rows: skip,
            column_names: Some(dls.columns().to_vec()),
            null_values,
            ..Default::default()
        }
    };
    let mut df = read_csv(path, &opts)?;
    if let (Some(y), Some(classes)) = (proc.y_name(), proc.classes())
        && let Ok(col) = df.column(y)
        && let Ok(ca) = col.str()
    {
        let fixed: Vec<Option<String>> = ca
            .iter()
            .map(|v| {
                v.map(|s| match s.strip_suffix('.') {
                    Some(t)
                        if !classes.iter().any(|c| c == s) && classes.iter().any(|c| c == t) =>
                    {
                        t.to_string()
                    }
                    _ => s.to_string(),
                })
            })
            .collect();
        let series = Series::new(y.into(), fixed);
        df.replace(y, series.into())
            .map_err(|e| file_err(format!("cannot fix column `{y}`: {e}")))?;
    }
    Ok(df)
}
