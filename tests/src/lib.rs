//! Helpers shared by the end-to-end tests: finding and running the built `whetstone` binary,
//! and (in `lsp`) a synchronous client that talks to it as a language server; (in `store_crash`)
//! what the store's crash test writes and checks; and two small helpers of the measuring binaries
//! in src/bin.

pub mod history;
pub mod lsp;
pub mod store_crash;

use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Path of the `whetstone` binary in the workspace's target directory, built (once per test
/// process) so that the tests never run a stale binary; when it is fresh the build is a no-op.
///
/// Cargo hands `CARGO_BIN_EXE_<name>` only to tests of the package that owns the binary, and
/// this is a separate package, so the path is worked out the way Cargo lays it out:
/// `<target dir>/debug/whetstone`, the target dir being `CARGO_TARGET_DIR` or
/// `<workspace root>/target`.
pub fn whetstone_binary() -> PathBuf {
    // Several tests may ask at once; building once behind a lock keeps them from racing cargo.
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(build_and_locate).clone()
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests package lives one level below the workspace root")
        .to_path_buf()
}

fn target_dir(workspace_root: &Path) -> PathBuf {
    match env::var_os("CARGO_TARGET_DIR") {
        // Cargo resolves a relative CARGO_TARGET_DIR against the directory it was started in,
        // which a test cannot know; the workspace root is where people run cargo from.
        Some(dir) if !dir.is_empty() => workspace_root.join(dir),
        _ => workspace_root.join("target"),
    }
}

fn build_and_locate() -> PathBuf {
    let root = workspace_root();
    let binary = target_dir(&root)
        .join("debug")
        .join(format!("whetstone{}", env::consts::EXE_SUFFIX));
    // Under `cargo test`, CARGO names the cargo that is running us: the same toolchain.
    let cargo = env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let status = Command::new(&cargo)
        .args(["build", "-p", "whetstone", "--bin", "whetstone"])
        .current_dir(&root)
        .status()
        .unwrap_or_else(|error| panic!("could not start {cargo:?} to build whetstone: {error}"));
    assert!(
        status.success(),
        "`cargo build -p whetstone --bin whetstone` failed ({status})"
    );
    assert!(
        binary.is_file(),
        "cargo built whetstone, but {} does not exist",
        binary.display()
    );
    binary
}

/// A positive count from the command line (`20_000` is allowed), or why not.
pub fn parse_count(name: &str, text: &str) -> Result<usize, String> {
    match text.replace('_', "").parse::<usize>() {
        Ok(count) if count > 0 => Ok(count),
        _ => Err(format!(
            "{name} wants a positive whole number, not {text:?}"
        )),
    }
}

/// The binary `name` in the same folder as the running program (the measuring binaries run the
/// release builds beside them).
pub fn sibling_binary(name: &str) -> Result<PathBuf, String> {
    let this = env::current_exe()
        .map_err(|error| format!("cannot find this program's own path: {error}"))?;
    Ok(this.with_file_name(format!("{name}{}", env::consts::EXE_SUFFIX)))
}
