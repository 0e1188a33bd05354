//! The rules of calibration sessions, applied where the data is: a session is the user's, across
//! every editor window and the command line, so at most one runs, and starting, stopping and
//! rating are decided against the stored sessions in one step ([`Store::change_calibration`]).
//! The process holding the store applies every change under one lock, so two windows starting a
//! session at the same moment get one session and one refusal.
//!
//! Every change is safe to apply twice (a client whose holder died resends what it was not sure
//! reached the disk): a start or stop names its moment, and a second one at the same moment
//! finds it already done. Progress adds counts, so it is made durable before it is answered and is
//! resent only when no answer came (see ARCHITECTURE.md, "The store's processes").

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::core::calibration::{CalibrationSession, EndReason, IDLE_GAP_MS};
use crate::store::records::{self, BreachV1};
use crate::store::{Store, StoreError};

/// One change to the calibration sessions, as any process asks for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum CalibrationChange {
    /// Starts a session at `at_ms`; refused while one runs.
    Start {
        label: Option<String>,
        minutes: Option<u32>,
        at_ms: u64,
    },
    /// Ends the running session at `at_ms` with the feel and notes given; with none running, gives
    /// them to the session that ended last if it has no feel yet.
    Stop {
        feel: Option<u8>,
        notes: Option<String>,
        at_ms: u64,
    },
    /// The feel of one ended session, answered when it was asked.
    Rate { started_ms: u64, feel: u8 },
    /// Edits and breaches one process saw during the running session `started_ms`.
    Progress {
        started_ms: u64,
        edits: Vec<SessionEdit>,
        breaches: Vec<BreachV1>,
    },
    /// Ends, as time-up, each session whose planned minutes ran out by `at_ms`. Reading where
    /// sessions stand never writes ([`status_at`]); this is the one change a window's timer makes.
    #[serde(alias = "look")]
    EndTimeUp { at_ms: u64 },
}

/// Edits in one file during a session, from `from_ms` to `to_ms` with no idle gap between them
/// (so the time between counts as active, as it would edit by edit), and what they typed by hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionEdit {
    pub uri: String,
    pub from_ms: u64,
    pub to_ms: u64,
    pub typed_chars: u64,
    pub typed_lines: u64,
}

impl SessionEdit {
    /// Adds an edit at `at_ms` to `edits`, joining the last run when it is in the same file and
    /// no idle gap away.
    pub fn add(
        edits: &mut Vec<SessionEdit>,
        uri: &str,
        at_ms: u64,
        typed_chars: u64,
        typed_lines: u64,
    ) {
        if let Some(last) = edits.last_mut()
            && last.uri == uri
            && at_ms >= last.to_ms
            && at_ms - last.to_ms <= IDLE_GAP_MS
        {
            last.to_ms = at_ms;
            last.typed_chars = last.typed_chars.saturating_add(typed_chars);
            last.typed_lines = last.typed_lines.saturating_add(typed_lines);
            return;
        }
        edits.push(SessionEdit {
            uri: uri.to_string(),
            from_ms: at_ms,
            to_ms: at_ms,
            typed_chars,
            typed_lines,
        });
    }
}

/// What a change did.
// One per command, never kept in bulk: the size of the status variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum CalibrationReply {
    Started(CalibrationSession),
    Stopped(CalibrationSession),
    /// A feel or notes went to a session that had already ended.
    Rated(CalibrationSession),
    /// Progress was added (or dropped: the session it was for is not stored).
    Progressed,
    /// Where sessions stand after a [`CalibrationChange::EndTimeUp`].
    Status(CalibrationStatus),
}

/// The running session, and the one that ended last (for a hint when it has no feel yet).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CalibrationStatus {
    pub running: Option<CalibrationSession>,
    pub last_ended: Option<CalibrationSession>,
    /// The session an [`CalibrationChange::EndTimeUp`] ended (the one who ended it asks the feel);
    /// always None in a status read.
    pub ended_now: Option<CalibrationSession>,
    /// A stored session ran past its planned end and nobody recorded its end yet: the status
    /// shows it ended, and an [`CalibrationChange::EndTimeUp`] would record it.
    pub waiting_to_end: bool,
}

#[derive(Debug, Error)]
pub enum CalibrationError {
    /// `since_ms` is when it started.
    #[error("a calibration session is already running since {}", crate::core::date::date_time_of_ms(*since_ms))]
    AlreadyRunning { since_ms: u64 },
    #[error("no calibration session is running")]
    NotRunning,
    #[error(
        "no calibration session is running, and the last one (started {}) already has its feel",
        crate::core::date::date_time_of_ms(*started_ms)
    )]
    AlreadyRated { started_ms: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl CalibrationChange {
    /// Whether `reply` says the change altered which session runs or how one ended: the others
    /// are told.
    pub fn is_announced(&self, reply: &CalibrationReply) -> bool {
        match (self, reply) {
            (CalibrationChange::Progress { .. }, _) => false,
            (CalibrationChange::EndTimeUp { .. }, CalibrationReply::Status(status)) => {
                status.ended_now.is_some()
            }
            _ => true,
        }
    }
}

/// Applies `change` to the sessions in `store`, saved and flushed. Not atomic by itself: the
/// caller holds the store's calibration lock (see [`crate::store::shared`]).
pub fn apply<S: Store + ?Sized>(
    store: &S,
    change: &CalibrationChange,
) -> Result<CalibrationReply, CalibrationError> {
    let reply = match change {
        CalibrationChange::Start {
            label,
            minutes,
            at_ms,
        } => start(store, label.clone(), *minutes, *at_ms)?,
        CalibrationChange::Stop { feel, notes, at_ms } => {
            stop(store, *feel, notes.clone(), *at_ms)?
        }
        CalibrationChange::Rate { started_ms, feel } => rate(store, *started_ms, *feel)?,
        CalibrationChange::Progress {
            started_ms,
            edits,
            breaches,
        } => progress(store, *started_ms, edits, breaches)?,
        CalibrationChange::EndTimeUp { at_ms } => {
            let mut sessions = stored_sessions(store)?;
            let ended_now = end_timed_out(store, &mut sessions, *at_ms)?;
            CalibrationReply::Status(CalibrationStatus {
                ended_now,
                ..status_of(&sessions)
            })
        }
    };
    store.flush()?;
    Ok(reply)
}

/// Where the sessions in `store` stand at `now_ms`, read and never written: a session whose
/// planned minutes ran out counts as ended at its planned end, as [`CalibrationChange::EndTimeUp`]
/// would record it.
pub fn status_at<S: Store + ?Sized>(
    store: &S,
    now_ms: u64,
) -> Result<CalibrationStatus, StoreError> {
    let mut sessions = stored_sessions(store)?;
    let mut waiting_to_end = false;
    for session in sessions
        .iter_mut()
        .filter(|session| session.time_is_up(now_ms))
    {
        session.end(now_ms, EndReason::TimeUp);
        waiting_to_end = true;
    }
    Ok(CalibrationStatus {
        waiting_to_end,
        ..status_of(&sessions)
    })
}

/// Every stored session, oldest first. A damaged session is moved aside and reported once by
/// the store; the second read lists the rest.
fn stored_sessions<S: Store + ?Sized>(store: &S) -> Result<Vec<CalibrationSession>, StoreError> {
    match store.calibration_sessions() {
        Err(StoreError::Damaged { .. }) => store.calibration_sessions(),
        read => read,
    }
}

/// Ends (as time-up, saved) each running session whose planned minutes ran out by `now_ms`;
/// returns the last one it ended.
fn end_timed_out<S: Store + ?Sized>(
    store: &S,
    sessions: &mut [CalibrationSession],
    now_ms: u64,
) -> Result<Option<CalibrationSession>, StoreError> {
    let mut ended = None;
    for session in sessions
        .iter_mut()
        .filter(|session| session.time_is_up(now_ms))
    {
        session.end(now_ms, EndReason::TimeUp);
        store.save_calibration_session(session)?;
        ended = Some(session.clone());
    }
    Ok(ended)
}

/// Every stored session, oldest first, after ending those whose time was up by `now_ms`.
fn sessions_now<S: Store + ?Sized>(
    store: &S,
    now_ms: u64,
) -> Result<Vec<CalibrationSession>, StoreError> {
    let mut sessions = stored_sessions(store)?;
    end_timed_out(store, &mut sessions, now_ms)?;
    Ok(sessions)
}

fn status_of(sessions: &[CalibrationSession]) -> CalibrationStatus {
    CalibrationStatus {
        running: sessions
            .iter()
            .rev()
            .find(|session| session.is_running())
            .cloned(),
        last_ended: sessions
            .iter()
            .rev()
            .find(|session| !session.is_running())
            .cloned(),
        ended_now: None,
        waiting_to_end: false,
    }
}

fn start<S: Store + ?Sized>(
    store: &S,
    label: Option<String>,
    minutes: Option<u32>,
    at_ms: u64,
) -> Result<CalibrationReply, CalibrationError> {
    let sessions = sessions_now(store, at_ms)?;
    if let Some(running) = sessions.iter().rev().find(|session| session.is_running()) {
        // The same start, sent again after its answer was lost: it is done.
        if running.started_ms == at_ms && running.label == label {
            return Ok(CalibrationReply::Started(running.clone()));
        }
        return Err(CalibrationError::AlreadyRunning {
            since_ms: running.started_ms,
        });
    }
    // The start is the session's key: a clock that went back must not replace an earlier session.
    let started_ms = sessions
        .last()
        .map_or(at_ms, |last| at_ms.max(last.started_ms.saturating_add(1)));
    let session = CalibrationSession::start(label, minutes, started_ms);
    store.save_calibration_session(&session)?;
    Ok(CalibrationReply::Started(session))
}

fn stop<S: Store + ?Sized>(
    store: &S,
    feel: Option<u8>,
    notes: Option<String>,
    at_ms: u64,
) -> Result<CalibrationReply, CalibrationError> {
    let mut sessions = sessions_now(store, at_ms)?;
    let rate = |session: &mut CalibrationSession| {
        if feel.is_some() {
            session.feel = feel;
        }
        if notes.is_some() {
            session.notes.clone_from(&notes);
        }
    };
    let running: Vec<usize> = sessions
        .iter()
        .enumerate()
        .filter(|(_, session)| session.is_running())
        .map(|(index, _)| index)
        .collect();
    if let Some(&latest) = running.last() {
        // Only one should run; any other is a leftover and ends too.
        for &index in &running {
            let session = &mut sessions[index];
            session.end(at_ms, EndReason::Stopped);
            if index == latest {
                rate(session);
            }
            store.save_calibration_session(session)?;
        }
        return Ok(CalibrationReply::Stopped(sessions[latest].clone()));
    }
    // The same stop, sent again after its answer was lost: it is done.
    if let Some(last) = sessions.last()
        && last.ended_ms == Some(at_ms)
        && last.ended_because == Some(EndReason::Stopped)
        && (feel.is_none() || last.feel == feel)
    {
        return Ok(CalibrationReply::Stopped(last.clone()));
    }
    if feel.is_none() && notes.is_none() {
        return Err(CalibrationError::NotRunning);
    }
    let Some(last) = sessions.last_mut() else {
        return Err(CalibrationError::NotRunning);
    };
    if last.feel.is_some() && last.feel != feel {
        return Err(CalibrationError::AlreadyRated {
            started_ms: last.started_ms,
        });
    }
    rate(last);
    store.save_calibration_session(last)?;
    Ok(CalibrationReply::Rated(last.clone()))
}

fn rate<S: Store + ?Sized>(
    store: &S,
    started_ms: u64,
    feel: u8,
) -> Result<CalibrationReply, CalibrationError> {
    let mut sessions = sessions_now(store, started_ms)?;
    let Some(session) = sessions
        .iter_mut()
        .find(|session| session.started_ms == started_ms && !session.is_running())
    else {
        return Err(CalibrationError::NotRunning);
    };
    session.feel = Some(feel);
    store.save_calibration_session(session)?;
    Ok(CalibrationReply::Rated(session.clone()))
}

fn progress<S: Store + ?Sized>(
    store: &S,
    started_ms: u64,
    edits: &[SessionEdit],
    breaches: &[BreachV1],
) -> Result<CalibrationReply, CalibrationError> {
    let Some(mut session) = stored_sessions(store)?
        .into_iter()
        .find(|session| session.started_ms == started_ms)
    else {
        tracing::warn!("dropped the progress of a calibration session the store does not have");
        return Ok(CalibrationReply::Progressed);
    };
    // What was done before the session ended (elsewhere, a moment ago) still counts.
    let ended = session.ended_ms.zip(session.ended_because);
    if ended.is_some() {
        session.ended_ms = None;
        session.ended_because = None;
    }
    for edit in edits {
        let end = ended.map_or(u64::MAX, |(end, _)| end);
        if edit.from_ms > end {
            continue;
        }
        session.record_edit(&edit.uri, edit.from_ms, edit.typed_chars, edit.typed_lines);
        session.record_edit(&edit.uri, edit.to_ms.min(end), 0, 0);
    }
    for breach in breaches {
        match records::breach_from_record(breach.clone()) {
            Ok(breach) if ended.is_none_or(|(end, _)| breach.at_ms <= end) => {
                session.record_breach(breach)
            }
            Ok(_) => {}
            Err(reason) => tracing::warn!("dropped a calibration breach: {reason}"),
        }
    }
    if let Some((end, reason)) = ended {
        session.ended_ms = Some(end);
        session.ended_because = Some(reason);
    }
    store.save_calibration_session(&session)?;
    Ok(CalibrationReply::Progressed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    const MINUTE: u64 = 60_000;

    fn started(store: &MemoryStore, at_ms: u64) -> CalibrationSession {
        match apply(
            store,
            &CalibrationChange::Start {
                label: None,
                minutes: None,
                at_ms,
            },
        ) {
            Ok(CalibrationReply::Started(session)) => session,
            other => panic!("expected a start, got {other:?}"),
        }
    }

    #[test]
    fn a_start_or_stop_sent_twice_is_done_once() {
        let store = MemoryStore::new();
        let first = started(&store, MINUTE);
        assert_eq!(started(&store, MINUTE), first);
        assert!(matches!(
            apply(
                &store,
                &CalibrationChange::Start {
                    label: None,
                    minutes: None,
                    at_ms: 2 * MINUTE
                }
            ),
            Err(CalibrationError::AlreadyRunning { since_ms }) if since_ms == MINUTE
        ));
        let stop = CalibrationChange::Stop {
            feel: Some(4),
            notes: None,
            at_ms: 3 * MINUTE,
        };
        let CalibrationReply::Stopped(once) = apply(&store, &stop).unwrap() else {
            panic!("expected a stop");
        };
        let CalibrationReply::Stopped(twice) = apply(&store, &stop).unwrap() else {
            panic!("expected the same stop");
        };
        assert_eq!(once, twice);
        assert_eq!(store.calibration_sessions().unwrap().len(), 1);
    }

    #[test]
    fn progress_from_two_windows_adds_up() {
        let store = MemoryStore::new();
        let session = started(&store, MINUTE);
        let edit = |at_ms: u64, uri: &str| SessionEdit {
            uri: uri.to_string(),
            from_ms: at_ms,
            to_ms: at_ms,
            typed_chars: 10,
            typed_lines: 1,
        };
        for (uri, offset) in [("file:///a.rs", 0), ("file:///b.rs", 1_000)] {
            let change = CalibrationChange::Progress {
                started_ms: session.started_ms,
                edits: (1..=3)
                    .map(|minute| edit(MINUTE + minute * MINUTE + offset, uri))
                    .collect(),
                breaches: Vec::new(),
            };
            apply(&store, &change).unwrap();
        }
        let stored = &store.calibration_sessions().unwrap()[0];
        assert_eq!(stored.typed_lines, 6);
        assert_eq!(stored.typed_chars, 60);
        assert_eq!(stored.files.len(), 2);
        // Window a's edits made 3 active minutes; b's, which came later, add the second past them.
        assert_eq!(stored.active_ms, 3 * MINUTE + 1_000);
    }

    #[test]
    fn progress_that_arrives_after_the_stop_counts_what_came_before_it() {
        let store = MemoryStore::new();
        let session = started(&store, MINUTE);
        apply(
            &store,
            &CalibrationChange::Stop {
                feel: None,
                notes: None,
                at_ms: 3 * MINUTE,
            },
        )
        .unwrap();
        let edit = |at_ms: u64| SessionEdit {
            uri: "file:///a.rs".to_string(),
            from_ms: at_ms,
            to_ms: at_ms,
            typed_chars: 5,
            typed_lines: 1,
        };
        apply(
            &store,
            &CalibrationChange::Progress {
                started_ms: session.started_ms,
                edits: vec![edit(2 * MINUTE), edit(4 * MINUTE)],
                breaches: Vec::new(),
            },
        )
        .unwrap();
        let stored = &store.calibration_sessions().unwrap()[0];
        assert_eq!(stored.typed_lines, 1);
        assert_eq!(stored.ended_ms, Some(3 * MINUTE));
        assert_eq!(stored.ended_because, Some(EndReason::Stopped));
    }

    #[test]
    fn a_rate_needs_an_ended_session() {
        let store = MemoryStore::new();
        let session = started(&store, MINUTE);
        assert!(matches!(
            apply(
                &store,
                &CalibrationChange::Rate {
                    started_ms: session.started_ms,
                    feel: 3
                }
            ),
            Err(CalibrationError::NotRunning)
        ));
        apply(
            &store,
            &CalibrationChange::Stop {
                feel: None,
                notes: None,
                at_ms: 2 * MINUTE,
            },
        )
        .unwrap();
        let reply = apply(
            &store,
            &CalibrationChange::Rate {
                started_ms: session.started_ms,
                feel: 3,
            },
        )
        .unwrap();
        assert!(matches!(reply, CalibrationReply::Rated(rated) if rated.feel == Some(3)));
    }

    #[test]
    fn joined_edits_count_the_same_active_time_as_single_ones() {
        let minute_edits = [0u64, 1, 2, 4, 20, 21];
        let single = {
            let store = MemoryStore::new();
            let session = started(&store, 0);
            let edits = minute_edits
                .iter()
                .map(|minute| SessionEdit {
                    uri: "file:///a.rs".to_string(),
                    from_ms: minute * MINUTE,
                    to_ms: minute * MINUTE,
                    typed_chars: 3,
                    typed_lines: 1,
                })
                .collect();
            let change = CalibrationChange::Progress {
                started_ms: session.started_ms,
                edits,
                breaches: Vec::new(),
            };
            apply(&store, &change).unwrap();
            store.calibration_sessions().unwrap().remove(0)
        };
        let joined = {
            let store = MemoryStore::new();
            let session = started(&store, 0);
            let mut edits = Vec::new();
            for minute in minute_edits {
                SessionEdit::add(&mut edits, "file:///a.rs", minute * MINUTE, 3, 1);
            }
            assert_eq!(edits.len(), 2, "the 16-minute gap splits the runs");
            let change = CalibrationChange::Progress {
                started_ms: session.started_ms,
                edits,
                breaches: Vec::new(),
            };
            apply(&store, &change).unwrap();
            store.calibration_sessions().unwrap().remove(0)
        };
        assert_eq!(single, joined);
        assert_eq!(joined.active_ms, 5 * MINUTE);
    }
}
