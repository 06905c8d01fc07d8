//! Times one training step (forward, loss, backward) and one inference pass of a vision model
//! on random data, on the CPU: where the time of `fine_tune` goes.
//!
//! ```text
//! cargo run --release -p fastcandle-models --example train_step -- [ARCH [BS [SIZE [STEPS [frozen]]]]]
//! ```

use candle_core::{DType, Device, Tensor};
use fastcandle_core::{Model, ops::cross_entropy};
use fastcandle_models::{Arch, Pretrained, VisionModel};
use std::time::Instant;

#[global_allocator]
static ALLOC: fastcandle_core::alloc::Allocator = fastcandle_core::alloc::Allocator;

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn main() -> Res<()> {
    // SAFETY: first thing in main, before any other thread exists.
    unsafe { fastcandle_core::threads::set_thread_env() };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arch: Arch = args
        .first()
        .map_or("mobilenet_v2", String::as_str)
        .parse()?;
    let bs: usize = args.get(1).map_or(Ok(64), |s| s.parse())?;
    let size: usize = args.get(2).map_or(Ok(224), |s| s.parse())?;
    let steps: usize = args.get(3).map_or(Ok(3), |s| s.parse())?;
    let frozen = args.get(4).is_some_and(|s| s == "frozen");
    let dev = Device::Cpu;
    let model = VisionModel::new(arch, 2, &Pretrained::No, &dev, 0)?;
    if frozen {
        model.params().freeze_to(-1, true);
    }
    let x = Tensor::randn(0f32, 1., (bs, 3, size, size), &dev)?;
    let y = Tensor::from_vec((0..bs as u32).map(|i| i % 2).collect::<Vec<_>>(), bs, &dev)?;
    fastcandle_core::threads::run_in_pool(|| -> Res<()> {
        for step in 0..=steps {
            let t0 = Instant::now();
            let out = model.forward_t(std::slice::from_ref(&x), true)?;
            let loss = cross_entropy(&out, &y, None)?;
            let t1 = Instant::now();
            let grads = loss.backward()?;
            let t2 = Instant::now();
            drop(grads);
            let _ = model
                .forward_t(std::slice::from_ref(&x), false)?
                .to_dtype(DType::F32)?
                .sum_all()?
                .to_scalar::<f32>()?;
            let t3 = Instant::now();
            println!(
                "{arch} bs {bs} size {size}{}: step {step}: forward {:.3} s, backward {:.3} s, \
                 train {:.3} s ({:.1} img/s); inference {:.3} s ({:.1} img/s){}",
                if frozen { " frozen" } else { "" },
                (t1 - t0).as_secs_f64(),
                (t2 - t1).as_secs_f64(),
                (t2 - t0).as_secs_f64(),
                bs as f64 / (t2 - t0).as_secs_f64(),
                (t3 - t2).as_secs_f64(),
                bs as f64 / (t3 - t2).as_secs_f64(),
                if step == 0 { " (warm-up)" } else { "" }
            );
        }
        Ok(())
    })
}
