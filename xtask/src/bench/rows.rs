//! What `cargo xtask bench` measures: one [`Workload`] per row of the report.

use std::fmt;

/// Training step or inference pass of a vision model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Forward in training mode, cross-entropy and backward (no optimizer step).
    Train,
    /// Forward in evaluation mode without gradients.
    Infer,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Train => "train",
            Mode::Infer => "infer",
        })
    }
}

/// The precision of a model row: f32 throughout, or bf16 mixed precision (f32 master weights,
/// forward and backward in bf16: ours as `Learner::to_bf16`'s callback casts, PyTorch's under
/// `torch.autocast(dtype=torch.bfloat16)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    /// f32 throughout.
    F32,
    /// bf16 mixed precision.
    Bf16,
}

impl Precision {
    /// The row name's suffix: none for f32, `_bf16`.
    pub fn suffix(&self) -> &'static str {
        match self {
            Precision::F32 => "",
            Precision::Bf16 => "_bf16",
        }
    }

    /// The name the reference script takes.
    pub fn arg(&self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
        }
    }
}

/// One row of the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Workload {
    /// One epoch of the tabular lesson (Adult, bs 64, fit_one_cycle, training and validation).
    TabularEpoch,
    /// Images per second through the image loader: decode, Resize 224, aug_transforms,
    /// Normalize, collate, batch 64.
    ImageLoader,
    /// Images per second of a vision model on random `[bs, 3, size, size]` inputs, 2 classes.
    Model {
        /// torchvision's name of the architecture.
        arch: &'static str,
        /// Training step or inference.
        mode: Mode,
        /// Image side in pixels.
        size: usize,
        /// Batch size.
        bs: usize,
        /// f32 or bf16 mixed precision.
        precision: Precision,
    },
}

impl Workload {
    /// The row's name in the report and the JSON (`resnet34_train_224_bs8`).
    pub fn name(&self) -> String {
        match self {
            Workload::TabularEpoch => "tabular_adult_epoch".into(),
            Workload::ImageLoader => "image_loader_224".into(),
            Workload::Model {
                arch,
                mode,
                size,
                bs,
                precision,
            } => format!("{arch}_{mode}_{size}_bs{bs}{}", precision.suffix()),
        }
    }

    /// The unit of the row's figures.
    pub fn unit(&self) -> &'static str {
        match self {
            Workload::TabularEpoch => "s",
            _ => "images/s",
        }
    }

    /// Whether a larger figure is better (a rate) or worse (a time).
    pub fn higher_is_better(&self) -> bool {
        !matches!(self, Workload::TabularEpoch)
    }

    /// What the row is compared with: `fastai` for the lesson's loops, `pytorch` for models.
    pub fn reference(&self) -> &'static str {
        match self {
            Workload::Model { .. } => "pytorch",
            _ => "fastai",
        }
    }

    /// Whether the row needs `../shared/data` (the loader reads the animal-shapes images).
    pub fn needs_shared_data(&self) -> bool {
        matches!(self, Workload::ImageLoader)
    }
}

/// Every row, in report order: the tabular epoch, the image loader, then ResNet18/34/50 at
/// batch 8 and 32 and at 128 and 224 pixels (training and inference), with ResNet34's
/// training at 224 and batch 8 also in bf16 mixed precision beside its f32 row, then
/// MobileNetV2 at batch 64 and 224 pixels (the Pets recipe).
pub fn all() -> Vec<Workload> {
    let mut rows = vec![Workload::TabularEpoch, Workload::ImageLoader];
    for arch in ["resnet18", "resnet34", "resnet50"] {
        for size in [128, 224] {
            for bs in [8, 32] {
                for mode in [Mode::Train, Mode::Infer] {
                    let row = |precision| Workload::Model {
                        arch,
                        mode,
                        size,
                        bs,
                        precision,
                    };
                    rows.push(row(Precision::F32));
                    if (arch, mode, size, bs) == ("resnet34", Mode::Train, 224, 8) {
                        rows.push(row(Precision::Bf16));
                    }
                }
            }
        }
    }
    for mode in [Mode::Train, Mode::Infer] {
        rows.push(Workload::Model {
            arch: "mobilenet_v2",
            mode,
            size: 224,
            bs: 64,
            precision: Precision::F32,
        });
    }
    rows
}

/// The row named `name`.
pub fn by_name(name: &str) -> Option<Workload> {
    all().into_iter().find(|w| w.name() == name)
}

/// The rows whose names contain one of `patterns` (all rows when there is none).
pub fn select(patterns: &[String]) -> Vec<Workload> {
    all()
        .into_iter()
        .filter(|w| patterns.is_empty() || patterns.iter().any(|p| w.name().contains(p.as_str())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let rows = all();
        assert_eq!(rows.len(), 2 + 3 * 2 * 2 * 2 + 1 + 2);
        for w in &rows {
            assert_eq!(by_name(&w.name()).as_ref(), Some(w));
        }
        assert!(rows.iter().any(|w| w.name() == "resnet34_train_224_bs8"));
        assert!(rows.iter().any(|w| w.name() == "resnet34_infer_224_bs8"));
        let i = rows
            .iter()
            .position(|w| w.name() == "resnet34_train_224_bs8")
            .unwrap();
        assert_eq!(rows[i + 1].name(), "resnet34_train_224_bs8_bf16");
        assert!(by_name("resnet34_train_224_bs9").is_none());
    }

    #[test]
    fn selection_by_substring() {
        let sel = select(&["resnet34_train_224".into()]);
        let names: Vec<_> = sel.iter().map(|w| w.name()).collect();
        assert_eq!(
            names,
            [
                "resnet34_train_224_bs8",
                "resnet34_train_224_bs8_bf16",
                "resnet34_train_224_bs32"
            ]
        );
        assert_eq!(select(&[]).len(), all().len());
    }
}
