//! Fetching an archive into its `.part` file: over HTTP, resuming with a range request, or
//! copied from a mirror folder; with a progress bar.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::{Error, Result};

/// How the network is used.
#[derive(Debug, Clone)]
pub(crate) struct Net {
    /// Connection and read timeout.
    pub timeout: Duration,
    /// Whether to draw a progress bar (on a terminal).
    pub progress: bool,
}

/// Why a download stopped, before it is turned into a user-facing [`Error`] that knows where
/// the archive should go.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The network or the server failed; `kept` bytes stay in the `.part` file.
    Network { reason: String, kept: u64 },
    /// A local file could not be read or written.
    Local(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Self::Local(e)
    }
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A progress bar of bytes, hidden unless asked for (and unless stderr is a terminal).
pub(crate) fn bytes_bar(show: bool, total: Option<u64>, message: String) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = match total {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::no_length(),
    };
    let template = "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}";
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(message);
    bar
}

/// The bytes already in a `.part` file (0 when there is none).
fn part_len(part: &Path) -> u64 {
    std::fs::metadata(part).map(|m| m.len()).unwrap_or(0)
}

/// An agent that uses the environment's proxy, except for loopback addresses (ureq 2 does not
/// read `NO_PROXY`, and a local server or mirror is never behind a proxy).
fn agent(url: &str, net: &Net) -> ureq::Agent {
    let authority = url.split_once("://").map_or(url, |(_, r)| r);
    let loopback = ["localhost", "127.", "[::1]"]
        .iter()
        .any(|h| authority.starts_with(h));
    ureq::AgentBuilder::new()
        .timeout_connect(net.timeout)
        .timeout_read(net.timeout)
        .try_proxy_from_env(!loopback)
        .build()
}

/// Downloads `url` into `part`, resuming from the bytes already there with a
/// `Range: bytes=N-` request. `expected` is the archive's full size when known: a `.part` that
/// already has it needs no request.
pub(crate) fn download(
    url: &str,
    part: &Path,
    expected: Option<u64>,
    net: &Net,
) -> std::result::Result<(), Failure> {
    let mut have = part_len(part);
    if expected.is_some_and(|n| have > n) {
        have = 0;
    }
    if expected.is_some_and(|n| n > 0 && have == n) {
        return Ok(());
    }
    let agent = agent(url, net);
    let mut request = agent.get(url).set("Accept-Encoding", "identity");
    if have > 0 {
        request = request.set("Range", &format!("bytes={have}-"));
    }
    let response = match request.call() {
        Ok(r) => r,
        // The part holds the whole file already, or the server changed: start again.
        Err(ureq::Error::Status(416, _)) if have > 0 => {
            truncate(part)?;
            return download(url, part, expected, net);
        }
        Err(ureq::Error::Status(code, r)) => {
            return Err(Failure::Network {
                reason: format!("the server answered {code} {}", r.status_text()),
                kept: part_len(part),
            });
        }
        Err(ureq::Error::Transport(t)) => {
            // ureq's own text repeats the address, which the error names already.
            let reason = match t.message() {
                Some(m) => format!("{}: {m}", t.kind()),
                None => t.kind().to_string(),
            };
            return Err(Failure::Network {
                reason,
                kept: part_len(part),
            });
        }
    };
    let resumed = response.status() == 206
        && response
            .header("Content-Range")
            .is_some_and(|r| r.starts_with(&format!("bytes {have}-")));
    let start = if resumed { have } else { 0 };
    let length: Option<u64> = response
        .header("Content-Length")
        .and_then(|l| l.trim().parse().ok());
    let total = length.map(|l| start + l).or(expected);

    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(part)
        .map_err(io_err(part))?;
    file.set_len(start).map_err(io_err(part))?;
    file.seek(SeekFrom::Start(start)).map_err(io_err(part))?;

    let name = url.rsplit('/').next().unwrap_or(url).to_string();
    let bar = bytes_bar(net.progress, total, format!("downloading {name}"));
    bar.set_position(start);
    let received = copy_with_bar(&mut response.into_reader(), &mut file, &bar, part);
    bar.finish_and_clear();
    file.sync_all().map_err(io_err(part))?;
    drop(file);
    let received = received.map_err(|reason| Failure::Network {
        reason,
        kept: part_len(part),
    })?;
    if let Some(l) = length
        && received < l
    {
        return Err(Failure::Network {
            reason: format!("the connection closed after {received} of {l} bytes"),
            kept: part_len(part),
        });
    }
    Ok(())
}

fn truncate(part: &Path) -> std::result::Result<(), Failure> {
    File::create(part).map_err(io_err(part))?;
    Ok(())
}

/// Copies a reader to the `.part` file; a read error is the network's (a `String` reason), a
/// write error the disk's.
fn copy_with_bar(
    from: &mut dyn Read,
    to: &mut File,
    bar: &ProgressBar,
    part: &Path,
) -> std::result::Result<u64, String> {
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let k = match from.read(&mut buf) {
            Ok(0) => return Ok(n),
            Ok(k) => k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("the connection failed after {n} bytes ({e})")),
        };
        to.write_all(&buf[..k])
            .map_err(|e| format!("cannot write {}: {e}", part.display()))?;
        n += k as u64;
        bar.inc(k as u64);
    }
}

/// Copies an archive from a mirror folder into the `.part` file.
pub(crate) fn copy_from_folder(from: &Path, part: &Path, net: &Net) -> Result<()> {
    let mut src = File::open(from).map_err(io_err(from))?;
    let total = src.metadata().map(|m| m.len()).ok();
    let mut dst = File::create(part).map_err(io_err(part))?;
    let name = from.file_name().unwrap_or_default().to_string_lossy();
    let bar = bytes_bar(net.progress, total, format!("copying {name}"));
    let copied = std::io::copy(&mut bar.wrap_read(&mut src), &mut dst);
    bar.finish_and_clear();
    copied.map_err(io_err(part))?;
    dst.sync_all().map_err(io_err(part))
}
