//! `cargo xtask`: fastcandle's front door for runs.
//!
//! - `cargo xtask lesson1`: fastai's lesson 1 on the data embedded in `datasets/`, offline.
//! - `cargo xtask train <task> [options]`: one training run, written to `--out`.
//! - `cargo xtask bench`: timings of the hot paths, written to a report.
//! - `cargo xtask bench-loader [FOLDER] [EPOCHS]`: the image loader's rate, with and without
//!   augmentation.
//! - `cargo xtask fetch <NAME>|--all|--list`: downloads and extracts registry data sets.

mod bench;
mod fetch;
mod lesson1;
mod run_dir;
mod tasks;
mod train;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// jemalloc that keeps freed memory: about twice as fast a CPU training step as the system
/// allocator (see `fastcandle::core::alloc`).
#[global_allocator]
static ALLOC: fastcandle::core::alloc::Allocator = fastcandle::core::alloc::Allocator;

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "fastcandle's runs: lessons, training, benchmarks"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the lesson-1 tasks on the data embedded in `datasets/` (no network needed).
    Lesson1(lesson1::Lesson1Args),
    /// Trains one task and writes history.csv, summary.json and the model to --out.
    Train(train::TrainArgs),
    /// Measures the hot paths and writes a report.
    Bench(bench::BenchArgs),
    /// Measures the image loader on animal-shapes, with and without augmentation.
    BenchLoader(bench::loader::LoaderArgs),
    /// Measures one bench row in this process (run by `bench`).
    #[command(hide = true)]
    BenchWorker(bench::worker::WorkerArgs),
    /// Downloads and extracts a registry data set (or --all) and prints where it is.
    Fetch(fetch::FetchArgs),
}

fn main() -> Result<()> {
    // SAFETY: first thing in main, before any other thread exists.
    unsafe { fastcandle::core::threads::set_thread_env() };
    match Cli::parse().command {
        Command::Lesson1(a) => lesson1::run(a),
        Command::Train(a) => train::run(a).map(|_| ()),
        Command::Bench(a) => bench::run(a),
        Command::BenchLoader(a) => bench::loader::run(a),
        Command::BenchWorker(a) => bench::worker::run(a),
        Command::Fetch(a) => fetch::run(a),
    }
}

/// The workspace root (where `datasets/` lives).
pub fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace")
        .to_path_buf()
}
