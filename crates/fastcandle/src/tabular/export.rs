//! Exporting a trained tabular learner for inference in another process, and loading it back.

use super::learner::{Prediction, TabularLearner, one_row, predict_rows};
use crate::error::{Error, Result};
use candle_core::Device;
use fastcandle_core::{DeviceChoice, Model};
use fastcandle_data::{DataFrame, TabularProcessor};
use fastcandle_models::{TabularConfig, TabularModel};
use std::collections::HashMap;
use std::path::Path;

#[derive(serde::Serialize, serde::Deserialize)]
struct ExportedConfig {
    format: String,
    model: TabularConfig,
    cardinalities: Vec<usize>,
    n_cont: usize,
    n_out: usize,
}

const FORMAT: &str = "fastcandle-tabular-1";

fn file_err(path: &Path, reason: impl std::fmt::Display) -> Error {
    Error::File {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

impl TabularLearner {
    /// fastai's `learn.export()`: writes `model.safetensors` (weights and BatchNorm statistics),
    /// `processor.json` (the fitted procs) and `config.json` (the model's options) into `dir`,
    /// each atomically.
    pub fn export(&self, dir: impl AsRef<Path>) -> Result<()> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| file_err(dir, e))?;
        let tensors = self.learn.model.params().state_dict();
        fastcandle_core::tensor_io::save_safetensors(
            &dir.join("model.safetensors"),
            &tensors,
            None,
        )?;
        let config = ExportedConfig {
            format: FORMAT.into(),
            model: self.config.clone(),
            cardinalities: self.processor.cardinalities(),
            n_cont: self.processor.cont_names().len(),
            n_out: self.n_out,
        };
        for (name, text) in [
            (
                "config.json",
                serde_json::to_string_pretty(&config).map_err(|e| Error::Invalid(e.to_string()))?,
            ),
            (
                "processor.json",
                serde_json::to_string(&*self.processor)
                    .map_err(|e| Error::Invalid(e.to_string()))?,
            ),
        ] {
            let path = dir.join(name);
            fastcandle_core::tensor_io::write_atomic(&path, text.as_bytes())
                .map_err(|e| file_err(&path, e))?;
        }
        Ok(())
    }
}

/// A tabular model and its procs, loaded for inference (fastai's `load_learner`).
pub struct TabularPredictor {
    model: TabularModel,
    processor: TabularProcessor,
    device: Device,
}

impl TabularPredictor {
    /// Predicts every row of `rows`.
    pub fn predict(&self, rows: &DataFrame) -> Result<Vec<Prediction>> {
        predict_rows(&self.model, &self.processor, &self.device, rows)
    }

    /// Predicts one row given as `(column, value)` pairs.
    pub fn predict_one(&self, row: &[(&str, &str)]) -> Result<Prediction> {
        Ok(self.predict(&one_row(row)?)?.remove(0))
    }

    /// The fitted procs.
    pub fn processor(&self) -> &TabularProcessor {
        &self.processor
    }
}

/// Loads what [`TabularLearner::export`] wrote into `dir`.
pub fn load_tabular_learner(
    dir: impl AsRef<Path>,
    device: DeviceChoice,
) -> Result<TabularPredictor> {
    let dir = dir.as_ref();
    let read = |name: &str| {
        let p = dir.join(name);
        std::fs::read_to_string(&p).map_err(|e| file_err(&p, format!("cannot read: {e}")))
    };
    let config: ExportedConfig = serde_json::from_str(&read("config.json")?).map_err(|e| {
        file_err(
            &dir.join("config.json"),
            format!("not an exported tabular learner: {e}"),
        )
    })?;
    if config.format != FORMAT {
        return Err(file_err(
            &dir.join("config.json"),
            format!("format `{}`, expected `{FORMAT}`", config.format),
        ));
    }
    let processor: TabularProcessor = serde_json::from_str(&read("processor.json")?)
        .map_err(|e| file_err(&dir.join("processor.json"), format!("bad processor: {e}")))?;
    let device = device.device()?;
    let model = TabularModel::new(
        &config.cardinalities,
        config.n_cont,
        config.n_out,
        &config.model,
        &device,
        0,
    )?;
    let (tensors, _) =
        fastcandle_core::tensor_io::load_safetensors(&dir.join("model.safetensors"), &device)?;
    let tensors: HashMap<_, _> = tensors.into_iter().collect();
    model
        .params()
        .load_state_dict(&tensors, true)
        .map_err(|e| file_err(&dir.join("model.safetensors"), e))?;
    Ok(TabularPredictor {
        model,
        processor,
        device,
    })
}
