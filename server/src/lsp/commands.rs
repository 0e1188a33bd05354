//! Arguments of the `whetstone.*` commands: one JSON object each, checked here so that a bad call
//! gets `InvalidParams` with a message saying what was expected.

use serde_json::{Map, Value};
use thiserror::Error;
use tower_lsp_server::jsonrpc;

use crate::core::{ChunkId, Class};
use crate::lsp::nudges::{CHUNKS, CLASSIFY, DISMISS, EXPLAIN, PRACTICED};
use crate::reporting::{DEFAULT_REPORT_DAYS, MAX_REPORT_DAYS};

pub const CALIBRATION_START: &str = "whetstone.calibration.start";
pub const CALIBRATION_STOP: &str = "whetstone.calibration.stop";
pub const CALIBRATION_STATUS: &str = "whetstone.calibration.status";
pub const REPORT: &str = "whetstone.report";

/// Every command the server answers, for `executeCommandProvider`.
pub const ALL: [&str; 9] = [
    CLASSIFY,
    EXPLAIN,
    DISMISS,
    CHUNKS,
    CALIBRATION_START,
    CALIBRATION_STOP,
    CALIBRATION_STATUS,
    REPORT,
    PRACTICED,
];

/// Why a command was not done, which decides the error the client gets: a refusal is the
/// caller's to fix (`InvalidParams`: a feel of 9, a stop with nothing running), a failure is the
/// server's (`InternalError`: the store did not answer).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CommandError {
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Failed(String),
}

impl From<CommandError> for jsonrpc::Error {
    fn from(error: CommandError) -> jsonrpc::Error {
        match error {
            CommandError::Refused(message) => jsonrpc::Error::invalid_params(message),
            CommandError::Failed(message) => jsonrpc::Error {
                code: jsonrpc::ErrorCode::InternalError,
                message: message.into(),
                data: None,
            },
        }
    }
}

/// Formats of `whetstone.report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Json,
    Markdown,
    Html,
}

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
    Practiced {
        uri: String,
        chunk: ChunkId,
    },
    CalibrationStart {
        label: Option<String>,
        minutes: Option<u32>,
    },
    CalibrationStop {
        feel: Option<u8>,
        notes: Option<String>,
    },
    CalibrationStatus,
    Report {
        format: ReportFormat,
        since_days: u32,
    },
}

impl CommandCall {
    /// The document the command reads or changes, if it is about one.
    pub fn uri(&self) -> Option<&str> {
        match self {
            CommandCall::Classify { uri, .. }
            | CommandCall::Explain { uri, .. }
            | CommandCall::Dismiss { uri, .. }
            | CommandCall::Practiced { uri, .. }
            | CommandCall::Chunks { uri } => Some(uri),
            CommandCall::CalibrationStart { .. }
            | CommandCall::CalibrationStop { .. }
            | CommandCall::CalibrationStatus
            | CommandCall::Report { .. } => None,
        }
    }
}

/// Parses `workspace/executeCommand` arguments; the error is the message for `InvalidParams`.
pub fn parse(command: &str, arguments: &[Value]) -> Result<CommandCall, String> {
    let expected = match command {
        CLASSIFY => "{uri, chunk, class}",
        EXPLAIN => "{uri, chunk, text?}",
        DISMISS | PRACTICED => "{uri, chunk}",
        CHUNKS => "{uri}",
        CALIBRATION_START => "{label?, minutes?}",
        CALIBRATION_STOP => "{feel?, notes?}",
        CALIBRATION_STATUS => "{}",
        REPORT => "{format, sinceDays?}",
        other => {
            return Err(format!(
                "unknown command {other:?}; known: {}",
                ALL.join(", ")
            ));
        }
    };
    let empty = Map::new();
    let object = match arguments {
        // The calibration commands may come with no argument at all.
        [] | [Value::Null]
            if matches!(
                command,
                CALIBRATION_START | CALIBRATION_STOP | CALIBRATION_STATUS
            ) =>
        {
            &empty
        }
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
    match command {
        CALIBRATION_START => {
            let label = optional_string(object, "label", command)?;
            let minutes = match object.get("minutes") {
                None | Some(Value::Null) => None,
                Some(value) => match value.as_u64() {
                    Some(minutes @ 1..=1440) => Some(minutes as u32),
                    _ => {
                        return Err(format!(
                            "{command}: minutes must be a whole number from 1 to 1440, got {value}"
                        ));
                    }
                },
            };
            return Ok(CommandCall::CalibrationStart { label, minutes });
        }
        CALIBRATION_STOP => {
            let feel = match object.get("feel") {
                None | Some(Value::Null) => None,
                Some(value) => match value.as_u64() {
                    Some(feel @ 1..=5) => Some(feel as u8),
                    _ => {
                        return Err(format!(
                            "{command}: feel must be 1 (struggled) to 5 (smooth), got {value}"
                        ));
                    }
                },
            };
            let notes = optional_string(object, "notes", command)?;
            return Ok(CommandCall::CalibrationStop { feel, notes });
        }
        CALIBRATION_STATUS => return Ok(CommandCall::CalibrationStatus),
        REPORT => {
            let format = match object.get("format").and_then(Value::as_str) {
                Some("json") => ReportFormat::Json,
                Some("markdown") => ReportFormat::Markdown,
                Some("html") => ReportFormat::Html,
                _ => {
                    return Err(format!(
                        "{command}: format must be \"json\", \"markdown\" or \"html\", got {}",
                        object
                            .get("format")
                            .map_or("nothing".to_string(), Value::to_string)
                    ));
                }
            };
            let since_days = match object.get("sinceDays").or_else(|| object.get("since_days")) {
                None | Some(Value::Null) => DEFAULT_REPORT_DAYS,
                Some(value) => match value.as_u64() {
                    Some(days) if (1..=u64::from(MAX_REPORT_DAYS)).contains(&days) => days as u32,
                    _ => {
                        return Err(format!(
                            "{command}: sinceDays must be a whole number of days from 1 to \
                             {MAX_REPORT_DAYS}, got {value}"
                        ));
                    }
                },
            };
            return Ok(CommandCall::Report { format, since_days });
        }
        _ => {}
    }
    let uri = required_string(object, "uri", command, expected)?;
    match command {
        PRACTICED => Ok(CommandCall::Practiced {
            uri,
            chunk: chunk_id(object, command, expected)?,
        }),
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

fn optional_string(
    object: &Map<String, Value>,
    field: &str,
    command: &str,
) -> Result<Option<String>, String> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if text.trim().is_empty() => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(other) => Err(format!("{command}: {field} must be a string, got {other}")),
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
    fn calibration_and_report_calls_parse() {
        assert_eq!(
            parse(CALIBRATION_STATUS, &[]),
            Ok(CommandCall::CalibrationStatus)
        );
        assert_eq!(
            parse(
                CALIBRATION_START,
                &[json!({"label": "parser", "minutes": 60})]
            ),
            Ok(CommandCall::CalibrationStart {
                label: Some("parser".into()),
                minutes: Some(60)
            })
        );
        assert_eq!(
            parse(CALIBRATION_STOP, &[json!({"feel": 4})]),
            Ok(CommandCall::CalibrationStop {
                feel: Some(4),
                notes: None
            })
        );
        assert_eq!(
            parse(REPORT, &[json!({"format": "html"})]),
            Ok(CommandCall::Report {
                format: ReportFormat::Html,
                since_days: 28
            })
        );
    }

    #[test]
    fn the_longest_report_period_is_the_command_lines() {
        assert_eq!(
            parse(
                REPORT,
                &[json!({"format": "json", "sinceDays": MAX_REPORT_DAYS})]
            ),
            Ok(CommandCall::Report {
                format: ReportFormat::Json,
                since_days: MAX_REPORT_DAYS
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
            parse(CALIBRATION_STOP, &[json!({"feel": 9})]),
            parse(CALIBRATION_START, &[json!({"minutes": 0})]),
            parse(REPORT, &[json!({"format": "pdf"})]),
            parse(REPORT, &[json!({"format": "json", "sinceDays": 3651})]),
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
                "unknown command \"whetstone.frobnicate\"; known: whetstone.classify, whetstone.explain, whetstone.dismiss, whetstone.chunks, whetstone.calibration.start, whetstone.calibration.stop, whetstone.calibration.status, whetstone.report, whetstone.practiced",
                "whetstone.calibration.stop: feel must be 1 (struggled) to 5 (smooth), got 9",
                "whetstone.calibration.start: minutes must be a whole number from 1 to 1440, got 0",
                "whetstone.report: format must be \"json\", \"markdown\" or \"html\", got \"pdf\"",
                "whetstone.report: sinceDays must be a whole number of days from 1 to 3650, got 3651",
            ]
        "#]]
        .assert_debug_eq(&errors);
    }
}
