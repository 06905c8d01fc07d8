//! `use fastcandle::audio::prelude::*;` brings the names of a sound classification lesson.

pub use super::{
    AudioDataLoaders, AudioLearner, AudioPredictor, audio_learner, load_audio_learner,
};
pub use crate::Prediction;
pub use crate::data::audio::{
    AudioAugment, MelNorm, MelScale, SpectrogramConfig, get_audio_files, read_wav,
};
pub use crate::data::vision::{FuncSplitter, file_name, file_stem};
pub use crate::models::{Arch, HeadConfig, Pretrained};
pub use crate::prelude::*;
