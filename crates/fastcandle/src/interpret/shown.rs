//! How an interpretation shows its items: images in a captioned grid, or rows in a table.

use super::classification::TopLoss;
use crate::error::Result;
use crate::plot::plot_table;
use fastcandle_data::audio::AudioLoader;
use fastcandle_data::vision::{Image, ImageItems, ImageLoader, save_captioned_grid};
use std::path::Path;

/// The bar colour of a right prediction (green) and of a wrong one (red).
const RIGHT: [u8; 3] = [44, 160, 44];
/// The bar colour of a wrong prediction.
const WRONG: [u8; 3] = [214, 39, 40];

/// What the items of an interpretation are, to show them.
pub(crate) enum Shown {
    /// Only their descriptions: shown in a table.
    Text,
    /// Images: `items` read again through `loader`'s validation transforms.
    Images {
        loader: Box<ImageLoader>,
        items: ImageItems,
    },
    /// Recordings: the validation items of `loader`, shown as their spectrograms.
    Recordings { loader: Box<AudioLoader> },
    /// Table rows, decoded: shown in a table with their columns.
    Rows {
        header: Vec<String>,
        rows: Vec<Vec<String>>,
    },
}

impl Shown {
    /// Writes the picture of the `top` losses to `path`: images captioned
    /// `predicted/actual` over `loss 2.31, p 0.95` (the probability of the prediction), rows as
    /// a table with those columns.
    pub(crate) fn plot_top_losses(&self, top: &[TopLoss], path: &Path) -> Result<()> {
        let scores = |t: &TopLoss| {
            vec![
                t.predicted.clone(),
                t.actual.clone(),
                format!("{:.2}", t.loss),
                format!("{:.2}", t.probability),
            ]
        };
        let title = "Top losses: predicted / actual / loss / probability";
        match self {
            Shown::Text => {
                let header = ["item", "predicted", "actual", "loss", "probability"];
                let rows: Vec<Vec<String>> = top
                    .iter()
                    .map(|t| std::iter::once(t.item.clone()).chain(scores(t)).collect())
                    .collect();
                plot_table(title, &strings(&header), &rows, path)
            }
            Shown::Rows { header, rows } => {
                let mut head = header.clone();
                head.extend(strings(&["predicted", "actual", "loss", "probability"]));
                let rows: Vec<Vec<String>> = top
                    .iter()
                    .map(|t| {
                        let mut r = rows.get(t.index).cloned().unwrap_or_default();
                        r.extend(scores(t));
                        r
                    })
                    .collect();
                plot_table(title, &head, &rows, path)
            }
            Shown::Images { loader, items } => {
                let idx: Vec<usize> = top.iter().map(|t| t.index).collect();
                let images = super::vision::images_of(loader, items.subset(&idx))?;
                captioned_grid(&images, top, path)
            }
            Shown::Recordings { loader } => {
                let idx: Vec<usize> = top.iter().map(|t| t.index).collect();
                let images = super::audio::spectrograms_of(loader, &idx)?;
                captioned_grid(&images, top, path)
            }
        }
    }
}

/// fastai's `show_results` picture: `images` in a grid, each captioned with its prediction
/// over `actual: <label>` (`pairs` of predicted and actual labels), under a green bar when right
/// and a red one when wrong.
pub(crate) fn save_results(
    images: &[Image],
    pairs: &[(String, String)],
    path: &Path,
) -> Result<()> {
    let captions: Vec<String> = pairs
        .iter()
        .map(|(p, a)| format!("{p}\nactual: {a}"))
        .collect();
    let colours: Vec<[u8; 3]> = pairs
        .iter()
        .map(|(p, a)| if p == a { RIGHT } else { WRONG })
        .collect();
    Ok(save_captioned_grid(images, &captions, &colours, path)?)
}

/// `images` in a grid, each captioned `predicted/actual` over `loss 2.31, p 0.95`, under a
/// green bar when right and a red one when wrong.
fn captioned_grid(images: &[Image], top: &[TopLoss], path: &Path) -> Result<()> {
    let captions: Vec<String> = top
        .iter()
        .map(|t| {
            format!(
                "{}/{}\nloss {:.2}, p {:.2}",
                t.predicted, t.actual, t.loss, t.probability
            )
        })
        .collect();
    let colours: Vec<[u8; 3]> = top
        .iter()
        .map(|t| {
            if t.predicted == t.actual {
                RIGHT
            } else {
                WRONG
            }
        })
        .collect();
    Ok(save_captioned_grid(images, &captions, &colours, path)?)
}

/// `names` as owned strings.
pub(crate) fn strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}
