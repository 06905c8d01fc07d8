//! Categorify: a vocabulary per categorical column, learnt from the training rows.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};

/// The code-0 entry of every vocabulary: a missing value, or one unseen in training.
pub const NA: &str = "#na#";

/// The vocabulary of one categorical column: [`NA`], then the sorted unique training values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryMap {
    vocab: Vec<String>,
}

impl CategoryMap {
    /// The vocabulary of `values` (missing ones skipped) with [`NA`] in front.
    ///
    /// Values are sorted numerically when every one of them is a number (as pandas sorts a
    /// numeric column), else as strings (byte order).
    pub fn fit<'a>(values: impl IntoIterator<Item = Option<&'a str>>) -> Self {
        let unique: BTreeSet<&str> = values.into_iter().flatten().collect();
        let mut vocab = vec![NA.to_string()];
        vocab.extend(sort_values(unique.into_iter().collect()));
        Self { vocab }
    }

    /// The vocabulary of a `<col>_na` flag column: `#na#`, `false`, `true`.
    pub fn boolean() -> Self {
        Self {
            vocab: vec![NA.to_string(), "false".into(), "true".into()],
        }
    }

    /// The vocabulary, [`NA`] first.
    pub fn vocab(&self) -> &[String] {
        &self.vocab
    }

    /// The number of codes, [`NA`] included (the embedding size a model needs).
    pub fn len(&self) -> usize {
        self.vocab.len()
    }

    /// Whether the vocabulary holds only [`NA`].
    pub fn is_empty(&self) -> bool {
        self.vocab.len() <= 1
    }

    /// The value of `code` (fastai's `Categorify.decodes`): [`NA`] for 0, `None` for a code past
    /// the vocabulary.
    pub fn decode(&self, code: u32) -> Option<&str> {
        self.vocab.get(code as usize).map(String::as_str)
    }

    /// A lookup from value to code, for encoding many values.
    pub(crate) fn encoder(&self) -> HashMap<&str, u32> {
        self.vocab
            .iter()
            .enumerate()
            .skip(1)
            .map(|(i, v)| (v.as_str(), i as u32))
            .collect()
    }
}

/// Encodes a value: its code, or 0 when it is missing or not in the vocabulary.
pub(crate) fn encode(encoder: &HashMap<&str, u32>, value: Option<&str>) -> u32 {
    value.and_then(|v| encoder.get(v).copied()).unwrap_or(0)
}

/// Sorts unique values: numerically when all are numbers, else as strings.
pub(crate) fn sort_values(mut values: Vec<&str>) -> Vec<String> {
    let numbers: Option<Vec<f64>> = values
        .iter()
        .map(|v| v.trim().parse::<f64>().ok())
        .collect();
    match numbers {
        Some(nums) if !nums.iter().any(|x| x.is_nan()) => {
            let mut pairs: Vec<(f64, &str)> = nums.into_iter().zip(values).collect();
            pairs.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(b.1)));
            pairs.into_iter().map(|(_, v)| v.to_string()).collect()
        }
        _ => {
            values.sort_unstable();
            values.into_iter().map(String::from).collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn na_first_then_sorted_unique_values() {
        let m = CategoryMap::fit([Some("b"), None, Some("a"), Some("b"), Some("Z")]);
        assert_eq!(m.vocab(), ["#na#", "Z", "a", "b"]);
        assert_eq!(m.len(), 4);
        let enc = m.encoder();
        assert_eq!(encode(&enc, Some("a")), 2);
        assert_eq!(encode(&enc, Some("b")), 3);
        assert_eq!(encode(&enc, None), 0);
        assert_eq!(encode(&enc, Some("unseen")), 0);
        // The literal text `#na#` is not a training value: it also maps to 0.
        assert_eq!(encode(&enc, Some("#na#")), 0);
    }

    #[test]
    fn decode_gives_back_the_value_of_each_code() {
        let m = CategoryMap::fit([Some("b"), None, Some("a")]);
        let enc = m.encoder();
        for v in ["a", "b"] {
            assert_eq!(m.decode(encode(&enc, Some(v))), Some(v));
        }
        assert_eq!(m.decode(encode(&enc, None)), Some(NA));
        assert_eq!(m.decode(encode(&enc, Some("unseen"))), Some(NA));
        assert_eq!(m.decode(3), None);
    }

    #[test]
    fn numbers_sort_as_numbers() {
        let m = CategoryMap::fit([Some("10"), Some("9"), Some("-1"), Some("2.5")]);
        assert_eq!(m.vocab(), ["#na#", "-1", "2.5", "9", "10"]);
        let m = CategoryMap::fit([Some("10"), Some("9"), Some("x")]);
        assert_eq!(m.vocab(), ["#na#", "10", "9", "x"]);
    }

    #[test]
    fn boolean_vocabulary() {
        assert_eq!(CategoryMap::boolean().vocab(), ["#na#", "false", "true"]);
    }
}
