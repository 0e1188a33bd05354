//! `store_crash_child`: the writer that the store's crash test (`tests/store_crash.rs`) kills.
//! It holds the store in the folder given and writes to it until it is killed or its stdin
//! closes, printing one `ack` line for every write the store made durable, and only then.
//!
//! ```text
//! store_crash_child <store folder> <seed> <first write number>
//! ```
//!
//! Writes are numbered from the first write number up; the number decides what a write holds
//! (see `whetstone_tests::store_crash`), so the test can tell from an `ack` line alone what must
//! be in the store. Between acknowledged writes it makes unacknowledged ones (saves without a
//! flush, activity), so that sled always has something in flight when the kill comes.
//!
//! Lines on stdout: `opening` just before it opens the store (so that the test can aim a kill at
//! the open), `holding` once the store is open (this process holds it), `notice <text>` if
//! opening it had something to tell the user (a damaged store moved aside), then `ack ...` lines.
//! Exit status: 0 when stdin closed, 1 for bad arguments, 2 if the store could not be opened, 3
//! if another process holds it, 4 if a write failed.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use whetstone::core::activity::DayActivity;
use whetstone::core::by_origin::ByOrigin;
use whetstone::store::calibration::{CalibrationChange, CalibrationError, CalibrationReply};
use whetstone::store::journal::Entry;
use whetstone::store::{SharedStore, Store};
use whetstone_tests::store_crash::{
    Ack, BASE_MS, FILE_COUNT, SeededRandom, dismissal, file_key, file_record,
};

const USAGE: &str = "usage: store_crash_child <store folder> <seed> <first write number>";

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let [folder, seed, first] = arguments.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(1);
    };
    let (Ok(seed), Ok(first)) = (seed.parse::<u64>(), first.parse::<u64>()) else {
        eprintln!("{USAGE}");
        return ExitCode::from(1);
    };
    let folder = PathBuf::from(folder);

    say("opening");
    let store = match SharedStore::connect(&folder, |_| {}) {
        Ok(store) => store,
        Err(failure) => {
            eprintln!("store_crash_child: {failure}");
            return ExitCode::from(2);
        }
    };
    if !store.is_holder() {
        eprintln!(
            "store_crash_child: another process holds the store in {}",
            folder.display()
        );
        return ExitCode::from(3);
    }
    if let Some(notice) = store.take_notice() {
        say(&format!("notice {}", notice.replace('\n', " ")));
    }
    say("holding");

    // The test closes stdin to stop a writer gently (and kills it otherwise).
    let stop = Arc::new(AtomicBool::new(false));
    let stop_on_eof = stop.clone();
    let _ = std::thread::Builder::new()
        .name("stdin".to_string())
        .spawn(move || {
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
            stop_on_eof.store(true, Ordering::SeqCst);
        });

    let mut writer = Writer {
        running_session: running_session(&store),
        store,
        random: SeededRandom::new(seed),
        next_write: first,
    };
    while !stop.load(Ordering::SeqCst) {
        if let Err(message) = writer.step() {
            eprintln!("store_crash_child: {message}");
            return ExitCode::from(4);
        }
    }
    ExitCode::SUCCESS
}

/// One write the test may rely on once it is acknowledged.
enum StoreWrite {
    SaveFile { n: u64, file_index: usize },
    Dismissal { n: u64 },
    Calibration { n: u64, change: CalibrationChange },
}

/// Makes `write` durable and says what was written; None when the calibration rules refused the
/// change (a session was already running, or none was). This is the one place that decides what
/// "acknowledged" means (today: the write, then `flush` returned Ok), so that it can be switched
/// to another durability API without touching the rest.
fn acknowledged_write(store: &SharedStore, write: &StoreWrite) -> Result<Option<Ack>, String> {
    let ack = match write {
        StoreWrite::SaveFile { n, file_index } => {
            // As the language server does for a classification: the journal first.
            let (key, record) = (file_key(*file_index), file_record(*file_index, *n));
            let judged: Vec<u64> = record.chunks.iter().map(|chunk| chunk.id.0).collect();
            store
                .journal(&[Entry::judged_file(&key, &record, &judged, &[])])
                .map_err(|error| format!("journal of write {n}: {error}"))?;
            store
                .save_file(&key, &record)
                .map_err(|error| format!("save of write {n}: {error}"))?;
            Ack::File {
                n: *n,
                file_index: *file_index,
            }
        }
        StoreWrite::Dismissal { n } => {
            let (key, dismissal) = dismissal(*n);
            store
                .journal(&[Entry::dismissal(&key, &dismissal)])
                .map_err(|error| format!("journal of write {n}: {error}"))?;
            store
                .record_dismissal(&key, &dismissal)
                .map_err(|error| format!("dismissal of write {n}: {error}"))?;
            Ack::Dismissal { n: *n }
        }
        StoreWrite::Calibration { n, change } => match store.change_calibration(change) {
            Ok(CalibrationReply::Started(session)) => Ack::CalibrationStarted {
                n: *n,
                started_ms: session.started_ms,
            },
            Ok(CalibrationReply::Stopped(session)) => Ack::CalibrationStopped {
                n: *n,
                started_ms: session.started_ms,
                ended_ms: session.ended_ms.unwrap_or(0),
            },
            Ok(other) => return Err(format!("calibration change {n} answered {other:?}")),
            Err(
                CalibrationError::AlreadyRunning { .. }
                | CalibrationError::NotRunning
                | CalibrationError::AlreadyRated { .. },
            ) => return Ok(None),
            Err(error) => return Err(format!("calibration change {n}: {error}")),
        },
    };
    store
        .flush()
        .map_err(|error| format!("flush after {ack}: {error}"))?;
    Ok(Some(ack))
}

struct Writer {
    store: Arc<SharedStore>,
    random: SeededRandom,
    next_write: u64,
    /// The start of the session that runs, as far as this writer knows.
    running_session: Option<u64>,
}

impl Writer {
    fn take_write_number(&mut self) -> u64 {
        self.next_write += 1;
        self.next_write - 1
    }

    /// A few unacknowledged writes, then one acknowledged write and its `ack` line.
    fn step(&mut self) -> Result<(), String> {
        for _ in 0..self.random.below(3) {
            let n = self.take_write_number();
            let file_index = self.random.below(FILE_COUNT as u64) as usize;
            self.store
                .save_file(&file_key(file_index), &file_record(file_index, n))
                .map_err(|error| format!("unflushed save of write {n}: {error}"))?;
        }
        if self.random.chance(30) {
            let n = self.take_write_number();
            self.store
                .add_activity(&[activity(n)])
                .map_err(|error| format!("activity of write {n}: {error}"))?;
        }

        let n = self.take_write_number();
        let roll = self.random.below(100);
        let write = if roll < 70 {
            StoreWrite::SaveFile {
                n,
                file_index: self.random.below(FILE_COUNT as u64) as usize,
            }
        } else if roll < 85 {
            StoreWrite::Dismissal { n }
        } else {
            let at_ms = BASE_MS + n;
            let change = match self.running_session {
                None => CalibrationChange::Start {
                    label: Some(format!("crash test {n}")),
                    minutes: None,
                    at_ms,
                },
                Some(_) => CalibrationChange::Stop {
                    feel: Some(1 + (n % 5) as u8),
                    notes: Some("stopped by the crash test".to_string()),
                    at_ms,
                },
            };
            StoreWrite::Calibration { n, change }
        };
        match acknowledged_write(&self.store, &write)? {
            Some(ack) => {
                match &ack {
                    Ack::CalibrationStarted { started_ms, .. } => {
                        self.running_session = Some(*started_ms);
                    }
                    Ack::CalibrationStopped { .. } => self.running_session = None,
                    Ack::File { .. } | Ack::Dismissal { .. } => {}
                }
                say(&ack.to_string());
            }
            // What this writer thought was running was not: it learns and goes on.
            None => self.running_session = running_session(&self.store),
        }
        Ok(())
    }
}

/// The start of the session that runs in the store, if one does.
fn running_session(store: &SharedStore) -> Option<u64> {
    store
        .calibration_sessions()
        .ok()?
        .iter()
        .rev()
        .find(|session| session.ended_ms.is_none())
        .map(|session| session.started_ms)
}

/// A little of a day's activity, as a server adds it every few seconds.
fn activity(n: u64) -> DayActivity {
    DayActivity {
        day: 19_700 + (n % 3) as u32,
        lines: ByOrigin::from([n % 7, n % 3, n % 2, 0, 0, 0]),
        typed_chars: n % 90,
        active_ms: 1_000 + n % 4_000,
        calibration_lines: ByOrigin::default(),
        calibration_active_ms: 0,
    }
}

/// One line on stdout, flushed at once: the test reads it the moment it is written, and a line
/// still in a buffer would be lost with the process. A test that went away ends the writer.
fn say(line: &str) {
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "{line}")
        .and_then(|()| stdout.flush())
        .is_err()
    {
        std::process::exit(0);
    }
}
