//! The loaders of a segmentation set: fastai's `SegmentationDataLoaders`, the data side of
//! `DataBlock(blocks=(ImageBlock, MaskBlock(codes)))`.

use super::image_items::ImageItems;
use super::loader_core::{HasLoaderCore, LoaderCore, data_loaders};
use super::mask::Masks;
use crate::error::{Error, Result};
use crate::vision::items::codes::Codes;
use crate::vision::items::split::ItemSplitter;
use candle_core::Device;
use std::path::{Path, PathBuf};

/// The training and validation loaders of a segmentation set: images and their masks.
///
/// A batch is `xs = [images f32 [B, 3, H, W]]`, scaled and normalised as
/// [`ImageLoader`](crate::vision::ImageLoader)'s, and `ys = masks u32 [B, H, W]`, the class code of
/// each pixel (an index into [`Self::codes`]).
///
/// Masks are read as integers ([`decode_mask`](crate::vision::decode_mask): 8-bit grey, or a palette
/// PNG's indices) when their batch is made; a mask that is missing, cannot be decoded, is not
/// of its image's size, or holds a code of `codes.len()` or more fails the batch with an error
/// naming the mask and its image. An image and its mask get the same item transforms' window
/// (bilinear for the image, nearest for the mask) and, in training, the same augmentation
/// draw (flip, rotate, zoom, warp; nearest for the mask, padded as the image); lighting only
/// changes the image. Order, seeds, prefetching and parallelism are those of `ImageLoader`.
#[derive(Debug, Clone)]
pub struct SegmentationLoader {
    core: LoaderCore,
    codes: Codes,
}

impl SegmentationLoader {
    /// Loaders over `images` and their `masks` (the same length, in the same order), split by
    /// `(train, valid)` indices into them, with the class names `codes`: batch size 64, seed 0,
    /// no transform, on `device`.
    ///
    /// Lists of different lengths, an index out of range, no training item, no code, or a
    /// mask file that does not exist (an error naming it and its image) are errors.
    pub fn from_split(
        images: &[PathBuf],
        masks: &[PathBuf],
        (train, valid): (Vec<usize>, Vec<usize>),
        codes: Codes,
        device: Device,
    ) -> Result<Self> {
        let bad = |reason: String| Error::BadData {
            what: "the segmentation loader".into(),
            reason,
        };
        if images.len() != masks.len() {
            return Err(bad(format!(
                "{} images but {} masks",
                images.len(),
                masks.len()
            )));
        }
        if codes.is_empty() {
            return Err(bad("there is no code (class name)".into()));
        }
        if train.is_empty() {
            return Err(bad("there are no training items".into()));
        }
        let pick = |idx: &[usize]| -> Result<(ImageItems, Masks)> {
            let mut paths = (Vec::new(), Vec::new());
            for &i in idx {
                let (Some(image), Some(mask)) = (images.get(i), masks.get(i)) else {
                    return Err(bad(format!("item {i} of {} does not exist", images.len())));
                };
                if !mask.is_file() {
                    return Err(Error::BadMask {
                        mask: mask.clone(),
                        image: Some(image.clone()),
                        reason: "there is no such file; check the masks' folder and names (the \
                                 label function)"
                            .into(),
                    });
                }
                paths.0.push(image.clone());
                paths.1.push(mask.clone());
            }
            let n = paths.0.len();
            let items = ImageItems::new(paths.0, vec![0; n])?;
            Ok((
                items,
                Masks {
                    paths: paths.1,
                    n_codes: codes.len(),
                },
            ))
        };
        let (train, train_masks) = pick(&train)?;
        let (valid, valid_masks) = pick(&valid)?;
        Ok(Self {
            core: LoaderCore::new(train, valid, Some((train_masks, valid_masks)), device),
            codes,
        })
    }

    /// Loaders over `images` and their `masks`, split by `splitter` (which sees the images'
    /// paths: any [`ItemSplitter`], such as [`FileSplitter`](crate::vision::FileSplitter) on
    /// `valid.txt` or [`RandomSplitter`](crate::RandomSplitter)).
    pub fn from_paths(
        images: &[PathBuf],
        masks: &[PathBuf],
        splitter: &dyn ItemSplitter,
        codes: Codes,
        device: Device,
    ) -> Result<Self> {
        let split = splitter.split_items(images)?;
        Self::from_split(images, masks, split, codes, device)
    }

    /// fastai's `SegmentationDataLoaders.from_label_func`: the mask of each image is the file
    /// `label_func(image)` (for CamVid, `labels/{stem}_P.png`); split by `splitter`.
    pub fn from_label_func(
        images: &[PathBuf],
        label_func: impl Fn(&Path) -> PathBuf,
        splitter: &dyn ItemSplitter,
        codes: Codes,
        device: Device,
    ) -> Result<Self> {
        let masks: Vec<PathBuf> = images.iter().map(|p| label_func(p)).collect();
        Self::from_paths(images, &masks, splitter, codes, device)
    }

    /// The class names of the codes.
    pub fn codes(&self) -> &Codes {
        &self.codes
    }

    /// The class names, in code order (the loader's vocabulary).
    pub fn classes(&self) -> &[String] {
        self.codes.names()
    }

    /// The training images.
    pub fn train_images(&self) -> &[PathBuf] {
        &self.core.train.paths
    }

    /// The validation images.
    pub fn valid_images(&self) -> &[PathBuf] {
        &self.core.valid.paths
    }

    /// The masks of the training images.
    pub fn train_masks(&self) -> &[PathBuf] {
        self.core.masks.as_ref().map_or(&[], |m| &m.0.paths)
    }

    /// The masks of the validation images.
    pub fn valid_masks(&self) -> &[PathBuf] {
        self.core.masks.as_ref().map_or(&[], |m| &m.1.paths)
    }
}

impl HasLoaderCore for SegmentationLoader {
    fn core(&self) -> &LoaderCore {
        &self.core
    }

    fn core_mut(&mut self) -> &mut LoaderCore {
        &mut self.core
    }
}

data_loaders!(SegmentationLoader);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vision::Image;
    use crate::vision::save_mask;

    #[test]
    fn construction_checks_lists_codes_and_mask_files() {
        let dir = tempfile::tempdir().unwrap();
        let img = dir.path().join("a.png");
        let mask = dir.path().join("a_P.png");
        image::RgbImage::new(2, 2).save(&img).unwrap();
        save_mask(&mask, &Image::new(2, 2, 1, vec![0; 4]).unwrap(), None).unwrap();
        let codes = || Codes::new(vec!["x".into(), "y".into()]);
        let images = vec![img.clone(), img.clone()];
        let ok = SegmentationLoader::from_split(
            &images,
            &[mask.clone(), mask.clone()],
            (vec![0], vec![1]),
            codes(),
            Device::Cpu,
        )
        .unwrap();
        assert_eq!(ok.classes(), ["x", "y"]);
        assert_eq!(
            (ok.train_masks(), ok.valid_images()),
            (&[mask.clone()][..], &[img][..])
        );
        let err = |masks: &[PathBuf], split: (Vec<usize>, Vec<usize>), codes: Codes| {
            SegmentationLoader::from_split(&images, masks, split, codes, Device::Cpu)
                .unwrap_err()
                .to_string()
        };
        let two = [mask.clone(), mask.clone()];
        assert!(err(&two[..1], (vec![0], vec![]), codes()).contains("2 images but 1 masks"));
        assert!(err(&two, (vec![0], vec![]), Codes::default()).contains("no code"));
        assert!(err(&two, (vec![], vec![0]), codes()).contains("no training"));
        assert!(err(&two, (vec![0], vec![5]), codes()).contains("item 5"));
        let gone = [mask.clone(), dir.path().join("b_P.png")];
        let e = err(&gone, (vec![0], vec![1]), codes());
        assert!(e.contains("b_P.png") && e.contains("a.png"), "{e}");
    }
}
