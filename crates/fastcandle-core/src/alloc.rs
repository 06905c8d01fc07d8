//! A memory allocator for training on the CPU: [`Allocator`], jemalloc that keeps freed memory
//! for reuse and zeroes by writing zeros.
//!
//! A training step allocates and frees gigabytes in blocks of tens of megabytes (activations,
//! gradients). The system allocator hands every such block back to the kernel when it is freed;
//! the next allocation then traps into the kernel on each 4 KiB page, which clears it again.
//! On MobileNetV2 at batch 64 that is several million page faults per step, more than half of
//! the step's time. jemalloc keeps freed blocks, but it zeroes a recycled block (for `calloc`,
//! which candle's `zeros` and gradient sums use) by giving its pages back to the kernel too;
//! [`Allocator`] zeroes with `memset` instead. Together they make a MobileNetV2 training step
//! about twice as fast.
//!
//! Install it in a program (the `xtask` runner and the examples do):
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOC: fastcandle_core::alloc::Allocator = fastcandle_core::alloc::Allocator;
//! ```

use std::alloc::{GlobalAlloc, Layout};
use tikv_jemallocator::Jemalloc;

/// jemalloc's settings: no separate arena for blocks over 8 MiB (its freed pages are returned to
/// the kernel at once), so that large blocks are recycled like the others.
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static MALLOC_CONF: &[u8; 21] = b"oversize_threshold:0\0";

/// jemalloc, zeroing memory with `memset` (see the [module](self) documentation).
#[derive(Debug, Clone, Copy, Default)]
pub struct Allocator;

// SAFETY: every call forwards to jemalloc with the same layout; `alloc_zeroed` writes zeros
// over exactly the `layout.size()` bytes jemalloc returned.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { Jemalloc.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        unsafe {
            let p = Jemalloc.alloc(layout);
            if !p.is_null() {
                std::ptr::write_bytes(p, 0, layout.size());
            }
            p
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { Jemalloc.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        unsafe { Jemalloc.realloc(ptr, layout, new_size) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeroed_blocks_are_zero_even_when_recycled() {
        let a = Allocator;
        let layout = Layout::from_size_align(64 << 20, 64).unwrap();
        unsafe {
            let p = a.alloc(layout);
            assert!(!p.is_null());
            std::ptr::write_bytes(p, 0xAB, layout.size());
            a.dealloc(p, layout);
            let q = a.alloc_zeroed(layout);
            assert!(!q.is_null());
            let s = std::slice::from_raw_parts(q, layout.size());
            assert!(s.iter().step_by(4093).all(|&b| b == 0));
            assert_eq!(s[layout.size() - 1], 0);
            let r = a.realloc(q, layout, layout.size() * 2);
            assert!(!r.is_null());
            assert_eq!(*r, 0);
            a.dealloc(r, Layout::from_size_align(layout.size() * 2, 64).unwrap());
        }
    }
}
