//! The transforms of Winograd's F(4x4, 3x3): 6x6 input tiles that overlap by two, each giving a
//! 4x4 block of the output through 36 products, 2.25 multiplications per output where
//! F(2x2, 3x3) takes 4 and im2col's product 9. With Lavin and Gray's points (0, ±1, ±2, ∞):
//!
//! ```text
//! Bᵀ = [4  0 -5  0 1 0]   G = [ 1/4     0    0 ]   Aᵀ = [1 1  1 1  1 0]
//!      [0 -4 -4  1 1 0]       [-1/6 -1/6 -1/6 ]        [0 1 -1 2 -2 0]
//!      [0  4 -4 -1 1 0]       [-1/6  1/6 -1/6 ]        [0 1  1 4  4 0]
//!      [0 -2 -1  2 1 0]       [1/24 1/12  1/6 ]        [0 1 -1 8 -8 1]
//!      [0  2 -1 -2 1 0]       [1/24 -1/12 1/6 ]
//!      [0  4  0 -5 0 1]       [  0     0    1 ]
//! ```
//!
//! The transforms themselves are in `super::tiles`.

use super::tiles::Points;

/// F(4x4, 3x3)'s points.
pub(super) struct F4;

impl Points<6, 4> for F4 {
    #[inline(always)]
    fn bt<const W: usize>(d: &[[f32; W]; 6]) -> [[f32; W]; 6] {
        let mut o = [[0f32; W]; 6];
        for l in 0..W {
            let (d0, d1, d2, d3, d4, d5) = (d[0][l], d[1][l], d[2][l], d[3][l], d[4][l], d[5][l]);
            o[0][l] = 4.0 * d0 - 5.0 * d2 + d4;
            o[1][l] = d3 + d4 - 4.0 * (d1 + d2);
            o[2][l] = d4 - d3 + 4.0 * (d1 - d2);
            o[3][l] = d4 - d2 + 2.0 * (d3 - d1);
            o[4][l] = d4 - d2 + 2.0 * (d1 - d3);
            o[5][l] = 4.0 * d1 - 5.0 * d3 + d5;
        }
        o
    }

    #[inline(always)]
    fn at<const W: usize>(m: &[[f32; W]; 6]) -> [[f32; W]; 4] {
        let mut o = [[0f32; W]; 4];
        for l in 0..W {
            let (m0, m1, m2, m3, m4, m5) = (m[0][l], m[1][l], m[2][l], m[3][l], m[4][l], m[5][l]);
            let (s12, d12, s34, d34) = (m1 + m2, m1 - m2, m3 + m4, m3 - m4);
            o[0][l] = m0 + s12 + s34;
            o[1][l] = d12 + 2.0 * d34;
            o[2][l] = s12 + 4.0 * s34;
            o[3][l] = d12 + 8.0 * d34 + m5;
        }
        o
    }

    #[inline(always)]
    fn g<const W: usize>(g: &[[f32; W]; 3]) -> [[f32; W]; 6] {
        let mut o = [[0f32; W]; 6];
        for l in 0..W {
            let (g0, g1, g2) = (g[0][l], g[1][l], g[2][l]);
            let (a, b) = (g0 + g2, 0.25 * g0 + g2);
            o[0][l] = 0.25 * g0;
            o[1][l] = -(a + g1) / 6.0;
            o[2][l] = -(a - g1) / 6.0;
            o[3][l] = (b + 0.5 * g1) / 6.0;
            o[4][l] = (b - 0.5 * g1) / 6.0;
            o[5][l] = g2;
        }
        o
    }

    #[inline(always)]
    fn a<const W: usize>(y: &[[f32; W]; 4]) -> [[f32; W]; 6] {
        let mut o = [[0f32; W]; 6];
        for l in 0..W {
            let (y0, y1, y2, y3) = (y[0][l], y[1][l], y[2][l], y[3][l]);
            let (e, od) = (y0 + y2, y1 + y3);
            let (e4, od2) = (y0 + 4.0 * y2, 2.0 * (y1 + 4.0 * y3));
            o[0][l] = y0;
            o[1][l] = e + od;
            o[2][l] = e - od;
            o[3][l] = e4 + od2;
            o[4][l] = e4 - od2;
            o[5][l] = y3;
        }
        o
    }

    #[inline(always)]
    fn gt<const W: usize>(u: &[[f32; W]; 6]) -> [[f32; W]; 3] {
        let mut o = [[0f32; W]; 3];
        for l in 0..W {
            let (u0, u1, u2, u3, u4, u5) = (u[0][l], u[1][l], u[2][l], u[3][l], u[4][l], u[5][l]);
            let (s12, d12, s34, d34) = (u1 + u2, u2 - u1, u3 + u4, u3 - u4);
            o[0][l] = 0.25 * u0 + (0.25 * s34 - s12) / 6.0;
            o[1][l] = (d12 + 0.5 * d34) / 6.0;
            o[2][l] = (s34 - s12) / 6.0 + u5;
        }
        o
    }
}
