//! `whetstone.report` inside the server: reads the store, computes the report and renders it;
//! HTML goes to a file in the store folder, which the client is asked to show.

use std::path::Path;

use serde_json::{Value, json};

use crate::core::report::compute;
use crate::lsp::commands::ReportFormat;
use crate::store::Store;

/// Runs on a blocking thread: the store reads and the rendering are not the loop's business.
pub fn render_report(
    store: &dyn Store,
    format: ReportFormat,
    since_days: u32,
    now_ms: u64,
    folder: &Path,
) -> Result<Value, String> {
    let since_ms = crate::reporting::period_start(now_ms, since_days);
    let input = crate::reporting::report_input(store, now_ms, since_ms)
        .map_err(|error| format!("cannot read the store for the report: {error}"))?;
    let report = compute(&input);
    match format {
        ReportFormat::Json => Ok(json!({"format": "json", "report": crate::render::json(&report)})),
        ReportFormat::Markdown => {
            Ok(json!({"format": "markdown", "markdown": crate::render::markdown(&report)}))
        }
        ReportFormat::Html => {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(folder)
                .map_err(|error| format!("cannot create {}: {error}", folder.display()))?;
            let path = folder.join("whetstone-report.html");
            std::fs::write(&path, crate::render::html(&report))
                .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
            let uri = crate::lsp::uri::file_uri(&path).unwrap_or_default();
            Ok(json!({"format": "html", "path": path.display().to_string(), "uri": uri}))
        }
    }
}
