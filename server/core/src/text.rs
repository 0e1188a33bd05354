//! Small measures of text that detection and line matching share: non-whitespace counts and the
//! whitespace-blind key that identifies a line across re-indentation and formatting; and line
//! ranges as every layer words them for people.

/// Zero-based lines `start_line..end_line` (end exclusive) as a person reads them, one-based:
/// "line 12" for one line, "lines 12–40" for more. An empty range reads as its first line.
pub fn line_range(start_line: usize, end_line: usize) -> String {
    let first = start_line + 1;
    let last = end_line.max(first);
    if last == first {
        format!("line {first}")
    } else {
        format!("lines {first}–{last}")
    }
}

/// Characters that are not whitespace: the size measure every threshold uses, so that indentation,
/// blank lines and formatter spacing never count as written code.
pub fn non_whitespace_chars(text: &str) -> usize {
    text.chars()
        .filter(|character| !character.is_whitespace())
        .count()
}

/// Lines that hold at least one non-whitespace character.
pub fn non_blank_lines(text: &str) -> usize {
    text.split('\n')
        .filter(|line| line.chars().any(|character| !character.is_whitespace()))
        .count()
}

/// A line's identity for matching: a hash of its non-whitespace characters and how many there are.
///
/// Whitespace is left out so that a re-indented or reformatted line still matches itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LineKey {
    pub hash: u64,
    pub weight: u32,
}

impl LineKey {
    /// The hash is FNV-1a over the UTF-8 bytes of the non-whitespace characters: written out here
    /// because stored maps compare keys across releases, and std's hasher makes no such promise.
    pub fn of(line: &str) -> LineKey {
        LineKey::of_chars(line.chars())
    }

    /// [`LineKey::of`] of the characters, read without building the line first. Line breaks are
    /// whitespace, so a line's key is the same with or without its break.
    pub fn of_chars(characters: impl Iterator<Item = char>) -> LineKey {
        const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
        const PRIME: u64 = 0x0000_0100_0000_01b3;
        let mut hash = OFFSET_BASIS;
        let mut weight = 0u32;
        let mut buffer = [0u8; 4];
        for character in characters.filter(|character| !character.is_whitespace()) {
            for byte in character.encode_utf8(&mut buffer).bytes() {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(PRIME);
            }
            weight = weight.saturating_add(1);
        }
        LineKey { hash, weight }
    }

    pub fn is_blank(self) -> bool {
        self.weight == 0
    }

    /// Lines like `}` or `);` match by coincidence too often to carry ownership on their own.
    pub fn is_trivial(self) -> bool {
        self.weight < 3
    }
}

/// Keys of every line of a text, split as the rope splits it (see [`split_lines`]).
pub fn line_keys(text: &str) -> Vec<LineKey> {
    split_lines(text).map(LineKey::of).collect()
}

/// The lines of `text` without their breaks, split as the rope splits them: on `\r\n`, `\n` and
/// a lone `\r`. Text after the last break is one more line, empty or not.
pub fn split_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        // Bytes, not chars: both breaks are ASCII, and this runs over every byte of a paste.
        match current
            .bytes()
            .position(|byte| byte == b'\n' || byte == b'\r')
        {
            Some(index) => {
                let break_length = if current[index..].starts_with("\r\n") {
                    2
                } else {
                    1
                };
                rest = Some(&current[index + break_length..]);
                Some(&current[..index])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// The last line of `text` ([`split_lines`]'s last), found from the end.
pub fn last_line(text: &str) -> &str {
    match text
        .bytes()
        .rposition(|byte| byte == b'\n' || byte == b'\r')
    {
        Some(index) => &text[index + 1..],
        None => text,
    }
}

/// How many chars two strings share at the start and, after that, at the end.
pub fn common_prefix_and_suffix(left: &str, right: &str) -> (usize, usize) {
    let prefix = left
        .chars()
        .zip(right.chars())
        .take_while(|(a, b)| a == b)
        .count();
    let left_rest = left.chars().count() - prefix;
    let right_rest = right.chars().count() - prefix;
    let suffix = left
        .chars()
        .rev()
        .zip(right.chars().rev())
        .take(left_rest.min(right_rest))
        .take_while(|(a, b)| a == b)
        .count();
    (prefix, suffix)
}

/// The word characters of a text (letters, digits, `_`), sorted: equal for two texts that differ
/// only in whitespace, punctuation and the order of their tokens. That is what a formatter does
/// (rustfmt adds trailing commas and drops braces, prettier swaps quotes, import sorting reorders)
/// and what moving lines around does; new code always brings new names or numbers.
pub fn sorted_word_characters(text: &str) -> Vec<char> {
    let mut characters: Vec<char> = text
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    characters.sort_unstable();
    characters
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_one_line_range_reads_as_one_line() {
        assert_eq!(line_range(190, 191), "line 191");
        assert_eq!(line_range(11, 40), "lines 12–40");
        // Empty or reversed ranges (a chunk that lost its lines) still name a line.
        assert_eq!(line_range(4, 4), "line 5");
        assert_eq!(line_range(4, 2), "line 5");
    }

    #[test]
    fn keys_ignore_whitespace() {
        assert_eq!(LineKey::of("    let x = 1;"), LineKey::of("let x=1;\r"));
        assert_ne!(LineKey::of("let x = 1;"), LineKey::of("let x = 2;"));
        assert!(LineKey::of("  }  ").is_trivial());
        assert!(LineKey::of("\t").is_blank());
    }

    /// Stored maps depend on these exact values: changing the hash needs a new record version.
    #[test]
    fn lines_split_as_the_rope_splits_them() {
        assert_eq!(
            split_lines("a\r\nb\rc\n\r").collect::<Vec<_>>(),
            ["a", "b", "c", "", ""]
        );
        assert_eq!(split_lines("").collect::<Vec<_>>(), [""]);
        assert_eq!(line_keys("x\ry").len(), 2);
        for text in [
            "",
            "abc",
            "a\r\n",
            "a\r",
            "a\nb",
            "a\r\nb\rc",
            "\n\n",
            "é\nü",
        ] {
            assert_eq!(Some(last_line(text)), split_lines(text).last(), "{text:?}");
        }
    }

    #[test]
    fn a_line_key_read_from_chars_is_the_key_of_the_line() {
        for line in ["", "  fn main() {", "\tlet x = 1; // é", "a\r\n"] {
            assert_eq!(
                LineKey::of_chars(line.chars()),
                LineKey::of(line.trim_end())
            );
        }
    }

    #[test]
    fn keys_are_stable_across_releases() {
        assert_eq!(LineKey::of("").hash, 0xcbf2_9ce4_8422_2325);
        assert_eq!(LineKey::of("a").hash, 0xaf63_dc4c_8601_ec8c);
        assert_eq!(
            LineKey::of("  fn main() {").hash,
            LineKey::of("fnmain(){").hash
        );
        assert_eq!(LineKey::of("fnmain(){").weight, 9);
    }

    #[test]
    fn prefix_and_suffix_do_not_overlap() {
        assert_eq!(common_prefix_and_suffix("abc", "abc"), (3, 0));
        assert_eq!(common_prefix_and_suffix("ab", "aXb"), (1, 1));
        assert_eq!(common_prefix_and_suffix("aa", "aaa"), (2, 0));
        assert_eq!(common_prefix_and_suffix("", "x"), (0, 0));
        assert_eq!(common_prefix_and_suffix("é🦀", "é!🦀"), (1, 1));
    }

    #[test]
    fn word_characters_ignore_punctuation_and_order() {
        assert_eq!(
            sorted_word_characters("use a::{b};\nf(x, y)"),
            sorted_word_characters("use a::b;\nf(\n    x,\n    y,\n)")
        );
        assert_ne!(
            sorted_word_characters("f(x)"),
            sorted_word_characters("f(x, z)")
        );
    }

    #[test]
    fn counts() {
        assert_eq!(non_whitespace_chars(" a b\n c "), 3);
        assert_eq!(non_blank_lines("a\n\n  \nb\n"), 2);
    }
}
