//! Loading body weights by name: PyTorch-layout files made here (with a classifier and
//! `num_batches_tracked` counters, as torchvision and timm save them), mismatches listed key by
//! key, the Hugging Face hub cache offline, and architecture names.

use candle_core::{DType, Device, Tensor};
use fastcandle_core::tensor_io::save_safetensors;
use fastcandle_core::{Model, ParamStore};
use fastcandle_models::weights::{hub_file_in, load_weights_into};
use fastcandle_models::{Arch, Pretrained, ResNet, ResNetConfig, VisionModel};
use std::path::Path;

/// A torchvision-style ResNet18 checkpoint: every parameter and buffer, `fc.*` for 1000
/// classes, and an I64 `num_batches_tracked` per BatchNorm.
fn torchvision_checkpoint(seed: u64) -> (ResNet, Vec<(String, Tensor)>) {
    let m = ResNet::new(&ResNetConfig::RESNET18, 1000, &Device::Cpu, seed).unwrap();
    let mut sd = m.params().state_dict();
    let counters: Vec<(String, Tensor)> = sd
        .iter()
        .filter_map(|(k, _)| k.strip_suffix(".running_var"))
        .map(|bn| {
            (
                format!("{bn}.num_batches_tracked"),
                Tensor::new(7i64, &Device::Cpu).unwrap(),
            )
        })
        .collect();
    sd.extend(counters);
    (m, sd)
}

fn same_values(a: &Tensor, b: &Tensor) -> bool {
    fastcandle_testutil::tensor_max_abs_diff(a, b) == 0.0
}

#[test]
fn a_torchvision_checkpoint_loads_into_the_body_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("resnet18.safetensors");
    let (src, sd) = torchvision_checkpoint(11);
    save_safetensors(&path, &sd, None).unwrap();

    let m = VisionModel::new(Arch::Resnet18, 3, &Pretrained::File(path), &Device::Cpu, 0).unwrap();
    let fresh = VisionModel::new(Arch::Resnet18, 3, &Pretrained::No, &Device::Cpu, 0).unwrap();
    let mut n_body = 0;
    for p in m.params().all() {
        if let Some(head) = p.name.strip_prefix("head.") {
            // The head keeps its own initialisation.
            let f = fresh.params().get(&p.name).unwrap();
            assert!(same_values(p.tensor(), f.tensor()), "head.{head} changed");
        } else {
            let s = src.params().get(&p.name).unwrap();
            assert!(same_values(p.tensor(), s.tensor()), "{} not loaded", p.name);
            n_body += 1;
        }
    }
    // conv1 + bn1 (4) + 8 blocks of 2 convs and 2 BNs + 3 downsamples of a conv and a BN.
    assert_eq!(n_body, 5 + 8 * 10 + 3 * 5);
    let y = m
        .forward_t(
            &[Tensor::zeros((1, 3, 32, 32), DType::F32, &Device::Cpu).unwrap()],
            false,
        )
        .unwrap();
    assert_eq!(y.dims(), &[1, 3]);
}

#[test]
fn a_full_checkpoint_loads_into_a_full_resnet() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("resnet18.safetensors");
    let (src, sd) = torchvision_checkpoint(5);
    save_safetensors(&path, &sd, None).unwrap();
    let m = ResNet::new(&ResNetConfig::RESNET18, 1000, &Device::Cpu, 0).unwrap();
    load_weights_into(m.params(), &path, |_| false, &[]).unwrap();
    let fc = m.params().get("fc.weight").unwrap();
    assert!(same_values(
        fc.tensor(),
        src.params().get("fc.weight").unwrap().tensor()
    ));
}

#[test]
fn mismatches_are_listed_key_by_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.safetensors");
    let (_, mut sd) = torchvision_checkpoint(1);
    sd.retain(|(k, _)| k != "layer3.1.bn2.running_var");
    sd.push((
        "layer9.0.conv1.weight".into(),
        Tensor::zeros(3, DType::F32, &Device::Cpu).unwrap(),
    ));
    for (k, t) in sd.iter_mut() {
        if k == "layer1.0.conv2.weight" {
            *t = Tensor::zeros((64, 64, 1, 1), DType::F32, &Device::Cpu).unwrap();
        }
    }
    save_safetensors(&path, &sd, None).unwrap();
    let err = VisionModel::new(
        Arch::Resnet18,
        2,
        &Pretrained::File(path.clone()),
        &Device::Cpu,
        0,
    )
    .err()
    .expect("a broken checkpoint must not load")
    .to_string();
    for needle in [
        "broken.safetensors",
        "layer3.1.bn2.running_var",
        "layer9.0.conv1.weight",
        "layer1.0.conv2.weight",
    ] {
        assert!(err.contains(needle), "`{needle}` missing from: {err}");
    }
    // The classifier and the counters are not reported.
    assert!(
        !err.contains("fc.weight") && !err.contains("num_batches_tracked"),
        "{err}"
    );
}

#[test]
fn a_missing_file_is_a_named_error() {
    let err = VisionModel::new(
        Arch::Resnet18,
        2,
        &Pretrained::File("/nonexistent/weights.safetensors".into()),
        &Device::Cpu,
        0,
    )
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("/nonexistent/weights.safetensors"), "{err}");
}

/// Lays out a file the way the hub cache does: `models--owner--name/refs/main` holds the
/// commit, `snapshots/<commit>/<file>` the file.
fn put_in_cache(cache: &Path, repo: &str, file: &str, bytes: &[u8]) {
    let root = cache.join(format!("models--{}", repo.replace('/', "--")));
    let commit = "0123456789abcdef0123456789abcdef01234567";
    std::fs::create_dir_all(root.join("refs")).unwrap();
    std::fs::write(root.join("refs/main"), commit).unwrap();
    let snap = root.join("snapshots").join(commit);
    std::fs::create_dir_all(&snap).unwrap();
    std::fs::write(snap.join(file), bytes).unwrap();
}

#[test]
fn the_hub_cache_serves_weights_offline() {
    let dir = tempfile::tempdir().unwrap();
    let cache = hf_hub::Cache::new(dir.path().to_path_buf());
    let repo = Arch::Resnet18.spec().hub_repo.unwrap();
    assert_eq!(repo, "timm/resnet18.a1_in1k");

    let err = hub_file_in(&cache, repo, "model.safetensors", true)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("HF_HUB_OFFLINE") && err.contains("Pretrained::File") && err.contains(repo),
        "{err}"
    );

    let (src, sd) = torchvision_checkpoint(3);
    let tmp = dir.path().join("w.safetensors");
    save_safetensors(&tmp, &sd, None).unwrap();
    put_in_cache(
        dir.path(),
        repo,
        "model.safetensors",
        &std::fs::read(&tmp).unwrap(),
    );
    let path = hub_file_in(&cache, repo, "model.safetensors", true).unwrap();
    let m = VisionModel::new(Arch::Resnet18, 2, &Pretrained::File(path), &Device::Cpu, 0).unwrap();
    let w = m.params().get("layer4.1.conv2.weight").unwrap();
    let s = src.params().get("layer4.1.conv2.weight").unwrap();
    assert!(same_values(w.tensor(), s.tensor()));
}

#[test]
fn mobilenet_has_no_hub_weights_and_says_so() {
    let err = VisionModel::new(Arch::MobilenetV2, 2, &Pretrained::Hub, &Device::Cpu, 0)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("mobilenet_v2") && err.contains("Pretrained::File"),
        "{err}"
    );
}

#[test]
fn architectures_parse_from_torchvision_names() {
    for a in Arch::ALL {
        assert_eq!(a.name().parse::<Arch>().ok(), Some(*a), "{a:?}: parse");
        assert_eq!(a.to_string(), a.name(), "{a:?}: display");
        let json = serde_json::to_string(a).unwrap_or_else(|e| panic!("{a:?}: to JSON: {e}"));
        assert_eq!(
            serde_json::from_str::<Arch>(&json).ok(),
            Some(*a),
            "{a:?}: JSON round trip of {json}"
        );
    }
    assert_eq!(Arch::names().len(), Arch::ALL.len());
    assert_eq!("ResNet34".parse::<Arch>().unwrap(), Arch::Resnet34);
    assert_eq!("mobilenet-v2".parse::<Arch>().unwrap(), Arch::MobilenetV2);
    let err = "resnet101".parse::<Arch>().unwrap_err().to_string();
    assert!(
        err.contains("resnet101") && err.contains("resnet18, resnet34, resnet50, mobilenet_v2"),
        "{err}"
    );
    assert!(err.contains(&Arch::names().join(", ")), "{err}");
}

/// Every architecture trains: a training-mode forward and backward reaches every trainable
/// parameter, in three layer groups. Nothing here names an architecture's layers: a new
/// `archs!` entry is covered as it is, and every failure names the architecture.
#[test]
fn every_architecture_trains_in_three_groups() {
    let x = Tensor::rand(-1f32, 1f32, (2, 3, 48, 40), &Device::Cpu).unwrap();
    for &arch in Arch::ALL {
        let m = VisionModel::new(arch, 4, &Pretrained::No, &Device::Cpu, 0)
            .unwrap_or_else(|e| panic!("{arch}: cannot build: {e}"));
        assert_eq!(m.n_groups(), 3, "{arch}: layer groups");
        let y = m
            .forward_t(std::slice::from_ref(&x), true)
            .unwrap_or_else(|e| panic!("{arch}: training forward: {e}"));
        assert_eq!(y.dims(), &[2, 4], "{arch}: output shape");
        let grads = y
            .sqr()
            .and_then(|y| y.sum_all())
            .and_then(|y| y.backward())
            .unwrap_or_else(|e| panic!("{arch}: backward: {e}"));
        let store: &ParamStore = m.params();
        for p in store.parameters() {
            assert!(
                grads.get(p.tensor()).is_some(),
                "{arch}: no gradient for {}",
                p.name
            );
        }
        // fastai's freeze: only the head trains, and BatchNorm everywhere.
        store.freeze_to(-1, true);
        let conv = first_conv(store).unwrap_or_else(|| panic!("{arch}: no 4-D parameter"));
        assert!(
            !store.get(&conv).is_some_and(|p| p.trainable()),
            "{arch}: the first convolution `{conv}` still trains after freeze"
        );
        assert!(
            store.get("head.lin1.weight").is_some_and(|p| p.trainable()),
            "{arch}: the head's `head.lin1.weight` does not train after freeze"
        );
        assert!(
            m.forward_t(&[], false).is_err(),
            "{arch}: a forward without inputs must be an error"
        );
    }
}

/// The name of the model's first convolution: its first 4-D parameter in build order.
fn first_conv(store: &ParamStore) -> Option<String> {
    store
        .all()
        .into_iter()
        .find(|p| p.tensor().rank() == 4)
        .map(|p| p.name)
}

#[test]
fn the_first_convolution_is_found_from_the_model() {
    let name = |arch| {
        let m = VisionModel::new(arch, 2, &Pretrained::No, &Device::Cpu, 0).unwrap();
        first_conv(m.params()).unwrap()
    };
    assert_eq!(name(Arch::Resnet18), "conv1.weight");
    assert_eq!(name(Arch::MobilenetV2), "features.0.0.weight");
    assert_eq!(name(Arch::SimpleCnn), "0.0.weight");
}

/// torchvision's `kaiming_normal_(mode="fan_out")` takes `fan_out = size(0) * k * k` whatever
/// the groups: every convolution of a randomly initialised body has that spread, depthwise
/// ones included (MobileNetV2 once used `size(0) / groups`, a spread sqrt(C) too wide).
#[test]
fn random_convolutions_have_torchvisions_fan_out_spread() {
    for arch in [Arch::MobilenetV2, Arch::Resnet18] {
        let m = VisionModel::new(arch, 4, &Pretrained::No, &Device::Cpu, 0).unwrap();
        let mut depthwise = 0;
        for p in m.params().parameters() {
            let dims = p.tensor().dims().to_vec();
            // Enough values for the spread to be measured within a few percent.
            if dims.len() != 4 || dims.iter().product::<usize>() < 2000 {
                continue;
            }
            depthwise += usize::from(dims[1] == 1);
            let want = (2.0 / (dims[0] * dims[2] * dims[3]) as f64).sqrt();
            let v: Vec<f32> = p.tensor().flatten_all().unwrap().to_vec1().unwrap();
            let n = v.len() as f64;
            let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
            let std = (v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
            assert!(
                (std / want - 1.0).abs() < 0.15,
                "{arch} {}: std {std:.4}, torchvision's {want:.4}",
                p.name
            );
        }
        if arch == Arch::MobilenetV2 {
            assert!(
                depthwise > 5,
                "{arch}: {depthwise} depthwise convolutions checked"
            );
        }
    }
}
