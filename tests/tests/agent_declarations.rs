//! End-to-end tests of declared origins: `whetstone hook claude-code` and `whetstone mark` record
//! the lines an agent wrote, and the editor windows show them as a chunk carrying the agent and
//! the model, whether the file was open (one window or two) or opened later; a declaration whose
//! lines changed since is found where they moved or dropped, never misplaced; malformed input is
//! refused with a reason and records nothing.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;
use whetstone_tests::lsp::{
    LspClient, did_change, did_close, did_open, file_uri, vscode_like_capabilities,
    whole_document_change,
};
use whetstone_tests::whetstone_binary;

const WAIT: Duration = Duration::from_secs(10);
const MODEL: &str = "claude-sonnet-4-5";

/// The user's own lines.
fn own_code() -> String {
    (0..6)
        .map(|index| format!("pub fn own_{index}(value: u32) -> u32 {{ value + {index} }}\n"))
        .collect()
}

/// `count` lines of a function an agent writes.
fn agent_code(name: &str, count: usize) -> String {
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

struct Workspace {
    home: TempDir,
    root: TempDir,
}

impl Workspace {
    fn new() -> Workspace {
        Workspace {
            home: tempfile::tempdir().expect("store folder"),
            root: tempfile::tempdir().expect("workspace folder"),
        }
    }

    fn file(&self, name: &str, text: &str) -> (String, PathBuf) {
        let path = self.root.path().join(name);
        std::fs::write(&path, text).expect("write workspace file");
        (file_uri(&path), path)
    }

    fn server(&self) -> LspClient {
        let mut client = LspClient::start(self.home.path());
        client.initialize(self.root.path(), vscode_like_capabilities(), json!({}));
        client
    }

    /// Runs whetstone with `stdin` as its input.
    fn whetstone(&self, arguments: &[&str], stdin: &str) -> Output {
        let mut child = Command::new(whetstone_binary())
            .args(arguments)
            .env("WHETSTONE_HOME", self.home.path())
            .env_remove("WHETSTONE_LOG")
            .current_dir(self.root.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("whetstone runs");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write stdin");
        child.wait_with_output().expect("whetstone ends")
    }

    /// Runs the Claude Code hook with `payload`; it must succeed.
    fn hook(&self, payload: &Value) {
        let output = self.whetstone(&["hook", "claude-code"], &payload.to_string());
        assert!(output.status.success(), "{}", describe(&output));
    }
}

fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A `PostToolUse` payload of an Edit, as Claude Code sends it.
fn edit_payload(workspace: &Workspace, path: &Path, old: &str, new: &str) -> Value {
    json!({
        "session_id": "4b1d2c8e",
        "transcript_path": "/tmp/transcript.jsonl",
        "cwd": workspace.root.path(),
        "hook_event_name": "PostToolUse",
        "tool_name": "Edit",
        "model": MODEL,
        "tool_input": {"file_path": path, "old_string": old, "new_string": new},
        "tool_response": {"filePath": path, "success": true},
    })
}

fn write_payload(workspace: &Workspace, path: &Path, content: &str) -> Value {
    json!({
        "session_id": "4b1d2c8e",
        "cwd": workspace.root.path(),
        "hook_event_name": "PostToolUse",
        "tool_name": "Write",
        "tool_input": {"file_path": path, "content": content},
    })
}

/// What an agent's Edit does to the file on disk: the last own line gets `added` after it.
fn agent_edits(path: &Path, added: &str) -> (String, String, String) {
    let before = std::fs::read_to_string(path).expect("read");
    let anchor = "pub fn own_5(value: u32) -> u32 { value + 5 }\n";
    let replacement = format!("{anchor}{added}");
    let after = before.replacen(anchor, &replacement, 1);
    std::fs::write(path, &after).expect("agent writes");
    (anchor.to_string(), replacement, after)
}

fn chunks(client: &mut LspClient, uri: &str) -> Vec<Value> {
    let map = client
        .execute_command("whetstone.chunks", json!({"uri": uri}))
        .unwrap_or_else(|error| panic!("whetstone.chunks failed: {error}"));
    map["chunks"].as_array().cloned().unwrap_or_default()
}

/// Waits until the file has a chunk declared by claude-code, and returns the file's chunks.
fn wait_for_declared_chunk(client: &mut LspClient, uri: &str) -> Vec<Value> {
    let deadline = Instant::now() + WAIT;
    loop {
        let chunks = chunks(client, uri);
        if chunks.iter().any(|chunk| chunk["agent"] == "claude-code") {
            return chunks;
        }
        if Instant::now() > deadline {
            panic!(
                "{}",
                client.failure(&format!("no chunk by claude-code in {uri}: {chunks:?}"))
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// (origin, agent, model, start_line, end_line) of each chunk.
fn spans(chunks: &[Value]) -> Vec<(String, Value, Value, u64, u64)> {
    chunks
        .iter()
        .map(|chunk| {
            (
                chunk["origin"].as_str().unwrap_or_default().to_string(),
                chunk["agent"].clone(),
                chunk["model"].clone(),
                chunk["start_line"].as_u64().unwrap_or(u64::MAX),
                chunk["end_line"].as_u64().unwrap_or(u64::MAX),
            )
        })
        .collect()
}

fn declared_span(start: u64, end: u64) -> (String, Value, Value, u64, u64) {
    (
        "generated".to_string(),
        json!("claude-code"),
        json!(MODEL),
        start,
        end,
    )
}

fn lens_titles(client: &mut LspClient, uri: &str) -> Vec<String> {
    let lenses = client
        .request(
            "textDocument/codeLens",
            json!({"textDocument": {"uri": uri}}),
        )
        .unwrap_or_else(|error| panic!("codeLens failed: {error}"));
    lenses
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|lens| lens["command"]["title"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn a_hook_for_an_open_file_makes_the_agents_write_one_chunk_with_the_agent() {
    let workspace = Workspace::new();
    let (uri, path) = workspace.file("lib.rs", &own_code());
    let mut window = workspace.server();
    window.notify("textDocument/didOpen", did_open(&uri, &own_code(), 1));

    // The hook runs right after the edit, before the editor reloaded the file: the declaration
    // waits in the window for the reload.
    let added = agent_code("parse_header", 10);
    let (old, new, after) = agent_edits(&path, &added);
    workspace.hook(&edit_payload(&workspace, &path, &old, &new));
    std::thread::sleep(Duration::from_millis(300));
    window.notify(
        "textDocument/didChange",
        did_change(&uri, 2, vec![whole_document_change(&after)]),
    );
    let found = wait_for_declared_chunk(&mut window, &uri);
    // The line kept from old_string is not the agent's; the guessed chunk became the declared
    // one rather than a second chunk beside it.
    assert_eq!(spans(&found), vec![declared_span(6, 16)], "{found:?}");
    let titles = lens_titles(&mut window, &uri);
    assert!(
        titles
            .iter()
            .any(|title| title.starts_with("⚑ 10 lines generated by claude-code · fn parse_header")),
        "{titles:?}"
    );
    let hover = window
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": 8, "character": 4}}),
        )
        .expect("hover");
    let text = hover["contents"]["value"].as_str().unwrap_or_default();
    assert!(
        text.contains(&format!("by claude-code ({MODEL})")),
        "{text}"
    );

    // The agent's next edit, after the editor reloaded this time.
    let more = agent_code("parse_body", 7);
    let anchor = "    let parse_header_7 = input.len() * 7 + 21;\n";
    let current = std::fs::read_to_string(&path).expect("read");
    let replacement = format!("{anchor}{more}");
    let newer = current.replacen(anchor, &replacement, 1);
    std::fs::write(&path, &newer).expect("agent writes");
    window.notify(
        "textDocument/didChange",
        did_change(&uri, 3, vec![whole_document_change(&newer)]),
    );
    workspace.hook(&edit_payload(&workspace, &path, anchor, &replacement));
    let deadline = Instant::now() + WAIT;
    loop {
        let chunks = chunks(&mut window, &uri);
        let declared = chunks
            .iter()
            .filter(|chunk| chunk["agent"] == "claude-code")
            .count();
        if declared == chunks.len() && chunks.len() >= 2 {
            break;
        }
        assert!(Instant::now() < deadline, "{chunks:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    window.shutdown();
}

#[test]
fn a_file_marked_while_closed_shows_the_chunk_when_opened_and_in_the_report() {
    let workspace = Workspace::new();
    let added = agent_code("render_table", 9);
    let text = format!("{}{added}", own_code());
    let (uri, path) = workspace.file("table.rs", &text);
    // No editor runs: the command holds the store itself.
    workspace.hook(&write_payload(&workspace, &path, &text));
    let output = workspace.whetstone(
        &[
            "mark",
            "--origin",
            "pasted",
            "--agent",
            "aider",
            "--model",
            "gpt-5",
            &format!("{}:2-3", path.display()),
        ],
        "",
    );
    assert!(output.status.success(), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("marked lines 2-3 of"),
        "{}",
        describe(&output)
    );

    let mut window = workspace.server();
    window.notify("textDocument/didOpen", did_open(&uri, &text, 1));
    let chunks = wait_for_declared_chunk(&mut window, &uri);
    let found = spans(&chunks);
    // The Write declared the whole file; the later mark took lines 2-3 out of it for aider.
    assert_eq!(
        found,
        vec![
            (
                "generated".to_string(),
                json!("claude-code"),
                Value::Null,
                0,
                1
            ),
            ("pasted".to_string(), json!("aider"), json!("gpt-5"), 1, 3),
            (
                "generated".to_string(),
                json!("claude-code"),
                Value::Null,
                3,
                15
            ),
        ],
        "{chunks:?}"
    );
    window.notify("textDocument/didClose", did_close(&uri));
    window.shutdown();

    // Applied once: a window opening the file again does not apply them a second time (the map
    // it reloads carries them).
    let mut again = workspace.server();
    again.notify("textDocument/didOpen", did_open(&uri, &text, 1));
    assert_eq!(spans(&chunks_now(&mut again, &uri)), found);
    again.shutdown();

    let report = workspace.whetstone(&["report", "--json"], "");
    assert!(report.status.success(), "{}", describe(&report));
    let report: Value = serde_json::from_slice(&report.stdout).expect("report JSON");
    let agents = report["agents"].as_array().cloned().unwrap_or_default();
    let names: Vec<(Value, Value, Value)> = agents
        .iter()
        .map(|agent| {
            (
                agent["agent"].clone(),
                agent["lines"].clone(),
                agent["chunks"].clone(),
            )
        })
        .collect();
    assert_eq!(
        names,
        vec![
            (json!("claude-code"), json!(13), json!(2)),
            (json!("aider"), json!(2), json!(1)),
        ],
        "{report:#}"
    );
    let markdown = workspace.whetstone(&["report", "--markdown"], "");
    let markdown = String::from_utf8_lossy(&markdown.stdout).into_owned();
    assert!(
        markdown.contains("| `aider (gpt-5)` | 1 | 2 |"),
        "{markdown}"
    );
}

fn chunks_now(client: &mut LspClient, uri: &str) -> Vec<Value> {
    // Give the window a moment to apply anything it would (it would do so on open).
    std::thread::sleep(Duration::from_millis(300));
    chunks(client, uri)
}

#[test]
fn two_windows_with_the_file_open_both_show_the_agent() {
    let workspace = Workspace::new();
    let (uri, path) = workspace.file("shared.rs", &own_code());
    let mut first = workspace.server();
    let mut second = workspace.server();
    for window in [&mut first, &mut second] {
        window.notify("textDocument/didOpen", did_open(&uri, &own_code(), 1));
    }
    let (old, new, after) = agent_edits(&path, &agent_code("merge_rows", 8));
    // Both editors reload the file the agent wrote, then the hook runs.
    for window in [&mut first, &mut second] {
        window.notify(
            "textDocument/didChange",
            did_change(&uri, 2, vec![whole_document_change(&after)]),
        );
    }
    workspace.hook(&edit_payload(&workspace, &path, &old, &new));
    for window in [&mut first, &mut second] {
        let chunks = wait_for_declared_chunk(window, &uri);
        assert_eq!(spans(&chunks), vec![declared_span(6, 14)], "{chunks:?}");
    }
    first.shutdown();
    second.shutdown();
}

#[test]
fn a_declaration_whose_lines_changed_since_is_found_where_they_moved_or_dropped() {
    let workspace = Workspace::new();
    let added = agent_code("moved_lines", 6);
    let text = format!("{}{added}", own_code());
    let (moved_uri, moved_path) = workspace.file("moved.rs", &text);
    let (stale_uri, stale_path) = workspace.file("stale.rs", &text);
    for path in [&moved_path, &stale_path] {
        let output = workspace.whetstone(
            &[
                "mark",
                "--origin",
                "generated",
                "--agent",
                "claude-code",
                "--model",
                MODEL,
                &format!("{}:7-12", path.display()),
            ],
            "",
        );
        assert!(output.status.success(), "{}", describe(&output));
    }
    // Lines added above the declared ones; the declared ones edited in the other file.
    let moved = format!("// a header\n// added later\n{text}");
    std::fs::write(&moved_path, &moved).expect("write");
    let stale = text.replace("moved_lines_2 = input.len() * 2", "moved_lines_2 = 0");
    std::fs::write(&stale_path, &stale).expect("write");

    let mut window = workspace.server();
    window.notify("textDocument/didOpen", did_open(&moved_uri, &moved, 1));
    let chunks = wait_for_declared_chunk(&mut window, &moved_uri);
    assert_eq!(spans(&chunks), vec![declared_span(8, 14)], "{chunks:?}");

    window.notify("textDocument/didOpen", did_open(&stale_uri, &stale, 1));
    let chunks = chunks_now(&mut window, &stale_uri);
    assert!(
        chunks.iter().all(|chunk| chunk["agent"].is_null()),
        "a stale declaration was applied: {chunks:?}"
    );
    let stderr = window.stderr();
    assert!(
        stderr.contains("stale.rs: the 6 lines claude-code declared are not in the file"),
        "{stderr}"
    );
    window.shutdown();
}

#[test]
fn malformed_input_is_refused_with_a_reason_and_records_nothing() {
    let workspace = Workspace::new();
    let (_, path) = workspace.file("real.rs", &own_code());
    let missing = workspace.root.path().join("missing.rs");
    let cases: Vec<(Vec<String>, String, &str)> = vec![
        (
            hook(),
            "{not json".to_string(),
            "the hook's input is not JSON",
        ),
        (hook(), "[1, 2]".to_string(), "not a JSON object"),
        (
            hook(),
            json!({"tool_name": "Edit", "tool_input": {"old_string": "a", "new_string": "b"}})
                .to_string(),
            "no tool_input.file_path",
        ),
        (
            hook(),
            edit_payload(&workspace, &missing, "a", "b").to_string(),
            "cannot read",
        ),
        (
            hook(),
            json!({"tool_name": "Edit", "tool_input": {"file_path": path, "old_string": "a"}})
                .to_string(),
            "no string new_string",
        ),
        (
            hook(),
            json!({"tool_name": "MultiEdit", "tool_input": {"file_path": path}}).to_string(),
            "no tool_input.edits list",
        ),
        (
            mark(&[
                "--origin",
                "typed",
                "--agent",
                "codex",
                &path.display().to_string(),
            ]),
            String::new(),
            "unknown origin \"typed\"",
        ),
        (
            mark(&[
                "--origin",
                "generated",
                "--agent",
                " ",
                &path.display().to_string(),
            ]),
            String::new(),
            "agent's name is empty",
        ),
        (
            mark(&[
                "--origin",
                "generated",
                "--agent",
                "codex",
                &format!("{}:5-9", path.display()),
            ]),
            String::new(),
            "is outside",
        ),
        (
            mark(&[
                "--origin",
                "generated",
                "--agent",
                "codex",
                &missing.display().to_string(),
            ]),
            String::new(),
            "no such file",
        ),
    ];
    for (arguments, stdin, expected) in cases {
        let arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
        let output = workspace.whetstone(&arguments, &stdin);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{arguments:?}: {}",
            describe(&output)
        );
        assert!(stderr.contains(expected), "{arguments:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    }
    // A tool that edits no file: nothing to do.
    let bash = json!({"tool_name": "Bash", "tool_input": {"command": "ls"}});
    let output = workspace.whetstone(&["hook", "claude-code"], &bash.to_string());
    assert!(output.status.success(), "{}", describe(&output));
    assert!(
        output.stdout.is_empty() && output.stderr.is_empty(),
        "{}",
        describe(&output)
    );
    // Nothing was recorded: the store was not even created.
    assert!(
        !workspace.home.path().join("db").exists(),
        "the store was opened for malformed input"
    );
    assert!(!workspace.home.path().join("journal").exists());
}

fn hook() -> Vec<String> {
    vec!["hook".to_string(), "claude-code".to_string()]
}

fn mark(arguments: &[&str]) -> Vec<String> {
    std::iter::once("mark")
        .chain(arguments.iter().copied())
        .map(str::to_string)
        .collect()
}

#[test]
fn print_config_is_the_settings_json_that_installs_the_hook() {
    let workspace = Workspace::new();
    let output = workspace.whetstone(&["hook", "claude-code", "--print-config"], "");
    assert!(output.status.success(), "{}", describe(&output));
    let settings: Value = serde_json::from_slice(&output.stdout).expect("valid JSON");
    assert_eq!(
        settings,
        json!({"hooks": {"PostToolUse": [{
            "matcher": "Edit|MultiEdit|Write",
            "hooks": [{"type": "command", "command": "whetstone hook claude-code"}],
        }]}})
    );
}
