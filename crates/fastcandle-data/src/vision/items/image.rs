//! An 8-bit image in memory: height x width x channels, row-major (HWC), as item transforms see
//! it.

use crate::error::{Error, Result};

/// An 8-bit image, HWC (interleaved). Images are RGB (3 channels); masks and the loader's grey
/// fast path use 1 channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    width: usize,
    height: usize,
    channels: usize,
    data: Vec<u8>,
}

impl Image {
    /// An image from its pixels; `data.len()` must be `height * width * channels`, with 1 or 3
    /// channels.
    pub fn new(width: usize, height: usize, channels: usize, data: Vec<u8>) -> Result<Self> {
        if channels != 1 && channels != 3 {
            return Err(Error::BadData {
                what: "an image".into(),
                reason: format!("it has {channels} channels; images have 1 (grey) or 3 (RGB)"),
            });
        }
        if data.len() != width * height * channels {
            return Err(Error::BadData {
                what: "an image".into(),
                reason: format!(
                    "{} bytes do not make a {width}x{height} image of {channels} channel(s)",
                    data.len()
                ),
            });
        }
        Ok(Self {
            width,
            height,
            channels,
            data,
        })
    }

    /// An RGB image of `f(x, y)` pixels (for tests and drawings).
    pub fn from_fn(width: usize, height: usize, f: impl Fn(usize, usize) -> [u8; 3]) -> Self {
        let mut data = Vec::with_capacity(width * height * 3);
        for y in 0..height {
            for x in 0..width {
                data.extend_from_slice(&f(x, y));
            }
        }
        Self {
            width,
            height,
            channels: 3,
            data,
        }
    }

    /// The width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// The height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// The number of channels (1 or 3).
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// The pixels, HWC.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The pixels, HWC, owned.
    pub fn into_data(self) -> Vec<u8> {
        self.data
    }

    /// The pixel at `(x, y)`; a grey pixel is repeated in the three channels. Panics outside
    /// the image, as indexing does.
    pub fn pixel(&self, x: usize, y: usize) -> [u8; 3] {
        let i = (y * self.width + x) * self.channels;
        if self.channels == 1 {
            [self.data[i]; 3]
        } else {
            [self.data[i], self.data[i + 1], self.data[i + 2]]
        }
    }

    /// The image with 3 channels (a grey image's value repeated).
    pub fn into_rgb(self) -> Self {
        if self.channels == 3 {
            return self;
        }
        let data = self.data.iter().flat_map(|&v| [v, v, v]).collect();
        Self {
            channels: 3,
            data,
            ..self
        }
    }

    /// The rectangle `width x height` at `(left, top)`, which must lie inside the image (see
    /// [`crop_pad`](crate::vision::crop_pad) for any window).
    pub(crate) fn crop(&self, left: usize, top: usize, width: usize, height: usize) -> Self {
        debug_assert!(left + width <= self.width && top + height <= self.height);
        let c = self.channels;
        let mut data = Vec::with_capacity(width * height * c);
        for y in top..top + height {
            let row = (y * self.width + left) * c;
            data.extend_from_slice(&self.data[row..row + width * c]);
        }
        Self {
            width,
            height,
            channels: c,
            data,
        }
    }
}
