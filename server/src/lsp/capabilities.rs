//! What the client can do (read once from `initialize`) and what the server offers in return.

use tower_lsp_server::ls_types::{
    ClientCapabilities, CodeActionProviderCapability, CodeLensOptions, ExecuteCommandOptions,
    HoverProviderCapability, InitializeResult, PositionEncodingKind, SaveOptions,
    ServerCapabilities, ServerInfo, TextDocumentSyncCapability, TextDocumentSyncKind,
    TextDocumentSyncOptions, TextDocumentSyncSaveOptions,
};

use crate::core::PositionEncoding;
use crate::lsp::commands;

/// The client capabilities whetstone adapts to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientFacts {
    pub code_lens: bool,
    pub code_lens_refresh: bool,
    pub show_document: bool,
    pub show_message_request: bool,
    pub watched_files_registration: bool,
    pub configuration_pull: bool,
    pub offers_utf8: bool,
    /// The client's own extension tells the user an explanation's score once it is saved, so the
    /// server only logs it (see [`shows_explanation_scores`]).
    pub shows_explanation_scores: bool,
}

impl ClientFacts {
    pub fn of(capabilities: &ClientCapabilities) -> ClientFacts {
        let text_document = capabilities.text_document.as_ref();
        let workspace = capabilities.workspace.as_ref();
        let window = capabilities.window.as_ref();
        ClientFacts {
            code_lens: text_document
                .and_then(|document| document.code_lens.as_ref())
                .is_some(),
            code_lens_refresh: workspace
                .and_then(|workspace| workspace.code_lens.as_ref())
                .and_then(|code_lens| code_lens.refresh_support)
                .unwrap_or(false),
            show_document: window
                .and_then(|window| window.show_document.as_ref())
                .is_some_and(|show| show.support),
            show_message_request: window
                .and_then(|window| window.show_message.as_ref())
                .is_some(),
            watched_files_registration: workspace
                .and_then(|workspace| workspace.did_change_watched_files.as_ref())
                .and_then(|watched| watched.dynamic_registration)
                .unwrap_or(false),
            configuration_pull: workspace
                .and_then(|workspace| workspace.configuration)
                .unwrap_or(false),
            offers_utf8: capabilities
                .general
                .as_ref()
                .and_then(|general| general.position_encodings.as_ref())
                .is_some_and(|encodings| encodings.contains(&PositionEncodingKind::UTF8)),
            shows_explanation_scores: false,
        }
    }
}

/// Whether the client named in `initialize`'s `clientInfo` shows an explanation's score itself.
///
/// The VS Code extension does (it waits for the saved document's explanation and says its
/// score), and vscode-languageclient names the client by the application: "Visual Studio Code"
/// (and its Insiders build), "code-server", "VSCodium". The server owns this list rather than
/// the extension giving up its message: the extension's is there with or without this server
/// version. A VS Code build named otherwise shows the score twice, which loses nothing.
pub fn shows_explanation_scores(client_name: &str) -> bool {
    client_name.starts_with("Visual Studio Code")
        || client_name == "code-server"
        || client_name == "VSCodium"
}

/// The `initialize` answer.
pub fn server_capabilities(encoding: PositionEncoding) -> InitializeResult {
    let position_encoding = match encoding {
        PositionEncoding::Utf8 => PositionEncodingKind::UTF8,
        PositionEncoding::Utf16 => PositionEncodingKind::UTF16,
        PositionEncoding::Utf32 => PositionEncodingKind::UTF32,
    };
    InitializeResult {
        capabilities: ServerCapabilities {
            position_encoding: Some(position_encoding),
            text_document_sync: Some(TextDocumentSyncCapability::Options(
                TextDocumentSyncOptions {
                    open_close: Some(true),
                    change: Some(TextDocumentSyncKind::INCREMENTAL),
                    will_save: None,
                    will_save_wait_until: None,
                    // The text comes with the save so an explanation document needs no disk read.
                    save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions {
                        include_text: Some(true),
                    })),
                },
            )),
            code_lens_provider: Some(CodeLensOptions {
                resolve_provider: Some(false),
            }),
            code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
            hover_provider: Some(HoverProviderCapability::Simple(true)),
            execute_command_provider: Some(ExecuteCommandOptions {
                commands: commands::ALL
                    .iter()
                    .map(|command| command.to_string())
                    .collect(),
                ..ExecuteCommandOptions::default()
            }),
            workspace: Some(tower_lsp_server::ls_types::WorkspaceServerCapabilities {
                workspace_folders: Some(
                    tower_lsp_server::ls_types::WorkspaceFoldersServerCapabilities {
                        supported: Some(true),
                        change_notifications: Some(tower_lsp_server::ls_types::OneOf::Left(true)),
                    },
                ),
                file_operations: None,
            }),
            ..ServerCapabilities::default()
        },
        server_info: Some(ServerInfo {
            name: "whetstone".to_string(),
            version: Some(env!("CARGO_PKG_VERSION").to_string()),
        }),
        ..InitializeResult::default()
    }
}

#[cfg(test)]
mod tests {
    use super::shows_explanation_scores;

    /// vscode-languageclient names the client by `vscode.env.appName`; the extension there says
    /// an explanation's score itself, so the server's message would say it twice.
    #[test]
    fn only_vs_code_builds_show_explanation_scores_themselves() {
        for name in [
            "Visual Studio Code",
            "Visual Studio Code - Insiders",
            "code-server",
            "VSCodium",
        ] {
            assert!(shows_explanation_scores(name), "{name}");
        }
        for name in ["helix", "Neovim", "whetstone-tests", ""] {
            assert!(!shows_explanation_scores(name), "{name}");
        }
    }
}
