//! Fuzz target `lsp_frames`: arbitrary bytes, delivered in arbitrary pieces, go through the frame
//! guard's decoder (`lsp::framing::FrameDecoder`). Every message it passes on must be what
//! tower-lsp-server's reader accepts (UTF-8 JSON, a JSON-RPC object, within the size limit) and
//! decode again to itself; the guard's quick check never accepts a body its exact check refuses; the bytes it holds stay bounded by the limit; no single allocation
//! exceeds what the input could justify; and the messages do not depend on how the input was cut
//! into reads.

#![no_main]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use whetstone::lsp::framing::{self, Decoded, FrameDecoder, MAX_HEADER_BYTES, frame};

/// Small, so that messages over the limit are common.
const LIMIT: usize = 512;

/// Counts the largest single allocation, to catch a length taken from the input and allocated
/// ahead (what `vec![0; content_length]` did).
struct Measured;

static LARGEST_ALLOCATION: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Measured {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST_ALLOCATION.fetch_max(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        unsafe { System.dealloc(pointer, layout) }
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST_ALLOCATION.fetch_max(new_size, Ordering::Relaxed);
        unsafe { System.realloc(pointer, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Measured = Measured;

fuzz_target!(|data: &[u8]| {
    // The first byte says how the rest is cut into reads.
    let Some((&cut, input)) = data.split_first() else {
        return;
    };
    let piece = 1 + usize::from(cut);
    LARGEST_ALLOCATION.store(0, Ordering::Relaxed);

    // The guard's quick check of a body never accepts what the exact check refuses.
    if let Ok(text) = std::str::from_utf8(input) {
        assert!(!framing::is_plain_message(text) || framing::is_json_rpc(text));
    }
    let whole = messages(decode(input, input.len().max(1), LIMIT));
    let pieces = messages(decode(input, piece, LIMIT));
    assert_eq!(
        whole, pieces,
        "the messages depend on how the input was read"
    );
    for body in &whole {
        check_message(body);
    }
    // The real limit (64 MiB) on the same input: a length in the input is never allocated.
    let _ = decode(input, piece, whetstone::lsp::framing::MAX_MESSAGE_BYTES);
    let largest = LARGEST_ALLOCATION.load(Ordering::Relaxed);
    assert!(
        largest <= 64 * 1024 + 4 * input.len(),
        "an allocation of {largest} bytes for an input of {}",
        input.len()
    );
});

fn decode(input: &[u8], piece: usize, limit: usize) -> Vec<Decoded> {
    let mut decoder = FrameDecoder::new(limit);
    let mut decoded = Vec::new();
    for bytes in input.chunks(piece) {
        decoded.extend(decoder.push(bytes));
        assert!(
            decoder.buffered_bytes() <= limit.max(MAX_HEADER_BYTES) + bytes.len(),
            "{} bytes held with a limit of {limit}",
            decoder.buffered_bytes()
        );
    }
    decoded.extend(decoder.finish());
    decoded
}

fn messages(decoded: Vec<Decoded>) -> Vec<Vec<u8>> {
    decoded
        .into_iter()
        .filter_map(|item| match item {
            Decoded::Message(body) => Some(body),
            Decoded::Dropped(_) => None,
        })
        .collect()
}

/// What tower-lsp-server's reader needs of a body, and that framing it again gives it back.
fn check_message(body: &[u8]) {
    assert!(body.len() <= LIMIT);
    let text = std::str::from_utf8(body).expect("a message is UTF-8");
    assert!(framing::is_json_rpc(text), "tower-lsp-server reads it");
    let value: Value = serde_json::from_str(text).expect("a message is JSON");
    assert_eq!(
        value["jsonrpc"], "2.0",
        "a message is JSON-RPC 2.0: {value}"
    );
    let mut decoder = FrameDecoder::new(LIMIT);
    let mut again = decoder.push(&frame(body));
    again.extend(decoder.finish());
    assert_eq!(again, vec![Decoded::Message(body.to_vec())]);
}
