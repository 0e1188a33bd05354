//! Whetstone as Helix 25.07 runs it: `editors/helix/languages.toml` adds whetstone next to the
//! language servers Helix starts by default, and the real `whetstone lsp`, spoken to with the
//! `initialize` Helix 25.07 sends (no code lens, no `window/showMessageRequest`), nudges through
//! diagnostics and code actions, takes commands the way `:lsp-workspace-command` sends them and
//! never asks a question Helix cannot answer.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use whetstone_tests::lsp::LspClient;
use whetstone_tests::params::{change, did_change, did_open, file_uri};
use whetstone_tests::requests::PUSH_TIMEOUT;
use whetstone_tests::workspace::Workspace;

/// How long a nudge may take to arrive.
/// How long the tests watch for something that must not arrive.
const QUIET: Duration = Duration::from_millis(1500);

/// The command lines the guide (editors/helix/README.md) tells Helix users to type; the tests run
/// each one as Helix 25.07 sends it, and check the guide still shows it.
const START_LINE: &str = ":lsp-workspace-command whetstone.calibration.start";
const START_WITH_ARGUMENTS_LINE: &str =
    r#":lsp-workspace-command whetstone.calibration.start {"label": "parser", "minutes": 60}"#;
const STOP_LINE: &str = ":lsp-workspace-command whetstone.calibration.stop";
const STOP_WITH_FEEL_LINE: &str =
    r#":lsp-workspace-command whetstone.calibration.stop {"feel": 4}"#;
const REPORT_LINE: &str = r#":lsp-workspace-command whetstone.report {"format": "html"}"#;

/// Helix 25.07's default `language-servers` for the languages editors/helix/languages.toml
/// covers, from Helix's own languages.toml (and `hx --health python` on a stock 25.07: ty, ruff,
/// jedi, pylsp). Ours must be these, then "whetstone": a user's list replaces Helix's.
const HELIX_DEFAULT_SERVERS: [(&str, &[&str]); 8] = [
    ("rust", &["rust-analyzer"]),
    ("python", &["ty", "ruff", "jedi", "pylsp"]),
    ("javascript", &["typescript-language-server"]),
    ("jsx", &["typescript-language-server"]),
    ("typescript", &["typescript-language-server"]),
    ("tsx", &["typescript-language-server"]),
    ("go", &["gopls", "golangci-lint-lsp"]),
    ("markdown", &["marksman", "markdown-oxide"]),
];

/// The client capabilities Helix 25.07 sends in `initialize`: the value `Client::initialize`
/// builds in helix-lsp/src/client.rs of Helix 25.07, serialized the way its lsp-types does (unset
/// fields left out), reproduced here as data. Notably absent: `textDocument.codeLens`,
/// `window.showMessage` (no `window/showMessageRequest`) and `window.showDocument` — Helix 25.07
/// answers `window/showDocument` but only announces it from a later release, as it does pull
/// diagnostics, `source.fixAll` and `relativePatternSupport: true`. `snippetSupport` follows the
/// `editor.lsp.snippets` setting, true by default.
fn helix_25_07_capabilities() -> Value {
    json!({
        "workspace": {
            "applyEdit": true,
            "workspaceEdit": {
                "documentChanges": true,
                "resourceOperations": ["create", "rename", "delete"],
                "failureHandling": "abort",
                "normalizesLineEndings": false,
            },
            "didChangeConfiguration": {"dynamicRegistration": false},
            "didChangeWatchedFiles": {"dynamicRegistration": true, "relativePatternSupport": false},
            "symbol": {"dynamicRegistration": false},
            "executeCommand": {"dynamicRegistration": false},
            "workspaceFolders": true,
            "configuration": true,
            "inlayHint": {"refreshSupport": false},
            "fileOperations": {"didRename": true, "willRename": true},
        },
        "textDocument": {
            "completion": {
                "completionItem": {
                    "snippetSupport": true,
                    "deprecatedSupport": true,
                    "tagSupport": {"valueSet": [1]},
                    "insertReplaceSupport": true,
                    "resolveSupport": {
                        "properties": ["documentation", "detail", "additionalTextEdits"],
                    },
                },
                "completionItemKind": {},
            },
            "hover": {"contentFormat": ["markdown"]},
            "signatureHelp": {
                "signatureInformation": {
                    "documentationFormat": ["markdown"],
                    "parameterInformation": {"labelOffsetSupport": true},
                    "activeParameterSupport": true,
                },
            },
            "formatting": {"dynamicRegistration": false},
            "codeAction": {
                "codeActionLiteralSupport": {
                    "codeActionKind": {
                        "valueSet": [
                            "", "quickfix", "refactor", "refactor.extract", "refactor.inline",
                            "refactor.rewrite", "source", "source.organizeImports",
                        ],
                    },
                },
                "isPreferredSupport": true,
                "disabledSupport": true,
                "dataSupport": true,
                "resolveSupport": {"properties": ["edit", "command"]},
            },
            "rename": {
                "dynamicRegistration": false,
                "prepareSupport": true,
                "honorsChangeAnnotations": false,
            },
            "publishDiagnostics": {"tagSupport": {"valueSet": [1, 2]}, "versionSupport": true},
            "inlayHint": {"dynamicRegistration": false},
        },
        "window": {"workDoneProgress": true},
        "general": {"positionEncodings": ["utf-8", "utf-32", "utf-16"]},
    })
}

fn helix_folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("editors")
        .join("helix")
}

fn read_helix_file(name: &str) -> String {
    let path = helix_folder().join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

fn languages_toml() -> toml::Table {
    read_helix_file("languages.toml")
        .parse()
        .unwrap_or_else(|error| panic!("editors/helix/languages.toml is not TOML: {error}"))
}

/// `[language-server.whetstone]`'s `config`, as JSON: what Helix sends the server.
fn whetstone_config() -> Value {
    let table = languages_toml();
    let config = table
        .get("language-server")
        .and_then(|servers| servers.get("whetstone"))
        .and_then(|whetstone| whetstone.get("config"))
        .expect("[language-server.whetstone] has a config table");
    serde_json::to_value(config).expect("the config converts to JSON")
}

/// A running `whetstone lsp` that Helix 25.07 started for a project.
struct HelixSession {
    client: LspClient,
    initialize_result: Value,
    workspace: Workspace,
}

impl HelixSession {
    /// Starts the server and goes through Helix's start-up: `initialize` with Helix's params (the
    /// language server's `config` as `initializationOptions`), `initialized`, then the
    /// `workspace/didChangeConfiguration` Helix sends every server once it is up.
    fn start() -> HelixSession {
        let workspace = Workspace::new();
        let root = workspace.root();
        let config = whetstone_config();
        let mut client = LspClient::start(workspace.home());
        let root_uri = file_uri(root);
        let folder_name = root
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let params = json!({
            "processId": std::process::id(),
            "workspaceFolders": [{"uri": root_uri, "name": folder_name}],
            "rootPath": root.to_string_lossy(),
            "rootUri": root_uri,
            "initializationOptions": config,
            "capabilities": helix_25_07_capabilities(),
            "clientInfo": {"name": "helix", "version": "25.07"},
        });
        let initialize_result = match client.request("initialize", params) {
            Ok(result) => result,
            Err(error) => panic!("{}", client.failure(&format!("initialize failed: {error}"))),
        };
        client.notify("initialized", json!({}));
        client.notify(
            "workspace/didChangeConfiguration",
            json!({"settings": config}),
        );
        HelixSession {
            client,
            initialize_result,
            workspace,
        }
    }

    /// Opens a Rust file of the project as Helix does (document versions start at 0).
    fn open_rust_file(&mut self, name: &str, text: &str) -> String {
        let (uri, _) = self.workspace.file(name, text);
        self.client
            .notify("textDocument/didOpen", did_open(&uri, text, 0));
        uri
    }

    /// Waits for the diagnostic with `code` on `line` of `uri`.
    fn wait_for_diagnostic(&mut self, uri: &str, code: &str, line: u64) -> Value {
        self.client.wait_for_diagnostic(uri, code, Some(line))
    }

    /// Waits until `uri`'s diagnostics are cleared, which `what` should have done.
    fn wait_for_no_diagnostics(&mut self, uri: &str, what: &str) {
        let cleared = self.client.wait_for_notification(
            "textDocument/publishDiagnostics",
            PUSH_TIMEOUT,
            |params| params["uri"] == json!(uri) && params["diagnostics"] == json!([]),
        );
        if cleared.is_none() {
            panic!("{}", self.client.failure(what));
        }
    }

    /// `textDocument/codeAction` as Helix asks for it on `space a` with the cursor at the start of
    /// `line`: the primary selection (one character wide) as the range, and as context the
    /// diagnostics of this server that overlap it, turned back into LSP the way Helix keeps them.
    fn code_actions_at(&mut self, uri: &str, line: u32, diagnostics: &[Value]) -> Vec<Value> {
        let context_diagnostics: Vec<Value> = diagnostics.iter().map(as_helix_keeps_it).collect();
        let params = json!({
            "textDocument": {"uri": uri},
            "range": {
                "start": {"line": line, "character": 0},
                "end": {"line": line, "character": 1},
            },
            "context": {"diagnostics": context_diagnostics, "triggerKind": 1},
        });
        match self.client.request("textDocument/codeAction", params) {
            Ok(Value::Array(actions)) => actions,
            Ok(Value::Null) => Vec::new(),
            Ok(other) => panic!("code actions are a list, got {other}"),
            Err(error) => panic!(
                "{}",
                self.client
                    .failure(&format!("textDocument/codeAction failed: {error}"))
            ),
        }
    }

    /// What Helix does when a code action without an edit is picked: it runs the action's
    /// command with `workspace/executeCommand`.
    fn pick(&mut self, action: &Value) -> Value {
        let command = &action["command"];
        let params = json!({
            "command": command["command"],
            "arguments": command.get("arguments").cloned().unwrap_or_else(|| json!([])),
        });
        self.execute(params)
    }

    /// What a typed `:lsp-workspace-command` line sends.
    fn type_command(&mut self, line: &str) -> Value {
        self.execute(typed_workspace_command(line))
    }

    fn execute(&mut self, params: Value) -> Value {
        let command = params["command"].clone();
        match self.client.request("workspace/executeCommand", params) {
            Ok(result) => result,
            Err(error) => panic!(
                "{}",
                self.client.failure(&format!("{command} failed: {error}"))
            ),
        }
    }
}

/// What `:lsp-workspace-command NAME REST` sends in Helix 25.07: everything after the command name
/// is taken raw and read as a stream of JSON values, one argument each; `arguments` is always
/// present (empty without REST).
fn typed_workspace_command(line: &str) -> Value {
    let rest = line
        .strip_prefix(":lsp-workspace-command ")
        .unwrap_or_else(|| panic!("not an :lsp-workspace-command line: {line}"));
    let (name, raw) = rest.split_once(' ').unwrap_or((rest, ""));
    let arguments = serde_json::Deserializer::from_str(raw)
        .into_iter::<Value>()
        .collect::<Result<Vec<Value>, _>>()
        .unwrap_or_else(|error| panic!("Helix would refuse the arguments of {line}: {error}"));
    json!({"command": name, "arguments": arguments})
}

/// A diagnostic as Helix stores it and sends it back in a code action's context: the fields it
/// keeps (no related information, no code description).
fn as_helix_keeps_it(diagnostic: &Value) -> Value {
    let mut kept = serde_json::Map::new();
    for field in [
        "range", "severity", "code", "source", "message", "tags", "data",
    ] {
        if let Some(value) = diagnostic.get(field) {
            kept.insert(field.to_string(), value.clone());
        }
    }
    Value::Object(kept)
}

/// (title, command, arguments) of each action, the parts Helix shows and runs.
fn summarize(actions: &[Value]) -> Vec<(String, String, Value)> {
    actions
        .iter()
        .map(|action| {
            (
                action["title"].as_str().unwrap_or_default().to_string(),
                action["command"]["command"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                action["command"]["arguments"].clone(),
            )
        })
        .collect()
}

fn feel_actions(actions: &[Value]) -> Vec<Value> {
    actions
        .iter()
        .filter(|action| action["command"]["command"] == json!("whetstone.calibration.stop"))
        .cloned()
        .collect()
}

/// A Rust file with a `main` of three lines.
const SOURCE: &str = "fn main() {\n    println!(\"hello\");\n}\n";

/// The line of SOURCE where the paste lands.
const PASTE_LINE: u32 = 3;

/// Forty lines of someone else's Rust, pasted in one go.
fn pasted_function() -> String {
    let mut text = String::from("fn parse_header(line: &str) -> Vec<String> {\n");
    text.push_str("    let fields: Vec<&str> = line.split(':').map(str::trim).collect();\n");
    for index in 0..37 {
        text.push_str(&format!(
            "    let field_{index} = fields.get({index}).copied().unwrap_or_default();\n"
        ));
    }
    text.push_str("}\n");
    text
}

/// Pastes `pasted_function` below SOURCE and waits for its nudge.
fn paste_and_wait_for_nudge(session: &mut HelixSession, uri: &str) -> Value {
    let paste = pasted_function();
    assert_eq!(paste.lines().count(), 40);
    session.client.notify(
        "textDocument/didChange",
        did_change(
            uri,
            1,
            vec![change((PASTE_LINE, 0), (PASTE_LINE, 0), &paste)],
        ),
    );
    session.wait_for_diagnostic(uri, "unclassified-chunk", u64::from(PASTE_LINE))
}

#[test]
fn languages_toml_adds_whetstone_after_helix_default_servers() {
    let table = languages_toml();
    let whetstone = table
        .get("language-server")
        .and_then(|servers| servers.get("whetstone"))
        .and_then(toml::Value::as_table)
        .expect("a [language-server.whetstone] table");
    assert_eq!(
        whetstone.get("command").and_then(toml::Value::as_str),
        Some("whetstone")
    );
    assert_eq!(
        whetstone.get("args"),
        Some(&toml::Value::Array(vec![toml::Value::String(
            "lsp".to_string()
        )]))
    );

    let languages = table
        .get("language")
        .and_then(toml::Value::as_array)
        .expect("[[language]] entries");
    for (name, defaults) in HELIX_DEFAULT_SERVERS {
        let entries: Vec<&toml::Table> = languages
            .iter()
            .filter_map(toml::Value::as_table)
            .filter(|entry| entry.get("name").and_then(toml::Value::as_str) == Some(name))
            .collect();
        assert_eq!(entries.len(), 1, "one [[language]] entry for {name}");
        let entry = entries[0];
        let servers: Vec<&str> = entry
            .get("language-servers")
            .and_then(toml::Value::as_array)
            .unwrap_or_else(|| panic!("{name} has a language-servers list"))
            .iter()
            .filter_map(toml::Value::as_str)
            .collect();
        let mut expected: Vec<&str> = defaults.to_vec();
        expected.push("whetstone");
        assert_eq!(
            servers, expected,
            "{name}: Helix 25.07's default servers, then whetstone"
        );
        // Any other key would override Helix's own setting for the language as well.
        let keys: Vec<&str> = entry.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            vec!["language-servers", "name"],
            "{name} sets nothing else"
        );
    }
}

#[test]
fn the_config_in_languages_toml_is_accepted_without_warnings() {
    let mut session = HelixSession::start();
    // Warnings about settings go out as messages while the server starts; give them time.
    let status = session.type_command(":lsp-workspace-command whetstone.calibration.status");
    assert_eq!(status, Value::Null, "no session runs yet");
    std::thread::sleep(QUIET);
    let complaints: Vec<Value> = session
        .client
        .notifications("window/logMessage")
        .into_iter()
        .chain(session.client.notifications("window/showMessage"))
        .filter(|params| {
            params["message"]
                .as_str()
                .is_some_and(|message| message.contains("setting"))
        })
        .collect();
    assert!(complaints.is_empty(), "{complaints:?}");
    session.client.shutdown();
}

#[test]
fn a_paste_gets_a_diagnostic_whose_code_actions_classify_explain_or_dismiss_it() {
    let mut session = HelixSession::start();
    let capabilities = &session.initialize_result["capabilities"];
    // Helix offers utf-8, utf-32 and utf-16; whetstone takes utf-8 when offered.
    assert_eq!(capabilities["positionEncoding"], json!("utf-8"));
    // `:lsp-workspace-command` only runs (and completes) commands the server lists.
    let listed = capabilities["executeCommandProvider"]["commands"]
        .as_array()
        .expect("executeCommandProvider lists commands");
    for command in [
        "whetstone.classify",
        "whetstone.explain",
        "whetstone.dismiss",
        "whetstone.calibration.start",
        "whetstone.calibration.stop",
        "whetstone.report",
    ] {
        assert!(listed.contains(&json!(command)), "{command} in {listed:?}");
    }

    let uri = session.open_rust_file("lib.rs", SOURCE);
    let nudge = paste_and_wait_for_nudge(&mut session, &uri);
    // The severity the config in languages.toml asks for: information.
    assert_eq!(nudge["severity"], json!(3));
    assert!(
        nudge["message"]
            .as_str()
            .is_some_and(|message| message.contains("40 lines pasted · fn parse_header")),
        "{nudge}"
    );
    let chunk = nudge["data"]["chunk"].clone();
    assert!(chunk.is_u64(), "the diagnostic names its chunk: {nudge}");

    let actions = session.code_actions_at(&uri, PASTE_LINE, std::slice::from_ref(&nudge));
    let classify = |class: &str| json!([{"uri": uri, "chunk": chunk, "class": class}]);
    let on_chunk = json!([{"uri": uri, "chunk": chunk}]);
    assert_eq!(
        summarize(&actions),
        vec![
            (
                "Whetstone: Transient".to_string(),
                "whetstone.classify".to_string(),
                classify("transient")
            ),
            (
                "Whetstone: Repeatable".to_string(),
                "whetstone.classify".to_string(),
                classify("repeatable")
            ),
            (
                "Whetstone: Core".to_string(),
                "whetstone.classify".to_string(),
                classify("core")
            ),
            (
                "Whetstone: Explain".to_string(),
                "whetstone.explain".to_string(),
                on_chunk.clone()
            ),
            (
                "Whetstone: Not AI".to_string(),
                "whetstone.dismiss".to_string(),
                on_chunk.clone()
            ),
        ]
    );
    for action in &actions {
        // Helix drops disabled actions and lists quick fixes first.
        assert!(action.get("disabled").is_none(), "{action}");
        assert_eq!(action["kind"], json!("quickfix"), "{action}");
        assert_eq!(
            action["diagnostics"][0]["code"],
            json!("unclassified-chunk"),
            "{action}"
        );
    }

    let core = actions
        .iter()
        .find(|action| action["title"] == json!("Whetstone: Core"))
        .expect("a Core action");
    session.pick(core);
    let unexplained = session.wait_for_diagnostic(&uri, "unexplained-core", u64::from(PASTE_LINE));
    assert_eq!(unexplained["data"]["chunk"], chunk);

    // A core chunk keeps asking to be explained; it can still be dismissed.
    let actions = session.code_actions_at(&uri, PASTE_LINE, &[unexplained]);
    assert_eq!(
        summarize(&actions),
        vec![
            (
                "Whetstone: Explain".to_string(),
                "whetstone.explain".to_string(),
                on_chunk.clone()
            ),
            (
                "Whetstone: Not AI".to_string(),
                "whetstone.dismiss".to_string(),
                on_chunk
            ),
        ]
    );
    let not_ai = actions
        .iter()
        .find(|action| action["title"] == json!("Whetstone: Not AI"))
        .expect("a Not AI action");
    session.pick(not_ai);
    session.wait_for_no_diagnostics(&uri, "dismissing did not clear the diagnostic");
    assert!(
        session
            .code_actions_at(&uri, PASTE_LINE, &[])
            .iter()
            .all(|action| !action["title"]
                .as_str()
                .unwrap_or_default()
                .starts_with("Whetstone: ")),
        "no whetstone actions once the chunk is the user's"
    );
    assert!(
        session
            .client
            .server_requests("window/showMessageRequest")
            .is_empty()
    );
    session.client.shutdown();
}

#[test]
fn explaining_writes_a_document_that_is_not_code_and_saving_it_records_the_answers() {
    let mut session = HelixSession::start();
    let uri = session.open_rust_file("lib.rs", SOURCE);
    let nudge = paste_and_wait_for_nudge(&mut session, &uri);
    let chunk = nudge["data"]["chunk"].as_u64().expect("chunk id");
    let actions = session.code_actions_at(&uri, PASTE_LINE, &[nudge]);
    let core = actions
        .iter()
        .find(|action| action["title"] == json!("Whetstone: Core"))
        .expect("a Core action");
    session.pick(core);
    let unexplained = session.wait_for_diagnostic(&uri, "unexplained-core", u64::from(PASTE_LINE));
    let actions = session.code_actions_at(&uri, PASTE_LINE, &[unexplained]);
    let explain = actions
        .iter()
        .find(|action| action["title"] == json!("Whetstone: Explain"))
        .expect("an Explain action");
    let answer = session.pick(explain);

    // The document sits where the guide says: <store>/explanations/chunk-N.md.
    let path = session
        .workspace
        .home()
        .join("explanations")
        .join(format!("chunk-{chunk}.md"));
    assert_eq!(answer["path"], json!(path.display().to_string()));
    let document_uri = file_uri(&path);
    assert_eq!(answer["document"], json!(document_uri));
    let text = std::fs::read_to_string(&path).expect("the explanation document was written");
    assert!(text.contains("## What does it do?"), "{text}");
    assert!(
        !text.contains("unwrap_or_default"),
        "the document never holds the code: {text}"
    );
    // Helix 25.07 shows documents a server asks it to, but does not announce that it can: a
    // server going by the capabilities names the document in a message instead.
    let path_text = path.display().to_string();
    let named = |params: &Value| {
        params["message"]
            .as_str()
            .is_some_and(|message| message.contains(&path_text))
    };
    let shown = session
        .client
        .wait_for_server_request("window/showDocument", QUIET, |params| {
            params["uri"] == json!(document_uri)
        })
        .is_some();
    let told = session
        .client
        .notifications("window/showMessage")
        .iter()
        .chain(session.client.notifications("window/logMessage").iter())
        .any(named);
    assert!(
        shown || told,
        "{}",
        session
            .client
            .failure("the explanation document was neither shown nor named")
    );

    // The user opens it (markdown, a language whetstone is attached to) and pastes a long answer:
    // an explanation document is never code, so nothing is flagged in it.
    session.client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {
            "uri": document_uri, "languageId": "markdown", "version": 0, "text": text,
        }}),
    );
    let answered = text
        .replace(
            "## What does it do?\n\n",
            "## What does it do?\n\nparse_header splits a header line on colons,\ntrims each field \
             and keeps the first 37 fields,\nfilling missing ones with empty strings.\n",
        )
        .replace(
            "## Why this way, and what did it trade off?\n\n",
            "## Why this way, and what did it trade off?\n\nBecause the callers index fields by \
             position,\nreturning defaults instead of errors keeps them simple,\nat the cost \
             of hiding malformed lines.\n",
        );
    let end_line = u32::try_from(text.matches('\n').count()).expect("a short document");
    session.client.notify(
        "textDocument/didChange",
        did_change(
            &document_uri,
            1,
            vec![change((0, 0), (end_line, 0), &answered)],
        ),
    );
    let flagged =
        session
            .client
            .wait_for_notification("textDocument/publishDiagnostics", QUIET, |params| {
                params["uri"] == json!(document_uri)
                    && params["diagnostics"]
                        .as_array()
                        .is_some_and(|all| !all.is_empty())
            });
    assert!(flagged.is_none(), "{flagged:?}");

    // Saving (Helix sends the text: the server asked for it) records the answers.
    let include_text =
        &session.initialize_result["capabilities"]["textDocumentSync"]["save"]["includeText"];
    assert_eq!(include_text, &json!(true));
    session.client.notify(
        "textDocument/didSave",
        json!({"textDocument": {"uri": document_uri}, "text": answered}),
    );
    session.wait_for_no_diagnostics(&uri, "the saved explanation did not clear the nudge");
    let map = session.execute(json!({
        "command": "whetstone.chunks",
        "arguments": [{"uri": uri}],
    }));
    let recorded = &map["chunks"][0]["explanation"]["text"];
    assert!(
        recorded
            .as_str()
            .is_some_and(|text| text.contains("parse_header splits a header line")),
        "{map}"
    );
    session.client.shutdown();
}

#[test]
fn a_session_stopped_without_feel_asks_nothing_and_offers_the_feel_as_code_actions() {
    let mut session = HelixSession::start();
    let uri = session.open_rust_file("lib.rs", SOURCE);

    let started = session.type_command(START_LINE);
    assert_eq!(started["running"], json!(true));
    let stopped = session.type_command(STOP_LINE);
    assert_eq!(stopped["running"], json!(false));
    assert_eq!(stopped["feel"], Value::Null);
    // Helix 25.07 cannot answer a question: none is asked. The summary still reaches its status
    // line as a message.
    let asked = session
        .client
        .wait_for_server_request("window/showMessageRequest", QUIET, |_| true);
    assert!(asked.is_none(), "{asked:?}");
    assert!(
        session
            .client
            .notifications("window/showMessage")
            .iter()
            .any(
                |params| params["message"].as_str().is_some_and(|message| message
                    .starts_with("Calibration session stopped:")
                    && message.ends_with("Say how it felt: space a."))
            ),
        "the stop is announced, with where its feel waits"
    );

    // `space a` on any line of a file whetstone serves offers the five answers.
    let actions = session.code_actions_at(&uri, 0, &[]);
    let feel = feel_actions(&actions);
    assert_eq!(
        summarize(&feel),
        (1..=5)
            .zip([
                "1 struggled",
                "2 hard going",
                "3 workable",
                "4 good",
                "5 smooth"
            ])
            .map(|(value, title)| (
                format!("Whetstone: the calibration session felt {title}"),
                "whetstone.calibration.stop".to_string(),
                json!([{"feel": value}]),
            ))
            .collect::<Vec<_>>()
    );
    let workable = feel
        .iter()
        .find(|action| action["command"]["arguments"] == json!([{"feel": 3}]))
        .expect("a 3 workable action");
    let rated = session.pick(workable);
    assert_eq!(rated["feel"], json!(3));
    assert!(
        feel_actions(&session.code_actions_at(&uri, 0, &[])).is_empty(),
        "a rated session is not offered again"
    );

    // The typed route: a session with a label and a length, rated with the stop itself.
    let started = session.type_command(START_WITH_ARGUMENTS_LINE);
    assert_eq!(started["label"], json!("parser"));
    assert_eq!(started["planned_minutes"], json!(60));
    session.type_command(STOP_LINE);
    let rated = session.type_command(STOP_WITH_FEEL_LINE);
    assert_eq!(rated["feel"], json!(4));
    assert_eq!(rated["label"], json!("parser"));

    assert!(
        session
            .client
            .server_requests("window/showMessageRequest")
            .is_empty()
    );
    session.client.shutdown();
}

#[test]
fn the_report_page_is_written_where_the_guide_says() {
    let mut session = HelixSession::start();
    let written = session.type_command(REPORT_LINE);
    let page = session
        .workspace
        .home()
        .join("reports")
        .join("whetstone-report.html");
    assert_eq!(written["path"], json!(page.display().to_string()));
    let html = std::fs::read_to_string(&page).expect("the report page exists");
    assert!(html.contains("<html"), "an HTML page");
    // Helix shows no command result: the path reaches its status line as a message.
    let told = format!(
        "Report written to {}: open it in a browser.",
        page.display()
    );
    session
        .client
        .wait_for_notification("window/showMessage", PUSH_TIMEOUT, |params| {
            params["message"] == json!(told)
        })
        .unwrap_or_else(|| {
            panic!(
                "{}",
                session.client.failure("the report's path is not said")
            )
        });
    session.client.shutdown();
}

/// Helix 25.07 drops what a command answers, its errors included: what a user asked for is
/// said as a message instead.
#[test]
fn results_and_refusals_reach_helix_as_messages() {
    let mut session = HelixSession::start();
    session.type_command(":lsp-workspace-command whetstone.calibration.status");
    session
        .client
        .wait_for_notification("window/showMessage", PUSH_TIMEOUT, |params| {
            params["message"] == json!("No calibration session running.")
        })
        .unwrap_or_else(|| panic!("{}", session.client.failure("no status message")));

    session.type_command(START_WITH_ARGUMENTS_LINE);
    session.type_command(":lsp-workspace-command whetstone.calibration.status");
    session
        .client
        .wait_for_notification("window/showMessage", PUSH_TIMEOUT, |params| {
            params["message"].as_str().is_some_and(|message| {
                message.starts_with("Calibration session \"parser\" running, 60 minutes left: ")
            })
        })
        .unwrap_or_else(|| panic!("{}", session.client.failure("no running status message")));

    let refused = session.client.request(
        "workspace/executeCommand",
        typed_workspace_command(":lsp-workspace-command whetstone.calibration.stop {\"feel\": 9}"),
    );
    assert!(refused.is_err(), "{refused:?}");
    let error = session
        .client
        .wait_for_notification("window/showMessage", PUSH_TIMEOUT, |params| {
            params["type"] == json!(1)
        })
        .unwrap_or_else(|| panic!("{}", session.client.failure("the refusal is not said")));
    assert_eq!(
        error["message"],
        json!(
            "Whetstone: whetstone.calibration.stop: feel must be 1 (struggled) to 5 (smooth), got 9"
        )
    );
    session.client.shutdown();
}

#[test]
fn the_guide_shows_the_command_lines_the_tests_run_and_valid_toml() {
    let guide = read_helix_file("README.md");
    for line in [
        START_LINE,
        START_WITH_ARGUMENTS_LINE,
        STOP_LINE,
        STOP_WITH_FEEL_LINE,
        REPORT_LINE,
    ] {
        assert!(guide.contains(line), "the guide shows `{line}`");
    }
    // Every toml block of the guide is valid TOML, so copying one cannot break a languages.toml.
    let mut blocks = 0;
    let mut rest = guide.as_str();
    while let Some(start) = rest.find("```toml\n") {
        let body = &rest[start + "```toml\n".len()..];
        let end = body.find("```").expect("a closed toml block");
        if let Err(error) = body[..end].parse::<toml::Table>() {
            panic!(
                "a toml block of the guide is not TOML: {error}\n{}",
                &body[..end]
            );
        }
        blocks += 1;
        rest = &body[end + 3..];
    }
    assert!(
        blocks >= 2,
        "the guide shows its configuration as toml blocks"
    );
}

/// Choosing Explain twice rewrote the unanswered document under Helix, which then refused `:w`
/// ("file modified by an external process"); a shallow answer ended the nudge; and the score of
/// a saved answer went to the log, which Helix does not show.
#[test]
fn explaining_twice_reuses_the_document_and_only_a_passing_answer_ends_the_nudge() {
    let mut session = HelixSession::start();
    let uri = session.open_rust_file("lib.rs", SOURCE);
    let nudge = paste_and_wait_for_nudge(&mut session, &uri);
    let actions = session.code_actions_at(&uri, PASTE_LINE, &[nudge]);
    let core = actions
        .iter()
        .find(|action| action["title"] == json!("Whetstone: Core"))
        .expect("a Core action");
    session.pick(core);
    let unexplained = session.wait_for_diagnostic(&uri, "unexplained-core", u64::from(PASTE_LINE));
    let actions = session.code_actions_at(&uri, PASTE_LINE, &[unexplained]);
    let explain = actions
        .iter()
        .find(|action| action["title"] == json!("Whetstone: Explain"))
        .expect("an Explain action")
        .clone();
    let first = session.pick(&explain);
    assert_eq!(first["written"], json!(true), "{first}");
    let path = PathBuf::from(first["path"].as_str().expect("the document's path"));
    let document_uri = first["document"].as_str().expect("its uri").to_string();
    let text = std::fs::read_to_string(&path).expect("the explanation document was written");
    assert!(
        text.contains("`lib.rs`, lines 4–43 (40 lines pasted)"),
        "{text}"
    );
    // A time long past, so that any write at all shows, however fast the second Explain comes.
    let long_ago = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    std::fs::File::options()
        .write(true)
        .open(&path)
        .and_then(|file| file.set_modified(long_ago))
        .expect("the document's time can be set");
    session.client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {
            "uri": document_uri, "languageId": "markdown", "version": 0, "text": text,
        }}),
    );

    let second = session.pick(&explain);
    assert_eq!(second["document"], json!(document_uri));
    assert_eq!(second["written"], json!(false), "{second}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    assert_eq!(
        std::fs::metadata(&path).unwrap().modified().unwrap(),
        long_ago,
        "the document Helix has open was written again"
    );
    for time in ["first", "second"] {
        let shown =
            session
                .client
                .wait_for_server_request("window/showDocument", PUSH_TIMEOUT, |params| {
                    params["uri"] == json!(document_uri)
                });
        assert!(
            shown.is_some(),
            "{}",
            session
                .client
                .failure(&format!("the {time} Explain did not show the document"))
        );
    }

    // A shallow answer, saved as Helix saves (the file on disk, then didSave with the text): it
    // is recorded and said, and the chunk still asks to be explained.
    let save = |session: &mut HelixSession, version: i32, answered: &str| {
        std::fs::write(&path, answered).expect("Helix writes the file");
        let end_line = u32::try_from(text.matches('\n').count()).expect("a short document");
        session.client.notify(
            "textDocument/didChange",
            did_change(
                &document_uri,
                version,
                vec![change((0, 0), (end_line + 40, 0), answered)],
            ),
        );
        session.client.notify(
            "textDocument/didSave",
            json!({"textDocument": {"uri": document_uri}, "text": answered}),
        );
    };
    let shallow = text.replace(
        "## What does it do?\n\n",
        "## What does it do?\n\nit merges typed events\n",
    );
    save(&mut session, 1, &shallow);
    let said = |session: &mut HelixSession, ending: &str| {
        let message = session
            .client
            .wait_for_notification("window/showMessage", PUSH_TIMEOUT, |params| {
                params["message"]
                    .as_str()
                    .is_some_and(|message| message.starts_with("Explanation saved"))
            })
            .unwrap_or_else(|| {
                panic!(
                    "{}",
                    session.client.failure("the saved explanation was not said")
                )
            });
        assert_eq!(message["type"], json!(3), "an Info message: {message}");
        let text = message["message"].as_str().unwrap_or_default().to_string();
        assert!(
            text.starts_with("Explanation saved for lines 4–43: ") && text.ends_with(ending),
            "{text}"
        );
        assert!(!text.contains('\n'), "one line: {text}");
    };
    said(&mut session, ", shallow — say why, name what it uses.");
    let still = session
        .client
        .wait_for_notification("textDocument/publishDiagnostics", PUSH_TIMEOUT, |params| {
            params["uri"] == json!(uri)
                && params["diagnostics"].as_array().is_some_and(|all| {
                    all.iter().any(|diagnostic| {
                        diagnostic["code"] == json!("unexplained-core")
                            && diagnostic["message"]
                                .as_str()
                                .is_some_and(|message| message.contains("explained shallowly"))
                    })
                })
        })
        .unwrap_or_else(|| {
            panic!(
                "{}",
                session
                    .client
                    .failure("a shallow explanation ended the unexplained-core nudge")
            )
        });
    let diagnostic = still["diagnostics"][0].clone();
    let labels: Vec<String> = session
        .code_actions_at(&uri, PASTE_LINE, &[diagnostic])
        .iter()
        .map(|action| action["title"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        labels.contains(&"Whetstone: Explain again".to_string()),
        "{labels:?}"
    );
    let report = session.execute(json!({
        "command": "whetstone.report",
        "arguments": [{"format": "json"}],
    }));
    let report = &report["report"];
    assert_eq!(
        report["questions"][0]["answer"],
        json!(
            "You explained 0 of this week's 1 chunk (0%). 1 more has only a shallow \
             explanation, which does not count."
        ),
        "{report}"
    );
    assert_eq!(report["workspaces"][0]["shallow_lines"], json!(40));
    assert_eq!(report["workspaces"][0]["explained_lines"], json!(0));
    assert_eq!(report["debt_lines"], json!(40.0));

    // A passing answer, written under the shallow one: said, and the nudge goes.
    let passing = shallow.replace(
        "it merges typed events\n",
        "parse_header splits a header line on colons, trims each field and keeps the first 37 \
         fields, filling missing ones with empty strings. Because the callers index fields by \
         position, returning defaults instead of errors keeps them simple, at the cost of \
         hiding malformed lines from whoever reads the fields later.\n",
    );
    save(&mut session, 2, &passing);
    said(&mut session, ", passes.");
    session.wait_for_no_diagnostics(&uri, "a passing explanation did not clear the nudge");
    let report = session.execute(json!({
        "command": "whetstone.report",
        "arguments": [{"format": "json"}],
    }));
    let report = &report["report"];
    assert_eq!(
        report["questions"][0]["answer"],
        json!("You explained 1 of this week's 1 chunk (100%)."),
        "{report}"
    );
    assert_eq!(report["workspaces"][0]["shallow_lines"], json!(0));
    assert_eq!(report["debt_lines"], json!(0.0));
    session.client.shutdown();
}
