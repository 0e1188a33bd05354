//! The `whetstone` command line. Exit codes: 0 ok, 1 failure with a one-line reason, 2 usage.

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Context as _;
use whetstone::core::DetectionConfig;
use whetstone::replay;

const USAGE: &str = "\
usage: whetstone <command>

commands:
  lsp                    serve the Language Server Protocol on stdin/stdout (logs go to stderr;
                         WHETSTONE_LOG=debug for more, WHETSTONE_HOME for the store folder)
  replay FILE [--json]   feed a recorded edit session (JSON lines) through the engine and
                         print the chunks it flags and each file's lines by origin
  help                   show this text
";

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let result = match arguments.first().map(String::as_str) {
        Some("lsp") => lsp_command(&arguments[1..]),
        Some("replay") => replay_command(&arguments[1..]),
        Some("help" | "--help" | "-h") => {
            write_stdout(USAGE);
            return ExitCode::SUCCESS;
        }
        Some(other) => return usage_error(&format!("unknown command {other:?}")),
        None => return usage_error("no command given"),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            write_stderr(&format!("whetstone: {error:#}\n"));
            ExitCode::from(1)
        }
    }
}

fn lsp_command(arguments: &[String]) -> anyhow::Result<ExitCode> {
    // Editors often pass `--stdio`; it is the only transport, so it is accepted and ignored.
    if let Some(other) = arguments
        .iter()
        .find(|argument| argument.as_str() != "--stdio")
    {
        return Ok(usage_error(&format!("lsp takes no argument {other:?}")));
    }
    init_logging();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(whetstone::lsp::serve());
    Ok(ExitCode::SUCCESS)
}

/// Logs to stderr (stdout is the protocol), filtered by WHETSTONE_LOG (default: warnings).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("WHETSTONE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
}

fn replay_command(arguments: &[String]) -> anyhow::Result<ExitCode> {
    let mut json = false;
    let mut file = None;
    for argument in arguments {
        match argument.as_str() {
            "--json" => json = true,
            flag if flag.starts_with("--") => {
                return Ok(usage_error(&format!("unknown flag {flag:?}")));
            }
            path if file.is_none() => file = Some(path.to_string()),
            extra => return Ok(usage_error(&format!("unexpected argument {extra:?}"))),
        }
    }
    let Some(file) = file else {
        return Ok(usage_error("replay needs a session file"));
    };
    let input = std::fs::read_to_string(&file).with_context(|| format!("cannot read {file}"))?;
    let report = replay::replay(&input, DetectionConfig::default());
    if json {
        write_stdout(&format!("{}\n", report.to_json()));
    } else {
        write_stdout(&report.to_table());
    }
    for problem in &report.problems {
        write_stderr(&format!(
            "{file}:{}: skipped: {}\n",
            problem.line, problem.message
        ));
    }
    if report.problems.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::from(1))
    }
}

fn usage_error(message: &str) -> ExitCode {
    write_stderr(&format!("whetstone: {message}\n\n{USAGE}"));
    ExitCode::from(2)
}

/// stdout may be a closed pipe (`whetstone replay x | head`): that is not worth a panic.
fn write_stdout(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

fn write_stderr(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}
