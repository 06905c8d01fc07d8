use super::Layer;
use crate::receptive::ReceptiveField;
use candle_core::Tensor;
use fastcandle_core::Result;

/// TensorFlow's `"SAME"` padding of `x` (`[N, C, H, W]`) for a square `kernel` of `stride`: the
/// zeros that make the output `ceil(H / stride)` by `ceil(W / stride)`, the extra cell of an odd
/// total at the bottom and right (timm's `pad_same`). Checkpoints ported from TensorFlow
/// (EfficientNet's originals, timm's `tf_*`) were trained with it; PyTorch's symmetric
/// `padding = (k - 1) / 2` shifts their stride-2 windows by one cell.
pub fn pad_same(x: &Tensor, kernel: usize, stride: usize) -> Result<Tensor> {
    let total = |n: usize| {
        let out = n.div_ceil(stride.max(1));
        ((out.max(1) - 1) * stride + kernel).saturating_sub(n)
    };
    let (ph, pw) = (total(x.dim(2)?), total(x.dim(3)?));
    if ph == 0 && pw == 0 {
        return Ok(x.clone());
    }
    Ok(x.pad_with_zeros(2, ph / 2, ph - ph / 2)?
        .pad_with_zeros(3, pw / 2, pw - pw / 2)?)
}

/// [`pad_same`] as a layer, put before a convolution built without padding.
#[derive(Debug, Clone, Copy)]
pub struct SamePad {
    /// The side of the convolution's kernel.
    pub kernel: usize,
    /// The convolution's stride.
    pub stride: usize,
}

impl Layer for SamePad {
    fn forward_t(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
        pad_same(x, self.kernel, self.stride)
    }

    /// The padding at the top and left, which is what moves the windows: `(k - stride) / 2`
    /// cells where the size divides by the stride (at most one less than PyTorch's).
    fn receptive_field(&self, input: ReceptiveField) -> ReceptiveField {
        input.window(1, 1, self.kernel.saturating_sub(self.stride) / 2, 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn output_is_the_ceiling_of_size_over_stride() {
        for (h, w, k, s) in [(7, 8, 3, 2), (9, 6, 5, 2), (5, 6, 3, 1), (224, 224, 3, 2)] {
            let x = Tensor::ones((1, 1, h, w), candle_core::DType::F32, &Device::Cpu).unwrap();
            let y = pad_same(&x, k, s).unwrap();
            let (ph, pw) = (y.dim(2).unwrap(), y.dim(3).unwrap());
            assert_eq!((ph - k) / s + 1, h.div_ceil(s), "{h}x{w} k{k} s{s}");
            assert_eq!((pw - k) / s + 1, w.div_ceil(s), "{h}x{w} k{k} s{s}");
        }
        // 224, k 3, s 2: one extra cell, at the bottom (TensorFlow's, not PyTorch's, side).
        let x = Tensor::ones((1, 1, 4, 4), candle_core::DType::F32, &Device::Cpu).unwrap();
        let y: Vec<Vec<f32>> = pad_same(&x, 3, 2)
            .unwrap()
            .squeeze(0)
            .unwrap()
            .squeeze(0)
            .unwrap()
            .to_vec2()
            .unwrap();
        assert_eq!(y.len(), 5);
        assert_eq!(y[0][0], 1.0);
        assert_eq!(y[4][4], 0.0);
    }
}
