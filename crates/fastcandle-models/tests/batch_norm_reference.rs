//! BatchNorm1d in training mode against PyTorch (`scripts/reference/train_reference.py`):
//! output, gradients of input, weight and bias, and the running statistics after one step.

use candle_core::{Device, Tensor, Var};
use fastcandle_core::ParamBuilder;
use fastcandle_models::layers::BatchNorm;
use serde_json::Value;

use fastcandle_testutil::floats_f32 as floats;

/// Every value within `1e-5 + 1e-4 * |want|`.
fn close(name: &str, got: &[f32], want: &[f32]) {
    fastcandle_testutil::assert_close(name, got, want, 1e-5, 1e-4);
}

#[test]
fn batch_norm_1d_matches_pytorch() {
    let r: Value = serde_json::from_str(include_str!(
        "../../fastcandle-train/tests/data/reference.json"
    ))
    .unwrap();
    let r = &r["batch_norm_1d"];
    let dev = Device::Cpu;
    let pb = ParamBuilder::new(&dev, 0);
    let bn = BatchNorm::new(&pb.pp("bn"), 3).unwrap();
    let store = pb.store();
    store
        .get("bn.weight")
        .unwrap()
        .var
        .set(&Tensor::new(&[0.5f32, 1.0, 1.5], &dev).unwrap())
        .unwrap();
    store
        .get("bn.bias")
        .unwrap()
        .var
        .set(&Tensor::new(&[0.1f32, -0.2, 0.3], &dev).unwrap())
        .unwrap();
    let x = Var::from_vec(floats(&r["x"]), (4, 3), &dev).unwrap();
    let up = Tensor::from_vec(floats(&r["up"]), (4, 3), &dev).unwrap();
    let y = bn.forward_t(&x, true).unwrap();
    close(
        "y",
        &y.flatten_all().unwrap().to_vec1().unwrap(),
        &floats(&r["y"]),
    );
    let grads = (y * up).unwrap().sum_all().unwrap().backward().unwrap();
    let g = |t: &Tensor| {
        grads
            .get(t)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
    };
    close("dx", &g(x.as_tensor()), &floats(&r["dx"]));
    close(
        "dweight",
        &g(store.get("bn.weight").unwrap().tensor()),
        &floats(&r["dweight"]),
    );
    close(
        "dbias",
        &g(store.get("bn.bias").unwrap().tensor()),
        &floats(&r["dbias"]),
    );
    let rm: Vec<f32> = store
        .get("bn.running_mean")
        .unwrap()
        .tensor()
        .to_vec1()
        .unwrap();
    let rv: Vec<f32> = store
        .get("bn.running_var")
        .unwrap()
        .tensor()
        .to_vec1()
        .unwrap();
    close("running_mean", &rm, &floats(&r["running_mean"]));
    close("running_var", &rv, &floats(&r["running_var"]));
}
