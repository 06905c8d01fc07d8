//! A lock file per archive, so that two processes (or threads) asking for the same data set at
//! once do the download and the extraction one after the other, as fastdownload's `_locked`
//! does.
//!
//! The lock is an OS advisory lock (`flock` on Unix, `LockFileEx` on Windows) on
//! `<archive>.lock`: the OS drops it when the holder exits, killed or not, so a crashed process
//! never leaves a stale lock behind. The file itself stays; its presence means nothing.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// An exclusive lock, released when dropped.
#[derive(Debug)]
pub(crate) struct LockGuard {
    file: File,
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        // Closing the file releases the lock too; unlocking first makes it prompt.
        let _ = fs4::FileExt::unlock(&self.file);
    }
}

/// The lock file of an archive: `<archive>.lock`.
pub(crate) fn lock_path(archive: &Path) -> PathBuf {
    let mut name = archive.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    archive.with_file_name(name)
}

/// Waits for, then takes, the exclusive lock on `path` (created if missing).
pub(crate) fn lock_exclusive(path: &Path) -> Result<LockGuard> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(io)?;
    fs4::FileExt::lock(&file).map_err(io)?;
    Ok(LockGuard { file })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Barrier};

    #[test]
    fn lock_path_appends_lock() {
        assert_eq!(
            lock_path(Path::new("/a/pets.tgz")),
            PathBuf::from("/a/pets.tgz.lock")
        );
    }

    #[test]
    fn holders_take_turns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let inside = Arc::new(AtomicUsize::new(0));
        let barrier = Arc::new(Barrier::new(4));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (path, inside, barrier) = (path.clone(), inside.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    let _g = lock_exclusive(&path).unwrap();
                    assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    inside.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    }
}
