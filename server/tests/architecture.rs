//! Checks the invariants ARCHITECTURE.md states about where code may reach.

use std::path::Path;

/// Names that must not appear in the pure core: no LSP, no async runtime, no disk, no clock.
const FORBIDDEN_IN_CORE: &[&str] = &[
    "lsp_types",
    "tower_lsp",
    "tokio",
    "std::fs",
    "std::net",
    "std::process",
    "SystemTime",
    "Instant::now",
    "sled",
];

#[test]
fn the_core_touches_no_lsp_disk_or_clock() {
    let core = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/core");
    let mut offences = Vec::new();
    for entry in std::fs::read_dir(&core).expect("src/core is readable") {
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
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut missing = Vec::new();
    let mut stack = vec![source];
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
