//! Operational status. The [`StatusBoard`] is this process's own: its engine's working copy of
//! the feed's health, the last tick and scan (which the engine writes to its `instances` row
//! after each, DESIGN.md §9), and the counters of `/metrics` (HTTP requests, refusals, tick
//! durations), per process by nature. What pages and endpoints show of the engine is the
//! [`EngineView`], read from the database, so every instance shows the same whoever ticks.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::db::instances::{self, InstanceRow};
use crate::db::leases::{self, LeaseRow, LEADER};
use crate::db::Conn;

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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// Who this process is among the instances on one database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `<hostname>-<pid>-<random>`: unique even when a pid is reused.
    pub id: String,
    pub hostname: String,
    pub pid: u32,
}

impl Identity {
    /// Whether the process `pid` on `hostname` is known to have died: it ran on this machine
    /// (same host name) and no longer does (Linux's `/proc`). Anything else is not known, so
    /// `false`: a process still alive but stopped (SIGSTOP) or a zombie counts as alive.
    pub fn has_died(&self, hostname: &str, pid: i32) -> bool {
        let proc_fs = std::path::Path::new("/proc/self").exists();
        hostname == self.hostname
            && proc_fs
            && u32::try_from(pid).is_ok_and(|pid| {
                pid != self.pid && !std::path::Path::new(&format!("/proc/{pid}")).exists()
            })
    }

    pub fn of_this_process() -> Identity {
        use std::hash::{BuildHasher, Hasher};
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".to_owned());
        let pid = std::process::id();
        // Randomly keyed by the standard library, so two processes never draw the same suffix.
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u32(pid);
        hasher.write_i64(Utc::now().timestamp_nanos_opt().unwrap_or_default());
        let suffix = hasher.finish() & 0xffff_ffff;
        Identity {
            id: format!("{hostname}-{pid}-{suffix:08x}"),
            hostname,
            pid,
        }
    }
}

#[derive(Debug)]
struct Board {
    identity: Identity,
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
        StatusBoard::for_instance(Identity::of_this_process(), source)
    }

    /// A board for the instance `identity`.
    pub fn for_instance(identity: Identity, source: &str) -> Self {
        StatusBoard(Arc::new(Board {
            identity,
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

    /// Who this process is.
    pub fn identity(&self) -> &Identity {
        &self.0.identity
    }

    /// `ticked` (the row of the instance that ticked last), or this instance's own row when this
    /// instance has ticked since.
    fn fresher(&self, ticked: Option<InstanceRow>, now: NaiveDateTime) -> Option<InstanceRow> {
        let own = self.engine().last_tick_at.map(|t| t.naive_utc());
        match (&ticked, own) {
            (Some(row), Some(own)) if row.last_tick_at >= Some(own) => ticked,
            (_, Some(_)) => Some(self.row(now, false)),
            (_, None) => ticked,
        }
    }

    /// This instance's `instances` row at `now`: its heartbeat and its engine's status.
    pub fn row(&self, now: NaiveDateTime, is_leader: bool) -> InstanceRow {
        let feed = self.feed();
        let engine = self.engine();
        let scan = self.scan();
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let identity = &self.0.identity;
        InstanceRow {
            id: identity.id.clone(),
            hostname: identity.hostname.clone(),
            pid: i32::try_from(identity.pid).unwrap_or(i32::MAX),
            started_at: self.0.started_at.naive_utc(),
            heartbeat_at: now,
            is_leader,
            last_tick_at: engine.last_tick_at.map(|t| t.naive_utc()),
            last_tick_ms: engine.last_tick_ms,
            last_ok_at: engine.last_ok_at.map(|t| t.naive_utc()),
            tick_error: engine.last_error,
            ticks: count(engine.ticks),
            failed_ticks: count(engine.failed_ticks),
            feed_source: feed.source,
            feed_status: feed.status.as_str().to_owned(),
            feed_error: feed.error,
            feed_updated_at: feed.last_update.map(|t| t.naive_utc()),
            booking_failures: serde_json::to_string(&engine.booking_failures)
                .unwrap_or_else(|_| "[]".to_owned()),
            booking_failures_total: count(engine.booking_failures_total),
            scanned_at: scan.last_scan_at.map(|t| t.naive_utc()),
            scans: count(scan.scans),
            failed_scans: count(scan.failed_scans),
            scan_error: scan.last_error,
            scan_results: serde_json::to_string(&scan.results).unwrap_or_else(|_| "[]".to_owned()),
        }
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

impl FeedHealth {
    pub fn as_str(self) -> &'static str {
        match self {
            FeedHealth::Ok => "ok",
            FeedHealth::Degraded => "degraded",
            FeedHealth::Down => "down",
        }
    }

    fn parse(text: &str) -> FeedHealth {
        match text {
            "ok" => FeedHealth::Ok,
            "degraded" => FeedHealth::Degraded,
            _ => FeedHealth::Down,
        }
    }
}

/// The engine as every instance shows it (DESIGN.md §9), read from the database: the status the
/// instance that ticked last wrote (normally the leader), the lease, and the instances.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineView {
    pub feed: FeedStatus,
    pub engine: EngineStatus,
    pub scan: ScanStatus,
    pub leader: Option<LeaseRow>,
    pub instances: Vec<InstanceRow>,
    /// The database's clock when this was read.
    pub now: NaiveDateTime,
}

impl EngineView {
    /// The view now: the lease, every instance, and the status of the one that ticked last.
    /// This instance's own status comes from `board` when it is newer than its row (a database
    /// that refuses writes still lets an instance tell why its ticks fail).
    pub fn read(conn: &mut Conn, board: &StatusBoard) -> diesel::QueryResult<EngineView> {
        let now = leases::db_now(conn)?;
        let leader = leases::current(conn, LEADER)?;
        let instances = instances::all(conn)?;
        let ticked = instances
            .iter()
            .filter(|i| i.last_tick_at.is_some())
            .max_by_key(|i| i.last_tick_at)
            .cloned();
        let ticked = board.fresher(ticked, now);
        Ok(EngineView::new(
            ticked.as_ref(),
            leader,
            instances,
            now,
            &board.feed().source,
        ))
    }

    /// Just the feed and the last tick, as `/api/stats` shows them: one query.
    pub fn feed_and_tick(
        conn: &mut Conn,
        board: &StatusBoard,
    ) -> diesel::QueryResult<(FeedStatus, Option<DateTime<Utc>>)> {
        let ticked = board.fresher(instances::last_ticked(conn)?, crate::clock::now_utc());
        let view = EngineView::new(
            ticked.as_ref(),
            None,
            Vec::new(),
            NaiveDateTime::MIN,
            &board.feed().source,
        );
        Ok((view.feed, view.engine.last_tick_at))
    }

    /// The view from the rows; `source` names the feed before any instance has ticked.
    pub fn new(
        ticked: Option<&InstanceRow>,
        leader: Option<LeaseRow>,
        instances: Vec<InstanceRow>,
        now: NaiveDateTime,
        source: &str,
    ) -> EngineView {
        let utc = |t: Option<NaiveDateTime>| t.map(|t| t.and_utc());
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        let Some(row) = ticked else {
            return EngineView {
                feed: FeedStatus {
                    source: source.to_owned(),
                    status: FeedHealth::Down,
                    last_update: None,
                    error: Some("no price received yet".to_owned()),
                },
                engine: EngineStatus::default(),
                scan: ScanStatus::default(),
                leader,
                instances,
                now,
            };
        };
        EngineView {
            feed: FeedStatus {
                source: row.feed_source.clone(),
                status: FeedHealth::parse(&row.feed_status),
                last_update: utc(row.feed_updated_at),
                error: row.feed_error.clone(),
            },
            engine: EngineStatus {
                last_tick_at: utc(row.last_tick_at),
                last_tick_ms: row.last_tick_ms,
                last_ok_at: utc(row.last_ok_at),
                last_error: row.tick_error.clone(),
                ticks: count(row.ticks),
                failed_ticks: count(row.failed_ticks),
                booking_failures: serde_json::from_str(&row.booking_failures).unwrap_or_default(),
                booking_failures_total: count(row.booking_failures_total),
                ..EngineStatus::default()
            },
            scan: ScanStatus {
                last_scan_at: utc(row.scanned_at),
                scans: count(row.scans),
                failed_scans: count(row.failed_scans),
                last_error: row.scan_error.clone(),
                results: serde_json::from_str(&row.scan_results).unwrap_or_default(),
            },
            leader,
            instances,
            now,
        }
    }

    /// Whether `instance` holds an unexpired lease.
    pub fn is_leader(&self, instance: &str) -> bool {
        self.leader
            .as_ref()
            .is_some_and(|l| l.holder == instance && l.expires_at > self.now)
    }

    /// What has stalled (DESIGN.md §13): the ticks when none has run to its end for
    /// 3 × `tick_secs`, the scans likewise for 3 × `scan_secs` when the scanner is on (`Some`).
    /// Counted from the later of `since` (this process's start) and the current leader's
    /// takeover when nothing has succeeded since. `/api/health` and `/metrics` both ask here.
    pub fn stall(&self, since: DateTime<Utc>, tick_secs: u64, scan_secs: Option<u64>) -> Stall {
        let now = self.now.and_utc();
        let since = self
            .leader
            .as_ref()
            .map_or(since, |l| since.max(l.acquired_at.and_utc()));
        Stall {
            ticks: stalled(self.engine.last_ok_at, since, now, tick_secs),
            scans: scan_secs.is_some_and(|secs| stalled(self.scan.last_scan_at, since, now, secs)),
        }
    }
}

/// What [`EngineView::stall`] found.
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
    now - last_ok.map_or(started, |ok| ok.max(started)) > limit
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
        let row = board.row(later.naive_utc(), true);
        let view = EngineView::new(Some(&row), None, vec![], later.naive_utc(), "bybit");
        let stall = view.stall(board.started_at(), 5, Some(60));
        assert_eq!(
            stall,
            Stall {
                ticks: false,
                scans: true
            }
        );
        assert!(stall.any(), "a stalled scanner is a stall");
        assert!(
            !view.stall(board.started_at(), 5, None).any(),
            "the scanner is off"
        );
    }

    #[test]
    fn the_stall_clock_starts_again_when_a_new_leader_takes_over() {
        let board = StatusBoard::new("bybit");
        let t0 = board.started_at();
        let secs = |s| t0 + chrono::Duration::seconds(s);
        board.record_tick(secs(10), 1.0, None);
        let row = board.row(secs(10).naive_utc(), false);
        let lease = |acquired: DateTime<Utc>| LeaseRow {
            name: "leader".to_owned(),
            holder: "b".to_owned(),
            epoch: 2,
            acquired_at: acquired.naive_utc(),
            expires_at: (acquired + chrono::Duration::seconds(15)).naive_utc(),
        };
        let at = |now: DateTime<Utc>, acquired| {
            EngineView::new(
                Some(&row),
                Some(lease(acquired)),
                vec![],
                now.naive_utc(),
                "bybit",
            )
            .stall(t0, 5, None)
            .ticks
        };
        assert!(!at(secs(26), secs(20)), "10 s since the takeover");
        assert!(at(secs(36), secs(20)), "16 s since the takeover, no tick");
        assert!(at(secs(26), secs(0)), "16 s since the last tick");
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
