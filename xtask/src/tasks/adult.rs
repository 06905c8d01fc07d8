//! The tabular lesson: UCI Adult, `fit_one_cycle(3)` with fastai's defaults.

use crate::outputs;
use crate::resume;
use crate::run_dir::{finish, recorded, test_scores};
use crate::train::{AdultArgs, Mode};
use anyhow::Result;
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
    run_as(task, Mode::Train)
}

/// The task in `mode`: trains (see [`run`]) or finds a learning rate.
pub fn run_as(task: &AdultArgs, mode: Mode) -> Result<serde_json::Value> {
    let args = &task.common;
    let start = Instant::now();
    let data = args.data.clone().unwrap_or_else(embedded_data);
    let run = args.run_dir("adult")?;
    let out = run.path();
    let epochs = args.epochs.unwrap_or(3);

    let dls = data_loaders(&data, args.bs.unwrap_or(64), args.seed, args.device)?;
    // The test file is read (columns, types) before training: a bad one must not cost a run.
    let test_dl = match &task.test {
        Some(path) => Some((path, dls.test_dl_csv(path, true)?)),
        None => None,
    };
    let mut learn = TabularLearner::builder(&dls)
        .seed(args.seed)
        .build()?
        .metrics([accuracy()]);
    learn.quiet(args.quiet);
    learn.set_mixed_precision(args.mixed_precision());
    if mode == Mode::LrFind {
        return outputs::lr_find_run("adult", &mut learn, out, start, args);
    }
    // What shapes the result, saved in every checkpoint: a resume must ask for the same.
    let options = args.shaping("adult", &data, epochs, args.bs.unwrap_or(64));
    let history = out.join("history.csv");
    let resumed = resume::start(&mut learn, out, &options, args)?;
    crate::fit_callbacks::add(&mut learn, out, args)?;
    if let (Some(info), Some(ckpt)) = (&resumed, &args.resume) {
        anyhow::ensure!(
            info.n_epoch == epochs && info.epochs_before == 0,
            "{} was saved by a fit of {} epochs; resume it with --epochs {}",
            ckpt.display(),
            info.n_epoch,
            info.n_epoch
        );
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

    let (last, epoch_times) = recorded(&history)?;
    // The model is saved before anything else can fail.
    learn.export(out)?;
    let test = match test_dl {
        Some((path, tdl)) => {
            let scores = learn.validate(Some(tdl.batches()))?;
            let m = test_scores(scores, &format!("{} rows", tdl.len()), args.quiet);
            Some(json!({ "file": path.display().to_string(), "rows": tdl.len(), "metrics": m }))
        }
        None => None,
    };
    let interpretation = outputs::tabular(&mut learn, out)?;
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
        "callbacks": crate::fit_callbacks::summary(args, out, &learn),
        "test": test,
        "interpretation": interpretation,
        "epoch_times_s": epoch_times,
        "wall_s": start.elapsed().as_secs_f64(),
    });
    finish(out, summary, args.quiet)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::CommonArgs;

    /// The first `rows` rows of the embedded sample, as a CSV in `dir`.
    fn small_csv(dir: &std::path::Path, rows: usize) -> std::path::PathBuf {
        let text = std::fs::read_to_string(embedded_data()).unwrap();
        let cut: Vec<&str> = text.lines().take(rows + 1).collect();
        let path = dir.join("adult.csv");
        std::fs::write(&path, cut.join("\n") + "\n").unwrap();
        path
    }

    /// Quiet options of one epoch on `dir/adult.csv` into `dir/run`.
    fn common_for(dir: &std::path::Path) -> CommonArgs {
        let mut common = CommonArgs::new(1, DeviceChoice::Cpu, dir.join("run"));
        common.data = Some(dir.join("adult.csv"));
        common.quiet = true;
        common
    }

    /// Runs `train adult` on `csv` into `dir/run`, quietly, and gives its error text.
    fn run_err(dir: &std::path::Path, csv: std::path::PathBuf) -> String {
        let mut common = common_for(dir);
        common.data = Some(csv);
        let args = AdultArgs { common, test: None };
        run(&args).unwrap_err().to_string()
    }

    #[test]
    fn fewer_training_rows_than_the_batch_size_is_an_error_and_leaves_no_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let err = run_err(tmp.path(), small_csv(tmp.path(), 50));
        assert!(
            err.contains("no training step") && err.contains("40 training items at batch size 64"),
            "{err}"
        );
        assert!(
            !tmp.path().join("run").exists(),
            "a failed run left its folder"
        );
    }

    #[test]
    fn pandas_missing_markers_in_the_target_are_missing_not_a_class() {
        let tmp = tempfile::tempdir().unwrap();
        let path = small_csv(tmp.path(), 300);
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        for (line, marker) in [(250, "NaN"), (7, "nan"), (120, "NA"), (33, "null")] {
            let cut = lines[line].rfind(',').unwrap();
            lines[line] = format!("{},{marker}", &lines[line][..cut]);
        }
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        let err = run_err(tmp.path(), path);
        // Every row without a target, in file order, wherever the split put it.
        assert!(
            err.contains("4 row(s)") && err.contains("rows 7, 33, 120, 250"),
            "{err}"
        );
    }

    #[test]
    fn a_file_cut_inside_its_last_target_is_an_error_naming_the_line() {
        let tmp = tempfile::tempdir().unwrap();
        let path = small_csv(tmp.path(), 300);
        let text = std::fs::read_to_string(&path).unwrap();
        // Cut inside the last row's `<=50K` (or `>50K`), with no end-of-line.
        let cut = text.trim_end().len() - 2;
        std::fs::write(&path, &text[..cut]).unwrap();
        let err = run_err(tmp.path(), path);
        assert!(
            err.contains("line 301") && err.contains("looks cut short"),
            "{err}"
        );
    }

    #[test]
    fn resuming_with_other_options_is_an_error_naming_them() {
        let tmp = tempfile::tempdir().unwrap();
        small_csv(tmp.path(), 300);
        let common = common_for(tmp.path());
        let args = |mut common: CommonArgs, resume| {
            common.resume = resume;
            AdultArgs { common, test: None }
        };
        run(&args(common.clone(), None)).unwrap();
        let ckpt = tmp.path().join("run/checkpoint.safetensors");
        let mut other = common.clone();
        other.bs = Some(32);
        other.seed = 7;
        let err = run(&args(other, Some(ckpt.clone())))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("bs: 64 -> 32") && err.contains("seed: 42 -> 7"),
            "{err}"
        );
        // The same options resume (here: a finished fit, nothing left to run), and the summary
        // keeps the times of the epochs run before.
        let summary = run(&args(common, Some(ckpt))).unwrap();
        assert_eq!(summary["epoch_times_s"].as_array().unwrap().len(), 1);
        // A bad test file is found before training, not after.
        let bad = tmp.path().join("bad_test.csv");
        std::fs::write(&bad, "age,salary\n30,<=50K\n").unwrap();
        let mut fresh = CommonArgs::new(1, DeviceChoice::Cpu, tmp.path().join("run2"));
        fresh.data = Some(tmp.path().join("adult.csv"));
        fresh.quiet = true;
        let err = run(&AdultArgs {
            common: fresh,
            test: Some(bad),
        })
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("bad_test.csv") && err.contains("no column"),
            "{err}"
        );
        assert!(
            !tmp.path().join("run2").exists(),
            "no training ran, no folder is left"
        );
        // A new run into the finished one is refused unless forced; a run on a folder another
        // run holds is refused.
        let mut again = common_for(tmp.path());
        let err = run(&args(again.clone(), None)).unwrap_err().to_string();
        assert!(
            err.contains("holds an earlier run") && err.contains("--force"),
            "{err}"
        );
        let held = crate::run_lock::RunDir::open(
            &tmp.path().join("run"),
            crate::run_lock::Existing::Resume,
        )
        .unwrap();
        again.force = true;
        let err = run(&args(again.clone(), None)).unwrap_err().to_string();
        assert!(err.contains("another run is writing"), "{err}");
        drop(held);
        run(&args(again.clone(), None)).unwrap();
        // Checkpoints every N epochs, or none.
        again.checkpoint_every = 0;
        run(&args(again, None)).unwrap();
        assert!(!tmp.path().join("run/checkpoint.safetensors").exists());
    }

    #[test]
    fn a_run_writes_its_pictures_interpretation_and_report_and_lr_find_its_curve() {
        let tmp = tempfile::tempdir().unwrap();
        small_csv(tmp.path(), 600);
        let args = AdultArgs {
            common: common_for(tmp.path()),
            test: None,
        };
        let summary = run(&args).unwrap();
        let out = tmp.path().join("run");
        for f in [
            "loss.png",
            "sched.png",
            "results.png",
            "confusion_matrix.png",
            "top_losses.png",
            "interp.json",
            "report.html",
        ] {
            assert!(out.join(f).is_file(), "{f} missing");
        }
        let interp: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("interp.json")).unwrap())
                .unwrap();
        let m: Vec<Vec<u64>> = serde_json::from_value(interp["confusion_matrix"].clone()).unwrap();
        let total: u64 = m.iter().flatten().sum();
        assert_eq!(total, 120, "the 120 validation rows");
        let trace: u64 = (0..m.len()).map(|i| m[i][i]).sum();
        let accuracy = summary["metrics"]["accuracy"].as_f64().unwrap();
        assert!((trace as f64 / total as f64 - accuracy).abs() < 1e-9);
        assert_eq!(interp["vocab"], serde_json::json!(["<=50K", ">50K"]));
        let top = interp["top_losses"].as_array().unwrap();
        assert!(top[0]["item"].as_str().unwrap().contains("workclass="));

        // lr-find on the same task: its curve, its suggestions, its page.
        let mut lr = args.clone();
        lr.common.out = Some(tmp.path().join("lr"));
        let found = run_as(&lr, Mode::LrFind).unwrap();
        let lr_out = tmp.path().join("lr");
        for f in ["lr_find.png", "lr_find.json", "report.html", "summary.json"] {
            assert!(lr_out.join(f).is_file(), "{f} missing");
        }
        assert!(
            !lr_out.join("history.csv").exists(),
            "lr-find trains nothing"
        );
        for k in ["valley", "minimum", "steep"] {
            let v = found["suggestions"][k].as_f64().unwrap();
            assert!((1e-7..=10.0).contains(&v), "{k} {v}");
        }
    }
}
