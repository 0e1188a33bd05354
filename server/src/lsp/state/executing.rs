//! `workspace/executeCommand`: the `whetstone.*` commands on chunks, calibration sessions and the
//! report. A command that changes a verdict answers once the judgement is durable.

use std::path::PathBuf;
use std::str::FromStr;

use serde_json::{Value, json};
use tokio::sync::oneshot;
use tower_lsp_server::jsonrpc;
use tower_lsp_server::ls_types::{ExecuteCommandParams, ShowDocumentParams, Uri};

use super::calibrating::session_json;
use super::persisting::{Committed, Judgement};
use super::{State, now_ms};
use crate::core::engine::ChunkView;
use crate::lsp::commands::{self, CommandCall, ReportFormat};
use crate::lsp::nudges;
use crate::lsp::writer::WriteJob;

impl State {
    pub(super) fn execute_command(
        &mut self,
        params: ExecuteCommandParams,
        reply: oneshot::Sender<jsonrpc::Result<Option<Value>>>,
    ) {
        let reply = self.echoed(&params.command, reply);
        let call = match commands::parse(&params.command, &params.arguments) {
            Ok(call) => call,
            Err(message) => {
                let _ = reply.send(Err(jsonrpc::Error::invalid_params(message)));
                return;
            }
        };
        let now = now_ms();
        let uri = match &call {
            CommandCall::Classify { uri, .. }
            | CommandCall::Explain { uri, .. }
            | CommandCall::Dismiss { uri, .. }
            | CommandCall::Practiced { uri, .. }
            | CommandCall::Chunks { uri } => uri.clone(),
            CommandCall::CalibrationStart { label, minutes } => {
                let result = self.start_calibration(label.clone(), *minutes, now);
                self.answer_after_flush(reply, result);
                return;
            }
            CommandCall::CalibrationStop { feel, notes } => {
                let result = self.stop_calibration(*feel, notes.clone(), now);
                self.answer_after_flush(reply, result);
                return;
            }
            CommandCall::CalibrationStatus => {
                self.end_calibration_if_time_is_up(now);
                let status = self
                    .calibrating
                    .running
                    .as_ref()
                    .map_or(Value::Null, |session| session_json(session, now));
                let _ = reply.send(Ok(Some(status)));
                return;
            }
            CommandCall::Report { format, since_days } => {
                self.report(*format, *since_days, now, reply);
                return;
            }
        };
        self.load_from_store(&uri);
        // What the journal must say the command changed.
        let (judged, removed) = match &call {
            CommandCall::Classify { chunk, .. }
            | CommandCall::Explain { chunk, .. }
            | CommandCall::Practiced { chunk, .. } => (vec![chunk.0], Vec::new()),
            CommandCall::Dismiss { chunk, .. } => (Vec::new(), vec![chunk.0]),
            _ => (Vec::new(), Vec::new()),
        };
        let mut dismissed = None;
        let result: Result<Value, String> = match call {
            CommandCall::Chunks { uri } => Ok(self.ownership_json(&uri)),
            CommandCall::Classify { uri, chunk, class } => self
                .engine
                .classify(&uri, chunk, class, now)
                .map(|()| json!({"chunk": chunk.0, "class": class.as_str()}))
                .map_err(|error| error.to_string()),
            CommandCall::Explain {
                uri,
                chunk,
                text: Some(text),
            } => self
                .engine
                .explain(&uri, chunk, &text, now)
                .map(|score| {
                    json!({
                        "chunk": chunk.0,
                        "score": score.score,
                        "shallow": score.shallow,
                        "words": score.words,
                        "identifiers_named": score.identifiers_named,
                        "identifiers_total": score.identifiers_total,
                        "says_why": score.says_why,
                    })
                })
                .map_err(|error| error.to_string()),
            CommandCall::Explain {
                uri,
                chunk,
                text: None,
            } => {
                let result = self.open_explanation_document(&uri, chunk);
                let _ = reply.send(result.map(Some));
                return;
            }
            CommandCall::Practiced { uri, chunk } => self
                .engine
                .practiced(&uri, chunk, now)
                .map(|()| json!({"chunk": chunk.0, "practiced_ms": now}))
                .map_err(|error| error.to_string()),
            CommandCall::CalibrationStart { .. }
            | CommandCall::CalibrationStop { .. }
            | CommandCall::CalibrationStatus
            | CommandCall::Report { .. } => return,
            CommandCall::Dismiss { uri, chunk } => {
                let result = self
                    .engine
                    .dismiss(&uri, chunk, now)
                    .map_err(|error| error.to_string());
                if result.is_ok()
                    && let (Some(key), Some(dismissal)) = (
                        self.workspace.file_key(&uri),
                        self.engine.dismissals().last(),
                    )
                {
                    dismissed = Some(dismissal.clone());
                    self.writer.send(WriteJob::Dismissal {
                        key,
                        dismissal: dismissal.clone(),
                    });
                }
                result.map(|()| json!({"chunk": chunk.0, "dismissed": true}))
            }
        };
        let value = match result {
            Ok(value) => value,
            Err(message) => {
                let _ = reply.send(Err(jsonrpc::Error::invalid_params(message)));
                return;
            }
        };
        if params.command == nudges::CHUNKS {
            let _ = reply.send(Ok(Some(value)));
            return;
        }
        // A verdict changed: show it, and answer once it is durable.
        self.publish_diagnostics(&uri);
        self.request_lens_refresh();
        let judgement = Judgement {
            judged,
            removed,
            dismissal: dismissed,
        };
        let done = self.commit(&uri, judgement);
        tokio::spawn(async move {
            let answer = match done.await {
                Ok(Committed::NotSaved(why)) => Err(jsonrpc::Error {
                    code: jsonrpc::ErrorCode::InternalError,
                    message: why.into(),
                    data: None,
                }),
                _ => Ok(Some(value)),
            };
            let _ = reply.send(answer);
        });
    }

    /// The file's ownership map as `whetstone.chunks` returns it.
    pub(super) fn ownership_json(&mut self, uri: &str) -> Value {
        let counts = self.engine.origin_counts(uri);
        let counts: serde_json::Map<String, Value> = counts
            .into_iter()
            .map(|(origin, count)| (origin.as_str().to_string(), json!(count)))
            .collect();
        let chunks: Vec<Value> = self.engine.chunks_in(uri).iter().map(chunk_json).collect();
        json!({
            "uri": uri,
            "known": self.engine.line_map(uri).is_some(),
            "counts": counts,
            "chunks": chunks,
        })
    }

    /// `whetstone.report`: everything pending goes to the store first, then the report is read
    /// from it on a blocking thread; HTML is written to a file and shown.
    pub(super) fn report(
        &mut self,
        format: ReportFormat,
        since_days: u32,
        now: u64,
        reply: oneshot::Sender<jsonrpc::Result<Option<Value>>>,
    ) {
        self.persist_calibration_and_activity();
        for uri in std::mem::take(&mut self.persisting.dirty) {
            self.queue_snapshot(&uri);
        }
        let flushed = self.writer.flush();
        let store = self.store.clone();
        let folder = self.reports_folder();
        let output = self.output.clone();
        let show_document = self.facts.show_document;
        tokio::spawn(async move {
            let _ = flushed.await;
            let built = tokio::task::spawn_blocking(move || {
                crate::lsp::report::render_report(store.as_ref(), format, since_days, now, &folder)
            })
            .await
            .map_err(|error| format!("the report could not be built: {error}"))
            .and_then(|result| result);
            match built {
                Ok(value) => {
                    let target = value
                        .get("uri")
                        .and_then(Value::as_str)
                        .and_then(|uri| Uri::from_str(uri).ok())
                        .filter(|_| show_document);
                    let Some(target) = target else {
                        let _ = reply.send(Ok(Some(value)));
                        return;
                    };
                    // The answer follows the editor's showing the page.
                    output.request(move |client| async move {
                        let params = ShowDocumentParams {
                            uri: target,
                            external: Some(true),
                            take_focus: Some(true),
                            selection: None,
                        };
                        if let Err(error) = client.show_document(params).await {
                            tracing::warn!("the client could not show the report: {error}");
                        }
                        let _ = reply.send(Ok(Some(value)));
                    });
                }
                Err(message) => {
                    let mut error = jsonrpc::Error::internal_error();
                    error.message = message.into();
                    let _ = reply.send(Err(error));
                }
            }
        });
    }

    pub(super) fn reports_folder(&self) -> PathBuf {
        match self.store.location() {
            Some(location) => location.join("reports"),
            None => self.explaining.folder.with_file_name("whetstone-reports"),
        }
    }
}

/// One chunk as `whetstone.chunks` shows it.
pub fn chunk_json(view: &ChunkView) -> Value {
    let chunk = &view.chunk;
    json!({
        "id": chunk.id.0,
        "origin": chunk.origin.as_str(),
        "start_line": view.start_line,
        "end_line": view.end_line,
        "lines": view.end_line - view.start_line,
        "items": chunk.items,
        "class": chunk.class.map(|class| class.as_str()),
        "explanation": chunk.explanation.as_ref().map(|explanation| json!({
            "text": explanation.text,
            "score": explanation.score.score,
            "shallow": explanation.score.shallow,
            "recorded_ms": explanation.recorded_ms,
        })),
        "needs_attention": chunk.needs_attention(),
        "created_ms": chunk.created_ms,
        "reworked_chars": chunk.reworked_chars,
        "rule": chunk.rule.map(|rule| rule.as_str()),
        "copied_from": chunk.copied_from.map(|id| id.0),
        "agent": chunk.agent,
        "model": chunk.model,
    })
}
