//! Receptive fields: which input pixels can change an activation (Zeiler & Fergus crop each
//! top activation's field from its image to show what a channel responds to).
//!
//! Each spatial layer reports how it changes the field ([`crate::layers::Layer::receptive_field`]),
//! a [`crate::layers::Sequential`] folds its children, and a residual block takes the union of
//! its branches; so the geometry is read from the same layers that run, never from a second
//! description of the architecture.

/// The receptive field of every position of a feature map, in input pixels (one axis; the
/// models here are square in their kernels, strides and paddings).
///
/// Position `i` of the map sees the input pixels `offset + i * stride ..
/// offset + i * stride + size` (half-open; the start may be negative or the end past the image,
/// where padding is). This is the standard recurrence (`r_out = r_in + (k - 1) d j_in`,
/// `j_out = j_in s`), with the field's first pixel kept instead of its centre: `offset` is
/// `centre - (size - 1) / 2` of the recurrence's `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReceptiveField {
    /// The side of the field in input pixels (`r`).
    pub size: usize,
    /// The input pixels between neighbouring positions (the jump `j`, the map's total stride).
    pub stride: usize,
    /// The first input pixel of position 0's field (negative where it starts in the padding).
    pub offset: i64,
}

impl ReceptiveField {
    /// The field of the input itself: one pixel, stride 1, starting at 0.
    pub const INPUT: Self = Self {
        size: 1,
        stride: 1,
        offset: 0,
    };

    /// The field after a window of `kernel` taps `dilation` apart, moved by `stride`, on an
    /// input padded by `padding` on each side (a convolution or a pooling).
    pub fn window(self, kernel: usize, stride: usize, padding: usize, dilation: usize) -> Self {
        Self {
            size: self.size + (kernel.max(1) - 1) * dilation * self.stride,
            stride: self.stride * stride,
            offset: self.offset - (padding * self.stride) as i64,
        }
    }

    /// The field of a sum of two branches from the same input (a residual block): every pixel
    /// either branch sees. The branches must have the same stride (their outputs are added).
    pub fn union(self, other: Self) -> Self {
        let start = self.offset.min(other.offset);
        let end = (self.offset + self.size as i64).max(other.offset + other.size as i64);
        Self {
            size: (end - start) as usize,
            stride: self.stride.max(other.stride),
            offset: start,
        }
    }

    /// The centre of position `i`'s field along the axis (the recurrence's `start` for `i = 0`).
    pub fn centre(&self, i: usize) -> f64 {
        self.offset as f64 + (i * self.stride) as f64 + (self.size as f64 - 1.0) / 2.0
    }

    /// The input pixels `start..end` position `i` sees on an axis of `len` pixels (clipped to
    /// the image).
    pub fn span(&self, i: usize, len: usize) -> (usize, usize) {
        let start = self.offset + (i * self.stride) as i64;
        let end = start + self.size as i64;
        (
            start.clamp(0, len as i64) as usize,
            end.clamp(0, len as i64) as usize,
        )
    }

    /// The input box `(y0, x0, y1, x1)` (half-open: rows `y0..y1`, columns `x0..x1`) that output
    /// position `(y, x)` sees on an image of `height` x `width` pixels, clipped to the image.
    pub fn input_box(
        &self,
        (y, x): (usize, usize),
        (height, width): (usize, usize),
    ) -> (usize, usize, usize, usize) {
        let (y0, y1) = self.span(y, height);
        let (x0, x1) = self.span(x, width);
        (y0, x0, y1, x1)
    }
}

impl Default for ReceptiveField {
    fn default() -> Self {
        Self::INPUT
    }
}

/// A stage of a body: a child whose output is a natural place to look (the last one at each
/// resolution, and for a ResNet the stem), with its geometry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// The index of the child whose output this is ([`crate::Body::forward_children`]).
    pub child: usize,
    /// Its name in the architecture (`stem`, `layer1`, `features.3`).
    pub name: String,
    /// The channels of its output.
    pub channels: usize,
    /// The receptive field of its positions in the input image.
    pub field: ReceptiveField,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resnet_stem_follows_the_recurrence() {
        // conv 7x7 stride 2 pad 3, then max pool 3x3 stride 2 pad 1.
        let conv = ReceptiveField::INPUT.window(7, 2, 3, 1);
        assert_eq!((conv.size, conv.stride, conv.offset), (7, 2, -3));
        assert_eq!(conv.centre(0), 0.0);
        let pool = conv.window(3, 2, 1, 1);
        assert_eq!((pool.size, pool.stride, pool.offset), (11, 4, -5));
        assert_eq!(pool.centre(1), 4.0);
        assert_eq!(pool.input_box((0, 2), (32, 32)), (0, 3, 6, 14));
        let dilated = ReceptiveField::INPUT.window(3, 1, 2, 2);
        assert_eq!((dilated.size, dilated.offset), (5, -2));
    }

    #[test]
    fn union_covers_both_branches() {
        let main = ReceptiveField::INPUT.window(3, 2, 1, 1).window(3, 1, 1, 1);
        let short = ReceptiveField::INPUT.window(1, 2, 0, 1);
        let u = main.union(short);
        assert_eq!(u, main);
        assert_eq!((u.size, u.stride, u.offset), (7, 2, -3));
    }
}
