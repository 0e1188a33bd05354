//! `stdio_replay_bench`: replays a generated 100,000-keystroke editing session over stdio to
//! `whetstone lsp` and to the bare edit-applying server (`bare_lsp`), and prints the median wall
//! time of each, their ratio (SPEC target: at most 1.5×) and their peak memory.
//!
//! ```text
//! cargo build --release -p whetstone
//! cargo build --release -p whetstone-tests --bin bare_lsp
//! cargo run --release -p whetstone-tests --bin stdio_replay_bench -- [--runs N] [--keys N]
//! ```
//!
//! How it works, and why (docs/stdio-benchmark.md has the long form):
//! - The session is deterministic (a fixed-seed generator): a 2,000-line Rust file is opened,
//!   then new Rust code is typed into its middle, one `didChange` per key with one change each,
//!   shaped like a person typing (characters, Enter with auto-indent, Backspace after typos and
//!   some rework, a few completions), sent as fast as the pipe takes them: no pacing.
//! - Every frame is encoded before the clock starts, so both servers get the same bytes and the
//!   client's JSON work is not measured. Wall time runs from the first `didChange` written to
//!   the `shutdown` response: servers apply notifications in order, so that response comes after
//!   every edit was handled.
//! - A writer thread owns the server's stdin and a reader thread drains its stdout the whole
//!   time (answering any request the server makes), so neither side can stall on a full pipe.
//! - Peak RSS is the server's `VmHWM` from /proc, read after the shutdown response, before
//!   `exit`.
//! - The bare server logs a fingerprint of each document's final text on shutdown; it is checked
//!   against the text the generator expects, which proves the session replays as intended.

use std::collections::HashMap;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitCode, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use whetstone_tests::binary::sibling_binary;
use whetstone_tests::capabilities::vscode_like_capabilities;
use whetstone_tests::frames::{encode_frame, read_frame};
use whetstone_tests::measure::{parse_count, text_fingerprint};
use whetstone_tests::params::{did_open, file_uri};

const USAGE: &str = "\
usage: stdio_replay_bench [--runs N] [--keys N] [--whetstone PATH] [--bare PATH]
                          [--initialization-options JSON]

  --runs N          runs of each server, alternating (default 5)
  --keys N          keystrokes in the session (default 100000)
  --whetstone PATH  the server measured, started with the argument `lsp`
                    (default: whetstone next to this binary, i.e. target/release/whetstone)
  --bare PATH       the baseline (default: bare_lsp next to this binary)
  --initialization-options JSON
                    sent to both servers in `initialize` (default: none), e.g.
                    '{\"whetstone\": {\"detection\": {\"burstCharsPerSecond\": 1e9}}}'
";

const DEFAULT_RUNS: usize = 5;
const DEFAULT_KEYS: usize = 100_000;
const INITIAL_FILE_LINES: usize = 2_000;
/// The generator's seed: fixed, so that every run and every machine replays the same session.
const SESSION_SEED: u64 = 0x5eed_0f0a_57c0_de01;

/// Writes go to the pipe in batches of whole frames of about this size: big enough that the
/// client's syscalls cost nothing next to the server's work, small enough that answers to the
/// server's requests are not held back long.
const BATCH_BYTES: usize = 32 * 1024;

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(60);
const SESSION_TIMEOUT: Duration = Duration::from_secs(600);
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);

const INITIALIZE_ID: i64 = 1;
const WARM_UP_ID: i64 = 2;
const FINAL_CHUNKS_ID: i64 = 3;
const SHUTDOWN_ID: i64 = 4;

fn main() -> ExitCode {
    if std::env::args().any(|argument| argument == "--help" || argument == "-h") {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("stdio_replay_bench: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("stdio_replay_bench: {message}");
            ExitCode::from(1)
        }
    }
}

struct Options {
    runs: usize,
    keys: usize,
    whetstone: Option<PathBuf>,
    bare: Option<PathBuf>,
    initialization_options: Value,
}

impl Options {
    fn parse(mut arguments: impl Iterator<Item = String>) -> Result<Options, String> {
        let mut options = Options {
            runs: DEFAULT_RUNS,
            keys: DEFAULT_KEYS,
            whetstone: None,
            bare: None,
            initialization_options: Value::Null,
        };
        while let Some(argument) = arguments.next() {
            let mut value = |name: &str| {
                arguments
                    .next()
                    .ok_or_else(|| format!("{name} needs a value"))
            };
            match argument.as_str() {
                "--runs" => options.runs = parse_count("--runs", &value("--runs")?)?,
                "--keys" => options.keys = parse_count("--keys", &value("--keys")?)?,
                "--whetstone" => options.whetstone = Some(PathBuf::from(value("--whetstone")?)),
                "--bare" => options.bare = Some(PathBuf::from(value("--bare")?)),
                "--initialization-options" => {
                    let text = value("--initialization-options")?;
                    options.initialization_options =
                        serde_json::from_str(&text).map_err(|error| {
                            format!("--initialization-options is not JSON ({error}): {text}")
                        })?;
                }
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        Ok(options)
    }
}

fn run(options: &Options) -> Result<(), String> {
    let whetstone = match &options.whetstone {
        Some(path) => path.clone(),
        None => sibling_binary("whetstone")?,
    };
    let bare = match &options.bare {
        Some(path) => path.clone(),
        None => sibling_binary("bare_lsp")?,
    };
    if !whetstone.is_file() {
        return Err(format!(
            "{} does not exist: build it first with `cargo build --release -p whetstone` \
             (or point --whetstone at a server)",
            whetstone.display()
        ));
    }
    if !bare.is_file() {
        return Err(format!(
            "{} does not exist: build it first with \
             `cargo build --release -p whetstone-tests --bin bare_lsp`",
            bare.display()
        ));
    }
    let servers = [
        ServerUnderTest {
            label: "whetstone",
            binary: whetstone,
        },
        ServerUnderTest {
            label: "bare",
            binary: bare,
        },
    ];

    let session = Session::generate(options.keys, SESSION_SEED);
    println!("{}", session.summary());
    for server in &servers {
        println!("{:<10} {}", server.label, server.binary.display());
    }

    let mut results: [Vec<RunResult>; 2] = [Vec::new(), Vec::new()];
    for run_index in 0..options.runs {
        // Alternating which server goes first evens out warm caches and background noise.
        let order = if run_index % 2 == 0 { [0, 1] } else { [1, 0] };
        for server_index in order {
            let server = &servers[server_index];
            let result = run_once(server, &session, &options.initialization_options)
                .map_err(|message| format!("{} run {}: {message}", server.label, run_index + 1))?;
            println!(
                "run {}/{}  {:<10} {:>8.3} s  peak RSS {}{}",
                run_index + 1,
                options.runs,
                server.label,
                result.wall.as_secs_f64(),
                format_kib(result.peak_rss_kib),
                result.notes(),
            );
            results[server_index].push(result);
        }
    }

    let [whetstone_results, bare_results] = &results;
    let whetstone_wall = median(
        whetstone_results
            .iter()
            .map(|result| result.wall.as_secs_f64()),
    );
    let bare_wall = median(bare_results.iter().map(|result| result.wall.as_secs_f64()));
    let whetstone_rss = median_kib(whetstone_results);
    let bare_rss = median_kib(bare_results);
    let ratio = whetstone_wall / bare_wall;
    println!();
    println!(
        "median of {} runs: wall time whetstone {whetstone_wall:.3} s, bare {bare_wall:.3} s, \
         ratio {ratio:.2}x (SPEC target <= 1.5x: {})",
        options.runs,
        if ratio <= 1.5 { "met" } else { "NOT met" }
    );
    println!(
        "median peak RSS: whetstone {}, bare {}",
        format_kib(whetstone_rss),
        format_kib(bare_rss)
    );
    Ok(())
}

struct ServerUnderTest {
    label: &'static str,
    binary: PathBuf,
}

struct RunResult {
    wall: Duration,
    peak_rss_kib: Option<u64>,
    /// The chunks `whetstone.chunks` listed at the end, as "origin (lines)" (None: the server
    /// has no such command, as the bare one). Typing is never flagged at a person's pace, but
    /// this session arrives far faster than anyone types, so the burst detector may fire.
    chunks_flagged: Option<Vec<String>>,
    /// Whether the final text the server reported matches the generator's (None: not reported).
    final_text_matches: Option<bool>,
    notifications_received: usize,
    requests_received: usize,
}

impl RunResult {
    fn notes(&self) -> String {
        let mut notes = Vec::new();
        if let Some(chunks) = &self.chunks_flagged {
            notes.push(format!(
                "{} chunks flagged{}",
                chunks.len(),
                if chunks.is_empty() {
                    String::new()
                } else {
                    format!(": {}", chunks.join(", "))
                }
            ));
        }
        match self.final_text_matches {
            Some(true) => notes.push("final text verified".to_string()),
            Some(false) => notes.push("FINAL TEXT DIFFERS from the expected one".to_string()),
            None => {}
        }
        if self.notifications_received > 0 || self.requests_received > 0 {
            notes.push(format!(
                "{} notifications and {} requests from the server",
                self.notifications_received, self.requests_received
            ));
        }
        if notes.is_empty() {
            String::new()
        } else {
            format!("  ({})", notes.join(", "))
        }
    }
}

/// One replay against one server: spawn, initialize, open, the timed keystrokes, shutdown.
fn run_once(
    server: &ServerUnderTest,
    session: &Session,
    initialization_options: &Value,
) -> Result<RunResult, String> {
    let home = tempfile::tempdir().map_err(|error| format!("cannot make a temp dir: {error}"))?;
    let workspace =
        tempfile::tempdir().map_err(|error| format!("cannot make a temp dir: {error}"))?;
    let source_dir = workspace.path().join("src");
    std::fs::create_dir_all(&source_dir)
        .map_err(|error| format!("cannot create {}: {error}", source_dir.display()))?;
    let file_path = source_dir.join("lib.rs");
    std::fs::write(&file_path, &session.initial_text)
        .map_err(|error| format!("cannot write {}: {error}", file_path.display()))?;
    let uri = file_uri(&file_path);
    let frames = session.encode_frames(&uri);

    let mut child = Command::new(&server.binary)
        .arg("lsp")
        .env("WHETSTONE_HOME", home.path())
        // The server's default log level is what users run with; a debug level inherited from
        // the shell would measure logging instead.
        .env_remove("WHETSTONE_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("cannot start {}: {error}", server.binary.display()))?;
    let connection = Connection::attach(&mut child)?;
    let outcome = drive_session(
        &mut child,
        &connection,
        session,
        frames,
        &uri,
        workspace.path(),
        initialization_options,
    );
    let stderr = connection.finish(&mut child);
    let mut result = outcome.map_err(|message| {
        format!(
            "{message}\n--- server stderr (last part) ---\n{}",
            tail(&stderr, 4000)
        )
    })?;
    result.final_text_matches = check_final_text(&stderr, &uri, session);
    Ok(result)
}

fn drive_session(
    child: &mut Child,
    connection: &Connection,
    session: &Session,
    frames: SessionFrames,
    uri: &str,
    workspace: &Path,
    initialization_options: &Value,
) -> Result<RunResult, String> {
    let mut responses = Responses::default();
    let root_uri = file_uri(workspace);
    connection.send(&json!({
        "jsonrpc": "2.0", "id": INITIALIZE_ID, "method": "initialize",
        "params": {
            "processId": std::process::id(),
            "clientInfo": {"name": "stdio_replay_bench"},
            "rootUri": root_uri,
            "workspaceFolders": [{"uri": root_uri, "name": "bench"}],
            "capabilities": vscode_like_capabilities(),
            "initializationOptions": initialization_options,
        },
    }))?;
    let initialize = responses.wait(connection, INITIALIZE_ID, HANDSHAKE_TIMEOUT)?;
    if let Some(error) = initialize.message.get("error") {
        return Err(format!("initialize failed: {error}"));
    }
    connection.send(&json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}))?;
    connection.send(&json!({
        "jsonrpc": "2.0", "method": "textDocument/didOpen",
        "params": did_open(uri, &session.initial_text, 1),
    }))?;
    // A round trip before the clock starts, so that opening the file (and whetstone opening
    // its store) is not counted as keystroke work. The bare server answers "method not found",
    // which is as good a barrier.
    connection.send(&chunks_request(WARM_UP_ID, uri))?;
    responses.wait(connection, WARM_UP_ID, HANDSHAKE_TIMEOUT)?;

    let (started_sender, started) = mpsc::channel();
    connection
        .writer
        .send(WriterMessage::Session(frames, started_sender))
        .map_err(|_| "the writer thread has ended".to_string())?;
    let shutdown = responses.wait(connection, SHUTDOWN_ID, SESSION_TIMEOUT)?;
    let started_at = started
        .recv_timeout(HANDSHAKE_TIMEOUT)
        .map_err(|_| "the writer never reported starting the session".to_string())?;
    if let Some(error) = shutdown.message.get("error") {
        return Err(format!("shutdown failed: {error}"));
    }
    let wall = shutdown.arrived_at.duration_since(started_at);
    let peak_rss_kib = peak_rss_kib(child.id());

    // The chunks answer was sent before shutdown's, so it is already here (or never comes).
    let chunks_flagged = responses
        .wait(connection, FINAL_CHUNKS_ID, Duration::from_secs(1))
        .ok()
        .and_then(|response| {
            let chunks = response.message.get("result")?.get("chunks")?.as_array()?;
            Some(
                chunks
                    .iter()
                    .map(|chunk| format!("{} ({} lines)", chunk["origin"], chunk["lines"]))
                    .collect(),
            )
        });
    let (notifications_received, requests_received) = connection.counts();
    Ok(RunResult {
        wall,
        peak_rss_kib,
        chunks_flagged,
        final_text_matches: None,
        notifications_received,
        requests_received,
    })
}

fn chunks_request(id: i64, uri: &str) -> Value {
    json!({
        "jsonrpc": "2.0", "id": id, "method": "workspace/executeCommand",
        "params": {"command": "whetstone.chunks", "arguments": [{"uri": uri}]},
    })
}

/// The bare server's shutdown log line for `uri`, compared with the generator's final text.
fn check_final_text(stderr: &str, uri: &str, session: &Session) -> Option<bool> {
    let prefix = format!("bare_lsp: final {uri} ");
    let line = stderr.lines().find(|line| line.starts_with(&prefix))?;
    let expected = format!(
        "chars={} lines={} fingerprint={:016x}",
        session.final_text.chars().count(),
        session.final_line_count(),
        text_fingerprint([session.final_text.as_str()]),
    );
    Some(line[prefix.len()..] == expected)
}

/// `VmHWM` (peak resident set) of a live process, in KiB; None where /proc has no answer.
fn peak_rss_kib(process_id: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{process_id}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

// ---------------------------------------------------------------------------------------------
// The connection: a writer thread owning stdin, a reader thread draining stdout, a stderr
// collector.

enum WriterMessage {
    Frame(Vec<u8>),
    /// Write the whole session, reporting on the sender when its first byte is about to go.
    Session(SessionFrames, Sender<Instant>),
    Close,
}

struct Response {
    message: Value,
    arrived_at: Instant,
}

struct Connection {
    writer: Sender<WriterMessage>,
    responses: Receiver<Response>,
    stderr: Arc<Mutex<String>>,
    /// Notifications and requests the server sent: only counted, for the report.
    counts: Arc<Mutex<(usize, usize)>>,
    threads: Vec<JoinHandle<()>>,
}

impl Connection {
    fn attach(child: &mut Child) -> Result<Connection, String> {
        let stdin = child
            .stdin
            .take()
            .ok_or("the server's stdin is not piped")?;
        let stdout = child
            .stdout
            .take()
            .ok_or("the server's stdout is not piped")?;
        let mut stderr_pipe = child
            .stderr
            .take()
            .ok_or("the server's stderr is not piped")?;
        let (writer, writer_queue) = mpsc::channel();
        let (response_sender, responses) = mpsc::channel();
        let stderr = Arc::new(Mutex::new(String::new()));
        let counts = Arc::new(Mutex::new((0, 0)));

        let writer_thread = thread::spawn(move || write_frames(stdin, &writer_queue));
        let reader_thread = {
            let writer = writer.clone();
            let counts = Arc::clone(&counts);
            thread::spawn(move || read_messages(stdout, &writer, &response_sender, &counts))
        };
        let stderr_thread = {
            let stderr = Arc::clone(&stderr);
            thread::spawn(move || {
                let mut chunk = [0; 8192];
                while let Ok(count @ 1..) = stderr_pipe.read(&mut chunk) {
                    if let Ok(mut buffer) = stderr.lock() {
                        buffer.push_str(&String::from_utf8_lossy(&chunk[..count]));
                    }
                }
            })
        };
        Ok(Connection {
            writer,
            responses,
            stderr,
            counts,
            threads: vec![writer_thread, reader_thread, stderr_thread],
        })
    }

    fn send(&self, message: &Value) -> Result<(), String> {
        self.writer
            .send(WriterMessage::Frame(encode_frame(message)))
            .map_err(|_| "the writer thread has ended (the server closed its stdin?)".to_string())
    }

    fn counts(&self) -> (usize, usize) {
        self.counts.lock().map(|counts| *counts).unwrap_or((0, 0))
    }

    /// Says `exit`, closes stdin, waits for the process (killing it after a while), and returns
    /// its stderr.
    fn finish(self, child: &mut Child) -> String {
        let _ = self.send(&json!({"jsonrpc": "2.0", "method": "exit"}));
        let _ = self.writer.send(WriterMessage::Close);
        let deadline = Instant::now() + EXIT_TIMEOUT;
        loop {
            match child.try_wait() {
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
                Ok(None) => {
                    eprintln!("stdio_replay_bench: the server did not exit in time; killing it");
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                Ok(Some(_)) | Err(_) => break,
            }
        }
        drop(self.writer);
        for thread in self.threads {
            let _ = thread.join();
        }
        self.stderr
            .lock()
            .map(|buffer| buffer.clone())
            .unwrap_or_default()
    }
}

fn write_frames(mut stdin: ChildStdin, queue: &Receiver<WriterMessage>) {
    // A write error means the server is gone; the reader sees the end of its output and the
    // waiting side reports it, with the server's stderr.
    let mut close_requested = false;
    while let Ok(message) = queue.recv() {
        match message {
            WriterMessage::Frame(bytes) => {
                if stdin.write_all(&bytes).is_err() {
                    return;
                }
            }
            WriterMessage::Session(frames, started) => {
                let _ = started.send(Instant::now());
                let mut batch_start = 0;
                for &batch_end in frames.batch_ends.iter() {
                    // Answers to the server's requests go out between batches, not after the
                    // whole session: a server may wait for them.
                    while let Ok(waiting) = queue.try_recv() {
                        match waiting {
                            WriterMessage::Frame(bytes) => {
                                if stdin.write_all(&bytes).is_err() {
                                    return;
                                }
                            }
                            WriterMessage::Close => close_requested = true,
                            WriterMessage::Session(..) => {}
                        }
                    }
                    if stdin
                        .write_all(&frames.bytes[batch_start..batch_end])
                        .is_err()
                    {
                        return;
                    }
                    batch_start = batch_end;
                }
            }
            WriterMessage::Close => close_requested = true,
        }
        if close_requested {
            return;
        }
    }
}

fn read_messages(
    stdout: impl Read,
    writer: &Sender<WriterMessage>,
    responses: &Sender<Response>,
    counts: &Mutex<(usize, usize)>,
) {
    let mut reader = BufReader::with_capacity(64 * 1024, stdout);
    while let Ok(Some(body)) = read_frame(&mut reader) {
        let arrived_at = Instant::now();
        let Ok(message) = serde_json::from_slice::<Value>(&body) else {
            continue;
        };
        let method = message.get("method").and_then(Value::as_str);
        match (method, message.get("id")) {
            (Some(method), Some(id)) => {
                let params = message.get("params").cloned().unwrap_or(Value::Null);
                let answer = whetstone_tests::lsp::answer_to_server_request(method, &params, None);
                let response = json!({"jsonrpc": "2.0", "id": id, "result": answer});
                let _ = writer.send(WriterMessage::Frame(encode_frame(&response)));
                if let Ok(mut counts) = counts.lock() {
                    counts.1 += 1;
                }
            }
            (Some(_), None) => {
                if let Ok(mut counts) = counts.lock() {
                    counts.0 += 1;
                }
            }
            (None, Some(_)) => {
                if responses
                    .send(Response {
                        message,
                        arrived_at,
                    })
                    .is_err()
                {
                    return;
                }
            }
            (None, None) => {}
        }
    }
}

/// Responses by id, waited for with a timeout.
#[derive(Default)]
struct Responses {
    arrived: HashMap<i64, Response>,
}

impl Responses {
    fn wait(
        &mut self,
        connection: &Connection,
        id: i64,
        timeout: Duration,
    ) -> Result<Response, String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(response) = self.arrived.remove(&id) {
                return Ok(response);
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            match connection.responses.recv_timeout(remaining) {
                Ok(response) => {
                    if let Some(response_id) = response.message.get("id").and_then(Value::as_i64) {
                        self.arrived.insert(response_id, response);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!("no response to request {id} within {timeout:?}"));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(format!(
                        "the server closed its output before answering request {id}"
                    ));
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The session: a 2,000-line file and the keystrokes typed into it.

/// All the session's frames, encoded once, with the ends of the batches they are written in.
/// Cloning shares the bytes.
#[derive(Clone)]
struct SessionFrames {
    bytes: Arc<Vec<u8>>,
    batch_ends: Arc<Vec<usize>>,
}

struct Session {
    initial_text: String,
    /// Each key's single change.
    changes: Vec<KeyChange>,
    final_text: String,
    statistics: KeyStatistics,
}

/// The range a key replaced, as (line, UTF-16 column) pairs, and the text it put there.
struct KeyChange {
    start: (u32, u32),
    end: (u32, u32),
    text: String,
}

#[derive(Default)]
struct KeyStatistics {
    characters: usize,
    enters: usize,
    backspaces: usize,
    completions: usize,
    completed_characters: usize,
    initial_lines: usize,
    final_lines: usize,
}

impl Session {
    fn generate(key_count: usize, seed: u64) -> Session {
        let initial_text = initial_file(INITIAL_FILE_LINES);
        let mut editor = Editor::open(&initial_text, key_count);
        let mut random = Random::new(seed);
        let mut typist = Typist::default();
        while !editor.full() {
            let unit = code_unit(&mut random, typist.units_typed);
            typist.type_unit(&mut editor, &mut random, &unit);
            typist.units_typed += 1;
        }
        let mut statistics = std::mem::take(&mut editor.statistics);
        let final_text = editor.lines.join("\n");
        // The editor model and an independent replay of its changes must agree, or the
        // session would not say what it claims (the bare server's check relies on this).
        assert!(
            replay_changes(&initial_text, &editor.changes) == final_text,
            "the session generator's changes do not reproduce its own text"
        );
        statistics.initial_lines = INITIAL_FILE_LINES;
        statistics.final_lines = line_count(&final_text);
        Session {
            initial_text,
            changes: editor.changes,
            final_text,
            statistics,
        }
    }

    fn final_line_count(&self) -> usize {
        // Ropey counts the empty line after a final line break, as `split('\n')` does.
        self.final_text.split('\n').count()
    }

    fn summary(&self) -> String {
        let statistics = &self.statistics;
        format!(
            "session: {} keystrokes, one didChange each, into a {}-line Rust file: {} characters \
             typed, {} Enter, {} Backspace, {} completions ({} characters); the file ends with {} \
             lines",
            self.changes.len(),
            statistics.initial_lines,
            statistics.characters,
            statistics.enters,
            statistics.backspaces,
            statistics.completions,
            statistics.completed_characters,
            statistics.final_lines,
        )
    }

    /// Every didChange (versions 2, 3, ...), then the final `whetstone.chunks` request and the
    /// `shutdown` request, framed and grouped into batches of whole frames.
    fn encode_frames(&self, uri: &str) -> SessionFrames {
        let mut bytes = Vec::with_capacity(self.changes.len() * 230);
        let mut batch_ends = Vec::new();
        let mut batch_start = 0;
        let mut push_frame = |bytes: &mut Vec<u8>, frame: Vec<u8>| {
            bytes.extend_from_slice(&frame);
            if bytes.len() - batch_start >= BATCH_BYTES {
                batch_ends.push(bytes.len());
                batch_start = bytes.len();
            }
        };
        for (index, change) in self.changes.iter().enumerate() {
            let message = json!({
                "jsonrpc": "2.0",
                "method": "textDocument/didChange",
                "params": {
                    "textDocument": {"uri": uri, "version": index + 2},
                    "contentChanges": [{
                        "range": {
                            "start": {"line": change.start.0, "character": change.start.1},
                            "end": {"line": change.end.0, "character": change.end.1},
                        },
                        "text": change.text,
                    }],
                },
            });
            push_frame(&mut bytes, encode_frame(&message));
        }
        push_frame(
            &mut bytes,
            encode_frame(&chunks_request(FINAL_CHUNKS_ID, uri)),
        );
        push_frame(
            &mut bytes,
            encode_frame(&json!({"jsonrpc": "2.0", "id": SHUTDOWN_ID, "method": "shutdown"})),
        );
        if batch_ends.last() != Some(&bytes.len()) {
            batch_ends.push(bytes.len());
        }
        SessionFrames {
            bytes: Arc::new(bytes),
            batch_ends: Arc::new(batch_ends),
        }
    }
}

/// The editor the typist works in: the document as lines, the cursor, and every change sent.
/// It behaves like a plain editor with auto-indent: Enter inserts a line break plus the current
/// line's indentation (one level more after an opening brace); no auto-closing pairs. Once
/// `key_limit` keys were pressed it ignores every further key.
struct Editor {
    key_limit: usize,
    lines: Vec<String>,
    cursor_line: usize,
    /// Byte offset of the cursor in its line.
    cursor_byte: usize,
    changes: Vec<KeyChange>,
    statistics: KeyStatistics,
}

impl Editor {
    fn open(text: &str, key_limit: usize) -> Editor {
        let lines: Vec<String> = text.split('\n').map(str::to_string).collect();
        // Typing starts on a blank line between two items in the middle of the file.
        let middle = lines.len() / 2;
        let cursor_line = (middle..lines.len())
            .find(|&index| lines[index].is_empty())
            .unwrap_or(lines.len() - 1);
        Editor {
            key_limit,
            lines,
            cursor_line,
            cursor_byte: 0,
            changes: Vec::new(),
            statistics: KeyStatistics::default(),
        }
    }

    fn full(&self) -> bool {
        self.changes.len() >= self.key_limit
    }

    fn current_line(&self) -> &str {
        &self.lines[self.cursor_line]
    }

    fn utf16_column(&self, byte: usize) -> u32 {
        column_u32(self.current_line()[..byte].encode_utf16().count())
    }

    fn type_text(&mut self, text: &str) {
        if self.full() {
            return;
        }
        let column = self.utf16_column(self.cursor_byte);
        let line = line_u32(self.cursor_line);
        self.changes.push(KeyChange {
            start: (line, column),
            end: (line, column),
            text: text.to_string(),
        });
        let cursor_byte = self.cursor_byte;
        self.lines[self.cursor_line].insert_str(cursor_byte, text);
        self.cursor_byte += text.len();
    }

    fn type_character(&mut self, character: char) {
        if self.full() {
            return;
        }
        self.statistics.characters += 1;
        self.type_text(character.encode_utf8(&mut [0; 4]));
    }

    fn complete(&mut self, rest_of_word: &str) {
        if self.full() {
            return;
        }
        self.statistics.completions += 1;
        self.statistics.completed_characters += rest_of_word.chars().count();
        self.type_text(rest_of_word);
    }

    /// Deletes the character before the cursor; the typist never backspaces over a line start.
    fn backspace(&mut self) {
        if self.full() {
            return;
        }
        let Some(previous) = self.current_line()[..self.cursor_byte].chars().next_back() else {
            return;
        };
        self.statistics.backspaces += 1;
        let start_byte = self.cursor_byte - previous.len_utf8();
        let line = line_u32(self.cursor_line);
        self.changes.push(KeyChange {
            start: (line, self.utf16_column(start_byte)),
            end: (line, self.utf16_column(self.cursor_byte)),
            text: String::new(),
        });
        let cursor_line = self.cursor_line;
        self.lines[cursor_line].replace_range(start_byte..self.cursor_byte, "");
        self.cursor_byte = start_byte;
    }

    /// Enter at the cursor (always at the end of the line here), with auto-indent.
    fn enter(&mut self) {
        if self.full() {
            return;
        }
        self.statistics.enters += 1;
        let line = self.current_line();
        let mut indent = leading_spaces(line);
        if line[..self.cursor_byte].trim_end().ends_with('{') {
            indent += 4;
        }
        let inserted = format!("\n{}", " ".repeat(indent));
        let column = self.utf16_column(self.cursor_byte);
        let line_number = line_u32(self.cursor_line);
        self.changes.push(KeyChange {
            start: (line_number, column),
            end: (line_number, column),
            text: inserted,
        });
        let cursor_byte = self.cursor_byte;
        let rest = self.lines[self.cursor_line].split_off(cursor_byte);
        self.lines.insert(
            self.cursor_line + 1,
            format!("{}{rest}", " ".repeat(indent)),
        );
        self.cursor_line += 1;
        self.cursor_byte = indent;
    }
}

/// How the simulated person types: mostly character by character, with typos fixed at once,
/// the odd word retyped, and completions accepted for some long identifiers.
#[derive(Default)]
struct Typist {
    units_typed: usize,
    started: bool,
}

impl Typist {
    fn type_unit(&mut self, editor: &mut Editor, random: &mut Random, unit: &[String]) {
        for target in unit {
            if editor.full() {
                return;
            }
            if self.started {
                editor.enter();
            }
            self.started = true;
            if target.trim().is_empty() {
                continue;
            }
            // Auto-indent guessed the indentation; fix it the way a person does, a space at a
            // time (closing braces mostly).
            let wanted_indent = leading_spaces(target);
            while !editor.full()
                && leading_spaces(editor.current_line()) > wanted_indent
                && editor.cursor_byte > 0
            {
                editor.backspace();
            }
            while !editor.full() && leading_spaces(editor.current_line()) < wanted_indent {
                editor.type_character(' ');
            }
            self.type_line_content(editor, random, &target[wanted_indent..]);
            // Now and then the end of the line is rethought: a few characters go and come back.
            if random.chance(3, 100) {
                let content_start = leading_spaces(editor.current_line());
                let typed: Vec<char> = editor.current_line()[content_start..].chars().collect();
                let take = (1 + random.below(6)).min(typed.len());
                for _ in 0..take {
                    editor.backspace();
                }
                for &character in &typed[typed.len() - take..] {
                    editor.type_character(character);
                }
            }
        }
    }

    fn type_line_content(&mut self, editor: &mut Editor, random: &mut Random, content: &str) {
        let characters: Vec<char> = content.chars().collect();
        let mut index = 0;
        while index < characters.len() && !editor.full() {
            let word_length = characters[index..]
                .iter()
                .take_while(|character| character.is_alphanumeric() || **character == '_')
                .count();
            // Long identifiers: sometimes three letters and then the completion popup.
            if word_length >= 8 && random.chance(1, 8) {
                for &character in &characters[index..index + 3] {
                    editor.type_character(character);
                }
                let rest: String = characters[index + 3..index + word_length].iter().collect();
                editor.complete(&rest);
                index += word_length;
                continue;
            }
            let character = characters[index];
            if character.is_ascii_lowercase() && random.chance(2, 100) {
                editor.type_character(neighbouring_key(character));
                editor.backspace();
            }
            editor.type_character(character);
            index += 1;
        }
    }
}

/// A key next to `character` on a QWERTY keyboard, for typos.
fn neighbouring_key(character: char) -> char {
    const ROWS: [&str; 3] = ["qwertyuiop", "asdfghjkl", "zxcvbnm"];
    for row in ROWS {
        if let Some(position) = row.find(character) {
            let neighbour = if position + 1 < row.len() {
                position + 1
            } else {
                position - 1
            };
            return char::from(row.as_bytes()[neighbour]);
        }
    }
    'x'
}

fn leading_spaces(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn line_count(text: &str) -> usize {
    text.lines().count()
}

fn line_u32(line: usize) -> u32 {
    u32::try_from(line).expect("the session's files have far fewer than 2^32 lines")
}

fn column_u32(column: usize) -> u32 {
    u32::try_from(column).expect("the session's lines are far shorter than 2^32")
}

/// Applies the changes to the text from scratch (lines as strings, UTF-16 columns): the final
/// text the servers must end with.
fn replay_changes(initial_text: &str, changes: &[KeyChange]) -> String {
    let mut lines: Vec<String> = initial_text.split('\n').map(str::to_string).collect();
    for change in changes {
        let (start_line, start_column) = (change.start.0 as usize, change.start.1 as usize);
        let (end_line, end_column) = (change.end.0 as usize, change.end.1 as usize);
        let start_byte = utf16_to_byte(&lines[start_line], start_column);
        let end_byte = utf16_to_byte(&lines[end_line], end_column);
        let tail = lines[end_line][end_byte..].to_string();
        let mut joined = lines[start_line][..start_byte].to_string();
        joined.push_str(&change.text);
        joined.push_str(&tail);
        let replacement: Vec<String> = joined.split('\n').map(str::to_string).collect();
        lines.splice(start_line..=end_line, replacement);
    }
    lines.join("\n")
}

fn utf16_to_byte(line: &str, utf16_column: usize) -> usize {
    let mut units = 0;
    for (byte, character) in line.char_indices() {
        if units >= utf16_column {
            return byte;
        }
        units += character.len_utf16();
    }
    line.len()
}

/// A file of plausible Rust, `line_count` lines long (and ending with a line break), made of
/// a few kinds of items with numbered names, so that no two items are the same text.
fn initial_file(line_count: usize) -> String {
    let mut lines: Vec<String> = vec![
        "//! Record storage: reading, checking and summing records of the wire format.".into(),
        "".into(),
        "use std::collections::HashMap;".into(),
        "use std::fmt;".into(),
        "".into(),
        "const MAX_RECORD_LENGTH: usize = 64 * 1024;".into(),
        "".into(),
    ];
    let mut item = 0;
    while lines.len() < line_count {
        let item_lines = match item % 4 {
            0 => vec![
                format!("/// A record of kind {item}: its größe in bytes and the fields — in order."),
                "#[derive(Debug, Clone, PartialEq)]".to_string(),
                format!("pub struct Record{item} {{"),
                "    pub kind: u8,".to_string(),
                "    pub flags: u8,".to_string(),
                format!("    pub weight_{item}: u32,"),
                "    pub body: Vec<u8>,".to_string(),
                "}".to_string(),
            ],
            1 => vec![
                format!("/// Reads record {item} at `offset`, checking its declared length."),
                format!(
                    "pub fn read_record_{item}(input: &[u8], offset: usize) -> Result<Vec<u8>, String> {{"
                ),
                "    let header = input".to_string(),
                "        .get(offset..offset + 8)".to_string(),
                "        .ok_or_else(|| format!(\"record truncated at {offset}\"))?;".to_string(),
                "    let length = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;".to_string(),
                "    if length > MAX_RECORD_LENGTH {".to_string(),
                format!("        return Err(format!(\"record {item} too long: {{length}}\"));"),
                "    }".to_string(),
                "    Ok(input[offset + 8..offset + 8 + length].to_vec())".to_string(),
                "}".to_string(),
            ],
            2 => vec![
                format!("impl fmt::Display for Record{} {{", item - 2),
                "    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {".to_string(),
                format!(
                    "        write!(formatter, \"record {} ({{}} bytes) → kind {{}}\", self.body.len(), self.kind)",
                    item - 2
                ),
                "    }".to_string(),
                "}".to_string(),
            ],
            _ => vec![
                format!("/// Counts the records of each kind in batch {item}."),
                format!("pub fn count_kinds_{item}(kinds: &[u8]) -> HashMap<u8, usize> {{"),
                "    let mut counts = HashMap::new();".to_string(),
                "    for kind in kinds {".to_string(),
                "        *counts.entry(*kind).or_insert(0) += 1;".to_string(),
                "    }".to_string(),
                "    counts".to_string(),
                "}".to_string(),
            ],
        };
        lines.extend(item_lines);
        lines.push(String::new());
        item += 1;
    }
    lines.truncate(line_count);
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// One piece of new code the typist writes: a documented function, a struct or an impl, with
/// names drawn from word lists so that the pieces differ. Indentation is in the lines; the
/// typist lets auto-indent produce it and corrects it where it guessed wrong.
fn code_unit(random: &mut Random, number: usize) -> Vec<String> {
    const NOUNS: [&str; 12] = [
        "header", "segment", "packet", "ledger", "token", "bucket", "window", "cursor", "frame",
        "account", "schedule", "snapshot",
    ];
    const VERBS: [&str; 8] = [
        "parse",
        "validate",
        "merge",
        "summarize",
        "encode",
        "rebalance",
        "collect",
        "normalize",
    ];
    const FIELDS: [&str; 6] = [
        "weight", "length", "priority", "offset", "checksum", "capacity",
    ];
    let noun = NOUNS[random.below(NOUNS.len())];
    let other_noun = NOUNS[random.below(NOUNS.len())];
    let verb = VERBS[random.below(VERBS.len())];
    let field = FIELDS[random.below(FIELDS.len())];
    let type_name = format!("{}{}", capitalized(noun), number);
    let limit = 8 + random.below(120);
    let text = match random.below(4) {
        0 => format!(
            "/// {verb}s every {noun} in `items` — stops after `limit` of them.
pub fn {verb}_{noun}_{number}(items: &[{type_name}], limit: usize) -> u64 {{
    let mut total: u64 = 0;
    for (index, item) in items.iter().enumerate() {{
        if index >= limit {{
            break;
        }}
        total = total.saturating_add(u64::from(item.{field}));
    }}
    total
}}
"
        ),
        1 => format!(
            "/// A {noun} as the {other_noun} index keeps it (café-grade naming, sorry).
#[derive(Debug, Clone, Default)]
pub struct {type_name} {{
    pub {field}: u32,
    pub name: String,
    pub {other_noun}_ids: Vec<u64>,
}}
"
        ),
        2 => format!(
            "impl {type_name} {{
    /// Whether this {noun} may join the {other_noun}; the check is cheap.
    pub fn accepts_{other_noun}(&self, candidate: &{type_name}) -> bool {{
        let same_name = self.name == candidate.name;
        let within_limit = candidate.{field} <= {limit};
        if same_name && within_limit {{
            return true;
        }}
        self.{other_noun}_ids.contains(&u64::from(candidate.{field}))
    }}
}}
"
        ),
        _ => format!(
            "#[test]
fn {verb}_{noun}_{number}_handles_empty_input() {{
    let items: Vec<{type_name}> = Vec::new();
    let result = {verb}_{noun}_{number}(&items, {limit});
    assert_eq!(result, 0, \"an empty {noun} list gives zero ✓\");
}}
"
        ),
    };
    text.split('\n').map(str::to_string).collect()
}

fn capitalized(word: &str) -> String {
    let mut characters = word.chars();
    match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).collect(),
        None => String::new(),
    }
}

/// A small deterministic generator (SplitMix64): the same seed gives the same session
/// everywhere, without a dependency.
struct Random {
    state: u64,
}

impl Random {
    fn new(seed: u64) -> Random {
        Random { state: seed }
    }

    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut mixed = self.state;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        mixed ^ (mixed >> 31)
    }

    /// A number in `0..bound`.
    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    /// True `numerator` times out of `denominator`.
    fn chance(&mut self, numerator: u64, denominator: u64) -> bool {
        self.next() % denominator < numerator
    }
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        length if length % 2 == 1 => values[length / 2],
        length => (values[length / 2 - 1] + values[length / 2]) / 2.0,
    }
}

fn median_kib(results: &[RunResult]) -> Option<u64> {
    let values: Vec<f64> = results
        .iter()
        .filter_map(|result| result.peak_rss_kib)
        .map(|kib| kib as f64)
        .collect();
    if values.is_empty() {
        None
    } else {
        Some(median(values.into_iter()) as u64)
    }
}

fn format_kib(kib: Option<u64>) -> String {
    match kib {
        Some(kib) => format!("{:.1} MiB", kib as f64 / 1024.0),
        None => "unknown".to_string(),
    }
}

fn tail(text: &str, max_chars: usize) -> &str {
    let start = text
        .char_indices()
        .rev()
        .nth(max_chars)
        .map_or(0, |(index, _)| index);
    &text[start..]
}
