//! Re-anchoring: a stored ownership map laid over a file's current text after it changed while
//! nobody watched (another editor, a script, `git pull`).
//!
//! Lines are paired by content (see `carry`): lines that stayed or moved keep their state and
//! chunk; lines that were rewritten or are new count as `external`, unless git has them committed
//! (then they are the project's, `typed`). A trivial line (`}`) proves nothing either way and
//! follows the line above it. A chunk keeps living if at least a third of its
//! non-whitespace text survived; otherwise it is reported gone.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use crate::carry::match_lines;
use crate::chunk::ChunkId;
use crate::line_map::{LineMap, LineState, Origin};
use crate::text::LineKey;

/// The map laid over the new text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reanchored {
    pub map: LineMap,
    /// Runs of lines that are new and not committed: candidates for an `external` chunk.
    pub external_runs: Vec<Range<usize>>,
    /// Chunks whose text is gone.
    pub gone: Vec<ChunkId>,
}

pub fn reanchor(
    old_keys: &[LineKey],
    old_map: &LineMap,
    new_keys: &[LineKey],
    committed_text: Option<&str>,
) -> Reanchored {
    if old_keys == new_keys && old_map.len() == new_keys.len() {
        return Reanchored {
            map: old_map.clone(),
            external_runs: Vec::new(),
            gone: Vec::new(),
        };
    }
    let pairs = match_lines(old_keys, new_keys);
    let old_states = old_map.states(0..old_keys.len());
    let old_state = |line: usize| old_states.get(line).copied().unwrap_or(LineState::TYPED);
    let committed: HashSet<u64> = committed_text
        .map(|text| {
            text.split('\n')
                .map(|line| LineKey::of(line).hash)
                .collect()
        })
        .unwrap_or_default();

    // How much of each chunk's text there was, and how much survived.
    let mut chunk_weight: HashMap<ChunkId, (u64, u64)> = HashMap::new();
    let mut survived_old: Vec<bool> = vec![false; old_keys.len()];
    for old in pairs.iter().flatten() {
        survived_old[*old] = true;
    }
    for (line, key) in old_keys.iter().enumerate() {
        if let Some(chunk) = old_state(line).chunk {
            let entry = chunk_weight.entry(chunk).or_default();
            entry.0 += u64::from(key.weight);
            if survived_old[line] {
                entry.1 += u64::from(key.weight);
            }
        }
    }
    let mut gone: Vec<ChunkId> = chunk_weight
        .iter()
        .filter(|(_, (total, kept))| *kept == 0 || kept * 3 < *total)
        .map(|(chunk, _)| *chunk)
        .collect();
    gone.sort_unstable();

    let mut states = Vec::with_capacity(new_keys.len());
    let mut external_runs: Vec<Range<usize>> = Vec::new();
    for (line, (key, pair)) in new_keys.iter().zip(&pairs).enumerate() {
        let state = match pair {
            Some(old) => {
                let state = old_state(*old);
                match state.chunk {
                    Some(chunk) if gone.binary_search(&chunk).is_ok() => {
                        LineState::new(state.origin, None)
                    }
                    _ => state,
                }
            }
            None if key.is_blank() => LineState::TYPED,
            // A `}` is in every committed file: a trivial line follows the line above it.
            None if key.is_trivial() && external_runs.last().is_none_or(|run| run.end != line) => {
                LineState::TYPED
            }
            None if !key.is_trivial() && committed.contains(&key.hash) => LineState::TYPED,
            None => {
                match external_runs.last_mut() {
                    Some(run) if run.end == line => run.end += 1,
                    _ => external_runs.push(line..line + 1),
                }
                LineState::new(Origin::External, None)
            }
        };
        states.push(state);
    }
    Reanchored {
        map: LineMap::from_states(states),
        external_runs,
        gone,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::line_keys;

    fn pasted(chunk: u64) -> LineState {
        LineState::new(Origin::Pasted, Some(ChunkId(chunk)))
    }

    #[test]
    fn an_unchanged_file_keeps_its_map() {
        let text = "fn a() {}\nfn b() {\n    body();\n}\n";
        let keys = line_keys(text);
        let map = LineMap::from_states([
            LineState::TYPED,
            pasted(1),
            pasted(1),
            pasted(1),
            LineState::TYPED,
        ]);
        let result = reanchor(&keys, &map, &keys, None);
        assert_eq!(result.map, map);
        assert!(result.external_runs.is_empty());
        assert!(result.gone.is_empty());
    }

    #[test]
    fn a_moved_chunk_follows_its_text_and_new_lines_are_external() {
        let old = line_keys("fn pasted_fn() {\n    pasted_body();\n}\nfn own_fn() {}");
        let new = line_keys(
            "fn own_fn() {}\nlet added_outside = 1;\nfn pasted_fn() {\n    pasted_body();\n}",
        );
        let map = LineMap::from_states([pasted(1), pasted(1), pasted(1), LineState::TYPED]);
        let result = reanchor(&old, &map, &new, None);
        assert_eq!(
            result.map.chunk_runs(),
            vec![(ChunkId(1), 2..5)],
            "{:?}",
            result.map
        );
        assert_eq!(result.external_runs, vec![1..2]);
    }

    #[test]
    fn a_closing_brace_follows_the_new_lines_above_it() {
        let old = line_keys("fn own() {}");
        let new = line_keys("fn outside() {\n    outside_body();\n}\nfn own() {}");
        let map = LineMap::new(1, LineState::TYPED);
        let result = reanchor(&old, &map, &new, Some("fn own() {\n}"));
        assert_eq!(result.external_runs, vec![0..3]);
    }

    #[test]
    fn committed_lines_are_not_external_and_rewritten_chunks_are_gone() {
        let old = line_keys("fn pasted_fn() {\n    pasted_body();\n}");
        let new = line_keys("fn rewritten() {\n    other_body();\n}");
        let map = LineMap::from_states([pasted(1), pasted(1), pasted(1)]);
        let result = reanchor(
            &old,
            &map,
            &new,
            Some("fn rewritten() {\n    other_body();\n}"),
        );
        assert_eq!(result.gone, vec![ChunkId(1)]);
        assert!(result.external_runs.is_empty());
        assert!(result.map.chunk_runs().is_empty());
    }
}
