//! End-to-end tests of what reaches beyond one buffer: explanation documents, files changed on
//! disk (watched or not), git checkouts versus external edits, and configuration warnings.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use whetstone_tests::capabilities::{no_code_lens_capabilities, vscode_like_capabilities};
use whetstone_tests::document::{new_function, own_functions};
use whetstone_tests::params::{change, did_change, did_close, did_open, did_save};
use whetstone_tests::requests::PUSH_TIMEOUT;
use whetstone_tests::workspace::Workspace;

/// Ten lines of the user's own code.
fn own_code() -> String {
    own_functions(10)
}

fn spans(report: &Value) -> Vec<(String, u64, u64)> {
    report["chunks"]
        .as_array()
        .expect("chunks array")
        .iter()
        .map(|chunk| {
            (
                chunk["origin"].as_str().unwrap_or("?").to_string(),
                chunk["start_line"].as_u64().unwrap_or(0),
                chunk["end_line"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

fn git(root: &Path, arguments: &[&str]) {
    let status = Command::new("git")
        .arg("-C")
        .arg(root)
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(arguments)
        .output()
        .expect("git runs");
    assert!(
        status.status.success(),
        "git {arguments:?}: {}",
        String::from_utf8_lossy(&status.stderr)
    );
}

#[test]
fn explaining_in_a_document_records_the_answers_on_save() {
    let workspace = Workspace::new();
    let (uri, _) = workspace.file("lib.rs", &own_code());
    let mut client = workspace.server(vscode_like_capabilities(), Value::Null);
    client.notify("textDocument/didOpen", did_open(&uri, &own_code(), 1));
    let pasted = new_function("parse_header", 20);
    client.notify(
        "textDocument/didChange",
        did_change(&uri, 2, vec![change((10, 0), (10, 0), &pasted)]),
    );
    let report = client.chunks_report(&uri);
    let chunk = report["chunks"][0]["id"].as_u64().expect("a chunk");

    let opened = client
        .execute_command("whetstone.explain", json!({"uri": uri, "chunk": chunk}))
        .expect("explain without text opens a document");
    let document_uri = opened["document"]
        .as_str()
        .expect("document uri")
        .to_string();
    let shown = client
        .wait_for_server_request("window/showDocument", PUSH_TIMEOUT, |params| {
            params["uri"] == json!(document_uri)
        })
        .unwrap_or_else(|| panic!("{}", client.failure("no window/showDocument")));
    assert_eq!(shown["takeFocus"], json!(true));
    let path = Path::new(opened["path"].as_str().expect("path"));
    assert!(path.starts_with(workspace.home()), "{}", path.display());
    let template = std::fs::read_to_string(path).expect("document written");
    assert!(template.contains("## What does it do?"), "{template}");
    assert!(
        template.contains("fn parse_header"),
        "names the item: {template}"
    );
    assert!(
        !template.contains("input.len()"),
        "never the code: {template}"
    );

    // The user answers in the editor and saves.
    let answered = template.replace(
        "## What does it do?\n\n",
        "## What does it do?\n\nparse_header counts the input because the header size decides the buffer.\n",
    );
    client.notify(
        "textDocument/didOpen",
        did_open(&document_uri, &template, 1),
    );
    client.notify(
        "textDocument/didSave",
        did_save(&document_uri, Some(&answered)),
    );
    let explanation = (0..50)
        .find_map(|_| {
            let report = client.chunks_report(&uri);
            let explanation = report["chunks"][0]["explanation"].clone();
            if explanation.is_null() {
                std::thread::sleep(Duration::from_millis(100));
                None
            } else {
                Some(explanation)
            }
        })
        .unwrap_or_else(|| panic!("{}", client.failure("the saved answers were not recorded")));
    assert!(
        explanation["text"]
            .as_str()
            .unwrap_or("")
            .contains("header size decides the buffer")
    );
    assert!(report_has_no_code_in_document(path));
    client.shutdown();
}

fn report_has_no_code_in_document(path: &Path) -> bool {
    std::fs::read_to_string(path)
        .map(|text| !text.contains("let parse_header_0"))
        .unwrap_or(false)
}

#[test]
fn a_watched_file_changed_on_disk_is_reanchored_while_closed() {
    let workspace = Workspace::new();
    let (uri, path) = workspace.file("lib.rs", &own_code());
    let mut client = workspace.server(vscode_like_capabilities(), Value::Null);
    let registration = client
        .wait_for_server_request("client/registerCapability", PUSH_TIMEOUT, |params| {
            params["registrations"][0]["method"] == json!("workspace/didChangeWatchedFiles")
        })
        .unwrap_or_else(|| panic!("{}", client.failure("no file watcher registration")));
    assert!(registration["registrations"][0]["registerOptions"]["watchers"].is_array());

    client.notify("textDocument/didOpen", did_open(&uri, &own_code(), 1));
    let pasted = new_function("pasted_fn", 12);
    client.notify(
        "textDocument/didChange",
        did_change(&uri, 2, vec![change((10, 0), (10, 0), &pasted)]),
    );
    let text = format!("{}{pasted}", own_code());
    std::fs::write(&path, &text).expect("save");
    client.notify("textDocument/didSave", did_save(&uri, Some(&text)));
    client.notify("textDocument/didClose", did_close(&uri));
    assert_eq!(
        spans(&client.chunks_report(&uri)),
        vec![("pasted".to_string(), 10, 22)]
    );

    // Another program moves the pasted function to the top.
    std::fs::write(&path, format!("{pasted}{}", own_code())).expect("outside edit");
    client.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": uri, "type": 2}]}),
    );
    assert_eq!(
        spans(&client.chunks_report(&uri)),
        vec![("pasted".to_string(), 0, 12)]
    );
    client.shutdown();
}

#[test]
fn a_checkout_is_not_flagged_but_uncommitted_outside_edits_are_external() {
    let workspace = Workspace::new();
    let root = workspace.root();
    let (uri, path) = workspace.file("lib.rs", &own_code());
    git(root, &["init", "-q", "-b", "main"]);
    git(root, &["add", "lib.rs"]);
    git(root, &["commit", "-q", "-m", "own code"]);
    let branch_text = format!("{}{}", own_code(), new_function("from_the_branch", 30));
    git(root, &["checkout", "-q", "-b", "feature"]);
    std::fs::write(&path, &branch_text).expect("branch edit");
    git(root, &["commit", "-q", "-am", "feature work"]);
    git(root, &["checkout", "-q", "main"]);

    let mut client = workspace.server(no_code_lens_capabilities(), Value::Null);
    client.notify("textDocument/didOpen", did_open(&uri, &own_code(), 1));
    // `git checkout feature` on disk; the editor reloads the buffer.
    git(root, &["checkout", "-q", "feature"]);
    client.notify(
        "textDocument/didChange",
        did_change(&uri, 2, vec![json!({"text": branch_text})]),
    );
    let report = client.chunks_report(&uri);
    assert_eq!(
        spans(&report),
        vec![],
        "a checkout is not new code: {report}"
    );

    // Closed, then edited outside the editor with lines git does not have.
    client.notify("textDocument/didClose", did_close(&uri));
    let outside = new_function("written_elsewhere", 8);
    let changed = format!("{outside}{branch_text}");
    std::fs::write(&path, &changed).expect("outside edit");
    client.notify("textDocument/didOpen", did_open(&uri, &changed, 1));
    let report = client.chunks_report(&uri);
    assert_eq!(
        spans(&report),
        vec![("external".to_string(), 0, 8)],
        "{report}"
    );
    assert_eq!(report["counts"]["external"], json!(8));
    client.shutdown();
}

#[test]
fn bad_settings_are_reported_and_the_defaults_stay() {
    let workspace = Workspace::new();
    let (uri, _) = workspace.file("lib.rs", &own_code());
    let options = json!({"whetstone": {"detection": {"minLines": "five"}, "colour": "red"}});
    let mut client = workspace.server(vscode_like_capabilities(), options);
    for expected in ["detection.minLines", "whetstone.colour"] {
        client
            .wait_for_notification("window/logMessage", PUSH_TIMEOUT, |params| {
                params["type"] == json!(2)
                    && params["message"]
                        .as_str()
                        .is_some_and(|message| message.contains(expected))
            })
            .unwrap_or_else(|| {
                panic!(
                    "{}",
                    client.failure(&format!("no warning about {expected}"))
                )
            });
    }
    // Still the default bar: a 6-line paste is flagged.
    client.notify("textDocument/didOpen", did_open(&uri, &own_code(), 1));
    client.notify(
        "textDocument/didChange",
        did_change(
            &uri,
            2,
            vec![change((10, 0), (10, 0), &new_function("six_lines", 6))],
        ),
    );
    assert_eq!(spans(&client.chunks_report(&uri)).len(), 1);

    // A good setting sent later applies: now 6 lines are under an 8-line bar.
    client.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"whetstone": {"detection": {"minLines": 8, "minChars": 1000}}}}),
    );
    client.notify(
        "textDocument/didChange",
        did_change(
            &uri,
            3,
            vec![change((0, 0), (0, 0), &new_function("another_six", 6))],
        ),
    );
    assert_eq!(
        spans(&client.chunks_report(&uri)).len(),
        1,
        "the second paste is under the new bar"
    );
    client.shutdown();
}

#[test]
fn an_edit_origin_hint_flags_a_small_completion_and_undo_hints_do_not() {
    let workspace = Workspace::new();
    let (uri, _) = workspace.file("lib.rs", &own_code());
    let mut client = workspace.server(vscode_like_capabilities(), Value::Null);
    client.notify("textDocument/didOpen", did_open(&uri, &own_code(), 1));
    // Two lines from an inline completion: under the bar, flagged only because the client says so.
    client.notify(
        "whetstone/editOrigin",
        json!({"uri": uri, "version": 2, "origin": "completion"}),
    );
    client.notify(
        "textDocument/didChange",
        did_change(
            &uri,
            2,
            vec![change(
                (10, 0),
                (10, 0),
                "let total = values.iter().sum::<u32>();\nlet mean = total / 3;\n",
            )],
        ),
    );
    assert_eq!(
        spans(&client.chunks_report(&uri)),
        vec![("generated".to_string(), 10, 12)]
    );
    // A hint with an unknown origin is logged and ignored; the server keeps answering.
    client.notify(
        "whetstone/editOrigin",
        json!({"uri": uri, "version": 3, "origin": "telepathy"}),
    );
    client.notify(
        "textDocument/didChange",
        did_change(&uri, 3, vec![change((0, 0), (0, 0), "x")]),
    );
    assert_eq!(spans(&client.chunks_report(&uri)).len(), 1);
    client.shutdown();
}

/// Git is asked off the loop: while `git show` for one file hangs, the server goes on answering
/// about another; the hanging file's events wait in their order and use git's answer once it
/// comes (the checkout is not flagged).
#[test]
fn a_slow_git_holds_up_only_its_own_document() {
    let workspace = Workspace::new();
    let root = workspace.root();
    let (slow_uri, slow_path) = workspace.file("slow.rs", &own_code());
    let (other_uri, _) = workspace.file("other.rs", &own_code());
    git(root, &["init", "-q", "-b", "main"]);
    git(root, &["add", "slow.rs", "other.rs"]);
    git(root, &["commit", "-q", "-m", "own code"]);
    let branch_text = format!("{}{}", own_code(), new_function("from_the_branch", 30));
    git(root, &["checkout", "-q", "-b", "feature"]);
    std::fs::write(&slow_path, &branch_text).expect("branch edit");
    git(root, &["commit", "-q", "-am", "feature work"]);

    // A `git` ahead of the real one on PATH that, for slow.rs only, waits for `release`.
    let real_git = Command::new("sh")
        .args(["-c", "command -v git"])
        .output()
        .expect("sh runs");
    let real_git = String::from_utf8_lossy(&real_git.stdout).trim().to_string();
    let bin = tempfile::tempdir().expect("bin folder");
    let release = bin.path().join("release");
    let script = format!(
        "#!/bin/sh\ncase \"$*\" in *slow.rs*)\n  tries=0\n  while [ ! -e '{}' ] && [ $tries -lt 1200 ]; do sleep 0.1; tries=$((tries + 1)); done;;\nesac\nexec '{real_git}' \"$@\"\n",
        release.display()
    );
    let fake = bin.path().join("git");
    std::fs::write(&fake, script).expect("write the slow git");
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("make it runnable");
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let home = workspace.home().to_string_lossy().into_owned();
    let mut client = whetstone_tests::lsp::LspClient::start_with(
        &whetstone_tests::binary::whetstone_binary(),
        &["lsp"],
        &[
            ("WHETSTONE_HOME", &home),
            ("WHETSTONE_LOG", "debug"),
            ("PATH", &path),
        ],
    );
    client.initialize(root, no_code_lens_capabilities(), Value::Null);
    git(root, &["checkout", "-q", "main"]);
    client.notify("textDocument/didOpen", did_open(&slow_uri, &own_code(), 1));
    client.notify("textDocument/didOpen", did_open(&other_uri, &own_code(), 1));

    // `git checkout feature`; the editor reloads slow.rs, and the server asks git about it.
    git(root, &["checkout", "-q", "feature"]);
    client.notify(
        "textDocument/didChange",
        did_change(&slow_uri, 2, vec![json!({"text": branch_text})]),
    );
    let slow_chunks = client.send_request(
        "workspace/executeCommand",
        json!({"command": "whetstone.chunks", "arguments": [{"uri": slow_uri}]}),
    );
    // Meanwhile other.rs is answered, pasted into and answered again.
    assert_eq!(spans(&client.chunks_report(&other_uri)), vec![]);
    client.notify(
        "textDocument/didChange",
        did_change(
            &other_uri,
            2,
            vec![change((10, 0), (10, 0), &new_function("pasted_here", 12))],
        ),
    );
    assert_eq!(
        spans(&client.chunks_report(&other_uri)),
        vec![("pasted".to_string(), 10, 22)]
    );
    assert!(
        client.response(slow_chunks, Duration::ZERO).is_none(),
        "slow.rs was answered before git was"
    );

    std::fs::write(&release, "").expect("release git");
    let report = client
        .response(slow_chunks, Duration::from_secs(60))
        .unwrap_or_else(|| panic!("{}", client.failure("slow.rs never answered")))
        .expect("whetstone.chunks for slow.rs");
    assert_eq!(
        spans(&report),
        vec![],
        "git's answer was used: a checkout is not new code: {report}"
    );
    client.shutdown();
}
