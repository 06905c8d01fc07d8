//! `cargo xtask train <task>`: each task is a subcommand with the options that apply to it, so
//! that clap refuses an option a task does not take (`train adult --size 64`).

use crate::run_lock::{Existing, RunDir};
use crate::tasks;
use anyhow::Result;
use clap::builder::TypedValueParser;
use clap::{Args, Subcommand};
use fastcandle::core::DeviceChoice;
use fastcandle::models::{Arch, Pretrained};
use std::path::{Path, PathBuf};

/// The tasks `train` knows, each with its options.
#[derive(Subcommand, Debug, Clone)]
pub enum Task {
    /// UCI Adult census income (fastai's ADULT_SAMPLE): salary above or below 50K;
    /// `tabular_learner`, `fit_one_cycle`.
    Adult(AdultArgs),
    /// Cat or dog from the file name (fastai's PETS lesson): `vision_learner`, `fine_tune`.
    Pets(PetsArgs),
    /// Segmentation with CamVid-tiny's layout (fastai's CAMVID_TINY lesson): `unet_learner`,
    /// `fine_tune`.
    Camvid(CamvidArgs),
    /// Fashion-MNIST from its IDX files (`--data` the folder of `train-images-idx3-ubyte.gz`
    /// ...): fastai's SimpleCNN from scratch at 28x28, `fit_one_cycle`, scored on the 10,000
    /// test images.
    FashionMnist(SmallImagesArgs),
    /// MNIST digits: fastai's `URLs.MNIST` PNG folders (`training/`, `testing/`) or the IDX
    /// files; SimpleCNN from scratch, `fit_one_cycle`, scored on the test images.
    Mnist(SmallImagesArgs),
    /// CIFAR-10: fastai's `URLs.CIFAR` PNG folders (`train/`, `test/`) or the binary batches;
    /// SimpleCNN from scratch, `fit_one_cycle`, scored on the test images.
    Cifar10(SmallImagesArgs),
    /// Sound as pictures: the Free Spoken Digit Dataset (`--data` its `recordings/` folder)
    /// through log-mel spectrograms, `audio_learner` (ResNet18 from scratch,
    /// `fit_one_cycle`), validated on the authors' split or one speaker held out.
    SpokenDigits(SpokenDigitsArgs),
}

/// Options of `cargo xtask train`: the task and its options.
#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    /// The task.
    #[command(subcommand)]
    pub task: Task,
}

/// The options every task takes.
#[derive(Args, Debug, Clone)]
pub struct CommonArgs {
    /// The training data (default: the sample embedded in `datasets/`; fashion-mnist, mnist and
    /// cifar10 have none and need it).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Epochs: fit_one_cycle(N) for tabular tasks and for vision tasks from scratch, and
    /// fine_tune(N) for pretrained vision tasks (the frozen epoch comes on top).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// The peak learning rate (default: fastai's, 1e-3 for tabular, base_lr 2e-3 for
    /// fine_tune; 1e-2 for the small-image tasks from scratch).
    #[arg(long, value_parser = positive_rate)]
    pub lr: Option<f64>,
    /// The batch size (default: 64, camvid 8, spoken-digits 32).
    #[arg(long, value_parser = at_least_one)]
    pub bs: Option<usize>,
    /// The seed of the split, the shuffling and the initial weights.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// The device: auto, cpu, cuda, cuda:N, metal or metal:N.
    #[arg(long, default_value = "auto")]
    pub device: DeviceChoice,
    /// Where the run writes (default `runs/<task>/<timestamp>`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print no progress bar and no epoch table.
    #[arg(long)]
    pub quiet: bool,
    /// Replace the files of an earlier run in `--out` (without it, such a folder is refused).
    #[arg(long)]
    pub force: bool,
    /// Resume from the checkpoint an earlier run with the same options wrote
    /// (`<out>/checkpoint.safetensors`; `fine_tune` in either phase).
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Save the resumable checkpoint every N epochs and after the last epoch of each fit; 0
    /// saves none. A checkpoint holds the weights and the optimizer's two moments, three times
    /// the model (camvid's U-Net: 957 MB, about 4 s a save on this disk).
    #[arg(long, default_value_t = 1)]
    pub checkpoint_every: usize,
    /// Keep the best epoch's weights (fastai's SaveModelCallback on valid_loss): saved to
    /// `<out>/best.safetensors` as the validation loss improves and loaded back at the end of
    /// each fit (fine_tune's frozen and unfrozen ones), so the exported model is the best
    /// epoch's, not the last's. A resumed run tracks the best of the epochs it runs.
    #[arg(long)]
    pub save_best: bool,
    /// Stop a fit after PATIENCE epochs without a lower validation loss (fastai's
    /// EarlyStoppingCallback); with --save-best the best epoch's weights are kept.
    #[arg(long, value_name = "PATIENCE", value_parser = at_least_one)]
    pub early_stop: Option<usize>,
    /// Accumulate the gradients of several batches into one step of N items (fastai's
    /// GradientAccumulation: N is the effective batch size, at least --bs): a large batch's
    /// update in a small batch's memory.
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    pub accumulate: Option<usize>,
    /// Mixed precision in f16 with dynamic loss scaling (fastai's `to_fp16()`).
    #[arg(long, conflicts_with = "bf16")]
    pub fp16: bool,
    /// Mixed precision in bf16 (fastai's `to_bf16()`).
    #[arg(long)]
    pub bf16: bool,
}

impl CommonArgs {
    /// The options of a run of `epochs` epochs writing to `out`, everything else by default.
    pub fn new(epochs: usize, device: DeviceChoice, out: PathBuf) -> Self {
        Self {
            data: None,
            epochs: Some(epochs),
            lr: None,
            bs: None,
            seed: 42,
            device,
            out: Some(out),
            quiet: false,
            force: false,
            resume: None,
            checkpoint_every: 1,
            save_best: false,
            early_stop: None,
            accumulate: None,
            fp16: false,
            bf16: false,
        }
    }

    /// The mixed precision `--fp16` or `--bf16` asks for (none: f32).
    pub fn mixed_precision(&self) -> Option<fastcandle::train::MixedPrecision> {
        use fastcandle::train::MixedPrecision;
        match (self.fp16, self.bf16) {
            (true, _) => Some(MixedPrecision::fp16()),
            (_, true) => Some(MixedPrecision::bf16()),
            _ => None,
        }
    }

    /// What shapes a run of `task` on `data` for `epochs` at batch size `bs`, saved in its
    /// checkpoints so that a resume with other options can be refused.
    pub fn shaping(&self, task: &str, data: &Path, epochs: usize, bs: usize) -> serde_json::Value {
        serde_json::json!({
            "task": task,
            "data": std::path::absolute(data).unwrap_or_else(|_| data.to_path_buf()),
            "epochs": epochs,
            "bs": bs,
            "lr": self.lr,
            "seed": self.seed,
            // Absent (null) unless asked, so that checkpoints of runs without them still match.
            "save_best": self.save_best.then_some(true),
            "early_stop": self.early_stop,
            "accumulate": self.accumulate,
            "precision": match (self.fp16, self.bf16) {
                (true, _) => Some("fp16"),
                (_, true) => Some("bf16"),
                _ => None,
            },
        })
    }

    /// The run's `--out` folder (default `runs/<task>/<timestamp>`), created and locked; an
    /// earlier run's files there are refused, replaced (`--force`) or kept (`--resume`).
    pub fn run_dir(&self, task: &str) -> Result<RunDir> {
        let out = self
            .out
            .clone()
            .unwrap_or_else(|| crate::run_dir::default_out(task));
        let existing = match (self.resume.is_some(), self.force) {
            (true, _) => Existing::Resume,
            (false, true) => Existing::Replace,
            (false, false) => Existing::Refuse,
        };
        RunDir::open(&out, existing)
    }
}

/// The options of the vision tasks: the model and the image size.
#[derive(Args, Debug, Clone, Default)]
pub struct VisionArgs {
    /// The architecture (default mobilenet_v2 for pets, resnet34 for camvid, simple_cnn for
    /// fashion-mnist, mnist and cifar10).
    #[arg(long, value_parser = arch_parser())]
    pub arch: Option<Arch>,
    /// Pretrained weights: hub, none or a weights file, safetensors or a PyTorch .pth/.pt
    /// checkpoint (default: the embedded ImageNet
    /// MobileNetV2 for mobilenet_v2, hub for the ResNets of pets, none otherwise, and none
    /// for an architecture without weights on the hub).
    #[arg(long)]
    pub pretrained: Option<Pretrained>,
    /// The image size (pets: default 224; camvid, fashion-mnist, mnist, cifar10: a Resize only
    /// when given).
    #[arg(long, value_parser = at_least_one)]
    pub size: Option<usize>,
    /// Leave out image files that cannot be decoded (counted and listed in the summary)
    /// instead of failing; without it, every bad file is named before training starts.
    #[arg(long)]
    pub skip_bad: bool,
}

/// A learning rate: a finite number above 0 (`--lr=nan`, `inf`, `0` and negatives cannot
/// train).
fn positive_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        Ok(v) => Err(format!(
            "a learning rate must be a finite number above 0, got {v}"
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// A count that must be at least 1 (a batch size, an image size).
fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(v) => Ok(v),
        Err(e) => Err(e.to_string()),
    }
}

impl VisionArgs {
    /// `options` (see [`CommonArgs::shaping`]) with the model's: `arch`, `pretrained`, `size`.
    pub fn shaping(
        &self,
        mut options: serde_json::Value,
        arch: Arch,
        pretrained: &Pretrained,
    ) -> serde_json::Value {
        options["arch"] = arch.name().into();
        options["pretrained"] = pretrained.to_string().into();
        options["size"] = self.size.into();
        options
    }
}

/// `--arch`: the names of the `Arch` list, which clap's help shows.
fn arch_parser() -> impl clap::builder::TypedValueParser<Value = Arch> {
    clap::builder::PossibleValuesParser::new(Arch::names()).try_map(|name| name.parse::<Arch>())
}

/// Options of `train adult`.
#[derive(Args, Debug, Clone)]
pub struct AdultArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// A labelled test set scored after training: a CSV with the training file's columns, or
    /// UCI's `adult.test`.
    #[arg(long)]
    pub test: Option<PathBuf>,
}

/// Options of `train pets`.
#[derive(Args, Debug, Clone)]
pub struct PetsArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub vision: VisionArgs,
    /// A labelled test folder scored after training (labelled as the training images are).
    #[arg(long)]
    pub test: Option<PathBuf>,
    /// Keep only images whose file name starts with one of these prefixes (`--only Cat_,dog_`
    /// picks the cats and dogs of animal-shapes).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    #[command(flatten)]
    pub tta: TtaArg,
}

/// `--tta`, for the image classification tasks (pets, fashion-mnist, mnist, cifar10).
#[derive(Args, Debug, Clone, Copy, Default)]
pub struct TtaArg {
    /// After training, score the validation set with test-time augmentation (fastai's
    /// `learn.tta()`: 4 passes with the training transforms, lerp'd with the plain
    /// predictions at beta 0.25) and report its metrics beside the plain ones.
    #[arg(long)]
    pub tta: bool,
}

/// Options of `train camvid`.
#[derive(Args, Debug, Clone)]
pub struct CamvidArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub vision: VisionArgs,
}

/// Options of `train fashion-mnist`, `mnist` and `cifar10` (their test images are in `--data`
/// and are scored after training).
#[derive(Args, Debug, Clone)]
pub struct SmallImagesArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub vision: VisionArgs,
    #[command(flatten)]
    pub tta: TtaArg,
}

/// Options of `train spoken-digits`.
#[derive(Args, Debug, Clone)]
pub struct SpokenDigitsArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// The architecture (default resnet18, from scratch).
    #[arg(long, value_parser = arch_parser())]
    pub arch: Option<Arch>,
    /// Pretrained weights: hub, none or a safetensors file (default none; the embedded
    /// ImageNet weights for mobilenet_v2). A pretrained body is fine-tuned (`fine_tune`).
    #[arg(long)]
    pub pretrained: Option<Pretrained>,
    /// The rate recordings are resampled to, in Hz.
    #[arg(long, default_value_t = 8000, value_parser = clap::value_parser!(u32).range(1..))]
    pub sample_rate: u32,
    /// The mel bands: the pictures' height.
    #[arg(long, default_value_t = 64, value_parser = at_least_one)]
    pub n_mels: usize,
    /// The duration recordings are cropped or padded to, in seconds.
    #[arg(long, default_value_t = 1.0)]
    pub duration: f64,
    /// The STFT's length.
    #[arg(long, default_value_t = 512, value_parser = at_least_one)]
    pub n_fft: usize,
    /// Samples between frames: the pictures' width is 1 + duration x rate / hop.
    #[arg(long, default_value_t = 125, value_parser = at_least_one)]
    pub hop_length: usize,
    /// Which recordings validate: `authors` (indexes 0-4 of every digit and speaker, the
    /// dataset's own test split) or `speaker:NAME` (every recording of one speaker).
    #[arg(long, default_value = "authors")]
    pub valid: crate::tasks::spoken_digits::Valid,
    /// Train without augmentation (recordings centred, no SpecAugment masks).
    #[arg(long)]
    pub no_augment: bool,
}

impl SpokenDigitsArgs {
    /// The model options as the vision tasks take them.
    pub fn vision(&self) -> VisionArgs {
        VisionArgs {
            arch: self.arch,
            pretrained: self.pretrained.clone(),
            size: None,
            skip_bad: false,
        }
    }
}

/// What a run does once its learner is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Trains, scores, and writes the model, the history, the pictures and the report.
    #[default]
    Train,
    /// Runs fastai's `lr_find` on the learner as training would start it, and writes
    /// `lr_find.png`, `lr_find.json` and the report.
    LrFind,
}

/// Runs one training and returns its summary.
pub fn run(args: TrainArgs) -> Result<serde_json::Value> {
    run_as(args, Mode::Train)
}

/// Runs one task in `mode` and returns its summary.
pub fn run_as(args: TrainArgs, mode: Mode) -> Result<serde_json::Value> {
    match &args.task {
        Task::Adult(a) => tasks::adult::run_as(a, mode),
        Task::Pets(a) => tasks::pets::run_as(a, mode),
        Task::Camvid(a) => tasks::camvid::run_as(a, mode),
        Task::FashionMnist(a) => tasks::small_images::run(&tasks::fashion_mnist::SPEC, a, mode),
        Task::Mnist(a) => tasks::small_images::run(&tasks::mnist::SPEC, a, mode),
        Task::Cifar10(a) => tasks::small_images::run(&tasks::cifar10::SPEC, a, mode),
        Task::SpokenDigits(a) => tasks::spoken_digits::run_as(a, mode),
    }
}
