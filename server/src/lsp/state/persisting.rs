//! Keeping what the user recorded: the store (opened or in memory), snapshots through the writer
//! thread, judgements made durable through the journal, and what could not be saved, kept and
//! tried again.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tower_lsp_server::ls_types::MessageType;

use super::{Event, State};
use crate::core::chunk_ids::{CHUNK_ID_BLOCK, ChunkIds};
use crate::core::engine::Dismissal;
use crate::core::pace::TypingPace;
use crate::lsp::commands::CommandError;
use crate::lsp::writer::{FileContent, WriteJob, Writer};
use crate::store::chunk_ids::ClaimedChunkIds;
use crate::store::journal::Entry as JournalEntry;
use crate::store::{self, FileKey, FileRecord, SharedStore, Store, StoreError};
use serde_json::Value;
use tower_lsp_server::jsonrpc;

/// Snapshots of edited files are written at most this often while typing.
pub(super) const SNAPSHOT_EVERY: Duration = Duration::from_secs(3);
/// A command that changed a verdict waits this long for the store's flush before it answers
/// with what the journal holds.
const COMMAND_WAITS_FOR_STORE: Duration = Duration::from_secs(3);
/// Files longer than this are not journaled (their records are megabytes): their judgements
/// are durable once the store flushed them, as the command's answer says.
const JOURNAL_MAX_LINES: usize = 200_000;
/// How long the final flush may take before the server exits anyway. Judgements are in the
/// journal already; what a late snapshot would have added is the map since the last one.
const FINAL_FLUSH_WITHIN: Duration = Duration::from_secs(10);
/// Judgements that could not be saved at all are tried again this often.
const RETRY_UNSAVED_EVERY: Duration = Duration::from_secs(5);

/// What a command changed, for the journal.
pub(super) struct Judgement {
    /// Chunks whose class, explanation or practice changed.
    pub judged: Vec<u64>,
    /// Chunks the command took away (a dismissal).
    pub removed: Vec<u64>,
    pub dismissal: Option<Dismissal>,
}

/// How far a judgement got.
#[derive(Debug)]
pub(super) enum Committed {
    /// On disk in the store (or, without a store folder, kept as the user was told).
    Saved,
    /// On disk in the journal; the store takes it when it answers.
    InJournal,
    /// Nowhere on disk: kept in memory and tried again. The message says so to the user.
    NotSaved(String),
}

/// What is waiting to be written, and what could not be.
pub(super) struct Persisting {
    pub dirty: HashSet<String>,
    pub last_snapshot: Instant,
    /// The user was told that judgements wait in the journal (said once until the store answers).
    pub told_journal_only: Arc<AtomicBool>,
    /// Judgements that could not be saved at all, and when they were last tried.
    pub unsaved: Vec<JournalEntry>,
    pub unsaved_tried: Option<Instant>,
    /// Everything was written for a shutdown already.
    pub shut_down: bool,
    /// The typing pace last handed to the store.
    pub pace_sent: TypingPace,
}

impl Default for Persisting {
    fn default() -> Self {
        Persisting {
            dirty: HashSet::new(),
            last_snapshot: Instant::now(),
            told_journal_only: Arc::default(),
            unsaved: Vec::new(),
            unsaved_tried: None,
            shut_down: false,
            pace_sent: TypingPace::default(),
        }
    }
}

impl State {
    pub(super) fn open_store(&mut self) {
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
                self.explaining.set_folder(location.join("explanations"));
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

    /// Makes a judgement on `uri` durable: its file's record (and dismissal) go to the journal,
    /// synced, and to the store through the writer. Resolves with how far it got, and says so
    /// to the user when it is not on disk in the store; what could not be saved at all is kept
    /// and tried again every few seconds.
    pub(super) fn commit(
        &mut self,
        uri: &str,
        judgement: Judgement,
    ) -> oneshot::Receiver<Committed> {
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
        let told = self.persisting.told_journal_only.clone();
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

    pub(super) fn persist_calibration_and_activity(&mut self) {
        self.send_calibration_progress();
        let days = self.calibrating.activity.take_changed();
        if !days.is_empty() {
            self.writer.send(WriteJob::AddActivity(days));
        }
        let pace = self.engine.measured_pace();
        if pace != self.persisting.pace_sent {
            self.persisting.pace_sent = pace;
            self.writer.send(WriteJob::MergeTypingPace(pace));
        }
    }

    /// Answers a command once the writer has flushed what it just queued.
    pub(super) fn answer_after_flush(
        &mut self,
        reply: oneshot::Sender<jsonrpc::Result<Option<Value>>>,
        result: Result<Value, CommandError>,
    ) {
        match result {
            Err(error) => {
                let _ = reply.send(Err(error.into()));
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

    /// Tries again, off the loop, to journal what could not be saved.
    pub(super) fn retry_unsaved(&mut self) {
        if self.persisting.unsaved.is_empty()
            || self
                .persisting
                .unsaved_tried
                .is_some_and(|tried| tried.elapsed() < RETRY_UNSAVED_EVERY)
        {
            return;
        }
        self.persisting.unsaved_tried = Some(Instant::now());
        let entries = std::mem::take(&mut self.persisting.unsaved);
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
    pub(super) fn queue_snapshot(&mut self, uri: &str) {
        self.persisting.dirty.remove(uri);
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
    pub(super) fn file_content(
        &mut self,
        uri: &str,
    ) -> Option<(FileKey, FileContent, Vec<crate::core::Chunk>)> {
        let key = self.workspace.file_key(uri)?;
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

    /// Writes what changed since the last snapshots and waits for it, at most
    /// [`FINAL_FLUSH_WITHIN`]: exit is prompt whatever is open. Files that did not change are in
    /// the store already and are not written again (a huge one costs seconds).
    pub(super) async fn flush_everything(&mut self) {
        self.persist_calibration_and_activity();
        for uri in std::mem::take(&mut self.persisting.dirty) {
            self.queue_snapshot(&uri);
        }
        match tokio::time::timeout(FINAL_FLUSH_WITHIN, self.writer.flush()).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(error))) => tracing::warn!("final flush of the store failed: {error}"),
            _ => tracing::warn!("the store writer did not finish its final flush in time"),
        }
    }

    pub(super) fn mark_dirty(&mut self, uri: &str) {
        if !self.persisting.dirty.contains(uri) {
            self.persisting.dirty.insert(uri.to_string());
        }
    }
}
