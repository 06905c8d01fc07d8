//! The vision lesson: cat or dog from the file name (`is_cat`), `vision_learner`,
//! `fine_tune(N)`.

use super::vision_common::{arch_and_weights, fine_tune, start_run};
use crate::run_dir::{finish, recorded, test_scores};
use crate::train::PetsArgs;
use anyhow::{Context, Result, bail};
use fastcandle::vision::prelude::*;
use serde_json::json;
use std::path::{Path, PathBuf};

/// The embedded sample: cat and dog silhouettes named like Oxford-IIIT Pets.
pub fn embedded_data() -> PathBuf {
    crate::workspace_root().join("datasets/pets_sample/images")
}

/// The embedded ImageNet MobileNetV2 backbone (torchvision's `features.*`).
pub fn embedded_weights() -> PathBuf {
    crate::workspace_root().join("datasets/weights/mobilenet_v2-imagenet-features.safetensors")
}

/// The lesson's label function: a cat's file name starts with a capital letter.
pub fn is_cat(name: &str) -> bool {
    name.starts_with(char::is_uppercase)
}

/// The image size of the embedded lesson (fastai's is 224).
pub const DEFAULT_SIZE: usize = 224;

/// The images of `folder` (kept when their name starts with one of `only`, if given).
fn images(folder: &Path, only: &[String]) -> Result<Vec<PathBuf>> {
    let files: Vec<PathBuf> = get_image_files(folder)?
        .into_iter()
        .filter(|p| only.is_empty() || only.iter().any(|o| file_name(p).starts_with(o.as_str())))
        .collect();
    if files.is_empty() {
        bail!(
            "{}: no image file name starts with any of {}",
            folder.display(),
            only.join(", ")
        );
    }
    Ok(files)
}

/// Trains, scores, and writes the run's files; returns the summary.
pub fn run(task: &PetsArgs) -> Result<serde_json::Value> {
    let args = &task.common;
    let (start, data, run) = start_run(args, "pets", embedded_data())?;
    let out = run.path();
    let epochs = args.epochs.unwrap_or(1);
    let size = task.vision.size.unwrap_or(DEFAULT_SIZE);
    let (arch, pretrained) = arch_and_weights(&task.vision, Arch::MobilenetV2, Pretrained::Hub);

    let files = images(&data, &task.only)?;
    let dls = ImageDataLoaders::from_name_func(&data, files, is_cat)
        .valid_pct(0.2)
        .seed(args.seed)
        .bs(args.bs.unwrap_or(64))
        .item_tfms(Resize::new(size))
        .device(args.device)
        .build()?;
    let mut learn = VisionLearner::builder(&dls, arch)
        .pretrained(pretrained.clone())
        .metrics([error_rate()])
        .seed(args.seed)
        .build()?;
    learn.quiet(args.quiet);
    learn.add_cb(CsvLogger::new(out.join("history.csv")));
    if !args.quiet {
        println!(
            "pets: {} ({} train / {} valid images, classes {:?}), {arch} pretrained {pretrained}, \
             Resize({size}), fine_tune({epochs}), bs {}, seed {}, device {}",
            data.display(),
            dls.train_items().len(),
            dls.valid_items().len(),
            dls.vocab(),
            args.bs.unwrap_or(64),
            args.seed,
            fastcandle::core::device::device_name(dls.device())
        );
    }
    fine_tune(&mut learn, epochs, args.lr)?;

    let (last, epoch_times) = recorded(learn.recorder().context("the Recorder is present")?);
    let test = match &task.test {
        Some(folder) => {
            let files = images(folder, &task.only)?;
            let n = files.len();
            let images = learn.dls().test_dl_with_labels(files)?;
            let scores = learn.validate(Some(images.batches()))?;
            let m = test_scores(scores, &format!("{n} images"), args.quiet);
            Some(json!({ "folder": folder.display().to_string(), "images": n, "metrics": m }))
        }
        None => None,
    };
    learn.export(out)?;
    let summary = json!({
        "task": "pets",
        "data": data.display().to_string(),
        "arch": arch.name(),
        "pretrained": pretrained.to_string(),
        "size": size,
        "seed": args.seed,
        "device": fastcandle::core::device::device_name(dls.device()),
        "epochs": epochs,
        "bs": args.bs.unwrap_or(64),
        "lr": args.lr.unwrap_or(FineTuneOptions::default().base_lr),
        "metrics": last,
        "test": test,
        "epoch_times_s": epoch_times,
        "wall_s": start.elapsed().as_secs_f64(),
    });
    finish(out, summary, args.quiet)
}
