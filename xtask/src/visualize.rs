//! `cargo xtask visualize`: what a vision model learned, as pictures (lesson 1's section on
//! Zeiler and Fergus): the first layer's filters, the top patches of every stage, and Grad-CAM
//! heat maps of validation images with the share of heat on the object.

use crate::run_dir::write_json;
use anyhow::{Context, Result, bail};
use clap::Args;
use fastcandle::core::DeviceChoice;
use fastcandle::data::vision::{Normalize, Resize, TestImages, get_image_files};
use fastcandle::models::{Arch, Pretrained, VisionModel};
use fastcandle::vision::VisionPredictor;
use fastcandle::visualize::{
    Channels, GradCamOptions, MapMethod, bright_pixels, decode_batches, grad_cam_pictures,
    save_filters, save_top_patches, test_batches, top_patches,
};
use serde_json::json;
use std::path::{Path, PathBuf};

/// Options of `cargo xtask visualize`.
#[derive(Args, Debug, Clone)]
pub struct VisualizeArgs {
    /// A run folder (`cargo xtask train pets --out DIR`): its exported learner, its data and
    /// its validation images.
    #[arg(long, conflicts_with_all = ["arch", "pretrained"])]
    pub run: Option<PathBuf>,
    /// Without --run: the architecture to look at.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(Arch::names()))]
    pub arch: Option<String>,
    /// Without --run: its weights (hub, none, or a safetensors or PyTorch .pth/.pt file).
    #[arg(long)]
    pub pretrained: Option<Pretrained>,
    /// The images to look at (default: the run's data; without --run, the embedded pets
    /// sample).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Where the pictures go (default `<run>/visualize`, or `runs/visualize/<timestamp>`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The stages to draw (default all: `stem`, `layer1`.. for a ResNet, `features.1`.. for
    /// MobileNetV2).
    #[arg(long, value_delimiter = ',')]
    pub layers: Vec<String>,
    /// How many channels of each stage to draw (the most active on average).
    #[arg(long, default_value_t = 8)]
    pub channels: usize,
    /// How many validation images get a Grad-CAM picture.
    #[arg(long, default_value_t = 8)]
    pub images: usize,
    /// The class the heat maps are for (default: each image's prediction).
    #[arg(long)]
    pub class: Option<String>,
    /// Draw fastbook's CAM (the head's last weights on the body's output) instead of Grad-CAM.
    #[arg(long)]
    pub cam: bool,
    /// How many images the top patches are searched in.
    #[arg(long, default_value_t = 256)]
    pub patch_images: usize,
    /// The image size without --run (a run uses its own transforms).
    #[arg(long, default_value_t = 160)]
    pub size: usize,
    /// The device: auto, cpu, cuda, cuda:N, metal or metal:N.
    #[arg(long, default_value = "auto")]
    pub device: DeviceChoice,
}

/// Where the model comes from, which says how its images are made.
enum Source {
    /// A run's exported learner: its own item transforms and normalisation.
    Run(VisionPredictor),
    /// An architecture with weights: `Resize(size)`, ImageNet statistics when pretrained.
    Arch {
        model: VisionModel,
        size: usize,
        device: fastcandle::core::candle::Device,
    },
}

/// The model to look at, how its images are made, and what the data says of them.
struct Subject {
    source: Source,
    vocab: Vec<String>,
    normalize: Option<Normalize>,
    /// The validation images with their labels, when known (a pets run).
    valid: Option<(Vec<PathBuf>, Vec<String>)>,
    data: PathBuf,
    /// Whether objects are the bright pixels on black (the pets silhouettes).
    silhouettes: bool,
    what: String,
}

impl Subject {
    fn model(&self) -> &VisionModel {
        match &self.source {
            Source::Run(p) => p.model(),
            Source::Arch { model, .. } => model,
        }
    }

    /// `paths` batched for the model.
    fn images(&self, paths: Vec<PathBuf>) -> Result<TestImages> {
        Ok(match &self.source {
            Source::Run(p) => p.test_dl(paths)?,
            Source::Arch { size, device, .. } => TestImages::new(
                paths,
                vec![std::sync::Arc::new(Resize::new(*size))],
                self.normalize,
                64,
                device.clone(),
            )?,
        })
    }
}

/// Writes the pictures and `visualize.json`; gives the JSON back.
pub fn run(args: VisualizeArgs) -> Result<serde_json::Value> {
    let subject = match &args.run {
        Some(run) => from_run(run, &args)?,
        None => from_arch(&args)?,
    };
    let out = args.out.clone().unwrap_or_else(|| match &args.run {
        Some(run) => run.join("visualize"),
        None => crate::run_dir::default_out("visualize"),
    });
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    println!("visualize: {}", subject.what);

    save_filters(subject.model(), out.join("filters.png"))?;
    println!("wrote {}", out.join("filters.png").display());

    // Top patches: the most active channels of each stage over a spread of the images.
    let all = match &subject.valid {
        Some((paths, _)) => paths.clone(),
        None => get_image_files(&subject.data)?,
    };
    if all.is_empty() {
        bail!("{}: no image to look at", subject.data.display());
    }
    let step = all.len().div_ceil(args.patch_images.max(1)).max(1);
    let sample: Vec<PathBuf> = all.iter().step_by(step).cloned().collect();
    let batches = test_batches(&subject.images(sample)?)?;
    let images = decode_batches(&batches, subject.normalize.as_ref())?;
    let mut stages = subject.model().body().stages();
    if !args.layers.is_empty() {
        let known: Vec<String> = stages.iter().map(|s| s.name.clone()).collect();
        if let Some(bad) = args.layers.iter().find(|l| !known.contains(l)) {
            bail!(
                "--layers: no stage `{bad}`; the stages are {}",
                known.join(", ")
            );
        }
        stages.retain(|s| args.layers.contains(&s.name));
    }
    // The activation statistics: those the run recorded while it trained, or else those of
    // the body's stages over these images (inference, one row a batch).
    let recorded = args
        .run
        .as_ref()
        .map(|r| r.join("activation_stats.png"))
        .filter(|p| p.is_file());
    match recorded {
        Some(stats) => {
            std::fs::copy(&stats, out.join("activation_stats.png"))
                .with_context(|| format!("copying {}", stats.display()))?;
        }
        None => activation_stats(subject.model(), &batches, &stages, &out)?,
    }
    println!("wrote {}", out.join("activation_stats.png").display());

    let found = top_patches(
        subject.model().body(),
        &batches,
        &stages,
        &Channels::MostActive(args.channels),
        9,
    )?;
    let mut stage_json = Vec::new();
    for (n, s) in found.iter().enumerate() {
        let file = format!("stage{n}.png");
        save_top_patches(s, &images, out.join(&file))?;
        println!(
            "wrote {} ({}: field {} px, stride {})",
            out.join(&file).display(),
            s.stage.name,
            s.stage.field.size,
            s.stage.field.stride
        );
        stage_json.push(json!({
            "file": file,
            "stage": s.stage.name,
            "channels": s.stage.channels,
            "field": {"size": s.stage.field.size, "stride": s.stage.field.stride},
            "drawn": s.channels.iter().map(|c| json!({
                "channel": c.channel,
                "mean": c.mean,
                "top": c.patches.first().map(|p| p.activation),
            })).collect::<Vec<_>>(),
        }));
    }

    // Grad-CAM on validation images, for a trained model.
    let mut cams = Vec::new();
    let (mut heat_sum, mut area_sum, mut counted) = (0.0, 0.0, 0usize);
    if let Some((paths, labels)) = &subject.valid {
        // `n` images spread evenly through the validation set.
        let n = args.images.min(paths.len());
        let pick: Vec<usize> = (0..n).map(|i| i * paths.len() / n).collect();
        let chosen: Vec<PathBuf> = pick.iter().map(|&i| paths[i].clone()).collect();
        let chosen_labels: Vec<String> = pick.iter().map(|&i| labels[i].clone()).collect();
        let layer = subject
            .model()
            .body()
            .names()
            .last()
            .cloned()
            .context("the body has no layer")?;
        let object = |img: &fastcandle::data::vision::Image| {
            if subject.silhouettes {
                bright_pixels(img)
            } else {
                None
            }
        };
        let class = match &args.class {
            None => None,
            Some(c) => Some(subject.vocab.iter().position(|v| v == c).with_context(|| {
                format!("--class {c}: the classes are {}", subject.vocab.join(", "))
            })?),
        };
        let method = if args.cam {
            MapMethod::Cam
        } else {
            MapMethod::GradCam
        };
        let opts = GradCamOptions {
            layer: &layer,
            class,
            method,
            normalize: subject.normalize.as_ref(),
            object: &object,
        };
        let records = grad_cam_pictures(
            subject.model(),
            &subject.vocab,
            &subject.images(chosen)?,
            Some(&chosen_labels),
            &opts,
            &out.join("gradcam"),
        )?;
        for r in &records {
            if let (Some(h), Some(a)) = (r.object_heat, r.object_area) {
                heat_sum += h;
                area_sum += a;
                counted += 1;
            }
            cams.push(json!({
                "item": r.item.display().to_string(),
                "label": r.label,
                "predicted": r.predicted,
                "probability": r.probability,
                "object_heat": r.object_heat,
                "object_area": r.object_area,
                "file": r.picture.strip_prefix(&out).unwrap_or(&r.picture).display().to_string(),
            }));
        }
        println!(
            "wrote {} Grad-CAM pictures in {}",
            records.len(),
            out.join("gradcam").display()
        );
    }
    let (mean_heat, mean_area) = match counted {
        0 => (None, None),
        n => (Some(heat_sum / n as f64), Some(area_sum / n as f64)),
    };
    if let (Some(h), Some(a)) = (mean_heat, mean_area) {
        println!(
            "Grad-CAM: {:.1}% of the heat lies on the animal, which covers {:.1}% of the image \
             (mean of {counted} validation images)",
            100.0 * h,
            100.0 * a
        );
    }
    let summary = json!({
        "model": subject.what,
        "filters": "filters.png",
        "stages": stage_json,
        "gradcam": cams,
        "mean_object_heat": mean_heat,
        "mean_object_area": mean_area,
    });
    write_json(&out.join("visualize.json"), &summary)?;
    println!("wrote {}", out.join("visualize.json").display());
    Ok(summary)
}

/// `activation_stats.png` of the last of `stages` over `batches`, in evaluation mode.
fn activation_stats(
    model: &VisionModel,
    batches: &[fastcandle::core::candle::Tensor],
    stages: &[fastcandle::models::Stage],
    out: &Path,
) -> Result<()> {
    use fastcandle::core::Model;
    let names: Vec<String> = stages
        .iter()
        .filter_map(|s| model.body().names().get(s.child).cloned())
        .collect();
    let Some(last) = names.last().cloned() else {
        return Ok(());
    };
    let hooks = fastcandle::core::hooks::hook_outputs(model, names)?;
    let mut stats = fastcandle::train::callback::ActivationStats::new();
    for b in batches {
        fastcandle::core::grad::no_grad(|| model.forward_t(std::slice::from_ref(b), false))?;
        stats.observe(hooks.hooks())?;
    }
    fastcandle::plot::plot_layer_stats(&stats, &last, out.join("activation_stats.png"))?;
    Ok(())
}

/// A run folder's exported learner, and for a pets run its validation images, labelled.
fn from_run(run: &Path, args: &VisualizeArgs) -> Result<Subject> {
    let learner = fastcandle::vision::load_learner(run, args.device)
        .with_context(|| format!("loading the learner exported in {}", run.display()))?;
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(run.join("summary.json"))
            .with_context(|| format!("reading {}", run.join("summary.json").display()))?,
    )?;
    let task = summary["task"].as_str().unwrap_or_default().to_string();
    let data = match (&args.data, summary["data"].as_str()) {
        (Some(d), _) => d.clone(),
        (None, Some(d)) => PathBuf::from(d),
        (None, None) => bail!(
            "{}: no data folder in the summary; pass --data",
            run.display()
        ),
    };
    let valid = if task == "pets" {
        let seed = summary["seed"].as_u64().unwrap_or(42);
        Some(pets_validation(&data, seed)?)
    } else {
        None
    };
    let normalize = learner.normalization().copied();
    let vocab = learner.vocab().to_vec();
    let what = format!(
        "{} run {} ({} on {})",
        task,
        run.display(),
        learner.arch(),
        data.display()
    );
    Ok(Subject {
        source: Source::Run(learner),
        vocab,
        normalize,
        valid,
        data,
        silhouettes: task == "pets",
        what,
    })
}

/// The validation images of a pets run on `data` with `seed` (the lesson's split: 20%, the
/// file name's first letter says cat), with their labels (`True` for a cat).
fn pets_validation(data: &Path, seed: u64) -> Result<(Vec<PathBuf>, Vec<String>)> {
    use fastcandle::vision::ImageDataLoaders;
    let files = get_image_files(data)?;
    let dls = ImageDataLoaders::from_name_func(data, files, crate::tasks::pets::is_cat)
        .valid_pct(0.2)
        .seed(seed)
        .device(DeviceChoice::Cpu)
        .build()?;
    let items = dls.valid_items();
    let vocab = dls.vocab();
    let labels = items
        .codes
        .iter()
        .map(|&c| vocab.get(c as usize).cloned().unwrap_or_default())
        .collect();
    Ok((items.paths.clone(), labels))
}

/// An architecture with its weights (no trained head: filters and patches only).
fn from_arch(args: &VisualizeArgs) -> Result<Subject> {
    let arch: Arch = match &args.arch {
        Some(a) => a.parse()?,
        None => bail!("pass --run DIR, or --arch NAME (with --pretrained)"),
    };
    let pretrained = args.pretrained.clone().unwrap_or(Pretrained::No);
    let device = args.device.device()?;
    let model = VisionModel::new(arch, 2, &pretrained, &device, 0)?;
    let normalize = (pretrained != Pretrained::No).then(Normalize::imagenet);
    let data = args
        .data
        .clone()
        .unwrap_or_else(crate::tasks::pets::embedded_data);
    let what = format!("{arch} with weights {pretrained} on {}", data.display());
    Ok(Subject {
        source: Source::Arch {
            model,
            size: args.size,
            device,
        },
        vocab: Vec::new(),
        normalize,
        valid: None,
        data,
        silhouettes: false,
        what,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::{CommonArgs, PetsArgs, VisionArgs};

    /// Small options writing to `out`, on no model yet (set `run` or `arch`).
    fn small(out: PathBuf) -> VisualizeArgs {
        VisualizeArgs {
            run: None,
            arch: None,
            pretrained: None,
            data: None,
            out: Some(out),
            layers: Vec::new(),
            channels: 1,
            images: 1,
            class: None,
            cam: false,
            patch_images: 4,
            size: 16,
            device: DeviceChoice::Cpu,
        }
    }

    #[test]
    fn a_run_is_drawn_filters_stages_and_grad_cam_with_the_heat_on_the_animal() {
        let tmp = tempfile::tempdir().unwrap();
        let folder = tmp.path().join("images");
        std::fs::create_dir_all(&folder).unwrap();
        let mut files = get_image_files(crate::tasks::pets::embedded_data()).unwrap();
        files.sort();
        for p in files.iter().filter(|p| {
            let n = p.file_stem().unwrap().to_string_lossy().to_string();
            (n.starts_with("Cat_1") || n.starts_with("dog_1")) && n.len() <= 6
        }) {
            std::fs::copy(p, folder.join(p.file_name().unwrap())).unwrap();
        }
        let mut common = CommonArgs::new(1, DeviceChoice::Cpu, tmp.path().join("run"));
        common.data = Some(folder);
        common.quiet = true;
        common.bs = Some(4);
        common.checkpoint_every = 0;
        crate::tasks::pets::run(&PetsArgs {
            common,
            vision: VisionArgs {
                arch: Some(Arch::SimpleCnn),
                pretrained: Some(Pretrained::No),
                size: Some(16),
                skip_bad: false,
            },
            test: None,
            only: Vec::new(),
            tta: Default::default(),
        })
        .unwrap();
        let run_dir = tmp.path().join("run");
        assert!(run_dir.join("activation_stats.png").is_file());
        let out = tmp.path().join("vis");
        let summary = run(VisualizeArgs {
            run: Some(run_dir),
            channels: 2,
            images: 3,
            patch_images: 8,
            ..small(out.clone())
        })
        .unwrap();
        for f in [
            "filters.png",
            "stage0.png",
            "activation_stats.png",
            "visualize.json",
        ] {
            assert!(out.join(f).is_file(), "{f} missing");
        }
        let cams = summary["gradcam"].as_array().unwrap();
        assert_eq!(cams.len(), 3);
        for c in cams {
            assert!(out.join(c["file"].as_str().unwrap()).is_file());
            let area = c["object_area"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&area));
        }
        let stages = summary["stages"].as_array().unwrap();
        assert!(!stages.is_empty());
        assert!(stages[0]["field"]["size"].as_u64().unwrap() > 1);
        // A chosen class, and fastbook's CAM where the head cannot take the body's channels.
        let base = VisualizeArgs {
            run: Some(tmp.path().join("run")),
            images: 2,
            class: Some("True".into()),
            ..small(tmp.path().join("vis-class"))
        };
        let chosen = run(base.clone()).unwrap();
        assert_eq!(chosen["gradcam"].as_array().unwrap().len(), 2);
        let err = run(VisualizeArgs {
            class: Some("Giraffe".into()),
            ..base.clone()
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("Giraffe") && err.contains("True"), "{err}");
        let err = format!(
            "{:#}",
            run(VisualizeArgs { cam: true, ..base }).unwrap_err()
        );
        assert!(err.contains("CAM needs"), "{err}");
        // An architecture alone: filters, its stages and their statistics over the images.
        let arch_out = tmp.path().join("vis-arch");
        run(VisualizeArgs {
            arch: Some("resnet18".into()),
            pretrained: Some(Pretrained::No),
            data: Some(tmp.path().join("images")),
            layers: vec!["layer1".into(), "layer2".into()],
            size: 32,
            ..small(arch_out.clone())
        })
        .unwrap();
        for f in [
            "filters.png",
            "stage0.png",
            "stage1.png",
            "activation_stats.png",
        ] {
            assert!(arch_out.join(f).is_file(), "{f} missing");
        }
        assert!(!arch_out.join("stage2.png").exists());
        // A stage it does not have is refused, naming those it has.
        let err = run(VisualizeArgs {
            arch: Some("resnet18".into()),
            pretrained: Some(Pretrained::No),
            data: Some(tmp.path().join("images")),
            layers: vec!["layer9".into()],
            size: 32,
            ..small(tmp.path().join("vis2"))
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("layer9") && err.contains("layer4"), "{err}");
    }
}
