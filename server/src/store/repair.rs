//! Crash leftovers in the database folder, cleared before sled opens it.
//!
//! sled 0.34 writes a snapshot to `snap.<lsn>.generating`, syncs it and renames it to
//! `snap.<lsn>`; only then does it remove the older snapshot. A process killed before the rename
//! leaves the `.generating` file behind (often empty), and sled then refuses to open the database
//! ("Read corrupted data at file offset None") every time, although the older snapshot and the log
//! still hold everything. Such a file is only a leftover when no process holds the database: a
//! holder may be writing it this very moment. So it is removed only while this process holds
//! sled's own lock (an flock on `db/db`) for the moment of the clean-up.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// What [`clear_crash_leftovers`] removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Cleared {
    pub snapshots: Vec<PathBuf>,
}

/// Removes unfinished snapshots from the sled database in `database` when no process holds it.
/// Does nothing when another process holds it, or when there is no database yet.
pub fn clear_crash_leftovers(database: &Path) -> io::Result<Cleared> {
    let mut cleared = Cleared::default();
    let leftovers = unfinished_snapshots(database)?;
    if leftovers.is_empty() {
        return Ok(cleared);
    }
    let Some(_held) = hold_while_closed(database)? else {
        tracing::debug!(
            "the store database is held by another process; its unfinished snapshots are its own"
        );
        return Ok(cleared);
    };
    for path in leftovers {
        match std::fs::remove_file(&path) {
            Ok(()) => {
                tracing::warn!(
                    "removed {}, an unfinished snapshot left by a process that was stopped while \
                     writing it",
                    path.display()
                );
                cleared.snapshots.push(path);
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(error),
        }
    }
    Ok(cleared)
}

/// `snap.*.generating` files directly in `database` (none when it does not exist).
fn unfinished_snapshots(database: &Path) -> io::Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(database) {
        Ok(entries) => entries,
        Err(error)
            if matches!(
                error.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(Vec::new());
        }
        Err(error) => return Err(error),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("snap.")
            && name.ends_with(".generating")
            && entry.file_type()?.is_file()
        {
            found.push(entry.path());
        }
    }
    found.sort();
    Ok(found)
}

/// sled's lock on `database`, taken without waiting: Some while it is held here (released when
/// dropped), None when another process holds it. sled takes an exclusive flock on `db/db`.
fn hold_while_closed(database: &Path) -> io::Result<Option<File>> {
    use std::os::fd::AsRawFd;
    let file = match File::open(database.join("db")) {
        Ok(file) => file,
        // No log yet: nothing that sled would read, and nothing to lock.
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return File::open(database).map(Some);
        }
        Err(error) => return Err(error),
    };
    // SAFETY: flock on a descriptor this function owns; no memory is passed.
    let status = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if status == 0 {
        return Ok(Some(file));
    }
    let error = io::Error::last_os_error();
    if error.kind() == io::ErrorKind::WouldBlock {
        Ok(None)
    } else {
        Err(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_unfinished_snapshot_is_removed_when_nobody_holds_the_database() {
        let folder = tempfile::tempdir().expect("tempdir");
        let database = folder.path();
        std::fs::write(database.join("db"), b"log").expect("write");
        std::fs::write(database.join("snap.00000000000004A1"), b"kept").expect("write");
        std::fs::write(database.join("snap.00000000000004B2.generating"), b"").expect("write");
        let cleared = clear_crash_leftovers(database).expect("clears");
        assert_eq!(
            cleared.snapshots,
            vec![database.join("snap.00000000000004B2.generating")]
        );
        assert!(database.join("snap.00000000000004A1").exists());
        assert!(database.join("db").exists());
    }

    #[test]
    fn a_snapshot_being_written_by_the_holder_is_left_alone() {
        use std::os::fd::AsRawFd;
        let folder = tempfile::tempdir().expect("tempdir");
        let database = folder.path();
        std::fs::write(database.join("db"), b"log").expect("write");
        let generating = database.join("snap.0000000000000001.generating");
        std::fs::write(&generating, b"").expect("write");
        // Another open file description holding the lock, as a holder process would.
        let holder = File::open(database.join("db")).expect("open");
        // SAFETY: flock on an open descriptor.
        let status = unsafe { libc::flock(holder.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        assert_eq!(status, 0);
        let cleared = clear_crash_leftovers(database).expect("runs");
        assert!(cleared.snapshots.is_empty());
        assert!(generating.exists());
        drop(holder);
        assert_eq!(
            clear_crash_leftovers(database)
                .expect("clears")
                .snapshots
                .len(),
            1
        );
    }

    #[test]
    fn no_database_yet_is_nothing_to_clear() {
        let folder = tempfile::tempdir().expect("tempdir");
        let missing = folder.path().join("db");
        assert_eq!(
            clear_crash_leftovers(&missing).expect("runs"),
            Cleared::default()
        );
    }
}
