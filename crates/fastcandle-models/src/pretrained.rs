//! Where a body's starting weights come from, as the command line and config files name it:
//! `none`, `hub`, or the path of a file.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// Where a body's starting weights come from.
///
/// It parses from and prints as the words `cargo xtask train --pretrained` takes:
///
/// ```
/// use fastcandle_models::Pretrained;
/// assert_eq!("none".parse::<Pretrained>().unwrap(), Pretrained::No);
/// assert_eq!("hub".parse::<Pretrained>().unwrap(), Pretrained::Hub);
/// let file: Pretrained = "weights/resnet34.safetensors".parse().unwrap();
/// assert_eq!(file, Pretrained::File("weights/resnet34.safetensors".into()));
/// assert_eq!(file.to_string(), "weights/resnet34.safetensors");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Pretrained {
    /// Random initialisation, as torchvision's.
    #[default]
    No,
    /// A weights file with torchvision's names: safetensors, or a PyTorch checkpoint
    /// (`.pth`/`.pt`, zip or legacy format, a state dict possibly nested under `model` or
    /// `state_dict`; see [`crate::pth`]). A full checkpoint's classifier and
    /// `num_batches_tracked` keys are skipped, and old key names renamed as the architecture's
    /// [`crate::Arch::old_names`] table says.
    File(PathBuf),
    /// The architecture's ImageNet weights on the Hugging Face hub (through its cache;
    /// `HF_HUB_OFFLINE` honoured).
    Hub,
}

/// An empty `--pretrained` value: neither `none`, `hub` nor a file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("pretrained weights: an empty value (give `none`, `hub` or the path of a weights file)")]
pub struct EmptyPretrained;

impl FromStr for Pretrained {
    type Err = EmptyPretrained;

    /// `none` (or `no`) and `hub`, ignoring case; any other text is the path of a file (which
    /// is read when the model is built, and an error naming it there if it cannot be).
    fn from_str(s: &str) -> Result<Self, EmptyPretrained> {
        let word = s.trim();
        match word.to_ascii_lowercase().as_str() {
            "" => Err(EmptyPretrained),
            "none" | "no" => Ok(Pretrained::No),
            "hub" => Ok(Pretrained::Hub),
            _ => Ok(Pretrained::File(PathBuf::from(word))),
        }
    }
}

impl fmt::Display for Pretrained {
    /// `none`, `hub`, or the file's path: the text [`FromStr`] reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pretrained::No => f.write_str("none"),
            Pretrained::Hub => f.write_str("hub"),
            Pretrained::File(p) => write!(f, "{}", p.display()),
        }
    }
}

impl Pretrained {
    /// Whether the body starts from trained weights (a file or the hub).
    pub fn is_pretrained(&self) -> bool {
        *self != Pretrained::No
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_files_round_trip() {
        for (text, want) in [
            ("none", Pretrained::No),
            ("NONE", Pretrained::No),
            ("no", Pretrained::No),
            ("hub", Pretrained::Hub),
            (" Hub ", Pretrained::Hub),
            (
                "a/b.safetensors",
                Pretrained::File("a/b.safetensors".into()),
            ),
        ] {
            let got: Pretrained = text.parse().unwrap();
            assert_eq!(got, want, "{text}");
            assert_eq!(got.to_string().parse::<Pretrained>().unwrap(), got);
        }
        assert_eq!(Pretrained::No.to_string(), "none");
        assert_eq!(Pretrained::Hub.to_string(), "hub");
    }

    #[test]
    fn an_empty_value_is_an_error() {
        let err = "  ".parse::<Pretrained>().unwrap_err();
        assert!(err.to_string().contains("none"), "{err}");
    }

    #[test]
    fn only_none_is_not_pretrained() {
        assert!(!Pretrained::No.is_pretrained());
        assert!(Pretrained::Hub.is_pretrained());
        assert!(Pretrained::File("w.safetensors".into()).is_pretrained());
    }
}
