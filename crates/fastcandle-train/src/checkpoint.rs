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
    /// The options that shaped the run (data, batch size, learning rate...), as the program
    /// that saved it gave them ([`SaveCheckpoint::options`](crate::callback::SaveCheckpoint::options)),
    /// so that a resume with other options can be refused ([`changed_options`]).
    #[serde(default)]
    pub options: Option<serde_json::Value>,
}

/// The names of the options whose values differ between a checkpoint's `saved` options and
/// the `asked` ones (a key on one side only counts), each as `name: saved -> asked`, sorted.
pub fn changed_options(saved: &serde_json::Value, asked: &serde_json::Value) -> Vec<String> {
    let empty = serde_json::Map::new();
    let saved = saved.as_object().unwrap_or(&empty);
    let asked = asked.as_object().unwrap_or(&empty);
    let mut keys: Vec<&String> = saved.keys().chain(asked.keys()).collect();
    keys.sort();
    keys.dedup();
    let none = serde_json::Value::Null;
    keys.into_iter()
        .filter_map(|k| {
            let (s, a) = (saved.get(k).unwrap_or(&none), asked.get(k).unwrap_or(&none));
            (s != a).then(|| format!("{k}: {s} -> {a}"))
        })
        .collect()
}

const FORMAT_KEY: &str = "fastcandle_checkpoint";

/// Saves `learn`'s model, optimizer state and position (`epochs_done`) to `path`, atomically,
/// with the run's `options` when given.
pub fn save_checkpoint(
    learn: &Learner,
    path: &Path,
    epochs_done: usize,
    options: Option<&serde_json::Value>,
) -> Result<()> {
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
        options: options.cloned(),
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

#[cfg(test)]
mod tests {
    use super::changed_options;
    use serde_json::json;

    #[test]
    fn changed_options_names_each_difference() {
        let saved = json!({ "bs": 64, "lr": 0.001, "seed": 42, "data": "a.csv" });
        assert!(changed_options(&saved, &saved).is_empty());
        let asked = json!({ "bs": 32, "lr": 0.001, "seed": 42, "data": "b.csv", "size": 64 });
        assert_eq!(
            changed_options(&saved, &asked),
            [
                "bs: 64 -> 32",
                r#"data: "a.csv" -> "b.csv""#,
                "size: null -> 64"
            ]
        );
    }
}
