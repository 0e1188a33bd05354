//! Bad input on every edge of `whetstone lsp`: malformed frames, messages of the wrong shape,
//! wild ranges, huge and binary documents, URIs that are not files, hostile command arguments.
//!
//! Each test first records a verdict (a pasted function, classified as core), then sends the bad
//! input, then checks that the server still answers a request and still reports the verdict. The
//! server runs in a sandbox (its HOME, TMPDIR, XDG folders, working directory, store and workspace
//! all in one temporary folder), and every test ends by checking that the server wrote nothing
//! there outside its store.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use tempfile::TempDir;
use whetstone_tests::capabilities::vscode_like_capabilities;
use whetstone_tests::cli;
use whetstone_tests::frames::{encode_frame, frame};
use whetstone_tests::lsp::LspClient;
use whetstone_tests::params::{
    change, code_lens_params, did_change, did_close, did_open, did_save, file_uri, hover_params,
    whole_document_change,
};
use whetstone_tests::requests::chunk_id;

/// The file every test starts from.
const SOURCE: &str = "\
//! A small module.

pub struct Counter {
    count: u64,
}

";

/// Where the paste lands: the empty last line.
/// Past this a request or an exit is taken for a hang, not for a loaded machine.
const HANG: Duration = Duration::from_secs(600);
const PASTE_LINE: u32 = 6;
const PASTED_LINES: u64 = 8;

/// A pasted function of eight distinct lines: one chunk.
const PASTED_FUNCTION: &str = "\
impl Counter {
    pub fn add_twice(&mut self, amount: u64) -> u64 {
        let doubled = amount.saturating_mul(2);
        self.count = self.count.saturating_add(doubled);
        tracing_hook(\"counter\", self.count);
        self.count
    }
}
";

/// A notification any server accepts and ignores.
const HARMLESS_NOTIFICATION: &str =
    r#"{"jsonrpc":"2.0","method":"$/setTrace","params":{"value":"off"}}"#;

/// Everything the server may see or touch, in one temporary folder.
struct Sandbox {
    root: TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        let root = tempfile::tempdir().expect("a temporary sandbox");
        for folder in ["home", "tmp", "cwd", "store", "workspace/src"] {
            fs::create_dir_all(root.path().join(folder)).expect("a sandbox folder");
        }
        fs::write(root.path().join("workspace/src/lib.rs"), SOURCE).expect("the source file");
        Sandbox { root }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.root.path().join(relative)
    }

    fn workspace(&self) -> PathBuf {
        self.path("workspace")
    }

    fn store(&self) -> PathBuf {
        self.path("store")
    }

    /// `whetstone lsp` with every folder it could write to pointed into the sandbox.
    fn start(&self) -> LspClient {
        self.start_with_store(&self.store())
    }

    /// Every folder the binary could write to, pointed into the sandbox; the store is `store`.
    fn environment(&self, store: &Path) -> Vec<(&'static str, String)> {
        let path = |relative: &str| self.path(relative).to_string_lossy().into_owned();
        vec![
            ("HOME", path("home")),
            ("TMPDIR", path("tmp")),
            ("XDG_DATA_HOME", path("home/.local/share")),
            ("XDG_CONFIG_HOME", path("home/.config")),
            ("XDG_CACHE_HOME", path("home/.cache")),
            ("XDG_STATE_HOME", path("home/.local/state")),
            ("WHETSTONE_HOME", store.to_string_lossy().into_owned()),
            ("WHETSTONE_LOG", "debug".to_string()),
        ]
    }

    /// `whetstone lsp` in the sandbox, with its store in `store`.
    fn start_with_store(&self, store: &Path) -> LspClient {
        let binary = whetstone_tests::whetstone_binary();
        let environment = self.environment(store);
        let environment: Vec<(&str, &str)> = environment
            .iter()
            .map(|(name, value)| (*name, value.as_str()))
            .collect();
        let mut client =
            LspClient::start_in(&binary, &["lsp"], &environment, Some(&self.path("cwd")));
        client.initialize(&self.workspace(), vscode_like_capabilities(), json!({}));
        client
    }

    /// `whetstone status` in the workspace, with its store in `store`.
    fn status(&self, store: &Path) -> std::process::Output {
        let environment = self.environment(store);
        cli::command(store, &self.workspace())
            .arg("status")
            .envs(environment.iter().map(|(name, value)| (name, value)))
            .output()
            .expect("whetstone status runs")
    }

    /// Files in the sandbox outside the store, other than the source file the test wrote.
    fn files_outside_the_store(&self) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let mut stack = vec![self.root.path().to_path_buf()];
        while let Some(folder) = stack.pop() {
            if folder == self.store() {
                continue;
            }
            for entry in fs::read_dir(&folder).expect("a readable sandbox folder") {
                let path = entry.expect("a directory entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else if path != self.path("workspace/src/lib.rs") {
                    found.push(path);
                }
            }
        }
        found
    }
}

/// A server in a sandbox with one recorded verdict: a pasted function classified as core.
struct Session {
    sandbox: Sandbox,
    client: LspClient,
    uri: String,
    chunk: u64,
    version: i32,
}

impl Session {
    fn start() -> Session {
        let sandbox = Sandbox::new();
        let mut client = sandbox.start();
        let uri = file_uri(&sandbox.path("workspace/src/lib.rs"));
        client.notify("textDocument/didOpen", did_open(&uri, SOURCE, 1));
        client.notify(
            "textDocument/didChange",
            did_change(
                &uri,
                2,
                vec![change((PASTE_LINE, 0), (PASTE_LINE, 0), PASTED_FUNCTION)],
            ),
        );
        let chunk = chunk_id(&client.only_chunk(&uri));
        client.classify(&uri, chunk, "core");
        Session {
            sandbox,
            client,
            uri,
            chunk,
            version: 2,
        }
    }

    fn next_version(&mut self) -> i32 {
        self.version += 1;
        self.version
    }

    fn change(&mut self, changes: Vec<Value>) {
        let version = self.next_version();
        self.client.notify(
            "textDocument/didChange",
            did_change(&self.uri, version, changes),
        );
    }

    /// The server answers `whetstone.chunks` and a code lens request, and still reports the
    /// core chunk recorded at the start, whole (edits above it may have moved it).
    fn assert_still_serving(&mut self, after: &str) {
        let report = match self
            .client
            .execute_command("whetstone.chunks", json!({"uri": self.uri}))
        {
            Ok(report) => report,
            Err(error) => panic!(
                "{}",
                self.client
                    .failure(&format!("after {after}: whetstone.chunks failed: {error}"))
            ),
        };
        let recorded = report["chunks"].as_array().and_then(|chunks| {
            chunks
                .iter()
                .find(|chunk| chunk["id"].as_u64() == Some(self.chunk))
        });
        let Some(recorded) = recorded else {
            panic!(
                "{}",
                self.client.failure(&format!(
                    "after {after}: the recorded chunk is gone: {report:#}"
                ))
            );
        };
        assert_eq!(recorded["class"], "core", "after {after}: {report:#}");
        assert_eq!(recorded["lines"], PASTED_LINES, "after {after}: {report:#}");
        match self
            .client
            .request("textDocument/codeLens", code_lens_params(&self.uri))
        {
            Ok(Value::Array(lenses)) => assert!(
                lenses
                    .iter()
                    .any(|lens| lens["command"]["command"] == "whetstone.explain"),
                "after {after}: a core chunk keeps its Explain lens: {lenses:#?}"
            ),
            other => panic!(
                "{}",
                self.client
                    .failure(&format!("after {after}: code lens answered {other:?}"))
            ),
        }
        assert!(
            self.client.is_running(),
            "{}",
            self.client
                .failure(&format!("after {after}: the server died"))
        );
    }

    /// Shuts the server down cleanly and checks it wrote nothing outside its store.
    fn finish(self) {
        let Session {
            sandbox, client, ..
        } = self;
        let mut client = client;
        if let Err(error) = client.request("shutdown", Value::Null) {
            panic!("{}", client.failure(&format!("shutdown failed: {error}")));
        }
        client.notify("exit", Value::Null);
        // The server gives its final flush 10 s whatever is open, then exits.
        let status = client.wait_for_exit(HANG);
        assert!(
            status.success(),
            "{}",
            client.failure(&format!("whetstone lsp exited with {status}"))
        );
        let strays = sandbox.files_outside_the_store();
        assert!(
            strays.is_empty(),
            "the server wrote outside its store: {strays:#?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------

#[test]
fn malformed_frames_cost_at_most_their_own_message() {
    let mut session = Session::start();
    let body = HARMLESS_NOTIFICATION.as_bytes();
    let uri = session.uri.clone();
    let deep = format!(
        r#"{{"jsonrpc":"2.0","method":"$/x","params":{}{}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "a body that is not JSON",
            b"Content-Length: 9\r\n\r\n{\"oops\": ".to_vec(),
        ),
        (
            "no Content-Length",
            [
                b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n".as_slice(),
                body,
            ]
            .concat(),
        ),
        (
            "a Content-Length that is a word",
            [b"Content-Length: twelve\r\n\r\n".as_slice(), body].concat(),
        ),
        (
            "a negative Content-Length",
            [b"Content-Length: -64\r\n\r\n".as_slice(), body].concat(),
        ),
        (
            "an absurd Content-Length",
            [b"Content-Length: 99999999999999\r\n\r\n".as_slice(), body].concat(),
        ),
        (
            "a Content-Length beyond 64 bits",
            [
                b"Content-Length: 99999999999999999999999999999\r\n\r\n".as_slice(),
                body,
            ]
            .concat(),
        ),
        (
            "a Content-Length larger than the body",
            b"Content-Length: 4000\r\n\r\n{}".to_vec(),
        ),
        (
            "a Content-Length of zero",
            b"Content-Length: 0\r\n\r\n".to_vec(),
        ),
        (
            "a header block without its blank line",
            [
                format!("Content-Length: {}\r\n", body.len()).as_bytes(),
                body,
            ]
            .concat(),
        ),
        (
            "a header that is not UTF-8",
            [b"Content-\xff\xfeLength: 5\r\n\r\n".as_slice(), body].concat(),
        ),
        (
            "a header line of 100 KB",
            [
                format!("X-Padding: {}\r\n", "a".repeat(100_000)).as_bytes(),
                &frame(body),
            ]
            .concat(),
        ),
        ("text between frames", b"hello, server\r\n\r\n\r\n".to_vec()),
        (
            "a body that is not UTF-8",
            frame(b"{\"jsonrpc\":\"2.0\",\"method\":\"$/x\",\"params\":\"\xff\xfe\"}"),
        ),
        (
            "a lone surrogate escape",
            frame(br#"{"jsonrpc":"2.0","method":"$/x","params":"\ud800"}"#),
        ),
        (
            "a number out of range",
            frame(br#"{"jsonrpc":"2.0","method":"$/x","params":[1e999]}"#),
        ),
        ("JSON nested 100,000 deep", frame(deep.as_bytes())),
        (
            "no jsonrpc version",
            frame(br#"{"method":"textDocument/codeLens","id":5,"params":{}}"#),
        ),
        (
            "a batch",
            frame(format!("[{HARMLESS_NOTIFICATION}]").as_bytes()),
        ),
        ("a bare number", frame(b"42")),
        (
            "an id that is an object",
            encode_frame(
                &json!({"jsonrpc": "2.0", "id": {"x": 1}, "method": "textDocument/codeLens", "params": code_lens_params(&uri)}),
            ),
        ),
        (
            "an id that is a fraction",
            encode_frame(
                &json!({"jsonrpc": "2.0", "id": 1.5, "method": "textDocument/codeLens", "params": code_lens_params(&uri)}),
            ),
        ),
        (
            "a method that is a number",
            encode_frame(&json!({"jsonrpc": "2.0", "id": 900, "method": 7})),
        ),
        (
            "params that are a string",
            encode_frame(
                &json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": "hello"}),
            ),
        ),
        (
            "a request whose params are a string",
            encode_frame(
                &json!({"jsonrpc": "2.0", "id": 901, "method": "workspace/executeCommand", "params": "whetstone.chunks"}),
            ),
        ),
        (
            "didChange without textDocument",
            encode_frame(
                &json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {"contentChanges": [{"text": "x"}]}}),
            ),
        ),
        (
            "didOpen without text",
            encode_frame(
                &json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {"uri": uri, "languageId": "rust", "version": 1}}}),
            ),
        ),
        (
            "a negative position",
            encode_frame(
                &json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {"textDocument": {"uri": uri, "version": 50}, "contentChanges": [{"range": {"start": {"line": -1, "character": 0}, "end": {"line": 0, "character": -5}}, "text": "x"}]}}),
            ),
        ),
        (
            "positions that are strings",
            encode_frame(
                &json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {"textDocument": {"uri": uri, "version": 51}, "contentChanges": [{"range": {"start": {"line": "0", "character": "0"}, "end": {"line": "0", "character": "1"}}, "text": "x"}]}}),
            ),
        ),
        (
            "a hover at a negative position",
            encode_frame(
                &json!({"jsonrpc": "2.0", "id": 902, "method": "textDocument/hover", "params": {"textDocument": {"uri": uri}, "position": {"line": -3, "character": 2}}}),
            ),
        ),
        (
            "an unknown request",
            encode_frame(
                &json!({"jsonrpc": "2.0", "id": 903, "method": "whetstone/noSuchThing", "params": {}}),
            ),
        ),
        (
            "an unknown notification",
            encode_frame(
                &json!({"jsonrpc": "2.0", "method": "whetstone/noSuchThing", "params": [1, 2, 3]}),
            ),
        ),
        (
            "an editOrigin of the wrong shape",
            encode_frame(
                &json!({"jsonrpc": "2.0", "method": "whetstone/editOrigin", "params": {"uri": 5, "origin": ["paste"]}}),
            ),
        ),
        (
            "an editOrigin with an unknown origin",
            encode_frame(
                &json!({"jsonrpc": "2.0", "method": "whetstone/editOrigin", "params": {"uri": uri, "origin": "telepathy"}}),
            ),
        ),
        (
            "a response nobody asked for",
            encode_frame(&json!({"jsonrpc": "2.0", "id": 777, "result": {"anything": true}})),
        ),
        (
            "an error response nobody asked for",
            encode_frame(
                &json!({"jsonrpc": "2.0", "id": "abc", "error": {"code": -1, "message": "no"}}),
            ),
        ),
        (
            "a second initialize",
            encode_frame(
                &json!({"jsonrpc": "2.0", "id": 904, "method": "initialize", "params": {"capabilities": {}}}),
            ),
        ),
        (
            "a cancel of nothing",
            encode_frame(
                &json!({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": 123_456}}),
            ),
        ),
        (
            "configuration of the wrong shape",
            encode_frame(
                &json!({"jsonrpc": "2.0", "method": "workspace/didChangeConfiguration", "params": {"settings": {"whetstone": {"detection": {"minLines": "many", "minChars": -4}, "nudges": 7, "storePath": ["x"]}}}}),
            ),
        ),
        (
            "watched files of the wrong shape",
            encode_frame(
                &json!({"jsonrpc": "2.0", "method": "workspace/didChangeWatchedFiles", "params": {"changes": [{"uri": uri, "type": 99}]}}),
            ),
        ),
    ];
    for (name, bytes) in cases {
        session.client.send_raw(&bytes);
        session.assert_still_serving(name);
    }
    // A request that gets an error still gets its answer.
    let error = session
        .client
        .request("whetstone/noSuchThing", json!({}))
        .expect_err("an unknown method is an error");
    assert_eq!(error["code"], -32601, "{error}");
    session.finish();
}

#[test]
fn wild_ranges_and_versions_are_clamped_and_ignored_where_they_make_no_sense() {
    let mut session = Session::start();
    let uri = session.uri.clone();
    let far = 1_000_000_000;
    let cases: Vec<(&str, Vec<Value>)> = vec![
        (
            "a line a billion lines down",
            vec![change((far, 0), (far, 0), "// far away\n")],
        ),
        (
            "a column at u32::MAX",
            vec![change((0, u32::MAX), (0, u32::MAX), "!")],
        ),
        ("an end before its start", vec![change((0, 9), (0, 3), "x")]),
        (
            "an end before its start across lines",
            vec![change((2, 4), (1, 0), "")],
        ),
        (
            "both ends past the end",
            vec![change((far, u32::MAX), (u32::MAX, u32::MAX), "tail\n")],
        ),
        (
            "two changes, the second reversed and past the line's end",
            vec![
                change((0, 0), (0, 0), "// head\n"),
                change((2, u32::MAX), (1, 2), ""),
            ],
        ),
    ];
    for (name, changes) in cases {
        session.change(changes);
        session.assert_still_serving(name);
    }
    // Versions going backwards, repeating, or absurd are not the server's business to refuse.
    for version in [1, 1, -5, i32::MIN, i32::MAX, 3] {
        session.client.notify(
            "textDocument/didChange",
            did_change(&uri, version, vec![change((0, 0), (0, 0), "")]),
        );
        session.assert_still_serving(&format!("version {version}"));
    }
    // Changes, saves, closes and requests for documents that were never opened.
    let never_opened = file_uri(&session.sandbox.path("workspace/src/never_opened.rs"));
    session.client.notify(
        "textDocument/didChange",
        did_change(
            &never_opened,
            2,
            vec![change((far, 0), (0, 0), PASTED_FUNCTION)],
        ),
    );
    session
        .client
        .notify("textDocument/didSave", did_save(&never_opened, Some("x")));
    session
        .client
        .notify("textDocument/didClose", did_close(&never_opened));
    let report = session
        .client
        .execute("whetstone.chunks", json!({"uri": never_opened}));
    assert_eq!(report["known"], false, "{report:#}");
    for (line, character) in [(0, 0), (far, u32::MAX)] {
        let _ = session.client.request(
            "textDocument/hover",
            hover_params(&never_opened, line, character),
        );
        let _ = session
            .client
            .request("textDocument/hover", hover_params(&uri, line, character));
    }
    let actions = session.client.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri}, "range": {"start": {"line": far, "character": 0}, "end": {"line": 0, "character": 0}}, "context": {"diagnostics": []}}),
    );
    assert!(actions.is_ok(), "{actions:?}");
    session.assert_still_serving("requests for a document never opened");

    // Opening the same document twice, and closing it twice, are survived too; the verdict
    // comes back with the text.
    let text = format!(
        "{}{PASTED_FUNCTION}",
        SOURCE
            .lines()
            .take(PASTE_LINE as usize)
            .map(|line| format!("{line}\n"))
            .collect::<String>()
    );
    session
        .client
        .notify("textDocument/didClose", did_close(&uri));
    session
        .client
        .notify("textDocument/didClose", did_close(&uri));
    session
        .client
        .notify("textDocument/didOpen", did_open(&uri, &text, 1));
    session
        .client
        .notify("textDocument/didOpen", did_open(&uri, &text, 1));
    session.version = 1;
    session.assert_still_serving("closing and opening twice");
    session.finish();
}

/// A 50 MB paste: tracked as one pasted chunk, the server keeps serving, typing next to it is
/// answered, and exit is prompt. How long it takes is measured by the `large_input` benchmarks;
/// the bounds here only tell a hang from a loaded machine.
#[test]
fn a_fifty_megabyte_paste_is_handled_in_seconds() {
    let mut session = Session::start();
    let line = "    let value = compute(input, 42) + other_function(alpha, beta); // padding\n";
    let lines = 50_000_000 / line.len();
    let pasted = line.repeat(lines);
    let end = PASTE_LINE + PASTED_LINES as u32;
    session.change(vec![change((end, 0), (end, 0), &pasted)]);
    drop(pasted);
    let report = session
        .client
        .request_with_timeout(
            "workspace/executeCommand",
            json!({"command": "whetstone.chunks", "arguments": [{"uri": session.uri}]}),
            HANG,
        )
        .unwrap_or_else(|error| panic!("whetstone.chunks failed: {error}"));
    let big = report["chunks"]
        .as_array()
        .and_then(|chunks| chunks.iter().find(|chunk| chunk["id"] != session.chunk));
    assert_eq!(
        big.map(|chunk| (chunk["origin"].clone(), chunk["lines"].clone())),
        Some((json!("pasted"), json!(lines))),
        "{}",
        session.client.failure("the paste is one pasted chunk")
    );
    session.assert_still_serving("a 50 MB paste");
    // A keystroke next to it is typed, not part of the paste.
    session.change(vec![change((1, 0), (1, 0), "x")]);
    session.assert_still_serving("a keystroke after the paste");
    session.finish();
}

/// A message over the 64 MiB limit is dropped whole, with a warning, and the next one is read.
#[test]
fn a_message_over_the_limit_is_dropped_and_the_next_one_read() {
    let mut session = Session::start();
    let huge = "x".repeat(70 << 20);
    let version = session.next_version();
    session.client.notify(
        "textDocument/didChange",
        did_change(&session.uri, version, vec![whole_document_change(&huge)]),
    );
    drop(huge);
    session.assert_still_serving("a 70 MB message");
    assert!(
        session
            .client
            .stderr()
            .contains("whetstone reads messages of at most 67108864 bytes"),
        "{}",
        session
            .client
            .failure("no warning about the dropped message")
    );
    session.finish();
}

/// Documents that are not text: NUL bytes, replacement characters where invalid UTF-8 was,
/// control characters, a 2 MB line, lone carriage returns; edits inside them, hovers on them.
#[test]
fn binary_looking_documents_are_tracked_like_any_other() {
    let mut session = Session::start();
    let binary_uri = file_uri(&session.sandbox.path("workspace/assets/logo.png"));
    let mut binary = String::from("\u{89}PNG\r\n\u{1a}\n\0\0\0\rIHDR\0\0\u{1}\0");
    for index in 0..2_000u32 {
        binary.push(char::from_u32(index % 0xd7ff).unwrap_or('\u{fffd}'));
        binary.push_str("\u{fffd}\u{fffd}\0\u{7}\u{1b}[0m\r");
    }
    let long_line = format!("{}\n", "\u{fffd}\0x".repeat(700_000));
    session
        .client
        .notify("textDocument/didOpen", did_open(&binary_uri, &binary, 1));
    session.client.notify(
        "textDocument/didChange",
        did_change(
            &binary_uri,
            2,
            vec![
                change((0, 3), (0, 3), &long_line),
                change((1, 100_000), (1, 100_007), "\0\0\0"),
                change((3, 0), (3, 0), &"\0\u{fffd}\n".repeat(50)),
            ],
        ),
    );
    session.client.notify(
        "textDocument/didChange",
        did_change(&binary_uri, 3, vec![change((1, 5), (1, 5), "a")]),
    );
    let report = session
        .client
        .execute("whetstone.chunks", json!({"uri": binary_uri}));
    assert_eq!(report["known"], true, "{report:#}");
    assert!(
        !report["chunks"]
            .as_array()
            .expect("a chunk list")
            .is_empty(),
        "the inserted lines are a chunk: {report:#}"
    );
    for (line, character) in [(0, 0), (1, 700_000), (2, 3), (60, 1)] {
        let hover = session.client.request(
            "textDocument/hover",
            hover_params(&binary_uri, line, character),
        );
        assert!(hover.is_ok(), "{hover:?}");
    }
    let lenses = session
        .client
        .request("textDocument/codeLens", code_lens_params(&binary_uri));
    assert!(matches!(lenses, Ok(Value::Array(_))), "{lenses:?}");
    session.assert_still_serving("a binary document");
    session.finish();
}

/// URIs that are not local files, or not URIs at all, and file paths outside the workspace or
/// with `..` in them: tracked in memory (or refused by the protocol layer), never a crash, and
/// never a file written anywhere but the store.
#[test]
fn documents_that_are_not_workspace_files() {
    let mut session = Session::start();
    let outside = session.sandbox.path("elsewhere");
    fs::create_dir_all(&outside).expect("a folder outside the workspace");
    let uris = [
        "untitled:Untitled-1".to_string(),
        "vscode-notebook-cell:/home/me/notebook.ipynb#W0sZmlsZQ%3D%3D".to_string(),
        "http://example.com/src/lib.rs".to_string(),
        "git:/home/me/src/lib.rs?%7B%22ref%22%3A%22HEAD%22%7D".to_string(),
        format!(
            "{}/../../../../../etc/passwd",
            file_uri(&session.sandbox.workspace())
        ),
        format!(
            "{}/src/../../elsewhere/escape.rs",
            file_uri(&session.sandbox.workspace())
        ),
        file_uri(&outside.join("outside.rs")),
        "file:///".to_string(),
        "file://remote-host/share/lib.rs".to_string(),
    ];
    for (index, uri) in uris.iter().enumerate() {
        session
            .client
            .notify("textDocument/didOpen", did_open(uri, SOURCE, 1));
        session.client.notify(
            "textDocument/didChange",
            did_change(
                uri,
                2,
                vec![change((PASTE_LINE, 0), (PASTE_LINE, 0), PASTED_FUNCTION)],
            ),
        );
        let report = session
            .client
            .execute("whetstone.chunks", json!({"uri": uri}));
        let chunk = report["chunks"][0]["id"]
            .as_u64()
            .unwrap_or_else(|| panic!("{uri}: the paste is a chunk: {report:#}"));
        session.client.execute(
            "whetstone.classify",
            json!({"uri": uri, "chunk": chunk, "class": "repeatable"}),
        );
        // An explanation document is written for any of them, in the store.
        let explained = session
            .client
            .execute("whetstone.explain", json!({"uri": uri, "chunk": chunk}));
        let path = PathBuf::from(explained["path"].as_str().expect("a path"));
        assert!(
            path.starts_with(session.sandbox.store()),
            "{uri}: the document is in the store: {explained}"
        );
        session.client.notify(
            "textDocument/didSave",
            did_save(uri, Some(&format!("saved {index}"))),
        );
        session
            .client
            .notify("textDocument/didClose", did_close(uri));
        session.assert_still_serving(uri);
    }
    // Strings that are not URIs at all are refused by the protocol layer.
    for garbage in [
        "not a uri",
        "",
        "file://%%%",
        "\u{0}\u{1}",
        "::::",
        "C:\\Users\\me\\lib.rs",
    ] {
        session
            .client
            .notify("textDocument/didOpen", did_open(garbage, SOURCE, 1));
        let _ = session
            .client
            .request("textDocument/codeLens", code_lens_params(garbage));
        let answer = session
            .client
            .execute_command("whetstone.chunks", json!({"uri": garbage}));
        assert!(
            answer.is_ok() || garbage.is_empty(),
            "{garbage:?}: {answer:?}"
        );
        session.assert_still_serving(&format!("the uri {garbage:?}"));
    }
    session.finish();
}

/// Command arguments meant to steer a file write: chunk ids that are paths, huge or negative,
/// URIs that climb out of the workspace, every report format. Explanation documents and reports
/// land in the store's own folders, named by number, and nowhere else.
#[test]
fn command_arguments_cannot_steer_where_files_are_written() {
    let mut session = Session::start();
    let uri = session.uri.clone();
    let hostile_chunks = [
        json!("../../../../tmp/owned"),
        json!("/etc/passwd"),
        json!("1/../../x"),
        json!(-1),
        json!(1.5),
        json!(u64::MAX),
        json!("18446744073709551616"),
        json!({"id": 1}),
        json!(null),
    ];
    for chunk in hostile_chunks {
        for uri in [
            uri.clone(),
            "file:///../../../../tmp/owned.rs".to_string(),
            format!("{uri}/../../../../../tmp/owned"),
        ] {
            let answer = session
                .client
                .execute_command("whetstone.explain", json!({"uri": uri, "chunk": chunk}));
            assert!(answer.is_err(), "{uri} {chunk}: {answer:?}");
        }
    }
    for arguments in [
        json!([]),
        json!([null]),
        json!(["../x"]),
        json!([{"uri": uri, "chunk": session.chunk}, {"uri": "file:///tmp/x"}]),
    ] {
        let answer = session.client.request(
            "workspace/executeCommand",
            json!({"command": "whetstone.explain", "arguments": arguments}),
        );
        assert!(answer.is_err(), "{arguments}: {answer:?}");
    }
    for format in ["html", "json", "markdown", "../../html", "/tmp/report.html"] {
        let _ = session.client.execute_command(
            "whetstone.report",
            json!({"format": format, "sinceDays": 36_500}),
        );
    }
    let explained = session.client.execute(
        "whetstone.explain",
        json!({"uri": uri, "chunk": session.chunk}),
    );
    let path = PathBuf::from(explained["path"].as_str().expect("a path"));
    assert_eq!(
        path,
        session
            .sandbox
            .store()
            .join(format!("explanations/chunk-{}.md", session.chunk))
    );
    session.assert_still_serving("hostile command arguments");
    session.finish();
}

/// Saving a document whose URI starts like the explanations folder but climbs out of it (or
/// names something other than an explanation document) must not be read as an explanation.
#[test]
fn only_documents_directly_in_the_explanations_folder_are_explanations() {
    let mut session = Session::start();
    let folder = file_uri(&session.sandbox.store().join("explanations"));
    let marker = format!(
        "<!-- whetstone explanation · chunk {} · {} · keep this line -->\n## What does it do?\n\nPlanted words.\n",
        session.chunk, session.uri
    );
    let planted = session.sandbox.path("workspace/planted.md");
    fs::write(&planted, &marker).expect("a planted file");
    for document in [
        format!("{folder}/../../workspace/planted.md"),
        format!("{folder}/sub/chunk-{}.md", session.chunk),
        format!("{folder}/chunk-{}.md.rs", session.chunk),
    ] {
        session
            .client
            .notify("textDocument/didSave", did_save(&document, None));
        session
            .client
            .notify("textDocument/didSave", did_save(&document, Some(&marker)));
    }
    let report = session
        .client
        .execute("whetstone.chunks", json!({"uri": session.uri}));
    assert_eq!(
        report["chunks"][0]["explanation"],
        Value::Null,
        "{report:#}"
    );
    fs::remove_file(&planted).expect("the planted file");
    session.assert_still_serving("saves of look-alike explanation documents");
    session.finish();
}

/// A file the client says changed on disk may be a FIFO or a device that never ends: reading it
/// must neither block the server nor fill its memory.
#[test]
fn a_watched_file_that_is_not_a_regular_file_is_not_read() {
    let mut session = Session::start();
    let fifo = session.sandbox.path("workspace/src/pipe.rs");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    for path in [fifo.clone(), PathBuf::from("/dev/zero")] {
        let uri = file_uri(&path);
        session
            .client
            .notify("textDocument/didOpen", did_open(&uri, SOURCE, 1));
        session.client.notify(
            "textDocument/didChange",
            did_change(
                &uri,
                2,
                vec![change((PASTE_LINE, 0), (PASTE_LINE, 0), PASTED_FUNCTION)],
            ),
        );
        session
            .client
            .notify("textDocument/didClose", did_close(&uri));
        session.client.notify(
            "workspace/didChangeWatchedFiles",
            json!({"changes": [{"uri": uri, "type": 2}]}),
        );
        session.assert_still_serving(&format!("a watched {}", path.display()));
    }
    fs::remove_file(&fifo).expect("the fifo");
    session.finish();
}

/// A relative storePath would put the store wherever the editor happened to start the server.
#[test]
fn a_relative_store_path_is_refused() {
    let sandbox = Sandbox::new();
    let binary = whetstone_tests::whetstone_binary();
    let store = sandbox.store().to_string_lossy().into_owned();
    let mut client = LspClient::start_in(
        &binary,
        &["lsp"],
        &[("WHETSTONE_HOME", &store), ("WHETSTONE_LOG", "debug")],
        Some(&sandbox.path("cwd")),
    );
    client.initialize(
        &sandbox.workspace(),
        vscode_like_capabilities(),
        json!({"storePath": "relative/store"}),
    );
    let warning =
        client.wait_for_notification("window/logMessage", Duration::from_secs(10), |params| {
            params["message"]
                .as_str()
                .is_some_and(|message| message.contains("storePath"))
        });
    assert!(
        warning.is_some(),
        "{}",
        client.failure("no warning about storePath")
    );
    let status = client.shutdown();
    assert!(status.success(), "whetstone lsp exited with {status}");
    assert!(
        fs::read_dir(sandbox.store())
            .expect("the store folder")
            .next()
            .is_some(),
        "the store stays in WHETSTONE_HOME"
    );
    let strays = sandbox.files_outside_the_store();
    assert!(strays.is_empty(), "written outside the store: {strays:#?}");
}

/// Regression: a WHETSTONE_HOME that was a symbolic link was followed, and the folder it pointed
/// to was chmod'ed to 0700 and filled with the store. Now the server refuses it, says so once and
/// keeps working in memory, and `whetstone status` stops with the reason.
#[cfg(unix)]
#[test]
fn a_store_folder_that_is_a_symbolic_link_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = Sandbox::new();
    let target = sandbox.store();
    fs::set_permissions(&target, fs::Permissions::from_mode(0o755)).expect("chmod the target");
    let link = sandbox.path("store-link");
    std::os::unix::fs::symlink(&target, &link).expect("a link to the store folder");
    let refusal = |params: &Value| {
        params["message"]
            .as_str()
            .is_some_and(|message| message.contains("is a symbolic link"))
    };

    let mut client = sandbox.start_with_store(&link);
    let shown =
        client.wait_for_notification("window/showMessage", Duration::from_secs(10), refusal);
    let Some(shown) = shown else {
        panic!("{}", client.failure("no message about the linked store"));
    };
    let message = shown["message"].as_str().unwrap_or_default().to_string();
    assert!(
        message.contains(&link.display().to_string()) && message.contains("WHETSTONE_HOME"),
        "{message}"
    );
    // It still tracks documents, in memory.
    let uri = file_uri(&sandbox.path("workspace/src/lib.rs"));
    client.notify("textDocument/didOpen", did_open(&uri, SOURCE, 1));
    client.notify(
        "textDocument/didChange",
        did_change(
            &uri,
            2,
            vec![change((PASTE_LINE, 0), (PASTE_LINE, 0), PASTED_FUNCTION)],
        ),
    );
    let report = client.execute("whetstone.chunks", json!({"uri": uri}));
    assert_eq!(
        report["chunks"].as_array().map(Vec::len),
        Some(1),
        "{report:#}"
    );
    let shown_times = client
        .notifications("window/showMessage")
        .iter()
        .filter(|params| refusal(params))
        .count();
    assert_eq!(shown_times, 1, "the refusal is shown once");
    let status = client.shutdown();
    assert!(status.success(), "whetstone lsp exited with {status}");

    let output = sandbox.status(&link);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("is a symbolic link"), "{stderr}");

    let mode = fs::metadata(&target)
        .expect("the target")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755, "the link's target is not chmod'ed");
    assert!(
        fs::read_dir(&target).expect("the target").next().is_none(),
        "nothing is written through the link"
    );
    let strays = sandbox.files_outside_the_store();
    assert!(strays.is_empty(), "written outside the store: {strays:#?}");
}

/// Regression: `%00` in a file URI made a store key with a NUL in it, which every later listing
/// of the store reported as damaged. Such a document is tracked in memory only, with a warning.
#[test]
fn a_file_uri_holding_a_nul_is_tracked_in_memory_only() {
    let mut session = Session::start();
    let uri = format!("{}/src/a%00b.rs", file_uri(&session.sandbox.workspace()));
    session
        .client
        .notify("textDocument/didOpen", did_open(&uri, SOURCE, 1));
    let warning = session.client.wait_for_notification(
        "window/logMessage",
        Duration::from_secs(10),
        |params| {
            params["message"]
                .as_str()
                .is_some_and(|message| message.contains("NUL") && message.contains("memory"))
        },
    );
    assert!(
        warning.is_some(),
        "{}",
        session.client.failure("no warning about the NUL")
    );
    session.client.notify(
        "textDocument/didChange",
        did_change(
            &uri,
            2,
            vec![change((PASTE_LINE, 0), (PASTE_LINE, 0), PASTED_FUNCTION)],
        ),
    );
    let report = session
        .client
        .execute("whetstone.chunks", json!({"uri": uri}));
    let chunk = report["chunks"][0]["id"]
        .as_u64()
        .unwrap_or_else(|| panic!("the paste is a chunk: {report:#}"));
    session.client.execute(
        "whetstone.classify",
        json!({"uri": uri, "chunk": chunk, "class": "core"}),
    );
    session
        .client
        .execute("whetstone.dismiss", json!({"uri": uri, "chunk": chunk}));
    session
        .client
        .notify("textDocument/didSave", did_save(&uri, None));
    session
        .client
        .notify("textDocument/didClose", did_close(&uri));
    session.assert_still_serving("a file URI holding %00");
    let store = session.sandbox.store();
    let status = session.client.shutdown();
    assert!(status.success(), "whetstone lsp exited with {status}");

    let output = session.sandbox.status(&store);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains("damaged"), "{stderr}");
    assert!(
        stdout.contains("lib.rs") && !stdout.contains("a\0b"),
        "{stdout}"
    );
}
