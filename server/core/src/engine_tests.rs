//! Scenario tests for the engine: each SPEC detection case, and how chunks follow, split and merge.

use super::*;
use crate::document::Position;

const FILE: &str = "file:///w/src/lib.rs";
const OTHER: &str = "file:///w/src/other.rs";

/// Drives an engine like an editor would, with a clock.
struct Session {
    engine: Engine,
    now: u64,
}

impl Session {
    fn new() -> Session {
        Session {
            engine: Engine::default(),
            now: 0,
        }
    }

    fn open(&mut self, uri: &str, text: &str) -> ChangeOutcome {
        self.engine.open(uri, text, self.now)
    }

    fn wait(&mut self, ms: u64) {
        self.now += ms;
    }

    fn change(&mut self, uri: &str, changes: Vec<ContentChange>) -> ChangeOutcome {
        self.engine.change(uri, None, &changes, self.now)
    }

    fn replace(
        &mut self,
        uri: &str,
        start: (u32, u32),
        end: (u32, u32),
        text: &str,
    ) -> ChangeOutcome {
        self.change(uri, vec![edit(start, end, text)])
    }

    fn insert(&mut self, uri: &str, at: (u32, u32), text: &str) -> ChangeOutcome {
        self.replace(uri, at, at, text)
    }

    /// Types `text` one key per notification, `interval` ms apart, starting at `at`.
    fn type_text(
        &mut self,
        uri: &str,
        at: (u32, u32),
        text: &str,
        interval: u64,
    ) -> Vec<ChangeOutcome> {
        let (mut line, mut column) = at;
        let mut outcomes = Vec::new();
        for character in text.chars() {
            self.wait(interval);
            outcomes.push(self.insert(uri, (line, column), &character.to_string()));
            if character == '\n' {
                line += 1;
                column = 0;
            } else {
                column += character.len_utf16() as u32;
            }
        }
        outcomes
    }

    /// Deletes whole lines `start..end`.
    fn delete_lines(&mut self, uri: &str, start: u32, end: u32) -> ChangeOutcome {
        self.replace(uri, (start, 0), (end, 0), "")
    }

    fn line_text(&self, uri: &str, start: u32, end: u32) -> String {
        let document = self.engine.document(uri).expect("open document");
        let from = document.line_to_char(start as usize);
        let to = document.line_to_char(end as usize);
        document.slice_to_string(from, to)
    }

    fn chunks(&mut self, uri: &str) -> Vec<(&'static str, usize, usize)> {
        self.engine
            .chunks_in(uri)
            .iter()
            .map(|view| (view.chunk.origin.as_str(), view.start_line, view.end_line))
            .collect()
    }

    fn count(&self, uri: &str, origin: Origin) -> usize {
        self.engine.origin_counts(uri)[origin]
    }

    fn assert_map_covers_document(&self, uri: &str) {
        let document = self.engine.document(uri).expect("open");
        assert_eq!(
            self.engine.line_map(uri).expect("map").len(),
            document.len_lines()
        );
    }
}

fn edit(start: (u32, u32), end: (u32, u32), text: &str) -> ContentChange {
    ContentChange {
        range: Some(TextRange::new(
            Position::new(start.0, start.1),
            Position::new(end.0, end.1),
        )),
        text: text.to_string(),
    }
}

fn whole(text: &str) -> ContentChange {
    ContentChange {
        range: None,
        text: text.to_string(),
    }
}

/// `count` lines of plausible distinct Rust.
fn rust_lines(prefix: &str, count: usize) -> String {
    (0..count)
        .map(|index| format!("    let {prefix}_{index} = compute_{prefix}(input, {index});\n"))
        .collect()
}

fn function(name: &str, body_lines: usize) -> String {
    format!(
        "fn {name}(input: &str) -> usize {{\n{}    0\n}}\n",
        rust_lines(name, body_lines)
    )
}

const BASE: &str = "use std::io;\n\nfn main() {\n    run();\n}\n";

// ---- must flag ---------------------------------------------------------------------------------

#[test]
fn a_forty_line_paste_is_one_pasted_chunk_on_its_lines() {
    let mut session = Session::new();
    session.open(FILE, BASE);
    session.wait(2_000);
    let pasted = rust_lines("pasted", 40);
    let outcome = session.insert(FILE, (4, 0), &pasted);
    assert_eq!(outcome.verdict, Verdict::Flagged(Origin::Pasted));
    assert_eq!(session.chunks(FILE), vec![("pasted", 4, 44)]);
    assert_eq!(session.count(FILE, Origin::Pasted), 40);
    assert_eq!(session.count(FILE, Origin::Typed), 5);
    session.assert_map_covers_document(FILE);
}

#[test]
fn a_long_single_line_paste_is_flagged() {
    let mut session = Session::new();
    session.open(FILE, BASE);
    let long_line = format!(
        "    let table = [{}];",
        (0..80)
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let outcome = session.insert(FILE, (3, 10), &long_line);
    assert_eq!(outcome.verdict, Verdict::Flagged(Origin::Pasted));
    assert_eq!(session.chunks(FILE), vec![("pasted", 3, 4)]);
}

#[test]
fn a_paste_replacing_a_selection_is_flagged() {
    let mut session = Session::new();
    session.open(FILE, BASE);
    let outcome = session.replace(FILE, (3, 4), (3, 10), &function("helper", 6));
    assert_eq!(outcome.verdict, Verdict::Flagged(Origin::Pasted));
    assert_eq!(session.chunks(FILE), vec![("pasted", 3, 12)]);
}

#[test]
fn a_token_stream_becomes_a_generated_chunk() {
    let mut session = Session::new();
    session.open(FILE, BASE);
    let body = function("streamed", 12);
    let (mut line, mut column) = (5u32, 0u32);
    // Tokens of about six characters, 40 ms apart: 150 characters a second.
    let characters: Vec<char> = body.chars().collect();
    for token in characters.chunks(6) {
        let token: String = token.iter().collect();
        session.wait(40);
        session.insert(FILE, (line, column), &token);
        for character in token.chars() {
            if character == '\n' {
                line += 1;
                column = 0;
            } else {
                column += 1;
            }
        }
    }
    let chunks = session.chunks(FILE);
    assert_eq!(chunks.len(), 1, "{chunks:?}");
    assert_eq!(chunks[0], ("generated", 5, 20));
    session.assert_map_covers_document(FILE);
}

#[test]
fn an_agent_rewrite_flags_only_the_new_lines() {
    let mut session = Session::new();
    let original = format!(
        "{}{}{}",
        function("alpha", 10),
        function("beta", 10),
        function("gamma", 10)
    );
    session.open(FILE, &original);
    session.wait(15_000);
    let rewritten = original.replace(
        "    let beta_3 = compute_beta(input, 3);\n",
        &format!(
            "    let beta_3 = compute_beta(input, 3);\n{}",
            rust_lines("agent", 8)
        ),
    );
    let outcome = session.change(FILE, vec![whole(&rewritten)]);
    assert_eq!(outcome.verdict, Verdict::Flagged(Origin::Generated));
    // beta starts at line 13; its line 3 is line 17; the agent's 8 lines follow.
    assert_eq!(session.chunks(FILE), vec![("generated", 18, 26)]);
    assert_eq!(session.count(FILE, Origin::Generated), 8);
}

#[test]
fn hints_flag_what_they_mark() {
    let mut session = Session::new();
    session.open(FILE, BASE);
    session.engine.hint(FILE, Some(2), Hint::Completion, 0);
    let outcome = session.engine.change(
        FILE,
        Some(2),
        &[edit((3, 10), (3, 10), "\n    finish(result);")],
        10,
    );
    assert_eq!(outcome.verdict, Verdict::Flagged(Origin::Generated));
    // A hint for another version does not apply.
    session.engine.hint(FILE, Some(9), Hint::Paste, 20);
    let outcome = session
        .engine
        .change(FILE, Some(3), &[edit((0, 0), (0, 0), "x")], 30);
    assert_eq!(outcome.verdict, Verdict::Typed);
}

// ---- must not flag -------------------------------------------------------------------------------

#[test]
fn typing_a_function_key_by_key_flags_nothing() {
    let mut session = Session::new();
    session.open(FILE, BASE);
    let outcomes = session.type_text(FILE, (5, 0), &function("typed", 12), 110);
    assert!(outcomes.iter().all(|outcome| outcome.new_chunks.is_empty()));
    assert!(session.chunks(FILE).is_empty());
}

#[test]
fn completions_and_auto_pairs_while_typing_flag_nothing() {
    let mut session = Session::new();
    session.open(FILE, "");
    for line in 0..40u32 {
        // "let vN = com" typed at 9 keys a second, then a completion, an auto-closed pair, `;`.
        let typed = format!("let v{line} = com");
        session.type_text(FILE, (line, 0), &typed, 110);
        let column = typed.len() as u32;
        session.wait(250);
        session.insert(FILE, (line, column), "pute_everything_now");
        session.wait(150);
        session.insert(FILE, (line, column + 19), "()");
        session.wait(200);
        session.insert(FILE, (line, column + 21), ";\n");
    }
    assert!(session.chunks(FILE).is_empty());
}

#[test]
fn undo_of_a_deleted_block_restores_it_without_a_flag() {
    let mut session = Session::new();
    let text = format!("{BASE}{}", function("kept", 10));
    session.open(FILE, &text);
    let block = session.line_text(FILE, 5, 17);
    session.wait(1_000);
    session.delete_lines(FILE, 5, 17);
    session.wait(3_000);
    let outcome = session.insert(FILE, (5, 0), &block);
    assert_eq!(outcome.verdict, Verdict::Restored);
    assert!(session.chunks(FILE).is_empty());
    assert_eq!(session.count(FILE, Origin::Restored), 12);
}

#[test]
fn undo_and_redo_of_a_paste_bring_the_chunk_back_with_its_class() {
    let mut session = Session::new();
    session.open(FILE, BASE);
    let pasted = function("pasted", 10);
    session.insert(FILE, (5, 0), &pasted);
    let id = session.engine.chunks_in(FILE)[0].chunk.id;
    session.engine.classify(FILE, id, Class::Core, 0).unwrap();
    session.wait(500);
    session.delete_lines(FILE, 5, 18); // undo
    assert!(session.chunks(FILE).is_empty());
    session.wait(500);
    let outcome = session.insert(FILE, (5, 0), &pasted); // redo
    assert_eq!(outcome.verdict, Verdict::Restored);
    let views = session.engine.chunks_in(FILE);
    assert_eq!(views.len(), 1);
    assert_eq!(views[0].chunk.id, id);
    assert_eq!(views[0].chunk.class, Some(Class::Core));
    assert_eq!((views[0].start_line, views[0].end_line), (5, 18));
}

#[test]
fn holding_undo_over_many_small_edits_flags_nothing() {
    let mut session = Session::new();
    session.open(FILE, BASE);
    // Forty words typed a second apart, deleted one by one...
    let mut words = Vec::new();
    for index in 0..40 {
        session.wait(1_000);
        let word = format!("word_number_{index} ");
        session.insert(FILE, (0, 0), &word);
        words.push(word);
    }
    for word in words.iter().rev() {
        session.wait(200);
        session.replace(FILE, (0, 0), (0, word.len() as u32), "");
    }
    // ...then brought back 40 ms apart by a held ctrl+z.
    for word in words.iter() {
        session.wait(40);
        session.insert(FILE, (0, 0), word);
    }
    assert!(session.chunks(FILE).is_empty());
}

#[test]
fn a_cut_and_paste_into_another_file_is_a_move_that_carries_its_chunk() {
    let mut session = Session::new();
    session.open(FILE, BASE);
    session.open(OTHER, "mod other;\n");
    let pasted = function("travelling", 10);
    session.insert(FILE, (5, 0), &pasted);
    let id = session.engine.chunks_in(FILE)[0].chunk.id;
    session
        .engine
        .classify(FILE, id, Class::Repeatable, 0)
        .unwrap();
    session.wait(2_000);
    session.delete_lines(FILE, 5, 18); // cut
    session.wait(2_000);
    let reindented: String = pasted.lines().map(|line| format!("    {line}\n")).collect();
    let outcome = session.insert(OTHER, (1, 0), &reindented);
    assert_eq!(outcome.verdict, Verdict::Moved);
    assert!(session.chunks(FILE).is_empty());
    let views = session.engine.chunks_in(OTHER);
    assert_eq!(views.len(), 1);
    assert_eq!(views[0].chunk.id, id);
    assert_eq!(views[0].chunk.class, Some(Class::Repeatable));
    assert_eq!(session.count(OTHER, Origin::Moved), 13);
}

#[test]
fn moving_typed_code_within_a_file_flags_nothing() {
    let mut session = Session::new();
    let text = format!("{}{}", function("first", 10), function("second", 10));
    session.open(FILE, &text);
    let block = session.line_text(FILE, 0, 13);
    session.delete_lines(FILE, 0, 13);
    session.wait(1_500);
    let outcome = session.insert(FILE, (13, 0), &block);
    assert_eq!(outcome.verdict, Verdict::Moved);
    assert!(session.chunks(FILE).is_empty());
}

#[test]
fn a_formatter_run_keeps_ownership_and_flags_nothing() {
    let mut session = Session::new();
    session.open(FILE, BASE);
    session.insert(FILE, (5, 0), &function("pasted", 10));
    let before = session.chunks(FILE);
    let text = session.engine.document(FILE).unwrap().text();
    let formatted: String = text
        .lines()
        .map(|line| format!("{}\n", line.trim_start().replace(" = ", "=")))
        .collect();
    session.wait(1_000);
    let outcome = session.change(FILE, vec![whole(&formatted)]);
    assert_eq!(outcome.verdict, Verdict::Formatted);
    assert_eq!(session.chunks(FILE), before);
}

#[test]
fn a_rename_at_eighty_sites_flags_nothing() {
    let mut session = Session::new();
    let text: String = (0..80)
        .map(|index| format!("let value_{index} = old_name + {index};\n"))
        .collect();
    session.open(FILE, &text);
    let changes: Vec<ContentChange> = (0..80)
        .map(|line| {
            edit(
                (line, 16 + (line.to_string().len() as u32)),
                (line, 24 + (line.to_string().len() as u32)),
                "a_much_longer_new_name",
            )
        })
        .collect();
    let outcome = session.change(FILE, changes);
    assert_eq!(
        outcome.verdict,
        Verdict::Typed,
        "{:?}",
        session.line_text(FILE, 0, 2)
    );
    assert!(session.chunks(FILE).is_empty());
}

/// Regression: typing a lone `}` (no words, nothing removed) once counted as a formatter run and
/// took the chunk above it.
#[test]
fn typing_punctuation_below_a_chunk_is_typing() {
    let mut session = Session::new();
    session.open(FILE, BASE);
    session.insert(FILE, (5, 0), &function("pasted", 10));
    session.wait(3_000);
    session.insert(FILE, (17, 1), "\n");
    session.wait(500);
    let outcome = session.insert(FILE, (18, 0), "}");
    assert_eq!(outcome.verdict, Verdict::Typed);
    assert_eq!(session.chunks(FILE), vec![("pasted", 5, 18)]);
}

#[test]
fn find_and_replace_with_captures_flags_nothing() {
    let mut session = Session::new();
    let text: String = (0..60)
        .map(|index| format!("    total += weight(item_{index});\n"))
        .collect();
    session.open(FILE, &text);
    // `weight\((\w+)\)` -> `weighted($1, scale)`: every site inserts a different text.
    let changes: Vec<ContentChange> = (0..60u32)
        .map(|line| {
            let name = format!("item_{line}");
            edit(
                (line, 13),
                (line, 21 + name.len() as u32),
                &format!("weighted({name}, scale)"),
            )
        })
        .collect();
    let outcome = session.change(FILE, changes);
    assert_eq!(outcome.verdict, Verdict::Typed);
}

#[test]
fn a_formatter_that_changes_punctuation_flags_nothing() {
    let mut session = Session::new();
    let text: String = (0..30)
        .map(|index| {
            format!("let record_{index} = Record {{ name: 'n{index}', size: {index} }};\n")
        })
        .collect();
    session.open(FILE, &text);
    // Wrapped over lines, trailing commas added, quotes swapped.
    let formatted: String = (0..30)
        .map(|index| {
            format!(
                "let record_{index} = Record {{\n    name: \"n{index}\",\n    size: {index},\n}};\n"
            )
        })
        .collect();
    session.wait(2_000);
    let outcome = session.change(FILE, vec![whole(&formatted)]);
    assert_eq!(outcome.verdict, Verdict::Formatted);
    assert!(session.chunks(FILE).is_empty());
}

#[test]
fn typing_with_six_cursors_flags_nothing() {
    let mut session = Session::new();
    let text: String = (0..6).map(|_| "let x = ;\n").collect();
    session.open(FILE, &text);
    let word = "compute_the_value(input) + other_value(input) * 2";
    for (offset, character) in word.chars().enumerate() {
        session.wait(120);
        let changes = (0..6)
            .map(|line| {
                edit(
                    (line, 8 + offset as u32),
                    (line, 8 + offset as u32),
                    &character.to_string(),
                )
            })
            .collect();
        session.change(FILE, changes);
    }
    assert!(session.chunks(FILE).is_empty());
}

#[test]
fn a_checkout_to_committed_content_flags_nothing() {
    let mut session = Session::new();
    session.open(FILE, BASE);
    let branch = format!(
        "{BASE}{}{}",
        function("on_branch", 30),
        function("also_there", 30)
    );
    let mut committed = HashMap::new();
    committed.insert(FILE.to_string(), branch.clone());
    session.engine.set_committed_text(Box::new(committed));
    session.wait(5_000);
    let outcome = session.change(FILE, vec![whole(&branch)]);
    assert_eq!(outcome.verdict, Verdict::Committed);
    assert!(session.chunks(FILE).is_empty());
}

#[test]
fn a_snippet_under_the_bar_flags_nothing() {
    let mut session = Session::new();
    session.open(FILE, BASE);
    let outcome = session.insert(FILE, (5, 0), "fn name(args) {\n    \n}\n");
    assert_eq!(outcome.verdict, Verdict::Typed);
}

#[test]
fn opening_a_large_file_flags_nothing() {
    let mut session = Session::new();
    let text: String = (0..300)
        .map(|index| function(&format!("f{index}"), 8))
        .collect();
    let outcome = session.open(FILE, &text);
    assert!(outcome.new_chunks.is_empty());
    assert!(session.chunks(FILE).is_empty());
    assert_eq!(session.count(FILE, Origin::Typed), 300 * 11);
}

// ---- chunks follow edits, split and merge --------------------------------------------------------

/// (edit applied after a 10-line paste at lines 5..17 of BASE, expected chunks after)
#[test]
fn chunk_ranges_follow_edits_table() {
    type Case = (
        &'static str,
        fn(&mut Session),
        Vec<(&'static str, usize, usize)>,
    );
    let cases: Vec<Case> = vec![
        (
            "typing above shifts it",
            |s| {
                s.insert(FILE, (0, 0), "// note\n");
            },
            vec![("pasted", 6, 19)],
        ),
        (
            "deleting lines above shifts it up",
            |s| {
                s.delete_lines(FILE, 0, 2);
            },
            vec![("pasted", 3, 16)],
        ),
        (
            "deleting its first lines shrinks it",
            |s| {
                s.delete_lines(FILE, 5, 8);
            },
            vec![("pasted", 5, 15)],
        ),
        (
            "deleting inside shrinks it",
            |s| {
                s.delete_lines(FILE, 8, 10);
            },
            vec![("pasted", 5, 16)],
        ),
        (
            "a typed line inside joins it",
            |s| {
                s.insert(FILE, (8, 0), "    extra();\n");
            },
            vec![("pasted", 5, 19)],
        ),
        (
            "a typed line right after stays outside",
            |s| {
                s.insert(FILE, (17, 1), "\nfn next() {}");
            },
            vec![("pasted", 5, 18)],
        ),
        (
            "deleting all of it removes it",
            |s| {
                s.delete_lines(FILE, 5, 18);
            },
            vec![],
        ),
        (
            "a paste inside splits it",
            |s| {
                s.wait(60_000);
                s.insert(FILE, (10, 0), &rust_lines("inner", 6));
            },
            vec![("pasted", 5, 10), ("pasted", 10, 16), ("pasted", 16, 24)],
        ),
        (
            "a paste right after a young chunk extends it",
            |s| {
                s.wait(5_000);
                s.insert(FILE, (18, 0), &rust_lines("more", 6));
            },
            vec![("pasted", 5, 24)],
        ),
        (
            "a paste right after an old chunk is its own",
            |s| {
                s.wait(60_000);
                s.insert(FILE, (18, 0), &rust_lines("more", 6));
            },
            vec![("pasted", 5, 18), ("pasted", 18, 24)],
        ),
    ];
    for (name, action, expected) in cases {
        let mut session = Session::new();
        session.open(FILE, BASE);
        session.insert(FILE, (5, 0), &function("pasted", 10));
        assert_eq!(
            session.chunks(FILE),
            vec![("pasted", 5, 18)],
            "setup for {name}"
        );
        action(&mut session);
        assert_eq!(session.chunks(FILE), expected, "{name}");
        session.assert_map_covers_document(FILE);
    }
}

#[test]
fn a_split_chunk_keeps_its_verdict_in_both_halves() {
    let mut session = Session::new();
    session.open(FILE, BASE);
    session.insert(FILE, (5, 0), &function("pasted", 10));
    let id = session.engine.chunks_in(FILE)[0].chunk.id;
    session.engine.classify(FILE, id, Class::Core, 0).unwrap();
    session.wait(1_000);
    session.insert(FILE, (10, 0), &rust_lines("inner", 6));
    let views = session.engine.chunks_in(FILE);
    assert_eq!(views.len(), 3);
    assert_eq!(views[0].chunk.id, id);
    assert_eq!(views[0].chunk.class, Some(Class::Core));
    assert_eq!(views[1].chunk.class, None);
    assert_eq!(views[2].chunk.class, Some(Class::Core));
    assert_ne!(views[2].chunk.id, id);
}

#[test]
fn typing_inside_a_chunk_counts_as_rework() {
    let mut session = Session::new();
    session.open(FILE, BASE);
    session.insert(FILE, (5, 0), &function("pasted", 10));
    session.type_text(FILE, (7, 4), "tweak", 150);
    let views = session.engine.chunks_in(FILE);
    assert_eq!(views[0].chunk.reworked_chars, 5);
}

// ---- the user's verdicts ---------------------------------------------------------------------------

#[test]
fn classify_explain_and_dismiss() {
    let mut session = Session::new();
    session.open(FILE, BASE);
    session.insert(FILE, (5, 0), &function("parse_header", 10));
    let view = session.engine.chunks_in(FILE).remove(0);
    assert_eq!(view.chunk.items, vec!["fn parse_header".to_string()]);
    assert!(view.chunk.needs_attention());
    let id = view.chunk.id;
    session.engine.classify(FILE, id, Class::Core, 0).unwrap();
    assert!(session.engine.chunks_in(FILE)[0].chunk.needs_attention());
    let score = session
        .engine
        .explain(
            FILE,
            id,
            "parse_header walks the input because the format is line based",
            5,
        )
        .unwrap();
    assert_eq!(score.identifiers_named, 2, "{score:?}");
    // Eleven words: recorded, but shallow, so the core chunk still asks for an explanation.
    assert!(score.shallow, "{score:?}");
    assert!(session.engine.chunks_in(FILE)[0].chunk.needs_attention());
    let score = session
        .engine
        .explain(
            FILE,
            id,
            "parse_header walks the input line by line because the format is line based, and \
             it stops at the first blank line rather than reading the body, which would make \
             every request pay for bytes that the handler may never look at.",
            6,
        )
        .unwrap();
    assert!(!score.shallow, "{score:?}");
    assert!(!session.engine.chunks_in(FILE)[0].chunk.needs_attention());
    assert_eq!(
        session.engine.classify(FILE, ChunkId(999), Class::Core, 0),
        Err(EngineError::UnknownChunk {
            uri: FILE.to_string(),
            chunk: 999
        })
    );
    assert_eq!(
        session
            .engine
            .classify("file:///nowhere.rs", id, Class::Core, 0),
        Err(EngineError::UnknownDocument {
            uri: "file:///nowhere.rs".to_string()
        })
    );
    session.engine.dismiss(FILE, id, 10).unwrap();
    assert!(session.chunks(FILE).is_empty());
    assert_eq!(session.count(FILE, Origin::Pasted), 0);
    assert_eq!(session.engine.dismissals().len(), 1);
}

// ---- re-anchoring on reopen ------------------------------------------------------------------------

#[test]
fn a_file_changed_while_closed_is_reanchored() {
    let mut session = Session::new();
    session.open(FILE, BASE);
    let pasted = function("pasted", 10);
    session.insert(FILE, (5, 0), &pasted);
    let id = session.engine.chunks_in(FILE)[0].chunk.id;
    let text = session.engine.document(FILE).unwrap().text();
    session.engine.close(FILE);
    // Outside the editor: 8 new lines on top, written by some other program.
    let changed = format!("{}{text}", rust_lines("outside", 8));
    session.wait(10_000);
    let outcome = session.open(FILE, &changed);
    assert!(outcome.chunks_changed);
    let views = session.engine.chunks_in(FILE);
    let spans: Vec<(&str, usize, usize, bool)> = views
        .iter()
        .map(|view| {
            (
                view.chunk.origin.as_str(),
                view.start_line,
                view.end_line,
                view.chunk.id == id,
            )
        })
        .collect();
    assert_eq!(
        spans,
        vec![("external", 0, 8, false), ("pasted", 13, 26, true)]
    );
}

#[test]
fn reopening_unchanged_keeps_everything() {
    let mut session = Session::new();
    session.open(FILE, BASE);
    session.insert(FILE, (5, 0), &function("pasted", 10));
    let before = session.chunks(FILE);
    let text = session.engine.document(FILE).unwrap().text();
    session.engine.close(FILE);
    assert_eq!(
        session.chunks(FILE),
        before,
        "a closed file still lists its chunks"
    );
    let outcome = session.open(FILE, &text);
    assert!(!outcome.chunks_changed);
    assert_eq!(session.chunks(FILE), before);
}

// ---- bad input -------------------------------------------------------------------------------------

/// Regression: a second didOpen of an open document replaced its map with a blank one, so its
/// chunks vanished from the file (found by the end-to-end hostile input tests).
#[test]
fn opening_an_open_document_again_keeps_its_chunks() {
    let mut session = Session::new();
    session.open(FILE, BASE);
    session.insert(FILE, (5, 0), &function("pasted", 10));
    let before = session.chunks(FILE);
    let text = session.engine.document(FILE).unwrap().text();
    session.open(FILE, &text);
    assert_eq!(session.chunks(FILE), before);
    session.open(FILE, &format!("// a new first line\n{text}"));
    assert_eq!(session.chunks(FILE), vec![("pasted", 6, 19)]);
}

#[test]
fn wild_positions_and_unknown_documents_do_not_panic() {
    let mut session = Session::new();
    session.open(FILE, "abc\n🦀\n");
    session.replace(FILE, (99, 99), (200, 0), "tail");
    session.replace(FILE, (1, 1), (1, 1), "x"); // inside the crab's surrogate pair
    session.replace(FILE, (1, 5), (0, 1), ""); // reversed
    session.assert_map_covers_document(FILE);
    let outcome = session.insert("file:///unknown.rs", (0, 0), "x");
    assert_eq!(outcome.verdict, Verdict::UnknownDocument);
}

#[test]
fn outcomes_say_what_was_inserted() {
    let mut session = Session::new();
    session.open(FILE, BASE);
    let typed = session.insert(FILE, (3, 10), "x\n");
    assert_eq!(
        typed.inserted,
        Inserted {
            origin: Some(Origin::Typed),
            lines: 1,
            typed_chars: 1,
            burst_lines: 0
        }
    );
    session.wait(2_000);
    let pasted = session.insert(FILE, (0, 0), &rust_lines("pasted", 12));
    assert_eq!(pasted.inserted.origin, Some(Origin::Pasted));
    assert_eq!(pasted.inserted.lines, 12);
    let removal = session.delete_lines(FILE, 0, 1);
    assert_eq!(removal.inserted, Inserted::default());
}

/// Regression: one notification of 1,000 changes on the same spot counted every line break it
/// carried, even those deleted or typed over again by the next change, as a typed line in the
/// activity ledger. The count is now the lines the notification really added.
#[test]
fn the_ledger_counts_the_lines_a_notification_really_added() {
    let many = 1_000;
    let several_on_one_line = vec![
        edit((3, 10), (3, 10), "a"),
        edit((3, 11), (3, 11), "b"),
        edit((3, 12), (3, 12), "\n"),
        edit((4, 0), (4, 0), "c"),
    ];
    let many_insertions_at_one_position: Vec<ContentChange> =
        (0..many).map(|_| edit((3, 0), (3, 0), "x\n")).collect();
    let one_new_line_typed_over_again_and_again: Vec<ContentChange> =
        std::iter::once(edit((3, 0), (3, 0), "x\n"))
            .chain((0..many).map(|index| {
                let text = if index % 2 == 0 { "y\n" } else { "z\n" };
                edit((3, 0), (4, 0), text)
            }))
            .collect();
    let breaks_typed_and_deleted_again: Vec<ContentChange> = (0..many)
        .flat_map(|_| [edit((3, 0), (3, 0), "\n"), edit((3, 0), (4, 0), "")])
        .collect();
    let cases: Vec<(&str, Vec<ContentChange>, Option<Origin>, u64)> = vec![
        (
            "several changes on one line",
            several_on_one_line,
            Some(Origin::Typed),
            1,
        ),
        (
            "many insertions at one position",
            many_insertions_at_one_position,
            Some(Origin::Typed),
            many as u64,
        ),
        (
            "one new line typed over again and again",
            one_new_line_typed_over_again_and_again,
            Some(Origin::Typed),
            1,
        ),
        (
            "breaks typed and deleted again",
            breaks_typed_and_deleted_again,
            Some(Origin::Typed),
            0,
        ),
        (
            "a multi-line paste",
            vec![edit((0, 0), (0, 0), &rust_lines("pasted", 12))],
            Some(Origin::Pasted),
            12,
        ),
        ("a deletion", vec![edit((1, 0), (4, 0), "")], None, 0),
    ];
    for (name, changes, origin, lines) in cases {
        let mut session = Session::new();
        session.open(FILE, BASE);
        let outcome = session.change(FILE, changes);
        assert_eq!(outcome.inserted.origin, origin, "{name}: {outcome:?}");
        assert_eq!(outcome.inserted.lines, lines, "{name}: {outcome:?}");
        session.assert_map_covers_document(FILE);
    }
}

/// Regression (found by the property test): a formatter's new blank line below a chunk took the
/// chunk, and since formatting was not counted as a chunk change, the chunk ended on a blank line.
#[test]
fn a_formatted_blank_line_below_a_chunk_does_not_become_its_edge() {
    let mut session = Session::new();
    session.open(FILE, "");
    session.insert(FILE, (0, 0), &rust_lines("pasted", 6));
    session.engine.hint(FILE, None, Hint::Format, session.now);
    session.insert(FILE, (6, 0), "\n");
    assert_eq!(session.chunks(FILE), vec![("pasted", 0, 6)]);
}

/// Regression (found by the Neovim client test): Neovim sends the keys typed during its debounce as
/// one notification of one-character changes; joining those texts with line breaks to measure them
/// made every key a "line", and a function typed in one burst became a generated chunk.
#[test]
fn a_debounced_batch_of_typed_keys_is_typing() {
    let mut session = Session::new();
    session.open(FILE, "");
    let typed = "fn add(left: u32, right: u32) -> u32 {\n    left + right\n}\n";
    let (mut line, mut column) = (0u32, 0u32);
    let mut changes = Vec::new();
    for character in typed.chars() {
        changes.push(edit((line, column), (line, column), &character.to_string()));
        if character == '\n' {
            line += 1;
            column = 0;
        } else {
            column += 1;
        }
    }
    let outcome = session.change(FILE, changes);
    assert_eq!(outcome.verdict, Verdict::Typed);
    assert_eq!(outcome.inserted.lines, 3);
    assert!(session.chunks(FILE).is_empty());
}

/// Regression (found by the property test): emptying a chunk's line from within the line took the
/// fast path, which reported no chunk change, so the chunk was left on a blank line.
#[test]
fn emptying_a_chunk_line_in_place_trims_the_chunk() {
    let mut session = Session::new();
    session.open(FILE, "");
    session.engine.hint(FILE, None, Hint::Agent, 0);
    session.change(FILE, vec![whole("(")]);
    assert_eq!(session.chunks(FILE), vec![("generated", 0, 1)]);
    session.replace(FILE, (0, 0), (0, 1), "");
    assert!(session.chunks(FILE).is_empty());
}

#[test]
fn a_stream_around_a_classified_paste_leaves_the_paste_alone() {
    let mut session = Session::new();
    session.open(FILE, BASE);
    // Fast typing (far above a person's pace) with a paste in the middle of it, classified at
    // once, before the typing has gone on long enough to be taken for a stream.
    let before = rust_lines("typed_before", 6);
    session.type_text(FILE, (5, 0), &before, 2);
    let pasted = function("pasted", 10);
    session.wait(2);
    let outcome = session.insert(FILE, (11, 0), &pasted);
    let chunk = *outcome.new_chunks.first().expect("the paste is a chunk");
    session
        .engine
        .classify(FILE, chunk, Class::Core, session.now)
        .expect("classify");
    let pasted_lines = pasted.lines().count();
    let after = rust_lines("typed_after", 60);
    session.type_text(FILE, (11 + pasted_lines as u32, 0), &after, 2);

    let views = session.engine.chunks_in(FILE);
    let paste = views
        .iter()
        .find(|view| view.chunk.id == chunk)
        .unwrap_or_else(|| panic!("the classified paste is gone: {views:?}"));
    assert_eq!(paste.chunk.class, Some(Class::Core));
    assert_eq!((paste.start_line, paste.end_line), (11, 11 + pasted_lines));
    // The stream is flagged, on its own lines only.
    assert!(
        views
            .iter()
            .any(|view| view.chunk.origin == Origin::Generated),
        "{:?}",
        session.chunks(FILE)
    );
    for view in views.iter().filter(|view| view.chunk.id != chunk) {
        assert!(
            view.end_line <= 11 || view.start_line >= 11 + pasted_lines,
            "{:?} overlaps the paste",
            session.chunks(FILE)
        );
    }
    session.assert_map_covers_document(FILE);
}

// ---- how AI is really used: acceptances, short and paused streams, copies -------------------

fn rules(session: &mut Session, uri: &str) -> Vec<Option<Rule>> {
    session
        .engine
        .chunks_in(uri)
        .iter()
        .map(|view| view.chunk.rule)
        .collect()
}

/// Eight acceptances of 2 to 4 lines, each after a few typed characters and a moment reading
/// the suggestion, build a 26-line function: one generated chunk over it.
#[test]
fn acceptances_of_a_few_lines_each_add_up_to_one_chunk() {
    let mut session = Session::new();
    session.open(FILE, BASE);
    let mut line = 5u32;
    for block in 0..8u32 {
        session.wait(1_500);
        session.type_text(FILE, (line, 0), "    le", 120);
        session.wait(900);
        let size = 2 + block % 3;
        let rest: String = (0..size)
            .map(|index| {
                let prefix = if index == 0 { "" } else { "    le" };
                format!("{prefix}t value_{block}_{index} = compute(input, {index});\n")
            })
            .collect();
        session.insert(FILE, (line, 6), &rest);
        line += size;
    }
    let chunks = session.chunks(FILE);
    assert_eq!(chunks.len(), 1, "{chunks:?}");
    assert_eq!(chunks[0].0, "generated");
    assert_eq!((chunks[0].1, chunks[0].2), (5, line as usize));
    assert_eq!(rules(&mut session, FILE), vec![Some(Rule::Acceptances)]);
    session.assert_map_covers_document(FILE);
}

/// Line by line: one-line acceptances of 30 to 90 characters, each after a few keys.
#[test]
fn one_line_acceptances_add_up_to_one_chunk() {
    let mut session = Session::new();
    session.open(FILE, BASE);
    for index in 0..8u32 {
        let line = 5 + index;
        session.wait(2_000);
        session.type_text(FILE, (line, 0), "    if", 110);
        session.wait(700);
        let rest = format!(" value_{index} > limit {{ return Err(Error::TooLarge({index})); }}\n");
        session.insert(FILE, (line, 6), &rest);
    }
    let chunks = session.chunks(FILE);
    assert_eq!(chunks, vec![("generated", 5, 13)]);
}

#[test]
fn one_acceptance_or_acceptances_far_apart_flag_nothing() {
    let mut session = Session::new();
    session.open(FILE, &function("existing", 60));
    let suggestion = "    let total = items.iter().map(|item| item.price).sum::<u64>();\n";
    session.wait(1_000);
    session.insert(FILE, (10, 0), suggestion);
    // Far apart in the file...
    session.wait(3_000);
    session.insert(FILE, (40, 0), suggestion);
    // ...and in time.
    session.wait(60_000);
    session.insert(FILE, (41, 0), suggestion);
    session.wait(45_000);
    session.insert(FILE, (42, 0), suggestion);
    assert!(
        session.chunks(FILE).is_empty(),
        "{:?}",
        session.chunks(FILE)
    );
}

/// An inline-chat answer of 15 lines streamed in under a second is generated, however short.
#[test]
fn a_fast_short_stream_is_generated() {
    let mut session = Session::new();
    session.open(FILE, BASE);
    session.wait(5_000);
    let answer = rust_lines("answer", 15);
    let (mut line, mut column) = (5u32, 0u32);
    // Tokens of a few characters, as models stream them.
    let tokens: Vec<String> = answer
        .split_inclusive([' ', '\n', '(', '_'])
        .map(str::to_string)
        .collect();
    for token in &tokens {
        session.wait(6);
        session.insert(FILE, (line, column), token);
        if token.ends_with('\n') {
            line += 1;
            column = 0;
        } else {
            column += token.len() as u32;
        }
    }
    assert!(
        session.now - 5_000 < 2_000,
        "streamed in {} ms",
        session.now - 5_000
    );
    let chunks = session.chunks(FILE);
    assert_eq!(chunks.len(), 1, "{chunks:?}");
    assert_eq!(chunks[0].0, "generated");
    assert!(chunks[0].2 - chunks[0].1 >= 12, "{chunks:?}");
    assert_eq!(rules(&mut session, FILE), vec![Some(Rule::Stream)]);
}

/// A model thinking: three lines streamed, a pause of several seconds, three more next to them.
/// Neither part passes the bar alone; together they are one chunk.
#[test]
fn a_paused_stream_is_one_chunk() {
    let mut session = Session::new();
    session.open(FILE, BASE);
    let mut line = 5u32;
    for part in 0..2 {
        session.wait(if part == 0 { 5_000 } else { 6_000 });
        for index in 0..3 {
            let text = format!("    let part_{part}_{index} = stream(input, {index}) * factor;\n");
            for token in text.split_inclusive(' ') {
                session.wait(12);
                let column = session
                    .line_text(FILE, line, line + 1)
                    .trim_end_matches('\n')
                    .len();
                session.insert(FILE, (line, column as u32), token);
            }
            line += 1;
        }
    }
    let chunks = session.chunks(FILE);
    assert_eq!(chunks, vec![("generated", 5, 11)]);
}

#[test]
fn a_copy_of_your_own_function_is_yours() {
    let mut session = Session::new();
    let own = format!("{BASE}\n{}", function("own_work", 12));
    session.open(FILE, &own);
    session.wait(10_000);
    let copy = function("own_work", 12);
    let outcome = session.insert(FILE, (22, 0), &format!("\n{copy}"));
    assert_eq!(outcome.verdict, Verdict::Copied);
    assert!(
        session.chunks(FILE).is_empty(),
        "{:?}",
        session.chunks(FILE)
    );
    assert_eq!(session.count(FILE, Origin::Pasted), 0);
}

#[test]
fn a_copy_of_your_own_lines_in_another_file_is_yours() {
    let mut session = Session::new();
    session.open(FILE, &format!("{BASE}\n{}", function("shared_helper", 10)));
    session.open(OTHER, "mod other;\n");
    session.wait(10_000);
    let outcome = session.insert(OTHER, (1, 0), &function("shared_helper", 10));
    assert_eq!(outcome.verdict, Verdict::Copied);
    assert!(session.chunks(OTHER).is_empty());
}

#[test]
fn a_copy_of_a_chunk_is_a_new_unjudged_chunk_that_names_its_source() {
    let mut session = Session::new();
    session.open(FILE, BASE);
    session.wait(2_000);
    session.insert(FILE, (5, 0), &function("pasted_helper", 10));
    let source = session.engine.chunks_in(FILE)[0].chunk.id;
    session
        .engine
        .classify(FILE, source, Class::Core, session.now)
        .unwrap();
    session.wait(60_000);
    let outcome = session.insert(
        FILE,
        (18, 0),
        &format!("\n{}", function("pasted_helper", 10)),
    );
    assert_eq!(outcome.verdict, Verdict::Copied);
    let views = session.engine.chunks_in(FILE);
    assert_eq!(views.len(), 2, "{views:?}");
    let copy = &views[1].chunk;
    assert_eq!(copy.origin, Origin::Pasted);
    assert_eq!(copy.copied_from, Some(source));
    assert_eq!(copy.class, None);
    assert_eq!(copy.rule, Some(Rule::Copy));
    assert_eq!(views[0].chunk.class, Some(Class::Core));
    assert_eq!(outcome.new_chunks, vec![copy.id]);
}

#[test]
fn toggling_comments_and_indenting_thirty_lines_flag_nothing() {
    let mut session = Session::new();
    let text = format!("{BASE}{}", function("body", 30));
    session.open(FILE, &text);
    session.wait(5_000);
    let comment: Vec<ContentChange> = (6..36)
        .map(|line| edit((line, 0), (line, 0), "// "))
        .collect();
    session.change(FILE, comment);
    session.wait(2_000);
    let uncomment: Vec<ContentChange> =
        (6..36).map(|line| edit((line, 0), (line, 3), "")).collect();
    session.change(FILE, uncomment);
    session.wait(2_000);
    let indent: Vec<ContentChange> = (6..36)
        .map(|line| edit((line, 0), (line, 0), "    "))
        .collect();
    session.change(FILE, indent);
    assert!(
        session.chunks(FILE).is_empty(),
        "{:?}",
        session.chunks(FILE)
    );
}

/// An extract-function code action: lines move into a new function at the end of the file,
/// re-indented, with a call left behind, all in one change.
#[test]
fn an_extract_function_refactoring_flags_nothing() {
    let mut session = Session::new();
    let body = rust_lines("step", 12);
    let text = format!("fn main() {{\n    let input = read();\n{body}    finish(input);\n}}\n");
    session.open(FILE, &text);
    session.wait(5_000);
    let extracted: String = body.lines().map(|line| format!("{line}\n")).collect();
    let after = format!(
        "    extracted(input);\n    finish(input);\n}}\n\nfn extracted(input: &Input) {{\n{extracted}}}\n"
    );
    let outcome = session.replace(FILE, (2, 0), (16, 0), &after);
    assert!(
        session.chunks(FILE).is_empty(),
        "{outcome:?} {:?}",
        session.chunks(FILE)
    );
    session.assert_map_covers_document(FILE);
}

/// `git stash` takes typed lines away (the buffer reloads without them) and `git stash pop`
/// brings them back a while later: still the user's.
#[test]
fn a_stash_and_pop_of_typed_lines_flags_nothing() {
    let mut session = Session::new();
    session.open(FILE, BASE);
    let typed = "    let first = prepare(input);\n    let second = first.combine(other);\n";
    session.type_text(FILE, (4, 0), &rust_lines("typed", 8), 180);
    session.type_text(FILE, (12, 0), typed, 180);
    let with_work = session.engine.document(FILE).unwrap().text();
    session.wait(20_000);
    session.change(FILE, vec![whole(BASE)]);
    session.wait(120_000);
    let outcome = session.change(FILE, vec![whole(&with_work)]);
    assert!(
        session.chunks(FILE).is_empty(),
        "{outcome:?} {:?}",
        session.chunks(FILE)
    );
}

#[test]
fn the_burst_rate_rises_above_a_fast_typists_learned_pace_unless_set_by_hand() {
    let mut engine = Engine::default();
    let fast = crate::pace::TypingPace {
        fastest_cps: 28.0,
        measured_chars: crate::pace::MIN_MEASURED_CHARS,
    };
    engine.learn_pace(fast);
    assert_eq!(engine.config().burst_chars_per_second, 42.0);
    engine.set_config(DetectionConfig {
        burst_chars_per_second: 25.0,
        adapt_burst_rate: false,
        ..DetectionConfig::default()
    });
    assert_eq!(engine.config().burst_chars_per_second, 25.0);
}

#[test]
fn a_dismissal_remembers_the_rule_that_flagged_the_chunk() {
    let mut session = Session::new();
    session.open(FILE, BASE);
    session.wait(2_000);
    session.insert(FILE, (4, 0), &rust_lines("pasted", 8));
    let id = session.engine.chunks_in(FILE)[0].chunk.id;
    session.engine.dismiss(FILE, id, session.now).unwrap();
    assert_eq!(session.engine.dismissals()[0].rule, Some(Rule::Insertion));
}

/// Regression (found by the map property): a lone carriage return is a line break too, and a
/// whole-document change to text holding one keeps the map as long as the document.
#[test]
fn a_whole_document_change_with_a_lone_carriage_return_keeps_the_map_whole() {
    let mut session = Session::new();
    session.open(FILE, "");
    session.insert(FILE, (0, 0), "\r\n");
    session.change(FILE, vec![whole("\r    \n")]);
    session.assert_map_covers_document(FILE);
}

// ---- chunk ids ------------------------------------------------------------------------------------

/// Grants blocks of chunk ids a block apart, as a store shared with another engine would, and
/// remembers each.
struct SharedBlocks {
    granted: std::sync::Arc<std::sync::Mutex<Vec<Range<u64>>>>,
    next: u64,
}

impl crate::chunk_ids::ChunkIdSource for SharedBlocks {
    fn claim(&mut self, count: u64) -> u64 {
        let first = self.next;
        self.next += 2 * count;
        self.granted
            .lock()
            .expect("granted blocks")
            .push(first..first + count);
        first
    }
}

/// One rewrite used to make more chunks than the block of ids the store had granted and go on
/// counting into ids the store hands to other processes.
#[test]
fn a_rewrite_making_more_chunks_than_a_block_holds_takes_ids_only_from_granted_blocks() {
    let granted = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut session = Session::new();
    session.engine.set_chunk_ids(ChunkIds::shared(
        Box::new(SharedBlocks {
            granted: granted.clone(),
            next: 500,
        }),
        4,
    ));
    let names: Vec<String> = (0..12).map(|index| format!("f{index}")).collect();
    let original: String = names.iter().map(|name| function(name, 10)).collect();
    session.open(FILE, &original);
    session.wait(15_000);
    let mut rewritten = original.clone();
    for name in &names {
        let anchor = format!("    let {name}_3 = compute_{name}(input, 3);\n");
        rewritten = rewritten.replace(
            &anchor,
            &format!("{anchor}{}", rust_lines(&format!("agent_{name}"), 8)),
        );
    }
    let outcome = session.change(FILE, vec![whole(&rewritten)]);
    assert_eq!(outcome.new_chunks.len(), 12, "{outcome:?}");
    let granted = granted.lock().expect("granted blocks").clone();
    assert_eq!(granted.len(), 3, "{granted:?}");
    let ids: Vec<u64> = session
        .engine
        .chunks_in(FILE)
        .iter()
        .map(|view| view.chunk.id.0)
        .collect();
    assert_eq!(ids.len(), 12);
    for id in ids {
        assert!(
            granted.iter().any(|block| block.contains(&id)),
            "chunk {id} lies outside the granted blocks {granted:?}"
        );
    }
    session.assert_map_covers_document(FILE);
}
