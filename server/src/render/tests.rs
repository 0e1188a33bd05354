//! Tests of the renderers: the shared helpers as tables, the markdown and the JSON of a small
//! report as expect-test snapshots, and what the HTML must hold (escaping, one bar per month over
//! long periods, the not-enough-data sentences of an empty report).

use std::collections::BTreeSet;

use expect_test::{Expect, expect, expect_file};

use super::*;
use crate::core::activity::DayActivity;
use crate::core::calibration::{Breach, CalibrationSession};
use crate::core::chunk::{Chunk, ChunkId, Class, Explanation, score_explanation};
use crate::core::date::DAY_MS;
use crate::core::report::{FileInput, ReportInput, compute};

const MINUTE: u64 = 60_000;
/// A Monday: day 20,003 (2024-10-07).
const MONDAY: u64 = 20_003 * DAY_MS;

/// An explanation that passes the bar: over 20 words, with a reason (no identifiers to name).
const PASSING: &str = "It copies the header into a small map because every handler looks \
                       fields up by name, and scanning the raw bytes each time would be slower \
                       than the one copy once a request carries more than a few fields.";

fn chunk(id: u64, created_ms: u64, class: Option<Class>, explained: bool) -> Chunk {
    Chunk {
        id: ChunkId(id),
        uri: String::new(),
        origin: Origin::Pasted,
        created_ms,
        inserted_lines: 10,
        class,
        classified_ms: class.map(|_| created_ms),
        explanation: explained.then(|| Explanation {
            text: PASSING.into(),
            recorded_ms: created_ms,
            score: score_explanation(PASSING, &[]),
        }),
        practiced_ms: Vec::new(),
        items: vec![format!("impl<T> Parse for Wrapper{id}<T>")],
        identifiers: Vec::new(),
        reworked_chars: 0,
        syntax_stale: false,
        rule: None,
        copied_from: None,
        agent: None,
        model: None,
    }
}

fn session(
    started_ms: u64,
    minutes: u64,
    typed_lines: u64,
    feel: Option<u8>,
) -> CalibrationSession {
    CalibrationSession {
        started_ms,
        label: Some("parser <no AI> | part 1".into()),
        planned_minutes: None,
        ended_ms: Some(started_ms + minutes * MINUTE),
        ended_because: None,
        feel,
        notes: None,
        typed_chars: typed_lines * 30,
        typed_lines,
        active_ms: minutes * MINUTE,
        last_activity_ms: started_ms + minutes * MINUTE,
        files: BTreeSet::new(),
        breaches: vec![Breach {
            at_ms: started_ms + MINUTE,
            uri: "file:///w/src/a.rs".into(),
            origin: Origin::Pasted,
            lines: 6,
            chunk: None,
        }],
    }
}

/// Two weeks: a week of editing, a calibration session, one file with a chunk of each kind.
fn small_report() -> Report {
    let now = MONDAY + 7 * DAY_MS + 2 * DAY_MS + 10 * 3_600_000;
    compute(&ReportInput {
        now_ms: now,
        dismissals: Vec::new(),
        since_ms: MONDAY,
        days: vec![
            DayActivity {
                day: 20_004,
                lines: ByOrigin::from([120, 40, 30, 5, 0, 2]),
                typed_chars: 4_000,
                active_ms: 3 * 3_600_000,
                calibration_lines: ByOrigin::from([20, 0, 0, 0, 0, 0]),
                calibration_active_ms: 3_600_000,
            },
            DayActivity {
                day: 20_011,
                lines: ByOrigin::from([60, 0, 45, 0, 12, 0]),
                typed_chars: 2_000,
                active_ms: 2 * 3_600_000,
                calibration_lines: ByOrigin::default(),
                calibration_active_ms: 0,
            },
        ],
        sessions: vec![session(MONDAY + DAY_MS + 9 * 3_600_000, 60, 20, Some(2))],
        files: vec![FileInput {
            workspace: "/home/ada/parser".into(),
            path: "src/lex|er.rs".into(),
            lines: ByOrigin::from([300, 40, 30, 0, 12, 2]),
            chunks: vec![
                (chunk(1, MONDAY + DAY_MS, Some(Class::Core), false), 20),
                (
                    chunk(2, MONDAY + DAY_MS, Some(Class::Repeatable), false),
                    10,
                ),
                (
                    chunk(3, MONDAY + 8 * DAY_MS, Some(Class::Transient), true),
                    30,
                ),
                (chunk(4, MONDAY + 8 * DAY_MS, None, false), 12),
            ],
        }],
    })
}

fn empty_report() -> Report {
    compute(&ReportInput {
        now_ms: MONDAY + 3 * DAY_MS,
        dismissals: Vec::new(),
        since_ms: MONDAY,
        days: Vec::new(),
        sessions: Vec::new(),
        files: Vec::new(),
    })
}

fn check(actual: &str, expect: Expect) {
    expect.assert_eq(actual);
}

#[test]
fn numbers_and_shares() {
    assert_eq!(count(0), "0");
    assert_eq!(count(999), "999");
    assert_eq!(count(1_000), "1,000");
    assert_eq!(count(1_234_567), "1,234,567");
    assert_eq!(lines_amount(12.0), "12");
    assert_eq!(lines_amount(12.5), "12.5");
    assert_eq!(lines_amount(1_500.5), "1,500.5");
    assert_eq!(lines_amount(-3.0), "0");
    assert_eq!(percent(1.0, 4.0), "25%");
    assert_eq!(percent(1.0, 1_000.0), "<1%");
    assert_eq!(percent(0.0, 10.0), "0%");
    assert_eq!(percent(3.0, 0.0), "—");
    assert_eq!(pace(Some(31.6)), "32 lines/h");
    assert_eq!(pace(None), "—");
}

#[test]
fn markdown_of_a_small_report() {
    check(
        &markdown(&small_report()),
        expect![[r#"
            # Whetstone report

            2024-10-07 to 2024-10-16 (10 days) · generated 2024-10-16 10:00 UTC

            ## Four questions

            1. **Can you explain — in technical detail — every piece of code you shipped this week without looking at it?**  
               You explained 1 of this week's 2 chunks (50%).  
               Explain the rest from memory: the Explanation Requirement.
            2. **If your AI coding tools disappeared for two weeks, what percentage of your current pace could you maintain?**  
               Without AI you keep 29% of your pace.  
               20 typed lines per active hour in calibration sessions, against 69 lines per active hour with AI.
            3. **Do you feel smarter after a hard week of work, or just busier?**  
               Not enough data yet: rate at least two calibration sessions (1 struggled … 5 smooth) to see a trend.
            4. **When you debug without AI, how does it feel?**  
               Your last calibration session felt 2 of 5 (hard going).  
               1 struggled … 5 smooth.

            ## Calibration: your pace without AI

            **Without AI you keep 29% of your pace.** 20 typed lines per active hour in 1 calibration session, against 69 lines per active hour with AI.

            1 session, 1 breach.

            | date | label | active minutes | typed lines | pace | breaches | feel |
            |---|---|---:|---:|---:|---:|---|
            | 2024-10-08 | `parser <no AI> \| part 1` | 60 | 20 | 20 lines/h | 1 | 2 (hard going) |

            ## Output

            314 lines inserted over 2 weeks: typed 57%, pasted 13%, generated 24%, moved 2%, external 4%, restored 1%. The busiest week, of 2024-10-07, had 197.

            ## Explained and unexplained

            Of 72 lines in chunks made in this period, 30 (42%) are explained and 42 are not.

            ## Pace over time

            No-AI pace measured in 1 of 2 weeks, latest 20 lines/h (week of 2024-10-07); assisted pace measured in 2 of 2 weeks, latest 52 lines/h (week of 2024-10-14).

            ## Capability debt

            Capability debt is 25 lines, unchanged since the week of 2024-10-07.

            Capability debt counts the lines of core chunks you have not explained (a shallow explanation counts as none), plus half the lines of repeatable chunks you have not yet reproduced from memory (or whose next reproduction is overdue).

            | workspace | debt (lines) | share |
            |---|---:|---:|
            | `/home/ada/parser` | 25 | 100% |

            ## Ownership

            Share of lines by origin, chunks by class, explained share of the chunks' lines, debt in lines.

            | workspace | lines | typed | pasted | generated | moved | external | restored | transient | repeatable | core | unclassified | explained | debt |
            |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
            | `/home/ada/parser` | 384 | 78% | 10% | 8% | 0% | 3% | 1% | 1 | 1 | 1 | 1 | 42% | 25 |

            ### `/home/ada/parser`

            | file | lines | typed | pasted | generated | moved | external | restored | transient | repeatable | core | unclassified | debt |
            |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
            | `src/lex\|er.rs` | 384 | 78% | 10% | 8% | 0% | 3% | 1% | 1 | 1 | 1 | 1 | 25 |

            ## Practice due

            Reproduce these from memory, then compare.

            | due | workspace | file | chunk | items | lines | reproduction |
            |---|---|---|---:|---|---:|---|
            | 2024-10-09 (7 days overdue) | `/home/ada/parser` | `src/lex\|er.rs` | 2 | `impl<T> Parse for Wrapper2<T>` | 10 | after 1 day |

            ## Detection as you judged it

            4 chunks flagged: 3 classified, none called not AI (100% right), 1 waiting for an answer.

            | flagged as | chunks | classified | not AI | unanswered | right |
            |---|---:|---:|---:|---:|---:|
            | pasted | 4 | 3 | 0 | 1 | 100% |
        "#]],
    );
}

#[test]
fn markdown_of_an_empty_report_says_what_is_missing() {
    check(
        &markdown(&empty_report()),
        expect![[r#"
            # Whetstone report

            2024-10-07 to 2024-10-10 (4 days) · generated 2024-10-10 00:00 UTC

            ## Four questions

            1. **Can you explain — in technical detail — every piece of code you shipped this week without looking at it?**  
               Not enough data yet: no pasted or generated chunks this week.
            2. **If your AI coding tools disappeared for two weeks, what percentage of your current pace could you maintain?**  
               Not enough data yet: hold a calibration session of at least five active minutes (start one from your editor or with `whetstone calibrate start`).
            3. **Do you feel smarter after a hard week of work, or just busier?**  
               Not enough data yet: rate at least two calibration sessions (1 struggled … 5 smooth) to see a trend.
            4. **When you debug without AI, how does it feel?**  
               Not enough data yet: end a calibration session and say how it felt.

            ## Calibration: your pace without AI

            Not enough data yet: hold a calibration session of at least five active minutes to learn your pace without AI.

            ## Output

            Not enough data yet: no lines were inserted in this period.

            ## Explained and unexplained

            Not enough data yet: no pasted or generated chunks were made in this period.

            ## Pace over time

            No-AI pace: not enough data yet — no calibration session with five active minutes; assisted pace: not enough data yet — no editing time outside calibration sessions.

            ## Capability debt

            No capability debt.

            Capability debt counts the lines of core chunks you have not explained (a shallow explanation counts as none), plus half the lines of repeatable chunks you have not yet reproduced from memory (or whose next reproduction is overdue).

            ## Ownership

            Not enough data yet: no files have been tracked.

            ## Practice due

            Nothing is due: no repeatable chunk is waiting to be reproduced.

            ## Detection as you judged it

            No chunks flagged in this period.
        "#]],
    );
}

#[test]
fn json_shape() {
    let value = json(&small_report());
    let text = serde_json::to_string_pretty(&value).unwrap_or_default();
    check(
        &text,
        expect![[r#"
            {
              "agents": [],
              "calibration": {
                "assisted_pace": 68.75,
                "breaches": 1,
                "kept_share": 0.2909090909090909,
                "no_ai_pace": 20.0,
                "sessions": [
                  {
                    "active_minutes": 60,
                    "breaches": 1,
                    "feel": 2,
                    "label": "parser <no AI> | part 1",
                    "pace": 20.0,
                    "running": false,
                    "started_date": "2024-10-08",
                    "started_day": 20004,
                    "started_ms": 1728378000000,
                    "typed_lines": 20
                  }
                ]
              },
              "debt_lines": 25.0,
              "debt_trend": [
                {
                  "debt_lines": 25.0,
                  "week_start": "2024-10-07",
                  "week_start_day": 20003
                },
                {
                  "debt_lines": 25.0,
                  "week_start": "2024-10-14",
                  "week_start_day": 20010
                }
              ],
              "detection": {
                "by_origin": {
                  "pasted": {
                    "classified": 3,
                    "dismissed": 0,
                    "explained": 1,
                    "flagged": 4,
                    "precision": 1.0,
                    "unjudged": 1
                  }
                },
                "by_rule": {
                  "earlier": {
                    "classified": 3,
                    "dismissed": 0,
                    "explained": 1,
                    "flagged": 4,
                    "precision": 1.0,
                    "unjudged": 1
                  }
                },
                "classified": 3,
                "dismissed": 0,
                "explained": 1,
                "flagged": 4,
                "precision": 1.0,
                "unjudged": 1
              },
              "explained_trend": [
                {
                  "explained_lines": 0,
                  "shallow_lines": 0,
                  "unexplained_lines": 30,
                  "week_start": "2024-10-07",
                  "week_start_day": 20003
                },
                {
                  "explained_lines": 30,
                  "shallow_lines": 0,
                  "unexplained_lines": 12,
                  "week_start": "2024-10-14",
                  "week_start_day": 20010
                }
              ],
              "generated_date": "2024-10-16",
              "generated_day": 20012,
              "generated_ms": 1729072800000,
              "pace_trend": [
                {
                  "assisted_pace": 85.0,
                  "no_ai_pace": 20.0,
                  "week_start": "2024-10-07",
                  "week_start_day": 20003
                },
                {
                  "assisted_pace": 52.5,
                  "no_ai_pace": null,
                  "week_start": "2024-10-14",
                  "week_start_day": 20010
                }
              ],
              "practice_due": [
                {
                  "chunk": 2,
                  "due_date": "2024-10-09",
                  "due_day": 20005,
                  "due_ms": 1728432000000,
                  "items": [
                    "impl<T> Parse for Wrapper2<T>"
                  ],
                  "lines": 10,
                  "path": "src/lex|er.rs",
                  "step": "1 day",
                  "workspace": "/home/ada/parser"
                }
              ],
              "questions": [
                {
                  "answer": "You explained 1 of this week's 2 chunks (50%).",
                  "detail": "Explain the rest from memory: the Explanation Requirement.",
                  "question": "Can you explain — in technical detail — every piece of code you shipped this week without looking at it?"
                },
                {
                  "answer": "Without AI you keep 29% of your pace.",
                  "detail": "20 typed lines per active hour in calibration sessions, against 69 lines per active hour with AI.",
                  "question": "If your AI coding tools disappeared for two weeks, what percentage of your current pace could you maintain?"
                },
                {
                  "answer": null,
                  "detail": "Not enough data yet: rate at least two calibration sessions (1 struggled … 5 smooth) to see a trend.",
                  "question": "Do you feel smarter after a hard week of work, or just busier?"
                },
                {
                  "answer": "Your last calibration session felt 2 of 5 (hard going).",
                  "detail": "1 struggled … 5 smooth.",
                  "question": "When you debug without AI, how does it feel?"
                }
              ],
              "since_date": "2024-10-07",
              "since_day": 20003,
              "since_ms": 1728259200000,
              "weeks": [
                {
                  "lines": {
                    "external": 0,
                    "generated": 30,
                    "moved": 5,
                    "pasted": 40,
                    "restored": 2,
                    "typed": 120
                  },
                  "week_start": "2024-10-07",
                  "week_start_day": 20003
                },
                {
                  "lines": {
                    "external": 12,
                    "generated": 45,
                    "moved": 0,
                    "pasted": 0,
                    "restored": 0,
                    "typed": 60
                  },
                  "week_start": "2024-10-14",
                  "week_start_day": 20010
                }
              ],
              "workspaces": [
                {
                  "chunks": {
                    "core": 1,
                    "repeatable": 1,
                    "transient": 1,
                    "unclassified": 1
                  },
                  "debt_lines": 25.0,
                  "explained_lines": 30,
                  "files": [
                    {
                      "chunks": {
                        "core": 1,
                        "repeatable": 1,
                        "transient": 1,
                        "unclassified": 1
                      },
                      "debt_lines": 25.0,
                      "lines": {
                        "external": 12,
                        "generated": 30,
                        "moved": 0,
                        "pasted": 40,
                        "restored": 2,
                        "typed": 300
                      },
                      "path": "src/lex|er.rs"
                    }
                  ],
                  "lines": {
                    "external": 12,
                    "generated": 30,
                    "moved": 0,
                    "pasted": 40,
                    "restored": 2,
                    "typed": 300
                  },
                  "shallow_lines": 0,
                  "unexplained_lines": 42,
                  "workspace": "/home/ada/parser"
                }
              ]
            }"#]],
    );
}

#[test]
fn html_escapes_every_piece_of_user_text() {
    let page = html(&small_report());
    for raw in ["<no AI>", "impl<T>", "Wrapper1<T>"] {
        assert!(!page.contains(raw), "unescaped {raw}");
    }
    assert!(page.contains("parser &lt;no AI&gt; | part 1"));
    assert!(page.contains("impl&lt;T&gt; Parse for Wrapper2&lt;T&gt;"));
    assert!(!page.contains("<script"), "the page runs no script");
    assert!(
        !page.contains("http:") && !page.contains("https:"),
        "the page names no URL"
    );
}

#[test]
fn html_sections_come_in_order_and_every_chart_draws_its_series() {
    let page = html(&small_report());
    let sections = [
        "id=\"header\"",
        "id=\"questions\"",
        "id=\"calibration\"",
        "id=\"chart-output\"",
        "id=\"chart-explained\"",
        "id=\"chart-pace\"",
        "id=\"debt\"",
        "id=\"chart-debt\"",
        "id=\"ownership\"",
        "id=\"practice\"",
    ];
    let positions: Vec<usize> = sections
        .iter()
        .map(|section| page.find(section).unwrap_or(usize::MAX))
        .collect();
    assert!(
        positions.windows(2).all(|pair| pair[0] < pair[1]),
        "{sections:?} at {positions:?}"
    );
    for series in [
        "typed",
        "pasted",
        "generated",
        "moved",
        "external",
        "restored",
    ] {
        assert!(
            page.contains(&format!("<rect data-series=\"{series}\"")),
            "{series}"
        );
    }
    for series in ["explained", "unexplained"] {
        assert!(
            page.contains(&format!("<rect data-series=\"{series}\"")),
            "{series}"
        );
    }
    // Two weeks of assisted pace make a line; one week of no-AI pace is a lone dot.
    assert!(page.contains("<path data-series=\"pace-assisted\""));
    assert!(!page.contains("<path data-series=\"pace-no-ai\""));
    for series in ["pace-no-ai", "pace-assisted", "debt"] {
        assert!(
            page.contains(&format!("<circle data-series=\"{series}\"")),
            "{series}"
        );
    }
    assert!(page.contains("Without AI you keep 29% of your pace."));
}

#[test]
fn html_of_an_empty_report_says_not_enough_data_in_every_chart() {
    let page = html(&empty_report());
    // Output, explained and pace have nothing; debt is a flat zero line, which is data.
    assert_eq!(page.matches("data-no-data=\"true\"").count(), 3);
    assert!(!page.contains("data-series=\"typed\""));
    assert!(page.contains("<circle data-series=\"debt\""));
}

#[test]
fn a_long_period_has_one_bar_per_month_and_a_short_one_a_bar_per_week() {
    let now = MONDAY + 3 * DAY_MS;
    let report_over = |days: u64| {
        let since = now - days * DAY_MS;
        compute(&ReportInput {
            now_ms: now,
            dismissals: Vec::new(),
            since_ms: since,
            days: (0..days)
                .map(|offset| DayActivity {
                    day: day_of(since) + offset as u32,
                    lines: ByOrigin::from([10, 0, 0, 0, 0, 0]),
                    ..DayActivity::default()
                })
                .collect(),
            sessions: Vec::new(),
            files: Vec::new(),
        })
    };
    let typed_bars = |report: &Report| html(report).matches("<rect data-series=\"typed\"").count();
    let two_years = report_over(730);
    assert_eq!(two_years.weeks.len(), 105);
    // October 2022 to October 2024, both ends included.
    assert_eq!(typed_bars(&two_years), 25);
    let one_week = report_over(3);
    assert_eq!(typed_bars(&one_week), 1);
    assert!(
        html(&one_week).contains("width=\"72\""),
        "one week is one wide bar"
    );
    let months = report_over(150);
    assert_eq!(typed_bars(&months), months.weeks.len());
}

/// Text that breaks markup if any renderer lets it through unescaped.
const HOSTILE: &str = "<script>alert(\"x\" & 'y')</script> a/b </td>";

/// Two years of activity with hostile text in every field a user or an agent writes: workspace
/// and file paths, chunk items, session labels, agent and model names, and (set after computing)
/// the answers' wording.
fn hostile_report() -> Report {
    let now = MONDAY + 3 * DAY_MS;
    let since = now - 730 * DAY_MS;
    let mut files = Vec::new();
    for workspace in 0..3u64 {
        for file in 0..4u64 {
            let chunks = (0..5u64)
                .map(|index| {
                    let id = workspace * 100 + file * 10 + index;
                    let class = [
                        Some(Class::Core),
                        Some(Class::Repeatable),
                        Some(Class::Transient),
                        None,
                        Some(Class::Repeatable),
                    ][index as usize];
                    let mut made = chunk(id, since + id * 3 * DAY_MS, class, index == 2);
                    made.items = vec![format!("{HOSTILE} item {id}"), "fn x<'a>()".into()];
                    if index == 4 {
                        made.agent = Some(format!("{HOSTILE} agent"));
                        made.model = (workspace > 0).then(|| format!("{HOSTILE} model"));
                    }
                    (made, 10 + index)
                })
                .collect();
            files.push(FileInput {
                workspace: format!("/home/{HOSTILE}/w{workspace}"),
                path: format!("src/{HOSTILE}/file{file}.rs"),
                lines: [100 + file, 20, 30 * workspace, 1, 2, 3].into(),
                chunks,
            });
        }
    }
    let mut report = compute(&ReportInput {
        now_ms: now,
        dismissals: Vec::new(),
        since_ms: since,
        days: (0..730u64)
            .map(|offset| DayActivity {
                day: day_of(since) + offset as u32,
                lines: [10 + offset % 7, offset % 3, offset % 5, 0, 1, 0].into(),
                typed_chars: 1_000,
                active_ms: 3_600_000,
                calibration_lines: [offset % 2, 0, 0, 0, 0, 0].into(),
                calibration_active_ms: if offset % 9 == 0 { 1_800_000 } else { 0 },
            })
            .collect(),
        sessions: (0..15u64)
            .map(|index| {
                let mut made = session(since + index * 40 * DAY_MS, 30, 12 + index, None);
                made.label = Some(format!("{HOSTILE} session {index}"));
                made.feel = u8::try_from(index % 6).ok().filter(|feel| *feel > 0);
                made
            })
            .collect(),
        files,
    });
    for answer in &mut report.questions {
        answer.answer = Some(format!("{HOSTILE} answer"));
        answer.detail = format!("{HOSTILE} detail");
    }
    report
}

#[test]
fn html_of_a_hostile_report_keeps_every_piece_of_text_as_text() {
    let page = html(&hostile_report());
    assert!(!page.contains("<script"), "the page runs no script");
    // Hostile text closes no element: every cell, row and paragraph opened is closed once.
    for tag in ["td", "tr", "p", "span", "li", "section", "table", "h3"] {
        let opened =
            page.matches(&format!("<{tag}>")).count() + page.matches(&format!("<{tag} ")).count();
        let closed = page.matches(&format!("</{tag}>")).count();
        assert_eq!(opened, closed, "<{tag}>");
    }
    let escaped = "&lt;script&gt;alert(&quot;x&quot; &amp; 'y')&lt;/script&gt; a/b &lt;/td&gt;";
    for expected in [
        "<td>{E} session 14</td>",
        "<td>{E} item ",
        "<td>{E} agent</td>",
        "<td>{E} agent ({E} model)</td>",
        "<p class=\"answer\">{E} answer</p>",
        "<p class=\"detail\">{E} detail</p>",
    ] {
        let expected = expected.replace("{E}", escaped);
        assert!(page.contains(&expected), "{expected}");
    }
    // Paths may wrap after each slash.
    let path = "src/<wbr>&lt;script&gt;alert(&quot;x&quot; &amp; 'y')&lt;/<wbr>script&gt; a/<wbr>b &lt;/<wbr>td&gt;/<wbr>file3.rs";
    assert!(page.contains(path), "path");
    assert!(page.contains("/<wbr>home/<wbr>&lt;script&gt;"), "workspace");
}

/// The whole page of the small report, one tag to a line so that a change reads as a diff.
#[test]
fn html_of_a_small_report() {
    let page = html(&small_report());
    expect_file!["snapshots/small-report.html"].assert_eq(&page.replace("><", ">\n<"));
}
