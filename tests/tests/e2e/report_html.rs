//! Renders the HTML report of two synthetic histories — one week, and two years with calibration
//! sessions, chunks of every class and activity every weekday — checks each chart's SVG and
//! series in the markup, and writes the pages to `tests/output/report-one-week.html` and
//! `report-two-years.html`, where `tests/report/report.test.mjs` opens them in headless Chromium
//! (so `cargo test` runs before `node --test`; scripts/test does both in that order).
//!
//! The data is made up but shaped like a real history: the two years drift into the velocity
//! trap (generated lines grow, typed lines shrink), skip a calibration week now and then (gaps in
//! the pace line) and leave some repeatable chunks unpractised (practice due, debt).

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

use whetstone::core::activity::DayActivity;
use whetstone::core::by_origin::ByOrigin;
use whetstone::core::calibration::{Breach, CalibrationSession, EndReason};
use whetstone::core::chunk::{Chunk, Class, Explanation, score_explanation};
use whetstone::core::date::{DAY_MS, day_of};
use whetstone::core::line_map::Origin;
use whetstone::core::report::{FileInput, Report, ReportInput, compute};
use whetstone_tests::records;

const HOUR: u64 = 3_600_000;
const MINUTE: u64 = 60_000;
/// Friday 2025-10-10, 16:00 UTC: "now" for both histories.
const NOW: u64 = 20_371 * DAY_MS + 16 * HOUR;
/// Monday 2025-10-06, the start of NOW's week.
const THIS_MONDAY: u64 = 20_367 * DAY_MS;

/// A small deterministic scatter in `0..modulus`, so the charts are not ruler-straight.
fn scatter(seed: u64, modulus: u64) -> u64 {
    (seed.wrapping_mul(2_654_435_761) >> 7) % modulus
}

/// Monday is 0, Sunday 6 (1970-01-01 was a Thursday).
fn weekday(day: u32) -> u32 {
    (day + 3) % 7
}

fn chunk(id: u64, created_ms: u64, class: Option<Class>, item: &str) -> Chunk {
    let origin = if id.is_multiple_of(3) {
        Origin::Generated
    } else {
        Origin::Pasted
    };
    Chunk {
        inserted_lines: 20,
        class,
        classified_ms: class.map(|_| created_ms + HOUR),
        items: vec![item.to_string()],
        ..records::chunk(id, &format!("file:///chunk/{id}"), origin, created_ms)
    }
}

fn explain(chunk: &mut Chunk, at_ms: u64) {
    let text = "Splits the header first because the body length depends on it; a streaming parser would avoid the copy at the cost of more states.";
    chunk.explanation = Some(Explanation {
        text: text.to_string(),
        recorded_ms: at_ms,
        score: score_explanation(text, &[]),
    });
}

fn session(
    started_ms: u64,
    label: Option<&str>,
    minutes: u64,
    typed_lines: u64,
) -> CalibrationSession {
    let mut files = BTreeSet::new();
    files.insert("file:///home/ada/whetstone/server/src/core/engine.rs".to_string());
    CalibrationSession {
        started_ms,
        label: label.map(str::to_string),
        planned_minutes: Some(90),
        ended_ms: Some(started_ms + minutes * MINUTE),
        ended_because: Some(EndReason::Stopped),
        feel: None,
        notes: None,
        typed_chars: typed_lines * 28,
        typed_lines,
        active_ms: minutes * MINUTE,
        last_activity_ms: started_ms + minutes * MINUTE,
        files,
        breaches: Vec::new(),
    }
}

/// One week, Monday to Friday: typing, a paste, a generated block, two chunks, no calibration
/// session yet.
fn one_week() -> ReportInput {
    let monday = day_of(THIS_MONDAY);
    let days = (0..5)
        .map(|offset| DayActivity {
            day: monday + offset,
            lines: ByOrigin::from([70 + u64::from(offset) * 9, 24, 31, 0, 0, 0]),
            typed_chars: 2_400,
            active_ms: 4 * HOUR,
            calibration_lines: ByOrigin::default(),
            calibration_active_ms: 0,
        })
        .collect();
    let mut core = chunk(
        1,
        THIS_MONDAY + 10 * HOUR,
        Some(Class::Core),
        "fn parse_header",
    );
    core.items.push("impl<T: Read> Parser<T>".to_string());
    let mut transient = chunk(
        2,
        THIS_MONDAY + DAY_MS + 11 * HOUR,
        Some(Class::Transient),
        "fn main",
    );
    explain(&mut transient, THIS_MONDAY + 2 * DAY_MS);
    ReportInput {
        now_ms: NOW,
        dismissals: Vec::new(),
        since_ms: THIS_MONDAY,
        days,
        sessions: Vec::new(),
        files: vec![FileInput {
            workspace: "/home/ada/parser".to_string(),
            path: "src/header.rs".to_string(),
            lines: ByOrigin::from([240, 24, 31, 0, 0, 0]),
            chunks: vec![(core, 24), (transient, 31)],
        }],
    }
}

/// Two years of weekdays drifting into the velocity trap, a calibration session most
/// Wednesdays, a running one now, and chunks of every class in two workspaces.
fn two_years() -> ReportInput {
    let since_ms = NOW - 730 * DAY_MS;
    let first_day = day_of(since_ms);
    let last_day = day_of(NOW);
    let span = f64::from(last_day - first_day);
    let mut days = Vec::new();
    let mut sessions = Vec::new();
    for day in first_day..=last_day {
        if weekday(day) >= 5 {
            continue;
        }
        let seed = u64::from(day);
        let progress = f64::from(day - first_day) / span;
        let mut activity = DayActivity {
            day,
            lines: ByOrigin::from([
                (110.0 - 55.0 * progress) as u64 + scatter(seed, 30),
                (10.0 + 25.0 * progress) as u64 + scatter(seed + 1, 15),
                (5.0 + 110.0 * progress) as u64 + scatter(seed + 2, 40),
                scatter(seed + 3, 9),
                if day % 11 == 0 { 20 } else { 0 },
                scatter(seed + 4, 5),
            ]),
            typed_chars: 3_000,
            active_ms: 4 * HOUR + scatter(seed + 5, 90) * MINUTE,
            calibration_lines: ByOrigin::default(),
            calibration_active_ms: 0,
        };
        let week_number = (day - first_day) / 7;
        // A calibration session most Wednesdays; every fifth week is skipped (a gap in the line).
        if weekday(day) == 2 && week_number % 5 != 3 {
            let minutes = 60 + scatter(seed + 6, 30);
            // The unassisted pace sags in the first year and recovers with practice.
            let per_hour =
                31.0 - 12.0 * (1.0 - (2.0 * progress - 1.0).abs()) + scatter(seed + 7, 6) as f64;
            let typed_lines = (per_hour * minutes as f64 / 60.0) as u64;
            let started = u64::from(day) * DAY_MS + 9 * HOUR;
            let label = match week_number % 4 {
                0 => Some("parser & lexer <no AI>"),
                1 => Some("kata: ring buffer"),
                2 => None,
                _ => Some("debugging \"flaky\" test"),
            };
            let mut held = session(started, label, minutes, typed_lines);
            held.feel = Some(1 + ((week_number / 3 + scatter(seed + 8, 2) as u32) % 5) as u8);
            if week_number.is_multiple_of(9) {
                held.breaches.push(Breach {
                    at_ms: started + 20 * MINUTE,
                    uri: "file:///home/ada/whetstone/server/src/core/engine.rs".to_string(),
                    origin: Origin::Pasted,
                    lines: 12,
                    chunk: None,
                });
            }
            activity.calibration_lines[Origin::Typed] = typed_lines;
            activity.lines[Origin::Typed] += typed_lines;
            activity.calibration_active_ms = minutes * MINUTE;
            activity.active_ms += minutes * MINUTE;
            sessions.push(held);
        }
        days.push(activity);
    }
    // The session running as the report is made.
    let mut running = session(NOW - 40 * MINUTE, Some("parser & lexer <no AI>"), 25, 14);
    running.ended_ms = None;
    running.ended_because = None;
    sessions.push(running);

    let items = [
        "fn parse_header",
        "impl<T> Display for Wrapper<T>",
        "struct RingBuffer",
        "fn retry_with_backoff",
        "mod tests",
        "fn render_svg",
    ];
    let classes = [
        Some(Class::Core),
        Some(Class::Repeatable),
        Some(Class::Transient),
        None,
        Some(Class::Core),
        Some(Class::Repeatable),
    ];
    let mut chunks: Vec<(Chunk, u64)> = Vec::new();
    for index in 0..48u64 {
        let created = since_ms + index * 15 * DAY_MS + 10 * HOUR;
        let kind = (index % 6) as usize;
        let mut made = chunk(index + 1, created, classes[kind], items[kind]);
        match (made.class, index % 4) {
            (Some(Class::Core), 0 | 1) => explain(&mut made, created + 2 * DAY_MS),
            (Some(Class::Transient), _) => explain(&mut made, created + DAY_MS),
            // Practised on time all three times, once, or never.
            (Some(Class::Repeatable), 0) => {
                made.practiced_ms = vec![
                    created + 2 * DAY_MS,
                    created + 8 * DAY_MS,
                    created + 31 * DAY_MS,
                ];
            }
            (Some(Class::Repeatable), 1) => made.practiced_ms = vec![created + 2 * DAY_MS],
            _ => {}
        }
        chunks.push((made, 8 + scatter(index, 50)));
    }
    // Something made this week, so the first question has an answer.
    let mut fresh = chunk(
        100,
        THIS_MONDAY + DAY_MS + 14 * HOUR,
        Some(Class::Core),
        "fn apply_change",
    );
    explain(&mut fresh, THIS_MONDAY + 2 * DAY_MS);
    chunks.push((fresh, 18));
    chunks.push((chunk(101, THIS_MONDAY + 3 * DAY_MS, None, "fn flush"), 9));

    let mut files: Vec<FileInput> = Vec::new();
    let paths = [
        ("/home/ada/whetstone", "server/src/core/engine.rs"),
        ("/home/ada/whetstone", "server/src/render/svg.rs"),
        ("/home/ada/whetstone", "server/src/lsp/state.rs"),
        ("/home/ada/notes & sketches", "katas/<ring buffer>.rs"),
        ("/home/ada/notes & sketches", "scratch/retry.rs"),
    ];
    for (index, (workspace, path)) in paths.iter().enumerate() {
        let own: Vec<(Chunk, u64)> = chunks
            .iter()
            .enumerate()
            .filter(|(position, _)| position % paths.len() == index)
            .map(|(_, entry)| entry.clone())
            .collect();
        let seed = index as u64 * 17;
        files.push(FileInput {
            workspace: (*workspace).to_string(),
            path: (*path).to_string(),
            lines: ByOrigin::from([
                400 + scatter(seed, 900),
                40 + scatter(seed + 1, 200),
                60 + scatter(seed + 2, 300),
                scatter(seed + 3, 40),
                if index == 4 { 35 } else { 0 },
                scatter(seed + 4, 12),
            ]),
            chunks: own,
        });
    }
    ReportInput {
        now_ms: NOW,
        dismissals: Vec::new(),
        since_ms,
        days,
        sessions,
        files,
    }
}

/// The markup of one chart: its `<figure id="...">` up to the figure's end.
fn figure<'a>(page: &'a str, id: &str) -> &'a str {
    let start = page
        .find(&format!("<figure class=\"chart\" id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no figure {id}"));
    let length = page[start..]
        .find("</figure>")
        .unwrap_or_else(|| panic!("figure {id} is not closed"));
    &page[start..start + length]
}

fn marks(chart: &str, element: &str, series: &str) -> usize {
    chart
        .matches(&format!("<{element} data-series=\"{series}\""))
        .count()
}

fn output_dir() -> PathBuf {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests package sits one level below the workspace root")
        .to_path_buf();
    workspace.join("tests").join("output")
}

fn write(name: &str, page: &str) {
    let dir = output_dir();
    fs::create_dir_all(&dir).expect("tests/output can be created");
    fs::write(dir.join(name), page).expect("the report can be written");
}

/// What every page must be, whatever its data: every chart drawn as SVG, nothing fetched.
fn check_page(page: &str) {
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(!page.contains("<script"), "the page needs no script");
    for scheme in ["http:", "https:", "//fonts", "url("] {
        assert!(!page.contains(scheme), "the page names {scheme}");
    }
    for id in [
        "chart-output",
        "chart-explained",
        "chart-pace",
        "chart-debt",
    ] {
        let chart = figure(page, id);
        assert!(chart.contains("<svg viewBox="), "{id} has an SVG");
        assert!(chart.contains("<figcaption>"), "{id} has a caption");
    }
}

#[test]
fn one_week_report_draws_a_single_labelled_bar() {
    let report: Report = compute(&one_week());
    assert_eq!(report.weeks.len(), 1);
    let page = whetstone::render::html(&report);
    write("report-one-week.html", &page);
    check_page(&page);

    let output = figure(&page, "chart-output");
    for series in ["typed", "pasted", "generated"] {
        assert_eq!(marks(output, "rect", series), 1, "{series}");
    }
    for series in ["moved", "external", "restored"] {
        assert_eq!(marks(output, "rect", series), 0, "{series}");
        assert!(
            output.contains(&format!("data-legend=\"{series}\"")),
            "{series} in the legend"
        );
    }
    // A bar as wide as a bar gets, with its total printed above it and the week labelled.
    assert!(output.contains("width=\"72\""), "{output}");
    assert!(output.contains("class=\"value\""));
    assert!(output.contains(">6 Oct 2025</text>"));

    let explained = figure(&page, "chart-explained");
    assert_eq!(marks(explained, "rect", "explained"), 1);
    assert_eq!(marks(explained, "rect", "unexplained"), 1);

    // No calibration session yet: the assisted pace is a point, the no-AI pace says why it is not.
    let pace = figure(&page, "chart-pace");
    assert_eq!(marks(pace, "circle", "pace-assisted"), 1);
    assert_eq!(marks(pace, "circle", "pace-no-ai"), 0);
    assert!(pace.contains("data-empty=\"pace-no-ai\""));
    assert!(pace.contains("not enough data yet"));

    assert_eq!(marks(figure(&page, "chart-debt"), "circle", "debt"), 1);
    assert_eq!(
        page.matches("class=\"answer no-data\"").count(),
        3,
        "only the first question can be answered from one week without sessions"
    );
}

#[test]
fn two_year_report_sums_bars_by_month_and_keeps_weekly_lines() {
    let report = compute(&two_years());
    assert_eq!(report.weeks.len(), 105);
    assert!(report.calibration.sessions.len() > 60);
    assert!(report.practice_due.iter().any(|item| item.step == "1 day"));
    assert!(
        report
            .questions
            .iter()
            .all(|answer| answer.answer.is_some())
    );
    let page = whetstone::render::html(&report);
    write("report-two-years.html", &page);
    check_page(&page);

    let output = figure(&page, "chart-output");
    for series in records::origin_names() {
        let bars = marks(output, "rect", series);
        assert!(bars > 0, "{series} has bars");
        assert!(bars <= 25, "{series}: {bars} bars, one per month at most");
    }
    assert_eq!(
        marks(output, "rect", "typed"),
        25,
        "October 2023 to October 2025"
    );
    assert!(output.contains(">Oct 2023</text>") && output.contains(">Jan 2024</text>"));

    let explained = figure(&page, "chart-explained");
    assert!(marks(explained, "rect", "explained") > 0);
    assert!(marks(explained, "rect", "unexplained") > 0);

    let pace = figure(&page, "chart-pace");
    for series in ["pace-no-ai", "pace-assisted"] {
        assert_eq!(marks(pace, "path", series), 1, "{series} is one path");
        assert!(
            marks(pace, "circle", series) > 60,
            "{series} has a point per week"
        );
    }
    // Skipped calibration weeks break the no-AI line into several runs.
    let no_ai_path = pace
        .split("<path data-series=\"pace-no-ai\" d=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the no-AI path has a d attribute");
    assert!(no_ai_path.matches('M').count() > 10, "{no_ai_path}");

    assert!(marks(figure(&page, "chart-debt"), "circle", "debt") > 100);
    // User text is escaped wherever it appears.
    assert!(page.contains("parser &amp; lexer &lt;no AI&gt;"));
    assert!(page.contains("&lt;ring buffer&gt;.rs"));
    assert!(page.contains("notes &amp; sketches"));
    assert!(!page.contains("<ring buffer>") && !page.contains("<no AI>"));
    assert!(page.contains("(running)"));
    assert!(page.contains("Without AI you keep "));
}
