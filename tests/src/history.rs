//! A heavy user's history, made up from a seed and written into a store folder through the
//! store's public API: files in several workspaces with their ownership maps and chunks (classes,
//! explanations with their scores, practice, agents on some), dismissals, calibration sessions
//! with their edits and breaches, the ledger of daily activity and the typing pace. Everything is
//! dated backwards from a fixed day, so a seed always gives the same store.
//!
//! [`HistorySize::YEAR`] is the year of a heavy user (5,000 files in 20 workspaces, 50,000 chunks,
//! 400 calibration sessions); a month or a quarter is that year scaled down ([`Span`]).
//! `src/bin/history_bench.rs` measures the store and the command line on such histories.
//!
//! Declarations are left out: the store keeps one for a week after it was made, by the clock, so
//! a history dated from a fixed day would have none left, and neither the report nor `status`
//! reads them.

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::path::Path;

use whetstone::core::activity::DayActivity;
use whetstone::core::calibration::{Breach, CalibrationSession, EndReason};
use whetstone::core::chunk::{
    Chunk, ChunkId, Class, Explanation, PRACTICE_STEPS_MS, Rule, score_explanation,
};
use whetstone::core::date::DAY_MS;
use whetstone::core::engine::{Dismissal, FileSnapshot};
use whetstone::core::line_map::{LineMap, LineState, Origin};
use whetstone::core::pace::{self, TypingPace};
use whetstone::core::text::LineKey;
use whetstone::store::{FileKey, FileRecord, SharedStore, Store, StoreError};

/// The last day of every history unless told otherwise: 2026-11-30 (a Monday), as days since
/// 1970-01-01.
pub const END_DAY: u32 = 20_787;

/// How much history to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistorySize {
    /// Days of history, ending with the end day.
    pub days: u32,
    pub workspaces: usize,
    pub files: usize,
    /// Chunks kept in the files' records (dismissed chunks are extra: one per 16 of these).
    pub chunks: usize,
    /// Calibration sessions; at most three a day.
    pub sessions: usize,
}

impl HistorySize {
    /// A year of a heavy user.
    pub const YEAR: HistorySize = HistorySize {
        days: 365,
        workspaces: 20,
        files: 5_000,
        chunks: 50_000,
        sessions: 400,
    };

    /// The year scaled to `days`, each count rounded and at least one.
    pub fn scaled_to(days: u32) -> HistorySize {
        let scale = |count: usize| {
            let scaled = count as f64 * f64::from(days) / f64::from(HistorySize::YEAR.days);
            (scaled.round() as usize).max(1)
        };
        let year = HistorySize::YEAR;
        HistorySize {
            days: days.max(1),
            workspaces: scale(year.workspaces),
            files: scale(year.files),
            chunks: scale(year.chunks),
            sessions: scale(year.sessions),
        }
    }
}

/// The spans the benchmark compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    Month,
    Quarter,
    Year,
}

impl Span {
    pub const ALL: [Span; 3] = [Span::Month, Span::Quarter, Span::Year];

    pub fn name(self) -> &'static str {
        match self {
            Span::Month => "month",
            Span::Quarter => "quarter",
            Span::Year => "year",
        }
    }

    pub fn parse(name: &str) -> Option<Span> {
        Span::ALL.into_iter().find(|span| span.name() == name)
    }

    pub fn size(self) -> HistorySize {
        match self {
            Span::Month => HistorySize::scaled_to(30),
            Span::Quarter => HistorySize::scaled_to(91),
            Span::Year => HistorySize::YEAR,
        }
    }
}

/// What a history holds, as it was made.
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    pub size: HistorySize,
    /// Each workspace's root and how many files it has, the one with the most files first.
    pub workspaces: Vec<(String, usize)>,
    /// Lines of all files together.
    pub lines: u64,
    pub dismissals: usize,
    pub breaches: usize,
    pub activity_days: usize,
    /// The first moment of the history and the end of its last day.
    pub start_ms: u64,
    pub end_ms: u64,
}

/// Opens the store in `folder` as the server does (it becomes the holder), writes the history
/// into it, flushes and lets it go.
pub fn generate_in_folder(
    folder: &Path,
    seed: u64,
    size: HistorySize,
    end_day: u32,
) -> Result<Generated, String> {
    let store = SharedStore::connect(folder, |_| {})
        .map_err(|failure| format!("cannot open the store in {}: {failure}", folder.display()))?;
    if !store.is_holder() {
        return Err(format!(
            "another process holds the store in {}: a history is written into a store of its own",
            folder.display()
        ));
    }
    let generated = generate(store.as_ref(), seed, size, end_day)?;
    store
        .flush()
        .map_err(|error| format!("cannot flush the history: {error}"))?;
    Ok(generated)
}

/// Writes a history of `size` ending with `end_day` into `store` (which should be empty), made from
/// `seed`. Not flushed.
pub fn generate(
    store: &dyn Store,
    seed: u64,
    size: HistorySize,
    end_day: u32,
) -> Result<Generated, String> {
    if size.sessions > 3 * size.days as usize {
        return Err(format!(
            "{} calibration sessions do not fit in {} days (at most three a day)",
            size.sessions, size.days
        ));
    }
    if size.workspaces == 0 || size.files < size.workspaces {
        return Err(format!(
            "{} files cannot fill {} workspaces",
            size.files, size.workspaces
        ));
    }
    let saving = |what: &str, error: StoreError| format!("cannot save {what}: {error}");
    let mut random = Random::new(seed);
    let end_ms = (u64::from(end_day) + 1) * DAY_MS;
    let start_ms = end_ms - u64::from(size.days) * DAY_MS;
    let span = Window { start_ms, end_ms };

    let files = plan_files(&mut random, size, span);
    let chunks = plan_chunks(&mut random, size, &files, span);
    let mut lines = 0;
    let mut chunks_by_file: Vec<Vec<Chunk>> = vec![Vec::new(); files.len()];
    for (index, planned) in chunks.iter().enumerate() {
        let id = ChunkId(index as u64 + 1);
        let chunk = make_chunk(&mut random, id, planned, &files[planned.file], end_ms);
        chunks_by_file[planned.file].push(chunk);
    }
    for (file, chunks) in files.iter().zip(chunks_by_file) {
        let record = make_record(&mut random, chunks);
        lines += record.snapshot.line_keys.len() as u64;
        store
            .save_file(&file.key, &record)
            .map_err(|error| saving(&format!("file {}", file.key), error))?;
    }

    let dismissals = make_dismissals(&mut random, size, &files, end_ms);
    for (file, dismissal) in &dismissals {
        store
            .record_dismissal(&files[*file].key, dismissal)
            .map_err(|error| saving("a dismissal", error))?;
    }

    let sessions = make_sessions(&mut random, size, &files, chunks.len() as u64, span);
    for session in &sessions {
        store
            .save_calibration_session(session)
            .map_err(|error| saving("a calibration session", error))?;
    }

    let days = make_activity(&mut random, span, &sessions);
    store
        .add_activity(&days)
        .map_err(|error| saving("the activity ledger", error))?;

    let learned = TypingPace {
        fastest_cps: 7.4,
        measured_chars: days.iter().map(|day| day.typed_chars).sum(),
    };
    store
        .set_setting(pace::SETTING, &learned.to_setting())
        .map_err(|error| saving("the typing pace", error))?;

    let mut workspaces: Vec<(String, usize)> = (0..size.workspaces)
        .map(|workspace| {
            let root = workspace_root(workspace);
            let count = files
                .iter()
                .filter(|file| file.key.workspace == root)
                .count();
            (root, count)
        })
        .collect();
    workspaces.sort_by(|left, right| right.1.cmp(&left.1).then(left.0.cmp(&right.0)));
    Ok(Generated {
        size,
        workspaces,
        lines,
        dismissals: dismissals.len(),
        breaches: sessions.iter().map(|session| session.breaches.len()).sum(),
        activity_days: days.len(),
        start_ms,
        end_ms,
    })
}

/// What a store holds, read back: counts and a digest of every record, so two stores can be
/// compared in one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreSummary {
    pub workspaces: usize,
    pub files: usize,
    pub chunks: usize,
    pub lines: u64,
    pub dismissals: usize,
    pub sessions: usize,
    pub breaches: usize,
    pub activity_days: usize,
    /// FNV-1a over the debug form of every key, record, dismissal, session, day and the pace.
    pub digest: u64,
}

pub fn summarize(store: &dyn Store) -> Result<StoreSummary, StoreError> {
    let mut digest = Digest::new();
    let keys = store.files()?;
    let workspaces: BTreeSet<&str> = keys.iter().map(|key| key.workspace.as_str()).collect();
    let mut chunks = 0;
    let mut lines = 0;
    for key in &keys {
        let record = store.load_file(key)?;
        if let Some(record) = &record {
            chunks += record.chunks.len();
            lines += record.snapshot.line_keys.len() as u64;
        }
        digest.add(&(key, record));
    }
    let dismissals = store.dismissals()?;
    digest.add(&dismissals);
    let sessions = store.calibration_sessions()?;
    digest.add(&sessions);
    let days = store.activity(0)?;
    digest.add(&days);
    digest.add(&store.setting(pace::SETTING)?);
    Ok(StoreSummary {
        workspaces: workspaces.len(),
        files: keys.len(),
        chunks,
        lines,
        dismissals: dismissals.len(),
        sessions: sessions.len(),
        breaches: sessions.iter().map(|session| session.breaches.len()).sum(),
        activity_days: days.len(),
        digest: digest.0,
    })
}

// ---- files and chunks ----------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
struct Window {
    start_ms: u64,
    end_ms: u64,
}

impl Window {
    fn length_ms(self) -> u64 {
        self.end_ms - self.start_ms
    }
}

struct PlannedFile {
    key: FileKey,
    uri: String,
    /// When the user first opened it.
    born_ms: u64,
    /// How much AI-made code lands in it, relative to the others.
    weight: f64,
}

struct PlannedChunk {
    file: usize,
    created_ms: u64,
}

const PROJECTS: [&str; 20] = [
    "whetstone",
    "ledger",
    "atlas-api",
    "billing",
    "dotfiles",
    "search-index",
    "mobile-app",
    "infra",
    "scraper",
    "design-system",
    "notebook",
    "auth-service",
    "cli-tools",
    "game-jam",
    "blog",
    "etl-jobs",
    "chat-bot",
    "firmware",
    "docs-site",
    "advent",
];

const FOLDERS: [&str; 12] = [
    "src",
    "src/store",
    "src/render",
    "src/api",
    "src/model",
    "src/util",
    "src/commands",
    "tests",
    "benches",
    "web/src",
    "web/src/components",
    "scripts",
];

const WORDS: [&str; 40] = [
    "parse", "header", "config", "session", "cache", "token", "buffer", "index", "query", "route",
    "render", "table", "chart", "user", "account", "invoice", "retry", "backoff", "stream",
    "frame", "socket", "journal", "record", "schema", "migrate", "report", "summary", "window",
    "layout", "theme", "event", "queue", "worker", "limit", "batch", "merge", "diff", "patch",
    "hash", "digest",
];

fn workspace_root(workspace: usize) -> String {
    let name = PROJECTS[workspace % PROJECTS.len()];
    match workspace / PROJECTS.len() {
        0 => format!("/home/dev/code/{name}"),
        round => format!("/home/dev/code/{name}-{round}"),
    }
}

/// Files spread over the workspaces unevenly (a few large projects, many small ones), each first
/// opened on some day of the span.
fn plan_files(random: &mut Random, size: HistorySize, span: Window) -> Vec<PlannedFile> {
    let workspace_weights: Vec<f64> = (0..size.workspaces)
        .map(|workspace| 1.0 / (workspace as f64 + 1.0).powf(0.8))
        .collect();
    let mut used_paths: Vec<BTreeSet<String>> = vec![BTreeSet::new(); size.workspaces];
    let mut files = Vec::with_capacity(size.files);
    for index in 0..size.files {
        // Every workspace has at least one file.
        let workspace = if index < size.workspaces {
            index
        } else {
            random.weighted(&workspace_weights)
        };
        let folder = *random.pick(&FOLDERS);
        let extension = if folder.starts_with("web") {
            *random.pick(&["ts", "tsx"])
        } else if folder == "scripts" {
            *random.pick(&["py", "sh"])
        } else {
            "rs"
        };
        let stem = format!("{}_{}", random.pick(&WORDS), random.pick(&WORDS));
        let mut path = format!("{folder}/{stem}.{extension}");
        let mut again = 2;
        while used_paths[workspace].contains(&path) {
            path = format!("{folder}/{stem}_{again}.{extension}");
            again += 1;
        }
        used_paths[workspace].insert(path.clone());
        let root = workspace_root(workspace);
        let uri = format!("file://{root}/{path}");
        let born_ms = span.start_ms + random.below(span.length_ms() - DAY_MS / 2);
        let alive = (span.end_ms - born_ms) as f64 / span.length_ms() as f64;
        let weight = (1.0 + 9.0 * random.unit().powi(3)) * alive;
        files.push(PlannedFile {
            key: FileKey {
                workspace: root,
                path,
            },
            uri,
            born_ms,
            weight,
        });
    }
    files
}

/// Which file each chunk lands in and when it was made, oldest first (chunk ids grow with time,
/// as the store hands them out).
fn plan_chunks(
    random: &mut Random,
    size: HistorySize,
    files: &[PlannedFile],
    span: Window,
) -> Vec<PlannedChunk> {
    let weights: Vec<f64> = files.iter().map(|file| file.weight).collect();
    let mut chunks: Vec<PlannedChunk> = (0..size.chunks)
        .map(|_| {
            let file = random.weighted(&weights);
            let born = files[file].born_ms;
            PlannedChunk {
                file,
                created_ms: born + random.below(span.end_ms - born - 60_000),
            }
        })
        .collect();
    chunks.sort_by_key(|chunk| (chunk.created_ms, chunk.file));
    chunks
}

/// A chunk as the user left it: its origin and rule, items and identifiers, and (most of the
/// time) a class, an explanation and practice as far as they were due before the end.
fn make_chunk(
    random: &mut Random,
    id: ChunkId,
    planned: &PlannedChunk,
    file: &PlannedFile,
    end_ms: u64,
) -> Chunk {
    let (origin, rule) = match random.below(100) {
        0..45 => (
            Origin::Pasted,
            *random.pick(&[Rule::Insertion, Rule::Insertion, Rule::Signal]),
        ),
        45..90 => (
            Origin::Generated,
            *random.pick(&[
                Rule::Stream,
                Rule::Acceptances,
                Rule::AgentWrite,
                Rule::Signal,
            ]),
        ),
        _ => (Origin::External, Rule::External),
    };
    let mut chunk = Chunk::new(id, &file.uri, origin, rule, planned.created_ms);
    let size = match random.below(100) {
        0..60 => random.between(5, 20),
        60..90 => random.between(20, 60),
        _ => random.between(60, 250),
    };
    chunk.inserted_lines = size as usize;
    chunk.syntax_stale = false;
    if origin == Origin::Generated && random.chance(0.3) {
        let (agent, model) = *random.pick(&[
            ("claude-code", Some("claude-sonnet-4-5")),
            ("claude-code", Some("claude-opus-4-1")),
            ("codex", Some("gpt-5-codex")),
            ("aider", None),
        ]);
        chunk.rule = Some(Rule::Declared);
        chunk.agent = Some(agent.to_string());
        chunk.model = model.map(str::to_string);
    } else if id.0 > 1 && random.chance(0.03) {
        chunk.rule = Some(Rule::Copy);
        chunk.copied_from = Some(ChunkId(1 + random.below(id.0 - 1)));
    }
    let item_count = random.between(1, 4);
    chunk.items = (0..item_count)
        .map(|_| {
            let kind = *random.pick(&["fn", "fn", "fn", "impl", "struct", "enum", "mod"]);
            format!("{kind} {}_{}", random.pick(&WORDS), random.pick(&WORDS))
        })
        .collect();
    let identifier_count = random.between(4, 40);
    chunk.identifiers = (0..identifier_count)
        .map(|_| format!("{}_{}", random.pick(&WORDS), random.pick(&WORDS)))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if random.chance(0.3) {
        chunk.reworked_chars = random.between(10, 600) as usize;
    }

    let latest = end_ms - 1;
    if random.chance(0.75) {
        let class = *random.pick(&[
            Class::Transient,
            Class::Transient,
            Class::Transient,
            Class::Repeatable,
            Class::Repeatable,
            Class::Core,
            Class::Core,
        ]);
        let classified_ms = (planned.created_ms + random.between(60_000, 3 * DAY_MS)).min(latest);
        chunk.class = Some(class);
        chunk.classified_ms = Some(classified_ms);
        let explained = match class {
            Class::Core => 0.7,
            Class::Repeatable => 0.3,
            Class::Transient => 0.05,
        };
        if random.chance(explained) {
            let recorded_ms = (classified_ms + random.between(60_000, DAY_MS)).min(latest);
            let text = explanation_text(random, &chunk.identifiers);
            let score = score_explanation(&text, &chunk.identifiers);
            chunk.explanation = Some(Explanation {
                text,
                recorded_ms,
                score,
            });
        }
        if class == Class::Repeatable {
            for step in PRACTICE_STEPS_MS {
                let practiced = classified_ms + step + random.below(2 * DAY_MS);
                if practiced > latest || !random.chance(0.6) {
                    break;
                }
                chunk.practiced_ms.push(practiced);
            }
        }
    }
    chunk
}

/// An explanation of 8 to 120 words that names some of the chunk's identifiers and often says why.
fn explanation_text(random: &mut Random, identifiers: &[String]) -> String {
    const FILLER: [&str; 16] = [
        "this", "keeps", "the", "state", "in", "one", "place", "so", "that", "each", "call",
        "reads", "it", "once", "and", "then",
    ];
    const WHY: [&str; 4] = [
        "because a second copy would drift",
        "instead of locking on every read",
        "so it fails if the input is cut short",
        "which avoids a trade-off with memory",
    ];
    let words = random.between(8, 120);
    let mut text = Vec::new();
    while (text.len() as u64) < words {
        match random.below(10) {
            0 if !identifiers.is_empty() => text.push(random.pick(identifiers).clone()),
            1 if random.chance(0.3) => text.push(random.pick(&WHY).to_string()),
            _ => text.push(random.pick(&FILLER).to_string()),
        }
    }
    text.join(" ")
}

/// The file's lines: its chunks (in no particular order) between runs of typed code, a few moved
/// or restored lines, blank lines, common closing lines, and the empty line after the last break.
fn make_record(random: &mut Random, mut chunks: Vec<Chunk>) -> FileRecord {
    random.shuffle(&mut chunks);
    let mut runs: Vec<(LineState, usize)> = Vec::new();
    runs.push((LineState::TYPED, random.between(5, 300) as usize));
    for chunk in &chunks {
        // Some lines of a reworked chunk are gone.
        let lines = chunk
            .inserted_lines
            .saturating_sub(random.below(3) as usize)
            .max(1);
        runs.push((LineState::new(chunk.origin, Some(chunk.id)), lines));
        push_typed_run(random, &mut runs);
    }
    let lines: usize = runs.iter().map(|(_, lines)| lines).sum::<usize>() + 1;
    let map = LineMap::from_states(
        runs.iter()
            .flat_map(|(state, lines)| std::iter::repeat_n(*state, *lines))
            .chain(std::iter::once(LineState::TYPED)),
    );

    let blank = LineKey::of("");
    let common = [
        LineKey::of("}"),
        LineKey::of("    }"),
        LineKey::of("});"),
        LineKey::of("Ok(())"),
    ];
    let mut line_keys = Vec::with_capacity(lines);
    for (state, run) in &runs {
        for line in 0..*run {
            // A chunk starts and ends on a line that is not blank.
            let edge = state.chunk.is_some() && (line == 0 || line + 1 == *run);
            let key = match random.below(100) {
                0..12 if !edge => blank,
                12..24 => *random.pick(&common),
                _ => LineKey {
                    hash: random.next_u64(),
                    weight: random.between(3, 70) as u32,
                },
            };
            line_keys.push(key);
        }
    }
    line_keys.push(blank);
    chunks.sort_by_key(|chunk| chunk.id);
    FileRecord {
        snapshot: FileSnapshot { line_keys, map },
        chunks,
    }
}

/// Typed lines after a chunk, now and then with a few moved or restored ones among them.
fn push_typed_run(random: &mut Random, runs: &mut Vec<(LineState, usize)>) {
    runs.push((LineState::TYPED, random.between(1, 40) as usize));
    if random.chance(0.1) {
        let origin = *random.pick(&[Origin::Moved, Origin::Restored]);
        runs.push((LineState::new(origin, None), random.between(1, 8) as usize));
        runs.push((LineState::TYPED, random.between(1, 10) as usize));
    }
}

/// Chunks the user said were their own (one for every 16 kept), each in a file that existed then.
fn make_dismissals(
    random: &mut Random,
    size: HistorySize,
    files: &[PlannedFile],
    end_ms: u64,
) -> Vec<(usize, Dismissal)> {
    let weights: Vec<f64> = files.iter().map(|file| file.weight).collect();
    let mut dismissals: Vec<(usize, Dismissal)> = (0..size.chunks / 16)
        .map(|_| {
            let file = random.weighted(&weights);
            let born = files[file].born_ms;
            let created_ms = born + random.below(end_ms - born - 3 * 3_600_000);
            let (origin, rule) = *random.pick(&[
                (Origin::Pasted, Rule::Insertion),
                (Origin::Pasted, Rule::Signal),
                (Origin::Generated, Rule::Stream),
                (Origin::Generated, Rule::Acceptances),
            ]);
            let dismissal = Dismissal {
                uri: files[file].uri.clone(),
                origin,
                lines: random.between(3, 30) as usize,
                created_ms,
                dismissed_ms: created_ms + random.between(10_000, 2 * 3_600_000),
                rule: Some(rule),
            };
            (file, dismissal)
        })
        .collect();
    dismissals.sort_by_key(|(_, dismissal)| dismissal.dismissed_ms);
    dismissals
}

// ---- calibration and activity --------------------------------------------------------------------

const LABELS: [&str; 6] = [
    "parser by hand",
    "kata: linked list",
    "refactor without help",
    "tests first",
    "sql from memory",
    "weekly block",
];

const NOTES: [&str; 4] = [
    "slow start, fine after the first half hour",
    "had to look up the borrow rules again",
    "smooth",
    "kept reaching for completion",
];

/// Sessions in distinct slots (morning, afternoon, evening) of random days, so none overlap; each
/// built edit by edit, with its breaches, and ended by the user or by its planned time.
fn make_sessions(
    random: &mut Random,
    size: HistorySize,
    files: &[PlannedFile],
    chunk_count: u64,
    span: Window,
) -> Vec<CalibrationSession> {
    const SLOT_STARTS_MS: [u64; 3] = [8 * 3_600_000, 13 * 3_600_000, 18 * 3_600_000];
    let mut slots: Vec<u64> = (0..u64::from(size.days) * 3).collect();
    random.shuffle(&mut slots);
    let mut chosen: Vec<u64> = slots.into_iter().take(size.sessions).collect();
    chosen.sort_unstable();
    chosen
        .into_iter()
        .map(|slot| {
            let day_start = span.start_ms + slot / 3 * DAY_MS;
            let started_ms =
                day_start + SLOT_STARTS_MS[(slot % 3) as usize] + random.below(3_600_000);
            make_session(random, files, chunk_count, started_ms)
        })
        .collect()
}

fn make_session(
    random: &mut Random,
    files: &[PlannedFile],
    chunk_count: u64,
    started_ms: u64,
) -> CalibrationSession {
    let label = random.chance(0.4).then(|| random.pick(&LABELS).to_string());
    let planned_minutes = random.chance(0.5).then(|| *random.pick(&[25u32, 45, 60]));
    let mut session = CalibrationSession::start(label, planned_minutes, started_ms);
    // A timed session runs to its end; the others are stopped after 20 minutes to 100.
    let time_up = planned_minutes.is_some() && random.chance(0.6);
    let length_ms = match planned_minutes {
        Some(minutes) if time_up => u64::from(minutes) * 60_000,
        _ => random.between(20, 100) * 60_000,
    };
    let session_files: Vec<&str> = (0..random.between(1, 4))
        .map(|_| random.pick(files).uri.as_str())
        .collect();
    let breach_count = if random.chance(0.35) {
        random.between(1, 3)
    } else {
        0
    };
    let mut breach_moments: Vec<u64> = (0..breach_count)
        .map(|_| started_ms + random.below(length_ms))
        .collect();
    breach_moments.sort_unstable();
    let mut breaches = breach_moments.into_iter().peekable();
    let mut last_edit_ms = started_ms;
    loop {
        let at_ms = last_edit_ms
            + match random.below(100) {
                0..90 => random.between(3_000, 60_000),
                90..98 => random.between(60_000, 240_000),
                // A break: longer than the idle gap, so it does not count as work.
                _ => random.between(6 * 60_000, 15 * 60_000),
            };
        if at_ms > started_ms + length_ms {
            break;
        }
        while let Some(breach_ms) = breaches.next_if(|moment| *moment <= at_ms) {
            session.record_breach(Breach {
                at_ms: breach_ms,
                uri: random.pick(&session_files).to_string(),
                origin: *random.pick(&[Origin::Pasted, Origin::Pasted, Origin::Generated]),
                lines: random.between(2, 40),
                chunk: random
                    .chance(0.7)
                    .then(|| ChunkId(1 + random.below(chunk_count.max(1)))),
            });
        }
        let typed_chars = random.between(1, 80);
        let file = *random.pick(&session_files);
        session.record_edit(file, at_ms, typed_chars, typed_chars / 30);
        last_edit_ms = at_ms;
    }
    match session.planned_end_ms() {
        Some(planned_end) if time_up => session.end(planned_end, EndReason::TimeUp),
        _ => session.end(last_edit_ms + random.below(60_000), EndReason::Stopped),
    }
    if random.chance(0.85) {
        session.feel = Some(*random.pick(&[1u8, 2, 3, 3, 4, 4, 4, 5, 5]));
    }
    if random.chance(0.3) {
        session.notes = Some(random.pick(&NOTES).to_string());
    }
    session
}

/// The ledger: most weekdays and some weekend days active, every session's day among them, with
/// each session's typing, breaches and active time counted both in the day and in its calibration
/// part.
fn make_activity(
    random: &mut Random,
    span: Window,
    sessions: &[CalibrationSession],
) -> Vec<DayActivity> {
    let first_day = (span.start_ms / DAY_MS) as u32;
    let last_day = ((span.end_ms - 1) / DAY_MS) as u32;
    let mut days = Vec::new();
    for day in first_day..=last_day {
        // 1970-01-01 was a Thursday: Monday is 0.
        let weekday = (day + 3) % 7;
        let on_that_day: Vec<&CalibrationSession> = sessions
            .iter()
            .filter(|session| (session.started_ms / DAY_MS) as u32 == day)
            .collect();
        let works = if weekday < 5 { 0.92 } else { 0.3 };
        if on_that_day.is_empty() && !random.chance(works) {
            continue;
        }
        let mut activity = DayActivity {
            day,
            ..DayActivity::default()
        };
        let ranges = [(80, 500), (10, 250), (30, 700), (0, 60), (0, 120), (0, 25)];
        for (origin, (low, high)) in Origin::ALL.into_iter().zip(ranges) {
            activity.lines[origin] = random.between(low, high);
        }
        activity.typed_chars = activity.lines[Origin::Typed] * random.between(25, 45);
        activity.active_ms = random.between(90, 480) * 60_000;
        for session in on_that_day {
            activity.lines[Origin::Typed] += session.typed_lines;
            activity.calibration_lines[Origin::Typed] += session.typed_lines;
            for breach in &session.breaches {
                activity.lines[breach.origin] += breach.lines;
                activity.calibration_lines[breach.origin] += breach.lines;
            }
            activity.typed_chars += session.typed_chars;
            activity.active_ms += session.active_ms;
            activity.calibration_active_ms += session.active_ms;
        }
        days.push(activity);
    }
    days
}

// ---- randomness and digests ----------------------------------------------------------------------

/// splitmix64: a few lines, and the same numbers for a seed on every platform and release, which a
/// history that must come out the same needs (a library's generator may change its stream).
struct Random(u64);

impl Random {
    fn new(seed: u64) -> Random {
        Random(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut mixed = self.0;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        mixed ^ (mixed >> 31)
    }

    /// 0 up to `bound` (exclusive); 0 when `bound` is 0. The modulo's bias is far below what a
    /// made-up history cares about.
    fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            0
        } else {
            self.next_u64() % bound
        }
    }

    /// `low` to `high`, both included.
    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.below(high - low + 1)
    }

    /// In [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, probability: f64) -> bool {
        self.unit() < probability
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// An index into `weights`, each as likely as its weight.
    fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut left = self.unit() * total;
        for (index, weight) in weights.iter().enumerate() {
            if left < *weight {
                return index;
            }
            left -= weight;
        }
        weights.len() - 1
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for index in (1..items.len()).rev() {
            let other = self.below(index as u64 + 1) as usize;
            items.swap(index, other);
        }
    }
}

/// FNV-1a over debug forms: enough to tell two stores apart, and stable across runs.
struct Digest(u64);

impl Digest {
    fn new() -> Digest {
        Digest(0xcbf2_9ce4_8422_2325)
    }

    fn add(&mut self, value: &impl Debug) {
        for byte in format!("{value:?}").bytes() {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A few days of a small history: big enough to have every kind of record, small enough for
    /// a debug build to write and read twice in a moment.
    const SMALL: HistorySize = HistorySize {
        days: 10,
        workspaces: 3,
        files: 40,
        chunks: 400,
        sessions: 12,
    };

    fn summary_of(seed: u64) -> (Generated, StoreSummary) {
        let folder = tempfile::tempdir().expect("temp dir");
        let generated =
            generate_in_folder(folder.path(), seed, SMALL, END_DAY).expect("history written");
        let store = SharedStore::connect(folder.path(), |_| {}).expect("store opens again");
        (generated, summarize(store.as_ref()).expect("store reads"))
    }

    #[test]
    fn a_seed_makes_the_same_store_of_the_asked_size() {
        let (generated, summary) = summary_of(7);
        assert_eq!(summary_of(7).1, summary, "same seed, different store");
        assert_ne!(
            summary_of(8).1.digest,
            summary.digest,
            "the seed changes nothing"
        );

        assert_eq!(summary.workspaces, SMALL.workspaces);
        assert_eq!(summary.files, SMALL.files);
        assert_eq!(summary.chunks, SMALL.chunks);
        assert_eq!(summary.sessions, SMALL.sessions);
        assert_eq!(summary.dismissals, SMALL.chunks / 16);
        assert_eq!(summary.lines, generated.lines);
        assert_eq!(summary.breaches, generated.breaches);
        assert_eq!(summary.activity_days, generated.activity_days);
        assert!(summary.activity_days <= SMALL.days as usize && summary.activity_days > 0);
        let files: usize = generated.workspaces.iter().map(|(_, files)| files).sum();
        assert_eq!(files, SMALL.files);
    }

    #[test]
    fn the_year_is_the_asked_figures_and_the_month_a_twelfth_of_it() {
        assert_eq!(Span::Year.size(), HistorySize::YEAR);
        assert_eq!(
            Span::Month.size(),
            HistorySize {
                days: 30,
                workspaces: 2,
                files: 411,
                chunks: 4_110,
                sessions: 33,
            }
        );
    }
}
