//! The one owner of the server's state, and the loop that applies every event to it in arrival
//! order. Handlers of the tower-lsp family run concurrently, so they only forward: each
//! notification and request becomes an [`Event`] on one channel, and this loop is the only code
//! that touches the engine. Nothing here waits on the disk on the typing path: snapshots go to the
//! writer thread, and only commands wait for their flush before they answer.

use std::collections::HashSet;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tower_lsp_server::Client;
use tower_lsp_server::jsonrpc;
use tower_lsp_server::ls_types::{
    CodeActionOrCommand, CodeActionParams, CodeLens, ConfigurationItem,
    DidChangeTextDocumentParams, DidChangeWatchedFilesParams,
    DidChangeWatchedFilesRegistrationOptions, DidCloseTextDocumentParams,
    DidOpenTextDocumentParams, DidSaveTextDocumentParams, ExecuteCommandParams, FileChangeType,
    FileSystemWatcher, GlobPattern, Hover, HoverParams, InitializeParams, InitializeResult,
    MessageType, Registration, ShowDocumentParams, Uri,
};

use crate::core::engine::{ChangeOutcome, ChunkView, Verdict};
use crate::core::{
    ChunkId, ContentChange, Engine, Hint, Origin, Position, PositionEncoding, Range,
};
use crate::explanation::{self, ChunkPlace};
use crate::git::Git;
use crate::lsp::capabilities::{ClientFacts, server_capabilities};
use crate::lsp::commands::{self, CommandCall};
use crate::lsp::nudges;
use crate::lsp::settings::{self, Settings};
use crate::lsp::uri::file_path;
use crate::lsp::writer::{FileContent, WriteJob, Writer};
use crate::store::{self, FileKey, MemoryStore, Store};

/// How often the loop wakes up without an event: pending lens refreshes and periodic snapshots.
pub const TICK: Duration = Duration::from_millis(500);
/// Snapshots of edited files are written at most this often while typing.
const SNAPSHOT_EVERY: Duration = Duration::from_secs(3);
/// Code lens refreshes are sent at most this often (an AI stream changes a chunk per token).
const REFRESH_EVERY: Duration = Duration::from_millis(200);

/// The `whetstone/editOrigin` notification.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct EditOriginParams {
    pub uri: String,
    #[serde(default)]
    pub version: Option<i32>,
    pub origin: String,
}

/// Everything the loop reacts to, in the order it arrived.
#[derive(Debug)]
pub enum Event {
    Initialize {
        params: Box<InitializeParams>,
        reply: oneshot::Sender<InitializeResult>,
    },
    Initialized,
    Opened(DidOpenTextDocumentParams),
    Changed(DidChangeTextDocumentParams),
    Saved(DidSaveTextDocumentParams),
    Closed(DidCloseTextDocumentParams),
    EditOrigin(EditOriginParams),
    ConfigurationChanged(Value),
    WatchedFilesChanged(DidChangeWatchedFilesParams),
    CodeLens {
        uri: String,
        reply: oneshot::Sender<Vec<CodeLens>>,
    },
    CodeAction {
        params: Box<CodeActionParams>,
        reply: oneshot::Sender<Vec<CodeActionOrCommand>>,
    },
    Hover {
        params: HoverParams,
        reply: oneshot::Sender<Option<Hover>>,
    },
    ExecuteCommand {
        params: ExecuteCommandParams,
        reply: oneshot::Sender<jsonrpc::Result<Option<Value>>>,
    },
    Tick,
    /// Write everything and answer when it is on disk.
    Shutdown {
        reply: oneshot::Sender<()>,
    },
}

/// Runs the loop until the channel closes.
pub async fn run(
    mut events: mpsc::UnboundedReceiver<Event>,
    client: Client,
    sender: mpsc::UnboundedSender<Event>,
) {
    let mut state = State::new(client, sender);
    while let Some(event) = events.recv().await {
        state.handle(event).await;
    }
    state.flush_everything().await;
}

struct State {
    client: Client,
    /// For tasks that feed results back into the loop (pulled configuration).
    sender: mpsc::UnboundedSender<Event>,
    engine: Engine,
    store: Arc<dyn Store>,
    writer: Writer,
    settings: Settings,
    facts: ClientFacts,
    roots: Vec<PathBuf>,
    /// Told once after `initialized`: why the store is in memory, bad settings.
    pending_messages: Vec<(MessageType, String, bool)>,
    explanations_folder: PathBuf,
    /// `file:` URI prefix of `explanations_folder`, ending in `/`.
    explanations_uri_prefix: String,
    dirty: HashSet<String>,
    last_snapshot: Instant,
    refresh_pending: bool,
    last_refresh: Instant,
    /// Files whose diagnostics are non-empty on the client, to clear them when they empty.
    diagnosed: HashSet<String>,
}

impl State {
    fn new(client: Client, sender: mpsc::UnboundedSender<Event>) -> State {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::default());
        let mut state = State {
            client,
            sender,
            engine: Engine::default(),
            writer: Writer::start(store.clone()),
            store,
            settings: Settings::default(),
            facts: ClientFacts::default(),
            roots: Vec::new(),
            pending_messages: Vec::new(),
            explanations_folder: PathBuf::new(),
            explanations_uri_prefix: String::new(),
            dirty: HashSet::new(),
            last_snapshot: Instant::now(),
            refresh_pending: false,
            last_refresh: Instant::now() - REFRESH_EVERY,
            diagnosed: HashSet::new(),
        };
        // Without a store folder, explanation documents go to a private temporary folder.
        let fallback =
            std::env::temp_dir().join(format!("whetstone-explanations-{}", std::process::id()));
        state.set_explanations_folder(fallback);
        state
    }

    async fn handle(&mut self, event: Event) {
        match event {
            Event::Initialize { params, reply } => {
                let result = self.initialize(*params);
                let _ = reply.send(result);
            }
            Event::Initialized => self.initialized(),
            Event::Opened(params) => self.opened(params),
            Event::Changed(params) => self.changed(params),
            Event::Saved(params) => self.saved(params).await,
            Event::Closed(params) => self.closed(params),
            Event::EditOrigin(params) => self.edit_origin(params),
            Event::ConfigurationChanged(value) => self.configuration_changed(value),
            Event::WatchedFilesChanged(params) => self.watched_files_changed(params),
            Event::CodeLens { uri, reply } => {
                let lenses = if self.settings.code_lens {
                    nudges::code_lenses(&uri, &self.engine.chunks_in(&uri))
                } else {
                    Vec::new()
                };
                let _ = reply.send(lenses);
            }
            Event::CodeAction { params, reply } => {
                let uri = params.text_document.uri.as_str().to_string();
                let views = self.engine.chunks_in(&uri);
                let actions = nudges::code_actions(
                    &uri,
                    &views,
                    params.range.start.line as usize,
                    params.range.end.line as usize,
                    &params.context.diagnostics,
                );
                let _ = reply.send(actions);
            }
            Event::Hover { params, reply } => {
                let uri = params
                    .text_document_position_params
                    .text_document
                    .uri
                    .as_str()
                    .to_string();
                let line = params.text_document_position_params.position.line as usize;
                let hover = if self.settings.hover {
                    nudges::hover(&self.engine.chunks_in(&uri), line, now_ms())
                } else {
                    None
                };
                let _ = reply.send(hover);
            }
            Event::ExecuteCommand { params, reply } => self.execute_command(params, reply),
            Event::Tick => self.tick(),
            Event::Shutdown { reply } => {
                self.flush_everything().await;
                let _ = reply.send(());
            }
        }
    }

    // ---- lifecycle ------------------------------------------------------------------------

    fn initialize(&mut self, params: InitializeParams) -> InitializeResult {
        self.facts = ClientFacts::of(&params.capabilities);
        let (settings, warnings) = settings::parse(
            params
                .initialization_options
                .as_ref()
                .unwrap_or(&Value::Null),
        );
        for warning in warnings {
            self.pending_messages
                .push((MessageType::WARNING, warning, false));
        }
        self.apply_settings(settings);
        self.roots = workspace_roots(&params);
        let encoding = if self.facts.offers_utf8 {
            PositionEncoding::Utf8
        } else {
            PositionEncoding::Utf16
        };
        self.engine.set_encoding(encoding);
        self.engine.set_committed_text(Box::new(Git));
        self.open_store();
        server_capabilities(encoding)
    }

    fn open_store(&mut self) {
        let location = self
            .settings
            .store_path
            .clone()
            .or_else(|| store::default_location(|name| std::env::var_os(name)));
        let Some(location) = location else {
            let message = "whetstone found no place for its store (set WHETSTONE_HOME or HOME): \
                           it keeps working, but what you record is kept in memory only and lost \
                           when the editor closes";
            tracing::warn!("{message}");
            self.pending_messages
                .push((MessageType::WARNING, message.to_string(), true));
            return;
        };
        match store::open(&location) {
            Ok(opened) => {
                let opened: Arc<dyn Store> = Arc::new(opened);
                self.writer = Writer::start(opened.clone());
                self.store = opened;
                self.set_explanations_folder(location.join("explanations"));
                tracing::info!("store opened at {}", location.display());
            }
            Err(failure) => {
                let message = failure.user_message();
                tracing::warn!("store unavailable, running in memory: {failure}");
                self.pending_messages
                    .push((MessageType::WARNING, message, true));
            }
        }
        match self.store.next_chunk_id() {
            Ok(next) => self.engine.reserve_chunk_ids_below(next),
            Err(error) => tracing::warn!("cannot read the next chunk id from the store: {error}"),
        }
    }

    fn initialized(&mut self) {
        for (kind, message, show) in std::mem::take(&mut self.pending_messages) {
            let client = self.client.clone();
            tokio::spawn(async move {
                if show {
                    client.show_message(kind, &message).await;
                }
                client.log_message(kind, message).await;
            });
        }
        if self.facts.watched_files_registration {
            let client = self.client.clone();
            tokio::spawn(async move {
                let options = DidChangeWatchedFilesRegistrationOptions {
                    watchers: vec![FileSystemWatcher {
                        glob_pattern: GlobPattern::String("**/*".to_string()),
                        kind: None,
                    }],
                };
                let registration = Registration {
                    id: "whetstone-watched-files".to_string(),
                    method: "workspace/didChangeWatchedFiles".to_string(),
                    register_options: serde_json::to_value(options).ok(),
                };
                if let Err(error) = client.register_capability(vec![registration]).await {
                    tracing::warn!("the client refused to watch files for whetstone: {error}");
                }
            });
        }
    }

    fn apply_settings(&mut self, settings: Settings) {
        self.engine.set_config(settings.detection.clone());
        self.settings = settings;
    }

    fn configuration_changed(&mut self, value: Value) {
        let section = match &value {
            Value::Object(object) if object.contains_key("whetstone") => Some(value.clone()),
            Value::Object(object) if !object.is_empty() => Some(value.clone()),
            _ => None,
        };
        let Some(section) = section else {
            // Pull model (VS Code sends `settings: null`): ask for the section.
            if self.facts.configuration_pull {
                let client = self.client.clone();
                let sender = self.sender.clone();
                tokio::spawn(async move {
                    let items = vec![ConfigurationItem {
                        scope_uri: None,
                        section: Some("whetstone".to_string()),
                    }];
                    if let Ok(values) = client.configuration(items).await
                        && let Some(value) = values.into_iter().next()
                        && value.is_object()
                    {
                        let _ =
                            sender.send(Event::ConfigurationChanged(json!({ "whetstone": value })));
                    }
                });
            }
            return;
        };
        let (settings, warnings) = settings::parse(&section);
        if settings.store_path != self.settings.store_path {
            let note = "whetstone.storePath changed: the new store is used after the language server restarts";
            self.log(MessageType::INFO, note.to_string());
        }
        for warning in warnings {
            self.log(MessageType::WARNING, warning);
        }
        let store_path = self.settings.store_path.clone();
        self.apply_settings(Settings {
            store_path,
            ..settings
        });
        for uri in self.open_file_uris() {
            self.publish_diagnostics(&uri);
        }
        self.request_lens_refresh();
    }

    // ---- documents ------------------------------------------------------------------------

    fn opened(&mut self, params: DidOpenTextDocumentParams) {
        let uri = params.text_document.uri.as_str().to_string();
        if self.is_explanation_document(&uri) {
            return;
        }
        self.load_from_store(&uri);
        let outcome = self.engine.open(&uri, &params.text_document.text, now_ms());
        self.after_outcome(&uri, &outcome);
        // Every opened file gets one publication, empty or not, so clients start from a known state.
        let diagnostics = self.current_diagnostics(&uri);
        if !diagnostics.is_empty() {
            self.diagnosed.insert(uri.clone());
        }
        self.send_diagnostics(&uri, diagnostics);
    }

    fn changed(&mut self, params: DidChangeTextDocumentParams) {
        let uri = params.text_document.uri.as_str().to_string();
        if self.is_explanation_document(&uri) {
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
        let outcome =
            self.engine
                .change(&uri, Some(params.text_document.version), &changes, now_ms());
        if outcome.verdict == Verdict::UnknownDocument {
            tracing::warn!("didChange for {uri}, which was never opened: ignored");
            return;
        }
        self.mark_dirty(&uri);
        self.after_outcome(&uri, &outcome);
    }

    async fn saved(&mut self, params: DidSaveTextDocumentParams) {
        let uri = params.text_document.uri.as_str().to_string();
        if self.is_explanation_document(&uri) {
            self.record_explanation_document(&uri, params.text).await;
            return;
        }
        self.queue_snapshot(&uri);
    }

    fn closed(&mut self, params: DidCloseTextDocumentParams) {
        let uri = params.text_document.uri.as_str().to_string();
        if self.is_explanation_document(&uri) {
            return;
        }
        self.queue_snapshot(&uri);
        self.engine.close(&uri);
        if self.diagnosed.remove(&uri) {
            self.send_diagnostics(&uri, Vec::new());
        }
    }

    fn edit_origin(&mut self, params: EditOriginParams) {
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

    /// A file changed on disk. Open files are the editor's business (a didChange follows); a
    /// closed file whetstone knows is re-anchored now, so its chunks follow their text.
    fn watched_files_changed(&mut self, params: DidChangeWatchedFilesParams) {
        for change in params.changes {
            let uri = change.uri.as_str().to_string();
            if change.typ == FileChangeType::DELETED
                || self.engine.is_open(&uri)
                || self.is_explanation_document(&uri)
            {
                continue;
            }
            let Some(path) = file_path(&uri) else {
                continue;
            };
            self.load_from_store(&uri);
            if self.engine.line_map(&uri).is_none() {
                continue;
            }
            let text = match std::fs::read(&path) {
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(text) => text,
                    Err(_) => {
                        tracing::info!("{} is not UTF-8 text; not re-anchored", path.display());
                        continue;
                    }
                },
                Err(error) => {
                    tracing::warn!(
                        "cannot read {} after it changed on disk: {error}",
                        path.display()
                    );
                    continue;
                }
            };
            let outcome = self.engine.open(&uri, &text, now_ms());
            self.engine.close(&uri);
            if outcome.chunks_changed {
                tracing::info!("{uri} changed on disk; its ownership map was re-anchored");
            }
            self.queue_snapshot(&uri);
        }
    }

    /// Hands the engine what the store remembers of a file it does not know yet.
    fn load_from_store(&mut self, uri: &str) {
        if self.engine.line_map(uri).is_some() {
            return;
        }
        let Some(key) = self.file_key(uri) else {
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

    fn after_outcome(&mut self, uri: &str, outcome: &ChangeOutcome) {
        if outcome.chunks_changed || !outcome.new_chunks.is_empty() {
            self.mark_dirty(uri);
            self.publish_diagnostics(uri);
            self.request_lens_refresh();
        }
    }

    // ---- commands ---------------------------------------------------------------------------

    fn execute_command(
        &mut self,
        params: ExecuteCommandParams,
        reply: oneshot::Sender<jsonrpc::Result<Option<Value>>>,
    ) {
        let call = match commands::parse(&params.command, &params.arguments) {
            Ok(call) => call,
            Err(message) => {
                let _ = reply.send(Err(jsonrpc::Error::invalid_params(message)));
                return;
            }
        };
        let uri = match &call {
            CommandCall::Classify { uri, .. }
            | CommandCall::Explain { uri, .. }
            | CommandCall::Dismiss { uri, .. }
            | CommandCall::Chunks { uri } => uri.clone(),
        };
        self.load_from_store(&uri);
        let now = now_ms();
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
            CommandCall::Dismiss { uri, chunk } => {
                let result = self
                    .engine
                    .dismiss(&uri, chunk, now)
                    .map_err(|error| error.to_string());
                if result.is_ok()
                    && let (Some(key), Some(dismissal)) =
                        (self.file_key(&uri), self.engine.dismissals().last())
                {
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
        // A verdict changed: show it, and answer only once it is on disk.
        self.publish_diagnostics(&uri);
        self.request_lens_refresh();
        self.queue_snapshot(&uri);
        let flushed = self.writer.flush();
        let client = self.client.clone();
        tokio::spawn(async move {
            match flushed.await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    client
                        .show_message(
                            MessageType::WARNING,
                            format!(
                                "whetstone recorded this, but could not save it to disk: {error}"
                            ),
                        )
                        .await
                }
                Err(_) => tracing::warn!("the store writer stopped before flushing"),
            }
            let _ = reply.send(Ok(Some(value)));
        });
    }

    /// The file's ownership map as `whetstone.chunks` returns it.
    fn ownership_json(&mut self, uri: &str) -> Value {
        let counts = self.engine.origin_counts(uri);
        let counts: serde_json::Map<String, Value> = Origin::ALL
            .iter()
            .zip(counts)
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

    fn open_explanation_document(&mut self, uri: &str, chunk: ChunkId) -> jsonrpc::Result<Value> {
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
            display_path: self.display_path(uri),
            start_line: view.start_line,
            end_line: view.end_line,
            origin: view.chunk.origin.as_str().to_string(),
            items: view.chunk.items.clone(),
        };
        let path = explanation::write(&self.explanations_folder, &place).map_err(|error| {
            let mut failure = jsonrpc::Error::internal_error();
            failure.message = format!(
                "cannot write the explanation document in {}: {error}",
                self.explanations_folder.display()
            )
            .into();
            failure
        })?;
        let document_uri = crate::lsp::uri::file_uri(&path).unwrap_or_default();
        if self.facts.show_document {
            let client = self.client.clone();
            if let Ok(target) = Uri::from_str(&document_uri) {
                tokio::spawn(async move {
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
            self.log(
                MessageType::INFO,
                format!(
                    "explain chunk {}: write your answers in {} and save it",
                    chunk.0,
                    path.display()
                ),
            );
        }
        Ok(json!({"chunk": chunk.0, "document": document_uri, "path": path.display().to_string()}))
    }

    async fn record_explanation_document(&mut self, document_uri: &str, text: Option<String>) {
        let text = match text {
            Some(text) => text,
            None => match file_path(document_uri).map(std::fs::read_to_string) {
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
                self.queue_snapshot(&uri);
                let flushed = self.writer.flush();
                if let Ok(Err(error)) = flushed.await {
                    self.log(
                        MessageType::WARNING,
                        format!("whetstone could not save the explanation: {error}"),
                    );
                }
            }
            Err(error) => self.log(
                MessageType::WARNING,
                format!("explanation not recorded: {error}"),
            ),
        }
    }

    // ---- output to the client ----------------------------------------------------------------

    /// Sends the file's diagnostics when there are some or when the last ones just went; an
    /// empty list is not repeated on every keystroke.
    fn publish_diagnostics(&mut self, uri: &str) {
        let diagnostics = self.current_diagnostics(uri);
        let had_some = self.diagnosed.contains(uri);
        if diagnostics.is_empty() {
            self.diagnosed.remove(uri);
            if !had_some {
                return;
            }
        } else {
            self.diagnosed.insert(uri.to_string());
        }
        self.send_diagnostics(uri, diagnostics);
    }

    fn current_diagnostics(&mut self, uri: &str) -> Vec<tower_lsp_server::ls_types::Diagnostic> {
        if !self.engine.is_open(uri) || !self.settings.diagnostics_on(self.facts.code_lens) {
            return Vec::new();
        }
        nudges::diagnostics(
            &self.engine.chunks_in(uri),
            self.settings.diagnostic_severity,
        )
    }

    fn send_diagnostics(
        &self,
        uri: &str,
        diagnostics: Vec<tower_lsp_server::ls_types::Diagnostic>,
    ) {
        let Ok(target) = Uri::from_str(uri) else {
            return;
        };
        let client = self.client.clone();
        tokio::spawn(async move { client.publish_diagnostics(target, diagnostics, None).await });
    }

    fn request_lens_refresh(&mut self) {
        if !(self.facts.code_lens_refresh && self.settings.code_lens) {
            return;
        }
        if self.last_refresh.elapsed() < REFRESH_EVERY {
            self.refresh_pending = true;
            return;
        }
        self.refresh_pending = false;
        self.last_refresh = Instant::now();
        let client = self.client.clone();
        tokio::spawn(async move {
            if let Err(error) = client.code_lens_refresh().await {
                tracing::debug!("code lens refresh refused: {error}");
            }
        });
    }

    fn log(&self, kind: MessageType, message: String) {
        match kind {
            MessageType::ERROR | MessageType::WARNING => tracing::warn!("{message}"),
            _ => tracing::info!("{message}"),
        }
        let client = self.client.clone();
        tokio::spawn(async move { client.log_message(kind, message).await });
    }

    // ---- persistence ----------------------------------------------------------------------------

    fn tick(&mut self) {
        if self.refresh_pending {
            self.request_lens_refresh();
        }
        if self.last_snapshot.elapsed() >= SNAPSHOT_EVERY && !self.dirty.is_empty() {
            for uri in std::mem::take(&mut self.dirty) {
                self.queue_snapshot(&uri);
            }
            self.last_snapshot = Instant::now();
        }
    }

    /// Hands a copy of the file's map and chunks to the writer thread (cheap: the rope is shared).
    fn queue_snapshot(&mut self, uri: &str) {
        self.dirty.remove(uri);
        let Some(key) = self.file_key(uri) else {
            return;
        };
        let content = if let Some(document) = self.engine.document(uri) {
            let Some(map) = self.engine.line_map(uri) else {
                return;
            };
            FileContent::Open {
                rope: document.rope().clone(),
                map: map.clone(),
            }
        } else {
            match self.engine.snapshot(uri) {
                Some(snapshot) => FileContent::Closed(snapshot),
                None => return,
            }
        };
        let chunks = self
            .engine
            .chunks_in(uri)
            .into_iter()
            .map(|view| view.chunk)
            .collect();
        self.writer.send(WriteJob::Save {
            key,
            content,
            chunks,
        });
    }

    async fn flush_everything(&mut self) {
        for uri in std::mem::take(&mut self.dirty) {
            self.queue_snapshot(&uri);
        }
        for uri in self.open_file_uris() {
            self.queue_snapshot(&uri);
        }
        match tokio::time::timeout(Duration::from_secs(10), self.writer.flush()).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(error))) => tracing::warn!("final flush of the store failed: {error}"),
            _ => tracing::warn!("the store writer did not finish its final flush in time"),
        }
    }

    // ---- helpers --------------------------------------------------------------------------------

    fn file_key(&self, uri: &str) -> Option<FileKey> {
        file_path(uri).map(|path| FileKey::for_path(&self.roots, &path))
    }

    fn display_path(&self, uri: &str) -> String {
        match file_path(uri) {
            Some(path) => {
                let key = FileKey::for_path(&self.roots, &path);
                if key.workspace.is_empty() {
                    path.display().to_string()
                } else {
                    key.path
                }
            }
            None => uri.to_string(),
        }
    }

    /// A string prefix test: this runs on every keystroke, so no URI parsing.
    fn is_explanation_document(&self, uri: &str) -> bool {
        uri.starts_with(&self.explanations_uri_prefix)
    }

    fn set_explanations_folder(&mut self, folder: PathBuf) {
        let mut prefix = crate::lsp::uri::file_uri(&folder).unwrap_or_default();
        if !prefix.is_empty() && !prefix.ends_with('/') {
            prefix.push('/');
        }
        self.explanations_uri_prefix = prefix;
        self.explanations_folder = folder;
    }

    fn mark_dirty(&mut self, uri: &str) {
        if !self.dirty.contains(uri) {
            self.dirty.insert(uri.to_string());
        }
    }

    fn open_file_uris(&self) -> Vec<String> {
        self.engine
            .known_files()
            .into_iter()
            .filter(|uri| self.engine.is_open(uri))
            .collect()
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
    })
}

fn workspace_roots(params: &InitializeParams) -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = params
        .workspace_folders
        .iter()
        .flatten()
        .filter_map(|folder| file_path(folder.uri.as_str()))
        .collect();
    #[allow(deprecated)]
    if roots.is_empty()
        && let Some(root) = params
            .root_uri
            .as_ref()
            .and_then(|uri| file_path(uri.as_str()))
    {
        roots.push(root);
    }
    roots
}

/// Wall-clock milliseconds: chunk ages must survive restarts.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}
