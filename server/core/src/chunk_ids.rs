//! Chunk ids and the one way a chunk comes to be.
//!
//! Several processes may share one store, each with its own engine; their chunk ids must never
//! meet. So an engine that shares ids takes them only from blocks a [`ChunkIdSource`] granted it
//! (the server's source claims them from the store), and asks for the next block the moment one
//! runs out, in the middle of a notification if need be.
//!
//! Invariant: a shared [`ChunkIds`] never hands out an id outside a block its source granted, however
//! many chunks one notification makes. An engine alone (no source) grants itself the ids past every
//! id it has seen.

use std::collections::HashMap;

use crate::chunk::{Chunk, ChunkId};

/// How many ids a shared engine asks its source for at a time.
pub const CHUNK_ID_BLOCK: u64 = 1_024;

/// Where an engine that shares its ids with other engines gets them.
pub trait ChunkIdSource {
    /// Grants `count` ids, `first..first + count`, that no other engine will hand out, and returns
    /// `first`. Called whenever the engine has used up its block.
    fn claim(&mut self, count: u64) -> u64;
}

/// Hands out chunk ids: from granted blocks when shared, counting up when alone.
pub struct ChunkIds {
    /// The free part of the block in use: `next..end`.
    next: u64,
    end: u64,
    /// None for an engine alone, whose ids count up past every id it has seen.
    source: Option<Box<dyn ChunkIdSource + Send>>,
    block: u64,
}

impl std::fmt::Debug for ChunkIds {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ChunkIds")
            .field("next", &self.next)
            .field("end", &self.end)
            .field("shared", &self.source.is_some())
            .finish()
    }
}

impl Default for ChunkIds {
    fn default() -> ChunkIds {
        ChunkIds::alone()
    }
}

impl ChunkIds {
    /// Ids for an engine that shares its store with no one: 1, 2, 3... past every id it has seen.
    pub fn alone() -> ChunkIds {
        ChunkIds {
            next: 1,
            end: u64::MAX,
            source: None,
            block: CHUNK_ID_BLOCK,
        }
    }

    /// Ids taken only from blocks of `block` ids that `source` grants. The first block is claimed
    /// when the first id is needed.
    pub fn shared(source: Box<dyn ChunkIdSource + Send>, block: u64) -> ChunkIds {
        ChunkIds {
            next: 0,
            end: 0,
            source: Some(source),
            block: block.max(1),
        }
    }

    /// The next id.
    pub fn take(&mut self) -> ChunkId {
        if self.next >= self.end
            && let Some(source) = &mut self.source
        {
            let first = source.claim(self.block);
            self.next = first;
            self.end = first.saturating_add(self.block);
        }
        let id = ChunkId(self.next);
        self.next = self.next.saturating_add(1);
        id
    }

    /// A chunk restored from elsewhere holds `id`. An engine alone hands out only ids past it; a
    /// shared engine's restored ids came from other blocks and change nothing.
    pub fn seen(&mut self, id: ChunkId) {
        if self.source.is_none() {
            self.next = self.next.max(id.0.saturating_add(1));
        }
    }
}

/// Makes a new chunk: the one way every chunk comes to be. It takes the next id, `build` makes the
/// chunk with that id, and the chunk is kept in `chunks`.
pub(crate) fn new_chunk(
    ids: &mut ChunkIds,
    chunks: &mut HashMap<ChunkId, Chunk>,
    build: impl FnOnce(ChunkId) -> Chunk,
) -> ChunkId {
    let id = ids.take();
    let chunk = build(id);
    // The chunk is kept under the id it was given, whatever `build` put in it.
    chunks.insert(id, Chunk { id, ..chunk });
    id
}

#[cfg(test)]
mod tests {
    use std::ops::Range;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Grants blocks from `first` on, a block apart (another engine takes the ones between), and
    /// remembers each.
    struct Blocks {
        granted: Arc<Mutex<Vec<Range<u64>>>>,
        next: u64,
    }

    impl ChunkIdSource for Blocks {
        fn claim(&mut self, count: u64) -> u64 {
            let first = self.next;
            self.next += 2 * count;
            self.granted
                .lock()
                .expect("blocks")
                .push(first..first + count);
            first
        }
    }

    #[test]
    fn an_engine_alone_counts_past_every_id_it_has_seen() {
        let mut ids = ChunkIds::alone();
        assert_eq!(ids.take(), ChunkId(1));
        ids.seen(ChunkId(41));
        ids.seen(ChunkId(7));
        assert_eq!(ids.take(), ChunkId(42));
        assert_eq!(ids.take(), ChunkId(43));
    }

    #[test]
    fn shared_ids_come_only_from_granted_blocks() {
        let granted = Arc::new(Mutex::new(Vec::new()));
        let blocks = Blocks {
            granted: granted.clone(),
            next: 100,
        };
        let mut ids = ChunkIds::shared(Box::new(blocks), 3);
        // A restored chunk's id moves nothing: it belongs to some other block.
        ids.seen(ChunkId(5_000));
        let taken: Vec<u64> = (0..8).map(|_| ids.take().0).collect();
        assert_eq!(taken, [100, 101, 102, 106, 107, 108, 112, 113]);
        assert_eq!(
            *granted.lock().expect("blocks"),
            [100..103, 106..109, 112..115]
        );
    }

    #[test]
    fn a_new_chunk_is_kept_under_the_id_it_was_given() {
        let mut ids = ChunkIds::alone();
        let mut chunks = HashMap::new();
        let id = new_chunk(&mut ids, &mut chunks, |id| {
            Chunk::new(
                id,
                "file:///a.rs",
                crate::Origin::Pasted,
                crate::chunk::Rule::Insertion,
                0,
            )
        });
        assert_eq!(id, ChunkId(1));
        assert_eq!(chunks[&id].id, id);
    }
}
