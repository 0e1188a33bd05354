//! Crash consistency of the store: what it acknowledged survives `kill -9` of the process holding
//! it at any moment, and a copy taken while it writes (what a power cut leaves, or a backup made
//! while an editor runs) holds everything acknowledged before the copy began.
//!
//! The writer is `store_crash_child` (src/bin): it holds the store and prints `ack ...` for each
//! write that `flush` made durable. For each seeded iteration the test starts a writer on the
//! store folder, kills it (SIGKILL) after a seeded delay, opens the store itself and looks for
//! every write acknowledged so far on that folder. The folder is kept across iterations, so the
//! history grows (and every later open must still hold it), and replaced by a fresh one now and
//! then.
//!
//! Where sled 0.34 writes its snapshot: only while it opens a database (recovery writes
//! `snap.<lsn>.generating`, syncs it and renames it to `snap.<lsn>`); a running database never
//! snapshots, and `Config::snapshot_after_ops` is a no-op in 0.34. So the kills that catch sled
//! in its snapshot path are the early ones, made while the writer is still opening the store:
//! about a third of the iterations kill at a seeded moment from 0 to 1.3 times the time an open
//! is seen to take, counted from the writer's `opening` line (just before it opens the store) to
//! its `holding` line (just after). And about a fifth watch db/ from the writer's `opening` on
//! and kill it the moment a `snap.*.generating` file appears (sled syncs it for a few
//! milliseconds, so the kill lands while it is being written). Before each check the test notes
//! whether a kill left a `snap.*.generating` file in db/, and counts those.
//!
//! Knobs (environment): `WHETSTONE_CRASH_KILLS` (iterations of the kill test),
//! `WHETSTONE_CRASH_COPIES` (iterations of the copy test), `WHETSTONE_CRASH_SEED` (the base
//! seed; each iteration's seed is derived from it and printed when the iteration fails; replaying
//! a base seed replays the same delays and writes, though not the same timing).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tempfile::TempDir;
use whetstone::store::{DATABASE_FOLDER, SharedStore, Store};
use whetstone_tests::store_crash::{
    Ack, SeededRandom, acknowledged_chunk_id, class_of_write, classified_ms_of_write, dismissal,
    file_key, write_of_classified_ms,
};

/// Iterations of the kill test when `WHETSTONE_CRASH_KILLS` is not set: a thousand kills take
/// about three to four minutes in a debug build on a two-core machine.
const DEFAULT_KILLS: usize = 1_000;
/// Iterations of the copy test when `WHETSTONE_CRASH_COPIES` is not set.
const DEFAULT_COPIES: usize = 20;
const DEFAULT_SEED: u64 = 20_240_601;
/// Longest wait for a writer's first line; an open of the store takes milliseconds.
const WRITER_START_TIMEOUT: Duration = Duration::from_secs(30);
/// Each writer numbers its writes from its own multiple of this, above every earlier writer's,
/// so that a later write is always a newer one (no writer comes near this many writes).
const WRITES_PER_WRITER: u64 = 10_000_000;

#[test]
fn acknowledged_writes_survive_kill_9_of_the_holder() {
    let kills = count_from_environment("WHETSTONE_CRASH_KILLS", DEFAULT_KILLS);
    let base_seed = seed_from_environment();
    let started = Instant::now();
    let mut folder = FreshFolder::new();
    let mut ledger = Ledger::default();
    let mut tally = Tally::default();
    let mut failures = Vec::new();
    // How long a writer takes to open the store, to aim the early kills; a guess until the
    // first writer says.
    let mut open_time = OpenTime::default();

    for iteration in 0..kills {
        let seed = iteration_seed(base_seed, iteration as u64);
        let mut random = SeededRandom::new(seed);
        if iteration > 0 && random.chance(4) {
            folder = FreshFolder::new();
            ledger = Ledger::default();
            tally.fresh_folders += 1;
        }
        let writer_seed = random.next_u64();
        let roll = random.below(100);
        let kill_during_open = roll < 35;
        let kill_at_snapshot = (35..55).contains(&roll);
        let delay_fraction = random.below(1_300);
        let delay_after_ack = Duration::from_millis(random.below(61));
        let first_write = (iteration as u64 + 1) * WRITES_PER_WRITER;

        let mut writer = Writer::start(folder.path(), writer_seed, first_write);
        let outcome = if kill_during_open {
            // A writer that cannot say `opening` fails below, when the store is checked.
            let _ = writer.wait_for_line("opening");
            std::thread::sleep(open_time.typical().mul_f64(delay_fraction as f64 / 1_000.0));
            tally.kills_during_open += 1;
            writer.kill()
        } else if kill_at_snapshot {
            let _ = writer.wait_for_line("opening");
            if writer.wait_for_snapshot_file(&folder.path().join(DATABASE_FOLDER)) {
                tally.kills_at_snapshot += 1;
            }
            writer.kill()
        } else {
            match writer.wait_for_first_ack() {
                Ok(()) => {
                    std::thread::sleep(delay_after_ack);
                    writer.kill()
                }
                Err(problem) => {
                    let finished = writer.kill();
                    failures.push(format!(
                        "seed {seed} (iteration {iteration}): the writer did not start: \
                         {problem}; {}",
                        finished.describe_exit()
                    ));
                    folder = FreshFolder::new();
                    ledger = Ledger::default();
                    continue;
                }
            }
        };
        tally.kills += 1;
        if let Some(took) = outcome.open_took {
            open_time.observe(took);
        }
        let generating = generating_files(&database_listing(folder.path()));
        if !generating.is_empty() {
            tally.generating_left.push(format!(
                "seed {seed} (kill {} ms after the start): {}",
                outcome.killed_after.as_millis(),
                generating.join(", ")
            ));
        }
        for notice in &outcome.notices {
            failures.push(format!(
                "seed {seed} (iteration {iteration}): the writer found the store damaged when \
                 it opened it: {notice}"
            ));
        }
        tally.acknowledged += outcome.acks.len();
        for ack in &outcome.acks {
            ledger.add(ack);
        }

        match open_and_check(folder.path(), &ledger) {
            Ok(checked) => tally.checked += checked,
            Err(failure) => {
                failures.push(format!(
                    "seed {seed} (iteration {iteration}, kill {} ms after the start, {} acks \
                     printed, {} writes acknowledged on this store folder so far): {failure}",
                    outcome.killed_after.as_millis(),
                    outcome.acks.len(),
                    ledger.len()
                ));
                // The store was moved aside (or cannot be opened): its history is gone.
                folder = FreshFolder::new();
                ledger = Ledger::default();
            }
        }
    }

    eprintln!(
        "store crash test (base seed {base_seed}): {} kills ({} aimed at the open, which took \
         {:.1} ms lately; {} the moment sled was seen writing a snapshot), {} acknowledged \
         writes, {} checks of acknowledged writes after a kill, {} fresh folders, {} kills left \
         a snap.*.generating in db/, {} failures, in {:.1} s",
        tally.kills,
        tally.kills_during_open,
        open_time.typical().as_secs_f64() * 1_000.0,
        tally.kills_at_snapshot,
        tally.acknowledged,
        tally.checked,
        tally.fresh_folders,
        tally.generating_left.len(),
        failures.len(),
        started.elapsed().as_secs_f64()
    );
    for left in &tally.generating_left {
        eprintln!("  snap.*.generating left: {left}");
    }
    assert!(
        failures.is_empty(),
        "{} of {} kills lost or damaged the store:\n\n{}",
        failures.len(),
        tally.kills,
        failures.join("\n\n")
    );
}

#[test]
fn a_copy_taken_while_the_holder_writes_holds_what_was_acknowledged_before() {
    let copies = count_from_environment("WHETSTONE_CRASH_COPIES", DEFAULT_COPIES);
    let base_seed = seed_from_environment() ^ 0xC0_FFEE;
    let started = Instant::now();
    let mut folder = FreshFolder::new();
    let mut ledger = Ledger::default();
    let mut checked_total = 0;
    let mut failures = Vec::new();

    for iteration in 0..copies {
        let seed = iteration_seed(base_seed, iteration as u64);
        let mut random = SeededRandom::new(seed);
        if iteration > 0 && random.chance(15) {
            folder = FreshFolder::new();
            ledger = Ledger::default();
        }
        let writer_seed = random.next_u64();
        let delay = Duration::from_millis(random.below(41));
        let first_write = (iteration as u64 + 1) * WRITES_PER_WRITER;

        let mut writer = Writer::start(folder.path(), writer_seed, first_write);
        if let Err(problem) = writer.wait_for_first_ack() {
            let finished = writer.kill();
            failures.push(format!(
                "seed {seed} (iteration {iteration}): the writer did not start: {problem}; {}",
                finished.describe_exit()
            ));
            folder = FreshFolder::new();
            ledger = Ledger::default();
            continue;
        }
        std::thread::sleep(delay);
        // Everything read so far was acknowledged before the copy began.
        let mut before_copy = ledger.clone();
        for ack in writer.acks_so_far() {
            before_copy.add(&ack);
        }
        let copy = FreshFolder::new();
        std::fs::create_dir_all(copy.path()).expect("the copy's store folder");
        let copied = Command::new("cp")
            .arg("-a")
            .arg(folder.path().join(DATABASE_FOLDER))
            .arg(copy.path().join(DATABASE_FOLDER))
            .output()
            .expect("cp runs");
        let finished = writer.stop_gently();
        for notice in &finished.notices {
            failures.push(format!(
                "seed {seed} (iteration {iteration}): the writer found the store damaged when \
                 it opened it: {notice}"
            ));
        }
        for ack in &finished.acks {
            ledger.add(ack);
        }
        if !finished.status.is_some_and(|status| status.success()) {
            failures.push(format!(
                "seed {seed} (iteration {iteration}): the writer failed: {}",
                finished.describe_exit()
            ));
        }
        if !copied.status.success() {
            // A file sled removed while cp walked the folder (an old snapshot) is no fault of
            // the store; the copy is still checked.
            eprintln!(
                "seed {seed}: cp -a reported: {}",
                String::from_utf8_lossy(&copied.stderr).trim()
            );
        }
        match open_and_check(copy.path(), &before_copy) {
            Ok(checked) => checked_total += checked,
            Err(failure) => failures.push(format!(
                "seed {seed} (iteration {iteration}, copy {} ms after the first ack): the copy: \
                 {failure}",
                delay.as_millis()
            )),
        }
    }

    eprintln!(
        "store copy test (base seed {base_seed}): {copies} copies taken while the holder wrote, \
         {checked_total} checks of writes acknowledged before the copy, {} failures, in {:.1} s",
        failures.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} of {copies} copies lost writes acknowledged before they were taken:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// What the writers acknowledged on one store folder: what must be found there.
#[derive(Debug, Clone, Default)]
struct Ledger {
    /// The newest acknowledged write of each file.
    files: BTreeMap<usize, u64>,
    dismissals: Vec<u64>,
    sessions_started: BTreeSet<u64>,
    /// Start of each stopped session, and its acknowledged end.
    sessions_stopped: BTreeMap<u64, u64>,
}

impl Ledger {
    /// How many acknowledged writes there are to look for.
    fn len(&self) -> usize {
        self.files.len()
            + self.dismissals.len()
            + self.sessions_started.len()
            + self.sessions_stopped.len()
    }

    fn add(&mut self, ack: &Ack) {
        match *ack {
            Ack::File { n, file_index } => {
                let newest = self.files.entry(file_index).or_insert(n);
                *newest = (*newest).max(n);
            }
            Ack::Dismissal { n } => self.dismissals.push(n),
            Ack::CalibrationStarted { started_ms, .. } => {
                self.sessions_started.insert(started_ms);
            }
            Ack::CalibrationStopped {
                started_ms,
                ended_ms,
                ..
            } => {
                self.sessions_stopped.insert(started_ms, ended_ms);
            }
        }
    }

    /// Every acknowledged write that `store` lacks, in words; and how many were looked for.
    fn missing_from(&self, store: &dyn Store) -> (usize, Vec<String>) {
        let mut missing = Vec::new();
        let mut checked = 0;
        for (&file_index, &n) in &self.files {
            checked += 1;
            let key = file_key(file_index);
            let chunk = match store.load_file(&key) {
                Ok(Some(record)) => record
                    .chunks
                    .into_iter()
                    .find(|chunk| chunk.id == acknowledged_chunk_id(file_index)),
                Ok(None) => {
                    missing.push(format!("file {file_index} (write {n}) has no record"));
                    continue;
                }
                Err(error) => {
                    missing.push(format!(
                        "file {file_index} (write {n}) cannot be read: {error}"
                    ));
                    continue;
                }
            };
            let Some(chunk) = chunk else {
                missing.push(format!(
                    "file {file_index} (write {n}) lacks its chunk {}",
                    acknowledged_chunk_id(file_index).0
                ));
                continue;
            };
            let stored_write = chunk.classified_ms.and_then(write_of_classified_ms);
            match stored_write {
                Some(stored) if stored >= n && chunk.class == Some(class_of_write(stored)) => {}
                _ => missing.push(format!(
                    "file {file_index}: write {n} was acknowledged (class {}, classified_ms {}), \
                     the store has class {:?}, classified_ms {:?}",
                    class_of_write(n).as_str(),
                    classified_ms_of_write(n),
                    chunk.class.map(|class| class.as_str()),
                    chunk.classified_ms
                )),
            }
        }

        match store.dismissals() {
            Ok(stored) => {
                let stored: BTreeSet<(String, u64)> = stored
                    .into_iter()
                    .map(|(key, dismissal)| (key.path, dismissal.dismissed_ms))
                    .collect();
                for &n in &self.dismissals {
                    checked += 1;
                    let (key, dismissal) = dismissal(n);
                    if !stored.contains(&(key.path, dismissal.dismissed_ms)) {
                        missing.push(format!("the dismissal of write {n} is missing"));
                    }
                }
            }
            Err(error) => missing.push(format!("the dismissals cannot be read: {error}")),
        }

        match store.calibration_sessions() {
            Ok(sessions) => {
                let ends: BTreeMap<u64, Option<u64>> = sessions
                    .iter()
                    .map(|session| (session.started_ms, session.ended_ms))
                    .collect();
                for &started_ms in &self.sessions_started {
                    checked += 1;
                    if !ends.contains_key(&started_ms) {
                        missing.push(format!(
                            "the calibration session started at {started_ms} is missing"
                        ));
                    }
                }
                for (&started_ms, &ended_ms) in &self.sessions_stopped {
                    checked += 1;
                    let stored = ends.get(&started_ms);
                    if stored != Some(&Some(ended_ms)) {
                        missing.push(format!(
                            "the calibration session started at {started_ms} was acknowledged \
                             stopped at {ended_ms}; the store has {}",
                            match stored {
                                None => "no such session".to_string(),
                                Some(None) => "it running".to_string(),
                                Some(Some(other)) => format!("it stopped at {other}"),
                            }
                        ));
                    }
                }
            }
            Err(error) => missing.push(format!("the calibration sessions cannot be read: {error}")),
        }
        (checked, missing)
    }
}

/// Opens the store in `folder` the way every process does, checks that it opened as it was (not
/// moved aside, nothing to tell the user) and that it holds everything in `ledger`; returns how
/// many acknowledged writes were checked, or what went wrong in words.
fn open_and_check(folder: &Path, ledger: &Ledger) -> Result<usize, String> {
    let listing = database_listing(folder);
    let store = SharedStore::connect(folder, |_| {}).map_err(|failure| {
        explain_refusal(
            &format!("the store could not be opened: {failure}"),
            &listing,
        )
    })?;
    if !store.is_holder() {
        return Err("another process still holds the store after the kill".to_string());
    }
    let notice = store.take_notice();
    let moved_aside = damaged_folders(folder);
    if notice.is_some() || !moved_aside.is_empty() {
        drop(store);
        return Err(explain_refusal(
            &format!(
                "the store was taken for damaged and moved aside ({}); notice: {}",
                if moved_aside.is_empty() {
                    "no damaged-* folder".to_string()
                } else {
                    moved_aside.join(", ")
                },
                notice.as_deref().unwrap_or("none")
            ),
            &listing,
        ));
    }
    let (checked, missing) = ledger.missing_from(store.as_ref());
    drop(store);
    if missing.is_empty() {
        Ok(checked)
    } else {
        Err(format!(
            "{} of {checked} acknowledged writes are missing or older than acknowledged: {}; \
             db/ before opening held: {}",
            missing.len(),
            shorten(&missing),
            describe_listing(&listing)
        ))
    }
}

/// `problem`, with what db/ held before the open and, when a snapshot was left half written,
/// the name of the problem.
fn explain_refusal(problem: &str, listing: &[(String, u64)]) -> String {
    let generating = generating_files(listing);
    let known = if generating.is_empty() {
        String::new()
    } else {
        format!(
            " -- the known sled 0.34 problem: the holder was killed while sled wrote its \
             snapshot, which left {}; sled reads the newest snap.* file, .generating included, \
             and refuses the database when it is short or its checksum fails",
            generating.join(", ")
        )
    };
    let never_written = listing
        .iter()
        .any(|(name, size)| name == "db" && *size == 0)
        && !listing.iter().any(|(name, _)| name.starts_with("snap."));
    let first_open = if never_written {
        " -- the holder was killed while it created the store: sled had written `conf` but \
         nothing to its log yet, and the next open takes a database with a `conf` and no schema \
         version for a damaged one"
    } else {
        ""
    };
    format!(
        "{problem}; db/ before opening held: {}{known}{first_open}",
        describe_listing(listing)
    )
}

/// The half-written snapshots in a listing of db/, with their sizes.
fn generating_files(listing: &[(String, u64)]) -> Vec<String> {
    listing
        .iter()
        .filter(|(name, _)| name.ends_with(".generating"))
        .map(|(name, size)| format!("{name} ({size} bytes)"))
        .collect()
}

/// The files of `<folder>/db` and their sizes (the blobs folder's files as `blobs/<name>`).
fn database_listing(folder: &Path) -> Vec<(String, u64)> {
    let database = folder.join(DATABASE_FOLDER);
    let mut listing = Vec::new();
    for (prefix, dir) in [("", database.clone()), ("blobs/", database.join("blobs"))] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(metadata) = entry.metadata() else {
                continue;
            };
            if metadata.is_file() {
                listing.push((
                    format!("{prefix}{}", entry.file_name().to_string_lossy()),
                    metadata.len(),
                ));
            }
        }
    }
    listing.sort();
    listing
}

fn describe_listing(listing: &[(String, u64)]) -> String {
    if listing.is_empty() {
        return "nothing".to_string();
    }
    listing
        .iter()
        .map(|(name, size)| format!("{name} ({size} bytes)"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `damaged-*` folders that a damaged database is moved to.
fn damaged_folders(folder: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("damaged-"))
        .collect()
}

/// The first few of a long list of problems, and how many more there are.
fn shorten(problems: &[String]) -> String {
    const SHOWN: usize = 8;
    let mut text = problems
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if problems.len() > SHOWN {
        text.push_str(&format!("; and {} more", problems.len() - SHOWN));
    }
    text
}

/// A running `store_crash_child` and what it has printed so far.
struct Writer {
    child: Child,
    started: Instant,
    /// Complete lines of its stdout, with when each was read.
    lines: Arc<Mutex<Vec<(Instant, String)>>>,
    stdout_reader: Option<JoinHandle<()>>,
    stderr_reader: Option<JoinHandle<String>>,
}

/// What a writer printed by the time it ended.
struct Finished {
    acks: Vec<Ack>,
    notices: Vec<String>,
    status: Option<ExitStatus>,
    stderr: String,
    killed_after: Duration,
    /// From its `opening` line to its `holding` line: how long opening the store took.
    open_took: Option<Duration>,
}

impl Finished {
    fn describe_exit(&self) -> String {
        format!(
            "it exited with {}; its stderr: {}",
            self.status
                .map_or("an unknown status".to_string(), |status| status.to_string()),
            if self.stderr.trim().is_empty() {
                "(empty)"
            } else {
                self.stderr.trim()
            }
        )
    }
}

impl Writer {
    fn start(folder: &Path, seed: u64, first_write: u64) -> Writer {
        let mut child = Command::new(env!("CARGO_BIN_EXE_store_crash_child"))
            .arg(folder)
            .arg(seed.to_string())
            .arg(first_write.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("store_crash_child starts");
        let started = Instant::now();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().expect("stdout is piped");
        let stdout_lines = lines.clone();
        let stdout_reader = std::thread::spawn(move || {
            let mut stdout = BufReader::new(stdout);
            loop {
                let mut line = String::new();
                match stdout.read_line(&mut line) {
                    // A line cut short by the kill was not acknowledged: only whole lines count.
                    Ok(0) | Err(_) => return,
                    Ok(_) if !line.ends_with('\n') => return,
                    Ok(_) => {
                        lock(&stdout_lines).push((Instant::now(), line.trim_end().to_string()))
                    }
                }
            }
        });
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let stderr_reader = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Writer {
            child,
            started,
            lines,
            stdout_reader: Some(stdout_reader),
            stderr_reader: Some(stderr_reader),
        }
    }

    /// Waits until the writer printed an ack.
    fn wait_for_first_ack(&mut self) -> Result<(), String> {
        self.wait_for_line("ack ")
    }

    /// Waits until the writer printed a line that starts with `start`.
    fn wait_for_line(&mut self, start: &str) -> Result<(), String> {
        let deadline = Instant::now() + WRITER_START_TIMEOUT;
        loop {
            if first_line_at(&lock(&self.lines), start).is_some() {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("it exited ({status}) before it printed {start:?}"));
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "no ack within {} s",
                    WRITER_START_TIMEOUT.as_secs()
                ));
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }

    /// Watches `database` until a `snap.*.generating` file appears in it (true) or the writer
    /// holds the store or is gone without one having been seen (false: this open wrote no
    /// snapshot, or wrote it between two looks).
    fn wait_for_snapshot_file(&mut self, database: &Path) -> bool {
        let deadline = Instant::now() + WRITER_START_TIMEOUT;
        loop {
            if let Ok(entries) = std::fs::read_dir(database)
                && entries
                    .flatten()
                    .any(|entry| entry.file_name().to_string_lossy().ends_with(".generating"))
            {
                return true;
            }
            if first_line_at(&lock(&self.lines), "holding").is_some()
                || !matches!(self.child.try_wait(), Ok(None))
                || Instant::now() >= deadline
            {
                return false;
            }
        }
    }

    fn acks_so_far(&self) -> Vec<Ack> {
        lock(&self.lines)
            .iter()
            .filter_map(|(_, line)| Ack::parse(line))
            .collect()
    }

    /// `kill -9`, then everything it printed before it died.
    fn kill(mut self) -> Finished {
        let killed_after = self.started.elapsed();
        let _ = self.child.kill();
        self.finish(killed_after)
    }

    /// Closes its stdin, which it takes as the end, and waits for it.
    fn stop_gently(mut self) -> Finished {
        drop(self.child.stdin.take());
        let stopped_after = self.started.elapsed();
        self.finish(stopped_after)
    }

    fn finish(&mut self, ended_after: Duration) -> Finished {
        let status = self.child.wait().ok();
        if let Some(reader) = self.stdout_reader.take() {
            let _ = reader.join();
        }
        let stderr = self
            .stderr_reader
            .take()
            .and_then(|reader| reader.join().ok())
            .unwrap_or_default();
        let lines = lock(&self.lines);
        Finished {
            acks: lines
                .iter()
                .filter_map(|(_, line)| Ack::parse(line))
                .collect(),
            notices: lines
                .iter()
                .filter_map(|(_, line)| line.strip_prefix("notice ").map(str::to_string))
                .collect(),
            status,
            stderr,
            killed_after: ended_after,
            open_took: first_line_at(&lines, "opening")
                .zip(first_line_at(&lines, "holding"))
                .map(|(opening, holding)| holding - opening),
        }
    }
}

/// When the first line starting with `start` was read.
fn first_line_at(lines: &[(Instant, String)], start: &str) -> Option<Instant> {
    lines
        .iter()
        .find(|(_, line)| line.starts_with(start))
        .map(|(at, _)| *at)
}

/// How long writers take to open the store: the mean of the last few seen.
#[derive(Default)]
struct OpenTime {
    recent: Vec<Duration>,
}

impl OpenTime {
    fn observe(&mut self, took: Duration) {
        self.recent.push(took);
        if self.recent.len() > 16 {
            self.recent.remove(0);
        }
    }

    fn typical(&self) -> Duration {
        if self.recent.is_empty() {
            return Duration::from_millis(20);
        }
        self.recent.iter().sum::<Duration>() / self.recent.len() as u32
    }
}

#[derive(Default)]
struct Tally {
    kills: usize,
    kills_during_open: usize,
    kills_at_snapshot: usize,
    acknowledged: usize,
    checked: usize,
    fresh_folders: usize,
    /// Kills after which db/ held a `snap.*.generating`, described.
    generating_left: Vec<String>,
}

/// A store folder of its own, removed when dropped.
struct FreshFolder {
    _temporary: TempDir,
    path: PathBuf,
}

impl FreshFolder {
    fn new() -> FreshFolder {
        let temporary = tempfile::Builder::new()
            .prefix("whetstone-crash-")
            .tempdir()
            .expect("a temp dir");
        let path = temporary.path().join("store");
        FreshFolder {
            _temporary: temporary,
            path,
        }
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

fn iteration_seed(base_seed: u64, iteration: u64) -> u64 {
    SeededRandom::new(base_seed ^ iteration.wrapping_mul(0x2545_F491_4F6C_DD1D)).next_u64()
}

fn count_from_environment(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(text) => whetstone_tests::measure::parse_count(name, &text).unwrap_or_else(|message| {
            panic!("{message}");
        }),
        Err(_) => default,
    }
}

fn seed_from_environment() -> u64 {
    match std::env::var("WHETSTONE_CRASH_SEED") {
        Ok(text) => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("WHETSTONE_CRASH_SEED wants a number, not {text:?}")),
        Err(_) => DEFAULT_SEED,
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
