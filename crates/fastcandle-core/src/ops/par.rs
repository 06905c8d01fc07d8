//! When a CPU loop is worth splitting across threads.

/// Elements below which a parallel loop is not worth waking another thread for.
pub(crate) const PAR_MIN: usize = 1 << 16;

/// The smallest number of items of `item_len` elements each that one parallel task should take,
/// so that every task walks at least [`PAR_MIN`] elements.
pub(crate) fn min_len(item_len: usize) -> usize {
    (PAR_MIN / item_len.max(1)).max(1)
}
