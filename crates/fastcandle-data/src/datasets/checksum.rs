//! fastai's check of an archive: its size and the md5 of its first MiB.
//!
//! fastdownload's `path_stats` (and fastai's `_check_file` before it) hash only the first 2**20
//! bytes, so that checking a 5 GB archive costs a megabyte of reading; the full size catches a
//! truncated download. The registry's values are these pairs, so they are computed the same way.

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use md5::{Digest, Md5};

use crate::{Error, Result};

/// How many leading bytes the md5 covers (fastdownload's `2**20`).
pub const HASHED_BYTES: u64 = 1 << 20;

/// An archive's size in bytes and the md5 (lower-case hex) of its first [`HASHED_BYTES`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCheck {
    /// The archive's size in bytes.
    pub size: u64,
    /// The md5 of the first MiB, as 32 lower-case hex digits.
    pub md5: String,
}

impl FileCheck {
    /// A check from a size and an md5 (any case).
    pub fn new(size: u64, md5: impl Into<String>) -> Self {
        Self {
            size,
            md5: md5.into().to_ascii_lowercase(),
        }
    }

    /// Computes the check of a file on disk.
    pub fn of_file(path: &Path) -> Result<Self> {
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        let size = file.metadata().map_err(io)?.len();
        let mut head = Vec::with_capacity(HASHED_BYTES.min(size) as usize);
        file.take(HASHED_BYTES).read_to_end(&mut head).map_err(io)?;
        Ok(Self::of_bytes_with_size(&head, size))
    }

    /// The check of bytes held in memory (the whole file).
    pub fn of_bytes(bytes: &[u8]) -> Self {
        let head = &bytes[..bytes.len().min(HASHED_BYTES as usize)];
        Self::of_bytes_with_size(head, bytes.len() as u64)
    }

    fn of_bytes_with_size(head: &[u8], size: u64) -> Self {
        let digest = Md5::digest(head);
        let md5 = digest.iter().map(|b| format!("{b:02x}")).collect();
        Self { size, md5 }
    }
}

impl fmt::Display for FileCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bytes, md5 of the first MiB {}", self.size, self.md5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_of_known_text() {
        // RFC 1321's test suite.
        assert_eq!(
            FileCheck::of_bytes(b"abc").md5,
            "900150983cd24fb0d6963f7d28e17f72"
        );
        assert_eq!(FileCheck::of_bytes(b"").size, 0);
    }

    #[test]
    fn only_the_first_mib_is_hashed() {
        let mut a = vec![7u8; HASHED_BYTES as usize + 10];
        let ca = FileCheck::of_bytes(&a);
        *a.last_mut().unwrap() = 8;
        let cb = FileCheck::of_bytes(&a);
        assert_eq!(ca, cb);
        a[0] = 0;
        assert_ne!(ca.md5, FileCheck::of_bytes(&a).md5);
    }

    #[test]
    fn file_and_bytes_agree() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.bin");
        let bytes: Vec<u8> = (0..(HASHED_BYTES as usize + 5000))
            .map(|i| i as u8)
            .collect();
        std::fs::write(&p, &bytes).unwrap();
        assert_eq!(FileCheck::of_file(&p).unwrap(), FileCheck::of_bytes(&bytes));
    }
}
