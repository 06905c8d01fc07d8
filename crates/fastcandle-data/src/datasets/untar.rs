//! [`untar_data`] and its options, [`UntarData`]: the steps (lock, download, check, extract) in
//! order.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::cache::CacheDirs;
use super::checksum::FileCheck;
use super::download::{self, Failure, Net};
use super::extract;
use super::lock;
use super::mirror::{MIRROR_ENV, Mirror, Source};
use super::registry::{Dataset, lookup};
use crate::{Error, Result};

/// Downloads (once) and extracts (once) a data set, and returns its folder.
///
/// `name_or_url` is a registry name (`"PETS"`, any case), or an address: one of [`Urls`]'s
/// (checked against the registry) or any other `.tgz` address (not checked). The cache is
/// `FASTCANDLE_HOME` or the user's cache folder, and `FASTCANDLE_MIRROR` is honoured; see
/// [`UntarData`] to set these, force a fresh copy, or hide the progress bar.
///
/// [`Urls`]: super::Urls
pub fn untar_data(name_or_url: impl AsRef<str>) -> Result<PathBuf> {
    UntarData::new(name_or_url).get()
}

/// Where a data set's archive and extracted folder are (or will be).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetPaths {
    /// The downloaded archive (`<archive cache>/<file name>`).
    pub archive: PathBuf,
    /// The extracted folder (`<data cache>/<folder>`); it exists only once complete.
    pub data: PathBuf,
}

#[derive(Debug, Clone)]
enum Target {
    Key(String),
    Entry(Dataset),
}

#[derive(Debug, Clone)]
enum MirrorChoice {
    FromEnv,
    None,
    Set(String),
}

/// The options of [`untar_data`], as a builder.
///
/// ```no_run
/// use fastcandle_data::datasets::{UntarData, Urls};
/// # fn main() -> fastcandle_data::Result<()> {
/// let path = UntarData::new(Urls::MNIST_TINY)
///     .cache_root("/data/fastcandle")
///     .progress(false)
///     .get()?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct UntarData {
    target: Target,
    archive_dir: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    force: bool,
    mirror: MirrorChoice,
    progress: bool,
    retries: usize,
    timeout: Duration,
}

impl UntarData {
    /// Options for a registry name or an address, with the defaults: the environment's cache
    /// and mirror, a progress bar, 3 retries of a broken download, a 30 s timeout.
    pub fn new(name_or_url: impl AsRef<str>) -> Self {
        Self::with_target(Target::Key(name_or_url.as_ref().to_string()))
    }

    /// Options for a data set given in full (it need not be registered).
    pub fn dataset(dataset: Dataset) -> Self {
        Self::with_target(Target::Entry(dataset))
    }

    fn with_target(target: Target) -> Self {
        Self {
            target,
            archive_dir: None,
            data_dir: None,
            force: false,
            mirror: MirrorChoice::FromEnv,
            progress: true,
            retries: 3,
            timeout: Duration::from_secs(30),
        }
    }

    /// Puts archives in `<root>/archive` and data sets in `<root>/data`, instead of
    /// `FASTCANDLE_HOME`'s or the user cache's.
    pub fn cache_root(mut self, root: impl AsRef<Path>) -> Self {
        let dirs = CacheDirs::under(root);
        self.archive_dir = Some(dirs.archive);
        self.data_dir = Some(dirs.data);
        self
    }

    /// The folder of downloaded archives.
    pub fn archive_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.archive_dir = Some(dir.into());
        self
    }

    /// The folder that data sets are extracted into (each in its own folder).
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// Downloads and extracts afresh, replacing what the cache holds (fastai's
    /// `force_download`).
    pub fn force(mut self, force: bool) -> Self {
        self.force = force;
        self
    }

    /// Fetches archives from a mirror (a base address or a local folder, see [`Mirror`])
    /// instead of `FASTCANDLE_MIRROR`'s or the canonical address.
    pub fn mirror(mut self, mirror: impl Into<String>) -> Self {
        self.mirror = MirrorChoice::Set(mirror.into());
        self
    }

    /// Ignores `FASTCANDLE_MIRROR`: archives come from their canonical address.
    pub fn no_mirror(mut self) -> Self {
        self.mirror = MirrorChoice::None;
        self
    }

    /// Shows progress bars (on a terminal) while downloading and extracting; on by default.
    pub fn progress(mut self, show: bool) -> Self {
        self.progress = show;
        self
    }

    /// How many times a broken download is resumed within one call (3 by default); a later
    /// call resumes it too.
    pub fn retries(mut self, retries: usize) -> Self {
        self.retries = retries;
        self
    }

    /// The connection and read timeout of downloads (30 s by default).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The data set these options stand for.
    pub fn resolve(&self) -> Result<Dataset> {
        match &self.target {
            Target::Key(k) => lookup(k),
            Target::Entry(d) => Ok(d.clone()),
        }
    }

    fn cache_dirs(&self) -> Result<CacheDirs> {
        let env = match (&self.archive_dir, &self.data_dir) {
            (Some(_), Some(_)) => None,
            _ => Some(CacheDirs::from_env()?),
        };
        let pick = |set: &Option<PathBuf>, from_env: fn(&CacheDirs) -> &PathBuf| {
            set.clone()
                .or_else(|| env.as_ref().map(|e| from_env(e).clone()))
                .unwrap_or_default()
        };
        Ok(CacheDirs {
            archive: pick(&self.archive_dir, |e| &e.archive),
            data: pick(&self.data_dir, |e| &e.data),
        })
    }

    fn mirror_setting(&self) -> Option<Mirror> {
        match &self.mirror {
            MirrorChoice::FromEnv => std::env::var(MIRROR_ENV)
                .ok()
                .and_then(|m| Mirror::parse(&m)),
            MirrorChoice::None => None,
            MirrorChoice::Set(m) => Mirror::parse(m),
        }
    }

    /// Where the data set's archive and folder are (or will be), without touching them.
    pub fn paths(&self) -> Result<DatasetPaths> {
        let d = self.resolve()?;
        let dirs = self.cache_dirs()?;
        Ok(DatasetPaths {
            archive: dirs.archive.join(d.file_name()),
            data: dirs.data.join(&d.folder),
        })
    }

    /// Downloads and extracts the data set unless the cache holds it, and returns its folder.
    pub fn get(&self) -> Result<PathBuf> {
        let dataset = self.resolve()?;
        let dirs = self.cache_dirs()?;
        let archive = dirs.archive.join(dataset.file_name());
        let dest = dirs.data.join(&dataset.folder);
        // A data set's folder appears only by the rename that completes its extraction.
        if !self.force && dest.is_dir() {
            return Ok(dest);
        }
        for (dir, what) in [(&dirs.archive, "archives"), (&dirs.data, "data sets")] {
            std::fs::create_dir_all(dir).map_err(|source| Error::CacheFolder {
                path: dir.clone(),
                what,
                source,
            })?;
        }
        let _lock = lock::lock_exclusive(&lock::lock_path(&archive))?;
        if !self.force && dest.is_dir() {
            // Another process finished it while this one waited for the lock.
            return Ok(dest);
        }
        extract::remove_partials(&dirs.data, &dataset.folder)?;
        self.ensure_archive(&dataset, &archive)?;
        if dest.exists() {
            remove_path(&dest)?;
        }
        match extract::extract(
            &archive,
            &dataset.url,
            &dirs.data,
            &dataset.folder,
            self.progress,
        ) {
            Err(e @ Error::NotAnArchive { .. }) => {
                // Keep no archive that can never be extracted: the next call fetches it again.
                let _ = std::fs::remove_file(&archive);
                Err(e)
            }
            r => r,
        }
    }

    /// Makes sure the archive is in the cache and passes its check: downloads it if missing (or
    /// forced), and downloads it again, once, if it fails the check.
    fn ensure_archive(&self, dataset: &Dataset, archive: &Path) -> Result<()> {
        let part = part_path(archive);
        if self.force {
            remove_path(archive)?;
            remove_path(&part)?;
        }
        if archive.is_file() {
            match self.mismatch(dataset, archive)? {
                None => return Ok(()),
                Some(found) => {
                    if self.progress {
                        eprintln!(
                            "{}: {found} does not match the registry's check; downloading it again",
                            archive.display()
                        );
                    }
                    remove_path(archive)?;
                }
            }
        }
        self.fetch(dataset, archive, &part)?;
        let Some(_) = self.mismatch(dataset, archive)? else {
            return Ok(());
        };
        // One more time from scratch: the first copy may have been resumed from a stale part.
        remove_path(archive)?;
        remove_path(&part)?;
        self.fetch(dataset, archive, &part)?;
        match (self.mismatch(dataset, archive)?, &dataset.check) {
            (Some(found), Some(expected)) => Err(Error::Checksum {
                url: dataset.url.clone(),
                file: archive.to_path_buf(),
                expected: expected.to_string(),
                found: found.to_string(),
            }),
            _ => Ok(()),
        }
    }

    /// The archive's check when it differs from the registry's (`None`: it matches, or there is
    /// no check to match).
    fn mismatch(&self, dataset: &Dataset, archive: &Path) -> Result<Option<FileCheck>> {
        let Some(expected) = &dataset.check else {
            return Ok(None);
        };
        let found = FileCheck::of_file(archive)?;
        Ok((found != *expected).then_some(found))
    }

    /// Fetches the archive into `<archive>.part` (from the mirror or the address, resuming),
    /// then renames it into place.
    fn fetch(&self, dataset: &Dataset, archive: &Path, part: &Path) -> Result<()> {
        let net = Net {
            timeout: self.timeout,
            progress: self.progress,
        };
        let source = match self.mirror_setting() {
            Some(m) => m.source_for(dataset)?,
            None => Source::Url(dataset.url.clone()),
        };
        match source {
            Source::File(from) => download::copy_from_folder(&from, part, &net)?,
            Source::Url(url) => {
                let expected = dataset.check.as_ref().map(|c| c.size);
                let mut attempt = 0;
                loop {
                    let before = std::fs::metadata(part).map(|m| m.len()).unwrap_or(0);
                    match download::download(&url, part, expected, &net) {
                        Ok(()) => break,
                        Err(Failure::Local(e)) => return Err(e),
                        Err(Failure::Network { reason, kept }) => {
                            // Retry only a download that moved: a dead network stays dead.
                            if attempt < self.retries && kept > before {
                                attempt += 1;
                                continue;
                            }
                            return Err(Error::Download {
                                url,
                                reason,
                                archive: archive.to_path_buf(),
                                url_path: dataset.url_path().to_string(),
                                kept,
                            });
                        }
                    }
                }
            }
        }
        std::fs::rename(part, archive).map_err(|source| Error::Io {
            path: archive.to_path_buf(),
            source,
        })
    }
}

/// `<archive>.part`: the archive while it downloads.
fn part_path(archive: &Path) -> PathBuf {
    let mut name = archive.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    archive.with_file_name(name)
}

/// Removes a file or a folder, if there.
fn remove_path(path: &Path) -> Result<()> {
    let removed = if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    match removed {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::Io {
            path: path.to_path_buf(),
            source: e,
        }),
        _ => Ok(()),
    }
}
