//! Grad-CAM and CAM against PyTorch (`scripts/reference/cam_reference.py`): ResNet18 under
//! fastai's head with the reference formula's weights, one non-square image, class 3.

mod common;

use candle_core::Device;
use common::{det_input, fill_store, floats};
use fastcandle_core::Model;
use fastcandle_models::cam::{class_activation_map, grad_cam};
use fastcandle_models::{Arch, Pretrained, VisionModel};

fn reference() -> serde_json::Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/cam_reference.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The largest difference, relative to the reference's largest magnitude.
fn rel_err(got: &[f32], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len());
    let scale = want.iter().fold(0f64, |m, v| m.max(v.abs())).max(1e-12);
    got.iter()
        .zip(want)
        .map(|(g, w)| (*g as f64 - w).abs())
        .fold(0.0, f64::max)
        / scale
}

#[test]
fn grad_cam_and_cam_match_pytorch() {
    let r = reference();
    let class = r["class"].as_u64().unwrap() as usize;
    let m = VisionModel::new(Arch::Resnet18, 5, &Pretrained::No, &Device::Cpu, 0).unwrap();
    fill_store(m.params());
    let x = det_input(&[1, 3, 128, 96], 0.05, 0.3, 1.5);
    for (layer, key) in [("layer4", "grad_cam_layer4"), ("layer3", "grad_cam_layer3")] {
        let g = grad_cam(&m, &x, class, layer).unwrap();
        let shape: Vec<usize> = r[key]["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        assert_eq!([g.height, g.width], [shape[0], shape[1]], "{layer}");
        let e = rel_err(&g.map, &floats(&r[key]["map"]));
        assert!(e < 1e-4, "{layer}: relative error {e:.2e}");
        let l = rel_err(&g.logits, &floats(&r["logits"]));
        assert!(l < 1e-4, "logits: {l:.2e}");
    }
    let c = class_activation_map(&m, &x, class).unwrap();
    let e = rel_err(&c.map, &floats(&r["cam"]["map"]));
    assert!(e < 1e-4, "CAM: relative error {e:.2e}");
    assert!(c.positive().iter().all(|v| *v >= 0.0));
}

#[test]
fn maps_refuse_what_they_cannot_draw() {
    let m = VisionModel::new(Arch::Resnet18, 5, &Pretrained::No, &Device::Cpu, 0).unwrap();
    let x = det_input(&[1, 3, 64, 64], 0.05, 0.3, 1.5);
    let e = grad_cam(&m, &x, 5, "layer4").unwrap_err().to_string();
    assert!(e.contains("class 5") && e.contains("5 outputs"), "{e}");
    let two = det_input(&[2, 3, 64, 64], 0.05, 0.3, 1.5);
    assert!(grad_cam(&m, &two, 0, "layer4").is_err());
    let e = grad_cam(&m, &x, 0, "layer9").unwrap_err().to_string();
    assert!(e.contains("layer9"), "{e}");
    // MobileNetV2's body gives 1280 channels, the head's last layer takes 512: no CAM.
    let mb = VisionModel::new(Arch::MobilenetV2, 2, &Pretrained::No, &Device::Cpu, 0).unwrap();
    let e = class_activation_map(&mb, &x, 0).unwrap_err().to_string();
    assert!(e.contains("1280") && e.contains("grad_cam"), "{e}");
    assert!(grad_cam(&mb, &x, 1, "features.18").is_ok());
}
