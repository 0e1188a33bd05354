//! The one owner of the server's state, and the loop that applies every event to it in arrival
//! order. Handlers of the tower-lsp family run concurrently, so they only forward: each
//! notification and request becomes an [`Event`] on one channel, and this loop is the only code
//! that touches the engine. Nothing here waits on the disk on the typing path: snapshots go to the
//! writer thread, and only commands wait for their flush before they answer.
//!
//! The state is kept in rooms, one module each with the state it owns: `documents` (what the
//! editor opens and edits), `declarations` (what agents declared), `disk` (the workspace and files
//! changed outside the editor), `executing` (the `whetstone.*` commands), `explaining`
//! (explanation documents), `calibrating` (sessions, activity, the reminder), `publishing`
//! (diagnostics and lens refreshes) and `persisting` (the store, the writer, the journal). This
//! module holds what every room shares: the engine, the store, the settings, the client and
//! its facts.

mod asking_git;
mod calibrating;
mod declarations;
mod disk;
mod documents;
mod executing;
mod explaining;
mod persisting;
mod publishing;

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tower_lsp_server::Client;
use tower_lsp_server::jsonrpc;
use tower_lsp_server::ls_types::{
    CodeActionOrCommand, CodeActionParams, CodeLens, ConfigurationItem,
    DidChangeTextDocumentParams, DidChangeWatchedFilesParams,
    DidChangeWatchedFilesRegistrationOptions, DidCloseTextDocumentParams,
    DidOpenTextDocumentParams, DidSaveTextDocumentParams, ExecuteCommandParams, FileSystemWatcher,
    GlobPattern, Hover, HoverParams, InitializeParams, InitializeResult, MessageType, Registration,
};

use crate::core::{Engine, PositionEncoding};
use crate::lsp::capabilities::{ClientFacts, server_capabilities};
use crate::lsp::nudges;
use crate::lsp::output::Output;
use crate::lsp::settings::{self, Settings};
use crate::lsp::writer::Writer;
use crate::store::journal::Entry as JournalEntry;
use crate::store::protocol::Notice;
use crate::store::{MemoryStore, Store};

use asking_git::AskingGit;
use calibrating::{Calibrating, REMINDER_CHECK_EVERY, feel_actions};
use disk::Workspace;
use explaining::Explaining;
use persisting::{Persisting, SNAPSHOT_EVERY};
use publishing::Publishing;

pub use calibrating::CalibrationChangedNotification;
pub use documents::EditOriginParams;
pub use executing::chunk_json;

/// How often the loop wakes up without an event: pending lens refreshes and periodic snapshots.
pub const TICK: std::time::Duration = std::time::Duration::from_millis(500);

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
    WorkspaceFoldersChanged(tower_lsp_server::ls_types::DidChangeWorkspaceFoldersParams),
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
    /// The user answered the feel question of the session that started at `started_ms`.
    FeelChosen {
        started_ms: u64,
        feel: u8,
    },
    /// Another process changed what every window must see at once.
    StoreNotice(Notice),
    /// Judgements that reached neither the journal nor the store (a full disk): kept, tried
    /// again.
    Unsaved {
        /// The file whose store copy must be written again (None for a retry of kept entries).
        uri: Option<String>,
        entries: Vec<JournalEntry>,
    },
    /// Kept judgements reached the journal at last.
    SavedLater {
        count: usize,
    },
    /// Git's committed text for `uri` (None: not in a repository, not tracked, or git failed).
    GitAnswered {
        uri: String,
        text: Option<String>,
    },
    /// A closed file that changed on disk, read off the loop with what git committed for it
    /// (None for the text: it could not be read, and the file is left as it was).
    ReadOnDisk {
        uri: String,
        text: Option<String>,
        committed: Option<String>,
    },
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
    // Without a shutdown (the pipe closed), what is pending is written now.
    if !state.persisting.shut_down {
        state.run_parked_unanswered().await;
        state.flush_everything().await;
    }
}

struct State {
    /// Everything said to the editor goes through here, in order.
    output: Output,
    /// For tasks that feed results back into the loop (pulled configuration).
    sender: mpsc::UnboundedSender<Event>,
    engine: Engine,
    store: Arc<dyn Store>,
    writer: Writer,
    settings: Settings,
    facts: ClientFacts,
    /// Told once after `initialized`: why the store is in memory, bad settings.
    pending_messages: Vec<(MessageType, String, bool)>,
    /// Set by `initialized`: nothing is said to the client before it.
    initialized: bool,
    workspace: Workspace,
    publishing: Publishing,
    persisting: Persisting,
    calibrating: Calibrating,
    explaining: Explaining,
    git: AskingGit,
}

impl State {
    fn new(client: Client, sender: mpsc::UnboundedSender<Event>) -> State {
        let output = Output::start(client);
        let store: Arc<dyn Store> = Arc::new(MemoryStore::default());
        let mut state = State {
            output,
            sender,
            engine: Engine::default(),
            writer: Writer::start(store.clone()),
            store,
            settings: Settings::default(),
            facts: ClientFacts::default(),
            pending_messages: Vec::new(),
            initialized: false,
            workspace: Workspace::default(),
            publishing: Publishing::default(),
            persisting: Persisting::default(),
            calibrating: Calibrating::default(),
            explaining: Explaining::default(),
            git: AskingGit::default(),
        };
        // Without a store folder, explanation documents go to a private temporary folder.
        let fallback =
            std::env::temp_dir().join(format!("whetstone-explanations-{}", std::process::id()));
        state.explaining.set_folder(fallback);
        state
    }

    async fn handle(&mut self, event: Event) {
        match event {
            Event::GitAnswered { uri, text } => self.committed_answered(uri, text).await,
            Event::ReadOnDisk {
                uri,
                text,
                committed,
            } => {
                self.read_on_disk(&uri, text, committed);
                self.release(&uri).await;
            }
            Event::Shutdown { reply } => {
                // After `shutdown` comes `exit`, which asks again: once is enough, and the
                // editor waits for the process to end.
                if !self.persisting.shut_down {
                    self.persisting.shut_down = true;
                    self.run_parked_unanswered().await;
                    self.flush_everything().await;
                }
                let _ = reply.send(());
            }
            event => self.route(event).await,
        }
    }

    /// Applies one event now.
    async fn dispatch(&mut self, event: Event) {
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
            Event::WorkspaceFoldersChanged(params) => self.workspace_folders_changed(params),
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
                let mut actions = nudges::code_actions(
                    &uri,
                    &views,
                    params.range.start.line as usize,
                    params.range.end.line as usize,
                    &params.context.diagnostics,
                );
                if self.calibrating.unrated.is_some() {
                    actions.extend(feel_actions());
                }
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
            Event::FeelChosen { started_ms, feel } => self.feel_chosen(started_ms, feel),
            Event::StoreNotice(Notice::CalibrationChanged) => self.calibration_changed_elsewhere(),
            Event::StoreNotice(Notice::Message { message }) => {
                self.show(MessageType::WARNING, message);
            }
            Event::StoreNotice(Notice::Declared { key, declaration }) => {
                self.declared_elsewhere(key.into(), declaration);
            }
            Event::Unsaved { uri, entries } => {
                self.persisting.unsaved.extend(entries);
                self.persisting.unsaved_tried = Some(Instant::now());
                // The store's copy is written again with the next snapshots.
                if let Some(uri) = uri {
                    self.mark_dirty(&uri);
                }
            }
            Event::SavedLater { count } => self.show(
                MessageType::INFO,
                format!(
                    "Whetstone saved {count} judgements it had kept in memory while the disk \
                     could not take them."
                ),
            ),
            // Taken by `handle` before they reach here.
            Event::GitAnswered { .. } | Event::ReadOnDisk { .. } | Event::Shutdown { .. } => {}
        }
    }

    fn initialize(&mut self, params: InitializeParams) -> InitializeResult {
        self.facts = ClientFacts::of(&params.capabilities);
        // Helix 25.07 handles window/showDocument but does not announce it.
        if params
            .client_info
            .as_ref()
            .is_some_and(|info| info.name.eq_ignore_ascii_case("helix"))
        {
            self.facts.show_document = true;
        }
        self.facts.shows_explanation_scores = params
            .client_info
            .as_ref()
            .is_some_and(|info| crate::lsp::capabilities::shows_explanation_scores(&info.name));
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
        self.workspace = Workspace::of(&params);
        let encoding = if self.facts.offers_utf8 {
            PositionEncoding::Utf8
        } else {
            PositionEncoding::Utf16
        };
        self.engine.set_encoding(encoding);
        self.engine
            .set_committed_text(Box::new(self.git.slot.clone()));
        self.open_store();
        self.load_calibration();
        server_capabilities(encoding)
    }

    fn initialized(&mut self) {
        self.initialized = true;
        self.consider_reminder();
        for (kind, message, show) in std::mem::take(&mut self.pending_messages) {
            self.output.notify(move |client| async move {
                if show {
                    client.show_message(kind, &message).await;
                }
                client.log_message(kind, message).await;
            });
        }
        if self.facts.watched_files_registration {
            self.output.request(|client| async move {
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
                let sender = self.sender.clone();
                self.output.request(|client| async move {
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

    fn tick(&mut self) {
        if self.publishing.refresh_pending {
            self.request_lens_refresh();
        }
        self.retry_unsaved();
        self.end_calibration_if_time_is_up(now_ms());
        if self.persisting.last_snapshot.elapsed() >= SNAPSHOT_EVERY {
            for uri in std::mem::take(&mut self.persisting.dirty) {
                self.queue_snapshot(&uri);
            }
            self.persist_calibration_and_activity();
            self.persisting.last_snapshot = Instant::now();
        }
        if self
            .calibrating
            .last_reminder_check
            .is_none_or(|checked| checked.elapsed() >= REMINDER_CHECK_EVERY)
        {
            self.consider_reminder();
        }
    }

    fn show(&self, kind: MessageType, message: String) {
        tracing::info!("{message}");
        self.output
            .notify(move |client| async move { client.show_message(kind, message).await });
    }

    fn log(&self, kind: MessageType, message: String) {
        match kind {
            MessageType::ERROR | MessageType::WARNING => tracing::warn!("{message}"),
            _ => tracing::info!("{message}"),
        }
        self.output
            .notify(move |client| async move { client.log_message(kind, message).await });
    }

    fn open_file_uris(&self) -> Vec<String> {
        self.engine
            .known_files()
            .into_iter()
            .filter(|uri| self.engine.is_open(uri))
            .collect()
    }
}

/// Wall-clock milliseconds: chunk ages must survive restarts.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}
