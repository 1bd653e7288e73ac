//! Query-string parameters read one by one, so a bad value is a 400 naming its parameter and an
//! unknown parameter is refused rather than silently ignored.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime};

use super::super::ApiError;
use crate::db::time::{clamp_bound, EARLIEST, LATEST};
use crate::domain::time::day_bounds;

/// Default and maximum page size of the list endpoints.
pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 500;

pub struct Params(BTreeMap<String, String>);

impl Params {
    /// The parameters of `query`: each of `allowed` at most once. A repeated one is refused
    /// rather than read as its last value, so a proxy or log that reads the first sees what the
    /// server reads.
    pub fn parse(query: &str, allowed: &[&str]) -> Result<Params, ApiError> {
        let pairs = actix_web::web::Query::<Vec<(String, String)>>::from_query(query)
            .map_err(|e| ApiError::Validation {
                field: None,
                message: format!("invalid query string: {e}"),
            })?
            .into_inner();
        let mut map = BTreeMap::new();
        for (name, value) in pairs {
            if map.contains_key(&name) {
                return Err(ApiError::validation(
                    name.clone(),
                    format!("parameter `{name}` is given more than once"),
                ));
            }
            map.insert(name, value);
        }
        if let Some(unknown) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(ApiError::validation(
                unknown.clone(),
                format!(
                    "unknown parameter `{unknown}`; expected one of {}",
                    allowed.join(", ")
                ),
            ));
        }
        Ok(Params(map))
    }

    /// A non-empty value, trimmed.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    pub fn parsed<T>(
        &self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ApiError> {
        self.text(name)
            .map(|raw| parse(raw).map_err(|message| ApiError::validation(name, message)))
            .transpose()
    }

    /// `limit`: 1 to 500, default 100.
    pub fn limit(&self) -> Result<i64, ApiError> {
        Ok(self
            .parsed("limit", |raw| match raw.parse::<i64>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
                _ => Err(format!(
                    "limit must be a whole number from 1 to {MAX_LIMIT}"
                )),
            })?
            .unwrap_or(DEFAULT_LIMIT))
    }

    /// `before_id`: a positive id, the keyset cursor.
    pub fn before_id(&self) -> Result<Option<i32>, ApiError> {
        self.parsed("before_id", |raw| match raw.parse::<i32>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err("before_id must be a positive id".to_owned()),
        })
    }

    /// `from`: a date (its 00:00 UTC) or an RFC 3339 time.
    pub fn from_time(&self, name: &str) -> Result<Option<NaiveDateTime>, ApiError> {
        self.parsed(name, |raw| parse_time(raw, false))
    }

    /// `to`: a date (inclusive: up to the next 00:00 UTC) or an RFC 3339 time (exclusive).
    pub fn to_time(&self, name: &str) -> Result<Option<NaiveDateTime>, ApiError> {
        self.parsed(name, |raw| parse_time(raw, true))
    }

    pub fn date(&self, name: &str) -> Result<Option<NaiveDate>, ApiError> {
        self.parsed(name, |raw| {
            NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .map_err(|_| format!("{name} must be a date YYYY-MM-DD"))
                .and_then(|date| within_range(date.and_time(chrono::NaiveTime::MIN)).map(|_| date))
        })
    }
}

/// Times outside 1970–9999 are refused: stored times are four-digit-year text, and date
/// arithmetic near chrono's limits would overflow.
fn within_range(at: NaiveDateTime) -> Result<NaiveDateTime, String> {
    if (EARLIEST..=LATEST).contains(&at) {
        Ok(at)
    } else {
        Err("must lie between 1970-01-01 and 9999-12-31".to_owned())
    }
}

fn parse_time(raw: &str, end_of_day: bool) -> Result<NaiveDateTime, String> {
    if let Ok(date) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        let (start, end) = day_bounds(date);
        // The end of 9999-12-31 is the last storable instant, not year 10000.
        return within_range(if end_of_day { clamp_bound(end) } else { start });
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
        return within_range(at.naive_utc());
    }
    NaiveDateTime::parse_from_str(raw, "%Y-%m-%d %H:%M:%S%.f")
        .map_err(|_| "expected a date YYYY-MM-DD or an RFC 3339 time".to_owned())
        .and_then(within_range)
}

/// A page of rows and the cursor of the next one.
pub fn next_cursor<T>(rows: &mut Vec<T>, limit: i64, id_of: impl Fn(&T) -> i32) -> Option<i32> {
    if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(id_of)
    } else {
        None
    }
}
