//! `GET /api/health`: is the database reachable, how is the feed, when was the last tick.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use diesel::connection::SimpleConnection;
use serde::Serialize;

use super::super::{ApiError, AppState};
use crate::status::{FeedHealth, FeedStatus, ScanStatus};

#[derive(Serialize)]
struct DbHealth {
    status: &'static str,
    error: Option<String>,
}

#[derive(Serialize)]
struct HealthResponse {
    /// `ok`, `degraded` (feed not ok) or `down` (database unreachable).
    status: &'static str,
    version: &'static str,
    uptime_secs: u64,
    db: DbHealth,
    feed: FeedStatus,
    last_tick_at: Option<DateTime<Utc>>,
    last_tick_ms: Option<f64>,
    /// The strategy scanner: off, or its last scan per symbol.
    scanner: Scanner,
}

#[derive(Serialize)]
struct Scanner {
    enabled: bool,
    #[serde(flatten)]
    last: ScanStatus,
}

/// 200 while the database answers, 503 when it does not.
pub async fn get_health(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let db = match state
        .with_conn(|conn| conn.batch_execute("SELECT 1").map_err(ApiError::from))
        .await
    {
        Ok(()) => DbHealth {
            status: "ok",
            error: None,
        },
        Err(e) => DbHealth {
            status: "down",
            // The cause (paths, SQL) goes to the log, not to anyone who asks.
            error: Some(match e {
                ApiError::Internal(cause) => {
                    log::error!("health check: {cause}");
                    "the database query failed; see the server log".to_owned()
                }
                other => other.to_string(),
            }),
        },
    };
    let feed = state.status.feed();
    let engine = state.status.engine();
    let status = match (db.status, feed.status) {
        ("ok", FeedHealth::Ok) => "ok",
        ("ok", _) => "degraded",
        _ => "down",
    };
    let body = HealthResponse {
        status,
        version: env!("CARGO_PKG_VERSION"),
        uptime_secs: state.started_at.elapsed().as_secs(),
        db,
        feed,
        last_tick_at: engine.last_tick_at,
        last_tick_ms: engine.last_tick_ms,
        scanner: Scanner {
            enabled: state.config.scan,
            last: state.status.scan(),
        },
    };
    Ok(if status == "down" {
        HttpResponse::ServiceUnavailable().json(body)
    } else {
        HttpResponse::Ok().json(body)
    })
}
