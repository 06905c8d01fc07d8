//! What the vision tasks (pets, camvid) share: the architecture and weights asked for, the
//! `fine_tune` call.

use crate::train::TrainArgs;
use anyhow::{Context, Result, bail};
use fastcandle::vision::prelude::*;
use std::path::PathBuf;
use std::time::Instant;

/// The start of a `fine_tune` run of `task`: its start time, its data (`--data`, else
/// `embedded`) and its output folder (`--out`, else `runs/<task>/<timestamp>`), created.
/// `--resume` is refused: `fine_tune` restarts its phases.
pub fn start_run(
    args: &TrainArgs,
    task: &str,
    embedded: PathBuf,
) -> Result<(Instant, PathBuf, PathBuf)> {
    if args.resume.is_some() {
        bail!("--resume applies to fit_one_cycle runs (adult); fine_tune restarts its phases");
    }
    let start = Instant::now();
    let data = args.data.clone().unwrap_or(embedded);
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| crate::run_dir::default_out(task));
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    Ok((start, data, out))
}

/// `--arch` (default `default_arch`) and `--pretrained hub|none|FILE`; without `--pretrained`,
/// MobileNetV2 takes the embedded ImageNet weights when present, other architectures
/// `fallback`.
pub fn arch_and_weights(
    args: &TrainArgs,
    default_arch: Arch,
    fallback: Pretrained,
) -> Result<(Arch, Pretrained)> {
    let arch: Arch = match &args.arch {
        Some(a) => a.parse()?,
        None => default_arch,
    };
    let embedded = super::pets::embedded_weights();
    let pretrained = match args.pretrained.as_deref() {
        Some("none") => Pretrained::No,
        Some("hub") => Pretrained::Hub,
        Some(file) => Pretrained::File(PathBuf::from(file)),
        None if arch == Arch::MobilenetV2 && embedded.is_file() => Pretrained::File(embedded),
        None if arch == Arch::MobilenetV2 => Pretrained::No,
        None => fallback,
    };
    Ok((arch, pretrained))
}

/// How the weights are named in messages and summaries: `none`, `hub` or the file.
pub fn pretrained_text(pretrained: &Pretrained) -> String {
    match pretrained {
        Pretrained::No => "none".to_string(),
        Pretrained::Hub => "hub".to_string(),
        Pretrained::File(p) => p.display().to_string(),
    }
}

/// `fine_tune(epochs)`, with `--lr` as its base rate when given.
pub fn fine_tune(learn: &mut Learner, epochs: usize, lr: Option<f64>) -> Result<()> {
    match lr {
        Some(lr) => learn.fine_tune_with(
            epochs,
            &FineTuneOptions {
                base_lr: lr,
                ..FineTuneOptions::default()
            },
        )?,
        None => learn.fine_tune(epochs)?,
    }
    Ok(())
}
