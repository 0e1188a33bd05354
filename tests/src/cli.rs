//! Running the `whetstone` command line on a store of the test's own, and reading what it said.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::binary::whetstone_binary;

/// `whetstone` with `WHETSTONE_HOME=home`, started in `current_dir`, without the log level a
/// developer's shell may set (its output is what the tests read).
pub fn command(home: &Path, current_dir: &Path) -> Command {
    let mut command = Command::new(whetstone_binary());
    command
        .env("WHETSTONE_HOME", home)
        .env_remove("WHETSTONE_LOG")
        .current_dir(current_dir);
    command
}

/// Runs `whetstone arguments...` on the store in `home` from `current_dir` and waits for it.
pub fn run(home: &Path, current_dir: &Path, arguments: &[&str]) -> Output {
    command(home, current_dir)
        .args(arguments)
        .output()
        .expect("whetstone runs")
}

/// [`run`] with `input` on its stdin.
pub fn run_with_input(home: &Path, current_dir: &Path, arguments: &[&str], input: &str) -> Output {
    let mut child = command(home, current_dir)
        .args(arguments)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("whetstone runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("whetstone ends")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The exit code and both outputs, for failure messages.
pub fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        stdout(output),
        stderr(output)
    )
}

/// Asserts the exit code, showing what the command said when it is not the expected one.
pub fn assert_exit(output: &Output, code: i32, what: &str) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "{what}: stdout {:?}, stderr {:?}",
        stdout(output),
        stderr(output)
    );
}

/// A failure is one line on stderr, naming whetstone, and nothing on stdout; returns the line.
pub fn assert_one_line_failure(output: &Output, what: &str) -> String {
    assert_exit(output, 1, what);
    let message = stderr(output);
    assert_eq!(message.lines().count(), 1, "{what}: {message:?}");
    assert!(message.starts_with("whetstone: "), "{what}: {message:?}");
    assert!(stdout(output).is_empty(), "{what}");
    message
}
