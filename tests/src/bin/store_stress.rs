//! `store_stress`: several `whetstone lsp` servers on one store (one `WHETSTONE_HOME`), each
//! typing as fast as it can in its own file, pasting and classifying as it goes; optionally
//! `kill -9` of the store's holder half way; then a fresh server on the same store checks that
//! every acknowledged classification was kept. A stress run, not a timed test: it prints
//! keystrokes per second, command latencies and what was kept, and exits 0 only if nothing was
//! lost.
//!
//! ```text
//! cargo build --release -p whetstone -p whetstone-tests
//! target/release/store_stress [--servers 3] [--keystrokes 20000] [--paste-every 400]
//!                             [--whetstone PATH] [--kill-holder-at N]
//!                             [--initialization-options JSON]
//! ```
//!
//! How it works (docs/store-stress.md has the long form and the numbers measured):
//! - The servers start one after the other on a fresh store folder and workspace, so the first
//!   opens the database (it is the *holder*, checked through /proc) and the others connect to it
//!   over the store socket. Each window opens its own file of a few dozen lines of Rust.
//! - All windows then start together, each on its own thread: one `didChange` per key with one
//!   one-character insertion at the end of the file (Rust-ish lines, Enter at line ends), sent as
//!   fast as the pipe takes them. After every `--paste-every` keys a 12-line paste arrives as one
//!   change; `whetstone.chunks` then finds the chunk that starts at the pasted line and
//!   `whetstone.classify` gives it a class (transient, repeatable, core in turn). Every 1,000
//!   keys, and once at the end, `whetstone.chunks` runs as well.
//! - Every command is timed from sending to its answer. Servers apply events in order, so that
//!   includes working through the keystrokes queued ahead of the command (up to `--paste-every`
//!   of them); classify also waits for the store's flush, which is the point of the run.
//! - With `--kill-holder-at N`, the first window's server is killed (SIGKILL) right after its
//!   N-th key; the others go on, and one of them takes the store over.
//! - The text each window sent is tracked by applying every change to a rope. At the end the
//!   servers shut down, each file's final text is written to disk, and a fresh server opens every
//!   file and lists its chunks: each acknowledged (chunk id, class) must be there. One that is
//!   not is put down to the store if its window still listed it at its latest
//!   `whetstone.chunks`, else to the window itself (the engine dropped it).
//! - The engine may take keys arriving this fast for generated code (a burst): such chunks are
//!   not checked, only the classified pasted ones, which a burst must leave alone.
//!   `--initialization-options` with a huge `burstCharsPerSecond` turns bursts off to stress the
//!   store alone.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{OnceLock, RwLock};
use std::thread;
use std::time::{Duration, Instant};

use ropey::Rope;
use serde_json::{Value, json};
use whetstone_tests::binary::sibling_binary;
use whetstone_tests::capabilities::vscode_like_capabilities;
use whetstone_tests::lsp::LspClient;
use whetstone_tests::measure::parse_count;
use whetstone_tests::params::{change, did_change, did_open, file_uri};

const USAGE: &str = "\
usage: store_stress [--servers N] [--keystrokes N] [--paste-every N] [--whetstone PATH]
                    [--kill-holder-at N] [--initialization-options JSON]

  --servers N         language servers on one store, each with its own window and file
                      (default 3)
  --keystrokes N      keys each window types, one didChange each (default 20000)
  --paste-every N     after every N keys, a 12-line paste that is then classified (default 400)
  --whetstone PATH    the server, started as `PATH lsp`
                      (default: whetstone next to this binary, i.e. target/release/whetstone)
  --kill-holder-at N  kill -9 the first server (the store's holder) right after its N-th key;
                      the others go on and one of them takes the store over
  --initialization-options JSON
                      sent to every server in `initialize` (default: none), e.g.
                      '{\"whetstone\": {\"detection\": {\"burstCharsPerSecond\": 1e9}}}'

Exit status: 0 if every acknowledged classification was found, 1 if some were lost or a
command failed, 2 for bad arguments.
";

const DEFAULT_SERVERS: usize = 3;
const DEFAULT_KEYSTROKES: usize = 20_000;
const DEFAULT_PASTE_EVERY: usize = 400;
/// `whetstone.chunks` runs after every this many keys, besides the ones after pastes.
const CHUNKS_EVERY: usize = 1_000;
/// Lines in one paste: well over the size bar (5 lines), so the engine flags it.
const PASTE_LINES: usize = 12;
/// Classes given to the pasted chunks, in turn.
const CLASSES: [&str; 3] = ["transient", "repeatable", "core"];
/// Longer than any answer should take, even across a failover (a client looks for a new holder
/// for up to 5 s); a command that takes longer is a failure.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// Commands sent this soon after the holder was killed are reported apart.
const FAILOVER_WINDOW: Duration = Duration::from_secs(10);
/// How long to wait for a surviving server to hold the store after the kill, for the report.
const TAKEOVER_WAIT: Duration = Duration::from_secs(10);

fn main() -> ExitCode {
    if std::env::args().any(|argument| argument == "--help" || argument == "-h") {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("store_stress: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    quiet_panics();
    match guarded(|| run(&options)) {
        Ok(Verdict::NothingLost) => ExitCode::SUCCESS,
        Ok(Verdict::Lost) => ExitCode::from(1),
        Err(message) => {
            eprintln!("store_stress: {message}");
            ExitCode::from(1)
        }
    }
}

struct Options {
    servers: usize,
    keystrokes: usize,
    paste_every: usize,
    whetstone: Option<PathBuf>,
    kill_holder_at: Option<usize>,
    initialization_options: Value,
}

impl Options {
    fn parse(mut arguments: impl Iterator<Item = String>) -> Result<Options, String> {
        let mut options = Options {
            servers: DEFAULT_SERVERS,
            keystrokes: DEFAULT_KEYSTROKES,
            paste_every: DEFAULT_PASTE_EVERY,
            whetstone: None,
            kill_holder_at: None,
            initialization_options: Value::Null,
        };
        while let Some(argument) = arguments.next() {
            let mut value = |name: &str| {
                arguments
                    .next()
                    .ok_or_else(|| format!("{name} needs a value"))
            };
            match argument.as_str() {
                "--servers" => options.servers = parse_count("--servers", &value("--servers")?)?,
                "--keystrokes" => {
                    options.keystrokes = parse_count("--keystrokes", &value("--keystrokes")?)?;
                }
                "--paste-every" => {
                    options.paste_every = parse_count("--paste-every", &value("--paste-every")?)?;
                }
                "--whetstone" => options.whetstone = Some(PathBuf::from(value("--whetstone")?)),
                "--kill-holder-at" => {
                    options.kill_holder_at = Some(parse_count(
                        "--kill-holder-at",
                        &value("--kill-holder-at")?,
                    )?);
                }
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
        if let Some(kill_at) = options.kill_holder_at
            && kill_at > options.keystrokes
        {
            return Err(format!(
                "--kill-holder-at {kill_at} is past the last key (--keystrokes {})",
                options.keystrokes
            ));
        }
        Ok(options)
    }
}

enum Verdict {
    NothingLost,
    Lost,
}

fn run(options: &Options) -> Result<Verdict, String> {
    let whetstone = match &options.whetstone {
        Some(path) => path.clone(),
        None => sibling_binary("whetstone")?,
    };
    if !whetstone.is_file() {
        return Err(format!(
            "{} does not exist: build it first with \
             `cargo build --release -p whetstone -p whetstone-tests` (or point --whetstone at a \
             server)",
            whetstone.display()
        ));
    }
    let home = tempfile::Builder::new()
        .prefix("store-stress-home-")
        .tempdir()
        .map_err(|error| format!("cannot make a temp dir: {error}"))?;
    let workspace = tempfile::Builder::new()
        .prefix("store-stress-workspace-")
        .tempdir()
        .map_err(|error| format!("cannot make a temp dir: {error}"))?;
    // /proc shows the files a process holds by their canonical path.
    let store_folder = home
        .path()
        .canonicalize()
        .map_err(|error| format!("cannot resolve {}: {error}", home.path().display()))?;
    let start_server = || {
        let mut server = LspClient::start_with(
            &whetstone,
            &["lsp"],
            &[
                ("WHETSTONE_HOME", &home.path().to_string_lossy()),
                ("WHETSTONE_LOG", "warn"),
            ],
        );
        server.initialize(
            workspace.path(),
            vscode_like_capabilities(),
            options.initialization_options.clone(),
        );
        server
    };

    println!(
        "store_stress: {} servers on one store, {} keys each, a {PASTE_LINES}-line paste every \
         {} keys{}",
        options.servers,
        options.keystrokes,
        options.paste_every,
        options.kill_holder_at.map_or(String::new(), |key| format!(
            ", kill -9 of the holder after its key {key}"
        )),
    );
    println!("server: {}", whetstone.display());
    if !options.initialization_options.is_null() {
        println!("initializationOptions: {}", options.initialization_options);
    }
    println!("store:  {}", home.path().display());

    // One after the other, so that the first one opens the database.
    let mut windows = Vec::new();
    for index in 0..options.servers {
        let record = WindowRecord::new(index, workspace.path())?;
        let mut server = start_server();
        server.notify(
            "textDocument/didOpen",
            did_open(&record.uri, &record.text.to_string(), record.version),
        );
        windows.push(Window { server, record });
    }
    let holders: Vec<String> = windows
        .iter()
        .filter(|window| holds_store(window.server.process_id(), &store_folder) == Some(true))
        .map(|window| window.record.name.clone())
        .collect();
    println!(
        "holder: {}",
        if holders.is_empty() {
            "unknown (no window holds the store's files, or /proc is not readable)".to_string()
        } else {
            holders.join(", ")
        }
    );
    if options.kill_holder_at.is_some() && holders.first().map(String::as_str) != Some("window 1") {
        println!("warning: window 1 does not seem to hold the store; the kill may not fail over");
    }

    let plan = Plan {
        keystrokes: options.keystrokes,
        paste_every: options.paste_every,
        kill_holder_at: options.kill_holder_at,
    };
    // The windows start together when the gate opens: each waits for a read lock while this
    // thread holds the write lock. (A barrier would leave them waiting forever if one of the
    // threads could not be started.)
    let gate = RwLock::new(());
    let stop = AtomicBool::new(false);
    let killed_at: OnceLock<Instant> = OnceLock::new();
    let outcomes: Vec<Result<Replayed, String>> = thread::scope(|scope| {
        let closed = gate.write();
        let handles: Vec<_> = windows
            .into_iter()
            .map(|window| {
                let name = window.record.name.clone();
                let (plan, gate, stop, killed_at) = (&plan, &gate, &stop, &killed_at);
                thread::Builder::new()
                    .name(name.replace(' ', "-"))
                    .spawn_scoped(scope, move || {
                        drop(gate.read());
                        let outcome = guarded(|| replay(window, plan, stop, killed_at));
                        if outcome.is_err() {
                            stop.store(true, Ordering::Relaxed);
                        }
                        outcome
                    })
                    .map_err(|error| format!("cannot start the thread of {name}: {error}"))
            })
            .collect();
        if handles.iter().any(Result::is_err) {
            stop.store(true, Ordering::Relaxed);
        }
        drop(closed);
        handles
            .into_iter()
            .map(|handle| {
                handle?
                    .join()
                    .unwrap_or_else(|_| Err("a window's thread panicked".to_string()))
            })
            .collect()
    });
    let mut replayed = Vec::new();
    let mut failures = Vec::new();
    for outcome in outcomes {
        match outcome {
            Ok(window) => replayed.push(window),
            Err(message) => failures.push(message),
        }
    }
    if !failures.is_empty() {
        // A window that stopped because another failed says only that; the real failures first.
        failures.sort_by_key(|message| message.contains(STOPPED_BECAUSE_ANOTHER_FAILED));
        return Err(failures.join("\n\n"));
    }
    let killed_at = killed_at.get().copied();

    print_replay(&replayed, killed_at);
    if killed_at.is_some() {
        let deadline = Instant::now() + TAKEOVER_WAIT;
        let holder = loop {
            let holder = replayed.iter().find(|window| {
                window.server.as_ref().is_some_and(|server| {
                    holds_store(server.process_id(), &store_folder) == Some(true)
                })
            });
            match holder {
                Some(window) => break Some(window.record.name.clone()),
                None if Instant::now() >= deadline => break None,
                None => thread::sleep(Duration::from_millis(50)),
            }
        };
        println!(
            "holder after the kill: {}",
            holder.unwrap_or_else(|| "none found".to_string())
        );
    }

    // Shut the servers down, then save each file as the editor would have.
    let mut messages = Vec::new();
    for window in &mut replayed {
        messages.append(&mut window.messages);
        let Some(server) = window.server.take() else {
            continue;
        };
        messages.extend(server_messages(&window.record.name, &server));
        let status = guarded(|| Ok(server.shutdown()))?;
        if !status.success() {
            return Err(format!(
                "the server of {} ended with {status} after shutdown and exit",
                window.record.name
            ));
        }
    }
    for window in &replayed {
        std::fs::write(&window.record.path, window.record.text.to_string())
            .map_err(|error| format!("cannot write {}: {error}", window.record.path.display()))?;
    }

    // A fresh window on the same store: what it sees is what was kept.
    let mut fresh = start_server();
    let mut kept: HashMap<String, Value> = HashMap::new();
    for window in &replayed {
        let text = std::fs::read_to_string(&window.record.path)
            .map_err(|error| format!("cannot read {}: {error}", window.record.path.display()))?;
        fresh.notify(
            "textDocument/didOpen",
            did_open(&window.record.uri, &text, 1),
        );
        let report = fresh
            .request_with_timeout(
                "workspace/executeCommand",
                json!({"command": "whetstone.chunks", "arguments": [{"uri": window.record.uri}]}),
                COMMAND_TIMEOUT,
            )
            .map_err(|error| {
                fresh.failure(&format!(
                    "the fresh server's whetstone.chunks for {} failed: {error}",
                    window.record.name
                ))
            })?;
        kept.insert(window.record.uri.clone(), report);
    }
    messages.extend(server_messages("the fresh server", &fresh));
    let status = fresh.shutdown();
    if !status.success() {
        return Err(format!(
            "the fresh server ended with {status} after shutdown and exit"
        ));
    }

    if !messages.is_empty() {
        println!();
        println!("what the servers said (warnings and errors):");
        for message in &messages {
            println!("  {message}");
        }
    }
    Ok(print_check(&replayed, &kept))
}

/// Marks the failure of a window that stopped only because another one failed.
const STOPPED_BECAUSE_ANOTHER_FAILED: &str = "stopped because another window failed";

/// What every window does: the same for each, apart from the kill.
struct Plan {
    keystrokes: usize,
    paste_every: usize,
    kill_holder_at: Option<usize>,
}

/// One editor window: its server and what the window did.
struct Window {
    server: LspClient,
    record: WindowRecord,
}

/// What a window typed and sent, what each command took, and what was acknowledged.
struct WindowRecord {
    index: usize,
    /// "window 1", for the report.
    name: String,
    /// "w1", in the code the window types.
    identifier: String,
    path: PathBuf,
    uri: String,
    /// The text as the server was told it: every change sent is applied here too.
    text: Rope,
    /// Where the next key goes, as a char index into `text`.
    cursor: usize,
    version: i32,
    typist: Typist,
    keys_sent: usize,
    pastes: usize,
    started: Option<Instant>,
    finished: Option<Instant>,
    timings: Vec<Timing>,
    acknowledged: Vec<Acknowledged>,
    /// Pastes for which no chunk started at the pasted line: not classified, so not checked.
    unmatched_pastes: Vec<String>,
    /// The window's own view at its latest `whetstone.chunks`, and the key it came after: a
    /// chunk missing at the end that the window still listed then was lost on the way to disk.
    last_chunks: Option<(usize, Value)>,
}

/// One command, timed from sending to its answer.
struct Timing {
    window: usize,
    command: &'static str,
    sent: Instant,
    took: Duration,
}

/// A classification the server answered: after that it must never be lost.
struct Acknowledged {
    chunk: u64,
    class: &'static str,
    /// The pasted block's first line (0-based), unchanged to the end as typing goes on below it.
    first_line: usize,
    at_key: usize,
}

/// A window after its replay: its server (None once killed) and what it said on the way.
struct Replayed {
    server: Option<LspClient>,
    record: WindowRecord,
    killed: bool,
    messages: Vec<String>,
}

impl WindowRecord {
    fn new(index: usize, workspace: &Path) -> Result<WindowRecord, String> {
        let identifier = format!("w{}", index + 1);
        let path = workspace.join(format!("window_{}.rs", index + 1));
        let text = initial_text(&identifier);
        std::fs::write(&path, &text)
            .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
        let text = Rope::from_str(&text);
        Ok(WindowRecord {
            index,
            name: format!("window {}", index + 1),
            uri: file_uri(&path),
            path,
            cursor: text.len_chars(),
            text,
            version: 1,
            typist: Typist::new(&identifier),
            identifier,
            keys_sent: 0,
            pastes: 0,
            started: None,
            finished: None,
            timings: Vec::new(),
            acknowledged: Vec::new(),
            unmatched_pastes: Vec::new(),
            last_chunks: None,
        })
    }

    /// The cursor as an LSP position (UTF-16 column).
    fn cursor_position(&self) -> (usize, usize) {
        let line = self.text.char_to_line(self.cursor);
        let column_chars = self.cursor - self.text.line_to_char(line);
        (line, self.text.line(line).char_to_utf16_cu(column_chars))
    }

    fn elapsed(&self) -> Duration {
        match (self.started, self.finished) {
            (Some(started), Some(finished)) => finished - started,
            _ => Duration::ZERO,
        }
    }
}

impl Window {
    /// Inserts `text` at the cursor: one `didChange` with one change, applied to the local text
    /// the same way.
    fn insert(&mut self, text: &str) {
        let (line, column) = self.record.cursor_position();
        let position = (lsp_number(line), lsp_number(column));
        self.record.version += 1;
        self.server.notify(
            "textDocument/didChange",
            did_change(
                &self.record.uri,
                self.record.version,
                vec![change(position, position, text)],
            ),
        );
        self.record.cursor =
            apply_change(&mut self.record.text, (line, column), (line, column), text);
    }

    /// Pastes a block of code at the cursor (on a line of its own), finds the chunk the server
    /// made of it, and classifies that chunk.
    fn paste_and_classify(&mut self) -> Result<(), String> {
        self.record.pastes += 1;
        let round = self.record.pastes;
        let (line, column) = self.record.cursor_position();
        let block = pasted_block(&self.record.identifier, round);
        let first_line = if column == 0 {
            self.insert(&block);
            line
        } else {
            // Mid-line: the paste goes on the next line, and the rest of the line the typist
            // meant to type is dropped, as if the person changed their mind.
            self.insert(&format!("\n{block}"));
            self.record.typist.drop_rest_of_line();
            line + 1
        };
        let report = self.chunks()?;
        let found = report["chunks"].as_array().and_then(|chunks| {
            chunks
                .iter()
                .find(|chunk| chunk["start_line"].as_u64() == Some(first_line as u64))
        });
        let Some(chunk) = found.and_then(|chunk| chunk["id"].as_u64()) else {
            let nearby: Vec<String> = report["chunks"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|chunk| {
                    let start = chunk["start_line"].as_u64().unwrap_or(0) as usize;
                    let end = chunk["end_line"].as_u64().unwrap_or(0) as usize;
                    start <= first_line + PASTE_LINES && first_line <= end + 1
                })
                .map(describe_chunk)
                .collect();
            self.record.unmatched_pastes.push(format!(
                "{}: paste {round} at line {first_line} (key {}): no chunk starts there; \
                 nearby: {}",
                self.record.name,
                self.record.keys_sent,
                if nearby.is_empty() {
                    "none".to_string()
                } else {
                    nearby.join(", ")
                }
            ));
            return Ok(());
        };
        let class = CLASSES[(round - 1) % CLASSES.len()];
        let answer = self.command(
            "whetstone.classify",
            json!({"uri": self.record.uri, "chunk": chunk, "class": class}),
        )?;
        if answer["chunk"].as_u64() != Some(chunk) || answer["class"].as_str() != Some(class) {
            return Err(self.server.failure(&format!(
                "{}: whetstone.classify of chunk {chunk} as {class} answered {answer}",
                self.record.name
            )));
        }
        self.record.acknowledged.push(Acknowledged {
            chunk,
            class,
            first_line,
            at_key: self.record.keys_sent,
        });
        Ok(())
    }

    fn chunks(&mut self) -> Result<Value, String> {
        let report = self.command("whetstone.chunks", json!({"uri": self.record.uri}))?;
        self.record.last_chunks = Some((self.record.keys_sent, report.clone()));
        Ok(report)
    }

    /// Runs a command and times it; a failure comes with the server's stderr.
    fn command(&mut self, command: &'static str, argument: Value) -> Result<Value, String> {
        let sent = Instant::now();
        let answer = self.server.request_with_timeout(
            "workspace/executeCommand",
            json!({"command": command, "arguments": [argument]}),
            COMMAND_TIMEOUT,
        );
        let took = sent.elapsed();
        match answer {
            Ok(value) => {
                self.record.timings.push(Timing {
                    window: self.record.index,
                    command,
                    sent,
                    took,
                });
                Ok(value)
            }
            Err(error) => Err(self.server.failure(&format!(
                "{}: {command} {argument} failed after {took:?} (key {}): {error}",
                self.record.name, self.record.keys_sent
            ))),
        }
    }
}

/// One window's replay, on its own thread: keys, pastes and commands, maybe the kill.
fn replay(
    mut window: Window,
    plan: &Plan,
    stop: &AtomicBool,
    killed_at: &OnceLock<Instant>,
) -> Result<Replayed, String> {
    let kill_at = plan.kill_holder_at.filter(|_| window.record.index == 0);
    window.record.started = Some(Instant::now());
    for key in 1..=plan.keystrokes {
        if stop.load(Ordering::Relaxed) {
            return Err(format!(
                "{}: {STOPPED_BECAUSE_ANOTHER_FAILED} (at key {})",
                window.record.name, window.record.keys_sent
            ));
        }
        let character = window.record.typist.next_key();
        let mut buffer = [0; 4];
        window.insert(character.encode_utf8(&mut buffer));
        window.record.keys_sent = key;
        if kill_at == Some(key) {
            let now = Instant::now();
            let _ = killed_at.set(now);
            window.record.finished = Some(now);
            let Window { server, record } = window;
            let messages = server_messages(&record.name, &server);
            server.kill();
            return Ok(Replayed {
                server: None,
                record,
                killed: true,
                messages,
            });
        }
        if key % plan.paste_every == 0 {
            window.paste_and_classify()?;
        }
        if key % CHUNKS_EVERY == 0 {
            window.chunks()?;
        }
    }
    // The server applies events in order: this answer comes after every key was handled.
    window.chunks()?;
    window.record.finished = Some(Instant::now());
    let Window { server, record } = window;
    Ok(Replayed {
        server: Some(server),
        record,
        killed: false,
        messages: Vec::new(),
    })
}

/// Applies one LSP change (UTF-16 positions) to `text`; returns the char index just after the
/// inserted text.
fn apply_change(
    text: &mut Rope,
    start: (usize, usize),
    end: (usize, usize),
    inserted: &str,
) -> usize {
    let char_index = |text: &Rope, (line, column): (usize, usize)| {
        let line = line.min(text.len_lines() - 1);
        let line_text = text.line(line);
        text.line_to_char(line) + line_text.utf16_cu_to_char(column.min(line_text.len_utf16_cu()))
    };
    let start = char_index(text, start);
    let end = char_index(text, end).max(start);
    text.remove(start..end);
    text.insert(start, inserted);
    start + inserted.chars().count()
}

fn lsp_number(value: usize) -> u32 {
    u32::try_from(value).expect("the stress files have far fewer than 2^32 lines and columns")
}

/// Types Rust-ish functions one key at a time; `\n` is Enter.
struct Typist {
    identifier: String,
    pending: VecDeque<char>,
    units: usize,
}

impl Typist {
    fn new(identifier: &str) -> Typist {
        Typist {
            identifier: identifier.to_string(),
            pending: VecDeque::new(),
            units: 0,
        }
    }

    fn next_key(&mut self) -> char {
        if self.pending.is_empty() {
            self.units += 1;
            self.pending
                .extend(typed_unit(&self.identifier, self.units).chars());
        }
        self.pending.pop_front().unwrap_or('\n')
    }

    /// Forgets the rest of the line being typed, up to and with its Enter.
    fn drop_rest_of_line(&mut self) {
        while let Some(character) = self.pending.pop_front() {
            if character == '\n' {
                break;
            }
        }
    }
}

/// A few dozen lines of Rust: a window's file before the typing starts.
fn initial_text(identifier: &str) -> String {
    let mut text = format!(
        "//! Window {identifier}: a file several windows edit at once, each its own.\n\
         \n\
         use std::collections::HashMap;\n\
         \n"
    );
    for item in 0..4 {
        text.push_str(&format!(
            "/// Totals of batch {item} in {identifier}, by kind.\n\
             pub struct Totals{item} {{\n\
             \x20   pub by_kind: HashMap<u8, u64>,\n\
             \x20   pub seen: usize,\n\
             }}\n\
             \n\
             impl Totals{item} {{\n\
             \x20   pub fn add(&mut self, kind: u8, amount: u64) {{\n\
             \x20       *self.by_kind.entry(kind).or_insert(0) += amount;\n\
             \x20       self.seen += 1;\n\
             \x20   }}\n\
             }}\n\
             \n"
        ));
    }
    text
}

/// The code one typed unit adds: a small function, then a blank line.
fn typed_unit(identifier: &str, number: usize) -> String {
    format!(
        "fn typed_{identifier}_{number}(input: u64) -> u64 {{\n\
         \x20   // step {number}: scale → rotate → mix\n\
         \x20   let scaled = input.wrapping_mul({number} + 7);\n\
         \x20   let rotated = scaled.rotate_right({rotation});\n\
         \x20   scaled ^ rotated ^ {number}\n\
         }}\n\
         \n",
        rotation = number % 63 + 1
    )
}

/// What one paste inserts: `PASTE_LINES` lines of code, each ending with a line break, different
/// in every window and round.
fn pasted_block(identifier: &str, round: usize) -> String {
    let block = format!(
        "/// Pasted block {round} of {identifier}: folds the samples into one checksum.\n\
         pub fn pasted_{identifier}_{round}(samples: &[u64], rounds: u32) -> u64 {{\n\
         \x20   let mut checksum: u64 = {seed};\n\
         \x20   for (index, sample) in samples.iter().enumerate() {{\n\
         \x20       let rotated = sample.rotate_left((index as u32 + {round}) % 64);\n\
         \x20       checksum = checksum.wrapping_mul(0x100_0000_01b3) ^ rotated;\n\
         \x20   }}\n\
         \x20   for _ in 0..rounds {{\n\
         \x20       checksum ^= (checksum >> {shift}).wrapping_add({round});\n\
         \x20   }}\n\
         \x20   checksum\n\
         }}\n",
        seed = 0xcbf2_9ce4_u64 + round as u64,
        shift = round % 31 + 1,
    );
    debug_assert_eq!(block.lines().count(), PASTE_LINES);
    block
}

fn describe_chunk(chunk: &Value) -> String {
    format!(
        "chunk {} {} lines {}..{}{}",
        chunk["id"],
        chunk["origin"].as_str().unwrap_or("?"),
        chunk["start_line"],
        chunk["end_line"],
        chunk["class"]
            .as_str()
            .map_or(String::new(), |class| format!(" {class}")),
    )
}

/// Warnings and errors the server showed the user (`window/showMessage`), one line each.
fn server_messages(name: &str, server: &LspClient) -> Vec<String> {
    server
        .notifications("window/showMessage")
        .iter()
        .filter(|params| params["type"].as_u64().is_some_and(|kind| kind <= 2))
        .map(|params| format!("{name}: {}", params["message"].as_str().unwrap_or_default()))
        .collect()
}

/// Whether the process has files of the store folder open (the holder has sled's; the others
/// only a socket). None if /proc cannot tell.
fn holds_store(process_id: u32, store_folder: &Path) -> Option<bool> {
    let descriptors = std::fs::read_dir(format!("/proc/{process_id}/fd")).ok()?;
    Some(descriptors.flatten().any(|descriptor| {
        std::fs::read_link(descriptor.path()).is_ok_and(|target| target.starts_with(store_folder))
    }))
}

fn print_replay(replayed: &[Replayed], killed_at: Option<Instant>) {
    println!();
    for window in replayed {
        let record = &window.record;
        let seconds = record.elapsed().as_secs_f64();
        println!(
            "{:<9} {:>6} keys, {:>3} pastes in {seconds:>6.2} s: {:>6.0} keys/s{}",
            record.name,
            record.keys_sent,
            record.pastes,
            record.keys_sent as f64 / seconds,
            if window.killed {
                " (killed; keys sent, not all handled)"
            } else {
                ""
            },
        );
    }
    let first_start = replayed
        .iter()
        .filter_map(|window| window.record.started)
        .min();
    let last_finish = replayed
        .iter()
        .filter_map(|window| window.record.finished)
        .max();
    if let (Some(first_start), Some(last_finish)) = (first_start, last_finish) {
        let keys: usize = replayed.iter().map(|window| window.record.keys_sent).sum();
        let seconds = (last_finish - first_start).as_secs_f64();
        println!(
            "{:<9} {keys:>6} keys in {seconds:.2} s (wall time of the replay): {:.0} keys/s",
            "all",
            keys as f64 / seconds
        );
    }

    let timings: Vec<&Timing> = replayed
        .iter()
        .flat_map(|window| &window.record.timings)
        .collect();
    println!();
    println!("command latency (send -> answer):");
    println!(
        "  {}",
        latency_line("all commands", timings.iter().copied())
    );
    for command in ["whetstone.chunks", "whetstone.classify"] {
        println!(
            "  {}",
            latency_line(
                command,
                timings
                    .iter()
                    .copied()
                    .filter(|timing| timing.command == command)
            )
        );
    }
    if let Some(killed_at) = killed_at {
        let after_kill = timings.iter().copied().filter(|timing| {
            timing.sent + timing.took >= killed_at && timing.sent < killed_at + FAILOVER_WINDOW
        });
        println!(
            "  {}",
            latency_line(
                &format!(
                    "answered in the {} s after the kill",
                    FAILOVER_WINDOW.as_secs()
                ),
                after_kill
            )
        );
    }
    if let Some(slowest) = timings.iter().max_by_key(|timing| timing.took) {
        let when = match killed_at {
            Some(killed_at) if slowest.sent >= killed_at => {
                format!(
                    ", sent {} after the kill",
                    milliseconds(slowest.sent - killed_at)
                )
            }
            Some(killed_at) => {
                format!(
                    ", sent {} before the kill",
                    milliseconds(killed_at - slowest.sent)
                )
            }
            None => String::new(),
        };
        println!(
            "  slowest: {} in window {}, {}{when}",
            slowest.command,
            slowest.window + 1,
            milliseconds(slowest.took)
        );
    }
}

fn latency_line<'a>(label: &str, timings: impl Iterator<Item = &'a Timing>) -> String {
    let mut took: Vec<Duration> = timings.map(|timing| timing.took).collect();
    if took.is_empty() {
        return format!("{label:<38} none");
    }
    took.sort();
    format!(
        "{label:<38} n={:<5} p50 {:>9}  p99 {:>9}  max {:>9}",
        took.len(),
        milliseconds(percentile(&took, 50)),
        milliseconds(percentile(&took, 99)),
        milliseconds(took[took.len() - 1]),
    )
}

/// The nearest-rank percentile of sorted durations.
fn percentile(sorted: &[Duration], percent: usize) -> Duration {
    let rank = (sorted.len() * percent).div_ceil(100).max(1);
    sorted[rank - 1]
}

fn milliseconds(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

/// Compares every acknowledged classification with what the fresh server sees; prints the
/// verdict. A classification that is not found is put down to the store if its window still
/// listed the chunk at its latest `whetstone.chunks`, else to the window itself (the engine
/// dropped the chunk before anything was stored).
fn print_check(replayed: &[Replayed], kept: &HashMap<String, Value>) -> Verdict {
    let mut acknowledged = 0;
    let mut found = 0;
    let mut lost_by_store = Vec::new();
    let mut dropped_by_window = Vec::new();
    println!();
    for window in replayed {
        let record = &window.record;
        let kept_chunks = kept
            .get(&record.uri)
            .and_then(|report| report["chunks"].as_array())
            .map(Vec::as_slice)
            .unwrap_or_default();
        let (last_key, window_chunks) = record
            .last_chunks
            .as_ref()
            .map(|(key, report)| {
                (
                    *key,
                    report["chunks"]
                        .as_array()
                        .map(Vec::as_slice)
                        .unwrap_or_default(),
                )
            })
            .unwrap_or_default();
        println!(
            "{}: {} lines, {} classified; a fresh server sees {} chunks ({})",
            record.name,
            record.text.len_lines(),
            record.acknowledged.len(),
            kept_chunks.len(),
            count_origins(kept_chunks)
        );
        for classified in &record.acknowledged {
            acknowledged += 1;
            let by_id = |chunks: &[Value]| {
                chunks
                    .iter()
                    .find(|chunk| chunk["id"].as_u64() == Some(classified.chunk))
                    .cloned()
            };
            let seen = by_id(kept_chunks);
            if seen
                .as_ref()
                .is_some_and(|chunk| chunk["class"].as_str() == Some(classified.class))
            {
                found += 1;
                continue;
            }
            let what = format!(
                "{}: chunk {} classified {} after key {} (pasted at line {}) is {}",
                record.name,
                classified.chunk,
                classified.class,
                classified.at_key,
                classified.first_line,
                match &seen {
                    Some(chunk) => format!("there with class {}", chunk["class"]),
                    None => "missing".to_string(),
                }
            );
            match by_id(window_chunks) {
                Some(chunk) => lost_by_store.push(format!(
                    "{what}; its window listed it after key {last_key}: {}; the fresh server \
                     has at those lines: {}",
                    describe_chunk(&chunk),
                    chunks_at(kept_chunks, classified.first_line)
                )),
                None => dropped_by_window.push(format!(
                    "{what}; its window no longer listed it after key {last_key}, it had at \
                     those lines: {}",
                    chunks_at(window_chunks, classified.first_line)
                )),
            }
        }
    }
    let unmatched: Vec<&String> = replayed
        .iter()
        .flat_map(|window| &window.record.unmatched_pastes)
        .collect();
    if !unmatched.is_empty() {
        println!();
        println!(
            "pastes not classified (no chunk started at the pasted line; not counted): {}",
            unmatched.len()
        );
        print_some(&unmatched);
    }
    println!();
    if lost_by_store.is_empty() && dropped_by_window.is_empty() {
        println!("nothing lost: {found}/{acknowledged}");
        return Verdict::NothingLost;
    }
    println!("LOST: {found}/{acknowledged} acknowledged classifications found");
    if !lost_by_store.is_empty() {
        println!(
            "{} missing at the end although their window still listed them (lost by the store):",
            lost_by_store.len()
        );
        print_some(&lost_by_store);
    }
    if !dropped_by_window.is_empty() {
        println!(
            "{} already dropped by their own window before the end (lost in the engine, not the \
             store):",
            dropped_by_window.len()
        );
        print_some(&dropped_by_window);
    }
    Verdict::Lost
}

/// "3 pasted, 1 external": how many chunks of each origin.
fn count_origins(chunks: &[Value]) -> String {
    let mut origins: Vec<(&str, usize)> = Vec::new();
    for chunk in chunks {
        let origin = chunk["origin"].as_str().unwrap_or("?");
        match origins.iter_mut().find(|(name, _)| *name == origin) {
            Some((_, count)) => *count += 1,
            None => origins.push((origin, 1)),
        }
    }
    origins
        .iter()
        .map(|(origin, count)| format!("{count} {origin}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The chunks that overlap a pasted block starting at `first_line`, described.
fn chunks_at(chunks: &[Value], first_line: usize) -> String {
    let overlapping: Vec<String> = chunks
        .iter()
        .filter(|chunk| {
            let start = chunk["start_line"].as_u64().unwrap_or(0) as usize;
            let end = chunk["end_line"].as_u64().unwrap_or(0) as usize;
            start < first_line + PASTE_LINES && first_line < end
        })
        .map(describe_chunk)
        .collect();
    if overlapping.is_empty() {
        "no chunk".to_string()
    } else {
        overlapping.join(", ")
    }
}

/// Prints the first few lines of a long list, and how many more there are.
fn print_some(lines: &[impl std::fmt::Display]) {
    const SHOWN: usize = 10;
    for line in lines.iter().take(SHOWN) {
        println!("  {line}");
    }
    if lines.len() > SHOWN {
        println!("  ... and {} more", lines.len() - SHOWN);
    }
}

thread_local! {
    /// Where the last panic on this thread happened, for [`guarded`]'s message.
    static PANIC_PLACE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Panics (the test client's way of failing: a timeout, a server that closed its output) are
/// caught by [`guarded`] and reported once, with the server's stderr, instead of being printed by
/// the default hook as well.
fn quiet_panics() {
    panic::set_hook(Box::new(|info| {
        let place = info
            .location()
            .map(|location| format!("{}:{}", location.file(), location.line()));
        PANIC_PLACE.with(|cell| *cell.borrow_mut() = place);
    }));
}

/// Runs `work`, turning a panic into an error with its message.
fn guarded<T>(work: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    match panic::catch_unwind(AssertUnwindSafe(work)) {
        Ok(result) => result,
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|text| text.to_string()))
                .unwrap_or_else(|| "a panic without a message".to_string());
            let place = PANIC_PLACE
                .with(|cell| cell.borrow_mut().take())
                .map_or(String::new(), |place| format!(" (panicked at {place})"));
            Err(format!("{message}{place}"))
        }
    }
}
