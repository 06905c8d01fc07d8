//! Where archives and extracted data sets live.
//!
//! fastai keeps `~/.fastai/archive` and `~/.fastai/data`, moved by `FASTAI_HOME`; we keep
//! `<cache>/fastcandle/archive` and `<cache>/fastcandle/data` under the user's cache folder
//! (`~/.cache` on Linux, `~/Library/Caches` on macOS, `%LOCALAPPDATA%` on Windows), moved by
//! `FASTCANDLE_HOME`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The environment variable that moves the cache root (archives in `archive/`, data in `data/`).
pub const HOME_ENV: &str = "FASTCANDLE_HOME";

/// The two folders of the cache: downloaded archives and extracted data sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheDirs {
    /// Where archives are downloaded (`<root>/archive`).
    pub archive: PathBuf,
    /// Where archives are extracted, one folder per data set (`<root>/data`).
    pub data: PathBuf,
}

impl CacheDirs {
    /// The folders under one root: `<root>/archive` and `<root>/data`.
    pub fn under(root: impl AsRef<Path>) -> Self {
        let root = root.as_ref();
        Self {
            archive: root.join("archive"),
            data: root.join("data"),
        }
    }

    /// The folders from the environment: `FASTCANDLE_HOME` when set, else the user's cache
    /// folder.
    pub fn from_env() -> Result<Self> {
        cache_root(std::env::var_os(HOME_ENV), dirs::cache_dir()).map(Self::under)
    }
}

/// The cache root, from the value of `FASTCANDLE_HOME` (when set and not empty) or else from the
/// user's cache folder (`<cache>/fastcandle`). Pure, so that it can be tested without touching
/// the process's environment.
pub fn cache_root(home_env: Option<OsString>, user_cache: Option<PathBuf>) -> Result<PathBuf> {
    match home_env.filter(|h| !h.is_empty()) {
        Some(home) => Ok(expand_tilde(PathBuf::from(home))),
        None => user_cache
            .map(|c| c.join("fastcandle"))
            .ok_or_else(|| Error::BadData {
                what: "untar_data".into(),
                reason: format!(
                    "this system has no user cache folder; set {HOME_ENV} to the folder where \
                     data sets should go"
                ),
            }),
    }
}

/// `~/x` to `<home>/x`, as a shell would (an environment variable set in a config file often
/// keeps its `~`).
fn expand_tilde(path: PathBuf) -> PathBuf {
    match path.strip_prefix("~") {
        Ok(rest) => dirs::home_dir().map(|h| h.join(rest)).unwrap_or(path),
        Err(_) => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_wins_over_user_cache() {
        let r = cache_root(Some("/data/fc".into()), Some("/home/u/.cache".into())).unwrap();
        assert_eq!(r, PathBuf::from("/data/fc"));
        assert_eq!(
            CacheDirs::under(&r).archive,
            PathBuf::from("/data/fc/archive")
        );
        assert_eq!(CacheDirs::under(&r).data, PathBuf::from("/data/fc/data"));
    }

    #[test]
    fn user_cache_when_env_unset_or_empty() {
        let cache = Some(PathBuf::from("/home/u/.cache"));
        let want = PathBuf::from("/home/u/.cache/fastcandle");
        assert_eq!(cache_root(None, cache.clone()).unwrap(), want);
        assert_eq!(cache_root(Some("".into()), cache).unwrap(), want);
    }

    #[test]
    fn no_cache_folder_says_what_to_set() {
        let e = cache_root(None, None).unwrap_err().to_string();
        assert!(e.contains(HOME_ENV), "{e}");
    }

    #[test]
    fn tilde_expands() {
        if let Some(home) = dirs::home_dir() {
            let r = cache_root(Some("~/fc".into()), None).unwrap();
            assert_eq!(r, home.join("fc"));
        }
    }
}
