use super::Callback;
use crate::checkpoint::save_checkpoint;
use crate::error::Result;
use crate::learner::Learner;
use std::path::PathBuf;

/// Saves a resumable checkpoint (see [`crate::checkpoint`]) after every `every` epochs and
/// after the last epoch of each fit. An epoch whose training was cut short (a cancelled fit
/// passing through) is not saved: a resume must never skip batches.
#[derive(Debug, Clone)]
pub struct SaveCheckpoint {
    /// The checkpoint file.
    pub path: PathBuf,
    /// Save every this many epochs.
    pub every: usize,
    /// The options that shaped the run, saved with it (see [`Self::options`]).
    pub run_options: Option<serde_json::Value>,
}

impl SaveCheckpoint {
    /// Saves to `path` after every epoch.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            every: 1,
            run_options: None,
        }
    }

    /// Saves `options` (the data, batch size, learning rate... that shaped the run) in every
    /// checkpoint, so that a resume with other options can name what changed
    /// ([`changed_options`](crate::checkpoint::changed_options)).
    pub fn options(mut self, options: serde_json::Value) -> Self {
        self.run_options = Some(options);
        self
    }
}

impl Callback for SaveCheckpoint {
    fn order(&self) -> i32 {
        80
    }

    fn after_epoch(&mut self, learn: &mut Learner) -> Result<()> {
        let done = learn.state.epoch + 1;
        let complete = learn.state.train_iter == done * learn.dls.n_train_batches();
        if complete && (done % self.every.max(1) == 0 || done == learn.state.n_epoch) {
            save_checkpoint(learn, &self.path, done, self.run_options.as_ref())?;
        }
        Ok(())
    }
}
