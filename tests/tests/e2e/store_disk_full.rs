//! A full disk: the store on a small filesystem (a tmpfs mounted for the test, which needs root;
//! without it the test says so and passes, and the journal's failure path is covered by the
//! unit tests). A classification made while the disk is full is an error that says it was not
//! saved, never a success; what was acknowledged survives `kill -9`; and once space is freed the
//! kept judgement is saved by itself and survives too.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use whetstone_tests::capabilities::vscode_like_capabilities;
use whetstone_tests::lsp::LspClient;
use whetstone_tests::params::{change, did_change, did_open, file_uri};
use whetstone_tests::requests::classes_of;

struct Mounted {
    point: PathBuf,
    _folder: tempfile::TempDir,
}

impl Mounted {
    /// A tmpfs of `megabytes`, or None where this machine does not let the test mount one.
    fn tmpfs(megabytes: u32) -> Option<Mounted> {
        let folder = tempfile::tempdir().expect("tempdir");
        let point = folder.path().join("disk");
        std::fs::create_dir(&point).expect("mkdir");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(&point)
            .output()
            .ok()?;
        mounted.status.success().then_some(Mounted {
            point,
            _folder: folder,
        })
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.point).status();
    }
}

/// Fills the filesystem of `folder` with one file; returns it.
fn fill(folder: &Path) -> PathBuf {
    use std::io::Write;
    let filler = folder.join("filler");
    let mut file = std::fs::File::create(&filler).expect("filler");
    let block = vec![0u8; 64 * 1024];
    while file.write_all(&block).is_ok() {}
    let small = [0u8; 512];
    while file.write_all(&small).is_ok() {}
    let _ = file.sync_all();
    filler
}

fn pasted(round: u32) -> String {
    (0..8)
        .map(|index| {
            format!("pub fn pasted_{round}_{index}(value: u64) -> u64 {{ value ^ {index} }}\n")
        })
        .collect()
}

fn server(home: &Path, workspace: &Path) -> LspClient {
    let mut server = LspClient::start(home);
    server.initialize(workspace, vscode_like_capabilities(), json!({}));
    server
}

/// Pastes round `round` at `line` and classifies its chunk as core; the command's answer.
fn paste_and_classify(
    server: &mut LspClient,
    uri: &str,
    version: i32,
    line: u32,
    round: u32,
) -> (u64, Result<Value, Value>) {
    server.notify(
        "textDocument/didChange",
        did_change(
            uri,
            version,
            vec![change((line, 0), (line, 0), &pasted(round))],
        ),
    );
    let chunk = server.chunk_at(uri, line);
    let answer = server.execute_command(
        "whetstone.classify",
        json!({ "uri": uri, "chunk": chunk, "class": "core" }),
    );
    (chunk, answer)
}

fn classes_after_restart(home: &Path, workspace: &Path, path: &Path) -> Vec<(u64, String)> {
    let uri = file_uri(path);
    let mut server = server(home, workspace);
    let text = std::fs::read_to_string(path).expect("read");
    server.notify("textDocument/didOpen", did_open(&uri, &text, 1));
    let report = server.chunks_report(&uri);
    server.kill();
    classes_of(&report)
}

#[test]
fn a_full_disk_is_an_error_and_the_judgement_is_saved_when_space_returns() {
    let Some(disk) = Mounted::tmpfs(8) else {
        eprintln!("store_disk_full: cannot mount a tmpfs here (not root?); the test did not run");
        return;
    };
    let home = disk.point.join("store");
    let workspace = tempfile::tempdir().expect("workspace");
    let path = workspace.path().join("full.rs");
    let own = "pub fn own() {}\n";
    std::fs::write(&path, own).expect("write");
    let uri = file_uri(&path);
    let mut window = server(&home, workspace.path());
    window.notify("textDocument/didOpen", did_open(&uri, own, 1));
    let (first, answer) = paste_and_classify(&mut window, &uri, 2, 1, 1);
    assert!(answer.is_ok(), "{}", window.failure(&format!("{answer:?}")));

    // A full disk: keep classifying new pastes until the store runs out of room (sled writes
    // into pages it already has for a while). Each answer is either a real success or an error
    // that says it was not saved; at least one must be the error.
    let filler = fill(&disk.point);
    let mut judged = vec![first];
    let mut refused = 0;
    let mut text = format!("{own}{}", pasted(1));
    for round in 2..=9u32 {
        let line = 1 + 8 * (round - 1);
        let (chunk, answer) = paste_and_classify(&mut window, &uri, round as i32 + 1, line, round);
        text.push_str(&pasted(round));
        judged.push(chunk);
        if let Err(error) = &answer {
            let message = error["message"].as_str().unwrap_or_default();
            assert!(
                message.contains("could not save"),
                "the error says it was not saved: {error}"
            );
            refused += 1;
            break;
        }
    }
    eprintln!(
        "store_disk_full: {} classifications while full, {refused} refused",
        judged.len() - 1
    );
    assert_eq!(
        refused,
        1,
        "{}",
        window.failure("no classification failed on a full disk")
    );
    // The editor's text on disk (the workspace is not on the full filesystem).
    std::fs::write(&path, &text).expect("write");

    // Space comes back: the kept judgement is saved by itself within a few retries.
    std::fs::remove_file(&filler).expect("free");
    let deadline = Instant::now() + Duration::from_secs(30);
    while window
        .wait_for_notification("window/showMessage", Duration::from_secs(1), |params| {
            params["message"]
                .as_str()
                .is_some_and(|message| message.contains("saved 1 judgement"))
        })
        .is_none()
    {
        assert!(
            Instant::now() < deadline,
            "{}",
            window.failure("the kept judgement was not saved after space came back")
        );
    }
    // The store works again by itself: a new judgement is saved at once.
    let round = judged.len() as u32 + 1;
    let line = 1 + 8 * (round - 1);
    let (chunk, answer) = paste_and_classify(&mut window, &uri, round as i32 + 1, line, round);
    assert!(
        answer.is_ok(),
        "{}",
        window.failure(&format!("after space came back: {answer:?}"))
    );
    judged.push(chunk);
    text.push_str(&pasted(round));
    std::fs::write(&path, &text).expect("write");
    window.kill();
    let classes = classes_after_restart(&home, workspace.path(), &path);
    for chunk in judged {
        assert!(
            classes.contains(&(chunk, "core".to_string())),
            "chunk {chunk} lost its class after kill -9: {classes:?}"
        );
    }
}
