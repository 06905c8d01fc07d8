//! `cargo xtask bench`: timings of the hot paths, with the reference framework measured in the
//! same invocation when a Python with it is at hand.

use crate::tasks::adult;
use anyhow::{Context, Result};
use clap::Args;
use fastcandle::tabular::prelude::*;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Options of `cargo xtask bench`.
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Timed repetitions after the warm-up (the median and spread are reported).
    #[arg(long, default_value_t = 7)]
    pub runs: usize,
    /// Also write the rows as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// The markdown report (default `runs/bench/<timestamp>.md`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The Python to run the reference measurements with (default: `python3`, if it has fastai).
    #[arg(long)]
    pub python: Option<String>,
    /// Skip the reference measurements.
    #[arg(long)]
    pub no_reference: bool,
}

struct Row {
    name: String,
    ours: Stats,
    theirs: Option<(String, Stats)>,
    unit: &'static str,
    higher_is_better: bool,
}

#[derive(Clone, Copy)]
struct Stats {
    median: f64,
    min: f64,
    max: f64,
}

impl Stats {
    fn of(mut v: Vec<f64>) -> Self {
        v.sort_by(f64::total_cmp);
        Stats {
            median: v[v.len() / 2],
            min: v[0],
            max: v[v.len() - 1],
        }
    }
}

/// The Adult training file: the full one from `../shared/data` when present, else the embedded copy.
fn adult_data() -> PathBuf {
    let shared = crate::workspace_root().join("../shared/data/adult/adult.csv");
    if shared.exists() {
        shared
    } else {
        adult::embedded_data()
    }
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// One epoch of the tabular lesson (bs 64, fit_one_cycle's schedule, training and validation).
fn tabular_epoch(runs: usize) -> Result<Stats> {
    let dls = adult::data_loaders(&adult_data(), 64, 42, DeviceChoice::Cpu)?;
    let mut learn = TabularLearner::builder(&dls)
        .seed(42)
        .build()?
        .metrics([accuracy()]);
    learn.quiet(true);
    let mut times = Vec::with_capacity(runs);
    learn.fit_one_cycle(1, None)?; // warm-up
    for _ in 0..runs {
        let t = Instant::now();
        learn.fit_one_cycle(1, None)?;
        times.push(t.elapsed().as_secs_f64());
    }
    Ok(Stats::of(times))
}

fn reference_python(args: &BenchArgs) -> Option<String> {
    if args.no_reference {
        return None;
    }
    let py = args.python.clone().unwrap_or_else(|| "python3".into());
    let ok = Command::new(&py)
        .args(["-c", "import fastai, torch"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    ok.then_some(py)
}

/// Runs `scripts/bench/<name>` with `py` and `args` and reads the JSON object it prints.
fn reference_json(py: &str, name: &str, args: &[String]) -> Result<serde_json::Value> {
    let script = crate::workspace_root().join("scripts/bench").join(name);
    let out = Command::new(py)
        .arg(&script)
        .args(args)
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    anyhow::ensure!(
        out.status.success(),
        "{} failed: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .with_context(|| format!("reading the JSON that {} printed", script.display()))
}

fn fastai_tabular_epoch(py: &str, runs: usize) -> Result<Stats> {
    let v = reference_json(
        py,
        "fastai_tabular.py",
        &[
            "--data".into(),
            adult_data().display().to_string(),
            "--runs".into(),
            runs.to_string(),
            "--threads".into(),
            rayon_threads().to_string(),
        ],
    )?;
    let times: Vec<f64> = v["epoch_s"]
        .as_array()
        .context("epoch_s")?
        .iter()
        .filter_map(|x| x.as_f64())
        .collect();
    Ok(Stats::of(times))
}

/// The cat and dog silhouettes of `../shared/data/animal-shapes` (the Pets stand-in), if present.
fn animal_shapes() -> Option<PathBuf> {
    let p = crate::workspace_root().join("../shared/data/animal-shapes/images");
    p.exists().then_some(p)
}

/// Images per second through the image loader: decode, Resize 224, aug_transforms, Normalize,
/// collate, batch 64, over 2 training epochs of 1,600 images, once per run.
fn image_loader(folder: &Path, runs: usize) -> Result<Stats> {
    let dls =
        fastcandle::data::vision::pets_like_loader(folder, fastcandle::core::candle::Device::Cpu)?;
    let rates = (0..runs)
        .map(|_| fastcandle::data::vision::measure_loader(&dls, 2).map_err(anyhow::Error::from))
        .collect::<Result<Vec<f64>>>()?;
    Ok(Stats::of(rates))
}

fn fastai_image_loader(py: &str, folder: &Path) -> Result<Stats> {
    let v = reference_json(
        py,
        "fastai_loader.py",
        &[folder.display().to_string(), "2".into(), "json".into()],
    )?;
    let rate = v["with_aug"].as_f64().context("with_aug")?;
    Ok(Stats {
        median: rate,
        min: rate,
        max: rate,
    })
}

/// Images per second of one training step (forward, cross-entropy, backward; no optimizer step)
/// and of one inference pass (evaluation mode), on random `[bs, 3, size, size]` inputs, 2
/// classes, on the CPU: each run times one of each, after one warm-up.
fn model_speed(arch: &str, bs: usize, size: usize, runs: usize) -> Result<(Stats, Stats)> {
    use fastcandle::core::candle::{DType, Device, Tensor};
    use fastcandle::core::{Model, ops::cross_entropy};
    use fastcandle::models::{Arch, Pretrained, VisionModel};
    let dev = Device::Cpu;
    let arch: Arch = arch.parse()?;
    let model = VisionModel::new(arch, 2, &Pretrained::No, &dev, 0)?;
    let x = Tensor::randn(0f32, 1., (bs, 3, size, size), &dev)?;
    let y = Tensor::from_vec((0..bs as u32).map(|i| i % 2).collect::<Vec<_>>(), bs, &dev)?;
    let (mut train, mut infer) = (Vec::new(), Vec::new());
    fastcandle::core::threads::run_in_pool(|| -> Result<()> {
        for i in 0..=runs {
            let t0 = Instant::now();
            let out = model.forward_t(std::slice::from_ref(&x), true)?;
            let grads = cross_entropy(&out, &y, None)?.backward()?;
            let t1 = t0.elapsed().as_secs_f64();
            drop(grads);
            let t2 = Instant::now();
            model
                .forward_t(std::slice::from_ref(&x), false)?
                .to_dtype(DType::F32)?
                .sum_all()?
                .to_scalar::<f32>()?;
            let t3 = t2.elapsed().as_secs_f64();
            if i > 0 {
                train.push(bs as f64 / t1);
                infer.push(bs as f64 / t3);
            }
        }
        Ok(())
    })?;
    Ok((Stats::of(train), Stats::of(infer)))
}

/// PyTorch's figures for [`model_speed`], from `scripts/bench/torch_vision_step.py`.
fn torch_model_speed(
    py: &str,
    arch: &str,
    bs: usize,
    size: usize,
    runs: usize,
) -> Result<(Stats, Stats)> {
    let v = reference_json(
        py,
        "torch_vision_step.py",
        &[
            arch.to_string(),
            bs.to_string(),
            size.to_string(),
            runs.to_string(),
        ],
    )?;
    let list = |k: &str| -> Result<Stats> {
        let xs: Vec<f64> = v[k]
            .as_array()
            .with_context(|| format!("`{k}` in the PyTorch figures"))?
            .iter()
            .filter_map(|x| x.as_f64())
            .collect();
        anyhow::ensure!(!xs.is_empty(), "no `{k}` figure from PyTorch");
        Ok(Stats::of(xs))
    };
    Ok((list("train")?, list("infer")?))
}

fn rayon_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Runs the benchmarks and writes the report.
pub fn run(args: BenchArgs) -> Result<()> {
    let runs = args.runs.max(1);
    let py = reference_python(&args);
    println!(
        "bench: {runs} timed runs after a warm-up, {} threads",
        rayon_threads()
    );
    let mut rows = Vec::new();

    let ours = tabular_epoch(runs)?;
    let theirs = match &py {
        Some(py) => Some(("fastai".to_string(), fastai_tabular_epoch(py, runs)?)),
        None => None,
    };
    rows.push(Row {
        name: "tabular_adult_epoch".into(),
        ours,
        theirs,
        unit: "s",
        higher_is_better: false,
    });

    match animal_shapes() {
        Some(folder) => {
            let ours = image_loader(&folder, runs.min(3))?;
            let theirs = match &py {
                Some(py) => Some(("fastai".to_string(), fastai_image_loader(py, &folder)?)),
                None => None,
            };
            rows.push(Row {
                name: "image_loader_224".into(),
                ours,
                theirs,
                unit: "images/s",
                higher_is_better: true,
            });
        }
        None => println!("image_loader_224: skipped, ../shared/data/animal-shapes is absent"),
    }

    // Models: ResNet34 (the lesson's architecture) and MobileNetV2 (the offline pretrained one).
    for (arch, bs, size) in [("resnet34", 32, 224), ("mobilenet_v2", 64, 224)] {
        let model_runs = runs.min(3);
        let (train, infer) = model_speed(arch, bs, size, model_runs)?;
        let theirs = match &py {
            Some(py) => Some(torch_model_speed(py, arch, bs, size, model_runs)?),
            None => None,
        };
        for (what, ours, i) in [("train_step", train, 0), ("inference", infer, 1)] {
            rows.push(Row {
                name: format!("{arch}_{what}_bs{bs}_{size}"),
                ours,
                theirs: theirs.map(|t| ("pytorch".to_string(), if i == 0 { t.0 } else { t.1 })),
                unit: "images/s",
                higher_is_better: true,
            });
        }
    }

    let mut md = String::from(
        "| name | ours | spread | reference | spread | ratio (higher: ours better) | unit |\n|---|---|---|---|---|---|---|\n",
    );
    let mut js = Vec::new();
    for r in &rows {
        let (tname, tmed, tspread, ratio) = match &r.theirs {
            Some((n, s)) => {
                let ratio = if r.higher_is_better {
                    r.ours.median / s.median
                } else {
                    s.median / r.ours.median
                };
                (
                    n.clone(),
                    format!("{:.4}", s.median),
                    format!("{:.4}-{:.4}", s.min, s.max),
                    Some(ratio),
                )
            }
            None => ("-".into(), "-".into(), "-".into(), None),
        };
        md.push_str(&format!(
            "| {} | {:.4} | {:.4}-{:.4} | {} {} | {} | {} | {} |\n",
            r.name,
            r.ours.median,
            r.ours.min,
            r.ours.max,
            tname,
            tmed,
            tspread,
            ratio.map(|x| format!("{x:.2}x")).unwrap_or("-".into()),
            r.unit
        ));
        js.push(json!({
            "name": r.name, "ours": r.ours.median, "ours_min": r.ours.min, "ours_max": r.ours.max,
            "reference": r.theirs.as_ref().map(|t| t.0.clone()),
            "pytorch": r.theirs.as_ref().filter(|t| t.0 == "pytorch").map(|t| t.1.median),
            "fastai": r.theirs.as_ref().filter(|t| t.0 == "fastai").map(|t| t.1.median),
            "unit": r.unit, "ratio": ratio, "ours_peak_mib": peak_rss_mib(),
        }));
    }
    if py.is_none() {
        md.push_str("\nNo reference measured: no Python with fastai and torch was found (`--python PATH`).\n");
    }
    md.push_str("\nratio: the reference's time over ours for times (higher is better: ours is faster), ours over theirs for rates.\n");
    println!("\n{md}");
    let out = args.out.unwrap_or_else(|| {
        PathBuf::from("runs/bench").join(format!("{}.md", crate::run_dir::timestamp()))
    });
    write(&out, &md)?;
    if let Some(p) = args.json {
        write(&p, &serde_json::to_string_pretty(&js)?)?;
    }
    println!("wrote {}", out.display());
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<()> {
    fastcandle::core::tensor_io::write_atomic(path, text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}
