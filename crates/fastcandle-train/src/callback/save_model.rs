//! fastai's `SaveModelCallback`: saves the model each time the monitored value improves, and
//! loads the best one back when the fit ends.

use super::Callback;
use super::tracker::{Tracker, tracker_options, verbose};
use crate::checkpoint::{load_model, save_model};
use crate::error::{Error, Result};
use crate::learner::Learner;
use std::path::{Path, PathBuf};

/// Saves the model (with the optimizer's state when [`with_opt`](Self::with_opt)) whenever
/// the monitored value (fastai: `valid_loss`) beats its best, to
/// `<dir>/<fname>.safetensors` (default `models/model.safetensors`, fastai's
/// `learn.path/models/model.pth`), written atomically, and loads that best model back at the
/// end of the fit (also when a callback such as
/// [`EarlyStoppingCallback`](super::EarlyStoppingCallback) stops it). With
/// [`every_epoch`](Self::every_epoch) it saves `<fname>_<epoch>` every so many epochs instead
/// and loads nothing; with [`at_end`](Self::at_end) it saves the last model instead of loading
/// the best.
///
/// ```no_run
/// # fn run(learn: &mut fastcandle_train::Learner) -> fastcandle_train::Result<()> {
/// use fastcandle_train::callback::SaveModelCallback;
/// let save = SaveModelCallback::new().monitor("accuracy").fname("best");
/// learn.fit_with(5, Some(1e-3), vec![Box::new(save)])?; // ends with the most accurate epoch's weights
/// # Ok(()) }
/// ```
///
/// # Notes
/// Runs after the Recorder, the table, the CSV history and [`SaveCheckpoint`](super::SaveCheckpoint)
/// (order 91): the epoch's row is written before it is read. It sits out `lr_find`'s fit.
/// `fine_tune` makes two fits: with `reset_on_fit` (the default) each loads the best of its
/// own epochs.
#[derive(Debug, Clone)]
pub struct SaveModelCallback {
    tracker: Tracker,
    dir: PathBuf,
    fname: String,
    every_epoch: Option<usize>,
    at_end: bool,
    with_opt: bool,
    last_saved_path: Option<PathBuf>,
    saved_this_fit: bool,
    best_epoch: Option<usize>,
}

tracker_options!(SaveModelCallback);

impl Default for SaveModelCallback {
    fn default() -> Self {
        Self::new()
    }
}

impl SaveModelCallback {
    /// fastai's defaults: monitor `valid_loss`, `min_delta` 0, `fname` `model` in `models/`,
    /// save on every improvement, load the best at the end, without the optimizer's state.
    pub fn new() -> Self {
        Self {
            tracker: Tracker::new(),
            dir: PathBuf::from("models"),
            fname: "model".into(),
            every_epoch: None,
            at_end: false,
            with_opt: false,
            last_saved_path: None,
            saved_this_fit: false,
            best_epoch: None,
        }
    }

    /// The file's name, without extension (fastai: `model`).
    pub fn fname(mut self, fname: impl Into<String>) -> Self {
        self.fname = fname.into();
        self
    }

    /// The folder the files go to (fastai's `learn.path/learn.model_dir`; here `models`,
    /// relative to the working directory), created when needed.
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = dir.into();
        self
    }

    /// Saves `<fname>_<epoch>` after every `n`-th epoch of the fit (epochs counted from 0, as
    /// fastai's: 0, n, 2n...) instead of the best; `every_epoch(1)` is fastai's
    /// `every_epoch=True`. 0 is an error naming `every_epoch`.
    pub fn every_epoch(mut self, n: usize) -> Result<Self> {
        if n == 0 {
            return Err(Error::Invalid(
                "SaveModelCallback: every_epoch must be at least 1 (save every n-th epoch), got 0"
                    .into(),
            ));
        }
        self.every_epoch = Some(n);
        Ok(self)
    }

    /// Saves the model as it is at the end of the fit instead of loading the best (fastai's
    /// `at_end`); cannot go with [`every_epoch`](Self::every_epoch).
    pub fn at_end(mut self, at_end: bool) -> Self {
        self.at_end = at_end;
        self
    }

    /// Saves (and loads back) the optimizer's state with the weights (fastai's `with_opt`).
    pub fn with_opt(mut self, with_opt: bool) -> Self {
        self.with_opt = with_opt;
        self
    }

    /// The file the best model goes to: `<dir>/<fname>.safetensors`.
    pub fn path(&self) -> PathBuf {
        self.file(&self.fname)
    }

    /// The last file written, if any (fastai's `last_saved_path`).
    pub fn last_saved_path(&self) -> Option<&Path> {
        self.last_saved_path.as_deref()
    }

    /// The epoch (of its fit, from 0) whose model is the best saved so far, and its value
    /// ([`Tracker::best`]); `None` before any improvement.
    pub fn best(&self) -> Option<(usize, f64)> {
        Some((self.best_epoch?, self.tracker.best?))
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.safetensors"))
    }

    fn save(&mut self, learn: &Learner, name: &str) -> Result<()> {
        let path = self.file(name);
        save_model(learn, &path, self.with_opt)?;
        self.last_saved_path = Some(path);
        self.saved_this_fit = true;
        Ok(())
    }
}

impl Callback for SaveModelCallback {
    fn order(&self) -> i32 {
        91
    }

    fn before_fit(&mut self, learn: &mut Learner) -> Result<()> {
        if self.every_epoch.is_some() && self.at_end {
            return Err(Error::Invalid(
                "SaveModelCallback: every_epoch and at_end cannot both be set (fastai refuses \
                 them together)"
                    .into(),
            ));
        }
        self.saved_this_fit = false;
        if self.tracker.reset_on_fit {
            self.best_epoch = None;
        }
        self.tracker.before_fit(learn, "SaveModelCallback")
    }

    fn after_epoch(&mut self, learn: &mut Learner) -> Result<()> {
        if !self.tracker.run {
            return Ok(());
        }
        let epoch = learn.state.epoch;
        if let Some(n) = self.every_epoch {
            if epoch % n == 0 {
                self.save(learn, &format!("{}_{epoch}", self.fname))?;
            }
        } else if self.tracker.after_epoch(learn) {
            if verbose(learn) {
                println!(
                    "Better model found at epoch {epoch} with {} value: {}.",
                    self.tracker.monitor,
                    self.tracker.best.unwrap_or(f64::NAN)
                );
            }
            let name = self.fname.clone();
            self.save(learn, &name)?;
            self.best_epoch = Some(epoch);
        }
        Ok(())
    }

    fn after_fit(&mut self, learn: &mut Learner) -> Result<()> {
        if !self.tracker.run {
            self.tracker.run = true;
            return Ok(());
        }
        if self.at_end {
            let name = self.fname.clone();
            return self.save(learn, &name);
        }
        if self.every_epoch.is_some() {
            return Ok(());
        }
        let path = self.path();
        let kept = !self.tracker.reset_on_fit && self.last_saved_path.as_ref() == Some(&path);
        if self.saved_this_fit || kept {
            return load_model(learn, &path, self.with_opt);
        }
        let ran = learn
            .recorder()
            .and_then(|r| r.last())
            .is_some_and(|f| !f.values.is_empty());
        if ran {
            return Err(Error::Invalid(format!(
                "SaveModelCallback: no epoch of this fit gave a value of `{}` to compare (NaN: \
                 was the validation skipped?), so there is no best model to load; the weights \
                 are the last epoch's",
                self.tracker.monitor
            )));
        }
        Ok(())
    }
}
