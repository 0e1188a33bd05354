//! Explanation documents: written for a chunk when the user explains without typing the text
//! inline (once: a document that exists is shown again, never rewritten), shown, and read back
//! when saved, with what was recorded told to the user.

use std::collections::HashSet;
use std::path::PathBuf;
use std::str::FromStr;

use serde_json::{Value, json};
use tower_lsp_server::jsonrpc;
use tower_lsp_server::ls_types::{MessageType, ShowDocumentParams, Uri};

use super::persisting::Judgement;
use super::{State, now_ms};
use crate::core::ChunkId;
use crate::core::chunk::ExplanationScore;
use crate::core::text::line_range;
use crate::explanation::{self, ChunkPlace, Prepared};
use crate::lsp::uri::{file_path, read_text_file};
use crate::voice::Voice;

/// Where explanation documents are written, and how their URIs are told from the user's files.
#[derive(Default)]
pub(super) struct Explaining {
    pub folder: PathBuf,
    /// `file:` URI prefix of `folder`, ending in `/`.
    pub uri_prefix: String,
    /// Documents the editor has open (didOpen, not yet didClose): never written under it.
    pub open: HashSet<String>,
}

impl Explaining {
    /// A string test: this runs on every keystroke, so no URI parsing. Only a document directly
    /// in the folder and named as whetstone names them counts: `../` must not reach elsewhere.
    pub fn is_document(&self, uri: &str) -> bool {
        uri.strip_prefix(&self.uri_prefix)
            .is_some_and(explanation::is_file_name)
    }

    pub fn set_folder(&mut self, folder: PathBuf) {
        let mut prefix = crate::lsp::uri::file_uri(&folder).unwrap_or_default();
        if !prefix.is_empty() && !prefix.ends_with('/') {
            prefix.push('/');
        }
        self.uri_prefix = prefix;
        self.folder = folder;
    }
}

impl State {
    pub(super) fn open_explanation_document(
        &mut self,
        uri: &str,
        chunk: ChunkId,
    ) -> jsonrpc::Result<Value> {
        let views = self.engine.chunks_in(uri);
        let Some(view) = views.iter().find(|view| view.chunk.id == chunk) else {
            let message = if self.engine.line_map(uri).is_none() {
                format!("no document {uri} is known")
            } else {
                format!("no chunk {} in {uri}", chunk.0)
            };
            return Err(jsonrpc::Error::invalid_params(message));
        };
        let place = ChunkPlace {
            uri: uri.to_string(),
            chunk,
            display_path: self.workspace.display_path(uri),
            start_line: view.start_line,
            end_line: view.end_line,
            origin: view.chunk.origin.as_str().to_string(),
            items: view.chunk.items.clone(),
        };
        let open_in_editor =
            crate::lsp::uri::file_uri(&self.explaining.folder.join(explanation::file_name(chunk)))
                .is_some_and(|document| self.explaining.open.contains(&document));
        let prepared = explanation::prepare(&self.explaining.folder, &place, open_in_editor);
        let (path, prepared) = prepared.map_err(|error| {
            let mut failure = jsonrpc::Error::internal_error();
            failure.message = format!(
                "cannot write the explanation document in {}: {error}",
                self.explaining.folder.display()
            )
            .into();
            failure
        })?;
        let document_uri = crate::lsp::uri::file_uri(&path).unwrap_or_default();
        if prepared == Prepared::ReusedUntied {
            self.show(
                MessageType::WARNING,
                format!(
                    "{} lost its first line, which ties it to chunk {}: saving it records \
                     nothing. Copy your answers out, delete the file, and choose Explain again.",
                    path.display(),
                    chunk.0
                ),
            );
        }
        if self.facts.show_document {
            if let Ok(target) = Uri::from_str(&document_uri) {
                self.output.request(|client| async move {
                    let params = ShowDocumentParams {
                        uri: target,
                        external: None,
                        take_focus: Some(true),
                        selection: None,
                    };
                    if let Err(error) = client.show_document(params).await {
                        tracing::warn!(
                            "the client could not show the explanation document: {error}"
                        );
                    }
                });
            }
        } else {
            // Said where the user sees it: without showDocument the path is all they get.
            self.show(
                MessageType::INFO,
                format!(
                    "Explain {} of {}: open {}, answer the three questions from memory, and save it",
                    line_range(place.start_line, place.end_line),
                    place.display_path,
                    path.display()
                ),
            );
        }
        Ok(json!({
            "chunk": chunk.0,
            "document": document_uri,
            "path": path.display().to_string(),
            "written": prepared == Prepared::Written,
        }))
    }

    pub(super) async fn record_explanation_document(
        &mut self,
        document_uri: &str,
        text: Option<String>,
    ) {
        let text = match text {
            Some(text) => text,
            None => match file_path(document_uri).map(|path| read_text_file(&path)) {
                Some(Ok(text)) => text,
                _ => {
                    tracing::warn!("cannot read the saved explanation document {document_uri}");
                    return;
                }
            },
        };
        let Some((uri, chunk, answers)) = explanation::parse(&text) else {
            self.log(
                MessageType::WARNING,
                format!("{document_uri} lost its first line, which ties it to a chunk: the answers were not recorded"),
            );
            return;
        };
        if answers.is_empty() {
            return;
        }
        self.load_from_store(&uri);
        match self.engine.explain(&uri, chunk, &answers, now_ms()) {
            Ok(score) => {
                let lines = self
                    .engine
                    .chunks_in(&uri)
                    .iter()
                    .find(|view| view.chunk.id == chunk)
                    .map(|view| line_range(view.start_line, view.end_line));
                let message = saved_message(lines.as_deref(), &score);
                // Said where the user sees it, unless their editor's extension says it itself:
                // the VS Code extension waits for the saved answer and says its score.
                if self.facts.voice == Voice::VsCode {
                    self.log(MessageType::INFO, message);
                } else {
                    self.show(MessageType::INFO, message);
                }
                self.publish_diagnostics(&uri);
                self.request_lens_refresh();
                // Never awaited here: a slow store must not hold up the loop.
                drop(self.commit(
                    &uri,
                    Judgement {
                        judged: vec![chunk.0],
                        removed: Vec::new(),
                        dismissal: None,
                    },
                ));
            }
            Err(error) => self.log(
                MessageType::WARNING,
                format!("explanation not recorded: {error}"),
            ),
        }
    }
}

/// One line on what saving an explanation recorded: "Explanation saved for lines 12–40: 72/100,
/// passes." or "… 12/100, shallow — say why, name what it uses."
pub(super) fn saved_message(lines: Option<&str>, score: &ExplanationScore) -> String {
    let which = lines.map_or_else(String::new, |lines| format!(" for {lines}"));
    let verdict = if score.shallow {
        "shallow — say why, name what it uses"
    } else {
        "passes"
    };
    format!("Explanation saved{which}: {}/100, {verdict}.", score.score)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::chunk::score_explanation;

    #[test]
    fn the_saved_message_names_the_lines_the_score_and_the_verdict() {
        let shallow = score_explanation("it merges typed events", &[]);
        assert_eq!(
            saved_message(Some("line 191"), &shallow),
            "Explanation saved for line 191: 2/100, shallow — say why, name what it uses."
        );
        let passing = score_explanation(
            "It merges the typed events into one edit because the editor sends one per key, and \
             judging each alone would flag nothing while costing a pass per keystroke; the \
             trade-off is a short delay before a burst is judged.",
            &[],
        );
        assert_eq!(
            saved_message(Some("lines 12–40"), &passing),
            format!(
                "Explanation saved for lines 12–40: {}/100, passes.",
                passing.score
            )
        );
        assert_eq!(
            saved_message(None, &passing),
            format!("Explanation saved: {}/100, passes.", passing.score)
        );
    }
}
