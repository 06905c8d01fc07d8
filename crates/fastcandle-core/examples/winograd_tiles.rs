//! Times one 3x3 stride-1 convolution with Winograd's F(2x2, 3x3) and F(4x4, 3x3), alternated,
//! on ResNet's planes (or one shape), forward alone or forward and backward:
//!
//! ```text
//! cargo run --release -p fastcandle-core --example winograd_tiles -- [train] [N,C,SIDE] [REPS]
//! ```
//!
//! Where the batch has too few blocks for F(4x4, 3x3) both columns run the same path.

use candle_core::{Device, Result, Tensor, Var};
use std::time::Instant;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let train = args.iter().any(|a| a == "train");
    let shape = args.iter().find(|a| a.contains(','));
    let reps: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(5);
    let shapes: Vec<(usize, usize, usize)> = match shape {
        Some(s) => {
            let v: Vec<usize> = s.split(',').filter_map(|a| a.parse().ok()).collect();
            if v.len() != 3 {
                eprintln!("expected N,C,SIDE such as 8,64,56, got {s:?}");
                std::process::exit(2);
            }
            vec![(v[0], v[1], v[2])]
        }
        // ResNet34's stages at 224 and 128 pixels, batch 8.
        None => [
            (64, 56),
            (128, 28),
            (256, 14),
            (512, 7),
            (64, 32),
            (128, 16),
            (256, 8),
        ]
        .map(|(c, side)| (8, c, side))
        .to_vec(),
    };
    let dev = Device::Cpu;
    for (n, c, side) in shapes {
        let x = Var::from_tensor(&Tensor::randn(0f32, 1., (n, c, side, side), &dev)?)?;
        let w = Var::from_tensor(&(Tensor::randn(0f32, 1., (c, c, 3, 3), &dev)? * 0.05)?)?;
        let step = || -> Result<()> {
            let y = fastcandle_core::ops::conv2d(&x, &w, 1, 1)?;
            if train {
                y.sum_all()?.backward()?;
            }
            Ok(())
        };
        // F(2x2, 3x3) and F(4x4, 3x3) twice each, alternated, in milliseconds per step.
        let mut ms = [Vec::new(), Vec::new()];
        for f4 in [false, true, false, true] {
            fastcandle_core::ops::set_winograd_f4(f4);
            step()?;
            let t = Instant::now();
            for _ in 0..reps {
                step()?;
            }
            ms[f4 as usize].push(t.elapsed().as_secs_f64() * 1e3 / reps as f64);
        }
        println!(
            "{n}x{c}x{side}x{side}: F(2x2,3x3) {:.2} {:.2} ms, F(4x4,3x3) {:.2} {:.2} ms",
            ms[0][0], ms[0][1], ms[1][0], ms[1][1]
        );
    }
    Ok(())
}
