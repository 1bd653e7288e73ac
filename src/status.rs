//! Operational status shared by the background jobs (writers) and the web layer (reader): the
//! price feed's health and the last `update_paper_trades` tick. This is not trading state, which
//! lives only in the database; it is how the process is doing right now.

use std::sync::{Arc, PoisonError, RwLock};

use chrono::{DateTime, Utc};
use serde::Serialize;

/// Health of the price feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FeedHealth {
    /// Fresh prices are arriving.
    Ok,
    /// Some symbols or requests fail, the rest are fresh.
    Degraded,
    /// No fresh prices.
    Down,
}

/// The `feed` object of `/api/stats` and `/api/health` (DESIGN.md §5).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeedStatus {
    /// `bybit`, `binance`, `simulated` or `replay`.
    pub source: String,
    pub status: FeedHealth,
    /// Time of the last good price update.
    pub last_update: Option<DateTime<Utc>>,
    /// The last error, while the feed is not ok.
    pub error: Option<String>,
}

/// The last `update_paper_trades` tick.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EngineStatus {
    pub last_tick_at: Option<DateTime<Utc>>,
    pub last_tick_ms: Option<f64>,
    pub ticks: u64,
    pub failed_ticks: u64,
}

#[derive(Debug)]
struct Board {
    feed: RwLock<FeedStatus>,
    engine: RwLock<EngineStatus>,
}

/// Cheap to clone; every clone sees the same status.
#[derive(Debug, Clone)]
pub struct StatusBoard(Arc<Board>);

impl StatusBoard {
    /// A board for `source` before any price or tick has arrived.
    pub fn new(source: &str) -> Self {
        StatusBoard(Arc::new(Board {
            feed: RwLock::new(FeedStatus {
                source: source.to_owned(),
                status: FeedHealth::Down,
                last_update: None,
                error: Some("no price received yet".to_owned()),
            }),
            engine: RwLock::new(EngineStatus::default()),
        }))
    }

    pub fn feed(&self) -> FeedStatus {
        self.0
            .feed
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn set_feed(&self, status: FeedStatus) {
        *self.0.feed.write().unwrap_or_else(PoisonError::into_inner) = status;
    }

    pub fn engine(&self) -> EngineStatus {
        self.0
            .engine
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Record a finished tick, successful or not.
    pub fn record_tick(&self, at: DateTime<Utc>, duration_ms: f64, ok: bool) {
        let mut engine = self
            .0
            .engine
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        engine.last_tick_at = Some(at);
        engine.last_tick_ms = Some(duration_ms);
        engine.ticks += 1;
        if !ok {
            engine.failed_ticks += 1;
        }
    }
}
