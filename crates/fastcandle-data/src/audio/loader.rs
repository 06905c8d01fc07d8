//! [`AudioLoader`]: training and validation batches of spectrograms for any vision model.
//!
//! Recordings are read once, mixed down and resampled on rayon's workers, and kept in memory
//! when the set fits ([`AudioLoader::with_cache_limit`]); the validation pictures, which never
//! change, are kept too. Each training batch is pictured afresh on the workers, so that every
//! epoch gets new crops, shifts and masks.

use super::augment::AudioAugment;
use super::crop::{Placement, fit_length};
use super::pipeline::{AudioNormalize, AudioPipeline};
use super::spectrogram::{Spectrogram, SpectrogramConfig};
use crate::error::{Error, Result};
use crate::settings::check_bs;
use crate::tabular::DEFAULT_BS;
use crate::vision::Categories;
use candle_core::{Device, Tensor};
use fastcandle_core::batch::{Batch, BatchIter, TrainShape};
use fastcandle_core::error::Context;
use fastcandle_core::{DataLoaders, rng, threads};
use rayon::prelude::*;
use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::Arc;

/// How much memory the decoded recordings may take before the loader reads them from their
/// files at each use instead (4 GiB).
pub const DEFAULT_CACHE_LIMIT: u64 = 4 << 30;

/// Labelled recordings: their files and class names.
#[derive(Debug, Clone, Default)]
pub struct AudioItems {
    /// The files.
    pub paths: Vec<PathBuf>,
    /// The class of each file.
    pub labels: Vec<String>,
}

impl AudioItems {
    /// `paths` labelled `labels` (of the same length).
    pub fn new(paths: Vec<PathBuf>, labels: Vec<String>) -> Result<Self> {
        if paths.len() != labels.len() {
            return Err(Error::BadData {
                what: "the audio items".into(),
                reason: format!("{} files but {} labels", paths.len(), labels.len()),
            });
        }
        Ok(Self { paths, labels })
    }
}

/// One split: its files, their class codes and, when cached, their samples.
#[derive(Debug)]
struct AudioSet {
    paths: Vec<PathBuf>,
    codes: Vec<u32>,
    waves: Option<Vec<Vec<f32>>>,
}

impl AudioSet {
    fn len(&self) -> usize {
        self.paths.len()
    }

    fn wave(&self, i: usize, pipeline: &AudioPipeline) -> Result<Cow<'_, [f32]>> {
        match &self.waves {
            Some(w) => Ok(Cow::Borrowed(&w[i])),
            None => Ok(Cow::Owned(pipeline.load(&self.paths[i])?)),
        }
    }
}

/// Training and validation batches of spectrograms (fastaudio's `AudioDataLoaders`
/// underneath): `xs[0]` is `[bs, channels, rows, cols]` `f32`, `ys` the class codes (`u32`).
#[derive(Clone)]
pub struct AudioLoader {
    train: Arc<AudioSet>,
    valid: Arc<AudioSet>,
    vocab: Arc<Vec<String>>,
    pipeline: Arc<AudioPipeline>,
    valid_pictures: Arc<Option<Vec<Spectrogram>>>,
    aug: Option<AudioAugment>,
    bs: usize,
    seed: u64,
    shuffle: bool,
    drop_last: bool,
    device: Device,
}

impl std::fmt::Debug for AudioLoader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "AudioLoader({} train, {} valid, {:?}, bs {})",
            self.train.len(),
            self.valid.len(),
            self.pipeline.config().shape(),
            self.bs
        )
    }
}

impl AudioLoader {
    /// Loaders over `train` and `valid` pictured as `config` says, 3 channels, on `device`:
    /// the vocabulary is the training labels' (sorted), the recordings are read (and cached,
    /// up to [`DEFAULT_CACHE_LIMIT`]), the normalisation is the training pictures'. Batch size
    /// 64, seed 0, the default [`AudioAugment`] for training.
    ///
    /// # Errors
    /// A file that cannot be read ([`Error::BadAudio`] naming it), a validation label no
    /// training item has, an empty training set, settings out of range.
    pub fn new(
        train: AudioItems,
        valid: AudioItems,
        config: &SpectrogramConfig,
        device: Device,
    ) -> Result<Self> {
        Self::with_cache_limit(train, valid, config, device, DEFAULT_CACHE_LIMIT)
    }

    /// [`AudioLoader::new`], keeping the decoded recordings in memory only if they take at
    /// most `cache_limit` bytes (estimated from the files' sizes); otherwise each is read
    /// from its file whenever it is used.
    pub fn with_cache_limit(
        train: AudioItems,
        valid: AudioItems,
        config: &SpectrogramConfig,
        device: Device,
        cache_limit: u64,
    ) -> Result<Self> {
        let mut pipeline = AudioPipeline::new(config, 3)?;
        if train.paths.is_empty() {
            return Err(Error::BadData {
                what: "the audio loaders".into(),
                reason: "the training set holds no recording".into(),
            });
        }
        let cats = Categories::from_labels(&train.labels)?;
        let train_codes = cats.encode(&train.labels, &train.paths)?;
        let valid_codes = cats.encode(&valid.labels, &valid.paths)?;
        let estimate: u64 = train
            .paths
            .iter()
            .chain(&valid.paths)
            .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
            .sum::<u64>()
            .saturating_mul(2)
            .saturating_mul((config.sample_rate as u64).div_ceil(8000).max(1));
        let cache = estimate <= cache_limit;
        let read = |paths: &[PathBuf]| -> Result<Option<Vec<Vec<f32>>>> {
            if !cache {
                // Still read each file once, so that a bad one is named now, not mid-epoch.
                threads::pool().install(|| {
                    paths
                        .par_iter()
                        .try_for_each(|p| pipeline.load(p).map(|_| ()))
                })?;
                return Ok(None);
            }
            threads::pool()
                .install(|| {
                    paths
                        .par_iter()
                        .map(|p| pipeline.load(p))
                        .collect::<Result<Vec<_>>>()
                })
                .map(Some)
        };
        let train_set = AudioSet {
            waves: read(&train.paths)?,
            paths: train.paths,
            codes: train_codes,
        };
        let valid_set = AudioSet {
            waves: read(&valid.paths)?,
            paths: valid.paths,
            codes: valid_codes,
        };
        // The centred pictures of items `idx` of `set`.
        let centred = |set: &AudioSet, idx: Vec<usize>| -> Result<Vec<Spectrogram>> {
            threads::pool().install(|| {
                idx.into_par_iter()
                    .map(|i| {
                        let w = set.wave(i, &pipeline)?;
                        Ok(pipeline.spectrogrammer().picture(&w, Placement::Centre))
                    })
                    .collect()
            })
        };
        // The statistics come from the training set (up to 2,000 recordings, spread over it).
        let step = train_set.len().div_ceil(2000).max(1);
        let sample = centred(&train_set, (0..train_set.len()).step_by(step).collect())?;
        let stats = AudioNormalize::from_pictures(sample.iter());
        let valid_pictures = if cache {
            Some(centred(&valid_set, (0..valid_set.len()).collect())?)
        } else {
            None
        };
        pipeline.normalize = Some(stats);
        Ok(Self {
            train: Arc::new(train_set),
            valid: Arc::new(valid_set),
            vocab: Arc::new(cats.classes().to_vec()),
            pipeline: Arc::new(pipeline),
            valid_pictures: Arc::new(valid_pictures),
            aug: Some(AudioAugment::default()),
            bs: DEFAULT_BS,
            seed: 0,
            shuffle: true,
            drop_last: true,
            device,
        })
    }

    /// Sets the batch size (fastai: 64); 0 is an error naming `bs`.
    pub fn bs(mut self, bs: usize) -> Result<Self> {
        self.bs = check_bs(bs)?;
        Ok(self)
    }

    /// Sets the seed of the shuffle and of the augmentations (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Whether the training items are shuffled each epoch (default yes).
    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }

    /// Whether the last incomplete training batch is dropped (default yes).
    pub fn drop_last(mut self, drop_last: bool) -> Self {
        self.drop_last = drop_last;
        self
    }

    /// Sets the training augmentations (`None`: recordings centred, nothing added); checked.
    pub fn augment(mut self, aug: Option<AudioAugment>) -> Result<Self> {
        if let Some(a) = &aug {
            a.check()?;
        }
        self.aug = aug;
        Ok(self)
    }

    /// Sets the channels of each picture: 1, or 3 (the spectrogram repeated; the default,
    /// what every body of the model zoo takes).
    pub fn channels(mut self, channels: usize) -> Result<Self> {
        self.pipeline = Arc::new((*self.pipeline).clone().with_channels(channels)?);
        Ok(self)
    }

    /// The pipeline from a recording to a model input (settings, normalisation, channels).
    pub fn pipeline(&self) -> &AudioPipeline {
        &self.pipeline
    }

    /// The training augmentations.
    pub fn augmentation(&self) -> Option<&AudioAugment> {
        self.aug.as_ref()
    }

    /// The class names, sorted (fastai's `dls.vocab`).
    pub fn classes(&self) -> &[String] {
        &self.vocab
    }

    /// The batch size.
    pub fn batch_size(&self) -> usize {
        self.bs
    }

    /// The seed.
    pub fn seed_value(&self) -> u64 {
        self.seed
    }

    /// The training files.
    pub fn train_paths(&self) -> &[PathBuf] {
        &self.train.paths
    }

    /// The validation files.
    pub fn valid_paths(&self) -> &[PathBuf] {
        &self.valid.paths
    }

    /// The class codes of training items `idx`.
    pub fn train_codes(&self, idx: &[usize]) -> Vec<u32> {
        idx.iter().map(|&i| self.train.codes[i]).collect()
    }

    /// The class codes of the validation files.
    pub fn valid_codes(&self) -> &[u32] {
        &self.valid.codes
    }

    /// Whether the recordings are held in memory.
    pub fn is_cached(&self) -> bool {
        self.train.waves.is_some()
    }

    /// The order of the training items in `epoch`.
    pub fn train_order(&self, epoch: usize) -> Vec<usize> {
        if !self.shuffle {
            return (0..self.train.len()).collect();
        }
        let mut g = rng::rng(rng::mix(&[self.seed, epoch as u64]));
        rng::permutation(self.train.len(), &mut g)
    }

    /// The training pictures of items `idx` in `epoch`, augmented, not normalised.
    pub fn train_pictures(&self, idx: &[usize], epoch: usize) -> Result<Vec<Spectrogram>> {
        let spec = self.pipeline.spectrogrammer();
        let n = self.pipeline.config().n_samples();
        threads::pool().install(|| {
            idx.par_iter()
                .map(|&i| {
                    let wave = self.train.wave(i, &self.pipeline)?;
                    let Some(aug) = &self.aug else {
                        return Ok(spec.picture(&wave, Placement::Centre));
                    };
                    let mut g = rng::rng(rng::mix(&[self.seed, epoch as u64, i as u64, 0xA0D1]));
                    let mut fitted = fit_length(&wave, n, aug.placement(&mut g));
                    aug.apply_wave(&mut fitted, &mut g);
                    let mut p = spec.compute(&fitted);
                    aug.apply_spec(&mut p, &mut g);
                    Ok(p)
                })
                .collect()
        })
    }

    /// The validation pictures of items `idx`, centred, not normalised.
    pub fn valid_pictures(&self, idx: &[usize]) -> Result<Vec<Spectrogram>> {
        if let Some(cached) = self.valid_pictures.as_ref() {
            return Ok(idx.iter().map(|&i| cached[i].clone()).collect());
        }
        let spec = self.pipeline.spectrogrammer();
        threads::pool().install(|| {
            idx.par_iter()
                .map(|&i| {
                    let w = self.valid.wave(i, &self.pipeline)?;
                    Ok(spec.picture(&w, Placement::Centre))
                })
                .collect()
        })
    }

    fn batch(&self, pictures: Result<Vec<Spectrogram>>, codes: Vec<u32>) -> Result<Batch> {
        let xs = self.pipeline.to_batch(&pictures?, &self.device)?;
        let n = codes.len();
        let ys = Tensor::from_vec(codes, n, &self.device)
            .context(|| "making a batch's targets".into())?;
        Ok(Batch { xs: vec![xs], ys })
    }
}

impl DataLoaders for AudioLoader {
    fn train(&self, epoch: usize) -> BatchIter<'_> {
        let order = self.train_order(epoch);
        let n = self.n_train_batches();
        let bs = self.bs;
        Box::new((0..n).map(move |b| {
            let idx = &order[b * bs..((b + 1) * bs).min(order.len())];
            let codes = idx.iter().map(|&i| self.train.codes[i]).collect();
            self.batch(self.train_pictures(idx, epoch), codes)
                .map_err(|e| e.into_core("audio batch"))
        }))
    }

    fn valid(&self) -> BatchIter<'_> {
        let n = self.valid.len();
        let bs = self.bs;
        Box::new((0..self.n_valid_batches()).map(move |b| {
            let idx: Vec<usize> = (b * bs..((b + 1) * bs).min(n)).collect();
            let codes = idx.iter().map(|&i| self.valid.codes[i]).collect();
            self.batch(self.valid_pictures(&idx), codes)
                .map_err(|e| e.into_core("audio batch"))
        }))
    }

    fn n_train_batches(&self) -> usize {
        let n = self.train.len();
        if self.drop_last {
            n / self.bs
        } else {
            n.div_ceil(self.bs)
        }
    }

    fn n_valid_batches(&self) -> usize {
        self.valid.len().div_ceil(self.bs)
    }

    fn device(&self) -> &Device {
        &self.device
    }

    fn vocab(&self) -> Option<&[String]> {
        Some(&self.vocab)
    }

    fn train_shape(&self) -> Option<TrainShape> {
        Some(TrainShape {
            items: self.train.len(),
            bs: self.bs,
            drop_last: self.drop_last,
        })
    }
}
