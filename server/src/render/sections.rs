//! What the markdown and the HTML both show, section by section: the order and titles of the
//! sections, and the rows of their tables as numbers and words. Each renderer adds only its own
//! markup (and the chart, for the HTML), so the two formats cannot drift apart on what a row says.

use super::{count, date_of_ms, lines_amount, overdue, pace, percent};
use crate::core::by_origin::ByOrigin;
use crate::core::judged::Detection;
use crate::core::report::{
    AgentLines, Calibration, ClassCounts, Report, SessionSummary, WorkspaceOwnership, feel_word,
};

/// The sections after the header, in the order every format shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Questions,
    Calibration,
    Output,
    Explained,
    Pace,
    Debt,
    Ownership,
    Practice,
    Detection,
}

impl Section {
    pub(crate) const ALL: [Section; 9] = [
        Section::Questions,
        Section::Calibration,
        Section::Output,
        Section::Explained,
        Section::Pace,
        Section::Debt,
        Section::Ownership,
        Section::Practice,
        Section::Detection,
    ];

    /// The section's heading, in every format.
    pub(crate) fn title(self) -> &'static str {
        match self {
            Section::Questions => "Four questions",
            Section::Calibration => "Calibration: your pace without AI",
            Section::Output => "Output",
            Section::Explained => "Explained and unexplained",
            Section::Pace => "Pace over time",
            Section::Debt => "Capability debt",
            Section::Ownership => "Ownership",
            Section::Practice => "Practice due",
            Section::Detection => "Detection as you judged it",
        }
    }
}

/// The ownership section's sentence when there is nothing to show.
pub(crate) const NO_FILES: &str = "no files have been tracked.";

/// The practice section's sentence when there is nothing to show.
pub(crate) const NOTHING_DUE: &str =
    "Nothing is due: no repeatable chunk is waiting to be reproduced.";

/// "3 sessions, 1 breach": what the sessions table counts.
pub(crate) fn sessions_and_breaches(calibration: &Calibration) -> String {
    let sessions = calibration.sessions.len() as u64;
    format!(
        "{} {}, {} {}",
        count(sessions),
        if sessions == 1 { "session" } else { "sessions" },
        count(calibration.breaches),
        if calibration.breaches == 1 {
            "breach"
        } else {
            "breaches"
        }
    )
}

/// One calibration session as a table row.
pub(crate) struct SessionRow<'a> {
    /// The day it started, and "(running)" if it has not ended.
    pub when: String,
    pub label: Option<&'a str>,
    pub active_minutes: String,
    pub typed_lines: String,
    pub pace: String,
    pub breaches: String,
    /// The rating and its word: `(2, "hard going")`.
    pub feel: Option<(u8, &'static str)>,
}

pub(crate) fn session_row(session: &SessionSummary) -> SessionRow<'_> {
    let mut when = date_of_ms(session.started_ms);
    if session.running {
        when.push_str(" (running)");
    }
    SessionRow {
        when,
        label: session.label.as_deref(),
        active_minutes: count(session.active_minutes),
        typed_lines: count(session.typed_lines),
        pace: pace(session.pace),
        breaches: count(session.breaches),
        feel: session.feel.map(|feel| (feel, feel_word(feel))),
    }
}

/// One workspace's share of the capability debt.
pub(crate) struct DebtRow<'a> {
    pub workspace: &'a str,
    pub debt: String,
    pub share: String,
}

pub(crate) fn debt_rows(report: &Report) -> impl Iterator<Item = DebtRow<'_>> {
    report.workspaces.iter().map(|workspace| DebtRow {
        workspace: &workspace.workspace,
        debt: lines_amount(workspace.debt_lines),
        share: percent(workspace.debt_lines, report.debt_lines),
    })
}

/// One row of an ownership table: a workspace or one of its files.
pub(crate) struct OwnershipRow<'a> {
    pub name: &'a str,
    /// Lines by `Origin as usize`.
    pub lines: &'a ByOrigin<u64>,
    pub total_lines: String,
    /// Chunks by class, in the order of [`CLASS_HEADERS`].
    pub classes: [u64; 4],
    /// Workspaces only: the explained share of their chunks' lines.
    pub explained: Option<String>,
    pub debt: String,
}

pub(crate) fn workspace_rows(report: &Report) -> impl Iterator<Item = OwnershipRow<'_>> {
    report.workspaces.iter().map(|workspace| {
        let flagged = workspace.explained_lines + workspace.unexplained_lines;
        OwnershipRow {
            name: &workspace.workspace,
            lines: &workspace.lines,
            total_lines: count(workspace.lines.total()),
            classes: class_columns(&workspace.chunks),
            explained: Some(percent(workspace.explained_lines as f64, flagged as f64)),
            debt: lines_amount(workspace.debt_lines),
        }
    })
}

pub(crate) fn file_rows(workspace: &WorkspaceOwnership) -> impl Iterator<Item = OwnershipRow<'_>> {
    workspace.files.iter().map(|file| OwnershipRow {
        name: &file.path,
        lines: &file.lines,
        total_lines: count(file.lines.total()),
        classes: class_columns(&file.chunks),
        explained: None,
        debt: lines_amount(file.debt_lines),
    })
}

/// The three class counts and the unclassified ones, in the order the tables show them.
fn class_columns(counts: &ClassCounts) -> [u64; 4] {
    [
        counts.transient,
        counts.repeatable,
        counts.core,
        counts.unclassified,
    ]
}

/// Headers for [`OwnershipRow::classes`].
pub(crate) const CLASS_HEADERS: [&str; 4] = ["transient", "repeatable", "core", "unclassified"];

/// The share of each origin in a file's or workspace's lines, as percentages.
pub(crate) fn origin_shares(lines: &ByOrigin<u64>) -> ByOrigin<String> {
    let total = lines.total();
    lines.map(|_, value| percent(value as f64, total as f64))
}

/// The lines one agent declared, as a table row.
pub(crate) struct AgentRow {
    /// "claude-code" or "claude-code (model)".
    pub name: String,
    pub chunks: u64,
    pub lines: u64,
    pub explained: String,
}

pub(crate) fn agent_row(agent: &AgentLines) -> AgentRow {
    AgentRow {
        name: super::agent_name(agent),
        chunks: agent.chunks,
        lines: agent.lines,
        explained: percent(agent.explained_lines as f64, agent.lines as f64),
    }
}

/// One repeatable chunk waiting to be reproduced.
pub(crate) struct PracticeRow<'a> {
    pub due: String,
    /// "3 days overdue", "due today".
    pub overdue: String,
    pub workspace: &'a str,
    pub path: &'a str,
    pub chunk: u64,
    /// The chunk's items, or none when its syntax named nothing.
    pub items: &'a [String],
    pub lines: String,
    /// "1 day", "1 week": how long after classifying this reproduction falls.
    pub step: &'static str,
}

pub(crate) fn practice_rows(report: &Report) -> impl Iterator<Item = PracticeRow<'_>> {
    report.practice_due.iter().map(|item| PracticeRow {
        due: date_of_ms(item.due_ms),
        overdue: overdue(item.due_ms, report.generated_ms),
        workspace: &item.workspace,
        path: &item.path,
        chunk: item.chunk,
        items: &item.items,
        lines: count(item.lines),
        step: item.step,
    })
}

/// How the user answered the chunks flagged as one origin.
pub(crate) struct DetectionRow {
    pub origin: &'static str,
    pub flagged: u64,
    pub classified: u64,
    pub dismissed: u64,
    pub unjudged: u64,
    /// The share of answers that agreed with the flag, or a dash without answers.
    pub right: String,
}

pub(crate) fn detection_rows(detection: &Detection) -> impl Iterator<Item = DetectionRow> + '_ {
    detection
        .by_origin
        .iter()
        .map(|(origin, answers)| DetectionRow {
            origin: origin.as_str(),
            flagged: answers.flagged,
            classified: answers.classified,
            dismissed: answers.dismissed,
            unjudged: answers.unjudged,
            right: answers
                .precision()
                .map_or("—".to_string(), |share| format!("{:.0}%", share * 100.0)),
        })
}
