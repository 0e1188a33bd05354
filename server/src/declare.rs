//! `whetstone mark` and `whetstone hook claude-code`: a coding agent says which lines it wrote,
//! and whetstone records that as a declaration ([`Declaration`]) in the store, for the editor
//! windows to apply when they open (or already have open) the file.
//!
//! Everything here checks what it is given before anything is recorded: a payload that is not
//! what Claude Code sends, a file that is not there, a range outside the file, an unknown origin
//! or an empty agent name is a [`DeclareError::Input`] and nothing is written. Declarations are
//! keyed by the file's absolute path ([`declaration_key`]): the command line does not know which
//! workspace folders the editors opened, and every window can name a file by its path.

use std::path::{Path, PathBuf};

use serde_json::Value;
use thiserror::Error;

use crate::core::Origin;
use crate::core::declared::{Declaration, MAX_CONTEXT_LINES};
use crate::core::text::split_lines;
use crate::lsp::uri::read_text_file;
use crate::store::journal::Entry;
use crate::store::{FileKey, Store, StoreError};

/// The agent name `whetstone hook claude-code` records.
pub const CLAUDE_CODE: &str = "claude-code";

#[derive(Debug, Error)]
pub enum DeclareError {
    /// What was given is wrong: said to the user, nothing recorded.
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn input(message: impl Into<String>) -> DeclareError {
    DeclareError::Input(message.into())
}

/// Who declares, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declarer {
    pub origin: Origin,
    pub agent: String,
    pub model: Option<String>,
}

impl Declarer {
    /// Checks the origin's name, the agent and the model as a user typed them.
    pub fn new(origin: &str, agent: &str, model: Option<&str>) -> Result<Declarer, DeclareError> {
        let origin = match origin {
            "generated" => Origin::Generated,
            "pasted" => Origin::Pasted,
            other => {
                return Err(input(format!(
                    "unknown origin {other:?}: an agent declares lines generated or pasted"
                )));
            }
        };
        let agent = agent.trim();
        if agent.is_empty() {
            return Err(input("the agent's name is empty (--agent NAME)"));
        }
        let model = model.map(str::trim);
        if model == Some("") {
            return Err(input(
                "the model id is empty (leave --model out if unknown)",
            ));
        }
        Ok(Declarer {
            origin,
            agent: agent.to_string(),
            model: model.map(str::to_string),
        })
    }
}

/// What a mark or a hook will record: declarations for one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marked {
    pub path: PathBuf,
    pub declarations: Vec<Declaration>,
    /// Said on stderr: edits whose lines could not be found, and why.
    pub warnings: Vec<String>,
}

/// `FILE` or `FILE:START-END` (1-based, inclusive; `FILE:N` is one line). A suffix that is not a
/// range belongs to the file's name.
pub fn parse_target(target: &str) -> (PathBuf, Option<(usize, usize)>) {
    if let Some((path, range)) = target.rsplit_once(':') {
        let numbers = match range.split_once('-') {
            Some((start, end)) => start.parse().ok().zip(end.parse().ok()),
            None => range.parse().ok().map(|line| (line, line)),
        };
        if let Some(numbers) = numbers
            && !path.is_empty()
        {
            return (PathBuf::from(path), Some(numbers));
        }
    }
    (PathBuf::from(target), None)
}

/// `whetstone mark`: lines `range` (1-based, inclusive; None: the whole file) of the file at
/// `path`, as it is now.
pub fn mark(
    path: &Path,
    range: Option<(usize, usize)>,
    declarer: &Declarer,
    now_ms: u64,
) -> Result<Marked, DeclareError> {
    let content = read(path)?;
    let lines: Vec<&str> = counted(&content);
    if lines.is_empty() {
        return Err(input(format!(
            "{} is empty: nothing to mark",
            path.display()
        )));
    }
    let (start, end) = range.unwrap_or((1, lines.len()));
    if start == 0 || start > end {
        return Err(input(format!(
            "the range {start}-{end} is not a range of lines (they count from 1)"
        )));
    }
    if end > lines.len() {
        return Err(input(format!(
            "the range {start}-{end} is outside {}, which has {} lines",
            path.display(),
            lines.len()
        )));
    }
    let declaration = declaration_of(&lines, start - 1..end, declarer, now_ms, 0);
    if let Some(problem) = declaration.problem() {
        return Err(input(format!(
            "cannot mark lines {start}-{end} of {}: {problem}",
            path.display()
        )));
    }
    Ok(Marked {
        path: path.to_path_buf(),
        declarations: vec![declaration],
        warnings: Vec::new(),
    })
}

/// `whetstone hook claude-code`: the lines a Claude Code `PostToolUse` payload's edit produced,
/// found in the file as it is now (the hook runs after the edit). None for a tool that does not
/// edit files.
pub fn claude_code_hook(payload: &str, now_ms: u64) -> Result<Option<Marked>, DeclareError> {
    let payload: Value = serde_json::from_str(payload)
        .map_err(|error| input(format!("the hook's input is not JSON: {error}")))?;
    let Some(payload) = payload.as_object() else {
        return Err(input("the hook's input is not a JSON object"));
    };
    let tool = match payload.get("tool_name") {
        Some(Value::String(tool)) => tool.as_str(),
        Some(_) => return Err(input("tool_name is not a string")),
        None => return Err(input("the hook's input has no tool_name")),
    };
    if !matches!(tool, "Edit" | "MultiEdit" | "Write") {
        return Ok(None);
    }
    let tool_input = payload
        .get("tool_input")
        .and_then(Value::as_object)
        .ok_or_else(|| input(format!("the {tool} payload has no tool_input object")))?;
    let file = match tool_input.get("file_path") {
        Some(Value::String(file)) if !file.is_empty() => PathBuf::from(file),
        _ => {
            return Err(input(format!(
                "the {tool} payload has no tool_input.file_path"
            )));
        }
    };
    let path = if file.is_absolute() {
        file
    } else {
        match payload.get("cwd").and_then(Value::as_str) {
            Some(cwd) if Path::new(cwd).is_absolute() => Path::new(cwd).join(file),
            _ => {
                return Err(input(format!(
                    "tool_input.file_path {} is relative and the payload has no absolute cwd",
                    file.display()
                )));
            }
        }
    };
    let declarer = Declarer {
        origin: Origin::Generated,
        agent: CLAUDE_CODE.to_string(),
        model: model_of(payload),
    };
    let edits: Vec<Edit> = match tool {
        "Write" => {
            let content = string_field(tool_input, "content", tool)?;
            return write_tool(&path, content, &declarer, now_ms).map(Some);
        }
        "Edit" => vec![edit_of(tool_input, tool)?],
        _ => {
            let Some(edits) = tool_input.get("edits").and_then(Value::as_array) else {
                return Err(input("the MultiEdit payload has no tool_input.edits list"));
            };
            edits
                .iter()
                .map(|edit| match edit.as_object() {
                    Some(edit) => edit_of(edit, tool),
                    None => Err(input("an entry of tool_input.edits is not an object")),
                })
                .collect::<Result<_, _>>()?
        }
    };
    let content = read(&path)?;
    let mut marked = Marked {
        path: path.clone(),
        declarations: Vec::new(),
        warnings: Vec::new(),
    };
    let lines = counted(&content);
    let starts = line_starts(&content);
    for (index, edit) in edits.iter().enumerate() {
        match edited_lines(&content, &starts, edit) {
            Ok(ranges) => {
                for range in ranges {
                    let declaration = declaration_of(
                        &lines,
                        range,
                        &declarer,
                        now_ms,
                        marked.declarations.len() as u64,
                    );
                    if declaration.problem().is_none() {
                        marked.declarations.push(declaration);
                    }
                }
            }
            Err(why) => marked.warnings.push(format!(
                "{}: edit {} of {}: {why}; its lines are not marked",
                path.display(),
                index + 1,
                edits.len()
            )),
        }
    }
    Ok(Some(marked))
}

/// The settings that install the hook, for `.claude/settings.json`.
pub fn claude_code_settings() -> Value {
    serde_json::json!({
        "hooks": {
            "PostToolUse": [
                {
                    "matcher": "Edit|MultiEdit|Write",
                    "hooks": [
                        { "type": "command", "command": "whetstone hook claude-code" }
                    ]
                }
            ]
        }
    })
}

/// The store key of declarations for the file at `path`: its absolute path, with symbolic links
/// resolved when the file is there (an editor and an agent may name it differently).
pub fn declaration_key(path: &Path) -> FileKey {
    let resolved = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    FileKey::for_path(&[], &resolved)
}

/// How far a recording got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// In the store, flushed (and in its journal).
    Saved,
    /// In the journal only: the process holding the store did not answer; it takes them when it
    /// does.
    InJournal,
}

/// Records `marked` in the store: first in its journal (synced), then in the store, flushed.
pub fn record(store: &dyn Store, marked: &Marked) -> Result<Recorded, DeclareError> {
    let key = declaration_key(&marked.path);
    let entries: Vec<Entry> = marked
        .declarations
        .iter()
        .map(|declaration| Entry::declaration(&key, declaration))
        .collect();
    let journaled = match store.journal(&entries) {
        Ok(journaled) => journaled,
        Err(error) => {
            tracing::warn!("cannot keep the declaration in the journal: {error}");
            false
        }
    };
    let stored = marked
        .declarations
        .iter()
        .try_for_each(|declaration| store.declare(&key, declaration).map(|_| ()))
        .and_then(|()| store.flush());
    match stored {
        Ok(()) => Ok(Recorded::Saved),
        Err(error) if journaled => {
            tracing::info!("the store did not take the declaration: {error}");
            Ok(Recorded::InJournal)
        }
        Err(error) => Err(error.into()),
    }
}

/// A unique declaration id below 2^53: the moment, this process and the text.
fn declaration_id(now_ms: u64, sequence: u64, lines: &[&str]) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.subsec_nanos());
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    feed(&now_ms.to_le_bytes());
    feed(&nanos.to_le_bytes());
    feed(&std::process::id().to_le_bytes());
    feed(&sequence.to_le_bytes());
    for line in lines {
        feed(line.as_bytes());
        feed(b"\n");
    }
    hash & ((1 << 53) - 1)
}

/// The declaration of `range` (0-based lines) of a file's `lines`, with up to
/// [`MAX_CONTEXT_LINES`] lines around it to find it by.
fn declaration_of(
    lines: &[&str],
    range: std::ops::Range<usize>,
    declarer: &Declarer,
    now_ms: u64,
    sequence: u64,
) -> Declaration {
    let owned = |slice: &[&str]| slice.iter().map(|line| line.to_string()).collect();
    let before = range.start.saturating_sub(MAX_CONTEXT_LINES)..range.start;
    let after = range.end..(range.end + MAX_CONTEXT_LINES).min(lines.len());
    Declaration {
        id: declaration_id(now_ms, sequence, &lines[range.clone()]),
        origin: declarer.origin,
        agent: declarer.agent.clone(),
        model: declarer.model.clone(),
        declared_ms: now_ms,
        start_line: range.start,
        before: owned(&lines[before]),
        lines: owned(&lines[range]),
        after: owned(&lines[after]),
    }
}

fn read(path: &Path) -> Result<String, DeclareError> {
    read_text_file(path).map_err(|error| {
        let why = match error.kind() {
            std::io::ErrorKind::NotFound => "no such file".to_string(),
            _ => error.to_string(),
        };
        input(format!("cannot read {}: {why}", path.display()))
    })
}

/// The lines a person counts: a final line break does not start another line.
fn counted(content: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = split_lines(content).collect();
    if lines.len() > 1 && lines.last() == Some(&"") {
        lines.pop();
    }
    if lines == [""] {
        lines.clear();
    }
    lines
}

/// The byte offset where each line starts, split as [`split_lines`] splits.
fn line_starts(content: &str) -> Vec<usize> {
    let mut starts = vec![0];
    let bytes = content.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'\r' if bytes.get(index + 1) == Some(&b'\n') => {
                index += 2;
                starts.push(index);
            }
            b'\r' | b'\n' => {
                index += 1;
                starts.push(index);
            }
            _ => index += 1,
        }
    }
    starts
}

/// One replacement of an Edit or MultiEdit.
struct Edit {
    old: String,
    new: String,
    replace_all: bool,
}

fn string_field<'a>(
    object: &'a serde_json::Map<String, Value>,
    field: &str,
    tool: &str,
) -> Result<&'a str, DeclareError> {
    match object.get(field) {
        Some(Value::String(text)) => Ok(text),
        _ => Err(input(format!("the {tool} payload has no string {field}"))),
    }
}

fn edit_of(object: &serde_json::Map<String, Value>, tool: &str) -> Result<Edit, DeclareError> {
    Ok(Edit {
        old: string_field(object, "old_string", tool)?.to_string(),
        new: string_field(object, "new_string", tool)?.to_string(),
        replace_all: object
            .get("replace_all")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

/// The model, when the payload names one: `"model": "id"` or `"model": {"id": ...}`.
fn model_of(payload: &serde_json::Map<String, Value>) -> Option<String> {
    let model = match payload.get("model")? {
        Value::String(model) => model.clone(),
        Value::Object(model) => model.get("id")?.as_str()?.to_string(),
        _ => return None,
    };
    let model = model.trim();
    (!model.is_empty() && model.chars().count() <= crate::core::declared::MAX_MODEL_CHARS)
        .then(|| model.to_string())
}

/// Write: the whole file, if it still holds what was written.
fn write_tool(
    path: &Path,
    written: &str,
    declarer: &Declarer,
    now_ms: u64,
) -> Result<Marked, DeclareError> {
    let content = read(path)?;
    let mut marked = Marked {
        path: path.to_path_buf(),
        declarations: Vec::new(),
        warnings: Vec::new(),
    };
    let lines = counted(&content);
    if counted(written) != lines {
        marked.warnings.push(format!(
            "{}: the file no longer holds what was written; its lines are not marked",
            path.display()
        ));
        return Ok(marked);
    }
    if lines.is_empty() {
        return Ok(marked);
    }
    let declaration = declaration_of(&lines, 0..lines.len(), declarer, now_ms, 0);
    if declaration.problem().is_none() {
        marked.declarations.push(declaration);
    }
    Ok(marked)
}

/// The lines (0-based ranges of `content`) that an edit's `new_string` produced: where it is
/// found now, without the lines it kept unchanged from `old_string` at its start and end (an
/// edit's context). An empty list when it only removed lines; an error when it is not in the
/// file, or is in several places and the edit was not `replace_all`.
fn edited_lines(
    content: &str,
    starts: &[usize],
    edit: &Edit,
) -> Result<Vec<std::ops::Range<usize>>, String> {
    if edit.new.trim().is_empty() {
        return Ok(Vec::new());
    }
    let places: Vec<usize> = content
        .match_indices(edit.new.as_str())
        .map(|(at, _)| at)
        .collect();
    match places.len() {
        0 => return Err("its new text is not in the file (it changed since)".to_string()),
        1 => {}
        _ if edit.replace_all => {}
        found => {
            return Err(format!(
                "its new text is in {found} places, and which one it wrote is not known"
            ));
        }
    }
    let new_lines: Vec<&str> = split_lines(&edit.new).collect();
    let old_lines: Vec<&str> = split_lines(&edit.old).collect();
    // Segment i of the new text is on line first + i. A segment kept from the old text and
    // followed (or, at the end, preceded) by a line break in both is an unchanged line.
    let (n, m) = (new_lines.len(), old_lines.len());
    let mut prefix = 0;
    while prefix + 1 < n && prefix + 1 < m && new_lines[prefix] == old_lines[prefix] {
        prefix += 1;
    }
    let mut suffix = 0;
    while suffix + 1 < n - prefix
        && suffix + 1 < m - prefix
        && new_lines[n - 1 - suffix] == old_lines[m - 1 - suffix]
    {
        suffix += 1;
    }
    let mut ranges = Vec::new();
    for at in places {
        let first = starts.partition_point(|&start| start <= at) - 1;
        let end_byte = at + edit.new.len() - 1;
        let last = starts.partition_point(|&start| start <= end_byte) - 1;
        let start = first + prefix;
        let end = (first + n - suffix).min(last + 1);
        if start < end {
            ranges.push(start..end);
        }
    }
    Ok(ranges)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The edited lines as (start, end) pairs.
    fn lines_of(content: &str, old: &str, new: &str) -> Result<Vec<(usize, usize)>, String> {
        let edit = Edit {
            old: old.to_string(),
            new: new.to_string(),
            replace_all: false,
        };
        edited_lines(content, &line_starts(content), &edit).map(|ranges| {
            ranges
                .into_iter()
                .map(|range| (range.start, range.end))
                .collect()
        })
    }

    #[test]
    fn targets_parse_with_or_without_a_range() {
        assert_eq!(parse_target("src/a.rs"), (PathBuf::from("src/a.rs"), None));
        assert_eq!(
            parse_target("src/a.rs:3-14"),
            (PathBuf::from("src/a.rs"), Some((3, 14)))
        );
        assert_eq!(
            parse_target("src/a.rs:7"),
            (PathBuf::from("src/a.rs"), Some((7, 7)))
        );
        assert_eq!(
            parse_target("c:/odd:name.rs"),
            (PathBuf::from("c:/odd:name.rs"), None)
        );
        assert_eq!(parse_target(":3"), (PathBuf::from(":3"), None));
    }

    #[test]
    fn an_edit_marks_the_lines_it_changed_not_its_context() {
        let content = "fn a() {\n    let x = 1;\n    let y = 2;\n}\n";
        // Context lines kept from the old text are not the agent's.
        assert_eq!(
            lines_of(
                content,
                "fn a() {\n    let x = 0;\n}",
                "fn a() {\n    let x = 1;\n    let y = 2;\n}"
            ),
            Ok(vec![(1, 3)])
        );
        // Inside one line: that line.
        assert_eq!(lines_of(content, "y = 3", "y = 2"), Ok(vec![(2, 3)]));
        // A new text ending in a line break ends on the line it breaks.
        assert_eq!(lines_of(content, "", "    let y = 2;\n"), Ok(vec![(2, 3)]));
        // Only removals: nothing is the agent's.
        assert_eq!(
            lines_of(content, "fn a() {\n    gone();\n}", "fn a() {\n"),
            Ok(vec![])
        );
        assert_eq!(lines_of(content, "x", ""), Ok(vec![]));
        assert!(lines_of(content, "x", "not there").is_err());
        assert!(
            lines_of(content, "let z = 9;", "let")
                .unwrap_err()
                .contains("2 places")
        );
    }

    #[test]
    fn declarers_check_what_the_user_typed() {
        assert!(Declarer::new("generated", "codex", None).is_ok());
        assert_eq!(
            Declarer::new("pasted", " aider ", Some("gpt-5")).ok(),
            Some(Declarer {
                origin: Origin::Pasted,
                agent: "aider".to_string(),
                model: Some("gpt-5".to_string())
            })
        );
        let message = |result: Result<Declarer, DeclareError>| result.unwrap_err().to_string();
        assert!(message(Declarer::new("typed", "x", None)).contains("unknown origin \"typed\""));
        assert!(message(Declarer::new("generated", " ", None)).contains("agent's name is empty"));
        assert!(message(Declarer::new("generated", "x", Some(""))).contains("model id is empty"));
    }

    #[test]
    fn counted_lines_ignore_a_final_break() {
        assert_eq!(counted("a\nb\n"), vec!["a", "b"]);
        assert_eq!(counted("a\r\nb"), vec!["a", "b"]);
        assert!(counted("").is_empty());
        assert_eq!(line_starts("a\r\nb\rc\n"), vec![0, 3, 5, 7]);
    }
}
