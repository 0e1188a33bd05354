//! Recently deleted text and chunks, kept so that text coming back is recognised: undo and redo put
//! it back where it was (`restored`), a cut-and-paste puts it somewhere else (`moved`). Either way
//! it keeps the ownership it had, and a chunk that vanished with it comes back with its verdict.
//!
//! Bounded: the oldest deletions are forgotten first, so memory stays constant however long the
//! session runs.

use std::collections::{HashMap, HashSet, VecDeque};

use crate::carry::match_lines;
use crate::chunk::{Chunk, ChunkId};
use crate::line_map::LineState;
use crate::text::{LineKey, line_keys};

const MAX_DELETIONS: usize = 128;
const MAX_DELETED_CHARS: usize = 4 << 20;
const MAX_BURIED_CHUNKS: usize = 512;
/// Consecutive deletions closer than this in time join one entry (a held backspace).
const JOIN_WITHIN_MS: u64 = 5_000;

/// One deletion (or a run of adjacent ones), with the states its lines had.
#[derive(Debug, Clone)]
struct Deletion {
    uri: String,
    at_ms: u64,
    /// Where it was, in the document as it was just after the deletion.
    start_char: usize,
    start_line: usize,
    text: String,
    /// One state per line of `text` (split on `\n`).
    line_states: Vec<LineState>,
    keys: Vec<LineKey>,
    hashes: HashSet<u64>,
    /// The keys' total weight: the most of an insertion this deletion can cover.
    weight: u64,
    /// Set once the document saw another edit: a later deletion no longer continues this one.
    sealed: bool,
}

/// What a new insertion matched.
#[derive(Debug, Clone, PartialEq)]
pub struct GraveMatch {
    pub uri: String,
    pub start_line: usize,
    /// Share of the insertion's non-whitespace characters found on deleted lines.
    pub coverage: f64,
    /// The deleted lines' keys and the states they had, to pair with the inserted lines.
    pub keys: Vec<LineKey>,
    pub line_states: Vec<LineState>,
}

#[derive(Debug, Default)]
pub struct Graveyard {
    deletions: VecDeque<Deletion>,
    deleted_chars: usize,
    buried: HashMap<ChunkId, Chunk>,
    buried_order: VecDeque<ChunkId>,
}

impl Graveyard {
    /// Records deleted text. `line_states` has one state per line of `text`.
    pub fn record(
        &mut self,
        uri: &str,
        at_ms: u64,
        start_char: usize,
        start_line: usize,
        text: &str,
        line_states: Vec<LineState>,
    ) {
        if text.is_empty() {
            return;
        }
        let deleted_chars = text.chars().count();
        if let Some(last) = self.deletions.back_mut()
            && !last.sealed
            && last.uri == uri
            && at_ms.saturating_sub(last.at_ms) <= JOIN_WITHIN_MS
        {
            if start_char + deleted_chars == last.start_char {
                // Backspace: the new text stood just before the previous deletion.
                last.text.insert_str(0, text);
                let mut states = line_states;
                states.extend(last.line_states.iter().skip(1));
                last.line_states = states;
                last.start_char = start_char;
                last.start_line = start_line;
                last.at_ms = at_ms;
                Self::rekey(last);
                self.deleted_chars += deleted_chars;
                self.evict();
                return;
            }
            if start_char == last.start_char {
                // Delete key: the new text stood just after it.
                last.text.push_str(text);
                last.line_states.extend(line_states.into_iter().skip(1));
                last.at_ms = at_ms;
                Self::rekey(last);
                self.deleted_chars += deleted_chars;
                self.evict();
                return;
            }
        }
        let mut deletion = Deletion {
            uri: uri.to_string(),
            at_ms,
            start_char,
            start_line,
            text: text.to_string(),
            line_states,
            keys: Vec::new(),
            hashes: HashSet::new(),
            weight: 0,
            sealed: false,
        };
        Self::rekey(&mut deletion);
        self.deleted_chars += deleted_chars;
        self.deletions.push_back(deletion);
        self.evict();
    }

    /// The document `uri` saw another edit: its last deletion is complete.
    pub fn seal(&mut self, uri: &str) {
        if let Some(last) = self.deletions.back_mut()
            && last.uri == uri
        {
            last.sealed = true;
        }
    }

    /// The deletion that best explains `inserted`, if any covers at least `min_coverage` of it.
    pub fn best_match(&self, inserted: &str, min_coverage: f64) -> Option<GraveMatch> {
        let keys = line_keys(inserted);
        let total: u64 = keys.iter().map(|key| u64::from(key.weight)).sum();
        if total == 0 {
            return None;
        }
        // A cheap estimate by set membership picks the candidate; the line matching then pairs
        // lines one to one and gives the real coverage.
        let estimate = |deletion: &Deletion| -> u64 {
            keys.iter()
                .filter(|key| deletion.hashes.contains(&key.hash))
                .map(|key| u64::from(key.weight))
                .sum()
        };
        let best = self
            .deletions
            .iter()
            .rev()
            // Lines pair one to one, so a deletion covers at most its own weight: one far
            // smaller than the insertion (a 50 MB paste against a few deleted lines) is skipped.
            .filter(|deletion| deletion.weight as f64 >= min_coverage * total as f64)
            .map(|deletion| (estimate(deletion), deletion))
            .filter(|(covered, _)| *covered as f64 >= min_coverage * total as f64)
            .max_by_key(|(covered, _)| *covered)?
            .1;
        let pairs = match_lines(&best.keys, &keys);
        let covered: u64 = pairs
            .iter()
            .zip(&keys)
            .filter(|(pair, _)| pair.is_some())
            .map(|(_, key)| u64::from(key.weight))
            .sum();
        let coverage = covered as f64 / total as f64;
        if coverage < min_coverage {
            return None;
        }
        Some(GraveMatch {
            uri: best.uri.clone(),
            start_line: best.start_line,
            coverage,
            keys: best.keys.clone(),
            line_states: best.line_states.clone(),
        })
    }

    /// Keeps a chunk whose last line was deleted, in case its text comes back.
    /// Whether `text` (trimmed) lies within one of the last few deletions recorded for `uri`
    /// near `line` and in the last minute: undo or redo bringing back part of it, even within a
    /// line, where [`Graveyard::best_match`] compares whole lines. Bounded: a few short texts
    /// are compared, whatever the graveyard holds.
    pub fn holds_recently_deleted(&self, uri: &str, line: usize, at_ms: u64, text: &str) -> bool {
        const RECENT: usize = 8;
        const WITHIN_MS: u64 = 60_000;
        const NEAR_LINES: usize = 3;
        const MAX_SEARCHED_CHARS: usize = 64 * 1024;
        let text = text.trim();
        if crate::text::non_whitespace_chars(text) < 3 {
            return false;
        }
        self.deletions
            .iter()
            .rev()
            .filter(|deletion| deletion.uri == uri)
            .take(RECENT)
            .filter(|deletion| at_ms.saturating_sub(deletion.at_ms) <= WITHIN_MS)
            .filter(|deletion| deletion.start_line.abs_diff(line) <= NEAR_LINES)
            .filter(|deletion| deletion.text.len() <= MAX_SEARCHED_CHARS)
            .any(|deletion| deletion.text.contains(text))
    }

    pub fn bury(&mut self, chunk: Chunk) {
        let id = chunk.id;
        if self.buried.insert(id, chunk).is_none() {
            self.buried_order.push_back(id);
        }
        while self.buried_order.len() > MAX_BURIED_CHUNKS {
            if let Some(oldest) = self.buried_order.pop_front() {
                self.buried.remove(&oldest);
            }
        }
    }

    /// Takes a buried chunk back out.
    pub fn exhume(&mut self, id: ChunkId) -> Option<Chunk> {
        let chunk = self.buried.remove(&id)?;
        self.buried_order.retain(|buried| *buried != id);
        Some(chunk)
    }

    pub fn is_buried(&self, id: ChunkId) -> bool {
        self.buried.contains_key(&id)
    }

    fn rekey(deletion: &mut Deletion) {
        deletion.keys = line_keys(&deletion.text);
        deletion.hashes = deletion.keys.iter().map(|key| key.hash).collect();
        deletion.weight = deletion.keys.iter().map(|key| u64::from(key.weight)).sum();
        // The states must line up with the text's lines whatever the caller passed.
        let lines = deletion.keys.len();
        let fallback = deletion
            .line_states
            .last()
            .copied()
            .unwrap_or(LineState::TYPED);
        deletion.line_states.resize(lines, fallback);
    }

    fn evict(&mut self) {
        while self.deletions.len() > MAX_DELETIONS || self.deleted_chars > MAX_DELETED_CHARS {
            let Some(oldest) = self.deletions.pop_front() else {
                break;
            };
            self.deleted_chars -= oldest.text.chars().count();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::line_map::Origin;

    fn states(count: usize) -> Vec<LineState> {
        vec![LineState::new(Origin::Pasted, Some(ChunkId(7))); count]
    }

    #[test]
    fn an_exact_deletion_matches_with_its_states() {
        let mut graveyard = Graveyard::default();
        graveyard.record("a", 0, 10, 2, "let alpha = 1;\nlet beta = 2;\n", states(3));
        let found = graveyard
            .best_match("let alpha = 1;\nlet beta = 2;\n", 0.8)
            .unwrap();
        assert_eq!(found.coverage, 1.0);
        assert_eq!(found.start_line, 2);
        assert_eq!(found.line_states[0].chunk, Some(ChunkId(7)));
    }

    #[test]
    fn held_backspace_joins_into_one_deletion() {
        let mut graveyard = Graveyard::default();
        let text = "fn restored_function() { body(); }";
        // Deleting from the end, one char at a time.
        for (offset, character) in text.char_indices().rev() {
            graveyard.record(
                "a",
                offset as u64,
                offset,
                0,
                &character.to_string(),
                states(1),
            );
        }
        assert!(graveyard.best_match(text, 0.8).is_some());
        assert_eq!(graveyard.deletions.len(), 1);
    }

    #[test]
    fn sealed_deletions_do_not_join() {
        let mut graveyard = Graveyard::default();
        graveyard.record("a", 0, 5, 0, "x", states(1));
        graveyard.seal("a");
        graveyard.record("a", 1, 4, 0, "y", states(1));
        assert_eq!(graveyard.deletions.len(), 2);
    }

    #[test]
    fn unrelated_text_does_not_match() {
        let mut graveyard = Graveyard::default();
        graveyard.record("a", 0, 0, 0, "let alpha = 1;\n", states(2));
        assert_eq!(
            graveyard.best_match("let gamma = 3;\nlet delta = 4;\n", 0.8),
            None
        );
        assert_eq!(graveyard.best_match("   \n", 0.8), None);
    }
}
