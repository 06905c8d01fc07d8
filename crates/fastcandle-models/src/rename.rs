//! Checkpoints saved under another naming scheme than ours (torchvision's): timm's hub weights
//! of EfficientNet and ConvNeXt, for example. An architecture gives a [`Rename`] that maps each
//! of the checkpoint's keys (and, where the layouts differ, its tensor) to ours; loading then
//! stays strict, so a key the map does not know is reported by name.

use crate::weights::read_weights;
use candle_core::Tensor;
use fastcandle_core::{Error, ParamStore, Result};
use std::collections::HashMap;
use std::path::Path;

/// Maps one key of a checkpoint, with its tensor, to our name and layout. A key the map does
/// not know comes back unchanged (a strict load then lists it as unexpected).
pub type Rename = fn(&str, Tensor) -> Result<(String, Tensor)>;

/// `key` with the first prefix of `table` that it starts with (whole dotted components)
/// replaced by its partner: `("bn1", "features.0.1")` maps `bn1.weight` to
/// `features.0.1.weight`. `None` when no prefix fits.
pub fn replace_prefix(key: &str, table: &[(&str, &str)]) -> Option<String> {
    table.iter().find_map(|(from, to)| {
        let rest = key.strip_prefix(from)?.strip_prefix('.')?;
        Some(format!("{to}.{rest}"))
    })
}

/// Loads the weights file at `path` (safetensors, or a PyTorch checkpoint: see
/// [`read_weights`]) into `store` under the names `rename` gives, strictly as
/// [`crate::weights::load_weights_into`]: BatchNorm's `num_batches_tracked` counters and
/// the renamed keys for which `skip` is true (a classifier) are left out, and any other
/// mismatch is an error that names the file and lists the keys (by our names).
pub fn load_renamed_into(
    store: &ParamStore,
    path: &Path,
    rename: Rename,
    skip: impl Fn(&str) -> bool,
) -> Result<()> {
    let tensors = read_weights(path)?;
    let in_file = |e: Error| match e {
        Error::BadTensor { reason, .. } => Error::BadTensor {
            name: path.display().to_string(),
            reason,
        },
        e => e,
    };
    let mut ours = HashMap::with_capacity(tensors.len());
    for (key, t) in tensors {
        if key.ends_with("num_batches_tracked") {
            continue;
        }
        let (name, t) = rename(&key, t).map_err(in_file)?;
        if !skip(&name) {
            ours.insert(name, t);
        }
    }
    store.load_state_dict(&ours, true).map_err(in_file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_replace_whole_components() {
        let table = [
            ("bn1", "features.0.1"),
            ("blocks.0.0.conv_dw", "features.1.0.block.0.0"),
        ];
        assert_eq!(
            replace_prefix("bn1.running_var", &table).as_deref(),
            Some("features.0.1.running_var")
        );
        assert_eq!(
            replace_prefix("blocks.0.0.conv_dw.weight", &table).as_deref(),
            Some("features.1.0.block.0.0.weight")
        );
        assert_eq!(replace_prefix("bn10.weight", &table), None);
        assert_eq!(replace_prefix("bn1", &table), None);
    }
}
