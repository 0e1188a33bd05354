//! The documents the editor opens, edits, saves and closes: each change goes to the engine, and
//! what it decided goes on to the activity, the nudges and the store.

use tower_lsp_server::ls_types::{
    DidChangeTextDocumentParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams,
    DidSaveTextDocumentParams, MessageType,
};

use super::{State, now_ms};
use crate::core::engine::{ChangeOutcome, Verdict};
use crate::core::{ContentChange, Hint, Position, Range};
use crate::lsp::uri::unusable_file_uri;

/// The `whetstone/editOrigin` notification.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct EditOriginParams {
    pub uri: String,
    #[serde(default)]
    pub version: Option<i32>,
    pub origin: String,
}

impl State {
    pub(super) fn opened(&mut self, params: DidOpenTextDocumentParams) {
        let uri = params.text_document.uri.as_str().to_string();
        if self.explaining.is_document(&uri) {
            self.explaining.open.insert(uri);
            return;
        }
        if let Some(reason) = unusable_file_uri(&uri) {
            self.log(
                MessageType::WARNING,
                format!("{uri}: {reason}; it is tracked in memory only and never stored"),
            );
        }
        self.load_from_store(&uri);
        let now = now_ms();
        let outcome = self.engine.open(&uri, &params.text_document.text, now);
        self.publishing
            .versions
            .insert(uri.clone(), params.text_document.version);
        self.record_activity(&uri, &outcome, now);
        self.after_outcome(&uri, &outcome);
        if self.apply_stored_declarations(&uri) {
            self.after_declared(&uri);
        }
        // Every opened file gets one publication, empty or not, so clients start from a known state.
        let diagnostics = self.current_diagnostics(&uri);
        if !diagnostics.is_empty() {
            self.publishing.diagnosed.insert(uri.clone());
        }
        self.send_diagnostics(&uri, diagnostics);
    }

    pub(super) fn changed(&mut self, params: DidChangeTextDocumentParams) {
        let uri = params.text_document.uri.as_str().to_string();
        if self.explaining.is_document(&uri) {
            return;
        }
        let changes: Vec<ContentChange> = params
            .content_changes
            .into_iter()
            .map(|change| ContentChange {
                range: change.range.map(|range| {
                    Range::new(
                        Position::new(range.start.line, range.start.character),
                        Position::new(range.end.line, range.end.character),
                    )
                }),
                text: change.text,
            })
            .collect();
        let now = now_ms();
        let outcome = self
            .engine
            .change(&uri, Some(params.text_document.version), &changes, now);
        if outcome.verdict == Verdict::UnknownDocument {
            tracing::warn!("didChange for {uri}, which was never opened: ignored");
            return;
        }
        self.publishing
            .versions
            .insert(uri.clone(), params.text_document.version);
        self.mark_dirty(&uri);
        self.record_activity(&uri, &outcome, now);
        self.after_outcome(&uri, &outcome);
        if outcome.chunks_changed {
            self.consume_applied_declarations();
        }
    }

    pub(super) async fn saved(&mut self, params: DidSaveTextDocumentParams) {
        let uri = params.text_document.uri.as_str().to_string();
        if self.explaining.is_document(&uri) {
            self.record_explanation_document(&uri, params.text).await;
            return;
        }
        self.queue_snapshot(&uri);
    }

    pub(super) fn closed(&mut self, params: DidCloseTextDocumentParams) {
        let uri = params.text_document.uri.as_str().to_string();
        if self.explaining.is_document(&uri) {
            self.explaining.open.remove(&uri);
            return;
        }
        self.queue_snapshot(&uri);
        self.engine.close(&uri);
        if self.publishing.diagnosed.remove(&uri) {
            self.send_diagnostics(&uri, Vec::new());
        }
        self.publishing.versions.remove(&uri);
    }

    pub(super) fn edit_origin(&mut self, params: EditOriginParams) {
        match Hint::parse(&params.origin) {
            Some(hint) => self
                .engine
                .hint(&params.uri, params.version, hint, now_ms()),
            None => tracing::warn!(
                "whetstone/editOrigin with unknown origin {:?} (expected paste, completion, agent, undo or format)",
                params.origin
            ),
        }
    }

    /// Hands the engine what the store remembers of a file it does not know yet.
    pub(super) fn load_from_store(&mut self, uri: &str) {
        if self.engine.line_map(uri).is_some() {
            return;
        }
        let Some(key) = self.workspace.file_key(uri) else {
            return;
        };
        match self.store.load_file(&key) {
            Ok(Some(record)) => self
                .engine
                .restore_file(uri, record.snapshot, record.chunks),
            Ok(None) => {}
            Err(error) => self.log(
                MessageType::WARNING,
                format!(
                    "whetstone could not read what it stored for {}: {error}",
                    key.path
                ),
            ),
        }
    }

    pub(super) fn after_outcome(&mut self, uri: &str, outcome: &ChangeOutcome) {
        if outcome.chunks_changed || !outcome.new_chunks.is_empty() {
            self.mark_dirty(uri);
            self.publish_diagnostics(uri);
            self.request_lens_refresh();
        }
    }
}
