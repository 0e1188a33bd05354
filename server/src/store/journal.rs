//! The journal: every judgement the user made (a class, an explanation, a practice, a dismissal, a
//! calibration change), and every declaration an agent made (`whetstone mark`), appended to `<store>/journal/judgements.log` and synced to disk before the
//! command that made it answers. It is the store's second copy of what was acknowledged: the
//! holder folds it into the database when it opens it and whenever the log grows
//! ([`crate::store::fold`]), and checks the database against it.
//!
//! Any process appends, whoever holds the database: a window that cannot reach the holder (it is
//! stopped, or gone) still makes its judgements durable here. Appends and rewrites take an flock
//! on `journal/lock`, so the lines of two processes never interleave, and each line is stamped
//! under that lock, so stamps grow along the log. A line cut short by a crash is skipped when read
//! (it was never acknowledged: the sync had not returned).
//!
//! Lines are JSON with a `version`; the records inside are the store's own versioned forms.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::store::now_ms;
use crate::store::protocol::WireKey;
use crate::store::records::{CalibrationSessionV1, DeclarationV1, DismissalV1, FileRecordV1};

/// The line version this build writes and the newest it reads.
pub const JOURNAL_VERSION: u32 = 1;
/// The journal's folder inside the store folder.
pub const JOURNAL_FOLDER: &str = "journal";
const LOG_NAME: &str = "judgements.log";
const LOCK_NAME: &str = "lock";

/// What a line says.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    /// A file's whole record just after a judgement on it: `judged` are the chunks the judgement
    /// changed, `removed` the ones it took away (a dismissal).
    File {
        key: WireKey,
        record: FileRecordV1,
        judged: Vec<u64>,
        removed: Vec<u64>,
    },
    Dismissal {
        key: WireKey,
        dismissal: DismissalV1,
    },
    /// A calibration session just after a start, stop or rating.
    Session { session: CalibrationSessionV1 },
    /// Lines an agent declared it wrote, kept until a window applies them.
    Declaration {
        key: WireKey,
        declaration: DeclarationV1,
    },
    /// The database held, on disk, every entry stamped up to `checked_ms`.
    Checkpoint { checked_ms: u64 },
}

impl Entry {
    /// A file's record just after a judgement on `judged` chunks (or the removal of `removed`).
    pub fn judged_file(
        key: &crate::store::FileKey,
        record: &crate::store::FileRecord,
        judged: &[u64],
        removed: &[u64],
    ) -> Entry {
        Entry::File {
            key: key.into(),
            record: crate::store::records::to_record(record),
            judged: judged.to_vec(),
            removed: removed.to_vec(),
        }
    }

    pub fn dismissal(
        key: &crate::store::FileKey,
        dismissal: &crate::core::engine::Dismissal,
    ) -> Entry {
        Entry::Dismissal {
            key: key.into(),
            dismissal: crate::store::records::dismissal_to_record(dismissal),
        }
    }

    pub fn declaration(
        key: &crate::store::FileKey,
        declaration: &crate::core::declared::Declaration,
    ) -> Entry {
        Entry::Declaration {
            key: key.into(),
            declaration: crate::store::records::declaration_to_record(declaration),
        }
    }

    pub fn session(session: &crate::core::calibration::CalibrationSession) -> Entry {
        Entry::Session {
            session: crate::store::records::calibration_session_to_record(session),
        }
    }
}

/// A line: an entry and the moment it was appended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stamped {
    pub version: u32,
    pub at_ms: u64,
    #[serde(flatten)]
    pub entry: Entry,
}

/// Where an append landed: its stamp, and the log's length before and after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub at_ms: u64,
    pub start: u64,
    pub end: u64,
}

/// What [`Journal::read`] found.
#[derive(Debug, Default)]
pub struct Contents {
    pub entries: Vec<Stamped>,
    /// Lines that could not be read (cut short by a crash, or damaged), skipped.
    pub unreadable: usize,
    /// Lines of a newer whetstone, left alone.
    pub newer: usize,
}

/// The journal of the store in one folder.
#[derive(Debug, Clone)]
pub struct Journal {
    folder: PathBuf,
}

impl Journal {
    /// The journal of the store in `store_folder` (nothing is created until the first append).
    pub fn in_store(store_folder: &Path) -> Journal {
        Journal {
            folder: store_folder.join(JOURNAL_FOLDER),
        }
    }

    pub fn log_path(&self) -> PathBuf {
        self.folder.join(LOG_NAME)
    }

    /// Appends `entries`, stamped now, and returns once they are on disk. The stamp never goes
    /// below the last one in the log (a clock stepped back keeps the order).
    pub fn append(&self, entries: &[Entry]) -> io::Result<Appended> {
        if entries.is_empty() {
            let end = self.log_bytes();
            return Ok(Appended {
                at_ms: now_ms(),
                start: end,
                end,
            });
        }
        let _lock = self.lock(libc::LOCK_EX)?;
        let path = self.log_path();
        let created = !path.exists();
        let mut file = open_append(&path)?;
        let tail = tail_of(&path);
        let at_ms = now_ms().max(tail.last_stamp.unwrap_or(0));
        let mut bytes = Vec::new();
        // A line cut short by a crash must not swallow this one.
        if !tail.ends_a_line {
            bytes.push(b'\n');
        }
        for entry in entries {
            let line = Stamped {
                version: JOURNAL_VERSION,
                at_ms,
                entry: entry.clone(),
            };
            serde_json::to_writer(&mut bytes, &line).map_err(io::Error::other)?;
            bytes.push(b'\n');
        }
        let start = file.metadata()?.len();
        file.write_all(&bytes)?;
        file.sync_data()?;
        if created {
            sync_folder(&self.folder)?;
        }
        Ok(Appended {
            at_ms,
            start,
            end: start + bytes.len() as u64,
        })
    }

    /// Every readable line, in the order appended.
    pub fn read(&self) -> io::Result<Contents> {
        if !self.log_path().exists() {
            return Ok(Contents::default());
        }
        let _lock = self.lock(libc::LOCK_SH)?;
        read_log(&self.log_path())
    }

    /// The log's length in bytes (0 without one): it grows with every append.
    pub fn log_bytes(&self) -> u64 {
        std::fs::metadata(self.log_path()).map_or(0, |metadata| metadata.len())
    }

    /// Rewrites the log as `keep` decides from what it holds now, atomically (a crash leaves the
    /// old log or the new one, whole). Lines that could not be read are dropped.
    pub fn rewrite(&self, keep: impl FnOnce(Vec<Stamped>) -> Vec<Stamped>) -> io::Result<()> {
        let _lock = self.lock(libc::LOCK_EX)?;
        let path = self.log_path();
        let contents = read_log(&path)?;
        let kept = keep(contents.entries);
        let temporary = self.folder.join(format!("{LOG_NAME}.rewriting"));
        {
            let mut file = private_file(&temporary, true)?;
            let mut bytes = Vec::new();
            for line in &kept {
                serde_json::to_writer(&mut bytes, line).map_err(io::Error::other)?;
                bytes.push(b'\n');
            }
            file.write_all(&bytes)?;
            file.sync_all()?;
        }
        std::fs::rename(&temporary, &path)?;
        sync_folder(&self.folder)
    }

    /// The journal's lock, held until the returned file is dropped.
    fn lock(&self, kind: libc::c_int) -> io::Result<File> {
        use std::os::fd::AsRawFd;
        create_private_folder(&self.folder)?;
        let file = private_file(&self.folder.join(LOCK_NAME), false)?;
        loop {
            // SAFETY: flock on a descriptor owned here; no memory is passed.
            if unsafe { libc::flock(file.as_raw_fd(), kind) } == 0 {
                return Ok(file);
            }
            let error = io::Error::last_os_error();
            if error.kind() != io::ErrorKind::Interrupted {
                return Err(error);
            }
        }
    }
}

fn read_log(path: &Path) -> io::Result<Contents> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Contents::default()),
        Err(error) => return Err(error),
    };
    let mut contents = Contents::default();
    for line in BufReader::new(file).split(b'\n') {
        let line = line?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<VersionProbe>(&line) {
            Ok(probe) if probe.version > JOURNAL_VERSION => {
                contents.newer += 1;
                continue;
            }
            Ok(_) => {}
            Err(_) => {
                contents.unreadable += 1;
                continue;
            }
        }
        match serde_json::from_slice::<Stamped>(&line) {
            Ok(stamped) => contents.entries.push(stamped),
            Err(_) => contents.unreadable += 1,
        }
    }
    if contents.unreadable > 0 {
        tracing::warn!(
            "skipped {} unreadable lines of the store's journal {}",
            contents.unreadable,
            path.display()
        );
    }
    Ok(contents)
}

#[derive(Deserialize)]
struct VersionProbe {
    version: u32,
}

/// What the end of the log says.
struct Tail {
    /// The log is empty or its last line is whole.
    ends_a_line: bool,
    last_stamp: Option<u64>,
}

/// Reads the log's end only (lines are small next to the log).
fn tail_of(path: &Path) -> Tail {
    use std::io::{Read, Seek, SeekFrom};
    let unknown = Tail {
        ends_a_line: true,
        last_stamp: None,
    };
    let Ok(mut file) = File::open(path) else {
        return unknown;
    };
    let Ok(metadata) = file.metadata() else {
        return unknown;
    };
    let length = metadata.len();
    let mut window: u64 = 4096;
    loop {
        let start = length.saturating_sub(window);
        let mut tail = Vec::new();
        if file.seek(SeekFrom::Start(start)).is_err() || file.read_to_end(&mut tail).is_err() {
            return unknown;
        }
        let ends_a_line = tail.last().is_none_or(|&byte| byte == b'\n');
        let complete = tail.strip_suffix(b"\n").unwrap_or(&tail);
        let last_line = match complete.iter().rposition(|&byte| byte == b'\n') {
            Some(newline) => &complete[newline + 1..],
            None if start == 0 => complete,
            None => {
                window = window.saturating_mul(4);
                continue;
            }
        };
        return Tail {
            ends_a_line,
            last_stamp: stamp_of(last_line),
        };
    }
}

fn stamp_of(line: &[u8]) -> Option<u64> {
    #[derive(Deserialize)]
    struct Stamp {
        at_ms: u64,
    }
    serde_json::from_slice::<Stamp>(line)
        .ok()
        .map(|stamp| stamp.at_ms)
}

fn open_append(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

fn private_file(path: &Path, truncate: bool) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(truncate)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

fn create_private_folder(folder: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    match std::fs::symlink_metadata(folder) {
        Ok(metadata) if metadata.is_dir() => Ok(()),
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "{} exists and is not a folder: move it away so that whetstone can keep its \
                 journal there",
                folder.display()
            ),
        )),
        Err(error) if error.kind() == io::ErrorKind::NotFound => std::fs::DirBuilder::new()
            .mode(0o700)
            .create(folder)
            .or_else(|error| match error.kind() {
                io::ErrorKind::AlreadyExists => Ok(()),
                _ => Err(error),
            }),
        Err(error) => Err(error),
    }
}

/// Makes a created or renamed name in `folder` durable.
fn sync_folder(folder: &Path) -> io::Result<()> {
    File::open(folder)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkpoint(checked_ms: u64) -> Entry {
        Entry::Checkpoint { checked_ms }
    }

    #[test]
    fn appended_lines_are_read_back_in_order_with_growing_stamps() {
        let folder = tempfile::tempdir().expect("tempdir");
        let journal = Journal::in_store(folder.path());
        assert_eq!(journal.read().expect("read").entries, Vec::new());
        assert_eq!(journal.log_bytes(), 0);
        let first = journal
            .append(&[checkpoint(1), checkpoint(2)])
            .expect("append");
        let second = journal.append(&[checkpoint(3)]).expect("append");
        assert!(second.at_ms >= first.at_ms);
        assert_eq!((first.start, second.start), (0, first.end));
        assert_eq!(second.end, journal.log_bytes());
        let second = second.at_ms;
        let contents = journal.read().expect("read");
        let checked: Vec<u64> = contents
            .entries
            .iter()
            .map(|line| match line.entry {
                Entry::Checkpoint { checked_ms } => checked_ms,
                _ => 0,
            })
            .collect();
        assert_eq!(checked, vec![1, 2, 3]);
        assert_eq!(contents.entries[2].at_ms, second);
        assert!(journal.log_bytes() > 0);
    }

    #[cfg(unix)]
    #[test]
    fn the_journal_is_private() {
        use crate::store::tests::mode_of as mode;
        let folder = tempfile::tempdir().expect("tempdir");
        let journal = Journal::in_store(folder.path());
        journal.append(&[checkpoint(1)]).expect("append");
        assert_eq!(mode(&folder.path().join(JOURNAL_FOLDER)), 0o700);
        assert_eq!(mode(&journal.log_path()), 0o600);
    }

    /// A process killed in the middle of an append leaves half a line; it was never acknowledged,
    /// and the lines after it (appended by others later) are still read.
    #[test]
    fn a_line_cut_short_is_skipped_and_the_rest_read() {
        let folder = tempfile::tempdir().expect("tempdir");
        let journal = Journal::in_store(folder.path());
        journal.append(&[checkpoint(1)]).expect("append");
        let mut file = open_append(&journal.log_path()).expect("open");
        file.write_all(br#"{"version":1,"at_ms":5,"kind":"checkp"#)
            .expect("a torn line");
        drop(file);
        journal.append(&[checkpoint(2)]).expect("append");
        journal.append(&[checkpoint(3)]).expect("append");
        let contents = journal.read().expect("read");
        assert_eq!(contents.unreadable, 1);
        let entries: Vec<Entry> = contents
            .entries
            .into_iter()
            .map(|line| line.entry)
            .collect();
        assert_eq!(entries, vec![checkpoint(1), checkpoint(2), checkpoint(3)]);
    }

    #[test]
    fn newer_lines_are_left_alone() {
        let folder = tempfile::tempdir().expect("tempdir");
        let journal = Journal::in_store(folder.path());
        journal.append(&[checkpoint(1)]).expect("append");
        let mut file = open_append(&journal.log_path()).expect("open");
        file.write_all(b"{\"version\":9,\"at_ms\":5,\"kind\":\"future\"}\n")
            .expect("write");
        drop(file);
        let contents = journal.read().expect("read");
        assert_eq!((contents.entries.len(), contents.newer), (1, 1));
    }

    #[test]
    fn a_rewrite_keeps_what_it_is_told() {
        let folder = tempfile::tempdir().expect("tempdir");
        let journal = Journal::in_store(folder.path());
        journal
            .append(&[checkpoint(1), checkpoint(2), checkpoint(3)])
            .expect("append");
        journal
            .rewrite(|lines| lines.into_iter().skip(2).collect())
            .expect("rewrite");
        let contents = journal.read().expect("read");
        assert_eq!(contents.entries.len(), 1);
        assert_eq!(contents.entries[0].entry, checkpoint(3));
        assert!(
            !folder
                .path()
                .join("journal/judgements.log.rewriting")
                .exists()
        );
        // Appends go on after a rewrite.
        journal.append(&[checkpoint(4)]).expect("append");
        assert_eq!(journal.read().expect("read").entries.len(), 2);
    }

    #[test]
    fn a_journal_folder_that_is_a_file_is_an_error_that_says_what_to_do() {
        let folder = tempfile::tempdir().expect("tempdir");
        std::fs::write(folder.path().join(JOURNAL_FOLDER), b"").expect("plant");
        let error = Journal::in_store(folder.path())
            .append(&[checkpoint(1)])
            .expect_err("refused");
        assert!(error.to_string().contains("is not a folder"), "{error}");
    }
}
