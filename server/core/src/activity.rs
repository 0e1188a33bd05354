//! The activity ledger: per day, the lines inserted by origin and the active editing time, inside
//! and outside calibration sessions. It is what the report's output chart and the assisted pace
//! are computed from. Days are UTC days since the Unix epoch; a stretch of work across midnight is
//! split between the two days.

use std::collections::{BTreeMap, BTreeSet};

use crate::by_origin::ByOrigin;
use crate::calibration::IDLE_GAP_MS;
use crate::date::{DAY_MS, day_of};
use crate::line_map::Origin;

/// One day of editing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayActivity {
    /// Days since 1970-01-01 (UTC).
    pub day: u32,
    /// Lines inserted, by origin.
    pub lines: ByOrigin<u64>,
    pub typed_chars: u64,
    pub active_ms: u64,
    /// The part of the above that happened during calibration sessions.
    pub calibration_lines: ByOrigin<u64>,
    pub calibration_active_ms: u64,
}

impl DayActivity {
    fn new(day: u32) -> DayActivity {
        DayActivity {
            day,
            ..DayActivity::default()
        }
    }

    /// Merges another record of the same day (two servers, or memory and the store).
    pub fn add(&mut self, other: &DayActivity) {
        self.lines += other.lines;
        self.calibration_lines += other.calibration_lines;
        self.typed_chars += other.typed_chars;
        self.active_ms += other.active_ms;
        self.calibration_active_ms += other.calibration_active_ms;
    }
}

/// What this process recorded since it started (or since its last hand-over to the store).
#[derive(Debug, Default)]
pub struct Activity {
    days: BTreeMap<u32, DayActivity>,
    changed: BTreeSet<u32>,
    last_edit_ms: Option<u64>,
}

impl Activity {
    /// Records an edit: `lines` of `origin` inserted (0 for a deletion), at `at_ms`.
    pub fn record(
        &mut self,
        at_ms: u64,
        origin: Origin,
        lines: u64,
        typed_chars: u64,
        in_calibration: bool,
    ) {
        if let Some(last) = self.last_edit_ms
            && at_ms > last
            && at_ms - last <= IDLE_GAP_MS
        {
            self.add_active(last, at_ms, in_calibration);
        }
        self.last_edit_ms = Some(self.last_edit_ms.map_or(at_ms, |last| last.max(at_ms)));
        let day = self.day_mut(day_of(at_ms));
        day.lines[origin] += lines;
        if origin == Origin::Typed {
            day.typed_chars += typed_chars;
        }
        if in_calibration {
            day.calibration_lines[origin] += lines;
        }
    }

    /// Moves lines counted as typed to another origin (a fast run turned out to be a stream).
    pub fn reattribute(&mut self, at_ms: u64, to: Origin, lines: u64, in_calibration: bool) {
        let day = self.day_mut(day_of(at_ms));
        let moved = lines.min(day.lines[Origin::Typed]);
        day.lines[Origin::Typed] -= moved;
        day.lines[to] += moved;
        if in_calibration {
            let moved = moved.min(day.calibration_lines[Origin::Typed]);
            day.calibration_lines[Origin::Typed] -= moved;
            day.calibration_lines[to] += moved;
        }
    }

    /// The days changed since the last call, to be added to what the store holds; this ledger
    /// forgets them, so that each edit is stored exactly once.
    pub fn take_changed(&mut self) -> Vec<DayActivity> {
        let changed = std::mem::take(&mut self.changed);
        changed
            .into_iter()
            .filter_map(|day| self.days.remove(&day))
            .collect()
    }

    pub fn days(&self) -> impl Iterator<Item = &DayActivity> {
        self.days.values()
    }

    fn add_active(&mut self, from_ms: u64, to_ms: u64, in_calibration: bool) {
        let mut start = from_ms;
        while start < to_ms {
            let day = day_of(start);
            let day_end = (u64::from(day) + 1) * DAY_MS;
            let end = to_ms.min(day_end);
            let record = self.day_mut(day);
            record.active_ms += end - start;
            if in_calibration {
                record.calibration_active_ms += end - start;
            }
            start = end;
        }
    }

    fn day_mut(&mut self, day: u32) -> &mut DayActivity {
        self.changed.insert(day);
        self.days
            .entry(day)
            .or_insert_with(|| DayActivity::new(day))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: u64 = 60_000;

    #[test]
    fn active_time_splits_at_midnight_and_skips_breaks() {
        let mut activity = Activity::default();
        let midnight = 20_000 * DAY_MS;
        activity.record(midnight - 2 * MINUTE, Origin::Typed, 1, 10, false);
        activity.record(midnight + 3 * MINUTE, Origin::Typed, 1, 10, false);
        // A 30-minute break, then a paste.
        activity.record(midnight + 33 * MINUTE, Origin::Pasted, 40, 0, false);
        let days: Vec<DayActivity> = activity.take_changed();
        assert_eq!(days.len(), 2);
        assert_eq!(days[0].active_ms, 2 * MINUTE);
        assert_eq!(days[1].active_ms, 3 * MINUTE);
        assert_eq!(days[1].lines[Origin::Pasted], 40);
        assert!(
            activity.take_changed().is_empty(),
            "each edit is handed over once"
        );
    }

    #[test]
    fn calibration_time_and_lines_are_counted_apart_too() {
        let mut activity = Activity::default();
        activity.record(0, Origin::Typed, 2, 20, true);
        activity.record(MINUTE, Origin::Typed, 3, 30, true);
        activity.reattribute(MINUTE, Origin::Generated, 2, true);
        let day = &activity.take_changed()[0];
        assert_eq!(day.calibration_active_ms, MINUTE);
        assert_eq!(day.lines[Origin::Typed], 3);
        assert_eq!(day.calibration_lines[Origin::Generated], 2);
    }
}
