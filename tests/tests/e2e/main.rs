//! The end-to-end tests in one binary (one link instead of one per file): each module runs the
//! built `whetstone` binary, or the report code, through the harness in tests/src. Run one module
//! with `cargo test -p whetstone-tests --test e2e <module>::`.
//!
//! The store's crash test is a binary of its own (tests/store_crash.rs): a stress run of minutes,
//! sized by environment variables, that keeps the machine busy.

mod agent_declarations;
mod cli_calibrate;
mod helix_client;
mod hostile_input;
mod lsp_calibration;
mod lsp_documents_and_disk;
mod lsp_end_to_end;
mod replay_fixtures;
mod report_html;
mod shared_store;
mod store_disk_full;
