//! Whetstone's side of a conversation, on [`LspClient`]: its commands (which must succeed), the
//! ownership map, code lenses, the diagnostics and notifications it pushes; and the parts of its
//! replies the tests read.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::lsp::LspClient;
use crate::params::code_lens_params;

/// How long to wait for something the server sends on its own (a refresh, diagnostics, a
/// notification): generous, since a loaded CI machine can be slow, and only failures wait this
/// long.
pub const PUSH_TIMEOUT: Duration = Duration::from_secs(10);

impl LspClient {
    /// `workspace/executeCommand`, which must succeed: its result (a failure shows the
    /// server's log).
    pub fn execute(&mut self, command: &str, argument: Value) -> Value {
        match self.execute_command(command, argument.clone()) {
            Ok(result) => result,
            Err(error) => panic!(
                "{}",
                self.failure(&format!("{command} {argument} failed: {error}"))
            ),
        }
    }

    /// `whetstone.chunks` of `uri`: the ownership map (uri, counts, chunks).
    pub fn chunks_report(&mut self, uri: &str) -> Value {
        self.execute("whetstone.chunks", json!({"uri": uri}))
    }

    /// The chunks of `uri`'s ownership map.
    pub fn chunk_list(&mut self, uri: &str) -> Vec<Value> {
        let report = self.chunks_report(uri);
        match report["chunks"].as_array() {
            Some(chunks) => chunks.clone(),
            None => panic!(
                "{}",
                self.failure(&format!("whetstone.chunks has no chunk list: {report:#}"))
            ),
        }
    }

    /// The only chunk of `uri`; panics (with the report) unless there is exactly one.
    pub fn only_chunk(&mut self, uri: &str) -> Value {
        let report = self.chunks_report(uri);
        match report["chunks"].as_array().map(Vec::as_slice) {
            Some([chunk]) => chunk.clone(),
            _ => panic!(
                "{}",
                self.failure(&format!("expected exactly one chunk: {report:#}"))
            ),
        }
    }

    /// The id of the chunk of `uri` starting on `line`.
    pub fn chunk_at(&mut self, uri: &str, line: u32) -> u64 {
        let report = self.chunks_report(uri);
        let found = report["chunks"].as_array().and_then(|chunks| {
            chunks
                .iter()
                .find(|chunk| chunk["start_line"].as_u64() == Some(u64::from(line)))
        });
        match found {
            Some(chunk) => chunk_id(chunk),
            None => panic!(
                "{}",
                self.failure(&format!("no chunk at line {line}: {report:#}"))
            ),
        }
    }

    /// Classifies chunk `chunk` of `uri` as `class`; the command must succeed.
    pub fn classify(&mut self, uri: &str, chunk: u64, class: &str) -> Value {
        self.execute(
            "whetstone.classify",
            json!({"uri": uri, "chunk": chunk, "class": class}),
        )
    }

    /// `textDocument/codeLens` of `uri` (null read as none); the request must succeed.
    pub fn code_lenses(&mut self, uri: &str) -> Vec<Value> {
        match self.request("textDocument/codeLens", code_lens_params(uri)) {
            Ok(Value::Null) => Vec::new(),
            Ok(Value::Array(lenses)) => lenses,
            Ok(other) => panic!("textDocument/codeLens answered neither a list nor null: {other}"),
            Err(error) => panic!(
                "{}",
                self.failure(&format!("textDocument/codeLens failed: {error}"))
            ),
        }
    }

    /// The titles of `uri`'s code lenses.
    pub fn lens_titles(&mut self, uri: &str) -> Vec<String> {
        self.code_lenses(uri)
            .iter()
            .filter_map(|lens| lens["command"]["title"].as_str().map(str::to_string))
            .collect()
    }

    /// Waits for the `workspace/codeLens/refresh` the server owes a client that supports it.
    pub fn expect_code_lens_refresh(&mut self) {
        if self
            .wait_for_server_request("workspace/codeLens/refresh", PUSH_TIMEOUT, |_| true)
            .is_none()
        {
            panic!(
                "{}",
                self.failure("no workspace/codeLens/refresh request came")
            );
        }
    }

    /// The whetstone diagnostics of the latest publishDiagnostics for `uri` (empty if none
    /// came).
    pub fn latest_whetstone_diagnostics(&self, uri: &str) -> Vec<Value> {
        self.notifications("textDocument/publishDiagnostics")
            .into_iter()
            .rfind(|params| params["uri"] == uri)
            .and_then(|params| params["diagnostics"].as_array().cloned())
            .unwrap_or_default()
            .into_iter()
            .filter(|diagnostic| diagnostic["source"] == "whetstone")
            .collect()
    }

    /// Waits for a publishDiagnostics for `uri` carrying a whetstone diagnostic with `code`
    /// (on `line`, when given), and returns that diagnostic.
    pub fn wait_for_diagnostic(&mut self, uri: &str, code: &str, line: Option<u64>) -> Value {
        let found = |params: &Value| whetstone_diagnostic(params, code, line);
        let Some(params) =
            self.wait_for_notification("textDocument/publishDiagnostics", PUSH_TIMEOUT, |params| {
                params["uri"] == uri && found(params).is_some()
            })
        else {
            panic!(
                "{}",
                self.failure(&format!(
                    "no whetstone diagnostic {code:?} (line {line:?}) was published for {uri}; \
                     got {:#}",
                    json!(self.notifications("textDocument/publishDiagnostics"))
                ))
            );
        };
        found(&params).expect("the wait matched this diagnostic")
    }

    /// Waits for a `whetstone/calibrationChanged` whose status satisfies `predicate`.
    pub fn wait_for_calibration(
        &mut self,
        what: &str,
        predicate: impl Fn(&Value) -> bool,
    ) -> Value {
        match self.wait_for_notification("whetstone/calibrationChanged", PUSH_TIMEOUT, predicate) {
            Some(status) => status,
            None => panic!(
                "{}",
                self.failure(&format!("no whetstone/calibrationChanged for {what}"))
            ),
        }
    }

    /// Asks for `uri`'s chunks until one satisfies `found` (the server may still be applying
    /// something it was told elsewhere); then all the chunks.
    pub fn wait_for_chunk(&mut self, uri: &str, found: impl Fn(&Value) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + PUSH_TIMEOUT;
        loop {
            let chunks = self.chunk_list(uri);
            if chunks.iter().any(&found) {
                return chunks;
            }
            if Instant::now() > deadline {
                panic!(
                    "{}",
                    self.failure(&format!("no such chunk in {uri}: {chunks:#?}"))
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The whetstone diagnostic with `code` (on `line`, when given) in publishDiagnostics `params`.
pub fn whetstone_diagnostic(params: &Value, code: &str, line: Option<u64>) -> Option<Value> {
    params["diagnostics"]
        .as_array()?
        .iter()
        .find(|diagnostic| {
            diagnostic["source"] == "whetstone"
                && diagnostic["code"] == code
                && line.is_none_or(|line| diagnostic["range"]["start"]["line"] == line)
        })
        .cloned()
}

/// A chunk's id.
pub fn chunk_id(chunk: &Value) -> u64 {
    chunk["id"]
        .as_u64()
        .unwrap_or_else(|| panic!("a chunk id is a whole number: {chunk}"))
}

/// (id, class) of each chunk of a `whetstone.chunks` report, "unclassified" for none, by id.
pub fn classes_of(report: &Value) -> Vec<(u64, String)> {
    let mut classes: Vec<(u64, String)> = report["chunks"]
        .as_array()
        .expect("a chunk list")
        .iter()
        .map(|chunk| {
            (
                chunk_id(chunk),
                chunk["class"]
                    .as_str()
                    .unwrap_or("unclassified")
                    .to_string(),
            )
        })
        .collect();
    classes.sort();
    classes
}

/// The text of a hover's contents, whichever of the LSP shapes it came in.
pub fn hover_text(hover: &Value) -> String {
    fn text_of(contents: &Value) -> String {
        match contents {
            Value::String(text) => text.clone(),
            Value::Array(items) => items.iter().map(text_of).collect::<Vec<_>>().join("\n"),
            Value::Object(object) => object
                .get("value")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            _ => String::new(),
        }
    }
    text_of(&hover["contents"])
}

/// A JSON-RPC error's code.
pub fn error_code(error: &Value) -> i64 {
    error["code"].as_i64().unwrap_or_default()
}

/// A JSON-RPC error's message.
pub fn error_message(error: &Value) -> String {
    error["message"].as_str().unwrap_or_default().to_string()
}
