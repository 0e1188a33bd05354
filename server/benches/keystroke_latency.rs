//! Keystroke latency percentiles, which criterion does not report: types 20,000 keys (with
//! Enter, Backspace and the odd completion) into the middle of 1k / 10k / 100k-line files that
//! hold ten pasted chunks, timing each `change` call, and prints p50 / p99 / max. SPEC target:
//! p99 50 µs or less on 10k lines. Every tenth key, the file's code lenses are computed as a
//! `textDocument/codeLens` request computes them (chunks named, lenses built): their p50 / p99
//! are the last two columns.
//! `cargo bench -p whetstone --bench keystroke_latency`.

mod common;

use std::time::Instant;

use common::{FILE, delete_before, engine_with_file, insert_at};
use whetstone::core::ContentChange;
use whetstone::lsp::nudges;

const KEYS: usize = 20_000;

fn main() {
    // `cargo bench` passes `--bench`; when run by `cargo test --benches` do a short smoke run.
    let quick = !std::env::args().any(|argument| argument == "--bench");
    let keys = if quick { 500 } else { KEYS };
    println!(
        "{:>8} {:>9} {:>9} {:>9} {:>9} {:>12} {:>12}",
        "lines", "keys", "p50 µs", "p99 µs", "max µs", "lens p50 µs", "lens p99 µs"
    );
    for lines in [1_000usize, 10_000, 100_000] {
        let mut engine = engine_with_file(lines);
        // Ten pasted functions of 20 lines, spread over the file, before the typing.
        for paste in 0..10u32 {
            let at = (lines as u32 / 10) * paste + 1;
            let body: String = (0..18)
                .map(|line| format!("    let pasted_{paste}_{line} = input.len() * {line};\n"))
                .collect();
            let function = format!("fn pasted_{paste}(input: &str) -> usize {{\n{body}}}\n");
            engine.change(
                FILE,
                None,
                &[insert_at(at, 0, &function)],
                10 + u64::from(paste),
            );
        }
        let mut timings = Vec::with_capacity(keys);
        let mut lens_timings = Vec::with_capacity(keys / 10);
        let (mut line, mut column) = ((lines / 2) as u32, 0u32);
        let mut now = 1_000u64;
        for index in 0..keys {
            now += 90 + (index as u64 * 37) % 140;
            let change: ContentChange = match index % 50 {
                49 => {
                    line += 1;
                    column = 0;
                    insert_at(line - 1, 200, "\n")
                }
                23 if column > 0 => {
                    column -= 1;
                    delete_before(line, column + 1)
                }
                37 => {
                    column += 14;
                    insert_at(line, column - 14, "parse_record_3")
                }
                _ => {
                    column += 1;
                    insert_at(line, column - 1, "k")
                }
            };
            let started = Instant::now();
            let outcome = engine.change(FILE, None, std::slice::from_ref(&change), now);
            timings.push(started.elapsed().as_secs_f64() * 1e6);
            assert!(
                outcome.new_chunks.is_empty(),
                "typing was flagged at key {index}"
            );
            if index % 10 == 0 {
                let started = Instant::now();
                let lenses = nudges::code_lenses(FILE, &engine.chunks_in(FILE));
                lens_timings.push(started.elapsed().as_secs_f64() * 1e6);
                assert_eq!(lenses.len(), 60, "ten chunks, six lenses each");
            }
        }
        timings.sort_by(f64::total_cmp);
        lens_timings.sort_by(f64::total_cmp);
        let percentile =
            |timings: &[f64], p: f64| timings[((timings.len() - 1) as f64 * p) as usize];
        println!(
            "{lines:>8} {keys:>9} {:>9.2} {:>9.2} {:>9.2} {:>12.2} {:>12.2}",
            percentile(&timings, 0.5),
            percentile(&timings, 0.99),
            timings[timings.len() - 1],
            percentile(&lens_timings, 0.5),
            percentile(&lens_timings, 0.99),
        );
    }
}
