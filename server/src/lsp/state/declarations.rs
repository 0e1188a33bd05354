//! Declared origins: lines an agent said it wrote (`whetstone mark`, its hooks) become chunks of
//! the open document, now or as soon as the editor holds what the agent wrote.

use super::{State, now_ms};
use crate::lsp::uri::{file_path, unusable_file_uri};
use crate::store::{FileKey, records};

impl State {
    /// An agent declared lines of a file (`whetstone mark`, told by the store's holder). If the
    /// file is open here they become a chunk now, or, when the editor has not reloaded what the
    /// agent wrote yet, as soon as it does.
    pub(super) fn declared_elsewhere(&mut self, key: FileKey, record: records::DeclarationV1) {
        let declaration = match records::declaration_from_record(record) {
            Ok(declaration) => declaration,
            Err(reason) => {
                tracing::warn!("the store told of an unreadable declaration for {key}: {reason}");
                return;
            }
        };
        let Some(uri) = self
            .open_file_uris()
            .into_iter()
            .find(|uri| declaration_key(uri).as_ref() == Some(&key))
        else {
            return;
        };
        if self.engine.declare(&uri, &declaration, now_ms()).is_some() {
            self.consume_declarations(&key, vec![declaration.id]);
            self.after_declared(&uri);
        } else {
            self.engine.wait_for_declared(&uri, declaration);
        }
    }

    /// Applies the declarations the store keeps for `uri`, just opened or read again from disk.
    /// Lines found become chunks; lines that are not there any more (the file changed since they
    /// were declared) are dropped with a warning rather than guessed at. True when a chunk changed.
    pub(super) fn apply_stored_declarations(&mut self, uri: &str) -> bool {
        if unusable_file_uri(uri).is_some() {
            return false;
        }
        let Some(key) = declaration_key(uri) else {
            return false;
        };
        let declarations = match self.store.declarations(&key) {
            Ok(declarations) => declarations,
            Err(error) => {
                tracing::warn!("cannot read the declarations for {key}: {error}");
                return false;
            }
        };
        let now = now_ms();
        let mut applied = false;
        let mut consumed = Vec::new();
        for declaration in declarations {
            if self.engine.declare(uri, &declaration, now).is_some() {
                applied = true;
            } else {
                tracing::warn!(
                    "{}: the {} lines {} declared are not in the file as declared (it changed \
                     since); the declaration is dropped",
                    self.workspace.display_path(uri),
                    declaration.lines.len(),
                    declaration.agent
                );
            }
            consumed.push(declaration.id);
        }
        if !consumed.is_empty() {
            self.consume_declarations(&key, consumed);
        }
        applied
    }

    /// Declarations a rewrite of an open document brought in: the store stops keeping them.
    pub(super) fn consume_applied_declarations(&mut self) {
        for (uri, id) in self.engine.take_applied_declarations() {
            if let Some(key) = declaration_key(&uri) {
                self.consume_declarations(&key, vec![id]);
            }
        }
    }

    /// Tells the store, off the loop, that declarations were applied or dropped. Applying one
    /// twice (this call lost to a crash) changes nothing: the chunk already carries the agent.
    pub(super) fn consume_declarations(&self, key: &FileKey, ids: Vec<u64>) {
        let store = self.store.clone();
        let key = key.clone();
        tokio::task::spawn_blocking(move || {
            if let Err(error) = store.consume_declarations(&key, &ids) {
                tracing::warn!(
                    "cannot tell the store that declarations for {key} were applied: {error}"
                );
            }
        });
    }

    pub(super) fn after_declared(&mut self, uri: &str) {
        self.mark_dirty(uri);
        self.publish_diagnostics(uri);
        self.request_lens_refresh();
    }
}

/// Where the store keeps declarations for the file `uri` names: by its path, for the command
/// line that records them cannot know the editor's workspace folders.
fn declaration_key(uri: &str) -> Option<FileKey> {
    file_path(uri).map(|path| crate::declare::declaration_key(&path))
}
