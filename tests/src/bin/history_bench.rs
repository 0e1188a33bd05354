//! `history_bench`: how the store and the command line cost as a heavy user's history grows from a
//! month to a year. For each span it writes a seeded history into a fresh store folder
//! (`whetstone_tests::history`), then times:
//!
//! - **open**: in this process, what the server's `initialize` asks of the store: take it
//!   (`SharedStore::connect`, which opens sled and folds the journal), claim a block of chunk
//!   ids, read the typing pace and look at the calibration sessions; then let it go. Target
//!   ≤ 50 ms.
//! - **status**: `whetstone status <workspace root>` as a process, for the workspace with the
//!   most files and for a middling one. Target ≤ 200 ms.
//! - **report**: `whetstone report` as a process in each format (the terminal summary, markdown,
//!   JSON, HTML into a file), with `--since` reaching back to the first day of the history.
//!   Target ≤ 1 s.
//!
//! Each measure runs once untimed (the page cache is warm from writing the store anyway), then
//! `--runs` times; the median and the 90th percentile (nearest rank) are printed, with whether the
//! median meets the target. The processes get `WHETSTONE_HOME` set to the temporary store, so the
//! user's own store is never read.
//!
//! ```text
//! cargo build --release -p whetstone -p whetstone-tests --bin whetstone --bin history_bench
//! target/release/history_bench [--spans month,quarter,year] [--runs 9] [--seed 12]
//!                              [--whetstone PATH]
//! ```

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use whetstone::core::pace;
use whetstone::store::{SharedStore, Store};
use whetstone_tests::binary::sibling_binary;
use whetstone_tests::history::{self, END_DAY, Generated, Span};
use whetstone_tests::measure::parse_count;

const USAGE: &str = "\
usage: history_bench [--spans month,quarter,year] [--runs N] [--seed N] [--whetstone PATH]
                     [--keep FOLDER]

  --spans LIST      which histories to make and measure (default: month,quarter,year)
  --runs N          timed runs of each measure, after one untimed (default 9)
  --seed N          the history's seed (default 12)
  --whetstone PATH  the command line to time
                    (default: whetstone next to this binary, i.e. target/release/whetstone)
  --keep FOLDER     write each span's store into FOLDER/<span> and leave it there (to profile
                    a command on it: WHETSTONE_HOME=FOLDER/year whetstone report); FOLDER must
                    not hold those stores yet
";

const DEFAULT_RUNS: usize = 9;
const DEFAULT_SEED: u64 = 12;
const OPEN_TARGET: Duration = Duration::from_millis(50);
const STATUS_TARGET: Duration = Duration::from_millis(200);
const REPORT_TARGET: Duration = Duration::from_secs(1);
/// What the server claims at `initialize` (`CHUNK_IDS_BLOCK` in lsp/state.rs).
const CHUNK_IDS_BLOCK: u64 = 1_024;

fn main() -> ExitCode {
    if std::env::args().any(|argument| argument == "--help" || argument == "-h") {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("history_bench: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("history_bench: {message}");
            ExitCode::from(1)
        }
    }
}

struct Options {
    spans: Vec<Span>,
    runs: usize,
    seed: u64,
    whetstone: Option<PathBuf>,
    keep: Option<PathBuf>,
}

impl Options {
    fn parse(mut arguments: impl Iterator<Item = String>) -> Result<Options, String> {
        let mut options = Options {
            spans: Span::ALL.to_vec(),
            runs: DEFAULT_RUNS,
            seed: DEFAULT_SEED,
            whetstone: None,
            keep: None,
        };
        while let Some(argument) = arguments.next() {
            let mut value = |name: &str| {
                arguments
                    .next()
                    .ok_or_else(|| format!("{name} needs a value"))
            };
            match argument.as_str() {
                "--spans" => {
                    options.spans = value("--spans")?
                        .split(',')
                        .map(|name| {
                            Span::parse(name.trim()).ok_or_else(|| {
                                format!("{name:?} is not a span (month, quarter or year)")
                            })
                        })
                        .collect::<Result<_, _>>()?;
                }
                "--runs" => options.runs = parse_count("--runs", &value("--runs")?)?,
                "--seed" => {
                    let text = value("--seed")?;
                    options.seed = text
                        .parse()
                        .map_err(|_| format!("--seed wants a whole number, not {text:?}"))?;
                }
                "--whetstone" => options.whetstone = Some(PathBuf::from(value("--whetstone")?)),
                "--keep" => options.keep = Some(PathBuf::from(value("--keep")?)),
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        Ok(options)
    }
}

/// One measure of one span.
struct Measured {
    /// The same for every span.
    name: String,
    /// What differs between spans, for the span's own table.
    detail: String,
    target: Duration,
    /// Wall time of each run.
    times: Vec<Duration>,
    /// Processor time (user and system) of each run: what the run costs on a machine nobody
    /// else is using, whatever the load when it was measured.
    processor: Vec<Duration>,
}

impl Measured {
    fn median(&self) -> Duration {
        percentile(&self.times, 0.5)
    }

    fn p90(&self) -> Duration {
        percentile(&self.times, 0.9)
    }

    fn processor_median(&self) -> Duration {
        percentile(&self.processor, 0.5)
    }
}

fn run(options: &Options) -> Result<(), String> {
    let whetstone = match &options.whetstone {
        Some(path) => path.clone(),
        None => sibling_binary("whetstone")?,
    };
    if !whetstone.is_file() {
        return Err(format!(
            "{} does not exist: build it first with `cargo build --release -p whetstone \
             -p whetstone-tests --bin whetstone --bin history_bench` (or point --whetstone at one)",
            whetstone.display()
        ));
    }
    println!(
        "whetstone: {}; seed {}; {} timed runs of each measure after one untimed",
        whetstone.display(),
        options.seed,
        options.runs
    );
    let mut results: Vec<(Span, Vec<Measured>)> = Vec::new();
    for &span in &options.spans {
        let measured = measure_span(span, options, &whetstone)?;
        results.push((span, measured));
    }
    print_growth(&results);
    Ok(())
}

fn measure_span(span: Span, options: &Options, whetstone: &Path) -> Result<Vec<Measured>, String> {
    let temporary = tempfile::Builder::new()
        .prefix(&format!("history-bench-{}-", span.name()))
        .tempdir()
        .map_err(|error| format!("cannot make a temp dir: {error}"))?;
    let folder = match &options.keep {
        Some(keep) => keep.join(span.name()),
        None => temporary.path().join("store"),
    };
    if folder.exists() {
        return Err(format!(
            "{} exists already: a history is written into a store of its own",
            folder.display()
        ));
    }
    let started = Instant::now();
    let generated = history::generate_in_folder(&folder, options.seed, span.size(), END_DAY)?;
    let written_in = started.elapsed();
    describe(span, &generated, written_in, &folder);

    let runs = options.runs;
    let (times, processor) = timed(runs, Whose::ThisProcess, || open_like_initialize(&folder))?;
    let mut measured = vec![Measured {
        name: "open, as initialize does".to_string(),
        detail: String::new(),
        target: OPEN_TARGET,
        times,
        processor,
    }];

    let (largest, largest_files) = generated.workspaces[0].clone();
    let (middling, middling_files) = generated.workspaces[generated.workspaces.len() / 2].clone();
    let mut workspaces = vec![(largest, largest_files, "largest")];
    if generated.workspaces.len() > 1 {
        workspaces.push((middling, middling_files, "middling"));
    }
    for (root, files, which) in workspaces {
        let command = || {
            let mut command = whetstone_command(whetstone, &folder, temporary.path());
            command.args(["status", &root]);
            command
        };
        let (times, processor) = timed(runs, Whose::Children, || {
            run_process(command(), "no tracked files")
        })?;
        measured.push(Measured {
            name: format!("status, {which} workspace"),
            detail: format!("{files} files"),
            target: STATUS_TARGET,
            times,
            processor,
        });
    }

    let since_days = days_back_to(generated.start_ms).to_string();
    let html = temporary.path().join("report.html");
    let html = html.to_string_lossy().to_string();
    let formats: [(&str, Vec<&str>); 4] = [
        ("summary", vec![]),
        ("markdown", vec!["--markdown"]),
        ("json", vec!["--json"]),
        ("html", vec!["--html", &html]),
    ];
    for (format, flags) in formats {
        let command = || {
            let mut command = whetstone_command(whetstone, &folder, temporary.path());
            command
                .args(["report", "--since", &since_days])
                .args(&flags);
            command
        };
        let (times, processor) = timed(runs, Whose::Children, || run_process(command(), ""))?;
        measured.push(Measured {
            name: format!("report, {format}"),
            detail: format!("--since {since_days}"),
            target: REPORT_TARGET,
            times,
            processor,
        });
    }
    print_span(span, &measured);
    Ok(measured)
}

fn describe(span: Span, generated: &Generated, written_in: Duration, folder: &Path) {
    let size = generated.size;
    println!(
        "\n{} ({} days): {} files in {} workspaces, {} lines, {} chunks, {} dismissals, {} \
         calibration sessions with {} breaches, {} days of activity; written in {:.1} s, {:.1} MB \
         on disk",
        span.name(),
        size.days,
        size.files,
        size.workspaces,
        generated.lines,
        size.chunks,
        generated.dismissals,
        size.sessions,
        generated.breaches,
        generated.activity_days,
        written_in.as_secs_f64(),
        folder_bytes(folder) as f64 / 1e6,
    );
}

/// What `initialize` asks of the store (lsp/state.rs, `open_store` and `load_calibration`).
fn open_like_initialize(folder: &Path) -> Result<(), String> {
    let store = SharedStore::connect(folder, |_| {})
        .map_err(|failure| format!("cannot open the store: {failure}"))?;
    if !store.is_holder() {
        return Err("the store is held elsewhere: open would be measured as a client".to_string());
    }
    let asked = store
        .claim_chunk_ids(CHUNK_IDS_BLOCK)
        .map(|_| ())
        .and_then(|()| store.setting(pace::SETTING).map(|_| ()))
        .map_err(|error| format!("the store failed: {error}"));
    asked?;
    whetstone::calibration::sessions::status(store.as_ref(), now_ms())
        .map_err(|error| format!("cannot read the calibration sessions: {error}"))?;
    Ok(())
}

fn whetstone_command(whetstone: &Path, store: &Path, current: &Path) -> Command {
    let mut command = Command::new(whetstone);
    command
        .env("WHETSTONE_HOME", store)
        .env_remove("WHETSTONE_LOG")
        .current_dir(current)
        .stdin(Stdio::null());
    command
}

/// Runs `command` to its end; it must succeed and its output must not contain `refused` (when
/// that is not empty).
fn run_process(mut command: Command, refused: &str) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|error| format!("cannot run {command:?}: {error}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() || (!refused.is_empty() && stdout.contains(refused)) {
        return Err(format!(
            "{command:?} failed ({}): {}{}",
            output.status,
            stdout,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(())
}

/// Whose processor time a measure spends.
#[derive(Clone, Copy)]
enum Whose {
    /// This process, its threads included.
    ThisProcess,
    /// The processes it started and waited for.
    Children,
}

/// `runs` wall times of `measure` and the processor time of each, after one untimed run.
fn timed(
    runs: usize,
    whose: Whose,
    mut measure: impl FnMut() -> Result<(), String>,
) -> Result<(Vec<Duration>, Vec<Duration>), String> {
    measure()?;
    let mut times = Vec::with_capacity(runs);
    let mut processor = Vec::with_capacity(runs);
    for _ in 0..runs {
        let used_before = processor_time(whose);
        let started = Instant::now();
        measure()?;
        times.push(started.elapsed());
        processor.push(processor_time(whose).saturating_sub(used_before));
    }
    Ok((times, processor))
}

/// User and system time so far (of the waited-for children: every one of them, so the
/// difference around one run is that run's).
fn processor_time(whose: Whose) -> Duration {
    let who = match whose {
        Whose::ThisProcess => libc::RUSAGE_SELF,
        Whose::Children => libc::RUSAGE_CHILDREN,
    };
    // SAFETY: getrusage only writes the struct it is given, which is plain data.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(who, &mut usage) != 0 {
            return Duration::ZERO;
        }
        usage
    };
    let time = |value: libc::timeval| {
        Duration::from_secs(value.tv_sec.max(0) as u64)
            + Duration::from_micros(value.tv_usec.max(0) as u64)
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// Nearest rank.
fn percentile(times: &[Duration], share: f64) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    let rank = ((share * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn print_span(span: Span, measured: &[Measured]) {
    println!(
        "\n| {} | median ms | p90 ms | processor ms (median) | target | met |",
        span.name()
    );
    println!("|---|---:|---:|---:|---:|---|");
    for measure in measured {
        let median = measure.median();
        let detail = if measure.detail.is_empty() {
            String::new()
        } else {
            format!(" ({})", measure.detail)
        };
        println!(
            "| {}{detail} | {:.1} | {:.1} | {:.1} | ≤ {} ms | {} |",
            measure.name,
            milliseconds(median),
            milliseconds(measure.p90()),
            milliseconds(measure.processor_median()),
            measure.target.as_millis(),
            if median <= measure.target {
                "yes"
            } else {
                "NO"
            }
        );
    }
}

/// Medians side by side, and how much the last span costs over the first.
fn print_growth(results: &[(Span, Vec<Measured>)]) {
    if results.len() < 2 {
        return;
    }
    let (first, last) = (&results[0], &results[results.len() - 1]);
    print!("\n| median ms, wall (processor) |");
    for (span, _) in results {
        print!(" {} |", span.name());
    }
    println!(" {}→{} |", first.0.name(), last.0.name());
    println!("|---|{}---:|", "---:|".repeat(results.len()));
    for measure in &first.1 {
        let name = &measure.name;
        print!("| {name} |");
        for (_, measured) in results {
            match measured.iter().find(|row| row.name == *name) {
                Some(row) => print!(
                    " {:.1} ({:.1}) |",
                    milliseconds(row.median()),
                    milliseconds(row.processor_median())
                ),
                None => print!(" – |"),
            }
        }
        match last.1.iter().find(|row| row.name == *name) {
            Some(row) => println!(
                " {:.1}× ({:.1}×) |",
                milliseconds(row.median()) / milliseconds(measure.median()),
                milliseconds(row.processor_median()) / milliseconds(measure.processor_median())
            ),
            None => println!(" – |"),
        }
    }
}

fn milliseconds(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1_000.0
}

/// Whole days from `start_ms` to now, plus one, within what `report --since` takes.
fn days_back_to(start_ms: u64) -> u64 {
    let days = now_ms().saturating_sub(start_ms).div_ceil(86_400_000) + 1;
    days.clamp(1, 3_650)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64)
}

/// Bytes of every file under `folder`.
fn folder_bytes(folder: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => folder_bytes(&entry.path()),
            Ok(_) => entry.metadata().map_or(0, |metadata| metadata.len()),
            Err(_) => 0,
        })
        .sum()
}
