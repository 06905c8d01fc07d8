//! One run to a folder: a run holds a lock on its `--out` folder while it runs, refuses a
//! folder that holds another run's files unless told `--force` (or resuming there), and
//! leaves no empty folder behind when it fails before writing anything.

use anyhow::{Context, Result, bail};
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

/// The lock file inside a run folder.
pub const LOCK_FILE: &str = ".run.lock";

/// The files a run writes: what `--force` replaces and what makes a folder "hold a run".
pub const RUN_FILES: [&str; 8] = [
    "summary.json",
    "history.csv",
    "model.safetensors",
    "config.json",
    "processor.json",
    "checkpoint.safetensors",
    "results.png",
    "show_batch.png",
];

/// What to do with a folder that already holds a run's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Refuse it (a new run).
    Refuse,
    /// Remove the earlier run's files first (`--force`).
    Replace,
    /// Keep them: this run resumes the one there (`--resume`).
    Resume,
}

/// A run folder, locked for as long as this value lives.
#[derive(Debug)]
pub struct RunDir {
    path: PathBuf,
    lock: Option<File>,
    created: bool,
}

impl RunDir {
    /// Creates (or opens) `path` for a run and locks it; see [`Existing`] for a folder that
    /// already holds a run. Another process holding the lock is an error naming the folder.
    pub fn open(path: &Path, existing: Existing) -> Result<Self> {
        let created = !path.exists();
        std::fs::create_dir_all(path).with_context(|| format!("creating {}", path.display()))?;
        let mut dir = RunDir {
            path: path.to_path_buf(),
            lock: None,
            created,
        };
        let lock_path = path.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_context(|| format!("creating {}", lock_path.display()))?;
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => {}
            Err(fs4::TryLockError::WouldBlock) => bail!(
                "{}: another run is writing to this folder (it holds {LOCK_FILE}); wait for it or \
                 choose another --out",
                path.display()
            ),
            Err(e) => bail!("locking {}: {e}", lock_path.display()),
        }
        dir.lock = Some(file);
        let found: Vec<&str> = RUN_FILES
            .iter()
            .copied()
            .filter(|f| path.join(f).exists())
            .collect();
        if !found.is_empty() {
            match existing {
                Existing::Refuse => bail!(
                    "{}: holds an earlier run ({}); pass --force to replace it, --resume to \
                     continue it, or choose another --out",
                    path.display(),
                    found.join(", ")
                ),
                Existing::Replace => {
                    for f in found {
                        let p = path.join(f);
                        std::fs::remove_file(&p)
                            .with_context(|| format!("removing {}", p.display()))?;
                    }
                }
                Existing::Resume => {}
            }
        }
        Ok(dir)
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RunDir {
    /// Releases the lock and removes the lock file; removes the folder too when this run made
    /// it and wrote nothing into it (a run that failed before training).
    fn drop(&mut self) {
        if let Some(file) = self.lock.take() {
            let _ = std::fs::remove_file(self.path.join(LOCK_FILE));
            let _ = fs4::FileExt::unlock(&file);
        }
        if self.created {
            // Fails, as it should, when the folder holds anything.
            let _ = std::fs::remove_dir(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_run_on_a_locked_folder_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("run");
        let first = RunDir::open(&out, Existing::Refuse).unwrap();
        let err = RunDir::open(&out, Existing::Replace)
            .unwrap_err()
            .to_string();
        assert!(err.contains("another run"), "{err}");
        drop(first);
        assert!(!out.exists(), "an empty run folder is left behind");
    }

    #[test]
    fn a_finished_run_is_kept_unless_forced() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("run");
        {
            let dir = RunDir::open(&out, Existing::Refuse).unwrap();
            std::fs::write(dir.path().join("summary.json"), "{}").unwrap();
            std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
        }
        assert!(out.join("summary.json").exists() && !out.join(LOCK_FILE).exists());
        let err = RunDir::open(&out, Existing::Refuse)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--force") && err.contains("summary.json"),
            "{err}"
        );
        assert!(out.join("summary.json").exists());
        drop(RunDir::open(&out, Existing::Resume).unwrap());
        assert!(out.join("summary.json").exists());
        drop(RunDir::open(&out, Existing::Replace).unwrap());
        assert!(!out.join("summary.json").exists());
        // A file the run did not write is the user's: --force keeps it, and the folder.
        assert_eq!(
            std::fs::read_to_string(out.join("notes.txt")).unwrap(),
            "mine"
        );
    }
}
