//! Loops compiled for AVX2 and FMA where the CPU has them, chosen at run time: the crate itself
//! targets the baseline x86-64 (4 lanes), and a closure inlined into [`fast`] is built again
//! with 8 lanes and fused multiply-adds.

/// Whether to take the AVX2 builds.
#[inline(always)]
fn avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Calls `f` compiled for AVX2 and FMA (it is inlined here).
///
/// # Safety
/// The CPU must have AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn in_avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// Calls `f`, in an AVX2 and FMA build where the CPU has them.
#[inline(always)]
pub(super) fn fast<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if avx2() {
        // SAFETY: the CPU has the features.
        return unsafe { in_avx2(f) };
    }
    f()
}
