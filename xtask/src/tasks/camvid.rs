//! The segmentation lesson (fastai's CAMVID_TINY): `SegmentationDataLoaders.from_label_func`,
//! `unet_learner`, `fine_tune(N)`, on a set with CamVid-tiny's layout (`images/`,
//! `labels/{stem}_P{suffix}`, `codes.txt`).

use super::vision_common::{arch_and_weights, fine_tune, start_run};
use crate::outputs;
use crate::resume;
use crate::run_dir::{finish, recorded};
use crate::train::{CamvidArgs, Mode};
use anyhow::Result;
use fastcandle::vision::prelude::*;
use serde_json::json;
use std::path::{Path, PathBuf};

/// The embedded sample: scenes of `../shared/data/fashion-scenes` (CamVid-tiny's layout).
pub fn embedded_data() -> PathBuf {
    crate::workspace_root().join("datasets/camvid_sample")
}

/// fastai's lesson batch size for CamVid-tiny.
pub const DEFAULT_BS: usize = 8;

/// The lesson's label function: `labels/{stem}_P{suffix}` beside `images/`.
fn label_path(data: &Path) -> impl Fn(&Path) -> PathBuf + Send + Sync + 'static {
    let labels = data.join("labels");
    move |p: &Path| {
        let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("png");
        labels.join(format!("{}_P.{ext}", file_stem(p)))
    }
}

/// Trains, and writes the run's files; returns the summary.
pub fn run(task: &CamvidArgs) -> Result<serde_json::Value> {
    run_as(task, Mode::Train)
}

/// The task in `mode`: trains (see [`run`]) or finds a learning rate.
pub fn run_as(task: &CamvidArgs, mode: Mode) -> Result<serde_json::Value> {
    let args = &task.common;
    let (start, data, run) = start_run(args, "camvid", embedded_data())?;
    let out = run.path();
    let epochs = args.epochs.unwrap_or(8);
    let bs = args.bs.unwrap_or(DEFAULT_BS);
    let (arch, pretrained) = arch_and_weights(&task.vision, Arch::Resnet34, Pretrained::No);

    let codes = Codes::from_file(data.join("codes.txt"))?;
    let files = get_image_files(data.join("images"))?;
    let mut builder =
        SegmentationDataLoaders::from_label_func(&data, files, label_path(&data), codes)
            .valid_pct(0.2)
            .seed(args.seed)
            .bs(bs)
            .device(args.device)
            .skip_bad(task.vision.skip_bad);
    if let Some(size) = task.vision.size {
        builder = builder.item_tfms(Resize::new(size));
    }
    let dls = builder.build()?;
    let mut learn = UnetLearner::builder(&dls, arch)
        .pretrained(pretrained.clone())
        .metrics([foreground_acc(), dice_multi()])
        .seed(args.seed)
        .build()?;
    learn.quiet(args.quiet);
    learn.set_mixed_precision(args.mixed_precision());
    if mode == Mode::LrFind {
        return outputs::lr_find_run("camvid", &mut learn, out, start, args);
    }
    let options = task
        .vision
        .shaping(args.shaping("camvid", &data, epochs, bs), arch, &pretrained);
    let resumed = resume::start(&mut learn, out, &options, args)?;
    crate::fit_callbacks::add(&mut learn, out, args)?;
    if !args.quiet {
        println!(
            "camvid: {} ({} train / {} valid images, {} codes), unet_learner({arch}) pretrained \
             {pretrained}, fine_tune({epochs}), bs {bs}, seed {}, device {}",
            data.display(),
            dls.train_images().len(),
            dls.valid_images().len(),
            dls.c(),
            args.seed,
            fastcandle::core::device::device_name(dls.device())
        );
    }
    fine_tune(&mut learn, epochs, args.lr, resumed.as_ref())?;

    let (last, epoch_times) = recorded(&out.join("history.csv"))?;
    // The model is saved before anything else can fail: `model.safetensors` and `config.json`
    // (arch, codes, the U-Net's layout, item transforms, normalisation), which
    // `load_unet_learner(out)` reads back in another program.
    learn.export(out)?;
    let interpretation = outputs::segmentation(&mut learn, out)?;
    let summary = json!({
        "task": "camvid",
        "data": data.display().to_string(),
        "arch": arch.name(),
        "pretrained": pretrained.to_string(),
        "seed": args.seed,
        "device": fastcandle::core::device::device_name(dls.device()),
        "epochs": epochs,
        "bs": bs,
        "lr": args.lr.unwrap_or(FineTuneOptions::default().base_lr),
        "metrics": last,
        "callbacks": crate::fit_callbacks::summary(args, out, &learn),
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

    /// A run on 8 scenes of the embedded sample exports a learner that another program loads
    /// with `load_unet_learner` and that predicts masks of the run's size over its codes.
    #[test]
    fn a_run_exports_a_learner_that_loads_and_predicts() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        for sub in ["images", "labels"] {
            std::fs::create_dir_all(data.join(sub)).unwrap();
        }
        let src = embedded_data();
        std::fs::copy(src.join("codes.txt"), data.join("codes.txt")).unwrap();
        let images: Vec<PathBuf> = get_image_files(src.join("images")).unwrap()[..8].to_vec();
        for p in &images {
            std::fs::copy(p, data.join("images").join(file_name(p))).unwrap();
            let label = format!("labels/{}_P.png", file_stem(p));
            std::fs::copy(src.join(&label), data.join(&label)).unwrap();
        }
        let mut common = CommonArgs::new(1, DeviceChoice::Cpu, tmp.path().join("run"));
        common.data = Some(data.clone());
        common.quiet = true;
        common.bs = Some(4);
        let args = CamvidArgs {
            common,
            vision: VisionArgs {
                arch: Some(Arch::Resnet18),
                pretrained: Some(Pretrained::No),
                size: Some(32),
                skip_bad: false,
            },
        };
        run(&args).unwrap();
        let learn = load_unet_learner(tmp.path().join("run"), DeviceChoice::Cpu).unwrap();
        let codes = Codes::from_file(data.join("codes.txt")).unwrap();
        assert_eq!(learn.codes(), codes.names());
        assert_eq!(learn.arch(), Arch::Resnet18);
        let pred = learn.predict(&images[0]).unwrap();
        assert_eq!(
            (pred.width, pred.height, pred.n_codes()),
            (32, 32, codes.len())
        );
        // The original image is 128x96: at its own size the mask is too.
        let full = learn.predict_original_size(&images[0]).unwrap();
        assert_eq!((full.width, full.height), (128, 96));
    }
}
