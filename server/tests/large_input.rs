//! Inputs far larger than anyone types: a pasted log, a regenerated file, a whole-file rewrite of
//! repetitive text. These tests check what such an input leaves behind (one chunk, a map that
//! covers the document); what it costs is measured by the `large_input` benchmarks
//! (`cargo bench -p whetstone --bench engine -- large_input`), never asserted on a shared machine.

use whetstone::core::{ContentChange, Engine, Position, Range};

const FILE: &str = "file:///w/src/lib.rs";

/// Lines that repeat a few contents many times over, the worst case for line matching.
fn repetitive(lines: usize, kinds: (usize, usize)) -> String {
    (0..lines)
        .map(|index| format!("line {} {}\n", index % kinds.0, index % kinds.1))
        .collect()
}

fn whole(text: &str) -> ContentChange {
    ContentChange {
        range: None,
        text: text.to_string(),
    }
}

fn assert_map_covers_document(engine: &Engine) {
    let document = engine.document(FILE).expect("open");
    assert_eq!(
        engine.line_map(FILE).expect("a map").len(),
        document.len_lines()
    );
}

/// Regression: with tens of thousands of repeated lines, re-opening a changed file, rewriting it
/// whole and undoing a deletion of it each took time quadratic in its lines (the line diff's
/// preprocessing, list removals, one map splice per stretch of new lines): 2 MB took a minute.
#[test]
fn rewrites_of_a_big_repetitive_file_keep_the_map_whole() {
    let before = repetitive(60_000, (7, 3));
    let after = repetitive(60_000, (5, 2));
    let mut engine = Engine::default();
    engine.open(FILE, &before, 0);
    engine.change(FILE, None, &[whole(&after)], 1_000);
    engine.close(FILE);
    engine.open(FILE, &before, 2_000);
    engine.change(FILE, None, &[whole("")], 3_000);
    engine.change(FILE, None, &[whole(&before)], 4_000);
    assert_map_covers_document(&engine);
}

/// A 5 MB paste is one chunk, named from its first part, without waiting on its size twice.
#[test]
fn a_five_megabyte_paste_is_one_chunk() {
    let pasted: String = (0..80_000)
        .map(|index| format!("    let value_{index} = compute(input, {index}) + offset;\n"))
        .collect();
    let mut engine = Engine::default();
    engine.open(FILE, "fn main() {}\n", 0);
    let at = Range::new(Position::new(1, 0), Position::new(1, 0));
    engine.change(
        FILE,
        None,
        &[ContentChange {
            range: Some(at),
            text: pasted,
        }],
        1_000,
    );
    let views = engine.chunks_in(FILE);
    assert_eq!(views.len(), 1);
    assert_eq!((views[0].start_line, views[0].end_line), (1, 80_001));
    assert_map_covers_document(&engine);
}
