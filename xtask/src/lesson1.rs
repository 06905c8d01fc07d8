//! `cargo xtask lesson1`: the lesson-1 tasks (pets, camvid, adult) on the embedded data.

use crate::train::{Task, TrainArgs};
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

/// Options of `cargo xtask lesson1`.
#[derive(Args, Debug, Clone)]
pub struct Lesson1Args {
    /// Where the runs write (default `runs/lesson1/<timestamp>/<task>`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The device: auto, cpu, cuda, cuda:N, metal or metal:N.
    #[arg(long, default_value = "auto")]
    pub device: String,
}

/// The image size of the lesson's pets run: 160 rather than fastai's 224, so that the 2,000
/// embedded images fine-tune in about two minutes on a 2-core CPU.
pub const LESSON_SIZE: usize = 160;

/// The segmentation part of the lesson: a U-Net on the embedded pretrained MobileNetV2 (fastai's
/// lesson uses an ImageNet ResNet34, which is not available offline), fine-tuned for this many
/// epochs on the 100 embedded scenes, so that it finishes in about four minutes on a 2-core
/// CPU.
pub const LESSON_CAMVID_EPOCHS: usize = 8;

/// The options of one lesson task on the embedded data.
fn task_args(
    task: Task,
    epochs: usize,
    size: Option<usize>,
    device: &str,
    out: PathBuf,
) -> TrainArgs {
    TrainArgs {
        task,
        data: None,
        test: None,
        epochs: Some(epochs),
        lr: None,
        bs: None,
        seed: 42,
        device: device.to_string(),
        out: Some(out),
        arch: None,
        pretrained: None,
        size,
        resume: None,
        only: Vec::new(),
        quiet: false,
    }
}

/// Runs the lesson's tasks one after the other.
pub fn run(args: Lesson1Args) -> Result<()> {
    let root = args
        .out
        .unwrap_or_else(|| crate::run_dir::default_out("lesson1"));
    let pretrained = if crate::tasks::pets::embedded_weights().is_file() {
        "the embedded ImageNet MobileNetV2"
    } else {
        "no pretrained weights (datasets/weights is missing)"
    };
    println!(
        "fastai lesson 1, vision: cat or dog (embedded Pets-style sample, 2,000 images), \
         vision_learner(mobilenet_v2) from {pretrained}, Resize({LESSON_SIZE}), fine_tune(1)\n"
    );
    let pets = crate::train::run(task_args(
        Task::Pets,
        1,
        Some(LESSON_SIZE),
        &args.device,
        root.join("pets"),
    ))?;
    println!(
        "\npets: error_rate {:.4} (fastai's published figure, ResNet34 on the full Pets set: \
         0.0041), {:.1} s in all\n",
        pets["metrics"]["error_rate"].as_f64().unwrap_or(f64::NAN),
        pets["wall_s"].as_f64().unwrap_or(f64::NAN)
    );
    println!(
        "fastai lesson 1, segmentation: fashion scenes in CamVid-tiny's layout (embedded, 100 \
         images, 11 codes), unet_learner(mobilenet_v2) from {pretrained}, \
         fine_tune({LESSON_CAMVID_EPOCHS})\n"
    );
    let mut camvid_args = task_args(
        Task::Camvid,
        LESSON_CAMVID_EPOCHS,
        None,
        &args.device,
        root.join("camvid"),
    );
    camvid_args.arch = Some("mobilenet_v2".into());
    let camvid = crate::train::run(camvid_args)?;
    println!(
        "\ncamvid: valid_loss {:.4}, foreground_acc {:.4}, dice_multi {:.4} (fastai's published \
         figure, pretrained ResNet34 on CamVid-tiny: valid_loss 0.727), {:.1} s in all\n",
        camvid["metrics"]["valid_loss"].as_f64().unwrap_or(f64::NAN),
        camvid["metrics"]["foreground_acc"]
            .as_f64()
            .unwrap_or(f64::NAN),
        camvid["metrics"]["dice_multi"].as_f64().unwrap_or(f64::NAN),
        camvid["wall_s"].as_f64().unwrap_or(f64::NAN)
    );
    println!(
        "fastai lesson 1, tabular: UCI Adult (embedded sample), tabular_learner, fit_one_cycle(3)\n"
    );
    let adult = crate::train::run(task_args(
        Task::Adult,
        3,
        None,
        &args.device,
        root.join("adult"),
    ))?;
    println!(
        "\nadult: accuracy {:.4} (fastai's published figure: 0.8457), {:.1} s in all",
        adult["metrics"]["accuracy"].as_f64().unwrap_or(f64::NAN),
        adult["wall_s"].as_f64().unwrap_or(f64::NAN)
    );
    Ok(())
}
