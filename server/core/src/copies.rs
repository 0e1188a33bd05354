//! Copies: inserted text that is already in the workspace (the same file or another tracked one)
//! takes the origin of its source lines. A copy of the user's own lines is theirs; a copy of a
//! chunk's lines is a new chunk of that chunk's origin.
//!
//! Found by voting: every inserted line that is not trivial (`}`) votes, for each source line with
//! the same key, for the alignment "inserted line i is source line j" (the offset j - i) of that
//! source, weighted by its characters. The best alignment of all sources wins if the lines it pairs
//! cover enough of the insertion. Cost: one pass over the source lines, only for insertions that
//! would otherwise be flagged; never on the typing path.

use std::collections::HashMap;
use std::ops::Range;

use crate::text::LineKey;

/// At most this many source lines are read for one insertion (a bound on time and memory in a
/// huge workspace); sources past it are not searched.
pub const MAX_SOURCE_LINES: usize = 2_000_000;
/// A line that occurs more often than this in the insertion (`let _ = ...;` repeated) does not
/// vote: it would make votes quadratic and says nothing about where the text came from.
const MAX_REPEATS: usize = 8;

/// Lines to search for the insertion's source.
pub struct Source<'a> {
    pub uri: &'a str,
    pub keys: &'a [LineKey],
    /// Lines of this source that are the insertion itself (the same document), never a source.
    pub skip: Range<usize>,
}

/// Where an insertion was copied from.
#[derive(Debug, Clone, PartialEq)]
pub struct Copy {
    pub uri: String,
    /// For each inserted line, the source line it copies, if its key matches at the alignment.
    pub pairs: Vec<Option<usize>>,
    /// Share of the insertion's non-whitespace characters on paired lines.
    pub coverage: f64,
}

/// The source the insertion `inserted` was copied from, if its best alignment covers at least
/// `min_coverage` of it.
pub fn find_copy(inserted: &[LineKey], sources: &[Source<'_>], min_coverage: f64) -> Option<Copy> {
    let total: u64 = inserted.iter().map(|key| u64::from(key.weight)).sum();
    if total == 0 {
        return None;
    }
    let mut at: HashMap<u64, Vec<usize>> = HashMap::new();
    for (index, key) in inserted.iter().enumerate() {
        if !key.is_trivial() {
            at.entry(key.hash).or_default().push(index);
        }
    }
    at.retain(|_, indices| indices.len() <= MAX_REPEATS);
    if at.is_empty() {
        return None;
    }
    let mut best: Option<(usize, i64, u64)> = None;
    let mut read = 0usize;
    for (source_index, source) in sources.iter().enumerate() {
        if read + source.keys.len() > MAX_SOURCE_LINES {
            break;
        }
        read += source.keys.len();
        let mut votes: HashMap<i64, u64> = HashMap::new();
        for (line, key) in source.keys.iter().enumerate() {
            if source.skip.contains(&line) || key.is_trivial() {
                continue;
            }
            if let Some(indices) = at.get(&key.hash) {
                for &index in indices {
                    *votes.entry(line as i64 - index as i64).or_default() +=
                        u64::from(inserted[index].weight);
                }
            }
        }
        if let Some((&offset, &weight)) = votes
            .iter()
            .max_by_key(|(offset, weight)| (**weight, std::cmp::Reverse(**offset)))
            && best.is_none_or(|(_, _, best_weight)| weight > best_weight)
        {
            best = Some((source_index, offset, weight));
        }
    }
    let (source_index, offset, _) = best?;
    let source = &sources[source_index];
    let pairs: Vec<Option<usize>> = inserted
        .iter()
        .enumerate()
        .map(|(index, key)| {
            let line = usize::try_from(index as i64 + offset).ok()?;
            let found = source.keys.get(line)?;
            (!source.skip.contains(&line) && found.hash == key.hash && !key.is_blank())
                .then_some(line)
        })
        .collect();
    let covered: u64 = inserted
        .iter()
        .zip(&pairs)
        .filter(|(_, pair)| pair.is_some())
        .map(|(key, _)| u64::from(key.weight))
        .sum();
    let coverage = covered as f64 / total as f64;
    (coverage >= min_coverage).then(|| Copy {
        uri: source.uri.to_string(),
        pairs,
        coverage,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::line_keys;

    fn function(name: &str) -> String {
        format!(
            "fn {name}(input: &str) -> usize {{\n    let trimmed = input.trim();\n    \
             trimmed.len() * 2\n}}\n"
        )
    }

    #[test]
    fn a_copy_is_found_in_another_source_at_its_place() {
        let own = format!(
            "use std::fmt;\n\n{}\n{}",
            function("first"),
            function("second")
        );
        let own_keys = line_keys(&own);
        let other_keys = line_keys("fn unrelated() {}\n");
        let inserted = line_keys(&function("second"));
        let sources = [
            Source {
                uri: "file:///other.rs",
                keys: &other_keys,
                skip: 0..0,
            },
            Source {
                uri: "file:///own.rs",
                keys: &own_keys,
                skip: 0..0,
            },
        ];
        let copy = find_copy(&inserted, &sources, 0.8).expect("a copy");
        assert_eq!(copy.uri, "file:///own.rs");
        assert_eq!(copy.pairs[0], Some(7));
        assert!(copy.coverage > 0.99);
    }

    #[test]
    fn new_text_and_the_insertion_itself_are_not_copies() {
        let text = function("only");
        let keys = line_keys(&text);
        let sources = [Source {
            uri: "file:///a.rs",
            keys: &keys,
            skip: 0..keys.len(),
        }];
        assert_eq!(find_copy(&keys, &sources, 0.8), None);
        let new = line_keys("let fresh = compute(1, 2);\nprintln!(\"{fresh}\");\n");
        let sources = [Source {
            uri: "file:///a.rs",
            keys: &keys,
            skip: 0..0,
        }];
        assert_eq!(find_copy(&new, &sources, 0.8), None);
    }

    #[test]
    fn a_copy_edited_beyond_recognition_is_not_one() {
        let source = function("original");
        let source_keys = line_keys(&source);
        let edited = "fn original(input: &str) -> usize {\n    let parts = input.split(',');\n    \
                      parts.count() + 40\n}\n";
        let sources = [Source {
            uri: "file:///a.rs",
            keys: &source_keys,
            skip: 0..0,
        }];
        assert_eq!(find_copy(&line_keys(edited), &sources, 0.8), None);
    }
}
