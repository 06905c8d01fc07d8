//! PyTorch checkpoints (`.pth`, `.pt`, `.bin`) read without Python, in both of torch.save's
//! formats:
//!
//! - **zip** (PyTorch >= 1.6, the default since): an archive whose `<name>/data.pkl` pickles
//!   the object and whose `<name>/data/<key>` entries hold each storage's bytes;
//! - **legacy** (`_use_new_zipfile_serialization=False`, and every file before 1.6): five
//!   pickles in a row (a magic number, the protocol version, the system's information, the
//!   object, the list of storage keys), then each storage's bytes after an 8-byte element
//!   count, in the order of the keys.
//!
//! The object is a state dict, or holds one under `state_dict` or `model` (PyTorch Lightning's
//! and fastai's `Learner.save` nesting); DataParallel's `module.` prefix is removed. Tensors
//! of float32, float16, bfloat16 and float64 come back as `f32` (float64 rounded), int64 as
//! `i64`, the other integer types widened to `i64`, `uint8` and `bool` as `u8`.

use crate::pickle::{self, Value};
use candle_core::{Device, Tensor};
use fastcandle_core::{Error, Result};
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

/// The magic number that opens a legacy checkpoint.
const LEGACY_MAGIC: u128 = 0x1950a86a20f9469cfc6c;
/// The legacy format's protocol version.
const LEGACY_PROTOCOL: i64 = 1001;

/// Whether `bytes` open a zip archive (a zip-format checkpoint).
pub fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")
}

/// Whether `bytes` open a pickle (a legacy checkpoint).
pub fn is_pickle(bytes: &[u8]) -> bool {
    bytes.first() == Some(&0x80)
}

/// Every tensor of the state dict in the PyTorch checkpoint at `path`, by name, in the file's
/// order.
pub fn read_pth(path: &Path) -> Result<Vec<(String, Tensor)>> {
    let bytes = std::fs::read(path).map_err(|e| bad(path, format!("cannot read: {e}")))?;
    read_pth_bytes(&bytes).map_err(|reason| bad(path, reason))
}

fn bad(path: &Path, reason: String) -> Error {
    Error::BadTensor {
        name: path.display().to_string(),
        reason,
    }
}

/// [`read_pth`] of a checkpoint's bytes; the error is the reason alone.
pub fn read_pth_bytes(bytes: &[u8]) -> std::result::Result<Vec<(String, Tensor)>, String> {
    if is_zip(bytes) {
        read_zip(bytes)
    } else if is_pickle(bytes) {
        read_legacy(bytes)
    } else {
        Err(format!(
            "not a PyTorch checkpoint: neither a zip archive (PyTorch >= 1.6) nor a legacy \
             pickle (it starts with {:02x?})",
            &bytes[..bytes.len().min(8)]
        ))
    }
}

/// What a persistent id says of a storage.
struct StorageRef {
    key: String,
    dtype: StorageType,
    numel: usize,
    /// A legacy view of a larger storage: its offset in elements.
    view_offset: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StorageType {
    F32,
    F64,
    F16,
    Bf16,
    I64,
    I32,
    I16,
    I8,
    U8,
    Bool,
}

impl StorageType {
    fn from_class(name: &str) -> Option<Self> {
        Some(match name {
            "FloatStorage" => Self::F32,
            "DoubleStorage" => Self::F64,
            "HalfStorage" => Self::F16,
            "BFloat16Storage" => Self::Bf16,
            "LongStorage" => Self::I64,
            "IntStorage" => Self::I32,
            "ShortStorage" => Self::I16,
            "CharStorage" => Self::I8,
            "ByteStorage" => Self::U8,
            "BoolStorage" => Self::Bool,
            _ => return None,
        })
    }

    fn size(self) -> usize {
        match self {
            Self::F64 | Self::I64 => 8,
            Self::F32 | Self::I32 => 4,
            Self::F16 | Self::Bf16 | Self::I16 => 2,
            Self::I8 | Self::U8 | Self::Bool => 1,
        }
    }
}

/// A storage's persistent id: `('storage', torch.FloatStorage, key, location, numel)`, with a
/// sixth item in legacy files (`None`, or `(view_key, offset, size)` for a view).
fn storage_ref(id: &Value, tensor: &str) -> std::result::Result<StorageRef, String> {
    let bad = || format!("tensor `{tensor}`: a storage reference torch does not write");
    let Value::Tuple(items) = id else {
        return Err(bad());
    };
    if items.len() < 5 || items[0].as_str() != Some("storage") {
        return Err(bad());
    }
    let dtype = match &items[1] {
        Value::Global { module, name } => StorageType::from_class(name).ok_or_else(|| {
            format!("tensor `{tensor}`: unsupported storage type {module}.{name}")
        })?,
        _ => return Err(bad()),
    };
    let key = items[2].as_str().ok_or_else(bad)?.to_string();
    let numel = count(&items[4]).ok_or_else(bad)?;
    let mut r = StorageRef {
        key,
        dtype,
        numel,
        view_offset: 0,
    };
    if let Some(Value::Tuple(view)) = items.get(5) {
        // A view `(view_key, offset, size)` of the root storage `key`: its bytes are the
        // root's, from `offset` elements for `size`.
        let [_, offset, size] = view.as_slice() else {
            return Err(bad());
        };
        r.view_offset = count(offset).ok_or_else(bad)?;
        r.numel = count(size).ok_or_else(bad)?;
    }
    Ok(r)
}

fn count(v: &Value) -> Option<usize> {
    v.as_int().and_then(|i| usize::try_from(i).ok())
}

fn counts(v: &Value) -> Option<Vec<usize>> {
    match v {
        Value::Tuple(items) => items.iter().map(count).collect(),
        _ => None,
    }
}

/// A tensor as pickled: its storage, offset, size and stride.
struct TensorRef {
    storage: StorageRef,
    offset: usize,
    size: Vec<usize>,
    stride: Vec<usize>,
}

/// Reads a pickled tensor: `_rebuild_tensor_v2` (or `_rebuild_tensor`), possibly wrapped in
/// `_rebuild_parameter` or `_rebuild_from_type_v2`. `Ok(None)` when the value is no tensor.
fn tensor_ref(v: &Value, name: &str) -> std::result::Result<Option<TensorRef>, String> {
    let Value::Call { func, args } = v else {
        return Ok(None);
    };
    let (Value::Global { module, name: f }, Value::Tuple(args)) = (func.as_ref(), args.as_ref())
    else {
        return Ok(None);
    };
    let shape_err = || format!("tensor `{name}`: {module}.{f} with arguments torch does not write");
    match (module.as_str(), f.as_str()) {
        ("torch._utils", "_rebuild_tensor_v2" | "_rebuild_tensor") => {
            let [Value::PersistentId(id), offset, size, stride, ..] = args.as_slice() else {
                return Err(shape_err());
            };
            let storage = storage_ref(id, name)?;
            let (Some(offset), Some(size), Some(stride)) =
                (count(offset), counts(size), counts(stride))
            else {
                return Err(shape_err());
            };
            if size.len() != stride.len() {
                return Err(shape_err());
            }
            Ok(Some(TensorRef {
                storage,
                offset,
                size,
                stride,
            }))
        }
        ("torch._utils", "_rebuild_parameter" | "_rebuild_parameter_with_state") => {
            match args.first() {
                Some(inner) => tensor_ref(inner, name),
                None => Err(shape_err()),
            }
        }
        ("torch._tensor", "_rebuild_from_type_v2") => match args.as_slice() {
            [func, _, Value::Tuple(inner), ..] => tensor_ref(
                &Value::Call {
                    func: Box::new(func.clone()),
                    args: Box::new(Value::Tuple(inner.clone())),
                },
                name,
            ),
            _ => Err(shape_err()),
        },
        ("torch._utils", other) if other.starts_with("_rebuild") => Err(format!(
            "tensor `{name}`: unsupported tensor kind torch._utils.{other} (quantized, sparse \
             or on a device without its data); save a dense CPU state dict"
        )),
        _ => Ok(None),
    }
}

/// The state dict in the checkpoint's object: the object itself, or what it holds under
/// `state_dict` or `model`; keys and their tensors, `module.` prefixes removed.
fn state_dict(obj: &Value) -> std::result::Result<Vec<(String, TensorRef)>, String> {
    let mut obj = obj.clone();
    // Lightning nests under `state_dict`, fastai's `Learner.save` under `model`; a value that
    // is neither a dict nor an object (`"model": "resnet34"`) is no nesting.
    for _ in 0..3 {
        let Value::Dict(d) = &obj else { break };
        let inner = ["state_dict", "model"].iter().find_map(|want| {
            d.borrow()
                .iter()
                .find(|(k, v)| {
                    k.as_str() == Some(*want)
                        && matches!(v, Value::Dict(_) | Value::Call { .. } | Value::Build { .. })
                })
                .map(|(_, v)| v.clone())
        });
        match inner {
            Some(v) => obj = v,
            None => break,
        }
    }
    let Value::Dict(d) = &obj else {
        let hint = match &obj {
            Value::Call { .. } | Value::Build { .. } => {
                "; it looks like a whole pickled model: save `model.state_dict()` instead"
            }
            _ => "",
        };
        return Err(format!(
            "not a state dict: the checkpoint holds {}{hint}",
            obj.describe()
        ));
    };
    let mut out = Vec::new();
    for (k, v) in d.borrow().iter() {
        let Some(key) = k.as_str() else {
            return Err(format!(
                "not a state dict: a key is {}, not a string",
                k.describe()
            ));
        };
        match tensor_ref(v, key)? {
            Some(t) => out.push((key.to_string(), t)),
            None => {
                return Err(format!(
                    "not a state dict: `{key}` holds {}, not a tensor",
                    v.describe()
                ));
            }
        }
    }
    if !out.is_empty() && out.iter().all(|(k, _)| k.starts_with("module.")) {
        for (k, _) in &mut out {
            k.drain(.."module.".len());
        }
    }
    Ok(out)
}

/// Builds the tensor from its storage's bytes (the whole root storage).
fn build(t: &TensorRef, bytes: &[u8], name: &str) -> std::result::Result<Tensor, String> {
    let size = t.storage.dtype.size();
    let too_large = || format!("tensor `{name}`: a size or stride too large to index");
    let n = t
        .size
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(too_large)?;
    // The last element reached, to check the storage holds it.
    let base = t
        .storage
        .view_offset
        .checked_add(t.offset)
        .ok_or_else(too_large)?;
    let mut last = base;
    for (&d, &s) in t.size.iter().zip(&t.stride) {
        last = d
            .saturating_sub(1)
            .checked_mul(s)
            .and_then(|step| last.checked_add(step))
            .ok_or_else(too_large)?;
    }
    if n > 0 && last.saturating_add(1).saturating_mul(size) > bytes.len() {
        return Err(format!(
            "tensor `{name}` reaches element {last} of a storage of {} bytes of {size}-byte \
             elements (a truncated file?)",
            bytes.len()
        ));
    }
    // Element indices in row-major order of the tensor.
    let mut idx = Vec::with_capacity(n);
    if n > 0 {
        let mut pos = vec![0usize; t.size.len()];
        loop {
            idx.push(base + pos.iter().zip(&t.stride).map(|(p, s)| p * s).sum::<usize>());
            let mut d = t.size.len();
            loop {
                if d == 0 {
                    break;
                }
                d -= 1;
                pos[d] += 1;
                if pos[d] < t.size[d] {
                    break;
                }
                pos[d] = 0;
            }
            if pos.iter().all(|&p| p == 0) {
                break;
            }
        }
    }
    let at = |i: usize| &bytes[i * size..(i + 1) * size];
    let shape = t.size.as_slice();
    let dev = &Device::Cpu;
    let tensor = match t.storage.dtype {
        StorageType::F32 => {
            let v: Vec<f32> = idx
                .iter()
                .map(|&i| f32::from_le_bytes(at(i).try_into().expect("4 bytes")))
                .collect();
            Tensor::from_vec(v, shape, dev)
        }
        StorageType::F64 => {
            let v: Vec<f32> = idx
                .iter()
                .map(|&i| f64::from_le_bytes(at(i).try_into().expect("8 bytes")) as f32)
                .collect();
            Tensor::from_vec(v, shape, dev)
        }
        StorageType::F16 | StorageType::Bf16 => {
            let half = t.storage.dtype == StorageType::F16;
            let v: Vec<f32> = idx
                .iter()
                .map(|&i| {
                    let b = u16::from_le_bytes(at(i).try_into().expect("2 bytes"));
                    if half {
                        half::f16::from_bits(b).to_f32()
                    } else {
                        half::bf16::from_bits(b).to_f32()
                    }
                })
                .collect();
            Tensor::from_vec(v, shape, dev)
        }
        StorageType::I64 | StorageType::I32 | StorageType::I16 | StorageType::I8 => {
            let v: Vec<i64> = idx
                .iter()
                .map(|&i| {
                    let b = at(i);
                    let mut a = [if b[size - 1] & 0x80 != 0 { 0xff } else { 0 }; 8];
                    a[..size].copy_from_slice(b);
                    i64::from_le_bytes(a)
                })
                .collect();
            Tensor::from_vec(v, shape, dev)
        }
        StorageType::U8 | StorageType::Bool => {
            let v: Vec<u8> = idx.iter().map(|&i| bytes[i]).collect();
            Tensor::from_vec(v, shape, dev)
        }
    };
    tensor.map_err(|e| format!("tensor `{name}`: {e}"))
}

fn build_all(
    sd: Vec<(String, TensorRef)>,
    storage: impl Fn(&StorageRef) -> std::result::Result<Vec<u8>, String>,
) -> std::result::Result<Vec<(String, Tensor)>, String> {
    let mut cache: HashMap<String, Vec<u8>> = HashMap::new();
    let mut out = Vec::with_capacity(sd.len());
    for (name, t) in sd {
        if !cache.contains_key(&t.storage.key) {
            cache.insert(t.storage.key.clone(), storage(&t.storage)?);
        }
        let tensor = build(&t, &cache[&t.storage.key], &name)?;
        out.push((name, tensor));
    }
    Ok(out)
}

fn read_zip(bytes: &[u8]) -> std::result::Result<Vec<(String, Tensor)>, String> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("a damaged or truncated zip archive ({e})"))?;
    let pkl = zip
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.into_owned()))
        .find(|n| n == "data.pkl" || n.ends_with("/data.pkl"))
        .ok_or("a zip archive without `data.pkl`: not a PyTorch checkpoint")?;
    let dir = pkl.strip_suffix("data.pkl").unwrap_or_default().to_string();
    let mut entry = |name: &str| -> std::result::Result<Option<Vec<u8>>, String> {
        let mut f = match zip.by_name(name) {
            Ok(f) => f,
            Err(zip::result::ZipError::FileNotFound) => return Ok(None),
            Err(e) => return Err(format!("cannot read `{name}` in the archive: {e}")),
        };
        let mut buf = Vec::with_capacity(f.size() as usize);
        f.read_to_end(&mut buf)
            .map_err(|e| format!("cannot read `{name}` in the archive: {e}"))?;
        Ok(Some(buf))
    };
    if let Some(order) = entry(&format!("{dir}byteorder"))?
        && order != b"little"
    {
        return Err(format!(
            "byte order `{}`: only little-endian checkpoints are supported",
            String::from_utf8_lossy(&order)
        ));
    }
    let data = entry(&pkl)?.ok_or("`data.pkl` cannot be read")?;
    let obj = pickle::load(&data, &mut 0).map_err(|e| format!("`{pkl}`: {e}"))?;
    let sd = state_dict(&obj)?;
    let entries = std::cell::RefCell::new(entry);
    build_all(sd, |s| {
        let name = format!("{dir}data/{}", s.key);
        (entries.borrow_mut())(&name)?.ok_or_else(|| {
            format!("the storage `{name}` is missing from the archive (a truncated file?)")
        })
    })
}

/// The element size of every storage that `v` references (in a legacy file the storages
/// follow in the order of their keys, each as a count of elements: stepping over one needs its
/// element size).
fn storage_sizes(
    v: &Value,
    out: &mut HashMap<String, usize>,
    depth: usize,
) -> std::result::Result<(), String> {
    if depth > 100 {
        return Err("legacy checkpoint: an object nested over 100 levels deep".into());
    }
    let mut walk = |v: &Value| storage_sizes(v, out, depth + 1);
    match v {
        Value::PersistentId(id) => {
            if let Value::Tuple(items) = id.as_ref()
                && let (Some(Value::Str(key)), Some(Value::Global { module, name })) =
                    (items.get(2), items.get(1))
            {
                let t = StorageType::from_class(name).ok_or_else(|| {
                    format!("storage `{key}`: unsupported storage type {module}.{name}")
                })?;
                out.insert(key.clone(), t.size());
            }
            Ok(())
        }
        Value::Tuple(items) => items.iter().try_for_each(walk),
        Value::List(l) => l.borrow().iter().try_for_each(walk),
        Value::Dict(d) => d.borrow().iter().try_for_each(|(k, v)| {
            walk(k)?;
            walk(v)
        }),
        Value::Call { func, args: b }
        | Value::Build {
            obj: func,
            state: b,
        } => {
            walk(func)?;
            walk(b)
        }
        _ => Ok(()),
    }
}

fn read_legacy(bytes: &[u8]) -> std::result::Result<Vec<(String, Tensor)>, String> {
    let mut pos = 0;
    let mut next = |what: &str| {
        pickle::load(bytes, &mut pos).map_err(|e| format!("legacy checkpoint, {what}: {e}"))
    };
    let magic = match next("magic number")? {
        Value::BigInt(b) if b.len() <= 16 => {
            let mut a = [0u8; 16];
            a[..b.len()].copy_from_slice(&b);
            Some(u128::from_le_bytes(a))
        }
        Value::Int(i) => u128::try_from(i).ok(),
        _ => None,
    };
    if magic != Some(LEGACY_MAGIC) {
        return Err(
            "a pickle without torch's magic number: not a PyTorch checkpoint (a plain pickle \
             cannot be loaded without Python)"
                .into(),
        );
    }
    let protocol = next("protocol version")?.as_int();
    if protocol != Some(LEGACY_PROTOCOL) {
        return Err(format!(
            "legacy protocol version {protocol:?}, expected {LEGACY_PROTOCOL}"
        ));
    }
    if let Value::Dict(info) = next("system information")? {
        let little = info
            .borrow()
            .iter()
            .find(|(k, _)| k.as_str() == Some("little_endian"))
            .map(|(_, v)| v.as_int() == Some(1));
        if little == Some(false) {
            return Err("a big-endian checkpoint: only little-endian ones are supported".into());
        }
    }
    let obj = next("object")?;
    let keys: Vec<String> = match next("storage keys")? {
        Value::List(l) => l
            .borrow()
            .iter()
            .map(|k| k.as_str().map(str::to_string))
            .collect::<Option<_>>()
            .ok_or("legacy checkpoint: storage keys that are not strings")?,
        other => {
            return Err(format!(
                "legacy checkpoint: the storage keys are {}",
                other.describe()
            ));
        }
    };
    let sd = state_dict(&obj)?;
    // Every storage's element size, the optimizer's too (they come in the keys' order).
    let mut sizes: HashMap<String, usize> = HashMap::new();
    storage_sizes(&obj, &mut sizes, 0)?;
    let mut storages: HashMap<String, Vec<u8>> = HashMap::new();
    for key in &keys {
        let Some(numel) = bytes
            .get(pos..pos + 8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")) as usize)
        else {
            return Err(format!(
                "legacy checkpoint truncated at byte {pos}: storage `{key}` is missing"
            ));
        };
        let Some(&size) = sizes.get(key) else {
            return Err(format!(
                "legacy checkpoint: storage `{key}` is listed but no tensor uses it"
            ));
        };
        let start = pos + 8;
        let end = numel
            .checked_mul(size)
            .and_then(|len| len.checked_add(start));
        let Some(data) = end.and_then(|end| bytes.get(start..end)) else {
            let len = numel.saturating_mul(size);
            return Err(format!(
                "legacy checkpoint truncated: storage `{key}` needs {len} bytes from byte \
                 {start}, the file has {}",
                bytes.len()
            ));
        };
        pos = start + data.len();
        storages.insert(key.clone(), data.to_vec());
    }
    build_all(sd, |s| {
        storages
            .get(&s.key)
            .cloned()
            .ok_or_else(|| format!("storage `{}` is not in the file's list of storages", s.key))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn storage_id(view: Option<(usize, usize)>) -> Value {
        let mut items = vec![
            Value::Str("storage".into()),
            Value::Global {
                module: "torch".into(),
                name: "FloatStorage".into(),
            },
            Value::Str("root".into()),
            Value::Str("cpu".into()),
            Value::Int(6),
        ];
        if let Some((offset, size)) = view {
            items.push(Value::Tuple(vec![
                Value::Str("view".into()),
                Value::Int(offset as i64),
                Value::Int(size as i64),
            ]));
        }
        Value::Tuple(items)
    }

    fn root_bytes() -> Vec<u8> {
        (0..6).flat_map(|i| (i as f32).to_le_bytes()).collect()
    }

    #[test]
    fn a_legacy_storage_view_reads_from_its_root() {
        let storage = storage_ref(&storage_id(Some((2, 3))), "t").unwrap();
        assert_eq!((storage.key.as_str(), storage.view_offset), ("root", 2));
        let t = TensorRef {
            storage,
            offset: 1,
            size: vec![2],
            stride: vec![1],
        };
        let v = build(&t, &root_bytes(), "t").unwrap();
        assert_eq!(v.to_vec1::<f32>().unwrap(), [3.0, 4.0]);
    }

    #[test]
    fn strides_are_followed_and_bounds_checked() {
        // A [2, 3] storage read transposed: [3, 2] with strides (1, 3).
        let t = TensorRef {
            storage: storage_ref(&storage_id(None), "t").unwrap(),
            offset: 0,
            size: vec![3, 2],
            stride: vec![1, 3],
        };
        let v = build(&t, &root_bytes(), "t").unwrap();
        assert_eq!(
            v.to_vec2::<f32>().unwrap(),
            [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]
        );
        let past = TensorRef { offset: 1, ..t };
        let e = build(&past, &root_bytes(), "w").unwrap_err();
        assert!(e.contains("`w`") && e.contains("truncated"), "{e}");
        let huge = TensorRef {
            storage: storage_ref(&storage_id(None), "t").unwrap(),
            offset: 0,
            size: vec![usize::MAX, 3],
            stride: vec![usize::MAX, 1],
        };
        assert!(
            build(&huge, &root_bytes(), "h")
                .unwrap_err()
                .contains("too large")
        );
    }
}
