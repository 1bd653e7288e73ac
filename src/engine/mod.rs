//! The paper-trading engine: the `update_paper_trades` tick and the actors that run it (and the
//! scanner) on their intervals. Depends on `domain`, `db` and `feeds`; reports to the web layer
//! only through the database (its `instances` row, `events`). A tick or scan that panics or hangs
//! is caught (or timed out), counted as failed, and the next one runs (DESIGN.md §13).
//!
//! Only the leader ticks and scans (DESIGN.md §9). An instance without the lease tries to take it
//! at every turn (and right when the holder's lease runs out); the leader renews it in every
//! tick's own write transaction, and every write it makes as leader is fenced: it lands only
//! while the lease is still this leader's, at the same epoch.

pub mod actor;
pub mod market;
pub mod scanner;
pub mod tick;

use std::any::Any;
use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration as StdDuration, Instant};

use chrono::Utc;
use futures_util::FutureExt;

use crate::config::Config;
use crate::db::exits::Books;
use crate::db::leases::{self, Claim, Fence, LEADER};
use crate::db::{candles, events, instances, signals, write_tx, DbPool};
use crate::domain::notify::Event as NotifyEvent;
use crate::domain::time::truncate_to_micros;
use crate::events::Event;
use crate::feeds::{poll_within, AnyFeed, PriceFeed, QuoteRequest, Window};
use crate::notify::Outbox;
use crate::status::StatusBoard;
use tick::{book_poll_as_leader, TickOutcome};

/// How long after the holder's lease runs out a follower tries to take it.
const TAKEOVER_MARGIN: StdDuration = StdDuration::from_millis(50);
/// Events are kept this long for the streams of every instance.
const EVENTS_KEPT: chrono::Duration = chrono::Duration::hours(1);
/// How often the leader prunes old candles (DESIGN.md §11).
const CANDLE_PRUNE_EVERY: StdDuration = StdDuration::from_secs(3_600);

/// Everything a tick needs. Holds no trading state: open trades and the last quotes are read
/// from the database on every tick. Generic over the feed so tests can drive it with their own.
pub struct Engine<F = AnyFeed> {
    pub pool: DbPool,
    pub config: Arc<Config>,
    pub feed: F,
    pub status: StatusBoard,
    /// What the engine's changes announce (DESIGN.md §12).
    pub outbox: Outbox,
    /// How long the leader's lease lasts from each renewal.
    pub lease: StdDuration,
    /// This instance's proof of leadership, while it believes it leads; every write as leader
    /// is checked against the database with it.
    fence: Mutex<Option<Fence>>,
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
    /// Whether this engine has ticked: its first tick announces the feed's health when it
    /// differs from the last one announced.
    ticked: AtomicBool,
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
    /// Another instance leads (or took over while this tick ran); nothing was written.
    #[error("not the leader: {0}")]
    NotLeader(String),
}

/// What one turn of the tick actor came to.
#[derive(Debug)]
pub enum Turn {
    /// This instance leads and ran a tick.
    Led(Result<TickOutcome, TickError>),
    /// Another instance leads (or the lease could not be read): try again after `retry_in`,
    /// when the holder's lease runs out unless it renews, at most one interval.
    Followed {
        holder: String,
        retry_in: StdDuration,
    },
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
    pub fn new(pool: DbPool, config: Arc<Config>, feed: F, status: StatusBoard) -> Self {
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
            outbox: Outbox::from_config(&config),
            lease: StdDuration::from_secs(config.leader_lease_secs),
            config,
            feed,
            status,
            fence: Mutex::new(None),
            tick_timeout,
            scan_timeout,
            poll_timeout,
            scan_fetch_timeout,
            in_flight: AtomicUsize::new(0),
            ticked: AtomicBool::new(false),
        }
    }

    /// The same engine with other time limits for a tick and a scan.
    pub fn with_timeouts(mut self, tick: StdDuration, scan: StdDuration) -> Self {
        self.tick_timeout = tick;
        self.scan_timeout = scan;
        self
    }

    /// This instance's fence, while it believes it leads.
    pub fn fence(&self) -> Option<Fence> {
        self.fence
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set_fence(&self, fence: Option<Fence>) {
        *self.fence.lock().unwrap_or_else(PoisonError::into_inner) = fence;
    }

    /// Whether this instance believes it leads (the database has the last word on every write).
    pub fn is_leader(&self) -> bool {
        self.fence().is_some()
    }

    /// One turn of the tick actor: lead (taking the lease when it is free) and tick, or follow.
    pub async fn turn(self: &Arc<Self>) -> Turn {
        let interval = StdDuration::from_secs(self.config.tick_secs);
        let fence = match self.fence() {
            Some(fence) => fence,
            None => match self.try_lead().await {
                Ok(Claim::Leader { fence, .. }) => fence,
                Ok(Claim::Follower { lease, now }) => {
                    let left = (lease.expires_at - now).to_std().unwrap_or_default();
                    return Turn::Followed {
                        holder: lease.holder,
                        retry_in: (left + TAKEOVER_MARGIN).min(interval),
                    };
                }
                Err(e) => {
                    log::warn!("could not claim the leader's lease, trying again: {e}");
                    return Turn::Followed {
                        holder: String::new(),
                        retry_in: interval,
                    };
                }
            },
        };
        Turn::Led(self.tick_as(fence).await)
    }

    /// Take the leader's lease if it is free (or renew it), and beat this instance's heartbeat.
    pub async fn try_lead(self: &Arc<Self>) -> Result<Claim, TickError> {
        let claim = guarded(self.tick_timeout, self.claim()).await?;
        match &claim {
            Claim::Leader { fence, lease } => {
                if self.fence().as_ref() != Some(fence) {
                    log::info!(
                        "leading as {} (lease epoch {}, until {})",
                        fence.holder,
                        fence.epoch,
                        lease.expires_at
                    );
                }
                self.set_fence(Some(fence.clone()));
            }
            Claim::Follower { .. } => self.set_fence(None),
        }
        Ok(claim)
    }

    /// Take or renew the lease, and beat this instance's heartbeat, in one write transaction.
    async fn claim(self: &Arc<Self>) -> Result<Claim, TickError> {
        let engine = Arc::clone(self);
        joined(
            actix_web::rt::task::spawn_blocking(move || {
                let mut conn = engine
                    .pool
                    .get()
                    .map_err(|e| TickError::Db(e.to_string()))?;
                let identity = engine.status.identity();
                let me = identity.id.clone();
                let gone = |hostname: &str, pid: i32| identity.has_died(hostname, pid);
                write_tx(&mut conn, |conn| {
                    let claim =
                        leases::claim_in_transaction(conn, LEADER, &me, engine.lease, &gone)?;
                    let now = leases::db_now(conn)?;
                    let leads = matches!(claim, Claim::Leader { .. });
                    instances::store(conn, &engine.status.row(now, leads))?;
                    if leads {
                        instances::set_leader(conn, &me)?;
                    }
                    // A new leadership (not a renewal) is announced with the claim that took it.
                    if let Claim::Leader { fence, .. } = &claim {
                        if engine.fence().as_ref() != Some(fence) {
                            engine
                                .outbox
                                .leader_changed(conn, &fence.holder, fence.epoch, now)?;
                        }
                    }
                    Ok::<_, diesel::result::Error>(claim)
                })
                .map_err(|e| TickError::Db(e.to_string()))
            })
            .await,
        )?
    }

    /// One tick as this instance, whatever it holds: `Err(NotLeader)` when another instance
    /// leads. What tests and the benchmarks call.
    pub async fn tick(self: &Arc<Self>) -> Result<TickOutcome, TickError> {
        match self.turn().await {
            Turn::Led(result) => result,
            Turn::Followed { holder, .. } => {
                Err(TickError::NotLeader(format!("{holder} holds the lease")))
            }
        }
    }

    /// Poll the feed for the watch-list and every symbol with open trades (windows from the
    /// database), then, in one transaction fenced by the lease, store the quotes the glitch guard
    /// accepts and run `update_paper_trades` on them. Never panics and never runs past
    /// `tick_timeout`.
    async fn tick_as(self: &Arc<Self>, fence: Fence) -> Result<TickOutcome, TickError> {
        let started = Instant::now();
        let result = guarded(self.tick_timeout, self.run_tick(fence)).await;
        if let Err(TickError::NotLeader(why)) = &result {
            log::warn!("lost the leader's lease ({why}); this tick booked nothing");
            self.set_fence(None);
            self.report(false);
            return result;
        }
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let now = Utc::now();
        self.status
            .record_tick(now, ms, result.as_ref().err().map(ToString::to_string));
        match &result {
            Ok(_) => {}
            // A write under way is not abandoned with its tick: it lands (or not) on its own.
            Err(e @ TickError::TimedOut(_)) => log::warn!(
                "tick {e}, retrying next tick; a database write under way still completes"
            ),
            Err(e) => log::warn!("tick failed, nothing changed, retrying next tick: {e}"),
        }
        self.report(true);
        result
    }

    /// Write this instance's status to its `instances` row, and (`ticked`) announce a tick to
    /// every instance's streams; as leader, forget instances that stopped beating long ago and
    /// old events. In the background: a database that is slow to answer never holds up the
    /// next tick, and the row is built when it is written, so it is never older than one before.
    fn report(self: &Arc<Self>, ticked: bool) {
        let engine = Arc::clone(self);
        actix_web::rt::task::spawn_blocking(move || {
            let written = engine
                .pool
                .get()
                .map_err(|e| e.to_string())
                .and_then(|mut conn| {
                    write_tx(&mut conn, |conn| {
                        let now = leases::db_now(conn)?;
                        let leads = engine.is_leader();
                        instances::store(conn, &engine.status.row(now, leads))?;
                        if ticked {
                            events::record(conn, Event::Tick, now)?;
                        }
                        if leads {
                            let forgotten = chrono::Duration::from_std(engine.lease * 10)
                                .unwrap_or(EVENTS_KEPT)
                                .max(chrono::Duration::minutes(1));
                            instances::prune(conn, now - forgotten)?;
                            events::prune(conn, now - EVENTS_KEPT)?;
                        }
                        Ok::<_, diesel::result::Error>(())
                    })
                    .map_err(|e| e.to_string())
                });
            if let Err(e) = written {
                log::warn!("could not write this instance's status: {e}");
            }
        });
    }

    /// Give the lease up and remove this instance's row (a clean stop), so another instance
    /// takes over at its next try.
    pub fn resign(&self) {
        let me = self.status.identity().id.clone();
        let resigned = self
            .pool
            .get()
            .map_err(|e| e.to_string())
            .and_then(|mut conn| {
                leases::release(&mut conn, LEADER, &me)
                    .and_then(|()| instances::remove(&mut conn, &me))
                    .map_err(|e| e.to_string())
            });
        self.set_fence(None);
        if let Err(e) = resigned {
            log::warn!("could not give the leader's lease up: {e}");
        }
    }

    /// Report what a committed tick booked: its closes in the log (their events were committed
    /// with them), the trades it could not book on the status board. Called by the blocking job
    /// right after its commit, so this happens even when the tick was given up for lost.
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

    async fn run_tick(self: &Arc<Self>, fence: Fence) -> Result<TickOutcome, TickError> {
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
        let prune_fence = fence.clone();
        let (guarded, outcome) = joined(
            actix_web::rt::task::spawn_blocking(move || {
                engine.in_flight.fetch_add(1, Ordering::SeqCst);
                let _guard = InFlight(&engine.in_flight);
                let mut conn = engine
                    .pool
                    .get()
                    .map_err(|e| TickError::Db(e.to_string()))?;
                let booked = book_poll_as_leader(
                    &mut conn,
                    &fence,
                    engine.lease,
                    quotes,
                    &Books {
                        rules: &engine.config.rules,
                        initial_balance: engine.config.initial_balance,
                        outbox: &engine.outbox,
                    },
                    truncate_to_micros(now.naive_utc()),
                )
                .map_err(|e| TickError::Db(e.to_string()))?
                .ok_or_else(|| {
                    TickError::NotLeader(format!(
                        "{}'s lease of epoch {} ran out or passed to another instance",
                        fence.holder, fence.epoch
                    ))
                })?;
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
        let first = !self.ticked.swap(true, Ordering::SeqCst);
        if first || current.status != previous.status {
            self.announce_feed(prune_fence.clone(), &current).await;
        }
        self.status.set_feed(current);
        self.status.count_feed_errors(polled.failures.len() as u64);
        self.summarise_yesterday(prune_fence.clone()).await;
        self.prune_candles(prune_fence).await;
        Ok(outcome)
    }

    /// As the leader holding `fence`, queue `feed_down` or `feed_recovered` when the feed's
    /// health differs from the last one announced (`Outbox::feed_health`). Best effort: a
    /// failure is logged, and the next change is announced.
    async fn announce_feed(self: &Arc<Self>, fence: Fence, feed: &crate::status::FeedStatus) {
        let down = feed.status == crate::status::FeedHealth::Down;
        if !self.outbox.wants(NotifyEvent::FeedDown)
            && !self.outbox.wants(NotifyEvent::FeedRecovered)
        {
            return;
        }
        let engine = Arc::clone(self);
        let (source, error) = (feed.source.clone(), feed.error.clone());
        let queued = joined(
            actix_web::rt::task::spawn_blocking(move || {
                let mut conn = engine.pool.get().map_err(|e| e.to_string())?;
                let at = truncate_to_micros(Utc::now().naive_utc());
                leases::fenced(&mut conn, &fence, |conn| {
                    engine
                        .outbox
                        .feed_health(conn, down, &source, error.as_deref(), at)
                })
                .map_err(|e| e.to_string())
            })
            .await,
        );
        match queued {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => log::warn!("could not queue the feed's notification: {e}"),
            Err(e) => log::warn!("could not queue the feed's notification: {e}"),
        }
    }

    /// As the leader holding `fence`, queue the summary of the day before once
    /// `SIGNALDESK_DAILY_SUMMARY_UTC` has passed today, once per day whichever instance leads
    /// (its dedupe key is the day).
    async fn summarise_yesterday(self: &Arc<Self>, fence: Fence) {
        let now = Utc::now().naive_utc();
        if !self.outbox.wants(NotifyEvent::DailySummary)
            || now.time() < self.config.daily_summary_utc
        {
            return;
        }
        let Some(day) = now.date().pred_opt() else {
            return;
        };
        let engine = Arc::clone(self);
        let queued = joined(
            actix_web::rt::task::spawn_blocking(move || {
                let mut conn = engine.pool.get().map_err(|e| e.to_string())?;
                let key = format!("daily_summary:{day}");
                if engine
                    .outbox
                    .queued(&mut conn, &key)
                    .map_err(|e| e.to_string())?
                {
                    return Ok(0);
                }
                leases::fenced(&mut conn, &fence, |conn| {
                    let summary =
                        crate::notify::summarise_day(conn, day, engine.config.initial_balance)?;
                    engine.outbox.daily_summary(conn, day, &summary, now)
                })
                .map(Option::unwrap_or_default)
                .map_err(|e| e.to_string())
            })
            .await,
        );
        match queued {
            Ok(Ok(0)) => {}
            Ok(Ok(_)) => log::info!("queued the daily summary of {day}"),
            Ok(Err(e)) => log::warn!("could not queue the daily summary, trying again: {e}"),
            Err(e) => log::warn!("could not queue the daily summary, trying again: {e}"),
        }
    }

    /// As the leader holding `fence`, when it is due (about once an hour, whichever instance
    /// leads: `leases::take_due`), delete the candles older than `SIGNALDESK_CANDLE_RETENTION_DAYS`
    /// that lie outside every trade's span (DESIGN.md §11), in one write transaction fenced by
    /// the lease. A failure is logged and tried again at the next tick; the tick it follows is
    /// booked either way.
    async fn prune_candles(self: &Arc<Self>, fence: Fence) {
        let engine = Arc::clone(self);
        let pruned = joined(
            actix_web::rt::task::spawn_blocking(move || {
                let mut conn = engine.pool.get().map_err(|e| e.to_string())?;
                let retention =
                    chrono::Duration::days(i64::from(engine.config.candle_retention_days));
                leases::fenced(&mut conn, &fence, |conn| {
                    let me = &fence.holder;
                    if !leases::take_due(conn, leases::CANDLE_PRUNE, me, CANDLE_PRUNE_EVERY)? {
                        return Ok::<_, diesel::result::Error>(None);
                    }
                    let cutoff = leases::db_now(conn)? - retention;
                    Ok(Some((candles::prune(conn, cutoff)?, cutoff)))
                })
                .map(Option::flatten)
                .map_err(|e| e.to_string())
            })
            .await,
        );
        match pruned {
            Ok(Ok(Some((deleted, cutoff)))) => log::info!(
                "pruned {deleted} candles from before {cutoff} outside every trade's span"
            ),
            Ok(Ok(None)) => {}
            Ok(Err(e)) => log::warn!("could not prune old candles, trying again next tick: {e}"),
            Err(e) => log::warn!("could not prune old candles, trying again next tick: {e}"),
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
