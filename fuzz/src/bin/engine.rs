//! Fuzz target `engine`: the input becomes a sequence of document operations fed to the pure
//! engine, as an editor, a plugin and the server would send them (opens, changes with arbitrary
//! ranges and texts with multi-byte characters and CRLF, whole-document rewrites, pastes, undo-like
//! reverts, hints, saves, closes, the user's verdicts, time jumps, a restart from snapshots), and
//! the engine's invariants are checked after every step (`Engine::check_invariants`).

#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use whetstone::core::{Class, ContentChange, Engine, Hint, Position, PositionEncoding, Range};
use whetstone_fuzz::{flip, pick};

/// A Rust file (named by syntax), a file without a grammar, a buffer that is not a file.
const FILES: [&str; 3] = [
    "file:///w/src/lib.rs",
    "file:///w/notes.txt",
    "untitled:Untitled-1",
];

/// Pieces texts are made of: code-like words, every kind of line break, characters of one to
/// four UTF-8 bytes (two UTF-16 units for the crab), a combining mark, blanks and braces.
const PIECES: [&str; 24] = [
    "fn parse_header(input: &str) -> usize {",
    "    let value = compute(input, 42);",
    "}",
    "\n",
    "\r\n",
    "\r",
    "    ",
    "\t",
    "é",
    "🦀",
    "日本",
    "e\u{301}",
    "\u{0}",
    "\u{fffd}",
    "// comment",
    "x",
    "{",
    ";",
    "let",
    " ",
    "impl Display for Header {}",
    "\n\n\n",
    "return Err(HeaderError::Empty);",
    "use std::collections::HashMap;\n",
];

fuzz_target!(|data: &[u8]| {
    let mut input = Unstructured::new(data);
    let mut session = Session::new();
    let mut steps = 0;
    while !input.is_empty() && steps < 200 {
        steps += 1;
        session.step(&mut input);
        session.check();
    }
});

struct Session {
    engine: Engine,
    /// `WHETSTONE_FUZZ_TRACE=1` prints each step, to turn a crash into a unit test.
    trace: bool,
    now: u64,
    version: i32,
    /// The texts each file had before its recent changes, for undo-like reverts.
    history: HashMap<&'static str, Vec<String>>,
}

impl Session {
    fn new() -> Session {
        Session {
            engine: Engine::default(),
            trace: std::env::var_os("WHETSTONE_FUZZ_TRACE").is_some(),
            now: 1_000,
            version: 0,
            history: HashMap::new(),
        }
    }

    fn step(&mut self, input: &mut Unstructured<'_>) {
        let file = FILES[pick(input, FILES.len())];
        self.version += 1;
        match pick(input, 13) {
            0 => {
                let text = text(input);
                self.note(|| format!("open {file} {text:?}"));
                self.engine.open(file, &text, self.now);
            }
            1..=3 => {
                let count = 1 + pick(input, 3);
                let changes = (0..count)
                    .map(|_| self.ranged_change(file, input))
                    .collect();
                self.change(file, changes);
            }
            4 => {
                let text = text(input);
                self.change(file, vec![ContentChange { range: None, text }]);
            }
            5 => {
                // A paste: many lines at once, often with the hint an editor plugin sends.
                if flip(input) {
                    self.engine
                        .hint(file, Some(self.version), Hint::Paste, self.now);
                }
                let line = text(input);
                let lines = 1 + pick(input, 60);
                let pasted: String = (0..lines)
                    .map(|index| format!("{line} // {index}\n"))
                    .collect();
                let at = self.position(file, input);
                self.change(
                    file,
                    vec![ContentChange {
                        range: Some(Range::new(at, at)),
                        text: pasted,
                    }],
                );
            }
            6 => self.revert(file, input),
            7 => {
                let hints = [
                    Hint::Paste,
                    Hint::Completion,
                    Hint::Agent,
                    Hint::Undo,
                    Hint::Format,
                ];
                let hint = hints[pick(input, hints.len())];
                let version = flip(input).then_some(self.version + pick(input, 3) as i32);
                self.note(|| format!("hint {file} {version:?} {hint:?}"));
                self.engine.hint(file, version, hint, self.now);
            }
            8 => {
                // What the server does on save: a snapshot for the store.
                let _ = self.engine.snapshot(file);
            }
            9 => {
                self.note(|| format!("close {file}"));
                self.engine.close(file);
            }
            10 => {
                // Time jumps: a keystroke's gap, a coffee break, a clock set back.
                self.note(|| "time jump".to_string());
                self.now = match pick(input, 4) {
                    0 => self.now + pick(input, 200) as u64,
                    1 => self.now + 1_000 * pick(input, 100) as u64,
                    2 => self.now + 86_400_000 * (1 + pick(input, 400) as u64),
                    _ => self.now.saturating_sub(60_000),
                };
            }
            11 => self.verdict(file, input),
            _ => self.restart(input),
        }
    }

    fn change(&mut self, file: &'static str, changes: Vec<ContentChange>) {
        if let Some(document) = self.engine.document(file) {
            let history = self.history.entry(file).or_default();
            history.push(document.text());
            if history.len() > 8 {
                history.remove(0);
            }
        }
        let version = if self.version % 7 == 0 {
            None
        } else {
            Some(self.version)
        };
        self.note(|| format!("change {file} {version:?} at {} {changes:?}", self.now));
        self.engine.change(file, version, &changes, self.now);
        self.now += 30;
    }

    /// A position near the document's lines and columns, or wildly past them.
    fn position(&self, file: &str, input: &mut Unstructured<'_>) -> Position {
        let lines = self
            .engine
            .document(file)
            .map_or(1, |document| document.len_lines()) as u32;
        let line = match pick(input, 8) {
            0 => u32::MAX,
            1 => lines + pick(input, 3) as u32,
            _ => pick(input, lines as usize + 1) as u32,
        };
        let character = match pick(input, 8) {
            0 => u32::MAX,
            _ => pick(input, 90) as u32,
        };
        Position::new(line, character)
    }

    fn ranged_change(&self, file: &str, input: &mut Unstructured<'_>) -> ContentChange {
        let start = self.position(file, input);
        let end = if flip(input) {
            start
        } else {
            self.position(file, input)
        };
        ContentChange {
            range: Some(Range::new(start, end)),
            text: text(input),
        }
    }

    /// Undo-like: puts back an earlier text with the smallest ranged change (what an editor's
    /// undo sends), sometimes with the `undo` hint.
    fn revert(&mut self, file: &'static str, input: &mut Unstructured<'_>) {
        let Some(target) = self.history.get_mut(file).and_then(Vec::pop) else {
            return;
        };
        let Some(document) = self.engine.document(file) else {
            return;
        };
        let current: Vec<char> = document.text().chars().collect();
        let wanted: Vec<char> = target.chars().collect();
        let prefix = current
            .iter()
            .zip(&wanted)
            .take_while(|(a, b)| a == b)
            .count();
        let suffix = current[prefix..]
            .iter()
            .rev()
            .zip(wanted[prefix..].iter().rev())
            .take_while(|(a, b)| a == b)
            .count();
        let encoding = self.engine.encoding();
        let start = document.char_to_position(prefix, encoding);
        let end = document.char_to_position(current.len() - suffix, encoding);
        let text: String = wanted[prefix..wanted.len() - suffix].iter().collect();
        if flip(input) {
            self.note(|| format!("hint {file} undo"));
            self.engine
                .hint(file, Some(self.version), Hint::Undo, self.now);
        }
        let change = ContentChange {
            range: Some(Range::new(start, end)),
            text,
        };
        self.note(|| format!("revert {file} {change:?}"));
        self.engine
            .change(file, Some(self.version), &[change], self.now);
    }

    /// The user's verdicts on one of the file's chunks, or on a chunk id that is not there.
    fn verdict(&mut self, file: &str, input: &mut Unstructured<'_>) {
        let views = self.engine.chunks_in(file);
        let id = match views.get(pick(input, views.len() + 1)) {
            Some(view) => view.chunk.id,
            None => whetstone::core::ChunkId(pick(input, 50) as u64),
        };
        self.note(|| format!("verdict on {file} {}", id.0));
        let _ = match pick(input, 4) {
            0 => {
                let classes = [Class::Transient, Class::Repeatable, Class::Core];
                let class = classes[pick(input, classes.len())];
                self.engine.classify(file, id, class, self.now)
            }
            1 => self
                .engine
                .explain(file, id, &text(input), self.now)
                .map(|_| ()),
            2 => self.engine.practiced(file, id, self.now),
            _ => self.engine.dismiss(file, id, self.now),
        };
    }

    /// A server restart: every file's map and chunks go through a snapshot into a new engine,
    /// as the store hands them back, and each open file is opened again with its text.
    fn restart(&mut self, input: &mut Unstructured<'_>) {
        let mut next = Engine::default();
        let encodings = [
            PositionEncoding::Utf16,
            PositionEncoding::Utf8,
            PositionEncoding::Utf32,
        ];
        next.set_encoding(encodings[pick(input, encodings.len())]);
        let mut reopen = Vec::new();
        for file in FILES {
            let Some(snapshot) = self.engine.snapshot(file) else {
                continue;
            };
            let chunks = self
                .engine
                .chunks_in(file)
                .into_iter()
                .map(|view| view.chunk)
                .collect();
            next.restore_file(file, snapshot, chunks);
            if let Some(document) = self.engine.document(file) {
                reopen.push((file, document.text()));
            }
        }
        for (file, text) in reopen {
            next.open(file, &text, self.now);
        }
        self.note(|| "restart".to_string());
        self.engine = next;
        self.history.clear();
    }

    fn note(&self, what: impl Fn() -> String) {
        if self.trace {
            eprintln!("{}", what());
        }
    }

    fn check(&mut self) {
        for file in FILES {
            if let Err(broken) = self.engine.check_invariants(file) {
                panic!("{file}: {broken}");
            }
        }
    }
}

/// A text of a few pieces, or a few bytes of the input taken as they are (lossily as UTF-8).
fn text(input: &mut Unstructured<'_>) -> String {
    if pick(input, 6) == 0 {
        let length = pick(input, 40);
        let bytes = input.bytes(length.min(input.len())).unwrap_or_default();
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let count = pick(input, 8);
    (0..count)
        .map(|_| PIECES[pick(input, PIECES.len())])
        .collect()
}
