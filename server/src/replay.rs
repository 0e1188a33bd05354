//! Replaying recorded edit sessions through the engine (`whetstone replay`): the demo, the test bed
//! for detection and the benchmark input.
//!
//! A session is JSON lines, one event each, shaped like LSP traffic:
//! `{"t": 850, "kind": "change", "uri": "...", "changes": [{"range": {...}, "text": "x"}]}` with kinds
//! `open` (text), `change` (changes, optional version), `hint` (origin, optional version),
//! `committed` (text: the file as git has it), `save` and `close`. `t` is milliseconds; columns are
//! UTF-16. A malformed line is reported with its number and skipped.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::core::by_origin::ByOrigin;
use crate::core::engine::{ChunkView, ContentChange, Engine, Hint};
use crate::core::{DetectionConfig, Position, Range};

/// One event of a recorded session.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Open {
        uri: String,
        text: String,
    },
    Change {
        uri: String,
        version: Option<i32>,
        changes: Vec<ContentChange>,
    },
    Hint {
        uri: String,
        version: Option<i32>,
        hint: Hint,
    },
    Committed {
        uri: String,
        text: String,
    },
    Save {
        uri: String,
    },
    Close {
        uri: String,
    },
}

/// An event with its time in milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct TimedEvent {
    pub at_ms: u64,
    pub event: Event,
}

/// A line of the session that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// One-based, as an editor shows it.
    pub line: usize,
    pub message: String,
}

/// What a replay found.
#[derive(Debug, Clone)]
pub struct Report {
    pub chunks: Vec<ChunkView>,
    /// Lines per origin in each file's final text, by URI.
    pub files: BTreeMap<String, ByOrigin<usize>>,
    pub problems: Vec<Problem>,
    pub events: usize,
}

/// Parses a session; blank lines are skipped, bad lines become problems.
pub fn parse_session(input: &str) -> (Vec<TimedEvent>, Vec<Problem>) {
    let mut events = Vec::new();
    let mut problems = Vec::new();
    for (index, line) in input.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match parse_event(line) {
            Ok(event) => events.push(event),
            Err(message) => problems.push(Problem {
                line: index + 1,
                message,
            }),
        }
    }
    (events, problems)
}

/// Parses one line of a session.
pub fn parse_event(line: &str) -> Result<TimedEvent, String> {
    let value: Value = serde_json::from_str(line).map_err(|error| format!("not JSON: {error}"))?;
    let at_ms = value
        .get("t")
        .and_then(Value::as_u64)
        .ok_or("missing or negative \"t\" (milliseconds)")?;
    let kind = string_field(&value, "kind")?;
    let uri = string_field(&value, "uri")?.to_string();
    let version = value
        .get("version")
        .and_then(Value::as_i64)
        .and_then(|version| i32::try_from(version).ok());
    let event = match kind {
        "open" => Event::Open {
            uri,
            text: string_field(&value, "text")?.to_string(),
        },
        "committed" => Event::Committed {
            uri,
            text: string_field(&value, "text")?.to_string(),
        },
        "change" => {
            let changes = value
                .get("changes")
                .and_then(Value::as_array)
                .ok_or("a change needs a \"changes\" array")?
                .iter()
                .map(parse_change)
                .collect::<Result<Vec<_>, _>>()?;
            Event::Change {
                uri,
                version,
                changes,
            }
        }
        "hint" => {
            let origin = string_field(&value, "origin")?;
            let hint = Hint::parse(origin).ok_or_else(|| {
                format!("unknown hint origin {origin:?} (expected paste, completion, agent, undo or format)")
            })?;
            Event::Hint { uri, version, hint }
        }
        "save" => Event::Save { uri },
        "close" => Event::Close { uri },
        other => {
            return Err(format!(
                "unknown kind {other:?} (expected open, change, hint, committed, save or close)"
            ));
        }
    };
    Ok(TimedEvent { at_ms, event })
}

/// Runs a parsed session through a fresh engine.
pub fn run(events: &[TimedEvent], config: DetectionConfig) -> Report {
    let mut engine = Engine::new(config);
    let mut committed: HashMap<String, String> = HashMap::new();
    for timed in events {
        let now = timed.at_ms;
        match &timed.event {
            Event::Open { uri, text } => {
                engine.open(uri, text, now);
            }
            Event::Change {
                uri,
                version,
                changes,
            } => {
                engine.change(uri, *version, changes, now);
            }
            Event::Hint { uri, version, hint } => engine.hint(uri, *version, *hint, now),
            Event::Committed { uri, text } => {
                committed.insert(uri.clone(), text.clone());
                engine.set_committed_text(Box::new(committed.clone()));
            }
            Event::Save { .. } => {}
            Event::Close { uri } => engine.close(uri),
        }
    }
    let mut chunks = Vec::new();
    let mut files = BTreeMap::new();
    for uri in engine.known_files() {
        chunks.extend(engine.chunks_in(&uri));
        files.insert(uri.clone(), engine.origin_counts(&uri));
    }
    Report {
        chunks,
        files,
        problems: Vec::new(),
        events: events.len(),
    }
}

/// Parses and runs a session; problems from parsing are kept in the report.
pub fn replay(input: &str, config: DetectionConfig) -> Report {
    let (events, problems) = parse_session(input);
    let mut report = run(&events, config);
    report.problems = problems;
    report
}

impl Report {
    /// The `--json` shape: `{"chunks": [...], "files": {"<uri>": {"typed": n, ...}}}`.
    pub fn to_json(&self) -> Value {
        let chunks: Vec<Value> = self
            .chunks
            .iter()
            .map(|view| {
                json!({
                    "id": view.chunk.id.0,
                    "uri": view.chunk.uri,
                    "origin": view.chunk.origin.as_str(),
                    "start_line": view.start_line,
                    "end_line": view.end_line,
                    "lines": view.end_line - view.start_line,
                    "items": view.chunk.items,
                })
            })
            .collect();
        let files: serde_json::Map<String, Value> = self
            .files
            .iter()
            .map(|(uri, counts)| (uri.clone(), counts_json(counts)))
            .collect();
        json!({ "chunks": chunks, "files": files })
    }

    /// A table for people.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        if self.chunks.is_empty() {
            out.push_str("nothing flagged\n");
        } else {
            let _ = writeln!(
                out,
                "{:<6} {:<10} {:<16} {:<40} items",
                "chunk", "origin", "lines", "file"
            );
            for view in &self.chunks {
                let lines = format!(
                    "{}-{} ({})",
                    view.start_line + 1,
                    view.end_line,
                    view.end_line - view.start_line
                );
                let items = if view.chunk.items.is_empty() {
                    "-".to_string()
                } else {
                    view.chunk.items.join(", ")
                };
                let _ = writeln!(
                    out,
                    "{:<6} {:<10} {:<16} {:<40} {}",
                    format!("#{}", view.chunk.id.0),
                    view.chunk.origin.as_str(),
                    lines,
                    view.chunk.uri,
                    items
                );
            }
        }
        out.push('\n');
        for (uri, counts) in &self.files {
            let total = counts.total();
            let parts: Vec<String> = counts
                .iter()
                .filter(|(_, count)| **count > 0)
                .map(|(origin, count)| format!("{} {count}", origin.as_str()))
                .collect();
            let _ = writeln!(out, "{uri}: {total} lines — {}", parts.join(", "));
        }
        out
    }
}

fn counts_json(counts: &ByOrigin<usize>) -> Value {
    let map: serde_json::Map<String, Value> = counts
        .iter()
        .map(|(origin, count)| (origin.as_str().to_string(), json!(count)))
        .collect();
    Value::Object(map)
}

fn string_field<'a>(value: &'a Value, name: &str) -> Result<&'a str, String> {
    value
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("missing string field {name:?}"))
}

fn parse_change(value: &Value) -> Result<ContentChange, String> {
    let text = string_field(value, "text")?.to_string();
    let range = match value.get("range") {
        None | Some(Value::Null) => None,
        Some(range) => Some(
            parse_range(range)
                .ok_or("a range needs start and end positions with line and character")?,
        ),
    };
    Ok(ContentChange { range, text })
}

fn parse_range(value: &Value) -> Option<Range> {
    Some(Range::new(
        parse_position(value.get("start")?)?,
        parse_position(value.get("end")?)?,
    ))
}

fn parse_position(value: &Value) -> Option<Position> {
    let number = |name: &str| {
        value
            .get(name)
            .and_then(Value::as_u64)
            .map(|number| u32::try_from(number).unwrap_or(u32::MAX))
    };
    Some(Position::new(number("line")?, number("character")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_lines_are_reported_with_their_number() {
        let input = "{\"t\": 0, \"kind\": \"open\", \"uri\": \"file:///a.rs\", \"text\": \"\"}\n\
                     not json\n\
                     \n\
                     {\"t\": 5, \"kind\": \"teleport\", \"uri\": \"file:///a.rs\"}\n\
                     {\"t\": 6, \"kind\": \"change\", \"uri\": \"file:///a.rs\", \"changes\": [{\"range\": {\"start\": 1}, \"text\": \"x\"}]}\n";
        let (events, problems) = parse_session(input);
        assert_eq!(events.len(), 1);
        let lines: Vec<usize> = problems.iter().map(|problem| problem.line).collect();
        assert_eq!(lines, vec![2, 4, 5]);
        assert!(
            problems[1].message.contains("teleport"),
            "{}",
            problems[1].message
        );
    }
}
