//! fastai's `aug_transforms`: flip (or dihedral), rotate, zoom and perspective warp merged into
//! one resampling per image, then brightness and contrast in logit space.
//!
//! fastai runs these on the batch tensor on the GPU. Here they run per image on the CPU, inside
//! the loader's workers, while the batch is written (see [`super::warp`]): an 8-bit image is
//! resampled once and its values go through a 256-entry table that holds the lighting change,
//! the scaling to `0..1` and the normalisation. The random draws follow fastai's, per image.

use super::resample::PadMode;
use fastcandle_core::SeededRng;
use rand::Rng;

/// fastai's `aug_transforms(...)` settings; [`aug_transforms`] gives fastai's defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AugTransforms {
    /// Flip left-right with probability 0.5 (fastai: true).
    pub do_flip: bool,
    /// Use the 8 dihedral symmetries instead of the flip (fastai: false).
    pub flip_vert: bool,
    /// The largest rotation in degrees (fastai: 10).
    pub max_rotate: f64,
    /// The smallest zoom (fastai: 1).
    pub min_zoom: f64,
    /// The largest zoom (fastai: 1.1).
    pub max_zoom: f64,
    /// The largest brightness and contrast change (fastai: 0.2).
    pub max_lighting: f64,
    /// The largest perspective warp (fastai: 0.2).
    pub max_warp: f64,
    /// The probability of each of rotate, zoom and warp (fastai: 0.75).
    pub p_affine: f64,
    /// The probability of each of brightness and contrast (fastai: 0.75).
    pub p_lighting: f64,
    /// How the area brought in from outside the image is filled (fastai: reflection).
    pub pad_mode: PadMode,
}

/// fastai's `aug_transforms()` with its defaults: flip p=0.5, rotate up to 10 degrees, zoom up
/// to 1.1, lighting 0.2, warp 0.2, `p_affine = p_lighting = 0.75`, reflection padding.
pub fn aug_transforms() -> AugTransforms {
    AugTransforms::default()
}

impl Default for AugTransforms {
    fn default() -> Self {
        Self {
            do_flip: true,
            flip_vert: false,
            max_rotate: 10.0,
            min_zoom: 1.0,
            max_zoom: 1.1,
            max_lighting: 0.2,
            max_warp: 0.2,
            p_affine: 0.75,
            p_lighting: 0.75,
            pad_mode: PadMode::Reflection,
        }
    }
}

impl AugTransforms {
    /// fastai's `mult`: scales `max_rotate`, `max_lighting` and `max_warp`.
    pub fn mult(mut self, mult: f64) -> Self {
        self.max_rotate *= mult;
        self.max_lighting *= mult;
        self.max_warp *= mult;
        self
    }

    /// Sets `do_flip`.
    pub fn do_flip(mut self, do_flip: bool) -> Self {
        self.do_flip = do_flip;
        self
    }

    /// Sets `flip_vert`.
    pub fn flip_vert(mut self, flip_vert: bool) -> Self {
        self.flip_vert = flip_vert;
        self
    }

    /// Sets `max_rotate`.
    pub fn max_rotate(mut self, degrees: f64) -> Self {
        self.max_rotate = degrees;
        self
    }

    /// Sets `min_zoom` and `max_zoom`.
    pub fn zoom(mut self, min_zoom: f64, max_zoom: f64) -> Self {
        self.min_zoom = min_zoom;
        self.max_zoom = max_zoom;
        self
    }

    /// Sets `max_lighting`.
    pub fn max_lighting(mut self, max_lighting: f64) -> Self {
        self.max_lighting = max_lighting;
        self
    }

    /// Sets `max_warp`.
    pub fn max_warp(mut self, max_warp: f64) -> Self {
        self.max_warp = max_warp;
        self
    }

    /// Sets `p_affine`.
    pub fn p_affine(mut self, p: f64) -> Self {
        self.p_affine = p;
        self
    }

    /// Sets `p_lighting`.
    pub fn p_lighting(mut self, p: f64) -> Self {
        self.p_lighting = p;
        self
    }

    /// Sets the padding mode.
    pub fn pad_mode(mut self, pad_mode: PadMode) -> Self {
        self.pad_mode = pad_mode;
        self
    }

    /// Draws the augmentation of one `width x height` image, in fastai's order (flip, rotate,
    /// zoom, warp, brightness, contrast). Every draw is made whether or not its transform fires,
    /// so that each item's stream stays aligned.
    pub fn draw(&self, width: usize, height: usize, rng: &mut SeededRng) -> AugParams {
        let mut m = IDENTITY;
        if self.do_flip && !self.flip_vert {
            let flip = rng.random_bool(0.5);
            m = matmul(
                &m,
                &[if flip { -1.0 } else { 1.0 }, 0.0, 0.0, 0.0, 1.0, 0.0],
            );
        } else if self.flip_vert {
            let k = rng.random_range(0..8usize);
            let k = if rng.random_bool(0.5) { k } else { 0 };
            m = matmul(&m, &dihedral(k));
        }
        if self.max_rotate > 0.0 {
            let deg = uniform(rng, -self.max_rotate, self.max_rotate);
            let deg = masked(rng, deg, self.p_affine, 0.0);
            let (s, c) = deg.to_radians().sin_cos();
            m = matmul(&m, &[c, s, 0.0, -s, c, 0.0]);
        }
        if self.min_zoom < 1.0 || self.max_zoom > 1.0 {
            let z = uniform(rng, self.min_zoom, self.max_zoom);
            let s = 1.0 / masked(rng, z, self.p_affine, 1.0);
            let (col, row) = (rng.random::<f64>(), rng.random::<f64>());
            let (cx, cy) = ((1.0 - s) * (2.0 * col - 1.0), (1.0 - s) * (2.0 * row - 1.0));
            m = matmul(&m, &[s, 0.0, cx, 0.0, s, cy]);
        }
        // fastai's _prepare_mat: rotations stay rotations on a non-square image.
        let (h, w) = (height as f64, width as f64);
        m[1] *= h / w;
        m[3] *= w / h;
        let mut warp = None;
        if self.max_warp > 0.0 {
            let x = uniform(rng, -self.max_warp, self.max_warp);
            let x = masked(rng, x, self.p_affine, 0.0);
            let y = uniform(rng, -self.max_warp, self.max_warp);
            let y = masked(rng, y, self.p_affine, 0.0);
            if x != 0.0 || y != 0.0 {
                warp = Some(perspective(x, y));
            }
        }
        let (mut brightness, mut contrast) = (0.5, 1.0);
        if self.max_lighting > 0.0 {
            let l = self.max_lighting;
            let b = uniform(rng, 0.5 * (1.0 - l), 0.5 * (1.0 + l));
            brightness = masked(rng, b, self.p_lighting, 0.5);
            let c = uniform(rng, (1.0 - l).ln(), -(1.0 - l).ln()).exp();
            contrast = masked(rng, c, self.p_lighting, 1.0);
        }
        AugParams {
            affine: (m != IDENTITY).then_some(m),
            warp,
            brightness,
            contrast,
            pad_mode: self.pad_mode,
        }
    }
}

/// The augmentation drawn for one image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AugParams {
    /// The affine map from output to input coordinates in `[-1, 1]` (align-corners), row-major
    /// `[a, b, c, d, e, f]`: `x' = a x + b y + c`, `y' = d x + e y + f`; `None` for the
    /// identity.
    pub affine: Option<[f64; 6]>,
    /// The perspective warp applied after the affine map, `[a, b, c, d, e, f, g, h]`:
    /// `x'' = (a x' + b y' + c) / (g x' + h y' + 1)`, and so for `y''` with `d, e, f`.
    pub warp: Option<[f64; 8]>,
    /// fastai's brightness `change` (0.5 leaves the image as it is).
    pub brightness: f64,
    /// fastai's contrast `change` (1 leaves the image as it is).
    pub contrast: f64,
    /// How the area brought in from outside the image is filled.
    pub pad_mode: PadMode,
}

impl AugParams {
    /// No change at all.
    pub fn identity() -> Self {
        Self {
            affine: None,
            warp: None,
            brightness: 0.5,
            contrast: 1.0,
            pad_mode: PadMode::Reflection,
        }
    }

    /// Only a left-right flip (for tests and pictures).
    pub fn flip() -> Self {
        Self {
            affine: Some([-1.0, 0.0, 0.0, 0.0, 1.0, 0.0]),
            ..Self::identity()
        }
    }

    /// Whether the pixels move.
    pub fn moves_pixels(&self) -> bool {
        self.affine.is_some() || self.warp.is_some()
    }

    /// Whether the values change.
    pub fn changes_lighting(&self) -> bool {
        self.brightness != 0.5 || self.contrast != 1.0
    }
}

const IDENTITY: [f64; 6] = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];

fn uniform(rng: &mut SeededRng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.random::<f64>()
}

/// fastai's `mask_tensor`: `x` with probability `p`, else `neutral` (a draw is made either way).
fn masked(rng: &mut SeededRng, x: f64, p: f64, neutral: f64) -> f64 {
    if rng.random::<f64>() < p { x } else { neutral }
}

/// `a @ b` for affine maps stored as the top two rows of 3x3 matrices.
fn matmul(a: &[f64; 6], b: &[f64; 6]) -> [f64; 6] {
    [
        a[0] * b[0] + a[1] * b[3],
        a[0] * b[1] + a[1] * b[4],
        a[0] * b[2] + a[1] * b[5] + a[2],
        a[3] * b[0] + a[4] * b[3],
        a[3] * b[1] + a[4] * b[4],
        a[3] * b[2] + a[4] * b[5] + a[5],
    ]
}

/// fastai's `dihedral_mat` for symmetry `k` in `0..8`.
fn dihedral(k: usize) -> [f64; 6] {
    let xs = [1., -1., 1., -1., -1., 1., 1., -1.][k];
    let ys = [1., 1., -1., 1., -1., -1., 1., -1.][k];
    let m0 = [1., 1., 1., 0., 1., 0., 0., 0.][k];
    let m1 = [0., 0., 0., 1., 0., 1., 1., 1.][k];
    [xs * m0, xs * m1, 0.0, ys * m1, ys * m0, 0.0]
}

/// fastai's `_WarpCoord`: the perspective map taking the corners moved by `(x_t, y_t)` back to
/// the corners, solved as fastai's `find_coeffs(orig_pts, targ_pts)`.
fn perspective(x_t: f64, y_t: f64) -> [f64; 8] {
    let orig = [[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]];
    let (x, y) = (x_t, y_t);
    let targ = [
        [-1.0 - y, -1.0 - x],
        [-1.0 + y, 1.0 + x],
        [1.0 + y, -1.0 + x],
        [1.0 - y, 1.0 - x],
    ];
    let mut a = [[0.0f64; 9]; 8];
    for i in 0..4 {
        let ([p1x, p1y], [p2x, p2y]) = (orig[i], targ[i]);
        a[2 * i] = [p2x, p2y, 1.0, 0.0, 0.0, 0.0, -p1x * p2x, -p1x * p2y, p1x];
        a[2 * i + 1] = [0.0, 0.0, 0.0, p2x, p2y, 1.0, -p1y * p2x, -p1y * p2y, p1y];
    }
    solve8(a)
}

/// Solves an 8x8 system given as an augmented matrix (Gaussian elimination, partial pivoting).
fn solve8(mut a: [[f64; 9]; 8]) -> [f64; 8] {
    for col in 0..8 {
        let pivot = (col..8)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .unwrap_or(col);
        a.swap(col, pivot);
        let p = a[col][col];
        if p.abs() < 1e-12 {
            // Degenerate corners (a warp of magnitude 1 or more): no warp, as fastai falls back.
            return [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0];
        }
        let pivot_row = a[col];
        for (r, row) in a.iter_mut().enumerate() {
            if r != col {
                let f = row[col] / p;
                for (x, &pv) in row.iter_mut().zip(&pivot_row).skip(col) {
                    *x -= f * pv;
                }
            }
        }
    }
    std::array::from_fn(|i| a[i][8] / a[i][i])
}

#[cfg(test)]
mod tests {
    use super::*;
    use fastcandle_core::rng::rng;

    fn apply_persp(c: &[f64; 8], x: f64, y: f64) -> (f64, f64) {
        let z = c[6] * x + c[7] * y + 1.0;
        (
            (c[0] * x + c[1] * y + c[2]) / z,
            (c[3] * x + c[4] * y + c[5]) / z,
        )
    }

    #[test]
    fn perspective_maps_moved_corners_to_corners() {
        let (xt, yt) = (0.1, -0.15);
        let c = perspective(xt, yt);
        let (x, y) = (xt, yt);
        let targ = [
            [-1.0 - y, -1.0 - x],
            [-1.0 + y, 1.0 + x],
            [1.0 + y, -1.0 + x],
            [1.0 - y, 1.0 - x],
        ];
        let orig = [[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]];
        for (t, o) in targ.iter().zip(orig) {
            let (px, py) = apply_persp(&c, t[0], t[1]);
            assert!((px - o[0]).abs() < 1e-12 && (py - o[1]).abs() < 1e-12);
        }
        let id = perspective(0.0, 0.0);
        assert_eq!(apply_persp(&id, 0.3, -0.2), (0.3, -0.2));
    }

    #[test]
    fn draws_follow_the_settings() {
        let mut g = rng(1);
        let aug = aug_transforms();
        let mut flips = 0;
        let mut lit = 0;
        for _ in 0..400 {
            let p = aug.draw(32, 32, &mut g);
            assert!((0.4..=0.6).contains(&p.brightness));
            assert!((0.8 - 1e-9..=1.25 + 1e-9).contains(&p.contrast));
            if let Some(m) = p.affine {
                // A rotation of at most 10 degrees and a zoom of at most 1.1, maybe flipped.
                let det = (m[0] * m[4] - m[1] * m[3]).abs();
                assert!((1.0 / 1.21 - 1e-9..=1.0 + 1e-9).contains(&det), "{det}");
                if m[0] < 0.0 {
                    flips += 1;
                }
            }
            if p.changes_lighting() {
                lit += 1;
            }
        }
        // Flip p = 0.5; lighting fires unless both draws miss (1 - 0.25^2).
        assert!((160..240).contains(&flips), "{flips}");
        assert!((350..=395).contains(&lit), "{lit}");
        // Nothing enabled: the identity.
        let none = AugTransforms {
            do_flip: false,
            max_rotate: 0.0,
            max_zoom: 1.0,
            max_lighting: 0.0,
            max_warp: 0.0,
            ..aug
        };
        assert_eq!(none.draw(8, 8, &mut g), AugParams::identity());
        // The same stream gives the same draw.
        assert_eq!(aug.draw(9, 7, &mut rng(5)), aug.draw(9, 7, &mut rng(5)));
    }

    #[test]
    fn dihedral_matrices_are_the_eight_symmetries() {
        let mut seen: Vec<[f64; 6]> = (0..8).map(dihedral).collect();
        seen.sort_by(|a, b| a.partial_cmp(b).unwrap());
        seen.dedup();
        assert_eq!(seen.len(), 8);
        assert_eq!(dihedral(0), IDENTITY);
    }
}
