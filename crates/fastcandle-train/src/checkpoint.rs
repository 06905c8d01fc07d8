//! Resumable checkpoints: the model's weights and buffers, the optimizer's state and the loop's
//! position, in one safetensors file written atomically.
//!
//! Tensors are stored as `model.<name>` and `opt.<name>.<buffer>`; the loop position and the
//! optimizer's step counts as JSON metadata. Loading sets the learner to start its next fit at
//! the epoch after the saved one, so calling the same `fit_one_cycle` again finishes the run
//! exactly as the uninterrupted run would have.

use crate::error::{Error, Result};
use crate::learner::Learner;
use candle_core::Tensor;
use std::collections::HashMap;
use std::path::Path;

/// The loop position saved in a checkpoint.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CheckpointInfo {
    /// Epochs of the fit completed when saved (the next fit starts here).
    pub epochs_done: usize,
    /// The number of epochs of the fit.
    pub n_epoch: usize,
    /// Training batches done in the fit.
    pub train_iter: usize,
    /// The update rule.
    pub opt_func: String,
    /// The learner's seed.
    pub seed: u64,
    /// Epochs run by the learner's earlier fits ([`Learner::epochs_before`]).
    #[serde(default)]
    pub epochs_before: usize,
}

const FORMAT_KEY: &str = "fastcandle_checkpoint";

/// Saves `learn`'s model, optimizer state and position (`epochs_done`) to `path`, atomically.
pub fn save_checkpoint(learn: &Learner, path: &Path, epochs_done: usize) -> Result<()> {
    let mut tensors: Vec<(String, Tensor)> = learn
        .model
        .params()
        .state_dict()
        .into_iter()
        .map(|(k, v)| (format!("model.{k}"), v))
        .collect();
    let (opt_tensors, steps) = learn.opt.state_tensors()?;
    tensors.extend(
        opt_tensors
            .into_iter()
            .map(|(k, v)| (format!("opt.{k}"), v)),
    );
    let info = CheckpointInfo {
        epochs_done,
        n_epoch: learn.state.n_epoch,
        train_iter: learn.state.train_iter,
        opt_func: learn.opt.opt_func.name().into(),
        seed: learn.seed,
        epochs_before: learn.epochs_before,
    };
    let json = |v: serde_json::Result<String>| v.map_err(|e| Error::Invalid(e.to_string()));
    let meta = HashMap::from([
        (FORMAT_KEY.to_string(), "1".to_string()),
        ("info".to_string(), json(serde_json::to_string(&info))?),
        (
            "opt_steps".to_string(),
            json(serde_json::to_string(&steps))?,
        ),
    ]);
    fastcandle_core::tensor_io::save_safetensors(path, &tensors, Some(meta))?;
    Ok(())
}

/// Restores a checkpoint into `learn`; its next fit resumes at the saved position.
pub fn load_checkpoint(learn: &mut Learner, path: &Path) -> Result<CheckpointInfo> {
    let device = learn.dls.device().clone();
    let (tensors, meta) = fastcandle_core::tensor_io::load_safetensors(path, &device)?;
    let bad = |reason: &str| Error::File {
        path: path.display().to_string(),
        reason: reason.into(),
    };
    if meta.get(FORMAT_KEY).map(String::as_str) != Some("1") {
        return Err(bad(
            "not a fastcandle checkpoint (no `fastcandle_checkpoint` metadata)",
        ));
    }
    let info: CheckpointInfo =
        serde_json::from_str(meta.get("info").ok_or_else(|| bad("no `info` metadata"))?)
            .map_err(|e| bad(&format!("bad `info` metadata: {e}")))?;
    let steps: HashMap<String, u64> = serde_json::from_str(
        meta.get("opt_steps")
            .ok_or_else(|| bad("no `opt_steps` metadata"))?,
    )
    .map_err(|e| bad(&format!("bad `opt_steps` metadata: {e}")))?;
    let mut model = HashMap::new();
    let mut opt = HashMap::new();
    for (k, v) in tensors {
        if let Some(name) = k.strip_prefix("model.") {
            model.insert(name.to_string(), v);
        } else if let Some(name) = k.strip_prefix("opt.") {
            opt.insert(name.to_string(), v);
        }
    }
    learn
        .model
        .params()
        .load_state_dict(&model, true)
        .map_err(|e| Error::File {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
    learn.opt.load_state(&opt, &steps)?;
    learn.seed = info.seed;
    learn.epochs_before = info.epochs_before;
    learn.state.resume_epoch = Some(info.epochs_done);
    Ok(info)
}
