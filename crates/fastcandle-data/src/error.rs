//! The error type of the data layer.
//!
//! Every error names what it is about (the file, the column, the row) and says what the user can
//! do about it. Rows are counted as data rows from 1: row 1 is the first row after the header.

use std::path::PathBuf;

/// Errors raised by fastcandle-data.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A column named in the configuration is not in the data.
    #[error(
        "{file}: there is no column `{column}`; the columns are: {}. Check the name's spelling \
         (names are case-sensitive) and that the file has the header row you expect",
        .available.join(", ")
    )]
    MissingColumn {
        /// The file (or data set) searched.
        file: String,
        /// The column asked for.
        column: String,
        /// The columns the data has.
        available: Vec<String>,
    },
    /// A continuous column holds text that is not a number.
    #[error(
        "{file}, row {row}, column `{column}`: `{value}` is not a number, but `{column}` is \
         listed as continuous; list it in cat_names instead, or declare `{value}` as a missing \
         value (CsvOptions::null_values)"
    )]
    NotNumeric {
        /// The file (or data set).
        file: String,
        /// The column.
        column: String,
        /// The data row, counted from 1 (header excluded).
        row: usize,
        /// The text found.
        value: String,
    },
    /// A file holds no data rows.
    #[error(
        "{file} holds no data rows (it is empty or has only a header); check the path and the skip_rows/has_header options"
    )]
    EmptyFile {
        /// The file.
        file: String,
    },
    /// Some rows have no target value.
    #[error(
        "{file}: the target column `{column}` is missing in {count} row(s) (rows {}{}); drop those \
         rows first (drop_missing_targets) or fill them in the file",
        join_rows(.rows),
        if *.count > .rows.len() { ", ..." } else { "" }
    )]
    MissingTarget {
        /// The file (or data set).
        file: String,
        /// The target column.
        column: String,
        /// The first (up to 10) rows without a target, counted from 1.
        rows: Vec<usize>,
        /// How many rows lack a target in all.
        count: usize,
    },
    /// The target holds a single class in the training rows.
    #[error(
        "the target column `{column}` holds only one class (`{class}`) in the training rows; a \
         classifier needs at least two: check the target column and the split"
    )]
    SingleClass {
        /// The target column.
        column: String,
        /// The one class found.
        class: String,
    },
    /// A target value outside the training classes.
    #[error(
        "{file}, row {row}: the target column `{column}` holds `{value}`, a class that no \
         training row has; the model cannot predict it. Fix the value, drop the row, or make \
         sure the training split holds this class"
    )]
    UnseenTarget {
        /// The file (or data set).
        file: String,
        /// The target column.
        column: String,
        /// The unseen value.
        value: String,
        /// The data row, counted from 1 (header excluded).
        row: usize,
    },
    /// A continuous column has no value at all in the training rows, so it has no median.
    #[error(
        "{file}: the continuous column `{column}` has no value in any training row, so \
         FillMissing has no median to fill it with; drop the column or fix the split"
    )]
    AllMissing {
        /// The file (or data set).
        file: String,
        /// The column.
        column: String,
    },
    /// A setting of a loader or builder is out of its range.
    #[error("{option}: {reason}")]
    BadOption {
        /// The option, as its setter is named (`bs`, `valid_pct`, `prefetch`).
        option: &'static str,
        /// What is wrong, with the value given.
        reason: String,
    },
    /// A split cannot be made as asked.
    #[error("cannot split the data: {reason}")]
    BadSplit {
        /// What is wrong.
        reason: String,
    },
    /// The column to split by has missing values.
    #[error(
        "{file}: the split column `{column}` is missing in {count} row(s) (rows {}{}); every row \
         needs a value to be ordered",
        join_rows(.rows),
        if *.count > .rows.len() { ", ..." } else { "" }
    )]
    MissingSplitKey {
        /// The file (or data set).
        file: String,
        /// The column split by.
        column: String,
        /// The first (up to 10) rows without a value, counted from 1.
        rows: Vec<usize>,
        /// How many rows lack a value in all.
        count: usize,
    },
    /// Data given to a loader or processor does not fit what it needs.
    #[error("{what}: {reason}")]
    BadData {
        /// What was being built.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// A cache folder (for archives or extracted data sets) could not be created.
    #[error(
        "cannot create the cache folder {}: {source}; the {what} go there: set FASTCANDLE_HOME \
         to a folder you can write (archives go to its archive/, data sets to its data/)",
        .path.display()
    )]
    CacheFolder {
        /// The folder.
        path: PathBuf,
        /// What goes there: `archives` or `data sets`.
        what: &'static str,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be read.
    #[error("cannot read {}: {source}", .path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A file is not valid CSV, or a data frame operation failed.
    #[error("{file}: {reason}")]
    Csv {
        /// The file.
        file: String,
        /// What the CSV reader (polars) said.
        reason: String,
    },
    /// A folder to search for images does not exist or is not a folder.
    #[error("{}: no such folder; check the path (untar_data gives the data set's root)", .path.display())]
    MissingFolder {
        /// The folder.
        path: PathBuf,
    },
    /// A folder holds no image file.
    #[error(
        "{}: no image files found (looked recursively for {}); check the path and the files' \
         extensions",
        .path.display(),
        .extensions
    )]
    NoImages {
        /// The folder searched.
        path: PathBuf,
        /// The extensions looked for.
        extensions: String,
    },
    /// A folder holds no sound file.
    #[error(
        "{}: no audio files found (looked recursively for {}); check the path and the files' \
         extensions",
        .path.display(),
        .extensions
    )]
    NoAudio {
        /// The folder searched.
        path: PathBuf,
        /// The extensions looked for.
        extensions: String,
    },
    /// An image file cannot be read or decoded.
    #[error(
        "{}: cannot decode the image ({reason}); remove or replace the file, or build the loader \
         with skip_bad(true) to skip such files",
        .path.display()
    )]
    BadImage {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        reason: String,
    },
    /// A sound file cannot be read: not a WAV file, truncated, empty, or of a sample format
    /// that cannot be read.
    #[error("{}: {reason}", .path.display())]
    BadAudio {
        /// The file.
        path: PathBuf,
        /// What is wrong, and what to do about it.
        reason: String,
    },
    /// A segmentation mask is missing, cannot be decoded, or does not fit its image or the
    /// codes.
    #[error("{}{}: {reason}", .mask.display(), of_image(.image))]
    BadMask {
        /// The mask file.
        mask: PathBuf,
        /// The image the mask belongs to, when known.
        image: Option<PathBuf>,
        /// What is wrong.
        reason: String,
    },
    /// A labeller could not give a label to an item.
    #[error("{}: no label: {reason}", .path.display())]
    BadLabel {
        /// The item.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The labeller gave the same class to every item.
    #[error(
        "every one of the {n_items} item(s) has the label `{class}`; a classifier needs at least \
         two classes: check the label function (and, for folders, the folder layout)"
    )]
    SingleLabel {
        /// The one label found.
        class: String,
        /// How many items were labelled.
        n_items: usize,
    },
    /// A data set name that the registry does not hold.
    #[error(
        "there is no data set named `{name}`; the registry knows: {}. Give one of these names, \
         an address (https://.../name.tgz), or register your own (datasets::register)",
        .known.join(", ")
    )]
    UnknownDataset {
        /// The name asked for.
        name: String,
        /// The names the registry holds.
        known: Vec<String>,
    },
    /// A download failed: no network, a server's error, or a connection cut.
    #[error(
        "cannot download {url}: {reason}.{} Without network: download {url} on another machine \
         and put it at {}, or set FASTCANDLE_MIRROR to a folder holding it as \
         <folder>/{url_path} (or to an address that serves it)",
        resume_hint(*.kept),
        .archive.display()
    )]
    Download {
        /// The address.
        url: String,
        /// What failed.
        reason: String,
        /// Where the archive goes in the cache.
        archive: PathBuf,
        /// The address's path after the host (a mirror's layout).
        url_path: String,
        /// How many bytes the `.part` file keeps for the next call to resume from.
        kept: u64,
    },
    /// An archive failed its check twice.
    #[error(
        "{}: the archive downloaded from {url} does not match the registry's check, twice \
         (expected {expected}; found {found}). The file at the address may have changed, or \
         something between alters it; check the address, or register the data set with the new \
         check if you trust it",
        .file.display()
    )]
    Checksum {
        /// The address.
        url: String,
        /// The downloaded archive.
        file: PathBuf,
        /// The registry's check (size and md5 of the first MiB).
        expected: String,
        /// The downloaded file's check.
        found: String,
    },
    /// A downloaded file is not a tar archive (gzip-compressed or not).
    #[error(
        "{} (from {url}) is not a .tgz or .tar archive ({reason}); it was removed, so the next \
         call downloads it again. Check that the address gives the archive itself, not a web page",
        .archive.display()
    )]
    NotAnArchive {
        /// The archive.
        archive: PathBuf,
        /// Where it came from.
        url: String,
        /// What the reader said.
        reason: String,
    },
    /// The mirror folder does not hold an archive.
    #[error(
        "the mirror folder (FASTCANDLE_MIRROR) has no copy of {url}; put the archive at {}",
        .tried.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" or ")
    )]
    MirrorMissing {
        /// The archive's address.
        url: String,
        /// The paths looked at.
        tried: Vec<PathBuf>,
    },
    /// A data file (IDX, CIFAR-10 batch) is truncated, has the wrong magic number or length,
    /// or does not agree with its companion file.
    #[error("{}: {reason}", .path.display())]
    BadFormat {
        /// The file.
        path: PathBuf,
        /// What is wrong, and what was expected.
        reason: String,
    },
    /// An error from the core layer (tensors, devices).
    #[error(transparent)]
    Core(#[from] fastcandle_core::Error),
}

/// How many rows an error lists at most.
pub(crate) const MAX_LISTED_ROWS: usize = 10;

fn join_rows(rows: &[usize]) -> String {
    rows.iter()
        .map(|r| r.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn of_image(image: &Option<PathBuf>) -> String {
    image
        .as_ref()
        .map(|i| format!(" (the mask of {})", i.display()))
        .unwrap_or_default()
}

fn resume_hint(kept: u64) -> String {
    if kept > 0 {
        format!(" {kept} bytes are kept; calling again resumes the download.")
    } else {
        String::new()
    }
}

impl Error {
    /// The error as it travels through the core layer's batch streams: a `BadTensor` error
    /// about `batch` ("image batch") whose text names the file.
    pub(crate) fn into_core(self, batch: &str) -> fastcandle_core::Error {
        match self {
            Error::Core(e) => e,
            e => fastcandle_core::Error::BadTensor {
                name: batch.into(),
                reason: e.to_string(),
            },
        }
    }
}

/// The result type of the data layer.
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_target_lists_rows_and_says_more() {
        let e = Error::MissingTarget {
            file: "a.csv".into(),
            column: "y".into(),
            rows: vec![2, 5],
            count: 7,
        };
        let s = e.to_string();
        assert!(
            s.contains("a.csv") && s.contains("`y`") && s.contains("7 row(s)"),
            "{s}"
        );
        assert!(s.contains("rows 2, 5, ..."), "{s}");
    }

    #[test]
    fn missing_column_lists_available() {
        let e = Error::MissingColumn {
            file: "a.csv".into(),
            column: "agee".into(),
            available: vec!["age".into(), "salary".into()],
        };
        let s = e.to_string();
        assert!(s.contains("`agee`") && s.contains("age, salary"), "{s}");
    }
}
