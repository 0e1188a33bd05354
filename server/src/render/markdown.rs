//! The report as markdown: the sections of the HTML page in the same order, tables where the page
//! has tables, and one sentence in place of each chart. Paths, labels and items sit in code spans
//! so that `impl<T>` or `a_b_c` print as written, and `|` is escaped so a cell stays one cell.

use super::sections::{
    self, CLASS_HEADERS, NO_FILES, NOTHING_DUE, OwnershipRow, Section, origin_shares,
};
use super::{
    DEBT_MEANING, NOT_ENOUGH_DATA, count, date_time_of_ms, debt_summary, explained_summary,
    kept_share, output_summary, pace_summary, period,
};
use crate::core::line_map::Origin;
use crate::core::report::Report;

pub(super) fn render(report: &Report) -> String {
    let mut out = String::new();
    out.push_str("# Whetstone report\n\n");
    out.push_str(&format!(
        "{} · generated {}\n",
        period(report),
        date_time_of_ms(report.generated_ms)
    ));
    for section in Section::ALL {
        out.push_str(&format!("\n## {}\n\n", section.title()));
        match section {
            Section::Questions => questions(&mut out, report),
            Section::Calibration => calibration(&mut out, report),
            Section::Output => sentence(&mut out, &output_summary(report)),
            Section::Explained => sentence(&mut out, &explained_summary(report)),
            Section::Pace => sentence(&mut out, &pace_summary(report)),
            Section::Debt => debt(&mut out, report),
            Section::Ownership => ownership(&mut out, report),
            Section::Practice => practice(&mut out, report),
            Section::Detection => detection(&mut out, report),
        }
    }
    out
}

/// A chart's summary, which stands in for the chart.
fn sentence(out: &mut String, text: &str) {
    out.push_str(text);
    out.push('\n');
}

fn questions(out: &mut String, report: &Report) {
    for (index, answer) in report.questions.iter().enumerate() {
        out.push_str(&format!("{}. **{}**  \n", index + 1, answer.question));
        match &answer.answer {
            Some(text) => out.push_str(&format!("   {text}  \n   {}\n", answer.detail)),
            None => out.push_str(&format!("   {}\n", answer.detail)),
        }
    }
}

/// How the user answered the chunks flagged in the period, by origin.
fn detection(out: &mut String, report: &Report) {
    let detection = &report.detection;
    out.push_str(&crate::core::judged::sentence(detection));
    out.push('\n');
    if detection.by_origin.is_empty() {
        return;
    }
    out.push_str("\n| flagged as | chunks | classified | not AI | unanswered | right |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|\n");
    for row in sections::detection_rows(detection) {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            row.origin, row.flagged, row.classified, row.dismissed, row.unjudged, row.right
        ));
    }
}

fn calibration(out: &mut String, report: &Report) {
    let calibration = &report.calibration;
    let (headline, detail) = kept_share(calibration);
    if let Some(headline) = headline {
        out.push_str(&format!("**{headline}** "));
    }
    out.push_str(&detail);
    out.push('\n');
    // Without sessions the sentence above already says what is missing.
    if calibration.sessions.is_empty() {
        return;
    }
    out.push_str(&format!(
        "\n{}.\n\n",
        sections::sessions_and_breaches(calibration)
    ));
    out.push_str("| date | label | active minutes | typed lines | pace | breaches | feel |\n");
    out.push_str("|---|---|---:|---:|---:|---:|---|\n");
    for row in calibration.sessions.iter().map(sections::session_row) {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            row.when,
            row.label.map_or("—".to_string(), code),
            row.active_minutes,
            row.typed_lines,
            row.pace,
            row.breaches,
            row.feel
                .map_or("—".to_string(), |(feel, word)| format!("{feel} ({word})"))
        ));
    }
}

fn debt(out: &mut String, report: &Report) {
    out.push_str(&format!("{}\n\n{DEBT_MEANING}\n", debt_summary(report)));
    if report.workspaces.is_empty() {
        return;
    }
    out.push_str("\n| workspace | debt (lines) | share |\n|---|---:|---:|\n");
    for row in sections::debt_rows(report) {
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            code(row.workspace),
            row.debt,
            row.share
        ));
    }
}

fn ownership(out: &mut String, report: &Report) {
    if report.workspaces.is_empty() {
        out.push_str(&format!("{NOT_ENOUGH_DATA}: {NO_FILES}\n"));
        return;
    }
    out.push_str("Share of lines by origin, chunks by class, explained share of the chunks' lines, debt in lines.\n\n");
    table_header(out, "workspace", true);
    for row in sections::workspace_rows(report) {
        table_row(out, &row);
    }
    if !report.agents.is_empty() {
        out.push_str("\n### Declared by agents\n\nLines in the files now that a coding agent said it wrote.\n\n| agent | chunks | lines | explained |\n|---|---:|---:|---:|\n");
        for row in report.agents.iter().map(sections::agent_row) {
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                code(&row.name),
                row.chunks,
                row.lines,
                row.explained
            ));
        }
    }
    for workspace in &report.workspaces {
        out.push_str(&format!("\n### {}\n\n", code(&workspace.workspace)));
        table_header(out, "file", false);
        for row in sections::file_rows(workspace) {
            table_row(out, &row);
        }
    }
}

fn table_header(out: &mut String, first: &str, with_explained: bool) {
    let mut header = format!("| {first} | lines |");
    let mut rule = "|---|---:|".to_string();
    for origin in Origin::ALL {
        header.push_str(&format!(" {} |", origin.as_str()));
        rule.push_str("---:|");
    }
    for class in CLASS_HEADERS {
        header.push_str(&format!(" {class} |"));
        rule.push_str("---:|");
    }
    if with_explained {
        header.push_str(" explained |");
        rule.push_str("---:|");
    }
    header.push_str(" debt |");
    rule.push_str("---:|");
    out.push_str(&format!("{header}\n{rule}\n"));
}

/// Every origin's share and every class's count in columns of their own, zeros included, so
/// that the table reads the same down each column.
fn table_row(out: &mut String, row: &OwnershipRow) {
    out.push_str(&format!("| {} | {} |", code(row.name), row.total_lines));
    for (_, share) in origin_shares(row.lines) {
        out.push_str(&format!(" {share} |"));
    }
    for chunks in row.classes {
        out.push_str(&format!(" {} |", count(chunks)));
    }
    if let Some(explained) = &row.explained {
        out.push_str(&format!(" {explained} |"));
    }
    out.push_str(&format!(" {} |\n", row.debt));
}

fn practice(out: &mut String, report: &Report) {
    if report.practice_due.is_empty() {
        out.push_str(NOTHING_DUE);
        out.push('\n');
        return;
    }
    out.push_str("Reproduce these from memory, then compare.\n\n");
    out.push_str("| due | workspace | file | chunk | items | lines | reproduction |\n");
    out.push_str("|---|---|---|---:|---|---:|---|\n");
    for row in sections::practice_rows(report) {
        let items = if row.items.is_empty() {
            "—".to_string()
        } else {
            row.items
                .iter()
                .map(|name| code(name))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push_str(&format!(
            "| {} ({}) | {} | {} | {} | {items} | {} | after {} |\n",
            row.due,
            row.overdue,
            code(row.workspace),
            code(row.path),
            row.chunk,
            row.lines,
            row.step
        ));
    }
}

/// Text as a code span that stays inside one table cell: backticks cannot close it early, and
/// `|` and line breaks cannot end the cell.
fn code(text: &str) -> String {
    let cleaned = text
        .replace('`', "'")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ");
    format!("`{cleaned}`")
}
