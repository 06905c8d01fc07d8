//! `cargo xtask`: fastcandle's front door for runs.
//!
//! - `cargo xtask lesson1`: fastai's lesson 1 on the data embedded in `datasets/`, offline.
//! - `cargo xtask train <task> [options]`: one training run, written to `--out`, with its
//!   pictures and `report.html`.
//! - `cargo xtask lr-find <task> [options]`: fastai's `lr_find` on the task's learner:
//!   `lr_find.png`, `lr_find.json`, the suggestions printed.
//! - `cargo xtask visualize --run DIR | --arch NAME --pretrained W`: the filters, the top
//!   patches of every stage and Grad-CAM pictures of a vision model.
//! - `cargo xtask bench`: timings of the hot paths, written to a report.
//! - `cargo xtask bench-loader [FOLDER] [EPOCHS]`: the image loader's rate, with and without
//!   augmentation.
//! - `cargo xtask fetch <NAME>|--all|--list`: downloads and extracts registry data sets.

mod bench;
mod fetch;
mod fit_callbacks;
mod lesson1;
mod outputs;
mod report;
mod resume;
mod run_dir;
mod run_lock;
mod tasks;
mod train;
mod visualize;

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
    /// Trains one task and writes history.csv, summary.json, the model, its pictures and
    /// report.html to --out.
    Train(train::TrainArgs),
    /// Runs fastai's lr_find on a task's learner (the task's data and model options) and
    /// writes lr_find.png, lr_find.json and report.html to --out.
    LrFind(train::TrainArgs),
    /// Draws what a vision model learned: the first layer's filters, each stage's top patches,
    /// Grad-CAM heat maps of validation images (from a run folder or an architecture).
    Visualize(visualize::VisualizeArgs),
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
        Command::LrFind(a) => train::run_as(a, train::Mode::LrFind).map(|_| ()),
        Command::Visualize(a) => visualize::run(a).map(|_| ()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::Task;
    use clap::CommandFactory;
    use clap::error::ErrorKind;
    use fastcandle::models::{Arch, Pretrained};

    fn parse(line: &str) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("cargo xtask").chain(line.split_whitespace()))
    }

    fn train_task(line: &str) -> Task {
        match parse(line).unwrap().command {
            Command::Train(t) => t.task,
            _ => panic!("{line}: not a train command"),
        }
    }

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn an_option_a_task_does_not_take_is_unknown_to_clap() {
        for line in [
            "train adult --size 64",
            "train adult --arch resnet18",
            "train adult --pretrained none",
            "train adult --only Cat_",
            "train camvid --only Cat_",
            "train camvid --test some/folder",
            "train mnist --test some/folder",
            "train cifar10 --only Cat_",
            "train adult --skip-bad",
        ] {
            let err = parse(line)
                .err()
                .unwrap_or_else(|| panic!("{line}: accepted"));
            assert_eq!(err.kind(), ErrorKind::UnknownArgument, "{line}: {err}");
        }
    }

    #[test]
    fn values_that_cannot_train_are_refused_by_clap() {
        for line in [
            "train adult --lr=nan",
            "train adult --lr inf",
            "train pets --lr 0",
            "train pets --lr=-0.001",
            "train pets --size 0",
            "train camvid --bs 0",
            "train mnist --bs 0",
        ] {
            let err = parse(line)
                .err()
                .unwrap_or_else(|| panic!("{line}: accepted"));
            assert_eq!(err.kind(), ErrorKind::ValueValidation, "{line}: {err}");
        }
        assert!(parse("train adult --lr 3e-3 --bs 1").is_ok());
    }

    #[test]
    fn vision_options_parse_into_their_types() {
        let Task::Pets(a) = train_task("train pets --arch resnet18 --pretrained none --size 64")
        else {
            panic!("not pets")
        };
        assert_eq!(a.vision.arch, Some(Arch::Resnet18));
        assert_eq!(a.vision.pretrained, Some(Pretrained::No));
        assert_eq!(a.vision.size, Some(64));
        let Task::Camvid(a) = train_task("train camvid --pretrained w.safetensors --device cpu")
        else {
            panic!("not camvid")
        };
        assert_eq!(
            a.vision.pretrained,
            Some(Pretrained::File("w.safetensors".into()))
        );
        assert_eq!(a.common.device, fastcandle::core::DeviceChoice::Cpu);
        let Task::Adult(a) = train_task("train adult --epochs 2 --resume c.safetensors") else {
            panic!("not adult")
        };
        assert_eq!(a.common.epochs, Some(2));
        assert!(a.common.resume.is_some());
    }

    /// `--arch`'s help lists every architecture, from `Arch::names()`.
    #[test]
    fn the_arch_help_lists_every_architecture() {
        for cmd in [
            "train pets",
            "train camvid",
            "train fashion-mnist",
            "visualize",
        ] {
            let err = parse(&format!("{cmd} --help")).err().unwrap();
            assert_eq!(err.kind(), ErrorKind::DisplayHelp, "{cmd}");
            let text = err.to_string();
            for name in Arch::names() {
                assert!(text.contains(name), "`{cmd} --help` lacks {name}: {text}");
            }
        }
    }

    #[test]
    fn the_training_callback_flags_parse_for_every_task_and_tta_for_image_classifiers() {
        let Task::Adult(a) = train_task("train adult --save-best --early-stop 3 --accumulate 128")
        else {
            panic!("not adult")
        };
        assert!(a.common.save_best);
        assert_eq!(a.common.early_stop, Some(3));
        assert_eq!(a.common.accumulate, Some(128));
        let Task::Adult(a) = train_task("train adult") else {
            panic!("not adult")
        };
        assert!(!a.common.save_best);
        assert_eq!((a.common.early_stop, a.common.accumulate), (None, None));
        for line in [
            "train camvid --save-best --early-stop 2 --accumulate 16",
            "train spoken-digits --early-stop 1",
            "train mnist --accumulate 256 --save-best",
        ] {
            assert!(parse(line).is_ok(), "{line}");
        }
        let Task::Pets(a) = train_task("train pets --tta --accumulate 64") else {
            panic!("not pets")
        };
        assert!(a.tta.tta);
        let Task::Cifar10(a) = train_task("train cifar10 --tta") else {
            panic!("not cifar10")
        };
        assert!(a.tta.tta);
        let Task::FashionMnist(a) = train_task("train fashion-mnist") else {
            panic!("not fashion-mnist")
        };
        assert!(!a.tta.tta);
        // TTA is for image classification: the other tasks do not take it.
        for line in [
            "train adult --tta",
            "train camvid --tta",
            "train spoken-digits --tta",
        ] {
            let err = parse(line)
                .err()
                .unwrap_or_else(|| panic!("{line}: accepted"));
            assert_eq!(err.kind(), ErrorKind::UnknownArgument, "{line}: {err}");
        }
        for line in [
            "train adult --early-stop 0",
            "train pets --accumulate 0",
            "train camvid --early-stop=-1",
        ] {
            let err = parse(line)
                .err()
                .unwrap_or_else(|| panic!("{line}: accepted"));
            assert_eq!(err.kind(), ErrorKind::ValueValidation, "{line}: {err}");
        }
    }

    #[test]
    fn an_unknown_architecture_lists_the_known_ones() {
        let err = parse("train pets --arch resnet101").err().unwrap();
        assert_eq!(err.kind(), ErrorKind::InvalidValue);
        let text = err.to_string();
        for arch in Arch::ALL {
            assert!(text.contains(arch.name()), "{text}");
        }
    }
}
