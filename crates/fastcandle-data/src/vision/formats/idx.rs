//! The IDX files of MNIST and Fashion-MNIST (`train-images-idx3-ubyte.gz`, ...), gzipped or
//! not: images (magic `0x00000803`, big-endian count, rows, columns, then the pixels) and
//! labels (magic `0x00000801`, count, then one byte each).

use crate::error::{Error, Result};
use crate::vision::load::image_items::ImageItems;
use crate::vision::load::in_memory::InMemoryImages;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The magic number of an IDX file of 8-bit images (3 dimensions).
pub const IDX_IMAGES_MAGIC: u32 = 0x0000_0803;
/// The magic number of an IDX file of 8-bit labels (1 dimension).
pub const IDX_LABELS_MAGIC: u32 = 0x0000_0801;

/// MNIST's classes, by code.
pub const MNIST_CLASSES: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

/// Fashion-MNIST's classes, by code (Zalando's names).
pub const FASHION_MNIST_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// The bytes of `path`, un-gzipped when they start with gzip's magic (`1f 8b`), whatever the
/// file's extension.
pub(crate) fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len() * 4);
    flate2::read::MultiGzDecoder::new(&bytes[..])
        .read_to_end(&mut out)
        .map_err(|e| Error::BadFormat {
            path: path.to_path_buf(),
            reason: format!(
                "the gzip stream is truncated or corrupt ({e}); download the file again"
            ),
        })?;
    Ok(out)
}

/// The name of `path` as items name it (its file name).
pub(crate) fn short_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Checks an IDX header (`magic`, then `ndims` big-endian sizes) and gives the sizes and the
/// data after it, which must be exactly their product (bytes).
fn parse_idx<'a>(
    path: &Path,
    bytes: &'a [u8],
    magic: u32,
    what: &str,
) -> Result<(Vec<usize>, &'a [u8])> {
    let bad = |reason: String| Error::BadFormat {
        path: path.to_path_buf(),
        reason,
    };
    let ndims = (magic & 0xff) as usize;
    let header = 4 + 4 * ndims;
    let too_short = || {
        bad(format!(
            "{} bytes is too short for the {header}-byte header of an IDX file of {what}: the \
             file is truncated",
            bytes.len()
        ))
    };
    if bytes.len() < 4 {
        return Err(too_short());
    }
    let word = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let found = word(0);
    if found != magic {
        let other = match found {
            IDX_IMAGES_MAGIC => " (that of an IDX file of images)",
            IDX_LABELS_MAGIC => " (that of an IDX file of labels)",
            _ => "",
        };
        return Err(bad(format!(
            "the magic number is {found:#010x}{other} but an IDX file of {what} starts with \
             {magic:#010x}; is it the right file?"
        )));
    }
    if bytes.len() < header {
        return Err(too_short());
    }
    let dims: Vec<usize> = (0..ndims).map(|d| word(4 + 4 * d) as usize).collect();
    let want = dims.iter().product::<usize>();
    let data = &bytes[header..];
    if data.len() != want {
        let how = if data.len() < want {
            "the file is truncated"
        } else {
            "the file has bytes past its end"
        };
        return Err(bad(format!(
            "the header announces {} ({want} bytes) but {} bytes follow it: {how}",
            dims.iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(" x "),
            data.len()
        )));
    }
    Ok((dims, data))
}

/// Reads an IDX file of 8-bit images (`*-images-idx3-ubyte`, gzipped or not) into grey images
/// named after the file (`train-images-idx3-ubyte.gz[7]`).
///
/// A missing or truncated file, a wrong magic number or a length that disagrees with the
/// header is an error naming the file.
pub fn read_idx_images(path: &Path) -> Result<InMemoryImages> {
    let bytes = read_maybe_gz(path)?;
    let (dims, data) = parse_idx(path, &bytes, IDX_IMAGES_MAGIC, "images")?;
    let (n, rows, cols) = (dims[0], dims[1], dims[2]);
    if rows == 0 || cols == 0 {
        return Err(Error::BadFormat {
            path: path.to_path_buf(),
            reason: format!("the images are {rows}x{cols} pixels"),
        });
    }
    InMemoryImages::new(short_name(path), n, cols, rows, 1, data.to_vec())
}

/// Reads an IDX file of 8-bit labels (`*-labels-idx1-ubyte`, gzipped or not).
///
/// A missing or truncated file, a wrong magic number or a length that disagrees with the
/// header is an error naming the file.
pub fn read_idx_labels(path: &Path) -> Result<Vec<u8>> {
    let bytes = read_maybe_gz(path)?;
    let (_, data) = parse_idx(path, &bytes, IDX_LABELS_MAGIC, "labels")?;
    Ok(data.to_vec())
}

/// Reads an IDX pair, images and labels, into items; `n_classes` (10 for MNIST) bounds the
/// labels. A pair of different counts, or a label of `n_classes` or more, is an error naming
/// the files.
pub fn read_idx(images: &Path, labels: &Path, n_classes: usize) -> Result<ImageItems> {
    let imgs = read_idx_images(images)?;
    let codes = read_idx_labels(labels)?;
    if imgs.len() != codes.len() {
        return Err(Error::BadFormat {
            path: labels.to_path_buf(),
            reason: format!(
                "{} labels but {} holds {} images; the pair must have one label per image",
                codes.len(),
                images.display(),
                imgs.len()
            ),
        });
    }
    if let Some(i) = codes.iter().position(|&c| c as usize >= n_classes) {
        return Err(Error::BadFormat {
            path: labels.to_path_buf(),
            reason: format!(
                "label {i} is {} but there are {n_classes} classes",
                codes[i]
            ),
        });
    }
    ImageItems::from_images(Arc::new(imgs), codes.into_iter().map(u32::from).collect())
}

/// The four files of an MNIST-style folder (the training and test images and labels).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxFiles {
    /// `train-images-idx3-ubyte[.gz]`.
    pub train_images: PathBuf,
    /// `train-labels-idx1-ubyte[.gz]`.
    pub train_labels: PathBuf,
    /// `t10k-images-idx3-ubyte[.gz]`.
    pub test_images: PathBuf,
    /// `t10k-labels-idx1-ubyte[.gz]`.
    pub test_labels: PathBuf,
}

impl IdxFiles {
    /// Finds the four files in `folder`, gzipped or not, under the names of Yann LeCun's and
    /// Zalando's distributions (`train-images-idx3-ubyte.gz`) or with a dot
    /// (`train-images.idx3-ubyte`, as some mirrors have). A missing file is an error naming
    /// what was looked for.
    pub fn find(folder: &Path) -> Result<Self> {
        let find = |stem: &str, kind: &str| -> Result<PathBuf> {
            let names = [
                format!("{stem}-{kind}"),
                format!("{stem}-{kind}.gz"),
                format!("{stem}.{kind}"),
                format!("{stem}.{kind}.gz"),
            ];
            names
                .iter()
                .map(|n| folder.join(n))
                .find(|p| p.is_file())
                .ok_or_else(|| Error::BadFormat {
                    path: folder.to_path_buf(),
                    reason: format!(
                        "no IDX file {} (nor {}) in this folder; an MNIST-style folder holds \
                         train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, \
                         t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz",
                        names[1], names[0]
                    ),
                })
        };
        Ok(Self {
            train_images: find("train-images", "idx3-ubyte")?,
            train_labels: find("train-labels", "idx1-ubyte")?,
            test_images: find("t10k-images", "idx3-ubyte")?,
            test_labels: find("t10k-labels", "idx1-ubyte")?,
        })
    }

    /// Whether `folder` holds the four files.
    pub fn is_idx_folder(folder: &Path) -> bool {
        Self::find(folder).is_ok()
    }

    /// The training and the test items (`n_classes` bounds the labels).
    pub fn read(&self, n_classes: usize) -> Result<(ImageItems, ImageItems)> {
        Ok((
            read_idx(&self.train_images, &self.train_labels, n_classes)?,
            read_idx(&self.test_images, &self.test_labels, n_classes)?,
        ))
    }
}

/// Writes `images` (n x rows x cols bytes) as an IDX file of images, gzipped when `path` ends
/// in `.gz`: the inverse of [`read_idx_images`], for tests and conversions.
pub fn write_idx_images(
    path: &Path,
    n: usize,
    rows: usize,
    cols: usize,
    pixels: &[u8],
) -> Result<()> {
    if pixels.len() != n * rows * cols {
        return Err(Error::BadData {
            what: format!("writing {}", path.display()),
            reason: format!("{} bytes are not {n} images of {rows}x{cols}", pixels.len()),
        });
    }
    let mut bytes = IDX_IMAGES_MAGIC.to_be_bytes().to_vec();
    for d in [n, rows, cols] {
        bytes.extend_from_slice(&(d as u32).to_be_bytes());
    }
    bytes.extend_from_slice(pixels);
    write_maybe_gz(path, &bytes)
}

/// Writes `labels` as an IDX file of labels, gzipped when `path` ends in `.gz`: the inverse
/// of [`read_idx_labels`].
pub fn write_idx_labels(path: &Path, labels: &[u8]) -> Result<()> {
    let mut bytes = IDX_LABELS_MAGIC.to_be_bytes().to_vec();
    bytes.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    bytes.extend_from_slice(labels);
    write_maybe_gz(path, &bytes)
}

fn write_maybe_gz(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let out = if path.extension().is_some_and(|e| e == "gz") {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(bytes).map_err(io)?;
        gz.finish().map_err(io)?
    } else {
        bytes.to_vec()
    };
    std::fs::write(path, out).map_err(io)
}
