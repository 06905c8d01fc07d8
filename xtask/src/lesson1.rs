//! `cargo xtask lesson1`: the lesson-1 tasks on the embedded data.

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

/// Runs the lesson's tasks one after the other.
pub fn run(args: Lesson1Args) -> Result<()> {
    let root = args
        .out
        .unwrap_or_else(|| crate::run_dir::default_out("lesson1"));
    println!(
        "fastai lesson 1, tabular: UCI Adult (embedded sample), tabular_learner, fit_one_cycle(3)\n"
    );
    let summary = crate::train::run(TrainArgs {
        task: Task::Adult,
        data: None,
        test: None,
        epochs: Some(3),
        lr: None,
        bs: 64,
        seed: 42,
        device: args.device,
        out: Some(root.join("adult")),
        arch: None,
        pretrained: None,
        size: None,
        resume: None,
        only: Vec::new(),
        quiet: false,
    })?;
    println!(
        "\nadult: accuracy {:.4} (fastai's published figure: 0.8457), {:.1} s in all",
        summary["metrics"]["accuracy"].as_f64().unwrap_or(f64::NAN),
        summary["wall_s"].as_f64().unwrap_or(f64::NAN)
    );
    Ok(())
}
