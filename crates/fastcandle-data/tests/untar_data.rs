//! untar_data end to end, against a small HTTP/1.1 server on 127.0.0.1 that serves archives the
//! tests build: download and extraction, the cache, resuming, checks, a killed extraction,
//! concurrent calls, mirrors, and bad input. No test touches the internet.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use fastcandle_data::Error;
use fastcandle_data::datasets::{Dataset, FileCheck, UntarData, register};

/// An address where nothing listens (the discard port): a test using it proves it needs no
/// network.
const NOWHERE: &str = "http://127.0.0.1:9";

/// A tiny HTTP/1.1 server: serves files by path, answers `Range: bytes=N-` with 206, can cut the
/// next response after K body bytes, and counts what it was asked.
#[derive(Clone)]
struct Server {
    base: String,
    files: Arc<Mutex<HashMap<String, Vec<u8>>>>,
    requests: Arc<AtomicUsize>,
    ranges: Arc<Mutex<Vec<String>>>,
    paths: Arc<Mutex<Vec<String>>>,
    cut_after: Arc<Mutex<Option<usize>>>,
}

impl Server {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let server = Self {
            base: format!("http://{}", listener.local_addr().unwrap()),
            files: Default::default(),
            requests: Default::default(),
            ranges: Default::default(),
            paths: Default::default(),
            cut_after: Default::default(),
        };
        let s = server.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let s = s.clone();
                std::thread::spawn(move || s.answer(stream));
            }
        });
        server
    }

    fn serve(&self, path: &str, body: Vec<u8>) -> String {
        self.files.lock().unwrap().insert(path.to_string(), body);
        format!("{}{path}", self.base)
    }

    fn cut_next_after(&self, bytes: usize) {
        *self.cut_after.lock().unwrap() = Some(bytes);
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    fn answer(&self, mut stream: TcpStream) {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
        let mut range = None;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':')
                && k.eq_ignore_ascii_case("range")
            {
                range = Some(v.trim().to_string());
            }
        }
        self.requests.fetch_add(1, Ordering::SeqCst);
        self.paths.lock().unwrap().push(path.clone());
        if let Some(r) = &range {
            self.ranges.lock().unwrap().push(r.clone());
        }
        let Some(body) = self.files.lock().unwrap().get(&path).cloned() else {
            let _ = stream.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
            return;
        };
        let start = range
            .as_deref()
            .and_then(|r| r.strip_prefix("bytes="))
            .and_then(|r| r.strip_suffix('-'))
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|&n| n < body.len());
        let (head, slice) = match start {
            Some(n) => (
                format!(
                    "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {n}-{}/{}\r\n",
                    body.len() - 1,
                    body.len()
                ),
                &body[n..],
            ),
            None => ("HTTP/1.1 200 OK\r\n".to_string(), &body[..]),
        };
        let head = format!(
            "{head}Content-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
            slice.len()
        );
        let cut = self.cut_after.lock().unwrap().take();
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(&slice[..cut.unwrap_or(slice.len()).min(slice.len())]);
        let _ = stream.flush();
        let _ = stream.shutdown(std::net::Shutdown::Both);
    }
}

/// Bytes that do not compress (a simple LCG), so that archives have the size we ask for.
fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 56) as u8
        })
        .collect()
}

/// A `.tgz` of `files` under one root folder, as fastai's archives are.
fn tgz(root: &str, files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut b = tar::Builder::new(gz);
    for (path, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, format!("{root}/{path}"), &data[..])
            .unwrap();
    }
    b.into_inner().unwrap().finish().unwrap()
}

/// The test data set: a root folder `tiny` with a text file, a label file and 1.5 MiB of noise
/// (so that the check's first MiB is not the whole file).
fn tiny_files() -> Vec<(String, Vec<u8>)> {
    vec![
        ("codes.txt".into(), b"Void\nSky\n".to_vec()),
        ("images/a.bin".into(), noise(3 << 19, 1)),
        ("labels/a_P.bin".into(), noise(1000, 2)),
    ]
}

fn assert_tiny(dir: &Path) {
    for (path, data) in tiny_files() {
        assert_eq!(std::fs::read(dir.join(&path)).unwrap(), data, "{path}");
    }
}

fn options(dataset: Dataset, root: &Path) -> UntarData {
    UntarData::dataset(dataset)
        .cache_root(root)
        .no_mirror()
        .progress(false)
        .timeout(Duration::from_secs(10))
}

/// The tiny archive served at `path`, and its data set with fastai's check.
fn served_tiny(server: &Server, path: &str) -> (Dataset, Vec<u8>) {
    let archive = tgz("tiny", &tiny_files());
    let url = server.serve(path, archive.clone());
    let check = FileCheck::of_bytes(&archive);
    (
        Dataset::new("TINY", url).check(check.size, check.md5),
        archive,
    )
}

#[test]
fn first_call_downloads_and_extracts_second_touches_no_network() {
    let server = Server::start();
    let (dataset, archive) = served_tiny(&server, "/fast-ai-sample/tiny.tgz");
    let root = tempfile::tempdir().unwrap();
    let path = options(dataset.clone(), root.path()).get().unwrap();
    assert_eq!(path, root.path().join("data").join("tiny"));
    assert_tiny(&path);
    assert_eq!(
        std::fs::read(root.path().join("archive/tiny.tgz")).unwrap(),
        archive
    );
    assert_eq!(server.requests(), 1);
    assert!(server.ranges.lock().unwrap().is_empty());

    let again = options(dataset.clone(), root.path()).get().unwrap();
    assert_eq!(again, path);
    assert_eq!(server.requests(), 1, "the second call used the network");
    // Only the data set's folder is in the data cache: no temporary folder is left over.
    let names: Vec<_> = std::fs::read_dir(root.path().join("data"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["tiny"]);

    // A registered data set is found by its name.
    register(dataset.clone().folder("tiny").clone()).unwrap();
    let by_name = UntarData::new("tiny")
        .cache_root(root.path())
        .no_mirror()
        .progress(false)
        .get()
        .unwrap();
    assert_eq!(by_name, path);
    assert_eq!(server.requests(), 1);

    // force: a fresh download and extraction.
    std::fs::remove_file(path.join("codes.txt")).unwrap();
    options(dataset, root.path()).force(true).get().unwrap();
    assert_tiny(&path);
    assert_eq!(server.requests(), 2);
}

#[test]
fn a_cut_connection_is_resumed_by_the_next_call() {
    let server = Server::start();
    let (dataset, archive) = served_tiny(&server, "/d/tiny.tgz");
    let half = archive.len() / 2;
    server.cut_next_after(half);
    let root = tempfile::tempdir().unwrap();

    let err = options(dataset.clone(), root.path())
        .retries(0)
        .get()
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, Error::Download { kept, .. } if kept == half as u64),
        "{msg}"
    );
    assert!(
        msg.contains(&dataset.url) && msg.contains("resumes"),
        "{msg}"
    );
    let part = root.path().join("archive/tiny.tgz.part");
    assert_eq!(std::fs::metadata(&part).unwrap().len(), half as u64);
    assert!(!root.path().join("data/tiny").exists());

    let path = options(dataset, root.path()).get().unwrap();
    assert_tiny(&path);
    assert_eq!(server.requests(), 2);
    assert_eq!(*server.ranges.lock().unwrap(), [format!("bytes={half}-")]);
    assert!(!part.exists());
}

#[test]
fn a_cut_connection_is_resumed_within_the_call() {
    let server = Server::start();
    let (dataset, archive) = served_tiny(&server, "/d/tiny.tgz");
    server.cut_next_after(archive.len() / 3);
    let root = tempfile::tempdir().unwrap();
    let path = options(dataset, root.path()).get().unwrap();
    assert_tiny(&path);
    assert_eq!(server.requests(), 2);
    assert_eq!(
        *server.ranges.lock().unwrap(),
        [format!("bytes={}-", archive.len() / 3)]
    );
}

#[test]
fn a_wrong_checksum_downloads_once_more_then_fails_naming_both() {
    let server = Server::start();
    let (dataset, archive) = served_tiny(&server, "/d/tiny.tgz");
    let wrong = "0123456789abcdef0123456789abcdef";
    let dataset = dataset.check(archive.len() as u64, wrong);
    let root = tempfile::tempdir().unwrap();
    let err = options(dataset.clone(), root.path()).get().unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Checksum { .. }), "{msg}");
    let found = FileCheck::of_bytes(&archive).md5;
    assert!(
        msg.contains(&dataset.url) && msg.contains(wrong) && msg.contains(&found),
        "{msg}"
    );
    assert_eq!(server.requests(), 2, "one download, then exactly one more");
    assert!(!root.path().join("data/tiny").exists());
}

#[test]
fn a_cached_archive_that_fails_its_check_is_downloaded_again() {
    let server = Server::start();
    let (dataset, _) = served_tiny(&server, "/d/tiny.tgz");
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("archive")).unwrap();
    std::fs::write(root.path().join("archive/tiny.tgz"), b"an old version").unwrap();
    let path = options(dataset, root.path()).get().unwrap();
    assert_tiny(&path);
    assert_eq!(server.requests(), 1);
}

/// The environment variable that turns [`kill_helper_extracts_when_asked`] into the child of
/// [`a_killed_extraction_leaves_nothing_that_looks_complete`].
const CHILD_ENV: &str = "FASTCANDLE_TEST_EXTRACT_CHILD";
const BIG_URL: &str = "http://127.0.0.1:9/big.tgz";
const BIG_FILES: usize = 20_000;

/// Not a test of its own: when [`CHILD_ENV`] names a cache root, extracts the big archive there
/// (the parent kills this process half way).
#[test]
fn kill_helper_extracts_when_asked() {
    if let Some(root) = std::env::var_os(CHILD_ENV) {
        let _ = options(Dataset::from_url(BIG_URL), Path::new(&root)).get();
    }
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| {
                    if e.file_type().unwrap().is_dir() {
                        count_files(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

fn partials(data: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(data)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .unwrap()
                        .to_string_lossy()
                        .starts_with(".big.partial-")
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_killed_extraction_leaves_nothing_that_looks_complete() {
    let root = tempfile::tempdir().unwrap();
    // Many small files: extraction takes a while, the archive stays small. It sits in the
    // archive cache already and has no check, so no network is involved.
    let files: Vec<(String, Vec<u8>)> = (0..BIG_FILES)
        .map(|i| {
            (
                format!("d{}/f{i}.txt", i % 100),
                format!("file {i}\n").into_bytes(),
            )
        })
        .collect();
    std::fs::create_dir_all(root.path().join("archive")).unwrap();
    std::fs::write(root.path().join("archive/big.tgz"), tgz("big", &files)).unwrap();
    let data = root.path().join("data");

    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "kill_helper_extracts_when_asked",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, root.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        // Kill it once it has extracted some files, but not all.
        let done = partials(&data)
            .iter()
            .map(|p| count_files(p))
            .sum::<usize>();
        if done >= 50 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the child never extracted"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the child ended before it was killed"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !data.join("big").exists(),
        "extraction finished before the kill"
    );
    assert_eq!(
        partials(&data).len(),
        1,
        "the killed extraction left its hidden folder"
    );

    let path = options(Dataset::from_url(BIG_URL), root.path())
        .get()
        .unwrap();
    assert_eq!(count_files(&path), BIG_FILES);
    assert!(partials(&data).is_empty(), "the leftover was cleaned up");
}

#[test]
fn concurrent_calls_make_one_good_copy() {
    let server = Server::start();
    let (dataset, _) = served_tiny(&server, "/d/tiny.tgz");
    let root = tempfile::tempdir().unwrap();
    let barrier = Arc::new(Barrier::new(4));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (dataset, root, barrier) =
                (dataset.clone(), root.path().to_path_buf(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                options(dataset, &root).get()
            })
        })
        .collect();
    let paths: Vec<PathBuf> = threads
        .into_iter()
        .map(|t| t.join().unwrap().unwrap())
        .collect();
    assert!(paths.iter().all(|p| *p == paths[0]));
    assert_tiny(&paths[0]);
    assert_eq!(server.requests(), 1, "one download for all callers");
}

#[test]
fn a_mirror_folder_serves_without_network_and_offline_errors_say_what_to_do() {
    let archive = tgz("tiny", &tiny_files());
    let check = FileCheck::of_bytes(&archive);
    let url = format!("{NOWHERE}/fast-ai-sample/tiny.tgz");
    let dataset = Dataset::new("TINY", &url).check(check.size, check.md5.clone());

    // Offline, no mirror: the error names the address, where to put the archive, and the mirror.
    let root = tempfile::tempdir().unwrap();
    let err = options(dataset.clone(), root.path()).get().unwrap_err();
    let msg = err.to_string();
    let archive_path = root.path().join("archive").join("tiny.tgz");
    assert!(matches!(err, Error::Download { .. }), "{msg}");
    assert!(
        msg.contains(&url)
            && msg.contains(&archive_path.display().to_string())
            && msg.contains("FASTCANDLE_MIRROR")
            && msg.contains("fast-ai-sample/tiny.tgz"),
        "{msg}"
    );

    // A mirror folder laid out like the address's path.
    let mirror = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(mirror.path().join("fast-ai-sample")).unwrap();
    std::fs::write(mirror.path().join("fast-ai-sample/tiny.tgz"), &archive).unwrap();
    let path = options(dataset.clone(), root.path())
        .mirror(mirror.path().display().to_string())
        .get()
        .unwrap();
    assert_tiny(&path);

    // A mirror folder without the archive says where it should be.
    let empty = tempfile::tempdir().unwrap();
    let err = options(dataset, tempfile::tempdir().unwrap().path())
        .mirror(empty.path().display().to_string())
        .get()
        .unwrap_err();
    assert!(matches!(err, Error::MirrorMissing { .. }), "{err}");
    assert!(err.to_string().contains("fast-ai-sample/tiny.tgz"), "{err}");

    // The archive put by hand where the offline error said is used as is.
    let by_hand = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(by_hand.path().join("archive")).unwrap();
    std::fs::write(by_hand.path().join("archive/tiny.tgz"), &archive).unwrap();
    let url_only = Dataset::new("TINY", &url).check(check.size, check.md5);
    assert_tiny(&options(url_only, by_hand.path()).get().unwrap());
}

#[test]
fn a_mirror_address_serves_the_archive_at_the_same_path() {
    let server = Server::start();
    let archive = tgz("tiny", &tiny_files());
    server.serve("/mirror/fast-ai-sample/tiny.tgz", archive.clone());
    let check = FileCheck::of_bytes(&archive);
    let dataset = Dataset::new("TINY", format!("{NOWHERE}/fast-ai-sample/tiny.tgz"))
        .check(check.size, check.md5);
    let root = tempfile::tempdir().unwrap();
    let path = options(dataset, root.path())
        .mirror(format!("{}/mirror/", server.base))
        .get()
        .unwrap();
    assert_tiny(&path);
    assert_eq!(
        *server.paths.lock().unwrap(),
        ["/mirror/fast-ai-sample/tiny.tgz"]
    );
}

#[test]
fn a_cache_folder_that_cannot_be_made_says_where_archives_go_and_how_to_move_them() {
    // A file where the cache root should be: no user, root included, can make folders in it.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("not-a-folder");
    std::fs::write(&root, b"").unwrap();
    let err = options(Dataset::from_url("http://127.0.0.1:9/x/tiny.tgz"), &root)
        .get()
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::CacheFolder { .. }), "{msg}");
    assert!(
        msg.contains("cannot create the cache folder")
            && msg.contains("not-a-folder")
            && msg.contains("FASTCANDLE_HOME"),
        "{msg}"
    );
}

#[test]
fn an_unknown_name_lists_the_known_ones() {
    let root = tempfile::tempdir().unwrap();
    let err = UntarData::new("PETZ")
        .cache_root(root.path())
        .no_mirror()
        .get()
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::UnknownDataset { .. }), "{msg}");
    assert!(
        msg.contains("PETZ") && msg.contains("PETS") && msg.contains("MNIST_TINY"),
        "{msg}"
    );
}

#[test]
fn an_archive_that_is_not_a_tar_is_a_clear_error() {
    let server = Server::start();
    let url = server.serve("/d/page.tgz", b"<html><body>Moved</body></html>".to_vec());
    let root = tempfile::tempdir().unwrap();
    let err = options(Dataset::from_url(&url), root.path())
        .get()
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::NotAnArchive { .. }), "{msg}");
    assert!(msg.contains(&url) && msg.contains("not a .tgz"), "{msg}");
    assert!(
        !root.path().join("archive/page.tgz").exists(),
        "the bad archive was kept"
    );
    assert!(!root.path().join("data/page").exists());
}

#[test]
fn a_missing_file_on_the_server_names_the_status() {
    let server = Server::start();
    let url = format!("{}/d/none.tgz", server.base);
    let root = tempfile::tempdir().unwrap();
    let err = options(Dataset::from_url(&url), root.path())
        .get()
        .unwrap_err();
    assert!(
        err.to_string().contains("404") && err.to_string().contains(&url),
        "{err}"
    );
}
