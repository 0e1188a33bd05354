//! The engine: open documents, their ownership maps and chunks, and the decision on every change
//! notification — typed, pasted, generated, restored, moved, a formatter run or a checkout.
//!
//! A notification is classified as a whole, after its changes are applied in order:
//! 1. A client hint decides first: `undo` restores, `format` reformats; `paste`, `completion` and
//!    `agent` flag whatever the change inserts.
//! 2. Removed and inserted text with the same words (letters, digits and `_`, in any order) is a
//!    formatter run or a line move: nothing new arrived.
//! 3. Inserted text found on recently deleted lines is undo/redo (`restored`, same file near the
//!    same place) or a cut-and-paste (`moved`); it keeps the ownership it had.
//! 4. Text passing the size bar is flagged — unless it is what git has committed for the file
//!    (a checkout, a stash, a branch switch). The size bar counts distinct inserted texts once, so
//!    a rename at 80 sites or typing with 6 cursors is one small insertion; many one-line edits
//!    in one notification (find-and-replace) are measured by the largest.
//! 5. Everything else is typing, which feeds the burst tracker: typing faster than a person can,
//!    for longer than a moment, becomes a `generated` chunk after all.
//!
//! Chunks are never overlapping: a flagged insertion inside a chunk splits it (the lower part gets
//! a new id with the same verdict); a flagged insertion that touches a young unjudged chunk of the
//! same origin extends it; runs of one chunk a few lines apart are bridged into one.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use thiserror::Error;

use crate::acceptance::{self, AcceptanceTracker};
use crate::apply::{AppliedChange, apply_change};
use crate::burst::BurstTracker;
use crate::by_origin::ByOrigin;
use crate::chunk::{Chunk, ChunkId, Class, Explanation, ExplanationScore, Rule, score_explanation};
use crate::chunk_ids::{ChunkIds, new_chunk};
use crate::config::DetectionConfig;
use crate::copies::{self, Copy};
use crate::declared::{self, Declaration};
use crate::document::{Document, PositionEncoding, Range as TextRange};
use crate::graveyard::Graveyard;
use crate::line_map::{BatchEdit, LineMap, LineState, Origin};
use crate::pace::{PaceMeter, TypingPace};
use crate::reanchor::{Reanchored, reanchor};
use crate::syntax::{Language, MAX_SOURCE_BYTES, Syntax};
use crate::text::{LineKey, non_blank_lines, non_whitespace_chars, sorted_word_characters};

/// What git (or any source of truth the caller has) holds as committed for a file.
pub trait CommittedText {
    fn committed_text(&self, uri: &str) -> Option<String>;
}

/// For callers without version control: nothing is committed.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoCommittedText;

impl CommittedText for NoCommittedText {
    fn committed_text(&self, _uri: &str) -> Option<String> {
        None
    }
}

impl CommittedText for HashMap<String, String> {
    fn committed_text(&self, uri: &str) -> Option<String> {
        self.get(uri).cloned()
    }
}

/// What an editor plugin says about the next change (`whetstone/editOrigin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hint {
    Paste,
    Completion,
    Agent,
    Undo,
    Format,
}

impl Hint {
    pub fn parse(name: &str) -> Option<Hint> {
        match name {
            "paste" => Some(Hint::Paste),
            "completion" => Some(Hint::Completion),
            "agent" => Some(Hint::Agent),
            "undo" => Some(Hint::Undo),
            "format" => Some(Hint::Format),
            _ => None,
        }
    }
}

/// One change of a notification: a range (absent: the whole document) and its new text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentChange {
    pub range: Option<TextRange>,
    pub text: String,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum EngineError {
    #[error("no document {uri} is known")]
    UnknownDocument { uri: String },
    #[error("no chunk {chunk} in {uri}")]
    UnknownChunk { uri: String, chunk: u64 },
}

/// How a notification was understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing was inserted (deletions, or a change that changed nothing).
    Removal,
    Typed,
    Formatted,
    Restored,
    Moved,
    /// Content that git has committed for this file.
    Committed,
    /// A suggestion acceptance under the bar: one chunk only once several add up.
    Accepted,
    /// Text already in the workspace: it took the origin of the lines it copies.
    Copied,
    Flagged(Origin),
    /// The document is not open; the notification was ignored.
    UnknownDocument,
}

/// The result of a change notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeOutcome {
    pub verdict: Verdict,
    /// Chunks made by this notification (a burst qualifying makes one too).
    pub new_chunks: Vec<ChunkId>,
    /// Whether any chunk appeared, moved, grew, shrank, split or vanished.
    pub chunks_changed: bool,
    /// What the notification inserted, for the activity ledger and calibration sessions.
    pub inserted: Inserted,
}

/// The size of what a notification added, by origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Inserted {
    /// None when nothing new arrived (deletions, formatting, a checkout).
    pub origin: Option<Origin>,
    /// Typing: line breaks typed (each ends a line), at most the lines the document gained.
    /// Otherwise: non-blank lines inserted.
    pub lines: u64,
    /// Non-whitespace characters typed (typing only).
    pub typed_chars: u64,
    /// When a burst became a chunk: the lines counted as typed so far that were a stream.
    pub burst_lines: u64,
}

impl ChangeOutcome {
    fn empty(verdict: Verdict) -> ChangeOutcome {
        ChangeOutcome {
            verdict,
            new_chunks: Vec::new(),
            chunks_changed: false,
            inserted: Inserted::default(),
        }
    }
}

/// A chunk as the editor sees it: its data and where it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkView {
    pub chunk: Chunk,
    pub start_line: usize,
    /// Exclusive.
    pub end_line: usize,
}

/// A closed file's map, kept to re-anchor it when it is opened again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSnapshot {
    /// One key per line of the text the map was made for.
    pub line_keys: Vec<LineKey>,
    pub map: LineMap,
}

/// A chunk the user said was their own: remembered to tune detection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dismissal {
    pub uri: String,
    pub origin: Origin,
    pub lines: usize,
    pub created_ms: u64,
    pub dismissed_ms: u64,
    /// The rule that had flagged the chunk (None for chunks flagged before rules were recorded).
    pub rule: Option<Rule>,
}

#[derive(Debug)]
struct PendingHint {
    version: Option<i32>,
    hint: Hint,
    at_ms: u64,
}

#[derive(Debug)]
struct OpenDocument {
    document: Document,
    map: LineMap,
    pending_hint: Option<PendingHint>,
    bursts: BurstTracker,
    acceptances: AcceptanceTracker,
}

/// The whole workspace's state. Single-threaded: the caller feeds it events in order.
pub struct Engine {
    /// The thresholds in use: `configured`, with the burst rate adapted to the user's pace.
    config: DetectionConfig,
    configured: DetectionConfig,
    pace: PaceMeter,
    /// What other windows and earlier runs learned of the user's typing (from the store).
    learned: TypingPace,
    encoding: PositionEncoding,
    documents: HashMap<String, OpenDocument>,
    closed: HashMap<String, FileSnapshot>,
    chunks: HashMap<ChunkId, Chunk>,
    graveyard: Graveyard,
    syntax: Syntax,
    committed: Box<dyn CommittedText + Send>,
    /// Every new chunk's id comes from here (see [`crate::chunk_ids`]).
    chunk_ids: ChunkIds,
    dismissals: Vec<Dismissal>,
    /// Declarations whose lines an open document does not hold yet (see [`Engine::wait_for_declared`]).
    waiting_declarations: HashMap<String, Vec<Declaration>>,
    /// Waiting declarations applied since [`Engine::take_applied_declarations`] was last called.
    applied_declarations: Vec<(String, u64)>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Engine")
            .field("documents", &self.documents.len())
            .field("chunks", &self.chunks.len())
            .finish_non_exhaustive()
    }
}

impl Default for Engine {
    fn default() -> Engine {
        Engine::new(DetectionConfig::default())
    }
}

impl Engine {
    pub fn new(config: DetectionConfig) -> Engine {
        Engine {
            configured: config.clone(),
            config,
            pace: PaceMeter::default(),
            learned: TypingPace::default(),
            encoding: PositionEncoding::Utf16,
            documents: HashMap::new(),
            closed: HashMap::new(),
            chunks: HashMap::new(),
            graveyard: Graveyard::default(),
            syntax: Syntax::new(),
            committed: Box::new(NoCommittedText),
            chunk_ids: ChunkIds::alone(),
            dismissals: Vec::new(),
            waiting_declarations: HashMap::new(),
            applied_declarations: Vec::new(),
        }
    }

    pub fn config(&self) -> &DetectionConfig {
        &self.config
    }

    pub fn set_config(&mut self, config: DetectionConfig) {
        self.configured = config;
        self.adapt_to_pace();
    }

    /// The user's typing pace as this engine knows it: learned before, and measured since.
    pub fn typing_pace(&self) -> TypingPace {
        self.learned.merge(self.pace.pace())
    }

    /// What this engine measured of the user's typing itself.
    pub fn measured_pace(&self) -> TypingPace {
        self.pace.pace()
    }

    /// Takes in what was learned of the user's typing elsewhere (the store).
    pub fn learn_pace(&mut self, pace: TypingPace) {
        self.learned = self.learned.merge(pace);
        self.adapt_to_pace();
    }

    fn adapt_to_pace(&mut self) {
        let mut config = self.configured.clone();
        if config.adapt_burst_rate {
            config.burst_chars_per_second = self
                .typing_pace()
                .burst_rate(self.configured.burst_chars_per_second);
        }
        self.config = config;
    }

    pub fn set_encoding(&mut self, encoding: PositionEncoding) {
        self.encoding = encoding;
    }

    pub fn encoding(&self) -> PositionEncoding {
        self.encoding
    }

    pub fn set_committed_text(&mut self, committed: Box<dyn CommittedText + Send>) {
        self.committed = committed;
    }

    /// Where new chunks take their ids from: [`ChunkIds::shared`] when engines share a store, so
    /// that no two hand out the same id (ids of restored chunks then come from other blocks and
    /// no longer move the next id).
    pub fn set_chunk_ids(&mut self, chunk_ids: ChunkIds) {
        self.chunk_ids = chunk_ids;
    }

    // ---- documents ------------------------------------------------------------------------

    /// Opens a document. Opening never flags anything by itself; a file whose text changed since
    /// its map was made (it was closed, or the map came from the store) is re-anchored, and lines
    /// that are new and not committed in git become `external`.
    pub fn open(&mut self, uri: &str, text: &str, now_ms: u64) -> ChangeOutcome {
        // Opened again without a close (a client re-sending didOpen): the text is laid over the map
        // the document has, as for a reopened file, instead of starting a blank map.
        if self.documents.contains_key(uri) {
            self.close(uri);
        }
        let document = Document::new(text);
        let mut outcome = ChangeOutcome::empty(Verdict::Typed);
        let map = match self.closed.remove(uri) {
            Some(snapshot) => {
                let keys = document_line_keys(&document);
                if snapshot.line_keys == keys && snapshot.map.len() == keys.len() {
                    snapshot.map
                } else {
                    outcome.chunks_changed = true;
                    let committed = self.committed.committed_text(uri);
                    let reanchored = reanchor(
                        &snapshot.line_keys,
                        &snapshot.map,
                        &keys,
                        committed.as_deref(),
                    );
                    self.apply_reanchored(uri, &document, reanchored, now_ms, &mut outcome)
                }
            }
            None => LineMap::new(document.len_lines(), LineState::TYPED),
        };
        self.documents.insert(
            uri.to_string(),
            OpenDocument {
                document,
                map,
                pending_hint: None,
                bursts: BurstTracker::default(),
                acceptances: AcceptanceTracker::default(),
            },
        );
        if outcome.chunks_changed {
            self.normalize_chunks(uri, now_ms);
        }
        outcome
    }

    /// Closes a document, keeping its map to re-anchor it when it comes back.
    pub fn close(&mut self, uri: &str) {
        self.waiting_declarations.remove(uri);
        if let Some(open) = self.documents.remove(uri) {
            self.closed.insert(
                uri.to_string(),
                FileSnapshot {
                    line_keys: document_line_keys(&open.document),
                    map: open.map,
                },
            );
        }
    }

    pub fn is_open(&self, uri: &str) -> bool {
        self.documents.contains_key(uri)
    }

    pub fn document(&self, uri: &str) -> Option<&Document> {
        self.documents.get(uri).map(|open| &open.document)
    }

    /// The map of an open or closed file.
    pub fn line_map(&self, uri: &str) -> Option<&LineMap> {
        match self.documents.get(uri) {
            Some(open) => Some(&open.map),
            None => self.closed.get(uri).map(|snapshot| &snapshot.map),
        }
    }

    /// A snapshot of a file's map (open or closed) for the store.
    pub fn snapshot(&self, uri: &str) -> Option<FileSnapshot> {
        match self.documents.get(uri) {
            Some(open) => Some(FileSnapshot {
                line_keys: document_line_keys(&open.document),
                map: open.map.clone(),
            }),
            None => self.closed.get(uri).cloned(),
        }
    }

    /// Hands the engine a stored map and chunks for a file that is not open (from the store). The
    /// next `open` of it re-anchors against it.
    pub fn restore_file(&mut self, uri: &str, snapshot: FileSnapshot, chunks: Vec<Chunk>) {
        for chunk in chunks {
            self.chunk_ids.seen(chunk.id);
            self.chunks.insert(
                chunk.id,
                Chunk {
                    uri: uri.to_string(),
                    ..chunk
                },
            );
        }
        if !self.documents.contains_key(uri) {
            self.closed.insert(uri.to_string(), snapshot);
        }
    }

    /// Files with a map, open or closed.
    pub fn known_files(&self) -> Vec<String> {
        let mut files: Vec<String> = self
            .documents
            .keys()
            .chain(self.closed.keys())
            .cloned()
            .collect();
        files.sort();
        files
    }

    /// A client hint for the next change of `uri` (with `version`, when the client gave one).
    pub fn hint(&mut self, uri: &str, version: Option<i32>, hint: Hint, now_ms: u64) {
        if let Some(open) = self.documents.get_mut(uri) {
            open.pending_hint = Some(PendingHint {
                version,
                hint,
                at_ms: now_ms,
            });
        }
    }

    /// Applies one `didChange` notification, in order, and classifies it.
    pub fn change(
        &mut self,
        uri: &str,
        version: Option<i32>,
        changes: &[ContentChange],
        now_ms: u64,
    ) -> ChangeOutcome {
        let encoding = self.encoding;
        let config = self.config.clone();
        let Some(open) = self.documents.get_mut(uri) else {
            return ChangeOutcome::empty(Verdict::UnknownDocument);
        };
        let hint = take_hint(
            &mut open.pending_hint,
            version,
            now_ms,
            config.hint_lifetime_ms,
        );
        let lines_before = open.document.len_lines();

        let mut applied: Vec<AppliedChange> = Vec::with_capacity(changes.len());
        for change in changes {
            let result = apply_change(
                &mut open.document,
                &mut open.map,
                change.range,
                &change.text,
                encoding,
            );
            if result.is_noop() {
                continue;
            }
            for earlier in &mut applied {
                earlier.follow(&result.shift);
            }
            open.bursts.follow(&result.shift);
            open.acceptances.follow(&result.shift);
            if !result.deleted.is_empty() {
                self.graveyard.record(
                    uri,
                    now_ms,
                    result.start_char,
                    result.start_line,
                    &result.deleted,
                    result.deleted_line_states.clone(),
                );
            }
            if !result.inserted.is_empty() {
                self.graveyard.seal(uri);
            }
            applied.push(result);
        }
        // Two lengths, not a walk over the lines: the keystroke path stays flat in file size.
        let lines_added = open.document.len_lines().saturating_sub(lines_before);

        let mut outcome = ChangeOutcome {
            chunks_changed: applied
                .iter()
                .any(|change| !change.touched_chunks.is_empty()),
            ..ChangeOutcome::empty(Verdict::Removal)
        };
        if applied.iter().all(|change| change.inserted.is_empty()) {
            if outcome.chunks_changed {
                self.normalize_chunks(uri, now_ms);
            }
            return outcome;
        }

        let material = distinct_material(&applied);
        let (verdict, rule, copy) = self.judge(uri, hint, &applied, &material);
        let flagged_lines = material.lines.max(usize::from(material.chars > 0)) as u64;
        outcome.verdict = verdict.clone();
        outcome.inserted = match verdict {
            // Every Enter counts, but never more lines than the document gained: breaks typed
            // and deleted again, or typed over the same line again and again, in one notification
            // add at most the lines that are really there afterwards.
            Verdict::Typed => Inserted {
                origin: Some(Origin::Typed),
                lines: material.newlines.min(lines_added) as u64,
                typed_chars: material.chars as u64,
                burst_lines: 0,
            },
            Verdict::Flagged(origin) => Inserted {
                origin: Some(origin),
                lines: flagged_lines,
                ..Inserted::default()
            },
            // Not typing, and not flagged until acceptances add up (then counted as generated).
            Verdict::Accepted => Inserted {
                origin: Some(Origin::Typed),
                ..Inserted::default()
            },
            Verdict::Restored | Verdict::Moved => Inserted {
                origin: Some(if verdict == Verdict::Restored {
                    Origin::Restored
                } else {
                    Origin::Moved
                }),
                lines: flagged_lines,
                ..Inserted::default()
            },
            _ => Inserted::default(),
        };
        match verdict {
            Verdict::Typed => {
                self.count_rework(&applied);
                if let Some(open) = self.documents.get_mut(uri) {
                    open.acceptances.typed(material.chars);
                }
                let ceiling = self.configured.far_chars_per_second();
                if self.pace.typed(now_ms, material.chars, ceiling) {
                    self.adapt_to_pace();
                }
                let chunks_changed_before = outcome.chunks_changed;
                self.track_burst(uri, &applied, &material.concatenated, now_ms, &mut outcome);
                if outcome.chunks_changed && !chunks_changed_before {
                    // A stream, not the user: this window of typing does not count.
                    self.pace.spoil();
                }
            }
            Verdict::Accepted => self.track_acceptance(uri, &applied, now_ms, &mut outcome),
            Verdict::Copied => {
                if let Some(copy) = copy {
                    self.place_copies(uri, &applied, &copy, now_ms, &mut outcome);
                }
            }
            Verdict::Formatted => {
                outcome.chunks_changed |= self.relabel_as_neighbours(uri, &applied)
            }
            Verdict::Restored | Verdict::Moved => {
                let origin = if verdict == Verdict::Restored {
                    Origin::Restored
                } else {
                    Origin::Moved
                };
                outcome.chunks_changed |=
                    self.relabel_from_graveyard(uri, &applied, &material.joined, origin);
            }
            Verdict::Flagged(origin) => {
                let runs: Vec<Range<usize>> = applied
                    .iter()
                    .flat_map(|change| change.new_runs.iter().cloned())
                    .collect();
                outcome.new_chunks = self.place_chunks(uri, &runs, origin, rule, now_ms);
                outcome.chunks_changed = true;
            }
            Verdict::Committed | Verdict::Removal | Verdict::UnknownDocument => {}
        }
        if outcome.chunks_changed {
            self.normalize_chunks(uri, now_ms);
        }
        // Typing never gets here with work to do: only a rewrite or a flagged insertion (an
        // editor reloading what an agent wrote) can bring a waiting declaration's lines.
        if self.waiting_declarations.contains_key(uri)
            && (matches!(outcome.verdict, Verdict::Flagged(_) | Verdict::Committed)
                || applied
                    .iter()
                    .any(|change| change.whole_document || change.rewrite))
        {
            outcome.chunks_changed |= self.retry_declarations(uri, now_ms);
        }
        outcome
    }

    // ---- chunks and the user's verdicts ----------------------------------------------------

    /// The chunks of a file (open or closed), top to bottom.
    pub fn chunks_in(&mut self, uri: &str) -> Vec<ChunkView> {
        self.refresh_stale_syntax(uri);
        self.chunks_as_named(uri)
    }

    /// The chunks of a file, each named at least once, but a chunk that grew since it was
    /// named keeps the items it had: a stream may lack its newest items here. For what runs on
    /// every change (diagnostics while a stream grows a chunk token by token), where naming the
    /// chunk each time would cost a parse of the whole chunk per token; what the user asks for
    /// (lenses, hover, commands) uses [`Engine::chunks_in`].
    pub fn chunks_named_once(&mut self, uri: &str) -> Vec<ChunkView> {
        self.refresh_syntax(uri, |chunk| {
            chunk.items.is_empty() && chunk.identifiers.is_empty()
        });
        self.chunks_as_named(uri)
    }

    fn chunks_as_named(&self, uri: &str) -> Vec<ChunkView> {
        let Some(map) = self.line_map(uri) else {
            return Vec::new();
        };
        map.chunk_runs()
            .into_iter()
            .filter_map(|(id, range)| {
                self.chunks.get(&id).map(|chunk| ChunkView {
                    chunk: chunk.clone(),
                    start_line: range.start,
                    end_line: range.end,
                })
            })
            .collect()
    }

    /// Every live chunk's data, for the store.
    pub fn chunk(&self, id: ChunkId) -> Option<&Chunk> {
        self.chunks.get(&id)
    }

    /// Lines per origin in a file, counting lines as a person would (see
    /// [`Document::counted_lines`]); a closed file counts its map.
    pub fn origin_counts(&self, uri: &str) -> ByOrigin<usize> {
        match self.documents.get(uri) {
            Some(open) => open.map.origin_counts(open.document.counted_lines()),
            None => self
                .closed
                .get(uri)
                .map(|snapshot| {
                    let trailing_empty =
                        snapshot.line_keys.last().is_some_and(|key| key.is_blank())
                            && snapshot.line_keys.len() > 1;
                    let lines = snapshot.line_keys.len() - usize::from(trailing_empty);
                    snapshot.map.origin_counts(lines)
                })
                .unwrap_or_default(),
        }
    }

    pub fn classify(
        &mut self,
        uri: &str,
        id: ChunkId,
        class: Class,
        now_ms: u64,
    ) -> Result<(), EngineError> {
        let chunk = self.chunk_mut(uri, id)?;
        chunk.class = Some(class);
        chunk.classified_ms = Some(now_ms);
        Ok(())
    }

    /// The user reproduced a repeatable chunk from memory.
    pub fn practiced(&mut self, uri: &str, id: ChunkId, now_ms: u64) -> Result<(), EngineError> {
        self.chunk_mut(uri, id)?.practiced_ms.push(now_ms);
        Ok(())
    }

    pub fn explain(
        &mut self,
        uri: &str,
        id: ChunkId,
        text: &str,
        now_ms: u64,
    ) -> Result<ExplanationScore, EngineError> {
        self.chunk_mut(uri, id)?;
        self.refresh_stale_syntax(uri);
        let chunk = self.chunk_mut(uri, id)?;
        let score = score_explanation(text, &chunk.identifiers);
        chunk.explanation = Some(Explanation {
            text: text.to_string(),
            recorded_ms: now_ms,
            score: score.clone(),
        });
        Ok(score)
    }

    /// "This is mine": the chunk goes, its lines count as typed, and the dismissal is remembered.
    pub fn dismiss(&mut self, uri: &str, id: ChunkId, now_ms: u64) -> Result<(), EngineError> {
        let chunk = self.chunk_mut(uri, id)?.clone();
        let lines = self
            .line_map(uri)
            .map(|map| {
                map.chunk_runs()
                    .iter()
                    .filter(|(chunk_id, _)| *chunk_id == id)
                    .map(|(_, range)| range.len())
                    .sum()
            })
            .unwrap_or(0);
        let release = |state: LineState| {
            if state.chunk == Some(id) {
                LineState::TYPED
            } else {
                state
            }
        };
        if let Some(open) = self.documents.get_mut(uri) {
            open.map.update_all(release);
        } else if let Some(snapshot) = self.closed.get_mut(uri) {
            snapshot.map.update_all(release);
        }
        self.chunks.remove(&id);
        self.dismissals.push(Dismissal {
            uri: uri.to_string(),
            origin: chunk.origin,
            lines,
            created_ms: chunk.created_ms,
            dismissed_ms: now_ms,
            rule: chunk.rule,
        });
        Ok(())
    }

    pub fn dismissals(&self) -> &[Dismissal] {
        &self.dismissals
    }

    /// The invariants ARCHITECTURE.md states for a file, checked (for property tests and fuzz
    /// targets): its map covers exactly its lines; each chunk on it is one contiguous run of known
    /// lines belonging to this file, inside the document, starting and ending on a non-blank line;
    /// chunks do not overlap; the counts by origin add up to the lines a person counts. Returns
    /// the first broken one.
    pub fn check_invariants(&mut self, uri: &str) -> Result<(), String> {
        let Some(map) = self.line_map(uri) else {
            return Ok(());
        };
        let map_lines = map.len();
        let runs = map.chunk_runs();
        let mut seen = HashSet::new();
        for (id, range) in &runs {
            if !seen.insert(*id) {
                return Err(format!("chunk {} is in more than one run", id.0));
            }
            match self.chunks.get(id) {
                None => return Err(format!("chunk {} on lines {range:?} is unknown", id.0)),
                Some(chunk) if chunk.uri != uri => {
                    return Err(format!("chunk {} belongs to {}", id.0, chunk.uri));
                }
                Some(_) => {}
            }
        }
        let Some(document) = self.document(uri).cloned() else {
            // A closed file: its map must cover the lines it was closed with.
            return match self.closed.get(uri) {
                Some(snapshot) if snapshot.line_keys.len() != map_lines => Err(format!(
                    "a closed map of {map_lines} lines for {} lines",
                    snapshot.line_keys.len()
                )),
                _ => Ok(()),
            };
        };
        if map_lines != document.len_lines() {
            return Err(format!(
                "the map has {map_lines} lines, the document {}",
                document.len_lines()
            ));
        }
        let mut previous_end = 0;
        for view in self.chunks_in(uri) {
            if view.start_line >= view.end_line || view.end_line > document.len_lines() {
                return Err(format!(
                    "chunk {} on lines {}..{} of {}",
                    view.chunk.id.0,
                    view.start_line,
                    view.end_line,
                    document.len_lines()
                ));
            }
            if view.start_line < previous_end {
                return Err(format!("chunk {} overlaps the one before", view.chunk.id.0));
            }
            previous_end = view.end_line;
            for line in [view.start_line, view.end_line - 1] {
                if document.line_text(line).trim().is_empty() {
                    return Err(format!(
                        "chunk {} has a blank edge at line {line}",
                        view.chunk.id.0
                    ));
                }
            }
        }
        let counted = self.origin_counts(uri).total();
        if counted != document.counted_lines() {
            return Err(format!(
                "the counts by origin add up to {counted}, the document has {} lines",
                document.counted_lines()
            ));
        }
        Ok(())
    }

    // ---- classification ---------------------------------------------------------------------

    /// How a notification is understood, the rule that flags it (when it is flagged), and the
    /// source it copies (when it is a copy).
    fn judge(
        &self,
        uri: &str,
        hint: Option<Hint>,
        applied: &[AppliedChange],
        material: &Material,
    ) -> (Verdict, Rule, Option<Copy>) {
        let plain = |verdict| (verdict, Rule::Insertion, None);
        match hint {
            Some(Hint::Undo) => return plain(Verdict::Restored),
            Some(Hint::Format) => return plain(Verdict::Formatted),
            _ => {}
        }
        if is_reformatting(applied) {
            return plain(Verdict::Formatted);
        }
        // Many one-line edits in one notification (find-and-replace, a rename with captures,
        // multi-cursor editing) are measured by the largest one, not their sum.
        let scattered_one_liners = applied.len() > 1
            && applied
                .iter()
                .all(|change| !change.inserted.contains('\n') && !change.deleted.contains('\n'));
        let (chars, lines) = if scattered_one_liners {
            let largest = applied
                .iter()
                .map(|change| non_whitespace_chars(&change.material))
                .max()
                .unwrap_or(0);
            (largest, 0)
        } else {
            (material.chars, material.lines)
        };
        let signalled = matches!(hint, Some(Hint::Paste | Hint::Completion | Hint::Agent));
        let may_be_restored = !matches!(hint, Some(Hint::Completion | Hint::Agent));
        if may_be_restored
            && chars >= 2
            && let Some(found) = self
                .graveyard
                .best_match(&material.joined, self.config.restore_coverage)
        {
            let first_line = applied.first().map_or(0, |change| change.start_line);
            let same_place = found.uri == uri && found.start_line.abs_diff(first_line) <= 3;
            return plain(if same_place {
                Verdict::Restored
            } else {
                Verdict::Moved
            });
        }
        let passes = self.config.passes_bar(lines, chars) || (signalled && chars > 0);
        let accepted = !passes && !signalled && acceptance::accepted_change(applied).is_some();
        if !passes && !accepted {
            return plain(Verdict::Typed);
        }
        if passes && self.is_committed_content(uri, &material.joined) {
            return plain(Verdict::Committed);
        }
        // What the user copies from their own workspace is as much theirs as its source.
        if may_be_restored && let Some(copy) = self.copy_source(uri, applied) {
            return (Verdict::Copied, Rule::Copy, Some(copy));
        }
        if accepted {
            return (Verdict::Accepted, Rule::Acceptances, None);
        }
        let (origin, rule) = match hint {
            Some(Hint::Paste) => (Origin::Pasted, Rule::Signal),
            Some(Hint::Completion | Hint::Agent) => (Origin::Generated, Rule::Signal),
            _ => {
                let places = applied
                    .iter()
                    .filter(|change| !change.material.is_empty())
                    .count();
                let agent_like = applied
                    .iter()
                    .any(|change| change.whole_document || change.rewrite)
                    || places > 1;
                if agent_like {
                    (Origin::Generated, Rule::AgentWrite)
                } else {
                    (Origin::Pasted, Rule::Insertion)
                }
            }
        };
        (Verdict::Flagged(origin), rule, None)
    }

    /// The new lines of a notification, in order.
    fn new_lines(applied: &[AppliedChange]) -> Vec<usize> {
        applied
            .iter()
            .flat_map(|change| change.new_runs.iter().cloned())
            .flatten()
            .collect()
    }

    /// Where the new lines of a notification were copied from, if they are already in the
    /// workspace: this document (outside the new lines), the other open ones, the closed ones.
    fn copy_source(&self, uri: &str, applied: &[AppliedChange]) -> Option<Copy> {
        let open = self.documents.get(uri)?;
        let lines = Self::new_lines(applied);
        if lines.is_empty() {
            return None;
        }
        let own_keys = open.document.line_keys();
        let inserted: Vec<LineKey> = lines
            .iter()
            .map(|&line| own_keys.get(line).copied().unwrap_or(LineKey::of("")))
            .collect();
        let span = lines[0]..lines[lines.len() - 1] + 1;
        let mut others: Vec<&str> = self
            .documents
            .keys()
            .chain(self.closed.keys())
            .map(String::as_str)
            .filter(|other| *other != uri)
            .collect();
        others.sort_unstable();
        let mut owned: Vec<(&str, Vec<LineKey>)> = vec![(uri, own_keys)];
        for other in &others {
            if let Some(document) = self.documents.get(*other) {
                owned.push((other, document_line_keys(&document.document)));
            }
        }
        let mut sources: Vec<copies::Source<'_>> = owned
            .iter()
            .map(|(source, keys)| copies::Source {
                uri: source,
                keys,
                skip: if *source == uri { span.clone() } else { 0..0 },
            })
            .collect();
        for other in &others {
            if let Some(snapshot) = self.closed.get(*other) {
                sources.push(copies::Source {
                    uri: other,
                    keys: &snapshot.line_keys,
                    skip: 0..0,
                });
            }
        }
        copies::find_copy(&inserted, &sources, self.config.restore_coverage)
    }

    /// The state a source line of a copy has now.
    fn source_state(&self, uri: &str, line: usize) -> Option<LineState> {
        let map = match self.documents.get(uri) {
            Some(open) => &open.map,
            None => &self.closed.get(uri)?.map,
        };
        (line < map.len()).then(|| map.get(line))
    }

    /// Whether the inserted lines are, nearly all, lines of the committed version of the file.
    fn is_committed_content(&self, uri: &str, material: &str) -> bool {
        let Some(committed) = self.committed.committed_text(uri) else {
            return false;
        };
        let committed_lines: HashSet<u64> = committed
            .split('\n')
            .map(|line| LineKey::of(line).hash)
            .collect();
        let keys: Vec<LineKey> = material.split('\n').map(LineKey::of).collect();
        let total: u64 = keys.iter().map(|key| u64::from(key.weight)).sum();
        let covered: u64 = keys
            .iter()
            .filter(|key| committed_lines.contains(&key.hash))
            .map(|key| u64::from(key.weight))
            .sum();
        total > 0 && covered as f64 >= self.config.committed_coverage * total as f64
    }

    // ---- what each verdict does to the map ---------------------------------------------------

    fn count_rework(&mut self, applied: &[AppliedChange]) {
        for change in applied {
            if let Some(id) = change.landed_in_chunk
                && let Some(chunk) = self.chunks.get_mut(&id)
            {
                chunk.reworked_chars += non_whitespace_chars(&change.inserted);
            }
        }
    }

    fn track_burst(
        &mut self,
        uri: &str,
        applied: &[AppliedChange],
        material: &str,
        now_ms: u64,
        outcome: &mut ChangeOutcome,
    ) {
        let Some(open) = self.documents.get_mut(uri) else {
            return;
        };
        // An editor's completion may add its import line elsewhere in the same notification: a
        // whole line inserted beside other edits is the editor's, not typing or a stream, and
        // does not count towards the rate.
        let several = applied.len() > 1;
        let counts = |change: &&AppliedChange| {
            !(several
                && change.inserted.ends_with('\n')
                && non_whitespace_chars(&change.inserted) >= 2)
        };
        // A single change (nearly every keystroke) is taken as it is, without a copy.
        let near_material: String;
        let material = if applied.iter().all(|change| counts(&change)) {
            material
        } else {
            let mut seen: HashSet<&str> = HashSet::new();
            near_material = applied
                .iter()
                .filter(counts)
                .filter(|change| seen.insert(change.material.as_str()))
                .map(|change| change.material.as_str())
                .collect();
            &near_material
        };
        let region = applied
            .iter()
            .filter(counts)
            .map(AppliedChange::inserted_lines)
            .reduce(|left, right| left.start.min(right.start)..left.end.max(right.end))
            .unwrap_or(0..0);
        let config = self.config.clone();
        let region_start = region.start;
        let Some(run) = open.bursts.record(&config, now_ms, material, region) else {
            return;
        };
        let run_region = run.region.clone();
        let run_newlines = run.newlines as u64;
        let existing = run.chunk;
        let resumed = std::mem::take(&mut run.resumed);
        if existing.is_none()
            && self
                .graveyard
                .holds_recently_deleted(uri, region_start, now_ms, material)
        {
            open.bursts.forget_run();
            return;
        }
        let id = match existing {
            Some(id) if self.chunks.contains_key(&id) => id,
            _ => {
                // The stream's lines are the typed ones in its region: a paste made in between
                // keeps its own chunk (and the user's verdict on it).
                let streamed = open.map.unchunked_runs(run_region.clone(), Origin::Typed);
                let created =
                    self.place_chunks(uri, &streamed, Origin::Generated, Rule::Stream, now_ms);
                outcome.new_chunks.extend(created.iter().copied());
                outcome.inserted.burst_lines = run_newlines;
                outcome.chunks_changed = true;
                let Some(&id) = created.first() else { return };
                if let Some(open) = self.documents.get_mut(uri) {
                    open.bursts.attach_chunk(id);
                }
                return;
            }
        };
        // A stream that paused and resumed: what it wrote since it resumed joins its chunk.
        if resumed {
            if self.extend_chunk(uri, id, run_region, Origin::Generated) {
                outcome.chunks_changed = true;
            }
            return;
        }
        // The run goes on: the lines this edit made join its chunk. Only this edit's new lines
        // are relabelled, so a long stream costs the same per edit as a short one.
        if let Some(open) = self.documents.get_mut(uri) {
            let mut grew = false;
            let runs = applied.iter().map(|change| change.new_runs.len()).sum();
            let mut batch = BatchEdit::new(&mut open.map, runs);
            for run in applied.iter().flat_map(|change| change.new_runs.iter()) {
                batch.update(run.clone(), |state| {
                    if state.origin == Origin::Typed
                        && (state.chunk.is_none() || state.chunk == Some(id))
                    {
                        grew |= state.chunk.is_none();
                        LineState::new(Origin::Generated, Some(id))
                    } else {
                        state
                    }
                });
            }
            drop(batch);
            if grew {
                if let Some(chunk) = self.chunks.get_mut(&id) {
                    chunk.syntax_stale = true;
                }
                outcome.chunks_changed = true;
            }
        }
    }

    /// A suggestion acceptance: counted with the acceptances next to it, and once together they
    /// pass the bar, one `generated` chunk over what they built, growing with each acceptance.
    fn track_acceptance(
        &mut self,
        uri: &str,
        applied: &[AppliedChange],
        now_ms: u64,
        outcome: &mut ChangeOutcome,
    ) {
        let Some(change) = acceptance::accepted_change(applied) else {
            return;
        };
        let chars = non_whitespace_chars(&change.inserted);
        let lines = change.inserted_lines();
        let keys: usize = applied
            .iter()
            .map(|other| non_whitespace_chars(&other.inserted))
            .sum::<usize>()
            .saturating_sub(chars);
        let Some(open) = self.documents.get_mut(uri) else {
            return;
        };
        open.acceptances.typed(keys);
        let group = open
            .acceptances
            .accept(now_ms, chars, lines.clone())
            .clone();
        if group.count < acceptance::MIN_ACCEPTANCES {
            return;
        }
        let built: usize = merged(&group.runs)
            .into_iter()
            .flatten()
            .filter(|&line| !open.document.line_is_blank(line))
            .count();
        if !self.config.passes_bar(built, group.chars) {
            return;
        }
        match group.chunk.filter(|id| self.chunks.contains_key(id)) {
            Some(id) => {
                if self.extend_chunk(uri, id, lines, Origin::Generated) {
                    outcome.inserted = Inserted {
                        origin: Some(Origin::Generated),
                        lines: non_blank_lines(&change.inserted).max(1) as u64,
                        ..Inserted::default()
                    };
                    outcome.chunks_changed = true;
                }
            }
            None => {
                let runs: Vec<Range<usize>> = merged(&group.runs);
                let created =
                    self.place_chunks(uri, &runs, Origin::Generated, Rule::Acceptances, now_ms);
                if let Some(&id) = created.first()
                    && let Some(open) = self.documents.get_mut(uri)
                {
                    open.acceptances.attach_chunk(id);
                }
                outcome.inserted = Inserted {
                    origin: Some(Origin::Generated),
                    lines: built as u64,
                    ..Inserted::default()
                };
                outcome.new_chunks.extend(created);
                outcome.chunks_changed = true;
            }
        }
    }

    /// Joins `lines` to chunk `id` as lines of `origin`, with the lines between them and the chunk
    /// (kept as they are); lines of another chunk are left alone. Returns whether the chunk grew.
    fn extend_chunk(
        &mut self,
        uri: &str,
        id: ChunkId,
        lines: Range<usize>,
        origin: Origin,
    ) -> bool {
        let Some(open) = self.documents.get_mut(uri) else {
            return false;
        };
        let Some((_, current)) = open
            .map
            .chunk_runs()
            .into_iter()
            .find(|(chunk, _)| *chunk == id)
        else {
            return false;
        };
        let length = open.map.len();
        let lines = lines.start.min(length)..lines.end.min(length);
        let gap = if lines.start >= current.end {
            current.end..lines.start
        } else if lines.end <= current.start {
            lines.end..current.start
        } else {
            0..0
        };
        let mut grew = false;
        let mut batch = BatchEdit::new(&mut open.map, 2);
        batch.update(gap, |state| match state.chunk {
            None => {
                grew = true;
                LineState::new(state.origin, Some(id))
            }
            Some(_) => state,
        });
        batch.update(lines, |state| match state.chunk {
            None => {
                grew = true;
                LineState::new(origin, Some(id))
            }
            Some(chunk) if chunk == id => LineState::new(origin, Some(id)),
            Some(_) => state,
        });
        drop(batch);
        if grew && let Some(chunk) = self.chunks.get_mut(&id) {
            chunk.syntax_stale = true;
        }
        grew
    }

    /// A copy's lines take their source lines' origin: a copy of the user's own lines stays
    /// theirs; the lines copying a chunk become a new chunk of its origin that says which chunk it
    /// copies.
    fn place_copies(
        &mut self,
        uri: &str,
        applied: &[AppliedChange],
        copy: &Copy,
        now_ms: u64,
        outcome: &mut ChangeOutcome,
    ) {
        let lines = Self::new_lines(applied);
        let mut by_source: Vec<(ChunkId, Vec<Range<usize>>)> = Vec::new();
        for (&line, pair) in lines.iter().zip(&copy.pairs) {
            let Some(source) = pair.and_then(|source| self.source_state(&copy.uri, source)) else {
                continue;
            };
            let Some(chunk) = source.chunk.filter(|id| self.chunks.contains_key(id)) else {
                continue;
            };
            match by_source.iter_mut().find(|(id, _)| *id == chunk) {
                Some((_, runs)) => match runs.last_mut() {
                    Some(run) if run.end == line => run.end = line + 1,
                    _ => runs.push(line..line + 1),
                },
                None => by_source.push((chunk, std::iter::once(line..line + 1).collect())),
            }
        }
        let mut flagged_lines = 0;
        for (source, runs) in by_source {
            let Some(origin) = self.chunks.get(&source).map(|chunk| chunk.origin) else {
                continue;
            };
            let created = self.place_new_chunks(uri, &runs, origin, Rule::Copy, now_ms);
            for id in &created {
                if let Some(chunk) = self.chunks.get_mut(id) {
                    chunk.copied_from = Some(source);
                    flagged_lines += chunk.inserted_lines;
                }
            }
            if let Some(&id) = created.first() {
                outcome.inserted = Inserted {
                    origin: self.chunks.get(&id).map(|chunk| chunk.origin),
                    lines: flagged_lines as u64,
                    ..Inserted::default()
                };
            }
            outcome.chunks_changed |= !created.is_empty();
            outcome.new_chunks.extend(created);
        }
    }

    /// A formatter's split or joined lines take the state of the line above them (or below).
    /// Returns whether a chunk gained lines (its edges may then need trimming).
    fn relabel_as_neighbours(&mut self, uri: &str, applied: &[AppliedChange]) -> bool {
        let Some(open) = self.documents.get_mut(uri) else {
            return false;
        };
        let mut chunk_grew = false;
        let runs = applied.iter().map(|change| change.new_runs.len()).sum();
        let mut batch = BatchEdit::new(&mut open.map, runs);
        for run in applied.iter().flat_map(|change| change.new_runs.iter()) {
            let neighbour = if run.start > 0 {
                batch.get(run.start - 1)
            } else if run.end < batch.len() {
                batch.get(run.end)
            } else {
                continue;
            };
            chunk_grew |= neighbour.chunk.is_some();
            batch.set(run.clone(), neighbour);
        }
        chunk_grew
    }

    /// Restored or moved lines take the chunk their deleted twins had; a chunk that had vanished
    /// with them comes back with its class and explanation. Returns whether any chunk changed.
    fn relabel_from_graveyard(
        &mut self,
        uri: &str,
        applied: &[AppliedChange],
        material: &str,
        origin: Origin,
    ) -> bool {
        let Some(found) = self
            .graveyard
            .best_match(material, self.config.restore_coverage)
        else {
            return false;
        };
        let Some(open) = self.documents.get_mut(uri) else {
            return false;
        };
        let runs: Vec<Range<usize>> = applied
            .iter()
            .flat_map(|change| change.new_runs.iter().cloned())
            .collect();
        let lines: Vec<usize> = runs.iter().flat_map(|run| run.clone()).collect();
        let keys: Vec<LineKey> = lines
            .iter()
            .map(|&line| open.document.line_key(line))
            .collect();
        let pairs = crate::carry::match_lines(&found.keys, &keys);
        let mut changed = false;
        let mut revived: HashMap<ChunkId, ChunkId> = HashMap::new();
        let mut batch = BatchEdit::new(&mut open.map, lines.len());
        for (&line, pair) in lines.iter().zip(pairs) {
            let provisional = batch.get(line);
            let source_chunk = pair
                .and_then(|old| found.line_states.get(old))
                .and_then(|state| state.chunk);
            let chunk = match source_chunk {
                Some(id) => {
                    let resolved = *revived.entry(id).or_insert_with(|| {
                        if let Some(mut chunk) = self.graveyard.exhume(id) {
                            chunk.uri = uri.to_string();
                            self.chunks.insert(id, chunk);
                            id
                        } else {
                            match self.chunks.get(&id) {
                                Some(chunk) if chunk.uri == uri => id,
                                Some(chunk) => {
                                    // Part of a chunk that still lives in another file: a copy.
                                    let source = chunk.clone();
                                    new_chunk(&mut self.chunk_ids, &mut self.chunks, |id| Chunk {
                                        id,
                                        uri: uri.to_string(),
                                        ..source
                                    })
                                }
                                None => id,
                            }
                        }
                    });
                    if self.chunks.contains_key(&resolved) {
                        changed = true;
                        Some(resolved)
                    } else {
                        provisional.chunk
                    }
                }
                None => provisional.chunk,
            };
            batch.set(line..line + 1, LineState::new(origin, chunk));
        }
        changed
    }

    /// Makes chunks over the given runs of new lines: runs a few lines apart are one chunk, and a
    /// chunk touching a young unjudged chunk of the same origin extends it. Returns new chunk ids.
    fn place_chunks(
        &mut self,
        uri: &str,
        runs: &[Range<usize>],
        origin: Origin,
        rule: Rule,
        now_ms: u64,
    ) -> Vec<ChunkId> {
        self.make_chunks(uri, runs, origin, rule, now_ms, true)
    }

    /// As [`Engine::place_chunks`], but never extends a chunk already there (a copy next to the
    /// chunk it copies is a chunk of its own).
    fn place_new_chunks(
        &mut self,
        uri: &str,
        runs: &[Range<usize>],
        origin: Origin,
        rule: Rule,
        now_ms: u64,
    ) -> Vec<ChunkId> {
        self.make_chunks(uri, runs, origin, rule, now_ms, false)
    }

    fn make_chunks(
        &mut self,
        uri: &str,
        runs: &[Range<usize>],
        origin: Origin,
        rule: Rule,
        now_ms: u64,
        extend: bool,
    ) -> Vec<ChunkId> {
        let Some(open) = self.documents.get_mut(uri) else {
            return Vec::new();
        };
        let mut spans: Vec<Range<usize>> =
            runs.iter().filter(|run| !run.is_empty()).cloned().collect();
        spans.sort_by_key(|run| run.start);
        let mut groups: Vec<(Range<usize>, Vec<Range<usize>>)> = Vec::new();
        for span in spans {
            match groups.last_mut() {
                // A gap is bridged only when no other chunk lies in it.
                Some((group, members))
                    if span.start <= group.end + self.config.bridge_lines
                        && !open.map.any_chunk_in(group.end..span.start) =>
                {
                    group.end = group.end.max(span.end);
                    members.push(span);
                }
                _ => groups.push((span.clone(), vec![span])),
            }
        }
        let existing_runs = open.map.chunk_runs();
        let lines = open.map.len();
        // Many groups (an agent's rewrite, a file re-anchored with scattered new lines) are
        // relabelled on one copy of the states and the map rebuilt once: splicing the map per group
        // costs its runs each time, which is quadratic when both are in the tens of thousands.
        let mut all_states = (groups.len() > 1).then(|| open.map.states(0..lines));
        let mut created = Vec::new();
        for (group, members) in groups {
            let group = group.start.min(lines)..group.end.min(lines);
            // Runs are in line order and disjoint, so those touching the group are found by
            // bisection rather than by walking every chunk of the file for every group.
            let first_touching =
                existing_runs.partition_point(|(_, range)| range.end < group.start);
            let merge_with = existing_runs[first_touching..]
                .iter()
                .take_while(|(_, range)| range.start <= group.end)
                .find_map(|(id, _)| {
                    let chunk = self.chunks.get(id)?;
                    let young =
                        now_ms.saturating_sub(chunk.created_ms) <= self.config.merge_window_ms;
                    (extend
                        && young
                        && chunk.origin == origin
                        && chunk.class.is_none()
                        && chunk.explanation.is_none())
                    .then_some(*id)
                });
            let id = match merge_with {
                Some(id) => {
                    if let Some(chunk) = self.chunks.get_mut(&id) {
                        chunk.syntax_stale = true;
                    }
                    id
                }
                None => {
                    let id = new_chunk(&mut self.chunk_ids, &mut self.chunks, |id| {
                        Chunk::new(id, uri, origin, rule, now_ms)
                    });
                    created.push(id);
                    id
                }
            };
            let mut states = match &all_states {
                Some(all) => all[group.clone()].to_vec(),
                None => open.map.states(group.clone()),
            };
            // Bridged lines between the runs join the chunk but keep their origin; a line of
            // another chunk at the group's edge stays in it.
            for state in &mut states {
                match state.chunk {
                    Some(other) if other != id => {}
                    _ => *state = LineState::new(state.origin, Some(id)),
                }
            }
            for member in members {
                for line in member.start.max(group.start)..member.end.min(group.end) {
                    states[line - group.start] = LineState::new(origin, Some(id));
                }
            }
            match &mut all_states {
                Some(all) => all[group.clone()].copy_from_slice(&states),
                None => open.map.splice(group.start, states.len(), &states),
            }
            if let Some(chunk) = self.chunks.get_mut(&id)
                && chunk.inserted_lines == 0
            {
                chunk.inserted_lines = open.document.non_blank_lines_in(group.clone());
            }
        }
        if let Some(all) = all_states {
            open.map = LineMap::from_states(all);
        }
        created
    }

    /// Restores the invariants after chunks were edited: each chunk is one contiguous run (runs a
    /// few lines apart are bridged; farther ones split off under new ids with the same verdict)
    /// that starts and ends on a non-blank line, and a chunk with no line left is buried.
    fn normalize_chunks(&mut self, uri: &str, _now_ms: u64) {
        let Some(open) = self.documents.get_mut(uri) else {
            return;
        };
        let mut by_chunk: HashMap<ChunkId, Vec<Range<usize>>> = HashMap::new();
        for (id, range) in open.map.chunk_runs() {
            by_chunk.entry(id).or_default().push(range);
        }
        // Chunks in several pieces (rare: a rewrite that kept scattered lines of a chunk) are
        // bridged or split on one copy of the states, in id order, and the map rebuilt once.
        let mut scattered: Vec<(ChunkId, Vec<Range<usize>>)> = by_chunk
            .into_iter()
            .filter(|(_, ranges)| ranges.len() > 1)
            .collect();
        scattered.sort_by_key(|(id, _)| *id);
        if !scattered.is_empty() {
            let mut states = open.map.states(0..open.map.len());
            for (id, mut ranges) in scattered {
                ranges.sort_by_key(|range| range.start);
                let mut kept: Vec<Range<usize>> = vec![ranges[0].clone()];
                for range in ranges.iter().skip(1) {
                    let last = kept.last_mut().expect("kept starts non-empty");
                    let gap = last.end..range.start;
                    let gap_is_free = states[gap.clone()]
                        .iter()
                        .all(|state| state.chunk.is_none());
                    if gap.len() <= self.config.bridge_lines && gap_is_free {
                        for state in &mut states[gap] {
                            *state = LineState::new(state.origin, Some(id));
                        }
                        last.end = range.end;
                    } else {
                        kept.push(range.clone());
                    }
                }
                for split_off in kept.into_iter().skip(1) {
                    let Some(original) = self.chunks.get(&id).cloned() else {
                        break;
                    };
                    let new_id = new_chunk(&mut self.chunk_ids, &mut self.chunks, |id| Chunk {
                        id,
                        syntax_stale: true,
                        ..original
                    });
                    for state in &mut states[split_off] {
                        if state.chunk == Some(id) {
                            *state = LineState::new(state.origin, Some(new_id));
                        }
                    }
                    if let Some(chunk) = self.chunks.get_mut(&id) {
                        chunk.syntax_stale = true;
                    }
                }
            }
            open.map = LineMap::from_states(states);
        }
        // A chunk starts and ends on a line with text: blank lines at its edges (the empty line
        // a paste ending in a line break leaves, indentation typed ahead) leave it.
        let mut releases: Vec<(ChunkId, Range<usize>)> = Vec::new();
        for (id, range) in open.map.chunk_runs() {
            let is_blank = |line: usize| open.document.line_is_blank(line);
            let mut start = range.start;
            let mut end = range.end;
            while start < end && is_blank(start) {
                start += 1;
            }
            while end > start && is_blank(end - 1) {
                end -= 1;
            }
            if start > range.start {
                releases.push((id, range.start..start));
            }
            if end < range.end {
                releases.push((id, end.max(start)..range.end));
            }
        }
        let release = |id: ChunkId, state: LineState| {
            if state.chunk == Some(id) {
                LineState::new(state.origin, None)
            } else {
                state
            }
        };
        // A keystroke trims one edge in place; thousands of chunks trimmed at once (a rewrite of
        // a file full of chunks) are trimmed on one copy of the states.
        if releases.len() <= 4 {
            for (id, range) in releases {
                open.map.update(range, |state| release(id, state));
            }
        } else {
            let mut states = open.map.states(0..open.map.len());
            for (id, range) in releases {
                for state in &mut states[range] {
                    *state = release(id, *state);
                }
            }
            open.map = LineMap::from_states(states);
        }
        let alive: HashSet<ChunkId> = open
            .map
            .chunk_runs()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let dead: Vec<ChunkId> = self
            .chunks
            .values()
            .filter(|chunk| chunk.uri == uri && !alive.contains(&chunk.id))
            .map(|chunk| chunk.id)
            .collect();
        for id in dead {
            if let Some(chunk) = self.chunks.remove(&id) {
                self.graveyard.bury(chunk);
            }
        }
    }

    fn refresh_stale_syntax(&mut self, uri: &str) {
        self.refresh_syntax(uri, |_| true);
    }

    /// Names again the stale chunks of `uri` that `wanted` picks.
    fn refresh_syntax(&mut self, uri: &str, wanted: impl Fn(&Chunk) -> bool) {
        let Some(open) = self.documents.get(uri) else {
            return;
        };
        let stale: Vec<ChunkId> = self
            .chunks
            .values()
            .filter(|chunk| chunk.uri == uri && chunk.syntax_stale && wanted(chunk))
            .map(|chunk| chunk.id)
            .collect();
        if stale.is_empty() {
            return;
        }
        let Some(language) = Language::from_path(uri) else {
            // No grammar: nothing to name, and no text to copy out.
            for id in stale {
                if let Some(chunk) = self.chunks.get_mut(&id) {
                    chunk.syntax_stale = false;
                }
            }
            return;
        };
        let runs = open.map.chunk_runs();
        for id in stale {
            let Some((_, range)) = runs.iter().find(|(chunk_id, _)| *chunk_id == id) else {
                continue;
            };
            // Only the part the summary reads is copied out: a 50 MB chunk costs what 256 KiB do.
            let mut text = String::new();
            for line in range.clone() {
                if text.len() > MAX_SOURCE_BYTES {
                    break;
                }
                if line > range.start {
                    text.push('\n');
                }
                text.push_str(&open.document.line_text(line));
            }
            let summary = self.syntax.summarize(language, &text);
            if let Some(chunk) = self.chunks.get_mut(&id) {
                chunk.items = summary.items;
                chunk.identifiers = summary.identifiers;
                chunk.syntax_stale = false;
            }
        }
    }

    fn apply_reanchored(
        &mut self,
        uri: &str,
        document: &Document,
        reanchored: Reanchored,
        now_ms: u64,
        outcome: &mut ChangeOutcome,
    ) -> LineMap {
        let Reanchored {
            map,
            external_runs,
            gone,
        } = reanchored;
        for id in gone {
            if let Some(chunk) = self.chunks.remove(&id) {
                self.graveyard.bury(chunk);
            }
        }
        // Park the document so that chunk placement can see it; `open` replaces it right after.
        self.documents.insert(
            uri.to_string(),
            OpenDocument {
                document: document.clone(),
                map,
                pending_hint: None,
                bursts: BurstTracker::default(),
                acceptances: AcceptanceTracker::default(),
            },
        );
        let material: Vec<String> = external_runs
            .iter()
            .flat_map(|run| run.clone())
            .map(|line| document.line_text(line))
            .collect();
        let material = material.join("\n");
        if self
            .config
            .passes_bar(non_blank_lines(&material), non_whitespace_chars(&material))
        {
            outcome.new_chunks = self.place_chunks(
                uri,
                &external_runs,
                Origin::External,
                Rule::External,
                now_ms,
            );
            outcome.verdict = Verdict::Flagged(Origin::External);
        }
        self.documents
            .remove(uri)
            .map(|open| open.map)
            .unwrap_or_else(|| LineMap::new(document.len_lines(), LineState::TYPED))
    }

    fn chunk_mut(&mut self, uri: &str, id: ChunkId) -> Result<&mut Chunk, EngineError> {
        if !self.documents.contains_key(uri) && !self.closed.contains_key(uri) {
            return Err(EngineError::UnknownDocument {
                uri: uri.to_string(),
            });
        }
        match self.chunks.get_mut(&id) {
            Some(chunk) if chunk.uri == uri => Ok(chunk),
            _ => Err(EngineError::UnknownChunk {
                uri: uri.to_string(),
                chunk: id.0,
            }),
        }
    }
}

// ---- declared origins ------------------------------------------------------------------------

/// Waiting declarations kept per open document; past it the oldest go (they stay in the store).
const MAX_WAITING_DECLARATIONS: usize = 16;

impl Engine {
    /// Applies lines an agent declared it wrote to the open document `uri`: found by content
    /// ([`declared::locate`]), they become one chunk of the declared origin carrying the agent and
    /// the model, taking over a chunk guessed inside them ([`declared::claim`]). Returns the
    /// chunk, or None when the document is not open or does not hold the lines as declared.
    pub fn declare(
        &mut self,
        uri: &str,
        declaration: &Declaration,
        now_ms: u64,
    ) -> Option<ChunkId> {
        let open = self.documents.get_mut(uri)?;
        let range = declared::locate(&document_line_keys(&open.document), declaration)?;
        let id = declared::claim(
            &mut open.map,
            &mut self.chunks,
            &mut self.chunk_ids,
            uri,
            range,
            declaration.non_blank_lines(),
            declaration,
            now_ms,
        );
        self.normalize_chunks(uri, now_ms);
        Some(id)
    }

    /// Keeps a declaration whose lines the open document does not hold yet (the editor has not
    /// reloaded the file the agent wrote): it is tried again when the document is rewritten or
    /// gets a flagged insertion, and forgotten when it closes.
    pub fn wait_for_declared(&mut self, uri: &str, declaration: Declaration) {
        if !self.documents.contains_key(uri) {
            return;
        }
        let waiting = self
            .waiting_declarations
            .entry(uri.to_string())
            .or_default();
        waiting.retain(|kept| kept.id != declaration.id);
        waiting.push(declaration);
        let excess = waiting.len().saturating_sub(MAX_WAITING_DECLARATIONS);
        waiting.drain(..excess);
    }

    /// Waiting declarations applied since the last call, with their files (the caller tells the
    /// store they were applied).
    pub fn take_applied_declarations(&mut self) -> Vec<(String, u64)> {
        std::mem::take(&mut self.applied_declarations)
    }

    /// Tries the declarations waiting for `uri`; true when one was applied.
    fn retry_declarations(&mut self, uri: &str, now_ms: u64) -> bool {
        let Some(waiting) = self.waiting_declarations.remove(uri) else {
            return false;
        };
        let mut still_waiting = Vec::new();
        let mut applied = false;
        for declaration in waiting {
            if self.declare(uri, &declaration, now_ms).is_some() {
                self.applied_declarations
                    .push((uri.to_string(), declaration.id));
                applied = true;
            } else {
                still_waiting.push(declaration);
            }
        }
        if !still_waiting.is_empty() {
            self.waiting_declarations
                .insert(uri.to_string(), still_waiting);
        }
        applied
    }
}

fn take_hint(
    pending: &mut Option<PendingHint>,
    version: Option<i32>,
    now_ms: u64,
    lifetime_ms: u64,
) -> Option<Hint> {
    let hint = pending.take()?;
    let fresh = now_ms.saturating_sub(hint.at_ms) <= lifetime_ms;
    match (hint.version, version) {
        // A hint for a later version waits for it.
        (Some(wanted), Some(actual)) if wanted > actual => {
            *pending = Some(hint);
            None
        }
        (Some(wanted), Some(actual)) => (wanted == actual).then_some(hint.hint),
        _ => fresh.then_some(hint.hint),
    }
}

/// What a notification really added: each distinct inserted text once (multi-cursor typing and
/// renames repeat the same text at many places: one keystroke, one name).
///
/// The measures are sums over the distinct texts, never counts on their joined form: Neovim sends
/// the keys typed during its debounce as one notification of one-character changes, and joining
/// them would turn every key into a "line".
struct Material {
    /// The texts one per line, for line-by-line comparisons (undo, moves, git).
    joined: String,
    /// The texts end to end, as they were typed.
    concatenated: String,
    chars: usize,
    /// Non-blank lines of the texts that hold a line break; a text without one extends a line.
    lines: usize,
    /// Line breaks inserted, over every change (not only distinct texts).
    newlines: usize,
}

fn distinct_material(applied: &[AppliedChange]) -> Material {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut parts: Vec<&str> = Vec::new();
    for change in applied {
        if !change.material.is_empty() && seen.insert(change.material.as_str()) {
            parts.push(&change.material);
        }
    }
    Material {
        joined: parts.join("\n"),
        concatenated: parts.concat(),
        chars: parts.iter().map(|part| non_whitespace_chars(part)).sum(),
        lines: parts
            .iter()
            .filter(|part| part.contains('\n'))
            .map(|part| non_blank_lines(part))
            .sum(),
        // Every Enter counts, even the same key pressed three times in one debounced batch.
        newlines: applied
            .iter()
            .map(|change| change.material.matches('\n').count())
            .sum(),
    }
}

/// Removed and inserted text hold the same words in any order: a formatter or a line move.
fn is_reformatting(applied: &[AppliedChange]) -> bool {
    let deleted: String = applied
        .iter()
        .map(|change| change.deleted.as_str())
        .collect();
    let inserted: String = applied
        .iter()
        .map(|change| change.inserted.as_str())
        .collect();
    non_whitespace_chars(&inserted) > 0
        && non_whitespace_chars(&deleted) > 0
        && sorted_word_characters(&deleted) == sorted_word_characters(&inserted)
}

/// Line ranges sorted and merged where they overlap or touch.
fn merged(runs: &[Range<usize>]) -> Vec<Range<usize>> {
    let mut sorted: Vec<Range<usize>> =
        runs.iter().filter(|run| !run.is_empty()).cloned().collect();
    sorted.sort_by_key(|run| run.start);
    let mut out: Vec<Range<usize>> = Vec::new();
    for run in sorted {
        match out.last_mut() {
            Some(last) if run.start <= last.end => last.end = last.end.max(run.end),
            _ => out.push(run),
        }
    }
    out
}

fn document_line_keys(document: &Document) -> Vec<LineKey> {
    document.line_keys()
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
