//! Plots, as fastai draws them with matplotlib, written as PNGs: the learning-rate finder's
//! curve ([`plot_lr_find`]), the losses ([`plot_loss`]) and the schedules ([`plot_sched`]) of
//! a [`Recorder`], a confusion matrix
//! ([`plot_confusion_matrix`]), a table ([`plot_table`]), and the activation statistics of
//! an [`ActivationStats`](fastcandle_train::callback::ActivationStats) callback
//! ([`plot_layer_stats`], [`color_dim`]).
//!
//! One file per plot. Each draws on a white RGB canvas with plotters' bitmap backend, writes
//! text in the DejaVu fonts that the data layer embeds (so no system font is needed, and
//! captions of `show_batch` match), and writes its PNG atomically. Errors are
//! [`Error::Plot`], naming the file and what is wrong with the input.

mod activations;
mod axes;
pub(crate) mod canvas;
mod confusion;
mod fits;
mod legend;
mod loss;
mod lr_find;
mod sched;
mod table;

pub use activations::{color_dim, plot_layer_stats};
pub use confusion::plot_confusion_matrix;
pub use loss::plot_loss;
pub use lr_find::plot_lr_find;
pub use sched::plot_sched;
pub use table::plot_table;

use crate::error::{Error, Result};
use fastcandle_train::callback::Recorder;
use fastcandle_train::{Learner, LrSuggestion};
use std::path::Path;

/// fastai's `learn.recorder.plot_loss()` and `plot_sched()` on a learner (its
/// [`Recorder`]) or on a Recorder itself: `learn.plot_loss("loss.png")?`.
pub trait PlotRecorder {
    /// Writes the training and validation losses of every fit as a PNG ([`plot_loss`]).
    fn plot_loss(&self, path: impl AsRef<Path>) -> Result<()>;
    /// Writes each group's learning rate and momentum per batch as a PNG ([`plot_sched`]).
    fn plot_sched(&self, path: impl AsRef<Path>) -> Result<()>;
}

impl PlotRecorder for Recorder {
    fn plot_loss(&self, path: impl AsRef<Path>) -> Result<()> {
        plot_loss(self, path)
    }

    fn plot_sched(&self, path: impl AsRef<Path>) -> Result<()> {
        plot_sched(self, path)
    }
}

impl PlotRecorder for Learner {
    fn plot_loss(&self, path: impl AsRef<Path>) -> Result<()> {
        plot_loss(recorder(self, path.as_ref())?, path)
    }

    fn plot_sched(&self, path: impl AsRef<Path>) -> Result<()> {
        plot_sched(recorder(self, path.as_ref())?, path)
    }
}

/// The learner's Recorder, or an error naming the picture that needs it.
fn recorder<'a>(learn: &'a Learner, path: &Path) -> Result<&'a Recorder> {
    learn.recorder().ok_or_else(|| Error::Plot {
        path: path.display().to_string(),
        reason: "the learner has no Recorder callback".into(),
    })
}

/// fastai's `lr_find()` picture: `learn.lr_find()?.plot("lr_find.png")?`.
pub trait PlotLrFind {
    /// Writes the finder's curve with its suggestions marked as a PNG ([`plot_lr_find`]).
    fn plot(&self, path: impl AsRef<Path>) -> Result<()>;
}

impl PlotLrFind for LrSuggestion {
    fn plot(&self, path: impl AsRef<Path>) -> Result<()> {
        plot_lr_find(self, path)
    }
}
