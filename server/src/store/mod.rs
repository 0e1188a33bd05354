//! The store: the only code that touches the disk for user data. It keeps each file's ownership
//! map and chunks, the dismissals, the calibration sessions, the daily activity ledger and a few
//! named settings behind the [`Store`] trait: [`SledStore`] on disk,
//! [`MemoryStore`] when the disk store cannot be opened (and in tests). Also here: where the store
//! lives ([`default_location`], [`FileKey`]) and how opening it fails ([`OpenFailure`]).
//!
//! Nothing newer or damaged is ever silently overwritten: a store written by a newer schema is left
//! untouched, a damaged database is moved aside whole, a damaged record is moved to the `damaged`
//! tree, and each is reported.

pub mod calibration;
pub mod chunk_ids;
pub mod fold;
pub mod journal;
pub mod protocol;
pub mod records;
mod repair;
pub mod serve;
pub mod shared;
mod sled_store;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use thiserror::Error;

use crate::core::Chunk;
use crate::core::activity::DayActivity;
use crate::core::calibration::CalibrationSession;
use crate::core::date::civil_date;
use crate::core::declared::{Declaration, DeclaredLog};
use crate::core::engine::{Dismissal, FileSnapshot};
use crate::core::line_map::LineMap;

pub use shared::SharedStore;
pub use sled_store::SledStore;

/// The store schema this build writes and the newest it opens.
pub const SCHEMA_VERSION: u32 = 1;

/// The sled database's folder inside the store folder, which will hold other things too (e.g.
/// `explanations/`).
pub const DATABASE_FOLDER: &str = "db";

/// Where a file's record lives: its workspace root and its path relative to it (both with `/`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileKey {
    pub workspace: String,
    pub path: String,
}

impl FileKey {
    /// The key of `file` under the longest of `roots` that contains it; a file outside every root
    /// gets workspace "" and its absolute path. Paths are compared after lexical normalisation (no
    /// fs access).
    ///
    /// Keying by workspace and relative path (not by absolute path) is what lets a later issue
    /// follow a workspace that moved.
    pub fn for_path(roots: &[PathBuf], file: &Path) -> FileKey {
        let file = normalize_lexically(file);
        let root = roots
            .iter()
            .map(|root| normalize_lexically(root))
            .filter(|root| file.starts_with(root))
            .max_by_key(|root| root.components().count());
        match root {
            Some(root) => {
                let relative = file.strip_prefix(&root).unwrap_or(&file);
                FileKey {
                    workspace: slash_string(&root),
                    path: slash_string(relative),
                }
            }
            None => FileKey {
                workspace: String::new(),
                path: slash_string(&file),
            },
        }
    }
}

impl FileKey {
    /// Why this key cannot be stored, or None. On disk a key is its workspace, a NUL and its path,
    /// so a NUL in either would make a key that reads back as another one, or as damaged.
    pub fn why_not_storable(&self) -> Option<String> {
        (self.workspace.contains('\0') || self.path.contains('\0'))
            .then(|| "its workspace or path holds a NUL character".to_string())
    }
}

impl FileKey {
    /// Where the file is on disk: its workspace joined with its path (a file outside every
    /// workspace is keyed by its absolute path).
    pub fn full_path(&self) -> PathBuf {
        if self.workspace.is_empty() {
            PathBuf::from(&self.path)
        } else {
            Path::new(&self.workspace).join(&self.path)
        }
    }

    /// Whether the file is `folder` or is under it (`folder` lexically normalised; the file's
    /// path is normalised here).
    pub fn is_under(&self, folder: &Path) -> bool {
        normalize_lexically(&self.full_path()).starts_with(folder)
    }
}

impl fmt::Display for FileKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.workspace.is_empty() {
            write!(formatter, "{}", self.path)
        } else {
            write!(formatter, "{} in {}", self.path, self.workspace)
        }
    }
}

/// `.` dropped and `..` applied to what precedes it, without looking at the disk (symlinks are
/// taken at face value: the editor names files the same way every time, and that is what counts).
pub(crate) fn normalize_lexically(path: &Path) -> PathBuf {
    let mut normalized = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => match normalized.components().next_back() {
                Some(Component::Normal(_)) => {
                    normalized.pop();
                }
                // `/..` is `/`.
                Some(Component::RootDir | Component::Prefix(_)) => {}
                // A relative path that climbs above its start keeps its `..`.
                Some(Component::ParentDir | Component::CurDir) | None => {
                    normalized.push("..");
                }
            },
            other => normalized.push(other.as_os_str()),
        }
    }
    normalized
}

/// A path with `/` between its components, whatever the platform writes.
fn slash_string(path: &Path) -> String {
    let mut text = String::new();
    for component in path.components() {
        match component {
            Component::RootDir => text.push('/'),
            other => {
                if !text.is_empty() && !text.ends_with('/') {
                    text.push('/');
                }
                text.push_str(&other.as_os_str().to_string_lossy());
            }
        }
    }
    text
}

/// A file's ownership map and the chunks on it.
#[derive(Debug, Clone, PartialEq)]
pub struct FileRecord {
    pub snapshot: FileSnapshot,
    pub chunks: Vec<Chunk>,
}

/// A file's record without its line keys: what the report and `whetstone status` read of it.
#[derive(Debug, Clone, PartialEq)]
pub struct FileSummary {
    /// The ownership map; its length is the file's number of lines.
    pub map: LineMap,
    /// Whether the last line's key is blank: a trailing empty line after the last line break is
    /// not counted as a line.
    pub last_line_blank: bool,
    /// The chunks, without their identifiers in a summary the store lists
    /// ([`records::Unread`]): only scoring an explanation needs them.
    pub chunks: Vec<Chunk>,
}

impl FileSummary {
    /// The summary of a record as the store lists it: no line keys, no chunk identifiers.
    pub fn of(record: FileRecord) -> FileSummary {
        let mut chunks = record.chunks;
        for chunk in &mut chunks {
            chunk.identifiers = Vec::new();
        }
        FileSummary {
            last_line_blank: record
                .snapshot
                .line_keys
                .last()
                .is_some_and(|key| key.is_blank()),
            map: record.snapshot.map,
            chunks,
        }
    }
}

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("the store could not {action} {target}: {source}")]
    Database {
        action: &'static str,
        target: String,
        source: sled::Error,
    },
    #[error(
        "the stored record of {target} is damaged ({reason}); its bytes were moved to the \
         store's damaged records as {kept_as}"
    )]
    Damaged {
        target: String,
        kept_as: String,
        reason: String,
    },
    #[error(
        "the stored record of {target} was written by a newer whetstone (record version \
         {found}, this one reads up to {supported}); it is left untouched"
    )]
    NewerRecord {
        target: String,
        found: u32,
        supported: u32,
    },
    #[error("refusing to save {target}: {reason}")]
    InvalidRecord { target: String, reason: String },
    #[error("the store's setting {name} is unreadable ({value:?})")]
    DamagedSetting { name: &'static str, value: String },
    /// The process holding the store cannot be reached (it is being replaced), or answered
    /// something this one cannot use.
    #[error("the store is not reachable right now: {0}")]
    Unavailable(String),
    /// What the process holding the store said went wrong there.
    #[error("{0}")]
    Remote(String),
    #[error(
        "the store was written by a newer whetstone and is open read-only: nothing is saved \
         until whetstone is updated"
    )]
    ReadOnly,
    /// The journal could not be written or read (a full disk, something in its way).
    #[error("the store's journal could not be written: {0}")]
    Journal(String),
}

/// Why the store could not be opened. Every `path` is the store folder (the one the user
/// configured, holding `db/`). `user_message()` is shown once to the user.
#[derive(Debug, Error)]
pub enum OpenFailure {
    #[error("the store in {} is locked by another process", path.display())]
    Locked { path: PathBuf },
    #[error("the store in {} is damaged: {reason}", path.display())]
    Damaged {
        path: PathBuf,
        /// Where the damaged database went; None when moving it failed (the reason says why).
        moved_to: Option<PathBuf>,
        reason: String,
    },
    #[error("could not open the store in {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The store folder itself, or its `db` folder (`link`), is a symbolic link. It is refused,
    /// never followed: following it would chmod and fill whatever folder it points to.
    #[error("the store in {} is not used: {} is a symbolic link", path.display(), link.display())]
    SymbolicLink {
        path: PathBuf,
        link: PathBuf,
        /// Where the link points, as it is written; None when it cannot be read.
        target: Option<PathBuf>,
    },
}

const IN_MEMORY_ONLY: &str =
    "whetstone keeps working, but what you record in this window is kept in memory only.";

impl OpenFailure {
    /// [`OpenFailure::user_message`] for a command that stops here instead of carrying on with
    /// memory only: the same words without the sentence about memory.
    pub fn command_line_message(&self) -> String {
        self.user_message()
            .replace(&format!(" {IN_MEMORY_ONLY}"), "")
    }

    /// What happened, what it means and what to do, in words for the user.
    pub fn user_message(&self) -> String {
        match self {
            // Processes share the store through the one holding it, so this is only ever said
            // when the holder did not answer on the store's socket for five seconds (the time
            // `SharedStore::connect` looks for it).
            OpenFailure::Locked { path } => {
                let pid = lock_holder(path);
                let holder = match pid {
                    Some(pid) if pid == std::process::id() => {
                        "this same whetstone process (it opened the store twice)".to_string()
                    }
                    Some(pid) => match process_name(pid) {
                        Some(name) => format!("another process ({name}, pid {pid})"),
                        None => format!("another process (pid {pid})"),
                    },
                    None => "another process".to_string(),
                };
                let end_it = match pid {
                    Some(pid) if pid != std::process::id() => format!(" (or end it: kill {pid})"),
                    _ => String::new(),
                };
                format!(
                    "The whetstone store in {} is held by {holder}, which did not answer on the \
                     store's socket {} within 5 seconds: it may be stuck, or be an older whetstone \
                     that does not share the store. {IN_MEMORY_ONLY} To keep what you record, \
                     close that process{end_it}, then reopen this window.",
                    path.display(),
                    shared::socket_path(path).display()
                )
            }
            OpenFailure::Damaged {
                path,
                moved_to: Some(moved_to),
                reason,
            } => format!(
                "The whetstone store in {} was damaged and could not be read ({reason}). It was \
                 moved, untouched, to {}; the next start begins a fresh store. {IN_MEMORY_ONLY}",
                path.display(),
                moved_to.display()
            ),
            OpenFailure::Damaged {
                path,
                moved_to: None,
                reason,
            } => format!(
                "The whetstone store in {} was damaged and could not be read ({reason}). \
                 {IN_MEMORY_ONLY} Move or delete {} to let whetstone start a fresh store.",
                path.display(),
                path.join(DATABASE_FOLDER).display()
            ),
            OpenFailure::Io { path, source } => format!(
                "The whetstone store in {} could not be opened: {source}. {IN_MEMORY_ONLY} Check \
                 that the folder is writable and the disk has room, or set WHETSTONE_HOME to \
                 another folder.",
                path.display()
            ),
            OpenFailure::SymbolicLink { path, link, target } => {
                let pointing = match target {
                    Some(target) => format!(" (to {})", target.display()),
                    None => String::new(),
                };
                let what_to_do = if link == path {
                    "Point WHETSTONE_HOME (or the storePath setting) at the real folder, or \
                     remove the link."
                        .to_string()
                } else {
                    format!(
                        "Remove the link {}, or move the folder it points to in its place.",
                        link.display()
                    )
                };
                format!(
                    "The whetstone store is not used: {} is a symbolic link{pointing}, and \
                     whetstone keeps its store only in a real folder, so it does not follow the \
                     link. {IN_MEMORY_ONLY} {what_to_do}",
                    link.display()
                )
            }
        }
    }
}

/// The process holding sled's lock on the store, from `/proc/locks` (best effort, Linux only: the
/// lock is an flock on `db/db`, which `/proc/locks` lists by inode).
#[cfg(target_os = "linux")]
fn lock_holder(folder: &Path) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    let inode = std::fs::metadata(folder.join(DATABASE_FOLDER).join("db"))
        .ok()?
        .ino();
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    locks.lines().find_map(|line| {
        // "1: FLOCK  ADVISORY  WRITE 4242 fd:01:1234567 0 EOF"; waiters have a "->" and are
        // not holders.
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.contains(&"->") || fields.get(1) != Some(&"FLOCK") {
            return None;
        }
        let locked_inode: u64 = fields.get(5)?.rsplit(':').next()?.parse().ok()?;
        (locked_inode == inode)
            .then(|| fields.get(4)?.parse().ok())
            .flatten()
    })
}

#[cfg(not(target_os = "linux"))]
fn lock_holder(_folder: &Path) -> Option<u32> {
    None
}

#[cfg(target_os = "linux")]
fn process_name(pid: u32) -> Option<String> {
    let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    Some(name.trim().to_string()).filter(|name| !name.is_empty())
}

#[cfg(not(target_os = "linux"))]
fn process_name(_pid: u32) -> Option<String> {
    None
}

pub trait Store: Send + Sync {
    /// The record of a file, if any. A damaged record is moved aside and reported; a record of a
    /// newer version is reported and left alone.
    fn load_file(&self, key: &FileKey) -> Result<Option<FileRecord>, StoreError>;
    /// Not durable until `flush`. Refuses to replace a record of a newer version, and a record
    /// that a load would call damaged (runs that do not cover the lines, unknown chunks).
    fn save_file(&self, key: &FileKey, record: &FileRecord) -> Result<(), StoreError>;
    fn remove_file(&self, key: &FileKey) -> Result<(), StoreError>;
    /// Every file with a record, sorted.
    fn files(&self) -> Result<Vec<FileKey>, StoreError>;
    /// Every file at or under `folder` ([`FileKey::is_under`]; every file without one) with its
    /// record less its line keys and its chunks' identifiers ([`FileSummary::of`]), sorted by
    /// key: what the report and `whetstone status` read, without what only re-anchoring and
    /// scoring an explanation need. Damaged and newer records as for sessions.
    fn file_summaries(
        &self,
        folder: Option<&Path>,
    ) -> Result<Vec<(FileKey, FileSummary)>, StoreError>;
    fn record_dismissal(&self, key: &FileKey, dismissal: &Dismissal) -> Result<(), StoreError>;
    /// Every dismissal, grouped by file (sorted), in the order recorded within a file.
    fn dismissals(&self) -> Result<Vec<(FileKey, Dismissal)>, StoreError>;
    /// One past the largest chunk id ever saved in this store (1 when empty): new ids start there.
    fn next_chunk_id(&self) -> Result<u64, StoreError>;
    /// Every calibration session, oldest first. A damaged one is moved aside and reported (once:
    /// the next call lists the rest); one of a newer version is skipped.
    fn calibration_sessions(&self) -> Result<Vec<CalibrationSession>, StoreError>;
    /// Inserts or replaces the session with this `started_ms`. Not durable until `flush`. Refuses a
    /// session a load would call damaged (a feel outside 1 to 5, an end without a reason) and
    /// replacing a record of a newer version.
    fn save_calibration_session(&self, session: &CalibrationSession) -> Result<(), StoreError>;
    /// Adds these days' counts to what is stored for the same days (the server hands over each edit
    /// once). Each day is added atomically; a day that cannot be added (its stored record is of a
    /// newer version) does not keep the others from being added, and the first such failure is
    /// returned after all were tried. Not durable until `flush`.
    fn add_activity(&self, days: &[DayActivity]) -> Result<(), StoreError>;
    /// Stored days from `since_day` on, oldest first. Damaged and newer days as for sessions.
    fn activity(&self, since_day: u32) -> Result<Vec<DayActivity>, StoreError>;
    /// Small named values the server keeps between runs (e.g. "last_reminder_day"); None when
    /// unset.
    fn setting(&self, name: &str) -> Result<Option<String>, StoreError>;
    /// Not durable until `flush`.
    fn set_setting(&self, name: &str, value: &str) -> Result<(), StoreError>;
    fn flush(&self) -> Result<(), StoreError>;
    /// The folder on disk, or None for an in-memory store.
    fn location(&self) -> Option<&Path>;
    /// The declarations (lines an agent said it wrote) waiting for `key`'s file, oldest first;
    /// none older than [`crate::core::declared::MAX_AGE_MS`].
    fn declarations(&self, key: &FileKey) -> Result<Vec<Declaration>, StoreError>;
    /// Keeps a declaration for `key`'s file until a window applies it. One the store knows
    /// already (pending, or applied since) or one older than a week is not kept again: returns
    /// whether it was new. Not durable until `flush`. The store shared by every process also
    /// tells every window at once ([`protocol::Notice::Declared`]).
    fn declare(&self, key: &FileKey, declaration: &Declaration) -> Result<bool, StoreError>;
    /// The declarations `ids` of `key`'s file were applied (or dropped as stale): no longer
    /// pending, and not kept again if they arrive again. Not durable until `flush`.
    fn consume_declarations(&self, key: &FileKey, ids: &[u64]) -> Result<(), StoreError>;
    /// Hands out `count` chunk ids no other process has: the first of them is returned. Flushed:
    /// an id handed out is never handed out again, even after a crash.
    fn claim_chunk_ids(&self, count: u64) -> Result<u64, StoreError>;
    /// Appends `entries` to the store's journal and returns once they are on disk, without
    /// waiting for the process that holds the database ([`journal`]). A store without a folder
    /// keeps nothing and says so with `Ok(false)`.
    fn journal(&self, entries: &[journal::Entry]) -> Result<bool, StoreError> {
        match self.location() {
            Some(folder) => journal::Journal::in_store(folder)
                .append(entries)
                .map(|_| true)
                .map_err(|error| StoreError::Journal(error.to_string())),
            None => {
                let _ = entries;
                Ok(false)
            }
        }
    }
    /// Applies a change to the calibration sessions by their rules ([`calibration`]), saved and
    /// flushed. Atomic with respect to every other change in every process using the store.
    fn change_calibration(
        &self,
        change: &calibration::CalibrationChange,
    ) -> Result<calibration::CalibrationReply, calibration::CalibrationError> {
        calibration::apply(self, change)
    }
}

/// `day` with `more` added to it, counts saturating (stored counts are not trusted to be small).
fn add_day(day: &mut DayActivity, more: &DayActivity) {
    for (origin, lines) in day.lines.iter_mut() {
        *lines = lines.saturating_add(more.lines[origin]);
    }
    for (origin, lines) in day.calibration_lines.iter_mut() {
        *lines = lines.saturating_add(more.calibration_lines[origin]);
    }
    day.typed_chars = day.typed_chars.saturating_add(more.typed_chars);
    day.active_ms = day.active_ms.saturating_add(more.active_ms);
    day.calibration_active_ms = day
        .calibration_active_ms
        .saturating_add(more.calibration_active_ms);
}

/// What the store says a calibration session is: `calibration session <UTC stamp>`.
fn calibration_target(started_ms: u64) -> String {
    format!(
        "calibration session {}",
        utc_stamp(UNIX_EPOCH + std::time::Duration::from_millis(started_ms))
    )
}

/// What the store says a day of activity is: `activity of <yyyy-mm-dd>`.
fn activity_target(day: u32) -> String {
    let (year, month, day) = civil_date(day);
    format!("activity of {year:04}-{month:02}-{day:02}")
}

/// The store used when the disk store cannot be opened: same behaviour, gone at exit.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<MemoryState>,
    calibration_lock: Mutex<()>,
}

#[derive(Debug, Default)]
struct MemoryState {
    files: BTreeMap<FileKey, FileRecord>,
    dismissals: Vec<(FileKey, Dismissal)>,
    /// 0 until something is saved (reported as 1).
    next_chunk_id: u64,
    calibration: BTreeMap<u64, CalibrationSession>,
    activity: BTreeMap<u32, DayActivity>,
    settings: BTreeMap<String, String>,
    declarations: BTreeMap<FileKey, DeclaredLog>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn state(&self) -> MutexGuard<'_, MemoryState> {
        // A panic elsewhere while holding the lock leaves plain data behind, still usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Store for MemoryStore {
    fn load_file(&self, key: &FileKey) -> Result<Option<FileRecord>, StoreError> {
        Ok(self.state().files.get(key).cloned())
    }

    fn save_file(&self, key: &FileKey, record: &FileRecord) -> Result<(), StoreError> {
        if let Some(reason) = key.why_not_storable() {
            return Err(StoreError::InvalidRecord {
                target: format!("file {key:?}"),
                reason,
            });
        }
        // Through the record form, so that memory keeps exactly what the disk would (no uri, no
        // syntax staleness) and refuses exactly what the disk would.
        let stored = records::from_record(records::to_record(record)).map_err(|reason| {
            StoreError::InvalidRecord {
                target: format!("file {key}"),
                reason,
            }
        })?;
        let mut stored = stored;
        let next = next_chunk_id_after(&stored.chunks);
        let mut state = self.state();
        if let Some(earlier) = state.files.get(key) {
            keep_newer_judgements(&earlier.chunks, &mut stored.chunks);
        }
        state.files.insert(key.clone(), stored);
        state.next_chunk_id = state.next_chunk_id.max(next);
        Ok(())
    }

    fn remove_file(&self, key: &FileKey) -> Result<(), StoreError> {
        self.state().files.remove(key);
        Ok(())
    }

    fn files(&self) -> Result<Vec<FileKey>, StoreError> {
        Ok(self.state().files.keys().cloned().collect())
    }

    fn file_summaries(
        &self,
        folder: Option<&Path>,
    ) -> Result<Vec<(FileKey, FileSummary)>, StoreError> {
        let folder = folder.map(normalize_lexically);
        Ok(self
            .state()
            .files
            .iter()
            .filter(|(key, _)| folder.as_ref().is_none_or(|folder| key.is_under(folder)))
            .map(|(key, record)| (key.clone(), FileSummary::of(record.clone())))
            .collect())
    }

    fn record_dismissal(&self, key: &FileKey, dismissal: &Dismissal) -> Result<(), StoreError> {
        if let Some(reason) = key.why_not_storable() {
            return Err(StoreError::InvalidRecord {
                target: format!("a dismissal in file {key:?}"),
                reason,
            });
        }
        self.state()
            .dismissals
            .push((key.clone(), dismissal.clone()));
        Ok(())
    }

    fn dismissals(&self) -> Result<Vec<(FileKey, Dismissal)>, StoreError> {
        let mut dismissals = self.state().dismissals.clone();
        // Stable: recording order within a file stays, as on disk.
        dismissals.sort_by(|left, right| left.0.cmp(&right.0));
        Ok(dismissals)
    }

    fn next_chunk_id(&self) -> Result<u64, StoreError> {
        Ok(self.state().next_chunk_id.max(1))
    }

    fn calibration_sessions(&self) -> Result<Vec<CalibrationSession>, StoreError> {
        Ok(self.state().calibration.values().cloned().collect())
    }

    fn save_calibration_session(&self, session: &CalibrationSession) -> Result<(), StoreError> {
        // Through the record form, so that memory refuses exactly what the disk would.
        let stored = records::calibration_session_from_record(
            records::calibration_session_to_record(session),
        )
        .map_err(|reason| StoreError::InvalidRecord {
            target: calibration_target(session.started_ms),
            reason,
        })?;
        self.state().calibration.insert(stored.started_ms, stored);
        Ok(())
    }

    fn add_activity(&self, days: &[DayActivity]) -> Result<(), StoreError> {
        let mut state = self.state();
        for day in days {
            let stored = state
                .activity
                .entry(day.day)
                .or_insert_with(|| DayActivity {
                    day: day.day,
                    ..DayActivity::default()
                });
            add_day(stored, day);
        }
        Ok(())
    }

    fn activity(&self, since_day: u32) -> Result<Vec<DayActivity>, StoreError> {
        Ok(self
            .state()
            .activity
            .range(since_day..)
            .map(|(_, day)| day.clone())
            .collect())
    }

    fn setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(self.state().settings.get(name).cloned())
    }

    fn set_setting(&self, name: &str, value: &str) -> Result<(), StoreError> {
        self.state()
            .settings
            .insert(name.to_string(), value.to_string());
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn location(&self) -> Option<&Path> {
        None
    }

    fn declarations(&self, key: &FileKey) -> Result<Vec<Declaration>, StoreError> {
        Ok(self
            .state()
            .declarations
            .get(key)
            .map(|log| log.pending_at(now_ms()))
            .unwrap_or_default())
    }

    fn declare(&self, key: &FileKey, declaration: &Declaration) -> Result<bool, StoreError> {
        check_declaration(key, declaration)?;
        Ok(self
            .state()
            .declarations
            .entry(key.clone())
            .or_default()
            .add(declaration.clone(), now_ms()))
    }

    fn consume_declarations(&self, key: &FileKey, ids: &[u64]) -> Result<(), StoreError> {
        let mut state = self.state();
        let log = state.declarations.entry(key.clone()).or_default();
        log.consume(ids, now_ms());
        if log.is_empty() {
            state.declarations.remove(key);
        }
        Ok(())
    }

    fn claim_chunk_ids(&self, count: u64) -> Result<u64, StoreError> {
        // Ids reach editors as JSON numbers, which JavaScript reads exactly below 2^53 only.
        const FIRST_ID_TOO_LARGE: u64 = 1 << 53;
        let mut state = self.state();
        let first = state.next_chunk_id.max(1);
        let end = first
            .checked_add(count)
            .filter(|end| *end <= FIRST_ID_TOO_LARGE)
            .ok_or_else(|| StoreError::InvalidRecord {
                target: "the chunk id counter".to_string(),
                reason: format!(
                    "claiming {count} ids from {first} would hand out ids at or above 2^53, \
                     which editors written in JavaScript cannot send back exactly"
                ),
            })?;
        state.next_chunk_id = end;
        Ok(first)
    }

    fn change_calibration(
        &self,
        change: &calibration::CalibrationChange,
    ) -> Result<calibration::CalibrationReply, calibration::CalibrationError> {
        let _one_at_a_time = self
            .calibration_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        calibration::apply(self, change)
    }
}

/// Refuses a declaration a load would call damaged, or one for a key that cannot be stored.
pub(crate) fn check_declaration(
    key: &FileKey,
    declaration: &Declaration,
) -> Result<(), StoreError> {
    let reason = key.why_not_storable().or_else(|| {
        records::declaration_from_record(records::declaration_to_record(declaration)).err()
    });
    match reason {
        Some(reason) => Err(StoreError::InvalidRecord {
            target: format!("a declaration in file {key}"),
            reason,
        }),
        None => Ok(()),
    }
}

/// Gives each chunk of `incoming` the user's newer judgement where the `stored` chunk of the same
/// id has one: a later class, a later explanation, practice recorded elsewhere. Two windows with
/// the same file open each save their own view of it; this keeps a classification made in one
/// from being undone by the other's next save. Returns whether anything changed.
pub fn keep_newer_judgements(stored: &[Chunk], incoming: &mut [Chunk]) -> bool {
    let mut changed = false;
    for chunk in incoming.iter_mut() {
        let Some(earlier) = stored.iter().find(|earlier| earlier.id == chunk.id) else {
            continue;
        };
        if earlier.classified_ms > chunk.classified_ms {
            chunk.class = earlier.class;
            chunk.classified_ms = earlier.classified_ms;
            changed = true;
        }
        let recorded = |chunk: &Chunk| chunk.explanation.as_ref().map(|e| e.recorded_ms);
        if recorded(earlier) > recorded(chunk) {
            chunk.explanation.clone_from(&earlier.explanation);
            changed = true;
        }
        for &practiced in &earlier.practiced_ms {
            if !chunk.practiced_ms.contains(&practiced) {
                chunk.practiced_ms.push(practiced);
                changed = true;
            }
        }
        chunk.practiced_ms.sort_unstable();
    }
    changed
}

/// One past the largest chunk id among `chunks` (0 without chunks).
fn next_chunk_id_after(chunks: &[Chunk]) -> u64 {
    chunks
        .iter()
        .map(|chunk| chunk.id.0.saturating_add(1))
        .max()
        .unwrap_or(0)
}

/// An opened store, and what the user must be told about it.
#[derive(Debug)]
pub struct Opened {
    pub store: SledStore,
    /// Said once: the store was damaged and a fresh one started, or it is read-only.
    pub notice: Option<String>,
}

/// Opens (creating with mode 0700 if missing) the store in `folder`, and folds the journal into
/// it ([`fold`]). Crash leftovers are cleared first ([`repair`]). A damaged database is moved
/// aside to a dated folder, a fresh one started with everything still readable from the damaged
/// copy and from the journal; a store of a newer schema is opened read-only. Both come with a
/// notice for the user, as does a database found to have lost confirmed changes. A repair is
/// said again to every process that opens the store for a day after it happened.
pub fn open(folder: &Path) -> Result<Opened, OpenFailure> {
    prepare_folder(folder)?;
    if let Err(error) = repair::clear_crash_leftovers(&folder.join(DATABASE_FOLDER)) {
        tracing::warn!("cannot look for crash leftovers in the store database: {error}");
    }
    let journal = journal::Journal::in_store(folder);
    match SledStore::open_in(folder) {
        Ok(store) => {
            if let Some(found) = store.newer_schema() {
                let notice = Some(newer_schema_notice(folder, found));
                return Ok(Opened { store, notice });
            }
            let notice = match fold_journal(&store, &journal).and_then(|f| f.notice(folder)) {
                Some(notice) => {
                    remember_repair(&store, &notice);
                    Some(notice)
                }
                None => recent_repair(&store),
            };
            Ok(Opened { store, notice })
        }
        Err(OpenFailure::Damaged {
            path,
            moved_to: Some(moved_to),
            reason,
        }) => {
            let store = SledStore::open_in(folder)?;
            let salvaged = sled_store::salvage(&moved_to, &store);
            let restored = fold_journal(&store, &journal).map_or(0, |folded| folded.restored);
            let unreadable = match &salvaged.stopped {
                Some(why) => format!(" (the rest of it could not be read: {why})"),
                None => String::new(),
            };
            let notice = format!(
                "The whetstone store in {} was damaged and could not be read ({reason}). It was \
                 moved, untouched, to {}, and whetstone started a fresh store with what could \
                 still be read: from the damaged copy {} files, {} calibration sessions, {} \
                 dismissals and {} days of activity{unreadable}; from its journal {restored} \
                 classifications, explanations, dismissals and sessions.",
                path.display(),
                moved_to.display(),
                salvaged.files,
                salvaged.sessions,
                salvaged.dismissals,
                salvaged.days,
            );
            tracing::warn!("{notice}");
            remember_repair(&store, &notice);
            Ok(Opened {
                store,
                notice: Some(notice),
            })
        }
        Err(failure) => Err(failure),
    }
}

/// The store setting holding the last repair: its moment and what was said.
const LAST_REPAIR_SETTING: &str = "last_repair";
/// A repair is said to every process that opens the store for this long.
const REPAIR_SAID_FOR_MS: u64 = 24 * 3_600_000;

fn fold_journal(store: &SledStore, journal: &journal::Journal) -> Option<fold::Folded> {
    match fold::fold(store, journal) {
        Ok(folded) => Some(folded),
        Err(error) => {
            tracing::warn!("cannot fold the journal into the store: {error}");
            None
        }
    }
}

fn remember_repair(store: &SledStore, notice: &str) {
    let value = format!("{} {notice}", now_ms());
    if let Err(error) = store
        .set_setting(LAST_REPAIR_SETTING, &value)
        .and_then(|()| store.flush())
    {
        tracing::warn!("cannot remember the store's repair: {error}");
    }
}

fn recent_repair(store: &SledStore) -> Option<String> {
    let value = store.setting(LAST_REPAIR_SETTING).ok()??;
    let (at_ms, notice) = value.split_once(' ')?;
    let at_ms: u64 = at_ms.parse().ok()?;
    (now_ms().saturating_sub(at_ms) < REPAIR_SAID_FOR_MS).then(|| notice.to_string())
}

/// The wall clock in milliseconds since 1970 (0 before it).
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        })
}

fn newer_schema_notice(folder: &Path, found: u32) -> String {
    format!(
        "The whetstone store in {} was written by a newer whetstone (store schema {found}; this \
         one understands up to {SCHEMA_VERSION}). It is open read-only: nothing in it is changed, \
         and what you record now is not kept. Update whetstone to record again.",
        folder.display()
    )
}

/// $WHETSTONE_HOME, else $XDG_DATA_HOME/whetstone, else $HOME/.local/share/whetstone; None if none
/// is set. `env` is injected so tests don't touch the real environment (pass
/// `|name| std::env::var_os(name)`).
pub fn default_location(env: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let set = |name: &str| env(name).filter(|value| !value.is_empty());
    if let Some(home) = set("WHETSTONE_HOME") {
        return Some(PathBuf::from(home));
    }
    // The XDG spec says a relative path in these variables is invalid and must be ignored.
    if let Some(data) = set("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|data| data.is_absolute())
    {
        return Some(data.join("whetstone"));
    }
    set("HOME").map(|home| PathBuf::from(home).join(".local/share/whetstone"))
}

/// Makes sure `folder` exists, is a real folder and only its owner can read it: explanations
/// are the user's words.
///
/// The folder is looked at with `symlink_metadata`, and a symbolic link is refused, never
/// followed: following it would make whetstone chmod and fill a folder nobody chose for it
/// (another user's, a shared one, a system folder). Only the folder itself is checked here (and
/// `db` inside it, by the database's open), not its parents: `/home` or a data folder on another
/// disk being a link is common, is arranged by the system or the user, and the user named the
/// store through it; what whetstone changes (the mode) and writes is the folder itself and what
/// it creates inside.
fn prepare_folder(folder: &Path) -> Result<(), OpenFailure> {
    let io_failure = |source| OpenFailure::Io {
        path: folder.to_path_buf(),
        source,
    };
    // Without a trailing `/` or `/.`, which would make even `symlink_metadata` follow a link.
    let folder_itself: PathBuf = folder.components().collect();
    let metadata = match std::fs::symlink_metadata(&folder_itself) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            create_private_folder(folder).map_err(io_failure)?;
            // Looked at again: a link put in its place meanwhile is refused all the same.
            std::fs::symlink_metadata(&folder_itself).map_err(io_failure)?
        }
        Err(error) => return Err(io_failure(error)),
        Ok(metadata) => metadata,
    };
    if metadata.file_type().is_symlink() {
        return Err(OpenFailure::SymbolicLink {
            path: folder.to_path_buf(),
            link: folder_itself.clone(),
            target: std::fs::read_link(&folder_itself).ok(),
        });
    }
    if !metadata.is_dir() {
        return Err(io_failure(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "it exists and is not a folder",
        )));
    }
    tighten_permissions(&folder_itself, &metadata);
    Ok(())
}

#[cfg(unix)]
fn create_private_folder(folder: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    // Parents are made 0700 too, as the XDG spec asks for missing data folders. An existing
    // parent that is a link is used as it is (see `prepare_folder`).
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(folder)
}

#[cfg(not(unix))]
fn create_private_folder(folder: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(folder)
}

/// Takes group and other permissions away from the store folder. The folder is opened without
/// following a link and changed through that handle (`fchmod`), so a link swapped in after
/// `prepare_folder` looked is never chmod'ed through.
#[cfg(unix)]
fn tighten_permissions(folder: &Path, metadata: &std::fs::Metadata) {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mode = metadata.permissions().mode() & 0o7777;
    if mode & 0o077 == 0 {
        return;
    }
    let tightened = mode & !0o077;
    let changed = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_DIRECTORY)
        .open(folder)
        .and_then(|handle| handle.set_permissions(std::fs::Permissions::from_mode(tightened)));
    match changed {
        Ok(()) => tracing::warn!(
            "the store folder {} was open to other users (mode {mode:o}); tightened to {tightened:o}",
            folder.display()
        ),
        Err(error) => tracing::warn!(
            "the store folder {} is open to other users (mode {mode:o}) and could not be \
             tightened: {error}",
            folder.display()
        ),
    }
}

#[cfg(not(unix))]
fn tighten_permissions(_folder: &Path, _metadata: &std::fs::Metadata) {}

/// Moves `<folder>/db` to `<folder>/damaged-<UTC yyyymmdd-hhmmss>` (with `-2`, `-3`... if that is
/// taken) and returns where it went. Nothing in it is changed, so it can still be inspected or
/// recovered by hand. The database must be closed.
pub fn move_database_aside(folder: &Path) -> std::io::Result<PathBuf> {
    let stamp = utc_stamp(SystemTime::now());
    let mut target = folder.join(format!("damaged-{stamp}"));
    let mut attempt = 1;
    while std::fs::symlink_metadata(&target).is_ok() {
        attempt += 1;
        target = folder.join(format!("damaged-{stamp}-{attempt}"));
    }
    std::fs::rename(folder.join(DATABASE_FOLDER), &target)?;
    tracing::warn!(
        "moved the damaged store database {} to {}",
        folder.join(DATABASE_FOLDER).display(),
        target.display()
    );
    Ok(target)
}

/// `yyyymmdd-hhmmss` in UTC: sorts by time and names no time zone.
pub(crate) fn utc_stamp(time: SystemTime) -> String {
    let seconds = time
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_secs())
        .unwrap_or(0);
    let days = u32::try_from(seconds / 86_400).unwrap_or(u32::MAX);
    let of_day = seconds % 86_400;
    let (year, month, day) = civil_date(days);
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::core::by_origin::ByOrigin;
    use crate::core::chunk::ChunkId;
    use crate::core::line_map::{LineMap, LineState, Origin};
    use crate::core::text::LineKey;
    use std::collections::HashMap;

    pub(crate) fn key(workspace: &str, path: &str) -> FileKey {
        FileKey {
            workspace: workspace.to_string(),
            path: path.to_string(),
        }
    }

    /// A record of `lines` lines, the middle ones in chunk `chunk` (pasted, classified core).
    pub(crate) fn record_with_chunk(lines: usize, chunk: u64) -> FileRecord {
        let state = LineState::new(Origin::Pasted, Some(ChunkId(chunk)));
        let states = (0..lines).map(|line| {
            if line > 0 && line + 1 < lines {
                state
            } else {
                LineState::TYPED
            }
        });
        FileRecord {
            snapshot: FileSnapshot {
                line_keys: (0..lines)
                    .map(|line| LineKey::of(&format!("line {line}")))
                    .collect(),
                map: LineMap::from_states(states),
            },
            chunks: vec![Chunk {
                id: ChunkId(chunk),
                uri: String::new(),
                origin: Origin::Pasted,
                created_ms: 1_000 * chunk,
                inserted_lines: lines - 2,
                class: Some(crate::core::Class::Core),
                classified_ms: None,
                practiced_ms: Vec::new(),
                explanation: None,
                items: vec![format!("fn item_{chunk}")],
                identifiers: vec![format!("item_{chunk}")],
                reworked_chars: 0,
                syntax_stale: false,
                rule: None,
                copied_from: None,
                agent: None,
                model: None,
            }],
        }
    }

    fn dismissal(lines: usize, at: u64) -> Dismissal {
        Dismissal {
            uri: format!("file:///project/{lines}.rs"),
            origin: Origin::Pasted,
            lines,
            created_ms: at - 500,
            dismissed_ms: at,
            rule: None,
        }
    }

    /// What every store must do; run on the memory store and the sled store alike.
    /// A stale view of a file (another window's, saved after a classification here) keeps the
    /// newer judgement.
    pub(crate) fn keeps_the_newer_judgement(store: &dyn Store) {
        let file = key("/w", "shared.rs");
        let mut judged = record_with_chunk(5, 8);
        judged.chunks[0].class = Some(crate::core::Class::Repeatable);
        judged.chunks[0].classified_ms = Some(50_000);
        judged.chunks[0].practiced_ms = vec![60_000];
        let mut stale = record_with_chunk(6, 8);
        stale.chunks[0].class = None;
        stale.chunks[0].classified_ms = None;
        store.save_file(&file, &judged).expect("save");
        store.save_file(&file, &stale).expect("save the stale view");
        let kept = store.load_file(&file).expect("load").expect("a record");
        assert_eq!(kept.snapshot, stale.snapshot, "the map is the latest");
        assert_eq!(kept.chunks[0].class, Some(crate::core::Class::Repeatable));
        assert_eq!(kept.chunks[0].classified_ms, Some(50_000));
        assert_eq!(kept.chunks[0].practiced_ms, vec![60_000]);
        // A later judgement does replace an earlier one.
        let mut later = stale.clone();
        later.chunks[0].class = Some(crate::core::Class::Core);
        later.chunks[0].classified_ms = Some(70_000);
        store.save_file(&file, &later).expect("save");
        let kept = store.load_file(&file).expect("load").expect("a record");
        assert_eq!(kept.chunks[0].class, Some(crate::core::Class::Core));
        store.remove_file(&file).expect("remove");
    }

    pub(crate) fn behaves_like_a_store(store: &dyn Store) {
        let main = key("/home/me/project", "src/main.rs");
        let lib = key("/home/me/project", "src/lib.rs");
        let outside = key("", "/etc/hosts");
        assert_eq!(store.files().expect("files"), Vec::<FileKey>::new());
        assert_eq!(store.load_file(&main).expect("load"), None);
        assert_eq!(store.next_chunk_id().expect("next id"), 1);
        assert!(store.dismissals().expect("dismissals").is_empty());

        let mut with_uri = record_with_chunk(10, 7);
        with_uri.chunks[0].uri = "file:///home/me/project/src/main.rs".to_string();
        with_uri.chunks[0].syntax_stale = true;
        store.save_file(&main, &with_uri).expect("save main");
        store
            .save_file(&lib, &record_with_chunk(5, 3))
            .expect("save lib");
        store
            .save_file(&outside, &record_with_chunk(3, 2))
            .expect("save outside");
        // The uri is the caller's to set; items are fresh when saved.
        assert_eq!(
            store.load_file(&main).expect("load main"),
            Some(record_with_chunk(10, 7))
        );
        assert_eq!(
            store.files().expect("files"),
            vec![outside.clone(), lib.clone(), main.clone()]
        );
        assert_eq!(store.next_chunk_id().expect("next id"), 8);
        // The summaries are the records less their line keys, under a folder or all of them.
        let summary = |record| FileSummary::of(record);
        assert_eq!(
            store.file_summaries(None).expect("summaries"),
            vec![
                (outside.clone(), summary(record_with_chunk(3, 2))),
                (lib.clone(), summary(record_with_chunk(5, 3))),
                (main.clone(), summary(record_with_chunk(10, 7))),
            ]
        );
        assert_eq!(
            store
                .file_summaries(Some(Path::new("/home/me/project/src/../src/lib.rs")))
                .expect("summaries"),
            vec![(lib.clone(), summary(record_with_chunk(5, 3)))]
        );
        assert_eq!(
            store
                .file_summaries(Some(Path::new("/etc")))
                .expect("summaries"),
            vec![(outside.clone(), summary(record_with_chunk(3, 2)))]
        );
        assert_eq!(
            store
                .file_summaries(Some(Path::new("/home/me/proj")))
                .expect("summaries"),
            Vec::new()
        );

        // Overwriting with smaller ids or removing never lowers the next id: ids are never reused.
        store
            .save_file(&main, &record_with_chunk(4, 1))
            .expect("overwrite main");
        assert_eq!(
            store.load_file(&main).expect("load main"),
            Some(record_with_chunk(4, 1))
        );
        store.remove_file(&main).expect("remove");
        store.remove_file(&main).expect("removing twice is fine");
        assert_eq!(store.load_file(&main).expect("load removed"), None);
        assert_eq!(
            store.files().expect("files"),
            vec![outside.clone(), lib.clone()]
        );
        assert_eq!(store.next_chunk_id().expect("next id"), 8);

        // A record that a load would refuse is refused at save, and nothing changes.
        let mut inconsistent = record_with_chunk(5, 9);
        inconsistent.chunks.clear();
        let refused = store.save_file(&lib, &inconsistent);
        assert!(
            matches!(&refused, Err(StoreError::InvalidRecord { reason, .. })
                if reason == "a run of lines belongs to chunk 9, which the record does not hold"),
            "{refused:?}"
        );
        assert_eq!(
            store.load_file(&lib).expect("load lib"),
            Some(record_with_chunk(5, 3))
        );
        assert_eq!(store.next_chunk_id().expect("next id"), 8);

        store
            .record_dismissal(&main, &dismissal(4, 2_000))
            .expect("dismiss");
        store
            .record_dismissal(&lib, &dismissal(2, 3_000))
            .expect("dismiss");
        store
            .record_dismissal(&main, &dismissal(9, 4_000))
            .expect("dismiss");
        assert_eq!(
            store.dismissals().expect("dismissals"),
            vec![
                (lib.clone(), dismissal(2, 3_000)),
                (main.clone(), dismissal(4, 2_000)),
                (main.clone(), dismissal(9, 4_000)),
            ]
        );
        store.flush().expect("flush");
    }

    pub(crate) fn day(day: u32, typed: u64, pasted: u64) -> DayActivity {
        DayActivity {
            day,
            lines: ByOrigin::from([typed, pasted, 0, 0, 0, 0]),
            typed_chars: typed * 20,
            active_ms: 60_000,
            calibration_lines: ByOrigin::from([typed / 2, 0, 0, 0, 0, 0]),
            calibration_active_ms: 30_000,
        }
    }

    /// Sessions, activity and settings: what every store must do with them.
    pub(crate) fn keeps_sessions_activity_and_settings(store: &dyn Store) {
        use crate::core::calibration::EndReason;
        assert!(store.calibration_sessions().expect("sessions").is_empty());
        assert!(store.activity(0).expect("activity").is_empty());
        assert_eq!(store.setting("last_reminder_day").expect("setting"), None);

        // Oldest first, whatever the order of saving; saving the same start replaces.
        let later = records::tests::ended_session();
        let mut earlier = CalibrationSession::start(None, None, 1_000);
        store.save_calibration_session(&later).expect("save later");
        store
            .save_calibration_session(&earlier)
            .expect("save earlier");
        assert_eq!(
            store.calibration_sessions().expect("sessions"),
            vec![earlier.clone(), later.clone()]
        );
        earlier.end(2_000, EndReason::TimeUp);
        earlier.feel = Some(1);
        store.save_calibration_session(&earlier).expect("replace");
        assert_eq!(
            store.calibration_sessions().expect("sessions"),
            vec![earlier.clone(), later.clone()]
        );
        // What a load would refuse is refused at save, and nothing changes.
        let mut bad = earlier.clone();
        bad.feel = Some(0);
        assert!(matches!(
            store.save_calibration_session(&bad),
            Err(StoreError::InvalidRecord { reason, .. }) if reason == "feel 0 is not between 1 and 5"
        ));
        assert_eq!(
            store.calibration_sessions().expect("sessions"),
            vec![earlier, later]
        );

        // Days add up; a big-endian key keeps day 256 after day 255.
        store
            .add_activity(&[day(255, 4, 0), day(256, 1, 40)])
            .expect("add");
        store
            .add_activity(&[day(256, 2, 0), day(20_000, 6, 0)])
            .expect("add");
        let mut both = day(256, 1, 40);
        add_day(&mut both, &day(256, 2, 0));
        assert_eq!(both.lines, ByOrigin::from([3, 40, 0, 0, 0, 0]));
        assert_eq!(both.active_ms, 120_000);
        assert_eq!(
            store.activity(0).expect("activity"),
            vec![day(255, 4, 0), both.clone(), day(20_000, 6, 0)]
        );
        assert_eq!(
            store.activity(256).expect("activity"),
            vec![both, day(20_000, 6, 0)]
        );
        assert!(store.activity(20_001).expect("activity").is_empty());
        // Counts saturate rather than overflow.
        let mut huge = day(7, 0, 0);
        huge.lines[Origin::Typed] = u64::MAX;
        store.add_activity(&[huge]).expect("add");
        store.add_activity(&[day(7, 5, 0)]).expect("add");
        assert_eq!(
            store.activity(7).expect("activity")[0].lines[Origin::Typed],
            u64::MAX
        );

        store
            .set_setting("last_reminder_day", "20001")
            .expect("set");
        store
            .set_setting("last_reminder_day", "20002")
            .expect("set");
        store.set_setting("ünïcode", "välue").expect("set");
        assert_eq!(
            store
                .setting("last_reminder_day")
                .expect("setting")
                .as_deref(),
            Some("20002")
        );
        assert_eq!(
            store.setting("ünïcode").expect("setting").as_deref(),
            Some("välue")
        );
        assert_eq!(store.setting("last").expect("setting"), None);
        store.flush().expect("flush");
    }

    #[test]
    fn the_memory_store_behaves_like_a_store() {
        let store = MemoryStore::new();
        behaves_like_a_store(&store);
        keeps_the_newer_judgement(&store);
        assert_eq!(store.location(), None);
    }

    /// Declarations: what every store must do with them.
    pub(crate) fn keeps_declarations(store: &dyn Store) {
        use crate::core::declared::Declaration;
        let file = key("", "/w/src/lib.rs");
        let other = key("", "/w/src/other.rs");
        let base = now_ms() - 1_000;
        let declaration = |id: u64, agent: &str| Declaration {
            id,
            origin: crate::core::Origin::Generated,
            agent: agent.to_string(),
            model: Some("claude-sonnet-4-5".to_string()),
            declared_ms: base + id,
            start_line: 2,
            before: vec!["fn main() {".to_string()],
            lines: vec!["    parse(input);".to_string(), "    render();".to_string()],
            after: vec!["}".to_string()],
        };
        assert!(store.declarations(&file).expect("none").is_empty());
        assert!(
            store
                .declare(&file, &declaration(1, "claude-code"))
                .expect("declare")
        );
        assert!(
            store
                .declare(&file, &declaration(2, "codex"))
                .expect("declare")
        );
        assert!(
            !store
                .declare(&file, &declaration(1, "claude-code"))
                .expect("again")
        );
        assert!(
            store
                .declare(&other, &declaration(3, "aider"))
                .expect("declare")
        );
        assert_eq!(
            store.declarations(&file).expect("declarations"),
            vec![declaration(1, "claude-code"), declaration(2, "codex")]
        );
        store.consume_declarations(&file, &[1]).expect("consume");
        assert_eq!(
            store.declarations(&file).expect("declarations"),
            vec![declaration(2, "codex")]
        );
        assert!(
            !store
                .declare(&file, &declaration(1, "claude-code"))
                .expect("consumed"),
            "an applied declaration is not kept again"
        );
        // Too old, blank or nameless: refused or not kept.
        let mut old = declaration(4, "codex");
        old.declared_ms = 1;
        assert!(!store.declare(&file, &old).expect("too old"));
        let mut nameless = declaration(5, " ");
        nameless.agent = String::new();
        assert!(matches!(
            store.declare(&file, &nameless),
            Err(StoreError::InvalidRecord { reason, .. }) if reason.contains("name is empty")
        ));
        assert_eq!(store.declarations(&other).expect("other").len(), 1);
        store.flush().expect("flush");
    }

    #[test]
    fn the_memory_store_keeps_declarations() {
        keeps_declarations(&MemoryStore::new());
    }

    #[test]
    fn the_memory_store_keeps_sessions_activity_and_settings() {
        keeps_sessions_activity_and_settings(&MemoryStore::new());
    }

    #[test]
    fn file_keys() {
        let roots = [
            PathBuf::from("/home/me/project"),
            PathBuf::from("/home/me/project/vendor/lib/"),
            PathBuf::from("/home/me/other/./"),
        ];
        let cases = [
            (
                "/home/me/project/src/main.rs",
                "/home/me/project",
                "src/main.rs",
            ),
            // Nested roots: the longest wins.
            (
                "/home/me/project/vendor/lib/src/lib.rs",
                "/home/me/project/vendor/lib",
                "src/lib.rs",
            ),
            // Not a prefix by characters: by components.
            ("/home/me/project2/a.rs", "", "/home/me/project2/a.rs"),
            // Outside every root.
            ("/etc/hosts", "", "/etc/hosts"),
            // `..` and `.` are applied before comparing.
            (
                "/home/me/project/vendor/lib/../../src/./x.rs",
                "/home/me/project",
                "src/x.rs",
            ),
            ("/home/me/project/../other/y.rs", "/home/me/other", "y.rs"),
            (
                "/home/me/project/vendor/../../outside.rs",
                "",
                "/home/me/outside.rs",
            ),
            ("/../../etc/hosts", "", "/etc/hosts"),
            // The root itself.
            ("/home/me/other", "/home/me/other", ""),
        ];
        for (file, workspace, path) in cases {
            assert_eq!(
                FileKey::for_path(&roots, Path::new(file)),
                key(workspace, path),
                "{file}"
            );
        }
        assert_eq!(
            FileKey::for_path(&[], Path::new("/a/b.rs")),
            key("", "/a/b.rs")
        );
        assert_eq!(key("/w", "a.rs").to_string(), "a.rs in /w");
        assert_eq!(key("", "/a.rs").to_string(), "/a.rs");
    }

    #[test]
    fn default_location_precedence() {
        let location = |pairs: &[(&str, &str)]| {
            let env: HashMap<String, OsString> = pairs
                .iter()
                .map(|(name, value)| (name.to_string(), OsString::from(value)))
                .collect();
            default_location(|name| env.get(name).cloned())
        };
        let all = [
            ("WHETSTONE_HOME", "/custom"),
            ("XDG_DATA_HOME", "/data"),
            ("HOME", "/home/me"),
        ];
        assert_eq!(location(&all), Some(PathBuf::from("/custom")));
        assert_eq!(location(&all[1..]), Some(PathBuf::from("/data/whetstone")));
        assert_eq!(
            location(&all[2..]),
            Some(PathBuf::from("/home/me/.local/share/whetstone"))
        );
        assert_eq!(location(&[]), None);
        // Empty counts as unset; a relative XDG_DATA_HOME is invalid per the XDG spec.
        assert_eq!(
            location(&[
                ("WHETSTONE_HOME", ""),
                ("XDG_DATA_HOME", "data"),
                ("HOME", "/h")
            ]),
            Some(PathBuf::from("/h/.local/share/whetstone"))
        );
    }

    #[test]
    fn stamps_are_utc_calendar_dates() {
        let cases = [
            (0, "19700101-000000"),
            (951_782_400, "20000229-000000"),
            (1_709_164_800, "20240229-000000"),
            (1_735_689_599, "20241231-235959"),
            (4_102_444_800, "21000101-000000"),
            (253_402_300_799, "99991231-235959"),
        ];
        for (seconds, expected) in cases {
            let time = UNIX_EPOCH + std::time::Duration::from_secs(seconds);
            assert_eq!(utc_stamp(time), expected);
        }
    }

    /// The permission bits of `path`.
    #[cfg(unix)]
    pub(crate) fn mode_of(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    }

    #[cfg(unix)]
    #[test]
    fn the_folder_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let mode = mode_of;
        let temporary = tempfile::tempdir().expect("tempdir");
        let fresh = temporary.path().join("nested/whetstone");
        drop(open(&fresh).expect("opens"));
        assert_eq!(mode(&fresh), 0o700);
        assert!(fresh.join(DATABASE_FOLDER).is_dir());

        let loose = temporary.path().join("loose");
        std::fs::create_dir(&loose).expect("mkdir");
        std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        drop(open(&loose).expect("opens"));
        assert_eq!(mode(&loose), 0o700);

        let file = temporary.path().join("a-file");
        std::fs::write(&file, b"").expect("write");
        assert!(matches!(open(&file), Err(OpenFailure::Io { .. })));
    }

    /// Regression: a store folder that was a symbolic link was followed, and the folder it
    /// pointed to was chmod'ed to 0700 and filled with the store.
    #[cfg(unix)]
    #[test]
    fn a_store_folder_that_is_a_symbolic_link_is_refused_not_followed() {
        use std::os::unix::fs::PermissionsExt;
        let temporary = tempfile::tempdir().expect("tempdir");
        let elsewhere = temporary.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).expect("mkdir");
        std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        let link = temporary.path().join("link");
        std::os::unix::fs::symlink(&elsewhere, &link).expect("symlink");
        let dangling = temporary.path().join("dangling");
        std::os::unix::fs::symlink(temporary.path().join("nowhere"), &dangling).expect("symlink");

        let named_ways = [
            link.clone(),
            PathBuf::from(format!("{}/", link.display())),
            link.join("."),
            dangling.clone(),
        ];
        for named in named_ways {
            match open(&named) {
                Err(OpenFailure::SymbolicLink {
                    link: found,
                    target,
                    ..
                }) => {
                    assert!(found == link || found == dangling, "{named:?}: {found:?}");
                    assert!(target.is_some(), "{named:?}");
                }
                other => panic!("{named:?}: expected a refusal, got {other:?}"),
            }
        }
        let mode = std::fs::metadata(&elsewhere)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755, "the link's target is not chmod'ed");
        assert!(
            std::fs::read_dir(&elsewhere)
                .expect("read_dir")
                .next()
                .is_none(),
            "nothing is written through the link"
        );
        assert!(!temporary.path().join("nowhere").exists());

        let message = match open(&link) {
            Err(failure) => failure.user_message(),
            Ok(_) => panic!("opened through a link"),
        };
        assert!(message.contains(&format!("{} is a symbolic link", link.display())));
        assert!(
            message.contains(&elsewhere.display().to_string()),
            "{message}"
        );
        assert!(message.contains("WHETSTONE_HOME") && message.contains("remove the link"));

        // A parent that is a link is the user's or the system's arrangement: it keeps working.
        let real_parent = temporary.path().join("real-parent");
        std::fs::create_dir(&real_parent).expect("mkdir");
        let linked_parent = temporary.path().join("linked-parent");
        std::os::unix::fs::symlink(&real_parent, &linked_parent).expect("symlink");
        drop(open(&linked_parent.join("whetstone")).expect("opens under a linked parent"));
        assert!(real_parent.join("whetstone").join(DATABASE_FOLDER).is_dir());
    }

    #[test]
    fn user_messages_say_what_to_do() {
        let path = PathBuf::from("/home/me/.local/share/whetstone");
        let newer = newer_schema_notice(&path, 3);
        assert!(newer.contains("schema 3") && newer.contains("Update whetstone"));
        assert!(newer.contains("read-only"));
        let damaged = OpenFailure::Damaged {
            path: path.clone(),
            moved_to: Some(path.join("damaged-20250101-000000")),
            reason: "garbage".to_string(),
        }
        .user_message();
        assert!(damaged.contains("damaged-20250101-000000") && damaged.contains("(garbage)"));
        let stuck = OpenFailure::Damaged {
            path: path.clone(),
            moved_to: None,
            reason: "garbage".to_string(),
        }
        .user_message();
        assert!(stuck.contains("Move or delete /home/me/.local/share/whetstone/db"));
        let for_the_command_line = OpenFailure::Io {
            path: path.clone(),
            source: std::io::Error::other("disk full"),
        }
        .command_line_message();
        assert!(!for_the_command_line.contains("memory"));
        assert!(for_the_command_line.contains("disk full"));
    }

    /// It used to say that only one process can use the store at a time, which stopped being
    /// true when processes began to share it: it is said when the holder does not answer.
    #[test]
    fn the_locked_message_says_the_holder_did_not_answer() {
        let path = PathBuf::from("/home/me/.local/share/whetstone");
        let locked = OpenFailure::Locked { path }.user_message();
        assert!(!locked.contains("only one process"), "{locked}");
        assert!(
            locked.contains(
                "did not answer on the store's socket /home/me/.local/share/whetstone/store.sock \
                 within 5 seconds"
            ),
            "{locked}"
        );
        assert!(locked.contains("close that process"), "{locked}");
    }
}
