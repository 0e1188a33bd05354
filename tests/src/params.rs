//! The params of the requests and notifications a test client sends, built from plain values.

use std::path::Path;

use serde_json::{Value, json};

/// `file://` URI of an absolute path, percent-encoding every byte outside RFC 3986's
/// unreserved set (and `/`), as editors do.
pub fn file_uri(path: &Path) -> String {
    let mut uri = String::from("file://");
    for byte in path.to_string_lossy().bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                uri.push(char::from(byte));
            }
            other => uri.push_str(&format!("%{other:02X}")),
        }
    }
    uri
}

/// `{"line", "character"}`.
pub fn position(line: u32, character: u32) -> Value {
    json!({"line": line, "character": character})
}

/// `{"start", "end"}` from (line, character) pairs.
pub fn range(start: (u32, u32), end: (u32, u32)) -> Value {
    json!({"start": position(start.0, start.1), "end": position(end.0, end.1)})
}

/// One incremental content change: `text` replaces the range from `start` to `end`.
pub fn change(start: (u32, u32), end: (u32, u32), text: &str) -> Value {
    json!({"range": range(start, end), "text": text})
}

/// A content change that replaces the whole document.
pub fn whole_document_change(text: &str) -> Value {
    json!({"text": text})
}

/// `textDocument/didOpen` params for a Rust document.
pub fn did_open(uri: &str, text: &str, version: i32) -> Value {
    json!({"textDocument": {"uri": uri, "languageId": "rust", "version": version, "text": text}})
}

/// `textDocument/didChange` params.
pub fn did_change(uri: &str, version: i32, changes: Vec<Value>) -> Value {
    json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": changes})
}

/// `textDocument/didSave` params (with the text when given).
pub fn did_save(uri: &str, text: Option<&str>) -> Value {
    match text {
        Some(text) => json!({"textDocument": {"uri": uri}, "text": text}),
        None => json!({"textDocument": {"uri": uri}}),
    }
}

/// `textDocument/didClose` params.
pub fn did_close(uri: &str) -> Value {
    json!({"textDocument": {"uri": uri}})
}

/// `textDocument/codeLens` params.
pub fn code_lens_params(uri: &str) -> Value {
    json!({"textDocument": {"uri": uri}})
}

/// `textDocument/hover` params.
pub fn hover_params(uri: &str, line: u32, character: u32) -> Value {
    json!({"textDocument": {"uri": uri}, "position": position(line, character)})
}

/// `textDocument/codeAction` params for a range, with the diagnostics the client shows there.
pub fn code_action_params(
    uri: &str,
    start: (u32, u32),
    end: (u32, u32),
    diagnostics: Vec<Value>,
) -> Value {
    json!({
        "textDocument": {"uri": uri},
        "range": range(start, end),
        "context": {"diagnostics": diagnostics, "triggerKind": 1},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_uris_percent_encode_what_editors_encode() {
        assert_eq!(
            file_uri(Path::new("/tmp/a b/c#d/lib.rs")),
            "file:///tmp/a%20b/c%23d/lib.rs"
        );
    }
}
