//! Reading and writing named tensors as safetensors, atomically.

use crate::error::{Error, Result};
use candle_core::{Device, Tensor};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, flushed to disk,
/// then renamed over the target. A crash leaves either the old file or the new one, never half.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let file_name = path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// Saves named tensors (and string metadata) to a safetensors file, atomically.
pub fn save_safetensors(
    path: &Path,
    tensors: &[(String, Tensor)],
    metadata: Option<HashMap<String, String>>,
) -> Result<()> {
    let bytes = safetensors::serialize(tensors.iter().map(|(k, v)| (k.as_str(), v)), metadata)
        .map_err(|e| Error::BadTensor {
            name: path.display().to_string(),
            reason: format!("cannot serialise: {e}"),
        })?;
    write_atomic(path, &bytes).map_err(|e| Error::BadTensor {
        name: path.display().to_string(),
        reason: format!("cannot write: {e}"),
    })
}

/// Loads every tensor of a safetensors file onto `device`, with the file's metadata.
pub fn load_safetensors(
    path: &Path,
    device: &Device,
) -> Result<(HashMap<String, Tensor>, HashMap<String, String>)> {
    let bad = |reason: String| Error::BadTensor {
        name: path.display().to_string(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| bad(format!("cannot read: {e}")))?;
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes)
        .map_err(|e| bad(format!("not a safetensors file: {e}")))?;
    let metadata = meta.metadata().clone().unwrap_or_default();
    let tensors = candle_core::safetensors::load_buffer(&bytes, device)
        .map_err(|e| bad(format!("cannot load tensors: {e}")))?;
    Ok((tensors, metadata))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_metadata() {
        let dir = std::env::temp_dir().join(format!("fc-core-io-{}", std::process::id()));
        let path = dir.join("t.safetensors");
        let t = Tensor::new(&[[1f32, 2.], [3., 4.]], &Device::Cpu).unwrap();
        let meta = HashMap::from([("epoch".to_string(), "3".to_string())]);
        save_safetensors(&path, &[("w".into(), t)], Some(meta)).unwrap();
        let (ts, meta) = load_safetensors(&path, &Device::Cpu).unwrap();
        assert_eq!(
            ts["w"].to_vec2::<f32>().unwrap(),
            vec![vec![1., 2.], vec![3., 4.]]
        );
        assert_eq!(meta["epoch"], "3");
        // No temporary file is left beside it.
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn garbage_file_is_a_named_error() {
        let path =
            std::env::temp_dir().join(format!("fc-core-bad-{}.safetensors", std::process::id()));
        std::fs::write(&path, b"not tensors").unwrap();
        let err = load_safetensors(&path, &Device::Cpu)
            .unwrap_err()
            .to_string();
        assert!(err.contains("fc-core-bad"), "{err}");
        std::fs::remove_file(path).unwrap();
    }
}
