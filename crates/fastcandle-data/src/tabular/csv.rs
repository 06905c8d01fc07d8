//! Reading a CSV file into a polars [`DataFrame`] of strings.
//!
//! Every column is read as text; the processor types the columns later (continuous columns are
//! parsed as numbers, with an error naming the row when a value is not one). Fields are trimmed,
//! because the UCI files separate fields with `", "`, and a trimmed field equal to one of
//! [`CsvOptions::null_values`] is missing.

use crate::error::{Error, Result};
use polars::prelude::*;
use std::path::Path;

/// How to read a CSV file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvOptions {
    /// Whether the first (non-skipped) row holds the column names. Default `true`.
    pub has_header: bool,
    /// How many rows to skip before the header (or the data, without a header). Default 0.
    pub skip_rows: usize,
    /// Column names to use instead of the header's (or of polars' `column_1`, ... without a
    /// header); there must be one per column. Default `None`.
    pub column_names: Option<Vec<String>>,
    /// The field separator. Default `b','`.
    pub separator: u8,
    /// Values (after trimming) that mean "missing". Default `[""]`, as pandas and fastai: only
    /// empty fields are missing. The UCI files mark missing values with `?`: add `"?"` for them.
    pub null_values: Vec<String>,
}

impl Default for CsvOptions {
    fn default() -> Self {
        Self {
            has_header: true,
            skip_rows: 0,
            column_names: None,
            separator: b',',
            null_values: vec![String::new()],
        }
    }
}

/// Reads `path` with [`CsvOptions::default`].
pub fn read_csv_default(path: &Path) -> Result<DataFrame> {
    read_csv(path, &CsvOptions::default())
}

/// Reads `path` into a data frame of string columns: fields and column names trimmed, fields
/// in `opts.null_values` missing, blank lines skipped. A file without data rows is
/// [`Error::EmptyFile`].
pub fn read_csv(path: &Path, opts: &CsvOptions) -> Result<DataFrame> {
    let label = path.display().to_string();
    let csv_err = |e: PolarsError| Error::Csv {
        file: label.clone(),
        reason: e.to_string(),
    };
    let file = std::fs::File::open(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let is_empty = file.metadata().map(|m| m.len() == 0).unwrap_or(false);
    if is_empty {
        return Err(Error::EmptyFile { file: label });
    }
    let raw = CsvReadOptions::default()
        .with_has_header(opts.has_header)
        .with_skip_rows(opts.skip_rows)
        // Zero rows of inference: every column is read as a string.
        .with_infer_schema_length(Some(0))
        .with_raise_if_empty(false)
        .map_parse_options(|p| p.with_separator(opts.separator).with_missing_is_null(false))
        .into_reader_with_file_handle(file)
        .finish()
        .map_err(csv_err)?;
    if raw.height() == 0 {
        return Err(Error::EmptyFile { file: label });
    }

    let names: Vec<String> = match &opts.column_names {
        Some(names) if names.len() != raw.width() => {
            return Err(Error::Csv {
                file: label,
                reason: format!(
                    "{} column names were given but the file has {} columns",
                    names.len(),
                    raw.width()
                ),
            });
        }
        Some(names) => names.clone(),
        None => raw
            .get_column_names()
            .iter()
            .map(|n| n.trim().to_string())
            .collect(),
    };

    let nulls: Vec<&str> = opts.null_values.iter().map(String::as_str).collect();
    let mut columns = Vec::with_capacity(raw.width());
    for (col, name) in raw.columns().iter().zip(&names) {
        let ca = col.str().map_err(csv_err)?;
        let cleaned = StringChunked::from_iter_options(
            name.as_str().into(),
            ca.iter()
                .map(|v| v.map(str::trim).filter(|t| !nulls.contains(t))),
        );
        columns.push(cleaned.into_column());
    }
    let df = DataFrame::new(raw.height(), columns).map_err(csv_err)?;
    let df = drop_blank_rows(df).map_err(csv_err)?;
    if df.height() == 0 {
        return Err(Error::EmptyFile { file: label });
    }
    Ok(df)
}

/// Drops rows with no value at all (blank lines, such as the one ending the UCI files), as
/// pandas skips blank lines.
fn drop_blank_rows(df: DataFrame) -> PolarsResult<DataFrame> {
    let mut keep = vec![false; df.height()];
    for col in df.columns() {
        for (k, v) in keep.iter_mut().zip(col.is_not_null().iter()) {
            *k |= v.unwrap_or(false);
        }
    }
    if keep.iter().all(|&k| k) {
        return Ok(df);
    }
    df.filter(&BooleanChunked::from_slice("keep".into(), &keep))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    fn strings(df: &DataFrame, col: &str) -> Vec<Option<String>> {
        df.column(col)
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(|v| v.map(String::from))
            .collect()
    }

    #[test]
    fn trims_reads_strings_and_marks_empty_missing() {
        let f = write(" a , b,c\n1, x ,  \n2,?,3.5\n");
        let df = read_csv_default(f.path()).unwrap();
        assert_eq!(df.get_column_names(), ["a", "b", "c"]);
        assert_eq!(df.height(), 2);
        assert!(df.columns().iter().all(|c| c.dtype() == &DataType::String));
        assert_eq!(strings(&df, "a"), [Some("1".into()), Some("2".into())]);
        // `?` is a value by default, as pandas reads it.
        assert_eq!(strings(&df, "b"), [Some("x".into()), Some("?".into())]);
        assert_eq!(strings(&df, "c"), [None, Some("3.5".into())]);
    }

    #[test]
    fn uci_style_without_header_with_question_marks() {
        let f = write("|comment line\n39, State-gov, ?\n50, ?, <=50K\n\n");
        let opts = CsvOptions {
            has_header: false,
            skip_rows: 1,
            column_names: Some(vec!["age".into(), "workclass".into(), "salary".into()]),
            null_values: vec![String::new(), "?".into()],
            ..CsvOptions::default()
        };
        let df = read_csv(f.path(), &opts).unwrap();
        assert_eq!(df.height(), 2);
        assert_eq!(strings(&df, "workclass"), [Some("State-gov".into()), None]);
        assert_eq!(strings(&df, "salary"), [None, Some("<=50K".into())]);
    }

    #[test]
    fn blank_lines_are_skipped() {
        let f = write("a,b\n1,2\n\n3,4\n\n");
        let df = read_csv_default(f.path()).unwrap();
        assert_eq!(strings(&df, "a"), [Some("1".into()), Some("3".into())]);
    }

    #[test]
    fn semicolon_separator() {
        let f = write("a;b\n1;2\n");
        let opts = CsvOptions {
            separator: b';',
            ..CsvOptions::default()
        };
        let df = read_csv(f.path(), &opts).unwrap();
        assert_eq!(strings(&df, "b"), [Some("2".into())]);
    }

    #[test]
    fn empty_and_header_only_files_are_empty_file_errors() {
        for text in ["", "a,b,c\n", "a,b\n\n\n"] {
            let f = write(text);
            let e = read_csv_default(f.path()).unwrap_err();
            assert!(
                matches!(&e, Error::EmptyFile { file } if file.contains(&f.path().display().to_string())),
                "{e}"
            );
        }
    }

    #[test]
    fn wrong_number_of_names_and_absent_file() {
        let f = write("a,b\n1,2\n");
        let opts = CsvOptions {
            column_names: Some(vec!["x".into()]),
            ..CsvOptions::default()
        };
        assert!(matches!(read_csv(f.path(), &opts), Err(Error::Csv { .. })));
        let e = read_csv_default(Path::new("/no/such/file.csv")).unwrap_err();
        assert!(matches!(e, Error::Io { .. }));
        assert!(e.to_string().contains("/no/such/file.csv"), "{e}");
    }
}
