//! Our side of a row, measured in a child process of its own (`cargo xtask bench-worker ROW`),
//! so that the peak memory it reports is the row's and not the whole benchmark's.

use super::loader::{measure_loader, pets_like_loader};
use super::rows::{self, Mode, Precision, Workload};
use super::stats::{Measured, peak_rss_mib};
use crate::tasks::adult;
use anyhow::{Context, Result, bail};
use clap::Args;
use fastcandle::core::DeviceChoice;
use fastcandle::core::candle::{DType, Device, Tensor};
use fastcandle::tabular::prelude::*;
use serde_json::json;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

/// Options of the hidden `cargo xtask bench-worker` (run by `bench`, one row per process).
#[derive(Args, Debug, Clone)]
pub struct WorkerArgs {
    /// The row's name (`resnet34_train_224_bs8`).
    pub row: String,
    /// Timed runs after one warm-up.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// The device.
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

/// Measures one row in this process and prints `{"values": [...], "peak_mib": ...}`.
pub fn run(args: WorkerArgs) -> Result<()> {
    let w = rows::by_name(&args.row).with_context(|| format!("no bench row `{}`", args.row))?;
    let device: DeviceChoice = args.device.parse()?;
    let dev = device.device()?;
    let runs = args.runs.max(1);
    let values = fastcandle::core::threads::run_in_pool(|| match &w {
        Workload::TabularEpoch => tabular_epochs(runs, device),
        Workload::ImageLoader => loader_rates(runs),
        Workload::Model {
            arch,
            mode,
            size,
            bs,
            precision,
        } => model_rates(arch, *mode, *size, *bs, *precision, runs, &dev),
    })?;
    println!(
        "{}",
        json!({ "values": values, "peak_mib": peak_rss_mib(), "device": args.device })
    );
    Ok(())
}

/// Runs `row` in a child process and reads what it prints.
pub fn measure(w: &Workload, runs: usize, device: &str) -> Result<Measured> {
    let exe = std::env::current_exe().context("finding the xtask executable")?;
    let out = Command::new(exe)
        .args(["bench-worker", &w.name(), "--runs", &runs.to_string()])
        .args(["--device", device])
        .output()
        .with_context(|| format!("running the bench worker for {}", w.name()))?;
    if !out.status.success() {
        bail!(
            "the bench worker for {} failed: {}",
            w.name(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    super::reference::parse_measured(&out.stdout, &w.name())
}

/// The Adult training file: the full one from `../shared/data` when present, else the embedded
/// copy.
pub fn adult_data() -> PathBuf {
    let shared = crate::workspace_root().join("../shared/data/adult/adult.csv");
    if shared.exists() {
        shared
    } else {
        adult::embedded_data()
    }
}

/// The cat and dog silhouettes of `../shared/data/animal-shapes` (the Pets stand-in), if present.
pub fn animal_shapes() -> Option<PathBuf> {
    let p = crate::workspace_root().join("../shared/data/animal-shapes/images");
    p.exists().then_some(p)
}

/// Seconds per epoch of the tabular lesson (bs 64, fit_one_cycle's schedule, training and
/// validation), after one warm-up epoch.
fn tabular_epochs(runs: usize, device: DeviceChoice) -> Result<Vec<f64>> {
    let dls = adult::data_loaders(&adult_data(), 64, 42, device)?;
    let mut learn = TabularLearner::builder(&dls)
        .seed(42)
        .build()?
        .metrics([accuracy()]);
    learn.quiet(true);
    learn.fit_one_cycle(1, None)?; // warm-up
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            learn.fit_one_cycle(1, None)?;
            Ok(t.elapsed().as_secs_f64())
        })
        .collect()
}

/// Images per second through the Pets-like loader over 2 training epochs of 1,600 images, once
/// per run.
fn loader_rates(runs: usize) -> Result<Vec<f64>> {
    let folder = animal_shapes().context("../shared/data/animal-shapes is absent")?;
    let dls = pets_like_loader(&folder, Device::Cpu)?;
    (0..runs).map(|_| measure_loader(&dls, 2)).collect()
}

/// Images per second of `runs` runs of training steps (forward, cross-entropy, backward; no
/// optimizer step) or inference passes (evaluation mode) on random inputs, 2 classes, after
/// one warm-up pass. A run sums the times of as many passes as make [`MIN_RUN_SECS`] at the
/// warm-up's pace (one pass where that is longer), so that a small row's median is not one
/// pass of a few milliseconds against the machine's noise; PyTorch's side does the same.
/// In bf16 the f32 model meets the input cast to bf16 and its output goes back to f32 before
/// the loss, as `Learner::to_bf16`'s callback does (the cast of the input is timed too).
fn model_rates(
    arch: &str,
    mode: Mode,
    size: usize,
    bs: usize,
    precision: Precision,
    runs: usize,
    dev: &Device,
) -> Result<Vec<f64>> {
    use fastcandle::core::{Model, ops::cross_entropy};
    use fastcandle::models::{Arch, Pretrained, VisionModel};
    let model = VisionModel::new(arch.parse::<Arch>()?, 2, &Pretrained::No, dev, 0)?;
    let x = Tensor::randn(0f32, 1., (bs, 3, size, size), dev)?;
    let y = Tensor::from_vec((0..bs as u32).map(|i| i % 2).collect::<Vec<_>>(), bs, dev)?;
    // Seconds of one pass; the gradients are freed after the clock stops, as PyTorch's
    // `zero_grad` is.
    let pass = || -> Result<f64> {
        let t = Instant::now();
        let x = match precision {
            Precision::F32 => x.clone(),
            Precision::Bf16 => x.to_dtype(DType::BF16)?,
        };
        let grads = match mode {
            Mode::Train => {
                let out = model
                    .forward_t(std::slice::from_ref(&x), true)?
                    .to_dtype(DType::F32)?;
                let grads = cross_entropy(&out, &y, None)?.backward()?;
                dev.synchronize()?;
                Some(grads)
            }
            // Under no_grad, as PyTorch's side runs under `torch.no_grad()`.
            Mode::Infer => {
                let out = fastcandle::core::grad::no_grad(|| {
                    model.forward_t(std::slice::from_ref(&x), false)
                })?;
                out.to_dtype(DType::F32)?.sum_all()?.to_scalar::<f32>()?;
                None
            }
        };
        let secs = t.elapsed().as_secs_f64();
        drop(grads);
        Ok(secs)
    };
    let passes = passes_per_run(pass()?);
    (0..runs)
        .map(|_| {
            let secs = (0..passes).map(|_| pass()).sum::<Result<f64>>()?;
            Ok((passes * bs) as f64 / secs)
        })
        .collect()
}

/// The least time a model row's run lasts, in seconds (see [`passes_per_run`]).
pub const MIN_RUN_SECS: f64 = 0.5;

/// Passes in one timed run of a model row whose warm-up pass took `warm_up` seconds: enough
/// to last [`MIN_RUN_SECS`], at least one. `scripts/bench/torch_vision_step.py` has the same
/// rule.
pub fn passes_per_run(warm_up: f64) -> usize {
    ((MIN_RUN_SECS / warm_up.max(1e-6)).ceil() as usize).clamp(1, 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_lasts_at_least_min_run_secs_at_the_warm_ups_pace() {
        assert_eq!(passes_per_run(0.08), 7); // 0.56 s
        assert_eq!(passes_per_run(0.25), 2);
        assert_eq!(passes_per_run(0.5), 1);
        assert_eq!(passes_per_run(3.0), 1);
        assert_eq!(passes_per_run(0.0), 1000);
        for w in [0.003, 0.07, 0.11, 0.49] {
            assert!(passes_per_run(w) as f64 * w >= MIN_RUN_SECS);
            assert!((passes_per_run(w) - 1) as f64 * w < MIN_RUN_SECS);
        }
    }
}
