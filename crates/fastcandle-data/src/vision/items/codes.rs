//! The class names of a segmentation set (fastai's `codes`): code `k` of a mask names class
//! `names[k]`.

use crate::error::{Error, Result};
use std::path::Path;

/// The class names of a segmentation set, in code order (fastai's
/// `np.loadtxt(path/'codes.txt', dtype=str)`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Codes {
    names: Vec<String>,
}

impl Codes {
    /// Codes with these names: code `k` is `names[k]`.
    pub fn new(names: Vec<String>) -> Self {
        Self { names }
    }

    /// Reads the names from a text file such as `codes.txt`: one name per line (surrounding
    /// spaces trimmed), blank lines ignored. A missing file, or one without any name, is an
    /// error naming it.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let names: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect();
        if names.is_empty() {
            return Err(Error::BadData {
                what: format!("the codes file {}", path.display()),
                reason: "it holds no class name; it should list one name per line, the name of \
                         code 0 first"
                    .into(),
            });
        }
        Ok(Self::new(names))
    }

    /// The number of codes.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there is no code.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The names, in code order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The name of `code`, if there is such a code.
    pub fn name(&self, code: u32) -> Option<&str> {
        self.names.get(code as usize).map(String::as_str)
    }

    /// The code named `name` (exactly), such as the void code `index_of("Void")` that fastai's
    /// `foreground_acc` leaves out.
    pub fn index_of(&self, name: &str) -> Option<u32> {
        self.names.iter().position(|n| n == name).map(|i| i as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_one_name_per_line_and_finds_void() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("codes.txt");
        std::fs::write(&p, "Void\n\n  Road \nSky\n").unwrap();
        let c = Codes::from_file(&p).unwrap();
        assert_eq!(c.names(), ["Void", "Road", "Sky"]);
        assert_eq!((c.len(), c.is_empty()), (3, false));
        assert_eq!(c.index_of("Void"), Some(0));
        assert_eq!(c.index_of("Sky"), Some(2));
        assert_eq!(c.index_of("Car"), None);
        assert_eq!((c.name(1), c.name(3)), (Some("Road"), None));
        assert_eq!(Codes::new(vec!["a".into()]).names(), ["a"]);
    }

    #[test]
    fn missing_or_empty_files_are_errors_naming_them() {
        let dir = tempfile::tempdir().unwrap();
        let e = Codes::from_file(dir.path().join("nope.txt")).unwrap_err();
        assert!(e.to_string().contains("nope.txt"), "{e}");
        let p = dir.path().join("blank.txt");
        std::fs::write(&p, "\n  \n").unwrap();
        let e = Codes::from_file(&p).unwrap_err();
        assert!(e.to_string().contains("blank.txt"), "{e}");
    }
}
