//! Helpers shared by the integration tests.

use std::path::PathBuf;

/// The shared data folder `name` (under `../shared/data` from the workspace root), or `None`
/// (with a note) when it is absent, so that the tests run without it; on CI (`CI=true`) its
/// absence fails the test.
pub fn shared_data(name: &str) -> Option<PathBuf> {
    let dir =
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data")).join(name);
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{} is missing on CI",
        dir.display()
    );
    eprintln!(
        "note: {} is absent; skipping the real-data test",
        dir.display()
    );
    None
}
