//! The capability report as data: output by origin per week, ownership per workspace and file,
//! capability debt and its trend, calibration pace against assisted pace, the four
//! self-assessment questions answered from the data (or saying plainly that there is not enough
//! yet), and the practice that is due. Renderers (JSON, markdown, HTML) only format this.
//!
//! Weeks start on Monday, UTC. "Assisted pace" is every line inserted (typed, pasted, generated)
//! per active hour outside calibration sessions; "no-AI pace" is typed lines per active hour inside
//! them.

use std::collections::BTreeMap;

use crate::activity::DayActivity;
use crate::by_origin::ByOrigin;
use crate::calibration::{CalibrationSession, MIN_ACTIVE_MS_FOR_PACE};
use crate::chunk::{Chunk, Class};
use crate::date::{DAY_MS, day_of, week_start};
use crate::engine::Dismissal;
use crate::judged::{Detection, judged};
use crate::line_map::Origin;

/// A file as the report sees it: where it is, its lines by origin, its chunks with their sizes.
#[derive(Debug, Clone)]
pub struct FileInput {
    pub workspace: String,
    pub path: String,
    pub lines: ByOrigin<u64>,
    pub chunks: Vec<(Chunk, u64)>,
}

/// Everything a report is computed from.
#[derive(Debug, Clone)]
pub struct ReportInput {
    pub now_ms: u64,
    pub since_ms: u64,
    pub days: Vec<DayActivity>,
    pub sessions: Vec<CalibrationSession>,
    pub files: Vec<FileInput>,
    /// Every "Not AI" dismissal: with the chunks, what the user said of the detector.
    pub dismissals: Vec<Dismissal>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WeekOutput {
    /// Day number (since the epoch) of the week's Monday.
    pub week_start_day: u32,
    /// Lines inserted by origin.
    pub lines: ByOrigin<u64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClassCounts {
    pub transient: u64,
    pub repeatable: u64,
    pub core: u64,
    pub unclassified: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FileOwnership {
    pub path: String,
    pub lines: ByOrigin<u64>,
    pub chunks: ClassCounts,
    pub debt_lines: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WorkspaceOwnership {
    pub workspace: String,
    pub lines: ByOrigin<u64>,
    pub chunks: ClassCounts,
    /// Lines of flagged chunks whose explanation passes the bar, and that do not (a shallow
    /// explanation counts as none).
    pub explained_lines: u64,
    pub unexplained_lines: u64,
    /// The part of `unexplained_lines` in chunks explained shallowly.
    pub shallow_lines: u64,
    pub debt_lines: f64,
    pub files: Vec<FileOwnership>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DebtPoint {
    pub week_start_day: u32,
    /// Debt at the end of that week (or now, for the current week).
    pub debt_lines: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExplainedPoint {
    pub week_start_day: u32,
    /// Lines of the chunks made that week: explained by now (passing the bar), and not.
    pub explained_lines: u64,
    pub unexplained_lines: u64,
    /// The part of `unexplained_lines` in chunks explained shallowly.
    pub shallow_lines: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SessionSummary {
    pub started_ms: u64,
    pub label: Option<String>,
    pub active_minutes: u64,
    pub typed_lines: u64,
    pub pace: Option<f64>,
    pub breaches: u64,
    pub feel: Option<u8>,
    pub running: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PacePoint {
    pub week_start_day: u32,
    pub no_ai_pace: Option<f64>,
    pub assisted_pace: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    pub sessions: Vec<SessionSummary>,
    /// Typed lines per active hour over every session of the period.
    pub no_ai_pace: Option<f64>,
    /// All inserted lines per active hour outside sessions.
    pub assisted_pace: Option<f64>,
    /// no-AI pace as a share of assisted pace ("without AI you keep N% of your pace").
    pub kept_share: Option<f64>,
    pub breaches: u64,
}

/// One of the four self-assessment questions and what the data says.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub question: &'static str,
    /// None: not enough data yet; `detail` says what is missing.
    pub answer: Option<String>,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PracticeItem {
    pub workspace: String,
    pub path: String,
    pub chunk: u64,
    pub items: Vec<String>,
    pub lines: u64,
    pub due_ms: u64,
    /// "1 day", "1 week" or "1 month": which reproduction is due.
    pub step: &'static str,
}

/// Lines in the files now that one agent declared it wrote (with one model, or none named).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentLines {
    pub agent: String,
    pub model: Option<String>,
    pub chunks: u64,
    pub lines: u64,
    /// Lines of those chunks that the user explained (passing the bar).
    pub explained_lines: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub generated_ms: u64,
    pub since_ms: u64,
    pub weeks: Vec<WeekOutput>,
    pub workspaces: Vec<WorkspaceOwnership>,
    pub debt_lines: f64,
    pub debt_trend: Vec<DebtPoint>,
    pub explained_trend: Vec<ExplainedPoint>,
    pub calibration: Calibration,
    pub pace_trend: Vec<PacePoint>,
    pub questions: Vec<Answer>,
    pub practice_due: Vec<PracticeItem>,
    /// Detection as the user judged it, over the period.
    pub detection: Detection,
    /// Chunks agents declared, per agent and model, most lines first.
    pub agents: Vec<AgentLines>,
}

pub const QUESTIONS: [&str; 4] = [
    "Can you explain — in technical detail — every piece of code you shipped this week without looking at it?",
    "If your AI coding tools disappeared for two weeks, what percentage of your current pace could you maintain?",
    "Do you feel smarter after a hard week of work, or just busier?",
    "When you debug without AI, how does it feel?",
];

const PRACTICE_STEP_NAMES: [&str; 3] = ["1 day", "1 week", "1 month"];

pub fn compute(input: &ReportInput) -> Report {
    let since_day = day_of(input.since_ms);
    let now_day = day_of(input.now_ms);
    let weeks_in_period: Vec<u32> = {
        let mut weeks = Vec::new();
        let mut week = week_start(since_day);
        while week <= now_day {
            weeks.push(week);
            week += 7;
        }
        weeks
    };

    // Output per week.
    let mut output: BTreeMap<u32, ByOrigin<u64>> = weeks_in_period
        .iter()
        .map(|&week| (week, ByOrigin::default()))
        .collect();
    for day in input
        .days
        .iter()
        .filter(|day| day.day >= since_day && day.day <= now_day)
    {
        *output.entry(week_start(day.day)).or_default() += day.lines;
    }
    let weeks = output
        .into_iter()
        .map(|(week_start_day, lines)| WeekOutput {
            week_start_day,
            lines,
        })
        .collect();

    // Ownership now.
    let mut workspaces: BTreeMap<String, WorkspaceOwnership> = BTreeMap::new();
    for file in &input.files {
        let workspace =
            workspaces
                .entry(file.workspace.clone())
                .or_insert_with(|| WorkspaceOwnership {
                    workspace: file.workspace.clone(),
                    lines: ByOrigin::default(),
                    chunks: ClassCounts::default(),
                    explained_lines: 0,
                    unexplained_lines: 0,
                    shallow_lines: 0,
                    debt_lines: 0.0,
                    files: Vec::new(),
                });
        let mut file_chunks = ClassCounts::default();
        let mut file_debt = 0.0;
        for (chunk, lines) in &file.chunks {
            count_class(&mut file_chunks, chunk.class);
            file_debt += chunk.debt_weight(input.now_ms) * *lines as f64;
            if chunk.is_explained() {
                workspace.explained_lines += lines;
            } else {
                workspace.unexplained_lines += lines;
                if chunk.is_explained_shallowly() {
                    workspace.shallow_lines += lines;
                }
            }
        }
        workspace.lines += file.lines;
        add_counts(&mut workspace.chunks, &file_chunks);
        workspace.debt_lines += file_debt;
        workspace.files.push(FileOwnership {
            path: file.path.clone(),
            lines: file.lines,
            chunks: file_chunks,
            debt_lines: file_debt,
        });
    }
    let workspaces: Vec<WorkspaceOwnership> = workspaces.into_values().collect();
    let debt_lines = workspaces
        .iter()
        .map(|workspace| workspace.debt_lines)
        .sum();

    let all_chunks: Vec<&(Chunk, u64)> = input
        .files
        .iter()
        .flat_map(|file| file.chunks.iter())
        .collect();
    let agents = agent_lines(&all_chunks);
    let debt_trend = weeks_in_period
        .iter()
        .map(|&week| {
            let end_of_week = ((u64::from(week) + 7) * DAY_MS - 1).min(input.now_ms);
            let debt = all_chunks
                .iter()
                .filter(|(chunk, _)| chunk.created_ms <= end_of_week)
                .map(|(chunk, lines)| chunk.debt_weight(end_of_week) * *lines as f64)
                .sum();
            DebtPoint {
                week_start_day: week,
                debt_lines: debt,
            }
        })
        .collect();
    let explained_trend = weeks_in_period
        .iter()
        .map(|&week| {
            let (mut explained, mut unexplained, mut shallow) = (0, 0, 0);
            for (chunk, lines) in &all_chunks {
                if week_start(day_of(chunk.created_ms)) == week {
                    if chunk.is_explained() {
                        explained += lines;
                    } else {
                        unexplained += lines;
                        if chunk.is_explained_shallowly() {
                            shallow += lines;
                        }
                    }
                }
            }
            ExplainedPoint {
                week_start_day: week,
                explained_lines: explained,
                unexplained_lines: unexplained,
                shallow_lines: shallow,
            }
        })
        .collect();

    let sessions: Vec<&CalibrationSession> = input
        .sessions
        .iter()
        .filter(|session| {
            session.started_ms >= input.since_ms && session.started_ms <= input.now_ms
        })
        .collect();
    let calibration = calibration(&sessions, &input.days, since_day, now_day);
    let pace_trend = weeks_in_period
        .iter()
        .map(|&week| {
            let week_sessions: Vec<&CalibrationSession> = sessions
                .iter()
                .copied()
                .filter(|session| week_start(day_of(session.started_ms)) == week)
                .collect();
            let week_days: Vec<DayActivity> = input
                .days
                .iter()
                .filter(|day| week_start(day.day) == week)
                .cloned()
                .collect();
            PacePoint {
                week_start_day: week,
                no_ai_pace: no_ai_pace(&week_sessions),
                assisted_pace: assisted_pace(&week_days),
            }
        })
        .collect();

    let questions = answers(input, &sessions, &calibration, &all_chunks);
    let mut practice_due: Vec<PracticeItem> = input
        .files
        .iter()
        .flat_map(|file| {
            file.chunks.iter().filter_map(move |(chunk, lines)| {
                let due_ms = chunk.next_practice_due_ms()?;
                (due_ms <= input.now_ms).then(|| PracticeItem {
                    workspace: file.workspace.clone(),
                    path: file.path.clone(),
                    chunk: chunk.id.0,
                    items: chunk.items.clone(),
                    lines: *lines,
                    due_ms,
                    step: PRACTICE_STEP_NAMES[chunk.practiced_ms.len().min(2)],
                })
            })
        })
        .collect();
    practice_due.sort_by_key(|item| item.due_ms);

    let detection = judged(
        input
            .files
            .iter()
            .flat_map(|file| file.chunks.iter().map(|(chunk, _)| chunk)),
        &input.dismissals,
        input.since_ms,
    );
    Report {
        generated_ms: input.now_ms,
        since_ms: input.since_ms,
        weeks,
        workspaces,
        debt_lines,
        debt_trend,
        explained_trend,
        calibration,
        pace_trend,
        questions,
        practice_due,
        detection,
        agents,
    }
}

/// Declared chunks per agent and model, most lines first.
fn agent_lines(chunks: &[&(Chunk, u64)]) -> Vec<AgentLines> {
    let mut by_agent: BTreeMap<(String, Option<String>), AgentLines> = BTreeMap::new();
    for (chunk, lines) in chunks {
        let Some(agent) = &chunk.agent else {
            continue;
        };
        let entry = by_agent
            .entry((agent.clone(), chunk.model.clone()))
            .or_insert_with(|| AgentLines {
                agent: agent.clone(),
                model: chunk.model.clone(),
                chunks: 0,
                lines: 0,
                explained_lines: 0,
            });
        entry.chunks += 1;
        entry.lines += lines;
        if chunk.is_explained() {
            entry.explained_lines += lines;
        }
    }
    let mut agents: Vec<AgentLines> = by_agent.into_values().collect();
    agents.sort_by_key(|agent| std::cmp::Reverse(agent.lines));
    agents
}

fn count_class(counts: &mut ClassCounts, class: Option<Class>) {
    match class {
        Some(Class::Transient) => counts.transient += 1,
        Some(Class::Repeatable) => counts.repeatable += 1,
        Some(Class::Core) => counts.core += 1,
        None => counts.unclassified += 1,
    }
}

fn add_counts(total: &mut ClassCounts, more: &ClassCounts) {
    total.transient += more.transient;
    total.repeatable += more.repeatable;
    total.core += more.core;
    total.unclassified += more.unclassified;
}

fn no_ai_pace(sessions: &[&CalibrationSession]) -> Option<f64> {
    let active: u64 = sessions.iter().map(|session| session.active_ms).sum();
    let lines: u64 = sessions.iter().map(|session| session.typed_lines).sum();
    (active >= MIN_ACTIVE_MS_FOR_PACE).then(|| lines as f64 * 3_600_000.0 / active as f64)
}

fn assisted_pace(days: &[DayActivity]) -> Option<f64> {
    let produced = [Origin::Typed, Origin::Pasted, Origin::Generated];
    let mut lines = 0u64;
    let mut active = 0u64;
    for day in days {
        for origin in produced {
            lines += day.lines[origin].saturating_sub(day.calibration_lines[origin]);
        }
        active += day.active_ms.saturating_sub(day.calibration_active_ms);
    }
    (active >= MIN_ACTIVE_MS_FOR_PACE).then(|| lines as f64 * 3_600_000.0 / active as f64)
}

fn calibration(
    sessions: &[&CalibrationSession],
    days: &[DayActivity],
    since_day: u32,
    now_day: u32,
) -> Calibration {
    let period_days: Vec<DayActivity> = days
        .iter()
        .filter(|day| day.day >= since_day && day.day <= now_day)
        .cloned()
        .collect();
    let no_ai = no_ai_pace(sessions);
    let assisted = assisted_pace(&period_days);
    let kept_share = match (no_ai, assisted) {
        (Some(no_ai), Some(assisted)) if assisted > 0.0 => Some(no_ai / assisted),
        _ => None,
    };
    Calibration {
        sessions: sessions
            .iter()
            .map(|session| SessionSummary {
                started_ms: session.started_ms,
                label: session.label.clone(),
                active_minutes: session.active_minutes(),
                typed_lines: session.typed_lines,
                pace: session.pace_lines_per_hour(),
                breaches: session.breaches.len() as u64,
                feel: session.feel,
                running: session.is_running(),
            })
            .collect(),
        no_ai_pace: no_ai,
        assisted_pace: assisted,
        kept_share,
        breaches: sessions
            .iter()
            .map(|session| session.breaches.len() as u64)
            .sum(),
    }
}

fn answers(
    input: &ReportInput,
    sessions: &[&CalibrationSession],
    calibration: &Calibration,
    chunks: &[&(Chunk, u64)],
) -> Vec<Answer> {
    let this_week = week_start(day_of(input.now_ms));
    let week_chunks: Vec<&Chunk> = chunks
        .iter()
        .map(|(chunk, _)| chunk)
        .filter(|chunk| week_start(day_of(chunk.created_ms)) == this_week)
        .collect();
    let explained = week_chunks
        .iter()
        .filter(|chunk| chunk.is_explained())
        .count();
    let shallow = week_chunks
        .iter()
        .filter(|chunk| chunk.is_explained_shallowly())
        .count();
    let first = if week_chunks.is_empty() {
        Answer {
            question: QUESTIONS[0],
            answer: None,
            detail: "Not enough data yet: no pasted or generated chunks this week.".to_string(),
        }
    } else {
        let share = explained * 100 / week_chunks.len();
        let total = week_chunks.len();
        let noun = if total == 1 { "chunk" } else { "chunks" };
        let mut answer =
            format!("You explained {explained} of this week's {total} {noun} ({share}%).");
        if shallow > 0 {
            let (count, verb) = if shallow == 1 {
                ("1 more".to_string(), "has")
            } else {
                (format!("{shallow} more"), "have")
            };
            answer.push_str(&format!(
                " {count} {verb} only a shallow explanation, which does not count."
            ));
        }
        let detail = if explained == week_chunks.len() {
            "All of them: the Explanation Requirement is met this week."
        } else if shallow > 0 {
            "Explain the rest from memory, and deepen the shallow ones: say why, name what the code uses."
        } else {
            "Explain the rest from memory: the Explanation Requirement."
        };
        Answer {
            question: QUESTIONS[0],
            answer: Some(answer),
            detail: detail.to_string(),
        }
    };

    let second = match (calibration.kept_share, calibration.no_ai_pace, calibration.assisted_pace) {
        (Some(share), Some(no_ai), Some(assisted)) => Answer {
            question: QUESTIONS[1],
            answer: Some(format!("Without AI you keep {:.0}% of your pace.", share * 100.0)),
            detail: format!("{no_ai:.0} typed lines per active hour in calibration sessions, against {assisted:.0} lines per active hour with AI."),
        },
        (_, None, _) => Answer {
            question: QUESTIONS[1],
            answer: None,
            detail: "Not enough data yet: hold a calibration session of at least five active minutes (start one from your editor or with `whetstone calibrate start`).".to_string(),
        },
        _ => Answer {
            question: QUESTIONS[1],
            answer: None,
            detail: "Not enough data yet: no assisted editing time outside calibration sessions in this period.".to_string(),
        },
    };

    let feels: Vec<(u64, u8)> = sessions
        .iter()
        .filter_map(|session| session.feel.map(|feel| (session.started_ms, feel)))
        .collect();
    let third = if feels.len() < 2 {
        Answer {
            question: QUESTIONS[2],
            answer: None,
            detail: "Not enough data yet: rate at least two calibration sessions (1 struggled … 5 smooth) to see a trend.".to_string(),
        }
    } else {
        let half = feels.len() / 2;
        let average = |values: &[(u64, u8)]| {
            values.iter().map(|(_, feel)| f64::from(*feel)).sum::<f64>() / values.len() as f64
        };
        let (earlier, later) = (average(&feels[..half]), average(&feels[half..]));
        let trend = if later > earlier + 0.25 {
            "rising: the work without AI feels easier than it did"
        } else if later < earlier - 0.25 {
            "falling: the work without AI feels harder than it did"
        } else {
            "flat"
        };
        Answer {
            question: QUESTIONS[2],
            answer: Some(format!(
                "Calibration feel is {trend} ({earlier:.1} → {later:.1} of 5)."
            )),
            detail: format!("From {} rated sessions.", feels.len()),
        }
    };

    let fourth = match feels.last() {
        Some((_, feel)) => Answer {
            question: QUESTIONS[3],
            answer: Some(format!(
                "Your last calibration session felt {feel} of 5 ({}).",
                feel_word(*feel)
            )),
            detail: "1 struggled … 5 smooth.".to_string(),
        },
        None => Answer {
            question: QUESTIONS[3],
            answer: None,
            detail: "Not enough data yet: end a calibration session and say how it felt."
                .to_string(),
        },
    };
    vec![first, second, third, fourth]
}

pub fn feel_word(feel: u8) -> &'static str {
    match feel {
        1 => "struggled",
        2 => "hard going",
        3 => "workable",
        4 => "good",
        _ => "smooth",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calibration::EndReason;
    use crate::chunk::{ChunkId, Explanation, score_explanation};

    const DAY: u64 = DAY_MS;
    /// A Monday: day 20,003 (2024-10-07).
    const MONDAY: u64 = 20_003 * DAY;

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
            items: vec!["fn x".into()],
            identifiers: Vec::new(),
            reworked_chars: 0,
            syntax_stale: false,
            rule: None,
            copied_from: None,
            agent: None,
            model: None,
        }
    }

    /// Passes the bar: over 20 words, with a reason.
    const PASSING: &str = "It keeps the parsed header in a small map because the lookups happen on \
                           every request, and a linear scan over the raw bytes would be slower \
                           once a client sends more than a handful of fields.";

    /// A chunk whose only explanation is under the bar.
    fn explained_shallowly(id: u64, created_ms: u64, class: Class) -> Chunk {
        let mut chunk = chunk(id, created_ms, Some(class), false);
        chunk.explanation = Some(Explanation {
            text: "it merges typed events".into(),
            recorded_ms: created_ms,
            score: score_explanation("it merges typed events", &[]),
        });
        chunk
    }

    fn input(now_ms: u64) -> ReportInput {
        ReportInput {
            now_ms,
            dismissals: Vec::new(),
            since_ms: now_ms.saturating_sub(28 * DAY),
            days: Vec::new(),
            sessions: Vec::new(),
            files: Vec::new(),
        }
    }

    #[test]
    fn with_no_data_every_question_says_so() {
        let report = compute(&input(MONDAY + 3 * DAY));
        assert_eq!(report.questions.len(), 4);
        for answer in &report.questions {
            assert_eq!(answer.answer, None, "{}", answer.question);
            assert!(
                answer.detail.starts_with("Not enough data yet"),
                "{}",
                answer.detail
            );
        }
        assert_eq!(report.weeks.len(), 5);
        assert_eq!(report.debt_lines, 0.0);
    }

    #[test]
    fn debt_counts_unexplained_core_and_half_of_unpractised_repeatable() {
        let now = MONDAY + 2 * DAY;
        let mut practised = chunk(4, MONDAY, Some(Class::Repeatable), false);
        practised.practiced_ms.push(MONDAY + DAY + 1);
        let mut report_input = input(now);
        report_input.files.push(FileInput {
            workspace: "/w".into(),
            path: "src/a.rs".into(),
            lines: ByOrigin::from([60, 40, 0, 0, 0, 0]),
            chunks: vec![
                (chunk(1, MONDAY, Some(Class::Core), false), 10),
                (chunk(2, MONDAY, Some(Class::Core), true), 10),
                (chunk(3, MONDAY, Some(Class::Repeatable), false), 10),
                (practised, 10),
            ],
        });
        let report = compute(&report_input);
        assert_eq!(report.debt_lines, 15.0);
        assert_eq!(report.workspaces[0].chunks.core, 2);
        // Chunk 3 was due a day after classification and was not reproduced.
        assert_eq!(report.practice_due.len(), 1);
        assert_eq!(report.practice_due[0].chunk, 3);
        assert_eq!(report.practice_due[0].step, "1 day");
        assert_eq!(
            report.questions[0].answer.as_deref(),
            Some("You explained 1 of this week's 4 chunks (25%).")
        );
    }

    /// A shallow explanation ("it merges typed events", 12/100) counted as explained: the report
    /// said 100% and the debt dropped, while the chunk's meaning was never written down.
    #[test]
    fn a_shallow_explanation_counts_as_unexplained() {
        let now = MONDAY + 2 * DAY;
        let mut report_input = input(now);
        report_input.files.push(FileInput {
            workspace: "/w".into(),
            path: "src/a.rs".into(),
            lines: ByOrigin::from([60, 30, 0, 0, 0, 0]),
            chunks: vec![
                (explained_shallowly(1, MONDAY, Class::Core), 10),
                (explained_shallowly(2, MONDAY, Class::Transient), 10),
                (chunk(3, MONDAY, Some(Class::Core), true), 10),
            ],
        });
        let report = compute(&report_input);
        assert_eq!(
            report.debt_lines, 10.0,
            "only the shallow core chunk is debt"
        );
        let workspace = &report.workspaces[0];
        assert_eq!(
            (
                workspace.explained_lines,
                workspace.unexplained_lines,
                workspace.shallow_lines
            ),
            (10, 20, 20)
        );
        let week = report.explained_trend.last().unwrap();
        assert_eq!(
            (
                week.explained_lines,
                week.unexplained_lines,
                week.shallow_lines
            ),
            (10, 20, 20)
        );
        assert_eq!(
            report.questions[0].answer.as_deref(),
            Some(
                "You explained 1 of this week's 3 chunks (33%). 2 more have only a shallow \
                 explanation, which does not count."
            )
        );
        assert!(
            report.questions[0]
                .detail
                .contains("deepen the shallow ones"),
            "{}",
            report.questions[0].detail
        );
    }

    #[test]
    fn every_chunk_explained_asks_for_no_more() {
        let now = MONDAY + 2 * DAY;
        let mut report_input = input(now);
        report_input.files.push(FileInput {
            workspace: "/w".into(),
            path: "src/a.rs".into(),
            lines: ByOrigin::from([60, 10, 0, 0, 0, 0]),
            chunks: vec![(chunk(1, MONDAY, Some(Class::Core), true), 10)],
        });
        let report = compute(&report_input);
        assert_eq!(
            report.questions[0].answer.as_deref(),
            Some("You explained 1 of this week's 1 chunk (100%).")
        );
        assert!(
            !report.questions[0].detail.contains("the rest"),
            "{}",
            report.questions[0].detail
        );
    }

    #[test]
    fn kept_share_compares_calibration_with_assisted_pace() {
        let now = MONDAY + 3 * DAY;
        let mut report_input = input(now);
        let mut session = CalibrationSession::start(None, None, MONDAY + DAY);
        for minute in 1..=60 {
            session.record_edit(
                "file:///a.rs",
                MONDAY + DAY + minute * 60_000,
                10,
                if minute % 2 == 0 { 1 } else { 0 },
            );
        }
        session.end(MONDAY + DAY + 60 * 60_000, EndReason::Stopped);
        session.feel = Some(3);
        report_input.sessions.push(session);
        report_input.days.push(DayActivity {
            day: 20_004,
            lines: ByOrigin::from([90, 60, 0, 0, 0, 0]),
            typed_chars: 0,
            active_ms: 3 * 3_600_000,
            calibration_lines: ByOrigin::from([30, 0, 0, 0, 0, 0]),
            calibration_active_ms: 3_600_000,
        });
        let report = compute(&report_input);
        assert_eq!(report.calibration.no_ai_pace, Some(30.0));
        assert_eq!(report.calibration.assisted_pace, Some(60.0));
        assert_eq!(
            report.questions[1].answer.as_deref(),
            Some("Without AI you keep 50% of your pace.")
        );
        assert_eq!(
            report.questions[2].answer, None,
            "one rated session is no trend"
        );
        assert!(
            report.questions[3]
                .answer
                .as_deref()
                .unwrap_or("")
                .contains("3 of 5")
        );
    }
}
