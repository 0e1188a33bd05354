//! Line matching between an old and a new version of some text, so that ownership follows lines
//! through rewrites, formatter runs, re-anchoring and moves.
//!
//! Two passes: a histogram diff pairs the lines that stayed in order; then lines that moved (a
//! function cut from the top and put at the bottom) are paired by content, starting from lines
//! with enough substance to be unlikely to match by chance and extending to their trivial
//! neighbours (`}`, blank lines) only when those sit next to them on both sides.
//!
//! Everything here is linear in the number of lines except the diff, which is bounded: when more
//! than [`MAX_DIFFED_LINES`] lines differ between the two versions (after their common start and
//! end), it is skipped and the content pass pairs them all. The diff's cost grows with the square
//! of the lines between the common start and end when many of them repeat (imara-diff scans back
//! over every earlier line for each frequent one), which a pasted log or a generated file does.

use std::collections::HashMap;

use imara_diff::intern::InternedInput;
use imara_diff::{Algorithm, diff};

use crate::text::LineKey;

/// Above this many lines between the common start and end of the two versions (old and new
/// together), lines are paired by content alone. A whole-file rewrite of a 10,000-line file is
/// still diffed.
pub const MAX_DIFFED_LINES: usize = 20_000;

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
    let common_start = old
        .iter()
        .zip(new)
        .take_while(|(old, new)| old.hash == new.hash)
        .count();
    let common_end = old[common_start..]
        .iter()
        .rev()
        .zip(new[common_start..].iter().rev())
        .take_while(|(old, new)| old.hash == new.hash)
        .count();
    let between = (old.len() - common_start - common_end) + (new.len() - common_start - common_end);
    if between > MAX_DIFFED_LINES {
        for index in 0..common_start {
            matches[index] = Some(index);
            old_used[index] = true;
        }
        for offset in 1..=common_end {
            matches[new.len() - offset] = Some(old.len() - offset);
            old_used[old.len() - offset] = true;
        }
        return;
    }
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
    // Unused old lines by content, in order, with a cursor past the ones used since: each line
    // is looked at a bounded number of times, however often its content repeats.
    let mut unused_old_by_hash: HashMap<u64, (Vec<usize>, usize)> = HashMap::new();
    for (index, key) in old.iter().enumerate() {
        if !old_used[index] && !key.is_trivial() {
            unused_old_by_hash
                .entry(key.hash)
                .or_default()
                .0
                .push(index);
        }
    }
    if unused_old_by_hash.is_empty() {
        return;
    }
    for new_index in 0..new.len() {
        let key = new[new_index];
        if matches[new_index].is_some() || key.is_trivial() {
            continue;
        }
        let Some((candidates, first_unused)) = unused_old_by_hash.get_mut(&key.hash) else {
            continue;
        };
        // Prefer the old line right after the one the previous new line came from, so that a
        // moved block with repeated lines stays in its own order.
        let continuing = new_index
            .checked_sub(1)
            .and_then(|previous| matches[previous])
            .map(|previous_old| previous_old + 1)
            .filter(|&wanted| {
                wanted < old.len()
                    && !old_used[wanted]
                    && old[wanted].hash == key.hash
                    && !old[wanted].is_trivial()
            });
        let old_index = match continuing {
            Some(wanted) => wanted,
            None => {
                while *first_unused < candidates.len() && old_used[candidates[*first_unused]] {
                    *first_unused += 1;
                }
                match candidates.get(*first_unused) {
                    Some(&first) => first,
                    None => continue,
                }
            }
        };
        matches[new_index] = Some(old_index);
        old_used[old_index] = true;
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

    /// Above the diff's bound, lines are paired by content alone: lines that stayed, lines that
    /// moved and the common start and end all keep their pairs.
    #[test]
    fn past_the_diff_bound_lines_pair_by_content() {
        let line = |index: usize| format!("let value_{index} = compute({index});");
        let count = MAX_DIFFED_LINES;
        let old: Vec<String> = (0..count).map(line).collect();
        let mut new: Vec<String> = (0..count).map(line).collect();
        // Every other line rewritten, the first and last kept, one line moved to the end.
        for (index, text) in new.iter_mut().enumerate().skip(1) {
            if index % 2 == 0 && index + 1 < count {
                *text = format!("rewritten_{index}();");
            }
        }
        let moved = new.remove(1);
        new.insert(count - 2, moved);
        let matches = match_lines(&keys(&old.join("\n")), &keys(&new.join("\n")));
        assert_eq!(matches[0], Some(0));
        assert_eq!(matches[count - 1], Some(count - 1));
        assert_eq!(matches[count - 2], Some(1), "the moved line");
        assert_eq!(matches[1], None, "a rewritten line");
        assert_eq!(matches[2], Some(3));
    }

    /// Regression: thousands of repeated lines made both passes quadratic (the diff's
    /// preprocessing, and removing each paired line from the front of a list): re-opening a
    /// changed 2 MB log took a minute. Repetitive text on both sides, above the bound.
    #[test]
    fn many_repeated_lines_pair_in_linear_time() {
        let old: String = (0..200_000)
            .map(|index| format!("line {} {}\n", index % 7, index % 3))
            .collect();
        let new: String = (0..200_000)
            .map(|index| format!("line {} {}\n", index % 5, index % 2))
            .collect();
        let started = std::time::Instant::now();
        let matches = match_lines(&keys(&old), &keys(&new));
        // Minutes before; well under a second in a debug build now. The bound is loose on
        // purpose: this catches a quadratic pass, not a slow machine.
        assert!(started.elapsed() < std::time::Duration::from_secs(30));
        assert!(matches.iter().filter(|pair| pair.is_some()).count() > 90_000);
    }

    #[test]
    fn trivial_lines_do_not_move_on_their_own() {
        check("}\nalpha_line\n", "beta_line\n}", &[None, None]);
        check("}\n}", "}\n}", &[None, None]);
        check("x = 1;\n}\n}", "x = 1;\n}\n}", &[Some(0), Some(1), Some(2)]);
    }
}
