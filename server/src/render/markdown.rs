//! The report as markdown: the sections of the HTML page in the same order, tables where the page
//! has tables, and one sentence in place of each chart. Paths, labels and items sit in code spans
//! so that `impl<T>` or `a_b_c` print as written, and `|` is escaped so a cell stays one cell.

use super::{
    CLASS_HEADERS, DEBT_MEANING, NOT_ENOUGH_DATA, class_columns, count, debt_summary,
    explained_summary, kept_share, lines_amount, origin_shares, output_summary, overdue, pace,
    pace_summary, percent, period,
};
use crate::core::by_origin::ByOrigin;
use crate::core::date::{date_of_ms, date_time_of_ms};
use crate::core::line_map::Origin;
use crate::core::report::{Report, feel_word};

pub(super) fn render(report: &Report) -> String {
    let mut out = String::new();
    out.push_str("# Whetstone report\n\n");
    out.push_str(&format!(
        "{} · generated {}\n",
        period(report),
        date_time_of_ms(report.generated_ms)
    ));

    out.push_str("\n## Four questions\n\n");
    for (index, answer) in report.questions.iter().enumerate() {
        out.push_str(&format!("{}. **{}**  \n", index + 1, answer.question));
        match &answer.answer {
            Some(text) => out.push_str(&format!("   {text}  \n   {}\n", answer.detail)),
            None => out.push_str(&format!("   {}\n", answer.detail)),
        }
    }

    calibration(&mut out, report);

    out.push_str("\n## Output\n\n");
    out.push_str(&output_summary(report));
    out.push('\n');
    out.push_str("\n## Explained and unexplained\n\n");
    out.push_str(&explained_summary(report));
    out.push('\n');
    out.push_str("\n## Pace over time\n\n");
    out.push_str(&pace_summary(report));
    out.push('\n');

    debt(&mut out, report);
    ownership(&mut out, report);
    practice(&mut out, report);
    detection(&mut out, report);
    out
}

/// How the user answered the chunks flagged in the period, by origin.
fn detection(out: &mut String, report: &Report) {
    let detection = &report.detection;
    out.push_str("\n## Detection as you judged it\n\n");
    out.push_str(&crate::core::judged::sentence(detection));
    out.push('\n');
    if detection.by_origin.is_empty() {
        return;
    }
    out.push_str("\n| flagged as | chunks | classified | not AI | unanswered | right |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|\n");
    for (origin, answers) in &detection.by_origin {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            origin.as_str(),
            answers.flagged,
            answers.classified,
            answers.dismissed,
            answers.unjudged,
            answers
                .precision()
                .map_or("—".to_string(), |share| format!("{:.0}%", share * 100.0))
        ));
    }
}

fn calibration(out: &mut String, report: &Report) {
    let calibration = &report.calibration;
    out.push_str("\n## Calibration: your pace without AI\n\n");
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
    let sessions = calibration.sessions.len() as u64;
    out.push_str(&format!(
        "\n{} {}, {} {}.\n\n",
        count(sessions),
        if sessions == 1 { "session" } else { "sessions" },
        count(calibration.breaches),
        if calibration.breaches == 1 {
            "breach"
        } else {
            "breaches"
        }
    ));
    out.push_str("| date | label | active minutes | typed lines | pace | breaches | feel |\n");
    out.push_str("|---|---|---:|---:|---:|---:|---|\n");
    for session in &calibration.sessions {
        let mut when = date_of_ms(session.started_ms);
        if session.running {
            when.push_str(" (running)");
        }
        out.push_str(&format!(
            "| {when} | {} | {} | {} | {} | {} | {} |\n",
            session.label.as_deref().map_or("—".to_string(), code),
            count(session.active_minutes),
            count(session.typed_lines),
            pace(session.pace),
            count(session.breaches),
            session.feel.map_or("—".to_string(), |feel| format!(
                "{feel} ({})",
                feel_word(feel)
            ))
        ));
    }
}

fn debt(out: &mut String, report: &Report) {
    out.push_str("\n## Capability debt\n\n");
    out.push_str(&format!("{}\n\n{DEBT_MEANING}\n", debt_summary(report)));
    if report.workspaces.is_empty() {
        return;
    }
    out.push_str("\n| workspace | debt (lines) | share |\n|---|---:|---:|\n");
    for workspace in &report.workspaces {
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            code(&workspace.workspace),
            lines_amount(workspace.debt_lines),
            percent(workspace.debt_lines, report.debt_lines)
        ));
    }
}

fn ownership(out: &mut String, report: &Report) {
    out.push_str("\n## Ownership\n\n");
    if report.workspaces.is_empty() {
        out.push_str(&format!("{NOT_ENOUGH_DATA}: no files have been tracked.\n"));
        return;
    }
    out.push_str("Share of lines by origin, chunks by class, explained share of the chunks' lines, debt in lines.\n\n");
    table_header(out, "workspace", true);
    for workspace in &report.workspaces {
        let flagged = workspace.explained_lines + workspace.unexplained_lines;
        table_row(
            out,
            &workspace.workspace,
            &workspace.lines,
            class_columns(&workspace.chunks),
            Some(percent(workspace.explained_lines as f64, flagged as f64)),
            workspace.debt_lines,
        );
    }
    if !report.agents.is_empty() {
        out.push_str("\n### Declared by agents\n\nLines in the files now that a coding agent said it wrote.\n\n| agent | chunks | lines | explained |\n|---|---:|---:|---:|\n");
        for agent in &report.agents {
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                code(&super::agent_name(agent)),
                agent.chunks,
                agent.lines,
                percent(agent.explained_lines as f64, agent.lines as f64)
            ));
        }
    }
    for workspace in &report.workspaces {
        out.push_str(&format!("\n### {}\n\n", code(&workspace.workspace)));
        table_header(out, "file", false);
        for file in &workspace.files {
            table_row(
                out,
                &file.path,
                &file.lines,
                class_columns(&file.chunks),
                None,
                file.debt_lines,
            );
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

fn table_row(
    out: &mut String,
    name: &str,
    lines: &ByOrigin<u64>,
    classes: [u64; 4],
    explained: Option<String>,
    debt_lines: f64,
) {
    out.push_str(&format!("| {} | {} |", code(name), count(lines.total())));
    for (_, share) in origin_shares(lines) {
        out.push_str(&format!(" {share} |"));
    }
    for chunks in classes {
        out.push_str(&format!(" {} |", count(chunks)));
    }
    if let Some(explained) = explained {
        out.push_str(&format!(" {explained} |"));
    }
    out.push_str(&format!(" {} |\n", lines_amount(debt_lines)));
}

fn practice(out: &mut String, report: &Report) {
    out.push_str("\n## Practice due\n\n");
    if report.practice_due.is_empty() {
        out.push_str("Nothing is due: no repeatable chunk is waiting to be reproduced.\n");
        return;
    }
    out.push_str("Reproduce these from memory, then compare.\n\n");
    out.push_str("| due | workspace | file | chunk | items | lines | reproduction |\n");
    out.push_str("|---|---|---|---:|---|---:|---|\n");
    for item in &report.practice_due {
        let items = if item.items.is_empty() {
            "—".to_string()
        } else {
            item.items
                .iter()
                .map(|name| code(name))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push_str(&format!(
            "| {} ({}) | {} | {} | {} | {items} | {} | after {} |\n",
            date_of_ms(item.due_ms),
            overdue(item.due_ms, report.generated_ms),
            code(&item.workspace),
            code(&item.path),
            item.chunk,
            count(item.lines),
            item.step
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
