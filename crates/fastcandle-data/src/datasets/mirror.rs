//! `FASTCANDLE_MIRROR`: where an air-gapped machine finds archives.
//!
//! A mirror is either a base address (`http://mirror.lan/fastai`), under which each archive
//! sits at its canonical address's path (`<base>/fast-ai-imageclas/oxford-iiit-pet.tgz`), or a
//! local folder laid out the same way (`<folder>/fast-ai-imageclas/oxford-iiit-pet.tgz`; the
//! bare file name, `<folder>/oxford-iiit-pet.tgz`, is accepted too).

use std::path::PathBuf;

use super::registry::Dataset;
use crate::{Error, Result};

/// The environment variable naming the mirror (a base address or a local folder).
pub const MIRROR_ENV: &str = "FASTCANDLE_MIRROR";

/// A mirror of the archives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mirror {
    /// A base address; an archive is at `<base>/<path of its canonical address>`.
    Base(String),
    /// A local folder laid out like the addresses' paths.
    Folder(PathBuf),
}

/// Where one archive comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// Downloaded from an address.
    Url(String),
    /// Copied from a local file.
    File(PathBuf),
}

impl Mirror {
    /// Reads a mirror setting: an `http://` or `https://` address is a base address, a
    /// `file://` address or anything else a local folder; empty text is no mirror.
    pub fn parse(setting: &str) -> Option<Self> {
        let s = setting.trim();
        if s.is_empty() {
            None
        } else if s.starts_with("http://") || s.starts_with("https://") {
            Some(Self::Base(s.trim_end_matches('/').to_string()))
        } else {
            let folder = s.strip_prefix("file://").unwrap_or(s);
            Some(Self::Folder(PathBuf::from(folder)))
        }
    }

    /// Where this mirror serves a data set's archive from.
    pub(crate) fn source_for(&self, dataset: &Dataset) -> Result<Source> {
        match self {
            Self::Base(base) => Ok(Source::Url(format!("{base}/{}", dataset.url_path()))),
            Self::Folder(folder) => {
                let tried = [
                    folder.join(dataset.url_path()),
                    folder.join(dataset.file_name()),
                ];
                tried
                    .iter()
                    .find(|p| p.is_file())
                    .map(|p| Source::File(p.clone()))
                    .ok_or_else(|| Error::MirrorMissing {
                        url: dataset.url.clone(),
                        tried: tried.to_vec(),
                    })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_settings() {
        assert_eq!(Mirror::parse("  "), None);
        assert_eq!(
            Mirror::parse("http://m.lan/fastai/"),
            Some(Mirror::Base("http://m.lan/fastai".into()))
        );
        assert_eq!(
            Mirror::parse("file:///srv/m"),
            Some(Mirror::Folder("/srv/m".into()))
        );
        assert_eq!(
            Mirror::parse("/srv/m"),
            Some(Mirror::Folder("/srv/m".into()))
        );
    }

    #[test]
    fn base_address_keeps_the_path() {
        let d = Dataset::from_url("https://s3.amazonaws.com/fast-ai-sample/mnist_tiny.tgz");
        let m = Mirror::Base("http://m.lan".into());
        assert_eq!(
            m.source_for(&d).unwrap(),
            Source::Url("http://m.lan/fast-ai-sample/mnist_tiny.tgz".into())
        );
    }

    #[test]
    fn missing_file_in_folder_names_the_paths() {
        let dir = tempfile::tempdir().unwrap();
        let d = Dataset::from_url("https://s3.amazonaws.com/fast-ai-sample/mnist_tiny.tgz");
        let e = Mirror::Folder(dir.path().into())
            .source_for(&d)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("fast-ai-sample/mnist_tiny.tgz") && e.contains(MIRROR_ENV),
            "{e}"
        );
    }
}
