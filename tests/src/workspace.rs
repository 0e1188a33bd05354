//! A test's own temporary folders: the store (`WHETSTONE_HOME`) and a workspace to put files in,
//! with servers and command lines started on them.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::capabilities::vscode_like_capabilities;
use crate::cli;
use crate::lsp::LspClient;
use crate::params::file_uri;
use crate::snapshot::Redactions;

/// A temporary store and a temporary workspace; both are removed when it is dropped.
pub struct Workspace {
    home: TempDir,
    root: TempDir,
}

impl Default for Workspace {
    fn default() -> Workspace {
        Workspace::new()
    }
}

impl Workspace {
    pub fn new() -> Workspace {
        Workspace {
            home: tempfile::tempdir().expect("a temporary store folder"),
            root: tempfile::tempdir().expect("a temporary workspace folder"),
        }
    }

    /// The store folder (`WHETSTONE_HOME`).
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// The workspace folder, the editor's root.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// The path of `relative` in the workspace.
    pub fn path(&self, relative: &str) -> PathBuf {
        self.root.path().join(relative)
    }

    /// The `file://` URI of `relative` in the workspace.
    pub fn uri(&self, relative: &str) -> String {
        file_uri(&self.path(relative))
    }

    /// Writes `text` to `relative` in the workspace (making its folders); its URI and path.
    pub fn file(&self, relative: &str, text: &str) -> (String, PathBuf) {
        let path = self.path(relative);
        if let Some(folder) = path.parent() {
            fs::create_dir_all(folder).expect("the file's folder can be made");
        }
        fs::write(&path, text).expect("the workspace file can be written");
        (file_uri(&path), path)
    }

    /// `whetstone lsp` on this store, initialized for this workspace.
    pub fn server(&self, capabilities: Value, initialization_options: Value) -> LspClient {
        let mut client = LspClient::start(self.home());
        client.initialize(self.root(), capabilities, initialization_options);
        client
    }

    /// [`Workspace::server`] for a client that names itself `client_name` in `initialize`.
    pub fn server_as(
        &self,
        client_name: &str,
        capabilities: Value,
        initialization_options: Value,
    ) -> LspClient {
        let mut client = LspClient::start(self.home());
        client.initialize_as(
            client_name,
            self.root(),
            capabilities,
            initialization_options,
        );
        client
    }

    /// [`Workspace::server`] for a client like VS Code, with no options.
    pub fn vscode_server(&self) -> LspClient {
        self.server(vscode_like_capabilities(), json!({}))
    }

    /// `whetstone arguments...` on this store, from the workspace folder.
    pub fn whetstone(&self, arguments: &[&str]) -> Output {
        cli::run(self.home(), self.root(), arguments)
    }

    /// [`Workspace::whetstone`] with `input` on its stdin.
    pub fn whetstone_with_input(&self, arguments: &[&str], input: &str) -> Output {
        cli::run_with_input(self.home(), self.root(), arguments, input)
    }

    /// The store socket a holder listens on.
    pub fn socket(&self) -> PathBuf {
        self.home().join("store.sock")
    }

    /// Snapshot redactions naming this workspace `$WORKSPACE` and its store `$HOME`.
    pub fn redactions(&self) -> Redactions {
        Redactions::new()
            .folder(self.root(), "$WORKSPACE")
            .folder(self.home(), "$HOME")
    }
}
