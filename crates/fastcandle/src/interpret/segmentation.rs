//! fastai's `SegmentationInterpretation`: per-code scores, the pixel confusion matrix, and the
//! images with the largest losses, from a U-Net's predictions on its validation set.

use crate::error::{Error, Result};
use crate::vision::UnetLearner;
use candle_core::{DType, Device, Tensor};
use fastcandle_core::Batch;
use fastcandle_data::vision::{
    Image, LoaderSettings, batch_images, class_colour, in_a_row, save_captioned_grid,
};
use fastcandle_train::largest_first;
use std::path::Path;

/// The scores of one code over every validation pixel.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeScore {
    /// The code.
    pub code: u32,
    /// Its name.
    pub name: String,
    /// Intersection over union: pixels of the code both predicted and true, over pixels of it
    /// either predicted or true (`None` when it is neither anywhere).
    pub iou: Option<f64>,
    /// The share of its true pixels predicted as it (`None` when it has no true pixel).
    pub pixel_accuracy: Option<f64>,
    /// Its true pixels.
    pub pixels: u64,
    /// The pixels predicted as it.
    pub predicted_pixels: u64,
}

/// One validation image among the largest losses.
#[derive(Debug, Clone, PartialEq)]
pub struct SegLoss {
    /// Its position in the validation set.
    pub index: usize,
    /// Its file.
    pub item: String,
    /// Its loss (the mean over its pixels).
    pub loss: f32,
    /// The share of its pixels predicted right.
    pub pixel_accuracy: f64,
}

/// fastai's `SegmentationInterpretation`: made from a [`UnetLearner`]'s predictions on its
/// validation set ([`SegmentationInterpretation::from_learner`]), or from any masks
/// ([`SegmentationInterpretation::new`]).
///
/// It keeps the validation set's images, true masks and predicted masks: memory of about
/// `4 + 8` bytes a pixel beside the images.
pub struct SegmentationInterpretation {
    codes: Vec<String>,
    void: Option<u32>,
    images: Vec<Image>,
    truths: Vec<Vec<u32>>,
    preds: Vec<Vec<u32>>,
    losses: Vec<f32>,
    items: Vec<String>,
}

impl std::fmt::Debug for SegmentationInterpretation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SegmentationInterpretation")
            .field("codes", &self.codes)
            .field("items", &self.items.len())
            .finish()
    }
}

impl SegmentationInterpretation {
    /// The learner's predictions on its validation set, with each image's loss.
    pub fn from_learner(learn: &mut UnetLearner) -> Result<Self> {
        let preds = learn.learn.get_preds_with(None, true)?;
        let loader = learn.dls.loader();
        let inputs = preds.inputs.clone().unwrap_or_default();
        let batch = Batch {
            xs: inputs,
            ys: preds.targets.clone(),
        };
        let images = batch_images(&batch, loader.normalization())?;
        let items = loader
            .valid_images()
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        let codes = learn.vocab().to_vec();
        Self::new(
            &codes,
            images,
            &preds.targets,
            &preds.decoded,
            preds.loss_values()?,
            items,
        )
    }

    /// The interpretation of predicted masks `decoded` against true masks `targets` (both
    /// `[N, H, W]` codes, or `[N, 1, H, W]`) of `images` named by `items`, with each image's
    /// loss, over the codes `codes` (a code named `Void` is left clear in pictures). Counts
    /// that disagree, or a code outside `codes`, are errors.
    pub fn new(
        codes: &[String],
        images: Vec<Image>,
        targets: &Tensor,
        decoded: &Tensor,
        losses: Vec<f32>,
        items: Vec<String>,
    ) -> Result<Self> {
        let masks = |t: &Tensor| -> Result<Vec<Vec<u32>>> {
            Ok(t.to_device(&Device::Cpu)?
                .to_dtype(DType::U32)?
                .flatten_from(1)?
                .to_vec2()?)
        };
        let (truths, preds) = (masks(targets)?, masks(decoded)?);
        let n = truths.len();
        let bad = |r: String| Error::Invalid(format!("SegmentationInterpretation: {r}"));
        if preds.len() != n || losses.len() != n || items.len() != n || images.len() != n {
            return Err(bad(format!(
                "{n} true masks, {} predicted, {} losses, {} items and {} images",
                preds.len(),
                losses.len(),
                items.len(),
                images.len()
            )));
        }
        for (i, (t, p)) in truths.iter().zip(&preds).enumerate() {
            if t.len() != p.len() {
                return Err(bad(format!(
                    "item {i}: {} true pixels but {} predicted",
                    t.len(),
                    p.len()
                )));
            }
            if let Some(c) = t.iter().chain(p).find(|&&c| c as usize >= codes.len()) {
                return Err(bad(format!(
                    "item {i}: code {c} is outside the {} codes",
                    codes.len()
                )));
            }
        }
        Ok(Self {
            void: codes.iter().position(|c| c == "Void").map(|v| v as u32),
            codes: codes.to_vec(),
            images,
            truths,
            preds,
            losses,
            items,
        })
    }

    /// The code names.
    pub fn codes(&self) -> &[String] {
        &self.codes
    }

    /// The number of validation images.
    pub fn len(&self) -> usize {
        self.truths.len()
    }

    /// Whether there is no image (never, once made).
    pub fn is_empty(&self) -> bool {
        self.truths.is_empty()
    }

    /// The pixel confusion matrix: counts, rows the true code and columns the predicted one.
    pub fn confusion_matrix(&self) -> Vec<Vec<u64>> {
        let c = self.codes.len();
        let mut m = vec![vec![0u64; c]; c];
        for (t, p) in self.truths.iter().zip(&self.preds) {
            for (&a, &b) in t.iter().zip(p) {
                m[a as usize][b as usize] += 1;
            }
        }
        m
    }

    /// Every code's intersection over union and pixel accuracy, in code order.
    pub fn per_code(&self) -> Vec<CodeScore> {
        let m = self.confusion_matrix();
        let c = self.codes.len();
        (0..c)
            .map(|k| {
                let hit = m[k][k];
                let pixels: u64 = m[k].iter().sum();
                let predicted: u64 = (0..c).map(|a| m[a][k]).sum();
                let union = pixels + predicted - hit;
                CodeScore {
                    code: k as u32,
                    name: self.codes[k].clone(),
                    iou: (union > 0).then(|| hit as f64 / union as f64),
                    pixel_accuracy: (pixels > 0).then(|| hit as f64 / pixels as f64),
                    pixels,
                    predicted_pixels: predicted,
                }
            })
            .collect()
    }

    /// The mean IoU over the codes that occur (true or predicted), the void code left out.
    pub fn mean_iou(&self) -> Option<f64> {
        let ious: Vec<f64> = self
            .per_code()
            .into_iter()
            .filter(|s| Some(s.code) != self.void)
            .filter_map(|s| s.iou)
            .collect();
        (!ious.is_empty()).then(|| ious.iter().sum::<f64>() / ious.len() as f64)
    }

    /// `per_code.csv`: `code,name,iou,pixel_accuracy,pixels,predicted_pixels`, a score left
    /// empty where it has no meaning; written atomically.
    pub fn write_per_code_csv(&self, path: impl AsRef<Path>) -> Result<()> {
        let mut text = String::from("code,name,iou,pixel_accuracy,pixels,predicted_pixels\n");
        let num = |v: Option<f64>| v.map(|x| format!("{x:.6}")).unwrap_or_default();
        for s in self.per_code() {
            let name = if s.name.contains([',', '"', '\n']) {
                format!("\"{}\"", s.name.replace('"', "\"\""))
            } else {
                s.name.clone()
            };
            text.push_str(&format!(
                "{},{name},{},{},{},{}\n",
                s.code,
                num(s.iou),
                num(s.pixel_accuracy),
                s.pixels,
                s.predicted_pixels
            ));
        }
        let path = path.as_ref();
        fastcandle_core::tensor_io::write_atomic(path, text.as_bytes()).map_err(|e| Error::File {
            path: path.display().to_string(),
            reason: e.to_string(),
        })
    }

    /// The `k` images with the largest losses, largest first.
    pub fn top_losses(&self, k: usize) -> Vec<SegLoss> {
        largest_first(&self.losses)
            .into_iter()
            .take(k)
            .map(|i| {
                let (t, p) = (&self.truths[i], &self.preds[i]);
                let right = t.iter().zip(p).filter(|(a, b)| a == b).count();
                SegLoss {
                    index: i,
                    item: self.items[i].clone(),
                    loss: self.losses[i],
                    pixel_accuracy: right as f64 / t.len().max(1) as f64,
                }
            })
            .collect()
    }

    /// Writes the pixel confusion matrix as a PNG heat map (with `normalize`, each row's
    /// shares).
    pub fn plot_confusion_matrix(&self, path: impl AsRef<Path>, normalize: bool) -> Result<()> {
        let m: Vec<Vec<usize>> = self
            .confusion_matrix()
            .into_iter()
            .map(|r| r.into_iter().map(|v| v as usize).collect())
            .collect();
        crate::plot::plot_confusion_matrix(&m, &self.codes, normalize, path)
    }

    /// fastai's `plot_top_losses(k)`: writes a PNG with one row per image among the `k`
    /// largest losses: the image, its true mask and the predicted mask (each code in its
    /// colour, the void code black), captioned with the file, the loss and the share of pixels
    /// right.
    pub fn plot_top_losses(&self, k: usize, path: impl AsRef<Path>) -> Result<()> {
        let top = self.top_losses(k);
        if top.is_empty() {
            return Err(Error::Invalid(format!(
                "plot_top_losses: no image to show in {}",
                path.as_ref().display()
            )));
        }
        let (mut cells, mut captions) = (Vec::new(), Vec::new());
        for t in &top {
            let img = &self.images[t.index];
            let (w, h) = (img.width(), img.height());
            let truth = mask_image(&self.truths[t.index], w, h, self.void);
            let pred = mask_image(&self.preds[t.index], w, h, self.void);
            cells.push(in_a_row(&[img, &truth, &pred], 4));
            let name = Path::new(&t.item)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| t.item.clone());
            captions.push(format!(
                "image | truth | prediction: {name}\nloss {:.3}, {:.1}% of pixels right",
                t.loss,
                100.0 * t.pixel_accuracy
            ));
        }
        let colours = vec![[90, 90, 90]; cells.len()];
        Ok(save_captioned_grid(
            &cells,
            &captions,
            &colours,
            path.as_ref(),
        )?)
    }
}

/// A mask (one code per pixel, row by row) as a picture: each code in its colour, the `void`
/// code black.
fn mask_image(mask: &[u32], w: usize, h: usize, void: Option<u32>) -> Image {
    Image::from_fn(w, h, |x, y| match mask.get(y * w + x) {
        Some(&c) if Some(c) != void => class_colour(c),
        _ => [0, 0, 0],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interp(truths: &[u32], preds: &[u32], losses: Vec<f32>) -> SegmentationInterpretation {
        let n = losses.len();
        let px = truths.len() / n;
        let d = Device::Cpu;
        let t = Tensor::from_slice(truths, (n, 1, px), &d).unwrap();
        let p = Tensor::from_slice(preds, (n, 1, px), &d).unwrap();
        let codes: Vec<String> = ["Void", "road", "car"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let images = (0..n)
            .map(|_| Image::from_fn(px, 1, |_, _| [9, 9, 9]))
            .collect();
        let items = (0..n).map(|i| format!("img{i}.png")).collect();
        SegmentationInterpretation::new(&codes, images, &t, &p, losses, items).unwrap()
    }

    #[test]
    fn per_code_scores_match_a_hand_count() {
        // Image 0: truth [1 1 2 2], pred [1 2 2 2]; image 1: truth [0 1 1 1], pred [0 1 1 0].
        let it = interp(
            &[1, 1, 2, 2, 0, 1, 1, 1],
            &[1, 2, 2, 2, 0, 1, 1, 0],
            vec![0.5, 0.9],
        );
        let m = it.confusion_matrix();
        assert_eq!(m, vec![vec![1, 0, 0], vec![1, 3, 1], vec![0, 0, 2]]);
        let s = it.per_code();
        // road: hit 3, true 5, predicted 3 -> IoU 3 / 5, accuracy 3 / 5.
        assert_eq!(s[1].iou, Some(3.0 / 5.0));
        assert_eq!(s[1].pixel_accuracy, Some(3.0 / 5.0));
        // car: hit 2, true 2, predicted 3 -> IoU 2 / 3, accuracy 1.
        assert_eq!(s[2].iou, Some(2.0 / 3.0));
        assert_eq!(s[2].pixel_accuracy, Some(1.0));
        assert_eq!((s[2].pixels, s[2].predicted_pixels), (2, 3));
        // Void: hit 1, true 1, predicted 2 -> 1 / 2; left out of the mean.
        assert_eq!(s[0].iou, Some(0.5));
        assert_eq!(it.mean_iou(), Some((3.0 / 5.0 + 2.0 / 3.0) / 2.0));
        let top = it.top_losses(5);
        assert_eq!(top.len(), 2);
        assert_eq!((top[0].index, top[0].pixel_accuracy), (1, 0.75));
        assert_eq!(top[1].item, "img0.png");
    }

    #[test]
    fn the_csv_has_a_row_per_code_and_empty_scores_where_none_apply() {
        let it = interp(&[1, 1], &[1, 1], vec![0.1]);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("per_code.csv");
        it.write_per_code_csv(&p).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "code,name,iou,pixel_accuracy,pixels,predicted_pixels"
        );
        assert_eq!(lines[1], "0,Void,,,0,0");
        assert_eq!(lines[2], "1,road,1.000000,1.000000,2,2");
        assert_eq!(lines.len(), 4);
    }

    #[test]
    fn codes_outside_the_list_and_counts_that_disagree_are_errors() {
        let d = Device::Cpu;
        let codes = vec!["a".to_string(), "b".to_string()];
        let t = Tensor::from_slice(&[0u32, 5], (1, 2), &d).unwrap();
        let img = vec![Image::from_fn(2, 1, |_, _| [0; 3])];
        let e = SegmentationInterpretation::new(
            &codes,
            img.clone(),
            &t,
            &t,
            vec![0.1],
            vec!["x".into()],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("code 5"), "{e}");
        let t = Tensor::from_slice(&[0u32, 1], (1, 2), &d).unwrap();
        let e =
            SegmentationInterpretation::new(&codes, img, &t, &t, vec![0.1, 0.2], vec!["x".into()])
                .unwrap_err()
                .to_string();
        assert!(e.contains("2 losses"), "{e}");
    }
}
