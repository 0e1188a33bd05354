//! A synchronous LSP client for end-to-end tests: it spawns a language server, speaks
//! `Content-Length` framed JSON-RPC over the server's stdio with plain threads, answers the
//! requests the server sends, and never waits without a timeout.
//!
//! Four threads per server: the test's own (queues requests and notifications, waits); a writer
//! that owns the server's stdin; a reader that parses stdout into an inbox and answers
//! server-to-client requests at once (a server may hold work until its
//! `workspace/codeLens/refresh` is answered, so the answer must not depend on the test waiting
//! at that moment); and one that collects stderr, so that a chatty server never blocks on a full
//! pipe and every failure message can show its log. Only the writer ever blocks on stdin, so a
//! server that stops reading its input until its output is drained cannot deadlock the test.

use std::collections::HashMap;
use std::io::{self, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::frames::{encode_frame, read_frame};
use crate::params::file_uri;

/// How long `request` waits for its response before giving up.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// How long `shutdown` waits for the process to end after `exit` before killing it.
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Failure messages show at most this much of the end of the server's stderr: with
/// `WHETSTONE_LOG=debug` the whole log can be long, and the end is where the trouble is.
const STDERR_TAIL_IN_FAILURES: usize = 20_000;

/// A running language server and the client side of its conversation.
pub struct LspClient {
    child: Child,
    /// What was started, for failure messages.
    description: String,
    /// Frames for the writer thread, which sends them in order; the reader thread holds a clone
    /// for its answers.
    writer: Sender<WriterMessage>,
    inbox: Arc<Inbox>,
    stderr_buffer: Arc<Mutex<String>>,
    message_request_answer: Arc<Mutex<Option<Value>>>,
    next_request_id: i64,
}

impl LspClient {
    /// Spawns `whetstone lsp` (the binary from [`crate::binary::whetstone_binary`]) with
    /// `WHETSTONE_HOME=home` and `WHETSTONE_LOG=debug`.
    pub fn start(home: &Path) -> LspClient {
        let binary = crate::binary::whetstone_binary();
        let home = home.to_string_lossy();
        LspClient::start_with(
            &binary,
            &["lsp"],
            &[
                ("WHETSTONE_HOME", home.as_ref()),
                ("WHETSTONE_LOG", "debug"),
            ],
        )
    }

    /// Spawns any stdio language server: `binary args...` with `envs` added to the environment.
    pub fn start_with(binary: &Path, args: &[&str], envs: &[(&str, &str)]) -> LspClient {
        LspClient::start_in(binary, args, envs, None)
    }

    /// [`LspClient::start_with`], run from `current_dir` when given (for tests that check where
    /// the server writes).
    pub fn start_in(
        binary: &Path,
        args: &[&str],
        envs: &[(&str, &str)],
        current_dir: Option<&Path>,
    ) -> LspClient {
        let description = format!("{} {}", binary.display(), args.join(" "));
        let mut command = Command::new(binary);
        if let Some(directory) = current_dir {
            command.current_dir(directory);
        }
        command
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in envs {
            command.env(name, value);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start `{description}`: {error}"));
        let stdin = child.stdin.take().expect("stdin was asked to be piped");
        let stdout = child.stdout.take().expect("stdout was asked to be piped");
        let stderr = child.stderr.take().expect("stderr was asked to be piped");

        let inbox = Arc::new(Inbox::default());
        let (writer, frames_to_write) = mpsc::channel();
        let stderr_buffer = Arc::new(Mutex::new(String::new()));
        let message_request_answer = Arc::new(Mutex::new(None));

        {
            let inbox = Arc::clone(&inbox);
            thread::Builder::new()
                .name("lsp-stdin-writer".to_string())
                .spawn(move || write_server_input(stdin, &frames_to_write, &inbox))
                .expect("cannot start the stdin writer thread");
        }
        {
            let inbox = Arc::clone(&inbox);
            let writer = writer.clone();
            let message_request_answer = Arc::clone(&message_request_answer);
            thread::Builder::new()
                .name("lsp-stdout-reader".to_string())
                .spawn(move || read_server_output(stdout, &inbox, writer, &message_request_answer))
                .expect("cannot start the stdout reader thread");
        }
        {
            let stderr_buffer = Arc::clone(&stderr_buffer);
            thread::Builder::new()
                .name("lsp-stderr-collector".to_string())
                .spawn(move || collect_stderr(stderr, &stderr_buffer))
                .expect("cannot start the stderr collector thread");
        }

        LspClient {
            child,
            description,
            writer,
            inbox,
            stderr_buffer,
            message_request_answer,
            next_request_id: 1,
        }
    }

    /// Sends `initialize` (with the given client capabilities, `initializationOptions`, and
    /// `root` as rootUri and only workspace folder), waits for the result, sends `initialized`,
    /// and returns the result. Panics if the server answers with an error.
    pub fn initialize(
        &mut self,
        root: &Path,
        capabilities: Value,
        initialization_options: Value,
    ) -> Value {
        self.initialize_as(
            "whetstone-tests",
            root,
            capabilities,
            initialization_options,
        )
    }

    /// [`LspClient::initialize`] for a client that names itself `client_name` in its
    /// `clientInfo` ("Neovim", "helix", "Visual Studio Code").
    pub fn initialize_as(
        &mut self,
        client_name: &str,
        root: &Path,
        capabilities: Value,
        initialization_options: Value,
    ) -> Value {
        let root_uri = file_uri(root);
        let folder_name = root
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| "workspace".to_string());
        let params = json!({
            "processId": std::process::id(),
            "clientInfo": {"name": client_name, "version": "0"},
            "locale": "en",
            "rootPath": root.to_string_lossy(),
            "rootUri": root_uri,
            "workspaceFolders": [{"uri": root_uri, "name": folder_name}],
            "capabilities": capabilities,
            "initializationOptions": initialization_options,
            "trace": "off",
        });
        let result = match self.request("initialize", params) {
            Ok(result) => result,
            Err(error) => panic!("{}", self.failure(&format!("initialize failed: {error}"))),
        };
        self.notify("initialized", json!({}));
        result
    }

    /// Sends a request and waits (up to [`DEFAULT_REQUEST_TIMEOUT`], then panics showing the
    /// server's stderr) for the response with its id: `Ok(result)` or `Err(error object)`.
    pub fn request(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        self.request_with_timeout(method, params, DEFAULT_REQUEST_TIMEOUT)
    }

    /// [`LspClient::request`] with its own timeout.
    pub fn request_with_timeout(
        &mut self,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Value, Value> {
        let id = self.next_request_id;
        self.next_request_id += 1;
        let mut message = json!({"jsonrpc": "2.0", "id": id, "method": method});
        if !params.is_null() {
            message["params"] = params;
        }
        self.write_message(&message, method);

        let key = response_key(&json!(id));
        let deadline = Instant::now() + timeout;
        let mut state = self.inbox.lock();
        loop {
            if let Some(response) = state.responses.remove(&key) {
                drop(state);
                return match response.get("error") {
                    Some(error) => Err(error.clone()),
                    None => Ok(response.get("result").cloned().unwrap_or(Value::Null)),
                };
            }
            if state.stdout_closed {
                drop(state);
                panic!(
                    "{}",
                    self.failure(&format!(
                        "the server closed its output before answering {method} (id {id})"
                    ))
                );
            }
            let now = Instant::now();
            if now >= deadline {
                drop(state);
                panic!(
                    "{}",
                    self.failure(&format!(
                        "no response to {method} (id {id}) within {timeout:?}"
                    ))
                );
            }
            state = self.inbox.wait(state, deadline - now);
        }
    }

    /// Sends a request without waiting for its answer; [`LspClient::response`] takes it later.
    /// Returns the request's id.
    pub fn send_request(&mut self, method: &str, params: Value) -> i64 {
        let id = self.next_request_id;
        self.next_request_id += 1;
        let message = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.write_message(&message, method);
        id
    }

    /// The answer to the request `id` sent with [`LspClient::send_request`], once it arrived
    /// within `timeout` (the result, or the error as `Err`); None when it did not.
    pub fn response(&mut self, id: i64, timeout: Duration) -> Option<Result<Value, Value>> {
        let key = response_key(&json!(id));
        let response = self.wait_in_inbox(timeout, |state| state.responses.remove(&key))?;
        Some(match response.get("error") {
            Some(error) => Err(error.clone()),
            None => Ok(response.get("result").cloned().unwrap_or(Value::Null)),
        })
    }

    /// Sends a notification. Panics (showing stderr) if the server's stdin is gone.
    pub fn notify(&mut self, method: &str, params: Value) {
        let mut message = json!({"jsonrpc": "2.0", "method": method});
        if !params.is_null() {
            message["params"] = params;
        }
        self.write_message(&message, method);
    }

    /// `workspace/executeCommand` with one JSON object as the only argument, as whetstone's
    /// commands take them.
    pub fn execute_command(&mut self, command: &str, argument: Value) -> Result<Value, Value> {
        self.request(
            "workspace/executeCommand",
            json!({"command": command, "arguments": [argument]}),
        )
    }

    /// Waits until a notification `method` whose params satisfy `predicate` has arrived,
    /// counting ones that arrived earlier and were not yet taken by another wait; that
    /// notification is taken and its params returned. `None` on timeout or when the server
    /// has closed its output without sending one.
    pub fn wait_for_notification(
        &mut self,
        method: &str,
        timeout: Duration,
        predicate: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        self.wait_in_inbox(timeout, |state| {
            take_first(&mut state.notifications, method, &predicate)
        })
    }

    /// Like [`LspClient::wait_for_notification`], for requests the server sent to us.
    pub fn wait_for_server_request(
        &mut self,
        method: &str,
        timeout: Duration,
        predicate: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        self.wait_in_inbox(timeout, |state| {
            take_first(&mut state.server_requests, method, &predicate)
        })
    }

    /// The params of every notification `method` received so far, in order (taken or not).
    pub fn notifications(&self, method: &str) -> Vec<Value> {
        all_params(&self.inbox.lock().notifications, method)
    }

    /// The params of every request `method` the server sent us so far, in order, e.g.
    /// `workspace/codeLens/refresh`, `window/showDocument`, `client/registerCapability`,
    /// `window/showMessageRequest`. Each was answered on arrival: `null`, except
    /// `window/showDocument` -> `{"success": true}`, `workspace/configuration` -> one `null`
    /// per item, and `window/showMessageRequest` -> what
    /// [`LspClient::answer_message_requests_with`] set (`null` by default).
    pub fn server_requests(&self, method: &str) -> Vec<Value> {
        all_params(&self.inbox.lock().server_requests, method)
    }

    /// The answer to give `window/showMessageRequest` from now on: `Some(action item)` picks an
    /// action, `None` is the user closing the message (`null`).
    pub fn answer_message_requests_with(&mut self, answer: Option<Value>) {
        *lock_ignoring_poison(&self.message_request_answer) = answer;
    }

    /// Writes raw bytes to the server's stdin, for tests of malformed frames.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        if let Err(error) = self.write_bytes(bytes) {
            panic!(
                "{}",
                self.failure(&format!("cannot write raw bytes to the server: {error}"))
            );
        }
    }

    /// `shutdown` (which must succeed), then `exit`; waits for the process (up to 10 s, then
    /// kills it) and returns its exit status.
    pub fn shutdown(mut self) -> ExitStatus {
        if let Err(error) = self.request("shutdown", Value::Null) {
            panic!("{}", self.failure(&format!("shutdown failed: {error}")));
        }
        self.notify("exit", Value::Null);
        // Closing stdin as well: a server that missed `exit` then sees end of input.
        let _ = self.writer.send(WriterMessage::Close);
        self.wait_for_exit(EXIT_TIMEOUT)
    }

    /// Kills the server without a goodbye.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Everything the server wrote to stderr so far.
    pub fn stderr(&self) -> String {
        lock_ignoring_poison(&self.stderr_buffer).clone()
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The server's process id (for reading /proc, say).
    pub fn process_id(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `timeout` for the process to end on its own, then kills it; returns how it
    /// ended.
    pub fn wait_for_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return status,
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
                Ok(None) => {
                    let _ = self.child.kill();
                    return self.child.wait().unwrap_or_else(|error| {
                        panic!("cannot wait for the killed {}: {error}", self.description)
                    });
                }
                Err(error) => panic!("cannot wait for {}: {error}", self.description),
            }
        }
    }

    /// A failure message: what went wrong, then the server's state and the end of its stderr.
    pub fn failure(&self, what: &str) -> String {
        let stderr = self.stderr();
        let tail_start = stderr
            .char_indices()
            .rev()
            .nth(STDERR_TAIL_IN_FAILURES)
            .map_or(0, |(index, _)| index);
        let (protocol_errors, writer_error) = {
            let state = self.inbox.lock();
            (state.protocol_errors.join("\n"), state.writer_error.clone())
        };
        let mut message = format!("{what}\nserver: {}", self.description);
        if let Some(writer_error) = writer_error {
            message.push_str(&format!("\nwriter: {writer_error}"));
        }
        if !protocol_errors.is_empty() {
            message.push_str(&format!("\nprotocol errors:\n{protocol_errors}"));
        }
        if tail_start > 0 {
            message.push_str("\n--- server stderr (last part) ---\n");
        } else {
            message.push_str("\n--- server stderr ---\n");
        }
        message.push_str(&stderr[tail_start..]);
        message
    }

    fn write_message(&mut self, message: &Value, method: &str) {
        if let Err(error) = self.write_bytes(&encode_frame(message)) {
            panic!(
                "{}",
                self.failure(&format!("cannot send {method} to the server: {error}"))
            );
        }
    }

    /// Queues bytes for the writer thread; an error once it has stopped (stdin closed or
    /// broken), with the reason it recorded.
    fn write_bytes(&self, bytes: &[u8]) -> io::Result<()> {
        let stopped = self.inbox.lock().writer_error.clone();
        if let Some(reason) = stopped {
            return Err(io::Error::new(io::ErrorKind::BrokenPipe, reason));
        }
        self.writer
            .send(WriterMessage::Frame(bytes.to_vec()))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the writer thread has ended"))
    }

    fn wait_in_inbox(
        &self,
        timeout: Duration,
        mut take: impl FnMut(&mut InboxState) -> Option<Value>,
    ) -> Option<Value> {
        let deadline = Instant::now() + timeout;
        let mut state = self.inbox.lock();
        loop {
            if let Some(found) = take(&mut state) {
                return Some(found);
            }
            let now = Instant::now();
            if state.stdout_closed || now >= deadline {
                return None;
            }
            state = self.inbox.wait(state, deadline - now);
        }
    }
}

impl Drop for LspClient {
    /// A test that panics half way must not leave its server running.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The answer this harness gives to a request the server sent (see
/// [`LspClient::server_requests`]).
pub fn answer_to_server_request(
    method: &str,
    params: &Value,
    message_request_answer: Option<&Value>,
) -> Value {
    match method {
        "window/showDocument" => json!({"success": true}),
        "workspace/configuration" => {
            let item_count = params
                .get("items")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            Value::Array(vec![Value::Null; item_count])
        }
        "window/showMessageRequest" => message_request_answer.cloned().unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

#[derive(Default)]
struct Inbox {
    state: Mutex<InboxState>,
    arrived: Condvar,
}

impl Inbox {
    fn lock(&self) -> MutexGuard<'_, InboxState> {
        lock_ignoring_poison(&self.state)
    }

    fn wait<'a>(
        &self,
        guard: MutexGuard<'a, InboxState>,
        timeout: Duration,
    ) -> MutexGuard<'a, InboxState> {
        match self.arrived.wait_timeout(guard, timeout) {
            Ok((guard, _)) => guard,
            Err(poisoned) => poisoned.into_inner().0,
        }
    }
}

#[derive(Default)]
struct InboxState {
    /// Responses not yet claimed, by their id as JSON text.
    responses: HashMap<String, Value>,
    notifications: Vec<Received>,
    server_requests: Vec<Received>,
    protocol_errors: Vec<String>,
    stdout_closed: bool,
    /// Why the writer thread stopped, once it has.
    writer_error: Option<String>,
}

enum WriterMessage {
    Frame(Vec<u8>),
    /// Close the server's stdin.
    Close,
}

/// A notification or server request, and whether a wait has taken it.
struct Received {
    method: String,
    params: Value,
    taken: bool,
}

fn take_first(
    received: &mut [Received],
    method: &str,
    predicate: &impl Fn(&Value) -> bool,
) -> Option<Value> {
    let found = received
        .iter_mut()
        .find(|item| !item.taken && item.method == method && predicate(&item.params))?;
    found.taken = true;
    Some(found.params.clone())
}

fn all_params(received: &[Received], method: &str) -> Vec<Value> {
    received
        .iter()
        .filter(|item| item.method == method)
        .map(|item| item.params.clone())
        .collect()
}

fn response_key(id: &Value) -> String {
    id.to_string()
}

/// A panic on another thread while it held a lock leaves data that is still fine to read
/// here (plain buffers), and the panic itself is reported by that thread.
fn lock_ignoring_poison<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write_server_input(
    mut stdin: ChildStdin,
    frames: &mpsc::Receiver<WriterMessage>,
    inbox: &Inbox,
) {
    let reason = loop {
        match frames.recv() {
            Ok(WriterMessage::Frame(bytes)) => {
                if let Err(error) = stdin.write_all(&bytes).and_then(|()| stdin.flush()) {
                    break format!("writing to the server's stdin failed: {error}");
                }
            }
            Ok(WriterMessage::Close) | Err(_) => break "stdin was closed".to_string(),
        }
    };
    drop(stdin);
    inbox.lock().writer_error = Some(reason);
    inbox.arrived.notify_all();
}

fn read_server_output(
    stdout: impl Read,
    inbox: &Inbox,
    writer: Sender<WriterMessage>,
    message_request_answer: &Mutex<Option<Value>>,
) {
    let mut reader = BufReader::new(stdout);
    loop {
        let body = match read_frame(&mut reader) {
            Ok(Some(body)) => body,
            Ok(None) => break,
            Err(error) => {
                // Framing is lost: nothing after this can be trusted to start on a frame.
                inbox
                    .lock()
                    .protocol_errors
                    .push(format!("unreadable output from the server: {error}"));
                break;
            }
        };
        let message: Value = match serde_json::from_slice(&body) {
            Ok(message) => message,
            Err(error) => {
                inbox.lock().protocol_errors.push(format!(
                    "a frame that is not JSON ({error}): {}",
                    String::from_utf8_lossy(&body)
                ));
                inbox.arrived.notify_all();
                continue;
            }
        };
        let method = message.get("method").and_then(Value::as_str);
        let id = message.get("id");
        let params = message.get("params").cloned().unwrap_or(Value::Null);
        match (method, id) {
            (Some(method), Some(id)) => {
                let answer = {
                    let preset = lock_ignoring_poison(message_request_answer);
                    answer_to_server_request(method, &params, preset.as_ref())
                };
                let response = json!({"jsonrpc": "2.0", "id": id, "result": answer});
                if writer
                    .send(WriterMessage::Frame(encode_frame(&response)))
                    .is_err()
                {
                    inbox.lock().protocol_errors.push(format!(
                        "could not answer the server's {method} request: stdin is closed"
                    ));
                }
                inbox.lock().server_requests.push(Received {
                    method: method.to_string(),
                    params,
                    taken: false,
                });
            }
            (Some(method), None) => inbox.lock().notifications.push(Received {
                method: method.to_string(),
                params,
                taken: false,
            }),
            (None, Some(id)) => {
                let key = response_key(id);
                inbox.lock().responses.insert(key, message);
            }
            (None, None) => inbox.lock().protocol_errors.push(format!(
                "a message that is neither request, notification nor response: {message}"
            )),
        }
        inbox.arrived.notify_all();
    }
    inbox.lock().stdout_closed = true;
    inbox.arrived.notify_all();
}

fn collect_stderr(mut stderr: impl Read, buffer: &Mutex<String>) {
    let mut chunk = [0; 8192];
    loop {
        match stderr.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(count) => {
                lock_ignoring_poison(buffer).push_str(&String::from_utf8_lossy(&chunk[..count]))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_requests_get_one_null_per_item() {
        let params = json!({"items": [{"section": "whetstone"}, {"section": "x"}]});
        assert_eq!(
            answer_to_server_request("workspace/configuration", &params, None),
            json!([null, null])
        );
        assert_eq!(
            answer_to_server_request(
                "window/showMessageRequest",
                &json!({}),
                Some(&json!({"title": "Yes"}))
            ),
            json!({"title": "Yes"})
        );
        assert_eq!(
            answer_to_server_request("window/showDocument", &json!({}), None),
            json!({"success": true})
        );
    }
}
