//! fastcandle's side of `scripts/reference/camvid_lockstep.py`: the CamVid recipe
//! (`unet_learner(resnet34)`, `fine_tune(EPOCHS)`, bs 8) from fastai's initial weights, on
//! fastai's split, in fastai's unshuffled batch order, recording every training step's loss
//! and hyper-parameters so that the two trainings can be compared step by step.
//!
//! ```text
//! python scripts/reference/camvid_lockstep.py FOLDER DIR 2
//! cargo run --release -p fastcandle --example camvid_lockstep -- FOLDER DIR 2
//! ```
//!
//! With `LOCKSTEP_OWN_INIT` set it only writes fastcandle's own initial weights
//! (`DIR/fastcandle_init.safetensors`), to compare with fastai's draw.
//!
//! It writes `DIR/fastcandle.json` (`steps`: loss and per-group lr, mom, wd; `history`: the
//! epoch table as CSV lines).

use fastcandle::data::vision::ItemSplitter;
use fastcandle::models::weights::load_weights_into;
use fastcandle::vision::prelude::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// jemalloc that keeps freed memory, as `xtask` uses (see `fastcandle::core::alloc`).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOC: fastcandle::core::alloc::Allocator = fastcandle::core::alloc::Allocator;

/// fastai's split, by file name: the training images in fastai's order, then the validation
/// images.
struct NamedSplit {
    train: Vec<String>,
    valid: Vec<String>,
}

impl ItemSplitter for NamedSplit {
    fn split_items(&self, items: &[PathBuf]) -> fastcandle::data::Result<(Vec<usize>, Vec<usize>)> {
        let index = |names: &[String]| -> fastcandle::data::Result<Vec<usize>> {
            names
                .iter()
                .map(|n| {
                    items
                        .iter()
                        .position(|p| p.file_name().and_then(|f| f.to_str()) == Some(n))
                        .ok_or_else(|| fastcandle::data::Error::BadData {
                            what: "split.json".into(),
                            reason: format!("{n} is not among the images"),
                        })
                })
                .collect()
        };
        Ok((index(&self.train)?, index(&self.valid)?))
    }
}

/// Records each training batch's loss and the optimizer's per-group hyper-parameters.
struct Steps(Arc<Mutex<Vec<Value>>>);

impl Callback for Steps {
    fn name(&self) -> &str {
        "Steps"
    }

    fn order(&self) -> i32 {
        100
    }

    fn after_batch(&mut self, learn: &mut Learner) -> fastcandle::train::Result<()> {
        if learn.state.training {
            let (lr, mom, wd) = (
                learn.opt.hyper("lr"),
                learn.opt.hyper("mom"),
                learn.opt.hyper("wd"),
            );
            let hypers: Vec<Value> = (0..lr.len())
                .map(|i| json!({"lr": lr[i], "mom": mom[i], "wd": wd[i]}))
                .collect();
            self.0
                .lock()
                .unwrap()
                .push(json!({"loss": learn.state.loss_value, "hypers": hypers}));
        }
        Ok(())
    }
}

fn main() -> anyhow::Result<()> {
    // SAFETY: first thing in main, before any other thread exists.
    unsafe { fastcandle::core::threads::set_thread_env() };
    let args: Vec<String> = std::env::args().collect();
    let data = PathBuf::from(&args[1]);
    let dir = PathBuf::from(&args[2]);
    let epochs: usize = args.get(3).map_or(Ok(2), |e| e.parse())?;
    let split: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("split.json"))?)?;
    let names = |k: &str| -> Vec<String> {
        split[k]
            .as_array()
            .expect("a list of names")
            .iter()
            .map(|v| v.as_str().expect("a name").to_string())
            .collect()
    };
    let labels = data.join("labels");
    let label = move |p: &Path| labels.join(format!("{}_P.png", file_stem(p)));
    let dls = SegmentationDataLoaders::from_label_func(
        &data,
        get_image_files(data.join("images"))?,
        label,
        Codes::from_file(data.join("codes.txt"))?,
    )
    .splitter(NamedSplit {
        train: names("train"),
        valid: names("valid"),
    })
    .shuffle(false)
    .seed(42)
    .bs(8)
    .device(DeviceChoice::Cpu)
    .build()?;
    let mut learn = UnetLearner::builder(&dls, Arch::Resnet34)
        .pretrained(Pretrained::No)
        .metrics([foreground_acc(), dice_multi()])
        .seed(42)
        .build()?;
    if std::env::var_os("LOCKSTEP_OWN_INIT").is_some() {
        // fastcandle's own initial weights (seed 42), to compare with fastai's draw.
        fastcandle::core::tensor_io::save_safetensors(
            &dir.join("fastcandle_init.safetensors"),
            &learn.model.params().state_dict(),
            None,
        )?;
        return Ok(());
    }
    load_weights_into(
        learn.model.params(),
        &dir.join("init.safetensors"),
        |_| false,
        &[],
    )?;
    learn.quiet(true);
    let history = dir.join("fastcandle_history.csv");
    learn.add_cb(CsvLogger::new(&history));
    let steps = Arc::new(Mutex::new(Vec::new()));
    learn.add_cb(Steps(steps.clone()));
    learn.fine_tune(epochs)?;
    let steps = steps.lock().unwrap().clone();
    let history: Vec<String> = std::fs::read_to_string(&history)?
        .lines()
        .map(str::to_string)
        .collect();
    for line in &history {
        println!("{line}");
    }
    std::fs::write(
        dir.join("fastcandle.json"),
        serde_json::to_string(&json!({"steps": steps, "history": history}))?,
    )?;
    Ok(())
}
