//! Calibration sessions: the weekly block of work without AI that tells the user their honest,
//! unassisted pace. A session measures typed characters and lines, active time (gaps of more than
//! five minutes without an edit are not counted) and files touched; every pasted or generated
//! insertion during it is a breach.

use std::collections::BTreeSet;

use crate::chunk::ChunkId;
use crate::line_map::Origin;

/// A gap between two edits longer than this is a break, not work.
pub const IDLE_GAP_MS: u64 = 5 * 60_000;

/// Below this much active time a pace is noise, and reported as "not enough data".
pub const MIN_ACTIVE_MS_FOR_PACE: u64 = 5 * 60_000;

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    Stopped,
    /// It was started with a number of minutes and they ran out.
    TimeUp,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Stopped => "stopped",
            EndReason::TimeUp => "time-up",
        }
    }

    pub fn parse(name: &str) -> Option<EndReason> {
        match name {
            "stopped" => Some(EndReason::Stopped),
            "time-up" => Some(EndReason::TimeUp),
            _ => None,
        }
    }
}

/// A pasted or generated insertion during a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breach {
    pub at_ms: u64,
    pub uri: String,
    pub origin: Origin,
    pub lines: u64,
    pub chunk: Option<ChunkId>,
}

/// One calibration session, running or ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalibrationSession {
    /// The start time doubles as the id: one user starts one session at a time.
    pub started_ms: u64,
    pub label: Option<String>,
    pub planned_minutes: Option<u32>,
    pub ended_ms: Option<u64>,
    pub ended_because: Option<EndReason>,
    /// 1 (struggled) to 5 (smooth), asked at the end.
    pub feel: Option<u8>,
    pub notes: Option<String>,
    pub typed_chars: u64,
    pub typed_lines: u64,
    /// Time between edits (and from the start to the first, from the last to the end) where the
    /// gap was at most [`IDLE_GAP_MS`].
    pub active_ms: u64,
    pub last_activity_ms: u64,
    pub files: BTreeSet<String>,
    pub breaches: Vec<Breach>,
}

impl CalibrationSession {
    pub fn start(
        label: Option<String>,
        planned_minutes: Option<u32>,
        now_ms: u64,
    ) -> CalibrationSession {
        CalibrationSession {
            started_ms: now_ms,
            label,
            planned_minutes,
            ended_ms: None,
            ended_because: None,
            feel: None,
            notes: None,
            typed_chars: 0,
            typed_lines: 0,
            active_ms: 0,
            last_activity_ms: now_ms,
            files: BTreeSet::new(),
            breaches: Vec::new(),
        }
    }

    pub fn is_running(&self) -> bool {
        self.ended_ms.is_none()
    }

    /// An edit at `at_ms` in `uri`; `typed_chars` and `typed_lines` are what it typed by hand
    /// (zero for an edit that typed nothing, such as a deletion or an undo).
    pub fn record_edit(&mut self, uri: &str, at_ms: u64, typed_chars: u64, typed_lines: u64) {
        if !self.is_running() {
            return;
        }
        self.advance_to(at_ms);
        self.typed_chars += typed_chars;
        self.typed_lines += typed_lines;
        if !self.files.contains(uri) {
            self.files.insert(uri.to_string());
        }
    }

    pub fn record_breach(&mut self, breach: Breach) {
        if !self.is_running() {
            return;
        }
        self.advance_to(breach.at_ms);
        self.breaches.push(breach);
    }

    /// The moment a session started with minutes ends by itself.
    pub fn planned_end_ms(&self) -> Option<u64> {
        self.planned_minutes
            .map(|minutes| self.started_ms + u64::from(minutes) * 60_000)
    }

    pub fn time_is_up(&self, now_ms: u64) -> bool {
        self.is_running() && self.planned_end_ms().is_some_and(|end| now_ms >= end)
    }

    /// Ends the session at `now_ms` (or at its planned end, if that came first).
    pub fn end(&mut self, now_ms: u64, reason: EndReason) {
        if !self.is_running() {
            return;
        }
        let end = match (reason, self.planned_end_ms()) {
            (EndReason::TimeUp, Some(planned)) => planned.min(now_ms),
            _ => now_ms,
        };
        self.advance_to(end);
        self.ended_ms = Some(end.max(self.started_ms));
        self.ended_because = Some(reason);
    }

    /// Minutes the session has been active, as the editor shows them.
    pub fn active_minutes(&self) -> u64 {
        self.active_ms / 60_000
    }

    /// Typed lines per active hour; None without active time. Below
    /// [`MIN_ACTIVE_MS_FOR_PACE`] it is rough (see [`CalibrationSession::pace_is_rough`]).
    pub fn pace_lines_per_hour(&self) -> Option<f64> {
        (self.active_ms > 0).then(|| self.typed_lines as f64 * 3_600_000.0 / self.active_ms as f64)
    }

    /// Too little active time for the pace to mean much; the report leaves such sessions out of
    /// the no-AI pace.
    pub fn pace_is_rough(&self) -> bool {
        self.active_ms < MIN_ACTIVE_MS_FOR_PACE
    }

    fn advance_to(&mut self, at_ms: u64) {
        if at_ms <= self.last_activity_ms {
            return;
        }
        let gap = at_ms - self.last_activity_ms;
        if gap <= IDLE_GAP_MS {
            self.active_ms += gap;
        }
        self.last_activity_ms = at_ms;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: u64 = 60_000;

    fn session_with_edits(start: u64, edits: &[u64], end: u64) -> CalibrationSession {
        let mut session = CalibrationSession::start(None, None, start);
        for &at in edits {
            session.record_edit("file:///a.rs", at, 10, 1);
        }
        session.end(end, EndReason::Stopped);
        session
    }

    #[test]
    fn active_time_table() {
        // (edits as minutes after the start, end minute, expected active minutes)
        let cases: &[(&[u64], u64, u64)] = &[
            (&[1, 2, 3], 4, 4),
            // A 20-minute break counts nothing of the gap.
            (&[1, 2, 22, 23], 24, 4),
            // Exactly five minutes is still work; just over is a break.
            (&[5], 10, 10),
            (&[6], 12, 0),
            // No edits: the start and the end are the only points.
            (&[], 3, 3),
            (&[], 60, 0),
        ];
        for &(edits, end, expected) in cases {
            let edits: Vec<u64> = edits.iter().map(|minute| minute * MINUTE).collect();
            let session = session_with_edits(0, &edits, end * MINUTE);
            assert_eq!(
                session.active_minutes(),
                expected,
                "{edits:?} ending at {end}"
            );
        }
    }

    #[test]
    fn a_session_across_midnight_counts_its_minutes_once() {
        let midnight = 20_000 * 86_400_000u64;
        let start = midnight - 10 * MINUTE;
        let edits: Vec<u64> = (1..=20).map(|minute| start + minute * MINUTE).collect();
        let session = session_with_edits(start, &edits, start + 21 * MINUTE);
        assert_eq!(session.active_minutes(), 21);
        assert_eq!(session.typed_lines, 20);
    }

    #[test]
    fn pace_needs_enough_active_time() {
        let short = session_with_edits(0, &[MINUTE], 2 * MINUTE);
        assert_eq!(short.pace_lines_per_hour(), Some(30.0));
        assert!(short.pace_is_rough());
        let idle = session_with_edits(0, &[], 60 * MINUTE);
        assert_eq!(idle.pace_lines_per_hour(), None);
        let edits: Vec<u64> = (1..=30).map(|minute| minute * MINUTE).collect();
        let long = session_with_edits(0, &edits, 30 * MINUTE);
        assert_eq!(long.pace_lines_per_hour(), Some(60.0));
    }

    #[test]
    fn a_timed_session_ends_at_its_planned_end() {
        let mut session = CalibrationSession::start(Some("parser".into()), Some(30), 0);
        assert!(!session.time_is_up(29 * MINUTE));
        assert!(session.time_is_up(30 * MINUTE));
        session.record_edit("file:///a.rs", 29 * MINUTE, 3, 0);
        session.end(45 * MINUTE, EndReason::TimeUp);
        assert_eq!(session.ended_ms, Some(30 * MINUTE));
        assert_eq!(session.ended_because, Some(EndReason::TimeUp));
        // Nothing is recorded after the end.
        session.record_edit("file:///a.rs", 40 * MINUTE, 3, 1);
        assert_eq!(session.typed_lines, 0);
    }
}
