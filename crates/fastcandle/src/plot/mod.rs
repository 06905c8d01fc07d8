//! Plots, as fastai draws them with matplotlib, written as PNGs: the learning-rate finder's
//! curve ([`plot_lr_find`]), the losses ([`plot_loss`]) and the schedules ([`plot_sched`]) of
//! a [`Recorder`](fastcandle_train::callback::Recorder), a confusion matrix
//! ([`plot_confusion_matrix`]), and a table ([`plot_table`]).
//!
//! One file per plot. Each draws on a white RGB canvas with plotters' bitmap backend, writes
//! text in the DejaVu fonts that the data layer embeds (so no system font is needed, and
//! captions of `show_batch` match), and writes its PNG atomically. Errors are
//! [`Error::Plot`](crate::Error::Plot), naming the file and what is wrong with the input.

mod axes;
mod canvas;
mod confusion;
mod fits;
mod legend;
mod loss;
mod lr_find;
mod sched;
mod table;

pub use confusion::plot_confusion_matrix;
pub use loss::plot_loss;
pub use lr_find::plot_lr_find;
pub use sched::plot_sched;
pub use table::plot_table;
