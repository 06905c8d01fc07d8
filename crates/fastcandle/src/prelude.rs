//! Everything a lesson needs, in one `use`.

pub use crate::core::DeviceChoice;
pub use crate::data::datasets::{UntarData, Urls, untar_data};
pub use crate::error::{Error, Result};
pub use crate::interpret::{ClassificationInterpretation, Interpret, SegmentationInterpretation};
pub use crate::plot::{PlotLrFind, PlotRecorder};
pub use crate::train::callback::{CsvLogger, Recorder, SaveCheckpoint};
pub use crate::train::{
    Callback, FineTuneOptions, Learner, LrFindOptions, Metric, OneCycleOptions, accuracy,
    dice_multi, error_rate, foreground_acc, pixel_accuracy,
};
