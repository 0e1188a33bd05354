//! Replays every recorded editing session listed in `tests/fixtures/expect.json` through
//! `whetstone replay <file> --json` and checks the chunks and line counts expected of it.
//!
//! The fixtures and expect.json are written by `tests/fixtures/generate.py` (see its docstring
//! for the expectation format). Every fixture is run and every failure is reported in one panic,
//! so a change to the detector shows its whole effect at once rather than the first casualty.
//! Only what expect.json states is compared: the chunk list is exhaustive (an empty list means
//! "flag nothing"), but only the chunk fields and count categories it names are looked at.

use serde_json::{Map, Value};
use std::fmt::Write as _;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};
use whetstone_tests::{records, whetstone_binary};

/// Far more than any fixture needs; it only stops a hung replay from hanging the whole suite.
const REPLAY_TIMEOUT: Duration = Duration::from_secs(120);

#[test]
fn every_fixture_meets_its_expectations() {
    let fixtures_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let expect_path = fixtures_dir.join("expect.json");
    let expectations = read_expectations(&expect_path);
    assert!(
        !expectations.is_empty(),
        "{} lists no fixtures",
        expect_path.display()
    );
    let binary = whetstone_binary();

    let mut failures = String::new();
    let mut failure_count = 0;
    for (fixture_name, expected) in &expectations {
        let fixture_path = fixtures_dir.join(fixture_name);
        let (problems, got) = match run_replay(&binary, &fixture_path) {
            Ok(report) => (
                check_report(expected, &report),
                summarize(expected, &report),
            ),
            Err(error) => (vec![error], "no report".to_string()),
        };
        if problems.is_empty() {
            continue;
        }
        failure_count += 1;
        let _ = writeln!(failures, "\n{fixture_name}");
        let _ = writeln!(failures, "  expected: {expected}");
        let _ = writeln!(failures, "  got:      {got}");
        for problem in problems {
            let _ = writeln!(failures, "  - {problem}");
        }
    }
    assert!(
        failure_count == 0,
        "{failure_count} of {} replay fixtures failed:\n{failures}",
        expectations.len()
    );
}

fn read_expectations(path: &Path) -> Map<String, Value> {
    let text = fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    match serde_json::from_str(&text) {
        Ok(Value::Object(expectations)) => expectations,
        Ok(_) => panic!("{} must hold a JSON object", path.display()),
        Err(error) => panic!("{} is not valid JSON: {error}", path.display()),
    }
}

/// Runs `whetstone replay <fixture> --json` and parses the one JSON object it prints.
fn run_replay(binary: &Path, fixture: &Path) -> Result<Value, String> {
    let mut child = Command::new(binary)
        .arg("replay")
        .arg(fixture)
        .arg("--json")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("cannot start {}: {error}", binary.display()))?;
    // Both pipes are drained on their own threads so that a chatty child never blocks on a
    // full pipe while we wait for it to exit.
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > REPLAY_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("replay still running after {REPLAY_TIMEOUT:?}"));
            }
            Ok(None) => thread::sleep(Duration::from_millis(5)),
            Err(error) => return Err(format!("cannot wait for the replay: {error}")),
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    if !status.success() {
        return Err(format!(
            "replay exited with {status}; stderr: {}",
            tail(&String::from_utf8_lossy(&stderr))
        ));
    }
    serde_json::from_slice(&stdout).map_err(|error| {
        format!(
            "replay output is not one JSON object ({error}): {}",
            tail(&String::from_utf8_lossy(&stdout))
        )
    })
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        bytes
    })
}

/// The last part of a long output, enough to see an error without flooding the report.
fn tail(text: &str) -> String {
    let text = text.trim();
    let keep = 1500;
    match text.char_indices().rev().nth(keep) {
        Some((cut, _)) => format!("...{}", &text[cut..]),
        None => text.to_string(),
    }
}

/// Everything that differs between the expectation of one fixture and its report.
fn check_report(expected: &Value, report: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(expected_chunks) = expected.get("chunks") {
        check_chunks(expected_chunks, report, &mut problems);
    }
    if let Some(expected_counts) = expected.get("counts") {
        check_counts(expected_counts, report, &mut problems);
    }
    problems
}

fn check_chunks(expected_chunks: &Value, report: &Value, problems: &mut Vec<String>) {
    let Some(expected_chunks) = expected_chunks.as_array() else {
        problems.push("expect.json: \"chunks\" must be a list".to_string());
        return;
    };
    let Some(actual_chunks) = report.get("chunks").and_then(Value::as_array) else {
        problems.push("the report has no \"chunks\" list".to_string());
        return;
    };
    if expected_chunks.len() != actual_chunks.len() {
        problems.push(format!(
            "expected {} chunk(s), got {}",
            expected_chunks.len(),
            actual_chunks.len()
        ));
        return;
    }
    // Chunks may come in any order, and with intervals one actual chunk can satisfy several
    // expected ones, so look for a full one-to-one pairing rather than pairing greedily.
    let mut used = vec![false; actual_chunks.len()];
    if pair_chunks(expected_chunks, actual_chunks, 0, &mut used) {
        return;
    }
    for expected_chunk in expected_chunks {
        let candidates = actual_chunks
            .iter()
            .filter(|actual| chunk_matches(expected_chunk, actual))
            .count();
        if candidates == 0 {
            problems.push(format!("no reported chunk matches {expected_chunk}"));
        }
    }
    if problems.is_empty() {
        problems.push("each expected chunk matches some reported chunk, but not one-to-one".into());
    }
}

fn pair_chunks(expected: &[Value], actual: &[Value], next: usize, used: &mut [bool]) -> bool {
    if next == expected.len() {
        return true;
    }
    for index in 0..actual.len() {
        if !used[index] && chunk_matches(&expected[next], &actual[index]) {
            used[index] = true;
            if pair_chunks(expected, actual, next + 1, used) {
                return true;
            }
            used[index] = false;
        }
    }
    false
}

/// True when every field the expected chunk names agrees with the reported chunk.
fn chunk_matches(expected: &Value, actual: &Value) -> bool {
    let Some(fields) = expected.as_object() else {
        return false;
    };
    fields.iter().all(|(name, spec)| match actual.get(name) {
        Some(value) => value_matches(spec, value),
        None => false,
    })
}

/// A string or a number must be equal; `[min, max]` accepts any number in between.
fn value_matches(spec: &Value, actual: &Value) -> bool {
    match spec {
        Value::Array(bounds) => match (bounds.as_slice(), actual.as_i64()) {
            ([low, high], Some(value)) => {
                low.as_i64().is_some_and(|low| low <= value)
                    && high.as_i64().is_some_and(|high| value <= high)
            }
            _ => false,
        },
        Value::Number(number) => number.as_i64().is_some() && number.as_i64() == actual.as_i64(),
        other => other == actual,
    }
}

fn check_counts(expected_counts: &Value, report: &Value, problems: &mut Vec<String>) {
    let Some(expected_counts) = expected_counts.as_object() else {
        problems.push("expect.json: \"counts\" must be an object".to_string());
        return;
    };
    for (uri, expected_file) in expected_counts {
        let Some(actual_file) = report.get("files").and_then(|files| files.get(uri)) else {
            problems.push(format!("the report has no counts for {uri}"));
            continue;
        };
        let Some(expected_file) = expected_file.as_object() else {
            problems.push(format!("expect.json: counts of {uri} must be an object"));
            continue;
        };
        for (category, spec) in expected_file {
            let actual = match count_of(actual_file, category) {
                Ok(actual) => actual,
                Err(problem) => {
                    problems.push(format!("{uri}: {problem}"));
                    continue;
                }
            };
            match count_matches(spec, actual) {
                Ok(true) => {}
                Ok(false) => {
                    problems.push(format!("{uri}: {category} is {actual}, expected {spec}"))
                }
                Err(problem) => problems.push(format!("expect.json: {uri} {category}: {problem}")),
            }
        }
    }
}

/// One category of a file's counts, or "total": the sum of all six.
fn count_of(file: &Value, category: &str) -> Result<i64, String> {
    let read = |name: &str| {
        file.get(name)
            .and_then(Value::as_i64)
            .ok_or_else(|| format!("the report has no count \"{name}\""))
    };
    if category == "total" {
        // The per-file counts the report carries, one per origin.
        records::origin_names().iter().map(|name| read(name)).sum()
    } else {
        read(category)
    }
}

/// A number must be equal, `[min, max]` is inclusive, and a string compares: ">0", ">=3", "<=7",
/// "<2", ">5" or "==4".
fn count_matches(spec: &Value, actual: i64) -> Result<bool, String> {
    match spec {
        Value::Number(_) | Value::Array(_) => Ok(value_matches(spec, &Value::from(actual))),
        Value::String(comparison) => {
            let comparison = comparison.trim();
            for operator in [">=", "<=", "==", ">", "<"] {
                if let Some(number) = comparison.strip_prefix(operator) {
                    let bound: i64 = number
                        .trim()
                        .parse()
                        .map_err(|_| format!("cannot read {comparison:?}"))?;
                    return Ok(match operator {
                        ">=" => actual >= bound,
                        "<=" => actual <= bound,
                        "==" => actual == bound,
                        ">" => actual > bound,
                        _ => actual < bound,
                    });
                }
            }
            Err(format!("cannot read {comparison:?}"))
        }
        other => Err(format!("unsupported count spec {other}")),
    }
}

/// What the report said, cut down to what the expectation talks about.
fn summarize(expected: &Value, report: &Value) -> String {
    let chunks: Vec<String> = report
        .get("chunks")
        .and_then(Value::as_array)
        .map(|chunks| {
            chunks
                .iter()
                .map(|chunk| {
                    let uri = chunk.get("uri").and_then(Value::as_str).unwrap_or("?");
                    let file = uri.rsplit('/').next().unwrap_or(uri);
                    format!(
                        "{} {}:{}..{}",
                        chunk.get("origin").and_then(Value::as_str).unwrap_or("?"),
                        file,
                        chunk.get("start_line").unwrap_or(&Value::Null),
                        chunk.get("end_line").unwrap_or(&Value::Null),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let mut counts = Map::new();
    if let Some(expected_counts) = expected.get("counts").and_then(Value::as_object) {
        for uri in expected_counts.keys() {
            if let Some(file) = report.get("files").and_then(|files| files.get(uri)) {
                counts.insert(uri.clone(), file.clone());
            }
        }
    }
    format!(
        "chunks [{}], counts {}",
        chunks.join(", "),
        Value::Object(counts)
    )
}

/// The fixtures directory must hold exactly what the generator writes, so a fixture that was
/// generated but never listed (and so never checked) cannot slip in unnoticed.
#[test]
fn every_fixture_file_is_listed_in_expect_json() {
    let fixtures_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let expectations = read_expectations(&fixtures_dir.join("expect.json"));
    let mut unlisted: Vec<PathBuf> = fs::read_dir(&fixtures_dir)
        .expect("the fixtures directory exists")
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "jsonl")
        })
        .filter(|path| {
            let name = path
                .file_name()
                .and_then(|name| name.to_str())
                .unwrap_or("");
            !expectations.contains_key(name)
        })
        .collect();
    unlisted.sort();
    assert!(
        unlisted.is_empty(),
        "fixtures without expectations: {unlisted:?}"
    );
    for name in expectations.keys() {
        assert!(
            fixtures_dir.join(name).is_file(),
            "expect.json lists {name}, which does not exist"
        );
    }
}
