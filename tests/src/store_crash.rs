//! What the crash test's writer (`src/bin/store_crash_child.rs`) writes and how it says so, shared
//! with the test (`tests/store_crash.rs`) that checks it: the file records, dismissals and
//! calibration changes made from a write number `n`, the `ack` lines, and a small seeded random
//! number generator, so that both sides derive the same values from the same numbers.

use std::fmt;

use whetstone::core::chunk::ExplanationScore;
use whetstone::core::engine::{Dismissal, FileSnapshot};
use whetstone::core::text::LineKey;
use whetstone::core::{Chunk, ChunkId, Class, Explanation, LineMap, LineState, Origin};
use whetstone::store::{FileKey, FileRecord};

use crate::records;

/// The moment write number 0 stands for; write `n` happens at `BASE_MS + n` (late 2023, so that
/// every stamp is a plausible one).
pub const BASE_MS: u64 = 1_700_000_000_000;

/// The writer rotates over this many files, so that records are both new and replaced.
pub const FILE_COUNT: usize = 36;

/// The workspace every file of the writer is in.
pub const WORKSPACE: &str = "/home/user/project";

/// The chunk of each file whose class and `classified_ms` say which write saved it last.
pub fn acknowledged_chunk_id(file_index: usize) -> ChunkId {
    ChunkId(1_000 + 16 * file_index as u64)
}

/// The class that write `n` gives a chunk.
pub fn class_of_write(n: u64) -> Class {
    Class::ALL[(n % 3) as usize]
}

/// When write `n` classified its chunk.
pub fn classified_ms_of_write(n: u64) -> u64 {
    BASE_MS + n
}

/// The write number a stored `classified_ms` stands for, if it is one of the writer's.
pub fn write_of_classified_ms(classified_ms: u64) -> Option<u64> {
    classified_ms.checked_sub(BASE_MS)
}

pub fn file_key(file_index: usize) -> FileKey {
    FileKey {
        workspace: WORKSPACE.to_string(),
        path: format!("src/module_{file_index:02}.rs"),
    }
}

fn file_uri(file_index: usize) -> String {
    format!("file://{WORKSPACE}/src/module_{file_index:02}.rs")
}

/// How many lines file `file_index` has: most a few dozen to a few hundred, every sixth a few
/// thousand (a long generated module), so that records range from a few hundred bytes to tens
/// of kilobytes.
pub fn file_lines(file_index: usize) -> usize {
    if file_index % 6 == 5 {
        2_000 + (file_index * 397) % 2_500
    } else {
        30 + (file_index * 137) % 400
    }
}

/// The record of file `file_index` as write `n` saves it: typed lines around a few chunks (pasted,
/// generated, external), the first of which carries the write's class and moment. The rest of
/// the record depends on `n` a little too, as a real file's map changes between saves.
pub fn file_record(file_index: usize, n: u64) -> FileRecord {
    let lines = file_lines(file_index);
    let text: Vec<String> = (0..lines)
        .map(|line| {
            if line % 9 == 8 {
                String::new()
            } else {
                format!(
                    "    let value_{line} = compute_{file_index}(input, {line}) + {};",
                    (n + line as u64) % 7
                )
            }
        })
        .collect();
    let line_keys: Vec<LineKey> = text.iter().map(|line| LineKey::of(line)).collect();

    // Up to four chunks, each a block of lines at its own place in the file.
    let origins = [
        Origin::Pasted,
        Origin::Generated,
        Origin::External,
        Origin::Pasted,
    ];
    let chunk_count = (1 + (file_index + n as usize) % origins.len()).min(lines / 8);
    let block = (lines / (2 * chunk_count.max(1))).max(1);
    let mut chunks = Vec::new();
    let mut states = vec![LineState::TYPED; lines];
    for (index, origin) in origins.iter().copied().enumerate().take(chunk_count) {
        let id = ChunkId(acknowledged_chunk_id(file_index).0 + index as u64);
        let start = index * 2 * block + block / 2;
        let end = (start + block).min(lines);
        for state in &mut states[start..end] {
            *state = LineState::new(origin, Some(id));
        }
        let acknowledged = index == 0;
        chunks.push(Chunk {
            inserted_lines: end - start,
            class: acknowledged.then(|| class_of_write(n)),
            classified_ms: acknowledged.then(|| classified_ms_of_write(n)),
            explanation: (acknowledged && n.is_multiple_of(2)).then(|| Explanation {
                text: format!(
                    "compute_{file_index} folds the input line by line because the parser needs \
                     the running total before it can look at the next header"
                ),
                recorded_ms: classified_ms_of_write(n),
                score: ExplanationScore {
                    words: 22,
                    identifiers_named: 1,
                    identifiers_total: 3,
                    says_why: true,
                    score: 64,
                    shallow: false,
                },
            }),
            items: vec![
                format!("fn compute_{file_index}"),
                "impl Parser".to_string(),
            ],
            identifiers: vec![
                format!("compute_{file_index}"),
                "input".to_string(),
                "value".to_string(),
            ],
            reworked_chars: (n % 50) as usize,
            ..records::chunk(id.0, "", origin, BASE_MS - 86_400_000 + id.0)
        });
    }
    FileRecord {
        snapshot: FileSnapshot {
            line_keys,
            map: LineMap::from_states(states),
        },
        chunks,
    }
}

/// The dismissal write `n` records, in file `n % FILE_COUNT`.
pub fn dismissal(n: u64) -> (FileKey, Dismissal) {
    let file_index = (n % FILE_COUNT as u64) as usize;
    (
        file_key(file_index),
        Dismissal {
            uri: file_uri(file_index),
            origin: Origin::Pasted,
            lines: 5 + (n % 40) as usize,
            created_ms: BASE_MS + n.saturating_sub(1_000),
            dismissed_ms: BASE_MS + n,
            rule: None,
        },
    )
}

/// One write that the writer saw made durable, as it prints it: `ack <n> <what>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ack {
    /// File `file_index` was saved by write `n` (see [`file_record`]).
    File { n: u64, file_index: usize },
    /// The dismissal of write `n` was recorded (see [`dismissal`]).
    Dismissal { n: u64 },
    /// A calibration session was started at `started_ms`.
    CalibrationStarted { n: u64, started_ms: u64 },
    /// The session started at `started_ms` was stopped at `ended_ms`.
    CalibrationStopped {
        n: u64,
        started_ms: u64,
        ended_ms: u64,
    },
}

impl Ack {
    /// The ack of one line the writer printed, None for any other line.
    pub fn parse(line: &str) -> Option<Ack> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let number = |index: usize| words.get(index)?.parse::<u64>().ok();
        if words.first() != Some(&"ack") {
            return None;
        }
        let n = number(1)?;
        match (words.get(2).copied(), words.len()) {
            (Some("file"), 4) => Some(Ack::File {
                n,
                file_index: usize::try_from(number(3)?).ok()?,
            }),
            (Some("dismissal"), 3) => Some(Ack::Dismissal { n }),
            (Some("calibration-started"), 4) => Some(Ack::CalibrationStarted {
                n,
                started_ms: number(3)?,
            }),
            (Some("calibration-stopped"), 5) => Some(Ack::CalibrationStopped {
                n,
                started_ms: number(3)?,
                ended_ms: number(4)?,
            }),
            _ => None,
        }
    }
}

impl fmt::Display for Ack {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ack::File { n, file_index } => write!(formatter, "ack {n} file {file_index}"),
            Ack::Dismissal { n } => write!(formatter, "ack {n} dismissal"),
            Ack::CalibrationStarted { n, started_ms } => {
                write!(formatter, "ack {n} calibration-started {started_ms}")
            }
            Ack::CalibrationStopped {
                n,
                started_ms,
                ended_ms,
            } => write!(
                formatter,
                "ack {n} calibration-stopped {started_ms} {ended_ms}"
            ),
        }
    }
}

/// A small seeded random number generator (SplitMix64): the same seed gives the same numbers on
/// every machine, which is what makes a failing seed worth printing.
#[derive(Debug, Clone)]
pub struct SeededRandom {
    state: u64,
}

impl SeededRandom {
    pub fn new(seed: u64) -> SeededRandom {
        SeededRandom { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut mixed = self.state;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        mixed ^ (mixed >> 31)
    }

    /// A number from 0 to `bound - 1` (0 when `bound` is 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            return 0;
        }
        self.next_u64() % bound
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}
