//! Pretrained weights: files loaded by name (safetensors, and PyTorch's `.pth`/`.pt` in the
//! zip and legacy formats), and files from the Hugging Face hub.

use crate::key_renames::{KeyRename, renamed_for};
use crate::pth::{is_pickle, is_zip, read_pth};
use candle_core::{Device, Tensor};
use fastcandle_core::tensor_io::load_safetensors;
use fastcandle_core::{Error, ParamStore, Result};
use std::collections::HashMap;
use std::io::Read;
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

/// Every tensor of a weights file, by name, on the CPU, whatever its format (told by its
/// first bytes, not its extension):
///
/// - **safetensors**, as saved;
/// - **PyTorch checkpoints** (`.pth`, `.pt`, `.bin`), zip (PyTorch >= 1.6) or legacy: the
///   state dict, or the one held under `state_dict` or `model`; DataParallel's `module.`
///   prefix removed; float16, bfloat16 and float64 tensors converted to `f32` (see
///   [`crate::pth`]).
///
/// Errors name the file: unreadable, of no known format, truncated, not a state dict, or of an
/// unsupported storage type.
///
/// ```
/// use fastcandle_models::weights::read_weights;
/// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/pth/checkpoint.pth");
/// // fastai's `Learner.save` layout: {"model": state dict, "opt": ..., "epoch": 3}.
/// let tensors = read_weights(path.as_ref())?;
/// let (name, w) = &tensors[0];
/// assert_eq!((name.as_str(), w.dims()), ("conv.weight", &[4, 3, 3, 3][..]));
/// # Ok::<(), fastcandle_core::Error>(())
/// ```
pub fn read_weights(path: &Path) -> Result<Vec<(String, Tensor)>> {
    let mut head = Vec::with_capacity(9);
    std::fs::File::open(path)
        .and_then(|f| f.take(9).read_to_end(&mut head))
        .map_err(|e| Error::BadTensor {
            name: path.display().to_string(),
            reason: format!("cannot read: {e}"),
        })?;
    // safetensors: an 8-byte header length, then the header's JSON.
    let safetensors = head.get(8) == Some(&b'{');
    if !safetensors && (is_zip(&head) || is_pickle(&head)) {
        return read_pth(path);
    }
    let (tensors, _) = load_safetensors(path, &Device::Cpu).map_err(|e| match e {
        Error::BadTensor { name, reason } => Error::BadTensor {
            name,
            reason: format!(
                "{reason} (nor a PyTorch checkpoint: neither a zip archive nor a pickle)"
            ),
        },
        e => e,
    })?;
    let mut tensors: Vec<_> = tensors.into_iter().collect();
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(tensors)
}

/// Loads a weights file ([`read_weights`]: safetensors or a PyTorch checkpoint) into `store`
/// by name, strictly: every parameter and buffer must be in the file with its shape, and the
/// file may hold nothing else, except BatchNorm's `num_batches_tracked` counters (which
/// fastcandle does not keep) and the keys for which `skip` is true (a classifier the model
/// replaces). Old key names are renamed by `renames` when that matches more of the store (see
/// [`crate::key_renames`]). A mismatch is an error that names the file and lists every
/// missing, unexpected and mis-shaped key.
pub fn load_weights_into(
    store: &ParamStore,
    path: &Path,
    skip: impl Fn(&str) -> bool,
    renames: &[KeyRename],
) -> Result<()> {
    let tensors = read_weights(path)?;
    let tensors: HashMap<_, _> = renamed_for(store, tensors, renames)
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
