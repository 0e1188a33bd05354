//! The user's own typing pace, learned so that the burst rate sits safely above the fastest pace
//! this user has actually sustained (a fast typist is never taken for a stream), never below the
//! default. Measured over windows of [`WINDOW_MS`] of typing; a window in which a stream was found
//! is not counted, nor one faster than anyone types.

/// The store's setting that keeps what was learned, shared by every window and the command line.
pub const SETTING: &str = "typing_pace";

/// Typing is measured in windows this long: a pace sustained, not a spurt.
pub const WINDOW_MS: u64 = 5_000;
/// The burst rate adapts only once this many typed characters were measured (a few hours).
pub const MIN_MEASURED_CHARS: u64 = 20_000;
/// The burst rate sits this far above the fastest sustained pace...
pub const HEADROOM: f64 = 1.5;
/// ...and at most this many times the configured rate.
pub const MAX_RAISE: f64 = 2.0;

/// What was learned of the user's typing: kept in the store, shared by every window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TypingPace {
    /// The fastest window of typing, in non-whitespace characters per second.
    pub fastest_cps: f64,
    /// Typed non-whitespace characters measured.
    pub measured_chars: u64,
}

impl TypingPace {
    /// Both learnings together: the fastest pace either saw, the larger measure.
    pub fn merge(self, other: TypingPace) -> TypingPace {
        TypingPace {
            fastest_cps: self.fastest_cps.max(other.fastest_cps),
            measured_chars: self.measured_chars.max(other.measured_chars),
        }
    }

    /// The burst rate to use with `configured` as the default.
    pub fn burst_rate(&self, configured: f64) -> f64 {
        if self.measured_chars < MIN_MEASURED_CHARS {
            return configured;
        }
        (self.fastest_cps * HEADROOM).clamp(configured, configured * MAX_RAISE)
    }

    /// `fastest_cps,measured_chars`, as the store keeps it.
    pub fn to_setting(self) -> String {
        format!("{:.3},{}", self.fastest_cps, self.measured_chars)
    }

    pub fn from_setting(text: &str) -> Option<TypingPace> {
        let (fastest, measured) = text.split_once(',')?;
        let fastest_cps: f64 = fastest.trim().parse().ok()?;
        let measured_chars: u64 = measured.trim().parse().ok()?;
        (fastest_cps.is_finite() && fastest_cps >= 0.0).then_some(TypingPace {
            fastest_cps,
            measured_chars,
        })
    }
}

/// Measures typing window by window.
#[derive(Debug, Clone, Default)]
pub struct PaceMeter {
    window_start_ms: u64,
    chars: u64,
    /// A stream was found in this window: it was not the user typing.
    spoiled: bool,
    pace: TypingPace,
}

impl PaceMeter {
    /// Typed characters at `at_ms`. Returns whether the fastest pace rose. `ceiling` is a rate no
    /// person reaches: a window above it is not counted.
    pub fn typed(&mut self, at_ms: u64, chars: usize, ceiling: f64) -> bool {
        let mut rose = false;
        if at_ms >= self.window_start_ms + WINDOW_MS {
            // Only a window typed through to its end measures a sustained pace.
            let closed_in_time = at_ms < self.window_start_ms + 2 * WINDOW_MS;
            if !self.spoiled && closed_in_time && self.chars > 0 {
                let rate = self.chars as f64 * 1000.0 / WINDOW_MS as f64;
                if rate <= ceiling {
                    self.pace.measured_chars += self.chars;
                    if rate > self.pace.fastest_cps {
                        self.pace.fastest_cps = rate;
                        rose = true;
                    }
                }
            }
            self.window_start_ms = at_ms;
            self.chars = 0;
            self.spoiled = false;
        }
        self.chars += chars as u64;
        rose
    }

    /// The current window held a stream: it does not count.
    pub fn spoil(&mut self) {
        self.spoiled = true;
    }

    pub fn pace(&self) -> TypingPace {
        self.pace
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_adapts_above_the_fastest_sustained_pace_within_bounds() {
        let mut meter = PaceMeter::default();
        // Ten characters a second for an hour.
        for second in 0..3_600u64 {
            meter.typed(second * 1_000, 10, 120.0);
        }
        let pace = meter.pace();
        assert!((pace.fastest_cps - 10.0).abs() < 0.01, "{pace:?}");
        assert!(pace.measured_chars >= MIN_MEASURED_CHARS);
        // A usual typist: the default stays.
        assert_eq!(pace.burst_rate(30.0), 30.0);
        // A very fast one: 1.5 times their pace, at most twice the default.
        let fast = TypingPace {
            fastest_cps: 28.0,
            measured_chars: MIN_MEASURED_CHARS,
        };
        assert_eq!(fast.burst_rate(30.0), 42.0);
        let impossible = TypingPace {
            fastest_cps: 100.0,
            measured_chars: MIN_MEASURED_CHARS,
        };
        assert_eq!(impossible.burst_rate(30.0), 60.0);
        // Too little measured: the default.
        let early = TypingPace {
            fastest_cps: 28.0,
            measured_chars: 100,
        };
        assert_eq!(early.burst_rate(30.0), 30.0);
    }

    #[test]
    fn streams_and_machine_speeds_are_not_learned() {
        let mut meter = PaceMeter::default();
        for step in 0..100u64 {
            meter.typed(step * 50, 20, 120.0);
        }
        assert_eq!(meter.pace().fastest_cps, 0.0);
        let mut meter = PaceMeter::default();
        for step in 0..20u64 {
            meter.typed(step * 1_000, 40, 120.0);
            meter.spoil();
        }
        assert_eq!(meter.pace().fastest_cps, 0.0);
    }

    #[test]
    fn the_setting_reads_back_and_rejects_nonsense() {
        let pace = TypingPace {
            fastest_cps: 12.5,
            measured_chars: 40_000,
        };
        assert_eq!(TypingPace::from_setting(&pace.to_setting()), Some(pace));
        assert_eq!(TypingPace::from_setting("fast"), None);
        assert_eq!(TypingPace::from_setting("-1,3"), None);
        assert_eq!(TypingPace::from_setting("NaN,3"), None);
    }
}
