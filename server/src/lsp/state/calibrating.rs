//! Calibration sessions as this window lives them: the running session and its breaches, the
//! daily activity, the feel question, and the reminder when no session was held for a while.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tower_lsp_server::ls_types::{
    CodeActionOrCommand, Diagnostic, DiagnosticSeverity, MessageActionItem, MessageType,
    NumberOrString, Position, Range,
};

use super::{Event, State, now_ms};
use crate::calibration::words;
use crate::calibration::{StopOutcome, sessions};
use crate::core::Origin;
use crate::core::activity::Activity;
use crate::core::calibration::{Breach, CalibrationSession, EndReason};
use crate::core::date::day_of;
use crate::core::engine::{ChangeOutcome, ChunkView};
use crate::lsp::commands::{self, CommandError};
use crate::lsp::writer::WriteJob;
use crate::store::StoreError;
use crate::store::calibration::{
    CalibrationChange, CalibrationError, CalibrationStatus, SessionEdit,
};
use crate::store::records;

/// The code of the diagnostic on a chunk pasted or generated during a calibration session.
const PASTE_DURING_CALIBRATION: &str = "paste-during-calibration";

/// How often the calibration reminder is considered (it is said at most once a day).
pub(super) const REMINDER_CHECK_EVERY: Duration = Duration::from_secs(3_600);
/// The store setting holding the day the reminder was last said.
const LAST_REMINDER_DAY: &str = "last_reminder_day";

/// `whetstone/calibrationChanged`, to the client: the running session (as
/// `whetstone.calibration.status` answers) or null, whenever it started, ended or was stopped here
/// or in another window.
pub enum CalibrationChangedNotification {}

impl tower_lsp_server::ls_types::notification::Notification for CalibrationChangedNotification {
    type Params = Value;
    const METHOD: &'static str = "whetstone/calibrationChanged";
}

/// The sessions (the user's, kept in the store) and the activity this window saw.
#[derive(Default)]
pub(super) struct Calibrating {
    /// The running session.
    pub running: Option<CalibrationSession>,
    /// The last ended session, while it has no feel yet (offered as code actions).
    pub unrated: Option<CalibrationSession>,
    /// Edits and breaches of the running session not yet handed to the store (every window
    /// adds its own to the one session).
    pub edits: Vec<SessionEdit>,
    pub breaches: Vec<Breach>,
    /// The last ended session that has its feel, for the answer to a stop.
    pub last_finished: Option<CalibrationSession>,
    pub activity: Activity,
    pub last_reminder_check: Option<Instant>,
    pub reminded_day: Option<u32>,
}

impl State {
    /// Takes the running session (and the last one waiting for its feel) from the store; edits
    /// of this window not yet handed over are counted on top. Reading writes nothing; a session
    /// whose time ran out while no window watched is ended here, and this window asks its feel.
    pub(super) fn load_calibration(&mut self) {
        let now = now_ms();
        let status = match sessions::status(self.store.as_ref(), now) {
            Ok(status) if status.waiting_to_end => {
                match sessions::end_time_up(self.store.as_ref(), now) {
                    Ok(ended) => ended,
                    Err(error) => {
                        tracing::warn!("cannot record the end of a calibration session: {error}");
                        status
                    }
                }
            }
            Ok(status) => status,
            Err(error) => {
                tracing::warn!("cannot read the calibration sessions: {error}");
                return;
            }
        };
        self.take_calibration_status(status);
    }

    pub(super) fn take_calibration_status(&mut self, status: CalibrationStatus) {
        let mut running = status.running;
        if let Some(session) = running.as_mut() {
            for edit in &self.calibrating.edits {
                session.record_edit(&edit.uri, edit.from_ms, edit.typed_chars, edit.typed_lines);
                session.record_edit(&edit.uri, edit.to_ms, 0, 0);
            }
            for breach in &self.calibrating.breaches {
                session.record_breach(breach.clone());
            }
        } else {
            // Nothing runs: what this window saw belonged to a session that has ended.
            self.send_calibration_progress();
        }
        self.calibrating.running = running;
        self.calibrating.unrated = status.last_ended.filter(|session| session.feel.is_none());
        if let Some(ended) = status.ended_now {
            self.finish_session(ended);
        }
    }

    /// A window or the command line started, stopped or rated a session.
    pub(super) fn calibration_changed_elsewhere(&mut self) {
        let before = self
            .calibrating
            .running
            .as_ref()
            .map(|session| session.started_ms);
        self.load_calibration();
        let after = self
            .calibrating
            .running
            .as_ref()
            .map(|session| session.started_ms);
        if before == after {
            return;
        }
        let now = now_ms();
        match &self.calibrating.running {
            Some(session) => {
                let minutes_left = session
                    .planned_end_ms()
                    .map(|end| end.saturating_sub(now).div_ceil(60_000));
                self.show(
                    MessageType::INFO,
                    words::started_elsewhere_message(minutes_left),
                );
            }
            None => self.show(
                MessageType::INFO,
                words::ENDED_ELSEWHERE_MESSAGE.to_string(),
            ),
        }
        self.announce_calibration(now);
        self.republish_all_diagnostics();
    }

    /// Tells the client at once that the session changed (status bars), with its status.
    pub(super) fn announce_calibration(&self, now: u64) {
        if !self.initialized {
            return;
        }
        let status = self
            .calibrating
            .running
            .as_ref()
            .map_or(Value::Null, |session| session_json(session, now));
        self.output.notify(|client| async move {
            client
                .send_notification::<CalibrationChangedNotification>(status)
                .await;
        });
    }

    pub(super) fn record_activity(&mut self, uri: &str, outcome: &ChangeOutcome, now: u64) {
        let in_calibration = self.calibrating.running.is_some();
        let inserted = outcome.inserted;
        let origin = inserted.origin.unwrap_or(Origin::Typed);
        let (lines, typed_chars) = if inserted.origin.is_some() {
            (inserted.lines, inserted.typed_chars)
        } else {
            (0, 0)
        };
        self.calibrating
            .activity
            .record(now, origin, lines, typed_chars, in_calibration);
        if inserted.burst_lines > 0 {
            self.calibrating.activity.reattribute(
                now,
                Origin::Generated,
                inserted.burst_lines,
                in_calibration,
            );
        }
        let Some(session) = self.calibrating.running.as_mut() else {
            return;
        };
        let (typed_chars, typed_lines) = if origin == Origin::Typed {
            (typed_chars, lines.saturating_sub(inserted.burst_lines))
        } else {
            (0, 0)
        };
        session.record_edit(uri, now, typed_chars, typed_lines);
        SessionEdit::add(
            &mut self.calibrating.edits,
            uri,
            now,
            typed_chars,
            typed_lines,
        );
        if inserted.burst_lines > 0 {
            // Lines typed earlier in this burst were a stream after all.
            session.typed_lines = session.typed_lines.saturating_sub(inserted.burst_lines);
            if let Some(last) = self.calibrating.edits.last_mut() {
                last.typed_lines = last.typed_lines.saturating_sub(inserted.burst_lines);
            }
        }
        if outcome.new_chunks.is_empty() {
            return;
        }
        let views = self.engine.chunks_in(uri);
        let mut announced = Vec::new();
        for id in &outcome.new_chunks {
            let Some(view) = views.iter().find(|view| view.chunk.id == *id) else {
                continue;
            };
            let lines = (view.end_line - view.start_line) as u64;
            let breach = Breach {
                at_ms: now,
                uri: uri.to_string(),
                origin: view.chunk.origin,
                lines,
                chunk: Some(*id),
            };
            if let Some(session) = self.calibrating.running.as_mut() {
                session.record_breach(breach.clone());
            }
            self.calibrating.breaches.push(breach);
            announced.push(format!("{lines} lines {}", view.chunk.origin.as_str()));
        }
        if announced.is_empty() {
            return;
        }
        let message = format!(
            "Calibration session: {} in {} — this is a no-AI block, so it is recorded as a breach.",
            announced.join(" and "),
            self.workspace.display_path(uri)
        );
        self.show(MessageType::WARNING, message);
        // Calibration state is the user's: a breach reaches the store at once, not in 3 s.
        self.send_calibration_progress();
    }

    /// Hands this window's edits and breaches of the running session to the store.
    pub(super) fn send_calibration_progress(&mut self) {
        if self.calibrating.edits.is_empty() && self.calibrating.breaches.is_empty() {
            return;
        }
        let edits = std::mem::take(&mut self.calibrating.edits);
        let breaches = std::mem::take(&mut self.calibrating.breaches);
        let Some(started_ms) = self
            .calibrating
            .running
            .as_ref()
            .or(self.calibrating.unrated.as_ref())
            .map(|session| session.started_ms)
        else {
            return;
        };
        self.writer
            .send(WriteJob::Calibration(CalibrationChange::Progress {
                started_ms,
                edits,
                breaches: breaches.iter().map(records::breach_to_record).collect(),
            }));
    }

    pub(super) fn start_calibration(
        &mut self,
        label: Option<String>,
        minutes: Option<u32>,
        now: u64,
    ) -> Result<Value, CommandError> {
        let session = match sessions::start(self.store.as_ref(), label, minutes, now) {
            Ok(session) => session,
            Err(CalibrationError::AlreadyRunning { since_ms }) => {
                self.load_calibration();
                return Err(CommandError::Refused(words::already_running_message(
                    now.saturating_sub(since_ms) / 60_000,
                    self.facts.voice,
                )));
            }
            Err(error) => return Err(command_error(error)),
        };
        self.show(MessageType::INFO, words::started_message(minutes));
        let status = session_json(&session, now);
        self.calibrating.edits.clear();
        self.calibrating.breaches.clear();
        self.calibrating.running = Some(session);
        self.announce_calibration(now);
        self.republish_all_diagnostics();
        Ok(status)
    }

    pub(super) fn stop_calibration(
        &mut self,
        feel: Option<u8>,
        notes: Option<String>,
        now: u64,
    ) -> Result<Value, CommandError> {
        // What this window typed reaches the store first: the writer's queue is in order, and
        // progress that arrives after the stop still counts what came before it.
        self.send_calibration_progress();
        match sessions::stop(self.store.as_ref(), feel, notes, now) {
            Ok(StopOutcome::Stopped(session)) => {
                self.calibrating.running = None;
                self.finish_session(session.clone());
                Ok(session_json(&session, now))
            }
            Ok(StopOutcome::Rated(session)) => {
                if let Some(feel) = session.feel {
                    self.show(MessageType::INFO, words::rated_message(feel));
                }
                self.calibrating.unrated = None;
                self.calibrating.last_finished = Some(session.clone());
                Ok(session_json(&session, now))
            }
            Err(CalibrationError::AlreadyRated { .. } | CalibrationError::NotRunning) => {
                self.load_calibration();
                Err(CommandError::Refused(
                    "no calibration session is running".to_string(),
                ))
            }
            Err(error) => Err(command_error(error)),
        }
    }

    /// Tells the user how the ended session went, and asks how it felt.
    pub(super) fn finish_session(&mut self, session: CalibrationSession) {
        let mut message = words::ended_message(&session);
        if session.feel.is_none() && !self.facts.show_message_request {
            message = format!("{message} {}", words::feel_waits(self.facts.voice));
        }
        self.show(MessageType::INFO, message);
        let started_ms = session.started_ms;
        if session.feel.is_none() {
            if self.facts.show_message_request {
                let sender = self.sender.clone();
                self.output.request(move |client| async move {
                    let answer = client
                        .show_message_request(
                            MessageType::INFO,
                            words::FEEL_QUESTION,
                            Some(feel_choices()),
                        )
                        .await;
                    if let Ok(Some(choice)) = answer
                        && let Some(feel) = words::feel_from_choice(&choice.title)
                    {
                        let _ = sender.send(Event::FeelChosen { started_ms, feel });
                    }
                });
            }
            self.calibrating.unrated = Some(session);
        } else {
            self.calibrating.unrated = None;
            self.calibrating.last_finished = Some(session);
        }
        self.announce_calibration(now_ms());
        self.republish_all_diagnostics();
    }

    pub(super) fn feel_chosen(&mut self, started_ms: u64, feel: u8) {
        if self
            .calibrating
            .unrated
            .as_ref()
            .is_some_and(|session| session.started_ms == started_ms)
        {
            self.calibrating.unrated = None;
        }
        match sessions::rate(self.store.as_ref(), started_ms, feel) {
            Ok(session) => self.calibrating.last_finished = Some(session),
            Err(error) => tracing::warn!("cannot record how the session felt: {error}"),
        }
    }

    /// Ends the running session when its planned time is up (in the store, for every window:
    /// the window that ended it asks how it felt).
    pub(super) fn end_calibration_if_time_is_up(&mut self, now: u64) {
        if self
            .calibrating
            .running
            .as_ref()
            .is_some_and(|session| session.time_is_up(now))
        {
            self.send_calibration_progress();
            match sessions::end_time_up(self.store.as_ref(), now) {
                Ok(status) => self.take_calibration_status(status),
                Err(error) => {
                    // The store cannot say: the session still ends here.
                    tracing::warn!("cannot record the end of the calibration session: {error}");
                    let mut session = self.calibrating.running.take().expect("checked just above");
                    session.end(now, EndReason::TimeUp);
                    self.finish_session(session);
                }
            }
        }
    }

    /// Says once a day that no calibration block was held for the configured number of days.
    pub(super) fn consider_reminder(&mut self) {
        if !self.initialized {
            return;
        }
        self.calibrating.last_reminder_check = Some(Instant::now());
        let every_days = self.settings.reminder_days;
        if every_days == 0 || self.calibrating.running.is_some() {
            return;
        }
        let now = now_ms();
        let today = day_of(now);
        // The store learns the day through the writer; this process must not wait for it.
        if self.calibrating.reminded_day == Some(today) {
            return;
        }
        if let Ok(Some(day)) = self.store.setting(LAST_REMINDER_DAY)
            && day.parse::<u32>().is_ok_and(|day| day >= today)
        {
            return;
        }
        let last_started = match self.store.calibration_sessions() {
            Ok(sessions) => sessions.iter().map(|session| session.started_ms).max(),
            Err(error) => {
                tracing::warn!("cannot read calibration sessions for the reminder: {error}");
                return;
            }
        };
        let days_since = last_started.map(|started| now.saturating_sub(started) / 86_400_000);
        if days_since.is_some_and(|days| days < u64::from(every_days)) {
            return;
        }
        self.calibrating.reminded_day = Some(today);
        self.show(
            MessageType::INFO,
            words::reminder(days_since, self.facts.voice),
        );
        self.writer.send(WriteJob::SetSetting {
            name: LAST_REMINDER_DAY.to_string(),
            value: today.to_string(),
        });
    }
}

/// A refusal the user can act on, or the store's failure.
fn command_error(error: CalibrationError) -> CommandError {
    match error {
        CalibrationError::Store(StoreError::InvalidRecord { .. })
        | CalibrationError::AlreadyRunning { .. }
        | CalibrationError::NotRunning
        | CalibrationError::AlreadyRated { .. } => CommandError::Refused(error.to_string()),
        CalibrationError::Store(_) => CommandError::Failed(error.to_string()),
    }
}

/// "How did the calibration session feel?" as code actions, for clients that cannot ask.
pub(super) fn feel_actions() -> Vec<CodeActionOrCommand> {
    (1..=5u8)
        .map(|feel| {
            CodeActionOrCommand::CodeAction(tower_lsp_server::ls_types::CodeAction {
                title: format!(
                    "Whetstone: the calibration session felt {}",
                    words::feel_title(feel)
                ),
                kind: Some(tower_lsp_server::ls_types::CodeActionKind::EMPTY),
                command: Some(tower_lsp_server::ls_types::Command {
                    title: words::feel_title(feel),
                    command: commands::CALIBRATION_STOP.to_string(),
                    arguments: Some(vec![json!({ "feel": feel })]),
                }),
                ..tower_lsp_server::ls_types::CodeAction::default()
            })
        })
        .collect()
}

/// The session as the status command and the clients' status bars see it.
pub(super) fn session_json(session: &CalibrationSession, now_ms: u64) -> Value {
    let remaining_minutes = session
        .planned_end_ms()
        .filter(|_| session.is_running())
        .map(|end| end.saturating_sub(now_ms).div_ceil(60_000));
    json!({
        "running": session.is_running(),
        "label": session.label,
        "started_ms": session.started_ms,
        "planned_minutes": session.planned_minutes,
        "remaining_minutes": remaining_minutes,
        "ended_ms": session.ended_ms,
        "ended_because": session.ended_because.map(EndReason::as_str),
        "elapsed_minutes": session.ended_ms.unwrap_or(now_ms).saturating_sub(session.started_ms) / 60_000,
        "active_minutes": session.active_minutes(),
        "typed_lines": session.typed_lines,
        "typed_chars": session.typed_chars,
        "files": session.files.len(),
        "pace_lines_per_hour": session.pace_lines_per_hour(),
        "breaches": session.breaches.iter().map(|breach| json!({
            "at_ms": breach.at_ms,
            "uri": breach.uri,
            "origin": breach.origin.as_str(),
            "lines": breach.lines,
            "chunk": breach.chunk.map(|chunk| chunk.0),
        })).collect::<Vec<_>>(),
        "feel": session.feel,
        "notes": session.notes,
    })
}

/// A warning on each chunk pasted or generated during the running session.
pub(super) fn breach_diagnostics(
    session: &CalibrationSession,
    views: &[ChunkView],
) -> Vec<Diagnostic> {
    views
        .iter()
        .filter(|view| {
            session
                .breaches
                .iter()
                .any(|breach| breach.chunk == Some(view.chunk.id))
        })
        .map(|view| Diagnostic {
            range: Range::new(
                Position::new(u32::try_from(view.start_line).unwrap_or(u32::MAX), 0),
                Position::new(u32::try_from(view.end_line).unwrap_or(u32::MAX), 0),
            ),
            severity: Some(DiagnosticSeverity::WARNING),
            code: Some(NumberOrString::String(PASTE_DURING_CALIBRATION.to_string())),
            source: Some("whetstone".to_string()),
            message: format!(
                "{} lines {} during a calibration session (no AI): recorded as a breach",
                view.end_line - view.start_line,
                view.chunk.origin.as_str()
            ),
            data: Some(json!({"chunk": view.chunk.id.0})),
            ..Diagnostic::default()
        })
        .collect()
}

/// The buttons of the feel question, 1 to 5.
fn feel_choices() -> Vec<MessageActionItem> {
    (1..=5u8)
        .map(|feel| MessageActionItem {
            title: words::feel_title(feel),
            properties: Default::default(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_of_an_ended_session_has_no_time_left() {
        let mut session = CalibrationSession::start(None, Some(60), 0);
        for minute in 1..=20u64 {
            session.record_edit("file:///a.rs", minute * 60_000, 30, 1);
        }
        session.end(20 * 60_000, EndReason::Stopped);
        let status = session_json(&session, 30 * 60_000);
        assert_eq!(status["running"], json!(false));
        assert_eq!(status["remaining_minutes"], Value::Null);
        assert_eq!(status["elapsed_minutes"], json!(20));
    }

    #[test]
    fn the_feel_choices_are_the_feels_in_order() {
        let titles: Vec<String> = feel_choices().into_iter().map(|item| item.title).collect();
        let feels: Vec<Option<u8>> = titles
            .iter()
            .map(|title| words::feel_from_choice(title))
            .collect();
        assert_eq!(feels, (1..=5).map(Some).collect::<Vec<_>>());
    }
}
