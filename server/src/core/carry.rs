//! Line matching between an old and a new version of some text, so that ownership follows lines
//! through rewrites, formatter runs, re-anchoring and moves.
//!
//! Two passes: a histogram diff pairs the lines that stayed in order; then lines that moved (a
//! function cut from the top and put at the bottom) are paired by content, starting from lines
//! with enough substance to be unlikely to match by chance and extending to their trivial
//! neighbours (`}`, blank lines) only when those sit next to them on both sides.

use std::collections::HashMap;

use imara_diff::intern::InternedInput;
use imara_diff::{Algorithm, diff};

use crate::core::text::LineKey;

/// For each new line, the index of the old line it continues, if any. Each old line is used once.
pub fn match_lines(old: &[LineKey], new: &[LineKey]) -> Vec<Option<usize>> {
    let mut matches: Vec<Option<usize>> = vec![None; new.len()];
    let mut old_used = vec![false; old.len()];
    pair_lines_in_order(old, new, &mut matches, &mut old_used);
    drop_unanchored_trivial_pairs(new, &mut matches, &mut old_used);
    pair_moved_lines(old, new, &mut matches, &mut old_used);
    extend_to_trivial_neighbours(old, new, &mut matches, &mut old_used);
    matches
}

fn pair_lines_in_order(
    old: &[LineKey],
    new: &[LineKey],
    matches: &mut [Option<usize>],
    old_used: &mut [bool],
) {
    let mut input: InternedInput<u64> = InternedInput::default();
    input.update_before(old.iter().map(|key| key.hash));
    input.update_after(new.iter().map(|key| key.hash));
    let mut old_position = 0usize;
    let mut new_position = 0usize;
    let mut pair_until =
        |old_end: usize, new_end: usize, old_position: &mut usize, new_position: &mut usize| {
            while *old_position < old_end && *new_position < new_end {
                matches[*new_position] = Some(*old_position);
                old_used[*old_position] = true;
                *old_position += 1;
                *new_position += 1;
            }
        };
    let mut hunks: Vec<(std::ops::Range<u32>, std::ops::Range<u32>)> = Vec::new();
    diff(Algorithm::Histogram, &input, |before, after| {
        hunks.push((before, after))
    });
    for (before, after) in hunks {
        pair_until(
            before.start as usize,
            after.start as usize,
            &mut old_position,
            &mut new_position,
        );
        old_position = before.end as usize;
        new_position = after.end as usize;
    }
    pair_until(old.len(), new.len(), &mut old_position, &mut new_position);
}

/// The diff pairs a `}` with any `}`. Such a pairing stands only when it is anchored: the line has
/// substance or neighbours an anchored pair in the same order. The rest are undone so that moved blocks can claim their own braces.
fn drop_unanchored_trivial_pairs(
    new: &[LineKey],
    matches: &mut [Option<usize>],
    old_used: &mut [bool],
) {
    let mut anchored: Vec<bool> = (0..new.len())
        .map(|index| matches[index].is_some() && !new[index].is_trivial())
        .collect();
    for index in 1..new.len() {
        if !anchored[index]
            && anchored[index - 1]
            && let (Some(this), Some(previous)) = (matches[index], matches[index - 1])
            && this == previous + 1
        {
            anchored[index] = true;
        }
    }
    for index in (0..new.len().saturating_sub(1)).rev() {
        if !anchored[index]
            && anchored[index + 1]
            && let (Some(this), Some(next)) = (matches[index], matches[index + 1])
            && this + 1 == next
        {
            anchored[index] = true;
        }
    }
    for index in 0..new.len() {
        if !anchored[index]
            && let Some(old_index) = matches[index].take()
        {
            old_used[old_index] = false;
        }
    }
}

fn pair_moved_lines(
    old: &[LineKey],
    new: &[LineKey],
    matches: &mut [Option<usize>],
    old_used: &mut [bool],
) {
    let mut unused_old_by_hash: HashMap<u64, Vec<usize>> = HashMap::new();
    for (index, key) in old.iter().enumerate() {
        if !old_used[index] && !key.is_trivial() {
            unused_old_by_hash.entry(key.hash).or_default().push(index);
        }
    }
    if unused_old_by_hash.is_empty() {
        return;
    }
    for new_index in 0..new.len() {
        if matches[new_index].is_some() || new[new_index].is_trivial() {
            continue;
        }
        let Some(candidates) = unused_old_by_hash.get_mut(&new[new_index].hash) else {
            continue;
        };
        // Prefer the old line right after the one the previous new line came from, so that a
        // moved block with repeated lines stays in its own order.
        let continuing = new_index
            .checked_sub(1)
            .and_then(|previous| matches[previous])
            .map(|previous_old| previous_old + 1);
        let position = continuing
            .and_then(|wanted| candidates.iter().position(|&candidate| candidate == wanted))
            .unwrap_or(0);
        if position < candidates.len() {
            let old_index = candidates.remove(position);
            matches[new_index] = Some(old_index);
            old_used[old_index] = true;
        }
    }
}

fn extend_to_trivial_neighbours(
    old: &[LineKey],
    new: &[LineKey],
    matches: &mut [Option<usize>],
    old_used: &mut [bool],
) {
    for new_index in 0..new.len().saturating_sub(1) {
        if let (Some(old_index), None) = (matches[new_index], matches[new_index + 1]) {
            let next_old = old_index + 1;
            if next_old < old.len() && !old_used[next_old] && old[next_old] == new[new_index + 1] {
                matches[new_index + 1] = Some(next_old);
                old_used[next_old] = true;
            }
        }
    }
    for new_index in (1..new.len()).rev() {
        if let (Some(old_index), None) = (matches[new_index], matches[new_index - 1])
            && let Some(previous_old) = old_index.checked_sub(1)
            && !old_used[previous_old]
            && old[previous_old] == new[new_index - 1]
        {
            matches[new_index - 1] = Some(previous_old);
            old_used[previous_old] = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(text: &str) -> Vec<LineKey> {
        text.lines().map(LineKey::of).collect()
    }

    fn check(old: &str, new: &str, expected: &[Option<usize>]) {
        assert_eq!(
            match_lines(&keys(old), &keys(new)),
            expected,
            "{old:?} -> {new:?}"
        );
    }

    #[test]
    fn lines_in_order_pair_up() {
        check(
            "alpha\nbravo\ncharlie",
            "alpha\nX\nbravo\ncharlie",
            &[Some(0), None, Some(1), Some(2)],
        );
        check(
            "alpha\nbravo\ncharlie",
            "alpha\ncharlie",
            &[Some(0), Some(2)],
        );
        check("", "", &[]);
    }

    #[test]
    fn reindented_lines_still_pair() {
        check(
            "fn f() {\nlet x = 1;\n}",
            "fn f() {\n    let x = 1;\n}",
            &[Some(0), Some(1), Some(2)],
        );
    }

    #[test]
    fn a_moved_block_keeps_its_lines_and_brace() {
        let old = "fn one() {\n    body_one();\n}\nfn two() {\n    body_two();\n}";
        let new = "fn two() {\n    body_two();\n}\nfn one() {\n    body_one();\n}";
        check(
            old,
            new,
            &[Some(3), Some(4), Some(5), Some(0), Some(1), Some(2)],
        );
    }

    #[test]
    fn trivial_lines_do_not_move_on_their_own() {
        check("}\nalpha_line\n", "beta_line\n}", &[None, None]);
        check("}\n}", "}\n}", &[None, None]);
        check("x = 1;\n}\n}", "x = 1;\n}\n}", &[Some(0), Some(1), Some(2)]);
    }
}
