//! The paper-trading engine: the `update_paper_trades` tick and the actors that run it (and the
//! scanner) on their intervals. Depends on `domain`, `db` and `feeds`; reports to the web layer
//! only through the database and the [`StatusBoard`]. A tick or scan that panics or hangs is
//! caught (or timed out), counted as failed, and the next one runs (DESIGN.md §13).

pub mod actor;
pub mod market;
pub mod scanner;
pub mod tick;

use std::any::Any;
use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::Utc;
use futures_util::FutureExt;

use crate::config::Config;
use crate::db::{signals, DbPool};
use crate::domain::time::truncate_to_micros;
use crate::events::{Event, EventBus};
use crate::feeds::{poll_within, AnyFeed, PriceFeed, QuoteRequest, Window};
use crate::status::StatusBoard;
use tick::{book_poll, TickOutcome};

/// Everything a tick needs. Holds no trading state: open trades and the last quotes are read
/// from the database on every tick. Generic over the feed so tests can drive it with their own.
pub struct Engine<F = AnyFeed> {
    pub pool: DbPool,
    pub config: Arc<Config>,
    pub feed: F,
    pub status: StatusBoard,
    pub events: EventBus,
    /// Longest a tick may run before it is abandoned and counted as failed.
    pub tick_timeout: StdDuration,
    /// Longest a scan may run.
    pub scan_timeout: StdDuration,
    /// Longest a tick waits for the feed's answers.
    pub poll_timeout: StdDuration,
    /// Longest a scan waits for a symbol's candles.
    pub scan_fetch_timeout: StdDuration,
    /// Database writes under way (they finish even when the process is asked to stop).
    in_flight: AtomicUsize,
}

/// Decrements the in-flight count when the write is over, however it ends.
struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TickError {
    #[error("database: {0}")]
    Db(String),
    #[error("panicked: {0}")]
    Panic(String),
    #[error("timed out after {0:?}")]
    TimedOut(StdDuration),
}

/// The message of a caught panic.
pub fn panic_message(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// Run `job` to its end, or report that it panicked or ran past `limit`.
pub async fn guarded<T>(
    limit: StdDuration,
    job: impl std::future::Future<Output = Result<T, TickError>>,
) -> Result<T, TickError> {
    match actix_web::rt::time::timeout(limit, AssertUnwindSafe(job).catch_unwind()).await {
        Ok(Ok(result)) => result,
        Ok(Err(panic)) => Err(TickError::Panic(panic_message(panic.as_ref()))),
        Err(_) => Err(TickError::TimedOut(limit)),
    }
}

/// What a blocking database job's join error means: its panic, or its cancellation.
fn joined<T>(result: Result<T, actix_web::rt::task::JoinError>) -> Result<T, TickError> {
    result.map_err(|e| match e.try_into_panic() {
        Ok(panic) => TickError::Panic(panic_message(panic.as_ref())),
        Err(e) => TickError::Db(e.to_string()),
    })
}

impl<F: PriceFeed + Send + Sync + 'static> Engine<F> {
    pub fn new(
        pool: DbPool,
        config: Arc<Config>,
        feed: F,
        status: StatusBoard,
        events: EventBus,
    ) -> Self {
        // Generous next to a slow but working poll (every request timed out and retried), so
        // only a real hang is cut short.
        let tick_timeout = StdDuration::from_secs(config.tick_secs.saturating_mul(6).max(60));
        let scan_timeout = StdDuration::from_secs(config.scan_secs.saturating_mul(2).max(120));
        // A tick starts at most one interval after the previous one ended; a poll cut off at
        // 1.5 intervals (its write takes milliseconds) ends it well inside the 3 intervals after
        // which health reports a stall, however slowly the exchange fails.
        let poll_timeout = StdDuration::from_millis(config.tick_secs.saturating_mul(1_500));
        // Likewise a scan, which fetches every symbol's candles at once.
        let scan_fetch_timeout = StdDuration::from_millis(config.scan_secs.saturating_mul(1_500));
        Engine {
            pool,
            config,
            feed,
            status,
            events,
            tick_timeout,
            scan_timeout,
            poll_timeout,
            scan_fetch_timeout,
            in_flight: AtomicUsize::new(0),
        }
    }

    /// The same engine with other time limits for a tick and a scan.
    pub fn with_timeouts(mut self, tick: StdDuration, scan: StdDuration) -> Self {
        self.tick_timeout = tick;
        self.scan_timeout = scan;
        self
    }

    /// Poll the feed for the watch-list and every symbol with open trades (windows from the
    /// database), then, in one transaction, store the quotes the glitch guard accepts and run
    /// `update_paper_trades` on them. Never panics and never runs past `tick_timeout`.
    pub async fn tick(self: &Arc<Self>) -> Result<TickOutcome, TickError> {
        let started = Instant::now();
        let result = guarded(self.tick_timeout, self.run_tick()).await;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let now = Utc::now();
        self.status
            .record_tick(now, ms, result.as_ref().err().map(ToString::to_string));
        match &result {
            Ok(_) => {}
            // A write under way is not abandoned with its tick: it lands (or not) on its own
            // and announces what it booked (`announce`).
            Err(e @ TickError::TimedOut(_)) => log::warn!(
                "tick {e}, retrying next tick; a database write under way still completes"
            ),
            Err(e) => log::warn!("tick failed, nothing changed, retrying next tick: {e}"),
        }
        self.events.publish(Event::Tick);
        result
    }

    /// Report what a committed tick booked: its closes as events and in the log, the trades it
    /// could not book on the status board. Called by the blocking job right after its commit, so
    /// a close is announced even when the tick that started it was given up for lost.
    fn announce(&self, outcome: &TickOutcome) {
        let failures: Vec<(i32, String, String)> = outcome
            .failed
            .iter()
            .map(|f| (f.signal_id, f.symbol.clone(), f.error.clone()))
            .collect();
        for failure in &outcome.failed {
            log::error!(
                "could not book #{} {}, skipped until a later tick: {}",
                failure.signal_id,
                failure.symbol,
                failure.error
            );
        }
        self.status.record_booking_failures(Utc::now(), &failures);
        for closed in &outcome.closed {
            self.events.publish(Event::TradeClosed(closed.signal_id));
            log::info!(
                "closed #{} {} {} at {} pnl {:.4}",
                closed.signal_id,
                closed.symbol,
                closed.reason,
                crate::domain::format::price(closed.exit_price),
                closed.pnl
            );
        }
    }

    async fn run_tick(self: &Arc<Self>) -> Result<TickOutcome, TickError> {
        let pool = self.pool.clone();
        let windows = joined(
            actix_web::rt::task::spawn_blocking(move || {
                let mut conn = pool.get().map_err(|e| TickError::Db(e.to_string()))?;
                signals::active_windows(&mut conn).map_err(|e| TickError::Db(e.to_string()))
            })
            .await,
        )??;

        let mut requests: BTreeMap<String, QuoteRequest> = self
            .config
            .symbols
            .iter()
            .map(|s| {
                let request = QuoteRequest {
                    symbol: s.to_string(),
                    window: None,
                };
                (s.to_string(), request)
            })
            .collect();
        for (symbol, since, opened) in windows {
            let window = Window {
                since: since.and_utc(),
                not_before: opened.and_utc(),
            };
            requests.insert(
                symbol.clone(),
                QuoteRequest {
                    symbol,
                    window: Some(window),
                },
            );
        }
        let requests: Vec<QuoteRequest> = requests.into_values().collect();
        let now = Utc::now();
        let mut polled = poll_within(
            &self.feed,
            &requests,
            now,
            self.config.stale_secs,
            self.poll_timeout,
        )
        .await;

        let engine = Arc::clone(self);
        let quotes = std::mem::take(&mut polled.quotes);
        let (guarded, outcome) = joined(
            actix_web::rt::task::spawn_blocking(move || {
                engine.in_flight.fetch_add(1, Ordering::SeqCst);
                let _guard = InFlight(&engine.in_flight);
                let mut conn = engine
                    .pool
                    .get()
                    .map_err(|e| TickError::Db(e.to_string()))?;
                let booked = book_poll(
                    &mut conn,
                    quotes,
                    &engine.config.rules,
                    engine.config.initial_balance,
                    truncate_to_micros(now.naive_utc()),
                )
                .map_err(|e| TickError::Db(e.to_string()))?;
                engine.announce(&booked.1);
                Ok(booked)
            })
            .await,
        )??;

        polled.quotes = guarded.accepted;
        polled.failures.extend(guarded.refused);
        let previous = self.status.feed();
        let current = polled.status(self.feed.source(), &previous, now);
        // Log when the feed's state changes, not on every tick of an outage.
        if current.status != previous.status || current.error != previous.error {
            match &current.error {
                Some(error) => log::warn!("feed {:?}: {error}", current.status),
                None => log::info!("feed ok: fresh prices for every symbol"),
            }
        }
        self.status.set_feed(current);
        self.status.count_feed_errors(polled.failures.len() as u64);
        Ok(outcome)
    }

    /// Wait (up to `limit`) for database writes under way to finish; used at shutdown.
    pub fn wait_idle(&self, limit: StdDuration) {
        let deadline = Instant::now() + limit;
        while self.in_flight.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            std::thread::sleep(StdDuration::from_millis(20));
        }
    }
}
