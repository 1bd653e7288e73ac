//! UTC day boundaries and the one stored timestamp format (DESIGN.md §2).
//!
//! "Today" is the half-open range `[00:00, next 00:00)` of a UTC date, compared on indexed
//! timestamp columns, never `date(column) = ?` (ORIGINAL.md §4: non-sargable and slow).
//!
//! Stored times are text, `YYYY-MM-DD HH:MM:SS[.ffffff]`, and SQL compares them as text. That is
//! only the order of time while the year has four digits: chrono writes year 10000 as
//! `+10000-01-01`, which sorts below every stored time (issue 10: `to=9999-12-31` found nothing).
//! So every bound that reaches the database has a four-digit year, at most [`LATEST`]:
//! [`day_bounds`] and [`clamp_bound`] see to it.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

/// The earliest time a range query uses when none is given, and the earliest the API accepts.
pub const EARLIEST: NaiveDateTime = match NaiveDate::from_ymd_opt(1970, 1, 1) {
    Some(d) => d.and_time(NaiveTime::MIN),
    None => NaiveDateTime::MIN,
};

/// The last instant the stored text format can hold: `9999-12-31 23:59:59.999999`. As the
/// exclusive end of a range it stands for "no end": stored times come from the clock, never this.
pub const LATEST: NaiveDateTime = match NaiveDate::from_ymd_opt(9999, 12, 31) {
    Some(d) => match NaiveTime::from_hms_micro_opt(23, 59, 59, 999_999) {
        Some(t) => d.and_time(t),
        None => NaiveDateTime::MAX,
    },
    None => NaiveDateTime::MAX,
};

/// The first instant the stored text format can hold: `0000-01-01 00:00:00`.
const FIRST_STORABLE: NaiveDateTime = match NaiveDate::from_ymd_opt(0, 1, 1) {
    Some(d) => d.and_time(NaiveTime::MIN),
    None => NaiveDateTime::MIN,
};

/// `at` moved into the four-digit years, so it compares with stored times as text does.
pub fn clamp_bound(at: NaiveDateTime) -> NaiveDateTime {
    at.clamp(FIRST_STORABLE, LATEST)
}

/// `[start, end)` of the UTC day `date`; the end of 9999-12-31 is [`LATEST`].
pub fn day_bounds(date: NaiveDate) -> (NaiveDateTime, NaiveDateTime) {
    let start = date.and_time(NaiveTime::MIN);
    let end = date
        .succ_opt()
        .map(|next| next.and_time(NaiveTime::MIN))
        .unwrap_or(LATEST)
        .min(LATEST);
    (start.min(LATEST), end)
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

    /// How diesel writes a `Timestamp` bound into SQLite.
    fn stored(at: NaiveDateTime) -> String {
        at.format("%Y-%m-%d %H:%M:%S%.f").to_string()
    }

    #[test]
    fn day_bounds_are_half_open_midnights() {
        let (start, end) = day_bounds(date(2026, 2, 28));
        assert_eq!(start.to_string(), "2026-02-28 00:00:00");
        assert_eq!(end.to_string(), "2026-03-01 00:00:00");
    }

    #[test]
    fn the_last_day_ends_at_latest_not_in_year_ten_thousand() {
        let (start, end) = day_bounds(date(9999, 12, 31));
        assert_eq!(stored(start), "9999-12-31 00:00:00");
        assert_eq!(end, LATEST);
        assert_eq!(stored(end), "9999-12-31 23:59:59.999999");
    }

    #[test]
    fn every_bound_sorts_as_text_the_way_it_sorts_as_time() {
        let stored_time = stored(date(2026, 11, 25).and_hms_opt(10, 0, 0).unwrap());
        let far = [
            (day_bounds(date(9999, 12, 31)).1, "end of the last day"),
            (clamp_bound(NaiveDateTime::MAX), "chrono's maximum"),
            (LATEST, "LATEST"),
        ];
        for (bound, reason) in far {
            assert!(stored(bound) > stored_time, "{reason}: {}", stored(bound));
            assert!(!stored(bound).starts_with('+'), "{reason}");
        }
        for (bound, reason) in [
            (clamp_bound(NaiveDateTime::MIN), "chrono's minimum"),
            (EARLIEST, "EARLIEST"),
        ] {
            assert!(stored(bound) < stored_time, "{reason}: {}", stored(bound));
            assert!(!stored(bound).starts_with('-'), "{reason}");
        }
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
            days_overlapping(EARLIEST, LATEST),
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
