//! Suggestion acceptances: inline completions (Copilot, Cursor Tab and the like) are accepted a few
//! lines at a time, each under the paste bar, usually after a few typed characters. One alone is
//! quiet; several close together in place and time, with at most a little typing between them,
//! add up to one `generated` chunk once together they pass the bar (README, "What is flagged").
//!
//! An *acceptance* is an insertion no keystroke makes: one change that brings several non-blank
//! lines of code, or a long run of code on one line. Identifiers, however long, short snippets,
//! an Enter with its indentation and closing brace, and edits at several places (renames,
//! multi-cursor typing, a completion with its import) are not acceptances.

use std::ops::Range;

use crate::apply::{AppliedChange, LineShift};
use crate::chunk::ChunkId;
use crate::text::non_whitespace_chars;

/// A one-line acceptance brings at least this many non-whitespace characters.
pub const MIN_LINE_CHARS: usize = 20;
/// A several-line acceptance brings at least two non-blank lines and this many characters.
pub const MIN_BLOCK_CHARS: usize = 16;
/// Acceptances further apart in time than this start a new group.
pub const GAP_MS: u64 = 30_000;
/// ...and so do acceptances with more typing than this (non-whitespace characters) between them.
pub const LITTLE_TYPING: usize = 40;
/// ...and acceptances more than this many lines away from the group's lines.
pub const NEAR_LINES: usize = 3;
/// A group flags nothing with fewer acceptances than this.
pub const MIN_ACCEPTANCES: usize = 2;

/// The change of a notification that is an acceptance, if one is: the only change bringing more
/// than a keystroke (Neovim sends the keys typed meanwhile in the same notification).
pub fn accepted_change(applied: &[AppliedChange]) -> Option<&AppliedChange> {
    let mut bigger = applied
        .iter()
        .filter(|change| non_whitespace_chars(&change.inserted) > 1 || change.rewrite);
    let change = bigger.next()?;
    if bigger.next().is_some() || change.whole_document || change.rewrite {
        return None;
    }
    // Inserted at the cursor: at most an auto-closed bracket or quote is typed over.
    if non_whitespace_chars(&change.deleted) > 2 {
        return None;
    }
    is_acceptance_text(&change.inserted).then_some(change)
}

/// Whether inserted text is something no keystroke makes: code over several lines, or a run of
/// code (not a lone identifier or call) on one line.
pub fn is_acceptance_text(text: &str) -> bool {
    let chars = non_whitespace_chars(text);
    let non_blank = text
        .split('\n')
        .filter(|line| !line.trim().is_empty())
        .count();
    if text.contains('\n') && non_blank >= 2 {
        return chars >= MIN_BLOCK_CHARS;
    }
    chars >= MIN_LINE_CHARS && !is_one_name(text.trim())
}

/// An identifier or a path of them, maybe with empty call parentheses: what an editor's own
/// completion inserts (`AbstractSingletonProxyFactoryBean`, `collections::HashMap`, `len()`).
fn is_one_name(text: &str) -> bool {
    let text = text.strip_suffix("()").unwrap_or(text);
    !text.is_empty()
        && text
            .chars()
            .all(|character| character.is_alphanumeric() || "_$:.".contains(character))
}

/// Acceptances that belong together, and what they built.
#[derive(Debug, Clone)]
pub struct Group {
    pub count: usize,
    pub last_ms: u64,
    /// Non-whitespace characters accepted.
    pub chars: usize,
    /// The lines each acceptance touched, in the current document.
    pub runs: Vec<Range<usize>>,
    /// Non-whitespace characters typed since the last acceptance.
    typed_since: usize,
    /// The chunk the group became, once it passed the bar.
    pub chunk: Option<ChunkId>,
}

impl Group {
    /// The lines from the group's first to its last, in the current document.
    pub fn span(&self) -> Range<usize> {
        let start = self.runs.iter().map(|run| run.start).min().unwrap_or(0);
        let end = self.runs.iter().map(|run| run.end).max().unwrap_or(0);
        start..end
    }

    fn is_near(&self, lines: &Range<usize>) -> bool {
        let span = self.span();
        lines.start <= span.end + NEAR_LINES && span.start <= lines.end + NEAR_LINES
    }
}

/// One document's current group of acceptances.
#[derive(Debug, Clone, Default)]
pub struct AcceptanceTracker {
    group: Option<Group>,
}

impl AcceptanceTracker {
    /// Typing between acceptances: a little is reading and steering the suggestion, more is
    /// writing code, and the next acceptance starts afresh.
    pub fn typed(&mut self, chars: usize) {
        if let Some(group) = &mut self.group {
            group.typed_since += chars;
        }
    }

    /// Records an acceptance of `chars` characters over `lines`; returns its group.
    pub fn accept(&mut self, at_ms: u64, chars: usize, lines: Range<usize>) -> &mut Group {
        let continues = self.group.as_ref().is_some_and(|group| {
            at_ms.saturating_sub(group.last_ms) <= GAP_MS
                && group.typed_since <= LITTLE_TYPING
                && group.is_near(&lines)
        });
        if !continues {
            self.group = None;
        }
        let group = self.group.get_or_insert_with(|| Group {
            count: 0,
            last_ms: at_ms,
            chars: 0,
            runs: Vec::new(),
            typed_since: 0,
            chunk: None,
        });
        group.count += 1;
        group.last_ms = at_ms;
        group.chars += chars;
        group.typed_since = 0;
        group.runs.push(lines);
        group
    }

    /// Remembers the chunk the current group became, so that later acceptances extend it.
    pub fn attach_chunk(&mut self, id: ChunkId) {
        if let Some(group) = &mut self.group {
            group.chunk = Some(id);
        }
    }

    /// Keeps line ranges pointing at the same text after an edit.
    pub fn follow(&mut self, shift: &LineShift) {
        if let Some(group) = &mut self.group {
            for run in &mut group.runs {
                *run = shift.map_range(run.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_is_an_acceptance_and_names_are_not() {
        assert!(is_acceptance_text(
            "let total = items.iter().map(|item| item.price).sum::<u64>();"
        ));
        assert!(is_acceptance_text(
            "if value > limit {\n        return Err(Error::TooLarge);\n    }\n"
        ));
        assert!(!is_acceptance_text("AbstractSingletonProxyFactoryBean"));
        assert!(!is_acceptance_text("std::collections::HashMap"));
        assert!(!is_acceptance_text("unwrap_or_default()"));
        assert!(!is_acceptance_text("\n    \n}"));
        assert!(!is_acceptance_text("fn name() {\n\t\n}"));
        assert!(!is_acceptance_text("x = 1;"));
    }

    #[test]
    fn acceptances_far_apart_or_with_typing_between_start_afresh() {
        let mut tracker = AcceptanceTracker::default();
        assert_eq!(tracker.accept(0, 30, 10..11).count, 1);
        assert_eq!(tracker.accept(4_000, 30, 11..12).count, 2);
        // Far away in the file.
        assert_eq!(tracker.accept(6_000, 30, 40..41).count, 1);
        // Long after.
        assert_eq!(tracker.accept(6_000 + GAP_MS + 1, 30, 41..42).count, 1);
        // A whole line typed by hand in between.
        tracker.typed(LITTLE_TYPING + 1);
        assert_eq!(tracker.accept(40_000, 30, 42..43).count, 1);
        tracker.typed(6);
        assert_eq!(tracker.accept(42_000, 30, 43..44).count, 2);
    }
}
