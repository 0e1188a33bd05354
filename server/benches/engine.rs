//! Criterion benchmarks: one keystroke on 1k / 10k / 100k-line files, a 200-line paste with
//! chunk creation and syntactic naming, lenses, the store's open, and inputs far larger than
//! anyone types. Targets (SPEC): a keystroke flat in file size (within 2x
//! from 1k to 100k lines), the paste in 5 ms or less. `cargo bench -p whetstone --bench engine`.

mod common;

use std::hint::black_box;

use common::{FILE, delete_before, engine_with_file, insert_at, pasted_block};
use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};

fn keystroke(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("keystroke");
    for lines in [1_000usize, 10_000, 100_000] {
        let mut engine = engine_with_file(lines);
        let line = (lines / 2) as u32;
        // Type a character at the end of a code line, then delete it: two keystrokes per
        // iteration, so the file stays the same size however long criterion runs.
        let column = 38;
        let mut now = 1_000;
        group.bench_with_input(BenchmarkId::from_parameter(lines), &lines, |bench, _| {
            bench.iter(|| {
                now += 120;
                black_box(engine.change(FILE, None, &[insert_at(line, column, "x")], now));
                now += 120;
                black_box(engine.change(FILE, None, &[delete_before(line, column + 1)], now));
            })
        });
    }
    group.finish();
}

fn paste(criterion: &mut Criterion) {
    let block = pasted_block(200);
    criterion.bench_function("paste_200_lines_with_naming", |bench| {
        bench.iter_batched(
            || engine_with_file(1_000),
            |mut engine| {
                let outcome = engine.change(FILE, None, &[insert_at(500, 0, &block)], 5_000);
                // Listing the chunks computes their syntactic items.
                let chunks = engine.chunks_in(FILE);
                assert_eq!(chunks.len(), 1, "{outcome:?}");
                black_box(chunks)
            },
            BatchSize::LargeInput,
        )
    });
}

/// A file with 100 chunks: listing them and building their lenses (what a `textDocument/codeLens`
/// request costs inside the server loop).
fn code_lens_for_100_chunks(criterion: &mut Criterion) {
    let mut engine = engine_with_file(2_000);
    let mut now = 5_000;
    for index in 0..100u32 {
        // Far apart in time and place, so each paste is its own chunk.
        now += 60_000;
        let block = pasted_block(6).replace("pasted_value", &format!("chunk_{index}_value"));
        engine.change(FILE, None, &[insert_at(index * 26, 0, &block)], now);
    }
    let views = engine.chunks_in(FILE);
    assert_eq!(views.len(), 100);
    criterion.bench_function("code_lens_100_chunks", |bench| {
        bench.iter(|| {
            let views = engine.chunks_in(FILE);
            black_box(whetstone::lsp::nudges::code_lenses(FILE, &views))
        })
    });
}

/// What `initialize` does with the store: take it (open the sled database, created on the first
/// iteration's folder and reopened after, and listen on its socket) and claim a block of chunk
/// ids. Each iteration also releases it again.
fn open_store(criterion: &mut Criterion) {
    let folder = tempfile::tempdir().expect("temporary folder");
    criterion.bench_function("initialize_store_open", |bench| {
        bench.iter(|| {
            let store =
                whetstone::store::SharedStore::connect(folder.path(), |_| {}).expect("store opens");
            black_box(whetstone::store::Store::claim_chunk_ids(&*store, 1_024).expect("claimed"))
        })
    });
}

/// Inputs far larger than anyone types (the cases of `tests/large_input.rs`): a whole-file
/// rewrite of 60,000 repetitive lines and back, and a 5 MB paste. Both must stay about linear in
/// their size: quadratic passes once made the rewrite take a minute.
fn large_input(criterion: &mut Criterion) {
    let repetitive = |lines: usize, kinds: (usize, usize)| -> String {
        (0..lines)
            .map(|index| format!("line {} {}\n", index % kinds.0, index % kinds.1))
            .collect()
    };
    let before = repetitive(60_000, (7, 3));
    let after = repetitive(60_000, (5, 2));
    let whole = |text: &str| whetstone::core::ContentChange {
        range: None,
        text: text.to_string(),
    };
    let mut group = criterion.benchmark_group("large_input");
    group.sample_size(10);
    group.bench_function("rewrite_60k_repetitive_lines_and_back", |bench| {
        bench.iter_batched(
            || {
                let mut engine = whetstone::core::Engine::default();
                engine.open(FILE, &before, 0);
                engine
            },
            |mut engine| {
                engine.change(FILE, None, &[whole(&after)], 1_000);
                engine.change(FILE, None, &[whole(&before)], 2_000);
                black_box(engine)
            },
            BatchSize::LargeInput,
        )
    });
    let pasted: String = (0..80_000)
        .map(|index| format!("    let value_{index} = compute(input, {index}) + offset;\n"))
        .collect();
    group.bench_function("paste_5_mb", |bench| {
        bench.iter_batched(
            || engine_with_file(100),
            |mut engine| {
                engine.change(FILE, None, &[insert_at(50, 0, &pasted)], 5_000);
                black_box(engine.chunks_in(FILE).len())
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(
    benches,
    keystroke,
    paste,
    code_lens_for_100_chunks,
    open_store,
    large_input
);
criterion_main!(benches);
