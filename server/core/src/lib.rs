//! The pure engine: documents, detection, chunks and the ownership map.
//!
//! Invariant: nothing in this crate touches the disk, the network, the clock or LSP types. Time comes
//! in as milliseconds from the caller, committed git content through the [`CommittedText`] trait.
//! The crate's dependencies (server/core/Cargo.toml) hold it there: no LSP, async or storage crate.

#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod acceptance;
pub mod activity;
pub mod apply;
pub mod burst;
pub mod by_origin;
pub mod calibration;
pub mod carry;
pub mod chunk;
pub mod chunk_ids;
pub mod config;
pub mod copies;
pub mod date;
pub mod declared;
pub mod document;
pub mod engine;
pub mod graveyard;
pub mod judged;
pub mod line_map;
pub mod pace;
pub mod reanchor;
pub mod report;
pub mod syntax;
pub mod text;

pub use by_origin::ByOrigin;
pub use chunk::{Chunk, ChunkId, Class, Explanation};
pub use config::DetectionConfig;
pub use document::{Document, Position, PositionEncoding, Range};
pub use engine::{CommittedText, ContentChange, Engine, Hint, Inserted, NoCommittedText};
pub use line_map::{LineMap, LineState, Origin};
