//! Old checkpoint key names mapped to today's: a small declarative table per architecture.
//!
//! torchvision renamed some modules over the years (MobileNetV2's first published weights have
//! flattened blocks, `features.2.conv.3.weight` where today's is `features.2.conv.1.0.weight`).
//! An architecture lists the renames as prefix rules; a file's keys are renamed only when the
//! renamed keys match more of the model's names and shapes than the file's own, so that a file
//! with today's names is never renamed (old and new names can collide:
//! `features.2.conv.3.weight` is a depthwise convolution in the old layout and a BatchNorm in
//! the new).

use candle_core::Tensor;
use fastcandle_core::ParamStore;

/// One rule: a key that starts with `from` starts with `to` instead. A `*` in `from` stands
/// for one dot-free segment (a block number), put where `to` has its `*`.
///
/// ```
/// use fastcandle_models::key_renames::KeyRename;
/// let r = KeyRename::new("features.*.conv.3.", "features.*.conv.1.0.");
/// assert_eq!(r.apply("features.2.conv.3.weight").as_deref(), Some("features.2.conv.1.0.weight"));
/// assert_eq!(r.apply("features.2.conv.4.weight"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRename {
    /// The old prefix, with at most one `*`.
    pub from: &'static str,
    /// The new prefix, with a `*` where `from` has one.
    pub to: &'static str,
}

impl KeyRename {
    /// A rule from `from` to `to`.
    pub const fn new(from: &'static str, to: &'static str) -> Self {
        Self { from, to }
    }

    /// The renamed key, or `None` when `key` does not start with `from`.
    pub fn apply(&self, key: &str) -> Option<String> {
        let (head, tail) = self.from.split_once('*').unwrap_or((self.from, ""));
        let rest = key.strip_prefix(head)?;
        if !self.from.contains('*') {
            return Some(format!("{}{rest}", self.to));
        }
        let end = rest.find('.').unwrap_or(rest.len());
        let (star, rest) = rest.split_at(end);
        if star.is_empty() {
            return None;
        }
        let rest = rest.strip_prefix(tail)?;
        Some(format!("{}{rest}", self.to.replacen('*', star, 1)))
    }
}

/// `key` renamed by the first rule of `rules` that applies, or as it is.
pub fn rename(key: &str, rules: &[KeyRename]) -> String {
    rules
        .iter()
        .find_map(|r| r.apply(key))
        .unwrap_or_else(|| key.to_string())
}

/// How many of `tensors` have a name and shape of `store`.
fn hits<'a>(store: &ParamStore, tensors: impl Iterator<Item = (&'a str, &'a Tensor)>) -> usize {
    tensors
        .filter(|(k, t)| store.get(k).is_some_and(|p| p.tensor().dims() == t.dims()))
        .count()
}

/// `tensors` renamed by `rules` when that makes more of them match `store` by name and shape,
/// and as they are otherwise.
pub fn renamed_for(
    store: &ParamStore,
    tensors: Vec<(String, Tensor)>,
    rules: &[KeyRename],
) -> Vec<(String, Tensor)> {
    if rules.is_empty() {
        return tensors;
    }
    let renamed: Vec<(String, &Tensor)> =
        tensors.iter().map(|(k, t)| (rename(k, rules), t)).collect();
    let before = hits(store, tensors.iter().map(|(k, t)| (k.as_str(), t)));
    let after = hits(store, renamed.iter().map(|(k, t)| (k.as_str(), *t)));
    if after <= before {
        return tensors;
    }
    let names: Vec<String> = renamed.into_iter().map(|(k, _)| k).collect();
    names
        .into_iter()
        .zip(tensors)
        .map(|(k, (_, t))| (k, t))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_starred_prefixes() {
        let plain = KeyRename::new("features.1.conv.3.", "features.1.conv.1.");
        assert_eq!(
            plain.apply("features.1.conv.3.bias").as_deref(),
            Some("features.1.conv.1.bias")
        );
        assert_eq!(plain.apply("features.11.conv.3.bias"), None);
        let star = KeyRename::new("features.*.conv.7.", "features.*.conv.3.");
        assert_eq!(
            star.apply("features.17.conv.7.running_var").as_deref(),
            Some("features.17.conv.3.running_var")
        );
        assert_eq!(star.apply("features..conv.7.x"), None);
        assert_eq!(star.apply("features.17.conv.70.x"), None);
        let rules = [plain, star];
        assert_eq!(
            rename("features.1.conv.3.weight", &rules),
            "features.1.conv.1.weight"
        );
        assert_eq!(rename("head.weight", &rules), "head.weight");
    }
}
