//! What the command line reads and writes in the store outside the language server: the input of
//! the capability report ([`report_input`]) and its terminal summary ([`summary`]), the ownership
//! table of `whetstone status` ([`ownership_rows`], [`ownership_table`]). Calibration sessions
//! have their own home, shared with the editors: [`crate::calibration`].
//!
//! The store is read as it is: a damaged record is skipped with a warning (the store has moved it
//! aside), never failing the whole answer; a record of a newer version is skipped too. Times are
//! shown in UTC, as `YYYY-MM-DD HH:MM UTC`: no time zone database is consulted.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::core::by_origin::ByOrigin;
use crate::core::chunk::{Chunk, ChunkId, Class};
use crate::core::date::{date_of_ms, day_of, week_start};
use crate::core::line_map::LineMap;
use crate::core::line_map::Origin;
use crate::core::report::{ClassCounts, FileInput, Report, ReportInput};
use crate::store::{FileKey, FileRecord, FileSummary, Store, StoreError, normalize_lexically};

/// The report's period when none is asked for: four whole weeks.
pub const DEFAULT_REPORT_DAYS: u32 = 28;
/// The start of a report's period of `days` calendar days that ends with today (UTC): a 28-day
/// report covers today and the 27 days before it, from midnight, and says so.
pub fn period_start(now_ms: u64, days: u32) -> u64 {
    u64::from(day_of(now_ms).saturating_sub(days.saturating_sub(1))) * crate::core::date::DAY_MS
}

/// The longest period a report covers, from the command line and from an editor alike: ten
/// years.
pub const MAX_REPORT_DAYS: u32 = 3_650;

// ---- the report's input ------------------------------------------------------------------------

/// Everything `core::report::compute` needs, read from `store`: the days from the Monday of the
/// week `since_ms` falls in (the pace trend weighs whole weeks), every calibration session, and
/// every file with its lines by origin and its chunks with their current sizes.
pub fn report_input(
    store: &dyn Store,
    now_ms: u64,
    since_ms: u64,
) -> Result<ReportInput, StoreError> {
    let first_day = week_start(day_of(since_ms));
    let days = past_damage("the activity ledger", || store.activity(first_day))?;
    let sessions = past_damage("the calibration sessions", || store.calibration_sessions())?;
    // The records without their line keys: a year of files holds millions, which the report
    // never looks at.
    let files = stored_files(store, None)?
        .into_iter()
        .map(|(key, summary)| file_input_of(key, summary))
        .collect();
    let dismissals = past_damage("the dismissals", || store.dismissals())?
        .into_iter()
        .map(|(_, dismissal)| dismissal)
        .collect();
    Ok(ReportInput {
        now_ms,
        since_ms,
        days,
        sessions,
        files,
        dismissals,
    })
}

/// A file as the report sees it. Lines are counted as a person counts them (a trailing empty line
/// after the last line break is not one); each chunk comes with the lines it holds now, top to
/// bottom, and a chunk that holds no line any more is left out.
pub fn file_input(key: &FileKey, record: &FileRecord) -> FileInput {
    file_input_of(key.clone(), FileSummary::of(record.clone()))
}

/// [`file_input`] of a record without its line keys, taking the key and chunks it keeps rather
/// than copying them.
fn file_input_of(key: FileKey, summary: FileSummary) -> FileInput {
    let counts = summary.map.origin_counts(counted_lines(&summary));
    let (order, sizes) = chunk_sizes(&summary.map);
    // Ids are unique within a record (the store refuses a record naming one twice).
    let mut by_id: HashMap<ChunkId, Chunk> = summary
        .chunks
        .into_iter()
        .map(|chunk| (chunk.id, chunk))
        .collect();
    let chunks = order
        .into_iter()
        .filter_map(|id| {
            let chunk = by_id.remove(&id)?;
            Some((chunk, sizes.get(&id).copied().unwrap_or(0)))
        })
        .collect();
    FileInput {
        workspace: key.workspace,
        path: key.path,
        lines: counts.map(|_, count| count as u64),
        chunks,
    }
}

/// The chunks holding lines in `map`, top to bottom, and the lines each holds.
fn chunk_sizes(map: &LineMap) -> (Vec<ChunkId>, HashMap<ChunkId, u64>) {
    let mut order: Vec<ChunkId> = Vec::new();
    let mut sizes: HashMap<ChunkId, u64> = HashMap::new();
    for (id, range) in map.chunk_runs() {
        let size = sizes.entry(id).or_insert_with(|| {
            order.push(id);
            0
        });
        *size += range.len() as u64;
    }
    (order, sizes)
}

/// The file's lines without a trailing empty one (its last line key is blank and it is not the
/// only line), as `Document::counted_lines` counts an open document.
fn counted_lines(summary: &FileSummary) -> usize {
    let lines = summary.map.len();
    let trailing_empty = lines > 1 && summary.last_line_blank;
    lines - usize::from(trailing_empty)
}

/// Every stored file at or under `folder` (all without one) without its line keys, sorted by
/// key; damaged and newer records are left out with a warning (by the store, which moves a
/// damaged one aside).
pub fn stored_files(
    store: &dyn Store,
    folder: Option<&Path>,
) -> Result<Vec<(FileKey, FileSummary)>, StoreError> {
    past_damage("the files", || store.file_summaries(folder))
}

/// `read`'s list despite damaged records: the store moves every damaged record it meets aside,
/// reports the first and lists the rest on the next call, so a damaged answer is read again.
fn past_damage<T>(
    what: &str,
    read: impl Fn() -> Result<Vec<T>, StoreError>,
) -> Result<Vec<T>, StoreError> {
    for _ in 0..3 {
        match read() {
            Err(error @ StoreError::Damaged { .. }) => {
                tracing::warn!("reading {what}: {error}");
            }
            other => return other,
        }
    }
    tracing::warn!("reading {what}: still damaged after three tries; it is left out");
    Ok(Vec::new())
}

// ---- the terminal summary of the report --------------------------------------------------------

/// The report in a few lines for the terminal: the four questions and their answers, the share of
/// the pace kept without AI, the capability debt and how much practice is due.
pub fn summary(report: &Report) -> String {
    let mut text = format!(
        "whetstone report, {} to {} (UTC)\n",
        date_of_ms(report.since_ms),
        date_of_ms(report.generated_ms)
    );
    for (number, answer) in report.questions.iter().enumerate() {
        text.push_str(&format!("\n{}. {}\n", number + 1, answer.question));
        if let Some(said) = &answer.answer {
            text.push_str(&format!("   {said}\n"));
        }
        text.push_str(&format!("   {}\n", answer.detail));
    }
    let calibration = &report.calibration;
    let kept = match (
        calibration.kept_share,
        calibration.no_ai_pace,
        calibration.assisted_pace,
    ) {
        (Some(share), Some(no_ai), Some(assisted)) => format!(
            "Without AI you keep {:.0}% of your pace ({no_ai:.0} typed lines per active hour \
             in calibration sessions, {assisted:.0} lines per active hour with AI).",
            share * 100.0
        ),
        _ => "Kept share of your pace without AI: not enough data yet (it needs a calibration \
              session of five active minutes and editing time outside sessions)."
            .to_string(),
    };
    text.push_str(&format!("\n{kept}\n"));
    text.push_str(&format!(
        "Capability debt: {} lines (unexplained core chunks, and half of the repeatable ones not \
         reproduced on time).\n",
        format_lines(report.debt_lines)
    ));
    for agent in &report.agents {
        text.push_str(&format!(
            "Declared by {}: {} lines in {} chunks.\n",
            crate::render::agent_name(agent),
            agent.lines,
            agent.chunks
        ));
    }
    let due = report.practice_due.len();
    text.push_str(&match due {
        0 => "Practice due: nothing.\n".to_string(),
        1 => "Practice due: 1 repeatable chunk to reproduce from memory.\n".to_string(),
        _ => format!("Practice due: {due} repeatable chunks to reproduce from memory.\n"),
    });
    text.push_str(&format!(
        "Detection as you judged it — {}\n",
        crate::core::judged::sentence(&report.detection)
    ));
    text.push_str("\nThe full report: whetstone report --markdown, --html FILE or --json.\n");
    text
}

/// Lines of debt: whole when they are, else to one decimal (half lines come from repeatable
/// chunks).
fn format_lines(lines: f64) -> String {
    // An empty float sum is -0.0, which prints as "-0".
    let lines = if lines == 0.0 { 0.0 } else { lines };
    if lines.fract() == 0.0 {
        format!("{lines:.0}")
    } else {
        format!("{lines:.1}")
    }
}

// ---- whetstone status --------------------------------------------------------------------------

/// One file's ownership, as `whetstone status` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnershipRow {
    pub key: FileKey,
    /// Its workspace joined with its path.
    pub path: PathBuf,
    /// Lines by origin (indexed by `Origin as usize`), counted as a person counts them.
    pub lines: ByOrigin<u64>,
    pub chunks: ClassCounts,
    /// Lines in chunks, and the part of them in chunks with an explanation that passes the bar (a
    /// shallow one counts as none).
    pub chunk_lines: u64,
    pub explained_lines: u64,
    pub debt_lines: f64,
}

impl OwnershipRow {
    /// The share of the chunks' lines that is explained; None without chunks.
    pub fn explained_share(&self) -> Option<f64> {
        (self.chunk_lines > 0).then(|| self.explained_lines as f64 / self.chunk_lines as f64)
    }
}

/// Where a stored file is on disk: its workspace joined with its path (a file outside every
/// workspace is keyed by its absolute path).
pub fn file_path(key: &FileKey) -> PathBuf {
    key.full_path()
}

/// Detection as the user judged it for the stored files at or under `path_filter` (all without
/// one): their chunks flagged from `since_ms` on and the dismissals made in those files.
pub fn detection(
    store: &dyn Store,
    since_ms: u64,
    path_filter: Option<&Path>,
) -> Result<crate::core::judged::Detection, StoreError> {
    let files = stored_files(store, path_filter)?;
    detection_of(store, &files, since_ms, path_filter)
}

/// [`detection`] for `files`, read already (those at or under `path_filter`): only the
/// dismissals are read from `store`.
pub fn detection_of(
    store: &dyn Store,
    files: &[(FileKey, FileSummary)],
    since_ms: u64,
    path_filter: Option<&Path>,
) -> Result<crate::core::judged::Detection, StoreError> {
    let filter = path_filter.map(normalize_lexically);
    let dismissals: Vec<_> = past_damage("the dismissals", || store.dismissals())?
        .into_iter()
        .filter(|(key, _)| filter.as_ref().is_none_or(|filter| key.is_under(filter)))
        .map(|(_, dismissal)| dismissal)
        .collect();
    Ok(crate::core::judged::judged(
        files.iter().flat_map(|(_, summary)| &summary.chunks),
        &dismissals,
        since_ms,
    ))
}

/// The ownership of every stored file at or under `path_filter` (a file or a folder, absolute;
/// compared after lexical normalisation), or of every file without one, sorted by path. Debt is
/// weighed at `now_ms`.
pub fn ownership_rows(
    store: &dyn Store,
    now_ms: u64,
    path_filter: Option<&Path>,
) -> Result<Vec<OwnershipRow>, StoreError> {
    Ok(ownership_rows_of(
        &stored_files(store, path_filter)?,
        now_ms,
    ))
}

/// [`ownership_rows`] of `files`, read already.
pub fn ownership_rows_of(files: &[(FileKey, FileSummary)], now_ms: u64) -> Vec<OwnershipRow> {
    let mut rows: Vec<OwnershipRow> = files
        .iter()
        .map(|(key, summary)| {
            let counts = summary.map.origin_counts(counted_lines(summary));
            let mut row = OwnershipRow {
                path: file_path(key),
                key: key.clone(),
                lines: counts.map(|_, count| count as u64),
                chunks: ClassCounts::default(),
                chunk_lines: 0,
                explained_lines: 0,
                debt_lines: 0.0,
            };
            let (order, sizes) = chunk_sizes(&summary.map);
            let by_id: HashMap<ChunkId, &Chunk> = summary
                .chunks
                .iter()
                .map(|chunk| (chunk.id, chunk))
                .collect();
            // Top to bottom; a chunk that holds no line any more is left out, as in the report.
            for id in order {
                let (Some(chunk), Some(&lines)) = (by_id.get(&id), sizes.get(&id)) else {
                    continue;
                };
                match chunk.class {
                    Some(Class::Transient) => row.chunks.transient += 1,
                    Some(Class::Repeatable) => row.chunks.repeatable += 1,
                    Some(Class::Core) => row.chunks.core += 1,
                    None => row.chunks.unclassified += 1,
                }
                row.chunk_lines += lines;
                if chunk.is_explained() {
                    row.explained_lines += lines;
                }
                row.debt_lines += chunk.debt_weight(now_ms) * lines as f64;
            }
            row
        })
        .collect();
    rows.sort_by(|left, right| left.path.cmp(&right.path));
    rows
}

const TABLE_HEADER: [&str; 13] = [
    "file",
    "typed",
    "pasted",
    "generated",
    "moved",
    "external",
    "restored",
    "unclassified",
    "transient",
    "repeatable",
    "core",
    "explained",
    "debt",
];

/// The rows as a table with a total line (when there is more than one), then what the last columns
/// mean. Files are named relative to `base` when they are under it, else by their path in their
/// workspace.
pub fn ownership_table(rows: &[OwnershipRow], base: Option<&Path>) -> String {
    let base = base.map(normalize_lexically);
    let mut cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            let relative = base
                .as_ref()
                .and_then(|base| row.path.strip_prefix(base).ok())
                .filter(|relative| !relative.as_os_str().is_empty());
            let name = match relative {
                Some(relative) => relative.display().to_string(),
                None => row.key.path.clone(),
            };
            table_cells(name, row)
        })
        .collect();
    if rows.len() > 1 {
        let mut total = OwnershipRow {
            key: FileKey {
                workspace: String::new(),
                path: String::new(),
            },
            path: PathBuf::new(),
            lines: ByOrigin::default(),
            chunks: ClassCounts::default(),
            chunk_lines: 0,
            explained_lines: 0,
            debt_lines: 0.0,
        };
        for row in rows {
            total.lines += row.lines;
            total.chunks.unclassified += row.chunks.unclassified;
            total.chunks.transient += row.chunks.transient;
            total.chunks.repeatable += row.chunks.repeatable;
            total.chunks.core += row.chunks.core;
            total.chunk_lines += row.chunk_lines;
            total.explained_lines += row.explained_lines;
            total.debt_lines += row.debt_lines;
        }
        cells.push(table_cells(format!("total ({} files)", rows.len()), &total));
    }
    let mut widths: Vec<usize> = TABLE_HEADER.iter().map(|header| header.len()).collect();
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |row: &[String]| {
        let mut text = String::new();
        for (index, (cell, width)) in row.iter().zip(&widths).enumerate() {
            if index == 0 {
                text.push_str(&format!("{cell:<width$}"));
            } else {
                text.push_str(&format!("  {cell:>width$}"));
            }
        }
        format!("{}\n", text.trim_end())
    };
    let header: Vec<String> = TABLE_HEADER.iter().map(|name| name.to_string()).collect();
    let mut table = line(&header);
    for row in &cells {
        table.push_str(&line(row));
    }
    table.push_str(
        "\nlines by origin; chunks by class; explained: share of the chunks' lines with an \
         explanation that passes (a shallow one counts as none); debt: lines of unexplained core \
         chunks plus half of the repeatable ones not reproduced on time\n",
    );
    table
}

fn table_cells(name: String, row: &OwnershipRow) -> Vec<String> {
    let mut cells = vec![name];
    cells.extend(
        Origin::ALL
            .into_iter()
            .map(|origin| row.lines[origin].to_string()),
    );
    cells.extend(
        [
            row.chunks.unclassified,
            row.chunks.transient,
            row.chunks.repeatable,
            row.chunks.core,
        ]
        .map(|count| count.to_string()),
    );
    cells.push(match row.explained_share() {
        Some(share) => format!("{:.0}%", share * 100.0),
        None => "-".to_string(),
    });
    cells.push(format_lines(row.debt_lines));
    cells
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::calibration::{Breach, CalibrationSession, EndReason};
    use crate::core::chunk::{Chunk, Explanation, score_explanation};
    use crate::core::date::DAY_MS;
    use crate::core::engine::FileSnapshot;
    use crate::core::line_map::LineState;
    use crate::core::text::LineKey;
    use crate::store::MemoryStore;
    use crate::store::tests::key;

    const MINUTE: u64 = 60_000;
    /// 2024-10-07 (a Monday) 00:00 UTC.
    const MONDAY: u64 = 20_003 * DAY_MS;

    /// An explanation that passes the bar: over 20 words, with a reason (no identifiers to name).
    const PASSING: &str = "It copies the header into a small map because every handler looks \
                           fields up by name, and scanning the raw bytes each time would be slower \
                           than the one copy once a request carries more than a few fields.";

    fn chunk(id: u64, class: Option<Class>, explained: bool) -> Chunk {
        Chunk {
            id: ChunkId(id),
            uri: String::new(),
            origin: Origin::Pasted,
            created_ms: MONDAY,
            inserted_lines: 3,
            class,
            classified_ms: class.map(|_| MONDAY),
            explanation: explained.then(|| Explanation {
                text: PASSING.into(),
                recorded_ms: MONDAY,
                score: score_explanation(PASSING, &[]),
            }),
            practiced_ms: Vec::new(),
            items: vec![format!("fn item_{id}")],
            identifiers: Vec::new(),
            reworked_chars: 0,
            syntax_stale: false,
            rule: None,
            copied_from: None,
            agent: None,
            model: None,
        }
    }

    /// A record from one text line per state (`""` for an empty line).
    fn record(lines: &[(&str, LineState)], chunks: Vec<Chunk>) -> FileRecord {
        FileRecord {
            snapshot: FileSnapshot {
                line_keys: lines.iter().map(|(text, _)| LineKey::of(text)).collect(),
                map: LineMap::from_states(lines.iter().map(|(_, state)| *state)),
            },
            chunks,
        }
    }

    fn in_chunk(origin: Origin, id: u64) -> LineState {
        LineState::new(origin, Some(ChunkId(id)))
    }

    /// Two files in one workspace: `src/main.rs` with a pasted core chunk (explained) and a
    /// generated transient one, then the empty line after its last line break; `src/lib.rs` with
    /// an unexplained core chunk split in two by a typed line.
    fn two_files() -> MemoryStore {
        let typed = LineState::TYPED;
        let store = MemoryStore::new();
        store
            .save_file(
                &key("/w", "src/main.rs"),
                &record(
                    &[
                        ("use std::io;", typed),
                        ("fn a() {", in_chunk(Origin::Pasted, 1)),
                        ("    io::stdin();", in_chunk(Origin::Pasted, 1)),
                        ("}", in_chunk(Origin::Pasted, 1)),
                        ("fn b() {}", in_chunk(Origin::Generated, 2)),
                        ("fn c() {}", LineState::new(Origin::Restored, None)),
                        ("", typed),
                    ],
                    vec![
                        chunk(1, Some(Class::Core), true),
                        Chunk {
                            origin: Origin::Generated,
                            ..chunk(2, Some(Class::Transient), false)
                        },
                    ],
                ),
            )
            .expect("save main");
        store
            .save_file(
                &key("/w", "src/lib.rs"),
                &record(
                    &[
                        ("fn d() {", in_chunk(Origin::Pasted, 3)),
                        ("}", in_chunk(Origin::Pasted, 3)),
                        ("// mine", typed),
                        ("fn e() {}", in_chunk(Origin::Pasted, 3)),
                        ("", LineState::new(Origin::Moved, None)),
                        ("fn f() {}", LineState::new(Origin::Moved, None)),
                    ],
                    vec![chunk(3, Some(Class::Core), false), chunk(9, None, false)],
                ),
            )
            .expect("save lib");
        store
    }

    #[test]
    fn report_input_reads_files_chunks_sessions_and_days() {
        let store = two_files();
        let wednesday = MONDAY + 2 * DAY_MS;
        let mut session =
            CalibrationSession::start(Some("parser".into()), None, wednesday + MINUTE);
        session.record_breach(Breach {
            at_ms: wednesday + 2 * MINUTE,
            uri: "file:///w/src/main.rs".into(),
            origin: Origin::Pasted,
            lines: 3,
            chunk: Some(ChunkId(1)),
        });
        session.end(wednesday + 3 * MINUTE, EndReason::Stopped);
        session.feel = Some(2);
        store.save_calibration_session(&session).expect("session");
        let day = |day: u32, typed: u64| crate::core::activity::DayActivity {
            day,
            lines: ByOrigin::from([typed, 0, 0, 0, 0, 0]),
            ..Default::default()
        };
        store
            .add_activity(&[day(20_001, 5), day(20_003, 7), day(20_004, 1)])
            .expect("days");

        // Since Wednesday: the days come from that week's Monday on.
        let now = MONDAY + 10 * DAY_MS;
        let input = report_input(&store, now, wednesday).expect("input");
        assert_eq!(input.now_ms, now);
        assert_eq!(input.since_ms, wednesday);
        assert_eq!(
            input.days.iter().map(|day| day.day).collect::<Vec<_>>(),
            vec![20_003, 20_004]
        );
        assert_eq!(input.sessions, vec![session]);

        // Path, lines by origin, (chunk id, lines) for each chunk.
        type Seen<'a> = (&'a str, ByOrigin<u64>, Vec<(u64, u64)>);
        let files: Vec<Seen> = input
            .files
            .iter()
            .map(|file| {
                assert_eq!(file.workspace, "/w");
                (
                    file.path.as_str(),
                    file.lines,
                    file.chunks
                        .iter()
                        .map(|(chunk, lines)| (chunk.id.0, *lines))
                        .collect(),
                )
            })
            .collect();
        assert_eq!(
            files,
            vec![
                // The blank line before the last one counts; chunk 9 holds no line: left out.
                (
                    "src/lib.rs",
                    ByOrigin::from([1, 3, 0, 2, 0, 0]),
                    vec![(3, 3)]
                ),
                // The trailing empty line does not count.
                (
                    "src/main.rs",
                    ByOrigin::from([1, 3, 1, 0, 0, 1]),
                    vec![(1, 3), (2, 1)]
                ),
            ]
        );
        let report = crate::core::report::compute(&input);
        assert_eq!(report.debt_lines, 3.0);
        assert_eq!(report.calibration.sessions[0].feel, Some(2));
    }

    #[test]
    fn a_lone_empty_line_counts() {
        let input = file_input(
            &key("", "/a.rs"),
            &record(&[("", LineState::TYPED)], vec![]),
        );
        assert_eq!(input.lines, ByOrigin::from([1, 0, 0, 0, 0, 0]));
        assert_eq!(input.workspace, "");
        assert_eq!(input.path, "/a.rs");
    }

    #[test]
    fn ownership_rows_filter_by_file_or_folder() {
        let store = two_files();
        store
            .save_file(
                &key("/other", "x.rs"),
                &record(&[("x", LineState::TYPED)], vec![]),
            )
            .expect("save");
        let paths = |filter: Option<&str>| {
            ownership_rows(&store, MONDAY, filter.map(Path::new))
                .expect("rows")
                .into_iter()
                .map(|row| row.path.display().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            paths(None),
            vec!["/other/x.rs", "/w/src/lib.rs", "/w/src/main.rs"]
        );
        assert_eq!(paths(Some("/w")), vec!["/w/src/lib.rs", "/w/src/main.rs"]);
        assert_eq!(paths(Some("/w/src/./lib.rs")), vec!["/w/src/lib.rs"]);
        assert_eq!(paths(Some("/w/src/main")), Vec::<String>::new());
        assert_eq!(paths(Some("/x/../other/")), vec!["/other/x.rs"]);

        let rows = ownership_rows(&store, MONDAY, Some(Path::new("/w"))).expect("rows");
        let main = &rows[1];
        assert_eq!(main.lines, ByOrigin::from([1, 3, 1, 0, 0, 1]));
        assert_eq!(
            main.chunks,
            ClassCounts {
                transient: 1,
                repeatable: 0,
                core: 1,
                unclassified: 0
            }
        );
        assert_eq!((main.explained_lines, main.chunk_lines), (3, 4));
        assert_eq!(main.explained_share(), Some(0.75));
        assert_eq!(main.debt_lines, 0.0);
        assert_eq!(rows[0].debt_lines, 3.0);

        expect_test::expect![[r#"
            file             typed  pasted  generated  moved  external  restored  unclassified  transient  repeatable  core  explained  debt
            src/lib.rs           1       3          0      2         0         0             0          0           0     1         0%     3
            src/main.rs          1       3          1      0         0         1             0          1           0     1        75%     0
            total (2 files)      2       6          1      2         0         1             0          1           0     2        43%     3

            lines by origin; chunks by class; explained: share of the chunks' lines with an explanation that passes (a shallow one counts as none); debt: lines of unexplained core chunks plus half of the repeatable ones not reproduced on time
        "#]]
        .assert_eq(&ownership_table(&rows, Some(Path::new("/w"))));
        // A single file named by itself: its path in its workspace, no total.
        let table = ownership_table(&rows[..1], Some(Path::new("/w/src/lib.rs")));
        assert!(
            table
                .lines()
                .nth(1)
                .unwrap_or("")
                .starts_with("src/lib.rs ")
        );
        assert!(!table.contains("total"));
    }

    #[test]
    fn the_summary_says_when_there_is_not_enough_data() {
        let now = MONDAY + 2 * DAY_MS;
        let report = crate::core::report::compute(&ReportInput {
            now_ms: now,
            dismissals: Vec::new(),
            since_ms: period_start(now, DEFAULT_REPORT_DAYS),
            days: Vec::new(),
            sessions: Vec::new(),
            files: Vec::new(),
        });
        let text = summary(&report);
        // 28 days, today included.
        assert!(text.starts_with("whetstone report, 2024-09-12 to 2024-10-09 (UTC)\n"));
        assert_eq!(text.matches("Not enough data yet").count(), 4);
        assert!(text.contains("Kept share of your pace without AI: not enough data yet"));
        assert!(text.contains("Capability debt: 0 lines"));
        assert!(text.contains("Practice due: nothing."));
    }
}
