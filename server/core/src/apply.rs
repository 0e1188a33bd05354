//! Applying one content change to a document and its ownership map, line by line.
//!
//! The change is first trimmed to what really differs (editors often resend text that stays the
//! same: a whole-document change, a line rewritten around one typed character). Then each new line
//! either continues an old line, and keeps its state, or is new. Which lines are new:
//!
//! - When both the removed and the inserted text span several lines (a rewrite, a formatter run, an
//!   agent's write), new and old lines are paired by content (see `carry`), so lines that stayed
//!   keep their owner wherever they went.
//! - Otherwise the old line lives on in the line that keeps its surviving text: the first new line
//!   if text remains before the edit on it, else the last new line if text remains after the edit,
//!   else the first (or, when the inserted text ends a line, the line after it). Every other new
//!   line is new. So Enter at the end of a line makes a new line
//!   below, Enter at its start a new line above, and deleting a line removes that line's state.
//! - A surviving line that now holds more inserted than surviving non-whitespace characters counts
//!   as new: whoever wrote most of a line owns it (so retyping a pasted line makes it typed).
//!
//! New lines start as `typed`; the caller relabels them once the whole notification is classified.
//! A new line between two lines of the same chunk joins that chunk (interior insertions grow a
//! chunk; insertions at its first or last line's edge stay outside it).

use std::ops::Range;

use crate::carry::match_lines;
use crate::chunk::ChunkId;
use crate::document::{Document, PositionEncoding, Range as TextRange, line_without_break};
use crate::line_map::{BatchEdit, LineMap, LineState};
use crate::text::{
    LineKey, common_prefix_and_suffix, last_line, non_whitespace_chars, split_lines,
};

/// Old lines `start..old_end` became new lines `start..new_end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineShift {
    pub start: usize,
    pub old_end: usize,
    pub new_end: usize,
}

impl LineShift {
    pub const NONE: LineShift = LineShift {
        start: 0,
        old_end: 0,
        new_end: 0,
    };

    /// Maps a line range of the old text onto the new one. Lines inside the edit keep their
    /// offset from its start (clamped to what the edit left), so a range that ends on an edited
    /// line does not swallow the lines the edit added below it.
    pub fn map_range(&self, range: Range<usize>) -> Range<usize> {
        if *self == LineShift::NONE || range.end <= self.start {
            return range;
        }
        let delta = self.new_end as isize - self.old_end as isize;
        let shift = |line: usize| (line as isize + delta).max(0) as usize;
        let new_len = self.new_end - self.start;
        let inside = |line: usize| self.start + (line - self.start).min(new_len);
        if range.start >= self.old_end {
            return shift(range.start)..shift(range.end);
        }
        let start = if range.start <= self.start {
            range.start
        } else {
            inside(range.start)
        };
        let end = if range.end > self.old_end {
            shift(range.end)
        } else {
            inside(range.end)
        };
        start..end.max(start)
    }

    /// The new lines the edit touched.
    pub fn new_lines(&self) -> Range<usize> {
        self.start..self.new_end
    }
}

/// What one applied change did.
#[derive(Debug, Clone)]
pub struct AppliedChange {
    pub shift: LineShift,
    /// Runs of new lines (see the module comment), in the document as it is after this change.
    pub new_runs: Vec<Range<usize>>,
    /// The inserted text after trimming what stayed the same.
    pub inserted: String,
    /// The removed text after the same trimming.
    pub deleted: String,
    /// The text of the lines that are really new: what the size bar measures.
    pub material: String,
    /// The change had no range: the editor sent the whole document.
    pub whole_document: bool,
    /// Both sides spanned several lines and some old lines were kept: a rewrite, not an insertion.
    pub rewrite: bool,
    /// Chunks whose lines were edited or removed (they may have shrunk, split or vanished).
    pub touched_chunks: Vec<ChunkId>,
    /// The chunk of the surviving line that the inserted text landed on, if any.
    pub landed_in_chunk: Option<ChunkId>,
    /// States of the removed lines, one per line of `deleted` (for the graveyard).
    pub deleted_line_states: Vec<LineState>,
    /// Char offset where the trimmed change starts, and the line it starts on.
    pub start_char: usize,
    pub start_line: usize,
}

impl AppliedChange {
    fn nothing(whole_document: bool) -> AppliedChange {
        AppliedChange {
            shift: LineShift::NONE,
            new_runs: Vec::new(),
            inserted: String::new(),
            deleted: String::new(),
            material: String::new(),
            whole_document,
            rewrite: false,
            touched_chunks: Vec::new(),
            landed_in_chunk: None,
            deleted_line_states: Vec::new(),
            start_char: 0,
            start_line: 0,
        }
    }

    pub fn is_noop(&self) -> bool {
        self.inserted.is_empty() && self.deleted.is_empty()
    }

    /// The new lines that hold inserted characters (not the line an inserted line break only
    /// pushed down, nor the line it ended).
    pub fn inserted_lines(&self) -> Range<usize> {
        let lines = self.shift.new_lines();
        if self.inserted.is_empty() {
            return lines.start..lines.start;
        }
        let skip_first = usize::from(self.inserted.starts_with(['\n', '\r']) && lines.len() > 1);
        let skip_last = usize::from(self.inserted.ends_with(['\n', '\r']) && lines.len() > 1);
        (lines.start + skip_first)..(lines.end - skip_last).max(lines.start + skip_first)
    }

    /// Maps this change's line ranges through a later change of the same notification.
    pub fn follow(&mut self, later: &LineShift) {
        for run in &mut self.new_runs {
            *run = later.map_range(run.clone());
        }
        let touched = later.map_range(self.shift.new_lines());
        self.shift = LineShift {
            start: touched.start,
            old_end: touched.start,
            new_end: touched.end,
        };
    }
}

/// Applies `range`/`text` (no range: the whole document) to `document` and `map`.
pub fn apply_change(
    document: &mut Document,
    map: &mut LineMap,
    range: Option<TextRange>,
    text: &str,
    encoding: PositionEncoding,
) -> AppliedChange {
    let whole_document = range.is_none();
    let (start, end) = match range {
        Some(range) => document.range_to_chars(range, encoding),
        None => (0, document.len_chars()),
    };
    let replaced = document.slice_to_string(start, end);
    let (prefix, suffix) = common_prefix_and_suffix(&replaced, text);
    let deleted = char_slice(&replaced, prefix, suffix).to_string();
    let inserted = char_slice(text, prefix, suffix).to_string();
    let mut start = start + prefix;
    let mut end = end - suffix;
    let (mut deleted, mut inserted) = (deleted, inserted);
    if deleted.is_empty() && inserted.is_empty() {
        return AppliedChange::nothing(whole_document);
    }
    // A lone CR just before the edit and a LF just after what it leaves, or a CR ending the
    // inserted text and a LF just after the edit, become one CRLF break in the rope: the edit is
    // widened over both characters, so that its lines are counted as the rope counts them.
    let char_at = |index: usize| document.rope().get_char(index);
    if start > 0
        && char_at(start - 1) == Some('\r')
        && (inserted.starts_with('\n') || (inserted.is_empty() && char_at(end) == Some('\n')))
    {
        start -= 1;
        deleted.insert(0, '\r');
        inserted.insert(0, '\r');
    }
    if char_at(end) == Some('\n') && inserted.ends_with('\r') {
        end += 1;
        deleted.push('\n');
        inserted.push('\n');
    }
    // Text put between the CR and the LF of one CRLF break splits it into two breaks: the edit
    // is widened over both, so that it is counted as the line break it makes.
    if start > 0 && start == end && char_at(start - 1) == Some('\r') && char_at(end) == Some('\n') {
        start -= 1;
        end += 1;
        deleted = "\r\n".to_string();
        inserted = format!("\r{inserted}\n");
    }

    let first_line = document.char_to_line(start);
    let last_line = document.char_to_line(end);
    if first_line == last_line && !has_line_break(&inserted) {
        return apply_within_line(
            document,
            map,
            first_line,
            start,
            end,
            inserted,
            deleted,
            whole_document,
        );
    }
    let first_line_start = document.line_to_char(first_line);
    let last_line_end = document.line_to_char(last_line)
        + line_without_break(document.rope().line(last_line)).len_chars();
    let text_before = document.slice_to_string(first_line_start, start);
    let text_after = document.slice_to_string(end, last_line_end.max(end));
    let old_states = map.states(first_line..last_line + 1);
    let touched_chunks = distinct_chunks(&old_states);

    // The new lines' text, as it will read after the change.
    let new_line_texts: Vec<String> = {
        let joined = format!("{text_before}{inserted}{text_after}");
        split_lines(&joined).map(str::to_string).collect()
    };
    let added_lines = new_line_texts.len();

    let multi_line_both_sides = has_line_break(&deleted) && has_line_break(&inserted);
    let (new_lines, rewrite): (Vec<NewLine>, bool) = if multi_line_both_sides {
        let old_keys: Vec<LineKey> = (first_line..=last_line)
            .map(|line| document.line_key(line))
            .collect();
        let new_keys: Vec<LineKey> = new_line_texts
            .iter()
            .map(|line| LineKey::of(line))
            .collect();
        let pairs = match_lines(&old_keys, &new_keys);
        let kept_any = pairs.iter().any(Option::is_some);
        let lines = pairs
            .into_iter()
            .map(
                |pair| match pair.and_then(|old| old_states.get(old).copied()) {
                    Some(state) => NewLine::Kept(state),
                    None => NewLine::New { chunk: None },
                },
            )
            .collect();
        (lines, kept_any)
    } else {
        (
            surviving_line_states(
                &text_before,
                &inserted,
                &text_after,
                &document.line_text(first_line),
                &new_line_texts,
                &old_states,
                last_line > first_line && end == document.line_to_char(last_line),
            ),
            false,
        )
    };

    let landed_in_chunk = new_lines
        .iter()
        .find_map(|line| match line {
            NewLine::Kept(state) => state.chunk,
            NewLine::New { chunk } => *chunk,
        })
        .filter(|_| !inserted.is_empty());

    let material = if multi_line_both_sides {
        new_line_texts
            .iter()
            .zip(&new_lines)
            .filter(|(_, line)| matches!(line, NewLine::New { .. }))
            .map(|(text, _)| text.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    } else {
        inserted.clone()
    };

    // The states the removed text had, one per line of it, for undo and moves.
    let deleted_line_states = if deleted.is_empty() {
        Vec::new()
    } else {
        let deleted_lines = split_lines(&deleted).count();
        let mut states = map.states(first_line..first_line + deleted_lines);
        let last = states
            .last()
            .copied()
            .unwrap_or_else(|| map.get(first_line));
        states.resize(deleted_lines, last);
        states
    };

    document.replace(start, end, &inserted);
    let provisional: Vec<LineState> = new_lines.iter().map(NewLine::provisional_state).collect();
    map.splice(first_line, last_line - first_line + 1, &provisional);

    let mut new_runs = Vec::new();
    let mut run_start = None;
    for (offset, line) in new_lines.iter().enumerate() {
        let is_new = matches!(line, NewLine::New { .. });
        match (is_new, run_start) {
            (true, None) => run_start = Some(offset),
            (false, Some(started)) => {
                new_runs.push(first_line + started..first_line + offset);
                run_start = None;
            }
            _ => {}
        }
    }
    if let Some(started) = run_start {
        new_runs.push(first_line + started..first_line + added_lines);
    }
    join_interior_runs_to_their_chunk(map, &new_runs);

    AppliedChange {
        shift: LineShift {
            start: first_line,
            old_end: last_line + 1,
            new_end: first_line + added_lines,
        },
        new_runs,
        inserted,
        deleted,
        material,
        whole_document,
        rewrite,
        touched_chunks,
        landed_in_chunk,
        deleted_line_states,
        start_char: start,
        start_line: first_line,
    }
}

/// The typing path: an edit inside one line that adds no line. Same rules as the general path
/// (the line keeps its state unless the inserted text now holds most of it), without building
/// strings: counts are read off the rope, and the map is only touched when the line changes hands.
#[allow(clippy::too_many_arguments)]
fn apply_within_line(
    document: &mut Document,
    map: &mut LineMap,
    line: usize,
    start: usize,
    end: usize,
    inserted: String,
    deleted: String,
    whole_document: bool,
) -> AppliedChange {
    let line_start = document.line_to_char(line);
    let line_end = line_start + line_without_break(document.rope().line(line)).len_chars();
    let count = |from: usize, to: usize| {
        document
            .rope()
            .slice(from.min(to)..to)
            .chars()
            .filter(|character| !character.is_whitespace())
            .count()
    };
    let kept = count(line_start, start) + count(end.min(line_end), line_end);
    let old_state = map.get(line);
    let taken_over = !inserted.is_empty() && non_whitespace_chars(&inserted) > kept;
    document.replace(start, end, &inserted);
    let mut new_runs = Vec::new();
    if taken_over {
        let provisional = NewLine::New {
            chunk: old_state.chunk,
        }
        .provisional_state();
        if provisional != old_state {
            map.set(line..line + 1, provisional);
        }
        new_runs.push(line..line + 1);
    }
    AppliedChange {
        shift: LineShift {
            start: line,
            old_end: line + 1,
            new_end: line + 1,
        },
        new_runs,
        material: inserted.clone(),
        landed_in_chunk: old_state.chunk.filter(|_| !inserted.is_empty()),
        // One line stays one line, so a chunk keeps its extent, unless the edit left the line
        // blank: a chunk starts and ends on text, so its edges must be looked at again.
        touched_chunks: old_state
            .chunk
            .filter(|_| kept + non_whitespace_chars(&inserted) == 0)
            .into_iter()
            .collect(),
        deleted_line_states: if deleted.is_empty() {
            Vec::new()
        } else {
            vec![old_state]
        },
        inserted,
        deleted,
        whole_document,
        rewrite: false,
        start_char: start,
        start_line: line,
    }
}

/// Whether `text` holds a line break as LSP (and the rope) count them: `\n`, `\r\n` or `\r`.
fn has_line_break(text: &str) -> bool {
    text.contains(['\n', '\r'])
}

/// Where a line after the change comes from.
#[derive(Debug, Clone, Copy)]
enum NewLine {
    /// It continues an old line and keeps its state.
    Kept(LineState),
    /// Its text is new. A surviving line that the inserted text took over keeps its chunk.
    New { chunk: Option<ChunkId> },
}

impl NewLine {
    fn provisional_state(&self) -> LineState {
        match *self {
            NewLine::Kept(state) => state,
            NewLine::New { chunk } => LineState::new(crate::line_map::Origin::Typed, chunk),
        }
    }
}

/// Sources of the new lines of a change that does not span several lines on both sides.
fn surviving_line_states(
    text_before: &str,
    inserted: &str,
    text_after: &str,
    old_line_text: &str,
    new_line_texts: &[String],
    old_states: &[LineState],
    deletion_ends_at_line_start: bool,
) -> Vec<NewLine> {
    let added_lines = new_line_texts.len();
    let mut states = vec![NewLine::New { chunk: None }; added_lines];
    let last = added_lines - 1;
    let kept_before = non_whitespace_chars(text_before);
    let kept_after = non_whitespace_chars(text_after);
    let first_old = old_states.first().copied().unwrap_or(LineState::TYPED);
    let last_old = old_states.last().copied().unwrap_or(LineState::TYPED);
    // Inserting lines into a single line: if exactly one new line reads like the old one, that
    // is the old line (typing `three();\n    t` before `wo();` inserted a line above `two();`).
    if old_states.len() == 1 && added_lines > 1 {
        let old_key = LineKey::of(old_line_text);
        let mut twins = new_line_texts
            .iter()
            .enumerate()
            .filter(|(_, text)| !old_key.is_blank() && LineKey::of(text) == old_key);
        if let (Some((index, _)), None) = (twins.next(), twins.next()) {
            states[index] = NewLine::Kept(first_old);
            return states;
        }
    }
    let (survivor, survivor_state, kept) = if kept_before > 0 {
        let kept = kept_before + if last == 0 { kept_after } else { 0 };
        (0, first_old, kept)
    } else if kept_after > 0 {
        (last, last_old, kept_after)
    } else if last > 0 && non_whitespace_chars(last_line(inserted)) == 0 {
        // Nothing of the old line is left; the inserted text ends with a line break, so the
        // line after it holds the old line's (empty) remainder: that is the old line.
        (last, last_old, 0)
    } else if deletion_ends_at_line_start {
        // Whole lines were deleted: what is left is the line the deletion ran into.
        (0, last_old, 0)
    } else {
        (0, first_old, 0)
    };
    // How much of the inserted text lands on the surviving line.
    let inserted_segment = if survivor == 0 {
        split_lines(inserted).next().unwrap_or("")
    } else {
        last_line(inserted)
    };
    let inserted_on_survivor = non_whitespace_chars(inserted_segment);
    states[survivor] = if inserted_on_survivor <= kept || inserted.is_empty() {
        NewLine::Kept(survivor_state)
    } else {
        NewLine::New {
            chunk: survivor_state.chunk,
        }
    };
    states
}

/// New lines with a line of chunk X right above and right below join X.
fn join_interior_runs_to_their_chunk(map: &mut LineMap, new_runs: &[Range<usize>]) {
    let mut batch = BatchEdit::new(map, new_runs.len());
    for run in new_runs {
        if run.start == 0 || run.end >= batch.len() {
            continue;
        }
        let above = batch.get(run.start - 1).chunk;
        let below = batch.get(run.end).chunk;
        if let (Some(above), Some(below)) = (above, below)
            && above == below
        {
            batch.update(run.clone(), |state| {
                LineState::new(state.origin, Some(above))
            });
        }
    }
}

fn distinct_chunks(states: &[LineState]) -> Vec<ChunkId> {
    let mut chunks: Vec<ChunkId> = states.iter().filter_map(|state| state.chunk).collect();
    chunks.sort_unstable();
    chunks.dedup();
    chunks
}

/// `text` without its first `skip_start` and last `skip_end` chars.
fn char_slice(text: &str, skip_start: usize, skip_end: usize) -> &str {
    let start = text
        .char_indices()
        .nth(skip_start)
        .map_or(text.len(), |(index, _)| index);
    let end = if skip_end == 0 {
        text.len()
    } else {
        text.char_indices()
            .rev()
            .nth(skip_end - 1)
            .map_or(0, |(index, _)| index)
    };
    &text[start..end.max(start)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Position;
    use crate::line_map::Origin;

    /// Renders a map as one letter per line (t typed, p pasted...) with the chunk number.
    fn render(map: &LineMap) -> String {
        map.states(0..map.len())
            .iter()
            .map(|state| {
                let letter = &state.origin.as_str()[..1];
                match state.chunk {
                    Some(chunk) => format!("{letter}{}", chunk.0),
                    None => letter.to_string(),
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// `before` marks states per line as in `render`; the edit replaces the range by `text`;
    /// new lines come out as `n`.
    fn check(
        text: &str,
        states: &str,
        range: ((u32, u32), (u32, u32)),
        insert: &str,
        expected: &str,
    ) {
        let mut document = Document::new(text);
        let parsed: Vec<LineState> = states
            .split(' ')
            .map(|token| {
                let origin = match &token[..1] {
                    "t" => Origin::Typed,
                    "p" => Origin::Pasted,
                    other => panic!("bad state {other}"),
                };
                let chunk = token[1..].parse().ok().map(ChunkId);
                LineState::new(origin, chunk)
            })
            .collect();
        assert_eq!(
            parsed.len(),
            document.len_lines(),
            "fixture states for {text:?}"
        );
        let mut map = LineMap::from_states(parsed);
        let range = TextRange::new(
            Position::new(range.0.0, range.0.1),
            Position::new(range.1.0, range.1.1),
        );
        let applied = apply_change(
            &mut document,
            &mut map,
            Some(range),
            insert,
            PositionEncoding::Utf16,
        );
        for run in &applied.new_runs {
            map.update(run.clone(), |state| {
                LineState::new(Origin::Generated, state.chunk)
            });
        }
        assert_eq!(map.len(), document.len_lines());
        let rendered = render(&map).replace('g', "n");
        assert_eq!(rendered, expected, "{text:?} + {insert:?} at {range:?}");
    }

    #[test]
    fn line_survival_table() {
        // (text, states, range, inserted, expected states after; `n` marks new lines)
        check("abc\ndef", "t p1", ((0, 3), (0, 3)), "\n    ", "t n p1");
        check("abc\ndef", "p1 t", ((0, 0), (0, 0)), "\n", "n p1 t");
        check("abc\ndef", "t t", ((1, 1), (1, 1)), "x", "t t");
        check("abc\ndef\nghi", "t p1 t", ((1, 0), (2, 0)), "", "t t");
        check("abc\ndef\nghi", "t p1 t", ((0, 3), (1, 3)), "", "t t");
        check("abc\n\nghi", "t p1 t", ((1, 0), (1, 0)), "x", "t n1 t");
        check("a\nb", "t t", ((1, 0), (1, 0)), "l1\nl2\nl3\n", "t n n n t");
        check("let x = ;", "t", ((0, 8), (0, 8)), &"y".repeat(30), "n");
        check("let x = ;", "t", ((0, 8), (0, 8)), "y", "t");
    }

    /// Regression (found by the engine fuzz target): a lone `\r` is a line break to LSP and the
    /// rope but not to the line splitting, so the map lost count of the document's lines; and a
    /// lone CR meeting a LF across an edit merges two breaks into one CRLF.
    #[test]
    fn lone_carriage_returns_are_line_breaks() {
        check("abc", "p1", ((0, 3), (0, 3)), "x\ry", "p1 n");
        check("abc\ndef", "t p1", ((0, 1), (0, 1)), "\r", "t n p1");
        check("alpha\rxyz\nbravo", "t p1 p2", ((1, 0), (1, 3)), "", "t p2");
        check("alpha\rbravo", "t p1", ((1, 0), (1, 0)), "\n", "t p1");
        check("alpha\nbravo", "p1 t", ((0, 5), (0, 5)), "x\r", "n t");
        check("a\r\nb", "t t", ((0, 1), (0, 1)), "\r", "t n t");
        check("a\r\nb\rc", "t p1 t", ((1, 0), (2, 1)), "x\r\n", "t n n");
    }

    #[test]
    fn interior_insertions_join_the_chunk_and_edges_do_not() {
        check(
            "a1\nb2\nc3",
            "p1 p1 p1",
            ((0, 2), (0, 2)),
            "\nnew",
            "p1 n1 p1 p1",
        );
        check(
            "a1\nb2\nc3",
            "p1 p1 p1",
            ((2, 2), (2, 2)),
            "\nnew",
            "p1 p1 p1 n",
        );
        check(
            "a1\nb2\nc3",
            "p1 p1 p1",
            ((0, 0), (0, 0)),
            "new\n",
            "n p1 p1 p1",
        );
    }

    #[test]
    fn rewrites_keep_the_lines_that_stayed() {
        check(
            "fn a() {\n    one();\n    two();\n}",
            "p1 p1 p1 p1",
            ((0, 0), (3, 1)),
            "fn a() {\n    one();\n    three();\n    two();\n}",
            "p1 p1 n1 p1 p1",
        );
        // A formatter's re-indent keeps every line.
        check(
            "fn a() {\none();\n}\nx",
            "p1 p1 p1 t",
            ((0, 0), (2, 1)),
            "fn a() {\n    one();\n}",
            "p1 p1 p1 t",
        );
    }

    #[test]
    fn trimming_keeps_only_what_changed() {
        let mut document = Document::new("hello world");
        let mut map = LineMap::new(1, LineState::TYPED);
        let applied = apply_change(
            &mut document,
            &mut map,
            None,
            "hello brave world",
            PositionEncoding::Utf16,
        );
        assert_eq!(applied.inserted, "brave ");
        assert!(applied.deleted.is_empty());
        assert!(applied.whole_document);
        assert_eq!(document.text(), "hello brave world");
    }

    #[test]
    fn shifts_map_ranges() {
        let shift = LineShift {
            start: 5,
            old_end: 6,
            new_end: 9,
        };
        assert_eq!(shift.map_range(0..3), 0..3);
        assert_eq!(shift.map_range(10..12), 13..15);
        assert_eq!(shift.map_range(4..6), 4..6);
        assert_eq!(shift.map_range(6..8), 9..11);
        assert_eq!(shift.map_range(5..8), 5..11);
    }

    #[test]
    fn char_slice_handles_multibyte() {
        assert_eq!(char_slice("é🦀x", 1, 1), "🦀");
        assert_eq!(char_slice("ab", 1, 1), "");
        assert_eq!(char_slice("abc", 0, 0), "abc");
    }
}
