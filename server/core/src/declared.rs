//! Declared origins: lines a coding agent says it wrote (`whetstone mark`, an agent's hook),
//! recorded with the agent and the model instead of being guessed from the edits.
//!
//! A [`Declaration`] holds the declared lines' text, not their line numbers: by the time an editor
//! opens the file, lines may have moved. [`locate`] finds them by content (whitespace-blind line
//! keys, as re-anchoring does), preferring the place nearest to where they were declared, and
//! finds nothing rather than a wrong place when they changed since. [`claim`] makes the lines
//! found one chunk of the declared origin, taking over a guessed chunk that lies inside them
//! instead of leaving it beside the declared one. [`DeclaredLog`] is what a store keeps of one
//! file's declarations: the pending ones, and for a while the ids of those already applied, so
//! that a declaration arriving twice (the journal and the holder both bring it) applies once.

use std::collections::HashMap;
use std::ops::Range;

use crate::chunk::{Chunk, ChunkId, Rule};
use crate::chunk_ids::{ChunkIds, new_chunk};
use crate::line_map::{LineMap, LineState, Origin};
use crate::text::LineKey;

/// A declaration older than this is dropped unapplied: its file was not opened for a week.
pub const MAX_AGE_MS: u64 = 7 * 86_400_000;
/// Pending declarations kept per file; past it the oldest go.
pub const MAX_PENDING_PER_FILE: usize = 64;
/// The most lines one declaration may hold...
pub const MAX_DECLARED_LINES: usize = 100_000;
/// ...and the most bytes of text: every window that has the file open is sent it at once.
pub const MAX_DECLARED_BYTES: usize = 4 * 1024 * 1024;
/// Unchanged lines kept on each side of an edit's declared lines, to find them by.
pub const MAX_CONTEXT_LINES: usize = 3;
/// Agent names and model ids are short words; Agent Trace allows model ids of 250 characters.
pub const MAX_AGENT_CHARS: usize = 100;
pub const MAX_MODEL_CHARS: usize = 250;
/// Work allowed to [`locate`] one declaration, in line comparisons: a file of ten thousand equal
/// lines must not cost billions.
const MAX_COMPARISONS: usize = 4_000_000;

/// Lines an agent says it wrote in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declaration {
    /// Unique among declarations (chosen by whoever declares; see the store's log).
    pub id: u64,
    /// `Generated` or `Pasted`.
    pub origin: Origin,
    pub agent: String,
    pub model: Option<String>,
    pub declared_ms: u64,
    /// Where `lines` started (0-based) when they were declared: breaks ties between places
    /// holding the same text, never decides alone.
    pub start_line: usize,
    /// Unchanged lines just above the declared ones (an edit's context), matched, not claimed.
    pub before: Vec<String>,
    /// The declared lines' text, without line breaks.
    pub lines: Vec<String>,
    /// Unchanged lines just below.
    pub after: Vec<String>,
}

impl Declaration {
    /// What makes this declaration unusable, in words, or None.
    pub fn problem(&self) -> Option<String> {
        if !matches!(self.origin, Origin::Generated | Origin::Pasted) {
            return Some(format!(
                "a declared origin is generated or pasted, not {}",
                self.origin.as_str()
            ));
        }
        let agent = self.agent.trim();
        if agent.is_empty() {
            return Some("the agent's name is empty".to_string());
        }
        if agent.chars().count() > MAX_AGENT_CHARS || agent.chars().any(char::is_control) {
            return Some(format!(
                "the agent's name must be at most {MAX_AGENT_CHARS} characters, on one line"
            ));
        }
        if let Some(model) = &self.model
            && (model.trim().is_empty()
                || model.chars().count() > MAX_MODEL_CHARS
                || model.chars().any(char::is_control))
        {
            return Some(format!(
                "the model id must be 1 to {MAX_MODEL_CHARS} characters, on one line"
            ));
        }
        if self.lines.iter().all(|line| line.trim().is_empty()) {
            return Some("the declared lines are all blank".to_string());
        }
        if self.before.len() > MAX_CONTEXT_LINES || self.after.len() > MAX_CONTEXT_LINES {
            return Some(format!(
                "at most {MAX_CONTEXT_LINES} context lines on each side"
            ));
        }
        let lines = self.before.len() + self.lines.len() + self.after.len();
        let bytes: usize = [&self.before, &self.lines, &self.after]
            .iter()
            .flat_map(|lines| lines.iter())
            .map(|line| line.len() + 1)
            .sum();
        if lines > MAX_DECLARED_LINES || bytes > MAX_DECLARED_BYTES {
            return Some(format!(
                "a declaration holds at most {MAX_DECLARED_LINES} lines and {} MiB",
                MAX_DECLARED_BYTES / (1024 * 1024)
            ));
        }
        if self
            .lines
            .iter()
            .chain(&self.before)
            .chain(&self.after)
            .any(|line| line.contains(['\n', '\r']))
        {
            return Some("a declared line holds a line break".to_string());
        }
        None
    }

    /// Non-blank declared lines (what the chunk's size says).
    pub fn non_blank_lines(&self) -> usize {
        self.lines
            .iter()
            .filter(|line| !line.trim().is_empty())
            .count()
    }
}

/// Where the declared lines are in a document whose lines have `document` keys: the lines with
/// their context if the context is still there, else the lines alone; nearest to where they were
/// declared. Blank lines at the declared block's edges are left out (a chunk starts and ends on a
/// line with text). None when they are not there as declared, or the only places are ones where
/// lines of a few characters (`}`, `);`) would match by coincidence.
pub fn locate(document: &[LineKey], declaration: &Declaration) -> Option<Range<usize>> {
    let keys: Vec<LineKey> = declaration.lines.iter().map(|l| LineKey::of(l)).collect();
    let first = keys.iter().position(|key| !key.is_blank())?;
    let last = keys.iter().rposition(|key| !key.is_blank())?;
    let trimmed = &keys[first..=last];
    let trimmed_start = declaration.start_line + first;
    let mut budget = MAX_COMPARISONS;
    let with_context = !declaration.before.is_empty() || !declaration.after.is_empty();
    if with_context {
        let before: Vec<LineKey> = declaration.before.iter().map(|l| LineKey::of(l)).collect();
        let after: Vec<LineKey> = declaration.after.iter().map(|l| LineKey::of(l)).collect();
        let mut block = before.clone();
        block.extend_from_slice(trimmed);
        // The lines between the declared block's blank edges and the context stay in the block.
        block.splice(before.len()..before.len(), keys[..first].iter().copied());
        block.extend_from_slice(&keys[last + 1..]);
        block.extend_from_slice(&after);
        let hint = declaration.start_line.saturating_sub(before.len());
        if let Some(start) = find_block(document, &block, hint, &mut budget) {
            let lines_start = start + before.len() + first;
            return Some(lines_start..lines_start + trimmed.len());
        }
    }
    let start = find_block(document, trimmed, trimmed_start, &mut budget)?;
    let all_trivial = trimmed.iter().all(|key| key.is_blank() || key.is_trivial());
    if all_trivial && start != trimmed_start {
        return None;
    }
    Some(start..start + trimmed.len())
}

/// The start of the occurrence of `block` in `document` nearest to `hint`, within `budget` line
/// comparisons. The block is looked for from its rarest non-blank line.
fn find_block(
    document: &[LineKey],
    block: &[LineKey],
    hint: usize,
    budget: &mut usize,
) -> Option<usize> {
    if block.is_empty() || block.len() > document.len() {
        return None;
    }
    let mut places: HashMap<LineKey, Vec<usize>> = block
        .iter()
        .filter(|key| !key.is_blank())
        .map(|key| (*key, Vec::new()))
        .collect();
    for (line, key) in document.iter().enumerate() {
        if let Some(found) = places.get_mut(key) {
            found.push(line);
        }
    }
    let (anchor, anchor_places) = block
        .iter()
        .enumerate()
        .filter(|(_, key)| !key.is_blank())
        .map(|(index, key)| (index, places.get(key).map_or(&[][..], Vec::as_slice)))
        .min_by_key(|(_, found)| found.len())?;
    let mut starts: Vec<usize> = anchor_places
        .iter()
        .filter_map(|&line| line.checked_sub(anchor))
        .filter(|&start| start + block.len() <= document.len())
        .collect();
    starts.sort_by_key(|&start| (start.abs_diff(hint), start));
    for start in starts {
        let cost = block.len();
        if *budget < cost {
            return None;
        }
        *budget -= cost;
        if document[start..start + block.len()] == *block {
            return Some(start);
        }
    }
    None
}

/// Makes `range` of a document one chunk of the declaration's origin, with its agent and model,
/// and returns its id. A chunk lying wholly inside the range is taken over (one the user judged
/// first, then any), so that an agent's write that was already guessed becomes that chunk with
/// the agent's name rather than a second chunk; chunks reaching outside the range lose the lines
/// inside it. The caller restores the chunk invariants afterwards (pieces split off, empty chunks
/// buried).
#[allow(clippy::too_many_arguments)]
pub(crate) fn claim(
    map: &mut LineMap,
    chunks: &mut HashMap<ChunkId, Chunk>,
    chunk_ids: &mut ChunkIds,
    uri: &str,
    range: Range<usize>,
    non_blank_lines: usize,
    declaration: &Declaration,
    now_ms: u64,
) -> ChunkId {
    let range = range.start.min(map.len())..range.end.min(map.len());
    let runs = map.chunk_runs();
    let mut runs_by_chunk: HashMap<ChunkId, Vec<Range<usize>>> = HashMap::new();
    for (id, run) in runs {
        runs_by_chunk.entry(id).or_default().push(run);
    }
    let mut inside: Vec<&Chunk> = runs_by_chunk
        .iter()
        .filter(|(_, runs)| {
            runs.iter()
                .all(|run| run.start >= range.start && run.end <= range.end)
        })
        .filter_map(|(id, _)| chunks.get(id))
        .filter(|chunk| chunk.uri == uri)
        .collect();
    // The user's judgement is kept first; then a chunk already of this agent; then the oldest.
    inside.sort_by_key(|chunk| {
        (
            chunk.class.is_none() && chunk.explanation.is_none(),
            chunk.agent.as_deref() != Some(declaration.agent.as_str()),
            chunk.id,
        )
    });
    let id = match inside.first().map(|chunk| chunk.id) {
        Some(id) => {
            if let Some(chunk) = chunks.get_mut(&id) {
                chunk.origin = declaration.origin;
                chunk.agent = Some(declaration.agent.clone());
                chunk.model.clone_from(&declaration.model);
                chunk.rule = Some(Rule::Declared);
                chunk.inserted_lines = chunk.inserted_lines.max(non_blank_lines);
                chunk.syntax_stale = true;
            }
            id
        }
        None => new_chunk(chunk_ids, chunks, |id| {
            let mut chunk = Chunk::new(
                id,
                uri,
                declaration.origin,
                Rule::Declared,
                declaration.declared_ms.min(now_ms),
            );
            chunk.inserted_lines = non_blank_lines;
            chunk.agent = Some(declaration.agent.clone());
            chunk.model.clone_from(&declaration.model);
            chunk
        }),
    };
    map.set(range, LineState::new(declaration.origin, Some(id)));
    id
}

/// What a store keeps of one file's declarations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeclaredLog {
    /// Not applied yet, oldest first.
    pub pending: Vec<Declaration>,
    /// Ids of declarations applied or dropped, and when: one arriving again is not pending again.
    pub consumed: Vec<(u64, u64)>,
}

impl DeclaredLog {
    /// Adds a declaration unless it is known (pending or consumed) or too old; drops the oldest
    /// past [`MAX_PENDING_PER_FILE`]. Returns whether it was added.
    pub fn add(&mut self, declaration: Declaration, now_ms: u64) -> bool {
        self.forget_old(now_ms);
        let known = self.pending.iter().any(|kept| kept.id == declaration.id)
            || self.consumed.iter().any(|(id, _)| *id == declaration.id);
        if known || is_too_old(&declaration, now_ms) {
            return false;
        }
        self.pending.push(declaration);
        self.pending.sort_by_key(|kept| (kept.declared_ms, kept.id));
        let excess = self.pending.len().saturating_sub(MAX_PENDING_PER_FILE);
        for dropped in self.pending.drain(..excess) {
            self.consumed.push((dropped.id, now_ms));
        }
        true
    }

    /// Marks declarations as applied or dropped.
    pub fn consume(&mut self, ids: &[u64], now_ms: u64) {
        self.forget_old(now_ms);
        self.pending.retain(|kept| !ids.contains(&kept.id));
        for &id in ids {
            if !self.consumed.iter().any(|(known, _)| *known == id) {
                self.consumed.push((id, now_ms));
            }
        }
    }

    /// The pending declarations not too old at `now_ms`.
    pub fn pending_at(&self, now_ms: u64) -> Vec<Declaration> {
        self.pending
            .iter()
            .filter(|declaration| !is_too_old(declaration, now_ms))
            .cloned()
            .collect()
    }

    /// Whether nothing is left worth keeping.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty() && self.consumed.is_empty()
    }

    /// Drops pending declarations and consumed ids older than [`MAX_AGE_MS`]: a declaration that
    /// old is refused anyway, so its id need not be remembered.
    fn forget_old(&mut self, now_ms: u64) {
        self.pending
            .retain(|declaration| !is_too_old(declaration, now_ms));
        self.consumed
            .retain(|(_, at_ms)| now_ms.saturating_sub(*at_ms) <= MAX_AGE_MS);
    }
}

/// Older than [`MAX_AGE_MS`] at `now_ms`.
pub fn is_too_old(declaration: &Declaration, now_ms: u64) -> bool {
    now_ms.saturating_sub(declaration.declared_ms) > MAX_AGE_MS
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::line_keys;

    fn declaration(lines: &str, start_line: usize) -> Declaration {
        Declaration {
            id: 1,
            origin: Origin::Generated,
            agent: "claude-code".to_string(),
            model: None,
            declared_ms: 1_000,
            start_line,
            before: Vec::new(),
            lines: lines.split('\n').map(str::to_string).collect(),
            after: Vec::new(),
        }
    }

    /// `document` lines are `|`-separated; the answer is the located range or None.
    fn check(document: &str, declared: &Declaration) -> Option<Range<usize>> {
        locate(&line_keys(&document.replace('|', "\n")), declared)
    }

    const PARSER: &str = "fn parse(input: &str) -> u32 {\n    input.len() as u32\n}";

    #[test]
    fn declared_lines_are_found_where_they_were_declared() {
        let document = "use std::io;||fn parse(input: &str) -> u32 {|    input.len() as u32|}|";
        assert_eq!(check(document, &declaration(PARSER, 2)), Some(2..5));
    }

    #[test]
    fn moved_lines_are_found_by_content_not_by_number() {
        let document = "// a|// header|// added|use std::io;||fn parse(input: &str) -> u32 {|    input.len() as u32|}";
        assert_eq!(check(document, &declaration(PARSER, 2)), Some(5..8));
        // Re-indented by a formatter: keys ignore whitespace.
        let formatted = "fn parse(input: &str) -> u32 {|input.len() as u32|}";
        assert_eq!(check(formatted, &declaration(PARSER, 9)), Some(0..3));
    }

    #[test]
    fn lines_changed_since_are_not_found_and_never_misplaced() {
        let changed = "fn parse(input: &str) -> u32 {|    input.len() as u32 + 1|}";
        assert_eq!(check(changed, &declaration(PARSER, 0)), None);
        let partly_gone = "fn parse(input: &str) -> u32 {|}";
        assert_eq!(check(partly_gone, &declaration(PARSER, 0)), None);
        assert_eq!(check("", &declaration(PARSER, 0)), None);
    }

    #[test]
    fn the_nearest_of_equal_places_wins() {
        let twice = format!("{}|// between|{}", PARSER, PARSER).replace('\n', "|");
        assert_eq!(check(&twice, &declaration(PARSER, 0)), Some(0..3));
        assert_eq!(check(&twice, &declaration(PARSER, 4)), Some(4..7));
        assert_eq!(check(&twice, &declaration(PARSER, 40)), Some(4..7));
    }

    #[test]
    fn blank_edges_are_left_out() {
        let declared = declaration(&format!("\n{PARSER}\n\n"), 0);
        let document = format!("|{PARSER}||").replace('\n', "|");
        assert_eq!(check(&document, &declared), Some(1..4));
    }

    #[test]
    fn context_finds_the_right_place_and_is_not_claimed() {
        // The same `x += 1;` twice; the context says which one the agent wrote.
        let mut declared = declaration("    x += 1;", 0);
        declared.before = vec!["fn second() {".to_string()];
        declared.after = vec!["}".to_string()];
        let document = "fn first() {|    x += 1;|}|fn second() {|    x += 1;|}";
        assert_eq!(check(document, &declared), Some(4..5));
        // The context changed since: the lines alone are looked for, nearest to where they were.
        let mut moved_context = declared.clone();
        moved_context.before = vec!["fn renamed() {".to_string()];
        moved_context.start_line = 4;
        assert_eq!(check(document, &moved_context), Some(4..5));
    }

    #[test]
    fn trivial_lines_match_only_where_they_were_declared() {
        let document = "fn a() {|}|fn b() {|}";
        assert_eq!(check(document, &declaration("}", 1)), Some(1..2));
        assert_eq!(check(document, &declaration("}", 3)), Some(3..4));
        assert_eq!(check(document, &declaration("}", 2)), None);
        assert_eq!(check("fn a() {", &declaration("}", 1)), None);
    }

    #[test]
    fn a_huge_repetitive_file_costs_a_bounded_search() {
        let document = vec![LineKey::of("let value = compute();"); 200_000];
        let mut declared = declaration(&["let value = compute();"; 2_000].join("\n"), 150_000);
        declared.lines.push("let other = 1;".to_string());
        assert_eq!(locate(&document, &declared), None);
        declared.lines.pop();
        assert_eq!(locate(&document, &declared), Some(150_000..152_000));
    }

    #[test]
    fn problems_are_named() {
        let ok = declaration(PARSER, 0);
        assert_eq!(ok.problem(), None);
        type Spoil = fn(&mut Declaration);
        let cases: [(Spoil, &str); 6] = [
            (|d| d.origin = Origin::Typed, "not typed"),
            (|d| d.agent = "  ".to_string(), "name is empty"),
            (|d| d.agent = "a\nb".to_string(), "on one line"),
            (|d| d.model = Some(String::new()), "model id"),
            (
                |d| d.lines = vec![String::new(), " ".to_string()],
                "all blank",
            ),
            (|d| d.before = vec![String::new(); 4], "context lines"),
        ];
        for (spoil, expected) in cases {
            let mut spoiled = ok.clone();
            spoil(&mut spoiled);
            let problem = spoiled.problem().unwrap_or_default();
            assert!(problem.contains(expected), "{problem:?} lacks {expected:?}");
        }
    }

    #[test]
    fn the_log_keeps_each_declaration_once_and_forgets_old_ones() {
        let mut log = DeclaredLog::default();
        let first = declaration(PARSER, 0);
        assert!(log.add(first.clone(), 2_000));
        assert!(!log.add(first.clone(), 2_000), "the same id twice");
        assert_eq!(log.pending_at(2_000), vec![first.clone()]);
        log.consume(&[first.id], 3_000);
        assert!(log.pending_at(3_000).is_empty());
        assert!(
            !log.add(first.clone(), 4_000),
            "consumed: not pending again"
        );
        // A week later the id is forgotten, and the declaration is refused as too old anyway.
        assert!(!log.add(first.clone(), 3_000 + MAX_AGE_MS + 1));
        assert!(log.consumed.is_empty());
        // Pending ones age out too.
        let mut young = first.clone();
        young.id = 2;
        young.declared_ms = 10_000;
        assert!(log.add(young.clone(), 10_000));
        assert!(log.pending_at(10_000 + MAX_AGE_MS + 1).is_empty());
    }

    #[test]
    fn the_log_keeps_a_bounded_number_per_file() {
        let mut log = DeclaredLog::default();
        for id in 0..(MAX_PENDING_PER_FILE as u64 + 5) {
            let mut next = declaration(PARSER, 0);
            next.id = id;
            next.declared_ms = 1_000 + id;
            assert!(log.add(next, 2_000));
        }
        let pending = log.pending_at(2_000);
        assert_eq!(pending.len(), MAX_PENDING_PER_FILE);
        assert_eq!(pending[0].id, 5, "the oldest went");
        assert_eq!(log.consumed.len(), 5);
    }

    // ---- through the engine -------------------------------------------------------------------

    use crate::chunk::Class;
    use crate::engine::{ContentChange, Engine};

    const URI: &str = "file:///w/src/lib.rs";

    fn whole(text: &str) -> ContentChange {
        ContentChange {
            range: None,
            text: text.to_string(),
        }
    }

    fn body(prefix: &str, count: usize) -> Vec<String> {
        (0..count)
            .map(|index| format!("    let {prefix}_{index} = compute_{prefix}(input, {index});"))
            .collect()
    }

    fn declared(lines: &[String], start_line: usize) -> Declaration {
        Declaration {
            id: 77,
            model: Some("claude-sonnet-4-5".to_string()),
            lines: lines.to_vec(),
            ..declaration("x", start_line)
        }
    }

    /// (origin, agent, start, end) of each chunk.
    fn chunks(engine: &mut Engine) -> Vec<(&'static str, Option<String>, usize, usize)> {
        engine
            .chunks_in(URI)
            .into_iter()
            .map(|view| {
                (
                    view.chunk.origin.as_str(),
                    view.chunk.agent.clone(),
                    view.start_line,
                    view.end_line,
                )
            })
            .collect()
    }

    #[test]
    fn a_guessed_agent_write_becomes_the_declared_chunk_not_a_second_one() {
        let mut engine = Engine::default();
        engine.open(URI, "fn main() {}\n", 0);
        let written = body("agent", 12);
        let text = format!("fn main() {{}}\n{}\n", written.join("\n"));
        let outcome = engine.change(URI, Some(2), &[whole(&text)], 1_000);
        assert_eq!(outcome.new_chunks.len(), 1);
        let guessed = outcome.new_chunks[0];
        let id = engine.declare(URI, &declared(&written, 1), 1_200);
        assert_eq!(id, Some(guessed), "the guessed chunk is taken over");
        let claude = Some("claude-code".to_string());
        assert_eq!(chunks(&mut engine), vec![("generated", claude, 1, 13)]);
        let chunk = engine.chunk(guessed).expect("chunk");
        assert_eq!(chunk.model.as_deref(), Some("claude-sonnet-4-5"));
        // Declared again (a second window, the journal): nothing changes.
        assert_eq!(
            engine.declare(URI, &declared(&written, 1), 1_300),
            Some(guessed)
        );
        assert_eq!(engine.chunks_in(URI).len(), 1);
        engine.check_invariants(URI).expect("invariants");
    }

    #[test]
    fn declared_lines_under_the_bar_are_a_chunk_too() {
        let mut engine = Engine::default();
        let lines = body("small", 2);
        engine.open(
            URI,
            &format!("fn main() {{}}\n{}\n}}\n", lines.join("\n")),
            0,
        );
        let mut small = declared(&lines, 1);
        small.origin = Origin::Pasted;
        let id = engine.declare(URI, &small, 500).expect("found");
        assert_eq!(
            chunks(&mut engine),
            vec![("pasted", Some("claude-code".to_string()), 1, 3)]
        );
        assert_eq!(engine.chunk(id).map(|chunk| chunk.created_ms), Some(500));
        engine.check_invariants(URI).expect("invariants");
    }

    #[test]
    fn a_declaration_waits_for_the_editor_to_reload_what_the_agent_wrote() {
        let mut engine = Engine::default();
        engine.open(URI, "fn main() {}\n", 0);
        let written = body("later", 8);
        assert_eq!(engine.declare(URI, &declared(&written, 1), 100), None);
        engine.wait_for_declared(URI, declared(&written, 1));
        // Typing does not apply it (nor look for it).
        engine.change(URI, Some(2), &[whole("fn main() {}\n// typed\n")], 200);
        assert!(engine.take_applied_declarations().is_empty());
        let text = format!("fn main() {{}}\n// typed\n{}\n", written.join("\n"));
        let outcome = engine.change(URI, Some(3), &[whole(&text)], 300);
        assert!(outcome.chunks_changed);
        assert_eq!(
            engine.take_applied_declarations(),
            vec![(URI.to_string(), 77)]
        );
        assert_eq!(
            chunks(&mut engine),
            vec![("generated", Some("claude-code".to_string()), 2, 10)]
        );
        engine.check_invariants(URI).expect("invariants");
    }

    #[test]
    fn lines_declared_inside_a_judged_chunk_split_it_and_keep_its_judgement() {
        let mut engine = Engine::default();
        engine.open(URI, "fn main() {}\n", 0);
        let pasted = body("pasted", 20);
        let text = format!("fn main() {{}}\n{}\n", pasted.join("\n"));
        let outcome = engine.change(URI, Some(2), &[edit_at_end(&text)], 1_000);
        let paste = outcome.new_chunks[0];
        engine
            .classify(URI, paste, Class::Repeatable, 2_000)
            .expect("classify");
        let id = engine
            .declare(URI, &declared(&pasted[8..12], 9), 3_000)
            .expect("found");
        assert_ne!(id, paste);
        let views = engine.chunks_in(URI);
        let spans: Vec<(Option<&str>, Option<Class>, usize, usize)> = views
            .iter()
            .map(|view| {
                (
                    view.chunk.agent.as_deref(),
                    view.chunk.class,
                    view.start_line,
                    view.end_line,
                )
            })
            .collect();
        assert_eq!(
            spans,
            vec![
                (None, Some(Class::Repeatable), 1, 9),
                (Some("claude-code"), None, 9, 13),
                (None, Some(Class::Repeatable), 13, 21),
            ]
        );
        engine.check_invariants(URI).expect("invariants");
    }

    /// Everything after the first line, as one insertion (a paste).
    fn edit_at_end(text: &str) -> ContentChange {
        use crate::document::{Position, Range as TextRange};
        let rest = text.split_once('\n').map_or("", |(_, rest)| rest);
        ContentChange {
            range: Some(TextRange::new(Position::new(1, 0), Position::new(1, 0))),
            text: rest.to_string(),
        }
    }

    #[test]
    fn stale_declarations_change_nothing() {
        let mut engine = Engine::default();
        let lines = body("kept", 6);
        engine.open(URI, &format!("{}\n", lines.join("\n")), 0);
        let mut changed = lines.clone();
        changed[3].push_str(" // edited since");
        assert_eq!(engine.declare(URI, &declared(&changed, 0), 10), None);
        assert!(engine.chunks_in(URI).is_empty());
        assert_eq!(
            engine.declare("file:///not/open.rs", &declared(&lines, 0), 10),
            None
        );
    }
}
