//! Several processes on one store: three language servers (three editor windows) and the command
//! line, all with the same WHETSTONE_HOME. The first server holds the database and serves the
//! others over the store socket; these tests check that writes from each are seen by the others,
//! that a calibration session is the user's in every window at once, that `kill -9` of the holder
//! (or of anyone) loses no acknowledged change, and that hostile socket messages change nothing.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use whetstone_tests::lsp::LspClient;
use whetstone_tests::params::{change, did_change, did_open, file_uri};
use whetstone_tests::requests::{PUSH_TIMEOUT, classes_of};
use whetstone_tests::workspace::Workspace;

/// One window's file: four typed lines.
fn own_text(name: &str) -> String {
    (0..4)
        .map(|index| format!("pub fn {name}_own_{index}() {{}}\n"))
        .collect()
}

/// Eight lines of pasted code, different for each `name` and `round`.
fn pasted_text(name: &str, round: u32) -> String {
    (0..8)
        .map(|index| {
            format!(
                "pub fn {name}_pasted_{round}_{index}(value: u64) -> u64 {{ value.rotate_left({index}) ^ {round} }}\n"
            )
        })
        .collect()
}

/// A window with one open file, pasting and classifying in it.
struct Window {
    server: LspClient,
    uri: String,
    name: String,
    version: i32,
    lines: u32,
    rounds: u32,
}

impl Window {
    fn open(store: &Workspace, name: &str) -> Window {
        let (uri, _) = store.file(&format!("{name}.rs"), &own_text(name));
        let mut server = store.vscode_server();
        server.notify("textDocument/didOpen", did_open(&uri, &own_text(name), 1));
        Window {
            server,
            uri,
            name: name.to_string(),
            version: 1,
            lines: 4,
            rounds: 0,
        }
    }

    /// Pastes eight lines at the end and classifies the chunk they make as `class`; returns the
    /// chunk id once the server acknowledged the classification.
    fn paste_and_classify(&mut self, class: &str) -> u64 {
        self.rounds += 1;
        self.version += 1;
        let text = pasted_text(&self.name, self.rounds);
        self.server.notify(
            "textDocument/didChange",
            did_change(
                &self.uri,
                self.version,
                vec![change((self.lines, 0), (self.lines, 0), &text)],
            ),
        );
        let first_line = self.lines;
        self.lines += 8;
        let chunk = self.server.chunk_at(&self.uri, first_line);
        self.server.classify(&self.uri, chunk, class);
        chunk
    }

    /// Types a line by hand at the end, one key per notification.
    fn type_line(&mut self, text: &str) {
        for (column, character) in text.chars().chain(std::iter::once('\n')).enumerate() {
            self.version += 1;
            self.server.notify(
                "textDocument/didChange",
                did_change(
                    &self.uri,
                    self.version,
                    vec![change(
                        (self.lines, column as u32),
                        (self.lines, column as u32),
                        &character.to_string(),
                    )],
                ),
            );
        }
        self.lines += 1;
    }

    fn execute(&mut self, command: &str, argument: Value) -> Value {
        self.server.execute(command, argument)
    }

    fn wait_for_calibration(&mut self, what: &str, predicate: impl Fn(&Value) -> bool) -> Value {
        self.server.wait_for_calibration(what, predicate)
    }
}

/// The class of each chunk of `uri`, as a fresh server that opens it sees them.
fn classes_seen_by_a_new_window(store: &Workspace, path: &Path) -> Vec<(u64, String)> {
    let uri = file_uri(path);
    let text = std::fs::read_to_string(path).expect("read");
    let mut server = store.vscode_server();
    server.notify("textDocument/didOpen", did_open(&uri, &text, 1));
    let report = server.chunks_report(&uri);
    server.shutdown();
    classes_of(&report)
}

/// Writes the window's current text to disk, as the editor's save would.
fn save_text(path: &Path, name: &str, rounds: u32, typed: &[&str]) {
    let mut text = own_text(name);
    for round in 1..=rounds {
        text.push_str(&pasted_text(name, round));
    }
    for line in typed {
        text.push_str(line);
        text.push('\n');
    }
    std::fs::write(path, text).expect("write");
}

#[test]
fn three_servers_and_the_command_line_share_one_store() {
    let store = Workspace::new();
    let mut a = Window::open(&store, "alpha");
    let mut b = Window::open(&store, "beta");
    let mut c = Window::open(&store, "gamma");
    // The socket is the owner's alone.
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(store.socket())
            .expect("the holder listens on the store socket")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "socket mode {mode:o}");
    }

    let a_chunk = a.paste_and_classify("core");
    let b_chunk = b.paste_and_classify("transient");
    let c_chunk = c.paste_and_classify("repeatable");
    // Chunk ids come from one counter: no two windows hand out the same one.
    let mut ids = vec![a_chunk, b_chunk, c_chunk];
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "chunk ids {a_chunk} {b_chunk} {c_chunk}");

    // Each window's classification is seen by the others and by the command line.
    let alpha = store.root().join("alpha.rs");
    save_text(&alpha, "alpha", 1, &[]);
    let in_b = {
        let uri = file_uri(&alpha);
        let text = std::fs::read_to_string(&alpha).expect("read");
        b.server
            .notify("textDocument/didOpen", did_open(&uri, &text, 1));
        classes_of(&b.execute("whetstone.chunks", json!({ "uri": uri })))
    };
    assert_eq!(in_b, vec![(a_chunk, "core".to_string())]);
    let status = store.whetstone(&["status", &store.root().display().to_string()]);
    assert!(status.status.success(), "{status:?}");
    let table = String::from_utf8_lossy(&status.stdout);
    for name in ["alpha.rs", "beta.rs", "gamma.rs"] {
        let row = table
            .lines()
            .find(|line| line.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no row for {name} in {table}"));
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cells[..3], [name, "4", "8"], "{table}");
    }

    // A session started in one window is running in every window at once...
    b.execute(
        "whetstone.calibration.start",
        json!({ "label": "weekly block", "minutes": 60 }),
    );
    for window in [&mut a, &mut c] {
        let told =
            window.wait_for_calibration("the start", |status| status["label"] == "weekly block");
        assert_eq!(told["planned_minutes"], 60, "{told}");
    }
    // ...so a paste in another window is a breach of it...
    c.paste_and_classify("transient");
    let breach = c
        .server
        .wait_for_notification("window/showMessage", PUSH_TIMEOUT, |params| {
            params["message"]
                .as_str()
                .is_some_and(|message| message.contains("recorded as a breach"))
        });
    assert!(
        breach.is_some(),
        "{}",
        c.server.failure("no breach warning")
    );
    // ...what each window types counts toward the one session...
    a.type_line("let typed_in_alpha = 1;");
    c.type_line("let typed_in_gamma = 2;");
    // ...and stopping it anywhere stops it everywhere.
    let stopped = a.execute("whetstone.calibration.stop", json!({ "feel": 3 }));
    assert_eq!(stopped["feel"], 3, "{stopped}");
    for window in [&mut b, &mut c] {
        window.wait_for_calibration("the stop", Value::is_null);
        assert_eq!(
            window.execute("whetstone.calibration.status", json!({})),
            Value::Null
        );
    }
    let session = {
        let output = store.whetstone(&["report", "--json"]);
        assert!(output.status.success(), "{output:?}");
        let report: Value = serde_json::from_slice(&output.stdout).expect("json");
        report["calibration"]["sessions"]
            .as_array()
            .and_then(|sessions| sessions.last().cloned())
            .unwrap_or_else(|| panic!("no session in {report:#}"))
    };
    assert_eq!(session["label"], "weekly block", "{session:#}");
    assert_eq!(session["breaches"], 1, "{session:#}");
    // Typed in two windows, one session: both lines count (one may still be on its way).
    let typed = session["typed_lines"].as_u64().unwrap_or(0);
    assert!(typed >= 1, "{session:#}");

    for window in [a, b, c] {
        assert!(window.server.shutdown().success());
    }
}

#[test]
fn kill_9_of_the_holder_loses_no_acknowledged_change() {
    let store = Workspace::new();
    let mut holder = Window::open(&store, "holder");
    let mut b = Window::open(&store, "beta");
    let mut c = Window::open(&store, "gamma");
    let holder_chunk = holder.paste_and_classify("core");
    let b_first = b.paste_and_classify("transient");
    let c_first = c.paste_and_classify("repeatable");

    holder.server.kill();
    // The others keep editing: one of them takes the store over, the other reconnects, and
    // what they record after is kept as well.
    let b_second = b.paste_and_classify("core");
    let c_second = c.paste_and_classify("transient");
    b.type_line("let after = 1;");
    // And a client killed right after an acknowledged change loses nothing either.
    let c_third = c.paste_and_classify("core");
    c.server.kill();
    let b_third = b.paste_and_classify("repeatable");
    assert!(b.server.shutdown().success());

    save_text(&store.root().join("holder.rs"), "holder", 1, &[]);
    save_text(
        &store.root().join("beta.rs"),
        "beta",
        3,
        &["let after = 1;"],
    );
    save_text(&store.root().join("gamma.rs"), "gamma", 3, &[]);
    assert_eq!(
        classes_seen_by_a_new_window(&store, &store.root().join("holder.rs")),
        vec![(holder_chunk, "core".to_string())]
    );
    assert_eq!(
        classes_seen_by_a_new_window(&store, &store.root().join("beta.rs")),
        vec![
            (b_first, "transient".to_string()),
            (b_second, "core".to_string()),
            (b_third, "repeatable".to_string()),
        ]
    );
    assert_eq!(
        classes_seen_by_a_new_window(&store, &store.root().join("gamma.rs")),
        vec![
            (c_first, "repeatable".to_string()),
            (c_second, "transient".to_string()),
            (c_third, "core".to_string()),
        ]
    );
}

#[test]
fn a_calibration_change_survives_kill_9_of_the_holder() {
    let store = Workspace::new();
    let holder = Window::open(&store, "holder");
    let mut client = Window::open(&store, "client");
    client.execute("whetstone.calibration.start", json!({ "label": "no AI" }));
    holder.server.kill();
    let status = client.execute("whetstone.calibration.status", json!({}));
    assert_eq!(status["label"], "no AI", "{status}");
    client.execute("whetstone.calibration.stop", json!({ "feel": 5 }));
    client.server.kill();
    let output = store.whetstone(&["calibrate", "status"]);
    assert!(output.status.success(), "{output:?}");
    let report = store.whetstone(&["report", "--json"]);
    let report: Value = serde_json::from_slice(&report.stdout).expect("json");
    let session = &report["calibration"]["sessions"][0];
    assert_eq!(session["label"], "no AI", "{report:#}");
    assert_eq!(session["feel"], 5, "{report:#}");
}

/// Sends raw bytes to the store socket and returns whatever comes back before it closes or
/// goes quiet.
fn poke(socket: &Path, bytes: &[u8]) -> Vec<u8> {
    let Ok(mut stream) = UnixStream::connect(socket) else {
        return Vec::new();
    };
    stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    let _ = stream.write_all(bytes);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    answer
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut bytes = (body.len() as u32).to_be_bytes().to_vec();
    bytes.extend_from_slice(body);
    bytes
}

#[test]
fn hostile_socket_messages_change_nothing() {
    let store = Workspace::new();
    let mut window = Window::open(&store, "alpha");
    let chunk = window.paste_and_classify("core");
    let socket = store.socket();
    let hello = frame(br#"{"request":"hello","protocol":2,"pid":1,"listen":false}"#);
    let attempts: Vec<Vec<u8>> = vec![
        b"GET / HTTP/1.1\r\n\r\n".to_vec(),
        u32::MAX.to_be_bytes().to_vec(),
        frame(b"not json at all"),
        frame(&[0xff, 0xfe, 0xfd]),
        frame(br#"{"request":"hello","protocol":99,"pid":1,"listen":false}"#),
        frame(br#"{"request":"remove_file","key":{"workspace":"","path":"/etc/passwd"}}"#),
        [hello.clone(), frame(br#"{"request":"drop_everything"}"#)].concat(),
        [hello.clone(), frame(br#"{"request":"claim_chunk_ids","count":"many"}"#)].concat(),
        [
            hello.clone(),
            frame(
                br#"{"request":"save_file","key":{"workspace":"/w","path":"x.rs"},"record":{"version":1,"line_keys":[1],"runs":[{"origin":"typed","chunk":null,"lines":9}],"chunks":[]}}"#,
            ),
        ]
        .concat(),
        [hello.clone(), (200_000_000u32).to_be_bytes().to_vec(), b"{".to_vec()].concat(),
        [hello.clone(), vec![0u8; 3]].concat(),
    ];
    let started = Instant::now();
    for bytes in &attempts {
        poke(&socket, bytes);
    }
    assert!(started.elapsed() < Duration::from_secs(60));
    // The server still answers, its chunk is still classified, and nothing was written at the
    // record the garbage tried to make.
    let report = window.server.chunks_report(&window.uri);
    assert_eq!(classes_of(&report), vec![(chunk, "core".to_string())]);
    let status = store.whetstone(&["status"]);
    assert!(status.status.success(), "{status:?}");
    assert!(
        !String::from_utf8_lossy(&status.stdout).contains("x.rs"),
        "{}",
        String::from_utf8_lossy(&status.stdout)
    );
    assert!(window.server.shutdown().success());
}

#[test]
fn a_damaged_store_is_moved_aside_and_a_fresh_one_started() {
    let store = Workspace::new();
    let database = store.home().join("db");
    std::fs::create_dir_all(&database).expect("mkdir");
    std::fs::write(
        database.join("conf"),
        b"\x00\x13garbage that is not a sled config\xff",
    )
    .expect("garbage");
    std::fs::write(database.join("db"), vec![0xa5; 4096]).expect("garbage");
    let mut window = Window::open(&store, "alpha");
    let told = window
        .server
        .wait_for_notification("window/showMessage", PUSH_TIMEOUT, |params| {
            params["message"]
                .as_str()
                .is_some_and(|message| message.contains("damaged-"))
        });
    let Some(told) = told else {
        panic!(
            "{}",
            window.server.failure("no message about the damaged store")
        );
    };
    let message = told["message"].as_str().unwrap_or_default();
    assert!(message.contains("fresh store"), "{message}");
    let moved: Vec<PathBuf> = std::fs::read_dir(store.home())
        .expect("list")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with("damaged-"))
        })
        .collect();
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert!(
        message.contains(&moved[0].display().to_string()),
        "{message}"
    );
    assert!(
        moved[0].join("conf").exists(),
        "the old store is kept untouched"
    );

    // The fresh store keeps what is recorded from now on.
    let chunk = window.paste_and_classify("core");
    assert!(window.server.shutdown().success());
    save_text(&store.root().join("alpha.rs"), "alpha", 1, &[]);
    assert_eq!(
        classes_seen_by_a_new_window(&store, &store.root().join("alpha.rs")),
        vec![(chunk, "core".to_string())]
    );
}

/// Sends `signal` (`STOP`, `CONT`) to a process.
fn signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{signal} {pid}");
}

/// A holder that is stopped (SIGSTOP), not dead, keeps sled's lock, so no window can take over.
/// It once blocked every other window's whole loop (a code lens waited 37 s) and left their
/// classifications in memory only. Now the other windows keep typing and answering, their
/// classifications are acknowledged from the journal, and killing those windows before the
/// holder goes on loses none of them.
#[test]
fn a_stopped_holder_stalls_no_window_and_loses_nothing() {
    let store = Workspace::new();
    let mut holder = Window::open(&store, "alpha");
    let mut windows = [Window::open(&store, "beta"), Window::open(&store, "gamma")];
    holder.paste_and_classify("core");
    for window in &mut windows {
        window.paste_and_classify("transient");
    }
    let holder_pid = holder.server.process_id();
    signal(holder_pid, "STOP");
    // Longer than every wait of a call, a search and a command (the longest is a save's 30 s).
    let stopped_for = Duration::from_secs(33);
    let stopped_at = Instant::now();
    let mut acknowledged: Vec<(usize, u64)> = Vec::new();
    let mut typed: [Vec<String>; 2] = Default::default();
    let mut slowest_lens = Duration::ZERO;
    let mut slowest_classify = Duration::ZERO;
    while stopped_at.elapsed() < stopped_for {
        for (index, window) in windows.iter_mut().enumerate() {
            let line = format!("let typed_{} = {};", typed[index].len(), index);
            window.type_line(&line);
            typed[index].push(line);
            let asked = Instant::now();
            window
                .server
                .request(
                    "textDocument/codeLens",
                    json!({ "textDocument": { "uri": window.uri } }),
                )
                .unwrap_or_else(|error| panic!("{}", window.server.failure(&format!("{error}"))));
            slowest_lens = slowest_lens.max(asked.elapsed());
            let asked = Instant::now();
            let chunk = window.paste_and_classify("core");
            slowest_classify = slowest_classify.max(asked.elapsed());
            acknowledged.push((index, chunk));
        }
    }
    eprintln!(
        "holder stopped for {:?}: {} classifications acknowledged; slowest code lens {:?}, \
         slowest paste and classify {:?}",
        stopped_at.elapsed(),
        acknowledged.len(),
        slowest_lens,
        slowest_classify
    );
    // A lens never waits on the store; a classification waits at most for the journal and the
    // command's short wait for the store.
    assert!(slowest_lens < Duration::from_secs(2), "{slowest_lens:?}");
    assert!(
        slowest_classify < Duration::from_secs(10),
        "{slowest_classify:?}"
    );

    // The windows go before the holder comes back: what they acknowledged is in the journal.
    let mut paths = Vec::new();
    for (index, window) in windows.into_iter().enumerate() {
        let path = store.root().join(format!("{}.rs", window.name));
        let typed: Vec<&str> = typed[index].iter().map(String::as_str).collect();
        // The editor's text on disk: the pastes in order, then what was typed by hand, as the
        // rounds interleaved them; a new window re-anchors by content.
        let mut text = own_text(&window.name);
        let mut round = 1;
        for line in &typed {
            if round <= window.rounds {
                text.push_str(&pasted_text(&window.name, round));
                round += 1;
            }
            text.push_str(line);
            text.push('\n');
        }
        while round <= window.rounds {
            text.push_str(&pasted_text(&window.name, round));
            round += 1;
        }
        std::fs::write(&path, text).expect("write");
        paths.push(path);
        window.server.kill();
    }
    signal(holder_pid, "CONT");
    // The holder folds the journal within a second of noticing it grew.
    let deadline = Instant::now() + Duration::from_secs(20);
    for (index, path) in paths.iter().enumerate() {
        let wanted: Vec<u64> = acknowledged
            .iter()
            .filter(|(window, _)| *window == index)
            .map(|(_, chunk)| *chunk)
            .collect();
        loop {
            let classes = classes_seen_by_a_new_window(&store, path);
            let missing: Vec<u64> = wanted
                .iter()
                .copied()
                .filter(|chunk| !classes.contains(&(*chunk, "core".to_string())))
                .collect();
            if missing.is_empty() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "chunks {missing:?} of {} lost their acknowledged class: {classes:?}",
                path.display()
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }
    holder.server.shutdown();
}
