//! The on-disk records: versioned JSON shapes of a file's map and chunks, a dismissal, a calibration
//! session and a day of activity, and the hand-written conversions between them and the core types.
//!
//! The core types carry no serde derives on purpose: renaming a field in the engine must never
//! change what is on disk. Every record names its own `"version"`; any change to a record's shape
//! (even an added field, which an older whetstone would drop when it rewrites the record) gets a
//! new version and a new `...V2` struct next to the old one, which stays readable.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::core::activity::DayActivity;
use crate::core::by_origin::ByOrigin;
use crate::core::calibration::{Breach, CalibrationSession, EndReason};
use crate::core::chunk::{Chunk, ChunkId, Class, Explanation, ExplanationScore, Rule};

use crate::core::declared::{Declaration, DeclaredLog};
use crate::core::engine::{Dismissal, FileSnapshot};
use crate::core::line_map::{LineMap, LineState, Origin};
use crate::core::text::LineKey;
use crate::store::{FileRecord, FileSummary};

/// The newest file record version this build reads and writes. Version 2 is version 1 with a
/// chunk's `agent` and `model` (lines an agent declared): a record is written as version 2 only
/// when one of its chunks has them, so that every other record stays readable by a whetstone
/// that knows version 1 only, and one that would drop the agent leaves the record alone instead.
pub const FILE_RECORD_VERSION: u32 = 2;
/// The version of a record whose chunks name no agent.
const FILE_RECORD_VERSION_WITHOUT_AGENTS: u32 = 1;
/// The newest version of a value in the store's `files` tree this build reads, and the only one
/// it writes there. Version 3 is a record of version 1 or 2 without its line keys (the head,
/// [`FileHeadV3`]); the keys are kept apart, in the `line_keys` tree ([`LineKeysV1`]). The report
/// and `whetstone status` read every head of the store or of a workspace and never need the keys,
/// two numbers a line and most of a record's bytes. Values of versions 1 and 2 (keys inline) are
/// read as they are, and written as version 3 when their file is next saved. Versions 1 and 2
/// stay the form of a whole record on the store's socket and in its journal.
pub const STORED_FILE_VERSION: u32 = 3;
/// The line keys record version this build writes and the newest it reads.
pub const LINE_KEYS_RECORD_VERSION: u32 = 1;
/// The declarations record version this build writes and the newest it reads.
pub const DECLARATIONS_RECORD_VERSION: u32 = 1;
/// The dismissal record version this build writes and the newest it reads.
pub const DISMISSAL_RECORD_VERSION: u32 = 1;
/// The calibration session record version this build writes and the newest it reads.
pub const CALIBRATION_RECORD_VERSION: u32 = 1;
/// The day activity record version this build writes and the newest it reads.
pub const ACTIVITY_RECORD_VERSION: u32 = 1;

/// A file's ownership map and its chunks, version 1, or version 2 when a chunk names its agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecordV1 {
    pub version: u32,
    /// Two numbers per line, `[hash, weight, hash, weight, ...]`: a list of objects would triple
    /// the size of the largest part of the record.
    pub line_keys: Vec<u64>,
    /// The map's runs in line order; their `lines` add up to the number of line keys.
    pub runs: Vec<RunV1>,
    pub chunks: Vec<ChunkV1>,
}

/// A file's record without its line keys, version 3: what the `files` tree holds, and what the
/// store's socket carries for a summary. Read with `Identifiers` = [`Unread`] for a summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileHeadV3<Identifiers = Vec<String>> {
    pub version: u32,
    /// The number of lines, which the line keys kept apart must have, and the runs cover.
    pub lines: u64,
    /// Whether the last line's key is blank: a trailing empty line is not counted as a line.
    pub last_line_blank: bool,
    pub runs: Vec<RunV1>,
    pub chunks: Vec<ChunkV1<Identifiers>>,
}

/// A chunk's identifiers passed over without being kept: a summary's chunks have none. Only
/// scoring an explanation uses them, and that is done on an open document, whose record is
/// loaded whole; for the report, they are most of the strings a year of chunks holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Unread;

impl<'de> Deserialize<'de> for Unread {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Unread, D::Error> {
        serde::de::IgnoredAny::deserialize(deserializer).map(|_| Unread)
    }
}

impl From<Unread> for Vec<String> {
    fn from(_: Unread) -> Vec<String> {
        Vec::new()
    }
}

/// A file's line keys, kept apart from its head (in the `line_keys` tree, keyed like `files`):
/// `[hash, weight, hash, weight, ...]` as in [`FileRecordV1`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineKeysV1 {
    pub version: u32,
    pub line_keys: Vec<u64>,
}

/// Consecutive lines with the same origin and chunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunV1 {
    pub origin: String,
    pub chunk: Option<u64>,
    pub lines: u64,
}

/// A chunk without its uri: the record's key says which file it is on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkV1<Identifiers = Vec<String>> {
    pub id: u64,
    pub origin: String,
    pub created_ms: u64,
    pub inserted_lines: u64,
    pub class: Option<String>,
    /// Added after the first release of version 1: absent in older records.
    #[serde(default)]
    pub classified_ms: Option<u64>,
    pub explanation: Option<ExplanationV1>,
    #[serde(default)]
    pub practiced_ms: Vec<u64>,
    pub items: Vec<String>,
    pub identifiers: Identifiers,
    pub reworked_chars: u64,
    /// The rule that flagged the chunk; added after the first release of version 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The chunk it copies; added after the first release of version 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copied_from: Option<u64>,
    /// Version 2 only: the agent that declared the chunk's lines, and its model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExplanationV1 {
    pub text: String,
    pub recorded_ms: u64,
    pub score: ExplanationScoreV1,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExplanationScoreV1 {
    pub words: u64,
    pub identifiers_named: u64,
    pub identifiers_total: u64,
    pub says_why: bool,
    pub score: u8,
    pub shallow: bool,
}

/// A chunk the user said was their own, version 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DismissalV1 {
    pub version: u32,
    /// The uri at the time of the dismissal: a fact about the past, kept as it was.
    pub uri: String,
    pub origin: String,
    pub lines: u64,
    pub created_ms: u64,
    pub dismissed_ms: u64,
    /// The rule that had flagged the chunk; added after the first release of version 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

/// A calibration session, running or ended, version 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalibrationSessionV1 {
    pub version: u32,
    /// Also the record's key: one user starts one session at a time.
    pub started_ms: u64,
    pub label: Option<String>,
    pub planned_minutes: Option<u32>,
    /// Both null while the session runs, both set once it ended.
    pub ended_ms: Option<u64>,
    /// `"stopped"` or `"time-up"`.
    pub ended_because: Option<String>,
    /// 1 (struggled) to 5 (smooth).
    pub feel: Option<u8>,
    pub notes: Option<String>,
    pub typed_chars: u64,
    pub typed_lines: u64,
    pub active_ms: u64,
    pub last_activity_ms: u64,
    /// The uris edited during the session, sorted.
    pub files: Vec<String>,
    pub breaches: Vec<BreachV1>,
}

/// A pasted or generated insertion during a calibration session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreachV1 {
    pub at_ms: u64,
    pub uri: String,
    pub origin: String,
    pub lines: u64,
    pub chunk: Option<u64>,
}

/// One UTC day of editing, version 1. Lines are objects keyed by origin name (`"typed"`,
/// `"pasted"`, ...): every origin is written, a missing one reads as 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayActivityV1 {
    pub version: u32,
    /// Days since 1970-01-01 (UTC); also the record's key.
    pub day: u32,
    pub lines: BTreeMap<String, u64>,
    pub typed_chars: u64,
    pub active_ms: u64,
    pub calibration_lines: BTreeMap<String, u64>,
    pub calibration_active_ms: u64,
}

/// What a stored value turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded<T> {
    Current(T),
    /// Written by a newer whetstone: leave it alone.
    Newer(u32),
    /// Not a record this build can make sense of; the reason says why.
    Damaged(String),
}

/// Only the version, read before the rest so that a newer record is never judged by old rules.
#[derive(Deserialize)]
struct VersionProbe {
    version: u32,
}

/// The version of a stored record, or what to report instead of reading it.
fn probe_version<T>(bytes: &[u8], newest: u32) -> Result<u32, Decoded<T>> {
    match serde_json::from_slice::<VersionProbe>(bytes) {
        Err(error) => Err(Decoded::Damaged(format!("not a versioned record: {error}"))),
        Ok(VersionProbe { version: 0 }) => Err(Decoded::Damaged("record version 0".to_string())),
        Ok(VersionProbe { version }) if version > newest => Err(Decoded::Newer(version)),
        Ok(VersionProbe { version }) => Ok(version),
    }
}

/// Reads a stored file record, whatever version this build understands.
///
/// File records are the largest records by far (two numbers per line), so the record is parsed
/// once, and the version probe runs only when that parse fails or finds a version this build does
/// not read: the outcome is the same as probing first, without a second pass over every record.
pub fn decode_file_record(bytes: &[u8]) -> Decoded<FileRecord> {
    // Versions 1 and 2 share one shape (2 adds optional fields to chunks).
    let parsed = serde_json::from_slice::<FileRecordV1>(bytes);
    let readable =
        matches!(&parsed, Ok(record) if (1..=FILE_RECORD_VERSION).contains(&record.version));
    if !readable && let Err(decoded) = probe_version(bytes, FILE_RECORD_VERSION) {
        return decoded;
    }
    let record = match parsed {
        Ok(record) => record,
        Err(error) => return Decoded::Damaged(format!("unreadable file record: {error}")),
    };
    match from_record(record) {
        Ok(record) => Decoded::Current(record),
        Err(reason) => Decoded::Damaged(reason),
    }
}

/// The bytes of a whole file record (versions 1 and 2, keys inline), as older stores hold them.
pub fn encode_file_record(record: &FileRecordV1) -> Result<Vec<u8>, String> {
    serde_json::to_vec(record).map_err(|error| format!("could not encode the record: {error}"))
}

/// A value of the `files` tree, decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum StoredFile {
    /// Versions 1 and 2: the whole record, line keys inline.
    Whole(FileRecord),
    /// Version 3: the record without its line keys, which the `line_keys` tree holds.
    Head(FileSummary),
}

impl StoredFile {
    /// The record without its line keys, whatever the form it was stored in (a head read with
    /// [`Unread`] identifiers has none; a whole record's are dropped, as [`FileSummary::of`]
    /// drops them).
    pub fn into_summary(self) -> FileSummary {
        match self {
            StoredFile::Whole(record) => FileSummary::of(record),
            StoredFile::Head(summary) => summary,
        }
    }

    pub fn chunks(&self) -> &[Chunk] {
        match self {
            StoredFile::Whole(record) => &record.chunks,
            StoredFile::Head(summary) => &summary.chunks,
        }
    }
}

/// Reads a value of the `files` tree, whatever version this build understands. A head is parsed
/// first (every value a current store holds is one); the version is probed only when that fails.
pub fn decode_stored_file(bytes: &[u8]) -> Decoded<StoredFile> {
    decode_stored_file_as::<Vec<String>>(bytes)
}

/// [`decode_stored_file`] for a summary: the chunks' identifiers are not read ([`Unread`]), in
/// a head or in a whole record.
pub fn decode_stored_summary(bytes: &[u8]) -> Decoded<FileSummary> {
    match decode_stored_file_as::<Unread>(bytes) {
        Decoded::Current(stored) => Decoded::Current(stored.into_summary()),
        Decoded::Newer(found) => Decoded::Newer(found),
        Decoded::Damaged(reason) => Decoded::Damaged(reason),
    }
}

fn decode_stored_file_as<Identifiers>(bytes: &[u8]) -> Decoded<StoredFile>
where
    Identifiers: for<'de> Deserialize<'de> + Into<Vec<String>>,
{
    // Checked as UTF-8 once, as a whole: from bytes, serde_json checks each string apart, which
    // costs the report a tenth of its reading. Bytes that are not UTF-8 fail below as they would
    // have.
    let parsed = match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str::<FileHeadV3<Identifiers>>(text),
        Err(_) => serde_json::from_slice::<FileHeadV3<Identifiers>>(bytes),
    };
    if let Ok(head) = &parsed
        && head.version == STORED_FILE_VERSION
    {
        return match parsed
            .map_err(|error| error.to_string())
            .and_then(head_from_record)
        {
            Ok(summary) => Decoded::Current(StoredFile::Head(summary)),
            Err(reason) => Decoded::Damaged(reason),
        };
    }
    match probe_version(bytes, STORED_FILE_VERSION) {
        Err(decoded) => decoded,
        Ok(version) if version <= FILE_RECORD_VERSION => match decode_file_record(bytes) {
            Decoded::Current(record) => Decoded::Current(StoredFile::Whole(record)),
            Decoded::Newer(found) => Decoded::Newer(found),
            Decoded::Damaged(reason) => Decoded::Damaged(reason),
        },
        Ok(_) => Decoded::Damaged(match parsed {
            Err(error) => format!("unreadable file record: {error}"),
            Ok(_) => "unreadable file record".to_string(),
        }),
    }
}

/// The bytes of a file's head and of its line keys, as the `files` and `line_keys` trees keep
/// them; or why a load would refuse the record.
pub fn encode_split_file_record(record: &FileRecordV1) -> Result<(Vec<u8>, Vec<u8>), String> {
    check_record(record)?;
    let head = head_of(record);
    let keys = LineKeysV1 {
        version: LINE_KEYS_RECORD_VERSION,
        line_keys: record.line_keys.clone(),
    };
    let encode_error = |error: serde_json::Error| format!("could not encode the record: {error}");
    Ok((
        serde_json::to_vec(&head).map_err(encode_error)?,
        serde_json::to_vec(&keys).map_err(encode_error)?,
    ))
}

/// The bytes stored for a file's head.
pub fn encode_file_head(head: &FileHeadV3) -> Result<Vec<u8>, String> {
    serde_json::to_vec(head).map_err(|error| format!("could not encode the record: {error}"))
}

/// Only the version of stored line keys, or what to report instead of reading them.
pub fn probe_line_keys_version(bytes: &[u8]) -> Decoded<u32> {
    match probe_version(bytes, LINE_KEYS_RECORD_VERSION) {
        Ok(version) => Decoded::Current(version),
        Err(decoded) => decoded,
    }
}

/// Reads a stored line keys record.
pub fn decode_line_keys(bytes: &[u8]) -> Decoded<Vec<LineKey>> {
    if let Err(decoded) = probe_version(bytes, LINE_KEYS_RECORD_VERSION) {
        return decoded;
    }
    let record = match serde_json::from_slice::<LineKeysV1>(bytes) {
        Ok(record) => record,
        Err(error) => return Decoded::Damaged(format!("unreadable version 1 line keys: {error}")),
    };
    match line_keys_from_pairs(&record.line_keys) {
        Ok(keys) => Decoded::Current(keys),
        Err(reason) => Decoded::Damaged(reason),
    }
}

/// A whole record from its head and the line keys kept apart, or why they do not belong
/// together.
pub fn join_file_record(head: FileSummary, line_keys: Vec<LineKey>) -> Result<FileRecord, String> {
    if line_keys.len() != head.map.len() {
        return Err(format!(
            "the record has {} lines but {} line keys",
            head.map.len(),
            line_keys.len()
        ));
    }
    if line_keys.last().is_some_and(|key| key.is_blank()) != head.last_line_blank {
        return Err("its line keys do not end as the record says they do".to_string());
    }
    Ok(FileRecord {
        snapshot: FileSnapshot {
            line_keys,
            map: head.map,
        },
        chunks: head.chunks,
    })
}

/// Reads a stored dismissal record.
pub fn decode_dismissal(bytes: &[u8]) -> Decoded<Dismissal> {
    if let Err(decoded) = probe_version(bytes, DISMISSAL_RECORD_VERSION) {
        return decoded;
    }
    let record = match serde_json::from_slice::<DismissalV1>(bytes) {
        Ok(record) => record,
        Err(error) => return Decoded::Damaged(format!("unreadable version 1 dismissal: {error}")),
    };
    match dismissal_from_record(record) {
        Ok(dismissal) => Decoded::Current(dismissal),
        Err(reason) => Decoded::Damaged(reason),
    }
}

pub fn encode_dismissal(dismissal: &Dismissal) -> Result<Vec<u8>, String> {
    serde_json::to_vec(&dismissal_to_record(dismissal))
        .map_err(|error| format!("could not encode the dismissal: {error}"))
}

/// Reads a stored calibration session record.
pub fn decode_calibration_session(bytes: &[u8]) -> Decoded<CalibrationSession> {
    if let Err(decoded) = probe_version(bytes, CALIBRATION_RECORD_VERSION) {
        return decoded;
    }
    let record = match serde_json::from_slice::<CalibrationSessionV1>(bytes) {
        Ok(record) => record,
        Err(error) => {
            return Decoded::Damaged(format!("unreadable version 1 calibration session: {error}"));
        }
    };
    match calibration_session_from_record(record) {
        Ok(session) => Decoded::Current(session),
        Err(reason) => Decoded::Damaged(reason),
    }
}

/// The bytes stored for a calibration session, or why a load would refuse them.
pub fn encode_calibration_session(session: &CalibrationSession) -> Result<Vec<u8>, String> {
    let record = calibration_session_to_record(session);
    check_calibration_session(&record)?;
    serde_json::to_vec(&record)
        .map_err(|error| format!("could not encode the calibration session: {error}"))
}

/// Reads a stored day of activity.
pub fn decode_day_activity(bytes: &[u8]) -> Decoded<DayActivity> {
    if let Err(decoded) = probe_version(bytes, ACTIVITY_RECORD_VERSION) {
        return decoded;
    }
    let record = match serde_json::from_slice::<DayActivityV1>(bytes) {
        Ok(record) => record,
        Err(error) => {
            return Decoded::Damaged(format!("unreadable version 1 day of activity: {error}"));
        }
    };
    match day_activity_from_record(record) {
        Ok(day) => Decoded::Current(day),
        Err(reason) => Decoded::Damaged(reason),
    }
}

pub fn encode_day_activity(day: &DayActivity) -> Result<Vec<u8>, String> {
    serde_json::to_vec(&day_activity_to_record(day))
        .map_err(|error| format!("could not encode the day of activity: {error}"))
}

// ---- file records ------------------------------------------------------------------------------

pub fn to_record(record: &FileRecord) -> FileRecordV1 {
    let line_keys = record
        .snapshot
        .line_keys
        .iter()
        .flat_map(|key| [key.hash, u64::from(key.weight)])
        .collect();
    let runs = record
        .snapshot
        .map
        .runs()
        .map(|(range, state)| RunV1 {
            origin: state.origin.as_str().to_string(),
            chunk: state.chunk.map(|chunk| chunk.0),
            lines: range.len() as u64,
        })
        .collect();
    let chunks: Vec<ChunkV1> = record.chunks.iter().map(chunk_to_record).collect();
    FileRecordV1 {
        version: file_record_version(&chunks),
        line_keys,
        runs,
        chunks,
    }
}

/// The core form of a record. Chunks come back with an empty `uri` (the caller knows the file)
/// and `syntax_stale` false (their items were computed before they were saved).
pub fn from_record(record: FileRecordV1) -> Result<FileRecord, String> {
    check_record(&record)?;
    let line_keys = line_keys_from_pairs(&record.line_keys)?;
    let map = map_from_runs(&record.runs)?;
    let chunks = record
        .chunks
        .into_iter()
        .map(chunk_from_record)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(FileRecord {
        snapshot: FileSnapshot { line_keys, map },
        chunks,
    })
}

/// The head of a whole record: everything but its line keys.
pub fn head_of(record: &FileRecordV1) -> FileHeadV3 {
    let pairs = &record.line_keys;
    FileHeadV3 {
        version: STORED_FILE_VERSION,
        lines: (pairs.len() / 2) as u64,
        last_line_blank: pairs.len() >= 2 && pairs[pairs.len() - 1] == 0,
        runs: record.runs.clone(),
        chunks: record.chunks.clone(),
    }
}

/// The head form of a summary, as the store's socket carries it.
pub fn summary_to_head(summary: &FileSummary) -> FileHeadV3 {
    FileHeadV3 {
        version: STORED_FILE_VERSION,
        lines: summary.map.len() as u64,
        last_line_blank: summary.last_line_blank,
        runs: runs_of(&summary.map),
        chunks: summary.chunks.iter().map(chunk_to_record).collect(),
    }
}

/// The core form of a head, checked as a whole record is.
pub fn head_from_record<Identifiers: Into<Vec<String>>>(
    head: FileHeadV3<Identifiers>,
) -> Result<FileSummary, String> {
    if head.version != STORED_FILE_VERSION {
        return Err(format!(
            "a file head says it is version {} (heads are version {STORED_FILE_VERSION})",
            head.version
        ));
    }
    let lines = to_usize(head.lines, "the record's line count")?;
    check_runs_and_chunks(&head.runs, &head.chunks, lines)?;
    let map = map_from_runs(&head.runs)?;
    let chunks = head
        .chunks
        .into_iter()
        .map(chunk_from_record)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(FileSummary {
        map,
        last_line_blank: head.last_line_blank,
        chunks,
    })
}

fn line_keys_from_pairs(pairs: &[u64]) -> Result<Vec<LineKey>, String> {
    if !pairs.len().is_multiple_of(2) {
        return Err(format!(
            "line_keys holds an odd number of values ({})",
            pairs.len()
        ));
    }
    pairs
        .chunks_exact(2)
        .map(|pair| {
            let weight = u32::try_from(pair[1])
                .map_err(|_| format!("a line key weight is too large ({})", pair[1]))?;
            Ok(LineKey {
                hash: pair[0],
                weight,
            })
        })
        .collect()
}

fn map_from_runs(runs: &[RunV1]) -> Result<LineMap, String> {
    let mut states = Vec::with_capacity(runs.len());
    for run in runs {
        let state = LineState::new(parse_origin(&run.origin)?, run.chunk.map(ChunkId));
        states.push((state, to_usize(run.lines, "a run's line count")?));
    }
    // Run by run, not line by line: a head's line count is a number, not its keys' length.
    Ok(LineMap::from_runs(states))
}

fn runs_of(map: &LineMap) -> Vec<RunV1> {
    map.runs()
        .map(|(range, state)| RunV1 {
            origin: state.origin.as_str().to_string(),
            chunk: state.chunk.map(|chunk| chunk.0),
            lines: range.len() as u64,
        })
        .collect()
}

/// Everything `from_record` would refuse, checked without building anything: save refuses such a
/// record up front, so that nothing is ever written that a later load would call damaged.
pub fn check_record(record: &FileRecordV1) -> Result<(), String> {
    if record.version != file_record_version(&record.chunks) {
        return Err(format!(
            "a version {} record says it is version {}",
            file_record_version(&record.chunks),
            record.version
        ));
    }
    if !record.line_keys.len().is_multiple_of(2) {
        return Err(format!(
            "line_keys holds an odd number of values ({})",
            record.line_keys.len()
        ));
    }
    if let Some(weight) = record
        .line_keys
        .chunks_exact(2)
        .map(|pair| pair[1])
        .find(|weight| u32::try_from(*weight).is_err())
    {
        return Err(format!("a line key weight is too large ({weight})"));
    }
    check_runs_and_chunks(&record.runs, &record.chunks, record.line_keys.len() / 2)
}

/// What a record's runs and chunks must be for a file of `lines` lines.
fn check_runs_and_chunks<Identifiers>(
    runs: &[RunV1],
    chunks: &[ChunkV1<Identifiers>],
    lines: usize,
) -> Result<(), String> {
    if lines == 0 {
        return Err("the record has no lines (a file has at least one)".to_string());
    }
    let mut chunk_ids = HashSet::with_capacity(chunks.len());
    for chunk in chunks {
        if !chunk_ids.insert(chunk.id) {
            return Err(format!("chunk {} appears twice", chunk.id));
        }
        // Editors' JavaScript cannot send a larger id back, and the id counter would pass it.
        if chunk.id >= 1 << 53 {
            return Err(format!("chunk id {} is not below 2^53", chunk.id));
        }
        parse_origin(&chunk.origin).map_err(|reason| format!("chunk {}: {reason}", chunk.id))?;
        if let Some(class) = &chunk.class {
            parse_class(class).map_err(|reason| format!("chunk {}: {reason}", chunk.id))?;
        }
    }
    let mut covered: u64 = 0;
    for run in runs {
        parse_origin(&run.origin)?;
        if let Some(chunk) = run.chunk
            && !chunk_ids.contains(&chunk)
        {
            return Err(format!(
                "a run of lines belongs to chunk {chunk}, which the record does not hold"
            ));
        }
        covered = covered
            .checked_add(run.lines)
            .ok_or_else(|| "the runs cover more lines than can be counted".to_string())?;
    }
    if covered != lines as u64 {
        return Err(format!(
            "the runs cover {covered} lines but the record has {lines} line keys"
        ));
    }
    Ok(())
}

/// The version a record with these chunks is written as.
pub fn file_record_version(chunks: &[ChunkV1]) -> u32 {
    if chunks
        .iter()
        .any(|chunk| chunk.agent.is_some() || chunk.model.is_some())
    {
        FILE_RECORD_VERSION
    } else {
        FILE_RECORD_VERSION_WITHOUT_AGENTS
    }
}

pub fn chunk_to_record(chunk: &Chunk) -> ChunkV1 {
    ChunkV1 {
        id: chunk.id.0,
        origin: chunk.origin.as_str().to_string(),
        created_ms: chunk.created_ms,
        inserted_lines: chunk.inserted_lines as u64,
        class: chunk.class.map(|class| class.as_str().to_string()),
        classified_ms: chunk.classified_ms,
        practiced_ms: chunk.practiced_ms.clone(),
        explanation: chunk.explanation.as_ref().map(|explanation| ExplanationV1 {
            text: explanation.text.clone(),
            recorded_ms: explanation.recorded_ms,
            score: ExplanationScoreV1 {
                words: explanation.score.words as u64,
                identifiers_named: explanation.score.identifiers_named as u64,
                identifiers_total: explanation.score.identifiers_total as u64,
                says_why: explanation.score.says_why,
                score: explanation.score.score,
                shallow: explanation.score.shallow,
            },
        }),
        items: chunk.items.clone(),
        identifiers: chunk.identifiers.clone(),
        reworked_chars: chunk.reworked_chars as u64,
        rule: chunk.rule.map(|rule| rule.as_str().to_string()),
        copied_from: chunk.copied_from.map(|id| id.0),
        agent: chunk.agent.clone(),
        model: chunk.model.clone(),
    }
}

fn chunk_from_record<Identifiers: Into<Vec<String>>>(
    chunk: ChunkV1<Identifiers>,
) -> Result<Chunk, String> {
    let id = chunk.id;
    let in_chunk = |reason: String| format!("chunk {id}: {reason}");
    let explanation = match chunk.explanation {
        None => None,
        Some(explanation) => Some(Explanation {
            text: explanation.text,
            recorded_ms: explanation.recorded_ms,
            score: ExplanationScore {
                words: to_usize(explanation.score.words, "explanation words").map_err(in_chunk)?,
                identifiers_named: to_usize(
                    explanation.score.identifiers_named,
                    "explanation identifiers named",
                )
                .map_err(in_chunk)?,
                identifiers_total: to_usize(
                    explanation.score.identifiers_total,
                    "explanation identifiers total",
                )
                .map_err(in_chunk)?,
                says_why: explanation.score.says_why,
                score: explanation.score.score,
                shallow: explanation.score.shallow,
            },
        }),
    };
    Ok(Chunk {
        id: ChunkId(id),
        uri: String::new(),
        origin: parse_origin(&chunk.origin).map_err(in_chunk)?,
        created_ms: chunk.created_ms,
        inserted_lines: to_usize(chunk.inserted_lines, "inserted lines").map_err(in_chunk)?,
        class: chunk
            .class
            .as_deref()
            .map(parse_class)
            .transpose()
            .map_err(in_chunk)?,
        classified_ms: chunk.classified_ms,
        explanation,
        practiced_ms: chunk.practiced_ms,
        items: chunk.items,
        identifiers: chunk.identifiers.into(),
        reworked_chars: to_usize(chunk.reworked_chars, "reworked characters").map_err(in_chunk)?,
        syntax_stale: false,
        // A rule this release does not know (a newer one's) reads as unknown, not as damage.
        rule: chunk.rule.as_deref().and_then(Rule::parse),
        copied_from: chunk.copied_from.map(ChunkId),
        agent: chunk.agent,
        model: chunk.model,
    })
}

// ---- declarations ------------------------------------------------------------------------------

/// Lines an agent declared it wrote in one file, version 1: alone on the store's socket and in the
/// journal, and in a file's [`DeclarationsV1`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclarationV1 {
    pub version: u32,
    pub id: u64,
    /// `"generated"` or `"pasted"`.
    pub origin: String,
    pub agent: String,
    pub model: Option<String>,
    pub declared_ms: u64,
    pub start_line: u64,
    pub before: Vec<String>,
    pub lines: Vec<String>,
    pub after: Vec<String>,
}

/// What the store keeps of one file's declarations, version 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclarationsV1 {
    pub version: u32,
    pub pending: Vec<DeclarationV1>,
    /// Declarations already applied or dropped: `[id, when]`.
    pub consumed: Vec<(u64, u64)>,
}

pub fn declaration_to_record(declaration: &Declaration) -> DeclarationV1 {
    DeclarationV1 {
        version: DECLARATIONS_RECORD_VERSION,
        id: declaration.id,
        origin: declaration.origin.as_str().to_string(),
        agent: declaration.agent.clone(),
        model: declaration.model.clone(),
        declared_ms: declaration.declared_ms,
        start_line: declaration.start_line as u64,
        before: declaration.before.clone(),
        lines: declaration.lines.clone(),
        after: declaration.after.clone(),
    }
}

/// The core form of a declaration, or why it cannot be one (checked as a load would check it).
pub fn declaration_from_record(record: DeclarationV1) -> Result<Declaration, String> {
    if record.version != DECLARATIONS_RECORD_VERSION {
        return Err(format!(
            "a version {DECLARATIONS_RECORD_VERSION} declaration says it is version {}",
            record.version
        ));
    }
    let declaration = Declaration {
        id: record.id,
        origin: parse_origin(&record.origin)?,
        agent: record.agent,
        model: record.model,
        declared_ms: record.declared_ms,
        start_line: to_usize(record.start_line, "a declaration's start line")?,
        before: record.before,
        lines: record.lines,
        after: record.after,
    };
    match declaration.problem() {
        Some(problem) => Err(format!("declaration {}: {problem}", record.id)),
        None => Ok(declaration),
    }
}

/// Reads a file's stored declarations.
pub fn decode_declarations(bytes: &[u8]) -> Decoded<DeclaredLog> {
    if let Err(decoded) = probe_version(bytes, DECLARATIONS_RECORD_VERSION) {
        return decoded;
    }
    let record = match serde_json::from_slice::<DeclarationsV1>(bytes) {
        Ok(record) => record,
        Err(error) => {
            return Decoded::Damaged(format!("unreadable version 1 declarations: {error}"));
        }
    };
    let pending = record
        .pending
        .into_iter()
        .map(declaration_from_record)
        .collect::<Result<Vec<_>, _>>();
    match pending {
        Ok(pending) => Decoded::Current(DeclaredLog {
            pending,
            consumed: record.consumed,
        }),
        Err(reason) => Decoded::Damaged(reason),
    }
}

pub fn encode_declarations(log: &DeclaredLog) -> Result<Vec<u8>, String> {
    let record = DeclarationsV1 {
        version: DECLARATIONS_RECORD_VERSION,
        pending: log.pending.iter().map(declaration_to_record).collect(),
        consumed: log.consumed.clone(),
    };
    serde_json::to_vec(&record)
        .map_err(|error| format!("could not encode the declarations: {error}"))
}

// ---- dismissals --------------------------------------------------------------------------------

pub fn dismissal_to_record(dismissal: &Dismissal) -> DismissalV1 {
    DismissalV1 {
        version: DISMISSAL_RECORD_VERSION,
        uri: dismissal.uri.clone(),
        origin: dismissal.origin.as_str().to_string(),
        lines: dismissal.lines as u64,
        created_ms: dismissal.created_ms,
        dismissed_ms: dismissal.dismissed_ms,
        rule: dismissal.rule.map(|rule| rule.as_str().to_string()),
    }
}

pub fn dismissal_from_record(record: DismissalV1) -> Result<Dismissal, String> {
    if record.version != DISMISSAL_RECORD_VERSION {
        return Err(format!(
            "a version {DISMISSAL_RECORD_VERSION} dismissal says it is version {}",
            record.version
        ));
    }
    Ok(Dismissal {
        uri: record.uri,
        origin: parse_origin(&record.origin)?,
        lines: to_usize(record.lines, "dismissed lines")?,
        created_ms: record.created_ms,
        dismissed_ms: record.dismissed_ms,
        rule: record.rule.as_deref().and_then(Rule::parse),
    })
}

// ---- calibration sessions ----------------------------------------------------------------------

pub fn calibration_session_to_record(session: &CalibrationSession) -> CalibrationSessionV1 {
    CalibrationSessionV1 {
        version: CALIBRATION_RECORD_VERSION,
        started_ms: session.started_ms,
        label: session.label.clone(),
        planned_minutes: session.planned_minutes,
        ended_ms: session.ended_ms,
        ended_because: session
            .ended_because
            .map(|reason| reason.as_str().to_string()),
        feel: session.feel,
        notes: session.notes.clone(),
        typed_chars: session.typed_chars,
        typed_lines: session.typed_lines,
        active_ms: session.active_ms,
        last_activity_ms: session.last_activity_ms,
        files: session.files.iter().cloned().collect(),
        breaches: session.breaches.iter().map(breach_to_record).collect(),
    }
}

pub fn breach_to_record(breach: &Breach) -> BreachV1 {
    BreachV1 {
        at_ms: breach.at_ms,
        uri: breach.uri.clone(),
        origin: breach.origin.as_str().to_string(),
        lines: breach.lines,
        chunk: breach.chunk.map(|chunk| chunk.0),
    }
}

pub fn breach_from_record(breach: BreachV1) -> Result<Breach, String> {
    Ok(Breach {
        at_ms: breach.at_ms,
        origin: parse_origin(&breach.origin).map_err(|reason| format!("a breach: {reason}"))?,
        uri: breach.uri,
        lines: breach.lines,
        chunk: breach.chunk.map(ChunkId),
    })
}

pub fn calibration_session_from_record(
    record: CalibrationSessionV1,
) -> Result<CalibrationSession, String> {
    check_calibration_session(&record)?;
    let ended_because = record
        .ended_because
        .as_deref()
        .map(parse_end_reason)
        .transpose()?;
    let breaches = record
        .breaches
        .into_iter()
        .map(breach_from_record)
        .collect::<Result<Vec<_>, String>>()?;
    Ok(CalibrationSession {
        started_ms: record.started_ms,
        label: record.label,
        planned_minutes: record.planned_minutes,
        ended_ms: record.ended_ms,
        ended_because,
        feel: record.feel,
        notes: record.notes,
        typed_chars: record.typed_chars,
        typed_lines: record.typed_lines,
        active_ms: record.active_ms,
        last_activity_ms: record.last_activity_ms,
        files: record.files.into_iter().collect(),
        breaches,
    })
}

/// Everything `calibration_session_from_record` would refuse: save refuses it up front.
pub fn check_calibration_session(record: &CalibrationSessionV1) -> Result<(), String> {
    if record.version != CALIBRATION_RECORD_VERSION {
        return Err(format!(
            "a version {CALIBRATION_RECORD_VERSION} calibration session says it is version {}",
            record.version
        ));
    }
    if let Some(reason) = &record.ended_because {
        parse_end_reason(reason)?;
    }
    match (record.ended_ms, &record.ended_because) {
        (Some(_), None) => return Err("the session ended but says not why".to_string()),
        (None, Some(_)) => {
            return Err("the session says why it ended but not when".to_string());
        }
        _ => {}
    }
    if let Some(feel) = record.feel
        && !(1..=5).contains(&feel)
    {
        return Err(format!("feel {feel} is not between 1 and 5"));
    }
    for breach in &record.breaches {
        parse_origin(&breach.origin).map_err(|reason| format!("a breach: {reason}"))?;
    }
    Ok(())
}

// ---- days of activity --------------------------------------------------------------------------

pub fn day_activity_to_record(day: &DayActivity) -> DayActivityV1 {
    let by_name = |lines: &ByOrigin<u64>| {
        Origin::ALL
            .into_iter()
            .map(|origin| (origin.as_str().to_string(), lines[origin]))
            .collect()
    };
    DayActivityV1 {
        version: ACTIVITY_RECORD_VERSION,
        day: day.day,
        lines: by_name(&day.lines),
        typed_chars: day.typed_chars,
        active_ms: day.active_ms,
        calibration_lines: by_name(&day.calibration_lines),
        calibration_active_ms: day.calibration_active_ms,
    }
}

pub fn day_activity_from_record(record: DayActivityV1) -> Result<DayActivity, String> {
    if record.version != ACTIVITY_RECORD_VERSION {
        return Err(format!(
            "a version {ACTIVITY_RECORD_VERSION} day of activity says it is version {}",
            record.version
        ));
    }
    let by_origin = |lines: &BTreeMap<String, u64>, what: &str| {
        let mut counts = ByOrigin::default();
        for (name, count) in lines {
            let origin = parse_origin(name).map_err(|reason| format!("{what}: {reason}"))?;
            counts[origin] = *count;
        }
        Ok::<ByOrigin<u64>, String>(counts)
    };
    Ok(DayActivity {
        day: record.day,
        lines: by_origin(&record.lines, "lines")?,
        typed_chars: record.typed_chars,
        active_ms: record.active_ms,
        calibration_lines: by_origin(&record.calibration_lines, "calibration lines")?,
        calibration_active_ms: record.calibration_active_ms,
    })
}

// ---- names -------------------------------------------------------------------------------------

fn parse_origin(name: &str) -> Result<Origin, String> {
    Origin::parse(name).ok_or_else(|| format!("unknown origin {name:?}"))
}

fn parse_class(name: &str) -> Result<Class, String> {
    Class::parse(name).ok_or_else(|| format!("unknown class {name:?}"))
}

fn parse_end_reason(name: &str) -> Result<EndReason, String> {
    EndReason::parse(name).ok_or_else(|| format!("unknown end reason {name:?}"))
}

fn to_usize(value: u64, what: &str) -> Result<usize, String> {
    usize::try_from(value).map_err(|_| format!("{what} too large ({value})"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use expect_test::expect;

    fn pasted(chunk: u64) -> LineState {
        LineState::new(Origin::Pasted, Some(ChunkId(chunk)))
    }

    fn chunk(id: u64, origin: Origin) -> Chunk {
        Chunk {
            id: ChunkId(id),
            uri: String::new(),
            origin,
            created_ms: 1_700_000_000_000 + id,
            inserted_lines: 3,
            class: None,
            classified_ms: None,
            practiced_ms: Vec::new(),
            explanation: None,
            items: vec!["fn parse_header".to_string()],
            identifiers: vec!["parse_header".to_string(), "bytes".to_string()],
            reworked_chars: 0,
            syntax_stale: false,
            rule: None,
            copied_from: None,
            agent: None,
            model: None,
        }
    }

    /// A file of 12 lines: typed, a pasted chunk (core, explained), typed, a generated chunk
    /// (transient), an external one and a restored line.
    pub(crate) fn realistic_record() -> FileRecord {
        let text = [
            "use std::io;",
            "",
            "fn parse_header(bytes: &[u8]) -> Option<u32> {",
            "    let first = *bytes.first()?;",
            "    Some(u32::from(first))",
            "}",
            "",
            "fn main() {",
            "    let header = parse_header(b\"x\");",
            "    println!(\"{header:?}\");",
            "}",
            "",
        ];
        let line_keys = text.iter().map(|line| LineKey::of(line)).collect();
        let t = LineState::TYPED;
        let map = LineMap::from_states([
            t,
            t,
            pasted(12),
            pasted(12),
            pasted(12),
            pasted(12),
            t,
            LineState::new(Origin::Generated, Some(ChunkId(13))),
            LineState::new(Origin::Generated, Some(ChunkId(13))),
            LineState::new(Origin::External, Some(ChunkId(40))),
            LineState::new(Origin::Restored, None),
            t,
        ]);
        let explained = Chunk {
            class: Some(Class::Core),
            classified_ms: None,
            practiced_ms: Vec::new(),
            explanation: Some(Explanation {
                text: "parse_header reads the first byte because the header is one byte long"
                    .to_string(),
                recorded_ms: 1_700_000_100_000,
                score: ExplanationScore {
                    words: 12,
                    identifiers_named: 1,
                    identifiers_total: 2,
                    says_why: true,
                    score: 73,
                    shallow: true,
                },
            }),
            reworked_chars: 17,
            ..chunk(12, Origin::Pasted)
        };
        let generated = Chunk {
            class: Some(Class::Transient),
            items: Vec::new(),
            ..chunk(13, Origin::Generated)
        };
        FileRecord {
            snapshot: FileSnapshot { line_keys, map },
            chunks: vec![explained, generated, chunk(40, Origin::External)],
        }
    }

    #[test]
    fn a_realistic_record_survives_json() {
        let record = realistic_record();
        let bytes = encode_file_record(&to_record(&record)).expect("encodes");
        assert_eq!(decode_file_record(&bytes), Decoded::Current(record));
    }

    #[test]
    fn uri_and_syntax_staleness_are_not_stored() {
        let mut record = realistic_record();
        record.chunks[0].uri = "file:///somewhere/main.rs".to_string();
        record.chunks[0].syntax_stale = true;
        let restored = from_record(to_record(&record)).expect("valid");
        assert_eq!(restored, realistic_record());
    }

    #[test]
    fn the_format_of_a_small_record() {
        let record = FileRecord {
            snapshot: FileSnapshot {
                line_keys: vec![
                    LineKey { hash: 7, weight: 3 },
                    LineKey {
                        hash: u64::MAX,
                        weight: 12,
                    },
                ],
                map: LineMap::from_states([LineState::TYPED, pasted(5)]),
            },
            chunks: vec![Chunk {
                class: Some(Class::Repeatable),
                classified_ms: None,
                practiced_ms: Vec::new(),
                explanation: Some(Explanation {
                    text: "why".to_string(),
                    recorded_ms: 9,
                    score: ExplanationScore {
                        words: 1,
                        identifiers_named: 0,
                        identifiers_total: 2,
                        says_why: true,
                        score: 30,
                        shallow: true,
                    },
                }),
                ..chunk(5, Origin::Pasted)
            }],
        };
        let json = serde_json::to_string_pretty(&to_record(&record)).expect("encodes");
        expect![[r#"
            {
              "version": 1,
              "line_keys": [
                7,
                3,
                18446744073709551615,
                12
              ],
              "runs": [
                {
                  "origin": "typed",
                  "chunk": null,
                  "lines": 1
                },
                {
                  "origin": "pasted",
                  "chunk": 5,
                  "lines": 1
                }
              ],
              "chunks": [
                {
                  "id": 5,
                  "origin": "pasted",
                  "created_ms": 1700000000005,
                  "inserted_lines": 3,
                  "class": "repeatable",
                  "classified_ms": null,
                  "explanation": {
                    "text": "why",
                    "recorded_ms": 9,
                    "score": {
                      "words": 1,
                      "identifiers_named": 0,
                      "identifiers_total": 2,
                      "says_why": true,
                      "score": 30,
                      "shallow": true
                    }
                  },
                  "practiced_ms": [],
                  "items": [
                    "fn parse_header"
                  ],
                  "identifiers": [
                    "parse_header",
                    "bytes"
                  ],
                  "reworked_chars": 0
                }
              ]
            }"#]]
        .assert_eq(&json);
    }

    #[test]
    fn inconsistent_records_are_errors_not_panics() {
        type Spoil = fn(&mut FileRecordV1);
        let cases: &[(Spoil, &str)] = &[
            (
                |record| record.runs[0].origin = "copied".to_string(),
                "unknown origin \"copied\"",
            ),
            (
                |record| record.chunks[0].class = Some("vital".to_string()),
                "chunk 12: unknown class \"vital\"",
            ),
            (
                |record| record.chunks[1].origin = "typo".to_string(),
                "chunk 13: unknown origin \"typo\"",
            ),
            (
                |record| record.runs[0].lines += 1,
                "the runs cover 13 lines but the record has 12 line keys",
            ),
            (
                |record| record.runs[0].lines = u64::MAX,
                "the runs cover more lines than can be counted",
            ),
            (
                |record| {
                    record.line_keys.pop();
                },
                "line_keys holds an odd number of values (23)",
            ),
            (
                |record| record.line_keys[1] = u64::from(u32::MAX) + 1,
                "a line key weight is too large (4294967296)",
            ),
            (
                |record| record.chunks.retain(|chunk| chunk.id != 13),
                "a run of lines belongs to chunk 13, which the record does not hold",
            ),
            (|record| record.chunks[2].id = 12, "chunk 12 appears twice"),
            (
                |record| {
                    record.line_keys.clear();
                    record.runs.clear();
                },
                "the record has no lines (a file has at least one)",
            ),
            (
                |record| record.version = 2,
                "a version 1 record says it is version 2",
            ),
            (
                |record| record.version = 3,
                "a version 1 record says it is version 3",
            ),
            (
                |record| record.chunks[0].agent = Some("claude-code".to_string()),
                "a version 2 record says it is version 1",
            ),
        ];
        for (spoil, expected) in cases {
            let mut record = to_record(&realistic_record());
            spoil(&mut record);
            assert_eq!(from_record(record).err().as_deref(), Some(*expected));
        }
    }

    /// A record names version 2 only when a chunk names its agent: every other record stays
    /// readable by a whetstone that knows version 1, and a version 1 record still loads.
    #[test]
    fn a_chunk_with_an_agent_makes_a_version_2_record() {
        let plain = to_record(&realistic_record());
        assert_eq!(plain.version, 1);
        let bytes = encode_file_record(&plain).expect("encodes");
        assert!(!String::from_utf8_lossy(&bytes).contains("agent"));
        let mut declared = realistic_record();
        declared.chunks[1].agent = Some("claude-code".to_string());
        declared.chunks[1].model = Some("claude-sonnet-4-5".to_string());
        let record = to_record(&declared);
        assert_eq!(record.version, 2);
        let bytes = encode_file_record(&record).expect("encodes");
        assert_eq!(decode_file_record(&bytes), Decoded::Current(declared));
        assert_eq!(decode_file_record(b"{\"version\": 3}"), Decoded::Newer(3));
    }

    /// The version is judged before the record is used, though it is read in the same pass:
    /// a whole record of a newer version is newer, one of version 0 damaged.
    #[test]
    fn a_record_split_in_two_reads_back_whole() {
        let record = realistic_record();
        let whole = to_record(&record);
        let (head, keys) = encode_split_file_record(&whole).expect("split");
        let Decoded::Current(StoredFile::Head(summary)) = decode_stored_file(&head) else {
            panic!("not a head: {}", String::from_utf8_lossy(&head));
        };
        assert_eq!(summary.chunks, record.chunks);
        // Listed, a head comes without its chunks' identifiers, and crosses the socket so.
        let listed = FileSummary::of(record.clone());
        assert!(
            listed
                .chunks
                .iter()
                .all(|chunk| chunk.identifiers.is_empty())
        );
        assert_eq!(
            decode_stored_summary(&head),
            Decoded::Current(listed.clone())
        );
        assert_eq!(
            head_from_record(summary_to_head(&listed)),
            Ok(listed.clone())
        );
        let Decoded::Current(line_keys) = decode_line_keys(&keys) else {
            panic!("unreadable keys");
        };
        assert_eq!(
            join_file_record(summary.clone(), line_keys.clone()),
            Ok(record.clone())
        );
        // Keys of another file do not join.
        assert!(join_file_record(summary, line_keys[1..].to_vec()).is_err());
        // The whole form (versions 1 and 2) is still read as it is.
        let old = encode_file_record(&whole).expect("encode");
        assert_eq!(
            decode_stored_file(&old),
            Decoded::Current(StoredFile::Whole(record))
        );
        assert_eq!(decode_stored_summary(&old), Decoded::Current(listed));
    }

    #[test]
    fn heads_are_checked_as_whole_records_are() {
        let whole = to_record(&realistic_record());
        let head = head_of(&whole);
        let spoiled = [
            FileHeadV3 {
                lines: 11,
                ..head.clone()
            },
            FileHeadV3 {
                lines: 0,
                runs: Vec::new(),
                ..head.clone()
            },
            FileHeadV3 {
                chunks: Vec::new(),
                ..head.clone()
            },
            FileHeadV3 {
                version: 2,
                ..head.clone()
            },
        ];
        for head in spoiled {
            assert!(head_from_record(head.clone()).is_err(), "{head:?}");
        }
        // A head of a huge file costs its runs, not its lines.
        let huge: FileHeadV3 = FileHeadV3 {
            version: STORED_FILE_VERSION,
            lines: 1 << 40,
            last_line_blank: false,
            runs: vec![RunV1 {
                origin: "typed".to_string(),
                chunk: None,
                lines: 1 << 40,
            }],
            chunks: Vec::new(),
        };
        assert_eq!(
            head_from_record(huge).map(|summary| summary.map.len()),
            Ok(1 << 40)
        );
        // Unknown versions: newer, or damaged when not even a version can be read.
        assert_eq!(
            decode_stored_file(br#"{"version":4,"lines":"x"}"#),
            Decoded::Newer(4)
        );
        assert!(matches!(
            decode_stored_file(br#"{"version":3,"lines":"x"}"#),
            Decoded::Damaged(_)
        ));
        assert_eq!(
            decode_line_keys(br#"{"version":2,"keys":"x"}"#),
            Decoded::Newer(2)
        );
        assert!(matches!(
            decode_line_keys(br#"{"version":1,"line_keys":[1]}"#),
            Decoded::Damaged(_)
        ));
    }

    #[test]
    fn a_whole_record_of_an_unknown_version_is_not_read_as_current() {
        let mut record = to_record(&realistic_record());
        record.version = 3;
        let bytes = encode_file_record(&record).expect("encodes");
        assert_eq!(decode_file_record(&bytes), Decoded::Newer(3));
        record.version = 0;
        let bytes = encode_file_record(&record).expect("encodes");
        assert_eq!(
            decode_file_record(&bytes),
            Decoded::Damaged("record version 0".to_string())
        );
    }

    #[test]
    fn decoding_tells_newer_from_damaged() {
        assert_eq!(
            decode_file_record(br#"{"version": 3, "whatever": true}"#),
            Decoded::Newer(3)
        );
        let damaged = |bytes: &[u8]| match decode_file_record(bytes) {
            Decoded::Damaged(reason) => reason,
            other => panic!("expected damaged, got {other:?}"),
        };
        assert!(damaged(b"\x00\x01garbage").starts_with("not a versioned record"));
        assert!(damaged(br#"{"version": 1}"#).starts_with("unreadable file record"));
        assert_eq!(damaged(br#"{"version": 0}"#), "record version 0");
    }

    #[test]
    fn dismissals_round_trip() {
        let dismissal = Dismissal {
            uri: "file:///project/src/lib.rs".to_string(),
            origin: Origin::Generated,
            lines: 14,
            created_ms: 1_000,
            dismissed_ms: 2_000,
            rule: None,
        };
        let bytes = encode_dismissal(&dismissal).expect("encodes");
        assert_eq!(decode_dismissal(&bytes), Decoded::Current(dismissal));
        expect![[r#"{"version":1,"uri":"file:///project/src/lib.rs","origin":"generated","lines":14,"created_ms":1000,"dismissed_ms":2000}"#]]
            .assert_eq(&String::from_utf8_lossy(&bytes));
        assert_eq!(
            decode_dismissal(br#"{"version":1,"uri":"","origin":"borrowed","lines":1,"created_ms":0,"dismissed_ms":0}"#),
            Decoded::Damaged("unknown origin \"borrowed\"".to_string())
        );
    }

    pub(crate) fn ended_session() -> CalibrationSession {
        let mut session = CalibrationSession::start(Some("parser".to_string()), Some(45), 60_000);
        session.record_edit("file:///w/src/parse.rs", 120_000, 40, 2);
        session.record_breach(Breach {
            at_ms: 180_000,
            uri: "file:///w/src/parse.rs".to_string(),
            origin: Origin::Pasted,
            lines: 12,
            chunk: Some(ChunkId(7)),
        });
        session.end(240_000, EndReason::Stopped);
        session.feel = Some(4);
        session.notes = Some("slow start".to_string());
        session
    }

    #[test]
    fn the_format_of_a_calibration_session() {
        let session = ended_session();
        let bytes = encode_calibration_session(&session).expect("encodes");
        assert_eq!(
            decode_calibration_session(&bytes),
            Decoded::Current(session.clone())
        );
        let json =
            serde_json::to_string_pretty(&calibration_session_to_record(&session)).expect("json");
        expect![[r#"
            {
              "version": 1,
              "started_ms": 60000,
              "label": "parser",
              "planned_minutes": 45,
              "ended_ms": 240000,
              "ended_because": "stopped",
              "feel": 4,
              "notes": "slow start",
              "typed_chars": 40,
              "typed_lines": 2,
              "active_ms": 180000,
              "last_activity_ms": 240000,
              "files": [
                "file:///w/src/parse.rs"
              ],
              "breaches": [
                {
                  "at_ms": 180000,
                  "uri": "file:///w/src/parse.rs",
                  "origin": "pasted",
                  "lines": 12,
                  "chunk": 7
                }
              ]
            }"#]]
        .assert_eq(&json);
        let running = CalibrationSession::start(None, None, 5);
        let bytes = encode_calibration_session(&running).expect("encodes");
        assert_eq!(
            decode_calibration_session(&bytes),
            Decoded::Current(running)
        );
    }

    #[test]
    fn inconsistent_calibration_sessions_are_refused() {
        type Spoil = fn(&mut CalibrationSessionV1);
        let cases: &[(Spoil, &str)] = &[
            (
                |record| record.ended_because = Some("bored".to_string()),
                "unknown end reason \"bored\"",
            ),
            (
                |record| record.ended_because = None,
                "the session ended but says not why",
            ),
            (
                |record| record.ended_ms = None,
                "the session says why it ended but not when",
            ),
            (
                |record| record.feel = Some(0),
                "feel 0 is not between 1 and 5",
            ),
            (
                |record| record.feel = Some(6),
                "feel 6 is not between 1 and 5",
            ),
            (
                |record| record.breaches[0].origin = "typed-fast".to_string(),
                "a breach: unknown origin \"typed-fast\"",
            ),
            (
                |record| record.version = 2,
                "a version 1 calibration session says it is version 2",
            ),
        ];
        for (spoil, expected) in cases {
            let mut record = calibration_session_to_record(&ended_session());
            spoil(&mut record);
            assert_eq!(
                calibration_session_from_record(record).err().as_deref(),
                Some(*expected)
            );
        }
        let mut unrated = ended_session();
        unrated.feel = Some(9);
        assert_eq!(
            encode_calibration_session(&unrated).err().as_deref(),
            Some("feel 9 is not between 1 and 5")
        );
        assert_eq!(
            decode_calibration_session(br#"{"version": 4}"#),
            Decoded::Newer(4)
        );
        assert!(matches!(
            decode_calibration_session(br#"{"version": 1, "started_ms": "soon"}"#),
            Decoded::Damaged(reason) if reason.starts_with("unreadable version 1 calibration session")
        ));
    }

    #[test]
    fn the_format_of_a_day_of_activity() {
        let day = DayActivity {
            day: 20_090,
            lines: ByOrigin::from([30, 40, 0, 2, 0, 1]),
            typed_chars: 900,
            active_ms: 3_600_000,
            calibration_lines: ByOrigin::from([10, 0, 0, 0, 0, 0]),
            calibration_active_ms: 600_000,
        };
        let bytes = encode_day_activity(&day).expect("encodes");
        assert_eq!(decode_day_activity(&bytes), Decoded::Current(day.clone()));
        expect![[r#"{"version":1,"day":20090,"lines":{"external":0,"generated":0,"moved":2,"pasted":40,"restored":1,"typed":30},"typed_chars":900,"active_ms":3600000,"calibration_lines":{"external":0,"generated":0,"moved":0,"pasted":0,"restored":0,"typed":10},"calibration_active_ms":600000}"#]]
            .assert_eq(&String::from_utf8_lossy(&bytes));
        // Missing origins read as 0; unknown ones make the record damaged.
        assert_eq!(
            decode_day_activity(
                br#"{"version":1,"day":3,"lines":{"pasted":5},"typed_chars":0,"active_ms":0,"calibration_lines":{},"calibration_active_ms":0}"#
            ),
            Decoded::Current(DayActivity {
                day: 3,
                lines: ByOrigin::from([0, 5, 0, 0, 0, 0]),
                ..DayActivity::default()
            })
        );
        assert_eq!(
            decode_day_activity(
                br#"{"version":1,"day":3,"lines":{},"typed_chars":0,"active_ms":0,"calibration_lines":{"dictated":1},"calibration_active_ms":0}"#
            ),
            Decoded::Damaged("calibration lines: unknown origin \"dictated\"".to_string())
        );
        assert_eq!(decode_day_activity(br#"{"version": 2}"#), Decoded::Newer(2));
    }
}
