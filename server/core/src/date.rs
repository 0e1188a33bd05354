//! Calendar dates: UTC day numbers (days since 1970-01-01) and millisecond times turned into
//! years, months and days. Every layer that names a date (the report, `whetstone status`, the
//! store's record names) goes through here, so they all agree on the calendar.

/// Milliseconds in a UTC day.
pub const DAY_MS: u64 = 86_400_000;

/// Days in 400 Gregorian years: the calendar repeats after that.
const DAYS_PER_400_YEARS: i64 = 146_097;

/// Days from 0000-03-01 to 1970-01-01 in the proleptic Gregorian calendar.
const DAYS_FROM_MARCH_YEAR_0: i64 = 719_468;

/// The UTC day of a time in milliseconds since the epoch; times past `u32::MAX` days (some eleven
/// million years) saturate to that day.
pub fn day_of(at_ms: u64) -> u32 {
    u32::try_from(at_ms / DAY_MS).unwrap_or(u32::MAX)
}

/// The Monday that starts the week of `day`. 1970-01-01 was a Thursday; the first days of 1970
/// saturate to day 0.
pub fn week_start(day: u32) -> u32 {
    day.saturating_sub((day + 3) % 7)
}

/// Year, month (1–12) and day of the month (1–31) of a day number, in the proleptic Gregorian
/// calendar. Every `u32` day has one, in constant time.
pub fn civil_date(day: u32) -> (u32, u32, u32) {
    // Count from 0000-03-01, so that the leap day is the last day of each counted year, in
    // 400-year eras.
    let since_march = i64::from(day) + DAYS_FROM_MARCH_YEAR_0;
    let era = since_march / DAYS_PER_400_YEARS;
    let day_of_era = since_march % DAYS_PER_400_YEARS;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // Months from March, in a 153-day five-month rhythm (31 30 31 30 31).
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day_of_month = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = era * 400 + year_of_era + i64::from(month <= 2);
    // A u32 day is at most some 11.8 million years after 1970: the year fits in a u32.
    let year = u32::try_from(year).unwrap_or(u32::MAX);
    (year, month as u32, day_of_month as u32)
}

/// `YYYY-MM-DD` of a day number.
pub fn date(day: u32) -> String {
    let (year, month, day_of_month) = civil_date(day);
    format!("{year:04}-{month:02}-{day_of_month:02}")
}

/// `YYYY-MM-DD`, the UTC day of a time in milliseconds since the epoch.
pub fn date_of_ms(at_ms: u64) -> String {
    date(day_of(at_ms))
}

/// `YYYY-MM-DD HH:MM UTC` of a time in milliseconds since the epoch.
pub fn date_time_of_ms(at_ms: u64) -> String {
    let minutes_of_day = at_ms % DAY_MS / 60_000;
    format!(
        "{} {:02}:{:02} UTC",
        date_of_ms(at_ms),
        minutes_of_day / 60,
        minutes_of_day % 60
    )
}

/// `HH:MM UTC` when `at_ms` is on the same UTC day as `now_ms`, else the full [`date_time_of_ms`].
pub fn date_time_since(at_ms: u64, now_ms: u64) -> String {
    let full = date_time_of_ms(at_ms);
    if at_ms / DAY_MS == now_ms / DAY_MS {
        full.split_once(' ')
            .map(|(_, time)| time.to_string())
            .unwrap_or(full)
    } else {
        full
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-10-07 00:00 UTC, a Monday.
    const MONDAY: u64 = 20_003 * DAY_MS;
    const MINUTE: u64 = 60_000;

    #[test]
    fn dates_from_day_numbers() {
        let cases = [
            (0, "1970-01-01"),
            (58, "1970-02-28"),
            (59, "1970-03-01"),
            (10_957, "2000-01-01"),
            (11_016, "2000-02-29"),
            (11_017, "2000-03-01"),
            (19_782, "2024-02-29"),
            (20_003, "2024-10-07"),
            (20_453, "2025-12-31"),
            (47_541, "2100-03-01"),
            (2_932_896, "9999-12-31"),
        ];
        for (day, expected) in cases {
            assert_eq!(date(day), expected, "day {day}");
        }
        // Every day follows the one before it: the next day of the month, or the 1st of the next
        // month, or New Year's Day.
        let mut previous = civil_date(0);
        for day in 1..200_000 {
            let current = civil_date(day);
            let (year, month, day_of_month) = previous;
            let next_day = (year, month, day_of_month + 1);
            let next_month = (year, month + 1, 1);
            let next_year = (year + 1, 1, 1);
            assert!(
                current == next_day || current == next_month || current == next_year,
                "day {day}: {previous:?} then {current:?}"
            );
            previous = current;
        }
        // The saturated day of a far-future time still gives a date.
        assert_eq!(date(u32::MAX), "11761191-01-20");
        assert_eq!(date_of_ms(u64::MAX), "11761191-01-20");
    }

    #[test]
    fn utc_times() {
        let cases = [
            (0, "1970-01-01 00:00 UTC"),
            // 2000-02-29 23:59:59.999: a leap day of a year divisible by 400.
            (951_868_799_999, "2000-02-29 23:59 UTC"),
            (951_868_800_000, "2000-03-01 00:00 UTC"),
            // 2024-02-29 12:34.
            (1_709_210_040_000, "2024-02-29 12:34 UTC"),
            (1_735_689_599_000, "2024-12-31 23:59 UTC"),
            // 2100 is not a leap year.
            (4_107_542_400_000, "2100-03-01 00:00 UTC"),
            (MONDAY + 13 * 3_600_000 + 5 * MINUTE, "2024-10-07 13:05 UTC"),
        ];
        for (at_ms, expected) in cases {
            assert_eq!(date_time_of_ms(at_ms), expected, "{at_ms}");
        }
        assert_eq!(
            date_time_since(MONDAY + 61 * MINUTE, MONDAY + DAY_MS - 1),
            "01:01 UTC"
        );
        assert_eq!(
            date_time_since(MONDAY + 61 * MINUTE, MONDAY + DAY_MS),
            "2024-10-07 01:01 UTC"
        );
    }

    #[test]
    fn weeks_start_on_monday() {
        assert_eq!(week_start(20_003), 20_003);
        assert_eq!(week_start(20_009), 20_003);
        assert_eq!(week_start(20_010), 20_010);
        assert_eq!(week_start(3), 0);
    }

    #[test]
    fn days_of_times() {
        assert_eq!(day_of(0), 0);
        assert_eq!(day_of(DAY_MS - 1), 0);
        assert_eq!(day_of(MONDAY), 20_003);
        assert_eq!(day_of(u64::MAX), u32::MAX);
    }
}
