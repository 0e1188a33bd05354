//! Publishing the nudges: diagnostics for each open document (with its version) and code lens
//! refreshes, sent at most every [`REFRESH_EVERY`].

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::time::{Duration, Instant};

use tower_lsp_server::ls_types::Uri;

use super::State;
use super::calibrating::breach_diagnostics;
use crate::lsp::nudges;

/// Code lens refreshes are sent at most this often (an AI stream changes a chunk per token).
const REFRESH_EVERY: Duration = Duration::from_millis(200);

/// What the client was last sent, so that nothing is repeated on every keystroke.
pub(super) struct Publishing {
    /// Files whose diagnostics are non-empty on the client, to clear them when they empty.
    pub diagnosed: HashSet<String>,
    /// The version of each open document, sent with its diagnostics.
    pub versions: HashMap<String, i32>,
    pub refresh_pending: bool,
    pub last_refresh: Instant,
}

impl Default for Publishing {
    fn default() -> Self {
        Publishing {
            diagnosed: HashSet::new(),
            versions: HashMap::new(),
            refresh_pending: false,
            last_refresh: Instant::now() - REFRESH_EVERY,
        }
    }
}

impl State {
    pub(super) fn republish_all_diagnostics(&mut self) {
        for uri in self.open_file_uris() {
            self.publish_diagnostics(&uri);
        }
    }

    /// Sends the file's diagnostics when there are some or when the last ones just went; an
    /// empty list is not repeated on every keystroke.
    pub(super) fn publish_diagnostics(&mut self, uri: &str) {
        let diagnostics = self.current_diagnostics(uri);
        let had_some = self.publishing.diagnosed.contains(uri);
        if diagnostics.is_empty() {
            self.publishing.diagnosed.remove(uri);
            if !had_some {
                return;
            }
        } else {
            self.publishing.diagnosed.insert(uri.to_string());
        }
        self.send_diagnostics(uri, diagnostics);
    }

    pub(super) fn current_diagnostics(
        &mut self,
        uri: &str,
    ) -> Vec<tower_lsp_server::ls_types::Diagnostic> {
        if !self.engine.is_open(uri) {
            return Vec::new();
        }
        let nudging = self.settings.diagnostics_on(self.facts.code_lens);
        if !nudging && self.calibrating.running.is_none() {
            return Vec::new();
        }
        // Runs on every change that touches a chunk: a chunk is named once, and a growing one
        // keeps the items it was named with until a lens or hover names it again.
        let views = self.engine.chunks_named_once(uri);
        let mut diagnostics = if nudging {
            nudges::diagnostics(&views, self.settings.diagnostic_severity)
        } else {
            Vec::new()
        };
        // A breach shows whatever the nudge settings say: the session is the user's own promise.
        if let Some(session) = &self.calibrating.running {
            diagnostics.extend(breach_diagnostics(session, &views));
        }
        diagnostics
    }

    pub(super) fn send_diagnostics(
        &self,
        uri: &str,
        diagnostics: Vec<tower_lsp_server::ls_types::Diagnostic>,
    ) {
        let Ok(target) = Uri::from_str(uri) else {
            return;
        };
        let version = self.publishing.versions.get(uri).copied();
        self.output.notify(move |client| async move {
            client
                .publish_diagnostics(target, diagnostics, version)
                .await
        });
    }

    pub(super) fn request_lens_refresh(&mut self) {
        if !(self.facts.code_lens_refresh && self.settings.code_lens) {
            return;
        }
        if self.publishing.last_refresh.elapsed() < REFRESH_EVERY {
            self.publishing.refresh_pending = true;
            return;
        }
        self.publishing.refresh_pending = false;
        self.publishing.last_refresh = Instant::now();
        self.output.request(|client| async move {
            if let Err(error) = client.code_lens_refresh().await {
                tracing::debug!("code lens refresh refused: {error}");
            }
        });
    }
}
