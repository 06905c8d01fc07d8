//! Images held in memory, one contiguous buffer for a whole set (the classic formats: IDX,
//! CIFAR-10 batches), so that their items go through the loader without a file per image.

use crate::error::{Error, Result};
use crate::vision::items::image::Image;
use std::path::PathBuf;
use std::sync::Arc;

/// Images of one size in one contiguous 8-bit buffer, `n x height x width x channels`
/// (row-major, channels interleaved), read from the file `name`.
///
/// Item `i` is named `name[i]` (`train-images-idx3-ubyte.gz[123]`) wherever a file would be:
/// in errors, in [`ImageItems::paths`](crate::vision::ImageItems), in `show_batch`. Images gathered
/// from several files ([`InMemoryImages::concat`], the five CIFAR-10 training batches) are
/// named by their own file and position (`data_batch_3.bin[17]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InMemoryImages {
    name: String,
    /// The files the images came from and the index of each one's first image.
    parts: Vec<(String, usize)>,
    width: usize,
    height: usize,
    channels: usize,
    data: Vec<u8>,
}

impl InMemoryImages {
    /// `n` images of `width x height` with 1 (grey) or 3 (RGB) channels from `data`
    /// (`n * height * width * channels` bytes, HWC per image); `name` is the file they came
    /// from.
    pub fn new(
        name: impl Into<String>,
        n: usize,
        width: usize,
        height: usize,
        channels: usize,
        data: Vec<u8>,
    ) -> Result<Self> {
        let name = name.into();
        let bad = |reason: String| {
            Err(Error::BadData {
                what: format!("the images of {name}"),
                reason,
            })
        };
        if channels != 1 && channels != 3 {
            return bad(format!(
                "{channels} channels; images have 1 (grey) or 3 (RGB)"
            ));
        }
        if width == 0 || height == 0 {
            return bad(format!("images of {width}x{height} pixels are empty"));
        }
        if data.len() != n * width * height * channels {
            return bad(format!(
                "{} bytes do not make {n} images of {width}x{height}x{channels}",
                data.len()
            ));
        }
        Ok(Self {
            parts: vec![(name.clone(), 0)],
            name,
            width,
            height,
            channels,
            data,
        })
    }

    /// The images of `sets` (of one size), one after the other, each named after its own file;
    /// `name` names them all. No set, or sets of different sizes, is an error.
    pub fn concat(name: impl Into<String>, sets: Vec<InMemoryImages>) -> Result<Self> {
        let name = name.into();
        let Some(first) = sets.first() else {
            return Err(Error::BadData {
                what: format!("the images of {name}"),
                reason: "there is no set of images to gather".into(),
            });
        };
        let shape = (first.width, first.height, first.channels);
        let mut parts = Vec::new();
        let mut data = Vec::with_capacity(sets.iter().map(|s| s.data.len()).sum());
        for s in &sets {
            if (s.width, s.height, s.channels) != shape {
                return Err(Error::BadData {
                    what: format!("the images of {name}"),
                    reason: format!(
                        "{} holds {}x{}x{} images but {} holds {}x{}x{}",
                        s.name,
                        s.width,
                        s.height,
                        s.channels,
                        first.name,
                        shape.0,
                        shape.1,
                        shape.2
                    ),
                });
            }
            let start = data.len() / first.image_len();
            parts.extend(s.parts.iter().map(|(n, i)| (n.clone(), start + i)));
            data.extend_from_slice(&s.data);
        }
        Ok(Self {
            name,
            parts,
            width: shape.0,
            height: shape.1,
            channels: shape.2,
            data,
        })
    }

    /// The file the images came from (or the name of files gathered by [`Self::concat`]).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The number of images.
    pub fn len(&self) -> usize {
        self.data.len() / self.image_len()
    }

    /// Whether there is no image.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The width of every image.
    pub fn width(&self) -> usize {
        self.width
    }

    /// The height of every image.
    pub fn height(&self) -> usize {
        self.height
    }

    /// The channels of every image (1 or 3).
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// The bytes of one image.
    pub fn image_len(&self) -> usize {
        self.width * self.height * self.channels
    }

    /// Every image's pixels, one after the other.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The pixels of image `i` (HWC). Panics when `i` is out of range, as indexing does.
    pub fn pixels(&self, i: usize) -> &[u8] {
        let n = self.image_len();
        &self.data[i * n..(i + 1) * n]
    }

    /// Image `i`, copied out. Panics when `i` is out of range, as indexing does.
    pub fn image(&self, i: usize) -> Image {
        Image::new(
            self.width,
            self.height,
            self.channels,
            self.pixels(i).to_vec(),
        )
        .expect("the size was checked when the images were made")
    }

    /// The name of item `i` where a file would be: `name[i]`, with the name and position of
    /// the file it came from.
    pub fn item_name(&self, i: usize) -> PathBuf {
        let part = self.parts.partition_point(|(_, start)| *start <= i).max(1) - 1;
        let (name, start) = &self.parts[part];
        PathBuf::from(format!("{name}[{}]", i - start))
    }
}

/// The in-memory side of [`ImageItems`](crate::vision::ImageItems): the images, and which of them
/// each item is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryItems {
    /// The images, shared by every split made from them.
    pub images: Arc<InMemoryImages>,
    /// Item `k` is image `index[k]`.
    pub index: Vec<usize>,
}

impl MemoryItems {
    /// Image `index[k]`.
    pub(crate) fn image(&self, k: usize) -> Image {
        self.images.image(self.index[k])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_checked_and_items_are_named() {
        let imgs = InMemoryImages::new("x.idx", 2, 3, 2, 1, (0..12).collect()).unwrap();
        assert_eq!((imgs.len(), imgs.image_len()), (2, 6));
        assert_eq!(imgs.pixels(1), &[6, 7, 8, 9, 10, 11]);
        let img = imgs.image(1);
        assert_eq!((img.width(), img.height(), img.channels()), (3, 2, 1));
        assert_eq!(img.pixel(2, 1), [11; 3]);
        assert_eq!(imgs.item_name(1), PathBuf::from("x.idx[1]"));
        let e = InMemoryImages::new("y.bin", 2, 3, 2, 1, vec![0; 11]).unwrap_err();
        assert!(e.to_string().contains("y.bin"), "{e}");
        assert!(InMemoryImages::new("z", 1, 1, 1, 2, vec![0; 2]).is_err());
        let a = InMemoryImages::new("a.bin", 2, 1, 1, 1, vec![1, 2]).unwrap();
        let b = InMemoryImages::new("b.bin", 3, 1, 1, 1, vec![3, 4, 5]).unwrap();
        let ab = InMemoryImages::concat("a+b", vec![a, b.clone()]).unwrap();
        assert_eq!((ab.len(), ab.pixels(3)), (5, &[4u8][..]));
        assert_eq!(ab.item_name(1), PathBuf::from("a.bin[1]"));
        assert_eq!(ab.item_name(2), PathBuf::from("b.bin[0]"));
        assert_eq!(ab.item_name(4), PathBuf::from("b.bin[2]"));
        let grey = InMemoryImages::new("c.bin", 1, 2, 1, 1, vec![0, 0]).unwrap();
        assert!(InMemoryImages::concat("b+c", vec![b, grey]).is_err());
    }
}
