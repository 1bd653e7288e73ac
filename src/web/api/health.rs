//! `GET /api/health`: is the database reachable, how is the feed, is the engine ticking, who
//! leads. `down` (503) when the database does not answer or when trading has stalled: no tick
//! (or, with the scanner on, no scan) has run to its end for three of its intervals (DESIGN.md
//! §13). The engine's figures are the database's (DESIGN.md §9), the same on every instance.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::super::{ApiError, AppState};
use crate::db::instances::InstanceRow;
use crate::db::models::rfc3339;
use crate::status::{BookingFailure, EngineView, FeedHealth, FeedStatus, ScanStatus};

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
    /// This instance's id.
    instance: String,
    /// Who holds the leader's lease, until when; `null` before anyone took it.
    leader: Option<Leader>,
    /// Every instance on this database, the most recent heartbeat first.
    instances: Vec<Instance>,
    /// The notification outbox (DESIGN.md §12).
    notifications: Notifications,
}

/// The outbox in all and by target: messages waiting, given up, and the latest error.
#[derive(Serialize, Default)]
pub struct Notifications {
    pending: i64,
    sent: i64,
    failed: i64,
    /// Pending messages that have failed at least once.
    retrying: i64,
    last_error: Option<String>,
    targets: Vec<NotifyTarget>,
}

#[derive(Serialize)]
struct NotifyTarget {
    /// The target's masked name, as in the configuration's listing.
    target: String,
    pending: i64,
    sent: i64,
    failed: i64,
    /// Pending messages that have failed at least once: the target is failing now.
    retrying: i64,
    last_error: Option<String>,
}

impl Notifications {
    pub fn of(summaries: Vec<crate::db::notifications::TargetSummary>) -> Notifications {
        let mut all = Notifications::default();
        let latest = summaries.iter().filter_map(|s| s.last_error_id).max();
        for s in summaries {
            all.pending += s.pending;
            all.sent += s.sent;
            all.failed += s.failed;
            all.retrying += s.retrying;
            if s.last_error_id.is_some() && s.last_error_id == latest {
                all.last_error.clone_from(&s.last_error);
            }
            all.targets.push(NotifyTarget {
                target: s.target,
                pending: s.pending,
                sent: s.sent,
                failed: s.failed,
                retrying: s.retrying,
                last_error: s.last_error,
            });
        }
        all
    }
}

#[derive(Serialize)]
struct Leader {
    holder: String,
    /// Whether the lease has run out (the holder stopped renewing it; another takes over).
    expired: bool,
    #[serde(with = "rfc3339")]
    expires_at: chrono::NaiveDateTime,
    #[serde(with = "rfc3339")]
    acquired_at: chrono::NaiveDateTime,
    epoch: i64,
}

#[derive(Serialize)]
struct Instance {
    id: String,
    hostname: String,
    pid: i32,
    is_leader: bool,
    #[serde(with = "rfc3339")]
    started_at: chrono::NaiveDateTime,
    #[serde(with = "rfc3339")]
    heartbeat_at: chrono::NaiveDateTime,
}

impl From<&InstanceRow> for Instance {
    fn from(row: &InstanceRow) -> Instance {
        Instance {
            id: row.id.clone(),
            hostname: row.hostname.clone(),
            pid: row.pid,
            is_leader: row.is_leader,
            started_at: row.started_at,
            heartbeat_at: row.heartbeat_at,
        }
    }
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
    let board = state.status.clone();
    let read = state
        .with_conn(move |conn| {
            crate::db::ping(conn)?;
            let view = EngineView::read(conn, &board)?;
            Ok((view, crate::db::notifications::summary(conn)?))
        })
        .await;
    let (db, view, notifications) = match read {
        Ok((view, outbox)) => (
            DbHealth {
                status: "ok",
                error: None,
            },
            view,
            Notifications::of(outbox),
        ),
        Err(e) => (
            DbHealth {
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
            EngineView::new(
                None,
                None,
                Vec::new(),
                crate::clock::now_utc(),
                state.config.feed.as_str(),
            ),
            Notifications::default(),
        ),
    };
    let config = &state.config;
    let stall = view.stall(
        state.status.started_at(),
        config.tick_secs,
        config.scan.then_some(config.scan_secs),
    );
    let stalled = stall.any();
    let EngineView {
        feed,
        engine,
        scan,
        leader,
        instances,
        now,
    } = view;
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
            last: scan,
        },
        instance: state.status.identity().id.clone(),
        leader: leader.map(|l| Leader {
            expired: l.expires_at <= now,
            holder: l.holder,
            expires_at: l.expires_at,
            acquired_at: l.acquired_at,
            epoch: l.epoch,
        }),
        instances: instances.iter().map(Instance::from).collect(),
        notifications,
    };
    Ok(if status == "down" {
        HttpResponse::ServiceUnavailable().json(body)
    } else {
        HttpResponse::Ok().json(body)
    })
}
