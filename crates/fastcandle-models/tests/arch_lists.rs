//! Architectures are listed once, in the `archs!` list: the READMEs and the pages of `docs/`
//! name `Arch`, `Arch::names()` or `--help` instead of copying the list, so that adding an
//! architecture is one file and one line (docs/adding-an-architecture.md).

use fastcandle_models::Arch;
use std::path::{Path, PathBuf};

/// The repository's root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The READMEs and pages a user reads: the top README, every crate's, every page of `docs/`.
fn pages() -> Vec<PathBuf> {
    let mut out = vec![root().join("README.md")];
    for dir in ["crates", "docs"] {
        let Ok(entries) = std::fs::read_dir(root().join(dir)) else {
            panic!("cannot list {dir}/ under {}", root().display())
        };
        for e in entries.flatten() {
            let p = e.path();
            if dir == "crates" && p.join("README.md").exists() {
                out.push(p.join("README.md"));
            } else if p.extension().is_some_and(|x| x == "md") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The architectures that `text` names as whole words, by torchvision's name (`resnet18`) or
/// by variant (`Resnet18`).
fn named_in(text: &str) -> Vec<String> {
    let word = |w: &str| {
        text.match_indices(w).any(|(i, _)| {
            let before = text[..i].chars().next_back();
            let after = text[i + w.len()..].chars().next();
            let part = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
            !part(before) && !part(after)
        })
    };
    Arch::ALL
        .iter()
        .filter(|a| word(a.name()) || word(&format!("{a:?}")))
        .map(|a| a.name().to_string())
        .collect()
}

/// Three lines in a row that name three architectures or more: a list copied by hand.
fn hand_lists(text: &str) -> Vec<(usize, Vec<String>)> {
    let lines: Vec<&str> = text.lines().collect();
    (0..lines.len())
        .filter_map(|i| {
            let window = lines[i..(i + 3).min(lines.len())].join("\n");
            let names = named_in(&window);
            (names.len() >= 3).then_some((i + 1, names))
        })
        .collect()
}

#[test]
fn no_page_lists_the_architectures_by_hand() {
    let mut found = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", page.display()));
        if let Some((line, names)) = hand_lists(&text).into_iter().next() {
            found.push(format!("{}:{line}: {}", page.display(), names.join(", ")));
        }
    }
    assert!(
        found.is_empty(),
        "architectures listed by hand (name `Arch`, `Arch::names()` or `--help` instead, so \
         that a new architecture is one file and one line):\n{}",
        found.join("\n")
    );
}

#[test]
fn a_hand_written_list_is_found() {
    let all = Arch::names();
    let list = format!("`--arch {}`", all.join("|"));
    assert_eq!(hand_lists(&list)[0].1.len(), all.len());
    // Over three lines, and by variant name.
    let spread = "(`Resnet18`,\n`Resnet34`,\n`MobilenetV2`)";
    assert_eq!(hand_lists(spread).len(), 1);
    // Two names, or names inside longer words, are no list.
    assert!(hand_lists("resnet18 beats mobilenet_v2 here").is_empty());
    assert!(hand_lists("xresnet18 resnet34x my_resnet50").is_empty());
}
