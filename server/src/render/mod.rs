//! The capability report rendered for people and programs: JSON, markdown and one self-contained
//! HTML page with inline SVG charts. Every renderer only formats a [`Report`] computed by
//! `core::report::compute`; nothing here reads the disk or the clock, so the CLI and the language
//! server decide where the text goes.
//!
//! The helpers below are the words and numbers the renderers share, so the markdown and the HTML
//! say the same thing in the same way: dates from day numbers, percentages, the chart summaries
//! and the "not enough data yet" sentences. `sections` holds the order of the sections and the
//! rows of their tables; the HTML is written with maud, so every piece of text in it is escaped.

mod html;
mod markdown;
mod sections;
mod svg;
#[cfg(test)]
mod tests;

use serde_json::{Map, Value, json};

use crate::core::by_origin::ByOrigin;
use crate::core::date::day_of;
pub use crate::core::date::{civil_date, date, date_of_ms, date_time_of_ms};
use crate::core::judged::{Answers, Detection};
use crate::core::line_map::Origin;
use crate::core::report::{Calibration, ClassCounts, Report};

/// Detection as the user judged it: the answers in all, by origin and by rule.
fn detection_json(detection: &Detection) -> Value {
    let answers = |answers: &Answers| {
        json!({
            "flagged": answers.flagged,
            "classified": answers.classified,
            "explained": answers.explained,
            "dismissed": answers.dismissed,
            "unjudged": answers.unjudged,
            "precision": answers.precision(),
        })
    };
    let mut all = answers(&detection.all);
    all["by_origin"] = detection
        .by_origin
        .iter()
        .map(|(origin, counts)| (origin.as_str().to_string(), answers(counts)))
        .collect::<Map<String, Value>>()
        .into();
    all["by_rule"] = detection
        .by_rule
        .iter()
        .map(|(rule, counts)| {
            (
                rule.map_or("earlier", |rule| rule.as_str()).to_string(),
                answers(counts),
            )
        })
        .collect::<Map<String, Value>>()
        .into();
    all
}

/// The report as a plain JSON object mirroring [`Report`]: snake_case keys, lines by origin as
/// objects keyed by origin name, and every day both as its number since the epoch (`*_day`) and
/// as a `YYYY-MM-DD` date.
pub fn json(report: &Report) -> Value {
    let calibration = &report.calibration;
    json!({
        "detection": detection_json(&report.detection),
        "generated_ms": report.generated_ms,
        "generated_day": day_of(report.generated_ms),
        "generated_date": date_of_ms(report.generated_ms),
        "since_ms": report.since_ms,
        "since_day": day_of(report.since_ms),
        "since_date": date_of_ms(report.since_ms),
        "weeks": report.weeks.iter().map(|week| json!({
            "week_start_day": week.week_start_day,
            "week_start": date(week.week_start_day),
            "lines": lines_by_origin(&week.lines),
        })).collect::<Vec<Value>>(),
        "workspaces": report.workspaces.iter().map(|workspace| json!({
            "workspace": workspace.workspace,
            "lines": lines_by_origin(&workspace.lines),
            "chunks": class_counts(&workspace.chunks),
            "explained_lines": workspace.explained_lines,
            "unexplained_lines": workspace.unexplained_lines,
            "shallow_lines": workspace.shallow_lines,
            "debt_lines": workspace.debt_lines,
            "files": workspace.files.iter().map(|file| json!({
                "path": file.path,
                "lines": lines_by_origin(&file.lines),
                "chunks": class_counts(&file.chunks),
                "debt_lines": file.debt_lines,
            })).collect::<Vec<Value>>(),
        })).collect::<Vec<Value>>(),
        "debt_lines": report.debt_lines,
        "debt_trend": report.debt_trend.iter().map(|point| json!({
            "week_start_day": point.week_start_day,
            "week_start": date(point.week_start_day),
            "debt_lines": point.debt_lines,
        })).collect::<Vec<Value>>(),
        "explained_trend": report.explained_trend.iter().map(|point| json!({
            "week_start_day": point.week_start_day,
            "week_start": date(point.week_start_day),
            "explained_lines": point.explained_lines,
            "unexplained_lines": point.unexplained_lines,
            "shallow_lines": point.shallow_lines,
        })).collect::<Vec<Value>>(),
        "calibration": {
            "sessions": calibration.sessions.iter().map(|session| json!({
                "started_ms": session.started_ms,
                "started_day": day_of(session.started_ms),
                "started_date": date_of_ms(session.started_ms),
                "label": session.label,
                "active_minutes": session.active_minutes,
                "typed_lines": session.typed_lines,
                "pace": session.pace,
                "breaches": session.breaches,
                "feel": session.feel,
                "running": session.running,
            })).collect::<Vec<Value>>(),
            "no_ai_pace": calibration.no_ai_pace,
            "assisted_pace": calibration.assisted_pace,
            "kept_share": calibration.kept_share,
            "breaches": calibration.breaches,
        },
        "pace_trend": report.pace_trend.iter().map(|point| json!({
            "week_start_day": point.week_start_day,
            "week_start": date(point.week_start_day),
            "no_ai_pace": point.no_ai_pace,
            "assisted_pace": point.assisted_pace,
        })).collect::<Vec<Value>>(),
        "questions": report.questions.iter().map(|answer| json!({
            "question": answer.question,
            "answer": answer.answer,
            "detail": answer.detail,
        })).collect::<Vec<Value>>(),
        "practice_due": report.practice_due.iter().map(|item| json!({
            "workspace": item.workspace,
            "path": item.path,
            "chunk": item.chunk,
            "items": item.items,
            "lines": item.lines,
            "due_ms": item.due_ms,
            "due_day": day_of(item.due_ms),
            "due_date": date_of_ms(item.due_ms),
            "step": item.step,
        })).collect::<Vec<Value>>(),
        "agents": report.agents.iter().map(|agent| json!({
            "agent": agent.agent,
            "model": agent.model,
            "chunks": agent.chunks,
            "lines": agent.lines,
            "explained_lines": agent.explained_lines,
        })).collect::<Vec<Value>>(),
    })
}

/// "claude-code" or "claude-code (model)": who declared lines, in every format.
pub(crate) fn agent_name(agent: &crate::core::report::AgentLines) -> String {
    match &agent.model {
        Some(model) => format!("{} ({model})", agent.agent),
        None => agent.agent.clone(),
    }
}

/// The report as markdown: the same sections as the HTML, tables instead of charts, and one line
/// summing up each chart.
pub fn markdown(report: &Report) -> String {
    markdown::render(report)
}

/// The report as one self-contained HTML page: inline CSS and SVG, no script, no network.
pub fn html(report: &Report) -> String {
    html::render(report)
}

/// How every sentence about missing data starts, in every format.
pub(crate) const NOT_ENOUGH_DATA: &str = "Not enough data yet";

const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// "October", for a month from 1 to 12.
pub(crate) fn month_name(month: u32) -> &'static str {
    MONTH_NAMES[(month.clamp(1, 12) - 1) as usize]
}

/// "Oct", for a month from 1 to 12.
pub(crate) fn short_month_name(month: u32) -> &'static str {
    let name = month_name(month);
    name.get(..3).unwrap_or(name)
}

/// A count with thousands separators: `12,345`.
pub fn count(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A number of lines that may be fractional (debt counts repeatable lines as halves): `12` or
/// `12.5`, with thousands separators.
pub fn lines_amount(value: f64) -> String {
    let value = value.max(0.0);
    let whole = value.trunc();
    let tenths = ((value - whole) * 10.0).round();
    if tenths == 0.0 || tenths == 10.0 {
        count(value.round() as u64)
    } else {
        format!("{}.{}", count(whole as u64), tenths as u64)
    }
}

/// A share as a whole percentage: `42%`, `<1%` for a sliver that is not nothing, `—` when the
/// whole is zero (a share of nothing is not 0%).
pub fn percent(part: f64, whole: f64) -> String {
    if whole <= 0.0 || !whole.is_finite() || !part.is_finite() {
        return "—".to_string();
    }
    let share = part / whole * 100.0;
    if share > 0.0 && share < 0.5 {
        "<1%".to_string()
    } else {
        format!("{share:.0}%")
    }
}

/// Lines per active hour, or a dash when there is no pace.
pub fn pace(lines_per_hour: Option<f64>) -> String {
    match lines_per_hour {
        Some(value) => format!("{value:.0} lines/h"),
        None => "—".to_string(),
    }
}

fn lines_by_origin(lines: &ByOrigin<u64>) -> Value {
    let mut object = Map::new();
    for origin in Origin::ALL {
        object.insert(origin.as_str().to_string(), json!(lines[origin]));
    }
    Value::Object(object)
}

fn class_counts(counts: &ClassCounts) -> Value {
    json!({
        "transient": counts.transient,
        "repeatable": counts.repeatable,
        "core": counts.core,
        "unclassified": counts.unclassified,
    })
}

/// "2024-09-09 to 2024-10-07 (28 days)".
pub(crate) fn period(report: &Report) -> String {
    let days = day_of(report.generated_ms).saturating_sub(day_of(report.since_ms)) + 1;
    format!(
        "{} to {} ({} {})",
        date_of_ms(report.since_ms),
        date_of_ms(report.generated_ms),
        count(u64::from(days)),
        if days == 1 { "day" } else { "days" }
    )
}

/// The calibration verdict as a headline and its detail. Without both paces there is no
/// headline, and the detail says plainly what is missing.
pub(crate) fn kept_share(calibration: &Calibration) -> (Option<String>, String) {
    let sessions = calibration.sessions.len();
    match (
        calibration.kept_share,
        calibration.no_ai_pace,
        calibration.assisted_pace,
    ) {
        (Some(share), Some(no_ai), Some(assisted)) => (
            Some(format!(
                "Without AI you keep {:.0}% of your pace.",
                share * 100.0
            )),
            format!(
                "{no_ai:.0} typed lines per active hour in {} calibration {}, against {assisted:.0} lines per active hour with AI.",
                count(sessions as u64),
                if sessions == 1 { "session" } else { "sessions" }
            ),
        ),
        (_, None, _) => (
            None,
            format!(
                "{NOT_ENOUGH_DATA}: hold a calibration session of at least five active minutes to learn your pace without AI."
            ),
        ),
        _ => (
            None,
            format!(
                "{NOT_ENOUGH_DATA}: no assisted editing time outside calibration sessions in this period."
            ),
        ),
    }
}

/// One line summing up the weekly output chart.
pub(crate) fn output_summary(report: &Report) -> String {
    let mut totals = ByOrigin::<u64>::default();
    for week in &report.weeks {
        totals += week.lines;
    }
    let total = totals.total();
    if total == 0 {
        return format!("{NOT_ENOUGH_DATA}: no lines were inserted in this period.");
    }
    let shares: Vec<String> = Origin::ALL
        .into_iter()
        .filter(|&origin| totals[origin] > 0)
        .map(|origin| {
            format!(
                "{} {}",
                origin.as_str(),
                percent(totals[origin] as f64, total as f64)
            )
        })
        .collect();
    let weeks = report.weeks.len();
    let mut summary = format!(
        "{} lines inserted over {} {}: {}.",
        count(total),
        count(weeks as u64),
        if weeks == 1 { "week" } else { "weeks" },
        shares.join(", ")
    );
    let busiest = report
        .weeks
        .iter()
        .map(|week| (week.lines.total(), week.week_start_day))
        // The earliest of equal weeks, so the sentence does not depend on the sort's whims.
        .max_by_key(|&(lines, day)| (lines, std::cmp::Reverse(day)));
    if let Some((lines, day)) = busiest
        && weeks > 1
    {
        summary.push_str(&format!(
            " The busiest week, of {}, had {}.",
            date(day),
            count(lines)
        ));
    }
    summary
}

/// One line summing up the explained-versus-unexplained chart.
pub(crate) fn explained_summary(report: &Report) -> String {
    let explained: u64 = report
        .explained_trend
        .iter()
        .map(|point| point.explained_lines)
        .sum();
    let unexplained: u64 = report
        .explained_trend
        .iter()
        .map(|point| point.unexplained_lines)
        .sum();
    let total = explained + unexplained;
    if total == 0 {
        return format!(
            "{NOT_ENOUGH_DATA}: no pasted or generated chunks were made in this period."
        );
    }
    let shallow: u64 = report
        .explained_trend
        .iter()
        .map(|point| point.shallow_lines)
        .sum();
    let mut summary = format!(
        "Of {} lines in chunks made in this period, {} ({}) are explained and {} are not",
        count(total),
        count(explained),
        percent(explained as f64, total as f64),
        count(unexplained)
    );
    if shallow > 0 {
        summary.push_str(&format!(
            " ({} of them explained only shallowly, which does not count)",
            count(shallow)
        ));
    }
    summary.push('.');
    summary
}

/// One line summing up the pace chart, one clause per line on it.
pub(crate) fn pace_summary(report: &Report) -> String {
    let weeks = report.pace_trend.len();
    let describe = |name: &str, values: Vec<(u32, f64)>, missing: &str| match values.last() {
        Some(&(day, latest)) => format!(
            "{name} measured in {} of {} {}, latest {} (week of {})",
            count(values.len() as u64),
            count(weeks as u64),
            if weeks == 1 { "week" } else { "weeks" },
            pace(Some(latest)),
            date(day)
        ),
        None => format!("{name}: {} — {missing}", NOT_ENOUGH_DATA.to_lowercase()),
    };
    let no_ai = describe(
        "No-AI pace",
        report
            .pace_trend
            .iter()
            .filter_map(|point| point.no_ai_pace.map(|value| (point.week_start_day, value)))
            .collect(),
        "no calibration session with five active minutes",
    );
    let assisted = describe(
        "assisted pace",
        report
            .pace_trend
            .iter()
            .filter_map(|point| {
                point
                    .assisted_pace
                    .map(|value| (point.week_start_day, value))
            })
            .collect(),
        "no editing time outside calibration sessions",
    );
    format!("{no_ai}; {assisted}.")
}

/// One line on the capability debt now and how it moved over the period.
pub(crate) fn debt_summary(report: &Report) -> String {
    let now = report.debt_lines;
    let mut summary = if now > 0.0 {
        format!("Capability debt is {} lines", lines_amount(now))
    } else {
        "No capability debt".to_string()
    };
    if let Some(first) = report.debt_trend.first()
        && report.debt_trend.len() > 1
    {
        let change = now - first.debt_lines;
        let since = date(first.week_start_day);
        if change.abs() < 0.05 {
            summary.push_str(&format!(", unchanged since the week of {since}"));
        } else {
            summary.push_str(&format!(
                ", {} from {} in the week of {since}",
                if change > 0.0 { "up" } else { "down" },
                lines_amount(first.debt_lines)
            ));
        }
    }
    summary.push('.');
    summary
}

/// What capability debt is, for readers of either format.
pub(crate) const DEBT_MEANING: &str = "Capability debt counts the lines of core chunks you have not explained (a shallow explanation counts as none), plus half the lines of repeatable chunks you have not yet reproduced from memory (or whose next reproduction is overdue).";

/// "3 days ago", "today": how late a practice item is at the time of the report.
pub(crate) fn overdue(due_ms: u64, now_ms: u64) -> String {
    let days = day_of(now_ms).saturating_sub(day_of(due_ms));
    match days {
        0 => "due today".to_string(),
        1 => "1 day overdue".to_string(),
        _ => format!("{} days overdue", count(u64::from(days))),
    }
}
