//! What the command line and the editors can do to the user's calibration sessions, each one
//! change to the store (see [`crate::store::calibration`] for the rules it applies).

use crate::core::calibration::CalibrationSession;
use crate::store::calibration::{
    self, CalibrationChange, CalibrationError, CalibrationReply, CalibrationStatus,
};
use crate::store::{Store, StoreError};

/// What a stop did.
#[derive(Debug, Clone, PartialEq)]
pub enum StopOutcome {
    /// The running session ended now, with the feel and notes given.
    Stopped(CalibrationSession),
    /// None was running: the feel and notes went to the session that ended last, which had no
    /// feel yet.
    Rated(CalibrationSession),
}

/// Starts a session at `now_ms`, saved and flushed; refused while one runs (a session is the
/// user's, across every editor window and the command line: at most one runs).
pub fn start(
    store: &dyn Store,
    label: Option<String>,
    minutes: Option<u32>,
    now_ms: u64,
) -> Result<CalibrationSession, CalibrationError> {
    let change = CalibrationChange::Start {
        label,
        minutes,
        at_ms: now_ms,
    };
    match store.change_calibration(&change)? {
        CalibrationReply::Started(session) => Ok(session),
        other => Err(unexpected(other)),
    }
}

/// Ends the running session with `feel` and `notes`; with none running, gives them to the most
/// recent session if it has no feel yet (a session is often stopped first and rated after).
/// `feel` outside 1 to 5 is refused by the store.
pub fn stop(
    store: &dyn Store,
    feel: Option<u8>,
    notes: Option<String>,
    now_ms: u64,
) -> Result<StopOutcome, CalibrationError> {
    let change = CalibrationChange::Stop {
        feel,
        notes,
        at_ms: now_ms,
    };
    match store.change_calibration(&change)? {
        CalibrationReply::Stopped(session) => Ok(StopOutcome::Stopped(session)),
        CalibrationReply::Rated(session) => Ok(StopOutcome::Rated(session)),
        other => Err(unexpected(other)),
    }
}

/// The feel of the ended session that started at `started_ms`, answered when it was asked.
pub fn rate(
    store: &dyn Store,
    started_ms: u64,
    feel: u8,
) -> Result<CalibrationSession, CalibrationError> {
    match store.change_calibration(&CalibrationChange::Rate { started_ms, feel })? {
        CalibrationReply::Rated(session) => Ok(session),
        other => Err(unexpected(other)),
    }
}

/// Where the sessions stand at `now_ms`, read without writing anything.
pub fn status(store: &dyn Store, now_ms: u64) -> Result<CalibrationStatus, StoreError> {
    calibration::status_at(store, now_ms)
}

/// Records the end of each session whose planned minutes ran out by `now_ms`. The reply's
/// `ended_now` is the session this call ended: its caller asks how it felt (another window
/// that ended it first gets None).
pub fn end_time_up(store: &dyn Store, now_ms: u64) -> Result<CalibrationStatus, CalibrationError> {
    match store.change_calibration(&CalibrationChange::EndTimeUp { at_ms: now_ms })? {
        CalibrationReply::Status(status) => Ok(status),
        other => Err(unexpected(other)),
    }
}

/// A reply of another kind than the change asked for: only a confused store sends one.
fn unexpected(reply: CalibrationReply) -> CalibrationError {
    CalibrationError::Store(StoreError::Unavailable(format!(
        "the store answered a calibration change with {reply:?}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calibration::words;
    use crate::core::calibration::EndReason;
    use crate::core::date::DAY_MS;
    use crate::store::MemoryStore;

    const MINUTE: u64 = 60_000;
    /// 2024-10-07 (a Monday) 00:00 UTC.
    const MONDAY: u64 = 20_003 * DAY_MS;

    #[test]
    fn calibration_from_the_command_line() {
        let store = MemoryStore::new();
        let start = MONDAY + 9 * 60 * MINUTE;
        let session = self::start(&store, Some("parser".into()), None, start).expect("start");
        assert_eq!(session.started_ms, start);
        let again = self::start(&store, None, None, start + 5 * MINUTE);
        assert_eq!(
            again.map_err(|error| error.to_string()).err().as_deref(),
            Some("a calibration session is already running since 2024-10-07 09:00 UTC")
        );
        let next_day = self::start(&store, None, None, start + DAY_MS);
        assert_eq!(
            next_day.map_err(|error| error.to_string()).err().as_deref(),
            Some("a calibration session is already running since 2024-10-07 09:00 UTC")
        );
        let status = self::status(&store, start + 3 * MINUTE).expect("status");
        assert_eq!(status.running.as_ref().map(|s| s.started_ms), Some(start));
        assert!(words::status_text(&status, start).contains("calibration session running: parser"));

        // Stopped without a feel, rated after.
        let stopped = stop(&store, None, None, start + 4 * MINUTE).expect("stop");
        let StopOutcome::Stopped(ended) = &stopped else {
            panic!("expected stopped, got {stopped:?}");
        };
        assert_eq!(ended.ended_ms, Some(start + 4 * MINUTE));
        assert_eq!(ended.active_minutes(), 4);
        assert!(words::stopped_text(&stopped).contains("How did it feel?"));
        assert!(matches!(
            stop(&store, None, None, start + 5 * MINUTE),
            Err(CalibrationError::NotRunning)
        ));
        let rated = stop(&store, Some(4), Some("slow".into()), start + 6 * MINUTE).expect("rate");
        assert!(matches!(&rated, StopOutcome::Rated(session)
            if session.feel == Some(4) && session.notes.as_deref() == Some("slow")));
        let twice = stop(&store, Some(5), None, start + 7 * MINUTE);
        assert_eq!(
            twice.map_err(|error| error.to_string()).err().as_deref(),
            Some(
                "no calibration session is running, and the last one (started 2024-10-07 09:00 UTC) \
                 already has its feel"
            )
        );
        let sessions = store.calibration_sessions().expect("sessions");
        assert_eq!(sessions.len(), 1);
        assert_eq!(sessions[0].feel, Some(4));
        assert!(
            words::status_text(&self::status(&store, start).expect("status"), start)
                .starts_with("no calibration session running\n")
        );
    }

    #[test]
    fn a_timed_session_reads_as_ended_once_its_time_is_up_and_reading_writes_nothing() {
        let store = MemoryStore::new();
        let start = MONDAY;
        self::start(&store, None, Some(30), start).expect("start");
        let status = self::status(&store, start + 45 * MINUTE).expect("status");
        assert_eq!(status.running, None);
        assert!(status.waiting_to_end);
        let ended = status.last_ended.expect("ended");
        assert_eq!(ended.ended_ms, Some(start + 30 * MINUTE));
        assert_eq!(ended.ended_because, Some(EndReason::TimeUp));
        // The read left the store as it was: the session is stored running until a window's
        // timer records its end, once.
        let stored = store.calibration_sessions().expect("sessions");
        assert!(stored[0].is_running());
        let recorded = end_time_up(&store, start + 46 * MINUTE).expect("end");
        assert_eq!(recorded.ended_now, Some(ended.clone()));
        let again = end_time_up(&store, start + 47 * MINUTE).expect("end again");
        assert_eq!(again.ended_now, None);
        assert!(
            !self::status(&store, start + 48 * MINUTE)
                .expect("status")
                .waiting_to_end
        );
        assert!(
            words::status_text(&self::status(&store, start).expect("status"), start)
                .contains("without a feel")
        );
        // Stop after the time was up rates the session that ended by itself.
        let rated = stop(&store, Some(3), None, start + 50 * MINUTE).expect("rate");
        assert!(matches!(&rated, StopOutcome::Rated(session) if session.feel == Some(3)));
        assert!(words::stopped_text(&rated).contains("planned time was up"));
        // A new one can start.
        let second = self::start(&store, None, None, start + 51 * MINUTE).expect("start");
        assert_eq!(second.started_ms, start + 51 * MINUTE);
        assert_eq!(store.calibration_sessions().expect("sessions").len(), 2);
    }

    #[test]
    fn a_bad_feel_is_refused_and_changes_nothing() {
        let store = MemoryStore::new();
        start(&store, None, None, MONDAY).expect("start");
        assert!(matches!(
            stop(&store, Some(6), None, MONDAY + MINUTE),
            Err(CalibrationError::Store(StoreError::InvalidRecord { .. }))
        ));
        assert!(
            status(&store, MONDAY + MINUTE)
                .expect("status")
                .running
                .is_some()
        );
    }
}
