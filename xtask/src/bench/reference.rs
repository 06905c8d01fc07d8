//! The reference side of a row: PyTorch or fastai, run by a script in `scripts/bench/` with the
//! Python given to `cargo xtask bench`, with as many threads as ours.

use super::rows::Workload;
use super::stats::{Measured, Stats};
use super::worker::{adult_data, animal_shapes};
use anyhow::{Context, Result};
use std::process::Command;

/// The Python to measure the references with: `python` (default `python3`) when it can import
/// fastai and torch, unless `--no-reference`.
pub fn python(python: Option<&str>, skip: bool) -> Option<String> {
    if skip {
        return None;
    }
    let py = python.unwrap_or("python3").to_string();
    let ok = Command::new(&py)
        .args(["-c", "import fastai, torch, torchvision"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    ok.then_some(py)
}

/// Reads `{"values": [...], "peak_mib": ...}` as printed by a worker or a reference script.
pub fn parse_measured(stdout: &[u8], row: &str) -> Result<Measured> {
    let v: serde_json::Value =
        serde_json::from_slice(stdout).with_context(|| format!("reading the figures of {row}"))?;
    let values: Vec<f64> = v["values"]
        .as_array()
        .with_context(|| format!("no `values` in the figures of {row}"))?
        .iter()
        .filter_map(|x| x.as_f64())
        .collect();
    let stats = Stats::of(values).with_context(|| format!("no figures for {row}"))?;
    Ok(Measured {
        stats,
        peak_mib: v["peak_mib"].as_f64(),
    })
}

/// Measures `w` with the reference framework, `runs` timed runs after a warm-up, on `threads`
/// threads and on `device` (`cpu`, `cuda`, ...). `None` when the row has no reference.
pub fn measure(
    py: &str,
    w: &Workload,
    runs: usize,
    threads: usize,
    device: &str,
) -> Result<Option<Measured>> {
    // PyTorch's names: `cuda:N` as ours, Metal is `mps`.
    let device = match device {
        d if d.starts_with("cuda") => d,
        d if d.starts_with("metal") => "mps",
        _ => "cpu",
    };
    let (script, args): (&str, Vec<String>) = match w {
        Workload::TabularEpoch => (
            "fastai_tabular.py",
            vec![
                "--data".into(),
                adult_data().display().to_string(),
                "--runs".into(),
                runs.to_string(),
                "--threads".into(),
                threads.to_string(),
            ],
        ),
        Workload::ImageLoader => {
            let Some(folder) = animal_shapes() else {
                return Ok(None);
            };
            (
                "fastai_loader.py",
                vec![folder.display().to_string(), "2".into(), "json".into()],
            )
        }
        Workload::Model {
            arch,
            mode,
            size,
            bs,
            precision,
        } => (
            "torch_vision_step.py",
            [
                arch.to_string(),
                mode.to_string(),
                size.to_string(),
                bs.to_string(),
                runs.to_string(),
                threads.to_string(),
                device.to_string(),
                precision.arg().to_string(),
            ]
            .into(),
        ),
    };
    let path = crate::workspace_root().join("scripts/bench").join(script);
    let out = Command::new(py)
        .arg(&path)
        .args(&args)
        .output()
        .with_context(|| format!("running {}", path.display()))?;
    anyhow::ensure!(
        out.status.success(),
        "{} failed: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    parse_measured(&out.stdout, &w.name()).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_scripts_figures() {
        let m = parse_measured(br#"{"values": [2.0, 1.0, 3.0], "peak_mib": 512.5}"#, "r").unwrap();
        assert_eq!((m.stats.median, m.stats.min, m.stats.max), (2.0, 1.0, 3.0));
        assert_eq!(m.peak_mib, Some(512.5));
        let err = parse_measured(br#"{"values": []}"#, "resnet34_train_224_bs8").unwrap_err();
        assert!(err.to_string().contains("resnet34_train_224_bs8"), "{err}");
        assert!(parse_measured(b"not json", "r").is_err());
    }
}
