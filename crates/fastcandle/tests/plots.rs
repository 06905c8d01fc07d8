//! The plots end to end: each writes a PNG of the expected size with its colours and text
//! where expected, nothing touching the picture's edges, and errors that name the problem and
//! the file. `cargo test --release -p fastcandle --test plots -- --ignored` also writes sample
//! pictures (plots and grids) to `$FASTCANDLE_PLOT_SAMPLES` (default `/tmp/plots`) to look at.

use fastcandle::data::vision::{Codes, Image, save_captioned_grid, save_grid, show_seg_results};
use fastcandle::plot::{plot_confusion_matrix, plot_loss, plot_lr_find, plot_sched, plot_table};
use fastcandle::train::LrSuggestion;
use fastcandle::train::callback::{FitRecord, Recorder};
use image::RgbImage;
use std::path::{Path, PathBuf};

/// A finder's run: the loss falls from 2.4 to about 0.7 between 1e-5 and 1e-2, then blows up.
fn finder() -> LrSuggestion {
    let n = 96;
    let lrs: Vec<f64> = (0..n)
        .map(|i| 1e-7 * (1e8f64).powf(i as f64 / 99.0))
        .collect();
    let losses: Vec<f32> = lrs
        .iter()
        .map(|lr| {
            let x = lr.log10();
            let fall = 1.7 / (1.0 + (2.0 * (x + 3.5)).exp());
            let rise = 0.6 * (1.6 * (x + 1.2)).exp();
            (0.7 + fall + rise + 0.01 * (7.0 * x).sin()) as f32
        })
        .collect();
    fastcandle::train::lr_find::suggest(&lrs, &losses, 100).expect("a suggestion")
}

/// fastai's one cycle (cosine warm-up to `max` over `pct` of `n`, then down to `max / 1e5`).
fn one_cycle(n: usize, max: f64, pct: f64, i: usize) -> (f64, f64) {
    let t = i as f64 / n as f64;
    let cos = |a: f64, b: f64, p: f64| b + (a - b) / 2.0 * (1.0 + (std::f64::consts::PI * p).cos());
    if t < pct {
        (cos(max / 25.0, max, t / pct), cos(0.95, 0.85, t / pct))
    } else {
        let p = (t - pct) / (1.0 - pct);
        (cos(max, max / 1e5, p), cos(0.85, 0.95, p))
    }
}

/// A recorder of `fine_tune(3)` on 40 batches an epoch: a frozen fit of 1 epoch, then 3
/// epochs unfrozen with 3 parameter groups at rates spread from max/100 to max.
fn fine_tune_recorder(with_momentum: bool) -> Recorder {
    let mut rec = Recorder::default();
    rec.names = vec![
        "train_loss".into(),
        "valid_loss".into(),
        "error_rate".into(),
    ];
    let mut loss = 0.9f64;
    for (epochs, max, pct, mults) in [
        (1usize, 2e-3, 0.99, vec![1.0, 1.0, 1.0]),
        (3, 1e-3, 0.3, vec![0.01, 0.1, 1.0]),
    ] {
        let n = 40 * epochs;
        let mut fit = FitRecord::default();
        for i in 0..n {
            let (lr, mom) = one_cycle(n, max, pct, i);
            fit.lrs.push(mults.iter().map(|m| lr * m).collect());
            fit.moms.push(if with_momentum {
                vec![mom; 3]
            } else {
                Vec::new()
            });
            loss = loss * 0.985 + 0.04 * (0.5 + 0.3 * ((i * 7) as f64).sin().abs()) * 0.3;
            fit.losses.push(loss as f32);
            fit.raw_losses.push(loss as f32);
        }
        for e in 0..epochs {
            let valid = 0.25 + 0.3 / (rec.fits.len() * 3 + e + 2) as f64;
            fit.values.push(vec![loss, valid, valid / 5.0]);
            fit.epoch_times.push(1.0);
        }
        rec.fits.push(fit);
    }
    rec
}

fn open(path: &Path) -> RgbImage {
    image::open(path).expect("a PNG").into_rgb8()
}

fn has_colour(img: &RgbImage, rgb: [u8; 3]) -> bool {
    img.pixels().any(|p| p.0 == rgb)
}

/// Nothing is cut off at the picture's edges: its outermost pixels are all white.
fn edges_are_white(img: &RgbImage) -> bool {
    let (w, h) = img.dimensions();
    (0..w).all(|x| img.get_pixel(x, 0).0 == [255; 3] && img.get_pixel(x, h - 1).0 == [255; 3])
        && (0..h)
            .all(|y| img.get_pixel(0, y).0 == [255; 3] && img.get_pixel(w - 1, y).0 == [255; 3])
}

/// Dark (text) pixels in the rectangle `x0..x1`, `y0..y1`.
fn ink_in(img: &RgbImage, (x0, x1): (u32, u32), (y0, y1): (u32, u32)) -> usize {
    (y0..y1)
        .flat_map(|y| (x0..x1).map(move |x| (x, y)))
        .filter(|&(x, y)| img.get_pixel(x, y).0.iter().all(|&c| c < 100))
        .count()
}

fn tab10(i: u32) -> [u8; 3] {
    fastcandle::data::vision::class_colour(i)
}

#[test]
fn lr_find_plot_marks_every_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lr_find.png");
    let s = finder();
    plot_lr_find(&s, &path).unwrap();
    let img = open(&path);
    assert_eq!(img.dimensions(), (800, 500));
    assert!(edges_are_white(&img));
    // The curve (C0) and one dot per suggestion (C1...).
    for k in 0..=s.named().len() as u32 {
        assert!(has_colour(&img, tab10(k)), "colour C{k}");
    }
    // "Learning Rate" under the x axis, "Loss" left of the y axis.
    assert!(ink_in(&img, (300, 500), (470, 500)) > 50);
    assert!(ink_in(&img, (0, 30), (200, 300)) > 20);

    let empty = LrSuggestion {
        lrs: vec![1e-3; 4],
        losses: vec![1.0; 4],
        ..s
    };
    let err = plot_lr_find(&empty, &path).unwrap_err().to_string();
    assert!(
        err.contains("lr_find.png") && err.contains("none to draw"),
        "{err}"
    );
}

#[test]
fn loss_plot_joins_the_fits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("loss.png");
    plot_loss(&fine_tune_recorder(true), &path).unwrap();
    let img = open(&path);
    assert_eq!(img.dimensions(), (800, 500));
    assert!(edges_are_white(&img));
    assert!(has_colour(&img, tab10(0)) && has_colour(&img, tab10(1)));
    // The dashed line where the second fit starts.
    assert!(has_colour(&img, [120, 120, 120]));
    assert!(ink_in(&img, (300, 500), (470, 500)) > 50, "Iterations");

    let err = plot_loss(&Recorder::default(), &path)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("loss.png") && err.contains("no finite loss"),
        "{err}"
    );
}

#[test]
fn sched_plot_draws_each_group_and_says_when_there_is_no_momentum() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sched.png");
    plot_sched(&fine_tune_recorder(true), &path).unwrap();
    let img = open(&path);
    assert_eq!(img.dimensions(), (1200, 480));
    assert!(edges_are_white(&img));
    for g in 0..3 {
        assert!(has_colour(&img, tab10(g)), "group {g}");
    }
    // Momentum lines in the right panel.
    let right =
        |img: &RgbImage, c| (600..1200).any(|x| (0..480).any(|y| img.get_pixel(x, y).0 == c));
    assert!(right(&img, tab10(0)));
    plot_sched(&fine_tune_recorder(false), &path).unwrap();
    let img = open(&path);
    assert!(!right(&img, tab10(0)));
    let note = (700..1100)
        .flat_map(|x| (200..260).map(move |y| (x, y)))
        .filter(|&(x, y)| img.get_pixel(x, y).0[0] < 200)
        .count();
    assert!(note > 50, "the note");

    let err = plot_sched(&Recorder::default(), &path)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("sched.png") && err.contains("no learning rate"),
        "{err}"
    );
}

/// The bounding box (x0, y0, x1, y1) of the pixels of colour `rgb`.
fn bbox(img: &RgbImage, rgb: [u8; 3]) -> Option<(u32, u32, u32, u32)> {
    img.enumerate_pixels()
        .filter(|(_, _, p)| p.0 == rgb)
        .fold(None, |b, (x, y, _)| {
            Some(match b {
                None => (x, y, x, y),
                Some((x0, y0, x1, y1)) => (x0.min(x), y0.min(y), x1.max(x), y1.max(y)),
            })
        })
}

#[test]
fn confusion_matrix_is_a_blues_heat_map() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("confusion.png");
    let vocab = vec!["cat".to_string(), "dog".into()];
    plot_confusion_matrix(&[vec![50, 3], vec![7, 40]], &vocab, false, &path).unwrap();
    let img = open(&path);
    let (w, h) = img.dimensions();
    assert!(
        (400..=600).contains(&w) && (400..=600).contains(&h),
        "{w} x {h}"
    );
    assert!(edges_are_white(&img));
    // The largest count (50, actual cat, predicted cat) is the darkest blue, top left; the
    // smallest (3, actual cat, predicted dog) the lightest, top right; its count in white.
    let navy = bbox(&img, [8, 48, 107]).expect("the darkest cell");
    let pale = bbox(&img, [247, 251, 255]).expect("the lightest cell");
    assert!(navy.2 < pale.0, "{navy:?} left of {pale:?}");
    assert!(navy.1.abs_diff(pale.1) <= 1, "{navy:?} level with {pale:?}");
    let side = navy.2 - navy.0;
    assert!(
        side > 100 && (navy.3 - navy.1).abs_diff(side) <= 2,
        "square {navy:?}"
    );
    let white_digits = (navy.0..navy.2)
        .flat_map(|x| (navy.1..navy.3).map(move |y| (x, y)))
        .filter(|&(x, y)| img.get_pixel(x, y).0.iter().all(|&c| c > 200))
        .count();
    assert!(white_digits > 10);
    // Class names left of the rows and under the columns.
    assert!(
        ink_in(&img, (0, navy.0), (navy.1, navy.3)) > 30,
        "cat, Actual"
    );
    assert!(
        ink_in(&img, (navy.0, navy.2), (navy.3 + 1, h)) > 30,
        "cat, Predicted"
    );

    // Many long class names: the picture grows, names stay whole.
    let vocab: Vec<String> = (0..11)
        .map(|i| format!("a rather long class name {i}"))
        .collect();
    let m: Vec<Vec<usize>> = (0..11)
        .map(|i| {
            (0..11)
                .map(|j| if i == j { 30 + i } else { (i * j) % 4 })
                .collect()
        })
        .collect();
    plot_confusion_matrix(&m, &vocab, true, &path).unwrap();
    let big = open(&path);
    assert!(
        big.width() > 800 && big.height() > 800,
        "{:?}",
        big.dimensions()
    );
    assert!(edges_are_white(&big));

    let err = plot_confusion_matrix(&[vec![1, 2], vec![3]], &vocab[..2], false, &path)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("confusion.png") && err.contains("not square"),
        "{err}"
    );
    let err = plot_confusion_matrix(&[vec![1, 2], vec![3, 4]], &vocab[..3], false, &path)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("confusion.png") && err.contains("vocabulary names 3"),
        "{err}"
    );
}

#[test]
fn table_fits_its_content() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("table.png");
    let header: Vec<String> = ["age", "workclass", "target", "predicted", "loss"]
        .map(String::from)
        .to_vec();
    let rows = |workclass: &str| -> Vec<Vec<String>> {
        (0..5)
            .map(|i| {
                vec![
                    format!("{}", 30 + i),
                    workclass.to_string(),
                    ">=50k".into(),
                    "<50k".into(),
                    format!("{:.4}", 3.0 - i as f64 * 0.4),
                ]
            })
            .collect()
    };
    plot_table("Top losses", &header, &rows("Private"), &path).unwrap();
    let small = open(&path);
    assert!(edges_are_white(&small));
    assert!(has_colour(&small, [232, 232, 232]), "the header's grey");
    plot_table(
        "Top losses",
        &header,
        &rows("Self-emp-not-inc and more"),
        &path,
    )
    .unwrap();
    let wide = open(&path);
    assert!(wide.width() > small.width() + 50);
    assert_eq!(wide.height(), small.height());

    let mut bad = rows("Private");
    bad[2].pop();
    let err = plot_table("t", &header, &bad, &path)
        .unwrap_err()
        .to_string();
    assert!(err.contains("table.png") && err.contains("row 3"), "{err}");
}

/// Writes every plot and grid to `$FASTCANDLE_PLOT_SAMPLES` (default `/tmp/plots`) for a
/// person to look at.
#[test]
#[ignore]
fn write_samples() {
    let dir = PathBuf::from(
        std::env::var("FASTCANDLE_PLOT_SAMPLES").unwrap_or_else(|_| "/tmp/plots".into()),
    );
    std::fs::create_dir_all(&dir).unwrap();
    plot_lr_find(&finder(), dir.join("lr_find.png")).unwrap();
    let rec = fine_tune_recorder(true);
    plot_loss(&rec, dir.join("loss.png")).unwrap();
    plot_sched(&rec, dir.join("sched.png")).unwrap();
    plot_sched(&fine_tune_recorder(false), dir.join("sched_no_mom.png")).unwrap();
    let vocab = vec!["cat".to_string(), "dog".into()];
    plot_confusion_matrix(
        &[vec![50, 3], vec![7, 40]],
        &vocab,
        false,
        dir.join("cm2.png"),
    )
    .unwrap();
    let pets: Vec<String> = [
        "Abyssinian",
        "Bengal",
        "Birman",
        "Bombay",
        "British_Shorthair",
        "Egyptian_Mau",
        "american_pit_bull_terrier",
        "basset_hound",
        "english_cocker_spaniel",
        "great_pyrenees",
        "staffordshire_bull_terrier",
    ]
    .map(String::from)
    .to_vec();
    let m: Vec<Vec<usize>> = (0..11)
        .map(|i| {
            (0..11)
                .map(|j| if i == j { 20 + 3 * i } else { (i * j + i) % 4 })
                .collect()
        })
        .collect();
    plot_confusion_matrix(&m, &pets, false, dir.join("cm11.png")).unwrap();
    plot_confusion_matrix(&m, &pets, true, dir.join("cm11_norm.png")).unwrap();
    let header: Vec<String> = [
        "workclass",
        "education",
        "age",
        "fnlwgt",
        "target",
        "predicted",
        "loss",
    ]
    .map(String::from)
    .to_vec();
    let rows: Vec<Vec<String>> = (0..6)
        .map(|i| {
            vec![
                ["Private", "Self-emp-not-inc", "Local-gov"][i % 3].to_string(),
                ["HS-grad", "Bachelors", "Some-college"][i % 3].to_string(),
                format!("{}", 25 + 7 * i),
                format!("{}", 120000 + 31337 * i),
                ">=50k".into(),
                "<50k".into(),
                format!("{:.4}", 4.2 - 0.5 * i as f64),
            ]
        })
        .collect();
    plot_table("Top losses", &header, &rows, dir.join("table.png")).unwrap();
    // 37 classes (the Pets breeds' count), and names too long for one line.
    let many: Vec<String> = (0..37).map(|i| format!("breed_{i}")).collect();
    let m: Vec<Vec<usize>> = (0..37)
        .map(|i| {
            (0..37)
                .map(|j| if i == j { 100 + i } else { (i + j) % 3 })
                .collect()
        })
        .collect();
    plot_confusion_matrix(&m, &many, false, dir.join("cm37.png")).unwrap();
    let long = vec![
        "a class whose name goes on and on well past any margin".to_string(),
        "short".into(),
        "x".into(),
    ];
    let m = vec![vec![5, 1, 0], vec![2, 9, 1], vec![0, 0, 7]];
    plot_confusion_matrix(&m, &long, false, dir.join("cm_long_names.png")).unwrap();
    // One fit of fit_one_cycle(3), one parameter group, no validation in the last epoch.
    let mut one = fine_tune_recorder(true);
    one.fits.remove(0);
    for lrs in &mut one.fits[0].lrs {
        lrs.truncate(1);
    }
    for moms in &mut one.fits[0].moms {
        moms.truncate(1);
    }
    one.fits[0].values[2][1] = f64::NAN;
    plot_loss(&one, dir.join("loss_one_fit.png")).unwrap();
    plot_sched(&one, dir.join("sched_one_fit.png")).unwrap();

    // Grids: 28 x 28 digits scaled up, and segmentation results with two-line captions.
    let digits: Vec<Image> = (0..9)
        .map(|k| {
            Image::from_fn(28, 28, move |x, y| {
                let on = (x as i32 - 14).pow(2) + (y as i32 - 14).pow(2) < (4 + k) * (4 + k);
                if on { [240, 240, 240] } else { [10, 10, 10] }
            })
        })
        .collect();
    let labels: Vec<String> = (0..9).map(|k| format!("{k}")).collect();
    let codes: Vec<u32> = (0..9).collect();
    save_grid(&digits, &labels, &codes, &dir.join("grid_mnist.png")).unwrap();
    let captions: Vec<String> = (0..9)
        .map(|k| format!("Sneaker\nloss 0.{k}4 / probability 0.{k}8 of Ankle boot"))
        .collect();
    save_captioned_grid(
        &digits,
        &captions,
        &[[200, 60, 60]; 9],
        &dir.join("grid_captions.png"),
    )
    .unwrap();
    let scene = Image::from_fn(96, 72, |x, y| [(x * 2) as u8, (y * 3) as u8, 120]);
    let truth: Vec<u32> = (0..96 * 72).map(|i| ((i % 96) / 32) as u32).collect();
    let pred: Vec<u32> = (0..96 * 72)
        .map(|i| ((i % 96 + 5) / 32).min(2) as u32)
        .collect();
    let codes = Codes::new(vec!["Void".into(), "Road".into(), "Sky".into()]);
    show_seg_results(
        &[scene.clone(), scene.clone(), scene],
        &[truth.clone(), truth.clone(), truth],
        &[pred.clone(), pred.clone(), pred],
        &codes,
        dir.join("seg_results.png"),
    )
    .unwrap();
}
