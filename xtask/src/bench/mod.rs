//! `cargo xtask bench`: timings of the hot paths, with the reference framework (PyTorch or
//! fastai) measured in the same invocation when a Python with it is at hand.
//!
//! Every row runs in a process of its own on each side (ours: `cargo xtask bench-worker ROW`),
//! so that each side's peak memory is the row's own.

pub mod loader;
mod reference;
mod report;
mod rows;
mod stats;
pub mod worker;

use anyhow::{Context, Result};
use clap::Args;
use report::Row;
use std::path::{Path, PathBuf};

/// Options of `cargo xtask bench`.
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Timed runs of the tabular epoch after a warm-up (the median and spread are reported).
    #[arg(long, default_value_t = 7)]
    pub runs: usize,
    /// Timed runs of the model and loader rows after a warm-up.
    #[arg(long, default_value_t = 3)]
    pub model_runs: usize,
    /// Only the rows whose names contain one of these (comma-separated), such as
    /// `resnet34_train_224,tabular`.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
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
    /// The device of both sides' models: auto, cpu, cuda, cuda:N, metal or metal:N (the image
    /// loader always runs on the CPU).
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

/// Runs the benchmarks and writes the report.
pub fn run(args: BenchArgs) -> Result<()> {
    let device = resolve_device(&args.device)?;
    let py = reference::python(args.python.as_deref(), args.no_reference);
    let threads = fastcandle::core::threads::num_threads();
    let selected = rows::select(&args.only);
    anyhow::ensure!(
        !selected.is_empty(),
        "no bench row matches {:?}; rows: {}",
        args.only,
        rows::all()
            .iter()
            .map(|w| w.name())
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "bench: {} rows on {device}, {threads} threads, reference: {}",
        selected.len(),
        py.as_deref().unwrap_or("none")
    );
    let mut rows = Vec::new();
    for w in selected {
        if w.needs_shared_data() && worker::animal_shapes().is_none() {
            println!(
                "{}: skipped, ../shared/data/animal-shapes is absent",
                w.name()
            );
            continue;
        }
        let runs = match w {
            rows::Workload::TabularEpoch => args.runs,
            _ => args.model_runs,
        }
        .max(1);
        let ours = worker::measure(&w, runs, &device)?;
        let theirs = match &py {
            Some(py) => reference::measure(py, &w, runs, threads, &device)?,
            None => None,
        };
        let row = Row {
            workload: w,
            ours,
            theirs,
        };
        println!(
            "{}: ours {:.4} {}{}",
            row.workload.name(),
            row.ours.stats.median,
            row.workload.unit(),
            match (row.theirs, row.ratio()) {
                (Some(t), Some(r)) => format!(
                    ", {} {:.4} ({r:.2}x)",
                    row.workload.reference(),
                    t.stats.median
                ),
                _ => String::new(),
            }
        );
        rows.push(row);
    }

    let mut md = report::markdown(&rows);
    if py.is_none() {
        md.push_str(
            "\nNo reference measured: no Python with fastai and torch was found (`--python PATH`).\n",
        );
    }
    println!("\n{md}");
    let out = args.out.unwrap_or_else(|| {
        PathBuf::from("runs/bench").join(format!("{}.md", crate::run_dir::timestamp()))
    });
    write(&out, &md)?;
    if let Some(p) = args.json {
        let js: Vec<_> = rows.iter().map(Row::json).collect();
        write(&p, &serde_json::to_string_pretty(&js)?)?;
    }
    println!("wrote {}", out.display());
    Ok(())
}

/// `auto` becomes the device it opens (`cpu`, `cuda`, `metal`), so that both sides use it; a
/// named device must open.
fn resolve_device(name: &str) -> Result<String> {
    let choice: fastcandle::core::DeviceChoice = name.parse()?;
    let dev = choice.device()?;
    if choice != fastcandle::core::DeviceChoice::Auto {
        return Ok(name.to_string());
    }
    Ok(if dev.is_cuda() {
        "cuda"
    } else if dev.is_metal() {
        "metal"
    } else {
        "cpu"
    }
    .into())
}

fn write(path: &Path, text: &str) -> Result<()> {
    fastcandle::core::tensor_io::write_atomic(path, text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}
