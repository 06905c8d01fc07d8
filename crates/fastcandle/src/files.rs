//! What the file-based factories of the applications share (`ImageDataLoaders` and
//! `AudioDataLoaders`): where the items come from, how they are labelled (fastai's
//! `from_name_func`, `from_path_func`, `from_name_re`, `from_folder`, `from_lists`), and the
//! seed fastai draws from the clock when none is given.

use crate::error::{Error, Result};
use fastcandle_data::vision::{
    IntoLabel, Labeller, ListLabeller, RegexLabeller, file_name, label_func, parent_label,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where the items come from.
enum Items {
    /// Given files (relative ones are taken under the data set's path).
    Files(Vec<PathBuf>),
    /// Every file of the kind under the path (fastai's `from_folder`).
    Folder,
}

/// How items are labelled.
enum Labels {
    Labeller(Box<dyn Labeller>),
    Regex(String),
    Lists(Vec<String>),
}

/// A data set's folder, its items and how they are labelled.
pub(crate) struct LabelledFiles {
    pub(crate) path: PathBuf,
    items: Items,
    labels: Labels,
}

/// The items, their labeller and whether it labels new files too (a function or a pattern
/// does; a list labels its own files only).
pub(crate) struct Labelled {
    pub(crate) items: Vec<PathBuf>,
    pub(crate) labeller: Arc<dyn Labeller>,
    pub(crate) reusable: bool,
}

impl LabelledFiles {
    /// `fnames` labelled by `f` on their names.
    pub(crate) fn name_func<F, L>(path: &Path, fnames: Vec<PathBuf>, f: F) -> Self
    where
        F: Fn(&str) -> L + Send + Sync + 'static,
        L: IntoLabel,
    {
        let labeller = label_func(move |p: &Path| f(file_name(p)));
        Self::new(
            path,
            Items::Files(fnames),
            Labels::Labeller(Box::new(labeller)),
        )
    }

    /// `fnames` labelled by `f` on their whole paths.
    pub(crate) fn path_func<F, L>(path: &Path, fnames: Vec<PathBuf>, f: F) -> Self
    where
        F: Fn(&Path) -> L + Send + Sync + 'static,
        L: IntoLabel,
    {
        Self::new(
            path,
            Items::Files(fnames),
            Labels::Labeller(Box::new(label_func(f))),
        )
    }

    /// `fnames` labelled by the first group of `pat` on their names.
    pub(crate) fn name_re(path: &Path, fnames: Vec<PathBuf>, pat: &str) -> Self {
        Self::new(path, Items::Files(fnames), Labels::Regex(pat.to_string()))
    }

    /// Every file under `path`, labelled by its parent folder.
    pub(crate) fn folder(path: &Path) -> Self {
        Self::new(
            path,
            Items::Folder,
            Labels::Labeller(Box::new(label_func(parent_label))),
        )
    }

    /// `fnames` labelled by `labels`, one each.
    pub(crate) fn lists<L: IntoLabel>(path: &Path, fnames: Vec<PathBuf>, labels: Vec<L>) -> Self {
        let labels = labels.into_iter().map(IntoLabel::into_label).collect();
        Self::new(path, Items::Files(fnames), Labels::Lists(labels))
    }

    fn new(path: &Path, items: Items, labels: Labels) -> Self {
        Self {
            path: path.to_path_buf(),
            items,
            labels,
        }
    }

    /// The items (a folder's found by `find`; given ones with relative paths taken under the
    /// data set's folder) and their labeller. No item is an error naming the folder and the
    /// `kind` of file looked for ("image", "sound").
    pub(crate) fn resolve(
        self,
        find: impl Fn(&Path) -> fastcandle_data::Result<Vec<PathBuf>>,
        kind: &str,
    ) -> Result<Labelled> {
        let items = match self.items {
            Items::Folder => find(&self.path)?,
            Items::Files(files) => crate::vision::resolve_files(&self.path, files),
        };
        if items.is_empty() {
            return Err(Error::Invalid(format!(
                "{}: no {kind} file was given",
                self.path.display()
            )));
        }
        let (labeller, reusable): (Arc<dyn Labeller>, bool) = match self.labels {
            Labels::Labeller(l) => (Arc::from(l), true),
            Labels::Regex(pat) => (Arc::new(RegexLabeller::new(&pat)?), true),
            Labels::Lists(labels) => (Arc::new(ListLabeller::new(&items, labels)?), false),
        };
        Ok(Labelled {
            items,
            labeller,
            reusable,
        })
    }
}

/// `seed`, or one from the clock (fastai's `seed=None`).
pub(crate) fn seed_or_clock(seed: Option<u64>) -> u64 {
    seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
    })
}
