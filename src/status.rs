//! Operational status shared by the background jobs (writers) and the web layer (reader): the
//! price feed's health and the last `update_paper_trades` tick. This is not trading state, which
//! lives only in the database; it is how the process is doing right now.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::feeds::Quote;

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

/// Upper bounds (seconds) of the tick duration histogram's buckets.
pub const TICK_BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// The last `update_paper_trades` tick, and counts since start.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EngineStatus {
    pub last_tick_at: Option<DateTime<Utc>>,
    pub last_tick_ms: Option<f64>,
    pub ticks: u64,
    pub failed_ticks: u64,
    /// Ticks at or under each of [`TICK_BUCKETS`] (not cumulative).
    #[serde(skip)]
    pub tick_buckets: [u64; TICK_BUCKETS.len()],
    #[serde(skip)]
    pub tick_seconds_sum: f64,
}

/// The last strategy scan.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScanStatus {
    pub last_scan_at: Option<DateTime<Utc>>,
    /// Per symbol: what the scan came to (a setup opened, refused and why, no setup, an error).
    pub results: Vec<crate::engine::scanner::SymbolScan>,
}

/// Counters for `/metrics`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counters {
    /// Symbols that got no price in a poll, by error kind.
    pub feed_errors: u64,
    /// HTTP requests by (route pattern, status).
    pub http: BTreeMap<(String, u16), u64>,
}

#[derive(Debug)]
struct Board {
    feed: RwLock<FeedStatus>,
    engine: RwLock<EngineStatus>,
    /// The last quote of each symbol, for display and for pricing new signals; each carries its
    /// time, so a stale one is recognised as such.
    prices: RwLock<BTreeMap<String, Quote>>,
    /// Signals refused, by gate.
    refusals: RwLock<BTreeMap<&'static str, u64>>,
    counters: RwLock<Counters>,
    scan: RwLock<ScanStatus>,
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
            prices: RwLock::new(BTreeMap::new()),
            refusals: RwLock::new(BTreeMap::new()),
            counters: RwLock::new(Counters::default()),
            scan: RwLock::new(ScanStatus::default()),
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

    /// Remember the newest quotes; symbols without a new quote keep their last one.
    pub fn update_prices(&self, quotes: &BTreeMap<String, Quote>) {
        let mut prices = self
            .0
            .prices
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        for (symbol, quote) in quotes {
            prices.insert(symbol.clone(), quote.clone());
        }
    }

    pub fn prices(&self) -> BTreeMap<String, Quote> {
        self.0
            .prices
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The last price of `symbol` if it is no older than `stale_secs` at `now`.
    pub fn fresh_price(&self, symbol: &str, now: DateTime<Utc>, stale_secs: u64) -> Option<Quote> {
        let prices = self.0.prices.read().unwrap_or_else(PoisonError::into_inner);
        prices
            .get(symbol)
            .filter(|q| (now - q.price_time).num_seconds() <= stale_secs as i64)
            .cloned()
    }

    /// Count one signal refused by `gate`.
    pub fn count_refusal(&self, gate: &'static str) {
        let mut refusals = self
            .0
            .refusals
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        *refusals.entry(gate).or_insert(0) += 1;
    }

    pub fn refusals(&self) -> BTreeMap<&'static str, u64> {
        self.0
            .refusals
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
        let seconds = duration_ms / 1000.0;
        engine.tick_seconds_sum += seconds;
        if let Some(bucket) = TICK_BUCKETS.iter().position(|upper| seconds <= *upper) {
            engine.tick_buckets[bucket] += 1;
        }
    }

    pub fn record_scan(&self, at: DateTime<Utc>, results: Vec<crate::engine::scanner::SymbolScan>) {
        *self.0.scan.write().unwrap_or_else(PoisonError::into_inner) = ScanStatus {
            last_scan_at: Some(at),
            results,
        };
    }

    pub fn scan(&self) -> ScanStatus {
        self.0
            .scan
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn count_feed_errors(&self, failures: u64) {
        self.0
            .counters
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .feed_errors += failures;
    }

    pub fn count_request(&self, route: &str, status: u16) {
        let mut counters = self
            .0
            .counters
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        *counters.http.entry((route.to_owned(), status)).or_insert(0) += 1;
    }

    pub fn counters(&self) -> Counters {
        self.0
            .counters
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
