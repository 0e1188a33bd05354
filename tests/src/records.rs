//! Builders of the engine's records for tests that write a store or a report without a server.

use whetstone::core::{Chunk, ChunkId, Origin};

/// A chunk of `origin` made at `created_ms`, unjudged, its syntax fresh, everything else empty;
/// a test sets what it needs with struct update syntax.
pub fn chunk(id: u64, uri: &str, origin: Origin, created_ms: u64) -> Chunk {
    Chunk {
        id: ChunkId(id),
        uri: uri.to_string(),
        origin,
        created_ms,
        inserted_lines: 0,
        class: None,
        classified_ms: None,
        explanation: None,
        practiced_ms: Vec::new(),
        items: Vec::new(),
        identifiers: Vec::new(),
        reworked_chars: 0,
        syntax_stale: false,
        rule: None,
        copied_from: None,
        agent: None,
        model: None,
    }
}

/// The names of the six origins, in the order the reports list them.
pub fn origin_names() -> [&'static str; 6] {
    Origin::ALL.map(Origin::as_str)
}
