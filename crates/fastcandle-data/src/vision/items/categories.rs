//! The vocabulary of a classification target: sorted unique class names and their codes.

use crate::error::{Error, Result};
use std::collections::HashMap;
use std::path::PathBuf;

/// fastai's `CategoryMap` for image labels: the sorted unique class names; class `i` has code
/// `i`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Categories {
    classes: Vec<String>,
    codes: HashMap<String, u32>,
}

impl Categories {
    /// The vocabulary of `labels` (sorted as strings, so `is_cat` gives `["False", "True"]`).
    /// A single class is an error: a classifier needs two.
    pub fn from_labels<S: AsRef<str>>(labels: &[S]) -> Result<Self> {
        let mut classes: Vec<String> = labels.iter().map(|l| l.as_ref().to_string()).collect();
        classes.sort_unstable();
        classes.dedup();
        match classes.len() {
            0 => Err(Error::BadData {
                what: "the labels".into(),
                reason: "there are no items to label".into(),
            }),
            1 => Err(Error::SingleLabel {
                class: classes[0].clone(),
                n_items: labels.len(),
            }),
            _ => Ok(Self::from_classes(classes)),
        }
    }

    /// A vocabulary of `classes` in the order given (for a saved model's classes).
    pub fn from_classes(classes: Vec<String>) -> Self {
        let codes = classes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.clone(), i as u32))
            .collect();
        Self { classes, codes }
    }

    /// The class names, code order.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// The number of classes.
    pub fn len(&self) -> usize {
        self.classes.len()
    }

    /// Whether there is no class.
    pub fn is_empty(&self) -> bool {
        self.classes.is_empty()
    }

    /// The code of `label`, if it is a class.
    pub fn code(&self, label: &str) -> Option<u32> {
        self.codes.get(label).copied()
    }

    /// The codes of `labels`; a label outside the vocabulary is an error naming its item
    /// (`items[i]` for `labels[i]`).
    pub fn encode<S: AsRef<str>>(&self, labels: &[S], items: &[PathBuf]) -> Result<Vec<u32>> {
        labels
            .iter()
            .enumerate()
            .map(|(i, l)| {
                self.code(l.as_ref()).ok_or_else(|| Error::BadLabel {
                    path: items.get(i).cloned().unwrap_or_default(),
                    reason: format!(
                        "the label `{}` is not one of the training classes ({}); no training \
                         item has it, so the model could not predict it",
                        l.as_ref(),
                        self.classes.join(", ")
                    ),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_unique_classes_and_codes() {
        let c = Categories::from_labels(&["dog", "cat", "dog", "bird"]).unwrap();
        assert_eq!(c.classes(), ["bird", "cat", "dog"]);
        let items: Vec<PathBuf> = (0..3).map(|i| format!("{i}.png").into()).collect();
        assert_eq!(
            c.encode(&["dog", "bird", "cat"], &items).unwrap(),
            [2, 0, 1]
        );
        let e = c.encode(&["cat", "cow"], &items).unwrap_err();
        assert!(
            e.to_string().contains("1.png") && e.to_string().contains("`cow`"),
            "{e}"
        );
        let b = Categories::from_labels(&["True", "False", "True"]).unwrap();
        assert_eq!(b.classes(), ["False", "True"]);
    }

    #[test]
    fn a_single_class_is_an_error() {
        let e = Categories::from_labels(&["cat", "cat"]).unwrap_err();
        assert!(matches!(e, Error::SingleLabel { n_items: 2, .. }), "{e}");
        assert!(e.to_string().contains("`cat`"));
        assert!(Categories::from_labels::<&str>(&[]).is_err());
    }
}
