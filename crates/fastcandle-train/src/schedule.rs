//! Annealing schedules (fastai's `SchedCos`, `SchedLin`, `SchedExp`, `combine_scheds`).

/// A value as a function of the position `pos` in `[0, 1]` of a phase.
#[derive(Debug, Clone, PartialEq)]
pub enum Sched {
    /// Constant.
    No(f64),
    /// Linear from `start` to `end`.
    Lin(f64, f64),
    /// Cosine from `start` to `end`: `start + (1 + cos(pi (1 - pos))) (end - start) / 2`.
    Cos(f64, f64),
    /// Exponential from `start` to `end`: `start (end / start)^pos`.
    Exp(f64, f64),
    /// Phases of relative lengths `pcts` (summing to 1), each with its own schedule.
    Combined(Vec<f64>, Vec<Sched>),
}

impl Sched {
    /// The value at `pos`.
    pub fn at(&self, pos: f64) -> f64 {
        match self {
            Sched::No(v) => *v,
            Sched::Lin(s, e) => s + pos * (e - s),
            Sched::Cos(s, e) => {
                s + (1.0 + (std::f64::consts::PI * (1.0 - pos)).cos()) * (e - s) / 2.0
            }
            Sched::Exp(s, e) => s * (e / s).powf(pos),
            Sched::Combined(pcts, scheds) => {
                // fastai's combine_scheds: cumulative bounds, the last phase takes pos = 1.
                let mut bounds = vec![0.0];
                for p in pcts {
                    // Invariant: `bounds` starts with one element and only grows.
                    bounds.push(bounds.last().unwrap() + p);
                }
                let lim = bounds.len() - 2;
                let idx = bounds.iter().rposition(|&b| pos >= b).unwrap_or(0).min(lim);
                let width = bounds[idx + 1] - bounds[idx];
                let actual = if width > 0.0 {
                    (pos - bounds[idx]) / width
                } else {
                    1.0
                };
                scheds[idx].at(actual)
            }
        }
    }
}

/// fastai's `combined_cos(pct, start, middle, end)`: cosine from `start` to `middle` over the
/// first `pct` of the phase, then cosine from `middle` to `end`.
pub fn combined_cos(pct: f64, start: f64, middle: f64, end: f64) -> Sched {
    Sched::Combined(
        vec![pct, 1.0 - pct],
        vec![Sched::Cos(start, middle), Sched::Cos(middle, end)],
    )
}

/// fastai's `even_mults(start, stop, n)`: `n` values spread geometrically from `start` to `stop`.
pub fn even_mults(start: f64, stop: f64, n: usize) -> Vec<f64> {
    if n <= 1 {
        return vec![stop];
    }
    let step = (stop / start).powf(1.0 / (n - 1) as f64);
    (0..n).map(|i| start * step.powi(i as i32)).collect()
}

/// A learning rate for each parameter group, as fastai reads `lr`, `slice(lr)` and `slice(a, b)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LrRange {
    /// The same rate for every group.
    Single(f64),
    /// fastai's `slice(lr)`: `lr / 10` for every group but the last, which gets `lr`.
    Slice(f64),
    /// fastai's `slice(a, b)`: geometrically from `a` (first group) to `b` (last group).
    Range(f64, f64),
}

impl LrRange {
    /// The rate of each of `n` groups.
    pub fn per_group(self, n: usize) -> Vec<f64> {
        match self {
            LrRange::Single(lr) => vec![lr; n],
            LrRange::Slice(lr) => {
                let mut v = vec![lr / 10.0; n.saturating_sub(1)];
                v.push(lr);
                v
            }
            LrRange::Range(a, b) => even_mults(a, b, n),
        }
    }
}

impl From<f64> for LrRange {
    fn from(lr: f64) -> Self {
        LrRange::Single(lr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_and_combined_hit_their_ends() {
        let s = combined_cos(0.25, 1.0, 10.0, 0.5);
        assert!((s.at(0.0) - 1.0).abs() < 1e-12);
        assert!((s.at(0.25) - 10.0).abs() < 1e-12);
        assert!((s.at(1.0) - 0.5).abs() < 1e-12);
        // Half way through the first phase: the mean of start and middle.
        assert!((s.at(0.125) - 5.5).abs() < 1e-12);
        // Half way through the second phase.
        assert!((s.at(0.625) - 5.25).abs() < 1e-12);
        assert!((Sched::Exp(1e-7, 10.0).at(0.5) - 1e-7 * 1e8f64.sqrt()).abs() < 1e-12);
        assert!((Sched::Lin(2.0, 4.0).at(0.25) - 2.5).abs() < 1e-12);
    }

    #[test]
    fn lr_ranges_as_fastai() {
        assert_eq!(LrRange::Slice(1e-2).per_group(3), vec![1e-3, 1e-3, 1e-2]);
        let r = LrRange::Range(1e-5, 1e-3).per_group(3);
        assert!(
            (r[0] - 1e-5).abs() < 1e-18
                && (r[1] - 1e-4).abs() < 1e-15
                && (r[2] - 1e-3).abs() < 1e-15
        );
        assert_eq!(LrRange::Single(0.1).per_group(2), vec![0.1, 0.1]);
        assert_eq!(LrRange::Range(1e-5, 1e-3).per_group(1), vec![1e-3]);
    }
}
