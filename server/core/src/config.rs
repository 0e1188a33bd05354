//! Detection thresholds. Every number the engine decides with lives here, with its default.

/// What makes an insertion worth flagging, and what counts as human.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectionConfig {
    /// An insertion with at least this many non-blank lines is flagged.
    pub min_lines: usize,
    /// An insertion with at least this many non-whitespace characters is flagged.
    pub min_chars: usize,
    /// Typing faster than this (non-whitespace characters per second) is not human...
    pub burst_chars_per_second: f64,
    /// ...when it is sustained for longer than this.
    pub burst_min_duration_ms: u64,
    /// The window the typing rate is measured over.
    pub burst_window_ms: u64,
    /// A flagged insertion that touches an unclassified chunk of the same origin made less than
    /// this long ago extends it instead of making a new chunk (a stream that paused, two pastes).
    pub merge_window_ms: u64,
    /// Chunk runs separated by at most this many lines are one chunk.
    pub bridge_lines: usize,
    /// An insertion counts as restored or moved when at least this share of its non-whitespace
    /// characters sits on lines that were deleted earlier.
    pub restore_coverage: f64,
    /// ...or as a checkout when at least this share sits on lines of the committed version.
    pub committed_coverage: f64,
    /// A hint from an editor plugin applies to a change that arrives within this long.
    pub hint_lifetime_ms: u64,
    /// Raise the burst rate above the user's own fastest sustained typing once it is measured
    /// (core/pace.rs); off when the user set the rate themselves.
    pub adapt_burst_rate: bool,
}

impl Default for DetectionConfig {
    fn default() -> DetectionConfig {
        DetectionConfig {
            min_lines: 5,
            min_chars: 200,
            burst_chars_per_second: 30.0,
            burst_min_duration_ms: 2_000,
            burst_window_ms: 1_000,
            merge_window_ms: 30_000,
            bridge_lines: 3,
            restore_coverage: 0.8,
            committed_coverage: 0.8,
            hint_lifetime_ms: 2_000,
            adapt_burst_rate: true,
        }
    }
}

impl DetectionConfig {
    /// A rate this much above [`burst_chars_per_second`](Self::burst_chars_per_second) is far
    /// faster than anyone types: such a run is a stream however briefly it lasts.
    pub const FAR_FACTOR: f64 = 4.0;

    pub fn far_chars_per_second(&self) -> f64 {
        self.burst_chars_per_second * Self::FAR_FACTOR
    }

    /// Whether an insertion of this size passes the bar.
    pub fn passes_bar(&self, non_blank_lines: usize, non_whitespace_chars: usize) -> bool {
        non_blank_lines >= self.min_lines || non_whitespace_chars >= self.min_chars
    }
}
