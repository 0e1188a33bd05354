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
