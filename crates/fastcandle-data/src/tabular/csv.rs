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
    /// Values (after trimming) that mean "missing". Default [`PANDAS_NA_VALUES`], the values
    /// pandas' `read_csv` (and so fastai) reads as missing: an empty field, `NaN`, `nan`, `NA`,
    /// `null`, `None`, `N/A`... The UCI files mark missing values with `?`: add `"?"` for them.
    pub null_values: Vec<String>,
}

impl Default for CsvOptions {
    fn default() -> Self {
        Self {
            has_header: true,
            skip_rows: 0,
            column_names: None,
            separator: b',',
            null_values: PANDAS_NA_VALUES.iter().map(|v| v.to_string()).collect(),
        }
    }
}

/// The fields pandas' `read_csv` reads as missing by default (`keep_default_na=True`), and so
/// fastai's `TabularDataLoaders.from_csv`: a target or a value written `NaN`, `NA` or `null` is
/// missing, not a class of its own.
pub const PANDAS_NA_VALUES: [&str; 19] = [
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
];

/// The last line of a file that does not end with an end-of-line: the mark of a file cut short
/// (a download or a copy that stopped), whose last row may hold a truncated value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnterminatedLine {
    /// Its line number, counting from 1.
    pub number: usize,
    /// Its text.
    pub text: String,
}

/// The last line of `path` when the file does not end with an end-of-line (and that line is
/// not blank), else `None`.
pub fn unterminated_last_line(path: &Path) -> Result<Option<UnterminatedLine>> {
    use std::io::{Read, Seek, SeekFrom};
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    // Only the last byte, for the usual file that ends its last line: the whole file is read
    // (for the line number) only when it does not.
    let mut file = std::fs::File::open(path).map_err(io)?;
    if file.seek(SeekFrom::End(0)).map_err(io)? == 0 {
        return Ok(None);
    }
    let mut last = [0u8];
    file.seek(SeekFrom::End(-1)).map_err(io)?;
    file.read_exact(&mut last).map_err(io)?;
    if matches!(last[0], b'\n' | b'\r') {
        return Ok(None);
    }
    let bytes = std::fs::read(path).map_err(io)?;
    let start = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let text = String::from_utf8_lossy(&bytes[start..]).into_owned();
    if text.trim().is_empty() {
        return Ok(None);
    }
    let number = bytes[..start].iter().filter(|&&b| b == b'\n').count() + 1;
    Ok(Some(UnterminatedLine { number, text }))
}

/// The number of fields of one CSV line split at `separator` outside double quotes.
fn field_count(line: &str, separator: u8) -> usize {
    let mut quoted = false;
    let mut n = 1;
    for b in line.bytes() {
        if b == b'"' {
            quoted = !quoted;
        } else if b == separator && !quoted {
            n += 1;
        }
    }
    n
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
    if path.is_dir() {
        return Err(Error::Csv {
            file: label,
            reason: "is a folder, not a CSV file: give the path of the file".into(),
        });
    }
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

    if let Some(last) = unterminated_last_line(path)? {
        let n = field_count(&last.text, opts.separator);
        if n != raw.width() {
            return Err(Error::Csv {
                file: label,
                reason: format!(
                    "line {} (the last, with no end-of-line) has {n} fields where the file has {} \
                     columns: the file looks cut short; complete or remove that line",
                    last.number,
                    raw.width()
                ),
            });
        }
    }

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
    fn pandas_missing_markers_are_missing() {
        let f = write("y,x\nNaN,1\nnan,2\nNA,3\nnull,4\nNone,5\n<=50K,6\n");
        let df = read_csv_default(f.path()).unwrap();
        assert_eq!(
            strings(&df, "y"),
            [None, None, None, None, None, Some("<=50K".into())]
        );
    }

    #[test]
    fn a_cut_last_line_with_too_few_fields_is_an_error_naming_it() {
        let f = write("a,b,c\n1,2,3\n4,5");
        let err = read_csv_default(f.path()).unwrap_err().to_string();
        assert!(err.contains("line 3") && err.contains("2 fields"), "{err}");
        // Quoted separators do not count, and a complete last line needs no end-of-line.
        let f = write("a,b,c\n1,2,3\n4,\"5,5\",6");
        assert_eq!(read_csv_default(f.path()).unwrap().height(), 2);
    }

    #[test]
    fn the_unterminated_last_line_is_found() {
        let f = write("a,b\n1,2\n3,<=5");
        let last = unterminated_last_line(f.path()).unwrap().unwrap();
        assert_eq!((last.number, last.text.as_str()), (3, "3,<=5"));
        for text in ["a,b\n1,2\n", "a,b\r\n1,2\r\n", "a,b\n1,2\n  "] {
            assert_eq!(
                unterminated_last_line(write(text).path()).unwrap(),
                None,
                "{text:?}"
            );
        }
    }

    #[test]
    fn a_folder_is_not_a_csv_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_csv_default(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("is a folder") && err.contains(&dir.path().display().to_string()),
            "{err}"
        );
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
