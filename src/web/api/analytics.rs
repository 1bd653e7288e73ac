//! `GET /api/analytics?from=&to=&strategy=&symbol=&tag=&direction=` (DESIGN.md §11): the
//! analytics of the closed trades of a date range (a year to today by default), read by
//! `db::analytics` in one snapshot.

use actix_web::{web, HttpRequest};
use chrono::{Duration, NaiveDate};
use serde::Serialize;

use super::params::Params;
use crate::clock::now_utc;
use crate::db::analytics::{read_report, AnalyticsQuery};
use crate::domain::analytics::Report;
use crate::domain::Direction;
use crate::web::{ApiError, AppState};

/// The longest range one request may cover.
pub const MAX_DAYS: i64 = 3_660;

/// The query parameters, validated.
pub fn analytics_query(query_string: &str, today: NaiveDate) -> Result<AnalyticsQuery, ApiError> {
    let params = Params::parse(
        query_string,
        &["from", "to", "strategy", "symbol", "tag", "direction"],
    )?;
    let to = params.date("to")?.unwrap_or(today);
    let from = params.date("from")?.unwrap_or(to - Duration::days(364));
    if from > to {
        return Err(ApiError::validation("from", "from is after to"));
    }
    if (to - from).num_days() >= MAX_DAYS {
        return Err(ApiError::validation(
            "from",
            format!("a range covers at most {MAX_DAYS} days"),
        ));
    }
    let text = |name: &str, max: usize| -> Result<Option<String>, ApiError> {
        params.parsed(name, |raw| {
            if raw.chars().count() > max {
                Err(format!("at most {max} characters"))
            } else {
                Ok(raw.to_owned())
            }
        })
    };
    let direction = params.parsed("direction", |raw| {
        raw.to_ascii_uppercase()
            .parse::<Direction>()
            .map_err(|_| "direction is LONG or SHORT".to_owned())
    })?;
    Ok(AnalyticsQuery {
        from,
        to,
        strategy: text("strategy", 64)?,
        symbol: text("symbol", 32)?.map(|s| s.to_ascii_uppercase()),
        direction,
        tag: text("tag", 32)?,
        days: None,
    })
}

/// The answer: the range and filters as understood, and the report.
#[derive(Serialize)]
pub struct AnalyticsAnswer {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub strategy: Option<String>,
    pub symbol: Option<String>,
    pub direction: Option<Direction>,
    pub tag: Option<String>,
    #[serde(flatten)]
    pub report: Report,
}

/// Read the report of `query`.
pub async fn load_report(state: &AppState, query: AnalyticsQuery) -> Result<Report, ApiError> {
    let configured = state.config.initial_balance;
    let today = now_utc().date();
    state
        .with_conn(move |conn| Ok(read_report(conn, &query, configured, today)?))
        .await
}

pub async fn get_analytics(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<web::Json<AnalyticsAnswer>, ApiError> {
    let query = analytics_query(req.query_string(), now_utc().date())?;
    let report = load_report(&state, query.clone()).await?;
    Ok(web::Json(AnalyticsAnswer {
        from: query.from,
        to: query.to,
        strategy: query.strategy,
        symbol: query.symbol,
        direction: query.direction,
        tag: query.tag,
        report,
    }))
}
