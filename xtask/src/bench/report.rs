//! The benchmark's report: a markdown table and a JSON list, one row per workload.

use super::rows::Workload;
use super::stats::Measured;
use serde_json::{Value, json};

/// One measured row: ours and, when a reference Python was at hand, theirs.
pub struct Row {
    /// What was measured.
    pub workload: Workload,
    /// Our figures.
    pub ours: Measured,
    /// The reference's figures.
    pub theirs: Option<Measured>,
}

impl Row {
    /// Ours over theirs for rates, theirs over ours for times: above 1 means ours is better.
    pub fn ratio(&self) -> Option<f64> {
        let t = self.theirs?.stats.median;
        let o = self.ours.stats.median;
        Some(if self.workload.higher_is_better() {
            o / t
        } else {
            t / o
        })
    }

    /// The row as a JSON object: `name`, `ours`, `pytorch` or `fastai`, `unit`, `ratio` and
    /// the peak memory of each side in MiB.
    pub fn json(&self) -> Value {
        let reference = self.workload.reference();
        let mut v = json!({
            "name": self.workload.name(),
            "ours": self.ours.stats.median,
            "ours_min": self.ours.stats.min,
            "ours_max": self.ours.stats.max,
            "reference": reference,
            "unit": self.workload.unit(),
            "ratio": self.ratio(),
            "ours_peak_mib": self.ours.peak_mib,
        });
        v[reference] = json!(self.theirs.map(|t| t.stats.median));
        v[format!("{reference}_peak_mib")] = json!(self.theirs.and_then(|t| t.peak_mib));
        if let Some(t) = self.theirs {
            v[format!("{reference}_min")] = json!(t.stats.min);
            v[format!("{reference}_max")] = json!(t.stats.max);
        }
        v
    }
}

/// The markdown table of `rows`.
pub fn markdown(rows: &[Row]) -> String {
    let mut md = String::from(
        "| name | ours | spread | reference | spread | ratio | unit | peak MiB ours | peak MiB reference |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    let mib = |m: Option<f64>| m.map(|x| format!("{x:.0}")).unwrap_or("-".into());
    for r in rows {
        let s = r.ours.stats;
        let (theirs, spread) = match r.theirs {
            Some(t) => (
                format!("{} {:.4}", r.workload.reference(), t.stats.median),
                format!("{:.4}-{:.4}", t.stats.min, t.stats.max),
            ),
            None => ("-".into(), "-".into()),
        };
        md.push_str(&format!(
            "| {} | {:.4} | {:.4}-{:.4} | {} | {} | {} | {} | {} | {} |\n",
            r.workload.name(),
            s.median,
            s.min,
            s.max,
            theirs,
            spread,
            r.ratio().map(|x| format!("{x:.2}x")).unwrap_or("-".into()),
            r.workload.unit(),
            mib(r.ours.peak_mib),
            mib(r.theirs.and_then(|t| t.peak_mib)),
        ));
    }
    md.push_str(
        "\nratio: above 1 means ours is better (ours over theirs for rates, theirs over ours for \
         times). Peak MiB: the peak resident memory of the process that ran the row (each row \
         runs in a process of its own on both sides).\n",
    );
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::rows::{Mode, Precision, Workload};
    use crate::bench::stats::Stats;

    fn measured(median: f64, peak: f64) -> Measured {
        Measured {
            stats: Stats::of(vec![median]).unwrap(),
            peak_mib: Some(peak),
        }
    }

    #[test]
    fn ratio_is_higher_when_ours_is_better() {
        let rate = Row {
            workload: Workload::Model {
                arch: "resnet34",
                mode: Mode::Train,
                size: 224,
                bs: 8,
                precision: Precision::F32,
            },
            ours: measured(8.0, 900.0),
            theirs: Some(measured(10.0, 1200.0)),
        };
        assert!((rate.ratio().unwrap() - 0.8).abs() < 1e-12);
        let time = Row {
            workload: Workload::TabularEpoch,
            ours: measured(1.0, 100.0),
            theirs: Some(measured(6.0, 400.0)),
        };
        assert!((time.ratio().unwrap() - 6.0).abs() < 1e-12);
        let j = rate.json();
        assert_eq!(j["name"], "resnet34_train_224_bs8");
        assert_eq!(j["pytorch"], 10.0);
        assert_eq!(j["pytorch_peak_mib"], 1200.0);
        assert_eq!(j["ours_peak_mib"], 900.0);
        assert_eq!(time.json()["fastai"], 6.0);
        assert!(markdown(&[rate, time]).contains("| resnet34_train_224_bs8 | 8.0000 |"));
    }
}
