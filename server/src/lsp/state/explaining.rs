//! Explanation documents: written for a chunk when the user explains without typing the text
//! inline, shown, and read back when saved.

use std::path::PathBuf;
use std::str::FromStr;

use serde_json::{Value, json};
use tower_lsp_server::jsonrpc;
use tower_lsp_server::ls_types::{MessageType, ShowDocumentParams, Uri};

use super::persisting::Judgement;
use super::{State, now_ms};
use crate::core::ChunkId;
use crate::explanation::{self, ChunkPlace};
use crate::lsp::uri::{file_path, read_text_file};

/// Where explanation documents are written, and how their URIs are told from the user's files.
#[derive(Default)]
pub(super) struct Explaining {
    pub folder: PathBuf,
    /// `file:` URI prefix of `folder`, ending in `/`.
    pub uri_prefix: String,
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
        let path = explanation::write(&self.explaining.folder, &place).map_err(|error| {
            let mut failure = jsonrpc::Error::internal_error();
            failure.message = format!(
                "cannot write the explanation document in {}: {error}",
                self.explaining.folder.display()
            )
            .into();
            failure
        })?;
        let document_uri = crate::lsp::uri::file_uri(&path).unwrap_or_default();
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
                    "Explain chunk {}: open {}, answer the three questions from memory, and save it",
                    chunk.0,
                    path.display()
                ),
            );
        }
        Ok(json!({"chunk": chunk.0, "document": document_uri, "path": path.display().to_string()}))
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
                let depth = if score.shallow {
                    "recorded; it reads as shallow — say why, and name what the code uses"
                } else {
                    "recorded"
                };
                self.log(
                    MessageType::INFO,
                    format!(
                        "explanation of chunk {}: {depth} ({}/100)",
                        chunk.0, score.score
                    ),
                );
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
