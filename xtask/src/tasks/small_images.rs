//! What the small-image tasks (fashion-mnist, mnist, cifar10) share: finding the format in
//! `--data` (IDX files, CIFAR-10 binary batches, or fastai's PNG folders), the data loaders,
//! `fit_one_cycle` from scratch on fastai's `SimpleCNN` with fastai's head without dropout (or
//! `fine_tune` when `--pretrained` is given), the test score on the test images, and the run's files.

use crate::outputs;
use crate::resume;
use crate::run_dir::{finish, recorded, test_scores};
use crate::train::{Mode, SmallImagesArgs};
use anyhow::{Context, Result, bail};
use fastcandle::data::vision::{CifarFiles, IdxFiles};
use fastcandle::vision::prelude::*;
use serde_json::json;
use std::path::Path;
use std::time::Instant;

/// The architecture of the small-image tasks: fastai's `SimpleCNN` (four ConvLayers, 12.6 M
/// multiply-adds an MNIST image), trained from scratch.
pub const DEFAULT_ARCH: Arch = Arch::SimpleCnn;
/// The peak learning rate of `fit_one_cycle` from scratch (fastai's MNIST notebooks use 1e-2
/// for a small CNN with BatchNorm).
pub const DEFAULT_LR: f64 = 1e-2;
/// The batch size.
pub const DEFAULT_BS: usize = 64;
/// The head's dropout: none, where fastai's default is 0.5 (0.25 before the hidden layer).
/// One epoch from scratch on 60,000 images underfits rather than overfits; with fastai's
/// dropout one epoch of Fashion-MNIST reached 0.8956 test accuracy.
pub const HEAD_PS: f32 = 0.0;

/// One small-image task.
pub struct Spec {
    /// The task's name (`fashion-mnist`).
    pub task: &'static str,
    /// The class names for IDX files (which hold codes only).
    pub idx_classes: &'static [&'static str],
    /// Whether the CIFAR-10 binary batches are accepted.
    pub cifar: bool,
    /// fastai's PNG folders: the training and the test folder's names.
    pub png_folders: Option<(&'static str, &'static str)>,
    /// What to tell a user without `--data`: where the data set comes from.
    pub where_to_get: &'static str,
}

/// The format found in `--data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The four IDX files (MNIST, Fashion-MNIST).
    Idx,
    /// The CIFAR-10 binary batches.
    CifarBinary,
    /// fastai's PNG folders (`train/<class>/`, `test/<class>/`).
    PngFolders,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Idx => "idx",
            Format::CifarBinary => "cifar-10 binary",
            Format::PngFolders => "png folders",
        }
    }
}

/// The format of `data` for `spec`, or an error saying what the folder should hold.
pub fn detect(spec: &Spec, data: &Path) -> Result<Format> {
    if !data.is_dir() {
        bail!(
            "{}: no such folder; the {} task needs the data set there ({})",
            data.display(),
            spec.task,
            spec.where_to_get
        );
    }
    if IdxFiles::is_idx_folder(data) {
        return Ok(Format::Idx);
    }
    if spec.cifar && CifarFiles::is_cifar_folder(data) {
        return Ok(Format::CifarBinary);
    }
    if let Some((train, test)) = spec.png_folders
        && data.join(train).is_dir()
        && data.join(test).is_dir()
    {
        return Ok(Format::PngFolders);
    }
    bail!(
        "{}: the {} task found none of its formats there ({})",
        data.display(),
        spec.task,
        spec.where_to_get
    )
}

/// The data loaders of `data` in `format`: the files' own split (the test images validate).
fn data_loaders(
    spec: &Spec,
    data: &Path,
    format: Format,
    task: &SmallImagesArgs,
) -> Result<ImageDataLoaders> {
    let args = &task.common;
    let bs = args.bs.unwrap_or(DEFAULT_BS);
    let device = args.device;
    let dls = match format {
        Format::Idx | Format::CifarBinary => {
            let b = match format {
                Format::Idx => {
                    ImageDataLoaders::from_idx(data).classes(spec.idx_classes.iter().copied())
                }
                _ => ImageDataLoaders::from_cifar(data),
            }
            .seed(args.seed)
            .bs(bs)
            .device(device);
            match task.vision.size {
                Some(s) => b.item_tfms(Resize::new(s)).build()?,
                None => b.build()?,
            }
        }
        Format::PngFolders => {
            let (train, test) = spec.png_folders.context("the task has PNG folders")?;
            let b = ImageDataLoaders::from_folder(data)
                .folders(train, test)
                .seed(args.seed)
                .bs(bs)
                .device(device)
                .skip_bad(task.vision.skip_bad)
                .verify(true);
            match task.vision.size {
                Some(s) => b.item_tfms(Resize::new(s)).build()?,
                None => b.build()?,
            }
        }
    };
    Ok(dls)
}

/// Trains `spec`'s task, scores it on the test images, and writes the run's files; returns
/// the summary.
pub fn run(spec: &Spec, task: &SmallImagesArgs, mode: Mode) -> Result<serde_json::Value> {
    let args = &task.common;
    let Some(data) = args.data.clone() else {
        bail!(
            "the {} task needs its data set: pass --data PATH ({})",
            spec.task,
            spec.where_to_get
        );
    };
    let start = Instant::now();
    let format = detect(spec, &data)?;
    let run = args.run_dir(spec.task)?;
    let out = run.path();
    let epochs = args.epochs.unwrap_or(1);
    let arch = task.vision.arch.unwrap_or(DEFAULT_ARCH);
    let pretrained = task.vision.pretrained.clone().unwrap_or_default();
    let from_scratch = pretrained == Pretrained::No;

    let dls = data_loaders(spec, &data, format, task)?;
    let head = HeadConfig {
        ps: HEAD_PS,
        ..HeadConfig::default()
    };
    let mut learn = VisionLearner::builder(&dls, arch)
        .pretrained(pretrained.clone())
        .head(head)
        .metrics([accuracy(), error_rate()])
        .seed(args.seed)
        .build()?;
    learn.quiet(args.quiet);
    learn.set_mixed_precision(args.mixed_precision());
    if mode == Mode::LrFind {
        anyhow::ensure!(
            !task.tta.tta,
            "--tta is for train: lr-find predicts nothing"
        );
        return outputs::lr_find_run(spec.task, &mut learn, out, start, args);
    }
    let options = task.vision.shaping(
        args.shaping(spec.task, &data, epochs, args.bs.unwrap_or(DEFAULT_BS)),
        arch,
        &pretrained,
    );
    let resumed = resume::start(&mut learn, out, &options, args)?;
    crate::fit_callbacks::add(&mut learn, out, args)?;
    outputs::add_activation_stats(&mut learn)?;
    let (n_train, n_valid) = (dls.train_items().len(), dls.valid_items().len());
    let (lr, schedule) = super::vision_common::schedule(from_scratch, epochs, args.lr, DEFAULT_LR);
    let device = fastcandle::core::device::device_name(dls.device());
    if !args.quiet {
        println!(
            "{}: {} ({}: {n_train} train / {n_valid} test images, {} classes), {arch} \
             pretrained {pretrained}, {schedule}, bs {}, seed {}, device {device}",
            spec.task,
            data.display(),
            format.name(),
            dls.c(),
            args.bs.unwrap_or(DEFAULT_BS),
            args.seed,
        );
    }
    super::vision_common::train(&mut learn, from_scratch, epochs, lr, resumed.as_ref())?;

    let (last, epoch_times) = recorded(&out.join("history.csv"))?;
    // The test images are the validation set (the files' own split, as fastai's MNIST and
    // CIFAR folders): scored once more after training, as the test.
    let scores = learn.validate(None)?;
    let m = test_scores(scores, &format!("{n_valid} test images"), args.quiet);
    let test = json!({ "images": n_valid, "metrics": m });
    if !args.quiet {
        let times: Vec<String> = epoch_times.iter().map(|t| format!("{t:.1} s")).collect();
        println!("epoch time: {}", times.join(", "));
    }
    learn.export(out)?;
    let tta = match task.tta.tta {
        true => Some(crate::fit_callbacks::tta_scores(&mut learn, args.quiet)?),
        false => None,
    };
    let interpretation = outputs::vision_classifier(&mut learn, out)?;
    let summary = json!({
        "task": spec.task,
        "data": data.display().to_string(),
        "format": format.name(),
        "arch": arch.name(),
        "pretrained": pretrained.to_string(),
        "size": task.vision.size,
        "seed": args.seed,
        "device": device,
        "epochs": epochs,
        "schedule": schedule,
        "bs": args.bs.unwrap_or(DEFAULT_BS),
        "lr": lr,
        "train_images": n_train,
        "metrics": last,
        "callbacks": crate::fit_callbacks::summary(args, out, &learn),
        "tta": tta,
        "test": test,
        "interpretation": interpretation,
        "epoch_times_s": epoch_times,
        "wall_s": start.elapsed().as_secs_f64(),
    });
    finish(out, summary, args.quiet)
}
