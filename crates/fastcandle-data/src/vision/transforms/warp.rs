//! Writing one image into its slot of the batch: resampled by the drawn affine map and
//! perspective warp (bilinear, as PyTorch's `grid_sample` with `align_corners=True`), and
//! mapped through the value table (lighting, `/255`, normalisation), channels first.
//!
//! In training, a `Resize` or `RandomResizedCrop` that enlarges its window can be folded into
//! the same resampling (a [`CropPlan`] given to [`render`]): each output pixel then samples the
//! decoded image once, where fastai interpolates twice (Pillow's resize, then `grid_sample`).
//! This is what fastai does itself when it merges its GPU transforms "to only do the
//! interpolation step once".

use super::augment::AugParams;
use super::lighting::ValueTable;
use super::resample::{CropPlan, PadMode};
use crate::vision::items::image::Image;

/// Writes `img` into `out` (3 planes, channels first), each value through `table`. The output
/// is `img` itself, or the window `plan` of it resized (bilinear, edges clamped, as Pillow
/// enlarges), moved as `aug` says. A grey image fills the three planes alike.
pub(crate) fn render(
    img: &Image,
    plan: Option<&CropPlan>,
    aug: Option<&AugParams>,
    table: &ValueTable,
    out: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has the features `render_avx2` is compiled for.
        return unsafe { render_avx2(img, plan, aug, table, out) };
    }
    render_body(img, plan, aug, table, out, None)
}

/// [`render_body`] compiled for AVX2: the coordinate loops vectorise and the sampler takes 8
/// pixels at a time with gathers.
///
/// # Safety
/// The CPU must have AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn render_avx2(
    img: &Image,
    plan: Option<&CropPlan>,
    aug: Option<&AugParams>,
    table: &ValueTable,
    out: &mut [f32],
) {
    if !resamples(plan, aug) || aug.is_some_and(|a| a.pad_mode == PadMode::Zeros) {
        return render_body(img, plan, aug, table, out, None);
    }
    // Gathers read 4-byte words: a copy of the pixels with slack after the last one.
    let mut padded = Vec::with_capacity(img.data().len() + 4);
    padded.extend_from_slice(img.data());
    padded.extend_from_slice(&[0; 4]);
    render_body(img, plan, aug, table, out, Some(&padded))
}

pub(crate) fn resamples(plan: Option<&CropPlan>, aug: Option<&AugParams>) -> bool {
    plan.is_some() || aug.is_some_and(|a| a.moves_pixels())
}

/// The work of [`render`]. `padded` (the pixels followed by 4 spare bytes) is given only by
/// [`render_avx2`], and turns on the AVX2 sampler.
#[inline(always)]
fn render_body(
    img: &Image,
    plan: Option<&CropPlan>,
    aug: Option<&AugParams>,
    table: &ValueTable,
    out: &mut [f32],
    padded: Option<&[u8]>,
) {
    let (w, h) = plan.map_or((img.width(), img.height()), |p| (p.out_width, p.out_height));
    let plane = w * h;
    debug_assert_eq!(out.len(), 3 * plane);
    let (out0, rest) = out.split_at_mut(plane);
    let (out1, out2) = rest.split_at_mut(plane);
    let c = img.channels();
    if !resamples(plan, aug) {
        write_row(img.data(), c, table, out0, out1, out2);
        return;
    }
    let identity = AugParams::identity();
    let aug = aug.unwrap_or(&identity);
    let grid = Grid::new(aug, plan, w, h);
    let mut px = vec![0f32; w];
    let mut py = vec![0f32; w];
    let mut vals = vec![0u8; w * c];
    for i in 0..h {
        grid.row(i, &mut px, &mut py);
        #[allow(unused_mut)]
        let mut done = 0;
        #[cfg(target_arch = "x86_64")]
        if let Some(data) = padded {
            let (iw, ih) = (img.width(), img.height());
            // SAFETY: `padded` comes only from `render_avx2`, run on a CPU with AVX2; it holds
            // the image's pixels and 4 more bytes; `vals` holds `w * c` bytes.
            done = unsafe {
                if c == 1 {
                    avx2::sample_row::<1>(data, iw, ih, &px, &py, &mut vals)
                } else {
                    avx2::sample_row::<3>(data, iw, ih, &px, &py, &mut vals)
                }
            };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = padded;
        let (px, py, v) = (&px[done..], &py[done..], &mut vals[done * c..]);
        match (aug.pad_mode, c) {
            (PadMode::Zeros, 1) => sample_row_zeros::<1>(img, px, py, v),
            (PadMode::Zeros, _) => sample_row_zeros::<3>(img, px, py, v),
            (_, 1) => sample_row::<1>(img, px, py, v),
            (_, _) => sample_row::<3>(img, px, py, v),
        }
        let row = i * w..(i + 1) * w;
        write_row(
            &vals,
            c,
            table,
            &mut out0[row.clone()],
            &mut out1[row.clone()],
            &mut out2[row],
        );
    }
}

/// Maps 8-bit pixels (`c` channels, interleaved) through the table into the three planes.
#[inline(always)]
fn write_row(
    vals: &[u8],
    c: usize,
    table: &ValueTable,
    o0: &mut [f32],
    o1: &mut [f32],
    o2: &mut [f32],
) {
    for (ch, dst) in [o0, o1, o2].into_iter().enumerate() {
        let t = &table.0[ch];
        if c == 1 {
            for (o, &v) in dst.iter_mut().zip(vals) {
                *o = t[v as usize];
            }
        } else {
            for (o, v) in dst.iter_mut().zip(vals.chunks_exact(3)) {
                *o = t[v[ch] as usize];
            }
        }
    }
}

/// PyTorch's `reflect_coordinates` with `align_corners=True` then its clip: `x` folded into
/// `[0, max]`; the identity there. Without branches, so that a row of them vectorises.
#[inline(always)]
fn reflect(x: f32, max: f32) -> f32 {
    if max <= 0.0 {
        return 0.0;
    }
    let x = x.abs();
    let flips = (x / max).floor();
    let extra = x - flips * max;
    // flips odd: mirrored.
    let odd = flips - 2.0 * (flips * 0.5).floor();
    (extra + odd * (max - 2.0 * extra)).clamp(0.0, max)
}

/// The enlarging resize folded into the sampling: output pixel `x` of the resized window
/// samples source `x0 + (x + 0.5) * scale - 0.5`, clamped to the window's edge pixels.
#[derive(Clone, Copy)]
struct Window {
    left: f32,
    scale: f32,
    lo: f32,
    hi: f32,
}

impl Window {
    fn new(start: i64, len: usize, out: usize) -> Self {
        let left = start as f32;
        Self {
            left,
            scale: len as f32 / out as f32,
            lo: left,
            hi: left + (len - 1) as f32,
        }
    }

    #[inline(always)]
    fn map(&self, x: f32) -> f32 {
        (self.left + (x + 0.5) * self.scale - 0.5).clamp(self.lo, self.hi)
    }
}

/// The source pixel of every output pixel, a row at a time: the affine map (then the
/// perspective) in `[-1, 1]` coordinates, turned into output pixels (align-corners), folded
/// back into the image (reflection or border), then through the resize window if any.
pub(crate) struct Grid {
    m: [f64; 6],
    warp: Option<[f64; 8]>,
    pad: PadMode,
    dxo: f64,
    dyo: f64,
    xmax: f32,
    ymax: f32,
    window: Option<(Window, Window)>,
}

impl Grid {
    #[inline(always)]
    pub(crate) fn new(aug: &AugParams, plan: Option<&CropPlan>, w: usize, h: usize) -> Self {
        let step = |n: usize| if n > 1 { 2.0 / (n - 1) as f64 } else { 0.0 };
        Self {
            m: aug.affine.unwrap_or([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]),
            warp: aug.warp,
            pad: aug.pad_mode,
            dxo: step(w),
            dyo: step(h),
            xmax: (w - 1) as f32,
            ymax: (h - 1) as f32,
            window: plan.map(|p| {
                (
                    Window::new(p.left, p.width, p.out_width),
                    Window::new(p.top, p.height, p.out_height),
                )
            }),
        }
    }

    /// Fills `px`, `py` with the source coordinates (in pixels) of output row `i`.
    #[inline(always)]
    pub(crate) fn row(&self, i: usize, px: &mut [f32], py: &mut [f32]) {
        let m = &self.m;
        let yo = -1.0 + i as f64 * self.dyo;
        // Along a row the affine map is linear in the column: x' = xa0 + j * dxa.
        let (xa0, dxa) = (-m[0] + m[1] * yo + m[2], m[0] * self.dxo);
        let (ya0, dya) = (-m[3] + m[4] * yo + m[5], m[3] * self.dxo);
        let (sx, sy) = (0.5 * self.xmax, 0.5 * self.ymax);
        match self.warp {
            None => {
                // Pixels: (x' + 1) / 2 * (w - 1), still linear in the column.
                let (x0, dx) = (((xa0 + 1.0) as f32) * sx, (dxa as f32) * sx);
                let (y0, dy) = (((ya0 + 1.0) as f32) * sy, (dya as f32) * sy);
                for (j, (x, y)) in px.iter_mut().zip(py.iter_mut()).enumerate() {
                    let jf = j as f32;
                    *x = x0 + jf * dx;
                    *y = y0 + jf * dy;
                }
            }
            Some(c) => {
                // So are the perspective's numerators and denominator.
                let lin = |a: f64, b: f64, k: f64| {
                    ((a * xa0 + b * ya0 + k) as f32, (a * dxa + b * dya) as f32)
                };
                let (nx0, dnx) = lin(c[0], c[1], c[2]);
                let (ny0, dny) = lin(c[3], c[4], c[5]);
                let (z0, dz) = lin(c[6], c[7], 1.0);
                let (ax0, adx) = (xa0 as f32, dxa as f32);
                let (ay0, ady) = (ya0 as f32, dya as f32);
                for (j, (x, y)) in px.iter_mut().zip(py.iter_mut()).enumerate() {
                    let jf = j as f32;
                    let z = z0 + jf * dz;
                    // fastai keeps the affine coordinates where the denominator vanishes.
                    let ok = z.abs() > 1e-7;
                    let xn = if ok {
                        (nx0 + jf * dnx) / z
                    } else {
                        ax0 + jf * adx
                    };
                    let yn = if ok {
                        (ny0 + jf * dny) / z
                    } else {
                        ay0 + jf * ady
                    };
                    *x = (xn + 1.0) * sx;
                    *y = (yn + 1.0) * sy;
                }
            }
        }
        let (xmax, ymax) = (self.xmax, self.ymax);
        match self.pad {
            PadMode::Reflection => fold(px, py, |x| reflect(x, xmax), |y| reflect(y, ymax)),
            PadMode::Border => fold(px, py, |x| x.clamp(0.0, xmax), |y| y.clamp(0.0, ymax)),
            PadMode::Zeros => {}
        }
        if let Some((wx, wy)) = self.window {
            fold(px, py, |x| wx.map(x), |y| wy.map(y));
        }
    }
}

#[inline(always)]
fn fold(px: &mut [f32], py: &mut [f32], fx: impl Fn(f32) -> f32, fy: impl Fn(f32) -> f32) {
    for x in px.iter_mut() {
        *x = fx(*x);
    }
    for y in py.iter_mut() {
        *y = fy(*y);
    }
}

/// Bilinear samples of the `C`-channel image at `(px[j], py[j])` (inside the image, or
/// clamped into it), rounded to 8 bits, into `vals` (interleaved). Weights are in 1/256 of a
/// pixel.
#[inline(always)]
fn sample_row<const C: usize>(img: &Image, px: &[f32], py: &[f32], vals: &mut [u8]) {
    let (w, data) = (img.width(), img.data());
    let (wmax, hmax) = (img.width() - 1, img.height() - 1);
    let (xmax, ymax) = (wmax as f32, hmax as f32);
    for ((&x, &y), v) in px.iter().zip(py).zip(vals.chunks_exact_mut(C)) {
        let (x, y) = (x.clamp(0.0, xmax), y.clamp(0.0, ymax));
        let (xf, yf) = ((x * 256.0) as i32 as u32, (y * 256.0) as i32 as u32);
        let (x0, y0) = (
            ((xf >> 8) as usize).min(wmax),
            ((yf >> 8) as usize).min(hmax),
        );
        let (fx, fy) = (xf & 255, yf & 255);
        // At the last column or row the second tap has weight 0: reuse the first.
        let x1 = (x0 + 1).min(wmax);
        let y1 = (y0 + 1).min(hmax);
        for (ch, o) in v.iter_mut().enumerate() {
            let at = |x: usize, y: usize| data[(y * w + x) * C + ch] as u32;
            let (a, b, c, d) = (at(x0, y0), at(x1, y0), at(x0, y1), at(x1, y1));
            let top = a * (256 - fx) + b * fx;
            let bot = c * (256 - fx) + d * fx;
            *o = ((top * (256 - fy) + bot * fy + (1 << 15)) >> 16) as u8;
        }
    }
}

/// As [`sample_row`], with taps outside the image counting as 0.
fn sample_row_zeros<const C: usize>(img: &Image, px: &[f32], py: &[f32], vals: &mut [u8]) {
    let (xmax, ymax) = ((img.width() - 1) as f32, (img.height() - 1) as f32);
    for ((&x, &y), v) in px.iter().zip(py).zip(vals.chunks_exact_mut(C)) {
        let mut f = [0f32; C];
        sample_zeros::<C>(img.data(), img.width(), x, y, xmax, ymax, &mut f);
        for (o, f) in v.iter_mut().zip(f) {
            *o = (f + 0.5).clamp(0.0, 255.0) as u8;
        }
    }
}

/// Bilinear sample with zero padding: taps outside the image count as 0.
fn sample_zeros<const C: usize>(
    data: &[u8],
    w: usize,
    px: f32,
    py: f32,
    xmax: f32,
    ymax: f32,
    v: &mut [f32; C],
) {
    let (x0, y0) = (px.floor(), py.floor());
    let (fx, fy) = (px - x0, py - y0);
    *v = [0.0; C];
    for (dy, wy) in [(0.0, 1.0 - fy), (1.0, fy)] {
        for (dx, wx) in [(0.0, 1.0 - fx), (1.0, fx)] {
            let (x, y) = (x0 + dx, y0 + dy);
            if (0.0..=xmax).contains(&x) && (0.0..=ymax).contains(&y) {
                let i = (y as usize * w + x as usize) * C;
                for (ch, out) in v.iter_mut().enumerate() {
                    *out += wx * wy * data[i + ch] as f32;
                }
            }
        }
    }
}

/// The sampler of [`sample_row`], 8 pixels at a time with AVX2 gathers. It computes exactly
/// what the scalar code does (the same `f32` operations, the same fixed-point weights).
#[cfg(target_arch = "x86_64")]
// The arithmetic intrinsics are safe to call from these functions on newer compilers but not on
// the oldest we support: the bodies are unsafe blocks, unused on newer compilers.
#[allow(unused_unsafe)]
mod avx2 {
    use std::arch::x86_64::*;

    /// Byte `K` of each gathered word.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn byte<const K: i32>(words: __m256i) -> __m256i {
        unsafe {
            let shifted = match K {
                0 => words,
                1 => _mm256_srli_epi32::<8>(words),
                _ => _mm256_srli_epi32::<16>(words),
            };
            _mm256_and_si256(shifted, _mm256_set1_epi32(255))
        }
    }

    /// The byte offset of pixel `row + x` in a `C`-channel image.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn offset<const C: usize>(row: __m256i, x: __m256i) -> __m256i {
        unsafe {
            let i = _mm256_add_epi32(row, x);
            if C == 1 {
                i
            } else {
                _mm256_add_epi32(i, _mm256_add_epi32(i, i))
            }
        }
    }

    /// The taps and weights of a bilinear sample.
    struct Taps {
        a: __m256i,
        b: __m256i,
        c: __m256i,
        d: __m256i,
    }

    /// `((a (256 - fx) + b fx) (256 - fy) + (c (256 - fx) + d fx) fy + 2^15) >> 16`.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn lerp(t: Taps, fx: __m256i, fy: __m256i) -> __m256i {
        unsafe {
            let c256 = _mm256_set1_epi32(256);
            let (gx, gy) = (_mm256_sub_epi32(c256, fx), _mm256_sub_epi32(c256, fy));
            let top = _mm256_add_epi32(_mm256_mullo_epi32(t.a, gx), _mm256_mullo_epi32(t.b, fx));
            let bot = _mm256_add_epi32(_mm256_mullo_epi32(t.c, gx), _mm256_mullo_epi32(t.d, fx));
            let v = _mm256_add_epi32(_mm256_mullo_epi32(top, gy), _mm256_mullo_epi32(bot, fy));
            _mm256_srli_epi32::<16>(_mm256_add_epi32(v, _mm256_set1_epi32(1 << 15)))
        }
    }

    /// Samples the first `8 * (n / 8)` of the `n` points `(px, py)` of a `C`-channel `w x h`
    /// image into `vals` and returns how many it did.
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA; `data` must hold the `w * h * C` pixels followed by at
    /// least 3 more bytes (a gather reads a 4-byte word at each tap); `vals` must hold
    /// `n * C` bytes.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn sample_row<const C: usize>(
        data: &[u8],
        w: usize,
        h: usize,
        px: &[f32],
        py: &[f32],
        vals: &mut [u8],
    ) -> usize {
        unsafe {
            let n = px.len().min(py.len()) / 8 * 8;
            debug_assert!(data.len() >= w * h * C + 3 && vals.len() >= n * C);
            let (wmax, hmax) = ((w - 1) as i32, (h - 1) as i32);
            let (vxmax, vymax) = (_mm256_set1_ps(wmax as f32), _mm256_set1_ps(hmax as f32));
            let (iwmax, ihmax) = (_mm256_set1_epi32(wmax), _mm256_set1_epi32(hmax));
            let zero = _mm256_setzero_ps();
            let vw = _mm256_set1_epi32(w as i32);
            let (one, c255) = (_mm256_set1_epi32(1), _mm256_set1_epi32(255));
            let scale = _mm256_set1_ps(256.0);
            let base = data.as_ptr() as *const i32;
            let mut lanes = [[0i32; 8]; 3];
            for j in (0..n).step_by(8) {
                // j + 8 <= n <= px.len(), py.len().
                let x = _mm256_loadu_ps(px.as_ptr().add(j));
                let y = _mm256_loadu_ps(py.as_ptr().add(j));
                // The scalar clamp (a NaN lane becomes a bound; the scalar gives 0: both in
                // range, and the grid never makes NaN).
                let x = _mm256_max_ps(_mm256_min_ps(x, vxmax), zero);
                let y = _mm256_max_ps(_mm256_min_ps(y, vymax), zero);
                // In [0, max]: truncation is the scalar `as i32`.
                let xf = _mm256_cvttps_epi32(_mm256_mul_ps(x, scale));
                let yf = _mm256_cvttps_epi32(_mm256_mul_ps(y, scale));
                let x0 = _mm256_min_epi32(_mm256_srli_epi32::<8>(xf), iwmax);
                let y0 = _mm256_min_epi32(_mm256_srli_epi32::<8>(yf), ihmax);
                let (fx, fy) = (_mm256_and_si256(xf, c255), _mm256_and_si256(yf, c255));
                let x1 = _mm256_min_epi32(_mm256_add_epi32(x0, one), iwmax);
                let y1 = _mm256_min_epi32(_mm256_add_epi32(y0, one), ihmax);
                let (r0, r1) = (_mm256_mullo_epi32(y0, vw), _mm256_mullo_epi32(y1, vw));
                // Every index is at most (h - 1) * w + w - 1 pixels in (the `min`s above), and
                // the word read there ends at most 3 bytes past the pixels.
                if C == 1 {
                    // A grey pixel's right neighbour is the next byte of the same word. At the
                    // last column that byte belongs to the next row (or the slack), but its
                    // weight fx is 0 there.
                    let top = _mm256_i32gather_epi32::<1>(base, offset::<C>(r0, x0));
                    let bot = _mm256_i32gather_epi32::<1>(base, offset::<C>(r1, x0));
                    let t = Taps {
                        a: byte::<0>(top),
                        b: byte::<1>(top),
                        c: byte::<0>(bot),
                        d: byte::<1>(bot),
                    };
                    _mm256_storeu_si256(lanes[0].as_mut_ptr() as *mut __m256i, lerp(t, fx, fy));
                } else {
                    let a = _mm256_i32gather_epi32::<1>(base, offset::<C>(r0, x0));
                    let b = _mm256_i32gather_epi32::<1>(base, offset::<C>(r0, x1));
                    let c = _mm256_i32gather_epi32::<1>(base, offset::<C>(r1, x0));
                    let d = _mm256_i32gather_epi32::<1>(base, offset::<C>(r1, x1));
                    let r = lerp(
                        Taps {
                            a: byte::<0>(a),
                            b: byte::<0>(b),
                            c: byte::<0>(c),
                            d: byte::<0>(d),
                        },
                        fx,
                        fy,
                    );
                    let g = lerp(
                        Taps {
                            a: byte::<1>(a),
                            b: byte::<1>(b),
                            c: byte::<1>(c),
                            d: byte::<1>(d),
                        },
                        fx,
                        fy,
                    );
                    let bl = lerp(
                        Taps {
                            a: byte::<2>(a),
                            b: byte::<2>(b),
                            c: byte::<2>(c),
                            d: byte::<2>(d),
                        },
                        fx,
                        fy,
                    );
                    _mm256_storeu_si256(lanes[0].as_mut_ptr() as *mut __m256i, r);
                    _mm256_storeu_si256(lanes[1].as_mut_ptr() as *mut __m256i, g);
                    _mm256_storeu_si256(lanes[2].as_mut_ptr() as *mut __m256i, bl);
                }
                let out = &mut vals[j * C..(j + 8) * C];
                for (p, o) in out.chunks_exact_mut(C).enumerate() {
                    for (k, o) in o.iter_mut().enumerate() {
                        *o = lanes[k][p] as u8;
                    }
                }
            }
            n
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain() -> ValueTable {
        // Identity values (0..255) to read pixels back exactly.
        let mut t = [[0f32; 256]; 3];
        for row in t.iter_mut() {
            for (v, o) in row.iter_mut().enumerate() {
                *o = v as f32;
            }
        }
        ValueTable(t)
    }

    fn render_vec(img: &Image, aug: Option<&AugParams>) -> Vec<f32> {
        let mut out = vec![0f32; 3 * img.width() * img.height()];
        render(img, None, aug, &plain(), &mut out);
        out
    }

    #[test]
    fn flip_mirrors_the_image() {
        let img = Image::from_fn(4, 3, |x, y| [(10 * x + y) as u8, 100 + x as u8, 200]);
        let flipped = render_vec(&img, Some(&AugParams::flip()));
        let mirror = Image::from_fn(4, 3, |x, y| [(10 * (3 - x) + y) as u8, 103 - x as u8, 200]);
        assert_eq!(flipped, render_vec(&mirror, None));
        // Channels first: plane 0 holds red, row by row.
        assert_eq!(&flipped[..4], &[30.0, 20.0, 10.0, 0.0]);
        let grey = Image::new(3, 1, 1, vec![1, 2, 3]).unwrap();
        assert_eq!(
            render_vec(&grey, Some(&AugParams::flip())),
            [3.0, 2.0, 1.0, 3.0, 2.0, 1.0, 3.0, 2.0, 1.0]
        );
    }

    #[test]
    fn zoom_out_reflects_and_shift_interpolates() {
        // One row 0 10 20 30 40 and x' = 3x: the outputs sample x' = -3, -1.5, 0, 1.5, 3, that
        // is pixels (x' + 1) / 2 * 4 = -4, -1, 2, 5, 8, which reflect to 4, 1, 2, 3, 0.
        let img = Image::new(5, 1, 1, vec![0, 10, 20, 30, 40]).unwrap();
        let mut a = AugParams::identity();
        a.affine = Some([3.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
        let out = render_vec(&img, Some(&a));
        assert_eq!(&out[..5], &[40.0, 10.0, 20.0, 30.0, 0.0]);
        // A shift of a quarter pixel: 0.25 * 10 = 2.5 -> rounds to 3 (half up).
        a.affine = Some([1.0, 0.0, 0.125, 0.0, 1.0, 0.0]);
        let out = render_vec(&img, Some(&a));
        assert_eq!(&out[..5], &[3.0, 13.0, 23.0, 33.0, 38.0]);
        a.pad_mode = PadMode::Zeros;
        a.affine = Some([1.0, 0.0, 0.5, 0.0, 1.0, 0.0]);
        let out = render_vec(&img, Some(&a));
        assert_eq!(&out[..5], &[10.0, 20.0, 30.0, 40.0, 0.0]);
    }

    #[test]
    fn reflect_folds_like_pytorch() {
        assert_eq!(reflect(-1.0, 4.0), 1.0);
        assert_eq!(reflect(5.0, 4.0), 3.0);
        assert_eq!(reflect(9.0, 4.0), 1.0);
        assert_eq!(reflect(3.0, 0.0), 0.0);
    }

    #[test]
    fn the_simd_sampler_matches_the_scalar_one_exactly() {
        use crate::vision::aug_transforms;
        use fastcandle_core::rng::rng;
        use rand::Rng;
        let mut g = rng(7);
        let aug = aug_transforms()
            .max_warp(0.4)
            .max_rotate(40.0)
            .zoom(0.6, 1.3);
        for (w, h, c) in [
            (37, 29, 1),
            (37, 29, 3),
            (16, 16, 1),
            (8, 5, 3),
            (1, 9, 1),
            (13, 1, 3),
        ] {
            let data: Vec<u8> = (0..w * h * c).map(|_| g.random()).collect();
            let img = Image::new(w, h, c, data).unwrap();
            for k in 0..20 {
                let mut p = aug.draw(w, h, &mut g);
                p.pad_mode = [PadMode::Reflection, PadMode::Border][k % 2];
                // Half of the time through an enlarging window of the image.
                let plan = (k % 4 > 1).then(|| CropPlan {
                    left: (w / 4) as i64,
                    top: (h / 3) as i64,
                    width: (w / 2).max(1),
                    height: (h / 2).max(1),
                    out_width: 3 * w / 2 + 1,
                    out_height: h + 2,
                });
                let n = plan.map_or(3 * w * h, |p| 3 * p.out_width * p.out_height);
                let table = plain();
                let mut fast = vec![0f32; n];
                let mut slow = vec![0f32; n];
                render(&img, plan.as_ref(), Some(&p), &table, &mut fast);
                render_body(&img, plan.as_ref(), Some(&p), &table, &mut slow, None);
                assert_eq!(fast, slow, "{w}x{h}x{c} {p:?} {plan:?}");
            }
        }
    }

    #[test]
    fn a_window_resized_in_the_sampler_matches_pillows_resize() {
        use crate::vision::resample;
        use crate::vision::{Interpolation, aug_transforms};
        use fastcandle_core::rng::rng;
        // A smooth 12x10 RGB image; the window is its 8x6 middle, enlarged to 20x15.
        let img = Image::from_fn(12, 10, |x, y| {
            [(20 * x) as u8, (25 * y) as u8, (10 * (x + y)) as u8]
        });
        let plan = CropPlan {
            left: 2,
            top: 2,
            width: 8,
            height: 6,
            out_width: 20,
            out_height: 15,
        };
        let two_step = plan
            .apply(&img, Interpolation::Bilinear, PadMode::Reflection)
            .unwrap();
        let table = plain();
        let mut fused = vec![0f32; 3 * 20 * 15];
        render(&img, Some(&plan), None, &table, &mut fused);
        let max = fastcandle_testutil::max_abs_diff(&fused, &render_vec(&two_step, None));
        assert!(max <= 1.0, "{max}");
        // With an augmentation, one resampling stays close to two (the second blurs a little).
        let p = aug_transforms().draw(20, 15, &mut rng(3));
        render(&img, Some(&plan), Some(&p), &table, &mut fused);
        let twice = render_vec(
            &resample(&two_step, 20, 15, Interpolation::Bilinear).unwrap(),
            Some(&p),
        );
        let mean = fused
            .iter()
            .zip(&twice)
            .map(|(a, b)| (a - b).abs())
            .sum::<f32>()
            / fused.len() as f32;
        assert!(mean < 3.0, "{mean}");
    }
}
