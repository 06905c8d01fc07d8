//! The one matrix product under the convolutions: the gemm crate called on raw strided
//! buffers, so that products read and write the convolutions' own layouts with no copy.

use gemm::Parallelism;

/// `dst[m, n] (+)= lhs[m, k] · rhs[k, n]`, each matrix given by its row and column strides.
///
/// # Safety
/// Every pointer must be valid for the elements its strides and sizes reach, and `dst` must not
/// overlap `lhs` or `rhs`.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn matmul(
    (m, n, k): (usize, usize, usize),
    dst: *mut f32,
    (dst_rs, dst_cs): (isize, isize),
    accumulate: bool,
    lhs: *const f32,
    (lhs_rs, lhs_cs): (isize, isize),
    rhs: *const f32,
    (rhs_rs, rhs_cs): (isize, isize),
    par: Parallelism,
) {
    // SAFETY: forwarded from the caller.
    unsafe {
        gemm::gemm(
            m, n, k, dst, dst_cs, dst_rs, accumulate, lhs, lhs_cs, lhs_rs, rhs, rhs_cs, rhs_rs,
            1.0, 1.0, false, false, false, par,
        )
    }
}

/// A product spread over the whole pool (`parallel`), or on the calling thread alone.
pub(crate) fn parallelism(parallel: bool) -> Parallelism {
    if parallel {
        Parallelism::Rayon(rayon::current_num_threads())
    } else {
        Parallelism::None
    }
}
