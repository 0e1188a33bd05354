//! The store writer: a thread that turns map snapshots into records and writes them, so that the
//! loop never waits on the disk. Jobs are handled in order, so a flush covers every job before it.

use std::sync::Arc;
use std::sync::mpsc;

use ropey::Rope;
use tokio::sync::oneshot;

use crate::core::activity::DayActivity;
use crate::core::engine::{Dismissal, FileSnapshot};
use crate::core::pace::{self, TypingPace};
use crate::core::text::LineKey;
use crate::core::{Chunk, LineMap};
use crate::store::calibration::CalibrationChange;
use crate::store::{FileKey, FileRecord, Store};

/// A file's map as the loop hands it over.
#[derive(Clone)]
pub enum FileContent {
    /// An open document: the writer computes the line keys from the (shared, cheap to clone) rope.
    Open { rope: Rope, map: LineMap },
    /// A closed file's snapshot, already keyed.
    Closed(FileSnapshot),
}

impl FileContent {
    /// The number of lines of the file.
    pub fn lines(&self) -> usize {
        match self {
            FileContent::Open { map, .. } => map.len(),
            FileContent::Closed(snapshot) => snapshot.map.len(),
        }
    }

    /// The snapshot as stored: line keys computed here, off the loop.
    pub fn into_snapshot(self) -> FileSnapshot {
        match self {
            FileContent::Open { rope, map } => FileSnapshot {
                line_keys: rope
                    .lines()
                    .map(|line| LineKey::of_chars(line.chars()))
                    .collect(),
                map,
            },
            FileContent::Closed(snapshot) => snapshot,
        }
    }
}

pub enum WriteJob {
    Save {
        key: FileKey,
        content: FileContent,
        chunks: Vec<Chunk>,
    },
    Dismissal {
        key: FileKey,
        dismissal: Dismissal,
    },
    /// Progress of the running calibration session (commands change sessions directly).
    Calibration(CalibrationChange),
    AddActivity(Vec<DayActivity>),
    SetSetting {
        name: String,
        value: String,
    },
    /// What this window measured of the user's typing, merged with what the store has.
    MergeTypingPace(TypingPace),
    Flush(oneshot::Sender<Result<(), String>>),
}

/// The handle the loop keeps.
pub struct Writer {
    jobs: mpsc::Sender<WriteJob>,
}

impl Writer {
    pub fn start(store: Arc<dyn Store>) -> Writer {
        let (jobs, receiver) = mpsc::channel::<WriteJob>();
        let spawned = std::thread::Builder::new()
            .name("whetstone-store-writer".to_string())
            .spawn(move || {
                // A write that failed since the last flush makes that flush fail: a command's
                // answer waits for the flush, and must not say "saved" over a lost save.
                let mut failed: Option<String> = None;
                for job in receiver {
                    handle(store.as_ref(), job, &mut failed);
                }
            });
        if let Err(error) = spawned {
            tracing::error!("cannot start the store writer thread: {error}; nothing will be saved");
        }
        Writer { jobs }
    }

    pub fn send(&self, job: WriteJob) {
        if self.jobs.send(job).is_err() {
            tracing::warn!("the store writer has stopped; a change was not saved");
        }
    }

    /// Resolves once every job sent before it is written and flushed.
    pub fn flush(&self) -> oneshot::Receiver<Result<(), String>> {
        let (done, receiver) = oneshot::channel();
        self.send(WriteJob::Flush(done));
        receiver
    }
}

fn handle(store: &dyn Store, job: WriteJob, failed: &mut Option<String>) {
    let mut keep = |result: Result<(), crate::store::StoreError>, what: String| {
        if let Err(error) = result {
            tracing::warn!("{what}: {error}");
            failed.get_or_insert(format!("{what}: {error}"));
        }
    };
    match job {
        WriteJob::Save {
            key,
            content,
            chunks,
        } => {
            let snapshot = content.into_snapshot();
            keep(
                store.save_file(&key, &FileRecord { snapshot, chunks }),
                format!("cannot save the ownership map of {}", key.path),
            );
        }
        WriteJob::Dismissal { key, dismissal } => keep(
            store.record_dismissal(&key, &dismissal),
            format!("cannot record a dismissal in {}", key.path),
        ),
        WriteJob::Calibration(change) => {
            if let Err(error) = store.change_calibration(&change) {
                tracing::warn!("cannot record the calibration session's progress: {error}");
            }
        }
        WriteJob::AddActivity(days) => {
            if let Err(error) = store.add_activity(&days) {
                tracing::warn!("cannot add to the activity ledger: {error}");
            }
        }
        WriteJob::SetSetting { name, value } => {
            if let Err(error) = store.set_setting(&name, &value) {
                tracing::warn!("cannot save the setting {name}: {error}");
            }
        }
        WriteJob::MergeTypingPace(pace) => {
            let stored = store
                .setting(pace::SETTING)
                .ok()
                .flatten()
                .and_then(|text| TypingPace::from_setting(&text))
                .unwrap_or_default();
            let merged = stored.merge(pace);
            if merged != stored
                && let Err(error) = store.set_setting(pace::SETTING, &merged.to_setting())
            {
                tracing::warn!("cannot save the typing pace: {error}");
            }
        }
        WriteJob::Flush(done) => {
            let flushed = store.flush().map_err(|error| error.to_string());
            let _ = done.send(match failed.take() {
                Some(earlier) => Err(earlier),
                None => flushed,
            });
        }
    }
}
