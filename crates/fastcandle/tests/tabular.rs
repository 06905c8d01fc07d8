//! The tabular application end to end: data loaders from a CSV, training, predict, export and
//! load, test sets (UCI's format included), and the errors a user meets.

use fastcandle::tabular::TabularPredictor;
use fastcandle::tabular::prelude::*;
use std::path::{Path, PathBuf};

mod common;

/// A small table where `label` is `hi` when `x + 2*(city == b) > 1`.
fn write_toy_csv(dir: &Path, n: usize) -> PathBuf {
    let mut text = String::from("x,city,noise,label\n");
    for i in 0..n {
        let x = ((i * 37) % 100) as f64 / 50.0 - 1.0;
        let city = ["a", "b", "c"][i % 3];
        let noise = if i % 17 == 0 {
            String::new()
        } else {
            format!("{}", (i * 13 % 7) as f64)
        };
        let label = if x + if city == "b" { 2.0 } else { 0.0 } > 1.0 {
            "hi"
        } else {
            "lo"
        };
        text.push_str(&format!("{x},{city},{noise},{label}\n"));
    }
    let p = dir.join("toy.csv");
    std::fs::write(&p, text).unwrap();
    p
}

fn toy_dls(path: &Path) -> fastcandle::Result<TabularDataLoaders> {
    TabularDataLoaders::from_csv(path)
        .y_names(["label"])
        .cat_names(["city"])
        .cont_names(["x", "noise"])
        .procs([Categorify, FillMissing, Normalize])
        .valid_pct(0.2)
        .seed(7)
        .bs(32)
        .device(DeviceChoice::Cpu)
        .build()
}

#[test]
fn trains_predicts_exports_and_loads() {
    let dir = tempfile::tempdir().unwrap();
    let dls = toy_dls(&write_toy_csv(dir.path(), 600)).unwrap();
    // FillMissing found missing values in `noise` and added its flag column.
    assert_eq!(dls.processor().cat_names(), ["city", "noise_na"]);
    assert_eq!(dls.processor().classes().unwrap(), ["hi", "lo"]);
    let mut learn = tabular_learner(&dls).unwrap().metrics([accuracy()]);
    learn.quiet(true);
    learn.fit_one_cycle(8, Some(1e-2)).unwrap();
    let scores = learn.validate(None).unwrap();
    assert!(scores[1].1 > 0.9, "accuracy {scores:?}");

    let p = learn
        .predict_one(&[("x", "0.9"), ("city", "b"), ("noise", "1")])
        .unwrap();
    assert_eq!(p.label, "hi");
    assert!((p.probs.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    let q = learn
        .predict_one(&[("x", "-0.9"), ("city", "a"), ("noise", "")])
        .unwrap();
    assert_eq!(q.label, "lo");

    let out = dir.path().join("export");
    learn.export(&out).unwrap();
    let loaded: TabularPredictor = load_tabular_learner(&out, DeviceChoice::Cpu).unwrap();
    for row in [
        vec![("x", "0.9"), ("city", "b"), ("noise", "1")],
        vec![("x", "0.2"), ("city", "zzz"), ("noise", "")],
    ] {
        assert_eq!(
            learn.predict_one(&row).unwrap(),
            loaded.predict_one(&row).unwrap()
        );
    }
    assert_eq!(loaded.processor(), learn.processor());
}

#[test]
fn a_uci_style_test_file_is_read_like_the_training_file() {
    let dir = tempfile::tempdir().unwrap();
    let dls = toy_dls(&write_toy_csv(dir.path(), 300)).unwrap();
    let mut learn = tabular_learner(&dls).unwrap().metrics([accuracy()]);
    learn.quiet(true);
    learn.fit_one_cycle(3, Some(1e-2)).unwrap();
    // A comment line, no header, `, ` separators, labels ending in `.`, `?` for missing.
    let test = dir.path().join("toy.test");
    std::fs::write(
        &test,
        "|1x3 Cross validator\n0.9, b, 1, hi.\n-0.9, a, ?, lo.\n0.5, c, 3, lo.\n",
    )
    .unwrap();
    let tdl = dls.test_dl_csv(&test, true).unwrap();
    assert_eq!(tdl.len(), 3);
    let scores = learn.validate(Some(tdl.batches())).unwrap();
    assert_eq!(scores[0].0, "valid_loss");
    assert!(scores[0].1.is_finite());
    let acc = scores[1].1;
    assert!((0.0..=1.0).contains(&acc) && (acc * 3.0 - (acc * 3.0).round()).abs() < 1e-9);
    // A file with the wrong number of fields and no header is a clear error.
    std::fs::write(&test, "1, 2\n").unwrap();
    let err = dls.test_dl_csv(&test, true).unwrap_err().to_string();
    assert!(err.contains("toy.test") && err.contains("columns"), "{err}");
    // A header without a column the model reads names that column (it was "no header").
    std::fs::write(&test, "x,noise,label\n0.9,1,hi\n").unwrap();
    let err = dls.test_dl_csv(&test, true).unwrap_err().to_string();
    assert!(
        err.contains("toy.test") && err.contains("no column `city`"),
        "{err}"
    );
    // A folder given for the file says so (it was "No such device").
    let err = dls.test_dl_csv(dir.path(), true).unwrap_err().to_string();
    assert!(err.contains("is a folder"), "{err}");
}

#[test]
fn bad_input_gets_errors_that_name_the_file_column_and_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_toy_csv(dir.path(), 50);

    let err = TabularDataLoaders::from_csv(&path)
        .y_names(["label"])
        .cont_names(["age"])
        .build();
    let err = err.err().unwrap().to_string();
    assert!(err.contains("toy.csv") && err.contains("age"), "{err}");

    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "x,label\n1,a\n2,b\nthree,a\n4,b\n5,a\n").unwrap();
    let err = TabularDataLoaders::from_csv(&bad)
        .y_names(["label"])
        .cont_names(["x"])
        .valid_pct(0.2)
        .seed(1)
        .build();
    let err = err.err().unwrap().to_string();
    assert!(
        err.contains("bad.csv") && err.contains("three") && err.contains('3'),
        "{err}"
    );

    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    let err = TabularDataLoaders::from_csv(&empty)
        .y_names(["label"])
        .build()
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("empty.csv"), "{err}");

    let missing = dir.path().join("missing_y.csv");
    std::fs::write(&missing, "x,label\n1,a\n2,\n3,b\n4,a\n5,b\n6,a\n").unwrap();
    let build = |drop: bool| {
        TabularDataLoaders::from_csv(&missing)
            .y_names(["label"])
            .cont_names(["x"])
            .valid_pct(0.2)
            .seed(1)
            .drop_missing_targets(drop)
            .build()
    };
    let err = build(false).err().unwrap().to_string();
    assert!(
        err.contains("label") && err.contains("missing_y.csv"),
        "{err}"
    );
    assert_eq!(build(true).unwrap().dropped_rows(), 1);

    let one = dir.path().join("one_class.csv");
    std::fs::write(&one, "x,label\n1,a\n2,a\n3,a\n4,a\n5,a\n").unwrap();
    let err = TabularDataLoaders::from_csv(&one)
        .y_names(["label"])
        .cont_names(["x"])
        .seed(1)
        .build();
    let err = err.err().unwrap().to_string();
    assert!(err.contains("label") && err.contains('a'), "{err}");

    let err = TabularDataLoaders::from_csv(&path)
        .cont_names(["x"])
        .build()
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("y_names"), "{err}");
}

/// The real Adult data, when `../shared/data` is present (always under CI).
fn shared_adult() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/adult");
    if p.join("adult.csv").exists() {
        return Some(p);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but {} is missing",
        p.display()
    );
    eprintln!("skipping: {} is absent", p.display());
    None
}

#[test]
fn one_epoch_on_the_real_adult_data_and_its_uci_test_file() {
    let Some(dir) = shared_adult() else { return };
    let dls = TabularDataLoaders::from_csv(dir.join("adult.csv"))
        .y_names(["salary"])
        .cat_names([
            "workclass",
            "education",
            "marital-status",
            "occupation",
            "relationship",
            "race",
        ])
        .cont_names(["age", "fnlwgt", "education-num"])
        .procs([Categorify, FillMissing, Normalize])
        .seed(42)
        .device(DeviceChoice::Cpu)
        .build()
        .unwrap();
    assert_eq!(dls.loaders().train_data().n_rows, 26_049);
    let mut learn = tabular_learner(&dls).unwrap().metrics([accuracy()]);
    learn.quiet(true);
    learn.fit_one_cycle(1, None).unwrap();
    let valid = learn.validate(None).unwrap();
    assert!(valid[1].1 > 0.8, "{valid:?}");
    let tdl = dls.test_dl_csv(dir.join("adult.test"), true).unwrap();
    assert_eq!(tdl.len(), 16_281);
    let test = learn.validate(Some(tdl.batches())).unwrap();
    assert!(test[1].1 > 0.8, "{test:?}");
}

#[test]
fn out_of_range_settings_are_build_errors_naming_the_option() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_toy_csv(dir.path(), 50);
    let builder = || {
        TabularDataLoaders::from_csv(&path)
            .y_names(["label"])
            .cont_names(["x"])
            .device(DeviceChoice::Cpu)
    };
    common::check_option_errors(|bs, valid_pct| {
        let b = builder().valid_pct(valid_pct).bs(bs);
        b.build().err().map(|e| e.to_string())
    });
    let e = builder().split_by_column("x", 1.5).build().err().unwrap();
    assert!(e.to_string().starts_with("valid_pct: "), "{e}");
    // A test set's loader takes the training batch size, checked already.
    let dls = builder().bs(8).build().unwrap();
    assert_eq!(dls.test_dl_csv(&path, true).unwrap().batch_size(), 8);
}

#[test]
fn a_tabular_interpretation_counts_the_validation_rows_and_shows_them() {
    let dir = tempfile::tempdir().unwrap();
    let dls = toy_dls(&write_toy_csv(dir.path(), 300)).unwrap();
    let mut learn = tabular_learner(&dls).unwrap().metrics([accuracy()]);
    learn.quiet(true);
    learn.fit_one_cycle(2, Some(1e-2)).unwrap();
    let scores = learn.validate(None).unwrap();
    let interp = ClassificationInterpretation::from_learner(&mut learn).unwrap();
    let n = dls.loaders().valid_data().n_rows;
    assert_eq!(interp.len(), n);
    let cm = interp.confusion_matrix();
    assert_eq!(cm.iter().flatten().sum::<usize>(), n);
    assert!((1.0 - interp.error_rate() - scores[1].1).abs() < 1e-9);
    let total: f64 = interp.losses().iter().map(|&l| l as f64).sum();
    assert!((total - scores[0].1 * n as f64).abs() < 1e-4 * total.max(1.0));
    // Items are the rows decoded, the target left for "actual".
    let item = &interp.items()[0];
    assert!(
        item.contains("city=") && item.contains("x=") && !item.contains("label="),
        "{item}"
    );
    let top = interp.top_losses(3);
    assert!(["hi", "lo"].contains(&top[0].actual.as_str()));
    let pic = dir.path().join("top_losses.png");
    interp.plot_top_losses(3, &pic).unwrap();
    assert!(image::open(&pic).unwrap().width() > 200);
    // A regression has no class to confuse.
    let reg = TabularDataLoaders::from_csv(write_toy_csv(dir.path(), 60))
        .y_names(["x"])
        .cat_names(["city"])
        .y_block(YBlock::Regression)
        .valid_pct(0.2)
        .seed(1)
        .device(DeviceChoice::Cpu)
        .build()
        .unwrap();
    let mut rl = tabular_learner(&reg).unwrap();
    let e = ClassificationInterpretation::from_learner(&mut rl).unwrap_err();
    assert!(e.to_string().contains("regression"), "{e}");
}
