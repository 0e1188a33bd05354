//! The store on disk: a sled database in `<store folder>/db`, with the trees `meta` (schema
//! version, next chunk id), `files` (each file's record without its line keys), `line_keys` (each
//! file's line keys, keyed like `files`), `dismissals`, `calibration` (sessions keyed by their start,
//! milliseconds big-endian), `activity` (days keyed by their number, big-endian), `settings` (UTF-8
//! text keyed by name), `declarations` (each file's declared lines waiting for a window, keyed
//! like `files`) and `damaged` (records that could not be read, kept byte for byte).
//!
//! What sled 0.34 does with a bad database, found by trying: a second open (same process or
//! another) fails with an io error "could not acquire lock"; a garbage `conf` file fails with
//! `Unsupported` or `Corruption`; a `db` that is a regular file fails with "not a directory". But
//! a garbage or truncated data file usually opens *successfully*, with whatever prefix of the log
//! it could read (often nothing), and sometimes panics inside `open` ("tried to serialize
//! Uninitialized"). So open also catches panics, and a database that existed but comes back
//! without its schema version is taken as damaged rather than as new.

use std::panic::AssertUnwindSafe;
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use crate::core::activity::DayActivity;
use crate::core::calibration::CalibrationSession;
use crate::core::declared::Declaration;
use crate::core::engine::Dismissal;
use crate::store::records::{self, Decoded};
use crate::store::{
    DATABASE_FOLDER, FileKey, FileRecord, OpenFailure, SCHEMA_VERSION, Store, StoreError,
    activity_target, add_day, calibration_target, move_database_aside, utc_stamp,
};

const META_TREE: &str = "meta";
const FILES_TREE: &str = "files";
const LINE_KEYS_TREE: &str = "line_keys";
const DISMISSALS_TREE: &str = "dismissals";
const CALIBRATION_TREE: &str = "calibration";
const ACTIVITY_TREE: &str = "activity";
const SETTINGS_TREE: &str = "settings";
const DECLARATIONS_TREE: &str = "declarations";
const DAMAGED_TREE: &str = "damaged";

const SCHEMA_VERSION_KEY: &str = "schema_version";
const NEXT_CHUNK_ID_KEY: &str = "next_chunk_id";

/// sled's default page cache is 1 GiB; the store holds maps and chunks, a few megabytes at most.
const CACHE_BYTES: u64 = 64 * 1024 * 1024;

pub struct SledStore {
    folder: PathBuf,
    database: sled::Db,
    meta: sled::Tree,
    files: sled::Tree,
    /// Written with `files` in one transaction: a head of version 3 has its keys here.
    line_keys: sled::Tree,
    dismissals: sled::Tree,
    calibration: sled::Tree,
    activity: sled::Tree,
    settings: sled::Tree,
    declarations: sled::Tree,
    damaged: sled::Tree,
    /// The schema version found, when it is newer than this build's: the store is then read and
    /// never written.
    newer_schema: Option<u32>,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SledStore")
            .field("folder", &self.folder)
            .finish_non_exhaustive()
    }
}

/// Why sled did not hand over a database.
#[derive(Debug)]
enum SledOpenError {
    Sled(sled::Error),
    Panicked(String),
}

/// What an open error means for the user.
#[derive(Debug)]
enum OpenErrorKind {
    Locked,
    Damaged(String),
    Io(std::io::Error),
}

fn judge_open_error(error: SledOpenError) -> OpenErrorKind {
    match error {
        SledOpenError::Panicked(message) => OpenErrorKind::Damaged(format!(
            "the database library crashed reading it: {message}"
        )),
        SledOpenError::Sled(sled::Error::Io(error)) => {
            // sled wraps the failed flock in an `Other` error; only its text says so.
            if error.kind() == std::io::ErrorKind::WouldBlock
                || error.to_string().contains("could not acquire lock")
            {
                return OpenErrorKind::Locked;
            }
            match error.kind() {
                // The layout is wrong (`db` or `db/conf` of the wrong kind, short reads), not the
                // disk: moving it aside is the cure.
                std::io::ErrorKind::NotADirectory
                | std::io::ErrorKind::IsADirectory
                | std::io::ErrorKind::InvalidData
                | std::io::ErrorKind::UnexpectedEof => {
                    OpenErrorKind::Damaged(format!("unreadable database files: {error}"))
                }
                _ => OpenErrorKind::Io(error),
            }
        }
        // A garbage `conf` comes back as `Unsupported` ("created using a sled version earlier than
        // 0.29") or as `Corruption`.
        SledOpenError::Sled(error) => OpenErrorKind::Damaged(error.to_string()),
    }
}

fn open_sled(database: &Path) -> Result<sled::Db, SledOpenError> {
    let config = sled::Config::new()
        .path(database)
        .cache_capacity(CACHE_BYTES);
    // sled 0.34 panics on some damaged logs instead of returning an error.
    match std::panic::catch_unwind(AssertUnwindSafe(|| config.open())) {
        Ok(result) => result.map_err(SledOpenError::Sled),
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|text| text.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".to_string());
            Err(SledOpenError::Panicked(message))
        }
    }
}

/// Moves the closed, damaged database aside and says so.
fn damaged(folder: &Path, reason: String) -> OpenFailure {
    match move_database_aside(folder) {
        Ok(moved_to) => OpenFailure::Damaged {
            path: folder.to_path_buf(),
            moved_to: Some(moved_to),
            reason,
        },
        Err(error) => OpenFailure::Damaged {
            path: folder.to_path_buf(),
            moved_to: None,
            reason: format!("{reason}; moving it aside failed: {error}"),
        },
    }
}

/// Beside `db` from before sled creates it until its schema version is flushed: a process killed
/// in between leaves a database without a version that is new, not damaged (found by the crash
/// test, a kill 55 ms into a store's first open).
const CREATING_MARKER: &str = "db.creating";

/// Writes the creation marker and makes it durable before sled writes anything.
fn mark_creation(folder: &Path, marker: &Path) -> std::io::Result<()> {
    std::fs::File::create(marker)?.sync_all()?;
    std::fs::File::open(folder)?.sync_all()
}

impl SledStore {
    /// Opens the database in `<folder>/db`; `folder` exists.
    pub(crate) fn open_in(folder: &Path) -> Result<SledStore, OpenFailure> {
        let io_failure = |source: std::io::Error| OpenFailure::Io {
            path: folder.to_path_buf(),
            source,
        };
        let database_path = folder.join(DATABASE_FOLDER);
        // Not followed: a `db` that is a link would put the database, and its mode, wherever the
        // link points (see `prepare_folder` for the store folder itself).
        match std::fs::symlink_metadata(&database_path) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                return Err(OpenFailure::SymbolicLink {
                    path: folder.to_path_buf(),
                    target: std::fs::read_link(&database_path).ok(),
                    link: database_path,
                });
            }
            Ok(metadata) if !metadata.is_dir() => {
                return Err(damaged(
                    folder,
                    format!("{} is not a folder", database_path.display()),
                ));
            }
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                return Err(io_failure(error));
            }
            _ => {}
        }
        // `db` is sled's log: a database that wrote anything has bytes there. sled writes `conf`
        // first, so a process killed while it created the store leaves `conf` and an empty
        // log: a new store, not a damaged one (taking it for damaged moved it aside and told the
        // user so, found by the crash test).
        let existed = std::fs::metadata(database_path.join("db")).is_ok_and(|data| data.len() > 0);
        // sled writes more than `conf` before the schema version is flushed (its trees): the
        // marker says that a database without its version is a creation that never finished,
        // not a store whose log could not be read.
        let creating = folder.join(CREATING_MARKER);
        let unfinished = creating.exists();
        if !existed && !unfinished {
            mark_creation(folder, &creating).map_err(io_failure)?;
        }

        let database = match open_sled(&database_path) {
            Ok(database) => database,
            Err(error) => {
                return Err(match judge_open_error(error) {
                    OpenErrorKind::Locked => OpenFailure::Locked {
                        path: folder.to_path_buf(),
                    },
                    OpenErrorKind::Damaged(reason) => damaged(folder, reason),
                    OpenErrorKind::Io(error) => io_failure(error),
                });
            }
        };
        let store =
            SledStore::with_trees(folder, database).map_err(|error| io_failure(error.into()))?;

        let schema = store
            .meta
            .get(SCHEMA_VERSION_KEY)
            .map_err(|error| io_failure(error.into()))?;
        let mut store = store;
        match schema.as_deref().map(parse_decimal) {
            Some(Some(found)) if found > u64::from(SCHEMA_VERSION) => {
                // Read, never written: not even the next chunk id is repaired.
                store.newer_schema = Some(u32::try_from(found).unwrap_or(u32::MAX));
                return Ok(store);
            }
            Some(Some(found)) if found >= 1 => {}
            Some(_) => {
                let value = schema
                    .as_deref()
                    .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
                    .unwrap_or_default();
                drop(store);
                return Err(damaged(
                    folder,
                    format!("its schema version is unreadable ({value:?})"),
                ));
            }
            None if existed && !unfinished => {
                // Every store gets its schema version, flushed, before `open` returns: one without
                // it is a database whose log sled could not read and silently skipped.
                drop(store);
                return Err(damaged(
                    folder,
                    "its data could not be read (the database came back empty)".to_string(),
                ));
            }
            None => {
                store
                    .meta
                    .insert(SCHEMA_VERSION_KEY, SCHEMA_VERSION.to_string().as_bytes())
                    .map_err(|error| io_failure(error.into()))?;
            }
        }
        store
            .repair_next_chunk_id()
            .map_err(|error| io_failure(std::io::Error::other(error.to_string())))?;
        store
            .database
            .flush()
            .map_err(|error| io_failure(error.into()))?;
        if creating.exists() {
            // The version is on disk: the database is whole. A marker left behind only makes the
            // next open take a store without a version for new, so a failure here is logged.
            if let Err(error) = std::fs::remove_file(&creating) {
                tracing::warn!("cannot remove {}: {error}", creating.display());
            }
        }
        Ok(store)
    }

    fn with_trees(folder: &Path, database: sled::Db) -> sled::Result<SledStore> {
        Ok(SledStore {
            folder: folder.to_path_buf(),
            meta: database.open_tree(META_TREE)?,
            files: database.open_tree(FILES_TREE)?,
            line_keys: database.open_tree(LINE_KEYS_TREE)?,
            dismissals: database.open_tree(DISMISSALS_TREE)?,
            calibration: database.open_tree(CALIBRATION_TREE)?,
            activity: database.open_tree(ACTIVITY_TREE)?,
            settings: database.open_tree(SETTINGS_TREE)?,
            declarations: database.open_tree(DECLARATIONS_TREE)?,
            damaged: database.open_tree(DAMAGED_TREE)?,
            database,
            newer_schema: None,
        })
    }

    /// The schema version of a store written by a newer whetstone, which this one opened
    /// read-only.
    pub fn newer_schema(&self) -> Option<u32> {
        self.newer_schema
    }

    /// Refuses every write to a store of a newer schema.
    fn writable(&self) -> Result<(), StoreError> {
        match self.newer_schema {
            Some(_) => Err(StoreError::ReadOnly),
            None => Ok(()),
        }
    }

    /// Makes sure `next_chunk_id` is there and readable. A missing or unreadable one is counted
    /// again from the file records (an unreadable one is kept in `damaged` first): handing out a
    /// chunk id twice would merge two chunks' verdicts.
    fn repair_next_chunk_id(&self) -> Result<(), StoreError> {
        let stored = self
            .meta
            .get(NEXT_CHUNK_ID_KEY)
            .map_err(database_error("read", "the next chunk id"))?;
        if stored.as_deref().and_then(parse_decimal).is_some() {
            return Ok(());
        }
        if let Some(bytes) = &stored {
            let kept_as = self.keep_damaged(META_TREE, NEXT_CHUNK_ID_KEY.as_bytes(), bytes)?;
            tracing::warn!(
                "the store's next chunk id was unreadable; kept as {kept_as} and counted again"
            );
        }
        let mut next = 1;
        for entry in self.files.iter() {
            let (_, bytes) = entry.map_err(database_error("read", "the file records"))?;
            // Damaged and newer records are reported when they are loaded; their ids are unknown.
            if let Decoded::Current(stored) = records::decode_stored_file(&bytes) {
                next = next.max(super::next_chunk_id_after(stored.chunks()));
            }
        }
        self.meta
            .insert(NEXT_CHUNK_ID_KEY, next.to_string().as_bytes())
            .map_err(database_error("write", "the next chunk id"))?;
        Ok(())
    }

    /// Copies bytes that could not be read to the `damaged` tree, under a key that starts with the
    /// time, and returns that key, readable.
    fn keep_damaged(&self, tree: &str, key: &[u8], bytes: &[u8]) -> Result<String, StoreError> {
        let (damaged_key, kept_as) = self.damaged_key(tree, key)?;
        self.damaged
            .insert(damaged_key, bytes)
            .map_err(database_error("keep", "a damaged record"))?;
        Ok(kept_as)
    }

    /// `<stamp>-<unique number>\0<tree>\0<original key>`, and its readable form.
    fn damaged_key(&self, tree: &str, key: &[u8]) -> Result<(Vec<u8>, String), StoreError> {
        let unique = self
            .database
            .generate_id()
            .map_err(database_error("number", "a damaged record"))?;
        let prefix = format!("{}-{unique}", utc_stamp(SystemTime::now()));
        let mut damaged_key = format!("{prefix}\0{tree}\0").into_bytes();
        damaged_key.extend_from_slice(key);
        Ok((damaged_key, prefix))
    }

    /// Moves a record that could not be read from `tree` to `damaged` (removing it only if it is
    /// still the same bytes) and returns the error that reports it.
    fn set_aside(
        &self,
        tree: (&sled::Tree, &str),
        key: &[u8],
        bytes: &[u8],
        target: String,
        reason: String,
    ) -> StoreError {
        let (tree, tree_name) = tree;
        if self.newer_schema.is_some() {
            tracing::warn!("the record of {target} is unreadable ({reason}); left as it is");
            return StoreError::Damaged {
                target,
                kept_as: "(nowhere: the store is read-only and the record was left in place)"
                    .to_string(),
                reason,
            };
        }
        let (damaged_key, kept_as) = match self.damaged_key(tree_name, key) {
            Ok(named) => named,
            Err(error) => return error,
        };
        let moved = (tree, &self.damaged).transaction(|(tree, damaged)| {
            damaged.insert(damaged_key.as_slice(), bytes)?;
            if tree.get(key)?.as_deref() == Some(bytes) {
                tree.remove(key)?;
            }
            Ok::<(), ConflictableTransactionError<StoreError>>(())
        });
        if let Err(error) = moved {
            return transaction_error(error, "move aside", &target);
        }
        tracing::warn!("moved the damaged record of {target} aside as {kept_as}: {reason}");
        StoreError::Damaged {
            target,
            kept_as,
            reason,
        }
    }

    /// Moves a file record that could not be read to `damaged`: its head and, when there are any,
    /// its line keys (each removed only if it is still the same bytes). Returns the error that
    /// reports it.
    fn set_file_aside(
        &self,
        raw_key: &[u8],
        head: &[u8],
        keys: Option<&[u8]>,
        target: String,
        reason: String,
    ) -> StoreError {
        let Some(keys) = keys else {
            return self.set_aside((&self.files, FILES_TREE), raw_key, head, target, reason);
        };
        if self.newer_schema.is_some() {
            return self.set_aside((&self.files, FILES_TREE), raw_key, head, target, reason);
        }
        let named = self
            .damaged_key(FILES_TREE, raw_key)
            .and_then(|head_named| Ok((head_named, self.damaged_key(LINE_KEYS_TREE, raw_key)?)));
        let ((head_key, kept_as), (keys_key, _)) = match named {
            Ok(named) => named,
            Err(error) => return error,
        };
        let moved = (&self.files, &self.line_keys, &self.damaged).transaction(
            |(files, line_keys, damaged)| {
                damaged.insert(head_key.as_slice(), head)?;
                damaged.insert(keys_key.as_slice(), keys)?;
                if files.get(raw_key)?.as_deref() == Some(head) {
                    files.remove(raw_key)?;
                }
                if line_keys.get(raw_key)?.as_deref() == Some(keys) {
                    line_keys.remove(raw_key)?;
                }
                Ok::<(), ConflictableTransactionError<StoreError>>(())
            },
        );
        if let Err(error) = moved {
            return transaction_error(error, "move aside", &target);
        }
        tracing::warn!(
            "moved the damaged record of {target} (with its line keys) aside as {kept_as}: {reason}"
        );
        StoreError::Damaged {
            target,
            kept_as,
            reason,
        }
    }

    /// Every record `entries` yields from `tree`, decoded by `decode` (which names the record and
    /// judges its key and bytes). A damaged record is moved aside and the first one reported after
    /// the others were read; a newer one is skipped, left for the whetstone that wrote it.
    fn read_records<T>(
        &self,
        tree: (&sled::Tree, &str),
        entries: impl Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>,
        decode: impl Fn(&[u8], &[u8]) -> (String, Decoded<T>),
    ) -> Result<Vec<T>, StoreError> {
        let mut values = Vec::new();
        let mut first_damage = None;
        for entry in entries {
            let (raw_key, bytes) =
                entry.map_err(database_error("list", &format!("the {} tree", tree.1)))?;
            let (target, decoded) = decode(&raw_key, &bytes);
            match decoded {
                Decoded::Current(value) => values.push(value),
                Decoded::Newer(found) => {
                    tracing::debug!("skipping {target}: written as version {found}");
                }
                Decoded::Damaged(reason) => {
                    let error = self.set_aside(tree, &raw_key, &bytes, target, reason);
                    first_damage.get_or_insert(error);
                }
            }
        }
        match first_damage {
            Some(error) => Err(error),
            None => Ok(values),
        }
    }

    /// Replaces `tree[key]` with what `update` makes of the stored value (None when there is
    /// none), in one transaction. A stored record of a version newer than `supported` is refused
    /// and left alone; a damaged one is kept in `damaged` and counts as none.
    fn update_record<T>(
        &self,
        tree: (&sled::Tree, &str),
        key: &[u8],
        target: &str,
        supported: u32,
        decode: impl Fn(&[u8]) -> Decoded<T>,
        update: impl Fn(Option<T>) -> Result<Vec<u8>, String>,
    ) -> Result<(), StoreError> {
        let (tree, tree_name) = tree;
        // Named before the transaction: its closure may run more than once.
        let (damaged_key, kept_as) = self.damaged_key(tree_name, key)?;
        let abort = |error| Err(ConflictableTransactionError::Abort(error));
        let outcome = (tree, &self.damaged).transaction(|(tree, damaged)| {
            let mut set_aside = None;
            let stored = match tree.get(key)? {
                None => None,
                Some(existing) => match decode(&existing) {
                    Decoded::Current(value) => Some(value),
                    Decoded::Newer(found) => {
                        return abort(StoreError::NewerRecord {
                            target: target.to_string(),
                            found,
                            supported,
                        });
                    }
                    // Never silently dropped: the new record replaces it, the old bytes stay.
                    Decoded::Damaged(reason) => {
                        damaged.insert(damaged_key.as_slice(), existing)?;
                        set_aside = Some(reason);
                        None
                    }
                },
            };
            let bytes = match update(stored) {
                Ok(bytes) => bytes,
                Err(reason) => {
                    return abort(StoreError::InvalidRecord {
                        target: target.to_string(),
                        reason,
                    });
                }
            };
            tree.insert(key, bytes)?;
            Ok(set_aside)
        });
        report_replacement(outcome, target, &kept_as)
    }

    fn read_next_chunk_id(bytes: Option<&[u8]>) -> Result<u64, StoreError> {
        match bytes {
            None => Ok(1),
            Some(bytes) => parse_decimal(bytes).ok_or_else(|| StoreError::DamagedSetting {
                name: NEXT_CHUNK_ID_KEY,
                value: String::from_utf8_lossy(bytes).into_owned(),
            }),
        }
    }
}

impl Store for SledStore {
    fn load_file(&self, key: &FileKey) -> Result<Option<FileRecord>, StoreError> {
        let target = format!("file {key}");
        let raw_key = file_key_bytes(key);
        // Read together: a save between two reads would pair one record's head with another's
        // line keys.
        let (head, keys) = (&self.files, &self.line_keys)
            .transaction(|(files, line_keys)| {
                Ok::<_, ConflictableTransactionError<StoreError>>((
                    files.get(&raw_key)?,
                    line_keys.get(&raw_key)?,
                ))
            })
            .map_err(|error| transaction_error(error, "read", &target))?;
        let Some(head) = head else {
            return Ok(None);
        };
        let summary = match records::decode_stored_file(&head) {
            // Keys inline (versions 1 and 2): whatever the `line_keys` tree holds is not its.
            Decoded::Current(records::StoredFile::Whole(record)) => return Ok(Some(record)),
            Decoded::Current(records::StoredFile::Head(summary)) => summary,
            Decoded::Newer(found) => {
                return Err(StoreError::NewerRecord {
                    target,
                    found,
                    supported: records::STORED_FILE_VERSION,
                });
            }
            Decoded::Damaged(reason) => {
                return Err(self.set_file_aside(&raw_key, &head, keys.as_deref(), target, reason));
            }
        };
        let joined = match keys.as_deref().map(records::decode_line_keys) {
            None => Err("its line keys are missing".to_string()),
            Some(Decoded::Current(line_keys)) => records::join_file_record(summary, line_keys),
            Some(Decoded::Newer(found)) => {
                return Err(StoreError::NewerRecord {
                    target: format!("the line keys of {target}"),
                    found,
                    supported: records::LINE_KEYS_RECORD_VERSION,
                });
            }
            Some(Decoded::Damaged(reason)) => Err(format!("its line keys: {reason}")),
        };
        joined
            .map(Some)
            .map_err(|reason| self.set_file_aside(&raw_key, &head, keys.as_deref(), target, reason))
    }

    fn save_file(&self, key: &FileKey, record: &FileRecord) -> Result<(), StoreError> {
        self.writable()?;
        let target = format!("file {key}");
        let invalid = |reason| StoreError::InvalidRecord {
            target: target.clone(),
            reason,
        };
        let raw_key = file_key_bytes(key);
        // A key that would not parse back would be reported as damaged by every listing.
        if parse_file_key(&raw_key).as_ref() != Some(key) {
            return Err(invalid(key.why_not_storable().unwrap_or_else(|| {
                "its key would not read back as the same workspace and path".to_string()
            })));
        }
        let stored = records::to_record(record);
        let (head_bytes, keys_bytes) =
            records::encode_split_file_record(&stored).map_err(invalid)?;
        let head = records::head_of(&stored);
        drop(stored);
        let next = super::next_chunk_id_after(&record.chunks);
        // Named before the transaction: its closure may run more than once.
        let (damaged_key, kept_as) = self.damaged_key(FILES_TREE, &raw_key)?;
        let newer = |found, supported, target: String| {
            ConflictableTransactionError::Abort(StoreError::NewerRecord {
                target,
                found,
                supported,
            })
        };

        let outcome = (&self.files, &self.line_keys, &self.meta, &self.damaged).transaction(
            |(files, line_keys, meta, damaged)| {
                let mut set_aside = None;
                let mut merged = None;
                if let Some(existing) = files.get(&raw_key)? {
                    match records::decode_stored_file(&existing) {
                        Decoded::Current(earlier) => {
                            let mut chunks = record.chunks.clone();
                            if super::keep_newer_judgements(earlier.chunks(), &mut chunks) {
                                let with_judgements = records::FileHeadV3 {
                                    chunks: chunks.iter().map(records::chunk_to_record).collect(),
                                    ..head.clone()
                                };
                                merged = records::encode_file_head(&with_judgements).ok();
                            }
                        }
                        Decoded::Newer(found) => {
                            return Err(newer(found, records::STORED_FILE_VERSION, target.clone()));
                        }
                        // Never silently dropped: the new record replaces it, the old bytes stay.
                        Decoded::Damaged(reason) => {
                            damaged.insert(damaged_key.as_slice(), existing)?;
                            set_aside = Some(reason);
                        }
                    }
                }
                // Line keys of a newer version (written with a head this build would call newer,
                // or left by one) are not replaced either.
                if let Some(existing) = line_keys.get(&raw_key)?
                    && let Decoded::Newer(found) = records::probe_line_keys_version(&existing)
                {
                    return Err(newer(
                        found,
                        records::LINE_KEYS_RECORD_VERSION,
                        format!("the line keys of {target}"),
                    ));
                }
                files.insert(raw_key.as_slice(), merged.as_deref().unwrap_or(&head_bytes))?;
                line_keys.insert(raw_key.as_slice(), keys_bytes.as_slice())?;
                let current =
                    SledStore::read_next_chunk_id(meta.get(NEXT_CHUNK_ID_KEY)?.as_deref())
                        .map_err(ConflictableTransactionError::Abort)?;
                if next > current {
                    meta.insert(NEXT_CHUNK_ID_KEY, next.to_string().as_bytes())?;
                }
                Ok(set_aside)
            },
        );
        report_replacement(outcome, &target, &kept_as)
    }

    fn remove_file(&self, key: &FileKey) -> Result<(), StoreError> {
        self.writable()?;
        let raw_key = file_key_bytes(key);
        (&self.files, &self.line_keys)
            .transaction(|(files, line_keys)| {
                files.remove(raw_key.as_slice())?;
                line_keys.remove(raw_key.as_slice())?;
                Ok::<(), ConflictableTransactionError<StoreError>>(())
            })
            .map_err(|error| transaction_error(error, "remove", &format!("file {key}")))?;
        Ok(())
    }

    fn file_summaries(
        &self,
        folder: Option<&Path>,
    ) -> Result<Vec<(FileKey, super::FileSummary)>, StoreError> {
        let folder = folder.map(super::normalize_lexically);
        let entries: Vec<sled::Iter> = match folder.as_deref().and_then(summary_prefixes) {
            Some(prefixes) => prefixes
                .iter()
                .map(|prefix| self.files.scan_prefix(prefix))
                .collect(),
            None => vec![self.files.iter()],
        };
        // A key that does not parse is let through, to be moved aside as damaged.
        let wanted = |raw_key: &[u8]| match (&folder, parse_file_key(raw_key)) {
            (Some(folder), Some(key)) => key.is_under(folder),
            _ => true,
        };
        let entries = entries.into_iter().flatten().filter(|entry| match entry {
            Ok((raw_key, _)) => wanted(raw_key),
            Err(_) => true,
        });
        let mut summaries =
            self.read_records((&self.files, FILES_TREE), entries, |raw_key, bytes| {
                match parse_file_key(raw_key) {
                    Some(key) => (
                        format!("file {key}"),
                        match records::decode_stored_summary(bytes) {
                            Decoded::Current(summary) => Decoded::Current((key, summary)),
                            Decoded::Newer(found) => Decoded::Newer(found),
                            Decoded::Damaged(reason) => Decoded::Damaged(reason),
                        },
                    ),
                    None => (
                        format!("file key {:?}", String::from_utf8_lossy(raw_key)),
                        Decoded::Damaged("not a workspace and a path".to_string()),
                    ),
                }
            })?;
        summaries.sort_by(|left, right| left.0.cmp(&right.0));
        Ok(summaries)
    }

    fn files(&self) -> Result<Vec<FileKey>, StoreError> {
        let mut keys = Vec::new();
        let mut first_damage = None;
        for entry in self.files.iter() {
            let (raw_key, bytes) = entry.map_err(database_error("list", "the files"))?;
            match parse_file_key(&raw_key) {
                Some(key) => keys.push(key),
                None => {
                    let error = self.set_aside(
                        (&self.files, FILES_TREE),
                        &raw_key,
                        &bytes,
                        format!("file key {:?}", String::from_utf8_lossy(&raw_key)),
                        "not a workspace and a path".to_string(),
                    );
                    first_damage.get_or_insert(error);
                }
            }
        }
        match first_damage {
            // Reported once; the next call lists the rest.
            Some(error) => Err(error),
            None => Ok(keys),
        }
    }

    fn record_dismissal(&self, key: &FileKey, dismissal: &Dismissal) -> Result<(), StoreError> {
        self.writable()?;
        let target = format!("a dismissal in file {key}");
        if let Some(reason) = key.why_not_storable() {
            return Err(StoreError::InvalidRecord { target, reason });
        }
        let bytes =
            records::encode_dismissal(dismissal).map_err(|reason| StoreError::InvalidRecord {
                target: target.clone(),
                reason,
            })?;
        let mut prefix = file_key_bytes(key);
        prefix.push(0);
        // The same dismissal sent again (by a process whose store holder died before it knew the
        // first one was kept) is kept once.
        for entry in self.dismissals.scan_prefix(&prefix) {
            let (_, stored) = entry.map_err(database_error("read", &target))?;
            if stored == bytes.as_slice() {
                return Ok(());
            }
        }
        // sled's ids grow across restarts, so keys sort in the order dismissals were recorded.
        let sequence = self
            .database
            .generate_id()
            .map_err(database_error("number", &target))?;
        let mut raw_key = file_key_bytes(key);
        raw_key.push(0);
        raw_key.extend_from_slice(&sequence.to_be_bytes());
        self.dismissals
            .insert(raw_key, bytes)
            .map_err(database_error("write", &target))?;
        Ok(())
    }

    fn dismissals(&self) -> Result<Vec<(FileKey, Dismissal)>, StoreError> {
        let mut dismissals = Vec::new();
        let mut first_damage = None;
        for entry in self.dismissals.iter() {
            let (raw_key, bytes) = entry.map_err(database_error("list", "the dismissals"))?;
            let key = parse_dismissal_key(&raw_key);
            let target = match &key {
                Some(key) => format!("a dismissal in file {key}"),
                None => format!("dismissal key {:?}", String::from_utf8_lossy(&raw_key)),
            };
            let decoded = match key {
                Some(_) => records::decode_dismissal(&bytes),
                None => Decoded::Damaged("not a workspace, a path and a number".to_string()),
            };
            match (key, decoded) {
                (Some(key), Decoded::Current(dismissal)) => dismissals.push((key, dismissal)),
                // Left for the newer whetstone that wrote it; this one cannot weigh it.
                (_, Decoded::Newer(found)) => {
                    tracing::debug!("skipping {target}: written as version {found}");
                }
                (_, decoded) => {
                    let reason = match decoded {
                        Decoded::Damaged(reason) => reason,
                        _ => "unreadable".to_string(),
                    };
                    let error = self.set_aside(
                        (&self.dismissals, DISMISSALS_TREE),
                        &raw_key,
                        &bytes,
                        target,
                        reason,
                    );
                    first_damage.get_or_insert(error);
                }
            }
        }
        match first_damage {
            Some(error) => Err(error),
            None => Ok(dismissals),
        }
    }

    fn next_chunk_id(&self) -> Result<u64, StoreError> {
        let stored = self
            .meta
            .get(NEXT_CHUNK_ID_KEY)
            .map_err(database_error("read", "the next chunk id"))?;
        SledStore::read_next_chunk_id(stored.as_deref())
    }

    fn calibration_sessions(&self) -> Result<Vec<CalibrationSession>, StoreError> {
        self.read_records(
            (&self.calibration, CALIBRATION_TREE),
            self.calibration.iter(),
            |raw_key, bytes| match calibration_started_ms(raw_key) {
                Some(started_ms) => (
                    calibration_target(started_ms),
                    decode_session_at(started_ms, bytes),
                ),
                None => (
                    format!("calibration key {raw_key:?}"),
                    Decoded::Damaged("not a start time".to_string()),
                ),
            },
        )
    }

    fn save_calibration_session(&self, session: &CalibrationSession) -> Result<(), StoreError> {
        self.writable()?;
        let target = calibration_target(session.started_ms);
        let bytes = records::encode_calibration_session(session).map_err(|reason| {
            StoreError::InvalidRecord {
                target: target.clone(),
                reason,
            }
        })?;
        self.update_record(
            (&self.calibration, CALIBRATION_TREE),
            &session.started_ms.to_be_bytes(),
            &target,
            records::CALIBRATION_RECORD_VERSION,
            |existing| decode_session_at(session.started_ms, existing),
            |_| Ok(bytes.clone()),
        )
    }

    fn add_activity(&self, days: &[DayActivity]) -> Result<(), StoreError> {
        self.writable()?;
        let mut first_failure = None;
        for day in days {
            let added = self.update_record(
                (&self.activity, ACTIVITY_TREE),
                &day.day.to_be_bytes(),
                &activity_target(day.day),
                records::ACTIVITY_RECORD_VERSION,
                |existing| decode_day_at(day.day, existing),
                |stored| {
                    let mut total = stored.unwrap_or_else(|| DayActivity {
                        day: day.day,
                        ..DayActivity::default()
                    });
                    add_day(&mut total, day);
                    records::encode_day_activity(&total)
                },
            );
            if let Err(error) = added {
                tracing::warn!("could not add to the {}: {error}", activity_target(day.day));
                first_failure.get_or_insert(error);
            }
        }
        match first_failure {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    fn activity(&self, since_day: u32) -> Result<Vec<DayActivity>, StoreError> {
        self.read_records(
            (&self.activity, ACTIVITY_TREE),
            self.activity.range(since_day.to_be_bytes()..),
            |raw_key, bytes| match activity_day(raw_key) {
                Some(day) => (activity_target(day), decode_day_at(day, bytes)),
                None => (
                    format!("activity key {raw_key:?}"),
                    Decoded::Damaged("not a day number".to_string()),
                ),
            },
        )
    }

    fn setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        let target = format!("setting {name:?}");
        let Some(bytes) = self
            .settings
            .get(name.as_bytes())
            .map_err(database_error("read", &target))?
        else {
            return Ok(None);
        };
        match std::str::from_utf8(&bytes) {
            Ok(value) => Ok(Some(value.to_string())),
            Err(error) => Err(self.set_aside(
                (&self.settings, SETTINGS_TREE),
                name.as_bytes(),
                &bytes,
                target,
                format!("not UTF-8 text: {error}"),
            )),
        }
    }

    fn set_setting(&self, name: &str, value: &str) -> Result<(), StoreError> {
        self.writable()?;
        self.settings
            .insert(name.as_bytes(), value.as_bytes())
            .map_err(database_error("write", &format!("setting {name:?}")))?;
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.database
            .flush()
            .map_err(database_error("flush", "the database"))?;
        Ok(())
    }

    fn location(&self) -> Option<&Path> {
        Some(&self.folder)
    }

    fn declarations(&self, key: &FileKey) -> Result<Vec<Declaration>, StoreError> {
        let target = format!("the declarations of file {key}");
        let raw_key = file_key_bytes(key);
        let Some(bytes) = self
            .declarations
            .get(&raw_key)
            .map_err(database_error("read", &target))?
        else {
            return Ok(Vec::new());
        };
        match records::decode_declarations(&bytes) {
            Decoded::Current(log) => Ok(log.pending_at(crate::store::now_ms())),
            Decoded::Newer(found) => Err(StoreError::NewerRecord {
                target,
                found,
                supported: records::DECLARATIONS_RECORD_VERSION,
            }),
            Decoded::Damaged(reason) => Err(self.set_aside(
                (&self.declarations, DECLARATIONS_TREE),
                &raw_key,
                &bytes,
                target,
                reason,
            )),
        }
    }

    fn declare(&self, key: &FileKey, declaration: &Declaration) -> Result<bool, StoreError> {
        self.writable()?;
        crate::store::check_declaration(key, declaration)?;
        let added = std::sync::atomic::AtomicBool::new(false);
        let now = crate::store::now_ms();
        self.update_record(
            (&self.declarations, DECLARATIONS_TREE),
            &file_key_bytes(key),
            &format!("the declarations of file {key}"),
            records::DECLARATIONS_RECORD_VERSION,
            records::decode_declarations,
            |stored| {
                let mut log = stored.unwrap_or_default();
                // The transaction may run this more than once: the last run says.
                added.store(
                    log.add(declaration.clone(), now),
                    std::sync::atomic::Ordering::SeqCst,
                );
                records::encode_declarations(&log)
            },
        )?;
        Ok(added.load(std::sync::atomic::Ordering::SeqCst))
    }

    fn consume_declarations(&self, key: &FileKey, ids: &[u64]) -> Result<(), StoreError> {
        self.writable()?;
        let now = crate::store::now_ms();
        self.update_record(
            (&self.declarations, DECLARATIONS_TREE),
            &file_key_bytes(key),
            &format!("the declarations of file {key}"),
            records::DECLARATIONS_RECORD_VERSION,
            records::decode_declarations,
            |stored| {
                let mut log = stored.unwrap_or_default();
                log.consume(ids, now);
                records::encode_declarations(&log)
            },
        )
    }

    fn claim_chunk_ids(&self, count: u64) -> Result<u64, StoreError> {
        // Ids reach editors as JSON numbers, which JavaScript reads exactly below 2^53 only.
        const FIRST_ID_TOO_LARGE: u64 = 1 << 53;
        self.writable()?;
        let claimed = self.meta.transaction(|meta| {
            let first = SledStore::read_next_chunk_id(meta.get(NEXT_CHUNK_ID_KEY)?.as_deref())
                .map_err(ConflictableTransactionError::Abort)?;
            let Some(end) = first
                .checked_add(count)
                .filter(|end| *end <= FIRST_ID_TOO_LARGE)
            else {
                return Err(ConflictableTransactionError::Abort(
                    StoreError::InvalidRecord {
                        target: "the chunk id counter".to_string(),
                        reason: format!(
                            "claiming {count} ids from {first} would hand out ids at or above \
                             2^53, which editors written in JavaScript cannot send back exactly"
                        ),
                    },
                ));
            };
            meta.insert(NEXT_CHUNK_ID_KEY, end.to_string().as_bytes())?;
            Ok(first)
        });
        let first = match claimed {
            Ok(first) => first,
            Err(error) => return Err(transaction_error(error, "claim", "chunk ids")),
        };
        self.flush()?;
        Ok(first)
    }
}

/// What [`salvage`] brought from a damaged database into a fresh store.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Salvaged {
    pub files: usize,
    pub dismissals: usize,
    pub sessions: usize,
    pub days: usize,
    /// Why the damaged database could not be read at all, or stopped being readable.
    pub stopped: Option<String>,
}

/// Copies every record still readable in the damaged sled database `damaged` (a folder moved
/// aside, which no process holds) into `into`. Records that do not decode are left where they
/// are; the database itself is only read (sled may replay its log into its own files, which
/// are a copy the user can delete).
pub(crate) fn salvage(damaged: &Path, into: &dyn Store) -> Salvaged {
    let mut salvaged = Salvaged::default();
    if let Err(error) = super::repair::clear_crash_leftovers(damaged) {
        tracing::warn!(
            "cannot clear crash leftovers in {}: {error}",
            damaged.display()
        );
    }
    let database = match open_sled(damaged) {
        Ok(database) => database,
        Err(error) => {
            salvaged.stopped = Some(match judge_open_error(error) {
                OpenErrorKind::Damaged(reason) => reason,
                OpenErrorKind::Io(error) => error.to_string(),
                OpenErrorKind::Locked => "another process holds it".to_string(),
            });
            return salvaged;
        }
    };
    let stop = |error: String| {
        tracing::warn!("stopped salvaging {}: {error}", damaged.display());
        error
    };
    let result = (|| -> Result<(), String> {
        let tree = |name: &str| database.open_tree(name).map_err(|error| error.to_string());
        let line_keys = tree(LINE_KEYS_TREE)?;
        for entry in tree(FILES_TREE)?.iter() {
            let (raw_key, bytes) = entry.map_err(|error| error.to_string())?;
            let record = match records::decode_stored_file(&bytes) {
                Decoded::Current(records::StoredFile::Whole(record)) => Some(record),
                // A head is saved only with its line keys: re-anchoring needs them.
                Decoded::Current(records::StoredFile::Head(summary)) => line_keys
                    .get(&raw_key)
                    .map_err(|error| error.to_string())?
                    .and_then(|keys| match records::decode_line_keys(&keys) {
                        Decoded::Current(keys) => records::join_file_record(summary, keys).ok(),
                        _ => None,
                    }),
                _ => None,
            };
            if let (Some(key), Some(record)) = (parse_file_key(&raw_key), record)
                && into.save_file(&key, &record).is_ok()
            {
                salvaged.files += 1;
            }
        }
        for entry in tree(DISMISSALS_TREE)?.iter() {
            let (raw_key, bytes) = entry.map_err(|error| error.to_string())?;
            if let (Some(key), Decoded::Current(dismissal)) = (
                parse_dismissal_key(&raw_key),
                records::decode_dismissal(&bytes),
            ) && into.record_dismissal(&key, &dismissal).is_ok()
            {
                salvaged.dismissals += 1;
            }
        }
        for entry in tree(CALIBRATION_TREE)?.iter() {
            let (raw_key, bytes) = entry.map_err(|error| error.to_string())?;
            if let Some(started_ms) = calibration_started_ms(&raw_key)
                && let Decoded::Current(session) = decode_session_at(started_ms, &bytes)
                && into.save_calibration_session(&session).is_ok()
            {
                salvaged.sessions += 1;
            }
        }
        for entry in tree(ACTIVITY_TREE)?.iter() {
            let (raw_key, bytes) = entry.map_err(|error| error.to_string())?;
            if let Some(day) = activity_day(&raw_key)
                && let Decoded::Current(stored) = decode_day_at(day, &bytes)
                && into.add_activity(&[stored]).is_ok()
            {
                salvaged.days += 1;
            }
        }
        for entry in tree(SETTINGS_TREE)?.iter() {
            let (name, value) = entry.map_err(|error| error.to_string())?;
            // How far the damaged database held the journal says nothing of the fresh one.
            if let (Ok(name), Ok(value)) = (std::str::from_utf8(&name), std::str::from_utf8(&value))
                && name != super::fold::CHECKED_SETTING
            {
                let _ = into.set_setting(name, value);
            }
        }
        // Ids handed out from the damaged store are never handed out again.
        let stored_next = tree(META_TREE)?
            .get(NEXT_CHUNK_ID_KEY)
            .map_err(|error| error.to_string())?
            .as_deref()
            .and_then(parse_decimal)
            .unwrap_or(1);
        let mut next = into.next_chunk_id().map_err(|error| error.to_string())?;
        while next < stored_next {
            let count = (stored_next - next).min(1 << 16);
            next = into
                .claim_chunk_ids(count)
                .map_err(|error| error.to_string())?
                .saturating_add(count);
        }
        Ok(())
    })();
    if let Err(error) = result {
        salvaged.stopped = Some(stop(error));
    }
    if let Err(error) = into.flush() {
        salvaged.stopped.get_or_insert(error.to_string());
    }
    salvaged
}

fn database_error(action: &'static str, target: &str) -> impl FnOnce(sled::Error) -> StoreError {
    let target = target.to_string();
    move |source| StoreError::Database {
        action,
        target,
        source,
    }
}

/// The end of a transaction that wrote a record over whatever was there: a damaged predecessor,
/// whose bytes the transaction kept aside, is reported.
fn report_replacement(
    outcome: Result<Option<String>, TransactionError<StoreError>>,
    target: &str,
    kept_as: &str,
) -> Result<(), StoreError> {
    match outcome {
        Ok(Some(reason)) => {
            tracing::warn!(
                "replaced the damaged record of {target}; its bytes were kept as {kept_as}: {reason}"
            );
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(error) => Err(transaction_error(error, "save", target)),
    }
}

fn transaction_error(
    error: TransactionError<StoreError>,
    action: &'static str,
    target: &str,
) -> StoreError {
    match error {
        TransactionError::Abort(error) => error,
        TransactionError::Storage(source) => StoreError::Database {
            action,
            target: target.to_string(),
            source,
        },
    }
}

/// The key prefixes under which every file at or under `folder` (absolute, normalised) is found,
/// or None when the whole tree must be read. A file is under `folder` when its workspace is
/// `folder` or below it (keys starting with `folder`'s text), when its workspace is above
/// `folder` and its path leads into it (`<ancestor>\0<rest of folder>`), or when it has no
/// workspace and its absolute path is under `folder` (`\0<folder>`). Each prefix also finds a few
/// keys that are not under `folder` (`/a/bc` for `/a/b`): the caller checks each key. Keys are
/// made from normalised paths ([`FileKey::for_path`]), which is what lets a prefix find them.
fn summary_prefixes(folder: &Path) -> Option<Vec<Vec<u8>>> {
    let plain = folder.has_root()
        && folder
            .components()
            .all(|component| matches!(component, Component::RootDir | Component::Normal(_)));
    if !plain || folder.parent().is_none() {
        return None;
    }
    let folder_text = folder.to_str()?;
    let mut prefixes = vec![folder_text.as_bytes().to_vec()];
    let mut no_workspace = vec![0];
    no_workspace.extend_from_slice(folder_text.as_bytes());
    prefixes.push(no_workspace);
    for ancestor in folder.ancestors().skip(1) {
        let rest = folder.strip_prefix(ancestor).ok()?.to_str()?;
        let mut prefix = ancestor.to_str()?.as_bytes().to_vec();
        prefix.push(0);
        prefix.extend_from_slice(rest.as_bytes());
        prefixes.push(prefix);
    }
    Some(prefixes)
}

/// `<workspace>\0<path>`: paths cannot hold a NUL, so the split is never ambiguous, and keys sort
/// like `FileKey`s.
fn file_key_bytes(key: &FileKey) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(key.workspace.len() + 1 + key.path.len());
    bytes.extend_from_slice(key.workspace.as_bytes());
    bytes.push(0);
    bytes.extend_from_slice(key.path.as_bytes());
    bytes
}

fn parse_file_key(bytes: &[u8]) -> Option<FileKey> {
    let text = std::str::from_utf8(bytes).ok()?;
    let (workspace, path) = text.split_once('\0')?;
    if path.contains('\0') {
        return None;
    }
    Some(FileKey {
        workspace: workspace.to_string(),
        path: path.to_string(),
    })
}

/// `<file key>\0<sequence, 8 bytes big-endian>`.
fn parse_dismissal_key(bytes: &[u8]) -> Option<FileKey> {
    let file_key_end = bytes.len().checked_sub(9)?;
    if bytes[file_key_end] != 0 {
        return None;
    }
    parse_file_key(&bytes[..file_key_end])
}

/// A calibration session's key: its start, milliseconds big-endian (sorts oldest first).
fn calibration_started_ms(raw_key: &[u8]) -> Option<u64> {
    <[u8; 8]>::try_from(raw_key).ok().map(u64::from_be_bytes)
}

/// A day's key: its number, big-endian.
fn activity_day(raw_key: &[u8]) -> Option<u32> {
    <[u8; 4]>::try_from(raw_key).ok().map(u32::from_be_bytes)
}

/// A stored session, which must be the one its key names.
fn decode_session_at(started_ms: u64, bytes: &[u8]) -> Decoded<CalibrationSession> {
    match records::decode_calibration_session(bytes) {
        Decoded::Current(session) if session.started_ms != started_ms => Decoded::Damaged(format!(
            "it says it started at {} ms but is stored as the session of {started_ms} ms",
            session.started_ms
        )),
        decoded => decoded,
    }
}

/// A stored day, which must be the one its key names.
fn decode_day_at(day: u32, bytes: &[u8]) -> Decoded<DayActivity> {
    match records::decode_day_activity(bytes) {
        Decoded::Current(stored) if stored.day != day => Decoded::Damaged(format!(
            "it says it is day {} but is stored as day {day}",
            stored.day
        )),
        decoded => decoded,
    }
}

/// Meta values are decimal text: readable in any sled dump.
fn parse_decimal(bytes: &[u8]) -> Option<u64> {
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::calibration::EndReason;
    use crate::core::line_map::Origin;
    use crate::store::tests::{
        behaves_like_a_store, day, keeps_sessions_activity_and_settings, key, record_with_chunk,
    };
    use crate::store::{FileSummary, MemoryStore, normalize_lexically, prepare_folder};

    /// The database alone, without [`crate::store::open`]'s fresh start after damage.
    fn open(folder: &Path) -> Result<SledStore, OpenFailure> {
        prepare_folder(folder)?;
        SledStore::open_in(folder)
    }

    /// Opens the database again after a store on it was dropped. sled's flusher thread lets go
    /// of the lock a moment after the drop (more so on a loaded machine): a reopen waits for it.
    fn reopen(folder: &Path) -> SledStore {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            match open(folder) {
                Err(OpenFailure::Locked { .. }) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                opened => return opened.expect("reopens"),
            }
        }
    }

    fn temporary() -> tempfile::TempDir {
        tempfile::tempdir().expect("tempdir")
    }

    /// The raw database, for tests that spoil or inspect it.
    fn raw(folder: &Path) -> sled::Db {
        sled::open(folder.join(DATABASE_FOLDER)).expect("raw open")
    }

    #[test]
    fn the_sled_store_behaves_like_a_store() {
        let folder = temporary();
        let store = open(folder.path()).expect("opens");
        behaves_like_a_store(&store);
        crate::store::tests::keeps_the_newer_judgement(&store);
        assert_eq!(store.location(), Some(folder.path()));
    }

    #[test]
    fn the_sled_store_keeps_sessions_activity_and_settings() {
        let folder = temporary();
        keeps_sessions_activity_and_settings(&open(folder.path()).expect("opens"));
    }

    #[test]
    fn the_sled_store_keeps_declarations_across_a_reopen() {
        let folder = temporary();
        let store = open(folder.path()).expect("opens");
        crate::store::tests::keeps_declarations(&store);
        drop(store);
        let store = open(folder.path()).expect("opens again");
        let file = key("", "/w/src/lib.rs");
        let kept = store.declarations(&file).expect("declarations");
        assert_eq!(kept.iter().map(|d| d.id).collect::<Vec<_>>(), vec![2]);
    }

    #[test]
    fn sessions_activity_and_settings_survive_a_reopen() {
        let folder = temporary();
        let session = records::tests::ended_session();
        {
            let store = open(folder.path()).expect("opens");
            store.save_calibration_session(&session).expect("save");
            store.add_activity(&[day(20_000, 3, 0)]).expect("add");
            store
                .set_setting("last_reminder_day", "20000")
                .expect("set");
            store.flush().expect("flush");
        }
        let store = reopen(folder.path());
        assert_eq!(
            store.calibration_sessions().expect("sessions"),
            vec![session]
        );
        assert_eq!(
            store.activity(0).expect("activity"),
            vec![day(20_000, 3, 0)]
        );
        assert_eq!(
            store
                .setting("last_reminder_day")
                .expect("setting")
                .as_deref(),
            Some("20000")
        );
    }

    #[test]
    fn concurrent_additions_to_a_day_are_never_lost() {
        let folder = temporary();
        let store = open(folder.path()).expect("opens");
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..50 {
                        store
                            .add_activity(&[day(20_000, 1, 2), day(20_001, 1, 0)])
                            .expect("add");
                    }
                });
            }
        });
        let days = store.activity(0).expect("activity");
        assert_eq!(days.len(), 2);
        assert_eq!(days[0].lines[Origin::Typed], 200);
        assert_eq!(days[0].lines[Origin::Pasted], 400);
        assert_eq!(days[0].active_ms, 200 * 60_000);
        assert_eq!(days[1].lines[Origin::Typed], 200);
    }

    #[test]
    fn damaged_sessions_days_and_settings_are_moved_aside() {
        let folder = temporary();
        let store = open(folder.path()).expect("opens");
        let session = records::tests::ended_session();
        store.save_calibration_session(&session).expect("save");
        // Garbage, a key that is no start time, and a record stored under another start.
        store
            .calibration
            .insert(7u64.to_be_bytes(), &b"{garbage"[..])
            .expect("spoil");
        store
            .calibration
            .insert(b"short", &b"{}"[..])
            .expect("spoil");
        let elsewhere = records::encode_calibration_session(&session).expect("encode");
        store
            .calibration
            .insert(9u64.to_be_bytes(), elsewhere)
            .expect("spoil");
        let listed = store.calibration_sessions();
        assert!(
            matches!(&listed, Err(StoreError::Damaged { target, .. })
                if target == "calibration session 19700101-000000"),
            "{listed:?}"
        );
        assert_eq!(
            store.calibration_sessions().expect("the rest"),
            vec![session.clone()]
        );
        assert_eq!(store.damaged.len(), 3);

        store.add_activity(&[day(20_000, 1, 0)]).expect("add");
        store
            .activity
            .insert(20_001u32.to_be_bytes(), &b"[]"[..])
            .expect("spoil");
        assert!(matches!(store.activity(0), Err(StoreError::Damaged { .. })));
        assert_eq!(
            store.activity(0).expect("the rest"),
            vec![day(20_000, 1, 0)]
        );
        // Adding to a damaged day keeps its bytes and starts the day afresh.
        store
            .activity
            .insert(20_002u32.to_be_bytes(), &b"\x01"[..])
            .expect("spoil");
        store.add_activity(&[day(20_002, 5, 0)]).expect("add");
        assert_eq!(
            store.activity(20_002).expect("activity"),
            vec![day(20_002, 5, 0)]
        );
        assert_eq!(store.damaged.len(), 5);

        store
            .settings
            .insert("last_reminder_day", &[0xff, 0xfe][..])
            .expect("spoil");
        assert!(matches!(
            store.setting("last_reminder_day"),
            Err(StoreError::Damaged { .. })
        ));
        assert_eq!(store.setting("last_reminder_day").expect("setting"), None);
        assert_eq!(store.damaged.len(), 6);
    }

    #[test]
    fn newer_sessions_and_days_are_skipped_and_never_overwritten() {
        let folder = temporary();
        let store = open(folder.path()).expect("opens");
        let newer = br#"{"version": 2, "mood": "great"}"#;
        let mut session = CalibrationSession::start(None, None, 5_000);
        store
            .calibration
            .insert(5_000u64.to_be_bytes(), &newer[..])
            .expect("write");
        store
            .activity
            .insert(20_000u32.to_be_bytes(), &newer[..])
            .expect("write");
        assert!(store.calibration_sessions().expect("sessions").is_empty());
        assert!(store.activity(0).expect("activity").is_empty());
        session.end(6_000, EndReason::Stopped);
        assert!(matches!(
            store.save_calibration_session(&session),
            Err(StoreError::NewerRecord { found: 2, .. })
        ));
        // The other days are added all the same; the refused one is reported.
        let added = store.add_activity(&[day(19_999, 1, 0), day(20_000, 1, 0), day(20_001, 1, 0)]);
        assert!(
            matches!(&added, Err(StoreError::NewerRecord { target, found: 2, .. })
                if target == "activity of 2024-10-04"),
            "{added:?}"
        );
        assert_eq!(
            store.activity(0).expect("activity"),
            vec![day(19_999, 1, 0), day(20_001, 1, 0)]
        );
        assert_eq!(
            store
                .calibration
                .get(5_000u64.to_be_bytes())
                .expect("read")
                .as_deref(),
            Some(&newer[..])
        );
        assert_eq!(
            store
                .activity
                .get(20_000u32.to_be_bytes())
                .expect("read")
                .as_deref(),
            Some(&newer[..])
        );
    }

    #[test]
    fn both_stores_keep_the_same_realistic_record() {
        let folder = temporary();
        let sled = open(folder.path()).expect("opens");
        let memory = MemoryStore::new();
        let record = records::tests::realistic_record();
        let file = key("/w", "src/parse.rs");
        for store in [&sled as &dyn Store, &memory] {
            store.save_file(&file, &record).expect("save");
            assert_eq!(store.load_file(&file).expect("load"), Some(record.clone()));
            assert_eq!(store.next_chunk_id().expect("next"), 41);
        }
    }

    /// A claim of 2^64-1 ids pushed the counter to its end, where every later chunk shared one
    /// id; ids at or above 2^53 cannot come back exactly from an editor written in JavaScript.
    #[test]
    fn both_stores_refuse_a_claim_of_ids_at_or_above_2_to_the_53() {
        let folder = temporary();
        let sled = open(folder.path()).expect("opens");
        let memory = MemoryStore::new();
        let last_id = (1u64 << 53) - 1;
        for store in [&sled as &dyn Store, &memory] {
            let refused = store.claim_chunk_ids(u64::MAX);
            assert!(
                matches!(&refused, Err(StoreError::InvalidRecord { reason, .. })
                    if reason.contains("at or above 2^53")),
                "{refused:?}"
            );
            assert_eq!(store.claim_chunk_ids(4).expect("claim"), 1);
            // A saved chunk moves the counter past its id.
            let near_the_end = record_with_chunk(3, last_id - 9);
            store
                .save_file(&key("/w", "a.rs"), &near_the_end)
                .expect("save");
            assert_eq!(store.claim_chunk_ids(9).expect("the last ids"), last_id - 8);
            assert_eq!(store.next_chunk_id().expect("next"), last_id + 1);
            assert!(store.claim_chunk_ids(1).is_err());
            assert_eq!(store.next_chunk_id().expect("unchanged"), last_id + 1);
        }
    }

    #[test]
    fn reopening_keeps_everything() {
        let folder = temporary();
        let file = key("/w", "a.rs");
        let dismissal = Dismissal {
            uri: "file:///w/a.rs".to_string(),
            origin: crate::core::Origin::Generated,
            lines: 3,
            created_ms: 1,
            dismissed_ms: 2,
            rule: None,
        };
        {
            let store = open(folder.path()).expect("opens");
            store
                .save_file(&file, &record_with_chunk(6, 30))
                .expect("save");
            store.record_dismissal(&file, &dismissal).expect("dismiss");
            store.flush().expect("flush");
        }
        let store = reopen(folder.path());
        assert_eq!(
            store.load_file(&file).expect("load"),
            Some(record_with_chunk(6, 30))
        );
        assert_eq!(store.files().expect("files"), vec![file.clone()]);
        assert_eq!(
            store.dismissals().expect("dismissals"),
            vec![(file, dismissal)]
        );
        assert_eq!(store.next_chunk_id().expect("next"), 31);
    }

    /// Regression: a `db` folder that was a symbolic link was followed, so the database lived
    /// (and was moved aside as damaged) wherever the link pointed.
    #[cfg(unix)]
    #[test]
    fn a_database_folder_that_is_a_symbolic_link_is_refused_not_followed() {
        let folder = temporary();
        let elsewhere = temporary();
        let link = folder.path().join(DATABASE_FOLDER);
        std::os::unix::fs::symlink(elsewhere.path(), &link).expect("symlink");
        let failure = open(folder.path()).expect_err("refused");
        let message = failure.user_message();
        match failure {
            OpenFailure::SymbolicLink {
                path,
                link: found,
                target,
            } => {
                assert_eq!(path, folder.path());
                assert_eq!(found, link);
                assert_eq!(target.as_deref(), Some(elsewhere.path()));
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert!(message.contains("Remove the link"), "{message}");
        assert!(
            std::fs::read_dir(elsewhere.path())
                .expect("read_dir")
                .next()
                .is_none(),
            "nothing is written through the link"
        );
        assert!(
            std::fs::symlink_metadata(&link)
                .expect("the link")
                .file_type()
                .is_symlink(),
            "the link is left where it was, not moved aside"
        );
    }

    #[test]
    fn a_second_open_is_locked_until_the_first_closes() {
        let folder = temporary();
        let first = open(folder.path()).expect("opens");
        let second = open(folder.path());
        assert!(
            matches!(&second, Err(OpenFailure::Locked { path }) if path == folder.path()),
            "{second:?}"
        );
        let message = second
            .err()
            .map(|failure| failure.user_message())
            .unwrap_or_default();
        assert!(message.contains("kept in memory only"), "{message}");
        if cfg!(target_os = "linux") {
            assert!(message.contains("this same whetstone process"), "{message}");
        }
        drop(first);
        reopen(folder.path());
    }

    #[test]
    fn a_newer_schema_is_opened_read_only_and_left_untouched() {
        let folder = temporary();
        {
            let store = open(folder.path()).expect("opens");
            store
                .save_file(&key("/w", "a.rs"), &record_with_chunk(3, 5))
                .expect("save");
            store.flush().expect("flush");
        }
        let before = {
            let database = raw(folder.path());
            let meta = database.open_tree(META_TREE).expect("meta");
            meta.insert(SCHEMA_VERSION_KEY, "7").expect("spoil");
            database.flush().expect("flush");
            meta.iter().collect::<Result<Vec<_>, _>>().expect("meta")
        };
        {
            let opened = crate::store::open(folder.path()).expect("opens read-only");
            let store = &opened.store;
            assert_eq!(store.newer_schema(), Some(7));
            let notice = opened.notice.as_deref().expect("the user is told");
            assert!(
                notice.contains("read-only") && notice.contains("schema 7"),
                "{notice}"
            );
            // What is there can be read; nothing can be written.
            assert_eq!(
                store.load_file(&key("/w", "a.rs")).expect("load"),
                Some(record_with_chunk(3, 5))
            );
            assert!(matches!(
                store.save_file(&key("/w", "b.rs"), &record_with_chunk(3, 9)),
                Err(StoreError::ReadOnly)
            ));
            assert!(matches!(
                store.set_setting("x", "y"),
                Err(StoreError::ReadOnly)
            ));
            assert!(matches!(
                store.claim_chunk_ids(8),
                Err(StoreError::ReadOnly)
            ));
            store.flush().expect("flush");
        }
        let database = raw(folder.path());
        let meta = database.open_tree(META_TREE).expect("meta");
        let after = meta.iter().collect::<Result<Vec<_>, _>>().expect("meta");
        assert_eq!(before, after);
        assert_eq!(database.open_tree(FILES_TREE).expect("files").len(), 1);
        assert_eq!(
            database.open_tree(SETTINGS_TREE).expect("settings").len(),
            0
        );
    }

    #[test]
    fn a_damaged_database_is_moved_aside_and_a_fresh_one_started() {
        let folder = temporary();
        std::fs::create_dir_all(folder.path().join(DATABASE_FOLDER)).expect("mkdir");
        std::fs::write(
            folder.path().join(DATABASE_FOLDER).join("conf"),
            random_bytes(64),
        )
        .expect("garbage");
        let opened = crate::store::open(folder.path()).expect("a fresh store");
        let notice = opened.notice.expect("the user is told");
        assert!(notice.contains("damaged-"), "{notice}");
        opened
            .store
            .save_file(&key("/w", "a.rs"), &record_with_chunk(3, 5))
            .expect("the fresh store keeps what is recorded");
        let moved: Vec<_> = std::fs::read_dir(folder.path())
            .expect("list")
            .filter_map(|entry| entry.ok())
            .filter(|entry| entry.file_name().to_string_lossy().starts_with("damaged-"))
            .collect();
        assert_eq!(moved.len(), 1);
        assert!(moved[0].path().join("conf").exists(), "moved untouched");
    }

    /// What the server does for a classification: the journal first, then the database.
    fn judge(store: &dyn Store, file: &FileKey, record: &FileRecord) {
        let entry = crate::store::journal::Entry::File {
            key: file.into(),
            record: records::to_record(record),
            judged: record.chunks.iter().map(|chunk| chunk.id.0).collect(),
            removed: Vec::new(),
        };
        assert!(store.journal(&[entry]).expect("journal"));
        store.save_file(file, record).expect("save");
        store.flush().expect("flush");
    }

    fn judged_record(lines: usize, chunk: u64) -> FileRecord {
        let mut record = record_with_chunk(lines, chunk);
        record.chunks[0].class = Some(crate::core::Class::Core);
        record.chunks[0].classified_ms = Some(1_000 + chunk);
        record
    }

    fn moved_aside(folder: &Path) -> usize {
        std::fs::read_dir(folder)
            .expect("list")
            .filter_map(|entry| entry.ok())
            .filter(|entry| entry.file_name().to_string_lossy().starts_with("damaged-"))
            .count()
    }

    /// A database sled cannot open is moved aside; what the user judged comes back from the
    /// journal into the fresh store, and the user is told what was recovered.
    #[test]
    fn a_damaged_database_gets_its_judgements_back_from_the_journal() {
        let folder = temporary();
        {
            let opened = crate::store::open(folder.path()).expect("opens");
            judge(&opened.store, &key("/w", "a.rs"), &judged_record(6, 4));
            judge(&opened.store, &key("/w", "b.rs"), &judged_record(3, 8));
        }
        std::fs::write(
            folder.path().join(DATABASE_FOLDER).join("conf"),
            random_bytes(64),
        )
        .expect("garbage");
        let opened = crate::store::open(folder.path()).expect("a fresh store");
        let notice = opened.notice.clone().expect("the user is told");
        assert!(notice.contains("from its journal 2 "), "{notice}");
        assert_eq!(moved_aside(folder.path()), 1);
        for (file, record) in [("a.rs", judged_record(6, 4)), ("b.rs", judged_record(3, 8))] {
            assert_eq!(
                opened.store.load_file(&key("/w", file)).expect("load"),
                Some(record)
            );
        }
        assert!(opened.store.next_chunk_id().expect("next id") > 8);
        drop(opened);
        // Told again to the next process that opens the store, the same day.
        let again = crate::store::open(folder.path()).expect("opens");
        assert!(
            again
                .notice
                .is_some_and(|said| said.contains("from its journal 2 "))
        );
    }

    /// Cutting the database's log short (or overwriting its middle) made sled open a prefix of
    /// its history without a word: the newest records were silently gone.
    #[test]
    fn a_database_cut_short_is_found_and_refilled_from_the_journal() {
        let folder = temporary();
        let files: Vec<(FileKey, FileRecord)> = (0..40)
            .map(|index| {
                (
                    key("/w", &format!("f{index}.rs")),
                    judged_record(200, 10 + index),
                )
            })
            .collect();
        {
            let opened = crate::store::open(folder.path()).expect("opens");
            for (file, record) in &files {
                judge(&opened.store, file, record);
            }
            // The holder folds and confirms (as it does whenever the journal grows).
            let folded = crate::store::fold::fold(
                &opened.store,
                &crate::store::journal::Journal::in_store(folder.path()),
            )
            .expect("fold");
            assert!(!folded.lost_confirmed);
        }
        let log = folder.path().join(DATABASE_FOLDER).join("db");
        let length = std::fs::metadata(&log).expect("log").len();
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&log)
            .expect("open the log");
        file.set_len(length / 3).expect("truncate");
        drop(file);
        let opened = crate::store::open(folder.path()).expect("opens");
        assert!(opened.notice.is_some(), "the damage is said");
        for (file, record) in &files {
            assert_eq!(
                opened.store.load_file(file).expect("load").as_ref(),
                Some(record),
                "{file}"
            );
        }
    }

    /// A process killed while sled created the store leaves `conf` and an empty log; the next
    /// open took that for a damaged store, moved it aside and told the user so.
    #[test]
    fn a_store_whose_creation_was_cut_short_is_a_new_store() {
        let folder = temporary();
        let database = folder.path().join(DATABASE_FOLDER);
        {
            let created = open(folder.path()).expect("opens");
            drop(created);
        }
        let conf = std::fs::read(database.join("conf")).expect("conf");
        std::fs::remove_dir_all(&database).expect("clear");
        std::fs::create_dir_all(&database).expect("mkdir");
        std::fs::write(database.join("conf"), conf).expect("conf");
        std::fs::write(database.join("db"), b"").expect("an empty log");
        let opened = crate::store::open(folder.path()).expect("opens");
        assert_eq!(opened.notice, None);
        assert_eq!(moved_aside(folder.path()), 0);
    }

    /// A holder killed while sled wrote a snapshot left an empty `snap.*.generating`; sled then
    /// refused to open, and the whole store was moved aside as damaged although nothing was lost.
    #[test]
    fn an_unfinished_snapshot_left_by_a_killed_holder_keeps_the_store() {
        let folder = temporary();
        {
            let opened = crate::store::open(folder.path()).expect("opens");
            opened
                .store
                .save_file(&key("/w", "kept.rs"), &record_with_chunk(4, 9))
                .expect("save");
            opened.store.flush().expect("flush");
        }
        let database = folder.path().join(DATABASE_FOLDER);
        // Past every real snapshot, so that sled would read it first.
        std::fs::write(database.join("snap.7FFFFFFFFFFFFFFF.generating"), b"").expect("plant");
        let opened = crate::store::open(folder.path()).expect("opens");
        assert_eq!(opened.notice, None, "nothing to tell: nothing was lost");
        assert_eq!(
            opened.store.load_file(&key("/w", "kept.rs")).expect("load"),
            Some(record_with_chunk(4, 9))
        );
        assert!(!database.join("snap.7FFFFFFFFFFFFFFF.generating").exists());
        let moved = std::fs::read_dir(folder.path())
            .expect("list")
            .filter_map(|entry| entry.ok())
            .filter(|entry| entry.file_name().to_string_lossy().starts_with("damaged-"))
            .count();
        assert_eq!(moved, 0, "the store was not moved aside");
    }

    #[test]
    fn a_damaged_record_is_moved_aside_and_reported() {
        let folder = temporary();
        let store = open(folder.path()).expect("opens");
        let file = key("/w", "broken.rs");
        let raw_key = file_key_bytes(&file);
        store.files.insert(&raw_key, "{not json").expect("spoil");

        let error = store.load_file(&file);
        let Err(StoreError::Damaged {
            target, kept_as, ..
        }) = &error
        else {
            panic!("expected damaged, got {error:?}");
        };
        assert_eq!(target, "file broken.rs in /w");
        assert!(
            error
                .as_ref()
                .err()
                .map(|error| error.to_string())
                .unwrap_or_default()
                .contains(kept_as.as_str())
        );
        // Gone from the files, kept byte for byte, under a key that starts with the time.
        assert_eq!(store.load_file(&file).expect("load again"), None);
        let kept: Vec<_> = store
            .damaged
            .iter()
            .collect::<Result<_, _>>()
            .expect("damaged");
        assert_eq!(kept.len(), 1);
        assert!(kept[0].0.starts_with(kept_as.as_bytes()));
        assert!(kept[0].0.ends_with(&raw_key));
        assert_eq!(&*kept[0].1, b"{not json");

        // Saving over a damaged record keeps the old bytes too.
        store.files.insert(&raw_key, "\u{1}garbage").expect("spoil");
        store
            .save_file(&file, &record_with_chunk(3, 2))
            .expect("save over damage");
        assert_eq!(store.damaged.len(), 2);
        assert_eq!(
            store.load_file(&file).expect("load"),
            Some(record_with_chunk(3, 2))
        );
    }

    #[test]
    fn a_newer_record_is_never_overwritten() {
        let folder = temporary();
        let store = open(folder.path()).expect("opens");
        let file = key("/w", "future.rs");
        let newer = br#"{"version": 4, "lines": "something new"}"#;
        store
            .files
            .insert(file_key_bytes(&file), &newer[..])
            .expect("write");
        assert!(matches!(
            store.load_file(&file),
            Err(StoreError::NewerRecord { found: 4, .. })
        ));
        assert!(matches!(
            store.save_file(&file, &record_with_chunk(3, 2)),
            Err(StoreError::NewerRecord { found: 4, .. })
        ));
        assert_eq!(store.file_summaries(None).expect("summaries"), Vec::new());
        assert_eq!(
            store
                .files
                .get(file_key_bytes(&file))
                .expect("read")
                .as_deref(),
            Some(&newer[..])
        );
        assert_eq!(store.next_chunk_id().expect("next"), 1);
    }

    /// A store written before line keys were kept apart holds whole records (keys inline) in
    /// `files`: they are read as they are, by a load and by the summaries, and a save writes the
    /// file's head and its keys apart.
    #[test]
    fn a_store_with_line_keys_inline_is_read_and_rewritten_apart() {
        let folder = temporary();
        let file = key("/w", "src/parse.rs");
        let other = key("/w", "src/old.rs");
        let record = records::tests::realistic_record();
        {
            let store = open(folder.path()).expect("opens");
            for (key, record) in [(&file, &record), (&other, &record_with_chunk(4, 9))] {
                let whole =
                    records::encode_file_record(&records::to_record(record)).expect("encode");
                store
                    .files
                    .insert(file_key_bytes(key), whole)
                    .expect("write the old form");
            }
            // Stale keys left by a removal of an older whetstone: not this record's.
            store
                .line_keys
                .insert(
                    file_key_bytes(&other),
                    &br#"{"version":1,"line_keys":[1,2]}"#[..],
                )
                .expect("write stale keys");
            store.flush().expect("flush");
        }
        let store = reopen(folder.path());
        assert_eq!(store.load_file(&file).expect("load"), Some(record.clone()));
        assert_eq!(
            store.load_file(&other).expect("load"),
            Some(record_with_chunk(4, 9))
        );
        assert_eq!(
            store.file_summaries(None).expect("summaries"),
            vec![
                (other.clone(), FileSummary::of(record_with_chunk(4, 9))),
                (file.clone(), FileSummary::of(record.clone())),
            ]
        );

        store.save_file(&file, &record).expect("save");
        let head = store.files.get(file_key_bytes(&file)).expect("read");
        let head: records::FileHeadV3 =
            serde_json::from_slice(&head.expect("a head")).expect("a version 3 head");
        assert_eq!(head.version, records::STORED_FILE_VERSION);
        assert_eq!(head.lines, 12);
        assert!(head.last_line_blank);
        assert!(
            store
                .line_keys
                .get(file_key_bytes(&file))
                .expect("read")
                .is_some()
        );
        assert_eq!(store.load_file(&file).expect("load"), Some(record.clone()));
        assert_eq!(
            store.file_summaries(None).expect("summaries")[1],
            (file.clone(), FileSummary::of(record))
        );

        store.remove_file(&file).expect("remove");
        assert_eq!(
            store.line_keys.get(file_key_bytes(&file)).expect("read"),
            None
        );
        assert_eq!(store.load_file(&file).expect("load"), None);
    }

    /// A head whose line keys are missing, damaged or of another length cannot be laid over its
    /// file: the record is moved aside whole (head and keys), never silently dropped.
    #[test]
    fn a_head_without_its_line_keys_is_moved_aside_with_them() {
        let folder = temporary();
        let store = open(folder.path()).expect("opens");
        let file = key("/w", "a.rs");
        let raw_key = file_key_bytes(&file);
        let spoil_keys: [Option<&[u8]>; 3] = [
            None,
            Some(b"{not json"),
            Some(br#"{"version":1,"line_keys":[7,3]}"#),
        ];
        for keys in spoil_keys {
            let damaged_before = store.damaged.len();
            store
                .save_file(&file, &record_with_chunk(3, 2))
                .expect("save");
            match keys {
                None => {
                    store.line_keys.remove(&raw_key).expect("lose the keys");
                }
                Some(bytes) => {
                    store.line_keys.insert(&raw_key, bytes).expect("spoil");
                }
            }
            let head = store.files.get(&raw_key).expect("read").expect("a head");
            let error = store.load_file(&file);
            assert!(
                matches!(&error, Err(StoreError::Damaged { .. })),
                "{keys:?}: {error:?}"
            );
            assert_eq!(store.load_file(&file).expect("load again"), None);
            assert_eq!(store.line_keys.get(&raw_key).expect("read"), None);
            let kept: Vec<sled::IVec> = store
                .damaged
                .iter()
                .values()
                .collect::<Result<_, _>>()
                .expect("damaged");
            assert!(kept.contains(&head), "{keys:?}");
            // The head, and the keys when there were any.
            let kept_now = if keys.is_some() { 2 } else { 1 };
            assert_eq!(kept.len(), damaged_before + kept_now, "{keys:?}");
        }
    }

    /// Newer line keys are never overwritten, and make the record's load say so.
    #[test]
    fn newer_line_keys_are_never_overwritten() {
        let folder = temporary();
        let store = open(folder.path()).expect("opens");
        let file = key("/w", "a.rs");
        store
            .save_file(&file, &record_with_chunk(3, 2))
            .expect("save");
        let newer = br#"{"version": 2, "keys": "something new"}"#;
        store
            .line_keys
            .insert(file_key_bytes(&file), &newer[..])
            .expect("write");
        assert!(matches!(
            store.load_file(&file),
            Err(StoreError::NewerRecord { found: 2, .. })
        ));
        assert!(matches!(
            store.save_file(&file, &record_with_chunk(3, 2)),
            Err(StoreError::NewerRecord { found: 2, .. })
        ));
        assert_eq!(
            store
                .line_keys
                .get(file_key_bytes(&file))
                .expect("read")
                .as_deref(),
            Some(&newer[..])
        );
    }

    /// The summaries under a folder are found by key prefixes: the same files as reading every
    /// key and keeping those under the folder, for workspaces below, at and above the folder and
    /// files outside every workspace.
    #[test]
    fn summaries_under_a_folder_are_the_files_under_it() {
        let folder = temporary();
        let store = open(folder.path()).expect("opens");
        let keys = [
            key("/a/b", "x.rs"),
            key("/a/b/c", "y.rs"),
            key("/a/bc", "z.rs"),
            key("/a", "b/w.rs"),
            key("/a", "bc/v.rs"),
            key("/a", "b"),
            key("/", "a/b/u.rs"),
            key("/", "a/bd.rs"),
            key("", "/a/b/t.rs"),
            key("", "/a/bt.rs"),
            key("/d", "a/b/s.rs"),
        ];
        for file in &keys {
            store
                .save_file(file, &record_with_chunk(2, 1))
                .expect("save");
        }
        for under in [
            "/a/b",
            "/a/b/",
            "/a/./b",
            "/a",
            "/",
            "/a/b/x.rs",
            "/a/b/c",
            "/d",
            "/e",
            "a/b",
        ] {
            let normalized = normalize_lexically(Path::new(under));
            let found: Vec<FileKey> = store
                .file_summaries(Some(Path::new(under)))
                .expect("summaries")
                .into_iter()
                .map(|(key, _)| key)
                .collect();
            let mut expected: Vec<FileKey> = keys
                .iter()
                .filter(|key| key.is_under(&normalized))
                .cloned()
                .collect();
            expected.sort();
            assert_eq!(found, expected, "under {under}");
        }
        assert_eq!(
            store
                .file_summaries(Some(Path::new("/a/b")))
                .expect("summaries")
                .len(),
            6
        );
    }

    #[test]
    fn damaged_dismissals_and_keys_are_moved_aside_once() {
        let folder = temporary();
        let store = open(folder.path()).expect("opens");
        let file = key("/w", "a.rs");
        let dismissal = Dismissal {
            uri: "file:///w/a.rs".to_string(),
            origin: crate::core::Origin::Pasted,
            lines: 3,
            created_ms: 1,
            dismissed_ms: 2,
            rule: None,
        };
        store.record_dismissal(&file, &dismissal).expect("dismiss");
        store
            .dismissals
            .insert(b"short", &b"{}"[..])
            .expect("spoil");
        store
            .files
            .insert(b"no separator", &b"{}"[..])
            .expect("spoil");
        assert!(matches!(
            store.dismissals(),
            Err(StoreError::Damaged { .. })
        ));
        assert_eq!(
            store.dismissals().expect("the rest"),
            vec![(file, dismissal)]
        );
        assert!(matches!(store.files(), Err(StoreError::Damaged { .. })));
        assert_eq!(store.files().expect("the rest"), Vec::<FileKey>::new());
        assert_eq!(store.damaged.len(), 2);
    }

    /// Asserts that `open` reports damage and moved the database aside, and that the next open
    /// starts afresh.
    fn assert_moved_aside(folder: &Path, expected_reason: &str) {
        let failure = open(folder);
        let Err(OpenFailure::Damaged {
            moved_to: Some(moved_to),
            reason,
            ..
        }) = &failure
        else {
            panic!("expected damaged and moved, got {failure:?}");
        };
        assert!(reason.contains(expected_reason), "{reason}");
        let name = moved_to
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        assert!(name.starts_with("damaged-") && name.len() >= "damaged-yyyymmdd-hhmmss".len());
        assert!(std::fs::symlink_metadata(moved_to).is_ok());
        assert!(!folder.join(DATABASE_FOLDER).exists());
        let fresh = open(folder).expect("a fresh store opens");
        assert_eq!(fresh.files().expect("files"), Vec::<FileKey>::new());
    }

    #[test]
    fn a_database_that_is_a_file_is_moved_aside() {
        let folder = temporary();
        std::fs::write(folder.path().join(DATABASE_FOLDER), b"not a folder").expect("write");
        assert_moved_aside(folder.path(), "is not a folder");
    }

    /// Deterministic bytes that are nothing sled or JSON would recognise.
    fn random_bytes(length: usize) -> Vec<u8> {
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        (0..length)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect()
    }

    #[test]
    fn a_database_folder_of_random_bytes_is_moved_aside() {
        // sled reads a binary `conf` as a pre-0.29 database and refuses it.
        let folder = temporary();
        let database = folder.path().join(DATABASE_FOLDER);
        std::fs::create_dir(&database).expect("mkdir");
        std::fs::write(database.join("conf"), random_bytes(300)).expect("write");
        std::fs::write(database.join("db"), random_bytes(100_000)).expect("write");
        assert_moved_aside(folder.path(), "earlier than 0.29");
    }

    #[test]
    fn a_garbage_log_that_sled_opens_empty_is_moved_aside() {
        // sled skips a log it cannot read and opens an empty database: the missing schema
        // version gives it away.
        let folder = temporary();
        {
            let store = open(folder.path()).expect("opens");
            store
                .save_file(&key("/w", "a.rs"), &record_with_chunk(3, 2))
                .expect("save");
            store.flush().expect("flush");
        }
        let log = folder.path().join(DATABASE_FOLDER).join("db");
        let length = std::fs::metadata(&log).expect("log").len() as usize;
        std::fs::write(&log, random_bytes(length.max(4096))).expect("spoil");
        assert_moved_aside(folder.path(), "came back empty");
    }

    /// A process killed while it created the store leaves sled's trees without the schema
    /// version, and the creation marker beside them: the next open finishes the creation.
    #[test]
    fn a_creation_killed_before_its_version_was_flushed_is_finished_not_moved_aside() {
        let folder = temporary();
        prepare_folder(folder.path()).expect("folder");
        std::fs::write(folder.path().join(CREATING_MARKER), b"").expect("marker");
        {
            let database = raw(folder.path());
            for tree in [META_TREE, FILES_TREE, LINE_KEYS_TREE, CALIBRATION_TREE] {
                database.open_tree(tree).expect("tree");
            }
            database.flush().expect("flush");
        }
        let log = folder.path().join(DATABASE_FOLDER).join("db");
        assert!(std::fs::metadata(&log).expect("log").len() > 0);
        let store = reopen(folder.path());
        assert!(!folder.path().join(CREATING_MARKER).exists());
        store
            .save_file(&key("/w", "a.rs"), &record_with_chunk(3, 2))
            .expect("save");
        store.flush().expect("flush");
        drop(store);
        let again = reopen(folder.path());
        assert_eq!(again.files().expect("files").len(), 1);
        let moved_aside = std::fs::read_dir(folder.path())
            .expect("store folder")
            .filter_map(Result::ok)
            .any(|entry| entry.file_name().to_string_lossy().starts_with("damaged-"));
        assert!(!moved_aside);
    }

    /// Regression: a file key with a NUL in it (from `%00` in a file URI) was stored, and every
    /// listing of the files and dismissals then reported it as damaged.
    #[test]
    fn keys_that_would_not_read_back_are_refused() {
        let folder = temporary();
        let disk = open(folder.path()).expect("opens");
        let memory = MemoryStore::default();
        let dismissal = Dismissal {
            uri: "file:///w/a%00b.rs".to_string(),
            origin: crate::core::Origin::Generated,
            lines: 3,
            created_ms: 1,
            dismissed_ms: 2,
            rule: None,
        };
        let stores: [&dyn Store; 2] = [&disk, &memory];
        for store in stores {
            for bad in [key("/w", "a\0b.rs"), key("/w\0x", "a.rs"), key("", "/a\0")] {
                let saved = store.save_file(&bad, &record_with_chunk(3, 2));
                assert!(
                    matches!(saved, Err(StoreError::InvalidRecord { .. })),
                    "{bad:?}: {saved:?}"
                );
                let dismissed = store.record_dismissal(&bad, &dismissal);
                assert!(
                    matches!(dismissed, Err(StoreError::InvalidRecord { .. })),
                    "{bad:?}: {dismissed:?}"
                );
            }
            assert_eq!(store.files().expect("a clean listing"), Vec::new());
            assert_eq!(store.dismissals().expect("a clean listing"), Vec::new());
        }
        // Every key that is accepted reads back as itself.
        for good in [key("/w", "a.rs"), key("", "/a b/é.rs"), key("/w", "")] {
            assert_eq!(good.why_not_storable(), None);
            assert_eq!(parse_file_key(&file_key_bytes(&good)), Some(good));
        }
    }

    #[test]
    fn open_errors_are_judged() {
        let lock = sled::Error::Io(std::io::Error::other(
            "could not acquire lock on \"/x/db/db\": Os { code: 11, kind: WouldBlock }",
        ));
        assert!(matches!(
            judge_open_error(SledOpenError::Sled(lock)),
            OpenErrorKind::Locked
        ));
        let denied = sled::Error::Io(std::io::Error::from(std::io::ErrorKind::PermissionDenied));
        assert!(matches!(
            judge_open_error(SledOpenError::Sled(denied)),
            OpenErrorKind::Io(_)
        ));
        let wrong_kind = sled::Error::Io(std::io::Error::from(std::io::ErrorKind::IsADirectory));
        assert!(matches!(
            judge_open_error(SledOpenError::Sled(wrong_kind)),
            OpenErrorKind::Damaged(_)
        ));
        assert!(matches!(
            judge_open_error(SledOpenError::Sled(sled::Error::ReportableBug("x".into()))),
            OpenErrorKind::Damaged(_)
        ));
        assert!(matches!(
            judge_open_error(SledOpenError::Panicked("tried to serialize Uninitialized".into())),
            OpenErrorKind::Damaged(reason) if reason.contains("Uninitialized")
        ));
    }

    #[test]
    fn an_unreadable_next_chunk_id_is_counted_again() {
        let folder = temporary();
        {
            let store = open(folder.path()).expect("opens");
            store
                .save_file(&key("/w", "a.rs"), &record_with_chunk(3, 12))
                .expect("save");
            store
                .meta
                .insert(NEXT_CHUNK_ID_KEY, "twelve")
                .expect("spoil");
            assert!(matches!(
                store.next_chunk_id(),
                Err(StoreError::DamagedSetting { .. })
            ));
            store.flush().expect("flush");
        }
        let store = reopen(folder.path());
        assert_eq!(store.next_chunk_id().expect("next"), 13);
        assert_eq!(store.damaged.len(), 1);
    }

    #[test]
    fn keys_round_trip() {
        let file = key("/home/me/project", "src/a b/ü.rs");
        assert_eq!(parse_file_key(&file_key_bytes(&file)), Some(file.clone()));
        let mut dismissal_key = file_key_bytes(&file);
        dismissal_key.push(0);
        dismissal_key.extend_from_slice(&u64::MAX.to_be_bytes());
        assert_eq!(parse_dismissal_key(&dismissal_key), Some(file));
        assert_eq!(parse_file_key(b"no separator"), None);
        assert_eq!(parse_dismissal_key(b"short"), None);
    }
}
