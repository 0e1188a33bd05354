//! The report as one self-contained HTML page: inline CSS, inline SVG charts, no script, no
//! fonts, images or anything else fetched (a Content-Security-Policy forbids it), so the file can
//! be mailed, archived or opened offline and reads the same with JavaScript off.
//!
//! Sections, in order: header, the four questions, calibration, output chart, explained chart,
//! pace chart, capability debt, ownership tables, practice due. Over more than 26 weeks the bar
//! charts sum weeks into months (a week counts in the month of its Monday) so that two years stay
//! readable; the line charts keep one point per week and label the months.

use super::svg::{self, Chart, Series, Slot};
use super::{
    CLASS_HEADERS, DEBT_MEANING, NOT_ENOUGH_DATA, class_columns, count, debt_summary, escape,
    explained_summary, kept_share, lines_amount, month_name, origin_shares, output_summary,
    overdue, pace, pace_summary, percent, period, short_month_name,
};
use crate::core::by_origin::ByOrigin;
use crate::core::date::{civil_date, date, date_of_ms, date_time_of_ms};
use crate::core::line_map::Origin;
use crate::core::report::{Report, SessionSummary, feel_word};

/// More weeks than this and the bar charts show months.
const MAX_WEEKLY_BARS: usize = 26;
/// About this many labels on an x axis, whatever the period.
const WEEK_LABELS: usize = 9;
const MONTH_LABELS: usize = 12;
/// Sessions shown before the rest fold away under a `<details>`.
const RECENT_SESSIONS: usize = 12;

/// The colour of an origin: the Okabe–Ito palette, told apart with colour blindness and dark
/// enough to print.
fn origin_colour(origin: Origin) -> &'static str {
    match origin {
        Origin::Typed => "#0072B2",
        Origin::Pasted => "#E69F00",
        Origin::Generated => "#CC79A7",
        Origin::Moved => "#009E73",
        Origin::External => "#D55E00",
        Origin::Restored => "#7F7F7F",
    }
}

const EXPLAINED_COLOUR: &str = "#009E73";
const UNEXPLAINED_COLOUR: &str = "#D55E00";
const NO_AI_COLOUR: &str = "#0072B2";
const ASSISTED_COLOUR: &str = "#E69F00";
const DEBT_COLOUR: &str = "#D55E00";

const STYLE: &str = "
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #fff; color: #1b1b1b;
  font: 15px/1.5 system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif; }
main { max-width: 1000px; margin: 0 auto; padding: 24px 20px 48px; }
header { border-bottom: 3px solid #1b1b1b; padding-bottom: 8px; }
h1 { font-size: 1.8rem; margin: 0; }
h2 { font-size: 1.3rem; margin: 36px 0 8px; padding-bottom: 4px; border-bottom: 1px solid #c8c8c8; }
h3 { font-size: 1.05rem; margin: 20px 0 6px; overflow-wrap: break-word; }
p { margin: 6px 0; }
.muted, figcaption { color: #4a4a4a; }
.headline { font-size: 1.4rem; font-weight: 700; margin: 8px 0 2px; }
.no-data { color: #4a4a4a; font-style: italic; }
ol.questions { padding-left: 1.4em; }
ol.questions li { margin-bottom: 14px; }
.question { font-weight: 600; margin: 0; }
.answer { margin: 2px 0 0; }
.detail { margin: 0; color: #4a4a4a; font-size: 0.92rem; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 0.88rem; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #e1e1e1; vertical-align: top; }
th { background: #f3f3f3; font-weight: 600; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.path { overflow-wrap: break-word; min-width: 10em; }
td.shares { min-width: 14em; }
svg.share-bar { display: block; width: 100%; max-width: 16em; height: 8px; margin: 5px 0 2px; }
.share-words { font-size: 0.82rem; color: #4a4a4a; }
figure.chart { margin: 14px 0 6px; }
figure.chart svg { display: block; width: 100%; height: auto; }
figure.chart svg text { fill: #2b2b2b; font-family: inherit; }
figure.chart svg text.no-data, figure.chart svg text.note { fill: #4a4a4a; font-style: italic; }
figcaption { font-size: 0.9rem; }
details summary { cursor: pointer; color: #1f4e8c; margin: 6px 0; }
footer { margin-top: 40px; font-size: 0.85rem; color: #4a4a4a; }
@media print {
  body { font-size: 10.5pt; }
  main { max-width: none; padding: 0; }
  h2, h3 { break-after: avoid; }
  figure, tr { break-inside: avoid; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
";

pub(super) fn render(report: &Report) -> String {
    let mut page = String::with_capacity(64 * 1024);
    page.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    // Nothing may be fetched: styles are inline, charts are inline SVG, and the empty icon keeps
    // the browser from asking for /favicon.ico.
    page.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n");
    page.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    page.push_str("<link rel=\"icon\" href=\"data:,\">\n");
    page.push_str(&format!(
        "<title>Whetstone report · {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n",
        escape(&date_of_ms(report.generated_ms))
    ));
    header(&mut page, report);
    questions(&mut page, report);
    calibration(&mut page, report);
    output_chart(&mut page, report);
    explained_chart(&mut page, report);
    pace_chart(&mut page, report);
    debt(&mut page, report);
    ownership(&mut page, report);
    practice(&mut page, report);
    detection(&mut page, report);
    page.push_str("<footer>Whetstone keeps this data on your machine; this page fetches nothing and runs no script.</footer>\n");
    page.push_str("</main>\n</body>\n</html>\n");
    page
}

fn header(page: &mut String, report: &Report) {
    page.push_str(&format!(
        "<header id=\"header\"><h1>Whetstone report</h1><p class=\"period\">{}</p><p class=\"muted\">Generated {}</p></header>\n",
        escape(&period(report)),
        escape(&date_time_of_ms(report.generated_ms))
    ));
}

fn questions(page: &mut String, report: &Report) {
    page.push_str("<section id=\"questions\"><h2>Four questions</h2><ol class=\"questions\">");
    for answer in &report.questions {
        page.push_str(&format!(
            "<li><p class=\"question\">{}</p>",
            escape(answer.question)
        ));
        match &answer.answer {
            Some(text) => page.push_str(&format!(
                "<p class=\"answer\">{}</p><p class=\"detail\">{}</p>",
                escape(text),
                escape(&answer.detail)
            )),
            // The detail already says plainly what is missing; it is the answer for now.
            None => page.push_str(&format!(
                "<p class=\"answer no-data\">{}</p>",
                escape(&answer.detail)
            )),
        }
        page.push_str("</li>");
    }
    page.push_str("</ol></section>\n");
}

fn calibration(page: &mut String, report: &Report) {
    let calibration = &report.calibration;
    page.push_str("<section id=\"calibration\"><h2>Calibration: your pace without AI</h2>");
    let (headline, detail) = kept_share(calibration);
    match headline {
        Some(headline) => page.push_str(&format!(
            "<p class=\"headline\" id=\"kept-share\">{}</p><p>{}</p>",
            escape(&headline),
            escape(&detail)
        )),
        None => page.push_str(&format!(
            "<p class=\"no-data\" id=\"kept-share\">{}</p>",
            escape(&detail)
        )),
    }
    let sessions = calibration.sessions.len() as u64;
    // Without sessions the sentence above already says what is missing.
    if sessions == 0 {
        page.push_str("</section>\n");
        return;
    }
    page.push_str(&format!(
        "<p class=\"muted\">{} {}, {} {} (a paste or generated code during a session). Newest first.</p>",
        count(sessions),
        if sessions == 1 { "session" } else { "sessions" },
        count(calibration.breaches),
        if calibration.breaches == 1 { "breach" } else { "breaches" },
    ));
    let newest_first: Vec<&SessionSummary> = calibration.sessions.iter().rev().collect();
    let (recent, older) = newest_first.split_at(newest_first.len().min(RECENT_SESSIONS));
    sessions_table(page, recent);
    if !older.is_empty() {
        page.push_str(&format!(
            "<details><summary>{} earlier {}</summary>",
            count(older.len() as u64),
            if older.len() == 1 {
                "session"
            } else {
                "sessions"
            }
        ));
        sessions_table(page, older);
        page.push_str("</details>");
    }
    page.push_str("</section>\n");
}

fn sessions_table(page: &mut String, sessions: &[&SessionSummary]) {
    page.push_str("<div class=\"table-wrap\"><table class=\"sessions\"><thead><tr><th>Date</th><th>Label</th><th class=\"num\">Active minutes</th><th class=\"num\">Typed lines</th><th class=\"num\">Pace</th><th class=\"num\">Breaches</th><th>Feel</th></tr></thead><tbody>");
    for session in sessions {
        let mut when = date_of_ms(session.started_ms);
        if session.running {
            when.push_str(" (running)");
        }
        page.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            escape(&when),
            escape(session.label.as_deref().unwrap_or("—")),
            count(session.active_minutes),
            count(session.typed_lines),
            escape(&pace(session.pace)),
            count(session.breaches),
            escape(
                &session
                    .feel
                    .map(|feel| format!("{feel} · {}", feel_word(feel)))
                    .unwrap_or_else(|| "—".to_string())
            ),
        ));
    }
    page.push_str("</tbody></table></div>");
}

fn output_chart(page: &mut String, report: &Report) {
    let weeks: Vec<(u32, Vec<f64>)> = report
        .weeks
        .iter()
        .map(|week| {
            (
                week.week_start_day,
                week.lines.values().map(|&lines| lines as f64).collect(),
            )
        })
        .collect();
    let series: Vec<Series> = Origin::ALL
        .into_iter()
        .map(|origin| Series {
            id: origin.as_str(),
            name: origin.as_str(),
            colour: origin_colour(origin),
            dashed: false,
            missing: "",
        })
        .collect();
    let (slots, by_month) = bar_slots(&weeks);
    let description = output_summary(report);
    let svg = svg::stacked_bars(&Chart {
        id: "chart-output",
        title: if by_month {
            "Lines inserted per month, by origin"
        } else {
            "Lines inserted per week, by origin"
        },
        description: &description,
        unit: "lines",
        series: &series,
        slots: &slots,
        empty_message: &format!("{NOT_ENOUGH_DATA}: no lines were inserted in this period."),
    });
    page.push_str(&format!(
        "<section id=\"output\"><h2>Output</h2><p class=\"muted\">Lines inserted per {}, stacked by how they arrived.</p>",
        if by_month { "month" } else { "week" }
    ));
    figure(page, "chart-output", &svg, &description);
    page.push_str("</section>\n");
}

fn explained_chart(page: &mut String, report: &Report) {
    let weeks: Vec<(u32, Vec<f64>)> = report
        .explained_trend
        .iter()
        .map(|point| {
            (
                point.week_start_day,
                vec![point.explained_lines as f64, point.unexplained_lines as f64],
            )
        })
        .collect();
    let series = [
        Series {
            id: "explained",
            name: "explained",
            colour: EXPLAINED_COLOUR,
            dashed: false,
            missing: "",
        },
        Series {
            id: "unexplained",
            name: "not explained",
            colour: UNEXPLAINED_COLOUR,
            dashed: false,
            missing: "",
        },
    ];
    let (slots, by_month) = bar_slots(&weeks);
    let description = explained_summary(report);
    let svg = svg::stacked_bars(&Chart {
        id: "chart-explained",
        title: "Lines of pasted and generated chunks, explained or not, by when they were made",
        description: &description,
        unit: "lines",
        series: &series,
        slots: &slots,
        empty_message: &format!("{NOT_ENOUGH_DATA}: no pasted or generated chunks in this period."),
    });
    page.push_str(&format!(
        "<section id=\"explained\"><h2>Explained and unexplained</h2><p class=\"muted\">Lines of the chunks made each {}, split by whether you have explained them by now.</p>",
        if by_month { "month" } else { "week" }
    ));
    figure(page, "chart-explained", &svg, &description);
    page.push_str("</section>\n");
}

fn pace_chart(page: &mut String, report: &Report) {
    let weeks: Vec<(u32, Vec<Option<f64>>)> = report
        .pace_trend
        .iter()
        .map(|point| {
            (
                point.week_start_day,
                vec![point.no_ai_pace, point.assisted_pace],
            )
        })
        .collect();
    let no_ai_missing = format!(
        "{} — hold a calibration session of five active minutes or more.",
        NOT_ENOUGH_DATA.to_lowercase()
    );
    let assisted_missing = format!(
        "{} — no editing time outside calibration sessions.",
        NOT_ENOUGH_DATA.to_lowercase()
    );
    let series = [
        Series {
            id: "pace-no-ai",
            name: "no-AI pace",
            colour: NO_AI_COLOUR,
            dashed: false,
            missing: &no_ai_missing,
        },
        Series {
            id: "pace-assisted",
            name: "assisted pace",
            colour: ASSISTED_COLOUR,
            dashed: true,
            missing: &assisted_missing,
        },
    ];
    let slots = line_slots(&weeks);
    let description = pace_summary(report);
    let svg = svg::lines(&Chart {
        id: "chart-pace",
        title: "Lines per active hour: without AI (calibration sessions) and with it",
        description: &description,
        unit: "lines/h",
        series: &series,
        slots: &slots,
        empty_message: &format!(
            "{NOT_ENOUGH_DATA}: no calibration session and no assisted editing time."
        ),
    });
    page.push_str("<section id=\"pace\"><h2>Pace over time</h2><p class=\"muted\">Typed lines per active hour in calibration sessions against all inserted lines per active hour outside them, week by week; a gap is a week without enough active time.</p>");
    figure(page, "chart-pace", &svg, &description);
    page.push_str("</section>\n");
}

fn debt(page: &mut String, report: &Report) {
    page.push_str("<section id=\"debt\"><h2>Capability debt</h2>");
    page.push_str(&format!(
        "<p class=\"headline\" id=\"debt-total\">{} {}</p><p class=\"muted\">{}</p>",
        escape(&lines_amount(report.debt_lines)),
        if report.debt_lines == 1.0 {
            "line"
        } else {
            "lines"
        },
        escape(DEBT_MEANING)
    ));
    if report.workspaces.len() > 1 || report.debt_lines > 0.0 {
        page.push_str("<div class=\"table-wrap\"><table class=\"debt\"><thead><tr><th>Workspace</th><th class=\"num\">Debt (lines)</th><th class=\"num\">Share</th></tr></thead><tbody>");
        for workspace in &report.workspaces {
            page.push_str(&format!(
                "<tr><td class=\"path\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                path(&workspace.workspace),
                escape(&lines_amount(workspace.debt_lines)),
                escape(&percent(workspace.debt_lines, report.debt_lines))
            ));
        }
        page.push_str("</tbody></table></div>");
    }
    let weeks: Vec<(u32, Vec<Option<f64>>)> = report
        .debt_trend
        .iter()
        .map(|point| (point.week_start_day, vec![Some(point.debt_lines)]))
        .collect();
    let series = [Series {
        id: "debt",
        name: "capability debt",
        colour: DEBT_COLOUR,
        dashed: false,
        missing: "",
    }];
    let slots = line_slots(&weeks);
    let description = debt_summary(report);
    let svg = svg::lines(&Chart {
        id: "chart-debt",
        title: "Capability debt at the end of each week",
        description: &description,
        unit: "lines",
        series: &series,
        slots: &slots,
        empty_message: &format!("{NOT_ENOUGH_DATA}: the period has no weeks."),
    });
    figure(page, "chart-debt", &svg, &description);
    page.push_str("</section>\n");
}

fn ownership(page: &mut String, report: &Report) {
    page.push_str("<section id=\"ownership\"><h2>Ownership</h2><p class=\"muted\">Lines in the files now, by how they arrived; chunks by class; explained share of the chunks' lines; debt.</p>");
    if report.workspaces.is_empty() {
        page.push_str(&format!(
            "<p class=\"no-data\">{NOT_ENOUGH_DATA}: no files have been tracked.</p></section>\n"
        ));
        return;
    }
    page.push_str("<div class=\"table-wrap\"><table class=\"workspaces\"><thead>");
    ownership_header(page, "Workspace", true);
    page.push_str("</thead><tbody>");
    for workspace in &report.workspaces {
        let flagged = workspace.explained_lines + workspace.unexplained_lines;
        ownership_row(
            page,
            &workspace.workspace,
            &workspace.lines,
            class_columns(&workspace.chunks),
            Some(percent(workspace.explained_lines as f64, flagged as f64)),
            workspace.debt_lines,
        );
    }
    page.push_str("</tbody></table></div>");
    if !report.agents.is_empty() {
        page.push_str("<h3>Declared by agents</h3><p class=\"muted\">Lines in the files now that a coding agent said it wrote.</p><div class=\"table-wrap\"><table class=\"agents\"><thead><tr><th>Agent</th><th class=\"num\">Chunks</th><th class=\"num\">Lines</th><th class=\"num\">Explained</th></tr></thead><tbody>");
        for agent in &report.agents {
            page.push_str(&format!(
                "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                escape(&super::agent_name(agent)),
                agent.chunks,
                agent.lines,
                percent(agent.explained_lines as f64, agent.lines as f64)
            ));
        }
        page.push_str("</tbody></table></div>");
    }
    for workspace in &report.workspaces {
        page.push_str(&format!("<h3>{}</h3>", path(&workspace.workspace)));
        page.push_str("<div class=\"table-wrap\"><table class=\"files\"><thead>");
        ownership_header(page, "File", false);
        page.push_str("</thead><tbody>");
        for file in &workspace.files {
            ownership_row(
                page,
                &file.path,
                &file.lines,
                class_columns(&file.chunks),
                None,
                file.debt_lines,
            );
        }
        page.push_str("</tbody></table></div>");
    }
    page.push_str("</section>\n");
}

fn ownership_header(page: &mut String, first: &str, with_explained: bool) {
    page.push_str(&format!(
        "<tr><th>{first}</th><th class=\"num\">Lines</th><th class=\"shares\">Share by origin</th><th>Chunks by class</th>{}<th class=\"num\">Debt</th></tr>",
        if with_explained {
            "<th class=\"num\">Explained</th>"
        } else {
            ""
        }
    ));
}

/// One row: the share by origin as a small bar and its percentages in words (the bar is for the
/// eye, the words for reading and printing), and the chunks by class, both naming only what is
/// there so fourteen columns of mostly zeros do not crowd out the file names.
fn ownership_row(
    page: &mut String,
    name: &str,
    lines: &ByOrigin<u64>,
    classes: [u64; 4],
    explained: Option<String>,
    debt_lines: f64,
) {
    let shares = origin_shares(lines);
    let named_shares: Vec<String> = Origin::ALL
        .into_iter()
        .filter(|&origin| lines[origin] > 0)
        .map(|origin| format!("{} {}", origin.as_str(), shares[origin]))
        .collect();
    let named_classes: Vec<String> = CLASS_HEADERS
        .iter()
        .zip(classes)
        .filter(|(_, chunks)| *chunks > 0)
        .map(|(class, chunks)| format!("{} {class}", count(chunks)))
        .collect();
    page.push_str(&format!(
        "<tr><td class=\"path\">{}</td><td class=\"num\">{}</td><td class=\"shares\">{}<span class=\"share-words\">{}</span></td><td>{}</td>",
        path(name),
        count(lines.total()),
        share_bar(lines),
        escape(&or_dash(named_shares.join(" · "))),
        escape(&or_dash(named_classes.join(" · "))),
    ));
    if let Some(explained) = explained {
        page.push_str(&format!("<td class=\"num\">{}</td>", escape(&explained)));
    }
    page.push_str(&format!(
        "<td class=\"num\">{}</td></tr>",
        escape(&lines_amount(debt_lines))
    ));
}

/// A 100-unit bar split by origin, each part with its share as a tooltip.
fn share_bar(lines: &ByOrigin<u64>) -> String {
    let total = lines.total();
    if total == 0 {
        return String::new();
    }
    let mut bar = String::from(
        "<svg class=\"share-bar\" viewBox=\"0 0 100 8\" preserveAspectRatio=\"none\" aria-hidden=\"true\">",
    );
    let mut x = 0.0;
    for origin in Origin::ALL {
        let value = lines[origin];
        if value == 0 {
            continue;
        }
        let width = value as f64 * 100.0 / total as f64;
        bar.push_str(&format!(
            "<rect x=\"{x:.2}\" y=\"0\" width=\"{width:.2}\" height=\"8\" fill=\"{}\"><title>{} {}</title></rect>",
            origin_colour(origin),
            origin.as_str(),
            escape(&percent(value as f64, total as f64))
        ));
        x += width;
    }
    bar.push_str("</svg>");
    bar
}

/// A path, escaped, that may wrap after each `/` rather than in the middle of a name.
fn path(text: &str) -> String {
    escape(text).replace('/', "/<wbr>")
}

fn or_dash(text: String) -> String {
    if text.is_empty() {
        "—".to_string()
    } else {
        text
    }
}

fn detection(page: &mut String, report: &Report) {
    let detection = &report.detection;
    page.push_str("<section id=\"detection\"><h2>Detection as you judged it</h2><p class=\"muted\">Every class you gave a flagged chunk says it was not yours; every “Not AI” says it was.</p>");
    page.push_str(&format!(
        "<p>{}</p>",
        escape(&crate::core::judged::sentence(detection))
    ));
    if !detection.by_origin.is_empty() {
        page.push_str("<div class=\"table-wrap\"><table class=\"detection\"><thead><tr><th>Flagged as</th><th class=\"num\">Chunks</th><th class=\"num\">Classified</th><th class=\"num\">Not AI</th><th class=\"num\">Unanswered</th><th class=\"num\">Right</th></tr></thead><tbody>");
        for (origin, answers) in &detection.by_origin {
            page.push_str(&format!(
                "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                escape(origin.as_str()),
                answers.flagged,
                answers.classified,
                answers.dismissed,
                answers.unjudged,
                escape(
                    &answers
                        .precision()
                        .map_or("—".to_string(), |share| format!("{:.0}%", share * 100.0))
                ),
            ));
        }
        page.push_str("</tbody></table></div>");
    }
    page.push_str("</section>\n");
}

fn practice(page: &mut String, report: &Report) {
    page.push_str("<section id=\"practice\"><h2>Practice due</h2><p class=\"muted\">Repeatable chunks to reproduce from memory — a day, a week and a month after you classified them. Write it again without looking, then compare.</p>");
    if report.practice_due.is_empty() {
        page.push_str("<p class=\"no-data\">Nothing is due: no repeatable chunk is waiting to be reproduced.</p></section>\n");
        return;
    }
    page.push_str("<div class=\"table-wrap\"><table class=\"practice\"><thead><tr><th>Due</th><th>File</th><th class=\"num\">Chunk</th><th>Items</th><th class=\"num\">Lines</th><th>Reproduction</th></tr></thead><tbody>");
    for item in &report.practice_due {
        let items = if item.items.is_empty() {
            "—".to_string()
        } else {
            item.items.join(", ")
        };
        page.push_str(&format!(
            "<tr><td>{} <span class=\"muted\">({})</span></td><td class=\"path\">{}<br><span class=\"muted\">{}</span></td><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            escape(&date_of_ms(item.due_ms)),
            escape(&overdue(item.due_ms, report.generated_ms)),
            path(&item.path),
            path(&item.workspace),
            item.chunk,
            escape(&items),
            count(item.lines),
            escape(&format!("{} after classifying", item.step)),
        ));
    }
    page.push_str("</tbody></table></div></section>\n");
}

fn figure(page: &mut String, id: &str, svg: &str, caption: &str) {
    page.push_str(&format!(
        "<figure class=\"chart\" id=\"{}\">{svg}<figcaption>{}</figcaption></figure>",
        escape(id),
        escape(caption)
    ));
}

/// Slots for a bar chart: one per week, or one per month (summed) over more than 26 weeks.
/// Returns whether it went by month.
fn bar_slots(weeks: &[(u32, Vec<f64>)]) -> (Vec<Slot>, bool) {
    if weeks.len() <= MAX_WEEKLY_BARS {
        let slots = weeks
            .iter()
            .map(|(day, values)| Slot {
                tick: None,
                name: format!("week of {}", date(*day)),
                values: values.iter().copied().map(Some).collect(),
            })
            .collect();
        let ticks = week_ticks(weeks.iter().map(|(day, _)| *day));
        return (with_ticks(slots, ticks), false);
    }
    let mut months: Vec<((u32, u32), Vec<f64>)> = Vec::new();
    for (day, values) in weeks {
        let (year, month, _) = civil_date(*day);
        match months.last_mut() {
            Some((key, totals)) if *key == (year, month) => {
                for (total, value) in totals.iter_mut().zip(values) {
                    *total += value;
                }
            }
            _ => months.push(((year, month), values.clone())),
        }
    }
    let every = months.len().div_ceil(MONTH_LABELS).max(1);
    let mut last_labelled_year = None;
    let slots = months
        .into_iter()
        .enumerate()
        .map(|(index, ((year, month), values))| {
            let tick =
                (index % every == 0).then(|| month_tick(year, month, &mut last_labelled_year));
            Slot {
                tick,
                name: format!("{} {year}", month_name(month)),
                values: values.into_iter().map(Some).collect(),
            }
        })
        .collect();
    (slots, true)
}

/// Slots for a line chart: always one per week. Over more than 26 weeks the labels go on the
/// first week of (every few) months.
fn line_slots(weeks: &[(u32, Vec<Option<f64>>)]) -> Vec<Slot> {
    let slots: Vec<Slot> = weeks
        .iter()
        .map(|(day, values)| Slot {
            tick: None,
            name: format!("week of {}", date(*day)),
            values: values.clone(),
        })
        .collect();
    if weeks.len() <= MAX_WEEKLY_BARS {
        let ticks = week_ticks(weeks.iter().map(|(day, _)| *day));
        return with_ticks(slots, ticks);
    }
    let month_starts: Vec<(usize, u32, u32)> = weeks
        .iter()
        .enumerate()
        .filter_map(|(index, (day, _))| {
            let (year, month, _) = civil_date(*day);
            let previous = index
                .checked_sub(1)
                .and_then(|previous| weeks.get(previous))
                .map(|(day, _)| civil_date(*day));
            match previous {
                Some((previous_year, previous_month, _))
                    if (previous_year, previous_month) == (year, month) =>
                {
                    None
                }
                _ => Some((index, year, month)),
            }
        })
        .collect();
    let every = month_starts.len().div_ceil(MONTH_LABELS).max(1);
    let mut last_labelled_year = None;
    let mut ticks = vec![None; weeks.len()];
    for (nth, (index, year, month)) in month_starts.into_iter().enumerate() {
        if nth % every == 0 {
            ticks[index] = Some(month_tick(year, month, &mut last_labelled_year));
        }
    }
    with_ticks(slots, ticks)
}

/// "6 Oct" on about nine of the weeks, always the first; the year joins the first label and
/// any label in a new year.
fn week_ticks(days: impl Iterator<Item = u32>) -> Vec<Option<String>> {
    let days: Vec<u32> = days.collect();
    let every = days.len().div_ceil(WEEK_LABELS).max(1);
    let mut last_labelled_year = None;
    days.iter()
        .enumerate()
        .map(|(index, &day)| {
            (index % every == 0).then(|| {
                let (year, month, day_of_month) = civil_date(day);
                let label = format!("{day_of_month} {}", short_month_name(month));
                if last_labelled_year == Some(year) {
                    label
                } else {
                    last_labelled_year = Some(year);
                    format!("{label} {year}")
                }
            })
        })
        .collect()
}

/// "Oct", or "Oct 2025" for the first label and the first one of a new year.
fn month_tick(year: u32, month: u32, last_labelled_year: &mut Option<u32>) -> String {
    if *last_labelled_year == Some(year) {
        short_month_name(month).to_string()
    } else {
        *last_labelled_year = Some(year);
        format!("{} {year}", short_month_name(month))
    }
}

fn with_ticks(mut slots: Vec<Slot>, ticks: Vec<Option<String>>) -> Vec<Slot> {
    for (slot, tick) in slots.iter_mut().zip(ticks) {
        slot.tick = tick;
    }
    slots
}
