//! Extracting an archive into the data cache, atomically.
//!
//! The archive is unpacked into a hidden folder beside its destination
//! (`<data>/.<folder>.partial-<pid>`), then renamed into place: a data set's folder exists only
//! once it is whole, so a process killed half way leaves only a hidden folder, which the next
//! extraction (holding the data set's lock) removes. As fastai's `untar_dir` does, an archive
//! whose root holds a single folder gives that folder's contents.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;

use super::download::bytes_bar;
use crate::{Error, Result};

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The prefix of the temporary folders in which `folder` is extracted.
fn partial_prefix(folder: &str) -> String {
    format!(".{folder}.partial-")
}

/// Removes what killed extractions of `folder` left in `data_dir`. Only call it holding the data
/// set's lock: no live process is then extracting it.
pub(crate) fn remove_partials(data_dir: &Path, folder: &str) -> Result<()> {
    let prefix = partial_prefix(folder);
    let Ok(entries) = std::fs::read_dir(data_dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            let p = entry.path();
            std::fs::remove_dir_all(&p).map_err(io_err(&p))?;
        }
    }
    Ok(())
}

/// What kind of archive a file holds, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Gzip,
    Tar,
}

fn kind_of(archive: &Path) -> Result<Option<Kind>> {
    let mut head = Vec::with_capacity(512);
    File::open(archive)
        .map_err(io_err(archive))?
        .take(512)
        .read_to_end(&mut head)
        .map_err(io_err(archive))?;
    Ok(if head.starts_with(&[0x1f, 0x8b]) {
        Some(Kind::Gzip)
    } else if head.len() >= 262 && &head[257..262] == b"ustar" {
        Some(Kind::Tar)
    } else {
        None
    })
}

/// Extracts `archive` (a gzip-compressed or plain tar) to `<data_dir>/<folder>`, which must not
/// exist yet, and returns that folder.
pub(crate) fn extract(
    archive: &Path,
    url: &str,
    data_dir: &Path,
    folder: &str,
    progress: bool,
) -> Result<PathBuf> {
    let not_archive = |reason: String| Error::NotAnArchive {
        archive: archive.to_path_buf(),
        url: url.to_string(),
        reason,
    };
    let kind = kind_of(archive)?.ok_or_else(|| {
        not_archive("it starts with neither gzip's nor tar's signature".to_string())
    })?;
    std::fs::create_dir_all(data_dir).map_err(io_err(data_dir))?;
    let tmp = data_dir.join(format!("{}{}", partial_prefix(folder), std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io_err(&tmp))?;
    }
    std::fs::create_dir(&tmp).map_err(io_err(&tmp))?;

    let file = File::open(archive).map_err(io_err(archive))?;
    let total = file.metadata().map(|m| m.len()).ok();
    let name = archive.file_name().unwrap_or_default().to_string_lossy();
    let bar = bytes_bar(progress, total, format!("extracting {name}"));
    let reader = BufReader::with_capacity(1 << 16, bar.wrap_read(file));
    let reader: Box<dyn Read> = match kind {
        Kind::Gzip => Box::new(GzDecoder::new(reader)),
        Kind::Tar => Box::new(reader),
    };
    let unpacked = tar::Archive::new(reader).unpack(&tmp);
    bar.finish_and_clear();
    if let Err(e) = unpacked {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(not_archive(e.to_string()));
    }

    let dest = data_dir.join(folder);
    let root = single_root(&tmp).map_err(io_err(&tmp))?;
    let src = root.as_deref().unwrap_or(&tmp);
    std::fs::rename(src, &dest).map_err(io_err(&dest))?;
    if root.is_some() {
        std::fs::remove_dir_all(&tmp).map_err(io_err(&tmp))?;
    }
    Ok(dest)
}

/// The one folder at the root of an extraction, when it holds nothing else.
fn single_root(dir: &Path) -> std::io::Result<Option<PathBuf>> {
    let entries: Vec<_> = std::fs::read_dir(dir)?.collect::<std::io::Result<_>>()?;
    Ok(match entries.as_slice() {
        [one] if one.file_type()?.is_dir() => Some(one.path()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tgz(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut b = tar::Builder::new(gz);
        for (path, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, path, *data).unwrap();
        }
        b.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn single_root_folder_becomes_the_data_set() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.tgz");
        std::fs::write(&a, tgz(&[("root/x.txt", b"x"), ("root/sub/y.txt", b"y")])).unwrap();
        let out = extract(&a, "http://h/a.tgz", &dir.path().join("data"), "a", false).unwrap();
        assert_eq!(out, dir.path().join("data/a"));
        assert_eq!(std::fs::read(out.join("sub/y.txt")).unwrap(), b"y");
        let left: Vec<_> = std::fs::read_dir(dir.path().join("data"))
            .unwrap()
            .collect();
        assert_eq!(left.len(), 1, "no temporary folder is left");
    }

    #[test]
    fn several_roots_are_kept_together() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("b.tgz");
        std::fs::write(&a, tgz(&[("x.txt", b"x"), ("y/z.txt", b"z")])).unwrap();
        let out = extract(&a, "http://h/b.tgz", dir.path(), "b", false).unwrap();
        assert!(out.join("x.txt").is_file() && out.join("y/z.txt").is_file());
    }

    #[test]
    fn not_a_tar_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("c.tgz");
        std::fs::write(&a, b"<html>not found</html>").unwrap();
        let e = extract(&a, "http://h/c.tgz", dir.path(), "c", false).unwrap_err();
        assert!(matches!(e, Error::NotAnArchive { .. }), "{e}");
        // A gzip stream that holds no tar.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &[7u8; 2000]).unwrap();
        std::fs::write(&a, gz.finish().unwrap()).unwrap();
        let e = extract(&a, "http://h/c.tgz", dir.path(), "c", false).unwrap_err();
        assert!(matches!(e, Error::NotAnArchive { .. }), "{e}");
        assert!(!dir.path().join("c").exists());
    }

    #[test]
    fn partials_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".d.partial-123/x")).unwrap();
        std::fs::create_dir_all(dir.path().join(".other.partial-1")).unwrap();
        remove_partials(dir.path(), "d").unwrap();
        assert!(!dir.path().join(".d.partial-123").exists());
        assert!(dir.path().join(".other.partial-1").exists());
    }
}
