//! End to end: a calibration session over LSP — start, type, paste (a breach: a diagnostic and a
//! message arrive at once), stop with a feel — and then, after the server exits, the command
//! line's report shows the session, its pace and the breach.

use std::time::Duration;

use serde_json::{Value, json};
use whetstone_tests::capabilities::{no_code_lens_capabilities, vscode_like_capabilities};
use whetstone_tests::lsp::LspClient;
use whetstone_tests::params::{change, did_change, did_open};
use whetstone_tests::requests::PUSH_TIMEOUT;
use whetstone_tests::workspace::Workspace;

fn pasted_block() -> String {
    (0..12)
        .map(|index| {
            format!("    let pasted_{index} = table.lookup({index}).unwrap_or_default();\n")
        })
        .collect()
}

/// A server on `workspace`'s store with `capabilities`.
fn start_server(workspace: &Workspace, capabilities: Value) -> LspClient {
    // Reminders would add messages of their own; this test is about the session.
    workspace.server(
        capabilities,
        json!({"whetstone": {"reminders": {"calibrationDays": 0}}}),
    )
}

#[test]
fn a_session_measures_typing_records_a_breach_and_reaches_the_report() {
    let workspace = Workspace::new();
    let text = "fn main() {\n}\n";
    let (uri, _) = workspace.file("lib.rs", text);

    let mut client = start_server(&workspace, vscode_like_capabilities());
    let started = client
        .execute_command(
            "whetstone.calibration.start",
            json!({"label": "parser", "minutes": 90}),
        )
        .unwrap_or_else(|error| panic!("{}", client.failure(&format!("start failed: {error}"))));
    assert_eq!(started["running"], json!(true));
    assert_eq!(started["label"], json!("parser"));
    let again = client.execute_command("whetstone.calibration.start", json!({}));
    assert!(again.is_err(), "a second start while one runs is refused");

    client.notify("textDocument/didOpen", did_open(&uri, text, 1));
    // Three lines typed key by key.
    let mut version = 1;
    let (mut line, mut column) = (1u32, 0u32);
    for character in "let a = 1;\nlet b = 2;\nlet c = a + b;\n".chars() {
        version += 1;
        client.notify(
            "textDocument/didChange",
            did_change(
                &uri,
                version,
                vec![change(
                    (line, column),
                    (line, column),
                    &character.to_string(),
                )],
            ),
        );
        if character == '\n' {
            line += 1;
            column = 0;
        } else {
            column += 1;
        }
        std::thread::sleep(Duration::from_millis(15));
    }
    // A paste during the session.
    version += 1;
    client.notify(
        "textDocument/didChange",
        did_change(&uri, version, vec![change((4, 0), (4, 0), &pasted_block())]),
    );
    let breach = client
        .wait_for_notification("textDocument/publishDiagnostics", PUSH_TIMEOUT, |params| {
            params["diagnostics"].as_array().is_some_and(|all| {
                all.iter()
                    .any(|diagnostic| diagnostic["code"] == json!("paste-during-calibration"))
            })
        })
        .unwrap_or_else(|| {
            panic!(
                "{}",
                client.failure("no paste-during-calibration diagnostic")
            )
        });
    let diagnostic = breach["diagnostics"]
        .as_array()
        .and_then(|all| {
            all.iter()
                .find(|diagnostic| diagnostic["code"] == json!("paste-during-calibration"))
                .cloned()
        })
        .expect("the breach diagnostic");
    assert_eq!(diagnostic["range"]["start"]["line"], json!(4));
    client
        .wait_for_notification("window/showMessage", PUSH_TIMEOUT, |params| {
            params["type"] == json!(2)
                && params["message"]
                    .as_str()
                    .is_some_and(|message| message.contains("breach"))
        })
        .unwrap_or_else(|| panic!("{}", client.failure("no breach message")));

    let status = client
        .execute_command("whetstone.calibration.status", json!({}))
        .expect("status");
    assert_eq!(status["typed_lines"], json!(3));
    assert_eq!(status["breaches"].as_array().map(Vec::len), Some(1));

    let stopped = client
        .execute_command(
            "whetstone.calibration.stop",
            json!({"feel": 4, "notes": "parser without help"}),
        )
        .expect("stop");
    assert_eq!(stopped["running"], json!(false));
    assert_eq!(stopped["feel"], json!(4));
    assert_eq!(
        client
            .execute_command("whetstone.calibration.status", json!({}))
            .expect("status"),
        Value::Null
    );
    // The breach warning goes with the session.
    client
        .wait_for_notification("textDocument/publishDiagnostics", PUSH_TIMEOUT, |params| {
            params["diagnostics"]
                .as_array()
                .is_some_and(|all| all.is_empty())
        })
        .unwrap_or_else(|| {
            panic!(
                "{}",
                client.failure("the breach diagnostic was not cleared")
            )
        });
    client.shutdown();

    // The server is gone: the command line reads the store.
    let output = workspace.whetstone(&["report", "--json"]);
    assert!(
        output.status.success(),
        "report failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).expect("report is JSON");
    let sessions = report["calibration"]["sessions"]
        .as_array()
        .expect("sessions");
    assert_eq!(sessions.len(), 1, "{report}");
    let session = &sessions[0];
    assert_eq!(session["label"], json!("parser"));
    assert_eq!(session["typed_lines"], json!(3));
    assert_eq!(session["breaches"], json!(1));
    assert_eq!(session["feel"], json!(4));
    assert!(
        session["pace"].as_f64().is_some_and(|pace| pace > 0.0),
        "{session}"
    );
}

#[test]
fn without_a_feel_the_client_is_asked_and_helix_gets_code_actions() {
    let workspace = Workspace::new();
    let (uri, _) = workspace.file("lib.rs", "fn main() {}\n");

    // A client that can answer: it is asked, answers "5 smooth", and the session records it.
    let mut client = start_server(&workspace, vscode_like_capabilities());
    client.answer_message_requests_with(Some(json!({"title": "5 smooth"})));
    client
        .execute_command("whetstone.calibration.start", json!({}))
        .expect("start");
    client
        .execute_command("whetstone.calibration.stop", json!({}))
        .expect("stop");
    let asked = client
        .wait_for_server_request("window/showMessageRequest", PUSH_TIMEOUT, |_| true)
        .unwrap_or_else(|| panic!("{}", client.failure("the feel was not asked")));
    assert_eq!(asked["actions"].as_array().map(Vec::len), Some(5));
    client.shutdown();

    // A client without showMessageRequest (Helix): not asked; code actions offer the feel instead.
    let mut helix = start_server(&workspace, no_code_lens_capabilities());
    helix
        .execute_command("whetstone.calibration.start", json!({}))
        .expect("start");
    helix
        .execute_command("whetstone.calibration.stop", json!({}))
        .expect("stop");
    helix.notify("textDocument/didOpen", did_open(&uri, "fn main() {}\n", 1));
    let actions = helix
        .request(
            "textDocument/codeAction",
            json!({
                "textDocument": {"uri": uri},
                "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
                "context": {"diagnostics": []}
            }),
        )
        .expect("code actions");
    let feel_titles: Vec<String> = actions
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|action| action["title"].as_str())
        .filter(|title| title.contains("felt"))
        .map(str::to_string)
        .collect();
    assert_eq!(feel_titles.len(), 5, "{actions}");
    assert!(
        helix
            .server_requests("window/showMessageRequest")
            .is_empty()
    );
    // Rating later through the command.
    let rated = helix
        .execute_command("whetstone.calibration.stop", json!({"feel": 2}))
        .expect("a feel for the last session");
    assert_eq!(rated["feel"], json!(2));
    helix.shutdown();
}

/// The first-run reminder names the command to run the way the user's editor runs it: the
/// server knows its client by the name it gives in `initialize`.
#[test]
fn the_reminder_speaks_each_editors_language() {
    let cases = [
        ("Neovim", ":Whetstone calibrate start"),
        (
            "helix",
            ":lsp-workspace-command whetstone.calibration.start",
        ),
        (
            "Visual Studio Code",
            "\"Whetstone: Start calibration session\"",
        ),
        ("Zed", "the command whetstone.calibration.start"),
    ];
    for (client_name, command) in cases {
        let workspace = Workspace::new();
        let mut client = workspace.server_as(
            client_name,
            no_code_lens_capabilities(),
            json!({"whetstone": {"reminders": {"calibrationDays": 7}}}),
        );
        let reminder = client
            .wait_for_notification("window/showMessage", PUSH_TIMEOUT, |params| {
                params["message"]
                    .as_str()
                    .is_some_and(|message| message.starts_with("No calibration block yet."))
            })
            .unwrap_or_else(|| panic!("{}", client.failure("no reminder")));
        let message = reminder["message"].as_str().unwrap_or_default();
        assert!(
            message.ends_with(command),
            "{client_name}: {message:?} should end with {command:?}"
        );
        for other in cases.iter().filter(|(name, _)| *name != client_name) {
            assert!(!message.contains(other.1), "{client_name}: {message:?}");
        }
        client.shutdown();
    }
}
