//! The one place that reads the wall clock. Everything below takes time as an argument.

use chrono::{NaiveDateTime, Utc};

use crate::domain::time::truncate_to_micros;

/// Now, in UTC, to the microsecond: the precision stored in the database.
pub fn now_utc() -> NaiveDateTime {
    truncate_to_micros(Utc::now().naive_utc())
}
