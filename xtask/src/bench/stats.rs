//! Median and spread of a benchmark's timed runs.

/// The median, smallest and largest of a row's timed runs.
#[derive(Clone, Copy, Debug)]
pub struct Stats {
    /// The median run.
    pub median: f64,
    /// The smallest run.
    pub min: f64,
    /// The largest run.
    pub max: f64,
}

impl Stats {
    /// The statistics of `v` (at least one value).
    pub fn of(mut v: Vec<f64>) -> Option<Self> {
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        Some(Stats {
            median: v[v.len() / 2],
            min: v[0],
            max: v[v.len() - 1],
        })
    }
}

/// One side's measurement of a row: its runs' statistics and the process's peak resident memory.
#[derive(Clone, Copy, Debug)]
pub struct Measured {
    /// The timed runs.
    pub stats: Stats,
    /// Peak resident memory of the process that ran it (MiB), when known.
    pub peak_mib: Option<f64>,
}

/// The process's peak resident memory so far (`VmHWM`), in MiB.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_spread() {
        let s = Stats::of(vec![3.0, 1.0, 2.0, 10.0, 5.0]).unwrap();
        assert_eq!((s.median, s.min, s.max), (3.0, 1.0, 10.0));
        assert!(Stats::of(vec![]).is_none());
    }
}
