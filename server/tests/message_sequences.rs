//! Random sequences of valid and invalid LSP messages sent to the server, which runs in-process
//! (`lsp::serve_on` over in-memory pipes). Each case records a verdict first (a pasted function
//! classified as core); after the sequence the server must still answer requests, and still
//! report that classification.

use std::collections::HashMap;
use std::time::Duration;

use proptest::prelude::*;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::mpsc;
use whetstone::lsp::framing::{Decoded, FrameDecoder, frame};

const MAIN: &str = "file:///w/src/main.rs";
const OTHERS: [&str; 4] = [
    "file:///w/src/other.rs",
    "untitled:Untitled-1",
    "file:///w/../../etc/passwd",
    "vscode-notebook-cell:/w/a.ipynb#X1",
];
const SOURCE: &str = "use std::io;\n\nfn main() {\n    run();\n}\n";
const PASTED: &str = "fn pasted_helper(input: &str) -> usize {\n    let trimmed = input.trim();\n    let words = trimmed.split_whitespace().count();\n    let lines = trimmed.lines().count();\n    words * 31 + lines\n}\n";

/// One thing the client sends.
#[derive(Debug, Clone)]
enum Message {
    /// A notification (no id) or a request (an id is added when it is sent); its answer is not
    /// waited for.
    Json(Value),
    /// Bytes as they are: bad frames, garbage.
    Raw(Vec<u8>),
}

fn position() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => (0u32..12, 0u32..40).prop_map(|(line, character)| json!({"line": line, "character": character})),
        1 => Just(json!({"line": u32::MAX, "character": u32::MAX})),
        1 => Just(json!({"line": -1, "character": 0})),
        1 => Just(json!({"line": "3", "character": null})),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_(){};= é🦀\\n\\r\\t]{0,12}",
        (1usize..8).prop_map(|lines| (0..lines)
            .map(|index| format!("    let value_{index} = compute({index});\n"))
            .collect()),
    ]
}

fn uri() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => (0..OTHERS.len()).prop_map(|index| json!(OTHERS[index])),
        1 => Just(json!(MAIN)),
        1 => Just(json!("not a uri")),
        1 => Just(json!(42)),
    ]
}

fn notification(method: &str, params: Value) -> Message {
    Message::Json(json!({"jsonrpc": "2.0", "method": method, "params": params}))
}

fn request(method: &str, params: Value) -> Message {
    Message::Json(json!({"jsonrpc": "2.0", "id": null, "method": method, "params": params}))
}

fn raw_frame(body: &[u8]) -> Message {
    Message::Raw(frame(body))
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        // Documents other than the main one: opened, edited anywhere, closed, saved.
        3 => ((0..OTHERS.len()), text()).prop_map(|(index, text)| notification(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": OTHERS[index], "languageId": "rust", "version": 1, "text": text}}),
        )),
        4 => (uri(), position(), position(), text(), -3i64..20).prop_map(|(uri, start, end, text, version)| {
            let uri = if uri == json!(MAIN) { json!(OTHERS[0]) } else { uri };
            notification(
                "textDocument/didChange",
                json!({"textDocument": {"uri": uri, "version": version},
                       "contentChanges": [{"range": {"start": start, "end": end}, "text": text}]}),
            )
        }),
        1 => uri().prop_map(|uri| notification("textDocument/didClose", json!({"textDocument": {"uri": uri}}))),
        1 => (uri(), text()).prop_map(|(uri, text)| notification("textDocument/didSave", json!({"textDocument": {"uri": uri}, "text": text}))),
        // The main document only grows, so its recorded chunk keeps its lines.
        4 => ((0u32..14, 0u32..30), text(), 1i64..1000).prop_map(|((line, character), text, version)| notification(
            "textDocument/didChange",
            json!({"textDocument": {"uri": MAIN, "version": version},
                   "contentChanges": [{"range": {"start": {"line": line, "character": character},
                                                 "end": {"line": line, "character": character}},
                                       "text": text}]}),
        )),
        1 => prop_oneof![Just("paste"), Just("agent"), Just("undo"), Just("format"), Just("telepathy")]
            .prop_map(|origin| notification("whetstone/editOrigin", json!({"uri": MAIN, "origin": origin}))),
        // Requests anywhere.
        2 => (uri(), position()).prop_map(|(uri, position)| request("textDocument/hover", json!({"textDocument": {"uri": uri}, "position": position}))),
        2 => uri().prop_map(|uri| request("textDocument/codeLens", json!({"textDocument": {"uri": uri}}))),
        1 => (uri(), position(), position()).prop_map(|(uri, start, end)| request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": uri}, "range": {"start": start, "end": end}, "context": {"diagnostics": []}}),
        )),
        2 => (prop_oneof![
                Just("whetstone.chunks"), Just("whetstone.classify"), Just("whetstone.dismiss"),
                Just("whetstone.explain"), Just("whetstone.practiced"), Just("whetstone.calibration.status"),
                Just("whetstone.report"), Just("whetstone.nothing")
              ], uri(), prop_oneof![Just(json!(999)), Just(json!("x")), Just(json!(-1)), Just(json!(null))])
            .prop_map(|(command, uri, chunk)| request(
                "workspace/executeCommand",
                json!({"command": command, "arguments": [{"uri": uri, "chunk": chunk, "class": "core", "text": "because", "format": "json"}]}),
            )),
        1 => Just(notification("workspace/didChangeConfiguration", json!({"settings": {"whetstone": {"detection": {"minLines": "many"}, "nudges": 3}}}))),
        1 => Just(request("whetstone/noSuchMethod", json!({}))),
        1 => Just(notification("$/noSuchNotification", json!([1, 2]))),
        // Messages of the wrong shape, and bad frames that hold no more than themselves.
        1 => Just(notification("textDocument/didChange", json!("hello"))),
        1 => Just(raw_frame(br#"{"jsonrpc":"2.0","id":{"a":1},"method":"textDocument/hover"}"#)),
        1 => Just(raw_frame(br#"[{"jsonrpc":"2.0","method":"initialized"}]"#)),
        1 => Just(raw_frame(b"{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"params\":\"\xff\"}")),
        1 => Just(raw_frame(br#"{"oops": "#)),
        1 => Just(Message::Raw(b"Content-Length: nine\r\n\r\n".to_vec())),
        1 => Just(Message::Raw(b"Content-Length: 99999999999999\r\n\r\n{}".to_vec())),
        1 => Just(Message::Raw(b"Content-Type: application/json\r\n\r\n{}".to_vec())),
        // Random bytes, ended by a blank line so that they cannot run into the next header.
        2 => prop::collection::vec(any::<u8>(), 0..48).prop_map(|mut bytes| {
            bytes.extend_from_slice(b"\r\n\r\n");
            Message::Raw(bytes)
        }),
    ]
}

/// The client side: frames written through one task, every incoming message decoded by the
/// frame guard's own decoder, server requests answered at once.
struct Client {
    outgoing: mpsc::UnboundedSender<Vec<u8>>,
    responses: mpsc::UnboundedReceiver<Value>,
    answered: HashMap<i64, Value>,
    next_id: i64,
}

impl Client {
    fn start(to_server: DuplexStream, mut from_server: DuplexStream) -> Client {
        let (outgoing, mut frames) = mpsc::unbounded_channel::<Vec<u8>>();
        let mut to_server = to_server;
        tokio::spawn(async move {
            while let Some(bytes) = frames.recv().await {
                if to_server.write_all(&bytes).await.is_err() {
                    break;
                }
            }
        });
        let (responses_in, responses) = mpsc::unbounded_channel();
        let answers = outgoing.clone();
        tokio::spawn(async move {
            let mut decoder = FrameDecoder::default();
            let mut buffer = vec![0u8; 64 * 1024];
            loop {
                let read = match from_server.read(&mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(read) => read,
                };
                for decoded in decoder.push(&buffer[..read]) {
                    let Decoded::Message(body) = decoded else {
                        panic!("the server wrote a bad frame: {decoded:?}");
                    };
                    let message: Value = serde_json::from_slice(&body).expect("JSON");
                    match (message.get("method"), message.get("id")) {
                        (Some(method), Some(id)) => {
                            let result = if method == "workspace/configuration" {
                                json!([null])
                            } else {
                                Value::Null
                            };
                            let answer = json!({"jsonrpc": "2.0", "id": id, "result": result});
                            let _ = answers.send(frame(answer.to_string().as_bytes()));
                        }
                        (None, Some(_)) => {
                            let _ = responses_in.send(message);
                        }
                        _ => {}
                    }
                }
            }
        });
        Client {
            outgoing,
            responses,
            answered: HashMap::new(),
            next_id: 1,
        }
    }

    fn send(&mut self, message: &Message) {
        let bytes = match message {
            Message::Raw(bytes) => bytes.clone(),
            Message::Json(value) => {
                let mut value = value.clone();
                if value.get("id").is_some() {
                    value["id"] = json!(self.next_id);
                    self.next_id += 1;
                }
                frame(value.to_string().as_bytes())
            }
        };
        self.outgoing.send(bytes).expect("the writer runs");
    }

    /// Sends a request and waits for its answer: `Ok(result)` or `Err(error)`.
    async fn request(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        let id = self.next_id;
        self.next_id += 1;
        let message = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.outgoing
            .send(frame(message.to_string().as_bytes()))
            .expect("the writer runs");
        let answer = loop {
            if let Some(answer) = self.answered.remove(&id) {
                break answer;
            }
            let response = tokio::time::timeout(Duration::from_secs(20), self.responses.recv())
                .await
                .unwrap_or_else(|_| panic!("no answer to {method} within 20 s"))
                .unwrap_or_else(|| {
                    panic!("the server closed its output before answering {method}")
                });
            if let Some(number) = response["id"].as_i64() {
                self.answered.insert(number, response);
            }
        };
        match answer.get("error") {
            Some(error) => Err(error.clone()),
            None => Ok(answer["result"].clone()),
        }
    }

    async fn chunks(&mut self, uri: &str) -> Value {
        self.request(
            "workspace/executeCommand",
            json!({"command": "whetstone.chunks", "arguments": [{"uri": uri}]}),
        )
        .await
        .expect("whetstone.chunks answers")
    }
}

/// Runs one sequence against a fresh server with its own store; returns what went wrong.
async fn run_sequence(messages: Vec<Message>) -> Result<(), String> {
    let store = tempfile::tempdir().expect("a temporary store");
    let (client_end, server_input) = tokio::io::duplex(1 << 20);
    let (server_output, client_input) = tokio::io::duplex(1 << 20);
    tokio::spawn(whetstone::lsp::serve_on(server_input, server_output));
    let mut client = Client::start(client_end, client_input);

    let initialized = client
        .request(
            "initialize",
            json!({"capabilities": {}, "rootUri": "file:///w",
                   "initializationOptions": {"storePath": store.path()}}),
        )
        .await;
    if let Err(error) = initialized {
        return Err(format!("initialize failed: {error}"));
    }
    client.send(&notification("initialized", json!({})));
    client.send(&notification(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": MAIN, "languageId": "rust", "version": 1, "text": SOURCE}}),
    ));
    client.send(&notification(
        "textDocument/didChange",
        json!({"textDocument": {"uri": MAIN, "version": 2},
               "contentChanges": [{"range": {"start": {"line": 5, "character": 0}, "end": {"line": 5, "character": 0}},
                                   "text": PASTED}]}),
    ));
    let report = client.chunks(MAIN).await;
    let Some(chunk) = report["chunks"][0]["id"].as_u64() else {
        return Err(format!("the paste made no chunk: {report}"));
    };
    client
        .request(
            "workspace/executeCommand",
            json!({"command": "whetstone.classify", "arguments": [{"uri": MAIN, "chunk": chunk, "class": "core"}]}),
        )
        .await
        .map_err(|error| format!("classify failed: {error}"))?;

    for message in &messages {
        // The recorded verdict is the user's: the sequence may not change it on purpose.
        if let Message::Json(value) = message
            && value["params"]["arguments"][0]["uri"] == MAIN
            && value["params"]["arguments"][0]["chunk"] == chunk
        {
            continue;
        }
        client.send(message);
    }

    let report = client.chunks(MAIN).await;
    let recorded = report["chunks"]
        .as_array()
        .and_then(|chunks| chunks.iter().find(|view| view["id"] == chunk));
    match recorded {
        Some(view) if view["class"] == "core" => {}
        _ => {
            return Err(format!(
                "the core chunk {chunk} is not reported: {report:#}"
            ));
        }
    }
    let lenses = client
        .request(
            "textDocument/codeLens",
            json!({"textDocument": {"uri": MAIN}}),
        )
        .await;
    if !matches!(lenses, Ok(Value::Array(_))) {
        return Err(format!("code lens answered {lenses:?}"));
    }
    client
        .request("shutdown", Value::Null)
        .await
        .map_err(|error| format!("shutdown failed: {error}"))?;
    Ok(())
}

proptest! {
    // Each case starts a server with a store: a few dozen cases keep this well under a minute.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn the_server_outlives_any_sequence_and_keeps_its_verdicts(
        messages in prop::collection::vec(message(), 0..60)
    ) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let outcome = runtime.block_on(run_sequence(messages));
        runtime.shutdown_timeout(Duration::from_secs(5));
        if let Err(problem) = outcome {
            prop_assert!(false, "{}", problem);
        }
    }
}
