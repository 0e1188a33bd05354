//! The language server: the only code that speaks LSP. `Backend` forwards every notification and
//! request, in arrival order and before any `.await`, into the loop in `state`, which owns the
//! engine; see ARCHITECTURE.md.

mod capabilities;
pub mod commands;
pub mod framing;
pub mod nudges;
mod output;
mod report;
pub mod settings;
pub mod state;
pub mod uri;
mod writer;

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::{
    CodeActionParams, CodeActionResponse, CodeLens, CodeLensParams, DidChangeConfigurationParams,
    DidChangeTextDocumentParams, DidChangeWatchedFilesParams, DidCloseTextDocumentParams,
    DidOpenTextDocumentParams, DidSaveTextDocumentParams, ExecuteCommandParams, Hover, HoverParams,
    InitializeParams, InitializeResult, InitializedParams,
};
use tower_lsp_server::{Client, LanguageServer, LspService, Server};

use state::{EditOriginParams, Event};

struct Backend {
    events: mpsc::UnboundedSender<Event>,
}

impl Backend {
    fn send(&self, event: Event) {
        if self.events.send(event).is_err() {
            tracing::error!("the server loop has stopped; an event was dropped");
        }
    }

    /// Sends a request into the loop and waits for its answer.
    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Event) -> Result<T> {
        let (reply, answer) = oneshot::channel();
        self.send(make(reply));
        answer.await.map_err(|_| Error::internal_error())
    }

    async fn edit_origin(&self, params: EditOriginParams) {
        self.send(Event::EditOrigin(params));
    }
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        self.ask(|reply| Event::Initialize {
            params: Box::new(params),
            reply,
        })
        .await
    }

    async fn initialized(&self, _: InitializedParams) {
        self.send(Event::Initialized);
    }

    async fn shutdown(&self) -> Result<()> {
        self.ask(|reply| Event::Shutdown { reply }).await
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        self.send(Event::Opened(params));
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        self.send(Event::Changed(params));
    }

    async fn did_save(&self, params: DidSaveTextDocumentParams) {
        self.send(Event::Saved(params));
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        self.send(Event::Closed(params));
    }

    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        self.send(Event::ConfigurationChanged(params.settings));
    }

    async fn did_change_watched_files(&self, params: DidChangeWatchedFilesParams) {
        self.send(Event::WatchedFilesChanged(params));
    }

    async fn did_change_workspace_folders(
        &self,
        params: tower_lsp_server::ls_types::DidChangeWorkspaceFoldersParams,
    ) {
        self.send(Event::WorkspaceFoldersChanged(params));
    }

    async fn code_lens(&self, params: CodeLensParams) -> Result<Option<Vec<CodeLens>>> {
        let uri = params.text_document.uri.as_str().to_string();
        self.ask(|reply| Event::CodeLens { uri, reply })
            .await
            .map(Some)
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        self.ask(|reply| Event::CodeAction {
            params: Box::new(params),
            reply,
        })
        .await
        .map(Some)
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        self.ask(|reply| Event::Hover { params, reply }).await
    }

    async fn execute_command(&self, params: ExecuteCommandParams) -> Result<Option<Value>> {
        self.ask(|reply| Event::ExecuteCommand { params, reply })
            .await?
    }
}

/// Serves LSP on stdin/stdout until the client exits or closes the pipe.
pub async fn serve() {
    serve_on(tokio::io::stdin(), tokio::io::stdout()).await;
}

/// Serves LSP over any pair of streams (tests run the server in-process on in-memory pipes) until
/// the client exits or closes `input`.
pub async fn serve_on(
    input: impl AsyncRead + Send + Unpin + 'static,
    output: impl AsyncWrite + Unpin,
) {
    let (events, receiver) = mpsc::unbounded_channel();
    let loop_events = events.clone();
    let (service, socket) = LspService::build(|client: Client| {
        let sender = loop_events.clone();
        tokio::spawn(state::run(receiver, client, sender));
        Backend {
            events: loop_events,
        }
    })
    .custom_method("whetstone/editOrigin", Backend::edit_origin)
    .finish();

    let ticks = events.clone();
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(state::TICK);
        loop {
            interval.tick().await;
            if ticks.send(Event::Tick).is_err() {
                break;
            }
        }
    });

    // Only well-formed frames reach tower-lsp-server, whose reader stops at the first bad one.
    let (guarded_input, guard_output) = tokio::io::duplex(1 << 16);
    tokio::spawn(framing::forward_valid_frames(input, guard_output));
    Server::new(guarded_input, output, socket)
        .serve(service)
        .await;

    // The client left (exit, or the pipe closed without a shutdown): write what is pending.
    let (reply, done) = oneshot::channel();
    if events.send(Event::Shutdown { reply }).is_ok() {
        let _ = tokio::time::timeout(Duration::from_secs(10), done).await;
    }
}
