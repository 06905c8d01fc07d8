use super::{Callback, Recorder};
use crate::error::{Error, Result};
use crate::learner::Learner;
use std::path::PathBuf;

/// fastai's `CSVLogger`: writes `epoch,train_loss,valid_loss,<metrics...>,time_s` after every
/// epoch, numbering epochs on across fits (so `fine_tune`'s frozen epoch is row 0). The file is
/// rewritten atomically each time, so it is never half-written.
#[derive(Debug, Clone)]
pub struct CsvLogger {
    /// Where the history goes.
    pub path: PathBuf,
    header: Option<String>,
    rows: Vec<String>,
}

impl CsvLogger {
    /// A logger writing to `path` (its folder is created).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            header: None,
            rows: Vec::new(),
        }
    }

    /// A logger that continues the history already at `path` after its first `keep` epochs
    /// (those a checkpoint holds), dropping any later rows; a missing file starts afresh.
    pub fn resume(path: impl Into<PathBuf>, keep: usize) -> Result<Self> {
        let mut logger = Self::new(path);
        match std::fs::read_to_string(&logger.path) {
            Ok(text) => {
                let mut lines = text.lines();
                logger.header = lines.next().map(str::to_string);
                logger.rows = lines.take(keep).map(str::to_string).collect();
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(Error::File {
                    path: logger.path.display().to_string(),
                    reason: format!("cannot read the history to resume: {e}"),
                });
            }
        }
        Ok(logger)
    }
}

impl CsvLogger {
    /// The header from the Recorder's names, if not set yet.
    fn set_header(&mut self, rec: &Recorder) {
        if self.header.is_none() {
            let mut h = vec!["epoch".to_string()];
            h.extend(rec.names.iter().cloned());
            h.push("time_s".into());
            self.header = Some(h.join(","));
        }
    }

    /// Writes the header and the rows so far, atomically.
    fn write(&self) -> Result<()> {
        let mut text = self.header.clone().unwrap_or_default();
        for r in &self.rows {
            text.push('\n');
            text.push_str(r);
        }
        text.push('\n');
        fastcandle_core::tensor_io::write_atomic(&self.path, text.as_bytes()).map_err(|e| {
            Error::File {
                path: self.path.display().to_string(),
                reason: format!("cannot write the history: {e}"),
            }
        })
    }
}

impl Callback for CsvLogger {
    fn order(&self) -> i32 {
        70
    }

    fn after_epoch(&mut self, learn: &mut Learner) -> Result<()> {
        if learn.state.no_logging {
            return Ok(());
        }
        let Some(rec) = learn.cb::<Recorder>() else {
            return Ok(());
        };
        let Some(fit) = rec.last() else { return Ok(()) };
        let (Some(values), Some(t)) = (fit.values.last(), fit.epoch_times.last()) else {
            return Ok(());
        };
        let mut cells = vec![self.rows.len().to_string()];
        cells.extend(values.iter().map(|v| format!("{v}")));
        cells.push(format!("{t:.3}"));
        self.set_header(rec);
        self.rows.push(cells.join(","));
        self.write()
    }

    /// A fit of no epoch still leaves the history's header (every run has a `history.csv`).
    fn after_fit(&mut self, learn: &mut Learner) -> Result<()> {
        if learn.state.no_logging || self.header.is_some() {
            return Ok(());
        }
        let Some(rec) = learn.cb::<Recorder>() else {
            return Ok(());
        };
        self.set_header(rec);
        self.write()
    }
}
