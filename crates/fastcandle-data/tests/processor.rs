//! The fitted procs against values computed by hand (see the comments).

use fastcandle_data::*;
use polars::prelude::*;

const TRAIN: [usize; 5] = [0, 1, 2, 3, 4];
const VALID: [usize; 2] = [5, 6];

/// Rows 0-4 are the training rows, 5-6 the validation rows.
fn frame() -> DataFrame {
    df!(
        "age"  => [Some("20"), Some("30"), None, Some("50"), Some("40"), Some("1000"), None],
        "h"    => [Some("3"), None, Some("1"), Some("10"), None, Some("2"), Some("4")],
        "w"    => [Some("1"), Some("2"), Some("3"), Some("4"), Some("5"), Some("3"), None],
        "city" => [Some("a"), Some("b"), Some("a"), Some("c"), None, Some("d"), Some("a")],
        "y"    => ["yes", "no", "yes", "no", "yes", "no", "yes"],
    )
    .unwrap()
}

fn fit(procs: &[Proc]) -> TabularProcessor {
    TabularProcessor::fit(
        &frame(),
        &TRAIN,
        &["city"],
        &["age", "h", "w"],
        Some("y"),
        procs,
        "t.csv",
    )
    .unwrap()
}

const ALL: [Proc; 3] = [Proc::Categorify, Proc::FillMissing, Proc::Normalize];

fn close(a: f32, b: f64) -> bool {
    (a as f64 - b).abs() < 1e-5
}

#[test]
fn fill_missing_medians_and_na_columns() {
    let p = fit(&ALL);
    // age train: 20 30 _ 50 40 -> even count, (30 + 40) / 2 = 35.
    // h train: 3 _ 1 10 _ -> odd count, 3.  w train: 1..5 -> 3 (no missing, no flag column).
    assert_eq!(p.medians(), [35.0, 3.0, 3.0]);
    assert_eq!(p.cat_names(), ["city", "age_na", "h_na"]);
    assert_eq!(p.vocab("age_na").unwrap(), ["#na#", "false", "true"]);
    assert_eq!(p.cardinalities(), [4, 3, 3]);
    let d = p.process(&frame(), Some(&TRAIN), true, "t.csv").unwrap();
    assert_eq!((d.n_rows, d.n_cat, d.n_cont), (5, 3, 3));
    // Flag codes: false = 1, true = 2.
    let age_na: Vec<u32> = (0..5).map(|i| d.cat_row(i)[1]).collect();
    let h_na: Vec<u32> = (0..5).map(|i| d.cat_row(i)[2]).collect();
    assert_eq!(age_na, [1, 1, 2, 1, 1]);
    assert_eq!(h_na, [1, 2, 1, 1, 2]);
}

#[test]
fn categorify_puts_na_at_zero_and_unseen_at_zero() {
    let p = fit(&ALL);
    assert_eq!(p.vocab("city").unwrap(), ["#na#", "a", "b", "c"]);
    let d = p.process(&frame(), None, true, "t.csv").unwrap();
    let city: Vec<u32> = (0..7).map(|i| d.cat_row(i)[0]).collect();
    // a b a c missing | d (unseen) a
    assert_eq!(city, [1, 2, 1, 3, 0, 0, 1]);
    assert_eq!(p.classes().unwrap(), ["no", "yes"]);
    assert!(p.is_classification());
    assert_eq!(d.ys, Some(Targets::Classes(vec![1, 0, 1, 0, 1, 0, 1])));
}

#[test]
fn normalize_uses_training_statistics_after_filling() {
    let p = fit(&ALL);
    // age filled: 20 30 35 50 40 -> mean 35, deviations -15 -5 0 15 5 -> var 500 / 5 = 100.
    // h filled: 3 3 1 10 3 -> mean 4, deviations -1 -1 -3 6 -1 -> var 48 / 5 = 9.6.
    // w: 1..5 -> mean 3, var 2.  The validation age 1000 must not move the mean.
    let means = p.means().unwrap();
    let stds = p.stds().unwrap();
    assert_eq!(means, [35.0, 4.0, 3.0]);
    for (s, var) in stds.iter().zip([100.0f64, 9.6, 2.0]) {
        assert!((s - (var.sqrt() + 1e-7)).abs() < 1e-12, "{s} vs {var}");
    }
    let d = p.process(&frame(), Some(&VALID), true, "t.csv").unwrap();
    let sd = |var: f64| var.sqrt() + 1e-7;
    // Row 5: age 1000, h 2, w 3.  Row 6: age missing -> 35, h 4, w missing -> median 3.
    let want = [
        [(1000.0 - 35.0) / sd(100.0), (2.0 - 4.0) / sd(9.6), 0.0],
        [0.0, 0.0, 0.0],
    ];
    for (i, row) in want.iter().enumerate() {
        for (a, b) in d.cont_row(i).iter().zip(row) {
            assert!(close(*a, *b), "row {i}: {a} vs {b}");
        }
    }
    // Row 6's missing age is flagged; its missing w has no flag column (none in training).
    assert_eq!(d.cat_row(1), [1, 2, 1]);
    assert_eq!(d.cat_row(0), [0, 1, 1]);
}

#[test]
fn procs_listed_in_another_order_give_the_same_result() {
    use Proc::*;
    let a = fit(&[Categorify, FillMissing, Normalize]);
    let b = fit(&[Normalize, FillMissing, Categorify]);
    assert_eq!(a, b);
    assert_eq!(a.procs(), [FillMissing, Categorify, Normalize]);
    let da = a.process(&frame(), None, true, "t.csv").unwrap();
    let db = b.process(&frame(), None, true, "t.csv").unwrap();
    assert_eq!(da, db);
}

#[test]
fn without_fill_missing_values_stay_nan_and_no_flags() {
    let p = fit(&[Proc::Categorify]);
    assert_eq!(p.cat_names(), ["city"]);
    assert!(p.means().is_none());
    let d = p.process(&frame(), Some(&[2]), true, "t.csv").unwrap();
    assert!(d.cont_row(0)[0].is_nan());
    assert_eq!(d.cont_row(0)[1], 1.0);
}

#[test]
fn serde_round_trip() {
    let p = fit(&ALL);
    let json = serde_json::to_string(&p).unwrap();
    let q: TabularProcessor = serde_json::from_str(&json).unwrap();
    assert_eq!(p, q);
    assert_eq!(
        p.process(&frame(), None, true, "t.csv").unwrap(),
        q.process(&frame(), None, true, "t.csv").unwrap()
    );
}

#[test]
fn target_kind_follows_fastai_rule() {
    let df = df!(
        "x" => ["1", "2", "3", "4"],
        "f" => ["1.5", "2", "0.25", "3"],
        "i" => ["0", "1", "10", "1"],
        "n" => [0.5f64, 1.0, 2.0, 3.0],
    )
    .unwrap();
    let rows = [0, 1, 2, 3];
    let p = TabularProcessor::fit(&df, &rows, &[], &["x"], Some("f"), &[], "r.csv").unwrap();
    assert!(!p.is_classification());
    let d = p.process(&df, None, true, "r.csv").unwrap();
    assert_eq!(d.ys, Some(Targets::Values(vec![1.5, 2.0, 0.25, 3.0])));
    let p = TabularProcessor::fit(&df, &rows, &[], &["x"], Some("n"), &[], "r.csv").unwrap();
    assert!(!p.is_classification());
    // Integers are categories, sorted as numbers.
    let p = TabularProcessor::fit(&df, &rows, &[], &["x"], Some("i"), &[], "r.csv").unwrap();
    assert_eq!(p.classes().unwrap(), ["0", "1", "10"]);
    // Forcing a float column to be a category.
    let spec = TabularSpec {
        cont_names: vec!["x".into()],
        y_name: Some("f".into()),
        y_block: YBlock::Category,
        ..TabularSpec::default()
    };
    let p = TabularProcessor::fit_spec(&df, &rows, &spec, "r.csv").unwrap();
    assert_eq!(p.classes().unwrap(), ["0.25", "1.5", "2", "3"]);
}

#[test]
fn numeric_polars_columns_work_as_well_as_text() {
    let df = df!(
        "age" => [Some(20i64), Some(30), None, Some(50), Some(40)],
        "k" => [1i64, 2, 1, 2, 3],
        "y" => [0i64, 1, 0, 1, 0],
    )
    .unwrap();
    let p = TabularProcessor::fit(&df, &TRAIN, &["k"], &["age"], Some("y"), &ALL, "n").unwrap();
    assert_eq!(p.medians(), [35.0]);
    assert_eq!(p.vocab("k").unwrap(), ["#na#", "1", "2", "3"]);
    assert_eq!(p.classes().unwrap(), ["0", "1"]);
}

#[test]
fn decode_gives_back_the_values_of_processed_rows() {
    let p = fit(&ALL);
    let d = p.process(&frame(), None, true, "t.csv").unwrap();
    let back = p.decode(&d, &[2, 4, 5, 0]).unwrap();
    let names: Vec<&str> = back.get_column_names().iter().map(|n| n.as_str()).collect();
    assert_eq!(names, ["city", "age_na", "h_na", "age", "h", "w", "y"]);
    let text = |c: &str| -> Vec<String> {
        let col = back.column(c).unwrap().str().unwrap();
        col.iter().map(|v| v.unwrap().to_string()).collect()
    };
    let flags =
        |c: &str| -> Vec<Option<bool>> { back.column(c).unwrap().bool().unwrap().iter().collect() };
    let numbers = |c: &str| -> Vec<f64> {
        let col = back.column(c).unwrap().f32().unwrap();
        col.iter().map(|v| f64::from(v.unwrap())).collect()
    };
    // Row 4's city is missing and row 5's (`d`) unseen in training: both are `#na#`.
    assert_eq!(text("city"), ["a", "#na#", "#na#", "a"]);
    assert_eq!(
        flags("age_na"),
        [Some(true), Some(false), Some(false), Some(false)]
    );
    assert_eq!(
        flags("h_na"),
        [Some(false), Some(true), Some(false), Some(false)]
    );
    // Missing values come back as the training medians (age 35, h 3).
    for (col, want) in [
        ("age", [35.0, 40.0, 1000.0, 20.0]),
        ("h", [1.0, 3.0, 2.0, 3.0]),
        ("w", [3.0, 5.0, 3.0, 1.0]),
    ] {
        // Exactly: the f32 noise of un-normalising (1000.0001) is rounded away.
        for (got, want) in numbers(col).into_iter().zip(want) {
            assert_eq!(got, want, "{col}");
        }
    }
    assert_eq!(text("y"), ["yes", "yes", "no", "yes"]);

    // No row: the columns, empty.
    let none = p.decode(&d, &[]).unwrap();
    assert_eq!((none.height(), none.width()), (0, 7));
}

#[test]
fn decode_without_normalize_and_of_unlabelled_or_regression_rows() {
    let p = fit(&[Proc::Categorify]);
    let d = p.process(&frame(), Some(&[2, 3]), false, "t.csv").unwrap();
    let back = p.decode(&d, &[0, 1]).unwrap();
    // No target column for unlabelled rows; without FillMissing a missing value stays NaN.
    assert_eq!(back.width(), 4);
    let age: Vec<f32> = back
        .column("age")
        .unwrap()
        .f32()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert!(age[0].is_nan() && age[1] == 50.0);

    let df = df!("x" => [1.0f64, 2.0, 3.0], "v" => [0.5f64, 1.25, 2.0]).unwrap();
    let rows = [0, 1, 2];
    let p = TabularProcessor::fit(&df, &rows, &[], &["x"], Some("v"), &ALL, "r.csv").unwrap();
    let d = p.process(&df, None, true, "r.csv").unwrap();
    let back = p.decode(&d, &[2, 0]).unwrap();
    let v: Vec<f32> = back
        .column("v")
        .unwrap()
        .f32()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(v, [2.0, 0.5]);
}

#[test]
fn decode_refuses_rows_it_cannot_read() {
    let p = fit(&ALL);
    let d = p.process(&frame(), Some(&TRAIN), true, "t.csv").unwrap();
    let e = p.decode(&d, &[0, 5]).unwrap_err();
    assert!(
        matches!(&e, Error::BadData { reason, .. } if reason.contains("row 5")),
        "{e}"
    );
    let mut bad = d.clone();
    bad.cats[0] = 9;
    let e = p.decode(&bad, &[0]).unwrap_err();
    assert!(e.to_string().contains("code 9 in `city`"), "{e}");
    let other = fit(&[Proc::Categorify]);
    let e = other.decode(&d, &[0]).unwrap_err();
    assert!(e.to_string().contains("categorical"), "{e}");
}

// ---- errors ----

#[test]
fn missing_column_names_the_file_and_column() {
    let e = TabularProcessor::fit(
        &frame(),
        &TRAIN,
        &["town"],
        &["age"],
        Some("y"),
        &ALL,
        "t.csv",
    )
    .unwrap_err();
    assert!(
        matches!(&e, Error::MissingColumn { file, column, available }
        if file == "t.csv" && column == "town" && available.contains(&"city".to_string()))
    );
    let msg = e.to_string();
    assert!(msg.contains("t.csv") && msg.contains("`town`"), "{msg}");
    // Also when processing a frame that lacks a column the processor needs.
    let p = fit(&ALL);
    let other = frame().drop("h").unwrap();
    let e = p.process(&other, None, true, "test.csv").unwrap_err();
    assert!(
        matches!(&e, Error::MissingColumn { file, column, .. } if file == "test.csv" && column == "h")
    );
}

#[test]
fn non_numeric_names_the_row_and_value() {
    let mut df = frame();
    df.replace(
        "w",
        Column::new("w".into(), ["1", "2", "3", "4 kg", "5", "3", "1"]),
    )
    .unwrap();
    let e = TabularProcessor::fit(&df, &TRAIN, &["city"], &["w"], Some("y"), &ALL, "t.csv")
        .unwrap_err();
    assert!(
        matches!(&e, Error::NotNumeric { file, column, row: 4, value }
        if file == "t.csv" && column == "w" && value == "4 kg"),
        "{e}"
    );
    let msg = e.to_string();
    assert!(msg.contains("row 4") && msg.contains("`4 kg`"), "{msg}");
}

#[test]
fn missing_target_lists_rows_and_count() {
    let mut df = frame();
    let y = [
        Some("yes"),
        None,
        Some("yes"),
        None,
        Some("no"),
        Some("no"),
        None,
    ];
    df.replace("y", Column::new("y".into(), y)).unwrap();
    let e = TabularProcessor::fit(&df, &TRAIN, &["city"], &["w"], Some("y"), &ALL, "t.csv")
        .unwrap_err();
    // Every row without a target counts, the validation row 7 included, in file order.
    assert!(
        matches!(&e, Error::MissingTarget { file, column, rows, count: 3 }
        if file == "t.csv" && column == "y" && rows == &vec![2, 4, 7]),
        "{e}"
    );
    // drop_missing_targets leaves the 4 labelled rows.
    let kept = drop_missing_targets(&df, "y", "t.csv").unwrap();
    assert_eq!(kept.height(), 4);
}

#[test]
fn missing_target_caps_the_listed_rows() {
    let y: Vec<Option<&str>> = (0..30)
        .map(|i| if i % 2 == 0 { None } else { Some("a") })
        .collect();
    let x: Vec<f64> = (0..30).map(f64::from).collect();
    let df = df!("x" => x, "y" => y).unwrap();
    let rows: Vec<usize> = (0..30).collect();
    let e = TabularProcessor::fit(&df, &rows, &[], &["x"], Some("y"), &[], "m.csv").unwrap_err();
    match e {
        Error::MissingTarget { rows, count, .. } => {
            assert_eq!(count, 15);
            assert_eq!(rows, [1, 3, 5, 7, 9, 11, 13, 15, 17, 19]);
        }
        e => panic!("{e}"),
    }
}

#[test]
fn single_class_in_training_rows() {
    // Rows 0, 2 and 4 are all "yes".
    let e = TabularProcessor::fit(
        &frame(),
        &[0, 2, 4],
        &["city"],
        &["w"],
        Some("y"),
        &ALL,
        "t.csv",
    )
    .unwrap_err();
    assert!(
        matches!(&e, Error::SingleClass { column, class } if column == "y" && class == "yes"),
        "{e}"
    );
}

#[test]
fn unseen_target_names_value_and_row() {
    let mut df = frame();
    let y = ["yes", "no", "yes", "no", "yes", "no", "maybe"];
    df.replace("y", Column::new("y".into(), y)).unwrap();
    let p =
        TabularProcessor::fit(&df, &TRAIN, &["city"], &["w"], Some("y"), &ALL, "t.csv").unwrap();
    let e = p.process(&df, Some(&VALID), true, "valid.csv").unwrap_err();
    assert!(
        matches!(&e, Error::UnseenTarget { file, column, value, row: 7 }
        if file == "valid.csv" && column == "y" && value == "maybe"),
        "{e}"
    );
    // Unlabelled processing does not look at the target.
    let d = p.process(&df, Some(&VALID), false, "valid.csv").unwrap();
    assert!(d.ys.is_none());
}

#[test]
fn all_missing_training_column_and_bad_rows() {
    let df = df!("x" => [None::<&str>, None, Some("1")], "y" => ["a", "b", "a"]).unwrap();
    let e = TabularProcessor::fit(&df, &[0, 1], &[], &["x"], Some("y"), &ALL, "a.csv").unwrap_err();
    assert!(
        matches!(&e, Error::AllMissing { column, .. } if column == "x"),
        "{e}"
    );
    let e = TabularProcessor::fit(&df, &[0, 7], &[], &["x"], Some("y"), &ALL, "a.csv").unwrap_err();
    assert!(matches!(e, Error::BadData { .. }), "{e}");
    let e = TabularProcessor::fit(&df, &[], &[], &["x"], Some("y"), &ALL, "a.csv").unwrap_err();
    assert!(matches!(e, Error::BadSplit { .. }), "{e}");
}
