//! `AudioDataLoaders`: sound files labelled, split and pictured as spectrograms, with fastai's
//! factory methods (`from_name_func`, `from_name_re`, `from_folder`, `from_lists`); the
//! labellers and splitters are the vision ones, since they look at paths.

use crate::error::Result;
use crate::files::{Labelled, LabelledFiles, seed_or_clock};
use candle_core::Device;
use fastcandle_core::{DataLoaders, DeviceChoice};
use fastcandle_data::RandomSplitter;
use fastcandle_data::audio::{
    AudioAugment, AudioItems, AudioLoader, DEFAULT_CACHE_LIMIT, SpectrogramConfig, get_audio_files,
};
use fastcandle_data::settings::{check_bs, check_valid_pct};
use fastcandle_data::vision::{
    GrandparentSplitter, IntoLabel, ItemSplitter, Labeller, label_items,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// fastaudio's `AudioDataLoaders`: the training and validation loaders of a sound
/// classification set, whose batches are spectrogram pictures for
/// [`audio_learner`](super::audio_learner) (any architecture of the vision model zoo). It
/// dereferences to the [`AudioLoader`] underneath.
#[derive(Clone)]
pub struct AudioDataLoaders {
    loader: AudioLoader,
    path: PathBuf,
    labeller: Option<Arc<dyn Labeller>>,
}

/// The options of [`AudioDataLoaders`], with fastai's defaults where fastai has one: a 20%
/// random validation split, batch size 64, the device chosen automatically; and
/// [`SpectrogramConfig::default`] pictures, [`AudioAugment::default`] for training, pictures
/// of 3 channels (the spectrogram repeated, for the model zoo's bodies).
pub struct AudioDataLoadersBuilder {
    files: LabelledFiles,
    splitter: Option<Box<dyn ItemSplitter>>,
    valid_pct: Option<f64>,
    seed: Option<u64>,
    bs: usize,
    device: DeviceChoice,
    spectrogram: SpectrogramConfig,
    augment: Option<AudioAugment>,
    channels: usize,
    shuffle: bool,
    cache_limit: u64,
}

impl AudioDataLoaders {
    /// Labels each file by `f` applied to its name (`"7_theo_3.wav"`), as fastai's
    /// `from_name_func`.
    ///
    /// ```no_run
    /// # use fastcandle::audio::prelude::*;
    /// # fn main() -> fastcandle::Result<()> {
    /// let path = std::path::Path::new("spoken-digits/recordings");
    /// let digit = |name: &str| name[..1].to_string();
    /// let dls = AudioDataLoaders::from_name_func(path, get_audio_files(path)?, digit)
    ///     .spectrogram(SpectrogramConfig::default().sample_rate(8000).hop_length(64))
    ///     .seed(42)
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn from_name_func<F, L>(
        path: impl AsRef<Path>,
        fnames: Vec<PathBuf>,
        f: F,
    ) -> AudioDataLoadersBuilder
    where
        F: Fn(&str) -> L + Send + Sync + 'static,
        L: IntoLabel,
    {
        AudioDataLoadersBuilder::new(LabelledFiles::name_func(path.as_ref(), fnames, f))
    }

    /// Labels each file by `f` applied to its whole path, as fastai's `from_path_func`.
    pub fn from_path_func<F, L>(
        path: impl AsRef<Path>,
        fnames: Vec<PathBuf>,
        f: F,
    ) -> AudioDataLoadersBuilder
    where
        F: Fn(&Path) -> L + Send + Sync + 'static,
        L: IntoLabel,
    {
        AudioDataLoadersBuilder::new(LabelledFiles::path_func(path.as_ref(), fnames, f))
    }

    /// Labels each file by the first group of the regular expression `pat` matched on its
    /// name (`r"^(\d)_"` gives the spoken digit); a name it does not match is an error naming
    /// the file.
    pub fn from_name_re(
        path: impl AsRef<Path>,
        fnames: Vec<PathBuf>,
        pat: &str,
    ) -> AudioDataLoadersBuilder {
        AudioDataLoadersBuilder::new(LabelledFiles::name_re(path.as_ref(), fnames, pat))
    }

    /// Every sound file under `path`, labelled by its parent folder and split by its
    /// grandparent (`train/<class>/...`, `valid/<class>/...`), as fastai's `from_folder`; with
    /// [`AudioDataLoadersBuilder::valid_pct`], a random split of every file instead.
    pub fn from_folder(path: impl AsRef<Path>) -> AudioDataLoadersBuilder {
        AudioDataLoadersBuilder::new(LabelledFiles::folder(path.as_ref()))
            .splitter(GrandparentSplitter::default())
    }

    /// Files and their labels given as two lists of the same length, as fastai's `from_lists`.
    pub fn from_lists<L: IntoLabel>(
        path: impl AsRef<Path>,
        fnames: Vec<PathBuf>,
        labels: Vec<L>,
    ) -> AudioDataLoadersBuilder {
        AudioDataLoadersBuilder::new(LabelledFiles::lists(path.as_ref(), fnames, labels))
    }

    /// The loaders underneath.
    pub fn loader(&self) -> &AudioLoader {
        &self.loader
    }

    /// The loaders as the training layer takes them.
    pub fn loaders(&self) -> Arc<dyn DataLoaders> {
        Arc::new(self.loader.clone())
    }

    /// The data set's folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The class names, sorted (fastai's `dls.vocab`).
    pub fn vocab(&self) -> &[String] {
        self.loader.classes()
    }

    /// The number of classes (fastai's `dls.c`).
    pub fn c(&self) -> usize {
        self.vocab().len()
    }

    /// The device the batches go to.
    pub fn device(&self) -> &Device {
        DataLoaders::device(&self.loader)
    }

    /// How the items were labelled, when new files can be labelled the same way.
    pub fn labeller(&self) -> Option<&Arc<dyn Labeller>> {
        self.labeller.as_ref()
    }

    /// Writes a picture of the first `n` spectrograms of a training batch with their labels,
    /// as a PNG (fastai's `dls.show_batch`).
    pub fn show_batch(&self, path: impl AsRef<Path>, n: usize) -> Result<()> {
        Ok(self.loader.show_batch(path, n)?)
    }
}

impl std::ops::Deref for AudioDataLoaders {
    type Target = AudioLoader;
    fn deref(&self) -> &AudioLoader {
        &self.loader
    }
}

impl AudioDataLoadersBuilder {
    fn new(files: LabelledFiles) -> Self {
        Self {
            files,
            splitter: None,
            valid_pct: None,
            seed: None,
            bs: 64,
            device: DeviceChoice::Auto,
            spectrogram: SpectrogramConfig::default(),
            augment: Some(AudioAugment::default()),
            channels: 3,
            shuffle: true,
            cache_limit: DEFAULT_CACHE_LIMIT,
        }
    }

    /// The fraction of items put aside at random for validation (fastai: 0.2), in `[0, 1)`;
    /// it replaces any splitter.
    pub fn valid_pct(mut self, valid_pct: f64) -> Self {
        self.valid_pct = Some(valid_pct);
        self.splitter = None;
        self
    }

    /// Splits with `splitter` instead of at random: a [`FuncSplitter`] on the path holds out
    /// one speaker (`FuncSplitter::new(|p| speaker(p) == "theo")`).
    ///
    /// [`FuncSplitter`]: fastcandle_data::vision::FuncSplitter
    pub fn splitter(mut self, splitter: impl ItemSplitter + 'static) -> Self {
        self.splitter = Some(Box::new(splitter));
        self.valid_pct = None;
        self
    }

    /// The folder names of [`AudioDataLoaders::from_folder`]'s split (default `train`,
    /// `valid`).
    pub fn folders(self, train: &str, valid: &str) -> Self {
        self.splitter(GrandparentSplitter::new(train, valid))
    }

    /// The seed of the random split, the shuffle and the augmentations (default: from the
    /// clock, as fastai's `seed=None`).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// The batch size (fastai: 64); `build()` refuses 0, naming `bs`.
    ///
    /// # Notes
    /// Training drops the last incomplete batch, so up to `bs - 1` recordings are left out of
    /// each epoch (different ones when shuffled).
    pub fn bs(mut self, bs: usize) -> Self {
        self.bs = bs;
        self
    }

    /// Where the batches go (default: the best device this build has).
    pub fn device(mut self, device: DeviceChoice) -> Self {
        self.device = device;
        self
    }

    /// How recordings become pictures (sample rate, duration, STFT, mel bands, decibels,
    /// MFCC).
    pub fn spectrogram(mut self, config: SpectrogramConfig) -> Self {
        self.spectrogram = config;
        self
    }

    /// The training augmentations (`None`: recordings centred, nothing added).
    pub fn augment(mut self, augment: Option<AudioAugment>) -> Self {
        self.augment = augment;
        self
    }

    /// The channels of each picture: 3 (default: the spectrogram repeated, what the model
    /// zoo's bodies take) or 1 (for a model of one input channel).
    pub fn channels(mut self, channels: usize) -> Self {
        self.channels = channels;
        self
    }

    /// Whether the training items are shuffled at each epoch (fastai's `shuffle`: yes).
    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }

    /// How much memory the decoded recordings may take before they are read from their
    /// files at each use instead (default 4 GiB).
    pub fn cache_limit(mut self, bytes: u64) -> Self {
        self.cache_limit = bytes;
        self
    }

    /// Labels, splits, reads the recordings and builds the loaders. A setting out of range
    /// is an error naming it before any file is read; a file that cannot be read is an error
    /// naming it.
    pub fn build(self) -> Result<AudioDataLoaders> {
        check_bs(self.bs)?;
        if let Some(p) = self.valid_pct {
            check_valid_pct(p)?;
        }
        self.spectrogram.check()?;
        if let Some(a) = &self.augment {
            a.check()?;
        }
        let path = self.files.path.clone();
        let Labelled {
            items,
            labeller,
            reusable,
        } = self.files.resolve(|p| get_audio_files(p), "sound")?;
        let labels = label_items(&items, labeller.as_ref())?;
        let seed = seed_or_clock(self.seed);
        let splitter = self
            .splitter
            .unwrap_or_else(|| Box::new(RandomSplitter::new(self.valid_pct.unwrap_or(0.2), seed)));
        let (train, valid) = splitter.split_items(&items)?;
        let pick = |idx: &[usize]| {
            AudioItems::new(
                idx.iter().map(|&i| items[i].clone()).collect(),
                idx.iter().map(|&i| labels[i].clone()).collect(),
            )
        };
        let loader = AudioLoader::with_cache_limit(
            pick(&train)?,
            pick(&valid)?,
            &self.spectrogram,
            self.device.device()?,
            self.cache_limit,
        )?
        .bs(self.bs)?
        .seed(seed)
        .shuffle(self.shuffle)
        .augment(self.augment)?
        .channels(self.channels)?;
        Ok(AudioDataLoaders {
            loader,
            path,
            labeller: reusable.then_some(labeller),
        })
    }
}
