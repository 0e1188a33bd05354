//! A document's text in a rope, and conversion between LSP positions and rope offsets.
//!
//! Positions from outside are never trusted: a line past the end clamps to the end of the document, a
//! column past the end of its line clamps to the end of that line (before its line break), and a
//! column inside a multi-unit character (half a surrogate pair, the middle of a UTF-8 sequence) clamps
//! to the start of that character. Nothing here panics on a position.

use ropey::{Rope, RopeSlice};

use crate::text::LineKey;

/// How the columns of a [`Position`] count: LSP's negotiated `positionEncoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PositionEncoding {
    /// Bytes of UTF-8.
    Utf8,
    /// Code units of UTF-16, LSP's default.
    #[default]
    Utf16,
    /// Unicode scalar values.
    Utf32,
}

/// A zero-based line and column, the column counted in some [`PositionEncoding`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Position {
    pub line: u32,
    pub character: u32,
}

impl Position {
    pub fn new(line: u32, character: u32) -> Position {
        Position { line, character }
    }
}

/// A half-open range between two positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Range {
    pub start: Position,
    pub end: Position,
}

impl Range {
    pub fn new(start: Position, end: Position) -> Range {
        Range { start, end }
    }
}

/// The text of one open document.
#[derive(Debug, Clone, Default)]
pub struct Document {
    rope: Rope,
}

impl Document {
    pub fn new(text: &str) -> Document {
        Document {
            rope: Rope::from_str(text),
        }
    }

    pub fn rope(&self) -> &Rope {
        &self.rope
    }

    pub fn text(&self) -> String {
        self.rope.to_string()
    }

    /// Lines as LSP counts them: one more than the number of line breaks.
    pub fn len_lines(&self) -> usize {
        self.rope.len_lines()
    }

    pub fn len_chars(&self) -> usize {
        self.rope.len_chars()
    }

    /// The char offset a position points at, clamped into the document.
    pub fn position_to_char(&self, position: Position, encoding: PositionEncoding) -> usize {
        let line_index = position.line as usize;
        if line_index >= self.rope.len_lines() {
            return self.rope.len_chars();
        }
        let line_start = self.rope.line_to_char(line_index);
        let line = line_without_break(self.rope.line(line_index));
        let column = position.character as usize;
        let char_in_line = match encoding {
            PositionEncoding::Utf32 => column.min(line.len_chars()),
            PositionEncoding::Utf8 => line.byte_to_char(column.min(line.len_bytes())),
            PositionEncoding::Utf16 => line.utf16_cu_to_char(column.min(line.len_utf16_cu())),
        };
        line_start + char_in_line
    }

    /// The position of a char offset (clamped to the end of the document).
    pub fn char_to_position(&self, char_index: usize, encoding: PositionEncoding) -> Position {
        let char_index = char_index.min(self.rope.len_chars());
        let line_index = self.rope.char_to_line(char_index);
        let line = self.rope.line(line_index);
        let char_in_line = char_index - self.rope.line_to_char(line_index);
        let column = match encoding {
            PositionEncoding::Utf32 => char_in_line,
            PositionEncoding::Utf8 => line.char_to_byte(char_in_line),
            PositionEncoding::Utf16 => line.char_to_utf16_cu(char_in_line),
        };
        Position::new(saturating_u32(line_index), saturating_u32(column))
    }

    /// The byte offset a position points at, clamped like [`Document::position_to_char`].
    pub fn position_to_byte(&self, position: Position, encoding: PositionEncoding) -> usize {
        self.rope
            .char_to_byte(self.position_to_char(position, encoding))
    }

    /// The position of a byte offset; a byte inside a character counts as that character's start.
    pub fn byte_to_position(&self, byte_index: usize, encoding: PositionEncoding) -> Position {
        let byte_index = byte_index.min(self.rope.len_bytes());
        self.char_to_position(self.rope.byte_to_char(byte_index), encoding)
    }

    /// Char offsets of a range, clamped, with the ends swapped if they came reversed.
    pub fn range_to_chars(&self, range: Range, encoding: PositionEncoding) -> (usize, usize) {
        let start = self.position_to_char(range.start, encoding);
        let end = self.position_to_char(range.end, encoding);
        (start.min(end), start.max(end))
    }

    /// The text between two char offsets (clamped).
    pub fn slice_to_string(&self, start_char: usize, end_char: usize) -> String {
        let end_char = end_char.min(self.rope.len_chars());
        let start_char = start_char.min(end_char);
        self.rope.slice(start_char..end_char).to_string()
    }

    /// Replaces the chars in `start_char..end_char` (clamped) by `text`.
    pub fn replace(&mut self, start_char: usize, end_char: usize, text: &str) {
        let end_char = end_char.min(self.rope.len_chars());
        let start_char = start_char.min(end_char);
        if start_char < end_char {
            self.rope.remove(start_char..end_char);
        }
        if !text.is_empty() {
            self.rope.insert(start_char, text);
        }
    }

    /// Replaces the whole text.
    pub fn set_text(&mut self, text: &str) {
        self.rope = Rope::from_str(text);
    }

    pub fn char_to_line(&self, char_index: usize) -> usize {
        self.rope
            .char_to_line(char_index.min(self.rope.len_chars()))
    }

    pub fn line_to_char(&self, line_index: usize) -> usize {
        self.rope
            .line_to_char(line_index.min(self.rope.len_lines()))
    }

    /// One line's text without its line break (empty past the end).
    pub fn line_text(&self, line_index: usize) -> String {
        if line_index >= self.rope.len_lines() {
            return String::new();
        }
        line_without_break(self.rope.line(line_index)).to_string()
    }

    /// The key of one line, read in place (a line past the end is blank).
    pub fn line_key(&self, line_index: usize) -> LineKey {
        match self.rope.get_line(line_index) {
            Some(line) => LineKey::of_chars(line.chars()),
            None => LineKey::of(""),
        }
    }

    /// The key of every line, in one pass over the rope.
    pub fn line_keys(&self) -> Vec<LineKey> {
        self.rope
            .lines()
            .map(|line| LineKey::of_chars(line.chars()))
            .collect()
    }

    /// Whether a line holds nothing but whitespace (a line past the end does).
    pub fn line_is_blank(&self, line_index: usize) -> bool {
        self.rope
            .get_line(line_index)
            .is_none_or(|line| line.chars().all(char::is_whitespace))
    }

    /// How many lines of `lines` hold more than whitespace, in one pass over the rope.
    pub fn non_blank_lines_in(&self, lines: std::ops::Range<usize>) -> usize {
        let start = lines.start.min(self.rope.len_lines());
        self.rope
            .lines_at(start)
            .take(lines.end.saturating_sub(start))
            .filter(|line| !line.chars().all(char::is_whitespace))
            .count()
    }

    /// Lines a person would count: a trailing line break does not start another line.
    pub fn counted_lines(&self) -> usize {
        counted_lines(&self.rope)
    }
}

/// Lines a person would count in a rope: `"a\nb\n"` has two, `""` none.
pub fn counted_lines(rope: &Rope) -> usize {
    let lines = rope.len_lines();
    let last_line_is_empty = rope.line(lines - 1).len_chars() == 0;
    if last_line_is_empty { lines - 1 } else { lines }
}

/// The line without its trailing `\n`, `\r\n` or `\r`.
pub fn line_without_break(line: RopeSlice<'_>) -> RopeSlice<'_> {
    let mut end = line.len_chars();
    if end > 0 && line.char(end - 1) == '\n' {
        end -= 1;
    }
    if end > 0 && line.char(end - 1) == '\r' {
        end -= 1;
    }
    line.slice(..end)
}

fn saturating_u32(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use PositionEncoding::{Utf8, Utf16, Utf32};

    fn to_char(text: &str, line: u32, character: u32, encoding: PositionEncoding) -> usize {
        Document::new(text).position_to_char(Position::new(line, character), encoding)
    }

    #[test]
    fn position_to_char_table() {
        // (text, line, column, encoding, expected char offset)
        let cases: &[(&str, u32, u32, PositionEncoding, usize)] = &[
            ("abc", 0, 0, Utf16, 0),
            ("abc", 0, 3, Utf16, 3),
            ("abc\ndef", 1, 1, Utf16, 5),
            // past the end of a line clamps before its line break
            ("abc\ndef", 0, 99, Utf16, 3),
            ("abc\r\ndef", 0, 99, Utf16, 3),
            ("abc\rdef", 0, 99, Utf16, 3),
            // past the last line clamps to the end of the document
            ("abc\ndef", 7, 0, Utf16, 7),
            ("", 0, 5, Utf16, 0),
            // a crab is two UTF-16 units, four UTF-8 bytes, one char
            ("🦀x", 0, 2, Utf16, 1),
            ("🦀x", 0, 4, Utf8, 1),
            ("🦀x", 0, 1, Utf32, 1),
            // inside a surrogate pair or a UTF-8 sequence: the start of the character
            ("🦀x", 0, 1, Utf16, 0),
            ("🦀x", 0, 2, Utf8, 0),
            ("é", 0, 1, Utf8, 0),
            ("é", 0, 2, Utf8, 1),
            // CJK is one UTF-16 unit and three UTF-8 bytes
            ("日本", 0, 1, Utf16, 1),
            ("日本", 0, 3, Utf8, 1),
        ];
        for &(text, line, character, encoding, expected) in cases {
            assert_eq!(
                to_char(text, line, character, encoding),
                expected,
                "{text:?} {line}:{character} {encoding:?}"
            );
        }
    }

    #[test]
    fn char_to_position_table() {
        let cases: &[(&str, usize, PositionEncoding, (u32, u32))] = &[
            ("abc\ndef", 5, Utf16, (1, 1)),
            ("abc\ndef", 4, Utf16, (1, 0)),
            ("abc\ndef", 99, Utf16, (1, 3)),
            ("🦀x", 1, Utf16, (0, 2)),
            ("🦀x", 1, Utf8, (0, 4)),
            ("🦀x", 2, Utf32, (0, 2)),
            ("a\r\nb", 3, Utf16, (1, 0)),
            ("", 0, Utf16, (0, 0)),
        ];
        for &(text, index, encoding, (line, character)) in cases {
            assert_eq!(
                Document::new(text).char_to_position(index, encoding),
                Position::new(line, character),
                "{text:?} {index} {encoding:?}"
            );
        }
    }

    #[test]
    fn byte_positions_round_trip() {
        let document = Document::new("fn é() {}\n  🦀\n");
        for byte in 0..document.rope().len_bytes() {
            let position = document.byte_to_position(byte, Utf8);
            let back = document.position_to_byte(position, Utf8);
            assert!(back <= byte, "byte {byte} -> {position:?} -> {back}");
        }
        assert_eq!(document.byte_to_position(12, Utf16), Position::new(1, 1));
        // Byte 15 is inside the crab: the crab's start.
        assert_eq!(document.byte_to_position(15, Utf16), Position::new(1, 2));
    }

    #[test]
    fn reversed_range_is_swapped() {
        let document = Document::new("hello");
        let range = Range::new(Position::new(0, 4), Position::new(0, 1));
        assert_eq!(document.range_to_chars(range, Utf16), (1, 4));
    }

    #[test]
    fn replace_clamps() {
        let mut document = Document::new("hello");
        document.replace(3, 99, "p!");
        assert_eq!(document.text(), "help!");
        document.replace(99, 120, "?");
        assert_eq!(document.text(), "help!?");
    }

    #[test]
    fn counted_lines_ignore_a_trailing_break() {
        for (text, expected) in [
            ("", 0),
            ("a", 1),
            ("a\n", 1),
            ("a\nb", 2),
            ("\n", 1),
            ("a\n\n", 2),
        ] {
            assert_eq!(Document::new(text).counted_lines(), expected, "{text:?}");
        }
    }
}
