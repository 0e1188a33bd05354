//! `bare_lsp`: the baseline language server for the stdio replay benchmark. It does nothing but
//! keep each open document in a rope and apply incremental `didChange` edits to it, with the same
//! text sync capabilities as `whetstone lsp`, so that the benchmark's ratio measures what
//! whetstone adds on top of the transport and the edit application every server pays for.
//!
//! Order: tower-lsp-server creates each handler's future in arrival order and polls new futures
//! in that order, and these handlers do all their work before their first (and only) await
//! point, under a plain mutex; so edits are applied in the order they were sent, which the
//! benchmark checks through the fingerprint this server logs on shutdown.
//!
//! Arguments are ignored (so that the benchmark can start it the way it starts `whetstone lsp`).

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::{Mutex, MutexGuard};

use ropey::Rope;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    DidChangeTextDocumentParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams,
    DidSaveTextDocumentParams, InitializeParams, InitializeResult, Position, PositionEncodingKind,
    SaveOptions, ServerCapabilities, ServerInfo, TextDocumentSyncCapability, TextDocumentSyncKind,
    TextDocumentSyncOptions, TextDocumentSyncSaveOptions, Uri,
};
use tower_lsp_server::{LanguageServer, LspService, Server};
use whetstone_tests::measure::text_fingerprint;

struct BareServer {
    documents: Mutex<HashMap<Uri, Rope>>,
}

impl BareServer {
    fn documents(&self) -> MutexGuard<'_, HashMap<Uri, Rope>> {
        // Nothing panics while holding the lock, and if something did the ropes would still be
        // whole (every edit is one remove and one insert of valid char ranges).
        self.documents
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl LanguageServer for BareServer {
    async fn initialize(&self, _: InitializeParams) -> Result<InitializeResult> {
        Ok(InitializeResult {
            capabilities: ServerCapabilities {
                position_encoding: Some(PositionEncodingKind::UTF16),
                text_document_sync: Some(TextDocumentSyncCapability::Options(
                    TextDocumentSyncOptions {
                        open_close: Some(true),
                        change: Some(TextDocumentSyncKind::INCREMENTAL),
                        save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions {
                            include_text: Some(false),
                        })),
                        ..TextDocumentSyncOptions::default()
                    },
                )),
                ..ServerCapabilities::default()
            },
            server_info: Some(ServerInfo {
                name: "bare_lsp".to_string(),
                version: None,
            }),
            offset_encoding: None,
        })
    }

    async fn shutdown(&self) -> Result<()> {
        // The benchmark compares this with the text it expects, which proves every edit arrived
        // and was applied in order; stderr keeps it off the protocol.
        let mut report = String::new();
        for (uri, rope) in self.documents().iter() {
            report.push_str(&format!(
                "bare_lsp: final {} chars={} lines={} fingerprint={:016x}\n",
                uri.as_str(),
                rope.len_chars(),
                rope.len_lines(),
                text_fingerprint(rope.chunks()),
            ));
        }
        let _ = std::io::stderr().write_all(report.as_bytes());
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        let document = params.text_document;
        self.documents()
            .insert(document.uri, Rope::from_str(&document.text));
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        let mut documents = self.documents();
        let Some(rope) = documents.get_mut(&params.text_document.uri) else {
            return;
        };
        for change in params.content_changes {
            match change.range {
                Some(range) => {
                    let start = char_index(rope, range.start);
                    let end = char_index(rope, range.end).max(start);
                    rope.remove(start..end);
                    rope.insert(start, &change.text);
                }
                None => *rope = Rope::from_str(&change.text),
            }
        }
    }

    async fn did_save(&self, _: DidSaveTextDocumentParams) {}

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        self.documents().remove(&params.text_document.uri);
    }
}

/// The char index of an LSP position in UTF-16 code units, clamped the way whetstone clamps:
/// a line past the end means the end of the text, a column past the end of its line the end of
/// that line (before its line break), a column inside a surrogate pair the start of that char.
fn char_index(rope: &Rope, position: Position) -> usize {
    let line_index = position.line as usize;
    if line_index >= rope.len_lines() {
        return rope.len_chars();
    }
    let line_start = rope.line_to_char(line_index);
    let line = rope.line(line_index);
    let line_break_chars = line_break_length(&line);
    let content = line.slice(..line.len_chars() - line_break_chars);
    let column = (position.character as usize).min(content.len_utf16_cu());
    line_start + content.utf16_cu_to_char(column)
}

/// How many chars at the end of a line are its line break (`\n`, `\r\n` or `\r`).
fn line_break_length(line: &ropey::RopeSlice<'_>) -> usize {
    let length = line.len_chars();
    match (
        length.checked_sub(2).map(|index| line.char(index)),
        length.checked_sub(1).map(|index| line.char(index)),
    ) {
        (Some('\r'), Some('\n')) => 2,
        (_, Some('\n' | '\r')) => 1,
        _ => 0,
    }
}

#[tokio::main]
async fn main() {
    let (service, socket) = LspService::new(|_client| BareServer {
        documents: Mutex::new(HashMap::new()),
    });
    Server::new(tokio::io::stdin(), tokio::io::stdout(), socket)
        .serve(service)
        .await;
}
