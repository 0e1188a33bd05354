//! End-to-end tests of the store commands of the command line: `whetstone calibrate`,
//! `whetstone report` and `whetstone status`, each run on a store of its own (WHETSTONE_HOME in a
//! temporary folder), and what they say while a language server holds the store.

use std::path::Path;
use std::process::Output;

use expect_test::expect;
use serde_json::{Value, json};
use whetstone_tests::cli::{self, assert_exit, assert_one_line_failure, stderr, stdout};
use whetstone_tests::params::{change, did_change, did_close, did_open};
use whetstone_tests::workspace::Workspace;

/// Runs `whetstone` with `arguments` on the store in `home`, from the folder `home`.
fn whetstone(home: &Path, arguments: &[&str]) -> Output {
    cli::run(home, home, arguments)
}

#[test]
fn start_status_stop_and_rate() {
    let home = tempfile::tempdir().expect("store folder");
    let home = home.path();

    let status = whetstone(home, &["calibrate", "status"]);
    assert_exit(&status, 0, "status before any session");
    assert_eq!(stdout(&status), "no calibration session running\n");

    let start = whetstone(home, &["calibrate", "start", "--label", "parser rewrite"]);
    assert_exit(&start, 0, "start");
    assert!(
        stdout(&start).starts_with("calibration session started at ")
            && stdout(&start).contains(" UTC: parser rewrite\n"),
        "{}",
        stdout(&start)
    );

    let status = whetstone(home, &["calibrate", "status"]);
    assert_exit(&status, 0, "status while running");
    let shown = stdout(&status);
    assert!(
        shown.starts_with("calibration session running: parser rewrite\n"),
        "{shown}"
    );
    for line in [
        "  started      ",
        "  active       0 minutes",
        "  typed lines  0",
        "  breaches     0",
    ] {
        assert!(shown.contains(line), "{line:?} in {shown}");
    }

    let again = whetstone(home, &["calibrate", "start"]);
    let message = assert_one_line_failure(&again, "a second start");
    assert!(
        message.contains("a calibration session is already running since ")
            && message.trim_end().ends_with(" UTC"),
        "{message}"
    );

    let stop = whetstone(
        home,
        &[
            "calibrate",
            "stop",
            "--feel",
            "4",
            "--notes",
            "slow start, then fine",
        ],
    );
    assert_exit(&stop, 0, "stop");
    assert!(stdout(&stop).starts_with("calibration session \"parser rewrite\" ended at "));
    assert!(
        stdout(&stop).contains("felt 4 of 5 (good)"),
        "{}",
        stdout(&stop)
    );

    // Stopping twice: nothing runs, and the last session already has its feel.
    let twice = whetstone(home, &["calibrate", "stop"]);
    let message = assert_one_line_failure(&twice, "a second stop");
    assert_eq!(message, "whetstone: no calibration session is running\n");
    let rerate = whetstone(home, &["calibrate", "stop", "--feel", "2"]);
    let message = assert_one_line_failure(&rerate, "rating a rated session");
    assert!(message.contains("already has its feel"), "{message}");

    let status = whetstone(home, &["calibrate", "status"]);
    assert_eq!(stdout(&status), "no calibration session running\n");

    // The report shows the session with its feel.
    let report = whetstone(home, &["report", "--json"]);
    assert_exit(&report, 0, "report --json");
    let report: Value = serde_json::from_slice(&report.stdout).expect("the report is JSON");
    let sessions = report["calibration"]["sessions"]
        .as_array()
        .expect("sessions");
    assert_eq!(sessions.len(), 1, "{report:#}");
    assert_eq!(sessions[0]["feel"], json!(4));
    assert_eq!(sessions[0]["label"], json!("parser rewrite"));
    assert_eq!(sessions[0]["running"], json!(false));
}

#[test]
fn a_session_stopped_without_a_feel_is_rated_after() {
    let home = tempfile::tempdir().expect("store folder");
    let home = home.path();
    assert_exit(
        &whetstone(home, &["calibrate", "start", "--minutes", "30"]),
        0,
        "start",
    );
    let stop = whetstone(home, &["calibrate", "stop"]);
    assert_exit(&stop, 0, "stop without a feel");
    assert!(
        stdout(&stop).contains("How did it feel?"),
        "{}",
        stdout(&stop)
    );

    let status = whetstone(home, &["calibrate", "status"]);
    assert!(
        stdout(&status).contains("without a feel"),
        "{}",
        stdout(&status)
    );

    let rate = whetstone(home, &["calibrate", "stop", "--feel=2"]);
    assert_exit(&rate, 0, "rate afterwards");
    assert!(
        stdout(&rate).starts_with("recorded for the calibration session started ")
            && stdout(&rate).contains("felt 2 of 5 (hard going)"),
        "{}",
        stdout(&rate)
    );
    let report = whetstone(home, &["report", "--json", "--since", "1"]);
    let report: Value = serde_json::from_slice(&report.stdout).expect("the report is JSON");
    assert_eq!(report["calibration"]["sessions"][0]["feel"], json!(2));
}

#[test]
fn bad_arguments_are_usage_errors_and_change_nothing() {
    let home = tempfile::tempdir().expect("store folder");
    let home = home.path();
    assert_exit(&whetstone(home, &["calibrate", "start"]), 0, "start");
    for arguments in [
        &["calibrate", "stop", "--feel", "0"][..],
        &["calibrate", "stop", "--feel", "6"],
        &["calibrate", "stop", "--feel", "good"],
        &["calibrate", "stop", "--feel"],
        &["calibrate", "start", "--minutes", "0"],
        &["calibrate", "pause"],
        &["report", "--json", "--markdown"],
        &["report", "--since", "0"],
    ] {
        let output = whetstone(home, arguments);
        assert_exit(&output, 2, &arguments.join(" "));
        assert!(
            stderr(&output).contains("usage: whetstone"),
            "{arguments:?}"
        );
    }
    let status = whetstone(home, &["calibrate", "status"]);
    assert!(
        stdout(&status).starts_with("calibration session running\n"),
        "{}",
        stdout(&status)
    );
}

#[test]
fn status_and_report_on_an_empty_store() {
    let home = tempfile::tempdir().expect("store folder");
    let home = home.path();
    let status = whetstone(home, &["status"]);
    assert_exit(&status, 0, "status");
    assert!(
        stdout(&status).starts_with("no tracked files in "),
        "{}",
        stdout(&status)
    );

    let summary = whetstone(home, &["report"]);
    assert_exit(&summary, 0, "report");
    let summary = stdout(&summary);
    assert!(summary.starts_with("whetstone report, "), "{summary}");
    assert!(summary.contains("Capability debt: 0 lines"), "{summary}");

    let markdown = whetstone(home, &["report", "--markdown"]);
    assert_exit(&markdown, 0, "report --markdown");
    assert!(!stdout(&markdown).is_empty());

    let page = home.join("report.html");
    let html = whetstone(home, &["report", "--html", "report.html"]);
    assert_exit(&html, 0, "report --html");
    assert_eq!(
        stdout(&html),
        format!("wrote the report to {}\n", page.display())
    );
    let written = std::fs::read_to_string(&page).expect("the page was written");
    assert!(written.contains("<html"), "{written}");

    let unwritable = whetstone(home, &["report", "--html", "no/such/folder/report.html"]);
    let message = assert_one_line_failure(&unwritable, "report to a missing folder");
    assert!(
        message.contains("cannot write the report to no/such/folder/report.html"),
        "{message}"
    );
}

#[test]
fn the_command_line_works_through_the_server_that_holds_the_store() {
    let workspace = Workspace::new();
    let own: String = (0..4)
        .map(|index| format!("pub fn own_{index}() {{}}\n"))
        .collect();
    let (uri, path) = workspace.file("lib.rs", &own);

    let mut server = workspace.vscode_server();
    server.notify("textDocument/didOpen", did_open(&uri, &own, 1));
    let pasted: String = (0..8)
        .map(|index| format!("pub fn pasted_{index}(value: u32) -> u32 {{ value * {index} }}\n"))
        .collect();
    server.notify(
        "textDocument/didChange",
        did_change(&uri, 2, vec![change((4, 0), (4, 0), &pasted)]),
    );
    // A classification is flushed before the command answers.
    let chunk = server.chunk_at(&uri, 4);
    server.classify(&uri, chunk, "core");

    // While the server runs, the command line reads and writes the same store through it.
    let status = whetstone(
        workspace.home(),
        &["status", &workspace.root().display().to_string()],
    );
    assert_exit(&status, 0, "status while the server holds the store");
    // The whole table: 4 typed lines, 8 pasted in one core chunk, not explained.
    expect![[r#"
        file    typed  pasted  generated  moved  external  restored  unclassified  transient  repeatable  core  explained  debt
        lib.rs      4       8          0      0         0         0             0          0           0     1         0%     8

        lines by origin; chunks by class; explained: share of the chunks' lines with an explanation that passes (a shallow one counts as none); debt: lines of unexplained core chunks plus half of the repeatable ones not reproduced on time

        Detection as you judged it, last 28 days — 1 chunk flagged: 1 classified, none called not AI (100% right).
    "#]].assert_eq(&workspace.redactions().apply(&stdout(&status)));
    assert_exit(&whetstone(workspace.home(), &["report"]), 0, "report");

    // A session started on the command line reaches the server at once...
    let start = whetstone(
        workspace.home(),
        &["calibrate", "start", "--label", "from the shell"],
    );
    assert_exit(&start, 0, "calibrate start");
    let told =
        server.wait_for_calibration("the start", |status| status["label"] == "from the shell");
    assert_eq!(told["label"], "from the shell");
    let running = server
        .execute_command("whetstone.calibration.status", json!({}))
        .expect("status");
    assert_eq!(running["label"], "from the shell");
    // ...and one stopped in the editor is stopped for the command line too.
    server
        .execute_command("whetstone.calibration.stop", json!({ "feel": 4 }))
        .expect("stop");
    let status = whetstone(workspace.home(), &["calibrate", "status"]);
    assert_exit(&status, 0, "calibrate status");
    assert!(
        stdout(&status).starts_with("no calibration session running"),
        "{}",
        stdout(&status)
    );

    server.notify("textDocument/didClose", did_close(&uri));
    let exit = server.shutdown();
    assert!(exit.success(), "the server exits cleanly");
    // With no server, the command line holds the store itself.
    let file_status = whetstone(workspace.home(), &["status", &path.display().to_string()]);
    assert_exit(&file_status, 0, "status of one file");
    assert!(
        stdout(&file_status).contains("\nlib.rs "),
        "{}",
        stdout(&file_status)
    );
}

#[test]
fn version_says_which_whetstone_this_is() {
    let home = tempfile::tempdir().expect("store folder");
    for flag in ["--version", "version", "-V"] {
        let output = whetstone(home.path(), &[flag]);
        assert_exit(&output, 0, flag);
        assert_eq!(
            stdout(&output),
            format!("whetstone {}\n", env!("CARGO_PKG_VERSION")),
            "{flag}"
        );
    }
    assert_exit(
        &whetstone(home.path(), &["--version", "extra"]),
        2,
        "--version extra",
    );
}
