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

/// Tensors by name, as a safetensors file holds them.
type Tensors = HashMap<String, Tensor>;
/// A safetensors file's metadata.
type Meta = HashMap<String, String>;

/// The model's tensors as `model.<name>`, and with `with_opt` the optimizer's as
/// `opt.<name>.<i>` with its step counts as metadata.
fn learner_tensors(learn: &Learner, with_opt: bool) -> Result<(Vec<(String, Tensor)>, Meta)> {
    let mut tensors: Vec<(String, Tensor)> = learn
        .model
        .params()
        .state_dict()
        .into_iter()
        .map(|(k, v)| (format!("model.{k}"), v))
        .collect();
    let mut meta = HashMap::from([(FORMAT_KEY.to_string(), "1".to_string())]);
    if with_opt {
        let (opt_tensors, steps) = learn.opt.state_tensors()?;
        tensors.extend(
            opt_tensors
                .into_iter()
                .map(|(k, v)| (format!("opt.{k}"), v)),
        );
        meta.insert("opt_steps".to_string(), to_json(&steps)?);
    }
    Ok((tensors, meta))
}

fn to_json(v: &impl serde::Serialize) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Invalid(e.to_string()))
}

/// Saves `learn`'s model, optimizer state and position (`epochs_done`) to `path`, atomically,
/// with the run's `options` when given.
pub fn save_checkpoint(
    learn: &Learner,
    path: &Path,
    epochs_done: usize,
    options: Option<&serde_json::Value>,
) -> Result<()> {
    let (tensors, mut meta) = learner_tensors(learn, true)?;
    let info = CheckpointInfo {
        epochs_done,
        n_epoch: learn.state.n_epoch,
        train_iter: learn.state.train_iter,
        opt_func: learn.opt.opt_func.name().into(),
        seed: learn.seed,
        epochs_before: learn.epochs_before,
        options: options.cloned(),
    };
    meta.insert("info".to_string(), to_json(&info)?);
    fastcandle_core::tensor_io::save_safetensors(path, &tensors, Some(meta))?;
    Ok(())
}

/// fastai's `learn.save(file, with_opt)`: the model's weights and buffers, and with `with_opt`
/// the optimizer's state, to `path` (a safetensors file), atomically. Unlike a checkpoint it
/// holds no loop position: loading it ([`load_model`]) starts no resume.
pub fn save_model(learn: &Learner, path: &Path, with_opt: bool) -> Result<()> {
    let (tensors, meta) = learner_tensors(learn, with_opt)?;
    fastcandle_core::tensor_io::save_safetensors(path, &tensors, Some(meta))?;
    Ok(())
}

/// The tensors of a file that [`save_model`] or [`save_checkpoint`] wrote, split into the
/// model's and the optimizer's, with its metadata.
type Saved = (Tensors, Tensors, Meta);

fn read_saved(learn: &Learner, path: &Path) -> Result<Saved> {
    let device = learn.dls.device().clone();
    let (tensors, meta) = fastcandle_core::tensor_io::load_safetensors(path, &device)?;
    if meta.get(FORMAT_KEY).map(String::as_str) != Some("1") {
        return Err(bad_file(
            path,
            "not a fastcandle checkpoint (no `fastcandle_checkpoint` metadata)",
        ));
    }
    let mut model = HashMap::new();
    let mut opt = HashMap::new();
    for (k, v) in tensors {
        if let Some(name) = k.strip_prefix("model.") {
            model.insert(name.to_string(), v);
        } else if let Some(name) = k.strip_prefix("opt.") {
            opt.insert(name.to_string(), v);
        }
    }
    Ok((model, opt, meta))
}

fn bad_file(path: &Path, reason: &str) -> Error {
    Error::File {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

/// Puts the saved model (and with `opt` the optimizer's state) into `learn`.
fn restore(
    learn: &mut Learner,
    path: &Path,
    model: &Tensors,
    opt: Option<(&Tensors, &Meta)>,
) -> Result<()> {
    learn
        .model
        .params()
        .load_state_dict(model, true)
        .map_err(|e| bad_file(path, &e.to_string()))?;
    if let Some((opt, meta)) = opt {
        let steps: HashMap<String, u64> =
            serde_json::from_str(meta.get("opt_steps").ok_or_else(|| {
                bad_file(
                    path,
                    "no `opt_steps` metadata: saved without the optimizer state (with_opt)",
                )
            })?)
            .map_err(|e| bad_file(path, &format!("bad `opt_steps` metadata: {e}")))?;
        learn.opt.load_state(opt, &steps)?;
    }
    Ok(())
}

/// fastai's `learn.load(file, with_opt)`: the weights (and with `with_opt` the optimizer's
/// state) that [`save_model`] or [`save_checkpoint`] wrote, put into `learn`. Asking for the
/// optimizer's state from a file saved without it is an error naming the file.
pub fn load_model(learn: &mut Learner, path: &Path, with_opt: bool) -> Result<()> {
    let (model, opt, meta) = read_saved(learn, path)?;
    restore(learn, path, &model, with_opt.then_some((&opt, &meta)))
}

/// Restores a checkpoint into `learn`; its next fit resumes at the saved position.
pub fn load_checkpoint(learn: &mut Learner, path: &Path) -> Result<CheckpointInfo> {
    let (model, opt, meta) = read_saved(learn, path)?;
    let info: CheckpointInfo = serde_json::from_str(
        meta.get("info")
            .ok_or_else(|| bad_file(path, "no `info` metadata"))?,
    )
    .map_err(|e| bad_file(path, &format!("bad `info` metadata: {e}")))?;
    restore(learn, path, &model, Some((&opt, &meta)))?;
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
