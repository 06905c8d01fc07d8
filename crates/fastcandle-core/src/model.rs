//! The contract between models and the training loop.

use crate::error::Result;
use crate::param::ParamStore;
use candle_core::Tensor;

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
}
