//! `file:` URIs and paths. Everything else (`untitled:`, `vscode-notebook-cell:`) is tracked in
//! memory only and never touches the disk.

use std::path::PathBuf;
use std::str::FromStr;

use tower_lsp_server::ls_types::Uri;

/// The local path of a `file:` URI (percent-decoded), or None for any other URI.
pub fn file_path(uri: &str) -> Option<PathBuf> {
    if !uri.starts_with("file:") {
        return None;
    }
    let parsed = Uri::from_str(uri).ok()?;
    parsed.to_file_path().map(|path| path.into_owned())
}

/// The `file:` URI of a path.
pub fn file_uri(path: &std::path::Path) -> Option<String> {
    Uri::from_file_path(path).map(|uri| uri.as_str().to_string())
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
}
