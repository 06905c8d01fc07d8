//! The CIFAR-10 binary batches (`cifar-10-batches-bin/`): `data_batch_1.bin` .. `_5.bin` and
//! `test_batch.bin`, each 10,000 records of one label byte and 3,072 pixel bytes (the red
//! plane, then the green, then the blue, 32x32 each), and `batches.meta.txt`, the class names.

use super::idx::{read_maybe_gz, short_name};
use crate::error::{Error, Result};
use crate::vision::load::image_items::ImageItems;
use crate::vision::load::in_memory::InMemoryImages;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The side of a CIFAR image.
pub const CIFAR_SIZE: usize = 32;
/// The bytes of one CIFAR-10 record: a label and 3 planes of 32x32.
pub const CIFAR_RECORD: usize = 1 + 3 * CIFAR_SIZE * CIFAR_SIZE;

/// CIFAR-10's classes, by code (as `batches.meta.txt` lists them).
pub const CIFAR10_CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// Reads one CIFAR-10 binary batch (gzipped or not) into RGB images named after the file
/// (`data_batch_1.bin[17]`) and their labels.
///
/// A length that is not a whole number of 3,073-byte records, or a label of 10 or more, is an
/// error naming the file.
pub fn read_cifar_batch(path: &Path) -> Result<(InMemoryImages, Vec<u8>)> {
    let bytes = read_maybe_gz(path)?;
    let bad = |reason: String| Error::BadFormat {
        path: path.to_path_buf(),
        reason,
    };
    #[allow(clippy::manual_is_multiple_of)] // is_multiple_of is newer than the MSRV
    let whole = bytes.len() % CIFAR_RECORD == 0;
    if bytes.is_empty() || !whole {
        return Err(bad(format!(
            "{} bytes is not a whole number of CIFAR-10 records ({CIFAR_RECORD} bytes each: a \
             label and 32x32x3 pixels); the file is truncated or not a CIFAR-10 binary batch \
             (CIFAR-100's records have two label bytes)",
            bytes.len()
        )));
    }
    let n = bytes.len() / CIFAR_RECORD;
    let plane = CIFAR_SIZE * CIFAR_SIZE;
    let mut labels = Vec::with_capacity(n);
    let mut pixels = vec![0u8; n * 3 * plane];
    for (i, (rec, out)) in bytes
        .chunks_exact(CIFAR_RECORD)
        .zip(pixels.chunks_exact_mut(3 * plane))
        .enumerate()
    {
        if rec[0] as usize >= CIFAR10_CLASSES.len() {
            return Err(bad(format!(
                "record {i} has label {} but CIFAR-10 has 10 classes",
                rec[0]
            )));
        }
        labels.push(rec[0]);
        let (r, g, b) = (
            &rec[1..1 + plane],
            &rec[1 + plane..1 + 2 * plane],
            &rec[1 + 2 * plane..],
        );
        for (p, px) in out.chunks_exact_mut(3).enumerate() {
            px.copy_from_slice(&[r[p], g[p], b[p]]);
        }
    }
    let images = InMemoryImages::new(short_name(path), n, CIFAR_SIZE, CIFAR_SIZE, 3, pixels)?;
    Ok((images, labels))
}

/// Reads CIFAR-10 batches into items, their images gathered in the order given and named by
/// their own batch file.
pub fn read_cifar(paths: &[PathBuf]) -> Result<ImageItems> {
    let mut sets = Vec::with_capacity(paths.len());
    let mut codes = Vec::new();
    for p in paths {
        let (images, labels) = read_cifar_batch(p)?;
        sets.push(images);
        codes.extend(labels.into_iter().map(u32::from));
    }
    let name = paths
        .iter()
        .map(|p| short_name(p))
        .collect::<Vec<_>>()
        .join(", ");
    let images = if sets.len() == 1 {
        sets.remove(0)
    } else {
        InMemoryImages::concat(name, sets)?
    };
    ImageItems::from_images(Arc::new(images), codes)
}

/// The files of a CIFAR-10 binary folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CifarFiles {
    /// `data_batch_1.bin` .. `data_batch_5.bin`.
    pub train: Vec<PathBuf>,
    /// `test_batch.bin`.
    pub test: PathBuf,
    /// `batches.meta.txt`, when present.
    pub meta: Option<PathBuf>,
}

impl CifarFiles {
    /// Finds the batches in `folder` or in its `cifar-10-batches-bin/` (the archive's folder).
    /// A missing batch is an error naming what was looked for.
    pub fn find(folder: &Path) -> Result<Self> {
        let sub = folder.join("cifar-10-batches-bin");
        let dir = if sub.is_dir() {
            sub
        } else {
            folder.to_path_buf()
        };
        let file = |name: String| -> Result<PathBuf> {
            let p = dir.join(&name);
            if p.is_file() {
                Ok(p)
            } else {
                Err(Error::BadFormat {
                    path: dir.clone(),
                    reason: format!(
                        "no {name} in this folder; a CIFAR-10 binary folder \
                         (cifar-10-batches-bin) holds data_batch_1.bin .. data_batch_5.bin and \
                         test_batch.bin"
                    ),
                })
            }
        };
        let train = (1..=5)
            .map(|i| file(format!("data_batch_{i}.bin")))
            .collect::<Result<Vec<_>>>()?;
        let meta = dir.join("batches.meta.txt");
        Ok(Self {
            train,
            test: file("test_batch.bin".into())?,
            meta: meta.is_file().then_some(meta),
        })
    }

    /// Whether `folder` (or its `cifar-10-batches-bin/`) holds the batches.
    pub fn is_cifar_folder(folder: &Path) -> bool {
        Self::find(folder).is_ok()
    }

    /// The class names: `batches.meta.txt`'s lines (blank ones dropped), else CIFAR-10's.
    pub fn classes(&self) -> Result<Vec<String>> {
        let Some(meta) = &self.meta else {
            return Ok(CIFAR10_CLASSES.iter().map(|c| c.to_string()).collect());
        };
        let text = std::fs::read_to_string(meta).map_err(|source| Error::Io {
            path: meta.clone(),
            source,
        })?;
        let classes: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        if classes.len() != CIFAR10_CLASSES.len() {
            return Err(Error::BadFormat {
                path: meta.clone(),
                reason: format!(
                    "{} class names but CIFAR-10 has 10 (one per line)",
                    classes.len()
                ),
            });
        }
        Ok(classes)
    }

    /// The training items (the five batches) and the test items.
    pub fn read(&self) -> Result<(ImageItems, ImageItems)> {
        Ok((
            read_cifar(&self.train)?,
            read_cifar(std::slice::from_ref(&self.test))?,
        ))
    }
}

/// Writes `images` (n RGB 32x32 images, HWC) and `labels` as a CIFAR-10 binary batch: the
/// inverse of [`read_cifar_batch`], for tests and conversions.
pub fn write_cifar_batch(path: &Path, images: &[u8], labels: &[u8]) -> Result<()> {
    let plane = CIFAR_SIZE * CIFAR_SIZE;
    if images.len() != labels.len() * 3 * plane {
        return Err(Error::BadData {
            what: format!("writing {}", path.display()),
            reason: format!(
                "{} bytes are not {} images of 32x32x3",
                images.len(),
                labels.len()
            ),
        });
    }
    let mut out = Vec::with_capacity(labels.len() * CIFAR_RECORD);
    for (img, &label) in images.chunks_exact(3 * plane).zip(labels) {
        out.push(label);
        for c in 0..3 {
            out.extend(img.chunks_exact(3).map(|px| px[c]));
        }
    }
    std::fs::write(path, out).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}
