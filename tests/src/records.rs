//! Builders of the engine's records for tests that write a store or a report without a server.

use whetstone::core::chunk::Rule;
use whetstone::core::{Chunk, ChunkId, Origin};

/// A chunk of `origin` made at `created_ms`, unjudged, without a rule, its syntax fresh,
/// everything else empty; a test sets what it needs with struct update syntax.
pub fn chunk(id: u64, uri: &str, origin: Origin, created_ms: u64) -> Chunk {
    Chunk {
        rule: None,
        syntax_stale: false,
        ..Chunk::new(ChunkId(id), uri, origin, Rule::Insertion, created_ms)
    }
}

/// The names of the six origins, in the order the reports list them.
pub fn origin_names() -> [&'static str; 6] {
    Origin::ALL.map(Origin::as_str)
}
