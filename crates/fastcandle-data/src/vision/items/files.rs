//! Finding files, as fastai's `get_files` and `get_image_files`.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// The extensions [`get_image_files`] looks for (compared without regard to case).
pub const IMAGE_EXTENSIONS: [&str; 5] = ["jpg", "jpeg", "png", "bmp", "webp"];

/// Whether `path` has one of the [`IMAGE_EXTENSIONS`].
pub fn is_image_file(path: &Path) -> bool {
    has_extension(path, &IMAGE_EXTENSIONS)
}

/// The image files under `path`, searched recursively, sorted (so that a seeded split picks the
/// same files on every machine).
///
/// A missing folder and a folder without images are errors naming the folder. Hidden files and
/// folders (names starting with `.`) are skipped, as fastai does.
pub fn get_image_files(path: impl AsRef<Path>) -> Result<Vec<PathBuf>> {
    let path = path.as_ref();
    let found = get_files(path, &IMAGE_EXTENSIONS)?;
    if found.is_empty() {
        return Err(Error::NoImages {
            path: path.to_path_buf(),
            extensions: IMAGE_EXTENSIONS.join(", "),
        });
    }
    Ok(found)
}

/// fastai's `get_files`: the files under `path` whose extension is one of `extensions`
/// (compared without regard to case), searched recursively, sorted; hidden files and folders
/// skipped. A missing folder is an error naming it; a folder without such files gives none.
pub fn get_files(path: impl AsRef<Path>, extensions: &[&str]) -> Result<Vec<PathBuf>> {
    let path = path.as_ref();
    if !path.is_dir() {
        return Err(Error::MissingFolder {
            path: path.to_path_buf(),
        });
    }
    let mut found = Vec::new();
    walk(path, extensions, &mut found)?;
    found.sort();
    Ok(found)
}

fn has_extension(path: &Path, extensions: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| extensions.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

fn walk(dir: &Path, extensions: &[&str], found: &mut Vec<PathBuf>) -> Result<()> {
    let io = |source| Error::Io {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        // Follows links, as fastai's os.walk(followlinks=True).
        if path.is_dir() {
            walk(&path, extensions, found)?;
        } else if has_extension(&path, extensions) {
            found.push(path);
        }
    }
    Ok(())
}

/// The file name without its extension (`Cat_17` for `images/Cat_17.png`), as Python's
/// `Path.stem`; empty when there is none.
pub fn file_stem(path: &Path) -> &str {
    path.file_stem().and_then(|s| s.to_str()).unwrap_or("")
}

/// The file name (`Cat_17.png` for `images/Cat_17.png`), as Python's `Path.name`; empty when
/// there is none.
pub fn file_name(path: &Path) -> &str {
    path.file_name().and_then(|s| s.to_str()).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_images_recursively_sorted_by_extension() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for f in [
            "b.png",
            "a.JPG",
            "sub/c.jpeg",
            "sub/deeper/d.Bmp",
            "sub/e.webp",
            "notes.txt",
            "sub/f.gif",
            "noext",
            ".hidden/g.png",
        ] {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, b"x").unwrap();
        }
        let got = get_image_files(root).unwrap();
        let rel: Vec<String> = got
            .iter()
            .map(|p| {
                p.strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/")
            })
            .collect();
        assert_eq!(
            rel,
            [
                "a.JPG",
                "b.png",
                "sub/c.jpeg",
                "sub/deeper/d.Bmp",
                "sub/e.webp"
            ]
        );
    }

    #[test]
    fn empty_or_missing_folder_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("readme.txt"), b"x").unwrap();
        let e = get_image_files(dir.path()).unwrap_err();
        assert!(matches!(e, Error::NoImages { .. }), "{e}");
        assert!(e.to_string().contains(&dir.path().display().to_string()));
        let missing = dir.path().join("nope");
        let e = get_image_files(&missing).unwrap_err();
        assert!(matches!(e, Error::MissingFolder { .. }), "{e}");
        assert!(e.to_string().contains("nope"), "{e}");
    }

    #[test]
    fn stem_and_name() {
        let p = Path::new("images/Cat_17.png");
        assert_eq!(file_stem(p), "Cat_17");
        assert_eq!(file_name(p), "Cat_17.png");
    }
}
