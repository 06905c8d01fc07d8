//! The folder a run writes to, and its summary.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// `runs/<task>/<UTC timestamp>`, the default output folder of a run.
pub fn default_out(task: &str) -> PathBuf {
    PathBuf::from("runs").join(task).join(timestamp())
}

/// `YYYYMMDD-HHMMSS` in UTC.
pub fn timestamp() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Writes pretty JSON atomically.
pub fn write_json(path: &Path, value: &serde_json::Value) -> Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    fastcandle::core::tensor_io::write_atomic(path, text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

/// Writes `summary.json` and the run's page, `report.html`, into `out`, and says where unless
/// `quiet`; gives the summary back.
pub fn finish(out: &Path, summary: serde_json::Value, quiet: bool) -> Result<serde_json::Value> {
    write_json(&out.join("summary.json"), &summary)?;
    let report = crate::report::write_report(out)?;
    if !quiet {
        println!("wrote {}", out.display());
        println!("report: {}", report.display());
    }
    Ok(summary)
}

/// The last epoch's values by name (`train_loss`, `valid_loss`, the metrics) and every epoch's
/// seconds, read from the run's `history.csv`: every epoch of the run, those before a resume
/// included (the Recorder holds only the epochs this process ran).
pub fn recorded(history: &Path) -> Result<(serde_json::Map<String, serde_json::Value>, Vec<f64>)> {
    let text = std::fs::read_to_string(history)
        .with_context(|| format!("reading {}", history.display()))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let rows: Vec<Vec<f64>> = lines
        .map(|line| {
            line.split(',')
                .map(|v| {
                    v.parse::<f64>()
                        .with_context(|| format!("{}: a bad value `{v}`", history.display()))
                })
                .collect()
        })
        .collect::<Result<_>>()?;
    let time = header.len().saturating_sub(1);
    let times = rows.iter().filter_map(|r| r.get(time).copied()).collect();
    let last = rows
        .last()
        .map(|r| {
            header
                .iter()
                .zip(r)
                .take(time)
                .skip(1)
                .map(|(k, v)| (k.to_string(), serde_json::json!(v)))
                .collect()
        })
        .unwrap_or_default();
    Ok((last, times))
}

/// Scores of a labelled test set (`validate`'s `valid_loss`, metrics...) under test names
/// (`test_loss`, ...), printed as one line unless `quiet`; `what` names the set in the line.
pub fn test_scores(
    scores: Vec<(String, f64)>,
    what: &str,
    quiet: bool,
) -> serde_json::Map<String, serde_json::Value> {
    if !quiet {
        let text: Vec<String> = scores.iter().map(|(k, v)| format!("{k} {v:.6}")).collect();
        println!("test ({what}): {}", text.join(", "));
    }
    scores
        .into_iter()
        .map(|(k, v)| {
            let k = k
                .strip_prefix("valid_")
                .map(|s| format!("test_{s}"))
                .unwrap_or(k);
            (k, serde_json::json!(v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamp_has_the_right_shape() {
        let t = super::timestamp();
        assert_eq!(t.len(), 15);
        assert!(t.starts_with("20"));
        assert_eq!(&t[8..9], "-");
    }

    #[test]
    fn the_history_gives_the_last_row_and_every_time() {
        let dir = tempfile::tempdir().unwrap();
        let h = dir.path().join("history.csv");
        std::fs::write(
            &h,
            "epoch,train_loss,valid_loss,accuracy,time_s\n0,0.5,0.4,0.8,1.5\n1,0.3,0.2,0.9,2.5\n",
        )
        .unwrap();
        let (last, times) = super::recorded(&h).unwrap();
        assert_eq!(times, [1.5, 2.5]);
        assert_eq!(last.len(), 3);
        assert_eq!(
            (last["train_loss"].as_f64(), last["accuracy"].as_f64()),
            (Some(0.3), Some(0.9))
        );
        std::fs::write(&h, "epoch,train_loss,time_s\n").unwrap();
        let (last, times) = super::recorded(&h).unwrap();
        assert!(last.is_empty() && times.is_empty());
    }

    #[test]
    fn test_scores_take_test_names() {
        let m = super::test_scores(
            vec![("valid_loss".into(), 0.5), ("accuracy".into(), 0.8)],
            "x",
            true,
        );
        assert_eq!(m["test_loss"], 0.5);
        assert_eq!(m["accuracy"], 0.8);
        assert_eq!(m.len(), 2);
    }
}
