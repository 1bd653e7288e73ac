//! The list endpoints (DESIGN.md §5): `GET /api/signals`, `GET /api/journal`,
//! `PATCH /api/journal/{id}`, `GET /api/daily`, `GET /api/equity`. Newest first with keyset
//! paging (`before_id`), so page 10 000 costs what page 1 costs.

use actix_web::web::Bytes;
use actix_web::{web, HttpRequest};
use chrono::{Duration, NaiveDateTime};
use serde::Serialize;
use serde_json::Value;

use super::super::auth::require_bearer;
use super::super::{ApiError, AppState};
use super::body::{json_value, Body};
use super::params::{next_cursor, Params};
use crate::clock::now_utc;
use crate::db::daily_stats;
use crate::db::journal::{self, JournalFilter};
use crate::db::models::{rfc3339, DailyStatsRow, JournalEntryRow, SignalRow};
use crate::db::signals::{list_signals as query_signals, SignalFilter};
use crate::db::time::{EARLIEST, LATEST};
use crate::domain::time::{day_bounds, days_overlapping};
use crate::domain::{Outcome, SignalStatus, Symbol};

#[derive(Serialize)]
pub struct SignalPage {
    signals: Vec<SignalRow>,
    /// Pass as `before_id` for the next page; null on the last page.
    next_before_id: Option<i32>,
}

fn symbol_param(params: &Params) -> Result<Option<String>, ApiError> {
    params.parsed("symbol", |raw| Symbol::parse(raw).map(Symbol::into_string))
}

/// `GET /api/signals?status=&symbol=&from=&to=&limit=&before_id=`
pub async fn list_signals(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<web::Json<SignalPage>, ApiError> {
    let params = Params::parse(
        req.query_string(),
        &["status", "symbol", "from", "to", "limit", "before_id"],
    )?;
    let filter = SignalFilter {
        status: params.parsed("status", |raw| {
            raw.to_ascii_uppercase()
                .parse::<SignalStatus>()
                .map_err(|e| e.to_string())
        })?,
        symbol: symbol_param(&params)?,
        from: params.from_time("from")?,
        to: params.to_time("to")?,
    };
    let limit = params.limit()?;
    let before_id = params.before_id()?;
    let mut signals = state
        .with_conn(move |conn| Ok(query_signals(conn, &filter, before_id, limit + 1)?))
        .await?;
    let next_before_id = next_cursor(&mut signals, limit, |s| s.id);
    Ok(web::Json(SignalPage {
        signals,
        next_before_id,
    }))
}

#[derive(Serialize)]
pub struct JournalPage {
    entries: Vec<JournalEntryRow>,
    next_before_id: Option<i32>,
}

/// Read the journal filters shared by the API and the journal page.
pub fn journal_filter(params: &Params) -> Result<JournalFilter, ApiError> {
    Ok(JournalFilter {
        symbol: symbol_param(params)?,
        outcome: params.parsed("outcome", |raw| {
            raw.to_ascii_uppercase()
                .parse::<Outcome>()
                .map_err(|e| e.to_string())
        })?,
        from: params.from_time("from")?,
        to: params.to_time("to")?,
    })
}

/// `GET /api/journal?symbol=&outcome=&from=&to=&limit=&before_id=`
pub async fn list_journal(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<web::Json<JournalPage>, ApiError> {
    let params = Params::parse(
        req.query_string(),
        &["symbol", "outcome", "from", "to", "limit", "before_id"],
    )?;
    let filter = journal_filter(&params)?;
    let limit = params.limit()?;
    let before_id = params.before_id()?;
    let mut entries = state
        .with_conn(move |conn| Ok(journal::list_entries(conn, &filter, before_id, limit + 1)?))
        .await?;
    let next_before_id = next_cursor(&mut entries, limit, |e| e.id);
    Ok(web::Json(JournalPage {
        entries,
        next_before_id,
    }))
}

/// Tags a journal entry may carry.
pub const MAX_TAGS: usize = 20;

/// Notes and tags as the user edits them: tags trimmed, empty ones and repeats dropped.
pub fn clean_tags<'a>(tags: impl IntoIterator<Item = &'a str>) -> Result<String, ApiError> {
    let mut kept: Vec<String> = Vec::new();
    for tag in tags.into_iter().map(str::trim).filter(|t| !t.is_empty()) {
        if tag.chars().count() > 32 {
            return Err(ApiError::validation(
                "tags",
                "a tag is at most 32 characters",
            ));
        }
        if !kept.iter().any(|k| k == tag) {
            kept.push(tag.to_owned());
        }
    }
    if kept.len() > MAX_TAGS {
        return Err(ApiError::validation(
            "tags",
            format!("at most {MAX_TAGS} tags"),
        ));
    }
    Ok(kept.join(","))
}

pub const NOTES_LIMIT: usize = 5_000;

/// Save notes and tags of journal entry `id`; 404 when it does not exist.
pub async fn save_journal_notes(
    state: &AppState,
    id: i32,
    notes: Option<String>,
    tags: Option<String>,
) -> Result<JournalEntryRow, ApiError> {
    state
        .with_conn(move |conn| {
            let current = journal::get_entry(conn, id).map_err(|e| match e {
                diesel::result::Error::NotFound => {
                    ApiError::NotFound(format!("journal entry {id} not found"))
                }
                other => other.into(),
            })?;
            let notes = notes.or(current.notes).filter(|n| !n.trim().is_empty());
            let tags = tags.unwrap_or(current.tags);
            Ok(journal::update_notes(
                conn,
                id,
                notes.as_deref(),
                &tags,
                now_utc(),
            )?)
        })
        .await
}

/// `PATCH /api/journal/{id}` with `{notes?, tags?}`; tags as a list or a comma-separated string.
pub async fn patch_journal(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: Bytes,
) -> Result<web::Json<JournalEntryRow>, ApiError> {
    require_bearer(&req, &state.config)?;
    let id = path
        .parse::<i32>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::validation("id", format!("`{path}` is not a journal entry id")))?;
    let raw = json_value(&body)?;
    let tags = match raw.get("tags") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(clean_tags(s.split(','))?),
        Some(Value::Array(items)) => {
            // Counted as sent, as the OpenAPI document's maxItems counts them.
            if items.len() > MAX_TAGS {
                return Err(ApiError::validation(
                    "tags",
                    format!("at most {MAX_TAGS} tags"),
                ));
            }
            let texts: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
            let texts =
                texts.ok_or_else(|| ApiError::validation("tags", "tags must be strings"))?;
            Some(clean_tags(texts)?)
        }
        Some(_) => {
            return Err(ApiError::validation(
                "tags",
                "tags must be a list of strings or a comma-separated string",
            ))
        }
    };
    let body = Body::parse(raw, &["notes", "tags"])?;
    let notes = body.optional_str("notes", NOTES_LIMIT)?;
    if notes.is_none() && tags.is_none() {
        return Err(ApiError::Validation {
            field: None,
            message: "send notes, tags or both".to_owned(),
        });
    }
    Ok(web::Json(
        save_journal_notes(&state, id, notes, tags).await?,
    ))
}

#[derive(Serialize)]
pub struct DailyPage {
    days: Vec<DailyStatsRow>,
}

/// `GET /api/daily?from=&to=` (dates, inclusive; default the last 90 days).
pub async fn list_daily(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<web::Json<DailyPage>, ApiError> {
    let params = Params::parse(req.query_string(), &["from", "to"])?;
    let today = now_utc().date();
    let to = params.date("to")?.unwrap_or(today);
    let from = params.date("from")?.unwrap_or(to - Duration::days(89));
    if from > to {
        return Err(ApiError::validation("from", "from is after to"));
    }
    let days = state
        .with_conn(move |conn| Ok(daily_stats::list(conn, from, to)?))
        .await?;
    Ok(web::Json(DailyPage { days }))
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EquityPoint {
    #[serde(with = "rfc3339")]
    pub time: NaiveDateTime,
    pub balance: f64,
}

#[derive(Serialize)]
pub struct EquityCurve {
    /// `day`: the balance at each day's start and end; `trade`: after each close.
    by: &'static str,
    points: Vec<EquityPoint>,
}

/// The balance at the start of the first day and at the end (or now) of each day.
pub fn daily_equity(days: &[DailyStatsRow], now: NaiveDateTime) -> Vec<EquityPoint> {
    let mut points = Vec::with_capacity(days.len() + 1);
    if let Some(first) = days.first() {
        points.push(EquityPoint {
            time: day_start(first),
            balance: first.starting_balance,
        });
    }
    for day in days {
        let end = day_start(day) + Duration::days(1);
        points.push(EquityPoint {
            time: end.min(now).max(day_start(day)),
            balance: day.paper_balance,
        });
    }
    points
}

fn day_start(day: &DailyStatsRow) -> NaiveDateTime {
    day_bounds(day.date).0
}

/// `GET /api/equity?by=day|trade&from=&to=`: time and balance points. `day` (the default, one
/// point per day, any history) or `trade` (one point per close, at most 5 000, the newest).
pub async fn get_equity(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<web::Json<EquityCurve>, ApiError> {
    let params = Params::parse(req.query_string(), &["by", "from", "to"])?;
    let now = now_utc();
    let by = params
        .parsed("by", |raw| match raw {
            "day" => Ok("day"),
            "trade" => Ok("trade"),
            _ => Err("by must be day or trade".to_owned()),
        })?
        .unwrap_or("day");
    let from = params.from_time("from")?;
    let to = params.to_time("to")?;
    let points = state
        .with_conn(move |conn| {
            let from = from.unwrap_or(EARLIEST);
            let to = to.unwrap_or(LATEST);
            if by == "trade" {
                let points = journal::balance_points(conn, from, to, 5_000)?;
                return Ok(points
                    .into_iter()
                    .map(|(time, balance)| EquityPoint { time, balance })
                    .collect());
            }
            let Some((first_day, last_day)) = days_overlapping(from, to) else {
                return Ok(Vec::new());
            };
            let days = daily_stats::list(conn, first_day, last_day)?;
            Ok(daily_equity(&days, now))
        })
        .await?;
    Ok(web::Json(EquityCurve { by, points }))
}
