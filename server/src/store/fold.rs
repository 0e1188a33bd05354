//! Folding the journal into the database, and checking the database against it.
//!
//! The holder folds when it opens the database and whenever the log grew. Each entry is applied
//! so that nothing the journal holds is missing from the database afterwards, and nothing newer in
//! the database is undone:
//!
//! - a file entry brings back its judgements: where the stored record lacks the record (or, for
//!   an entry the database has not confirmed yet, lacks a chunk the entry judged or still holds one
//!   it removed) the journal's record is saved with the stored chunks' newer judgements kept;
//!   otherwise the stored record only takes the journal's newer judgements;
//! - a dismissal is recorded (the store keeps one copy of each);
//! - a session is brought as far as the journal saw it (ended, rated), counts never lowered;
//! - a declaration is kept unless the store knows it (pending, or applied since) or it is older
//!   than a week; those kept are returned, for the holder to tell the windows.
//!
//! After folding, the holder writes the newest stamp folded into the database (the setting
//! [`CHECKED_SETTING`]), flushes, and appends a checkpoint with the same stamp to the journal. A
//! database whose setting is older than the journal's last checkpoint lost changes it had
//! confirmed on disk: damage that sled did not report (a truncated or overwritten file). That is
//! said, and every entry after what the database still confirms is applied as unconfirmed.

use std::collections::{BTreeMap, HashSet};

use crate::core::Chunk;
use crate::core::calibration::CalibrationSession;
use crate::core::declared::{self, Declaration};
use crate::store::journal::{Entry, Journal, Stamped};
use crate::store::protocol::WireKey;
use crate::store::{FileKey, FileRecord, Store, StoreError, keep_newer_judgements, records};

/// The store setting holding the newest journal stamp the database holds on disk.
pub const CHECKED_SETTING: &str = "journal_checked_ms";
/// A log larger than this is rewritten with only what still counts.
const COMPACT_ABOVE_BYTES: u64 = 1 << 20;

/// What a fold did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Folded {
    /// Entries applied.
    pub entries: usize,
    /// Judgements (files, dismissals, sessions) the database lacked and got from the journal.
    pub restored: usize,
    /// The database had lost changes it had confirmed on disk.
    pub lost_confirmed: bool,
    /// Journal lines that could not be read.
    pub unreadable: usize,
    /// Declarations the store did not have yet.
    pub declared: Vec<(FileKey, Declaration)>,
}

impl Folded {
    /// What the user must be told, if anything.
    pub fn notice(&self, folder: &std::path::Path) -> Option<String> {
        if self.lost_confirmed {
            return Some(format!(
                "The whetstone store in {} had lost recent changes (its database file was \
                 damaged, and the database did not notice). Whetstone brought back {} of your \
                 classifications, explanations, dismissals and calibration sessions from its \
                 journal; ownership maps of files you did not judge may be older than they were.",
                folder.display(),
                self.restored
            ));
        }
        None
    }
}

/// Folds every entry of `journal` into `store` and records how far the store holds it.
pub fn fold(store: &dyn Store, journal: &Journal) -> Result<Folded, StoreError> {
    let contents = journal.read().map_err(journal_error)?;
    let checked_ms = store
        .setting(CHECKED_SETTING)?
        .and_then(|value| value.parse::<u64>().ok())
        .unwrap_or(0);
    let last_checkpoint = contents
        .entries
        .iter()
        .filter_map(|line| match line.entry {
            Entry::Checkpoint { checked_ms } => Some(checked_ms),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let mut folded = Folded {
        lost_confirmed: last_checkpoint > checked_ms,
        unreadable: contents.unreadable,
        ..Folded::default()
    };
    if folded.lost_confirmed {
        tracing::warn!(
            "the store's database confirms the journal up to {checked_ms}, but it had confirmed \
             {last_checkpoint}: it lost changes; applying the journal again"
        );
    }
    let mut newest = checked_ms;
    for line in &contents.entries {
        if matches!(line.entry, Entry::Checkpoint { .. }) {
            continue;
        }
        if let Entry::Declaration { key, declaration } = &line.entry {
            match fold_declaration(store, key, declaration) {
                Ok(kept) => {
                    folded.entries += 1;
                    folded.declared.extend(kept);
                }
                Err(error) => tracing::warn!("cannot fold a declaration into the store: {error}"),
            }
            newest = newest.max(line.at_ms);
            continue;
        }
        let confirmed = line.at_ms <= checked_ms;
        match apply(store, &line.entry, confirmed) {
            Ok(restored) => {
                folded.entries += 1;
                folded.restored += usize::from(restored);
            }
            // A record a newer whetstone wrote, or one the store refuses: said, and the rest goes
            // on (the entry stays in the journal).
            Err(error) => tracing::warn!("cannot fold a journal entry into the store: {error}"),
        }
        newest = newest.max(line.at_ms);
    }
    if newest > checked_ms || folded.lost_confirmed {
        store.set_setting(CHECKED_SETTING, &newest.to_string())?;
        store.flush()?;
        journal
            .append(&[Entry::Checkpoint { checked_ms: newest }])
            .map_err(journal_error)?;
    }
    // Only when most of the log is superseded: a huge file's one record is no reason.
    let files = contents
        .entries
        .iter()
        .filter(|line| matches!(line.entry, Entry::File { .. }))
        .count();
    let distinct_files = contents
        .entries
        .iter()
        .filter_map(|line| match &line.entry {
            Entry::File { key, .. } => Some(WireKeyOrder::of(key)),
            _ => None,
        })
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let checkpoints = contents.entries.len().saturating_sub(folded.entries);
    if journal.log_bytes() > COMPACT_ABOVE_BYTES
        && (files > 2 * distinct_files || checkpoints > 2 * folded.entries.max(1))
        && let Err(error) = journal.rewrite(compact)
    {
        tracing::warn!("cannot compact the store's journal: {error}");
    }
    if folded.restored > 0 {
        tracing::info!(
            "folded the journal: {} entries, {} judgements brought back",
            folded.entries,
            folded.restored
        );
    }
    Ok(folded)
}

/// Applies one entry; true when it brought back something the store lacked.
fn apply(store: &dyn Store, entry: &Entry, confirmed: bool) -> Result<bool, StoreError> {
    match entry {
        Entry::File {
            key,
            record,
            judged,
            removed,
        } => {
            let key = FileKey::from(key.clone());
            let journaled = records::from_record(record.clone()).map_err(|reason| {
                StoreError::InvalidRecord {
                    target: format!("file {key} in the journal"),
                    reason,
                }
            })?;
            fold_file(store, &key, journaled, judged, removed, confirmed)
        }
        Entry::Dismissal { key, dismissal } => {
            let key = FileKey::from(key.clone());
            let dismissal =
                records::dismissal_from_record(dismissal.clone()).map_err(|reason| {
                    StoreError::InvalidRecord {
                        target: format!("a dismissal in file {key} in the journal"),
                        reason,
                    }
                })?;
            let known = store
                .dismissals()?
                .iter()
                .any(|(stored_key, stored)| *stored_key == key && *stored == dismissal);
            if !known {
                store.record_dismissal(&key, &dismissal)?;
            }
            Ok(!known)
        }
        Entry::Session { session } => {
            let journaled =
                records::calibration_session_from_record(session.clone()).map_err(|reason| {
                    StoreError::InvalidRecord {
                        target: "a calibration session in the journal".to_string(),
                        reason,
                    }
                })?;
            let stored = store
                .calibration_sessions()?
                .into_iter()
                .find(|stored| stored.started_ms == journaled.started_ms);
            match merge_session(stored.as_ref(), journaled) {
                Some(merged) => {
                    store.save_calibration_session(&merged)?;
                    Ok(true)
                }
                None => Ok(false),
            }
        }
        Entry::Checkpoint { .. } | Entry::Declaration { .. } => Ok(false),
    }
}

/// Keeps a journaled declaration the store does not know; returns it when it was kept.
fn fold_declaration(
    store: &dyn Store,
    key: &WireKey,
    declaration: &records::DeclarationV1,
) -> Result<Option<(FileKey, Declaration)>, StoreError> {
    let key = FileKey::from(key.clone());
    let declaration = records::declaration_from_record(declaration.clone()).map_err(|reason| {
        StoreError::InvalidRecord {
            target: format!("a declaration in file {key} in the journal"),
            reason,
        }
    })?;
    Ok(store
        .declare(&key, &declaration)?
        .then_some((key, declaration)))
}

fn fold_file(
    store: &dyn Store,
    key: &FileKey,
    mut journaled: FileRecord,
    judged: &[u64],
    removed: &[u64],
    confirmed: bool,
) -> Result<bool, StoreError> {
    let stored = match store.load_file(key) {
        Ok(stored) => stored,
        // Moved aside by the load and reported there: the journal's record replaces it.
        Err(StoreError::Damaged { .. }) => None,
        Err(error) => return Err(error),
    };
    let Some(mut stored) = stored else {
        if confirmed {
            // The database held it once and no longer does: the file was removed since.
            return Ok(false);
        }
        store.save_file(key, &journaled)?;
        return Ok(true);
    };
    let has = |chunks: &[Chunk], id: u64| chunks.iter().any(|chunk| chunk.id.0 == id);
    let behind = judged.iter().any(|&id| !has(&stored.chunks, id))
        || removed.iter().any(|&id| has(&stored.chunks, id));
    if behind && !confirmed {
        keep_newer_judgements(&stored.chunks, &mut journaled.chunks);
        store.save_file(key, &journaled)?;
        return Ok(true);
    }
    if keep_newer_judgements(&journaled.chunks, &mut stored.chunks) {
        store.save_file(key, &stored)?;
        return Ok(true);
    }
    Ok(false)
}

/// The session the store should hold: as far along as either says (ended, rated), with the
/// larger counts. None when the stored one needs nothing from the journal's.
fn merge_session(
    stored: Option<&CalibrationSession>,
    journaled: CalibrationSession,
) -> Option<CalibrationSession> {
    let Some(stored) = stored else {
        return Some(journaled);
    };
    let mut merged = stored.clone();
    if merged.ended_ms.is_none() && journaled.ended_ms.is_some() {
        merged.ended_ms = journaled.ended_ms;
        merged.ended_because = journaled.ended_because;
    }
    if merged.feel.is_none() && journaled.feel.is_some() {
        merged.feel = journaled.feel;
    }
    if merged.notes.is_none() {
        merged.notes.clone_from(&journaled.notes);
    }
    merged.typed_chars = merged.typed_chars.max(journaled.typed_chars);
    merged.typed_lines = merged.typed_lines.max(journaled.typed_lines);
    merged.active_ms = merged.active_ms.max(journaled.active_ms);
    merged.last_activity_ms = merged.last_activity_ms.max(journaled.last_activity_ms);
    merged.files.extend(journaled.files);
    for breach in journaled.breaches {
        if !merged.breaches.contains(&breach) {
            merged.breaches.push(breach);
        }
    }
    (merged != *stored).then_some(merged)
}

/// What a rewrite of the log keeps: the newest entry of each file and session, each dismissal
/// once, the declarations of the last week, the last checkpoint. An older file entry says nothing the newest does not (it is the
/// whole record, judgements included).
pub fn compact(lines: Vec<Stamped>) -> Vec<Stamped> {
    let mut newest_file: BTreeMap<WireKeyOrder, usize> = BTreeMap::new();
    let mut newest_session: BTreeMap<u64, usize> = BTreeMap::new();
    let mut last_checkpoint = None;
    let mut seen_dismissals = HashSet::new();
    let mut keep = vec![false; lines.len()];
    let newest_stamp = lines.iter().map(|line| line.at_ms).max().unwrap_or(0);
    for (index, line) in lines.iter().enumerate() {
        match &line.entry {
            // A declaration older than a week is refused by the store anyway.
            Entry::Declaration { .. } => {
                keep[index] = newest_stamp.saturating_sub(line.at_ms) <= declared::MAX_AGE_MS;
            }
            Entry::File { key, .. } => {
                newest_file.insert(WireKeyOrder::of(key), index);
            }
            Entry::Session { session } => {
                newest_session.insert(session.started_ms, index);
            }
            Entry::Checkpoint { .. } => last_checkpoint = Some(index),
            Entry::Dismissal { key, dismissal } => {
                let text = serde_json::to_string(&(key, dismissal)).unwrap_or_default();
                keep[index] = seen_dismissals.insert(text);
            }
        }
    }
    for index in newest_file
        .into_values()
        .chain(newest_session.into_values())
        .chain(last_checkpoint)
    {
        keep[index] = true;
    }
    lines
        .into_iter()
        .zip(keep)
        .filter_map(|(line, kept)| kept.then_some(line))
        .collect()
}

/// A [`WireKey`] as a map key.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct WireKeyOrder(String, String);

impl WireKeyOrder {
    fn of(key: &WireKey) -> WireKeyOrder {
        WireKeyOrder(key.workspace.clone(), key.path.clone())
    }
}

fn journal_error(error: std::io::Error) -> StoreError {
    StoreError::Journal(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Class;
    use crate::store::MemoryStore;
    use crate::store::tests::{key, record_with_chunk};

    fn classified(lines: usize, chunk: u64, class: Class, at_ms: u64) -> FileRecord {
        let mut record = record_with_chunk(lines, chunk);
        record.chunks[0].class = Some(class);
        record.chunks[0].classified_ms = Some(at_ms);
        record
    }

    fn file_entry(file: &FileKey, record: &FileRecord, judged: &[u64]) -> Entry {
        Entry::File {
            key: file.into(),
            record: records::to_record(record),
            judged: judged.to_vec(),
            removed: Vec::new(),
        }
    }

    #[test]
    fn a_judgement_the_store_never_got_is_brought_back() {
        let folder = tempfile::tempdir().expect("tempdir");
        let journal = Journal::in_store(folder.path());
        let store = MemoryStore::new();
        let file = key("/w", "a.rs");
        store
            .save_file(&file, &record_with_chunk(5, 3))
            .expect("an older map");
        let judged = classified(5, 3, Class::Core, 1_000);
        journal
            .append(&[file_entry(&file, &judged, &[3])])
            .expect("journal");
        let folded = fold(&store, &journal).expect("fold");
        assert_eq!((folded.entries, folded.restored), (1, 1));
        assert!(!folded.lost_confirmed);
        assert_eq!(store.load_file(&file).expect("load"), Some(judged.clone()));
        // Folding again changes nothing, and the store now confirms the entry.
        let again = fold(&store, &journal).expect("fold");
        assert_eq!(again.restored, 0);
        assert!(
            store
                .setting(CHECKED_SETTING)
                .expect("setting")
                .is_some_and(|value| value.parse::<u64>().is_ok())
        );
    }

    #[test]
    fn a_newer_map_in_the_store_keeps_its_map_and_takes_the_judgement() {
        let folder = tempfile::tempdir().expect("tempdir");
        let journal = Journal::in_store(folder.path());
        let store = MemoryStore::new();
        let file = key("/w", "a.rs");
        // The store has the chunk, on a map that grew since (typing after the classify).
        store
            .save_file(&file, &record_with_chunk(9, 3))
            .expect("a newer map");
        journal
            .append(&[file_entry(
                &file,
                &classified(5, 3, Class::Repeatable, 1_000),
                &[3],
            )])
            .expect("journal");
        fold(&store, &journal).expect("fold");
        let kept = store.load_file(&file).expect("load").expect("a record");
        assert_eq!(kept.snapshot, record_with_chunk(9, 3).snapshot);
        assert_eq!(kept.chunks[0].class, Some(Class::Repeatable));
    }

    /// The database lost a suffix of its log (a truncated file) without saying so: the journal's
    /// checkpoint is newer than what the database confirms.
    #[test]
    fn a_database_that_lost_confirmed_changes_is_found_and_refilled() {
        let folder = tempfile::tempdir().expect("tempdir");
        let journal = Journal::in_store(folder.path());
        let file = key("/w", "a.rs");
        let judged = classified(5, 3, Class::Core, 1_000);
        journal
            .append(&[file_entry(&file, &judged, &[3])])
            .expect("journal");
        let before = MemoryStore::new();
        fold(&before, &journal).expect("fold");
        // A store that has nothing of it, as a database that lost its newest writes.
        let damaged = MemoryStore::new();
        let folded = fold(&damaged, &journal).expect("fold");
        assert!(folded.lost_confirmed);
        assert_eq!(folded.restored, 1);
        assert!(folded.notice(folder.path()).is_some());
        assert_eq!(damaged.load_file(&file).expect("load"), Some(judged));
    }

    #[test]
    fn a_dismissal_and_a_session_are_brought_back_once() {
        use crate::core::calibration::EndReason;
        let folder = tempfile::tempdir().expect("tempdir");
        let journal = Journal::in_store(folder.path());
        let store = MemoryStore::new();
        let file = key("/w", "a.rs");
        let dismissal = crate::core::engine::Dismissal {
            uri: "file:///w/a.rs".to_string(),
            origin: crate::core::Origin::Pasted,
            lines: 4,
            created_ms: 10,
            dismissed_ms: 20,
            rule: None,
        };
        let mut session = CalibrationSession::start(None, Some(30), 1_000);
        store.save_calibration_session(&session).expect("running");
        session.end(2_000, EndReason::Stopped);
        session.feel = Some(4);
        journal
            .append(&[
                Entry::Dismissal {
                    key: (&file).into(),
                    dismissal: records::dismissal_to_record(&dismissal),
                },
                Entry::Session {
                    session: records::calibration_session_to_record(&session),
                },
            ])
            .expect("journal");
        let folded = fold(&store, &journal).expect("fold");
        assert_eq!(folded.restored, 2);
        assert_eq!(
            store.dismissals().expect("dismissals"),
            vec![(file, dismissal)]
        );
        assert_eq!(
            store.calibration_sessions().expect("sessions"),
            vec![session]
        );
        assert_eq!(fold(&store, &journal).expect("fold").restored, 0);
    }

    /// A declaration journaled by a command that could not reach the holder is kept once, and
    /// one applied since is not brought back by a later fold.
    #[test]
    fn a_journaled_declaration_is_kept_once_and_not_revived_once_applied() {
        let folder = tempfile::tempdir().expect("tempdir");
        let journal = Journal::in_store(folder.path());
        let store = MemoryStore::new();
        let file = key("", "/w/a.rs");
        let declaration = Declaration {
            id: 42,
            origin: crate::core::Origin::Generated,
            agent: "codex".to_string(),
            model: None,
            declared_ms: crate::store::now_ms(),
            start_line: 3,
            before: Vec::new(),
            lines: vec!["let answer = 42;".to_string()],
            after: Vec::new(),
        };
        journal
            .append(&[Entry::declaration(&file, &declaration)])
            .expect("journal");
        let folded = fold(&store, &journal).expect("fold");
        assert_eq!(folded.declared, vec![(file.clone(), declaration.clone())]);
        assert_eq!(folded.restored, 0, "a declaration is not a repair");
        assert_eq!(
            store.declarations(&file).expect("declarations"),
            vec![declaration.clone()]
        );
        assert!(fold(&store, &journal).expect("fold").declared.is_empty());
        store.consume_declarations(&file, &[42]).expect("consume");
        assert!(fold(&store, &journal).expect("fold").declared.is_empty());
        assert!(store.declarations(&file).expect("declarations").is_empty());
    }

    #[test]
    fn compaction_keeps_the_newest_of_each() {
        let file = key("/w", "a.rs");
        let line = |at_ms: u64, entry: Entry| Stamped {
            version: 1,
            at_ms,
            entry,
        };
        let lines = vec![
            line(
                1,
                file_entry(&file, &classified(5, 3, Class::Core, 1), &[3]),
            ),
            line(2, Entry::Checkpoint { checked_ms: 1 }),
            line(
                3,
                file_entry(&file, &classified(5, 3, Class::Repeatable, 3), &[3]),
            ),
            line(4, Entry::Checkpoint { checked_ms: 3 }),
        ];
        let kept: Vec<u64> = compact(lines).iter().map(|line| line.at_ms).collect();
        assert_eq!(kept, vec![3, 4]);
    }
}
