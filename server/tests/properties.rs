//! Properties of the engine that must hold after any sequence of edits, valid or wild.

use proptest::prelude::*;
use whetstone::core::engine::Verdict;
use whetstone::core::reanchor::reanchor;
use whetstone::core::text::line_keys;
use whetstone::core::{ContentChange, Engine, Hint, Position, Range};

const FILE: &str = "file:///w/src/lib.rs";

#[derive(Debug, Clone)]
enum Op {
    /// Replace between two positions (lines and columns may point past the end).
    Replace {
        start: (u32, u32),
        end: (u32, u32),
        text: String,
    },
    Whole(String),
    Hint(Hint),
    Wait(u64),
}

fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z_(){};=é🦀 ]{0,6}",
        2 => Just("\n".to_string()),
        1 => Just("\r\n".to_string()),
        1 => Just("\r".to_string()),
        1 => Just("    ".to_string()),
        1 => (1usize..12).prop_map(|lines| {
            (0..lines).map(|index| format!("    let pasted_{index} = compute(input, {index});\n")).collect()
        }),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(fragment(), 0..4).prop_map(|parts| parts.concat())
}

fn op() -> impl Strategy<Value = Op> {
    let position = (0u32..40, 0u32..50);
    prop_oneof![
        10 => (position.clone(), position, text()).prop_map(|(start, end, text)| Op::Replace { start, end, text }),
        1 => text().prop_map(Op::Whole),
        1 => prop_oneof![Just(Hint::Paste), Just(Hint::Undo), Just(Hint::Agent), Just(Hint::Format)].prop_map(Op::Hint),
        3 => (0u64..3_000).prop_map(Op::Wait),
    ]
}

fn apply(engine: &mut Engine, ops: &[Op]) {
    let mut now = 0;
    for op in ops {
        match op {
            Op::Replace { start, end, text } => {
                let range =
                    Range::new(Position::new(start.0, start.1), Position::new(end.0, end.1));
                let change = ContentChange {
                    range: Some(range),
                    text: text.clone(),
                };
                engine.change(FILE, None, &[change], now);
            }
            Op::Whole(text) => {
                let change = ContentChange {
                    range: None,
                    text: text.clone(),
                };
                engine.change(FILE, None, &[change], now);
            }
            Op::Hint(hint) => engine.hint(FILE, None, *hint, now),
            Op::Wait(ms) => now += ms,
        }
        now += 30;
    }
}

fn check_invariants(engine: &mut Engine) -> Result<(), TestCaseError> {
    let lines = engine.document(FILE).expect("open").len_lines();
    let map_lines = engine.line_map(FILE).expect("map").len();
    prop_assert_eq!(
        map_lines,
        lines,
        "the map covers exactly the document's lines"
    );
    let runs = engine.line_map(FILE).expect("map").chunk_runs();
    let mut seen = std::collections::HashSet::new();
    for (id, _) in &runs {
        prop_assert!(seen.insert(*id), "chunk {:?} is in one contiguous run", id);
        prop_assert!(
            engine.chunk(*id).is_some(),
            "every chunk on a line is known"
        );
    }
    if let Err(broken) = engine.check_invariants(FILE) {
        prop_assert!(false, "{}", broken);
    }
    let document = engine.document(FILE).expect("open").clone();
    for view in engine.chunks_in(FILE) {
        prop_assert!(view.start_line < view.end_line);
        prop_assert!(
            !document.line_text(view.start_line).trim().is_empty(),
            "chunks start on text"
        );
        prop_assert!(
            !document.line_text(view.end_line - 1).trim().is_empty(),
            "chunks end on text"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn the_map_always_covers_the_document(initial in text(), ops in prop::collection::vec(op(), 0..40)) {
        let mut engine = Engine::default();
        engine.open(FILE, &initial, 0);
        apply(&mut engine, &ops);
        check_invariants(&mut engine)?;
    }

    #[test]
    fn reopening_an_unchanged_file_is_the_identity(initial in text(), ops in prop::collection::vec(op(), 0..30)) {
        let mut engine = Engine::default();
        engine.open(FILE, &initial, 0);
        apply(&mut engine, &ops);
        let text = engine.document(FILE).expect("open").text();
        let map = engine.line_map(FILE).expect("map").clone();
        let chunks = engine.chunks_in(FILE);
        engine.close(FILE);
        let outcome = engine.open(FILE, &text, 1_000_000);
        prop_assert_eq!(outcome.verdict, Verdict::Typed);
        prop_assert_eq!(engine.line_map(FILE).expect("map"), &map);
        prop_assert_eq!(engine.chunks_in(FILE), chunks);
    }

    #[test]
    fn reanchor_of_equal_text_is_the_identity(initial in text(), ops in prop::collection::vec(op(), 0..30)) {
        let mut engine = Engine::default();
        engine.open(FILE, &initial, 0);
        apply(&mut engine, &ops);
        let keys = line_keys(&engine.document(FILE).expect("open").text());
        let map = engine.line_map(FILE).expect("map").clone();
        let result = reanchor(&keys, &map, &keys, None);
        prop_assert_eq!(result.map, map);
        prop_assert!(result.gone.is_empty());
    }

    /// Lines around a chunk are shuffled and rewritten, the chunk's own text is kept whole
    /// (perhaps moved): the chunk survives re-anchoring, on exactly its text.
    #[test]
    fn reanchoring_never_loses_a_chunk_whose_text_survived(
        before in prop::collection::vec("[a-z]{3,12}", 1..20),
        after in prop::collection::vec("[a-z]{3,12}", 1..20),
        insert_at in 0usize..20,
    ) {
        let mut engine = Engine::default();
        let own: String = before.iter().map(|word| format!("let {word}_own = 1;\n")).collect();
        engine.open(FILE, &own, 0);
        let pasted: String = (0..8).map(|index| format!("    let pasted_{index} = compute(input, {index});\n")).collect();
        let line = before.len() as u32;
        let change = ContentChange { range: Some(Range::new(Position::new(line, 0), Position::new(line, 0))), text: pasted.clone() };
        engine.change(FILE, None, &[change], 10);
        prop_assert_eq!(engine.chunks_in(FILE).len(), 1);
        engine.close(FILE);

        let mut lines: Vec<String> = after.iter().map(|word| format!("let {word}_changed = 2;\n")).collect();
        let at = insert_at.min(lines.len());
        lines.insert(at, pasted.clone());
        let changed = lines.concat();
        engine.open(FILE, &changed, 100_000);
        let views = engine.chunks_in(FILE);
        let pasted_views: Vec<_> = views.iter().filter(|view| view.chunk.origin.as_str() == "pasted").collect();
        prop_assert_eq!(pasted_views.len(), 1, "{:?}", views);
        prop_assert_eq!(pasted_views[0].start_line, at);
        prop_assert_eq!(pasted_views[0].end_line, at + 8);
    }
}

// ---- human typing with an editor's completions --------------------------------------------------

/// Snippets an editor expands from a typed trigger: (trigger, text); the lines after the first
/// take the indentation of the line the trigger is on, and the cursor lands in the body.
const SNIPPETS: [(&str, &str); 7] = [
    ("fn", "fn name() {\n    \n}"),
    ("for", "for pat in expr {\n    \n}"),
    ("if", "if condition {\n    \n}"),
    ("while", "while condition {\n    \n}"),
    ("match", "match expr {\n    \n}"),
    ("impl", "impl Name {\n    \n}"),
    ("tfn", "#[test]\nfn feature() {\n    \n}"),
];

/// What a person does at the keyboard, one step at a time. `factor` scales the typist's pace.
#[derive(Debug, Clone)]
enum Act {
    Key {
        character: char,
        factor: f64,
    },
    Enter {
        factor: f64,
        think_ms: u64,
    },
    Backspace {
        factor: f64,
    },
    /// Types the first `prefix` characters of `word`, waits, accepts the completion, then types
    /// `then` (what follows a name in code: `.`, `(`, ` = `...).
    Complete {
        word: String,
        prefix: usize,
        wait_ms: u64,
        then: String,
    },
    /// As `Complete`, and the completion adds `line` at the top of the file in the same change.
    Import {
        word: String,
        prefix: usize,
        wait_ms: u64,
        then: String,
        line: String,
    },
    Snippet {
        index: usize,
        wait_ms: u64,
    },
    Pause(u64),
}

/// A name the editor completes: mostly short, now and then a long one, a path or a call.
fn completed_word() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[a-z][a-z_]{4,11}",
        2 => "[a-z][a-z_]{12,29}",
        2 => "[A-Z][a-zA-Z]{4,19}",
        1 => ("[a-z]{2,8}", "[A-Z][a-zA-Z]{2,17}").prop_map(|(module, name)| format!("{module}::{name}")),
        1 => "[a-z][a-z_]{2,14}".prop_map(|name| format!("{name}()")),
    ]
}

fn import_line() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "use std::collections::HashMap;",
        "use std::fmt;",
        "use crate::config::Config;",
        "use std::collections::{BTreeMap, HashSet};",
        "use crate::wiring::{RegistryError, ServiceRegistry};",
        "use std::sync::atomic::{AtomicUsize, Ordering};",
    ])
    .prop_map(str::to_string)
}

/// What code has after a name: no two names are written back to back.
fn after_name() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        ".", "(", ";", ",", ")", ": ", " = ", " &", "(&", "::", " {", "().",
    ])
    .prop_map(str::to_string)
}

/// One step of typing; auto-imports only when `imports` (weight 1 against 40 keys).
fn act(imports: bool) -> impl Strategy<Value = Act> {
    let factor = 0.5f64..1.8;
    let key = prop::sample::select(
        "abcdefghijklmnopqrstuvwxyz_ ().;=,:&{}<>0123456789"
            .chars()
            .collect::<Vec<_>>(),
    );
    prop_oneof![
        40 => (key, factor.clone()).prop_map(|(character, factor)| Act::Key { character, factor }),
        5 => (factor.clone(), prop_oneof![3 => Just(0u64), 1 => 1_000u64..5_000]).prop_map(|(factor, think_ms)| Act::Enter { factor, think_ms }),
        3 => factor.prop_map(|factor| Act::Backspace { factor }),
        8 => (completed_word(), 1usize..=3, 250u64..1_500, after_name()).prop_map(|(word, prefix, wait_ms, then)| Act::Complete { word, prefix, wait_ms, then }),
        u32::from(imports) => (completed_word(), 1usize..=3, 250u64..1_500, after_name(), import_line()).prop_map(|(word, prefix, wait_ms, then, line)| Act::Import { word, prefix, wait_ms, then, line }),
        2 => (0..SNIPPETS.len(), 300u64..1_200).prop_map(|(index, wait_ms)| Act::Snippet { index, wait_ms }),
        1 => (1_000u64..20_000).prop_map(Act::Pause),
    ]
}

/// A buffer the test keeps alongside the engine (ASCII only, so columns are offsets in the line).
struct Typist {
    text: String,
    cursor: usize,
    now: u64,
    /// Median milliseconds between keys for this person.
    pace_ms: f64,
}

impl Typist {
    fn new(text: &str, pace_ms: f64) -> Typist {
        Typist {
            text: text.to_string(),
            cursor: text.len(),
            now: 0,
            pace_ms,
        }
    }

    fn position(&self, offset: usize) -> Position {
        let before = &self.text[..offset];
        let line = before.matches('\n').count();
        let column = offset - before.rfind('\n').map_or(0, |index| index + 1);
        Position::new(line as u32, column as u32)
    }

    /// One change on the buffer as it is now; applies it and keeps the cursor on its text.
    fn edit(&mut self, start: usize, end: usize, text: &str) -> ContentChange {
        let change = ContentChange {
            range: Some(Range::new(self.position(start), self.position(end))),
            text: text.to_string(),
        };
        self.text.replace_range(start..end, text);
        if self.cursor >= end {
            self.cursor = self.cursor + text.len() - (end - start);
        } else if self.cursor > start {
            self.cursor = start;
        }
        change
    }

    fn send(&mut self, engine: &mut Engine, changes: &[ContentChange], wait_ms: u64) {
        self.now += wait_ms;
        engine.change(FILE, None, changes, self.now);
    }

    fn key_wait(&self, factor: f64) -> u64 {
        (self.pace_ms * factor).clamp(40.0, 400.0) as u64
    }

    fn type_text(&mut self, engine: &mut Engine, text: &str, factor: f64) {
        for character in text.chars() {
            let at = self.cursor;
            let change = self.edit(at, at, &character.to_string());
            self.cursor = at + 1;
            let wait = self.key_wait(factor);
            self.send(engine, &[change], wait);
        }
    }

    fn indentation(&self) -> String {
        let line_start = self.text[..self.cursor]
            .rfind('\n')
            .map_or(0, |index| index + 1);
        self.text[line_start..]
            .chars()
            .take_while(|character| *character == ' ')
            .collect()
    }

    fn act(&mut self, engine: &mut Engine, act: &Act) {
        match act {
            Act::Key { character, factor } => {
                self.type_text(engine, &character.to_string(), *factor)
            }
            Act::Enter { factor, think_ms } => {
                let at = self.cursor;
                let text = format!("\n{}", self.indentation());
                let change = self.edit(at, at, &text);
                self.cursor = at + text.len();
                let wait = self.key_wait(*factor);
                self.send(engine, &[change], wait);
                self.now += think_ms;
            }
            Act::Backspace { factor } => {
                if self.cursor > 0 {
                    let at = self.cursor;
                    let change = self.edit(at - 1, at, "");
                    let wait = self.key_wait(*factor);
                    self.send(engine, &[change], wait);
                }
            }
            Act::Complete {
                word,
                prefix,
                wait_ms,
                then,
            }
            | Act::Import {
                word,
                prefix,
                wait_ms,
                then,
                ..
            } => {
                let prefix = (*prefix).min(word.len() - 1);
                self.type_text(engine, &word[..prefix], 1.0);
                let at = self.cursor;
                let mut changes = vec![self.edit(at - prefix, at, word)];
                self.cursor = at - prefix + word.len();
                if let Act::Import { line, .. } = act {
                    changes.push(self.edit(0, 0, &format!("{line}\n")));
                }
                self.send(engine, &changes, *wait_ms);
                self.type_text(engine, then, 1.0);
            }
            Act::Snippet { index, wait_ms } => {
                let (trigger, body) = SNIPPETS[*index];
                let indentation = self.indentation();
                self.type_text(engine, trigger, 1.0);
                let expanded = body.replace('\n', &format!("\n{indentation}"));
                let at = self.cursor;
                let change = self.edit(at - trigger.len(), at, &expanded);
                // The cursor lands at the end of the body line.
                let body_line_end = expanded.rfind('\n').unwrap_or(expanded.len());
                self.cursor = at - trigger.len() + body_line_end;
                self.send(engine, &[change], *wait_ms);
            }
            Act::Pause(ms) => self.now += ms,
        }
    }
}

const TYPED_START: &str = "//! Orders and their totals.\n\n";

fn typing_makes_no_chunk(pace_ms: f64, acts: &[Act]) -> Result<(), TestCaseError> {
    let mut engine = Engine::default();
    engine.open(FILE, TYPED_START, 0);
    let mut typist = Typist::new(TYPED_START, pace_ms);
    for act in acts {
        typist.act(&mut engine, act);
    }
    prop_assert_eq!(
        engine.document(FILE).expect("open").text(),
        typist.text.clone()
    );
    let chunks = engine.chunks_in(FILE);
    prop_assert!(chunks.is_empty(), "flagged: {:?}", chunks);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// A person typing at any human pace (40–400 ms between keys, with pauses) while taking the
    /// editor's identifier completions, short snippets and auto-imports makes no chunk.
    #[test]
    fn human_typing_with_completions_is_never_flagged(
        pace_ms in 80.0f64..300.0,
        acts in prop::collection::vec(act(false), 0..400),
    ) {
        typing_makes_no_chunk(pace_ms, &acts)?;
    }

    /// The same with auto-imports (a completion that adds its `use` line at the top in the same
    /// notification): only what is written at the cursor counts towards the typing rate.
    #[test]
    fn human_typing_with_auto_imports_is_never_flagged(
        pace_ms in 80.0f64..300.0,
        acts in prop::collection::vec(act(true), 0..400),
    ) {
        typing_makes_no_chunk(pace_ms, &acts)?;
    }


    /// One suggestion acceptance of any size under the bar (one line of code, or up to four
    /// lines), with typing before and after it, never makes a chunk: acceptances add up, one
    /// alone does not.
    #[test]
    fn one_acceptance_under_the_bar_is_never_flagged(
        pace_ms in 80.0f64..300.0,
        before in prop::collection::vec(act(false), 0..150),
        lines in prop::collection::vec(("[a-z_]{1,14}", "[a-z_]{1,14}", "[a-z_]{0,14}", 0usize..3), 1..=4),
        blank_line in any::<bool>(),
        look_ms in 400u64..3_000,
        after in prop::collection::vec(act(false), 0..150),
    ) {
        let indent = |depth: usize| "    ".repeat(depth);
        let mut accepted: Vec<String> = lines
            .iter()
            .map(|(name, call, argument, depth)| format!("{}let {name} = {call}({argument});", indent(*depth)))
            .collect();
        if blank_line && accepted.len() > 1 {
            accepted.insert(1, String::new());
        }
        let accepted = accepted.join("\n");
        let non_whitespace = accepted.chars().filter(|character| !character.is_whitespace()).count();
        prop_assume!(non_whitespace < 200);

        let mut engine = Engine::default();
        engine.open(FILE, TYPED_START, 0);
        let mut typist = Typist::new(TYPED_START, pace_ms);
        for act in &before {
            typist.act(&mut engine, act);
        }
        let at = typist.cursor;
        let change = typist.edit(at, at, &accepted);
        typist.cursor = at + accepted.len();
        typist.send(&mut engine, &[change], look_ms);
        for act in &after {
            typist.act(&mut engine, act);
        }
        let chunks = engine.chunks_in(FILE);
        prop_assert!(chunks.is_empty(), "flagged: {:?}", chunks);
    }
}
