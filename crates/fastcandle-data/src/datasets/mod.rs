//! Downloadable data sets: fastai's registry ([`Urls`], [`datasets`]) and [`untar_data`].
//!
//! `untar_data(Urls::PETS)` downloads the archive into the archive cache, checks its size and
//! the md5 of its first MiB against the registry (as fastai does), extracts it into the data
//! cache, and returns the extracted folder; later calls return that folder with no network.
//!
//! - The cache root is `FASTCANDLE_HOME` when set, else `<user cache>/fastcandle`
//!   ([`CacheDirs`]); archives go to `archive/`, data sets to `data/<folder>`.
//! - A broken download resumes (an HTTP range request on the `.part` file).
//! - An archive that fails its check is downloaded again once; a second failure is an error that
//!   names the address and both checks.
//! - Extraction goes to a hidden folder renamed into place, so a killed process never leaves a
//!   folder that looks complete; a lock file per archive lets two processes ask at once.
//! - `FASTCANDLE_MIRROR` ([`Mirror`]) names a base address or a local folder that serves the
//!   archives (laid out like the addresses' paths), for machines with no internet.
//!
//! ```no_run
//! use fastcandle_data::datasets::{untar_data, Urls};
//! # fn main() -> fastcandle_data::Result<()> {
//! let path = untar_data(Urls::PETS)?.join("images");
//! let adult = untar_data("ADULT_SAMPLE")?; // a registry name works too
//! # Ok(())
//! # }
//! ```

mod cache;
mod checksum;
mod download;
mod extract;
mod lock;
mod mirror;
mod registry;
mod untar;
mod urls;

pub use cache::{CacheDirs, HOME_ENV, cache_root};
pub use checksum::{FileCheck, HASHED_BYTES};
pub use mirror::{MIRROR_ENV, Mirror};
pub use registry::{Dataset, datasets, lookup, parse_registry, register, register_json};
pub use untar::{DatasetPaths, UntarData, untar_data};
pub use urls::Urls;
