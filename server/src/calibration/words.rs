//! What the user is told about calibration sessions: the editors' one-line messages and the
//! command line's replies. Every text that names a command says it in the user's [`Voice`].
//! Editor messages stay short enough for one line of a terminal editor.

use crate::core::calibration::{CalibrationSession, EndReason};
use crate::core::date::date_time_of_ms;
use crate::core::report::feel_word;
use crate::store::calibration::CalibrationStatus;
use crate::voice::{Action, Voice};

use super::StopOutcome;

/// `count` and its noun, singular for one: "1 typed line", "3 typed lines".
pub fn count(count: u64, one: &str, many: &str) -> String {
    if count == 1 {
        format!("1 {one}")
    } else {
        format!("{count} {many}")
    }
}

/// A feel as the question offers it: "4 good".
pub fn feel_title(feel: u8) -> String {
    format!("{feel} {}", feel_word(feel))
}

/// The feel a chosen answer stands for.
pub fn feel_from_choice(title: &str) -> Option<u8> {
    (1..=5u8).find(|feel| feel_title(*feel) == title)
}

/// The session in one clause: what was typed, in how much active time, at what pace, and its
/// breaches. "41 typed lines in 20 active minutes (123 typed lines per active hour), no breaches".
pub fn summary(session: &CalibrationSession) -> String {
    let active = match session.active_minutes() {
        0 => "under an active minute".to_string(),
        minutes => count(minutes, "active minute", "active minutes"),
    };
    let pace = match session.pace_lines_per_hour() {
        Some(pace) if !session.pace_is_rough() => format!("{pace:.0} typed lines per active hour"),
        // The report leaves such a session out of the pace; the README says where the bar is.
        _ => "too short for a pace".to_string(),
    };
    format!(
        "{} in {active} ({pace}), {}",
        count(session.typed_lines, "typed line", "typed lines"),
        breaches(session.breaches.len())
    )
}

fn breaches(breaches: usize) -> String {
    match breaches {
        0 => "no breaches".to_string(),
        count => self::count(count as u64, "breach", "breaches"),
    }
}

/// How long a session just started runs.
fn until(minutes: Option<u32>) -> String {
    match minutes {
        Some(minutes) => format!("for {}", count(u64::from(minutes), "minute", "minutes")),
        None => "until you stop it".to_string(),
    }
}

// ---- in an editor --------------------------------------------------------------------------------

/// The message when this window started a session.
pub fn started_message(minutes: Option<u32>) -> String {
    format!(
        "Calibration session started {}: no AI, no pasting.",
        until(minutes)
    )
}

/// The message when a window or the command line started a session: `minutes_left` of its plan.
pub fn started_elsewhere_message(minutes_left: Option<u64>) -> String {
    let until = match minutes_left {
        Some(left) => format!("for {} more", count(left, "minute", "minutes")),
        None => "until it is stopped".to_string(),
    };
    format!("Calibration session started elsewhere, {until}: no AI, no pasting here either.")
}

pub const ENDED_ELSEWHERE_MESSAGE: &str = "Calibration session ended elsewhere.";

/// The message when a session ended, stopped or out of time.
pub fn ended_message(session: &CalibrationSession) -> String {
    let reason = match session.ended_because {
        Some(EndReason::TimeUp) => "Calibration session over, its time is up",
        _ => "Calibration session stopped",
    };
    format!("{reason}: {}.", summary(session))
}

/// Where the feel question waits in a client that cannot ask it: the code actions.
pub fn feel_waits(voice: Voice) -> &'static str {
    match voice {
        Voice::Helix => "Say how it felt: space a.",
        _ => "Say how it felt from the code actions.",
    }
}

/// The running session in one line, or that none runs (and whether the last one waits for
/// its feel), as `whetstone.calibration.status` is told in a client that shows no results.
pub fn status_line(
    running: Option<&CalibrationSession>,
    unrated: bool,
    now_ms: u64,
    voice: Voice,
) -> String {
    let Some(session) = running else {
        return if unrated {
            format!(
                "No calibration session running; the last one has no feel yet. {}",
                feel_waits(voice)
            )
        } else {
            "No calibration session running.".to_string()
        };
    };
    let label = session
        .label
        .as_ref()
        .map(|label| format!(" \"{label}\""))
        .unwrap_or_default();
    let left = match session.planned_end_ms() {
        Some(end) => format!(
            ", {} left",
            count(
                end.saturating_sub(now_ms).div_ceil(60_000),
                "minute",
                "minutes"
            )
        ),
        None => String::new(),
    };
    format!(
        "Calibration session{label} running{left}: {} in {}, {}.",
        count(session.typed_lines, "typed line", "typed lines"),
        count(session.active_minutes(), "active minute", "active minutes"),
        breaches(session.breaches.len())
    )
}

/// The question asked when a session ended without its feel.
pub const FEEL_QUESTION: &str = "How did the calibration session feel? (1 struggled … 5 smooth)";

/// The message when a feel was given to a session that had already ended.
pub fn rated_message(feel: u8) -> String {
    format!(
        "Recorded: the last calibration session felt {}.",
        feel_title(feel)
    )
}

/// The refusal of a start while a session runs, `minutes_ago` since it started.
pub fn already_running_message(minutes_ago: u64, voice: Voice) -> String {
    format!(
        "A calibration session is already running (started {} ago): stop it first, {}",
        count(minutes_ago, "minute", "minutes"),
        voice.run(Action::CalibrationStop)
    )
}

/// The reminder when no session was held for `days_since` days (None: never).
pub fn reminder(days_since: Option<u64>, voice: Voice) -> String {
    let since = match days_since {
        Some(days) => format!("No calibration block in {}.", count(days, "day", "days")),
        None => "No calibration block yet.".to_string(),
    };
    format!(
        "{since} Learn your pace in 60–90 min without AI: {}",
        voice.run(Action::CalibrationStart)
    )
}

// ---- on the command line -------------------------------------------------------------------------

fn feel_hint() -> String {
    format!(
        "How did it feel? Say it with {}, from 1 (struggled) to 5 (smooth).",
        Voice::Terminal.run_with_feel()
    )
}

/// What `whetstone calibrate start` prints.
pub fn started_text(session: &CalibrationSession) -> String {
    let mut text = format!(
        "calibration session started at {}",
        date_time_of_ms(session.started_ms)
    );
    if let Some(label) = &session.label {
        text.push_str(&format!(": {label}"));
    }
    text.push('\n');
    if let Some(end) = session.planned_end_ms() {
        text.push_str(&format!("it ends by itself at {}\n", date_time_of_ms(end)));
    }
    text.push_str(&format!(
        "no AI until it ends: pastes and generated code count as breaches. Stop it with {}.\n",
        Voice::Terminal.run_with_feel()
    ));
    text
}

/// What `whetstone calibrate stop` prints.
pub fn stopped_text(outcome: &StopOutcome) -> String {
    match outcome {
        StopOutcome::Stopped(session) => {
            let mut text = format!(
                "calibration session {}ended at {}{}: {}\n",
                session
                    .label
                    .as_ref()
                    .map(|label| format!("\"{label}\" "))
                    .unwrap_or_default(),
                session.ended_ms.map(date_time_of_ms).unwrap_or_default(),
                match session.ended_because {
                    Some(EndReason::TimeUp) => " (its planned time was up)",
                    _ => "",
                },
                summary(session),
            );
            match session.feel {
                Some(feel) => text.push_str(&format!("felt {feel} of 5 ({})\n", feel_word(feel))),
                None => text.push_str(&format!("{}\n", feel_hint())),
            }
            text
        }
        StopOutcome::Rated(session) => {
            let mut text = format!(
                "recorded for the calibration session started {}",
                date_time_of_ms(session.started_ms)
            );
            if session.ended_because == Some(EndReason::TimeUp) {
                text.push_str(" (ended when its planned time was up)");
            }
            match session.feel {
                Some(feel) => text.push_str(&format!(": felt {feel} of 5 ({})", feel_word(feel))),
                None => text.push_str(": notes"),
            }
            text.push('\n');
            text
        }
    }
}

/// What `whetstone calibrate status` prints.
pub fn status_text(status: &CalibrationStatus, now_ms: u64) -> String {
    let Some(session) = &status.running else {
        let mut text = "no calibration session running\n".to_string();
        if let Some(last) = &status.last_ended
            && last.feel.is_none()
        {
            text.push_str(&format!(
                "the last one ended at {} without a feel. {}\n",
                last.ended_ms.map(date_time_of_ms).unwrap_or_default(),
                feel_hint()
            ));
        }
        return text;
    };
    let mut text = match &session.label {
        Some(label) => format!("calibration session running: {label}\n"),
        None => "calibration session running\n".to_string(),
    };
    text.push_str(&format!(
        "  started      {}\n",
        date_time_of_ms(session.started_ms)
    ));
    if let Some(end) = session.planned_end_ms() {
        let left = end.saturating_sub(now_ms).div_ceil(60_000);
        text.push_str(&format!(
            "  ends         {} ({} left)\n",
            date_time_of_ms(end),
            count(left, "minute", "minutes")
        ));
    }
    text.push_str(&format!(
        "  active       {}\n",
        count(session.active_minutes(), "minute", "minutes")
    ));
    text.push_str(&format!("  typed lines  {}\n", session.typed_lines));
    text.push_str(&format!("  breaches     {}\n", session.breaches.len()));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: u64 = 60_000;

    #[test]
    fn feel_titles_round_trip() {
        let titles: Vec<String> = (1..=5).map(feel_title).collect();
        assert_eq!(
            titles,
            [
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
            session.record_edit("file:///a.rs", minute * MINUTE, 30, 1);
        }
        session.end(20 * MINUTE, EndReason::Stopped);
        assert_eq!(
            summary(&session),
            "20 typed lines in 20 active minutes (60 typed lines per active hour), no breaches"
        );
    }

    #[test]
    fn a_short_session_has_no_pace_and_its_counts_read_as_english() {
        let mut session = CalibrationSession::start(None, None, 0);
        session.record_edit("file:///a.rs", 1_000, 12, 1);
        session.record_edit("file:///a.rs", 20_000, 3, 0);
        session.end(30_000, EndReason::Stopped);
        assert_eq!(
            summary(&session),
            "1 typed line in under an active minute (too short for a pace), no breaches"
        );
        assert_eq!(
            ended_message(&session),
            format!("Calibration session stopped: {}.", summary(&session))
        );
    }

    #[test]
    fn the_reminder_names_the_command_as_each_editor_runs_it() {
        assert_eq!(
            reminder(Some(9), Voice::Neovim),
            "No calibration block in 9 days. Learn your pace in 60–90 min without AI: \
             :Whetstone calibrate start"
        );
        assert_eq!(
            reminder(None, Voice::Helix),
            "No calibration block yet. Learn your pace in 60–90 min without AI: \
             :lsp-workspace-command whetstone.calibration.start"
        );
        // One line of a terminal editor; Helix's command is long by itself.
        assert!(reminder(Some(14), Voice::Neovim).chars().count() <= 100);
        for voice in [Voice::VsCode, Voice::Helix, Voice::Editor] {
            assert!(
                reminder(Some(14), voice).chars().count() <= 140,
                "{voice:?}: {}",
                reminder(Some(14), voice)
            );
        }
    }
}
