//! Finding sound files, as fastaudio's `get_audio_files`.

use crate::error::{Error, Result};
use crate::vision::get_files;
use std::path::{Path, PathBuf};

/// The extensions [`get_audio_files`] looks for (compared without regard to case): the WAV
/// files fastcandle reads.
pub const AUDIO_EXTENSIONS: [&str; 2] = ["wav", "wave"];

/// The sound files under `path`, searched recursively, sorted; hidden files and folders are
/// skipped. A missing folder and a folder without sound files are errors naming it.
pub fn get_audio_files(path: impl AsRef<Path>) -> Result<Vec<PathBuf>> {
    let path = path.as_ref();
    let found = get_files(path, &AUDIO_EXTENSIONS)?;
    if found.is_empty() {
        return Err(Error::NoAudio {
            path: path.to_path_buf(),
            extensions: AUDIO_EXTENSIONS.join(", "),
        });
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_wav_files_only() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["b.wav", "a/c.WAV", "d.mp3", "e.png"] {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"x").unwrap();
        }
        let got = get_audio_files(dir.path()).unwrap();
        assert_eq!(
            got,
            vec![dir.path().join("a/c.WAV"), dir.path().join("b.wav")]
        );
        let empty = tempfile::tempdir().unwrap();
        let e = get_audio_files(empty.path()).unwrap_err().to_string();
        assert!(e.contains("no audio files"), "{e}");
    }
}
