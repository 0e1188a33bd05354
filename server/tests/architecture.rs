//! Checks the invariants ARCHITECTURE.md states about where code may reach.

use std::path::{Path, PathBuf};

/// The only crates the pure engine may depend on: text, diff and parsing. No LSP, async runtime or
/// storage crate can reach the engine's code while its manifest lists none of them.
const CORE_DEPENDENCIES: &[&str] = &[
    "imara-diff",
    "ropey",
    "thiserror",
    "tree-sitter",
    "tree-sitter-rust",
];

/// What the standard library offers that the core must still not use: no disk, network, process or
/// clock. The crate boundary cannot keep these out, so the source is searched for them.
const FORBIDDEN_IN_CORE: &[&str] = &[
    "std::fs",
    "std::net",
    "std::process",
    "SystemTime",
    "Instant::now",
];

fn core_directory() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("core")
}

#[test]
fn the_core_depends_on_no_lsp_async_or_storage_crate() {
    let manifest =
        std::fs::read_to_string(core_directory().join("Cargo.toml")).expect("core manifest");
    let mut section = "";
    let mut unexpected = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line;
            continue;
        }
        // Test-only crates (dev-dependencies) never reach the shipped engine.
        let is_dependency_section = section == "[dependencies]"
            || section == "[build-dependencies]"
            || (section.starts_with("[target.") && section.ends_with(".dependencies]"));
        if !is_dependency_section || line.is_empty() || line.starts_with('#') {
            continue;
        }
        let name = line.split(['=', '.']).next().unwrap_or_default().trim();
        if !CORE_DEPENDENCIES.contains(&name) {
            unexpected.push(format!("{section} {name}"));
        }
    }
    assert!(
        unexpected.is_empty(),
        "server/core/Cargo.toml may depend only on {CORE_DEPENDENCIES:?}: {unexpected:#?}"
    );
}

#[test]
fn the_core_touches_no_disk_network_or_clock() {
    let source = core_directory().join("src");
    let mut offences = Vec::new();
    for entry in std::fs::read_dir(&source).expect("core/src is readable") {
        let path = entry.expect("directory entry").path();
        if path.extension().is_none_or(|extension| extension != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("source is readable");
        // Unit tests may read fixtures from disk; the shipped code above them may not.
        let shipped = text.split("#[cfg(test)]").next().unwrap_or("");
        for name in FORBIDDEN_IN_CORE {
            if shipped.contains(name) {
                offences.push(format!("{} names {name}", path.display()));
            }
        }
    }
    assert!(offences.is_empty(), "{offences:#?}");
}

#[test]
fn every_source_file_says_what_lives_there() {
    let manifest_directory = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut missing = Vec::new();
    let mut stack = vec![manifest_directory.join("src"), core_directory().join("src")];
    while let Some(directory) = stack.pop() {
        for entry in std::fs::read_dir(&directory).expect("readable") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|extension| extension == "rs") {
                let text = std::fs::read_to_string(&path).expect("readable");
                if !text.starts_with("//!") {
                    missing.push(path.display().to_string());
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "files without a leading //! line: {missing:#?}"
    );
}
