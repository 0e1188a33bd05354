//! The workspace on disk: its folders, the keys files are stored under, and files that changed
//! on disk while no editor had them open.

use std::path::PathBuf;

use tower_lsp_server::ls_types::{
    DidChangeWatchedFilesParams, DidChangeWorkspaceFoldersParams, FileChangeType, InitializeParams,
};

use super::{Event, State, now_ms};
use crate::lsp::uri::{file_path, read_text_file};
use crate::store::FileKey;

/// The folders the editor opened: files are stored by their path inside one of them.
#[derive(Default)]
pub(super) struct Workspace {
    pub roots: Vec<PathBuf>,
}

impl Workspace {
    pub fn of(params: &InitializeParams) -> Workspace {
        Workspace {
            roots: workspace_roots(params),
        }
    }

    pub fn file_key(&self, uri: &str) -> Option<FileKey> {
        file_path(uri).map(|path| FileKey::for_path(&self.roots, &path))
    }

    pub fn display_path(&self, uri: &str) -> String {
        match file_path(uri) {
            Some(path) => {
                let key = FileKey::for_path(&self.roots, &path);
                if key.workspace.is_empty() {
                    path.display().to_string()
                } else {
                    key.path
                }
            }
            None => uri.to_string(),
        }
    }
}

impl State {
    /// A file changed on disk. Open files are the editor's business (a didChange follows); a
    /// closed file whetstone knows is read, with what git committed for it, off the loop, and
    /// re-anchored when both come back ([`Event::ReadOnDisk`]), so its chunks follow their text.
    pub(super) fn watched_files_changed(&mut self, params: DidChangeWatchedFilesParams) {
        for change in params.changes {
            let uri = change.uri.as_str().to_string();
            // A parked document is being opened: its text is the editor's.
            if change.typ == FileChangeType::DELETED
                || self.engine.is_open(&uri)
                || self.explaining.is_document(&uri)
                || self.git.is_parked(&uri)
            {
                continue;
            }
            let Some(path) = file_path(&uri) else {
                continue;
            };
            self.load_from_store(&uri);
            if self.engine.line_map(&uri).is_none() {
                continue;
            }
            // What the editor asks about this file meanwhile waits for the new text.
            self.git.park(&uri);
            let sender = self.sender.clone();
            tokio::task::spawn_blocking(move || {
                let text = match read_text_file(&path) {
                    Ok(text) => Some(text),
                    Err(error) if error.kind() == std::io::ErrorKind::InvalidData => {
                        tracing::info!("{}: {error}; not re-anchored", path.display());
                        None
                    }
                    Err(error) => {
                        tracing::warn!(
                            "cannot read {} after it changed on disk: {error}",
                            path.display()
                        );
                        None
                    }
                };
                let committed = text
                    .as_ref()
                    .and_then(|_| crate::git::committed_text_of(&path));
                let _ = sender.send(Event::ReadOnDisk {
                    uri,
                    text,
                    committed,
                });
            });
        }
    }

    /// A closed file's new text, read off the loop: its map is laid over it. An editor that
    /// opened the file meanwhile has it now, and this text is left to it.
    pub(super) fn read_on_disk(
        &mut self,
        uri: &str,
        text: Option<String>,
        committed: Option<String>,
    ) {
        let Some(text) = text else {
            return;
        };
        if self.engine.is_open(uri) {
            return;
        }
        self.git.slot.fill(uri.to_string(), committed);
        let outcome = self.engine.open(uri, &text, now_ms());
        self.git.slot.clear();
        let declared = self.apply_stored_declarations(uri);
        self.engine.close(uri);
        if outcome.chunks_changed || declared {
            tracing::info!("{uri} changed on disk; its ownership map was re-anchored");
        }
        self.queue_snapshot(uri);
    }

    /// One server serves every folder of the workspace: the store is one per user, so a second
    /// server for another folder would find it locked.
    pub(super) fn workspace_folders_changed(&mut self, params: DidChangeWorkspaceFoldersParams) {
        for removed in params.event.removed {
            if let Some(path) = file_path(removed.uri.as_str()) {
                self.workspace.roots.retain(|root| root != &path);
            }
        }
        for added in params.event.added {
            if let Some(path) = file_path(added.uri.as_str())
                && !self.workspace.roots.contains(&path)
            {
                self.workspace.roots.push(path);
            }
        }
    }
}

fn workspace_roots(params: &InitializeParams) -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = params
        .workspace_folders
        .iter()
        .flatten()
        .filter_map(|folder| file_path(folder.uri.as_str()))
        .collect();
    #[allow(deprecated)]
    if roots.is_empty()
        && let Some(root) = params
            .root_uri
            .as_ref()
            .and_then(|uri| file_path(uri.as_str()))
    {
        roots.push(root);
    }
    roots
}
