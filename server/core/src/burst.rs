//! Bursts: edits that each look like typing but together arrive faster than a person types (an AI
//! stream inserting a token at a time). Measured per document as non-whitespace characters over a
//! sliding window. A run of fast windows that passes the size bar is a burst when it is far faster
//! than anyone types ([`DetectionConfig::far_chars_per_second`]), however briefly, or when it is
//! sustained for longer than the configured duration. A stream that pauses (a model thinking) and
//! resumes next to where it stopped is the same run.

use std::collections::VecDeque;
use std::ops::Range;

use crate::apply::LineShift;
use crate::chunk::ChunkId;
use crate::config::DetectionConfig;
use crate::text::non_whitespace_chars;

/// Fewer distinct characters than this in a fast run is a held key (`----------`), not a stream.
const MIN_DISTINCT_CHARACTERS: usize = 4;

/// The shortest time a run's rate is measured over.
const MIN_MEASURED_MS: u64 = 500;

/// Events closer than this share one entry of the window, so the window holds a bounded number of
/// entries however fast edits arrive (a stream at pipe speed sends thousands a second).
const BUCKET_MS: u64 = 50;

/// The edits of one bucket of time.
#[derive(Debug, Clone)]
struct TypedEvent {
    at_ms: u64,
    chars: usize,
    newlines: usize,
    region: Range<usize>,
    distinct: Vec<char>,
}

impl TypedEvent {
    fn merge(&mut self, other: &TypedEvent) {
        self.chars += other.chars;
        self.newlines += other.newlines;
        self.region = union(&self.region, &other.region);
        add_distinct(&mut self.distinct, other.distinct.iter().copied());
    }
}

fn add_distinct(distinct: &mut Vec<char>, characters: impl Iterator<Item = char>) {
    for character in characters.filter(|c| !c.is_whitespace()) {
        if distinct.len() >= MIN_DISTINCT_CHARACTERS {
            break;
        }
        if !distinct.contains(&character) {
            distinct.push(character);
        }
    }
}

/// A stretch of typing faster than the configured rate.
#[derive(Debug, Clone)]
pub struct FastRun {
    pub start_ms: u64,
    pub last_ms: u64,
    pub chars: usize,
    pub newlines: usize,
    distinct: Vec<char>,
    /// The lines the run's edits touched, in the current document.
    pub region: Range<usize>,
    /// The chunk the run became, once it qualified.
    pub chunk: Option<ChunkId>,
    /// Time spent streaming in the earlier parts of a paused stream (pauses left out).
    earlier_ms: u64,
    /// Set when the run has just taken in the earlier part of a paused stream: the caller joins
    /// the whole region to the stream's chunk once, then clears it.
    pub resumed: bool,
    /// The most non-whitespace characters one edit (one bucket) brought.
    largest: usize,
}

impl FastRun {
    /// Time spent streaming, pauses left out.
    fn active_ms(&self) -> u64 {
        self.earlier_ms + self.last_ms.saturating_sub(self.start_ms)
    }

    /// Non-whitespace characters per second while it streamed. A run shorter than
    /// [`MIN_MEASURED_MS`] is measured over that long: a completion and the next key are a
    /// few milliseconds apart, and no rate over so short a time says anything.
    fn rate(&self) -> f64 {
        self.chars as f64 * 1000.0 / self.active_ms().max(MIN_MEASURED_MS) as f64
    }

    /// Faster than anyone types: no person keeps this up even briefly.
    fn is_machine_fast(&self, config: &DetectionConfig) -> bool {
        self.rate() >= config.far_chars_per_second()
    }

    /// Whether the run may be one part of a stream that pauses (a model thinking) and resumes:
    /// far faster than typing, or faster than typing for longer than a moment, or, leaving out
    /// its largest edit (a completion, an import: one spike), still twice as fast as the burst
    /// rate, which is text arriving evenly at a pace no typist keeps.
    fn may_resume(&self, config: &DetectionConfig) -> bool {
        let spread = self.chars.saturating_sub(self.largest) as f64 * 1000.0
            / self.active_ms().max(MIN_MEASURED_MS) as f64;
        self.is_machine_fast(config)
            || self.active_ms() > config.burst_min_duration_ms
            || spread >= 2.0 * config.burst_chars_per_second
    }

    fn qualifies(&self, config: &DetectionConfig) -> bool {
        (self.is_machine_fast(config) || self.active_ms() > config.burst_min_duration_ms)
            && config.passes_bar(self.newlines, self.chars)
            && self.distinct.len() >= MIN_DISTINCT_CHARACTERS
    }

    /// Takes in the earlier part of a stream that paused: its size, lines, time and chunk.
    fn continue_from(&mut self, earlier: FastRun) {
        self.earlier_ms = earlier.active_ms();
        self.chars += earlier.chars;
        self.newlines += earlier.newlines;
        self.region = union(&self.region, &earlier.region);
        add_distinct(&mut self.distinct, earlier.distinct.iter().copied());
        self.chunk = earlier.chunk;
        self.largest = self.largest.max(earlier.largest);
        self.resumed = true;
    }

    fn is_near(&self, region: &Range<usize>, lines: usize) -> bool {
        region.start <= self.region.end + lines && self.region.start <= region.end + lines
    }

    fn absorb(&mut self, event: &TypedEvent) {
        self.last_ms = self.last_ms.max(event.at_ms);
        self.largest = self.largest.max(event.chars);
        self.chars += event.chars;
        self.newlines += event.newlines;
        self.region = union(&self.region, &event.region);
        add_distinct(&mut self.distinct, event.distinct.iter().copied());
    }
}

#[derive(Debug, Clone, Default)]
pub struct BurstTracker {
    window: VecDeque<TypedEvent>,
    run: Option<FastRun>,
    /// The last run that ended while it looked like a machine (it qualified, or
    /// [`FastRun::may_resume`]): a run starting next to it soon after continues it.
    paused: Option<FastRun>,
}

impl BurstTracker {
    /// Records a notification classified as typing. Returns the current run when it qualifies as a
    /// burst (it stays qualified while it lasts; the caller makes or extends its chunk).
    pub fn record(
        &mut self,
        config: &DetectionConfig,
        at_ms: u64,
        text: &str,
        region: Range<usize>,
    ) -> Option<&mut FastRun> {
        let mut distinct = Vec::new();
        add_distinct(&mut distinct, text.chars());
        let event = TypedEvent {
            at_ms,
            chars: non_whitespace_chars(text),
            newlines: text.matches('\n').count(),
            region,
            distinct,
        };
        if event.chars == 0 && event.newlines == 0 {
            return None;
        }
        // Nothing for a whole window: the rate fell to nothing in between, so the run ended there,
        // even when this edit alone is over the rate (a completion with its import after a pause).
        if self
            .run
            .as_ref()
            .is_some_and(|run| at_ms.saturating_sub(run.last_ms) >= config.burst_window_ms)
        {
            self.end_run(config);
        }
        match self.window.back_mut() {
            Some(bucket) if at_ms.saturating_sub(bucket.at_ms) < BUCKET_MS => bucket.merge(&event),
            _ => self.window.push_back(event.clone()),
        }
        while let Some(oldest) = self.window.front() {
            if at_ms.saturating_sub(oldest.at_ms) < config.burst_window_ms {
                break;
            }
            self.window.pop_front();
        }
        let window_chars: usize = self.window.iter().map(|event| event.chars).sum();
        let rate = window_chars as f64 * 1000.0 / config.burst_window_ms.max(1) as f64;
        if rate <= config.burst_chars_per_second {
            self.end_run(config);
            return None;
        }
        match &mut self.run {
            Some(run) => run.absorb(&event),
            None => {
                let first = &self.window[0];
                let mut run = FastRun {
                    start_ms: first.at_ms,
                    last_ms: first.at_ms,
                    chars: 0,
                    newlines: 0,
                    distinct: Vec::new(),
                    region: first.region.clone(),
                    chunk: None,
                    earlier_ms: 0,
                    resumed: false,
                    largest: 0,
                };
                for bucket in &self.window {
                    run.absorb(bucket);
                }
                if let Some(paused) = self.paused.take()
                    && at_ms.saturating_sub(paused.last_ms) <= config.merge_window_ms
                    && paused.is_near(&run.region, config.bridge_lines + 1)
                {
                    run.continue_from(paused);
                }
                self.run = Some(run);
            }
        }
        self.run.as_mut().filter(|run| run.qualifies(config))
    }

    /// The current run is over: kept as paused when it may be part of a stream.
    fn end_run(&mut self, config: &DetectionConfig) {
        if let Some(run) = self.run.take()
            && (run.chunk.is_some() || run.may_resume(config))
        {
            self.paused = Some(run);
        }
    }

    /// Forgets the current run and what the window measured: its edits were not new text (undo
    /// or redo held down brings back deleted words as fast as a stream).
    pub fn forget_run(&mut self) {
        self.run = None;
        self.window.clear();
    }

    /// Remembers the chunk the current run became, so that the rest of the run extends it.
    pub fn attach_chunk(&mut self, id: ChunkId) {
        if let Some(run) = &mut self.run {
            run.chunk = Some(id);
        }
    }

    /// Keeps line ranges pointing at the same text after an edit.
    pub fn follow(&mut self, shift: &LineShift) {
        for event in &mut self.window {
            event.region = shift.map_range(event.region.clone());
        }
        for run in self.run.iter_mut().chain(self.paused.iter_mut()) {
            run.region = shift.map_range(run.region.clone());
        }
    }
}

fn union(left: &Range<usize>, right: &Range<usize>) -> Range<usize> {
    left.start.min(right.start)..left.end.max(right.end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(events: &[(u64, &str)]) -> bool {
        let config = DetectionConfig::default();
        let mut tracker = BurstTracker::default();
        let mut qualified = false;
        for (line, &(at_ms, text)) in events.iter().enumerate() {
            qualified |= tracker
                .record(&config, at_ms, text, line..line + 1)
                .is_some();
        }
        qualified
    }

    #[test]
    fn a_fast_typist_is_not_a_burst() {
        // 12 keys a second for a minute, with completions of 20 characters every 3 seconds.
        let mut events = Vec::new();
        for index in 0..720u64 {
            let text = if index % 36 == 0 {
                "completion_of_twenty"
            } else {
                "k"
            };
            events.push((index * 83, text));
        }
        assert!(!feed(&events));
    }

    #[test]
    fn a_token_stream_is_a_burst() {
        let events: Vec<(u64, &str)> = (0..200u64)
            .map(|index| (index * 40, if index % 8 == 7 { "\n" } else { "token_" }))
            .collect();
        assert!(feed(&events));
    }

    /// Regression: at pipe speed the window once held every event of the last second, and each
    /// edit walked them all (the stdio replay ran 7x slower than a bare server).
    #[test]
    fn the_window_stays_small_however_fast_edits_arrive() {
        let config = DetectionConfig::default();
        let mut tracker = BurstTracker::default();
        for index in 0..20_000u64 {
            tracker.record(&config, index / 10, "k", 0..1);
        }
        assert!(tracker.window.len() <= (config.burst_window_ms / BUCKET_MS) as usize + 1);
    }

    #[test]
    fn a_held_key_is_not_a_burst() {
        let events: Vec<(u64, &str)> = (0..400u64).map(|index| (index * 30, "-")).collect();
        assert!(!feed(&events));
    }

    /// Three parts of an answer, each under the bar, at about 100 characters a second (a token
    /// every 30 ms) for about a second each, with 5 s pauses: slower than "far faster", each too
    /// short to be sustained, together one stream.
    #[test]
    fn a_stream_paused_between_short_parts_is_a_burst() {
        let words = ["let", "sum", "=", "a.b", "();"];
        let mut events = Vec::new();
        for part in 0..3u64 {
            let start = part * 6_000;
            for token in 0..33u64 {
                let line = part * 4 + token / 9;
                let text = if token % 9 == 8 {
                    "\n"
                } else {
                    words[token as usize % words.len()]
                };
                events.push((start + token * 30, line, text));
            }
        }
        let config = DetectionConfig::default();
        let mut tracker = BurstTracker::default();
        let mut qualified = false;
        for &(at_ms, line, text) in &events {
            let line = line as usize;
            qualified |= tracker
                .record(&config, at_ms, text, line..line + 1)
                .is_some();
        }
        assert!(qualified);
    }

    /// A typist's spikes (an identifier completion with its `use` line, then keys at 11 a second)
    /// every few seconds next to each other: each run is one spike, never the part of a stream.
    #[test]
    fn completion_spikes_with_typing_between_do_not_add_up() {
        let mut events = Vec::new();
        let mut at_ms = 0;
        for _ in 0..30 {
            events.push((at_ms, "HashMapusestd::collections::HashMap;"));
            for _ in 0..30 {
                at_ms += 90;
                events.push((at_ms, "k"));
            }
            at_ms += 2_000;
        }
        assert!(!feed(&events));
    }

    /// Regression: a run was only ended by an edit arriving at a low rate, so completions with
    /// their imports seconds apart (each edit alone over the rate) made one run whose time counted
    /// the gaps: "sustained" for seconds, and flagged once its line breaks passed the bar.
    #[test]
    fn spikes_seconds_apart_are_not_one_sustained_run() {
        let events: Vec<(u64, &str)> = (0..8u64)
            .map(|index| (index * 1_300, "Configusecrate::config::Config;\n"))
            .collect();
        assert!(!feed(&events));
    }

    #[test]
    fn a_short_fast_spurt_is_not_a_burst() {
        let events: Vec<(u64, &str)> = (0..20u64).map(|index| (index * 50, "abcdef")).collect();
        assert!(!feed(&events));
    }
}
