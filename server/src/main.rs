//! The `whetstone` command line. Exit codes: 0 ok, 1 failure with a one-line reason, 2 usage.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use whetstone::core::DetectionConfig;
use whetstone::reporting::{self, DEFAULT_REPORT_DAYS, MAX_REPORT_DAYS};
use whetstone::store::{self, OpenFailure, SharedStore};
use whetstone::{calibration, declare, render, replay};

const USAGE: &str = "\
usage: whetstone <command>

commands:
  lsp                    serve the Language Server Protocol on stdin/stdout (logs go to stderr;
                         WHETSTONE_LOG=debug for more, WHETSTONE_HOME for the store folder)
  status [PATH]          lines by origin, chunks by class, explained share and capability debt
                         of each tracked file in PATH (a file or a folder; default: the current
                         folder)
  report [--since DAYS] [--json | --markdown | --html FILE]
                         the capability report of the last DAYS days (default 28): a summary on
                         the terminal, JSON or markdown on stdout, or an HTML page written to FILE
  calibrate start [--label TEXT] [--minutes N]
                         start a no-AI calibration session (one at a time; with --minutes it ends
                         by itself after N minutes)
  calibrate stop [--feel 1-5] [--notes TEXT]
                         end the running session and say how it felt (1 struggled ... 5 smooth);
                         with none running, rate the session that ended last
  calibrate status       the running session: label, start, active minutes, typed lines, breaches
  pace [--reset]         your fastest sustained typing as whetstone measured it, and the burst
                         rate it uses (raised above your pace once enough typing is measured);
                         --reset forgets what was learned
  replay FILE [--json]   feed a recorded edit session (JSON lines) through the engine and
                         print the chunks it flags and each file's lines by origin
  mark --origin generated|pasted --agent NAME [--model ID] FILE[:START-END]
                         record lines of FILE (1-based, inclusive; default: all of it) as
                         written by a coding agent; editors show them as its chunk
  hook claude-code [--print-config]
                         read a Claude Code PostToolUse payload on stdin and mark the lines its
                         Edit, MultiEdit or Write produced; --print-config prints the settings
                         for .claude/settings.json that install it
  version                the version of this whetstone (also --version)
  help                   show this text

status, report, calibrate, mark and hook use the store in WHETSTONE_HOME (else
$XDG_DATA_HOME/whetstone, else ~/.local/share/whetstone), through an editor's whetstone server
when one holds it. Times are in UTC.
";

/// A command line, parsed. `lsp` and `replay` keep their own argument handling.
#[derive(Debug, Clone, PartialEq)]
enum Command<'a> {
    Lsp(&'a [String]),
    Replay(&'a [String]),
    Help,
    Version,
    Status {
        path: Option<PathBuf>,
    },
    Report {
        since_days: u32,
        format: ReportFormat,
    },
    CalibrateStart {
        label: Option<String>,
        minutes: Option<u32>,
    },
    CalibrateStop {
        feel: Option<u8>,
        notes: Option<String>,
    },
    CalibrateStatus,
    Pace {
        reset: bool,
    },
    Mark {
        origin: String,
        agent: String,
        model: Option<String>,
        target: String,
    },
    HookClaudeCode {
        print_config: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum ReportFormat {
    Summary,
    Json,
    Markdown,
    Html(PathBuf),
}

const MAX_SESSION_MINUTES: u32 = 1_440;

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let command = match parse(&arguments) {
        Ok(command) => command,
        Err(message) => return usage_error(&message),
    };
    let result = match command {
        Command::Lsp(arguments) => lsp_command(arguments),
        Command::Replay(arguments) => replay_command(arguments),
        Command::Help => {
            write_stdout(USAGE);
            return ExitCode::SUCCESS;
        }
        Command::Version => {
            write_stdout(&format!("whetstone {}\n", env!("CARGO_PKG_VERSION")));
            return ExitCode::SUCCESS;
        }
        Command::Status { path } => {
            init_logging();
            status_command(path)
        }
        Command::Report { since_days, format } => {
            init_logging();
            report_command(since_days, &format)
        }
        Command::CalibrateStart { label, minutes } => {
            init_logging();
            calibrate_start_command(label, minutes)
        }
        Command::CalibrateStop { feel, notes } => {
            init_logging();
            calibrate_stop_command(feel, notes)
        }
        Command::CalibrateStatus => {
            init_logging();
            calibrate_status_command()
        }
        Command::Pace { reset } => {
            init_logging();
            pace_command(reset)
        }
        Command::Mark {
            origin,
            agent,
            model,
            target,
        } => {
            init_logging();
            mark_command(&origin, &agent, model.as_deref(), &target)
        }
        Command::HookClaudeCode { print_config } => {
            init_logging();
            hook_claude_code_command(print_config)
        }
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
    // Dropping the runtime would wait for every blocking task (a journal append, tokio's stdin
    // reader) for good; the editor waits for the process to end after `exit`. Nothing still
    // running was acknowledged to the user.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
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

/// The command and its arguments, or what is wrong with them (a usage error).
fn parse(arguments: &[String]) -> Result<Command<'_>, String> {
    let rest = arguments.get(1..).unwrap_or_default();
    match arguments.first().map(String::as_str) {
        Some("lsp") => Ok(Command::Lsp(rest)),
        Some("replay") => Ok(Command::Replay(rest)),
        Some("help" | "--help" | "-h") => Ok(Command::Help),
        Some("version" | "--version" | "-V") if rest.is_empty() => Ok(Command::Version),
        Some("status") => parse_status(rest),
        Some("report") => parse_report(rest),
        Some("calibrate") => match rest.first().map(String::as_str) {
            Some("start") => parse_calibrate_start(&rest[1..]),
            Some("stop") => parse_calibrate_stop(&rest[1..]),
            Some("status") => match rest.get(1) {
                None => Ok(Command::CalibrateStatus),
                Some(extra) => Err(format!("calibrate status takes no argument {extra:?}")),
            },
            Some(other) => Err(format!(
                "unknown calibrate command {other:?} (start, stop or status)"
            )),
            None => Err("calibrate needs start, stop or status".to_string()),
        },
        Some("pace") => match rest {
            [] => Ok(Command::Pace { reset: false }),
            [flag] if flag == "--reset" => Ok(Command::Pace { reset: true }),
            _ => Err(format!("pace takes only --reset, not {rest:?}")),
        },
        Some("mark") => parse_mark(rest),
        Some("hook") => match rest.first().map(String::as_str) {
            Some("claude-code") => match rest.get(1).map(String::as_str) {
                None => Ok(Command::HookClaudeCode {
                    print_config: false,
                }),
                Some("--print-config") if rest.len() == 2 => {
                    Ok(Command::HookClaudeCode { print_config: true })
                }
                Some(extra) => Err(format!("unexpected argument {extra:?}")),
            },
            Some(other) => Err(format!(
                "no hook for {other:?} (claude-code; other agents can call whetstone mark)"
            )),
            None => Err("hook needs an agent: claude-code".to_string()),
        },
        Some(other) => Err(format!("unknown command {other:?}")),
        None => Err("no command given".to_string()),
    }
}

fn parse_mark(arguments: &[String]) -> Result<Command<'_>, String> {
    let mut origin = None;
    let mut agent = None;
    let mut model = None;
    let mut target = None;
    let mut walk = Arguments::new(arguments);
    while let Some(argument) = walk.next_argument() {
        match argument {
            Argument::Flag(flag @ "--origin", inline) => {
                set_once(&mut origin, flag, walk.value(flag, inline)?.to_string())?;
            }
            Argument::Flag(flag @ "--agent", inline) => {
                set_once(&mut agent, flag, walk.value(flag, inline)?.to_string())?;
            }
            Argument::Flag(flag @ "--model", inline) => {
                set_once(&mut model, flag, walk.value(flag, inline)?.to_string())?;
            }
            Argument::Flag(flag, _) => return Err(format!("mark has no flag {flag:?}")),
            Argument::Plain(given) => set_once(&mut target, "FILE", given.to_string())?,
        }
    }
    Ok(Command::Mark {
        origin: origin.ok_or("mark needs --origin generated|pasted")?,
        agent: agent.ok_or("mark needs --agent NAME")?,
        model,
        target: target.ok_or("mark needs a FILE (FILE:START-END for some of its lines)")?,
    })
}

/// One argument: a flag with the value written into it (`--feel=4`), or anything else.
enum Argument<'a> {
    Flag(&'a str, Option<&'a str>),
    Plain(&'a str),
}

/// Walks arguments, handing out flags and the values that follow them.
struct Arguments<'a> {
    arguments: &'a [String],
    next: usize,
}

impl<'a> Arguments<'a> {
    fn new(arguments: &'a [String]) -> Arguments<'a> {
        Arguments { arguments, next: 0 }
    }

    fn next_argument(&mut self) -> Option<Argument<'a>> {
        let argument = self.arguments.get(self.next)?.as_str();
        self.next += 1;
        if !argument.starts_with("--") {
            return Some(Argument::Plain(argument));
        }
        Some(match argument.split_once('=') {
            Some((flag, value)) => Argument::Flag(flag, Some(value)),
            None => Argument::Flag(argument, None),
        })
    }

    /// The value of `flag`: written into it, or the next argument.
    fn value(&mut self, flag: &str, inline: Option<&'a str>) -> Result<&'a str, String> {
        if let Some(value) = inline {
            return Ok(value);
        }
        let value = self
            .arguments
            .get(self.next)
            .ok_or_else(|| format!("{flag} needs a value"))?;
        self.next += 1;
        Ok(value)
    }
}

/// Refuses a flag given twice: which one was meant is anybody's guess.
fn set_once<T>(slot: &mut Option<T>, flag: &str, value: T) -> Result<(), String> {
    if slot.is_some() {
        return Err(format!("{flag} is given twice"));
    }
    *slot = Some(value);
    Ok(())
}

/// A whole number from `low` to `high`.
fn number_in<T: std::str::FromStr + PartialOrd + std::fmt::Display>(
    flag: &str,
    value: &str,
    low: T,
    high: T,
) -> Result<T, String> {
    match value.parse::<T>() {
        Ok(number) if number >= low && number <= high => Ok(number),
        _ => Err(format!(
            "{flag} takes a whole number from {low} to {high}, not {value:?}"
        )),
    }
}

/// Text that says something.
fn text(flag: &str, value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(format!("{flag} needs a text"));
    }
    Ok(value.to_string())
}

fn parse_status(arguments: &[String]) -> Result<Command<'_>, String> {
    let mut path = None;
    let mut walk = Arguments::new(arguments);
    while let Some(argument) = walk.next_argument() {
        match argument {
            Argument::Flag(flag, _) => return Err(format!("status has no flag {flag:?}")),
            Argument::Plain(given) => set_once(&mut path, "PATH", PathBuf::from(given))?,
        }
    }
    Ok(Command::Status { path })
}

fn parse_report(arguments: &[String]) -> Result<Command<'_>, String> {
    let mut since_days = None;
    let mut format = None;
    let mut walk = Arguments::new(arguments);
    while let Some(argument) = walk.next_argument() {
        let (flag, inline) = match argument {
            Argument::Flag(flag, inline) => (flag, inline),
            Argument::Plain(extra) => return Err(format!("unexpected argument {extra:?}")),
        };
        let chosen = match flag {
            "--since" => {
                let value = walk.value(flag, inline)?;
                set_once(
                    &mut since_days,
                    flag,
                    number_in(flag, value, 1, MAX_REPORT_DAYS)?,
                )?;
                continue;
            }
            "--json" | "--markdown" if inline.is_some() => {
                return Err(format!("{flag} takes no value"));
            }
            "--json" => ReportFormat::Json,
            "--markdown" => ReportFormat::Markdown,
            "--html" => ReportFormat::Html(PathBuf::from(walk.value(flag, inline)?)),
            other => return Err(format!("report has no flag {other:?}")),
        };
        if format.is_some() {
            return Err("choose one of --json, --markdown and --html".to_string());
        }
        format = Some(chosen);
    }
    Ok(Command::Report {
        since_days: since_days.unwrap_or(DEFAULT_REPORT_DAYS),
        format: format.unwrap_or(ReportFormat::Summary),
    })
}

fn parse_calibrate_start(arguments: &[String]) -> Result<Command<'_>, String> {
    let mut label = None;
    let mut minutes = None;
    let mut walk = Arguments::new(arguments);
    while let Some(argument) = walk.next_argument() {
        match argument {
            Argument::Flag(flag @ "--label", inline) => {
                let value = text(flag, walk.value(flag, inline)?)?;
                set_once(&mut label, flag, value)?;
            }
            Argument::Flag(flag @ "--minutes", inline) => {
                let value = number_in(flag, walk.value(flag, inline)?, 1, MAX_SESSION_MINUTES)?;
                set_once(&mut minutes, flag, value)?;
            }
            Argument::Flag(flag, _) => return Err(format!("calibrate start has no flag {flag:?}")),
            Argument::Plain(extra) => return Err(format!("unexpected argument {extra:?}")),
        }
    }
    Ok(Command::CalibrateStart { label, minutes })
}

fn parse_calibrate_stop(arguments: &[String]) -> Result<Command<'_>, String> {
    let mut feel = None;
    let mut notes = None;
    let mut walk = Arguments::new(arguments);
    while let Some(argument) = walk.next_argument() {
        match argument {
            Argument::Flag(flag @ "--feel", inline) => {
                let value = number_in(flag, walk.value(flag, inline)?, 1u8, 5)?;
                set_once(&mut feel, flag, value)?;
            }
            Argument::Flag(flag @ "--notes", inline) => {
                let value = text(flag, walk.value(flag, inline)?)?;
                set_once(&mut notes, flag, value)?;
            }
            Argument::Flag(flag, _) => return Err(format!("calibrate stop has no flag {flag:?}")),
            Argument::Plain(extra) => return Err(format!("unexpected argument {extra:?}")),
        }
    }
    Ok(Command::CalibrateStop { feel, notes })
}

/// Milliseconds since the Unix epoch.
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The store, held by this command or reached through the editor's language server that holds
/// it; or one line saying why not.
fn pace_command(reset: bool) -> anyhow::Result<ExitCode> {
    use whetstone::core::DetectionConfig;
    use whetstone::core::pace::{MIN_MEASURED_CHARS, SETTING as TYPING_PACE, TypingPace};
    use whetstone::store::Store;
    let store = open_store()?;
    if reset {
        store.set_setting(TYPING_PACE, &TypingPace::default().to_setting())?;
        store.flush()?;
        write_stdout(
            "Forgot what was learned of your typing: the burst rate is the configured one again \
             (editor windows open now keep theirs until they restart).\n",
        );
        return Ok(ExitCode::SUCCESS);
    }
    let pace = store
        .setting(TYPING_PACE)?
        .and_then(|text| TypingPace::from_setting(&text))
        .unwrap_or_default();
    let configured = DetectionConfig::default().burst_chars_per_second;
    let rate = pace.burst_rate(configured);
    let measured = if pace.measured_chars == 0 {
        "No typing measured yet.".to_string()
    } else {
        format!(
            "Your fastest sustained typing: {:.1} characters a second (over 5 s), from {} \
             characters measured.",
            pace.fastest_cps, pace.measured_chars
        )
    };
    let adapts = if pace.measured_chars < MIN_MEASURED_CHARS {
        format!(
            "the default; it adapts to your pace once {MIN_MEASURED_CHARS} characters are measured"
        )
    } else if rate > configured {
        "raised above your own pace, so that your typing is never taken for a stream".to_string()
    } else {
        "the default, already well above your pace".to_string()
    };
    write_stdout(&format!(
        "{measured}\nBurst rate: {rate:.1} characters a second ({adapts}). A rate set in the \
         editor's settings (detection.burstCharsPerSecond) is used as it is.\n"
    ));
    Ok(ExitCode::SUCCESS)
}

fn open_store() -> anyhow::Result<Arc<SharedStore>> {
    let Some(folder) = store::default_location(|name| std::env::var_os(name)) else {
        anyhow::bail!(
            "cannot find the store: set WHETSTONE_HOME (or XDG_DATA_HOME or HOME) to say where \
             it is"
        );
    };
    let shared = SharedStore::connect(&folder, |_| {}).map_err(|failure| match failure {
        OpenFailure::Locked { path } => anyhow::anyhow!(
            "another process holds the store in {} and does not answer on its socket (an older \
             whetstone?); close it and run this again",
            path.display()
        ),
        other => anyhow::anyhow!(other.command_line_message()),
    })?;
    if let Some(notice) = shared.take_notice() {
        eprintln!("whetstone: {notice}");
    }
    Ok(shared)
}

fn status_command(path: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let current = std::env::current_dir().context("cannot find the current folder")?;
    let target = match path {
        Some(path) => current.join(path),
        None => current,
    };
    let store = open_store()?;
    let now = now_ms();
    // Read once, for the table and for the detection sentence.
    let mut files = reporting::stored_files(store.as_ref(), Some(&target))?;
    let mut base = target.clone();
    // The editor may name the folder through a symbolic link, or not: try the resolved path too.
    if files.is_empty()
        && let Ok(resolved) = target.canonicalize()
        && resolved != target
    {
        files = reporting::stored_files(store.as_ref(), Some(&resolved))?;
        base = resolved;
    }
    let rows = reporting::ownership_rows_of(&files, now);
    if rows.is_empty() {
        write_stdout(&format!(
            "no tracked files in {} (whetstone tracks the files an editor opens with its \
             language server)\n",
            target.display()
        ));
    } else {
        write_stdout(&reporting::ownership_table(&rows, Some(&base)));
        let since = reporting::period_start(now, DEFAULT_REPORT_DAYS);
        let detection = reporting::detection_of(store.as_ref(), &files, since, Some(&base))?;
        write_stdout(&format!(
            "\nDetection as you judged it, last {DEFAULT_REPORT_DAYS} days — {}\n",
            whetstone::core::judged::sentence(&detection)
        ));
    }
    Ok(ExitCode::SUCCESS)
}

fn report_command(since_days: u32, format: &ReportFormat) -> anyhow::Result<ExitCode> {
    let store = open_store()?;
    let now = now_ms();
    let since = reporting::period_start(now, since_days);
    let input = reporting::report_input(store.as_ref(), now, since)?;
    drop(store);
    let report = whetstone::core::report::compute(&input);
    match format {
        ReportFormat::Summary => write_stdout(&reporting::summary(&report)),
        ReportFormat::Json => write_stdout(&format!("{:#}\n", render::json(&report))),
        ReportFormat::Markdown => write_stdout(&render::markdown(&report)),
        ReportFormat::Html(file) => {
            std::fs::write(file, render::html(&report))
                .with_context(|| format!("cannot write the report to {}", file.display()))?;
            write_stdout(&format!("wrote the report to {}\n", shown_path(file)));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The path as the user can open it: absolute when the current folder is known.
fn shown_path(file: &Path) -> String {
    std::env::current_dir()
        .map(|current| current.join(file))
        .unwrap_or_else(|_| file.to_path_buf())
        .display()
        .to_string()
}

fn calibrate_start_command(
    label: Option<String>,
    minutes: Option<u32>,
) -> anyhow::Result<ExitCode> {
    let store = open_store()?;
    let session = calibration::sessions::start(store.as_ref(), label, minutes, now_ms())?;
    write_stdout(&calibration::words::started_text(&session));
    Ok(ExitCode::SUCCESS)
}

fn calibrate_stop_command(feel: Option<u8>, notes: Option<String>) -> anyhow::Result<ExitCode> {
    let store = open_store()?;
    let outcome = calibration::sessions::stop(store.as_ref(), feel, notes, now_ms())?;
    write_stdout(&calibration::words::stopped_text(&outcome));
    Ok(ExitCode::SUCCESS)
}

fn calibrate_status_command() -> anyhow::Result<ExitCode> {
    let store = open_store()?;
    let now = now_ms();
    let status = calibration::sessions::status(store.as_ref(), now)?;
    write_stdout(&calibration::words::status_text(&status, now));
    Ok(ExitCode::SUCCESS)
}

fn mark_command(
    origin: &str,
    agent: &str,
    model: Option<&str>,
    target: &str,
) -> anyhow::Result<ExitCode> {
    let declarer = declare::Declarer::new(origin, agent, model)?;
    let (path, range) = declare::parse_target(target);
    let current = std::env::current_dir().context("cannot find the current folder")?;
    let marked = declare::mark(&current.join(path), range, &declarer, now_ms())?;
    let store = open_store()?;
    let recorded = declare::record(store.as_ref(), &marked)?;
    for declaration in &marked.declarations {
        let first = declaration.start_line + 1;
        let last = declaration.start_line + declaration.lines.len();
        write_stdout(&format!(
            "marked lines {first}-{last} of {} as {} by {}{}\n",
            shown_path(&marked.path),
            declaration.origin.as_str(),
            declaration.agent,
            recorded_note(recorded)
        ));
    }
    Ok(ExitCode::SUCCESS)
}

fn recorded_note(recorded: declare::Recorded) -> &'static str {
    match recorded {
        declare::Recorded::Saved => "",
        declare::Recorded::InJournal => {
            " (kept in the store's journal: the process holding the store did not answer, and \
             takes it when it does)"
        }
    }
}

/// The most a hook payload may weigh (Claude Code sends the whole written file for a Write).
const MAX_HOOK_PAYLOAD_BYTES: u64 = 64 * 1024 * 1024;

fn hook_claude_code_command(print_config: bool) -> anyhow::Result<ExitCode> {
    use std::io::Read as _;
    if print_config {
        write_stdout(&format!("{:#}\n", declare::claude_code_settings()));
        return Ok(ExitCode::SUCCESS);
    }
    let mut payload = String::new();
    std::io::stdin()
        .lock()
        .take(MAX_HOOK_PAYLOAD_BYTES + 1)
        .read_to_string(&mut payload)
        .context("cannot read the hook's input (UTF-8 JSON on stdin)")?;
    if payload.len() as u64 > MAX_HOOK_PAYLOAD_BYTES {
        anyhow::bail!("the hook's input is over {MAX_HOOK_PAYLOAD_BYTES} bytes");
    }
    let Some(marked) = declare::claude_code_hook(&payload, now_ms())? else {
        return Ok(ExitCode::SUCCESS);
    };
    for warning in &marked.warnings {
        write_stderr(&format!("whetstone: {warning}\n"));
    }
    if marked.declarations.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let store = open_store()?;
    let recorded = declare::record(store.as_ref(), &marked)?;
    if recorded == declare::Recorded::InJournal {
        write_stderr(&format!("whetstone: marked{}\n", recorded_note(recorded)));
    }
    Ok(ExitCode::SUCCESS)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(line: &str) -> Result<Command<'static>, String> {
        // Leaked: a test's few arguments live as long as the test process anyway.
        let arguments: &'static [String] = Vec::leak(
            line.split_whitespace()
                .map(|word| word.replace('_', " "))
                .collect(),
        );
        parse(arguments)
    }

    #[test]
    fn command_lines_parse_or_say_what_is_wrong() {
        let ok = |command| Ok::<Command<'static>, String>(command);
        let usage = |message: &str| Err::<Command<'static>, String>(message.to_string());
        let report = |since_days, format| ok(Command::Report { since_days, format });
        let stop = |feel, notes: Option<&str>| {
            ok(Command::CalibrateStop {
                feel,
                notes: notes.map(str::to_string),
            })
        };
        // `_` stands for a space inside one argument.
        let cases = [
            ("", usage("no command given")),
            ("frobnicate", usage("unknown command \"frobnicate\"")),
            ("help", ok(Command::Help)),
            ("--help", ok(Command::Help)),
            ("status", ok(Command::Status { path: None })),
            (
                "status src/main.rs",
                ok(Command::Status {
                    path: Some(PathBuf::from("src/main.rs")),
                }),
            ),
            ("status a b", usage("PATH is given twice")),
            ("status --all", usage("status has no flag \"--all\"")),
            ("report", report(28, ReportFormat::Summary)),
            ("report --json", report(28, ReportFormat::Json)),
            (
                "report --since 7 --markdown",
                report(7, ReportFormat::Markdown),
            ),
            (
                "report --markdown --since=90",
                report(90, ReportFormat::Markdown),
            ),
            (
                "report --html out.html",
                report(28, ReportFormat::Html(PathBuf::from("out.html"))),
            ),
            (
                "report --html=my_report.html --since 1",
                report(1, ReportFormat::Html(PathBuf::from("my report.html"))),
            ),
            ("report --html", usage("--html needs a value")),
            ("report --since", usage("--since needs a value")),
            (
                "report --since 0",
                usage("--since takes a whole number from 1 to 3650, not \"0\""),
            ),
            (
                "report --since week",
                usage("--since takes a whole number from 1 to 3650, not \"week\""),
            ),
            (
                "report --since 3 --since 4",
                usage("--since is given twice"),
            ),
            (
                "report --json --markdown",
                usage("choose one of --json, --markdown and --html"),
            ),
            ("report --json=yes", usage("--json takes no value")),
            ("report --pdf", usage("report has no flag \"--pdf\"")),
            ("report today", usage("unexpected argument \"today\"")),
            ("calibrate", usage("calibrate needs start, stop or status")),
            (
                "calibrate begin",
                usage("unknown calibrate command \"begin\" (start, stop or status)"),
            ),
            ("calibrate status", ok(Command::CalibrateStatus)),
            (
                "calibrate status --json",
                usage("calibrate status takes no argument \"--json\""),
            ),
            (
                "calibrate start",
                ok(Command::CalibrateStart {
                    label: None,
                    minutes: None,
                }),
            ),
            (
                "calibrate start --label parser_rewrite --minutes 45",
                ok(Command::CalibrateStart {
                    label: Some("parser rewrite".to_string()),
                    minutes: Some(45),
                }),
            ),
            (
                "calibrate start --minutes=1440",
                ok(Command::CalibrateStart {
                    label: None,
                    minutes: Some(1440),
                }),
            ),
            (
                "calibrate start --minutes 0",
                usage("--minutes takes a whole number from 1 to 1440, not \"0\""),
            ),
            (
                "calibrate start --minutes -5",
                usage("--minutes takes a whole number from 1 to 1440, not \"-5\""),
            ),
            ("calibrate start --label _", usage("--label needs a text")),
            ("calibrate start --label", usage("--label needs a value")),
            (
                "calibrate start --feel 3",
                usage("calibrate start has no flag \"--feel\""),
            ),
            ("calibrate stop", stop(None, None)),
            ("calibrate stop --feel 1", stop(Some(1), None)),
            (
                "calibrate stop --feel=5 --notes hard_but_fine",
                stop(Some(5), Some("hard but fine")),
            ),
            (
                "calibrate stop --feel 0",
                usage("--feel takes a whole number from 1 to 5, not \"0\""),
            ),
            (
                "calibrate stop --feel 6",
                usage("--feel takes a whole number from 1 to 5, not \"6\""),
            ),
            (
                "calibrate stop --feel 300",
                usage("--feel takes a whole number from 1 to 5, not \"300\""),
            ),
            (
                "calibrate stop --feel good",
                usage("--feel takes a whole number from 1 to 5, not \"good\""),
            ),
            (
                "calibrate stop --feel 2 --feel 3",
                usage("--feel is given twice"),
            ),
            ("calibrate stop 4", usage("unexpected argument \"4\"")),
            (
                "mark --origin generated --agent codex src/a.rs:3-9",
                ok(Command::Mark {
                    origin: "generated".to_string(),
                    agent: "codex".to_string(),
                    model: None,
                    target: "src/a.rs:3-9".to_string(),
                }),
            ),
            (
                "mark a.rs --agent=aider --model gpt-5 --origin=pasted",
                ok(Command::Mark {
                    origin: "pasted".to_string(),
                    agent: "aider".to_string(),
                    model: Some("gpt-5".to_string()),
                    target: "a.rs".to_string(),
                }),
            ),
            (
                "mark --agent x a.rs",
                usage("mark needs --origin generated|pasted"),
            ),
            (
                "mark --origin generated a.rs",
                usage("mark needs --agent NAME"),
            ),
            (
                "mark --origin generated --agent x",
                usage("mark needs a FILE (FILE:START-END for some of its lines)"),
            ),
            (
                "mark --origin generated --agent x a b",
                usage("FILE is given twice"),
            ),
            ("mark --force", usage("mark has no flag \"--force\"")),
            ("hook", usage("hook needs an agent: claude-code")),
            (
                "hook cursor",
                usage("no hook for \"cursor\" (claude-code; other agents can call whetstone mark)"),
            ),
            (
                "hook claude-code",
                ok(Command::HookClaudeCode {
                    print_config: false,
                }),
            ),
            (
                "hook claude-code --print-config",
                ok(Command::HookClaudeCode { print_config: true }),
            ),
            ("hook claude-code now", usage("unexpected argument \"now\"")),
        ];
        for (line, expected) in cases {
            assert_eq!(parsed(line), expected, "{line:?}");
        }
        // lsp and replay keep their own arguments.
        assert!(matches!(parsed("lsp --stdio"), Ok(Command::Lsp(rest)) if rest == ["--stdio"]));
        assert!(matches!(
            parsed("replay session.jsonl --json"),
            Ok(Command::Replay(rest)) if rest == ["session.jsonl", "--json"]
        ));
    }

    #[test]
    fn the_usage_names_every_command() {
        for command in [
            "lsp",
            "status [PATH]",
            "report [--since DAYS] [--json | --markdown | --html FILE]",
            "calibrate start [--label TEXT] [--minutes N]",
            "calibrate stop [--feel 1-5] [--notes TEXT]",
            "calibrate status",
            "replay FILE [--json]",
            "mark --origin generated|pasted --agent NAME [--model ID] FILE[:START-END]",
            "hook claude-code [--print-config]",
        ] {
            assert!(USAGE.contains(command), "{command}");
        }
        assert!(USAGE.lines().all(|line| line.chars().count() <= 100));
    }
}
