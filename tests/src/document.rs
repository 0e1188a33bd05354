//! An open document on the client side, changed the way editors change it: pastes in one
//! notification, typing one key per notification; and the source texts the tests type and paste.

use std::time::Duration;

use serde_json::Value;

use crate::lsp::LspClient;
use crate::params::{change, did_change, did_open};

/// A document the client opened: its URI and the version last sent.
pub struct Document {
    pub uri: String,
    pub version: i32,
}

impl Document {
    /// Opens `uri` holding `text` as version `version` (VS Code starts at 1, Helix at 0).
    pub fn open(client: &mut LspClient, uri: &str, text: &str, version: i32) -> Document {
        client.notify("textDocument/didOpen", did_open(uri, text, version));
        Document {
            uri: uri.to_string(),
            version,
        }
    }

    /// Sends the next version with `changes`.
    pub fn change(&mut self, client: &mut LspClient, changes: Vec<Value>) {
        self.version += 1;
        client.notify(
            "textDocument/didChange",
            did_change(&self.uri, self.version, changes),
        );
    }

    /// Inserts `text` at `at` in one change, as a paste does.
    pub fn insert(&mut self, client: &mut LspClient, at: (u32, u32), text: &str) {
        self.change(client, vec![change(at, at, text)]);
    }

    /// Types `text` at `at`, one key (character, line breaks included) per change, `pause`
    /// between keys; returns where the cursor ends.
    pub fn type_text(
        &mut self,
        client: &mut LspClient,
        at: (u32, u32),
        text: &str,
        pause: Duration,
    ) -> (u32, u32) {
        let (mut line, mut column) = at;
        for character in text.chars() {
            self.insert(client, (line, column), &character.to_string());
            if !pause.is_zero() {
                std::thread::sleep(pause);
            }
            if character == '\n' {
                line += 1;
                column = 0;
            } else {
                column += u32::try_from(character.len_utf16()).unwrap_or(1);
            }
        }
        (line, column)
    }
}

/// `count` one-line functions of the user's own: `pub fn own_<n>(value: u32) -> u32 { ... }`.
pub fn own_functions(count: usize) -> String {
    (0..count)
        .map(|index| format!("pub fn own_{index}(value: u32) -> u32 {{ value + {index} }}\n"))
        .collect()
}

/// A function `name` of `count` distinct lines, as someone else writes it.
pub fn new_function(name: &str, count: usize) -> String {
    let body: String = (0..count.saturating_sub(2))
        .map(|index| {
            format!(
                "    let {name}_{index} = input.len() * {index} + {};\n",
                index * 3
            )
        })
        .collect();
    format!("fn {name}(input: &str) -> usize {{\n{body}}}\n")
}
