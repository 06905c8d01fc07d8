//! The pictures of `ActivationStats`: `plot_layer_stats` and `color_dim` write PNGs of the
//! expected size, and name the file for an empty record or an unknown layer.
//! `cargo test --release --workspace --test activation_plots -- --ignored` trains a ResNet18
//! from scratch on 200 images of `datasets/pets_sample` with the callback and writes both
//! pictures to `$FASTCANDLE_ACTSTATS` (default `/tmp/actstats`).

use fastcandle::plot::{color_dim, plot_layer_stats};
use fastcandle::train::callback::{ActivationStats, LayerStats};
use std::path::{Path, PathBuf};

/// 30 batches of two layers: `relu` dying slowly, `layer1` spreading out.
fn record() -> ActivationStats {
    let mut a = ActivationStats::new().with_hist(true);
    a.names = vec!["relu".into(), "layer1".into()];
    a.stats = (0..30)
        .map(|b| {
            let t = b as f32 / 29.0;
            let layer = |centre: f32, spread: f32, near: f32| {
                let hist = (0..40)
                    .map(|k| {
                        let x = (k as f32 + 0.5) / 4.0;
                        (500.0 * (-((x - centre) / spread).powi(2)).exp()).floor()
                    })
                    .collect();
                LayerStats {
                    mean: centre,
                    std: spread,
                    near_zero: near,
                    hist,
                }
            };
            vec![
                layer(0.3 + t, 0.4 + t, 0.5 + 0.3 * t),
                layer(1.0 + 3.0 * t, 0.5 + 2.0 * t, 0.4 - 0.2 * t),
            ]
        })
        .collect();
    a
}

fn png_size(path: &Path) -> (u32, u32) {
    let img = image::open(path).expect("a PNG").into_rgb8();
    img.dimensions()
}

#[test]
fn both_pictures_are_pngs_of_their_size() {
    let dir = tempfile::tempdir().unwrap();
    let a = record();
    let p = dir.path().join("layer_stats.png");
    plot_layer_stats(&a, "relu", &p).unwrap();
    assert_eq!(png_size(&p), (1260, 420));
    let p = dir.path().join("color_dim.png");
    color_dim(&a, "layer1", &p).unwrap();
    assert_eq!(png_size(&p), (1000, 500));
    // Not flat: the image holds viridis's ends.
    let img = image::open(&p).unwrap().into_rgb8();
    let has = |c: [u8; 3]| img.pixels().any(|p| p.0 == c);
    assert!(has([68, 1, 84]) && has([253, 231, 37]));
}

#[test]
fn errors_name_the_file_and_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.png");
    let name = p.display().to_string();

    let e = plot_layer_stats(&record(), "layer9", &p)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&name) && e.contains("layer9") && e.contains("relu, layer1"),
        "{e}"
    );
    let e = color_dim(&record(), "layer9", &p).unwrap_err().to_string();
    assert!(e.contains(&name) && e.contains("layer9"), "{e}");

    let mut empty = record();
    empty.stats.clear();
    let e = plot_layer_stats(&empty, "relu", &p)
        .unwrap_err()
        .to_string();
    assert!(e.contains(&name) && e.contains("no training batch"), "{e}");
    let e = color_dim(&empty, "relu", &p).unwrap_err().to_string();
    assert!(e.contains(&name) && e.contains("no training batch"), "{e}");
    let e = plot_layer_stats(&ActivationStats::new(), "relu", &p)
        .unwrap_err()
        .to_string();
    assert!(e.contains(&name) && e.contains("hooked no layer"), "{e}");

    let mut no_hist = record();
    no_hist
        .stats
        .iter_mut()
        .flatten()
        .for_each(|s| s.hist.clear());
    let e = color_dim(&no_hist, "relu", &p).unwrap_err().to_string();
    assert!(e.contains(&name) && e.contains("with_hist(true)"), "{e}");
    assert!(!p.exists());
}

#[test]
#[ignore = "trains a ResNet18 on 200 images for a look at the pictures"]
fn a_real_look_at_a_resnet_training_from_scratch() {
    use fastcandle::vision::prelude::*;
    let images = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/pets_sample/images");
    let images = if images.exists() {
        images
    } else {
        PathBuf::from("/work/main/datasets/pets_sample/images")
    };
    let files: Vec<PathBuf> = get_image_files(&images)
        .unwrap()
        .into_iter()
        .step_by(10)
        .take(200)
        .collect();
    let is_cat = |name: &str| name.starts_with(char::is_uppercase);
    let dls = ImageDataLoaders::from_name_func(&images, files, is_cat)
        .valid_pct(0.2)
        .seed(42)
        .bs(16)
        .item_tfms(Resize::new(32))
        .build()
        .unwrap();
    let mut learn = VisionLearner::builder(&dls, Arch::Resnet18)
        .pretrained(Pretrained::No)
        .seed(1)
        .build()
        .unwrap()
        .metrics([error_rate()]);
    learn.add_cb(ActivationStats::new().with_hist(true));
    learn.fit_one_cycle(4, Some(1e-2)).unwrap();
    let a = learn.cb::<ActivationStats>().unwrap();
    let out = PathBuf::from(std::env::var("FASTCANDLE_ACTSTATS").unwrap_or("/tmp/actstats".into()));
    std::fs::create_dir_all(&out).unwrap();
    plot_layer_stats(a, "relu", out.join("layer_stats.png")).unwrap();
    color_dim(a, "relu", out.join("color_dim.png")).unwrap();
    plot_layer_stats(a, "layer4", out.join("layer_stats_layer4.png")).unwrap();
    color_dim(a, "layer4", out.join("color_dim_layer4.png")).unwrap();
    println!("{} batches, layers {:?}", a.stats.len(), a.names);
}
