//! `cargo xtask train <task>`.

use crate::tasks;
use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use fastcandle::core::DeviceChoice;
use std::path::PathBuf;

/// The tasks `train` knows.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Task {
    /// UCI Adult census income (fastai's ADULT_SAMPLE): salary above or below 50K.
    Adult,
    /// Cat or dog from the file name (fastai's PETS lesson): `vision_learner`, `fine_tune`.
    Pets,
    /// Segmentation with CamVid-tiny's layout (fastai's CAMVID_TINY lesson): `unet_learner`,
    /// `fine_tune`.
    Camvid,
    /// Fashion-MNIST from its IDX files (`--data` the folder of `train-images-idx3-ubyte.gz`
    /// ...): fastai's SimpleCNN from scratch at 28x28, `fit_one_cycle`, scored on the 10,000
    /// test images.
    FashionMnist,
    /// MNIST digits: fastai's `URLs.MNIST` PNG folders (`training/`, `testing/`) or the IDX
    /// files; SimpleCNN from scratch, `fit_one_cycle`, scored on the test images.
    Mnist,
    /// CIFAR-10: fastai's `URLs.CIFAR` PNG folders (`train/`, `test/`) or the binary batches;
    /// SimpleCNN from scratch, `fit_one_cycle`, scored on the test images.
    Cifar10,
}

/// Options of `cargo xtask train`.
#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    /// The task.
    #[arg(value_enum)]
    pub task: Task,
    /// The training data (default: the sample embedded in `datasets/`; fashion-mnist, mnist and
    /// cifar10 have none and need it).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// A labelled test set scored after training (adult: a CSV, or UCI's `adult.test`).
    #[arg(long)]
    pub test: Option<PathBuf>,
    /// Epochs: fit_one_cycle(N) for tabular tasks and for vision tasks from scratch
    /// (fashion-mnist, mnist, cifar10), fine_tune(N) for pretrained vision tasks (the frozen
    /// epoch comes on top).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// The peak learning rate (default: fastai's, 1e-3 for tabular, base_lr 2e-3 for
    /// fine_tune; 1e-2 for the small-image tasks from scratch).
    #[arg(long)]
    pub lr: Option<f64>,
    /// The batch size (default: 64, camvid 8).
    #[arg(long)]
    pub bs: Option<usize>,
    /// The seed of the split, the shuffling and the initial weights.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// The device: auto, cpu, cuda, cuda:N, metal or metal:N.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// Where the run writes (default `runs/<task>/<timestamp>`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The architecture (vision tasks: resnet18, resnet34, resnet50, mobilenet_v2, simple_cnn;
    /// default mobilenet_v2 for pets, resnet34 for camvid, simple_cnn for fashion-mnist, mnist
    /// and cifar10).
    #[arg(long)]
    pub arch: Option<String>,
    /// Pretrained weights: hub, none or a safetensors file (vision tasks; default: the
    /// embedded ImageNet MobileNetV2 for mobilenet_v2, hub for the ResNets).
    #[arg(long)]
    pub pretrained: Option<String>,
    /// The image size (pets: default 224; camvid, fashion-mnist, mnist, cifar10: a Resize only
    /// when given).
    #[arg(long)]
    pub size: Option<usize>,
    /// Resume from a checkpoint that an earlier run with the same options wrote
    /// (`<out>/checkpoint.safetensors`, saved after every epoch).
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Keep only images whose file name starts with one of these prefixes (vision tasks;
    /// `--only Cat_,dog_` picks the cats and dogs of animal-shapes).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Print no progress bar and no epoch table.
    #[arg(long)]
    pub quiet: bool,
}

impl TrainArgs {
    /// The device asked for.
    pub fn device(&self) -> Result<DeviceChoice> {
        Ok(self.device.parse()?)
    }
}

/// Runs one training and returns its summary.
pub fn run(args: TrainArgs) -> Result<serde_json::Value> {
    match args.task {
        Task::Adult => {
            for (flag, given) in [
                ("--arch", args.arch.is_some()),
                ("--pretrained", args.pretrained.is_some()),
                ("--size", args.size.is_some()),
            ] {
                if given {
                    bail!("{flag} does not apply to the adult task (a tabular model)");
                }
            }
            if !args.only.is_empty() {
                bail!("--only does not apply to the adult task");
            }
            tasks::adult::run(&args)
        }
        Task::Pets => tasks::pets::run(&args),
        Task::Camvid => {
            if !args.only.is_empty() {
                bail!("--only does not apply to the camvid task");
            }
            tasks::camvid::run(&args)
        }
        Task::FashionMnist => tasks::fashion_mnist::run(&args),
        Task::Mnist => tasks::mnist::run(&args),
        Task::Cifar10 => tasks::cifar10::run(&args),
    }
}
