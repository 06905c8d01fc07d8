//! Everything a lesson needs, in one `use`.

pub use crate::core::DeviceChoice;
pub use crate::data::datasets::{UntarData, Urls, untar_data};
pub use crate::error::{Error, Result};
pub use crate::interpret::{ClassificationInterpretation, Interpret, SegmentationInterpretation};
pub use crate::plot::{PlotLrFind, PlotRecorder};
pub use crate::train::callback::{
    Comp, CsvLogger, EarlyStoppingCallback, GradientAccumulation, Recorder, ReduceLROnPlateau,
    SaveCheckpoint, SaveModelCallback,
};
pub use crate::train::{
    Callback, FineTuneOptions, Learner, LrFindOptions, Metric, OneCycleOptions, TtaOptions,
    accuracy, dice_multi, error_rate, foreground_acc, pixel_accuracy,
};
