//! Operational status shared by the background jobs (writers) and the web layer (reader): the
//! price feed's health and the last `update_paper_trades` tick. This is not trading state, which
//! lives only in the database; it is how the process is doing right now.

use std::collections::BTreeMap;
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

/// Upper bounds (seconds) of the tick duration histogram's buckets.
pub const TICK_BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// An open trade the last tick could not book (its savepoint rolled back); retried every tick.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BookingFailure {
    pub signal_id: i32,
    pub symbol: String,
    pub error: String,
    /// When this trade's booking first failed, in the current run of failures.
    pub since: DateTime<Utc>,
    /// Ticks in a row that failed to book it.
    pub attempts: u64,
}

/// The last `update_paper_trades` tick, and counts since start.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EngineStatus {
    pub last_tick_at: Option<DateTime<Utc>>,
    pub last_tick_ms: Option<f64>,
    /// The last tick that ran to its end (whatever the feed said).
    pub last_ok_at: Option<DateTime<Utc>>,
    /// Why the last failed tick failed (an error, a panic, a timeout).
    pub last_error: Option<String>,
    pub ticks: u64,
    pub failed_ticks: u64,
    /// Trades the last tick could not book.
    pub booking_failures: Vec<BookingFailure>,
    /// Trade bookings that failed, since start.
    pub booking_failures_total: u64,
    /// Ticks at or under each of [`TICK_BUCKETS`] (not cumulative).
    #[serde(skip)]
    pub tick_buckets: [u64; TICK_BUCKETS.len()],
    #[serde(skip)]
    pub tick_seconds_sum: f64,
}

/// The last strategy scan.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScanStatus {
    /// When the last scan that ran to its end ended.
    pub last_scan_at: Option<DateTime<Utc>>,
    pub scans: u64,
    pub failed_scans: u64,
    /// Why the last failed scan failed (a panic, a timeout).
    pub last_error: Option<String>,
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
    started_at: DateTime<Utc>,
    feed: RwLock<FeedStatus>,
    engine: RwLock<EngineStatus>,
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
            started_at: Utc::now(),
            feed: RwLock::new(FeedStatus {
                source: source.to_owned(),
                status: FeedHealth::Down,
                last_update: None,
                error: Some("no price received yet".to_owned()),
            }),
            engine: RwLock::new(EngineStatus::default()),
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

    /// When this process started.
    pub fn started_at(&self) -> DateTime<Utc> {
        self.0.started_at
    }

    /// Record a finished tick: `error` is why it failed, `None` when it ran to its end.
    pub fn record_tick(&self, at: DateTime<Utc>, duration_ms: f64, error: Option<String>) {
        let mut engine = self
            .0
            .engine
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        engine.last_tick_at = Some(at);
        engine.last_tick_ms = Some(duration_ms);
        engine.ticks += 1;
        match error {
            Some(error) => {
                engine.failed_ticks += 1;
                engine.last_error = Some(error);
            }
            None => engine.last_ok_at = Some(at),
        }
        let seconds = duration_ms / 1000.0;
        engine.tick_seconds_sum += seconds;
        if let Some(bucket) = TICK_BUCKETS.iter().position(|upper| seconds <= *upper) {
            engine.tick_buckets[bucket] += 1;
        }
    }

    /// The trades a tick could not book (`(signal_id, symbol, error)`); trades that booked drop
    /// off the list, a trade failing again keeps its first failure time.
    pub fn record_booking_failures(&self, at: DateTime<Utc>, failures: &[(i32, String, String)]) {
        let mut engine = self
            .0
            .engine
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let previous = std::mem::take(&mut engine.booking_failures);
        engine.booking_failures = failures
            .iter()
            .map(|(signal_id, symbol, error)| {
                let before = previous.iter().find(|f| f.signal_id == *signal_id);
                BookingFailure {
                    signal_id: *signal_id,
                    symbol: symbol.clone(),
                    error: error.clone(),
                    since: before.map_or(at, |f| f.since),
                    attempts: before.map_or(0, |f| f.attempts) + 1,
                }
            })
            .collect();
        engine.booking_failures_total += failures.len() as u64;
    }

    /// Record a finished scan and what it came to per symbol.
    pub fn record_scan(&self, at: DateTime<Utc>, results: Vec<crate::engine::scanner::SymbolScan>) {
        let mut scan = self.0.scan.write().unwrap_or_else(PoisonError::into_inner);
        scan.last_scan_at = Some(at);
        scan.scans += 1;
        scan.results = results;
    }

    /// Record a scan that panicked or timed out.
    pub fn record_failed_scan(&self, error: String) {
        let mut scan = self.0.scan.write().unwrap_or_else(PoisonError::into_inner);
        scan.scans += 1;
        scan.failed_scans += 1;
        scan.last_error = Some(error);
    }

    pub fn scan(&self) -> ScanStatus {
        self.0
            .scan
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// What has stalled at `now` (DESIGN.md §13): the ticks when none has run to its end for
    /// 3 × `tick_secs` (counted from the start before the first one), the scans likewise for
    /// 3 × `scan_secs` when the scanner is on (`Some`). `/api/health` and `/metrics` both ask
    /// here, so they always agree.
    pub fn stall(&self, now: DateTime<Utc>, tick_secs: u64, scan_secs: Option<u64>) -> Stall {
        let started = self.0.started_at;
        Stall {
            ticks: stalled(self.engine().last_ok_at, started, now, tick_secs),
            scans: scan_secs
                .is_some_and(|secs| stalled(self.scan().last_scan_at, started, now, secs)),
        }
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

/// What [`StatusBoard::stall`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stall {
    pub ticks: bool,
    pub scans: bool,
}

impl Stall {
    /// Whether trading has stalled at all: health is down.
    pub fn any(self) -> bool {
        self.ticks || self.scans
    }
}

/// Whether nothing has succeeded for three intervals since `last_ok` (or since `started`).
fn stalled(
    last_ok: Option<DateTime<Utc>>,
    started: DateTime<Utc>,
    now: DateTime<Utc>,
    interval_secs: u64,
) -> bool {
    let limit = chrono::Duration::seconds(
        i64::try_from(interval_secs.saturating_mul(3)).unwrap_or(i64::MAX),
    );
    now - last_ok.unwrap_or(started) > limit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_is_stalled_after_three_intervals_without_success() {
        let start = Utc::now();
        let later = |secs| start + chrono::Duration::seconds(secs);
        assert!(
            !stalled(None, start, later(15), 5),
            "three intervals since start"
        );
        assert!(stalled(None, start, later(16), 5), "nothing ever succeeded");
        assert!(!stalled(Some(later(100)), start, later(110), 5));
        assert!(stalled(Some(later(100)), start, later(116), 5));
    }

    #[test]
    fn a_stalled_scanner_counts_only_while_the_scanner_is_on() {
        let board = StatusBoard::new("bybit");
        let later = board.started_at() + chrono::Duration::seconds(200);
        board.record_tick(later, 1.0, None);
        let stall = board.stall(later, 5, Some(60));
        assert_eq!(
            stall,
            Stall {
                ticks: false,
                scans: true
            }
        );
        assert!(stall.any(), "a stalled scanner is a stall");
        assert!(!board.stall(later, 5, None).any(), "the scanner is off");
    }

    #[test]
    fn a_trade_failing_again_keeps_its_first_failure_time() {
        let board = StatusBoard::new("bybit");
        let t0 = Utc::now();
        let failing = vec![(
            7,
            "BTCUSDT".to_owned(),
            "UNIQUE constraint failed".to_owned(),
        )];
        board.record_booking_failures(t0, &failing);
        board.record_booking_failures(t0 + chrono::Duration::seconds(5), &failing);
        let engine = board.engine();
        assert_eq!(engine.booking_failures[0].since, t0);
        assert_eq!(engine.booking_failures[0].attempts, 2);
        assert_eq!(engine.booking_failures_total, 2);
        board.record_booking_failures(t0 + chrono::Duration::seconds(10), &[]);
        assert!(board.engine().booking_failures.is_empty());
    }
}
