//! `cargo xtask lesson1`: the lesson-1 tasks (pets, camvid, adult) on the embedded data, or
//! (`--full`) on fastai's own data sets.

use crate::train::{AdultArgs, CamvidArgs, CommonArgs, PetsArgs, VisionArgs};
use anyhow::Result;
use clap::Args;
use fastcandle::core::DeviceChoice;
use fastcandle::models::{Arch, Pretrained};
use std::path::PathBuf;

/// Options of `cargo xtask lesson1`.
#[derive(Args, Debug, Clone)]
pub struct Lesson1Args {
    /// Where the runs write (default `runs/lesson1/<timestamp>/<task>`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The device: auto, cpu, cuda, cuda:N, metal or metal:N.
    #[arg(long, default_value = "auto")]
    pub device: DeviceChoice,
    /// The lesson as fastai gives it: the real PETS, CAMVID_TINY and ADULT_SAMPLE (downloaded
    /// once with `untar_data`, or from `FASTCANDLE_MIRROR`), ImageNet ResNet34 weights from the
    /// Hugging Face hub, Resize(224). Needs the network or a mirror; hours on a CPU.
    #[arg(long)]
    pub full: bool,
    /// Save a resumable checkpoint every N epochs (0: none, the default: the lesson's runs are
    /// short, and camvid's U-Net checkpoint is 957 MB, about 4 s a save).
    #[arg(long, default_value_t = 0)]
    pub checkpoint_every: usize,
}

/// What the lesson runs on: the embedded samples, or (`--full`) the real data sets.
struct Plan {
    pets: Option<std::path::PathBuf>,
    camvid: Option<std::path::PathBuf>,
    adult: Option<std::path::PathBuf>,
    /// `--arch` and `--pretrained` of the vision tasks (None: the embedded MobileNetV2).
    arch: Option<(Arch, Pretrained)>,
    pets_size: Option<usize>,
}

impl Plan {
    fn new(full: bool) -> Result<Self> {
        use fastcandle::prelude::{Urls, untar_data};
        if !full {
            return Ok(Plan {
                pets: None,
                camvid: None,
                adult: None,
                arch: None,
                pets_size: Some(LESSON_SIZE),
            });
        }
        Ok(Plan {
            pets: Some(untar_data(Urls::PETS)?.join("images")),
            camvid: Some(untar_data(Urls::CAMVID_TINY)?),
            adult: Some(untar_data(Urls::ADULT_SAMPLE)?.join("adult.csv")),
            arch: Some((Arch::Resnet34, Pretrained::Hub)),
            pets_size: None,
        })
    }

    /// The options of a vision task: the data and weights of the plan, `size`, and `arch` when
    /// the plan has none.
    fn vision(
        &self,
        common: &mut CommonArgs,
        data: &Option<PathBuf>,
        size: Option<usize>,
        arch: Option<Arch>,
    ) -> VisionArgs {
        common.data = data.clone();
        match &self.arch {
            Some((arch, pretrained)) => VisionArgs {
                arch: Some(*arch),
                pretrained: Some(pretrained.clone()),
                size,
                skip_bad: false,
            },
            None => VisionArgs {
                arch,
                pretrained: None,
                size,
                skip_bad: false,
            },
        }
    }
}

/// The image size of the lesson's pets run: 160 rather than fastai's 224, so that the 2,000
/// embedded images fine-tune in about two minutes on a 2-core CPU.
pub const LESSON_SIZE: usize = 160;

/// The segmentation part of the lesson: a U-Net on the embedded pretrained MobileNetV2 (fastai's
/// lesson uses an ImageNet ResNet34, which is not available offline), fine-tuned for this many
/// epochs on the 100 embedded scenes, so that it finishes in about four minutes on a 2-core
/// CPU.
pub const LESSON_CAMVID_EPOCHS: usize = 8;

/// Runs the lesson's tasks one after the other.
pub fn run(args: Lesson1Args) -> Result<()> {
    let root = args
        .out
        .unwrap_or_else(|| crate::run_dir::default_out("lesson1"));
    let plan = Plan::new(args.full)?;
    let pretrained = if args.full {
        "ImageNet ResNet34 (timm/resnet34.a1_in1k on the hub)"
    } else if crate::tasks::pets::embedded_weights().is_file() {
        "the embedded ImageNet MobileNetV2"
    } else {
        "no pretrained weights (datasets/weights is missing)"
    };
    let (pets_what, arch) = match args.full {
        true => ("Oxford-IIIT Pets, 7,390 images", "resnet34"),
        false => ("embedded Pets-style sample, 2,000 images", "mobilenet_v2"),
    };
    println!(
        "fastai lesson 1, vision: cat or dog ({pets_what}), vision_learner({arch}) from \
         {pretrained}, Resize({}), fine_tune(1)\n",
        plan.pets_size.unwrap_or(224)
    );
    let mut common = CommonArgs::new(1, args.device, root.join("pets"));
    common.checkpoint_every = args.checkpoint_every;
    let vision = plan.vision(&mut common, &plan.pets, plan.pets_size, None);
    let pets = crate::tasks::pets::run(&PetsArgs {
        common,
        vision,
        test: None,
        only: Vec::new(),
        tta: Default::default(),
    })?;
    println!(
        "\npets: error_rate {:.4} (fastai's published figure, ResNet34 on the full Pets set: \
         0.0041), {:.1} s in all\n",
        pets["metrics"]["error_rate"].as_f64().unwrap_or(f64::NAN),
        pets["wall_s"].as_f64().unwrap_or(f64::NAN)
    );
    let camvid_what = match args.full {
        true => "CamVid-tiny, 100 images, 32 codes",
        false => "fashion scenes in CamVid-tiny's layout (embedded, 100 images, 11 codes)",
    };
    println!(
        "fastai lesson 1, segmentation: {camvid_what}, unet_learner({arch}) from {pretrained}, \
         fine_tune({LESSON_CAMVID_EPOCHS})\n"
    );
    let mut common = CommonArgs::new(LESSON_CAMVID_EPOCHS, args.device, root.join("camvid"));
    common.checkpoint_every = args.checkpoint_every;
    let vision = plan.vision(&mut common, &plan.camvid, None, Some(Arch::MobilenetV2));
    let camvid = crate::tasks::camvid::run(&CamvidArgs { common, vision })?;
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
        "fastai lesson 1, tabular: UCI Adult ({}), tabular_learner, fit_one_cycle(3)\n",
        if args.full {
            "ADULT_SAMPLE"
        } else {
            "embedded sample"
        }
    );
    let mut common = CommonArgs::new(3, args.device, root.join("adult"));
    common.checkpoint_every = args.checkpoint_every;
    common.data = plan.adult.clone();
    let adult = crate::tasks::adult::run(&AdultArgs { common, test: None })?;
    println!(
        "\nadult: accuracy {:.4} (fastai's published figure: 0.8457), {:.1} s in all",
        adult["metrics"]["accuracy"].as_f64().unwrap_or(f64::NAN),
        adult["wall_s"].as_f64().unwrap_or(f64::NAN)
    );
    println!("\nWhat each model learned, one page a task (open in a browser):");
    for task in ["pets", "camvid", "adult"] {
        println!(
            "  {task:<7}{}",
            root.join(task).join("report.html").display()
        );
    }
    Ok(())
}
