//! UTC day boundaries and the one stored timestamp format (DESIGN.md §2).
//!
//! "Today" is the half-open range `[00:00, next 00:00)` of a UTC date, compared on indexed
//! timestamp columns, never `date(column) = ?` (ORIGINAL.md §4: non-sargable and slow).

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Timelike};

/// The earliest time a range query uses when none is given: stored times are text with a
/// four-digit year, so chrono's extreme dates (with signed six-digit years) would not compare.
pub const EARLIEST: NaiveDateTime = match NaiveDate::from_ymd_opt(1970, 1, 1) {
    Some(d) => d.and_time(NaiveTime::MIN),
    None => NaiveDateTime::MIN,
};

/// The latest time a range query uses when none is given (see [`EARLIEST`]).
pub const LATEST: NaiveDateTime = match NaiveDate::from_ymd_opt(9999, 12, 31) {
    Some(d) => d.and_time(NaiveTime::MIN),
    None => NaiveDateTime::MAX,
};

/// `[start, end)` of the UTC day `date`.
pub fn day_bounds(date: NaiveDate) -> (NaiveDateTime, NaiveDateTime) {
    let start = date.and_time(NaiveTime::MIN);
    let end = date
        .succ_opt()
        .map(|next| next.and_time(NaiveTime::MIN))
        .unwrap_or(NaiveDateTime::MAX);
    (start, end)
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

    #[test]
    fn day_bounds_are_half_open_midnights() {
        let date = NaiveDate::from_ymd_opt(2026, 2, 28).unwrap();
        let (start, end) = day_bounds(date);
        assert_eq!(start.to_string(), "2026-02-28 00:00:00");
        assert_eq!(end.to_string(), "2026-03-01 00:00:00");
    }

    #[test]
    fn truncation_keeps_microseconds() {
        let at = NaiveDate::from_ymd_opt(2026, 1, 1)
            .unwrap()
            .and_hms_nano_opt(1, 2, 3, 123_456_789)
            .unwrap();
        assert_eq!(truncate_to_micros(at).nanosecond(), 123_456_000);
    }
}
