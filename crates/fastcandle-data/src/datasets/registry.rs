//! The registry of data sets: fastai's, read from `datasets/registry.json` (embedded), plus any
//! the user registers.
//!
//! An entry names a data set, gives its address, the check fastai records for its archive (size
//! and md5 of the first MiB, see [`FileCheck`]) and the folder it is extracted to under the data
//! cache (fastai's: the archive's name without `.tgz`).

use std::sync::{OnceLock, RwLock};

use serde::Deserialize;

use super::checksum::FileCheck;
use crate::{Error, Result};

/// The registry file, `datasets/registry.json`, written by `scripts/registry_from_fastai.py`
/// from fastai's `download_checks.py`.
const REGISTRY_JSON: &str = include_str!("../../../../datasets/registry.json");

/// One downloadable data set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataset {
    /// The name (fastai's `URLs` name, such as `PETS`); matched without regard to case.
    pub name: String,
    /// The canonical address of the archive (a `.tgz`).
    pub url: String,
    /// The archive's size and md5 of its first MiB, when known; an archive that does not match
    /// is downloaded again, once.
    pub check: Option<FileCheck>,
    /// The folder, under the data cache, that the archive is extracted to.
    pub folder: String,
}

impl Dataset {
    /// An entry for an address, named `name`, extracted to the archive's name without its
    /// extension, with no check.
    pub fn new(name: impl Into<String>, url: impl Into<String>) -> Self {
        let url = url.into();
        let folder = folder_of(&url);
        Self {
            name: name.into(),
            url,
            check: None,
            folder,
        }
    }

    /// An entry for an address that no registry entry names: named after its archive.
    pub fn from_url(url: &str) -> Self {
        Self::new(folder_of(url), url)
    }

    /// Sets the archive's check (its size in bytes and the md5 of its first MiB).
    pub fn check(mut self, size: u64, md5: impl Into<String>) -> Self {
        self.check = Some(FileCheck::new(size, md5));
        self
    }

    /// Sets the folder the archive is extracted to, under the data cache.
    pub fn folder(mut self, folder: impl Into<String>) -> Self {
        self.folder = folder.into();
        self
    }

    /// The archive's file name (the address's last segment).
    pub fn file_name(&self) -> &str {
        file_name_of(&self.url)
    }

    /// The address's path after the host (`fast-ai-imageclas/oxford-iiit-pet.tgz`): how a
    /// mirror lays the archive out.
    pub fn url_path(&self) -> &str {
        url_path_of(&self.url)
    }

    fn validate(&self) -> Result<()> {
        let bad = |reason: String| {
            Err(Error::BadData {
                what: format!("data set `{}`", self.name),
                reason,
            })
        };
        if self.name.trim().is_empty() {
            return bad("the name is empty".into());
        }
        if !self.url.contains("://") || self.file_name().is_empty() {
            return bad(format!(
                "`{}` is not the address of an archive (such as https://host/path/data.tgz)",
                self.url
            ));
        }
        let f = &self.folder;
        if f.is_empty() || f == "." || f == ".." || f.contains(['/', '\\']) || f.starts_with('.') {
            return bad(format!(
                "the folder `{f}` must be a plain folder name (no separator, not hidden)"
            ));
        }
        if let Some(c) = &self.check
            && (c.md5.len() != 32 || !c.md5.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return bad(format!("`{}` is not an md5 (32 hex digits)", c.md5));
        }
        Ok(())
    }
}

/// The address's last segment, without query or fragment.
fn file_name_of(url: &str) -> &str {
    let path = url_path_of(url);
    path.rsplit('/').next().unwrap_or(path)
}

/// The address's path after the host, without query or fragment.
fn url_path_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.split_once('/').map_or("", |(_, p)| p);
    path.split(['?', '#']).next().unwrap_or(path)
}

/// fastai's folder for an archive: its name without `.tgz`, `.tar.gz`, `.tar` (or `.gz`).
fn folder_of(url: &str) -> String {
    let name = file_name_of(url);
    [".tar.gz", ".tgz", ".tar", ".gz"]
        .iter()
        .find_map(|ext| name.strip_suffix(ext))
        .unwrap_or(name)
        .to_string()
}

#[derive(Deserialize)]
struct RegistryFile {
    datasets: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    name: String,
    url: String,
    size: Option<u64>,
    md5: Option<String>,
    folder: Option<String>,
}

impl Entry {
    fn into_dataset(self) -> Dataset {
        let mut d = Dataset::new(self.name, self.url);
        if let Some(folder) = self.folder {
            d.folder = folder;
        }
        if let (Some(size), Some(md5)) = (self.size, self.md5) {
            d = d.check(size, md5);
        }
        d
    }
}

/// Parses a registry file's text (the format of `datasets/registry.json`: an object whose
/// `datasets` lists entries with `name`, `url`, and optionally `size`, `md5`, `folder`).
pub fn parse_registry(json: &str) -> Result<Vec<Dataset>> {
    let file: RegistryFile = serde_json::from_str(json).map_err(|e| Error::BadData {
        what: "data set registry".into(),
        reason: e.to_string(),
    })?;
    let datasets: Vec<Dataset> = file.datasets.into_iter().map(Entry::into_dataset).collect();
    for d in &datasets {
        d.validate()?;
    }
    Ok(datasets)
}

fn registry() -> &'static RwLock<Vec<Dataset>> {
    static REGISTRY: OnceLock<RwLock<Vec<Dataset>>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        // The embedded file is checked by a unit test; an empty registry is the only fallback
        // that does not panic.
        RwLock::new(parse_registry(REGISTRY_JSON).unwrap_or_default())
    })
}

/// Every registered data set: fastai's, then the user's.
pub fn datasets() -> Vec<Dataset> {
    registry().read().map(|r| r.clone()).unwrap_or_default()
}

/// Adds a data set to the registry (replacing one of the same name), so that
/// [`untar_data`](super::untar_data) finds it by name or by address and checks its archive.
pub fn register(dataset: Dataset) -> Result<()> {
    dataset.validate()?;
    let mut reg = registry().write().unwrap_or_else(|p| p.into_inner());
    reg.retain(|d| !d.name.eq_ignore_ascii_case(&dataset.name));
    reg.push(dataset);
    Ok(())
}

/// Registers every entry of a registry file's text (see [`parse_registry`]); returns how many.
pub fn register_json(json: &str) -> Result<usize> {
    let datasets = parse_registry(json)?;
    let n = datasets.len();
    for d in datasets {
        register(d)?;
    }
    Ok(n)
}

/// The data set a name or an address stands for.
///
/// An address (anything with `://`) is looked up in the registry, and stands for itself (with no
/// check) when no entry has it. A name is matched without regard to case; an unknown name is an
/// error that lists the known ones.
pub fn lookup(name_or_url: &str) -> Result<Dataset> {
    let key = name_or_url.trim();
    let reg = datasets();
    if key.contains("://") {
        let found = reg.into_iter().find(|d| d.url == key);
        let d = found.unwrap_or_else(|| Dataset::from_url(key));
        d.validate()?;
        return Ok(d);
    }
    if let Some(d) = reg.iter().find(|d| d.name.eq_ignore_ascii_case(key)) {
        return Ok(d.clone());
    }
    Err(Error::UnknownDataset {
        name: key.to_string(),
        known: reg.into_iter().map(|d| d.name).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_registry_parses_and_holds_fastais_sets() {
        let all = parse_registry(REGISTRY_JSON).unwrap();
        for name in [
            "PETS",
            "CAMVID_TINY",
            "ADULT_SAMPLE",
            "MNIST_SAMPLE",
            "MNIST",
            "MNIST_TINY",
            "CIFAR",
            "IMAGENETTE_160",
            "IMDB",
        ] {
            let d = all.iter().find(|d| d.name == name).expect(name);
            assert!(d.check.is_some(), "{name} has no check");
            assert!(
                d.url.starts_with("https://s3.amazonaws.com/fast-ai-"),
                "{}",
                d.url
            );
        }
        let pets = all.iter().find(|d| d.name == "PETS").unwrap();
        assert_eq!(pets.folder, "oxford-iiit-pet");
        assert_eq!(
            pets.check,
            Some(FileCheck::new(
                811706944,
                "e4db5c768afd933bb91f5f594d7417a4"
            ))
        );
        let mut names: Vec<_> = all.iter().map(|d| &d.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), all.len(), "duplicate names");
    }

    #[test]
    fn address_parts() {
        let d = Dataset::from_url("https://s3.amazonaws.com/fast-ai-imageclas/oxford-iiit-pet.tgz");
        assert_eq!(d.file_name(), "oxford-iiit-pet.tgz");
        assert_eq!(d.url_path(), "fast-ai-imageclas/oxford-iiit-pet.tgz");
        assert_eq!(d.folder, "oxford-iiit-pet");
        let d = Dataset::from_url("http://h:80/a/b.tar.gz?x=1");
        assert_eq!((d.file_name(), d.folder.as_str()), ("b.tar.gz", "b"));
    }

    #[test]
    fn lookup_by_name_any_case_and_by_address() {
        assert_eq!(lookup("pets").unwrap().name, "PETS");
        let by_url = lookup("https://s3.amazonaws.com/fast-ai-sample/mnist_tiny.tgz").unwrap();
        assert_eq!(by_url.name, "MNIST_TINY");
        assert!(by_url.check.is_some());
        let ad_hoc = lookup("http://example.org/x/mine.tgz").unwrap();
        assert_eq!((ad_hoc.folder.as_str(), ad_hoc.check), ("mine", None));
    }

    #[test]
    fn unknown_name_lists_known_ones() {
        let e = lookup("PETZ").unwrap_err().to_string();
        assert!(
            e.contains("PETZ") && e.contains("PETS") && e.contains("CAMVID_TINY"),
            "{e}"
        );
    }

    #[test]
    fn user_entries_register_and_validate() {
        register(
            Dataset::new("MY_TEST_SET", "http://example.org/d/my_set.tgz")
                .check(10, "00112233445566778899AABBCCDDEEFF"),
        )
        .unwrap();
        let d = lookup("my_test_set").unwrap();
        assert_eq!(d.check.unwrap().md5, "00112233445566778899aabbccddeeff");
        assert!(register(Dataset::new("X", "not an address")).is_err());
        assert!(register(Dataset::new("X", "http://h/x.tgz").folder("../up")).is_err());
        assert!(register(Dataset::new("X", "http://h/x.tgz").check(1, "zz")).is_err());
        let n =
            register_json(r#"{"datasets": [{"name": "MY_JSON_SET", "url": "http://h/j.tgz"}]}"#)
                .unwrap();
        assert_eq!(n, 1);
        assert_eq!(lookup("MY_JSON_SET").unwrap().folder, "j");
        assert!(register_json("{").is_err());
    }
}
