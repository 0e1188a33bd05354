//! The one owner of the server's state, and the loop that applies every event to it in arrival
//! order. Handlers of the tower-lsp family run concurrently, so they only forward: each
//! notification and request becomes an [`Event`] on one channel, and this loop is the only code
//! that touches the engine. Nothing here waits on the disk on the typing path: snapshots go to the
//! writer thread, and only commands wait for their flush before they answer.

use std::collections::{HashMap, HashSet};
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

use crate::core::activity::Activity;
use crate::core::calibration::{Breach, CalibrationSession, EndReason};
use crate::core::chunk_ids::{CHUNK_ID_BLOCK, ChunkIds};
use crate::core::date::day_of;
use crate::core::engine::{ChangeOutcome, ChunkView, Verdict};
use crate::core::pace::TypingPace;
use crate::core::{
    ChunkId, ContentChange, Engine, Hint, Origin, Position, PositionEncoding, Range,
};
use crate::explanation::{self, ChunkPlace};
use crate::git::Git;
use crate::lsp::calibration;
use crate::lsp::capabilities::{ClientFacts, server_capabilities};
use crate::lsp::commands::{self, CommandCall, ReportFormat};
use crate::lsp::nudges;
use crate::lsp::output::Output;
use crate::lsp::settings::{self, Settings};
use crate::lsp::uri::{file_path, read_text_file, unusable_file_uri};
use crate::lsp::writer::{FileContent, WriteJob, Writer};
use crate::store::calibration::{
    CalibrationChange, CalibrationError, CalibrationReply, CalibrationStatus, SessionEdit,
};
use crate::store::chunk_ids::ClaimedChunkIds;
use crate::store::journal::Entry as JournalEntry;
use crate::store::protocol::Notice;
use crate::store::records;
use crate::store::{self, FileKey, FileRecord, MemoryStore, SharedStore, Store, StoreError};

/// How often the loop wakes up without an event: pending lens refreshes and periodic snapshots.
pub const TICK: Duration = Duration::from_millis(500);
/// Snapshots of edited files are written at most this often while typing.
const SNAPSHOT_EVERY: Duration = Duration::from_secs(3);
/// Code lens refreshes are sent at most this often (an AI stream changes a chunk per token).
const REFRESH_EVERY: Duration = Duration::from_millis(200);
/// How often the calibration reminder is considered (it is said at most once a day).
const REMINDER_CHECK_EVERY: Duration = Duration::from_secs(3_600);
/// The store setting holding the day the reminder was last said.
const LAST_REMINDER_DAY: &str = "last_reminder_day";
/// A command that changed a verdict waits this long for the store's flush before it answers
/// with what the journal holds.
const COMMAND_WAITS_FOR_STORE: Duration = Duration::from_secs(3);
/// Files longer than this are not journaled (their records are megabytes): their judgements
/// are durable once the store flushed them, as the command's answer says.
const JOURNAL_MAX_LINES: usize = 200_000;
/// Judgements that could not be saved at all are tried again this often.
const RETRY_UNSAVED_EVERY: Duration = Duration::from_secs(5);

/// What a command changed, for the journal.
struct Judgement {
    /// Chunks whose class, explanation or practice changed.
    judged: Vec<u64>,
    /// Chunks the command took away (a dismissal).
    removed: Vec<u64>,
    dismissal: Option<crate::core::engine::Dismissal>,
}

/// How far a judgement got.
#[derive(Debug)]
enum Committed {
    /// On disk in the store (or, without a store folder, kept as the user was told).
    Saved,
    /// On disk in the journal; the store takes it when it answers.
    InJournal,
    /// Nowhere on disk: kept in memory and tried again. The message says so to the user.
    NotSaved(String),
}

/// `whetstone/calibrationChanged`, to the client: the running session (as
/// `whetstone.calibration.status` answers) or null, whenever it started, ended or was stopped here
/// or in another window.
pub enum CalibrationChangedNotification {}

impl tower_lsp_server::ls_types::notification::Notification for CalibrationChangedNotification {
    type Params = Value;
    const METHOD: &'static str = "whetstone/calibrationChanged";
}

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
    /// Everything said to the editor goes through here, in order.
    output: Output,
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
    /// The running calibration session (the user's, kept in the store).
    calibration: Option<CalibrationSession>,
    /// The last ended session, while it has no feel yet (offered as code actions).
    unrated: Option<CalibrationSession>,
    /// Edits and breaches of the running session not yet handed to the store (every window
    /// adds its own to the one session).
    calibration_edits: Vec<SessionEdit>,
    calibration_breaches: Vec<Breach>,
    /// The last ended session that has its feel, for the answer to a stop.
    last_finished: Option<CalibrationSession>,
    activity: Activity,
    last_reminder_check: Option<Instant>,
    reminded_day: Option<u32>,
    /// Set by `initialized`: nothing is said to the client before it.
    initialized: bool,
    /// The user was told that judgements wait in the journal (said once until the store answers).
    told_journal_only: Arc<std::sync::atomic::AtomicBool>,
    /// Judgements that could not be saved at all, and when they were last tried.
    unsaved: Vec<JournalEntry>,
    unsaved_tried: Option<Instant>,
    /// Everything was written for a shutdown already.
    shut_down: bool,
    /// The typing pace last handed to the store.
    pace_sent: TypingPace,
    /// The version of each open document, sent with its diagnostics.
    versions: HashMap<String, i32>,
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
            roots: Vec::new(),
            pending_messages: Vec::new(),
            explanations_folder: PathBuf::new(),
            explanations_uri_prefix: String::new(),
            dirty: HashSet::new(),
            last_snapshot: Instant::now(),
            refresh_pending: false,
            last_refresh: Instant::now() - REFRESH_EVERY,
            diagnosed: HashSet::new(),
            calibration: None,
            unrated: None,
            calibration_edits: Vec::new(),
            calibration_breaches: Vec::new(),
            last_finished: None,
            activity: Activity::default(),
            last_reminder_check: None,
            reminded_day: None,
            initialized: false,
            told_journal_only: Arc::default(),
            unsaved: Vec::new(),
            unsaved_tried: None,
            shut_down: false,
            pace_sent: TypingPace::default(),
            versions: HashMap::new(),
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
                if self.unrated.is_some() {
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
                self.unsaved.extend(entries);
                self.unsaved_tried = Some(Instant::now());
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
            Event::Shutdown { reply } => {
                // After `shutdown` comes `exit`, which asks again: once is enough, and the
                // editor waits for the process to end.
                if !self.shut_down {
                    self.shut_down = true;
                    self.flush_everything().await;
                }
                let _ = reply.send(());
            }
        }
    }

    // ---- lifecycle ------------------------------------------------------------------------

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
        self.load_calibration();
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
        let sender = self.sender.clone();
        let on_notice = move |notice| {
            let _ = sender.send(Event::StoreNotice(notice));
        };
        match SharedStore::connect(&location, on_notice) {
            Ok(shared) => {
                if let Some(notice) = shared.take_notice() {
                    self.pending_messages
                        .push((MessageType::WARNING, notice, true));
                }
                tracing::info!("store at {}: {}", location.display(), shared.describe());
                let shared: Arc<dyn Store> = shared;
                self.writer = Writer::start(shared.clone());
                self.store = shared;
                self.set_explanations_folder(location.join("explanations"));
            }
            Err(failure) => {
                let message = failure.user_message();
                tracing::warn!("store unavailable, running in memory: {failure}");
                self.pending_messages
                    .push((MessageType::WARNING, message, true));
            }
        }
        // From here on the engine takes chunk ids only from blocks the store grants this process.
        self.engine.set_chunk_ids(ChunkIds::shared(
            Box::new(ClaimedChunkIds::new(self.store.clone())),
            CHUNK_ID_BLOCK,
        ));
        match self.store.setting(crate::core::pace::SETTING) {
            Ok(Some(text)) => match TypingPace::from_setting(&text) {
                Some(pace) => self.engine.learn_pace(pace),
                None => tracing::warn!("the stored typing pace {text:?} is not one; ignored"),
            },
            Ok(None) => {}
            Err(error) => tracing::warn!("cannot read the typing pace: {error}"),
        }
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

    // ---- documents ------------------------------------------------------------------------

    fn opened(&mut self, params: DidOpenTextDocumentParams) {
        let uri = params.text_document.uri.as_str().to_string();
        if self.is_explanation_document(&uri) {
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
        self.versions
            .insert(uri.clone(), params.text_document.version);
        self.record_activity(&uri, &outcome, now);
        self.after_outcome(&uri, &outcome);
        if self.apply_stored_declarations(&uri) {
            self.after_declared(&uri);
        }
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
        let now = now_ms();
        let outcome = self
            .engine
            .change(&uri, Some(params.text_document.version), &changes, now);
        if outcome.verdict == Verdict::UnknownDocument {
            tracing::warn!("didChange for {uri}, which was never opened: ignored");
            return;
        }
        self.versions
            .insert(uri.clone(), params.text_document.version);
        self.mark_dirty(&uri);
        self.record_activity(&uri, &outcome, now);
        self.after_outcome(&uri, &outcome);
        if outcome.chunks_changed {
            self.consume_applied_declarations();
        }
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
        self.versions.remove(&uri);
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
            let text = match read_text_file(&path) {
                Ok(text) => text,
                Err(error) if error.kind() == std::io::ErrorKind::InvalidData => {
                    tracing::info!("{}: {error}; not re-anchored", path.display());
                    continue;
                }
                Err(error) => {
                    tracing::warn!(
                        "cannot read {} after it changed on disk: {error}",
                        path.display()
                    );
                    continue;
                }
            };
            let outcome = self.engine.open(&uri, &text, now_ms());
            let declared = self.apply_stored_declarations(&uri);
            self.engine.close(&uri);
            if outcome.chunks_changed || declared {
                tracing::info!("{uri} changed on disk; its ownership map was re-anchored");
            }
            self.queue_snapshot(&uri);
        }
    }

    /// One server serves every folder of the workspace: the store is one per user, so a second
    /// server for another folder would find it locked.
    fn workspace_folders_changed(
        &mut self,
        params: tower_lsp_server::ls_types::DidChangeWorkspaceFoldersParams,
    ) {
        for removed in params.event.removed {
            if let Some(path) = file_path(removed.uri.as_str()) {
                self.roots.retain(|root| root != &path);
            }
        }
        for added in params.event.added {
            if let Some(path) = file_path(added.uri.as_str())
                && !self.roots.contains(&path)
            {
                self.roots.push(path);
            }
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

    // ---- declared origins -------------------------------------------------------------------

    /// An agent declared lines of a file (`whetstone mark`, told by the store's holder). If the
    /// file is open here they become a chunk now, or, when the editor has not reloaded what the
    /// agent wrote yet, as soon as it does.
    fn declared_elsewhere(&mut self, key: FileKey, record: records::DeclarationV1) {
        let declaration = match records::declaration_from_record(record) {
            Ok(declaration) => declaration,
            Err(reason) => {
                tracing::warn!("the store told of an unreadable declaration for {key}: {reason}");
                return;
            }
        };
        let Some(uri) = self
            .open_file_uris()
            .into_iter()
            .find(|uri| declaration_key(uri).as_ref() == Some(&key))
        else {
            return;
        };
        if self.engine.declare(&uri, &declaration, now_ms()).is_some() {
            self.consume_declarations(&key, vec![declaration.id]);
            self.after_declared(&uri);
        } else {
            self.engine.wait_for_declared(&uri, declaration);
        }
    }

    /// Applies the declarations the store keeps for `uri`, just opened or read again from disk.
    /// Lines found become chunks; lines that are not there any more (the file changed since they
    /// were declared) are dropped with a warning rather than guessed at. True when a chunk changed.
    fn apply_stored_declarations(&mut self, uri: &str) -> bool {
        if unusable_file_uri(uri).is_some() {
            return false;
        }
        let Some(key) = declaration_key(uri) else {
            return false;
        };
        let declarations = match self.store.declarations(&key) {
            Ok(declarations) => declarations,
            Err(error) => {
                tracing::warn!("cannot read the declarations for {key}: {error}");
                return false;
            }
        };
        let now = now_ms();
        let mut applied = false;
        let mut consumed = Vec::new();
        for declaration in declarations {
            if self.engine.declare(uri, &declaration, now).is_some() {
                applied = true;
            } else {
                tracing::warn!(
                    "{}: the {} lines {} declared are not in the file as declared (it changed \
                     since); the declaration is dropped",
                    self.display_path(uri),
                    declaration.lines.len(),
                    declaration.agent
                );
            }
            consumed.push(declaration.id);
        }
        if !consumed.is_empty() {
            self.consume_declarations(&key, consumed);
        }
        applied
    }

    /// Declarations a rewrite of an open document brought in: the store stops keeping them.
    fn consume_applied_declarations(&mut self) {
        for (uri, id) in self.engine.take_applied_declarations() {
            if let Some(key) = declaration_key(&uri) {
                self.consume_declarations(&key, vec![id]);
            }
        }
    }

    /// Tells the store, off the loop, that declarations were applied or dropped. Applying one
    /// twice (this call lost to a crash) changes nothing: the chunk already carries the agent.
    fn consume_declarations(&self, key: &FileKey, ids: Vec<u64>) {
        let store = self.store.clone();
        let key = key.clone();
        tokio::task::spawn_blocking(move || {
            if let Err(error) = store.consume_declarations(&key, &ids) {
                tracing::warn!(
                    "cannot tell the store that declarations for {key} were applied: {error}"
                );
            }
        });
    }

    fn after_declared(&mut self, uri: &str) {
        self.mark_dirty(uri);
        self.publish_diagnostics(uri);
        self.request_lens_refresh();
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
                let status = self.calibration.as_ref().map_or(Value::Null, |session| {
                    calibration::session_json(session, now)
                });
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
                    && let (Some(key), Some(dismissal)) =
                        (self.file_key(&uri), self.engine.dismissals().last())
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

    /// Makes a judgement on `uri` durable: its file's record (and dismissal) go to the journal,
    /// synced, and to the store through the writer. Resolves with how far it got, and says so
    /// to the user when it is not on disk in the store; what could not be saved at all is kept
    /// and tried again every few seconds.
    fn commit(&mut self, uri: &str, judgement: Judgement) -> oneshot::Receiver<Committed> {
        let (done, receiver) = oneshot::channel();
        let Some((key, content, chunks)) = self.file_content(uri) else {
            // Not a file on disk (an untitled buffer): kept in this window only, as said.
            let _ = done.send(Committed::Saved);
            return receiver;
        };
        self.queue_snapshot(uri);
        let flushed = self.writer.flush();
        let store = self.store.clone();
        let entries_key = key.clone();
        let journaled = tokio::task::spawn_blocking(move || {
            let mut entries = Vec::new();
            if let Some(dismissal) = &judgement.dismissal {
                entries.push(JournalEntry::dismissal(&entries_key, dismissal));
            }
            // The journal keeps whole records; a huge file's would cost seconds per command.
            let lines = content.lines();
            if lines > JOURNAL_MAX_LINES {
                let written = store.journal(&entries).and_then(|_| {
                    Err(StoreError::Journal(format!(
                        "the file has {lines} lines, more than the journal keeps \
                         ({JOURNAL_MAX_LINES}); its judgements are saved in the store only"
                    )))
                });
                return (written, entries);
            }
            let record = FileRecord {
                snapshot: content.into_snapshot(),
                chunks,
            };
            entries.insert(
                0,
                JournalEntry::judged_file(
                    &entries_key,
                    &record,
                    &judgement.judged,
                    &judgement.removed,
                ),
            );
            let written = store.journal(&entries);
            (written, entries)
        });
        let output = self.output.clone();
        let sender = self.sender.clone();
        let uri = uri.to_string();
        let told = self.told_journal_only.clone();
        tokio::spawn(async move {
            let (journaled, entries) = match journaled.await {
                Ok((written, entries)) => (written, entries),
                Err(error) => (Err(StoreError::Journal(error.to_string())), Vec::new()),
            };
            let flushed = match tokio::time::timeout(COMMAND_WAITS_FOR_STORE, flushed).await {
                Ok(Ok(result)) => result,
                Ok(Err(_)) => Err("the store writer has stopped".to_string()),
                Err(_) => Err(format!(
                    "the store did not answer within {} s",
                    COMMAND_WAITS_FOR_STORE.as_secs()
                )),
            };
            let committed = match (journaled, flushed) {
                (_, Ok(())) => {
                    told.store(false, std::sync::atomic::Ordering::SeqCst);
                    Committed::Saved
                }
                (Ok(true), Err(why)) => {
                    tracing::warn!("a judgement is in the journal, not yet in the store: {why}");
                    if !told.swap(true, std::sync::atomic::Ordering::SeqCst) {
                        let message = format!(
                            "Whetstone saved this in its journal; the store itself did not take \
                             it yet ({why}). It is merged into the store as soon as the store \
                             answers: nothing is lost."
                        );
                        output.notify(move |client| async move {
                            client.show_message(MessageType::INFO, message).await
                        });
                    }
                    Committed::InJournal
                }
                (Ok(false), Err(why)) => {
                    tracing::warn!("a judgement is in memory only: {why}");
                    Committed::Saved
                }
                (Err(journal_error), Err(why)) => {
                    let message = format!(
                        "Whetstone could not save this: {why}; {journal_error}. It is kept in this \
                         window and saved again every few seconds until the disk takes it (free \
                         some space if the disk is full)."
                    );
                    let shown = message.clone();
                    output.notify(move |client| async move {
                        client.show_message(MessageType::ERROR, shown).await
                    });
                    let _ = sender.send(Event::Unsaved {
                        uri: Some(uri),
                        entries,
                    });
                    Committed::NotSaved(message)
                }
            };
            let _ = done.send(committed);
        });
        receiver
    }

    /// The file's ownership map as `whetstone.chunks` returns it.
    fn ownership_json(&mut self, uri: &str) -> Value {
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

    async fn record_explanation_document(&mut self, document_uri: &str, text: Option<String>) {
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

    // ---- calibration ----------------------------------------------------------------------------

    /// Where the sessions stand in the store (a session whose time is up is ended there), or
    /// None when the store cannot say.
    fn look_at_calibration(&mut self, now: u64) -> Option<CalibrationStatus> {
        match self
            .store
            .change_calibration(&CalibrationChange::Look { at_ms: now })
        {
            Ok(CalibrationReply::Status(status)) => Some(status),
            Ok(other) => {
                tracing::warn!("the store answered a look at the calibration with {other:?}");
                None
            }
            Err(error) => {
                tracing::warn!("cannot read the calibration sessions: {error}");
                None
            }
        }
    }

    /// Takes the running session (and the last one waiting for its feel) from the store; edits
    /// of this window not yet handed over are counted on top.
    fn load_calibration(&mut self) {
        let now = now_ms();
        let Some(status) = self.look_at_calibration(now) else {
            return;
        };
        self.take_calibration_status(status);
    }

    fn take_calibration_status(&mut self, status: CalibrationStatus) {
        let mut running = status.running;
        if let Some(session) = running.as_mut() {
            for edit in &self.calibration_edits {
                session.record_edit(&edit.uri, edit.from_ms, edit.typed_chars, edit.typed_lines);
                session.record_edit(&edit.uri, edit.to_ms, 0, 0);
            }
            for breach in &self.calibration_breaches {
                session.record_breach(breach.clone());
            }
        } else {
            // Nothing runs: what this window saw belonged to a session that has ended.
            self.send_calibration_progress();
        }
        self.calibration = running;
        self.unrated = status.last_ended.filter(|session| session.feel.is_none());
        if let Some(ended) = status.ended_now {
            self.finish_session(ended);
        }
    }

    /// A window or the command line started, stopped or rated a session.
    fn calibration_changed_elsewhere(&mut self) {
        let before = self.calibration.as_ref().map(|session| session.started_ms);
        self.load_calibration();
        let after = self.calibration.as_ref().map(|session| session.started_ms);
        if before == after {
            return;
        }
        let now = now_ms();
        match &self.calibration {
            Some(session) => {
                let until = match session.planned_end_ms() {
                    Some(end) => format!(
                        "for {} more minutes",
                        end.saturating_sub(now).div_ceil(60_000)
                    ),
                    None => "until it is stopped".to_string(),
                };
                self.show(
                    MessageType::INFO,
                    format!(
                        "Calibration session started elsewhere, {until}: no AI, no pasting in this \
                         window either."
                    ),
                );
            }
            None => self.show(
                MessageType::INFO,
                "Calibration session ended elsewhere.".to_string(),
            ),
        }
        self.announce_calibration(now);
        self.republish_all_diagnostics();
    }

    /// Tells the client at once that the session changed (status bars), with its status.
    fn announce_calibration(&self, now: u64) {
        if !self.initialized {
            return;
        }
        let status = self.calibration.as_ref().map_or(Value::Null, |session| {
            calibration::session_json(session, now)
        });
        self.output.notify(|client| async move {
            client
                .send_notification::<CalibrationChangedNotification>(status)
                .await;
        });
    }

    fn record_activity(&mut self, uri: &str, outcome: &ChangeOutcome, now: u64) {
        let in_calibration = self.calibration.is_some();
        let inserted = outcome.inserted;
        let origin = inserted.origin.unwrap_or(Origin::Typed);
        let (lines, typed_chars) = if inserted.origin.is_some() {
            (inserted.lines, inserted.typed_chars)
        } else {
            (0, 0)
        };
        self.activity
            .record(now, origin, lines, typed_chars, in_calibration);
        if inserted.burst_lines > 0 {
            self.activity
                .reattribute(now, Origin::Generated, inserted.burst_lines, in_calibration);
        }
        let Some(session) = self.calibration.as_mut() else {
            return;
        };
        let (typed_chars, typed_lines) = if origin == Origin::Typed {
            (typed_chars, lines.saturating_sub(inserted.burst_lines))
        } else {
            (0, 0)
        };
        session.record_edit(uri, now, typed_chars, typed_lines);
        SessionEdit::add(
            &mut self.calibration_edits,
            uri,
            now,
            typed_chars,
            typed_lines,
        );
        if inserted.burst_lines > 0 {
            // Lines typed earlier in this burst were a stream after all.
            session.typed_lines = session.typed_lines.saturating_sub(inserted.burst_lines);
            if let Some(last) = self.calibration_edits.last_mut() {
                last.typed_lines = last.typed_lines.saturating_sub(inserted.burst_lines);
            }
        }
        if outcome.new_chunks.is_empty() {
            return;
        }
        let views = self.engine.chunks_in(uri);
        let mut announced = Vec::new();
        for id in &outcome.new_chunks {
            let Some(view) = views.iter().find(|view| view.chunk.id == *id) else {
                continue;
            };
            let lines = (view.end_line - view.start_line) as u64;
            let breach = Breach {
                at_ms: now,
                uri: uri.to_string(),
                origin: view.chunk.origin,
                lines,
                chunk: Some(*id),
            };
            if let Some(session) = self.calibration.as_mut() {
                session.record_breach(breach.clone());
            }
            self.calibration_breaches.push(breach);
            announced.push(format!("{lines} lines {}", view.chunk.origin.as_str()));
        }
        if announced.is_empty() {
            return;
        }
        let message = format!(
            "Calibration session: {} in {} — this is a no-AI block, so it is recorded as a breach.",
            announced.join(" and "),
            self.display_path(uri)
        );
        self.show(MessageType::WARNING, message);
        // Calibration state is the user's: a breach reaches the store at once, not in 3 s.
        self.send_calibration_progress();
    }

    /// Hands this window's edits and breaches of the running session to the store.
    fn send_calibration_progress(&mut self) {
        if self.calibration_edits.is_empty() && self.calibration_breaches.is_empty() {
            return;
        }
        let edits = std::mem::take(&mut self.calibration_edits);
        let breaches = std::mem::take(&mut self.calibration_breaches);
        let Some(started_ms) = self
            .calibration
            .as_ref()
            .or(self.unrated.as_ref())
            .map(|session| session.started_ms)
        else {
            return;
        };
        self.writer
            .send(WriteJob::Calibration(CalibrationChange::Progress {
                started_ms,
                edits,
                breaches: breaches.iter().map(records::breach_to_record).collect(),
            }));
    }

    fn start_calibration(
        &mut self,
        label: Option<String>,
        minutes: Option<u32>,
        now: u64,
    ) -> Result<Value, String> {
        let change = CalibrationChange::Start {
            label,
            minutes,
            at_ms: now,
        };
        let session = match self.store.change_calibration(&change) {
            Ok(CalibrationReply::Started(session)) => session,
            Ok(other) => return Err(format!("the store answered a start with {other:?}")),
            Err(CalibrationError::AlreadyRunning { since_ms }) => {
                self.load_calibration();
                return Err(format!(
                    "a calibration session is already running (started {} minutes ago); stop it \
                     first",
                    now.saturating_sub(since_ms) / 60_000
                ));
            }
            Err(error) => return Err(error.to_string()),
        };
        let until = match minutes {
            Some(minutes) => format!("for {minutes} minutes"),
            None => "until you stop it".to_string(),
        };
        self.show(
            MessageType::INFO,
            format!("Calibration session started {until}: no AI, no pasting. Whetstone measures your unassisted pace."),
        );
        let status = calibration::session_json(&session, now);
        self.calibration_edits.clear();
        self.calibration_breaches.clear();
        self.calibration = Some(session);
        self.announce_calibration(now);
        self.republish_all_diagnostics();
        Ok(status)
    }

    fn stop_calibration(
        &mut self,
        feel: Option<u8>,
        notes: Option<String>,
        now: u64,
    ) -> Result<Value, String> {
        // What this window typed reaches the store first: the writer's queue is in order, and
        // progress that arrives after the stop still counts what came before it.
        self.send_calibration_progress();
        let change = CalibrationChange::Stop {
            feel,
            notes,
            at_ms: now,
        };
        match self.store.change_calibration(&change) {
            Ok(CalibrationReply::Stopped(session)) => {
                self.calibration = None;
                self.finish_session(session.clone());
                Ok(calibration::session_json(&session, now))
            }
            Ok(CalibrationReply::Rated(session)) => {
                if let Some(feel) = session.feel {
                    self.show(
                        MessageType::INFO,
                        format!(
                            "Recorded: the last calibration session felt {}.",
                            calibration::feel_title(feel)
                        ),
                    );
                }
                self.unrated = None;
                self.last_finished = Some(session.clone());
                Ok(calibration::session_json(&session, now))
            }
            Ok(other) => Err(format!("the store answered a stop with {other:?}")),
            Err(CalibrationError::AlreadyRated { .. } | CalibrationError::NotRunning) => {
                self.load_calibration();
                Err("no calibration session is running".to_string())
            }
            Err(error) => Err(error.to_string()),
        }
    }

    /// Tells the user how the ended session went, and asks how it felt.
    fn finish_session(&mut self, session: CalibrationSession) {
        let summary = calibration::summary(&session);
        let reason = match session.ended_because {
            Some(EndReason::TimeUp) => "Calibration session over: its time is up.",
            _ => "Calibration session stopped.",
        };
        self.show(MessageType::INFO, format!("{reason} {summary}."));
        let started_ms = session.started_ms;
        if session.feel.is_none() {
            if self.facts.show_message_request {
                let sender = self.sender.clone();
                self.output.request(move |client| async move {
                    let answer = client
                        .show_message_request(
                            MessageType::INFO,
                            "How did the calibration session feel? (1 struggled … 5 smooth)",
                            Some(calibration::feel_choices()),
                        )
                        .await;
                    if let Ok(Some(choice)) = answer
                        && let Some(feel) = calibration::feel_from_choice(&choice.title)
                    {
                        let _ = sender.send(Event::FeelChosen { started_ms, feel });
                    }
                });
            }
            self.unrated = Some(session);
        } else {
            self.unrated = None;
            self.last_finished = Some(session);
        }
        self.announce_calibration(now_ms());
        self.republish_all_diagnostics();
    }

    fn feel_chosen(&mut self, started_ms: u64, feel: u8) {
        if self
            .unrated
            .as_ref()
            .is_some_and(|session| session.started_ms == started_ms)
        {
            self.unrated = None;
        }
        match self
            .store
            .change_calibration(&CalibrationChange::Rate { started_ms, feel })
        {
            Ok(CalibrationReply::Rated(session)) => self.last_finished = Some(session),
            Ok(other) => tracing::warn!("the store answered a feel with {other:?}"),
            Err(error) => tracing::warn!("cannot record how the session felt: {error}"),
        }
    }

    /// Ends the running session when its planned time is up (in the store, for every window:
    /// the window that ended it asks how it felt).
    fn end_calibration_if_time_is_up(&mut self, now: u64) {
        if self
            .calibration
            .as_ref()
            .is_some_and(|session| session.time_is_up(now))
        {
            self.send_calibration_progress();
            match self.look_at_calibration(now) {
                Some(status) => self.take_calibration_status(status),
                None => {
                    // The store cannot say: the session still ends here.
                    let mut session = self.calibration.take().expect("checked just above");
                    session.end(now, EndReason::TimeUp);
                    self.finish_session(session);
                }
            }
        }
    }

    /// Says once a day that no calibration block was held for the configured number of days.
    fn consider_reminder(&mut self) {
        if !self.initialized {
            return;
        }
        self.last_reminder_check = Some(Instant::now());
        let every_days = self.settings.reminder_days;
        if every_days == 0 || self.calibration.is_some() {
            return;
        }
        let now = now_ms();
        let today = day_of(now);
        // The store learns the day through the writer; this process must not wait for it.
        if self.reminded_day == Some(today) {
            return;
        }
        if let Ok(Some(day)) = self.store.setting(LAST_REMINDER_DAY)
            && day.parse::<u32>().is_ok_and(|day| day >= today)
        {
            return;
        }
        let last_started = match self.store.calibration_sessions() {
            Ok(sessions) => sessions.iter().map(|session| session.started_ms).max(),
            Err(error) => {
                tracing::warn!("cannot read calibration sessions for the reminder: {error}");
                return;
            }
        };
        let days_since = last_started.map(|started| now.saturating_sub(started) / 86_400_000);
        if days_since.is_some_and(|days| days < u64::from(every_days)) {
            return;
        }
        self.reminded_day = Some(today);
        self.show(MessageType::INFO, calibration::reminder(days_since));
        self.writer.send(WriteJob::SetSetting {
            name: LAST_REMINDER_DAY.to_string(),
            value: today.to_string(),
        });
    }

    /// `whetstone.report`: everything pending goes to the store first, then the report is read
    /// from it on a blocking thread; HTML is written to a file and shown.
    fn report(
        &mut self,
        format: ReportFormat,
        since_days: u32,
        now: u64,
        reply: oneshot::Sender<jsonrpc::Result<Option<Value>>>,
    ) {
        self.persist_calibration_and_activity();
        for uri in std::mem::take(&mut self.dirty) {
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

    fn reports_folder(&self) -> PathBuf {
        match self.store.location() {
            Some(location) => location.join("reports"),
            None => self.explanations_folder.with_file_name("whetstone-reports"),
        }
    }

    fn persist_calibration_and_activity(&mut self) {
        self.send_calibration_progress();
        let days = self.activity.take_changed();
        if !days.is_empty() {
            self.writer.send(WriteJob::AddActivity(days));
        }
        let pace = self.engine.measured_pace();
        if pace != self.pace_sent {
            self.pace_sent = pace;
            self.writer.send(WriteJob::MergeTypingPace(pace));
        }
    }

    /// Answers a command once the writer has flushed what it just queued.
    fn answer_after_flush(
        &mut self,
        reply: oneshot::Sender<jsonrpc::Result<Option<Value>>>,
        result: Result<Value, String>,
    ) {
        match result {
            Err(message) => {
                let _ = reply.send(Err(jsonrpc::Error::invalid_params(message)));
            }
            Ok(value) => {
                let flushed = self.writer.flush();
                tokio::spawn(async move {
                    // Not on disk yet (no process holds the store this moment): it is kept and
                    // sent again when one does, so the answer stands.
                    if let Ok(Err(error)) = flushed.await {
                        tracing::warn!("a command's change is not on disk yet: {error}");
                    }
                    let _ = reply.send(Ok(Some(value)));
                });
            }
        }
    }

    fn republish_all_diagnostics(&mut self) {
        for uri in self.open_file_uris() {
            self.publish_diagnostics(&uri);
        }
    }

    fn show(&self, kind: MessageType, message: String) {
        tracing::info!("{message}");
        self.output
            .notify(move |client| async move { client.show_message(kind, message).await });
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
        if !self.engine.is_open(uri) {
            return Vec::new();
        }
        let nudging = self.settings.diagnostics_on(self.facts.code_lens);
        if !nudging && self.calibration.is_none() {
            return Vec::new();
        }
        // Runs on every change that touches a chunk: a chunk is named once, and a growing one
        // keeps the items it was named with until a lens or hover names it again.
        let views = self.engine.chunks_named_once(uri);
        let mut diagnostics = if nudging {
            nudges::diagnostics(&views, self.settings.diagnostic_severity)
        } else {
            Vec::new()
        };
        // A breach shows whatever the nudge settings say: the session is the user's own promise.
        if let Some(session) = &self.calibration {
            diagnostics.extend(calibration::breach_diagnostics(session, &views));
        }
        diagnostics
    }

    fn send_diagnostics(
        &self,
        uri: &str,
        diagnostics: Vec<tower_lsp_server::ls_types::Diagnostic>,
    ) {
        let Ok(target) = Uri::from_str(uri) else {
            return;
        };
        let version = self.versions.get(uri).copied();
        self.output.notify(move |client| async move {
            client
                .publish_diagnostics(target, diagnostics, version)
                .await
        });
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
        self.output.request(|client| async move {
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
        self.output
            .notify(move |client| async move { client.log_message(kind, message).await });
    }

    // ---- persistence ----------------------------------------------------------------------------

    fn tick(&mut self) {
        if self.refresh_pending {
            self.request_lens_refresh();
        }
        self.retry_unsaved();
        self.end_calibration_if_time_is_up(now_ms());
        if self.last_snapshot.elapsed() >= SNAPSHOT_EVERY {
            for uri in std::mem::take(&mut self.dirty) {
                self.queue_snapshot(&uri);
            }
            self.persist_calibration_and_activity();
            self.last_snapshot = Instant::now();
        }
        if self
            .last_reminder_check
            .is_none_or(|checked| checked.elapsed() >= REMINDER_CHECK_EVERY)
        {
            self.consider_reminder();
        }
    }

    /// Tries again, off the loop, to journal what could not be saved.
    fn retry_unsaved(&mut self) {
        if self.unsaved.is_empty()
            || self
                .unsaved_tried
                .is_some_and(|tried| tried.elapsed() < RETRY_UNSAVED_EVERY)
        {
            return;
        }
        self.unsaved_tried = Some(Instant::now());
        let entries = std::mem::take(&mut self.unsaved);
        let store = self.store.clone();
        let sender = self.sender.clone();
        tokio::task::spawn_blocking(move || {
            let count = entries.len();
            match store.journal(&entries) {
                Ok(_) => {
                    let _ = sender.send(Event::SavedLater { count });
                }
                Err(error) => {
                    tracing::warn!("kept judgements still cannot be saved: {error}");
                    let _ = sender.send(Event::Unsaved { uri: None, entries });
                }
            }
        });
    }

    /// Hands a copy of the file's map and chunks to the writer thread (cheap: the rope is shared).
    fn queue_snapshot(&mut self, uri: &str) {
        self.dirty.remove(uri);
        let Some((key, content, chunks)) = self.file_content(uri) else {
            return;
        };
        self.writer.send(WriteJob::Save {
            key,
            content,
            chunks,
        });
    }

    /// The file's key, map and chunks as the store keeps them; None for what is not stored.
    fn file_content(
        &mut self,
        uri: &str,
    ) -> Option<(FileKey, FileContent, Vec<crate::core::Chunk>)> {
        let key = self.file_key(uri)?;
        let content = if let Some(document) = self.engine.document(uri) {
            let map = self.engine.line_map(uri)?;
            FileContent::Open {
                rope: document.rope().clone(),
                map: map.clone(),
            }
        } else {
            FileContent::Closed(self.engine.snapshot(uri)?)
        };
        let chunks = self
            .engine
            .chunks_in(uri)
            .into_iter()
            .map(|view| view.chunk)
            .collect();
        Some((key, content, chunks))
    }

    async fn flush_everything(&mut self) {
        self.persist_calibration_and_activity();
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

    /// A string test: this runs on every keystroke, so no URI parsing. Only a document directly
    /// in the folder and named as whetstone names them counts: `../` must not reach elsewhere.
    fn is_explanation_document(&self, uri: &str) -> bool {
        uri.strip_prefix(&self.explanations_uri_prefix)
            .is_some_and(explanation::is_file_name)
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

/// Where the store keeps declarations for the file `uri` names: by its path, for the command
/// line that records them cannot know the editor's workspace folders.
fn declaration_key(uri: &str) -> Option<FileKey> {
    file_path(uri).map(|path| crate::declare::declaration_key(&path))
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

/// "How did the calibration session feel?" as code actions, for clients that cannot ask.
fn feel_actions() -> Vec<CodeActionOrCommand> {
    (1..=5u8)
        .map(|feel| {
            CodeActionOrCommand::CodeAction(tower_lsp_server::ls_types::CodeAction {
                title: format!(
                    "Whetstone: the calibration session felt {}",
                    calibration::feel_title(feel)
                ),
                kind: Some(tower_lsp_server::ls_types::CodeActionKind::EMPTY),
                command: Some(tower_lsp_server::ls_types::Command {
                    title: calibration::feel_title(feel),
                    command: commands::CALIBRATION_STOP.to_string(),
                    arguments: Some(vec![json!({ "feel": feel })]),
                }),
                ..tower_lsp_server::ls_types::CodeAction::default()
            })
        })
        .collect()
}
