//! The report as one self-contained HTML page: inline CSS, inline SVG charts, no script, no
//! fonts, images or anything else fetched (a Content-Security-Policy forbids it), so the file can
//! be mailed, archived or opened offline and reads the same with JavaScript off.
//!
//! The page is written with maud, which escapes every value spliced into it; the only markup
//! that is not escaped is the constant style sheet. Sections come in the order of
//! [`Section::ALL`], after the header. Over more than 26 weeks the bar charts sum weeks into
//! months (a week counts in the month of its Monday) so that two years stay readable; the line
//! charts keep one point per week and label the months.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::sections::{
    self, CLASS_HEADERS, NO_FILES, NOTHING_DUE, OwnershipRow, Section, SessionRow, origin_shares,
};
use super::svg::{self, Chart, Series, Slot};
use super::{
    DEBT_MEANING, NOT_ENOUGH_DATA, civil_date, count, date, date_of_ms, date_time_of_ms,
    debt_summary, explained_summary, kept_share, lines_amount, month_name, output_summary,
    pace_summary, percent, period, short_month_name,
};
use crate::core::by_origin::ByOrigin;
use crate::core::line_map::Origin;
use crate::core::report::Report;

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
    html! {
        (DOCTYPE) "\n"
        html lang="en" {
            "\n"
            head {
                "\n"
                meta charset="utf-8"; "\n"
                // Nothing may be fetched: styles are inline, charts are inline SVG, and the empty
                // icon keeps the browser from asking for /favicon.ico.
                meta http-equiv="Content-Security-Policy"
                    content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"; "\n"
                meta name="viewport" content="width=device-width, initial-scale=1"; "\n"
                link rel="icon" href="data:,"; "\n"
                title { "Whetstone report · " (date_of_ms(report.generated_ms)) } "\n"
                // Not escaped: a style element's text is not decoded as HTML, so escaping would
                // change the CSS, and this is the constant above with nothing from the report.
                style { (PreEscaped(STYLE)) } "\n"
            } "\n"
            body {
                "\n"
                main {
                    "\n"
                    (header(report))
                    @for section in Section::ALL {
                        (html_section(report, section))
                    }
                    footer {
                        "Whetstone keeps this data on your machine; this page fetches nothing and runs no script."
                    } "\n"
                } "\n"
            } "\n"
        } "\n"
    }
    .into_string()
}

fn header(report: &Report) -> Markup {
    html! {
        header id="header" {
            h1 { "Whetstone report" }
            p class="period" { (period(report)) }
            p class="muted" { "Generated " (date_time_of_ms(report.generated_ms)) }
        } "\n"
    }
}

/// One section: its heading and its body, under the id that links and tests find it by.
fn html_section(report: &Report, section: Section) -> Markup {
    let (id, body) = match section {
        Section::Questions => ("questions", questions(report)),
        Section::Calibration => ("calibration", calibration(report)),
        Section::Output => ("output", output_chart(report)),
        Section::Explained => ("explained", explained_chart(report)),
        Section::Pace => ("pace", pace_chart(report)),
        Section::Debt => ("debt", debt(report)),
        Section::Ownership => ("ownership", ownership(report)),
        Section::Practice => ("practice", practice(report)),
        Section::Detection => ("detection", detection(report)),
    };
    html! {
        section id=(id) {
            h2 { (section.title()) }
            (body)
        } "\n"
    }
}

fn questions(report: &Report) -> Markup {
    html! {
        ol class="questions" {
            @for answer in &report.questions {
                li {
                    p class="question" { (answer.question) }
                    @match &answer.answer {
                        Some(text) => {
                            p class="answer" { (text) }
                            p class="detail" { (answer.detail) }
                        }
                        // The detail already says plainly what is missing; it is the answer for
                        // now.
                        None => {
                            p class="answer no-data" { (answer.detail) }
                        }
                    }
                }
            }
        }
    }
}

fn calibration(report: &Report) -> Markup {
    let calibration = &report.calibration;
    let (headline, detail) = kept_share(calibration);
    let newest_first: Vec<SessionRow> = calibration
        .sessions
        .iter()
        .rev()
        .map(sections::session_row)
        .collect();
    let (recent, older) = newest_first.split_at(newest_first.len().min(RECENT_SESSIONS));
    html! {
        @match headline {
            Some(headline) => {
                p class="headline" id="kept-share" { (headline) }
                p { (detail) }
            }
            None => {
                p class="no-data" id="kept-share" { (detail) }
            }
        }
        // Without sessions the sentence above already says what is missing.
        @if !newest_first.is_empty() {
            p class="muted" {
                (sections::sessions_and_breaches(calibration))
                " (a paste or generated code during a session). Newest first."
            }
            (sessions_table(recent))
            @if !older.is_empty() {
                details {
                    summary {
                        (count(older.len() as u64)) " earlier "
                        (if older.len() == 1 { "session" } else { "sessions" })
                    }
                    (sessions_table(older))
                }
            }
        }
    }
}

fn sessions_table(rows: &[SessionRow]) -> Markup {
    html! {
        div class="table-wrap" {
            table class="sessions" {
                thead {
                    tr {
                        th { "Date" }
                        th { "Label" }
                        th class="num" { "Active minutes" }
                        th class="num" { "Typed lines" }
                        th class="num" { "Pace" }
                        th class="num" { "Breaches" }
                        th { "Feel" }
                    }
                }
                tbody {
                    @for row in rows {
                        tr {
                            td { (row.when) }
                            td { (row.label.unwrap_or("—")) }
                            td class="num" { (row.active_minutes) }
                            td class="num" { (row.typed_lines) }
                            td class="num" { (row.pace) }
                            td class="num" { (row.breaches) }
                            td {
                                @match row.feel {
                                    Some((feel, word)) => { (feel) " · " (word) }
                                    None => { "—" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn output_chart(report: &Report) -> Markup {
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
    let chart = svg::stacked_bars(&Chart {
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
    html! {
        p class="muted" {
            "Lines inserted per " (if by_month { "month" } else { "week" })
            ", stacked by how they arrived."
        }
        (figure("chart-output", chart, &description))
    }
}

fn explained_chart(report: &Report) -> Markup {
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
    let chart = svg::stacked_bars(&Chart {
        id: "chart-explained",
        title: "Lines of pasted and generated chunks, explained or not, by when they were made",
        description: &description,
        unit: "lines",
        series: &series,
        slots: &slots,
        empty_message: &format!("{NOT_ENOUGH_DATA}: no pasted or generated chunks in this period."),
    });
    html! {
        p class="muted" {
            "Lines of the chunks made each " (if by_month { "month" } else { "week" })
            ", split by whether you have explained them by now."
        }
        (figure("chart-explained", chart, &description))
    }
}

fn pace_chart(report: &Report) -> Markup {
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
    let chart = svg::lines(&Chart {
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
    html! {
        p class="muted" {
            "Typed lines per active hour in calibration sessions against all inserted lines per active hour outside them, week by week; a gap is a week without enough active time."
        }
        (figure("chart-pace", chart, &description))
    }
}

fn debt(report: &Report) -> Markup {
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
    let chart = svg::lines(&Chart {
        id: "chart-debt",
        title: "Capability debt at the end of each week",
        description: &description,
        unit: "lines",
        series: &series,
        slots: &slots,
        empty_message: &format!("{NOT_ENOUGH_DATA}: the period has no weeks."),
    });
    html! {
        p class="headline" id="debt-total" {
            (lines_amount(report.debt_lines)) " "
            (if report.debt_lines == 1.0 { "line" } else { "lines" })
        }
        p class="muted" { (DEBT_MEANING) }
        @if report.workspaces.len() > 1 || report.debt_lines > 0.0 {
            div class="table-wrap" {
                table class="debt" {
                    thead {
                        tr {
                            th { "Workspace" }
                            th class="num" { "Debt (lines)" }
                            th class="num" { "Share" }
                        }
                    }
                    tbody {
                        @for row in sections::debt_rows(report) {
                            tr {
                                td class="path" { (path(row.workspace)) }
                                td class="num" { (row.debt) }
                                td class="num" { (row.share) }
                            }
                        }
                    }
                }
            }
        }
        (figure("chart-debt", chart, &description))
    }
}

fn ownership(report: &Report) -> Markup {
    html! {
        p class="muted" {
            "Lines in the files now, by how they arrived; chunks by class; explained share of the chunks' lines; debt."
        }
        @if report.workspaces.is_empty() {
            p class="no-data" { (NOT_ENOUGH_DATA) ": " (NO_FILES) }
        } @else {
            div class="table-wrap" {
                table class="workspaces" {
                    thead { (ownership_header("Workspace", true)) }
                    tbody {
                        @for row in sections::workspace_rows(report) {
                            (ownership_row(&row))
                        }
                    }
                }
            }
            @if !report.agents.is_empty() {
                h3 { "Declared by agents" }
                p class="muted" { "Lines in the files now that a coding agent said it wrote." }
                div class="table-wrap" {
                    table class="agents" {
                        thead {
                            tr {
                                th { "Agent" }
                                th class="num" { "Chunks" }
                                th class="num" { "Lines" }
                                th class="num" { "Explained" }
                            }
                        }
                        tbody {
                            @for row in report.agents.iter().map(sections::agent_row) {
                                tr {
                                    td { (row.name) }
                                    td class="num" { (row.chunks) }
                                    td class="num" { (row.lines) }
                                    td class="num" { (row.explained) }
                                }
                            }
                        }
                    }
                }
            }
            @for workspace in &report.workspaces {
                h3 { (path(&workspace.workspace)) }
                div class="table-wrap" {
                    table class="files" {
                        thead { (ownership_header("File", false)) }
                        tbody {
                            @for row in sections::file_rows(workspace) {
                                (ownership_row(&row))
                            }
                        }
                    }
                }
            }
        }
    }
}

fn ownership_header(first: &str, with_explained: bool) -> Markup {
    html! {
        tr {
            th { (first) }
            th class="num" { "Lines" }
            th class="shares" { "Share by origin" }
            th { "Chunks by class" }
            @if with_explained {
                th class="num" { "Explained" }
            }
            th class="num" { "Debt" }
        }
    }
}

/// One row: the share by origin as a small bar and its percentages in words (the bar is for the
/// eye, the words for reading and printing), and the chunks by class, both naming only what is
/// there so fourteen columns of mostly zeros do not crowd out the file names.
fn ownership_row(row: &OwnershipRow) -> Markup {
    let shares = origin_shares(row.lines);
    let named_shares: Vec<String> = Origin::ALL
        .into_iter()
        .filter(|&origin| row.lines[origin] > 0)
        .map(|origin| format!("{} {}", origin.as_str(), shares[origin]))
        .collect();
    let named_classes: Vec<String> = CLASS_HEADERS
        .iter()
        .zip(row.classes)
        .filter(|(_, chunks)| *chunks > 0)
        .map(|(class, chunks)| format!("{} {class}", count(chunks)))
        .collect();
    html! {
        tr {
            td class="path" { (path(row.name)) }
            td class="num" { (row.total_lines) }
            td class="shares" {
                (share_bar(row.lines))
                span class="share-words" { (or_dash(named_shares.join(" · "))) }
            }
            td { (or_dash(named_classes.join(" · "))) }
            @if let Some(explained) = &row.explained {
                td class="num" { (explained) }
            }
            td class="num" { (row.debt) }
        }
    }
}

/// A 100-unit bar split by origin, each part with its share as a tooltip.
fn share_bar(lines: &ByOrigin<u64>) -> Markup {
    let total = lines.total();
    if total == 0 {
        return html! {};
    }
    // Each part: its origin, where it starts, how wide it is and its lines.
    let mut x = 0.0;
    let parts: Vec<(Origin, f64, f64, u64)> = Origin::ALL
        .into_iter()
        .filter(|&origin| lines[origin] > 0)
        .map(|origin| {
            let value = lines[origin];
            let width = value as f64 * 100.0 / total as f64;
            let start = x;
            x += width;
            (origin, start, width, value)
        })
        .collect();
    html! {
        svg class="share-bar" viewBox="0 0 100 8" preserveAspectRatio="none" aria-hidden="true" {
            @for (origin, start, width, value) in parts {
                rect x=(format!("{start:.2}")) y="0" width=(format!("{width:.2}")) height="8"
                    fill=(origin_colour(origin)) {
                    title { (origin.as_str()) " " (percent(value as f64, total as f64)) }
                }
            }
        }
    }
}

/// A path that may wrap after each `/` rather than in the middle of a name.
fn path(text: &str) -> Markup {
    html! {
        @for (index, part) in text.split('/').enumerate() {
            @if index > 0 {
                "/" wbr;
            }
            (part)
        }
    }
}

fn or_dash(text: String) -> String {
    if text.is_empty() {
        "—".to_string()
    } else {
        text
    }
}

fn detection(report: &Report) -> Markup {
    let detection = &report.detection;
    html! {
        p class="muted" {
            "Every class you gave a flagged chunk says it was not yours; every “Not AI” says it was."
        }
        p { (crate::core::judged::sentence(detection)) }
        @if !detection.by_origin.is_empty() {
            div class="table-wrap" {
                table class="detection" {
                    thead {
                        tr {
                            th { "Flagged as" }
                            th class="num" { "Chunks" }
                            th class="num" { "Classified" }
                            th class="num" { "Not AI" }
                            th class="num" { "Unanswered" }
                            th class="num" { "Right" }
                        }
                    }
                    tbody {
                        @for row in sections::detection_rows(detection) {
                            tr {
                                td { (row.origin) }
                                td class="num" { (row.flagged) }
                                td class="num" { (row.classified) }
                                td class="num" { (row.dismissed) }
                                td class="num" { (row.unjudged) }
                                td class="num" { (row.right) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn practice(report: &Report) -> Markup {
    html! {
        p class="muted" {
            "Repeatable chunks to reproduce from memory — a day, a week and a month after you classified them. Write it again without looking, then compare."
        }
        @if report.practice_due.is_empty() {
            p class="no-data" { (NOTHING_DUE) }
        } @else {
            div class="table-wrap" {
                table class="practice" {
                    thead {
                        tr {
                            th { "Due" }
                            th { "File" }
                            th class="num" { "Chunk" }
                            th { "Items" }
                            th class="num" { "Lines" }
                            th { "Reproduction" }
                        }
                    }
                    tbody {
                        @for row in sections::practice_rows(report) {
                            tr {
                                td { (row.due) " " span class="muted" { "(" (row.overdue) ")" } }
                                td class="path" {
                                    (path(row.path)) br;
                                    span class="muted" { (path(row.workspace)) }
                                }
                                td class="num" { (row.chunk) }
                                td {
                                    @if row.items.is_empty() {
                                        "—"
                                    } @else {
                                        (row.items.join(", "))
                                    }
                                }
                                td class="num" { (row.lines) }
                                td { (row.step) " after classifying" }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn figure(id: &str, chart: Markup, caption: &str) -> Markup {
    html! {
        figure class="chart" id=(id) {
            (chart)
            figcaption { (caption) }
        }
    }
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
