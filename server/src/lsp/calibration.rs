//! What the editor shows of calibration sessions: the session as `whetstone.calibration.status`
//! returns it, breach diagnostics, the feel question and the reminder. Plain functions.

use serde_json::{Value, json};
use tower_lsp_server::ls_types::{
    Diagnostic, DiagnosticSeverity, MessageActionItem, NumberOrString, Position, Range,
};

use crate::core::calibration::{CalibrationSession, EndReason};
use crate::core::engine::ChunkView;
use crate::core::report::feel_word;

pub const PASTE_DURING_CALIBRATION: &str = "paste-during-calibration";

/// The session as the status command and the clients' status bars see it.
pub fn session_json(session: &CalibrationSession, now_ms: u64) -> Value {
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

/// One sentence summing a session up, for the message at its end.
pub fn summary(session: &CalibrationSession) -> String {
    let pace = match session.pace_lines_per_hour() {
        Some(pace) if session.pace_is_rough() => format!(
            "a rough {pace:.0} typed lines per active hour: hold longer sessions for a real pace"
        ),
        Some(pace) => format!("{pace:.0} typed lines per active hour"),
        None => "no active time, so no pace".to_string(),
    };
    let breaches = match session.breaches.len() {
        0 => "no breaches".to_string(),
        1 => "1 breach".to_string(),
        count => format!("{count} breaches"),
    };
    format!(
        "{} typed lines in {} active minutes ({pace}), {breaches}",
        session.typed_lines,
        session.active_minutes()
    )
}

/// A warning on each chunk pasted or generated during the running session.
pub fn breach_diagnostics(session: &CalibrationSession, views: &[ChunkView]) -> Vec<Diagnostic> {
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
pub fn feel_choices() -> Vec<MessageActionItem> {
    (1..=5u8)
        .map(|feel| MessageActionItem {
            title: feel_title(feel),
            properties: Default::default(),
        })
        .collect()
}

pub fn feel_title(feel: u8) -> String {
    format!("{feel} {}", feel_word(feel))
}

/// The feel a chosen button stands for.
pub fn feel_from_choice(title: &str) -> Option<u8> {
    (1..=5u8).find(|feel| feel_title(*feel) == title)
}

/// The reminder when no session was held for `days` days.
pub fn reminder(days_since: Option<u64>) -> String {
    let since = match days_since {
        Some(days) => format!("No calibration block in {days} days."),
        None => "You have not held a calibration block yet.".to_string(),
    };
    format!(
        "{since} Once a week, work 60–90 minutes without AI to learn your honest pace: run \
         \"Whetstone: Start calibration session\" (whetstone.calibration.start)."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feel_choices_round_trip() {
        let titles: Vec<String> = feel_choices().into_iter().map(|item| item.title).collect();
        assert_eq!(
            titles,
            vec![
                "1 struggled",
                "2 hard going",
                "3 workable",
                "4 good",
                "5 smooth"
            ]
        );
        assert_eq!(feel_from_choice("4 good"), Some(4));
        assert_eq!(feel_from_choice("6"), None);
    }

    #[test]
    fn a_summary_says_pace_and_breaches() {
        let mut session = CalibrationSession::start(None, Some(60), 0);
        for minute in 1..=20u64 {
            session.record_edit("file:///a.rs", minute * 60_000, 30, 1);
        }
        session.end(20 * 60_000, EndReason::Stopped);
        assert_eq!(
            summary(&session),
            "20 typed lines in 20 active minutes (60 typed lines per active hour), no breaches"
        );
        let status = session_json(&session, 30 * 60_000);
        assert_eq!(status["running"], json!(false));
        assert_eq!(status["remaining_minutes"], Value::Null);
        assert_eq!(status["elapsed_minutes"], json!(20));
    }
}
