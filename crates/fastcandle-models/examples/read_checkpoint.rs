//! Prints the tensors of a weights file (safetensors, or a PyTorch `.pth`/`.pt` checkpoint in
//! the zip or legacy format) and, given an architecture, loads it into that architecture's
//! body as `Pretrained::File` does, or says which keys do not match.
//!
//! ```text
//! cargo run --release -p fastcandle-models --example read_checkpoint -- [FILE [ARCH]]
//! ```
//!
//! Without a file it reads `tests/data/pth/checkpoint.pth`, a fastai-style checkpoint made by
//! `torch.save` (`scripts/reference/pth_reference.py`).

use candle_core::Device;
use fastcandle_core::Model;
use fastcandle_models::weights::read_weights;
use fastcandle_models::{Arch, Pretrained, VisionModel, guess_arch};
use std::path::PathBuf;

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args.first().map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/pth/checkpoint.pth"),
        PathBuf::from,
    );
    let tensors = read_weights(&path)?;
    println!("{}: {} tensors", path.display(), tensors.len());
    for (name, t) in &tensors {
        println!("  {name:<40} {:?} {:?}", t.dims(), t.dtype());
    }
    if let Some((arch, share)) = guess_arch(&path) {
        println!("looks like {arch} ({:.0}% of its keys)", share * 100.0);
    }
    if let Some(arch) = args.get(1) {
        let arch: Arch = arch.parse()?;
        let model = VisionModel::new(arch, 2, &Pretrained::File(path.clone()), &Device::Cpu, 0)?;
        let n = model.params().all().len();
        println!("loaded into {arch}'s body ({n} parameters and buffers with the head)");
    }
    Ok(())
}
