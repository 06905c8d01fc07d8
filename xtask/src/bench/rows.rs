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
            } => format!("{arch}_{mode}_{size}_bs{bs}"),
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
/// batch 8 and 32 and at 128 and 224 pixels (training and inference), then MobileNetV2 at
/// batch 64 and 224 pixels (the Pets recipe).
pub fn all() -> Vec<Workload> {
    let mut rows = vec![Workload::TabularEpoch, Workload::ImageLoader];
    for arch in ["resnet18", "resnet34", "resnet50"] {
        for size in [128, 224] {
            for bs in [8, 32] {
                for mode in [Mode::Train, Mode::Infer] {
                    rows.push(Workload::Model {
                        arch,
                        mode,
                        size,
                        bs,
                    });
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
        assert_eq!(rows.len(), 2 + 3 * 2 * 2 * 2 + 2);
        for w in &rows {
            assert_eq!(by_name(&w.name()).as_ref(), Some(w));
        }
        assert!(rows.iter().any(|w| w.name() == "resnet34_train_224_bs8"));
        assert!(rows.iter().any(|w| w.name() == "resnet34_infer_224_bs8"));
        assert!(by_name("resnet34_train_224_bs9").is_none());
    }

    #[test]
    fn selection_by_substring() {
        let sel = select(&["resnet34_train_224".into()]);
        let names: Vec<_> = sel.iter().map(|w| w.name()).collect();
        assert_eq!(names, ["resnet34_train_224_bs8", "resnet34_train_224_bs32"]);
        assert_eq!(select(&[]).len(), all().len());
    }
}
