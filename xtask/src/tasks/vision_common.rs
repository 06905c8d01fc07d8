//! What the vision tasks (pets, camvid) share: the architecture and weights asked for, the
//! `fine_tune` call.

use crate::run_lock::RunDir;
use crate::train::{CommonArgs, VisionArgs};
use anyhow::Result;
use fastcandle::train::checkpoint::CheckpointInfo;
use fastcandle::vision::prelude::*;
use std::path::PathBuf;
use std::time::Instant;

/// The start of a vision run of `task`: its start time, its data (`--data`, else `embedded`)
/// and its output folder (see [`CommonArgs::run_dir`]), locked while the run lives.
pub fn start_run(
    args: &CommonArgs,
    task: &str,
    embedded: PathBuf,
) -> Result<(Instant, PathBuf, RunDir)> {
    let start = Instant::now();
    let data = args.data.clone().unwrap_or(embedded);
    Ok((start, data, args.run_dir(task)?))
}

/// `--arch` (default `default_arch`) and `--pretrained`; without `--pretrained`, MobileNetV2
/// takes the embedded ImageNet weights when present, an architecture with weights on the hub
/// `fallback`, any other none.
pub fn arch_and_weights(
    args: &VisionArgs,
    default_arch: Arch,
    fallback: Pretrained,
) -> (Arch, Pretrained) {
    let arch = args.arch.unwrap_or(default_arch);
    let embedded = super::pets::embedded_weights();
    let pretrained = match &args.pretrained {
        Some(p) => p.clone(),
        None if arch == Arch::MobilenetV2 && embedded.is_file() => Pretrained::File(embedded),
        None if arch == Arch::MobilenetV2 => Pretrained::No,
        None if arch.spec().hub_repo.is_some() => fallback,
        None => Pretrained::No,
    };
    (arch, pretrained)
}

/// `fine_tune(epochs)`, with `--lr` as its base rate when given; from the checkpoint
/// `resumed` when given.
pub fn fine_tune(
    learn: &mut Learner,
    epochs: usize,
    lr: Option<f64>,
    resumed: Option<&CheckpointInfo>,
) -> Result<()> {
    let opts = FineTuneOptions {
        base_lr: lr.unwrap_or(FineTuneOptions::default().base_lr),
        ..FineTuneOptions::default()
    };
    match resumed {
        Some(info) => learn.fine_tune_resume(epochs, &opts, info)?,
        None => learn.fine_tune_with(epochs, &opts)?,
    }
    Ok(())
}

/// The peak rate and the schedule of a vision task: `fit_one_cycle(epochs, lr)` from scratch
/// (`lr` from `--lr`, else `default_lr`) or `fine_tune(epochs)` of a pretrained body (`--lr`
/// as its base rate, else fastai's); the rate and the schedule as the summary writes it.
pub fn schedule(
    from_scratch: bool,
    epochs: usize,
    lr: Option<f64>,
    default_lr: f64,
) -> (f64, String) {
    let lr = lr.unwrap_or(if from_scratch {
        default_lr
    } else {
        FineTuneOptions::default().base_lr
    });
    let text = if from_scratch {
        format!("fit_one_cycle({epochs}, {lr})")
    } else {
        format!("fine_tune({epochs}, base_lr {lr})")
    };
    (lr, text)
}

/// Trains as [`schedule`] says, from the checkpoint `resumed` when given (a resume with other
/// options, the epochs included, was refused when it was loaded).
pub fn train(
    learn: &mut Learner,
    from_scratch: bool,
    epochs: usize,
    lr: f64,
    resumed: Option<&CheckpointInfo>,
) -> Result<()> {
    if from_scratch {
        learn.fit_one_cycle(epochs, Some(lr))?;
        Ok(())
    } else {
        fine_tune(learn, epochs, Some(lr), resumed)
    }
}
