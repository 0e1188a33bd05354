//! `file:` URIs and paths, and reading the files they name. Everything else (`untitled:`,
//! `vscode-notebook-cell:`) is tracked in memory only and never touches the disk.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use tower_lsp_server::ls_types::Uri;

/// The local path of a `file:` URI (percent-decoded), or None for any other URI and for a file
/// URI that names no possible file (see [`unusable_file_uri`]): such a document is tracked in
/// memory only, like an `untitled:` one, and never stored.
pub fn file_path(uri: &str) -> Option<PathBuf> {
    decoded_file_path(uri).filter(|path| !holds_nul(path))
}

/// Why a `file:` URI is nonetheless not treated as a file, or None. A percent-encoded NUL
/// (`%00`) decodes to a character no file name can hold, and the store separates a key's
/// workspace from its path with NUL: the key would not read back, and every listing would report
/// it as damaged.
pub fn unusable_file_uri(uri: &str) -> Option<&'static str> {
    decoded_file_path(uri)
        .filter(|path| holds_nul(path))
        .map(|_| "its path holds a NUL character (%00), which no file name can")
}

fn decoded_file_path(uri: &str) -> Option<PathBuf> {
    if !uri.starts_with("file:") {
        return None;
    }
    let parsed = Uri::from_str(uri).ok()?;
    parsed.to_file_path().map(|path| path.into_owned())
}

fn holds_nul(path: &Path) -> bool {
    path.as_os_str().as_encoded_bytes().contains(&0)
}

/// The `file:` URI of a path.
pub fn file_uri(path: &std::path::Path) -> Option<String> {
    Uri::from_file_path(path).map(|uri| uri.as_str().to_string())
}

/// Files larger than this are not read: no editor could send such a document either (see
/// `framing::MAX_MESSAGE_BYTES`).
pub const MAX_READ_BYTES: u64 = crate::lsp::framing::MAX_MESSAGE_BYTES as u64;

/// The text of a regular file the client named. A FIFO or a device (`/dev/zero`) would block
/// the server or fill its memory, so only regular files are read, and only up to
/// [`MAX_READ_BYTES`]. Not UTF-8, or too large: `InvalidData`.
pub fn read_text_file(path: &Path) -> std::io::Result<String> {
    let invalid = |message: String| std::io::Error::new(std::io::ErrorKind::InvalidData, message);
    // Looked at before it is opened: opening a FIFO waits for a writer.
    if !std::fs::metadata(path)?.is_file() {
        return Err(invalid("not a regular file".to_string()));
    }
    let file = std::fs::File::open(path)?;
    if !file.metadata()?.is_file() {
        return Err(invalid("not a regular file".to_string()));
    }
    let mut bytes = Vec::new();
    file.take(MAX_READ_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_READ_BYTES {
        return Err(invalid(format!("larger than {MAX_READ_BYTES} bytes")));
    }
    String::from_utf8(bytes).map_err(|_| invalid("not UTF-8 text".to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_uris_become_paths() {
        assert_eq!(
            file_path("file:///w/src/a%20b.rs"),
            Some(PathBuf::from("/w/src/a b.rs"))
        );
        assert_eq!(file_path("untitled:Untitled-1"), None);
        // Malformed file URIs are refused, not a panic.
        let _ = file_path("file://%%%");
        let path = PathBuf::from("/tmp/x y/é.rs");
        assert_eq!(file_path(&file_uri(&path).unwrap()), Some(path));
    }

    /// Regression: `%00` in a file URI made a store key with a NUL in it, which every listing of
    /// the store then reported as damaged.
    #[test]
    fn a_file_uri_holding_a_nul_is_not_a_file() {
        for uri in [
            "file:///w/src/a%00b.rs",
            "file:///w%00/src/a.rs",
            "file:///w/a.rs%00",
        ] {
            assert_eq!(file_path(uri), None, "{uri}");
            assert!(unusable_file_uri(uri).is_some(), "{uri}");
        }
        // An encoded `%` followed by `00` is an ordinary name.
        assert_eq!(
            file_path("file:///w/a%2500.rs"),
            Some(PathBuf::from("/w/a%00.rs"))
        );
        for uri in ["file:///w/a.rs", "untitled:a%00b", "file://%%%"] {
            assert_eq!(unusable_file_uri(uri), None, "{uri}");
        }
    }

    /// Regression: a file the client said changed on disk was read whatever it was, so a FIFO
    /// blocked the server for good and `/dev/zero` filled its memory.
    #[test]
    fn only_regular_text_files_are_read() {
        let folder = tempfile::tempdir().unwrap();
        let text = folder.path().join("a.rs");
        std::fs::write(&text, "fn main() {}\n").unwrap();
        assert_eq!(read_text_file(&text).unwrap(), "fn main() {}\n");
        let binary = folder.path().join("b.bin");
        std::fs::write(&binary, b"\xff\xfe").unwrap();
        for path in [binary.as_path(), Path::new("/dev/zero"), folder.path()] {
            let error = read_text_file(path).expect_err("refused");
            assert_eq!(error.kind(), std::io::ErrorKind::InvalidData, "{path:?}");
        }
    }
}
