//! The strategy scanner (DESIGN.md §8): every `SIGNALDESK_SCAN_SECS`, per watch-list symbol,
//! fetch completed candles of the scanner timeframe and of 1h, run the `ict` strategy, and hand
//! each setup to the same intake as the API (`db::intake::open_signal`: gates, sizing, one
//! transaction). One failing symbol never stops the others; a scan that panics or hangs is
//! caught, counted and logged, and the next scan runs.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use serde::Serialize;

use super::actor::Running;
use super::{guarded, Engine};
use crate::db::intake::{open_in_transaction, IntakeError, SignalRequest};
use crate::db::signals::AddOutcome;
use crate::db::{daily_stats, leases, quotes};
use crate::domain::management::ManagementRequest;
use crate::domain::market::{Candle, Timeframe};
use crate::domain::strategy::{ict, Setup};
use crate::domain::time::truncate_to_micros;
use crate::domain::Symbol;
use crate::feeds::{AnyFeed, FeedError, PriceFeed};

/// Candles the strategy reads per timeframe.
pub const CANDLES: usize = 200;

/// What one symbol's scan came to.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct SymbolScan {
    pub symbol: String,
    /// `no setup`, `opened #12`, `already opened`, `refused: <gate reason>`, `invalid: …`, `error: …`.
    pub result: String,
}

/// Only candles that have closed by `now`: a forming candle would let the strategy see a price
/// that may not last.
pub fn completed(
    mut candles: Vec<Candle>,
    timeframe: Timeframe,
    now: DateTime<Utc>,
) -> Vec<Candle> {
    let step = chrono::Duration::seconds(timeframe.secs());
    candles.retain(|c| c.open_time + step <= now);
    candles
}

impl<F: PriceFeed + Send + Sync + 'static> Engine<F> {
    async fn setup_for(
        &self,
        symbol: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Setup>, FeedError> {
        let timeframe = self.config.timeframe;
        let ltf = self
            .feed
            .candles(symbol, timeframe, CANDLES + 1, now)
            .await?;
        let htf = self
            .feed
            .candles(symbol, Timeframe::H1, CANDLES + 1, now)
            .await?;
        let ltf = completed(ltf, timeframe, now);
        let htf = completed(htf, Timeframe::H1, now);
        Ok(ict(&ltf, &htf, timeframe.as_str(), Timeframe::H1.as_str()))
    }

    /// What `setup` (the strategy's answer for `symbol`, or why there is none) comes to: a
    /// signal opened through the intake, a refusal, or an error.
    async fn scan_symbol(
        self: &Arc<Self>,
        symbol: &Symbol,
        setup: Result<Option<Setup>, FeedError>,
    ) -> String {
        let setup = match setup {
            Ok(Some(setup)) => setup,
            Ok(None) => return "no setup".to_owned(),
            Err(e) => return format!("error: {e}"),
        };
        let timeframe = self.config.timeframe.as_str();
        let request = SignalRequest {
            symbol: symbol.clone(),
            direction: setup.direction,
            stop_loss: setup.stop_loss,
            take_profit: setup.take_profit,
            confidence: setup.confidence,
            strategy: "ict".to_owned(),
            timeframe: Some(timeframe.to_owned()),
            // One signal per zone: a setup seen again on the next scan is the same signal.
            external_id: Some(format!("ict:{symbol}:{timeframe}:{}", setup.zone_time)),
            reasons: setup.reasons,
            notes: None,
            // The configuration's management defaults (DESIGN.md §10).
            management: ManagementRequest::default(),
        };
        let Some(fence) = self.fence() else {
            return "not the leader: skipped".to_owned();
        };
        let engine = Arc::clone(self);
        let opened = actix_web::rt::task::spawn_blocking(move || {
            let mut conn = engine.pool.get().map_err(|e| e.to_string())?;
            let now = truncate_to_micros(Utc::now().naive_utc());
            // Priced from the stored quote, as every new signal is (DESIGN.md §9).
            let quote = quotes::get(&mut conn, request.symbol.as_str())
                .map_err(|e| format!("database: {e}"))?
                .filter(|q| q.is_fresh(now, engine.config.stale_secs));
            Ok::<_, String>(quote.map(|quote| {
                // Fenced: a scanner that lost the lease mid-scan opens nothing.
                leases::fenced(&mut conn, &fence, |conn| {
                    open_in_transaction(
                        conn,
                        &request,
                        quote.price,
                        &engine.config.rules,
                        engine.config.initial_balance,
                        &engine.outbox,
                        now,
                    )
                })
            }))
        })
        .await;
        match opened {
            Ok(Ok(Some(Ok(Some(AddOutcome::Created(row)))))) => {
                log::info!(
                    "scanner opened #{} {} {}: {}",
                    row.id,
                    row.symbol,
                    row.direction,
                    row.reasons
                );
                format!("opened #{}", row.id)
            }
            Ok(Ok(Some(Ok(Some(AddOutcome::Existing(_)))))) => "already opened".to_owned(),
            Ok(Ok(Some(Ok(None)))) => "not the leader: skipped".to_owned(),
            Ok(Ok(Some(Err(IntakeError::Refused(refusal))))) => {
                self.status.count_refusal(refusal.gate);
                log::info!(
                    "scanner setup on {symbol} refused by {}: {}",
                    refusal.gate,
                    refusal.message
                );
                format!("refused: {}", refusal.message)
            }
            Ok(Ok(Some(Err(IntakeError::Invalid(rule))))) => format!("invalid: {rule}"),
            Ok(Ok(Some(Err(IntakeError::Db(e))))) => format!("error: database: {e}"),
            Ok(Ok(None)) => "refused: no fresh price".to_owned(),
            Ok(Err(e)) => format!("error: {e}"),
            Err(e) => format!("error: {e}"),
        }
    }

    /// One scan of the watch-list: counts the scan in today's stats, fetches every symbol's
    /// candles, then hands each symbol's setup to the intake in watch-list order.
    pub async fn scan(self: &Arc<Self>) -> Vec<SymbolScan> {
        let now = Utc::now();
        let Some(fence) = self.fence() else {
            return Vec::new();
        };
        let engine = Arc::clone(self);
        let counted = actix_web::rt::task::spawn_blocking(move || {
            let mut conn = engine.pool.get().map_err(|e| e.to_string())?;
            let at = truncate_to_micros(Utc::now().naive_utc());
            leases::fenced(&mut conn, &fence, |conn| {
                daily_stats::record_scan(conn, engine.config.initial_balance, at)
            })
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "not the leader".to_owned())
        })
        .await;
        if let Ok(Err(e)) | Err(e) = counted.map_err(|e| e.to_string()) {
            log::warn!("scan not counted: {e}");
        }
        // Every symbol's candles at once, each cut off at `scan_fetch_timeout`: an exchange
        // that hangs is an error per symbol, not a scan longer than its interval (a stall).
        let limit = self.scan_fetch_timeout;
        let setups = join_all(self.config.symbols.iter().map(|symbol| async move {
            actix_web::rt::time::timeout(limit, self.setup_for(symbol.as_str(), now))
                .await
                .unwrap_or_else(|_| Err(FeedError::Timeout(format!("no candles within {limit:?}"))))
        }))
        .await;
        let previous = self.status.scan().results;
        let mut results = Vec::with_capacity(self.config.symbols.len());
        for (symbol, setup) in self.config.symbols.iter().zip(setups) {
            let result = self.scan_symbol(symbol, setup).await;
            // An error is logged when it starts or changes, not on every scan of an outage.
            let repeated = previous
                .iter()
                .any(|p| p.symbol == symbol.as_str() && p.result == result);
            if result.starts_with("error") && !repeated {
                log::warn!("scan of {symbol}: {result}");
            }
            results.push(SymbolScan {
                symbol: symbol.to_string(),
                result,
            });
        }
        self.status.record_scan(Utc::now(), results.clone());
        self.report(false);
        results
    }
}

/// Runs [`Engine::scan`] every `SIGNALDESK_SCAN_SECS`; a scan never overlaps the previous one,
/// and one that panics or runs past `scan_timeout` is counted as failed.
pub struct ScanActor<F: 'static = AnyFeed> {
    engine: Arc<Engine<F>>,
    running: Arc<AtomicBool>,
}

impl<F: PriceFeed + Send + Sync + 'static> ScanActor<F> {
    pub fn new(engine: Arc<Engine<F>>) -> Self {
        ScanActor {
            engine,
            running: Arc::new(AtomicBool::new(false)),
        }
    }

    fn start_scan(&mut self, ctx: &mut Context<Self>) {
        // Only the leader scans (DESIGN.md §9); its writes are fenced as well.
        if !self.engine.is_leader() {
            return;
        }
        let Some(running) = Running::claim(&self.running) else {
            return;
        };
        let engine = Arc::clone(&self.engine);
        ctx.spawn(
            async move {
                let _running = running;
                let scanned = guarded(engine.scan_timeout, async { Ok(engine.scan().await) });
                if let Err(e) = scanned.await {
                    log::error!("scan failed, the next one runs on time: {e}");
                    engine.status.record_failed_scan(e.to_string());
                    engine.report(false);
                }
            }
            .into_actor(self),
        );
    }
}

impl<F: PriceFeed + Send + Sync + 'static> Actor for ScanActor<F> {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let interval = Duration::from_secs(self.engine.config.scan_secs);
        // The first scan waits one tick so prices are fresh when it runs.
        ctx.run_later(
            Duration::from_secs(self.engine.config.tick_secs),
            |actor, ctx| actor.start_scan(ctx),
        );
        ctx.run_interval(interval, |actor, ctx| actor.start_scan(ctx));
    }
}
