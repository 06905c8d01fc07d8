//! Pretrained weights: safetensors files loaded by name, and files from the Hugging Face hub.

use candle_core::Device;
use fastcandle_core::tensor_io::load_safetensors;
use fastcandle_core::{Error, ParamStore, Result};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The parameters and buffers of `store` whose names pass `keep`, as a store of its own that
/// shares their variables (loading into it loads into `store`).
pub fn subset(store: &ParamStore, keep: impl Fn(&str) -> bool) -> Result<ParamStore> {
    let sub = ParamStore::new();
    for p in store.all().into_iter().filter(|p| keep(&p.name)) {
        sub.insert(p.name.clone(), p.group, p.kind, p.var.clone())?;
    }
    Ok(sub)
}

/// Loads a safetensors file into `store` by name, strictly: every parameter and buffer must be
/// in the file with its shape, and the file may hold nothing else, except BatchNorm's
/// `num_batches_tracked` counters (which fastcandle does not keep) and the keys for which
/// `skip` is true (a classifier the model replaces). A mismatch is an error that names the
/// file and lists every missing, unexpected and mis-shaped key.
pub fn load_safetensors_into(
    store: &ParamStore,
    path: &Path,
    skip: impl Fn(&str) -> bool,
) -> Result<()> {
    let (tensors, _) = load_safetensors(path, &Device::Cpu)?;
    let tensors: HashMap<_, _> = tensors
        .into_iter()
        .filter(|(k, _)| !k.ends_with("num_batches_tracked") && !skip(k))
        .collect();
    store.load_state_dict(&tensors, true).map_err(|e| match e {
        Error::BadTensor { reason, .. } => Error::BadTensor {
            name: path.display().to_string(),
            reason,
        },
        e => e,
    })
}

/// Whether `HF_HUB_OFFLINE` asks for the cache only (`1`, `true`, `yes`, `on`).
pub fn hub_offline() -> bool {
    std::env::var("HF_HUB_OFFLINE")
        .map(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
        .unwrap_or(false)
}

/// The local path of `file` in the hub model repository `repo` (`timm/resnet34.a1_in1k`),
/// downloaded into the hub cache unless it is there already. The cache is hf-hub's (and the
/// Python `huggingface_hub`'s): `HF_HOME/hub`, by default `~/.cache/huggingface/hub`. With
/// `HF_HUB_OFFLINE` set nothing is downloaded; `HF_ENDPOINT` replaces `https://huggingface.co`.
pub fn hub_file(repo: &str, file: &str) -> Result<PathBuf> {
    hub_file_in(&hf_hub::Cache::from_env(), repo, file, hub_offline())
}

/// [`hub_file`] with an explicit cache and offline mode.
pub fn hub_file_in(
    cache: &hf_hub::Cache,
    repo: &str,
    file: &str,
    offline: bool,
) -> Result<PathBuf> {
    let err = |reason: String| Error::BadTensor {
        name: format!("{repo}/{file}"),
        reason,
    };
    if let Some(p) = cache.model(repo.to_string()).get(file) {
        return Ok(p);
    }
    if offline {
        return Err(err(format!(
            "HF_HUB_OFFLINE is set and the file is not in the hub cache at {}; download it \
             there, or load a local file with Pretrained::File",
            cache.path().display()
        )));
    }
    let mut builder = hf_hub::api::sync::ApiBuilder::from_cache(cache.clone()).with_progress(false);
    if let Ok(endpoint) = std::env::var("HF_ENDPOINT") {
        builder = builder.with_endpoint(endpoint);
    }
    let api = builder
        .build()
        .map_err(|e| err(format!("cannot start the Hugging Face hub client: {e}")))?;
    api.model(repo.to_string()).get(file).map_err(|e| {
        err(format!(
            "cannot download from the Hugging Face hub ({e}); without a network, put the file \
             in the hub cache at {} or load a local file with Pretrained::File",
            cache.path().display()
        ))
    })
}
