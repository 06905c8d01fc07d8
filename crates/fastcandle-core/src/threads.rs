//! One thread pool for all of fastcandle's CPU work.
//!
//! candle, gemm and our own ops parallelise with rayon. Run from an ordinary thread, every
//! parallel op hands its work to the pool's workers while the calling thread waits, and idle
//! workers spin: on a small machine the training thread and the spinning workers then fight
//! for the cores. [`run_in_pool`] runs a whole training loop on a worker of the one pool, so
//! that the loop's thread is itself one of the pool's threads and there are never more busy
//! threads than cores.

use std::sync::OnceLock;

static POOL: OnceLock<rayon::ThreadPool> = OnceLock::new();

/// The number of threads: `RAYON_NUM_THREADS` when set, else the cores this process may use.
pub fn num_threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
}

/// The pool, built on first use with [`num_threads`] threads.
pub fn pool() -> &'static rayon::ThreadPool {
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(num_threads())
            .thread_name(|i| format!("fastcandle-{i}"))
            .build()
            .expect("building the fastcandle thread pool")
    })
}

/// Runs `f` on the pool (directly when already on one of its threads).
pub fn run_in_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    let pool = pool();
    if pool.current_thread_index().is_some() {
        f()
    } else {
        pool.install(f)
    }
}

/// Sets `RAYON_NUM_THREADS` to [`num_threads`], and `CANDLE_BARRIER_POOL_SPIN_LIMIT` to 0,
/// each when it is not set.
///
/// candle asks for its thread count on every matrix multiply and, without the first variable,
/// re-reads `/proc/cpuinfo` each time, which costs more than a small multiply.
///
/// candle runs its own elementwise ops (the sums of gradients in its backward) on a pool of
/// its own, whose threads spin 25,000 times after each op before they sleep. Our kernels run on
/// [`pool`] meanwhile, so a spinning thread takes a core they need: on two cores it was 5% of a
/// ResNet34 training step's samples at 128 pixels, and sleeping at once makes the step about
/// 4% faster.
///
/// Call it first thing in `main`, before any other thread starts.
///
/// # Safety
/// As [`std::env::set_var`]: no other thread may read or write the environment meanwhile.
pub unsafe fn set_thread_env() {
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        let n = num_threads();
        // SAFETY: the caller guarantees no other thread touches the environment.
        unsafe { std::env::set_var("RAYON_NUM_THREADS", n.to_string()) };
    }
    if std::env::var_os("CANDLE_BARRIER_POOL_SPIN_LIMIT").is_none() {
        // SAFETY: as above.
        unsafe { std::env::set_var("CANDLE_BARRIER_POOL_SPIN_LIMIT", "0") };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_runs_on_a_pool_thread() {
        let idx = run_in_pool(|| pool().current_thread_index());
        assert!(idx.is_some());
        // Nested calls run in place.
        let nested = run_in_pool(|| run_in_pool(rayon::current_thread_index));
        assert!(nested.is_some());
        assert!(num_threads() >= 1);
    }
}
