//! UTC day boundaries (DESIGN.md §2).
//!
//! "Today" is the half-open range `[00:00, next 00:00)` of a UTC date, compared on indexed
//! timestamp columns, never `date(column) = ?` (ORIGINAL.md §4: non-sargable and slow). How far a
//! bound may reach the database, and the defaults of an open range, are the database's business
//! (`db::time`).

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

/// `[start, end)` of the UTC day `date`.
pub fn day_bounds(date: NaiveDate) -> (NaiveDateTime, NaiveDateTime) {
    let start = date.and_time(NaiveTime::MIN);
    let end = date
        .succ_opt()
        .map_or(NaiveDateTime::MAX, |next| next.and_time(NaiveTime::MIN));
    (start, end)
}

/// The first and last (inclusive) UTC dates whose day overlaps `[from, to)`, for tables keyed by
/// date (`daily_stats`); `None` when the range is empty.
pub fn days_overlapping(from: NaiveDateTime, to: NaiveDateTime) -> Option<(NaiveDate, NaiveDate)> {
    if from >= to {
        return None;
    }
    // A day overlaps when it starts before `to`: the day of the last instant before `to`.
    let last = (to - Duration::microseconds(1)).date();
    Some((from.date(), last))
}

/// Drop sub-microsecond digits so a stored timestamp has at most six fractional digits and
/// reads back exactly as written.
pub fn truncate_to_micros(at: NaiveDateTime) -> NaiveDateTime {
    let nanos = at.nanosecond() / 1_000 * 1_000;
    at.with_nanosecond(nanos).unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn day_bounds_are_half_open_midnights() {
        let (start, end) = day_bounds(date(2026, 2, 28));
        assert_eq!(start.to_string(), "2026-02-28 00:00:00");
        assert_eq!(end.to_string(), "2026-03-01 00:00:00");
    }

    #[test]
    fn days_overlapping_a_range_include_the_day_it_ends_in() {
        let day = |d| day_bounds(date(2026, 1, d));
        assert_eq!(
            days_overlapping(day(1).0, day(5).1),
            Some((date(2026, 1, 1), date(2026, 1, 5))),
            "dates 1 to 5 inclusive"
        );
        let noon = date(2026, 1, 5).and_hms_opt(12, 0, 0).unwrap();
        assert_eq!(
            days_overlapping(day(1).0, noon),
            Some((date(2026, 1, 1), date(2026, 1, 5))),
            "a range ending at noon overlaps that day"
        );
        assert_eq!(
            days_overlapping(
                day_bounds(date(1970, 1, 1)).0,
                day_bounds(date(9999, 12, 31)).1
            ),
            Some((date(1970, 1, 1), date(9999, 12, 31))),
            "the whole range"
        );
        assert_eq!(days_overlapping(day(5).0, day(5).0), None, "empty range");
    }

    #[test]
    fn truncation_keeps_microseconds() {
        let at = date(2026, 1, 1)
            .and_hms_nano_opt(1, 2, 3, 123_456_789)
            .unwrap();
        assert_eq!(truncate_to_micros(at).nanosecond(), 123_456_000);
    }
}
