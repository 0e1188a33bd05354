//! Calibration sessions as this window lives them: the running session and its breaches, the
//! daily activity, the feel question, and the reminder when no session was held for a while.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tower_lsp_server::ls_types::{CodeActionOrCommand, MessageType};

use super::{Event, State, now_ms};
use crate::core::Origin;
use crate::core::activity::Activity;
use crate::core::calibration::{Breach, CalibrationSession, EndReason};
use crate::core::date::day_of;
use crate::core::engine::ChangeOutcome;
use crate::lsp::writer::WriteJob;
use crate::lsp::{calibration, commands};
use crate::store::calibration::{
    CalibrationChange, CalibrationError, CalibrationReply, CalibrationStatus, SessionEdit,
};
use crate::store::records;

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
    /// Where the sessions stand in the store (a session whose time is up is ended there), or
    /// None when the store cannot say.
    pub(super) fn look_at_calibration(&mut self, now: u64) -> Option<CalibrationStatus> {
        match self
            .store
            .change_calibration(&CalibrationChange::Look { at_ms: now })
        {
            Ok(CalibrationReply::Status(status)) => Some(status),
            Ok(other) => {
                tracing::warn!("the store answered a look at the calibration with {other:?}");
                None
            }
            Err(error) => {
                tracing::warn!("cannot read the calibration sessions: {error}");
                None
            }
        }
    }

    /// Takes the running session (and the last one waiting for its feel) from the store; edits
    /// of this window not yet handed over are counted on top.
    pub(super) fn load_calibration(&mut self) {
        let now = now_ms();
        let Some(status) = self.look_at_calibration(now) else {
            return;
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
                let until = match session.planned_end_ms() {
                    Some(end) => format!(
                        "for {} more minutes",
                        end.saturating_sub(now).div_ceil(60_000)
                    ),
                    None => "until it is stopped".to_string(),
                };
                self.show(
                    MessageType::INFO,
                    format!(
                        "Calibration session started elsewhere, {until}: no AI, no pasting in this \
                         window either."
                    ),
                );
            }
            None => self.show(
                MessageType::INFO,
                "Calibration session ended elsewhere.".to_string(),
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
            .map_or(Value::Null, |session| {
                calibration::session_json(session, now)
            });
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
    ) -> Result<Value, String> {
        let change = CalibrationChange::Start {
            label,
            minutes,
            at_ms: now,
        };
        let session = match self.store.change_calibration(&change) {
            Ok(CalibrationReply::Started(session)) => session,
            Ok(other) => return Err(format!("the store answered a start with {other:?}")),
            Err(CalibrationError::AlreadyRunning { since_ms }) => {
                self.load_calibration();
                return Err(format!(
                    "a calibration session is already running (started {} minutes ago); stop it \
                     first",
                    now.saturating_sub(since_ms) / 60_000
                ));
            }
            Err(error) => return Err(error.to_string()),
        };
        let until = match minutes {
            Some(minutes) => format!("for {minutes} minutes"),
            None => "until you stop it".to_string(),
        };
        self.show(
            MessageType::INFO,
            format!("Calibration session started {until}: no AI, no pasting. Whetstone measures your unassisted pace."),
        );
        let status = calibration::session_json(&session, now);
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
    ) -> Result<Value, String> {
        // What this window typed reaches the store first: the writer's queue is in order, and
        // progress that arrives after the stop still counts what came before it.
        self.send_calibration_progress();
        let change = CalibrationChange::Stop {
            feel,
            notes,
            at_ms: now,
        };
        match self.store.change_calibration(&change) {
            Ok(CalibrationReply::Stopped(session)) => {
                self.calibrating.running = None;
                self.finish_session(session.clone());
                Ok(calibration::session_json(&session, now))
            }
            Ok(CalibrationReply::Rated(session)) => {
                if let Some(feel) = session.feel {
                    self.show(
                        MessageType::INFO,
                        format!(
                            "Recorded: the last calibration session felt {}.",
                            calibration::feel_title(feel)
                        ),
                    );
                }
                self.calibrating.unrated = None;
                self.calibrating.last_finished = Some(session.clone());
                Ok(calibration::session_json(&session, now))
            }
            Ok(other) => Err(format!("the store answered a stop with {other:?}")),
            Err(CalibrationError::AlreadyRated { .. } | CalibrationError::NotRunning) => {
                self.load_calibration();
                Err("no calibration session is running".to_string())
            }
            Err(error) => Err(error.to_string()),
        }
    }

    /// Tells the user how the ended session went, and asks how it felt.
    pub(super) fn finish_session(&mut self, session: CalibrationSession) {
        let summary = calibration::summary(&session);
        let reason = match session.ended_because {
            Some(EndReason::TimeUp) => "Calibration session over: its time is up.",
            _ => "Calibration session stopped.",
        };
        self.show(MessageType::INFO, format!("{reason} {summary}."));
        let started_ms = session.started_ms;
        if session.feel.is_none() {
            if self.facts.show_message_request {
                let sender = self.sender.clone();
                self.output.request(move |client| async move {
                    let answer = client
                        .show_message_request(
                            MessageType::INFO,
                            "How did the calibration session feel? (1 struggled … 5 smooth)",
                            Some(calibration::feel_choices()),
                        )
                        .await;
                    if let Ok(Some(choice)) = answer
                        && let Some(feel) = calibration::feel_from_choice(&choice.title)
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
        match self
            .store
            .change_calibration(&CalibrationChange::Rate { started_ms, feel })
        {
            Ok(CalibrationReply::Rated(session)) => self.calibrating.last_finished = Some(session),
            Ok(other) => tracing::warn!("the store answered a feel with {other:?}"),
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
            match self.look_at_calibration(now) {
                Some(status) => self.take_calibration_status(status),
                None => {
                    // The store cannot say: the session still ends here.
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
        self.show(MessageType::INFO, calibration::reminder(days_since));
        self.writer.send(WriteJob::SetSetting {
            name: LAST_REMINDER_DAY.to_string(),
            value: today.to_string(),
        });
    }
}

/// "How did the calibration session feel?" as code actions, for clients that cannot ask.
pub(super) fn feel_actions() -> Vec<CodeActionOrCommand> {
    (1..=5u8)
        .map(|feel| {
            CodeActionOrCommand::CodeAction(tower_lsp_server::ls_types::CodeAction {
                title: format!(
                    "Whetstone: the calibration session felt {}",
                    calibration::feel_title(feel)
                ),
                kind: Some(tower_lsp_server::ls_types::CodeActionKind::EMPTY),
                command: Some(tower_lsp_server::ls_types::Command {
                    title: calibration::feel_title(feel),
                    command: commands::CALIBRATION_STOP.to_string(),
                    arguments: Some(vec![json!({ "feel": feel })]),
                }),
                ..tower_lsp_server::ls_types::CodeAction::default()
            })
        })
        .collect()
}
