//! Labellers: a class name for each item, from a function on its path, a regular expression on
//! its file name, its parent folder, or given lists.

use super::files::file_name;
use crate::error::{Error, Result};
use regex::Regex;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Gives an item its class name.
pub trait Labeller: Send + Sync {
    /// The class name of the item at `path`, or an error naming it.
    fn label(&self, path: &Path) -> Result<String>;
}

/// A value a label function may return: text, or a `bool` that becomes `"True"` or `"False"`
/// as in fastai (so that `is_cat` gives the vocabulary `["False", "True"]`).
pub trait IntoLabel {
    /// The class name.
    fn into_label(self) -> String;
}

impl IntoLabel for String {
    fn into_label(self) -> String {
        self
    }
}

impl IntoLabel for &str {
    fn into_label(self) -> String {
        self.to_string()
    }
}

impl IntoLabel for bool {
    fn into_label(self) -> String {
        if self { "True" } else { "False" }.to_string()
    }
}

macro_rules! int_label {
    ($($t:ty),*) => {$(
        impl IntoLabel for $t {
            fn into_label(self) -> String {
                self.to_string()
            }
        }
    )*};
}
int_label!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize);

/// A labeller calling a function on the path; see [`label_func`].
#[derive(Clone)]
pub struct FuncLabeller<F>(F);

impl<F> std::fmt::Debug for FuncLabeller<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FuncLabeller")
    }
}

/// fastai's `label_func`: the label of an item is `f(path)`.
///
/// ```
/// use fastcandle_data::vision::{file_stem, label_func, Labeller};
/// use std::path::Path;
/// let is_cat = label_func(|p: &Path| file_stem(p).starts_with(char::is_uppercase));
/// assert_eq!(is_cat.label(Path::new("images/Cat_1.png")).unwrap(), "True");
/// ```
pub fn label_func<F, L>(f: F) -> FuncLabeller<F>
where
    F: Fn(&Path) -> L + Send + Sync,
    L: IntoLabel,
{
    FuncLabeller(f)
}

impl<F, L> Labeller for FuncLabeller<F>
where
    F: Fn(&Path) -> L + Send + Sync,
    L: IntoLabel,
{
    fn label(&self, path: &Path) -> Result<String> {
        Ok((self.0)(path).into_label())
    }
}

/// fastai's `parent_label`: the name of the folder holding the item (`cat` for
/// `train/cat/1.jpg`); empty when there is none. Use it as `label_func(parent_label)`.
pub fn parent_label(path: &Path) -> String {
    path.parent()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// fastai's `RegexLabeller` as `from_name_re` uses it: the first capture group of a regular
/// expression searched in the item's file name (not the whole path).
///
/// ```
/// use fastcandle_data::vision::{Labeller, RegexLabeller};
/// let breed = RegexLabeller::new(r"^(.+)_\d+\.\w+$").unwrap();
/// assert_eq!(breed.label("images/great_pyrenees_17.jpg".as_ref()).unwrap(), "great_pyrenees");
/// ```
#[derive(Debug, Clone)]
pub struct RegexLabeller {
    re: Regex,
}

impl RegexLabeller {
    /// A labeller for `pattern`, which must hold at least one capture group.
    pub fn new(pattern: &str) -> Result<Self> {
        let re = Regex::new(pattern).map_err(|e| Error::BadData {
            what: format!("the label pattern `{pattern}`"),
            reason: e.to_string(),
        })?;
        if re.captures_len() < 2 {
            return Err(Error::BadData {
                what: format!("the label pattern `{pattern}`"),
                reason: "it has no capture group; put the label's part in parentheses, as in \
                         `^(.+)_\\d+.jpg$`"
                    .into(),
            });
        }
        Ok(Self { re })
    }

    /// The pattern.
    pub fn pattern(&self) -> &str {
        self.re.as_str()
    }
}

impl Labeller for RegexLabeller {
    fn label(&self, path: &Path) -> Result<String> {
        let name = file_name(path);
        let bad = |reason: String| Error::BadLabel {
            path: path.to_path_buf(),
            reason,
        };
        let caps = self.re.captures(name).ok_or_else(|| {
            bad(format!(
                "the pattern `{}` does not match the file name `{name}`",
                self.re.as_str()
            ))
        })?;
        caps.get(1).map(|m| m.as_str().to_string()).ok_or_else(|| {
            bad(format!(
                "the first group of `{}` matched nothing in `{name}`",
                self.re.as_str()
            ))
        })
    }
}

/// Labels given as a list beside the items (fastai's `ImageDataLoaders.from_lists`).
#[derive(Debug, Clone)]
pub struct ListLabeller {
    labels: HashMap<PathBuf, String>,
}

impl ListLabeller {
    /// A labeller giving `labels[i]` to `items[i]`; the lists must be of the same length.
    pub fn new<L: IntoLabel>(items: &[PathBuf], labels: Vec<L>) -> Result<Self> {
        if items.len() != labels.len() {
            return Err(Error::BadData {
                what: "the labels list".into(),
                reason: format!(
                    "there are {} items but {} labels; give one label per item",
                    items.len(),
                    labels.len()
                ),
            });
        }
        let labels = items
            .iter()
            .cloned()
            .zip(labels.into_iter().map(IntoLabel::into_label))
            .collect();
        Ok(Self { labels })
    }
}

impl Labeller for ListLabeller {
    fn label(&self, path: &Path) -> Result<String> {
        self.labels
            .get(path)
            .cloned()
            .ok_or_else(|| Error::BadLabel {
                path: path.to_path_buf(),
                reason: "the item is not in the list of labelled items".into(),
            })
    }
}

/// The label of every item, in order; the first item that cannot be labelled is an error naming
/// it.
pub fn label_items(items: &[PathBuf], labeller: &dyn Labeller) -> Result<Vec<String>> {
    items.iter().map(|p| labeller.label(p)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vision::file_stem;

    fn paths(names: &[&str]) -> Vec<PathBuf> {
        names.iter().map(PathBuf::from).collect()
    }

    #[test]
    fn label_func_turns_booleans_into_fastai_strings() {
        let is_cat = label_func(|p: &Path| file_stem(p).starts_with(char::is_uppercase));
        let items = paths(&["x/Cat_1.png", "x/dog_2.png", "x/Bird_3.png"]);
        assert_eq!(
            label_items(&items, &is_cat).unwrap(),
            ["True", "False", "True"]
        );
        let first = label_func(|p: &Path| file_stem(p).chars().count());
        assert_eq!(first.label(Path::new("a/abc.png")).unwrap(), "3");
    }

    #[test]
    fn parent_label_is_the_folder_name() {
        assert_eq!(parent_label(Path::new("train/cat/1.jpg")), "cat");
        assert_eq!(parent_label(Path::new("1.jpg")), "");
        let l = label_func(parent_label);
        assert_eq!(l.label(Path::new("/d/valid/7/9.png")).unwrap(), "7");
    }

    #[test]
    fn regex_labeller_takes_the_first_group_of_the_file_name() {
        let l = RegexLabeller::new(r"^(.+)_\d+\.png$").unwrap();
        assert_eq!(
            l.label(Path::new("a_b/great_dane_12.png")).unwrap(),
            "great_dane"
        );
        // The folder is not searched: only the name.
        let e = l.label(Path::new("dir_3.png/photo.jpg")).unwrap_err();
        assert!(matches!(e, Error::BadLabel { .. }), "{e}");
        let s = e.to_string();
        assert!(
            s.contains("photo.jpg") && s.contains("does not match"),
            "{s}"
        );
        // An optional group that matched nothing is an error too.
        let l = RegexLabeller::new(r"^(x)?.*$").unwrap();
        assert!(l.label(Path::new("abc.png")).is_err());
    }

    #[test]
    fn bad_patterns_are_refused() {
        assert!(RegexLabeller::new(r"^(.+").is_err());
        let e = RegexLabeller::new(r"^.+_\d+$").unwrap_err();
        assert!(e.to_string().contains("capture group"), "{e}");
    }

    #[test]
    fn list_labeller_checks_lengths_and_membership() {
        let items = paths(&["a.png", "b.png"]);
        let l = ListLabeller::new(&items, vec!["x", "y"]).unwrap();
        assert_eq!(label_items(&items, &l).unwrap(), ["x", "y"]);
        assert!(l.label(Path::new("c.png")).is_err());
        assert!(ListLabeller::new(&items, vec!["x"]).is_err());
        let l = ListLabeller::new(&items, vec![true, false]).unwrap();
        assert_eq!(l.label(Path::new("b.png")).unwrap(), "False");
    }
}
