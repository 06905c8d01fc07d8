//! The top patches of a stage (Zeiler & Fergus): a planted pattern is found by the channel that
//! responds to it, in the right image and place; patches are sorted and from distinct images;
//! the pictures are written. `cargo test --release -p fastcandle --test patches -- --ignored`
//! writes samples of pretrained MobileNetV2 on the pets silhouettes to
//! `$FASTCANDLE_PATCH_SAMPLES` (default `/tmp/patches`) to look at.

use candle_core::{Device, Tensor};
use fastcandle::core::ParamBuilder;
use fastcandle::models::layers::{Conv2d, Conv2dConfig, MaxPool2d, Relu, Sequential};
use fastcandle::models::{Arch, Body, Pretrained, VisionModel};
use fastcandle::visualize::{
    Channels, StagePatches, decode_batches, save_top_patches, top_patches,
};
use std::collections::HashMap;

const SIDE: usize = 32;

/// A brightness detector (channel 0) and a darkness detector (channel 1): a 3x3 convolution
/// with hand-set weights, a ReLU and a 3x3 max pool of stride 2 (field 5, stride 2).
fn detector_body() -> Body {
    let pb = ParamBuilder::new(&Device::Cpu, 0);
    let cfg = Conv2dConfig {
        padding: 1,
        bias: false,
        ..Default::default()
    };
    let conv = Conv2d::new(&pb.pp("c"), 3, 2, 3, cfg).unwrap();
    let w: Vec<f32> = (0..2 * 27)
        .map(|i| if i < 27 { 1.0 / 27.0 } else { -1.0 / 27.0 })
        .collect();
    let w = Tensor::from_vec(w, (2, 3, 3, 3), &Device::Cpu).unwrap();
    let weights = HashMap::from([("c.weight".to_string(), w)]);
    pb.store().load_state_dict(&weights, true).unwrap();
    let children = Sequential::new()
        .with(conv)
        .with(Relu)
        .with(MaxPool2d::new(3, 2, 1));
    Body::new(children, 2).with_stages(vec![(2, "pool".into())])
}

/// Six grey images with a little texture; image 4 holds a white 4x4 square at rows 10..14,
/// columns 20..24, image 2 a lighter grey one at rows 25..29, columns 3..7. Two batches of 3.
fn planted_batches() -> Vec<Tensor> {
    let image = |k: usize| {
        let mut v = vec![0f32; 3 * SIDE * SIDE];
        for c in 0..3 {
            for y in 0..SIDE {
                for x in 0..SIDE {
                    let mut p = 0.3 + 0.05 * ((y * 7 + x * 3 + k * 11 + c) as f32).sin();
                    if k == 4 && (10..14).contains(&y) && (20..24).contains(&x) {
                        p = 1.0;
                    }
                    if k == 2 && (25..29).contains(&y) && (3..7).contains(&x) {
                        p = 0.7;
                    }
                    v[(c * SIDE + y) * SIDE + x] = p;
                }
            }
        }
        Tensor::from_vec(v, (3, SIDE, SIDE), &Device::Cpu).unwrap()
    };
    let images: Vec<Tensor> = (0..6).map(image).collect();
    images
        .chunks(3)
        .map(|c| Tensor::stack(c, 0).unwrap())
        .collect()
}

fn contains((y0, x0, y1, x1): (usize, usize, usize, usize), (y, x): (usize, usize)) -> bool {
    (y0..y1).contains(&y) && (x0..x1).contains(&x)
}

/// Largest first, at most one patch per image, boxes inside the image and no larger than the
/// field.
fn check_order(s: &StagePatches, side: usize) {
    for c in &s.channels {
        for pair in c.patches.windows(2) {
            assert!(pair[0].activation >= pair[1].activation, "{}", s.stage.name);
        }
        let mut images: Vec<usize> = c.patches.iter().map(|p| p.image).collect();
        images.sort();
        images.dedup();
        assert_eq!(
            images.len(),
            c.patches.len(),
            "{}: an image twice",
            s.stage.name
        );
        for p in &c.patches {
            let (y0, x0, y1, x1) = p.bbox;
            assert!(
                y0 < y1 && x0 < x1 && y1 <= side && x1 <= side,
                "{:?}",
                p.bbox
            );
            assert!(y1 - y0 <= s.stage.field.size && x1 - x0 <= s.stage.field.size);
        }
    }
}

#[test]
fn the_planted_pattern_is_the_top_patch_of_the_channel_that_sees_it() {
    let body = detector_body();
    let stages = body.stages();
    assert_eq!((stages[0].field.size, stages[0].field.stride), (5, 2));
    let batches = planted_batches();
    let found = top_patches(&body, &batches, &stages, &Channels::Given(vec![0, 1]), 4).unwrap();
    let s = &found[0];
    check_order(s, SIDE);
    let bright = &s.channels[0];
    assert_eq!(bright.channel, 0);
    assert_eq!(bright.patches.len(), 4);
    let top = bright.patches[0];
    assert_eq!(top.image, 4, "{top:?}");
    // The whole field sees the square: its activation is the square's brightness.
    assert!((top.activation - 1.0).abs() < 1e-5, "{top:?}");
    assert!(
        contains(top.bbox, (11, 21)) && contains(top.bbox, (12, 22)),
        "{top:?}"
    );
    let second = bright.patches[1];
    assert_eq!(second.image, 2, "{second:?}");
    assert!(contains(second.bbox, (27, 5)), "{second:?}");
    assert!(second.activation > 0.6 && bright.patches[2].activation < 0.4);
    // The darkness detector never fires on these bright images.
    assert!(s.channels[1].patches.iter().all(|p| p.activation == 0.0));

    let most = top_patches(&body, &batches, &stages, &Channels::MostActive(1), 9).unwrap();
    assert_eq!(most[0].channels.len(), 1);
    assert_eq!(most[0].channels[0].channel, 0);
    assert_eq!(most[0].channels[0].patches.len(), 6, "one per image");
    let err = top_patches(&body, &batches, &stages, &Channels::Given(vec![2]), 9).unwrap_err();
    assert!(err.to_string().contains("no channel 2"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let images = decode_batches(&batches, None).unwrap();
    assert_eq!(images.len(), 6);
    let path = dir.path().join("pool.png");
    save_top_patches(s, &images, &path).unwrap();
    let png = image::open(&path).unwrap().into_rgb8();
    assert!(
        png.width() > 4 * 80 && png.height() > 2 * 80,
        "{:?}",
        png.dimensions()
    );
    // The top patch (the white square) is the whitest thing in the first row of cells.
    let whites = png.pixels().filter(|p| p.0 == [255, 255, 255]).count();
    assert!(whites > 0);
}

#[test]
fn every_resnet_stage_gives_sorted_patches_and_a_picture() {
    let model = VisionModel::new(Arch::Resnet18, 2, &Pretrained::No, &Device::Cpu, 3).unwrap();
    let side = 64;
    let x: Vec<f32> = (0..4 * 3 * side * side)
        .map(|i| ((i as f32) * 0.0137).sin() * 1.5)
        .collect();
    let batches = vec![Tensor::from_vec(x, (4, 3, side, side), &Device::Cpu).unwrap()];
    let stages = model.body().stages();
    let found = top_patches(model.body(), &batches, &stages, &Channels::MostActive(3), 3).unwrap();
    assert_eq!(found.len(), 5);
    let images = decode_batches(
        &batches,
        Some(&fastcandle::data::vision::Normalize::imagenet()),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    for s in &found {
        check_order(s, side);
        assert_eq!(s.channels.len(), 3);
        for pair in s.channels.windows(2) {
            assert!(pair[0].mean >= pair[1].mean);
        }
        let path = dir.path().join(format!("{}.png", s.stage.name));
        save_top_patches(s, &images, &path).unwrap();
        assert!(image::open(&path).is_ok());
    }
}

/// Pretrained MobileNetV2 on the pets silhouettes: one picture per stage, to look at.
#[test]
#[ignore = "writes sample pictures; needs the weights in datasets/weights"]
fn sample_pictures_of_pretrained_mobilenet() {
    use fastcandle::data::vision::{
        ItemTransform, Normalize, Resize, decode_image, get_image_files,
    };
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let weights = std::env::var("FASTCANDLE_MOBILENET")
        .map(std::path::PathBuf::from)
        .unwrap_or(root.join("datasets/weights/mobilenet_v2-imagenet-features.safetensors"));
    let data = std::env::var("FASTCANDLE_PETS")
        .map(std::path::PathBuf::from)
        .unwrap_or(root.join("datasets/pets_sample/images"));
    let out = std::env::var("FASTCANDLE_PATCH_SAMPLES").unwrap_or("/tmp/patches".into());
    let model = VisionModel::new(
        Arch::MobilenetV2,
        2,
        &Pretrained::File(weights),
        &Device::Cpu,
        0,
    )
    .unwrap();
    let mut files = get_image_files(&data).unwrap();
    files.sort();
    files.truncate(200);
    let resize = Resize::new(160);
    let norm = Normalize::imagenet();
    let mut rng = fastcandle::core::rng::rng(0);
    let tensors: Vec<Tensor> = files
        .iter()
        .map(|f| {
            let img = decode_image(f).unwrap().into_rgb();
            let img = resize.apply(&img, false, &mut rng).unwrap();
            let (w, h) = (img.width(), img.height());
            let v: Vec<f32> = (0..3 * h * w)
                .map(|i| {
                    let (c, p) = (i / (h * w), i % (h * w));
                    norm.value(c, img.data()[p * 3 + c])
                })
                .collect();
            Tensor::from_vec(v, (3, h, w), &Device::Cpu).unwrap()
        })
        .collect();
    let batches: Vec<Tensor> = tensors
        .chunks(32)
        .map(|c| Tensor::stack(c, 0).unwrap())
        .collect();
    let stages = model.body().stages();
    let found = top_patches(model.body(), &batches, &stages, &Channels::MostActive(8), 9).unwrap();
    let images = decode_batches(&batches, Some(&norm)).unwrap();
    for s in &found {
        save_top_patches(s, &images, format!("{out}/{}.png", s.stage.name)).unwrap();
    }
}
