//! The end-to-end test harness, shared by every test in tests/ and the measuring binaries in
//! src/bin. Each module has one job:
//!
//! - `binary`: the built `whetstone` binary (and those beside a measuring program)
//! - `lsp`: a synchronous client that runs a language server and talks to it over stdio
//! - `frames`: `Content-Length` framing of JSON-RPC messages
//! - `params`: the params of what a client sends (didOpen, didChange, hover, ...)
//! - `capabilities`: the client capabilities of a VS Code-like and a Helix-like client
//! - `requests`: whetstone's commands, lenses and diagnostics on the client
//! - `document`: an open document, pasted into and typed in; texts to type and paste
//! - `workspace`: a test's temporary store and workspace, with servers and command lines on them
//! - `cli`: the `whetstone` command line run on a store, and what it said
//! - `snapshot`: replies redacted for whole-reply snapshots
//! - `records`: engine records built for tests that write a store or a report directly
//! - `store_crash`: what the store's crash test writes and checks
//! - `measure`: small helpers of the measuring binaries

pub mod binary;
pub mod capabilities;
pub mod cli;
pub mod document;
pub mod frames;
pub mod history;
pub mod lsp;
pub mod measure;
pub mod params;
pub mod records;
pub mod requests;
pub mod snapshot;
pub mod store_crash;
pub mod workspace;

pub use binary::whetstone_binary;
