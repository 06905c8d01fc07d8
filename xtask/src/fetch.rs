//! `cargo xtask fetch <NAME>|--all|--list`: downloads and extracts registry data sets with
//! `untar_data`, and prints where each one is.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;
use fastcandle::data::datasets::{UntarData, datasets};

/// Options of `cargo xtask fetch`.
#[derive(Args, Debug)]
pub struct FetchArgs {
    /// A registry name (PETS, CAMVID_TINY, ADULT_SAMPLE, ...; any case) or a .tgz address.
    #[arg(required_unless_present_any = ["all", "list"], conflicts_with = "all")]
    name: Option<String>,
    /// Fetches every data set of the registry (tens of gigabytes).
    #[arg(long)]
    all: bool,
    /// Lists the registry's data sets (name, size, address) and fetches nothing.
    #[arg(long)]
    list: bool,
    /// Downloads and extracts afresh, replacing the cached copy.
    #[arg(long)]
    force: bool,
    /// The cache root (archives in `HOME/archive`, data in `HOME/data`) instead of
    /// FASTCANDLE_HOME's or the user cache's.
    #[arg(long, value_name = "HOME")]
    home: Option<PathBuf>,
}

/// Runs `cargo xtask fetch`.
pub fn run(args: FetchArgs) -> Result<()> {
    if args.list {
        for d in datasets() {
            let size = d.check.as_ref().map_or("?".to_string(), |c| {
                format!("{:.1} MB", c.size as f64 / 1e6)
            });
            println!("{:<24} {:>10}  {}", d.name, size, d.url);
        }
        return Ok(());
    }
    let names: Vec<String> = match (&args.name, args.all) {
        (_, true) => datasets().into_iter().map(|d| d.name).collect(),
        (Some(n), false) => vec![n.clone()],
        (None, false) => bail!("name a data set, or pass --all or --list"),
    };
    let mut failed = Vec::new();
    for name in &names {
        let mut opts = UntarData::new(name).force(args.force);
        if let Some(home) = &args.home {
            opts = opts.cache_root(home);
        }
        match opts.get() {
            Ok(path) => println!("{name}: {}", path.display()),
            Err(e) if names.len() > 1 => {
                eprintln!("{name}: {e}");
                failed.push(name.as_str());
            }
            Err(e) => return Err(e.into()),
        }
    }
    if !failed.is_empty() {
        bail!("{} data set(s) failed: {}", failed.len(), failed.join(", "));
    }
    Ok(())
}
