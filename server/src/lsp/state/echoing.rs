//! Command results said as messages, for a client that shows none of them: Helix 25.07 drops
//! what `workspace/executeCommand` answers, its errors included, so a status, a report's path
//! or a refused argument would vanish. Other clients show results their own way (the VS Code
//! extension and the Neovim plugin), so they get nothing twice.

use serde_json::Value;
use tokio::sync::oneshot;
use tower_lsp_server::jsonrpc;
use tower_lsp_server::ls_types::MessageType;

use super::{Event, State, now_ms};
use crate::calibration::words;
use crate::lsp::commands;
use crate::voice::{Action, Voice};

/// What a command answered, as the loop hears of it after the client did.
pub type Answer = Result<Option<Value>, String>;

impl State {
    /// `reply`, or for a client that shows no results, a reply that also hands the answer back
    /// to the loop ([`Event::CommandAnswered`]) once it has gone to the client.
    pub(super) fn echoed(
        &self,
        command: &str,
        reply: oneshot::Sender<jsonrpc::Result<Option<Value>>>,
    ) -> oneshot::Sender<jsonrpc::Result<Option<Value>>> {
        if self.facts.voice != Voice::Helix {
            return reply;
        }
        let (answered, answer) = oneshot::channel::<jsonrpc::Result<Option<Value>>>();
        let sender = self.sender.clone();
        let command = command.to_string();
        tokio::spawn(async move {
            let Ok(result) = answer.await else {
                return;
            };
            let echo = result.clone().map_err(|error| error.message.to_string());
            let _ = reply.send(result);
            let _ = sender.send(Event::CommandAnswered {
                command,
                answer: echo,
            });
        });
        answered
    }

    /// Says what `command` answered where the client would not show it.
    pub(super) fn echo_answer(&mut self, command: &str, answer: Answer) {
        let value = match answer {
            Ok(value) => value,
            Err(message) => {
                self.show(MessageType::ERROR, format!("Whetstone: {message}"));
                return;
            }
        };
        match command {
            commands::CALIBRATION_STATUS => {
                let line = words::status_line(
                    self.calibrating.running.as_ref(),
                    self.calibrating.unrated.is_some(),
                    now_ms(),
                    self.facts.voice,
                );
                self.show(MessageType::INFO, line);
            }
            commands::REPORT => {
                let value = value.unwrap_or_default();
                let message = match value.get("path").and_then(Value::as_str) {
                    Some(path) => format!("Report written to {path}: open it in a browser."),
                    None => format!(
                        "Helix cannot show the report's text: ask for the html format, or run {}.",
                        Voice::Terminal.run(Action::Report)
                    ),
                };
                self.show(MessageType::INFO, message);
            }
            // Start, stop and explanations say what they did themselves; the others change what
            // the diagnostics show.
            _ => {}
        }
    }
}
