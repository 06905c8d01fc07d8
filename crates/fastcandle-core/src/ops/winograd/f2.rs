//! The points of Winograd's F(2x2, 3x3): 4x4 input tiles that overlap by two, each giving a
//! 2x2 block of the output through 16 products.
//!
//! ```text
//! Bᵀ = [1  0 -1  0]   G = [  1    0    0 ]   Aᵀ = [1 1  1  0]
//!      [0  1  1  0]       [1/2  1/2  1/2 ]        [0 1 -1 -1]
//!      [0 -1  1  0]       [1/2 -1/2  1/2 ]
//!      [0  1  0 -1]       [  0    0    1 ]
//! ```

use super::tiles::Points;

/// F(2x2, 3x3)'s points.
pub(super) struct F2;

impl Points<4, 2> for F2 {
    #[inline(always)]
    fn bt<const W: usize>(d: &[[f32; W]; 4]) -> [[f32; W]; 4] {
        let mut o = [[0f32; W]; 4];
        for l in 0..W {
            let (d0, d1, d2, d3) = (d[0][l], d[1][l], d[2][l], d[3][l]);
            o[0][l] = d0 - d2;
            o[1][l] = d1 + d2;
            o[2][l] = d2 - d1;
            o[3][l] = d1 - d3;
        }
        o
    }

    #[inline(always)]
    fn at<const W: usize>(m: &[[f32; W]; 4]) -> [[f32; W]; 2] {
        let mut o = [[0f32; W]; 2];
        for l in 0..W {
            let (m0, m1, m2, m3) = (m[0][l], m[1][l], m[2][l], m[3][l]);
            o[0][l] = m0 + m1 + m2;
            o[1][l] = m1 - m2 - m3;
        }
        o
    }

    #[inline(always)]
    fn g<const W: usize>(g: &[[f32; W]; 3]) -> [[f32; W]; 4] {
        let mut o = [[0f32; W]; 4];
        for l in 0..W {
            let (g0, g1, g2) = (g[0][l], g[1][l], g[2][l]);
            o[0][l] = g0;
            o[1][l] = 0.5 * (g0 + g1 + g2);
            o[2][l] = 0.5 * (g0 - g1 + g2);
            o[3][l] = g2;
        }
        o
    }

    #[inline(always)]
    fn a<const W: usize>(y: &[[f32; W]; 2]) -> [[f32; W]; 4] {
        let mut o = [[0f32; W]; 4];
        for l in 0..W {
            let (y0, y1) = (y[0][l], y[1][l]);
            o[0][l] = y0;
            o[1][l] = y0 + y1;
            o[2][l] = y0 - y1;
            o[3][l] = -y1;
        }
        o
    }

    #[inline(always)]
    fn gt<const W: usize>(u: &[[f32; W]; 4]) -> [[f32; W]; 3] {
        let mut o = [[0f32; W]; 3];
        for l in 0..W {
            let (u0, u1, u2, u3) = (u[0][l], u[1][l], u[2][l], u[3][l]);
            o[0][l] = u0 + 0.5 * (u1 + u2);
            o[1][l] = 0.5 * (u1 - u2);
            o[2][l] = 0.5 * (u1 + u2) + u3;
        }
        o
    }
}
