//! When a CPU loop is worth splitting across threads.

/// Elements below which a parallel loop is not worth waking another thread for.
pub(crate) const PAR_MIN: usize = 1 << 16;

/// The smallest number of items of `item_len` elements each that one parallel task should take,
/// so that every task walks at least [`PAR_MIN`] elements.
pub(crate) fn min_len(item_len: usize) -> usize {
    (PAR_MIN / item_len.max(1)).max(1)
}

/// Runs `f(range, state, parallel)` over the samples of a batch of `n`, in runs of up to
/// `group` consecutive samples, and returns what `finish` makes of each state (per-thread
/// partial sums, such as a weight gradient), `finish` running on the thread that used the state
/// (so that thread-local buffers go back to it).
///
/// With `t` threads in the pool, the first `n - n % t` samples are cut into `t` contiguous
/// shares, one per thread, each with a state of its own from `make` and `parallel` false: one
/// share's work on one thread, with no synchronisation inside it, which on two cores is up to a
/// third faster for a convolution's products than spreading each product over the pool. The
/// remaining samples (all of them for a batch smaller than the pool) run with `parallel` true,
/// sharing one more state. A run never crosses from one share into another or into the
/// left-over samples. The results come back in sample order, so that sums over them are the
/// same from run to run.
pub(crate) fn by_group<S, R: Send>(
    n: usize,
    group: usize,
    make: impl Fn() -> S + Sync,
    f: impl Fn(std::ops::Range<usize>, &mut S, bool) + Sync,
    finish: impl Fn(S) -> R + Sync,
) -> Vec<R> {
    use rayon::prelude::*;
    let group = group.max(1);
    let runs = |range: std::ops::Range<usize>, s: &mut S, parallel: bool| {
        let mut b = range.start;
        while b < range.end {
            let e = (b + group).min(range.end);
            f(b..e, s, parallel);
            b = e;
        }
    };
    let t = rayon::current_num_threads().max(1);
    let per = if t > 1 { n / t } else { 0 };
    let split = per * t;
    let mut results: Vec<R> = if per > 0 {
        (0..t)
            .into_par_iter()
            .map(|i| {
                let mut s = make();
                runs(i * per..(i + 1) * per, &mut s, false);
                finish(s)
            })
            .collect()
    } else {
        Vec::new()
    };
    if split < n {
        let mut s = make();
        runs(split..n, &mut s, true);
        results.push(finish(s));
    }
    results
}

/// A raw pointer shared by the tasks that write disjoint parts of one buffer.
#[derive(Clone, Copy)]
pub(crate) struct SendPtr(pub(crate) *mut f32);
// SAFETY: the tasks sharing it write disjoint cells.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}

impl SendPtr {
    /// The pointer (a method, so that closures capture the `SendPtr` and not its field).
    pub(crate) fn get(self) -> *mut f32 {
        self.0
    }
}

/// Runs `product(dst, accumulate)` into a thread's part of a sum (see [`sum_parts`]): on the
/// part's first use into `len` fresh cells with `accumulate` false, so that the part is never
/// zeroed, and adding into those cells after.
///
/// # Safety
/// `product` must write every one of the `len` cells at `dst` (add to each when `accumulate`).
pub(crate) unsafe fn into_part(
    part: &mut Vec<f32>,
    len: usize,
    product: impl FnOnce(*mut f32, bool),
) {
    let first = part.is_empty();
    if first {
        part.reserve_exact(len);
    } else {
        debug_assert_eq!(part.len(), len);
    }
    product(part.as_mut_ptr(), !first);
    if first {
        // SAFETY: the caller guarantees that the product wrote every cell.
        unsafe { part.set_len(len) };
    }
}

/// Adds `parts` (equal lengths, or empty for a thread that had no work and left its part
/// unmade) cell by cell into the first, in order; the cells are shared among the pool.
pub(crate) fn sum_parts(parts: impl IntoIterator<Item = Vec<f32>>) -> Vec<f32> {
    use rayon::prelude::*;
    let mut parts = parts.into_iter().filter(|p| !p.is_empty());
    let mut acc = parts.next().unwrap_or_default();
    for p in parts {
        debug_assert_eq!(acc.len(), p.len());
        acc.par_chunks_mut(PAR_MIN)
            .zip(p.par_chunks(PAR_MIN))
            .for_each(|(a, v)| {
                for (a, v) in a.iter_mut().zip(v) {
                    *a += v;
                }
            });
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_runs_once_and_states_come_back_in_order() {
        let t = rayon::current_num_threads();
        for n in [0, 1, t, 2 * t + 1, 7] {
            let states = by_group(
                n,
                1,
                Vec::new,
                |r, s: &mut Vec<(usize, bool)>, par| s.push((r.start, par)),
                |s| s,
            );
            let seen: Vec<usize> = states.iter().flatten().map(|&(b, _)| b).collect();
            assert_eq!(seen, (0..n).collect::<Vec<_>>(), "n {n}");
            // Only the samples left over after the even split run across the pool.
            let per = if t > 1 { n / t } else { 0 };
            for &(b, par) in states.iter().flatten() {
                assert_eq!(par, b >= per * t, "n {n} b {b}");
            }
        }
        // Groups stay inside one thread's share and cover every sample once, in order.
        for (n, group) in [(9, 2), (2 * t + 1, 3), (1, 4), (4 * t, 2)] {
            let per = if t > 1 { n / t } else { 0 };
            let states = by_group(
                n,
                group,
                Vec::new,
                |r, s: &mut Vec<std::ops::Range<usize>>, _| s.push(r),
                |s| s,
            );
            let runs: Vec<_> = states.into_iter().flatten().collect();
            let seen: Vec<usize> = runs.iter().cloned().flatten().collect();
            assert_eq!(seen, (0..n).collect::<Vec<_>>(), "n {n} group {group}");
            for r in &runs {
                assert!(r.len() <= group && !r.is_empty());
                let share = |b: usize| if b < per * t { b / per.max(1) } else { t };
                assert_eq!(share(r.start), share(r.end - 1), "run {r:?} crosses shares");
            }
        }
        assert_eq!(sum_parts([vec![1.0, 2.0], vec![3.0, 4.0]]), [4.0, 6.0]);
        assert!(sum_parts(Vec::<Vec<f32>>::new()).is_empty());
    }
}
