//! Evaluation under `no_grad` records no op: the output of every model is a plain tensor, so
//! no activation outlives the layer that reads it, and its values equal the tracked pass's.

use candle_core::{Device, Tensor};
use fastcandle_core::Model;
use fastcandle_core::grad::no_grad;
use fastcandle_models::{Arch, DynamicUnet, Pretrained, VisionModel};

fn check(model: &dyn Model, x: &Tensor, what: &str) {
    let tracked = model.forward_t(std::slice::from_ref(x), false).unwrap();
    assert!(tracked.track_op(), "{what}: a tracked pass records its ops");
    let plain = no_grad(|| model.forward_t(std::slice::from_ref(x), false)).unwrap();
    assert!(!plain.track_op(), "{what}: the no_grad pass recorded an op");
    let values = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert_eq!(
        values(&tracked),
        values(&plain),
        "{what}: no_grad changed the output"
    );
}

#[test]
fn no_grad_passes_record_nothing() {
    let dev = Device::Cpu;
    let x = Tensor::randn(0f32, 1., (2, 3, 64, 64), &dev).unwrap();
    for arch in [Arch::Resnet18, Arch::MobilenetV2] {
        let m = VisionModel::new(arch, 3, &Pretrained::No, &dev, 0).unwrap();
        check(&m, &x, arch.name());
    }
    let unet = DynamicUnet::new(Arch::Resnet18, 4, (64, 64), &Pretrained::No, &dev, 0).unwrap();
    check(&unet, &x, "DynamicUnet");
}
