//! Price feeds (DESIGN.md §3): one [`PriceFeed`] abstraction with four sources — the Bybit and
//! Binance public REST APIs, a deterministic simulated market, and replayed historical klines.
//! A feed answers with validated quotes or typed errors, never with a price that is not finite
//! and positive, a malformed candle, or a stale price. Depends on `domain` only.

mod binance;
mod bybit;
mod exchange;
pub mod http;
pub mod replay;
pub mod rng;
pub mod simulated;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use binance::Binance;
pub use bybit::Bybit;
pub use exchange::{Exchange, ExchangeFeed, Ticker};
pub use replay::ReplayFeed;
pub use simulated::SimulatedFeed;

use crate::config::{Config, FeedKind};
use crate::domain::market::{Candle, MarketDataError, Timeframe};
use crate::status::{FeedHealth, FeedStatus};
use http::RetryPolicy;

/// Why a feed gave no price.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FeedError {
    #[error("timed out: {0}")]
    Timeout(String),
    #[error("network error: {0}")]
    Network(String),
    #[error("HTTP {status}: {body}")]
    Http { status: u16, body: String },
    #[error("rate limited{}", retry_after_secs.map(|s| format!(", retry after {s}s")).unwrap_or_default())]
    RateLimited { retry_after_secs: Option<u64> },
    #[error("exchange error {code}: {message}")]
    Exchange { code: i64, message: String },
    #[error("malformed response: {0}")]
    Malformed(String),
    #[error("bad market data for {symbol}: {source}")]
    BadData {
        symbol: String,
        source: MarketDataError,
    },
    #[error("{0} is not listed by the feed")]
    UnknownSymbol(String),
    #[error("price is stale: {age_secs}s old (limit {limit_secs}s)")]
    Stale { age_secs: i64, limit_secs: u64 },
    #[error("no data: {0}")]
    NoData(String),
    #[error(
        "implausible price {price}: over {limit_pct}% away from the last accepted {previous}; \
         accepted when the next poll confirms it"
    )]
    Implausible {
        price: f64,
        previous: f64,
        limit_pct: f64,
    },
}

/// The span a position was exposed to since the previous tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The previous tick.
    pub since: DateTime<Utc>,
    /// The trade's open: candles that began before it are ignored.
    pub not_before: DateTime<Utc>,
}

/// How much market before a trade's open its first tick reads: the hour its chart shows
/// before the entry (DESIGN.md §11), in the same request as the window.
pub const LEAD_IN: chrono::Duration = chrono::Duration::hours(1);

impl Window {
    /// Where the klines read for this window begin: at the previous tick, or, while the newest
    /// trade has not been priced yet, [`LEAD_IN`] before its open. The extra minutes are stored
    /// for the chart and never priced: [`crate::domain::market::range_since`] ignores candles
    /// from before the open.
    pub fn read_from(&self) -> DateTime<Utc> {
        if self.since <= self.not_before {
            self.since.min(self.not_before - LEAD_IN)
        } else {
            self.since
        }
    }
}

/// What to fetch for one symbol: the last price, and with a window the high/low inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteRequest {
    pub symbol: String,
    pub window: Option<Window>,
}

/// A validated price for one symbol.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quote {
    pub symbol: String,
    pub last_price: f64,
    /// Highest price in the requested window, the last price included.
    pub high: f64,
    /// Lowest price in the requested window, the last price included.
    pub low: f64,
    /// When the price was current (wall clock); staleness is measured from here.
    pub price_time: DateTime<Utc>,
    /// The market's time for the price; differs from `price_time` only for replay.
    pub market_time: DateTime<Utc>,
    pub change_24h_pct: Option<f64>,
    pub high_24h: Option<f64>,
    pub low_24h: Option<f64>,
    pub volume_24h: Option<f64>,
    /// The 1-minute candles read for the window, oldest first, which the tick stores
    /// (DESIGN.md §11): empty without a window, and from the replay feed, whose candles are in
    /// market time, not the trades' time.
    #[serde(skip)]
    pub minute_candles: Vec<Candle>,
}

impl Quote {
    /// A quote built from candles: `last` is the newest price, `range` the (high, low) of the
    /// requested window, `day` the candles of the last 24 hours (for the 24h figures).
    pub fn from_candles(
        symbol: &str,
        last: f64,
        range: (f64, f64),
        price_time: DateTime<Utc>,
        market_time: DateTime<Utc>,
        day: &[Candle],
    ) -> Quote {
        Quote {
            symbol: symbol.to_owned(),
            last_price: last,
            high: range.0,
            low: range.1,
            price_time,
            market_time,
            change_24h_pct: day.first().map(|c| (last / c.open - 1.0) * 100.0),
            high_24h: day.iter().map(|c| c.high).reduce(f64::max),
            low_24h: day.iter().map(|c| c.low).reduce(f64::min),
            volume_24h: Some(day.iter().map(|c| c.volume).sum()),
            minute_candles: Vec::new(),
        }
    }
}

/// One poll: a quote or an error per requested symbol.
#[derive(Debug, Clone, Default)]
pub struct FeedPoll {
    pub quotes: BTreeMap<String, Quote>,
    pub failures: BTreeMap<String, FeedError>,
}

impl FeedPoll {
    /// ok when every symbol has a fresh quote, down when none has, degraded in between.
    pub fn health(&self) -> FeedHealth {
        match (self.quotes.is_empty(), self.failures.is_empty()) {
            (false, true) => FeedHealth::Ok,
            (true, _) => FeedHealth::Down,
            (false, false) => FeedHealth::Degraded,
        }
    }

    /// The status to show, given the previous one (for the last good update time).
    pub fn status(&self, source: &str, previous: &FeedStatus, now: DateTime<Utc>) -> FeedStatus {
        let error = (!self.failures.is_empty()).then(|| {
            self.failures
                .iter()
                .map(|(symbol, e)| format!("{symbol}: {e}"))
                .collect::<Vec<_>>()
                .join("; ")
        });
        FeedStatus {
            source: source.to_owned(),
            status: self.health(),
            last_update: if self.quotes.is_empty() {
                previous.last_update
            } else {
                Some(now)
            },
            error,
        }
    }
}

/// A source of prices and candles.
#[allow(async_fn_in_trait)]
pub trait PriceFeed {
    /// `bybit`, `binance`, `simulated` or `replay`.
    fn source(&self) -> &'static str;

    /// One result per request, in any order. `now` is the wall clock.
    async fn quotes(
        &self,
        requests: &[QuoteRequest],
        now: DateTime<Utc>,
    ) -> Vec<(String, Result<Quote, FeedError>)>;

    /// The latest `limit` candles of `timeframe`, oldest first, the forming one included.
    async fn candles(
        &self,
        symbol: &str,
        timeframe: Timeframe,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<Candle>, FeedError>;
}

/// Poll `feed` and drop every quote older than `stale_secs`: a stale price is an error, never a
/// price (DESIGN.md §3).
pub async fn poll<F: PriceFeed>(
    feed: &F,
    requests: &[QuoteRequest],
    now: DateTime<Utc>,
    stale_secs: u64,
) -> FeedPoll {
    let mut poll = FeedPoll::default();
    for (symbol, result) in feed.quotes(requests, now).await {
        let checked = result.and_then(|quote| {
            let age_secs = (now - quote.price_time).num_seconds();
            if age_secs > stale_secs as i64 {
                Err(FeedError::Stale {
                    age_secs,
                    limit_secs: stale_secs,
                })
            } else {
                Ok(quote)
            }
        });
        match checked {
            Ok(quote) => {
                poll.quotes.insert(symbol, quote);
            }
            Err(e) => {
                poll.failures.insert(symbol, e);
            }
        }
    }
    poll
}

/// [`poll`], cut off after `limit`: a feed that has not answered by then (an exchange that
/// accepts connections but never answers, retried three times) counts as a timeout for every
/// requested symbol, so the tick still runs to its end on time (DESIGN.md §13: a feed outage is
/// the feed's status, not a stall).
pub async fn poll_within<F: PriceFeed>(
    feed: &F,
    requests: &[QuoteRequest],
    now: DateTime<Utc>,
    stale_secs: u64,
    limit: Duration,
) -> FeedPoll {
    match actix_web::rt::time::timeout(limit, poll(feed, requests, now, stale_secs)).await {
        Ok(polled) => polled,
        Err(_) => FeedPoll {
            quotes: BTreeMap::new(),
            failures: requests
                .iter()
                .map(|r| {
                    let error = FeedError::Timeout(format!("no answer within {limit:?}"));
                    (r.symbol.clone(), error)
                })
                .collect(),
        },
    }
}

/// The feed chosen by configuration.
#[derive(Debug)]
pub enum AnyFeed {
    Bybit(ExchangeFeed<Bybit>),
    Binance(ExchangeFeed<Binance>),
    Simulated(SimulatedFeed),
    Replay(ReplayFeed),
}

/// Seed of the simulated market: fixed, so every run and every machine sees the same prices.
pub const SIMULATED_SEED: u64 = 42;

impl AnyFeed {
    /// Build the configured feed. Replay files are read here, so a bad file stops the start.
    pub fn from_config(config: &Config, started: DateTime<Utc>) -> Result<AnyFeed, FeedError> {
        let policy = RetryPolicy {
            timeout: Duration::from_secs(config.tick_secs.clamp(2, 10)),
            ..RetryPolicy::default()
        };
        let url = |kind: FeedKind| {
            config
                .exchange_url
                .clone()
                .or_else(|| kind.default_exchange_url().map(str::to_owned))
                .unwrap_or_default()
        };
        Ok(match config.feed {
            FeedKind::Bybit => {
                AnyFeed::Bybit(ExchangeFeed::new(Bybit, &url(FeedKind::Bybit), policy)?)
            }
            FeedKind::Binance => {
                AnyFeed::Binance(ExchangeFeed::new(Binance, &url(FeedKind::Binance), policy)?)
            }
            FeedKind::Simulated => AnyFeed::Simulated(SimulatedFeed::new(SIMULATED_SEED)),
            FeedKind::Replay => {
                let dir = config.replay_dir.clone().unwrap_or_default();
                AnyFeed::Replay(ReplayFeed::open(
                    &dir,
                    &config
                        .symbols
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>(),
                    config.replay_speed,
                    started,
                )?)
            }
        })
    }
}

impl PriceFeed for AnyFeed {
    fn source(&self) -> &'static str {
        match self {
            AnyFeed::Bybit(f) => f.source(),
            AnyFeed::Binance(f) => f.source(),
            AnyFeed::Simulated(f) => f.source(),
            AnyFeed::Replay(f) => f.source(),
        }
    }

    async fn quotes(
        &self,
        requests: &[QuoteRequest],
        now: DateTime<Utc>,
    ) -> Vec<(String, Result<Quote, FeedError>)> {
        match self {
            AnyFeed::Bybit(f) => f.quotes(requests, now).await,
            AnyFeed::Binance(f) => f.quotes(requests, now).await,
            AnyFeed::Simulated(f) => f.quotes(requests, now).await,
            AnyFeed::Replay(f) => f.quotes(requests, now).await,
        }
    }

    async fn candles(
        &self,
        symbol: &str,
        timeframe: Timeframe,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<Candle>, FeedError> {
        match self {
            AnyFeed::Bybit(f) => f.candles(symbol, timeframe, limit, now).await,
            AnyFeed::Binance(f) => f.candles(symbol, timeframe, limit, now).await,
            AnyFeed::Simulated(f) => f.candles(symbol, timeframe, limit, now).await,
            AnyFeed::Replay(f) => f.candles(symbol, timeframe, limit, now).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trade_not_priced_yet_reads_the_hour_before_its_open_and_later_ticks_do_not() {
        let open = DateTime::from_timestamp(1_764_000_000, 0).unwrap();
        let minutes = chrono::Duration::minutes;
        let cases = [
            (open, open, open - LEAD_IN, "the first tick of a new trade"),
            (
                open - minutes(5),
                open,
                open - LEAD_IN,
                "an older trade of the symbol, priced before the new one opened",
            ),
            (open + minutes(1), open, open + minutes(1), "a later tick"),
        ];
        for (since, not_before, read_from, reason) in cases {
            let window = Window { since, not_before };
            assert_eq!(window.read_from(), read_from, "{reason}");
        }
    }
}
