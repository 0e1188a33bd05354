//! Chunk ids for the server's engine, claimed from the store a block at a time, so that every
//! process sharing the store hands out its own.

use std::sync::Arc;

use crate::core::chunk_ids::ChunkIdSource;
use crate::store::Store;

/// Claims blocks of chunk ids from a store whenever the engine has used up the one it had.
pub struct ClaimedChunkIds {
    store: Arc<dyn Store>,
    /// One past the last id of every block this process was given.
    past: u64,
}

impl ClaimedChunkIds {
    pub fn new(store: Arc<dyn Store>) -> ClaimedChunkIds {
        ClaimedChunkIds { store, past: 1 }
    }
}

impl ChunkIdSource for ClaimedChunkIds {
    fn claim(&mut self, count: u64) -> u64 {
        let first = match self.store.claim_chunk_ids(count) {
            Ok(first) => first,
            Err(error) => {
                // The engine needs an id now. With no block from the store, the ids past every
                // one the store has handed out and past this process's own blocks are the
                // likeliest to be free.
                tracing::warn!("cannot claim chunk ids from the store: {error}");
                let stored_next = self.store.next_chunk_id().unwrap_or(0);
                stored_next.max(self.past)
            }
        };
        self.past = self.past.max(first.saturating_add(count));
        first
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    #[test]
    fn blocks_claimed_by_two_processes_never_meet() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::default());
        let mut first = ClaimedChunkIds::new(store.clone());
        let mut second = ClaimedChunkIds::new(store);
        let a = first.claim(10);
        let b = second.claim(10);
        let c = first.claim(10);
        let blocks = [a..a + 10, b..b + 10, c..c + 10];
        for (index, block) in blocks.iter().enumerate() {
            for other in &blocks[index + 1..] {
                assert!(
                    block.end <= other.start || other.end <= block.start,
                    "{blocks:?}"
                );
            }
        }
    }
}
