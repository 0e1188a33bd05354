//! Arguments of the `whetstone.*` commands: one JSON object each, checked here so that a bad call
//! gets `InvalidParams` with a message saying what was expected.

use serde_json::{Map, Value};

use crate::core::{ChunkId, Class};
use crate::lsp::nudges::{CHUNKS, CLASSIFY, DISMISS, EXPLAIN};

/// Every command the server answers, for `executeCommandProvider`.
pub const ALL: [&str; 4] = [CLASSIFY, EXPLAIN, DISMISS, CHUNKS];

/// A command call with its arguments checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandCall {
    Classify {
        uri: String,
        chunk: ChunkId,
        class: Class,
    },
    Explain {
        uri: String,
        chunk: ChunkId,
        text: Option<String>,
    },
    Dismiss {
        uri: String,
        chunk: ChunkId,
    },
    Chunks {
        uri: String,
    },
}

/// Parses `workspace/executeCommand` arguments; the error is the message for `InvalidParams`.
pub fn parse(command: &str, arguments: &[Value]) -> Result<CommandCall, String> {
    let expected = match command {
        CLASSIFY => "{uri, chunk, class}",
        EXPLAIN => "{uri, chunk, text?}",
        DISMISS => "{uri, chunk}",
        CHUNKS => "{uri}",
        other => {
            return Err(format!(
                "unknown command {other:?}; known: {}",
                ALL.join(", ")
            ));
        }
    };
    let object = match arguments {
        [Value::Object(object)] => object,
        [] => {
            return Err(format!(
                "{command} expects one argument {expected}, got none"
            ));
        }
        [other] => {
            return Err(format!(
                "{command} expects one argument {expected}, got {other}"
            ));
        }
        _ => {
            return Err(format!(
                "{command} expects one argument {expected}, got {}",
                arguments.len()
            ));
        }
    };
    let uri = required_string(object, "uri", command, expected)?;
    match command {
        CHUNKS => Ok(CommandCall::Chunks { uri }),
        DISMISS => Ok(CommandCall::Dismiss {
            uri,
            chunk: chunk_id(object, command, expected)?,
        }),
        CLASSIFY => {
            let chunk = chunk_id(object, command, expected)?;
            let name = required_string(object, "class", command, expected)?;
            let class = Class::parse(&name).ok_or_else(|| {
                format!("{command}: class must be \"transient\", \"repeatable\" or \"core\", got {name:?}")
            })?;
            Ok(CommandCall::Classify { uri, chunk, class })
        }
        _ => {
            let chunk = chunk_id(object, command, expected)?;
            let text = match object.get("text") {
                None | Some(Value::Null) => None,
                Some(Value::String(text)) if text.trim().is_empty() => {
                    return Err(format!(
                        "{command}: text is empty; leave it out to open an explanation document"
                    ));
                }
                Some(Value::String(text)) => Some(text.clone()),
                Some(other) => {
                    return Err(format!("{command}: text must be a string, got {other}"));
                }
            };
            Ok(CommandCall::Explain { uri, chunk, text })
        }
    }
}

fn required_string(
    object: &Map<String, Value>,
    field: &str,
    command: &str,
    expected: &str,
) -> Result<String, String> {
    match object.get(field) {
        Some(Value::String(value)) if !value.is_empty() => Ok(value.clone()),
        Some(other) => Err(format!(
            "{command}: {field} must be a non-empty string, got {other} (expected {expected})"
        )),
        None => Err(format!("{command}: missing {field} (expected {expected})")),
    }
}

/// A chunk id as a number, or a string of digits (some clients stringify numbers).
fn chunk_id(object: &Map<String, Value>, command: &str, expected: &str) -> Result<ChunkId, String> {
    match object.get("chunk") {
        Some(Value::Number(number)) => number.as_u64().map(ChunkId).ok_or_else(|| {
            format!("{command}: chunk must be a positive whole number, got {number}")
        }),
        Some(Value::String(text)) => text
            .parse()
            .map(ChunkId)
            .map_err(|_| format!("{command}: chunk must be a positive whole number, got {text:?}")),
        Some(other) => Err(format!(
            "{command}: chunk must be a positive whole number, got {other}"
        )),
        None => Err(format!("{command}: missing chunk (expected {expected})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn good_calls_parse() {
        assert_eq!(
            parse(
                CLASSIFY,
                &[json!({"uri": "file:///a.rs", "chunk": 3, "class": "core"})]
            ),
            Ok(CommandCall::Classify {
                uri: "file:///a.rs".into(),
                chunk: ChunkId(3),
                class: Class::Core
            })
        );
        assert_eq!(
            parse(EXPLAIN, &[json!({"uri": "u", "chunk": "4"})]),
            Ok(CommandCall::Explain {
                uri: "u".into(),
                chunk: ChunkId(4),
                text: None
            })
        );
    }

    #[test]
    fn bad_calls_say_what_was_expected() {
        let errors: Vec<String> = [
            parse(CLASSIFY, &[]),
            parse(CLASSIFY, &[json!({})]),
            parse(
                CLASSIFY,
                &[json!({"uri": "u", "chunk": -1, "class": "core"})],
            ),
            parse(
                CLASSIFY,
                &[json!({"uri": "u", "chunk": 1, "class": "important"})],
            ),
            parse(EXPLAIN, &[json!({"uri": "u", "chunk": 1, "text": 5})]),
            parse(CHUNKS, &[json!("file:///a.rs")]),
            parse("whetstone.frobnicate", &[]),
        ]
        .into_iter()
        .map(|result| result.expect_err("bad call"))
        .collect();
        expect_test::expect![[r#"
            [
                "whetstone.classify expects one argument {uri, chunk, class}, got none",
                "whetstone.classify: missing uri (expected {uri, chunk, class})",
                "whetstone.classify: chunk must be a positive whole number, got -1",
                "whetstone.classify: class must be \"transient\", \"repeatable\" or \"core\", got \"important\"",
                "whetstone.explain: text must be a string, got 5",
                "whetstone.chunks expects one argument {uri}, got \"file:///a.rs\"",
                "unknown command \"whetstone.frobnicate\"; known: whetstone.classify, whetstone.explain, whetstone.dismiss, whetstone.chunks",
            ]
        "#]]
        .assert_debug_eq(&errors);
    }
}
