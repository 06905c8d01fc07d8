//! The tabular lesson: UCI Adult, `fit_one_cycle(3)` with fastai's defaults.

use crate::run_dir::{finish, recorded, test_scores};
use crate::train::AdultArgs;
use anyhow::{Context, Result};
use fastcandle::tabular::prelude::*;
use serde_json::json;
use std::time::Instant;

/// The lesson's columns.
pub const CAT_NAMES: [&str; 6] = [
    "workclass",
    "education",
    "marital-status",
    "occupation",
    "relationship",
    "race",
];
/// The lesson's continuous columns.
pub const CONT_NAMES: [&str; 3] = ["age", "fnlwgt", "education-num"];

/// The embedded sample.
pub fn embedded_data() -> std::path::PathBuf {
    crate::workspace_root().join("datasets/adult_sample/adult.csv")
}

/// The data loaders of the lesson.
pub fn data_loaders(
    data: &std::path::Path,
    bs: usize,
    seed: u64,
    device: DeviceChoice,
) -> fastcandle::Result<TabularDataLoaders> {
    TabularDataLoaders::from_csv(data)
        .y_names(["salary"])
        .cat_names(CAT_NAMES)
        .cont_names(CONT_NAMES)
        .procs([Categorify, FillMissing, Normalize])
        .valid_pct(0.2)
        .seed(seed)
        .bs(bs)
        .device(device)
        .build()
}

/// Trains, scores, and writes the run's files; returns the summary.
pub fn run(task: &AdultArgs) -> Result<serde_json::Value> {
    let args = &task.common;
    let start = Instant::now();
    let data = args.data.clone().unwrap_or_else(embedded_data);
    let run = args.run_dir("adult", task.resume.is_some())?;
    let out = run.path();
    let epochs = args.epochs.unwrap_or(3);

    let dls = data_loaders(&data, args.bs.unwrap_or(64), args.seed, args.device)?;
    let mut learn = TabularLearner::builder(&dls)
        .seed(args.seed)
        .build()?
        .metrics([accuracy()]);
    learn.quiet(args.quiet);
    learn.add_cb(SaveCheckpoint::new(out.join("checkpoint.safetensors")));
    let history = out.join("history.csv");
    if let Some(ckpt) = &task.resume {
        let info = fastcandle::train::checkpoint::load_checkpoint(&mut learn, ckpt)
            .with_context(|| format!("resuming from {}", ckpt.display()))?;
        learn.add_cb(CsvLogger::resume(&history, info.epochs_done)?);
        anyhow::ensure!(
            info.n_epoch == epochs,
            "{} was saved by a fit of {} epochs; resume it with --epochs {}",
            ckpt.display(),
            info.n_epoch,
            info.n_epoch
        );
        if !args.quiet {
            println!(
                "resuming from {} after epoch {} of {}",
                ckpt.display(),
                info.epochs_done,
                info.n_epoch
            );
        }
    } else {
        learn.add_cb(CsvLogger::new(&history));
    }
    if !args.quiet {
        println!(
            "adult: {} ({} train / {} valid rows), fit_one_cycle({epochs}), seed {}, device {}",
            data.display(),
            dls.loaders().train_data().n_rows,
            dls.loaders().valid_data().n_rows,
            args.seed,
            fastcandle::core::device::device_name(dls.device())
        );
    }
    learn.fit_one_cycle(epochs, args.lr)?;

    let (last, epoch_times) = recorded(learn.recorder().context("the Recorder is present")?);
    let test = match &task.test {
        Some(path) => {
            let tdl = dls.test_dl_csv(path, true)?;
            let scores = learn.validate(Some(tdl.batches()))?;
            let m = test_scores(scores, &format!("{} rows", tdl.len()), args.quiet);
            Some(json!({ "file": path.display().to_string(), "rows": tdl.len(), "metrics": m }))
        }
        None => None,
    };
    learn.export(&out)?;
    let summary = json!({
        "task": "adult",
        "data": data.display().to_string(),
        "arch": format!("tabular_model{:?}", learn.config().layers),
        "seed": args.seed,
        "device": fastcandle::core::device::device_name(dls.device()),
        "epochs": epochs,
        "bs": args.bs.unwrap_or(64),
        "lr": args.lr.unwrap_or(learn.lr),
        "metrics": last,
        "test": test,
        "epoch_times_s": epoch_times,
        "wall_s": start.elapsed().as_secs_f64(),
    });
    finish(&out, summary, args.quiet)
}
