//! The ownership map of one file: for every line, how it arrived and which chunk it belongs to.
//!
//! Stored as runs of equal states, because a real file is a handful of long runs (typed, then a
//! pasted block, then typed again): edits cost O(runs), not O(lines), and memory is O(runs).
//! Invariant: the runs always cover exactly the document's lines (`len()` equals the rope's
//! `len_lines()`), and no run is empty; neighbouring runs may hold equal states only transiently
//! inside a method.

use std::ops::Range;

use crate::by_origin::ByOrigin;
use crate::chunk::ChunkId;

/// How a line's text arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Origin {
    /// Written in the editor by hand, or already in the file (or in git) when whetstone first saw it.
    Typed,
    /// One large insertion at once.
    Pasted,
    /// Streamed or signalled AI output, or an agent's write to the buffer.
    Generated,
    /// Cut elsewhere in the workspace and inserted here; its chunk, if any, came along.
    Moved,
    /// Changed on disk by another program while whetstone was not watching the buffer.
    External,
    /// Brought back by undo or redo.
    Restored,
}

impl Origin {
    pub const ALL: [Origin; 6] = [
        Origin::Typed,
        Origin::Pasted,
        Origin::Generated,
        Origin::Moved,
        Origin::External,
        Origin::Restored,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Typed => "typed",
            Origin::Pasted => "pasted",
            Origin::Generated => "generated",
            Origin::Moved => "moved",
            Origin::External => "external",
            Origin::Restored => "restored",
        }
    }

    pub fn parse(name: &str) -> Option<Origin> {
        Origin::ALL
            .into_iter()
            .find(|origin| origin.as_str() == name)
    }

    /// Origins that make a chunk of their own when they pass the size bar.
    pub fn is_flagged(self) -> bool {
        matches!(self, Origin::Pasted | Origin::Generated | Origin::External)
    }
}

/// What the map knows about one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LineState {
    pub origin: Origin,
    pub chunk: Option<ChunkId>,
}

impl LineState {
    pub const TYPED: LineState = LineState {
        origin: Origin::Typed,
        chunk: None,
    };

    pub fn new(origin: Origin, chunk: Option<ChunkId>) -> LineState {
        LineState { origin, chunk }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    state: LineState,
    len: usize,
}

/// Per-line states of one file, run-length encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineMap {
    runs: Vec<Run>,
}

impl LineMap {
    /// A map of `lines` lines, all in `state`. A document always has at least one line.
    pub fn new(lines: usize, state: LineState) -> LineMap {
        LineMap {
            runs: vec![Run {
                state,
                len: lines.max(1),
            }],
        }
    }

    pub fn from_states(states: impl IntoIterator<Item = LineState>) -> LineMap {
        let mut map = LineMap { runs: Vec::new() };
        for state in states {
            map.push(state, 1);
        }
        if map.runs.is_empty() {
            map.runs.push(Run {
                state: LineState::TYPED,
                len: 1,
            });
        }
        map
    }

    /// The map of these runs (state, lines) in order; empty runs are dropped, equal neighbours
    /// merged. The cost follows the number of runs, not of lines.
    pub fn from_runs(runs: impl IntoIterator<Item = (LineState, usize)>) -> LineMap {
        let mut map = LineMap { runs: Vec::new() };
        for (state, len) in runs {
            if len > 0 {
                map.push(state, len);
            }
        }
        if map.runs.is_empty() {
            map.runs.push(Run {
                state: LineState::TYPED,
                len: 1,
            });
        }
        map
    }

    pub fn len(&self) -> usize {
        self.runs.iter().map(|run| run.len).sum()
    }

    /// Never true: a document has at least one line. Here for clippy's `len_without_is_empty`.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The state of a line; past the end, the last line's.
    pub fn get(&self, line: usize) -> LineState {
        let mut start = 0;
        for run in &self.runs {
            if line < start + run.len {
                return run.state;
            }
            start += run.len;
        }
        self.runs
            .last()
            .map(|run| run.state)
            .unwrap_or(LineState::TYPED)
    }

    /// States of lines `range` (clamped to the map).
    pub fn states(&self, range: Range<usize>) -> Vec<LineState> {
        let mut states = Vec::with_capacity(range.len());
        for (run_range, state) in self.runs() {
            let start = run_range.start.max(range.start);
            let end = run_range.end.min(range.end);
            states.extend(std::iter::repeat_n(state, end.saturating_sub(start)));
        }
        states
    }

    /// Each run as (line range, state), in order.
    pub fn runs(&self) -> impl Iterator<Item = (Range<usize>, LineState)> + '_ {
        let mut start = 0;
        self.runs.iter().map(move |run| {
            let range = start..start + run.len;
            start += run.len;
            (range, run.state)
        })
    }

    /// Replaces lines `start..start + removed` by `inserted`, keeping at least one line overall.
    pub fn splice(&mut self, start: usize, removed: usize, inserted: &[LineState]) {
        let total = self.len();
        let start = start.min(total);
        let end = (start + removed).min(total);
        let first = self.split_at(start);
        let last = self.split_at(end);
        let mut replacement: Vec<Run> = Vec::with_capacity(inserted.len().min(8));
        for &state in inserted {
            match replacement.last_mut() {
                Some(run) if run.state == state => run.len += 1,
                _ => replacement.push(Run { state, len: 1 }),
            }
        }
        let replacement_runs = replacement.len();
        self.runs.splice(first..last, replacement);
        if self.runs.is_empty() {
            self.runs.push(Run {
                state: LineState::TYPED,
                len: 1,
            });
            return;
        }
        // Only the two edges of the replacement can now touch an equal neighbour; the later
        // edge first, so that merging it does not move the earlier one.
        self.merge_with_next((first + replacement_runs).wrapping_sub(1));
        self.merge_with_next(first.wrapping_sub(1));
    }

    /// Sets every line in `range` to `state`.
    pub fn set(&mut self, range: Range<usize>, state: LineState) {
        let range = range.start.min(self.len())..range.end.min(self.len());
        if range.is_empty() {
            return;
        }
        self.splice(range.start, range.len(), &vec![state; range.len()]);
    }

    /// Rewrites the state of every line in `range` through `update`.
    pub fn update(&mut self, range: Range<usize>, mut update: impl FnMut(LineState) -> LineState) {
        let states: Vec<LineState> = self
            .states(range.clone())
            .into_iter()
            .map(&mut update)
            .collect();
        self.splice(range.start, states.len(), &states);
    }

    /// Rewrites every run's state through `update` (for renaming or dropping a chunk everywhere).
    pub fn update_all(&mut self, mut update: impl FnMut(LineState) -> LineState) {
        for run in &mut self.runs {
            run.state = update(run.state);
        }
        self.coalesce_all();
    }

    /// Lines per origin, counting only the first `counted_lines` lines (a trailing empty line
    /// after the last line break is not a line a person would count).
    pub fn origin_counts(&self, counted_lines: usize) -> ByOrigin<usize> {
        let mut counts = ByOrigin::default();
        for (range, state) in self.runs() {
            let end = range.end.min(counted_lines);
            if end > range.start {
                counts[state.origin] += end - range.start;
            }
        }
        counts
    }

    /// The line ranges holding each chunk, in line order, one entry per contiguous run.
    pub fn chunk_runs(&self) -> Vec<(ChunkId, Range<usize>)> {
        let mut result: Vec<(ChunkId, Range<usize>)> = Vec::new();
        for (range, state) in self.runs() {
            let Some(chunk) = state.chunk else { continue };
            match result.last_mut() {
                Some((last, last_range)) if *last == chunk && last_range.end == range.start => {
                    last_range.end = range.end;
                }
                _ => result.push((chunk, range)),
            }
        }
        result
    }

    /// The maximal runs of lines in `range` that have `origin` and belong to no chunk.
    pub fn unchunked_runs(&self, range: Range<usize>, origin: Origin) -> Vec<Range<usize>> {
        let mut result: Vec<Range<usize>> = Vec::new();
        for (run_range, state) in self.runs() {
            let start = run_range.start.max(range.start);
            let end = run_range.end.min(range.end);
            if start >= end || state.chunk.is_some() || state.origin != origin {
                continue;
            }
            match result.last_mut() {
                Some(last) if last.end == start => last.end = end,
                _ => result.push(start..end),
            }
        }
        result
    }

    /// Whether any line in `range` belongs to a chunk.
    pub fn any_chunk_in(&self, range: Range<usize>) -> bool {
        self.runs().any(|(run_range, state)| {
            state.chunk.is_some() && run_range.start < range.end && range.start < run_range.end
        })
    }

    /// Ensures a run boundary at `line` and returns the index of the run that starts there.
    fn split_at(&mut self, line: usize) -> usize {
        let mut start = 0;
        for index in 0..self.runs.len() {
            let run = self.runs[index];
            if line == start {
                return index;
            }
            if line < start + run.len {
                let head = line - start;
                self.runs[index].len = head;
                self.runs.insert(
                    index + 1,
                    Run {
                        state: run.state,
                        len: run.len - head,
                    },
                );
                return index + 1;
            }
            start += run.len;
        }
        self.runs.len()
    }

    fn push(&mut self, state: LineState, len: usize) {
        match self.runs.last_mut() {
            Some(run) if run.state == state => run.len += len,
            _ => self.runs.push(Run { state, len }),
        }
    }

    /// Merges run `index` with the next one when their states are equal (no-op out of bounds).
    fn merge_with_next(&mut self, index: usize) {
        let next = index.wrapping_add(1);
        if next == 0 || next >= self.runs.len() {
            return;
        }
        if self.runs[index].state == self.runs[next].state {
            self.runs[index].len += self.runs[next].len;
            self.runs.remove(next);
        }
    }

    fn coalesce_all(&mut self) {
        let mut merged: Vec<Run> = Vec::with_capacity(self.runs.len());
        for run in self.runs.drain(..) {
            match merged.last_mut() {
                Some(last) if last.state == run.state => last.len += run.len,
                _ if run.len == 0 => {}
                _ => merged.push(run),
            }
        }
        self.runs = merged;
    }
}

/// Several edits to one map, made in place when they are few, and on a copy of every line's
/// state, re-encoded once when the batch ends, when they are many. Each edit in place costs the
/// map's runs, so thousands of them (an agent's rewrite, a large undo, a formatter run over a
/// big file) would take time quadratic in the file's size.
pub struct BatchEdit<'a> {
    map: &'a mut LineMap,
    copy: Option<Vec<LineState>>,
}

impl<'a> BatchEdit<'a> {
    /// Above this many edits the batch works on a copy.
    pub const IN_PLACE_EDITS: usize = 4;

    /// A batch of about `edits` reads and writes.
    pub fn new(map: &'a mut LineMap, edits: usize) -> BatchEdit<'a> {
        let copy = (edits > Self::IN_PLACE_EDITS).then(|| map.states(0..map.len()));
        BatchEdit { map, copy }
    }

    pub fn len(&self) -> usize {
        match &self.copy {
            Some(states) => states.len(),
            None => self.map.len(),
        }
    }

    /// Never true, like [`LineMap::is_empty`].
    pub fn is_empty(&self) -> bool {
        false
    }

    /// A line's state; past the end, the last line's (as [`LineMap::get`]).
    pub fn get(&self, line: usize) -> LineState {
        match &self.copy {
            Some(states) => states
                .get(line)
                .or(states.last())
                .copied()
                .unwrap_or(LineState::TYPED),
            None => self.map.get(line),
        }
    }

    /// Rewrites the state of every line in `range` (clamped) through `update`.
    pub fn update(&mut self, range: Range<usize>, mut update: impl FnMut(LineState) -> LineState) {
        match &mut self.copy {
            Some(states) => {
                let end = range.end.min(states.len());
                for state in &mut states[range.start.min(end)..end] {
                    *state = update(*state);
                }
            }
            None => self.map.update(range, update),
        }
    }

    /// Sets every line in `range` (clamped) to `state`.
    pub fn set(&mut self, range: Range<usize>, state: LineState) {
        self.update(range, |_| state);
    }
}

impl Drop for BatchEdit<'_> {
    /// The copy becomes the map.
    fn drop(&mut self) {
        if let Some(states) = self.copy.take() {
            *self.map = LineMap::from_states(states);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pasted(chunk: u64) -> LineState {
        LineState::new(Origin::Pasted, Some(ChunkId(chunk)))
    }

    fn render(map: &LineMap) -> String {
        map.states(0..map.len())
            .iter()
            .map(|state| match state.chunk {
                Some(chunk) => format!("{}{}", &state.origin.as_str()[..1], chunk.0),
                None => state.origin.as_str()[..1].to_string(),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn splice_table() {
        // (initial states, start, removed, inserted, expected)
        let t = LineState::TYPED;
        let p = pasted(1);
        type Case<'a> = (&'a [LineState], usize, usize, &'a [LineState], &'a str);
        let cases: &[Case] = &[
            (&[t, t, t], 1, 0, &[p, p], "t p1 p1 t t"),
            (&[t, p, p, t], 1, 2, &[], "t t"),
            (&[t, p, p, t], 2, 1, &[t], "t p1 t t"),
            (&[t], 0, 1, &[], "t"),
            (&[t, t], 5, 3, &[p], "t t p1"),
            (&[p, p, p], 1, 1, &[t, t], "p1 t t p1"),
        ];
        for (initial, start, removed, inserted, expected) in cases {
            let mut map = LineMap::from_states(initial.iter().copied());
            map.splice(*start, *removed, inserted);
            assert_eq!(
                render(&map),
                *expected,
                "{initial:?} {start} {removed} {inserted:?}"
            );
            assert!(
                map.runs
                    .windows(2)
                    .all(|pair| pair[0].state != pair[1].state)
            );
        }
    }

    #[test]
    fn a_batch_edits_the_same_in_place_and_on_a_copy() {
        let t = LineState::TYPED;
        let initial = [t, pasted(1), pasted(1), t, t, pasted(2)];
        let mut results = Vec::new();
        for edits in [1, BatchEdit::IN_PLACE_EDITS + 1] {
            let mut map = LineMap::from_states(initial);
            {
                let mut batch = BatchEdit::new(&mut map, edits);
                assert_eq!(batch.len(), 6);
                assert_eq!(batch.get(99), pasted(2));
                batch.set(0..2, pasted(3));
                batch.update(4..99, |state| LineState::new(Origin::Moved, state.chunk));
            }
            results.push(render(&map));
        }
        assert_eq!(results[0], "p3 p3 p1 t m m2");
        assert_eq!(results[0], results[1]);
    }

    #[test]
    fn a_map_from_runs_is_the_map_from_their_lines() {
        let t = LineState::TYPED;
        let p = pasted(1);
        let from_runs = LineMap::from_runs([(t, 2), (p, 0), (t, 1), (p, 3), (p, 1)]);
        assert_eq!(from_runs, LineMap::from_states([t, t, t, p, p, p, p]));
        assert_eq!(render(&from_runs), "t t t p1 p1 p1 p1");
        assert_eq!(LineMap::from_runs([(p, 0)]), LineMap::from_states([]));
    }

    #[test]
    fn chunk_runs_are_contiguous_ranges() {
        let t = LineState::TYPED;
        let map = LineMap::from_states([t, pasted(1), pasted(1), t, pasted(1), pasted(2)]);
        assert_eq!(
            map.chunk_runs(),
            vec![(ChunkId(1), 1..3), (ChunkId(1), 4..5), (ChunkId(2), 5..6)]
        );
    }

    #[test]
    fn counts_skip_the_uncounted_last_line() {
        let map = LineMap::from_states([pasted(1), pasted(1), LineState::TYPED]);
        let counts = map.origin_counts(2);
        assert_eq!(counts[Origin::Pasted], 2);
        assert_eq!(counts[Origin::Typed], 0);
    }
}
