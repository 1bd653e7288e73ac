//! The paper-trading engine: the `update_paper_trades` tick and the actor that runs it on
//! `SIGNALDESK_TICK_SECS`. Depends on `domain`, `db` and `feeds`; reports to the web layer only
//! through the [`StatusBoard`].

pub mod actor;
pub mod scanner;
pub mod tick;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::Utc;

use crate::config::Config;
use crate::db::{signals, DbPool};
use crate::domain::time::truncate_to_micros;
use crate::events::{Event, EventBus};
use crate::feeds::{
    plausible, poll, AnyFeed, FeedError, FeedPoll, PriceFeed, QuoteRequest, Window,
};
use crate::status::StatusBoard;
use tick::{update_paper_trades, TickOutcome};

/// Everything a tick needs. Holds no trading state: open trades are read from the database on
/// every tick.
pub struct Engine {
    pub pool: DbPool,
    pub config: Arc<Config>,
    pub feed: AnyFeed,
    pub status: StatusBoard,
    pub events: EventBus,
    /// Database writes under way (they finish even when the process is asked to stop).
    in_flight: AtomicUsize,
    /// Each symbol's price at the previous poll, the reference of the glitch guard
    /// (`feeds::plausible`); operational, like the feed status, not trading state.
    last_seen: std::sync::Mutex<BTreeMap<String, f64>>,
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
}

impl Engine {
    pub fn new(
        pool: DbPool,
        config: Arc<Config>,
        feed: AnyFeed,
        status: StatusBoard,
        events: EventBus,
    ) -> Self {
        Engine {
            pool,
            config,
            feed,
            status,
            events,
            in_flight: AtomicUsize::new(0),
            last_seen: std::sync::Mutex::new(BTreeMap::new()),
        }
    }

    /// Poll the feed for the watch-list and every symbol with open trades (windows from the
    /// database), publish the feed status and prices, then run `update_paper_trades`.
    pub async fn tick(self: &Arc<Self>) -> Result<TickOutcome, TickError> {
        let started = Instant::now();
        let result = self.run_tick().await;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        self.status.record_tick(Utc::now(), ms, result.is_ok());
        match &result {
            Ok(outcome) => {
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
            Err(e) => log::warn!("tick failed, nothing changed, retrying next tick: {e}"),
        }
        self.events.publish(Event::Tick);
        result
    }

    async fn run_tick(self: &Arc<Self>) -> Result<TickOutcome, TickError> {
        let pool = self.pool.clone();
        let windows = actix_web::rt::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(|e| TickError::Db(e.to_string()))?;
            signals::active_windows(&mut conn).map_err(|e| TickError::Db(e.to_string()))
        })
        .await
        .map_err(|e| TickError::Db(e.to_string()))??;

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
        let mut polled = poll(&self.feed, &requests, now, self.config.stale_secs).await;
        self.drop_glitches(&mut polled);
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
        self.status.update_prices(&polled.quotes);
        self.status.count_feed_errors(polled.failures.len() as u64);

        let engine = Arc::clone(self);
        let quotes = polled.quotes;
        actix_web::rt::task::spawn_blocking(move || {
            engine.in_flight.fetch_add(1, Ordering::SeqCst);
            let _guard = InFlight(&engine.in_flight);
            let mut conn = engine
                .pool
                .get()
                .map_err(|e| TickError::Db(e.to_string()))?;
            update_paper_trades(
                &mut conn,
                &quotes,
                &engine.config.rules,
                engine.config.initial_balance,
                truncate_to_micros(now.naive_utc()),
            )
            .map_err(|e| TickError::Db(e.to_string()))
        })
        .await
        .map_err(|e| TickError::Db(e.to_string()))?
    }

    /// Move quotes that jump implausibly far from the previous poll to the failures: a glitch
    /// never moves or closes a trade.
    fn drop_glitches(&self, polled: &mut FeedPoll) {
        let mut last_seen = self.last_seen.lock().unwrap_or_else(|e| e.into_inner());
        let glitches: Vec<(String, FeedError)> = polled
            .quotes
            .iter()
            .filter_map(|(symbol, quote)| {
                let verdict = plausible(quote, last_seen.get(symbol).copied());
                last_seen.insert(symbol.clone(), quote.last_price);
                verdict.err().map(|e| (symbol.clone(), e))
            })
            .collect();
        for (symbol, error) in glitches {
            polled.quotes.remove(&symbol);
            polled.failures.insert(symbol, error);
        }
    }

    /// Wait (up to `limit`) for database writes under way to finish; used at shutdown.
    pub fn wait_idle(&self, limit: StdDuration) {
        let deadline = Instant::now() + limit;
        while self.in_flight.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            std::thread::sleep(StdDuration::from_millis(20));
        }
    }
}
