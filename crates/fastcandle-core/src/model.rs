//! The contract between models and the training loop.

use crate::error::{Error, Result};
use crate::hooks::Hooks;
use crate::param::ParamStore;
use candle_core::Tensor;
use std::sync::Arc;

/// A trainable model: a forward pass and the parameters it owns.
///
/// `train` selects training behaviour (BatchNorm on batch statistics and updating its running
/// statistics, dropout active) or evaluation behaviour.
pub trait Model: Send + Sync {
    /// Runs the model on a batch's inputs.
    fn forward_t(&self, xs: &[Tensor], train: bool) -> Result<Tensor>;
    /// The parameters and buffers of the model, by name.
    fn params(&self) -> &ParamStore;
    /// How many parameter groups the model splits into (for freezing and discriminative rates).
    fn n_groups(&self) -> usize {
        self.params().n_groups()
    }
    /// The names of the modules whose outputs can be hooked (see [`crate::hooks`]), input
    /// side first. None by default.
    fn hook_points(&self) -> Vec<String> {
        Vec::new()
    }
    /// Stores the outputs of the modules `hooks` names into it at each forward pass from now
    /// on; `None` takes the hooks out. A model without hook points refuses hooks.
    fn set_hooks(&self, hooks: Option<Arc<Hooks>>) -> Result<()> {
        match hooks {
            None => Ok(()),
            Some(_) => Err(Error::BadTensor {
                name: "hooks".into(),
                reason: "this model has no module to hook".into(),
            }),
        }
    }
}
