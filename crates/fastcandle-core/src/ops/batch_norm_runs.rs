//! BatchNorm's loops over one channel's runs of cells, compiled for AVX2 and FMA where the CPU
//! has them (chosen at run time; the crate itself targets the baseline x86-64, 4 lanes), and
//! with the activation fixed at compile time so that its gate is a vector select.
//!
//! No sum is reassociated by the AVX2 builds: they add in the same order as the baseline ones,
//! so the results are the same bit for bit on every CPU.

use super::activation::Act;
use super::simd::fast;
use std::mem::MaybeUninit;

/// The activation as a constant: [`Act::Identity`], [`Act::Relu`], [`Act::Relu6`].
const IDENTITY: u8 = 0;
const RELU: u8 = 1;
const RELU6: u8 = 2;

/// The activation of `v` (NaN kept, as [`Act::apply`]).
#[inline(always)]
fn apply<const ACT: u8>(v: f32) -> f32 {
    match ACT {
        RELU if !v.is_nan() => v.max(0.0),
        RELU6 if !v.is_nan() => v.clamp(0.0, 6.0),
        _ => v,
    }
}

/// The gradient `g` through the activation whose output is `y` (as [`Act::passes`]): `g`, or
/// +0 where the gradient stops, as a bit mask so that it stays a vector operation.
#[inline(always)]
fn gate<const ACT: u8>(g: f32, y: f32) -> f32 {
    let passes = match ACT {
        RELU => y > 0.0,
        RELU6 => y > 0.0 && y < 6.0,
        _ => true,
    };
    f32::from_bits(g.to_bits() & (passes as u32).wrapping_neg())
}

/// Runs `$body` with the constant `$a` set from the [`Act`] `$act`.
macro_rules! by_act {
    ($act:expr, |$a:ident| $body:expr) => {
        match $act {
            Act::Relu => {
                const $a: u8 = RELU;
                $body
            }
            Act::Relu6 => {
                const $a: u8 = RELU6;
                $body
            }
            Act::Identity => {
                const $a: u8 = IDENTITY;
                $body
            }
        }
    };
}

/// `Σ f(a[i], b[i], c[i])` and `Σ h(a[i], b[i], c[i])` over the cells of `runs` (triples of
/// equal-length slices): in 16 f32 lanes each, flushed into f64 totals every 1,024 cells or so
/// (across runs, so that short runs such as 7x7 planes do not pay a flush each), so that long
/// channels lose no precision.
#[inline(always)]
fn lane_sums<'a>(
    runs: impl Iterator<Item = (&'a [f32], &'a [f32], &'a [f32])>,
    f: impl Fn(f32, f32, f32) -> f32,
    h: impl Fn(f32, f32, f32) -> f32,
) -> (f64, f64) {
    const LANES: usize = 16;
    const FLUSH: usize = 1024;
    let (mut tf, mut th) = (0f64, 0f64);
    let (mut af, mut ah) = ([0f32; LANES], [0f32; LANES]);
    let (mut rf, mut rh) = (0f32, 0f32);
    let mut pending = 0;
    let mut flush = |af: &mut [f32; LANES], ah: &mut [f32; LANES], rf: &mut f32, rh: &mut f32| {
        tf += af.iter().map(|&v| v as f64).sum::<f64>() + *rf as f64;
        th += ah.iter().map(|&v| v as f64).sum::<f64>() + *rh as f64;
        (*af, *ah, *rf, *rh) = ([0.0; LANES], [0.0; LANES], 0.0, 0.0);
    };
    for (a, b, c) in runs {
        for ((a, b), c) in a.chunks(FLUSH).zip(b.chunks(FLUSH)).zip(c.chunks(FLUSH)) {
            let (ac, bc, cc) = (
                a.chunks_exact(LANES),
                b.chunks_exact(LANES),
                c.chunks_exact(LANES),
            );
            for ((x, y), z) in ac
                .remainder()
                .iter()
                .zip(bc.remainder())
                .zip(cc.remainder())
            {
                rf += f(*x, *y, *z);
                rh += h(*x, *y, *z);
            }
            for ((x, y), z) in ac.zip(bc).zip(cc) {
                for l in 0..LANES {
                    af[l] += f(x[l], y[l], z[l]);
                    ah[l] += h(x[l], y[l], z[l]);
                }
            }
            pending += a.len();
            if pending >= FLUSH {
                flush(&mut af, &mut ah, &mut rf, &mut rh);
                pending = 0;
            }
        }
    }
    flush(&mut af, &mut ah, &mut rf, &mut rh);
    (tf, th)
}

/// The mean and the biased variance of the cells of `runs` (one channel's runs), in f64: the
/// sum, then the squares of the deviations from the f32 mean, corrected to the f64 mean.
pub(super) fn moments<'a>(runs: impl Iterator<Item = &'a [f32]> + Clone) -> (f32, f32) {
    fast(
        #[inline(always)]
        || {
            let m: f64 = runs.clone().map(|r| r.len() as f64).sum();
            let (sum, _) = lane_sums(runs.clone().map(|r| (r, r, r)), |v, _, _| v, |_, _, _| 0.0);
            let mean = sum / m;
            let mf = mean as f32;
            // The mean's own rounding enters only as a second-order term.
            let (mut sq, _) = lane_sums(
                runs.map(|r| (r, r, r)),
                |v, _, _| (v - mf) * (v - mf),
                |_, _, _| 0.0,
            );
            let d = mean - mf as f64;
            sq -= m * d * d;
            (mean as f32, (sq / m) as f32)
        },
    )
}

/// One run of the forward: `y = act((x - mean) · k + shift (+ identity))`, every cell written.
pub(super) fn forward_run(
    y: &mut [MaybeUninit<f32>],
    x: &[f32],
    identity: Option<&[f32]>,
    act: Act,
    (mean, k, shift): (f32, f32, f32),
) {
    fast(
        #[inline(always)]
        || {
            by_act!(act, |A| match identity {
                None => {
                    for (yv, &xv) in y.iter_mut().zip(x) {
                        yv.write(apply::<A>((xv - mean) * k + shift));
                    }
                }
                Some(id) => {
                    for ((yv, &xv), &iv) in y.iter_mut().zip(x).zip(id) {
                        yv.write(apply::<A>((xv - mean) * k + shift + iv));
                    }
                }
            })
        },
    )
}

/// `Σ dy` and `Σ dy · (x - mean)` over one channel's runs `(g, x, y)`, `dy` the incoming
/// gradient `g` gated by the activation's output `y` (`act`; `y` is not read for
/// [`Act::Identity`]).
pub(super) fn grad_sums<'a>(
    runs: impl Iterator<Item = (&'a [f32], &'a [f32], &'a [f32])>,
    act: Act,
    mean: f32,
) -> (f64, f64) {
    fast(
        #[inline(always)]
        || {
            by_act!(act, |A| lane_sums(
                runs,
                |g, _, y| gate::<A>(g, y),
                |g, x, y| gate::<A>(g, y) * (x - mean)
            ))
        },
    )
}

/// One run's input gradient `dx = k · (m · dy - Σdy - xhat · Σdy·xhat)` with
/// `xhat = (x - mean) · inv`, and where `di` is given, the gated gradient `dy` itself (a
/// residual block's identity); every cell written.
#[allow(clippy::too_many_arguments)]
pub(super) fn grad_run(
    dx: &mut [MaybeUninit<f32>],
    di: Option<&mut [MaybeUninit<f32>]>,
    g: &[f32],
    x: &[f32],
    y: Option<&[f32]>,
    act: Act,
    (mean, inv, k, m): (f32, f32, f32, f32),
    (sdy, sdyx): (f32, f32),
) {
    fast(
        #[inline(always)]
        || {
            // Without an activation `y` is not read: `g` stands in for it.
            let (y, act) = match y {
                Some(y) => (y, act),
                None => (g, Act::Identity),
            };
            by_act!(act, |A| {
                for (((d, &gv), &xv), &yv) in dx.iter_mut().zip(g).zip(x).zip(y) {
                    let xhat = (xv - mean) * inv;
                    d.write(k * (m * gate::<A>(gv, yv) - sdy - xhat * sdyx));
                }
                if let Some(di) = di {
                    for ((d, &gv), &yv) in di.iter_mut().zip(g).zip(y) {
                        d.write(gate::<A>(gv, yv));
                    }
                }
            })
        },
    )
}
