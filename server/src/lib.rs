//! Whetstone: spots pasted and AI-generated code as it lands in the editor and keeps a per-file
//! ownership map, so that the engineer can decide what they must own and explain it.
//!
//! `core` is the pure engine (no LSP, no disk, no clock); `replay` feeds recorded sessions through it;
//! `lsp` is the language server, `store` the only code that keeps user data on disk.

#![deny(clippy::print_stdout, clippy::print_stderr)]

/// The pure engine lives in its own crate, so the compiler keeps it free of LSP and disk; it keeps
/// its old path here.
pub use whetstone_core as core;

pub mod calibration;
pub mod declare;
pub mod explanation;
pub mod git;
pub mod lsp;
pub mod render;
pub mod replay;
pub mod reporting;
pub mod store;
pub mod voice;
