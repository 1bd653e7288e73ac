//! Time bounds as the database stores and compares them (DESIGN.md §2).
//!
//! Stored times are text, `YYYY-MM-DD HH:MM:SS[.ffffff]`, and SQL compares them as text. That is
//! only the order of time while the year has four digits: chrono writes year 10000 as
//! `+10000-01-01`, which sorts below every stored time (issue 10: `to=9999-12-31` found nothing).
//! So every bound a query binds has a four-digit year, at most [`LATEST`]: the query fns pass
//! their bounds through [`clamp_bound`].

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::day_bounds;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// How diesel writes a `Timestamp` bound into SQLite.
    fn stored(at: NaiveDateTime) -> String {
        at.format("%Y-%m-%d %H:%M:%S%.f").to_string()
    }

    #[test]
    fn the_last_day_ends_at_latest_not_in_year_ten_thousand() {
        let (start, end) = day_bounds(date(9999, 12, 31));
        assert_eq!(stored(clamp_bound(start)), "9999-12-31 00:00:00");
        assert_eq!(clamp_bound(end), LATEST);
        assert_eq!(stored(clamp_bound(end)), "9999-12-31 23:59:59.999999");
    }

    #[test]
    fn every_bound_sorts_as_text_the_way_it_sorts_as_time() {
        let stored_time = stored(date(2026, 11, 25).and_hms_opt(10, 0, 0).unwrap());
        let far = [
            (
                clamp_bound(day_bounds(date(9999, 12, 31)).1),
                "end of the last day",
            ),
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
}
