//! The receptive fields the layers report, checked by brute force: change one input pixel and
//! see which positions of a stage change.

use candle_core::{Device, Tensor};
use fastcandle_models::{Arch, Pretrained, Stage, VisionModel};

/// The side of the test images.
const SIDE: usize = 128;

/// What a changed pixel is set to (in all three channels): far outside the inputs' range, so
/// that its effect passes the ReLUs and max pools on its way.
const SPIKE: f32 = 40.0;

/// A position counts as changed when some channel moved at all. With Winograd off (these
/// tests turn it off: its tiles mix neighbouring positions' rounding), a pixel outside the field
/// changes nothing, not even by rounding, and one at a field's edge changes it by however
/// little its path of weights carries (torchvision's initialisation makes a deep MobileNetV2
/// stage's activations far smaller than 1, so no fixed threshold would do).
const CHANGED: f32 = 0.0;

/// A deterministic image of smooth noise, `[3, SIDE, SIDE]`.
fn base_image() -> Vec<f32> {
    (0..3 * SIDE * SIDE)
        .map(|i| ((i as f32 * 0.731).sin() + (i as f32 * 0.117).cos()) * 0.8)
        .collect()
}

/// The outputs of children `0..=last` for the base image and one image per pixel of `pixels`
/// (set to [`SPIKE`]), as `[images][child]` of `[C, H, W]` values.
fn run(model: &VisionModel, pixels: &[(usize, usize)], last: usize) -> Vec<Vec<Tensor>> {
    fastcandle_core::ops::set_winograd(false);
    let base = base_image();
    let mut images = vec![Tensor::from_vec(base.clone(), (3, SIDE, SIDE), &Device::Cpu).unwrap()];
    for &(y, x) in pixels {
        let mut img = base.clone();
        for c in 0..3 {
            img[c * SIDE * SIDE + y * SIDE + x] = SPIKE;
        }
        images.push(Tensor::from_vec(img, (3, SIDE, SIDE), &Device::Cpu).unwrap());
    }
    let batch = Tensor::stack(&images, 0).unwrap();
    let outs = model.body().forward_to(&batch, last, false).unwrap();
    (0..images.len())
        .map(|i| outs.iter().map(|o| o.get(i).unwrap()).collect())
        .collect()
}

/// The positions `(y, x)` of a `[C, H, W]` map where `changed` differs from `base`.
fn changed_positions(base: &Tensor, changed: &Tensor) -> Vec<(usize, usize)> {
    let d = (changed - base)
        .unwrap()
        .abs()
        .unwrap()
        .max(0)
        .unwrap()
        .to_vec2::<f32>()
        .unwrap();
    let mut out = Vec::new();
    for (y, row) in d.iter().enumerate() {
        for (x, &v) in row.iter().enumerate() {
            if v > CHANGED {
                out.push((y, x));
            }
        }
    }
    out
}

fn contains((y0, x0, y1, x1): (usize, usize, usize, usize), (y, x): (usize, usize)) -> bool {
    (y0..y1).contains(&y) && (x0..x1).contains(&x)
}

/// Every position a pixel changes has that pixel in its field, at every stage.
fn changed_positions_see_the_pixel(model: &VisionModel, stages: &[Stage]) {
    let pixels = [(3, 5), (SIDE / 2, SIDE / 2 + 3), (SIDE - 2, SIDE - 9)];
    let last = stages.iter().map(|s| s.child).max().unwrap();
    let outs = run(model, &pixels, last);
    for s in stages {
        for (k, &p) in pixels.iter().enumerate() {
            let changed = changed_positions(&outs[0][s.child], &outs[k + 1][s.child]);
            assert!(
                !changed.is_empty(),
                "{}: pixel {p:?} changes nothing",
                s.name
            );
            for pos in changed {
                let b = s.field.input_box(pos, (SIDE, SIDE));
                assert!(
                    contains(b, p),
                    "{}: pixel {p:?} changes position {pos:?} whose box is {b:?}",
                    s.name
                );
            }
        }
    }
}

/// For a position whose field lies inside the image, the pixels just inside each edge of its
/// box change it and those just outside do not: the box is exactly what the position sees.
fn box_is_exact(model: &VisionModel, stages: &[Stage]) {
    let mut pixels = Vec::new();
    let mut cases = Vec::new();
    for s in stages {
        let f = s.field;
        let centre = (SIDE / 2 - f.offset.max(0) as usize) / f.stride;
        let pos = (centre, centre);
        let (y0, x0, y1, x1) = f.input_box(pos, (SIDE, SIDE));
        assert_eq!((y1 - y0, x1 - x0), (f.size, f.size), "{}", s.name);
        assert!(y0 >= 1 && y1 < SIDE, "{}: the field does not fit", s.name);
        let (ym, xm) = ((y0 + y1) / 2, (x0 + x1) / 2);
        let inside = [
            (y0, xm),
            (y1 - 1, xm),
            (ym, x0),
            (ym, x1 - 1),
            (y0, x0),
            (y1 - 1, x1 - 1),
        ];
        let outside = [(y0 - 1, xm), (y1, xm), (ym, x0 - 1), (ym, x1)];
        for (p, sees) in inside
            .iter()
            .map(|&p| (p, true))
            .chain(outside.map(|p| (p, false)))
        {
            cases.push((s.clone(), pos, p, sees));
            pixels.push(p);
        }
    }
    let last = stages.iter().map(|s| s.child).max().unwrap();
    let outs = run(model, &pixels, last);
    for (k, (s, pos, p, sees)) in cases.iter().enumerate() {
        let changed = changed_positions(&outs[0][s.child], &outs[k + 1][s.child]);
        assert_eq!(
            changed.contains(pos),
            *sees,
            "{}: pixel {p:?} {} position {pos:?} (field {:?})",
            s.name,
            if *sees { "should change" } else { "changes" },
            s.field
        );
    }
}

fn geometry(stages: &[Stage]) -> Vec<(&str, usize, usize, usize)> {
    stages
        .iter()
        .map(|s| (s.name.as_str(), s.channels, s.field.size, s.field.stride))
        .collect()
}

#[test]
fn resnet18_fields_match_brute_force() {
    let model = VisionModel::new(Arch::Resnet18, 2, &Pretrained::No, &Device::Cpu, 7).unwrap();
    let stages = model.body().stages();
    assert_eq!(
        geometry(&stages),
        [
            ("stem", 64, 11, 4),
            ("layer1", 64, 43, 4),
            ("layer2", 128, 99, 8),
            ("layer3", 256, 211, 16),
            ("layer4", 512, 435, 32),
        ]
    );
    assert_eq!(stages[0].child, 3);
    assert_eq!(stages[4].child, 7);
    changed_positions_see_the_pixel(&model, &stages);
    box_is_exact(&model, &stages[..3]);
}

#[test]
fn mobilenet_v2_fields_match_brute_force() {
    let model = VisionModel::new(Arch::MobilenetV2, 2, &Pretrained::No, &Device::Cpu, 7).unwrap();
    let stages = model.body().stages();
    assert_eq!(
        geometry(&stages),
        [
            ("features.1", 16, 7, 2),
            ("features.3", 24, 19, 4),
            ("features.6", 32, 59, 8),
            ("features.13", 96, 267, 16),
            ("features.18", 1280, 491, 32),
        ]
    );
    changed_positions_see_the_pixel(&model, &stages);
    box_is_exact(&model, &stages[..3]);
}
