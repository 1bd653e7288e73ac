//! `GET /api/health`: is the database reachable, how is the feed, is the engine ticking. `down`
//! (503) when the database does not answer or when trading has stalled: no tick (or, with the
//! scanner on, no scan) has run to its end for three of its intervals (DESIGN.md §13).

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::super::{ApiError, AppState};
use crate::status::{BookingFailure, FeedHealth, FeedStatus, ScanStatus};

#[derive(Serialize)]
struct DbHealth {
    status: &'static str,
    error: Option<String>,
}

#[derive(Serialize)]
struct HealthResponse {
    /// `ok`; `degraded` (feed not ok, or a trade that cannot be booked); `down` (database
    /// unreachable, or ticks or scans stalled).
    status: &'static str,
    /// No tick (or scan) has run to its end for three of its intervals.
    stalled: bool,
    version: &'static str,
    uptime_secs: u64,
    db: DbHealth,
    feed: FeedStatus,
    last_tick_at: Option<DateTime<Utc>>,
    last_tick_ms: Option<f64>,
    engine: Engine,
    /// The strategy scanner: off, or its last scan per symbol.
    scanner: Scanner,
}

/// The `update_paper_trades` ticks.
#[derive(Serialize)]
struct Engine {
    stalled: bool,
    /// The last tick that ran to its end.
    last_ok_at: Option<DateTime<Utc>>,
    ticks: u64,
    failed_ticks: u64,
    /// Why the last failed tick failed.
    last_error: Option<String>,
    /// Trades the last tick could not book (each rolled back alone, retried every tick).
    booking_failures: Vec<BookingFailure>,
}

#[derive(Serialize)]
struct Scanner {
    enabled: bool,
    stalled: bool,
    #[serde(flatten)]
    last: ScanStatus,
}

/// 200 while the database answers and the engine ticks, 503 otherwise.
pub async fn get_health(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let db = match state
        .with_conn(|conn| crate::db::ping(conn).map_err(ApiError::from))
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
    let now = Utc::now();
    let config = &state.config;
    let feed = state.status.feed();
    let engine = state.status.engine();
    let stall = state.status.stall(
        now,
        config.tick_secs,
        config.scan.then_some(config.scan_secs),
    );
    let stalled = stall.any();
    let status = if db.status != "ok" || stalled {
        "down"
    } else if feed.status != FeedHealth::Ok || !engine.booking_failures.is_empty() {
        "degraded"
    } else {
        "ok"
    };
    let body = HealthResponse {
        status,
        stalled,
        version: env!("CARGO_PKG_VERSION"),
        uptime_secs: state.started_at.elapsed().as_secs(),
        db,
        feed,
        last_tick_at: engine.last_tick_at,
        last_tick_ms: engine.last_tick_ms,
        engine: Engine {
            stalled: stall.ticks,
            last_ok_at: engine.last_ok_at,
            ticks: engine.ticks,
            failed_ticks: engine.failed_ticks,
            last_error: engine.last_error,
            booking_failures: engine.booking_failures,
        },
        scanner: Scanner {
            enabled: config.scan,
            stalled: stall.scans,
            last: state.status.scan(),
        },
    };
    Ok(if status == "down" {
        HttpResponse::ServiceUnavailable().json(body)
    } else {
        HttpResponse::Ok().json(body)
    })
}
