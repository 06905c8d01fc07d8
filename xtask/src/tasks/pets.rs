//! The vision lesson: cat or dog from the file name (`is_cat`), `vision_learner`,
//! `fine_tune(N)`.

use super::vision_common::{arch_and_weights, fine_tune, start_run};
use crate::outputs;
use crate::resume;
use crate::run_dir::{finish, recorded, test_scores};
use crate::train::{Mode, PetsArgs};
use anyhow::{Result, bail};
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
    run_as(task, Mode::Train)
}

/// The task in `mode`: trains (see [`run`]) or finds a learning rate.
pub fn run_as(task: &PetsArgs, mode: Mode) -> Result<serde_json::Value> {
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
        .skip_bad(task.vision.skip_bad)
        .verify(true)
        .build()?;
    let mut learn = VisionLearner::builder(&dls, arch)
        .pretrained(pretrained.clone())
        .metrics([error_rate()])
        .seed(args.seed)
        .build()?;
    learn.quiet(args.quiet);
    learn.set_mixed_precision(args.mixed_precision());
    if mode == Mode::LrFind {
        anyhow::ensure!(
            !task.tta.tta,
            "--tta is for train: lr-find predicts nothing"
        );
        return outputs::lr_find_run("pets", &mut learn, out, start, args);
    }
    let mut options = task.vision.shaping(
        args.shaping("pets", &data, epochs, args.bs.unwrap_or(64)),
        arch,
        &pretrained,
    );
    options["only"] = task.only.clone().into();
    let resumed = resume::start(&mut learn, out, &options, args)?;
    crate::fit_callbacks::add(&mut learn, out, args)?;
    outputs::add_activation_stats(&mut learn)?;
    // The test images are labelled and checked before training: a bad set must not cost a run.
    let test_dl = match &task.test {
        Some(folder) => {
            let files = images(folder, &task.only)?;
            let bad = fastcandle::data::vision::verify_images(&files);
            if !bad.is_empty() {
                let names: Vec<String> = bad.iter().map(|p| p.display().to_string()).collect();
                bail!(
                    "{} test image(s) cannot be decoded: {}",
                    bad.len(),
                    names.join(", ")
                );
            }
            Some((folder, learn.dls().test_dl_with_labels(files)?))
        }
        None => None,
    };
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
    fine_tune(&mut learn, epochs, args.lr, resumed.as_ref())?;

    let (last, epoch_times) = recorded(&out.join("history.csv"))?;
    // The model is saved before anything else can fail.
    learn.export(out)?;
    let test = match test_dl {
        Some((folder, images)) => {
            let n = images.len();
            let scores = learn.validate(Some(images.batches()))?;
            let m = test_scores(scores, &format!("{n} images"), args.quiet);
            Some(json!({ "folder": folder.display().to_string(), "images": n, "metrics": m }))
        }
        None => None,
    };
    let tta = match task.tta.tta {
        true => Some(crate::fit_callbacks::tta_scores(&mut learn, args.quiet)?),
        false => None,
    };
    let interpretation = outputs::vision_classifier(&mut learn, out)?;
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
        "callbacks": crate::fit_callbacks::summary(args, out, &learn),
        "tta": tta,
        "test": test,
        "skipped_files": dls.skipped_files(),
        "interpretation": interpretation,
        "epoch_times_s": epoch_times,
        "wall_s": start.elapsed().as_secs_f64(),
    });
    finish(out, summary, args.quiet)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::{CommonArgs, VisionArgs};

    /// 8 cats and 8 dogs of the embedded sample, and two files that are not images.
    fn small_folder(dir: &Path) -> PathBuf {
        let folder = dir.join("images");
        std::fs::create_dir_all(&folder).unwrap();
        for p in get_image_files(embedded_data())
            .unwrap()
            .iter()
            .filter(|p| {
                let n = file_stem(p);
                ["Cat_1", "dog_1"].iter().any(|s| n.starts_with(s)) && n.len() <= 6
            })
        {
            std::fs::copy(p, folder.join(file_name(p))).unwrap();
        }
        std::fs::write(folder.join("Cat_bad.png"), b"\x89PNG\r\n\x1a\n cut").unwrap();
        std::fs::write(folder.join("dog_bad.png"), b"not an image at all").unwrap();
        folder
    }

    fn args(dir: &Path, data: PathBuf, skip_bad: bool) -> PetsArgs {
        let mut common = CommonArgs::new(1, DeviceChoice::Cpu, dir.join("run"));
        common.data = Some(data);
        common.quiet = true;
        common.bs = Some(4);
        PetsArgs {
            common,
            vision: VisionArgs {
                arch: Some(Arch::SimpleCnn),
                pretrained: Some(Pretrained::No),
                size: Some(16),
                skip_bad,
            },
            test: None,
            only: Vec::new(),
            tta: Default::default(),
        }
    }

    #[test]
    fn bad_images_are_all_named_before_training_or_skipped_with_skip_bad() {
        let tmp = tempfile::tempdir().unwrap();
        let data = small_folder(tmp.path());
        let err = run(&args(tmp.path(), data.clone(), false)).unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains("2 image file(s)")
                && text.contains("Cat_bad.png")
                && text.contains("dog_bad.png"),
            "{text}"
        );
        assert!(
            !tmp.path().join("run").exists(),
            "a failed run left its folder"
        );
        let summary = run(&args(tmp.path(), data.clone(), true)).unwrap();
        assert_eq!(summary["skipped_files"].as_array().unwrap().len(), 2);
        // Pets runs checkpoint like every task: the same options resume the finished run
        // (nothing left to run; its epochs stay in the summary), other ones are refused.
        let ckpt = tmp.path().join("run/checkpoint.safetensors");
        let mut again = args(tmp.path(), data.clone(), true);
        again.common.resume = Some(ckpt.clone());
        let resumed = run(&again).unwrap();
        assert_eq!(resumed["metrics"], summary["metrics"]);
        again.vision.size = Some(24);
        let err = format!("{:#}", run(&again).unwrap_err());
        assert!(err.contains("size: 16 -> 24"), "{err}");
    }

    #[test]
    fn tta_save_best_early_stop_and_accumulate_run_and_are_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let data = small_folder(tmp.path());
        std::fs::remove_file(data.join("Cat_bad.png")).unwrap();
        std::fs::remove_file(data.join("dog_bad.png")).unwrap();
        let mut a = args(tmp.path(), data.clone(), false);
        a.common.epochs = Some(2);
        a.common.save_best = true;
        a.common.early_stop = Some(1);
        a.common.accumulate = Some(8);
        a.tta.tta = true;
        let summary = run(&a).unwrap();
        let out = tmp.path().join("run");
        assert!(out.join("best.safetensors").is_file());
        let cbs = &summary["callbacks"];
        assert_eq!(cbs["early_stop"]["patience"], 1);
        assert_eq!(cbs["accumulate"]["items_per_step"], 8);
        assert_eq!(cbs["save_best"]["monitor"], "valid_loss");
        assert!(cbs["save_best"]["best_value"].as_f64().unwrap().is_finite());
        let tta = &summary["tta"];
        assert_eq!(tta["n"], 4);
        // Square images under Resize: no random crop, so the passes are the plain predictions.
        assert_eq!(tta["max_abs_diff_augmented_vs_plain"], 0.0);
        for m in ["metrics", "plain_metrics"] {
            let e = tta[m]["error_rate"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&e), "{m}: {e}");
        }
        // An accumulation below the batch size (4) is refused, naming both.
        let mut a = args(tmp.path(), data, false);
        a.common.force = true;
        a.common.accumulate = Some(2);
        let err = format!("{:#}", run(&a).unwrap_err());
        assert!(
            err.contains("--accumulate 2") && err.contains("batch size 4"),
            "{err}"
        );
    }
}
