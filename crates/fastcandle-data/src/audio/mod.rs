//! Sound as pictures: fastaudio's audio blocks on WAV files, so that the vision learner
//! classifies recordings through their spectrograms (fastai lesson 1's "an image recogniser
//! can hear").
//!
//! - Items: [`get_audio_files`]; labels and splits are the image ones (they look at paths):
//!   [`label_func`](crate::vision::label_func), [`RegexLabeller`](crate::vision::RegexLabeller),
//!   [`FuncSplitter`](crate::vision::FuncSplitter), [`RandomSplitter`](crate::RandomSplitter).
//! - Reading: [`read_wav`] ([`hound`]: PCM of 8 to 32 bits and 32-bit float, any channels and
//!   rate, scaled as torchaudio), [`Waveform::to_mono`], [`resample`] (torchaudio's
//!   windowed-sinc), [`fit_length`] (crop or pad to a duration).
//! - Pictures: [`Stft`] ([`realfft`]), [`MelFilterBank`] (HTK and Slaney scales),
//!   [`amplitude_to_db`] and [`mfcc`], all equal to torchaudio's (`tests/audio_reference.rs`),
//!   set by one [`SpectrogramConfig`].
//! - Augmentation ([`AudioAugment`]): random placement, gain, noise, SpecAugment's masks.
//! - Loading: [`AudioLoader`] (a [`fastcandle_core::DataLoaders`]), [`AudioPipeline`] for
//!   inference, [`AudioLoader::show_batch`] and [`spectrogram_image`].

mod augment;
mod crop;
mod db;
mod items;
mod loader;
mod mel;
mod mfcc;
mod pipeline;
mod resample;
mod show;
mod spectrogram;
mod stft;
mod wav;

pub use augment::AudioAugment;
pub use crop::{Placement, fit_length};
pub use db::{AMIN, amplitude_to_db};
pub use items::{AUDIO_EXTENSIONS, get_audio_files};
pub use loader::{AudioItems, AudioLoader, DEFAULT_CACHE_LIMIT};
pub use mel::{MelFilterBank, MelNorm, MelScale, hz_to_mel, mel_to_hz};
pub use mfcc::{dct_matrix, mfcc};
pub use pipeline::{AudioNormalize, AudioPipeline};
pub use resample::{LOWPASS_FILTER_WIDTH, ROLLOFF, resample};
pub use show::spectrogram_image;
pub use spectrogram::{Spectrogram, SpectrogramConfig, Spectrogrammer};
pub use stft::Stft;
pub use wav::{Waveform, decode_wav, read_wav, write_wav};
