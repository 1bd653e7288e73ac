//! A deterministic simulated market for offline demos and tests: per symbol a mean-reverting
//! random walk of the log price with that symbol's typical volatility, fat tails and occasional
//! wicks. Every 1-minute candle is a pure function of (seed, symbol, minute), so the same seed
//! gives the same market on every machine, and a restart continues the same path.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Timelike, Utc};

use super::rng::{hash_str, SplitMix64};
use super::{FeedError, PriceFeed, Quote, QuoteRequest};
use crate::domain::market::{aggregate, range_since, Candle, Timeframe};

/// Minute 0 of the simulated market: 2025-01-01T00:00:00Z.
const EPOCH_SECS: i64 = 1_735_689_600;
const MINUTES_PER_DAY: i64 = 1_440;
const MINUTES_PER_YEAR: f64 = 525_600.0;
/// Half-life of the pull back to the symbol's base price: 30 days.
const REVERSION_HALF_LIFE_MINUTES: f64 = 30.0 * 1_440.0;

/// Typical level and annualised volatility of a symbol.
#[derive(Debug, Clone, Copy)]
struct Profile {
    base_price: f64,
    annual_vol: f64,
    daily_volume: f64,
}

fn profile(symbol: &str) -> Profile {
    let (base_price, annual_vol, daily_volume) = match symbol {
        "BTCUSDT" => (95_000.0, 0.50, 20_000.0),
        "ETHUSDT" => (3_500.0, 0.65, 300_000.0),
        "SOLUSDT" => (180.0, 0.80, 3_000_000.0),
        "XRPUSDT" => (2.2, 0.75, 200_000_000.0),
        "BNBUSDT" => (650.0, 0.50, 500_000.0),
        "DOGEUSDT" => (0.35, 0.90, 1_000_000_000.0),
        other => {
            // Any other symbol gets a stable level between 0.1 and 1000.
            let h = hash_str(other);
            (
                10f64.powi((h % 5) as i32 - 1) * (1.0 + (h >> 8) as f64 % 9.0),
                0.70,
                1_000_000.0,
            )
        }
    };
    Profile {
        base_price,
        annual_vol,
        daily_volume,
    }
}

/// One simulated minute: the candle, and when inside it the high and low were reached.
#[derive(Debug, Clone, Copy)]
struct Minute {
    candle: Candle,
    /// Fraction of the minute at which the high / low printed.
    high_at: f64,
    low_at: f64,
}

#[derive(Debug)]
struct Path {
    hash: u64,
    profile: Profile,
    /// Log price at the start of each day since the epoch.
    day_starts: Vec<f64>,
}

#[derive(Debug)]
pub struct SimulatedFeed {
    seed: u64,
    paths: Mutex<HashMap<String, Path>>,
}

impl SimulatedFeed {
    pub fn new(seed: u64) -> Self {
        SimulatedFeed {
            seed,
            paths: Mutex::new(HashMap::new()),
        }
    }

    fn rng(&self, path: &Path, minute: i64) -> SplitMix64 {
        SplitMix64::new(
            self.seed
                ^ path.hash.rotate_left(17)
                ^ (minute as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        )
    }

    /// The candle of `minute` starting from log price `x`; returns it and the next log price.
    fn step(&self, path: &Path, minute: i64, x: f64) -> (Minute, f64) {
        let p = path.profile;
        let sigma = p.annual_vol / MINUTES_PER_YEAR.sqrt();
        let theta = std::f64::consts::LN_2 / REVERSION_HALF_LIFE_MINUTES;
        let mut rng = self.rng(path, minute);
        let mut shock = rng.next_normal();
        if rng.next_f64() < 0.01 {
            shock *= 3.0; // fat tails
        }
        let next = x + theta * (p.base_price.ln() - x) + sigma * shock;
        let (open, close) = (x.exp(), next.exp());
        let mut high = open.max(close) * (sigma * rng.next_normal().abs() * 0.7).exp();
        let mut low = open.min(close) * (-sigma * rng.next_normal().abs() * 0.7).exp();
        let wick = rng.next_f64();
        let wick_size = sigma * (4.0 + 6.0 * rng.next_f64());
        if wick < 0.002 {
            high *= wick_size.exp();
        } else if wick < 0.004 {
            low *= (-wick_size).exp();
        }
        let high_at = rng.next_f64();
        let low_at = rng.next_f64();
        let volume = p.daily_volume / MINUTES_PER_DAY as f64 * (0.3 + 1.4 * rng.next_f64());
        let open_time = DateTime::from_timestamp(EPOCH_SECS + minute * 60, 0).unwrap_or_default();
        let candle = Candle {
            open_time,
            open,
            high,
            low,
            close,
            volume,
        };
        (
            Minute {
                candle,
                high_at,
                low_at,
            },
            next,
        )
    }

    /// Minutes `first..=last` of `symbol`.
    fn minutes(&self, symbol: &str, first: i64, last: i64) -> Vec<Minute> {
        let first = first.max(0);
        if last < first {
            return Vec::new();
        }
        let mut paths = self.paths.lock().unwrap_or_else(|p| p.into_inner());
        let path = paths.entry(symbol.to_owned()).or_insert_with(|| {
            let profile = profile(symbol);
            Path {
                hash: hash_str(symbol),
                profile,
                day_starts: vec![profile.base_price.ln()],
            }
        });
        let first_day = (first / MINUTES_PER_DAY) as usize;
        while path.day_starts.len() <= first_day {
            let day = path.day_starts.len() as i64 - 1;
            let mut x = path.day_starts[day as usize];
            for minute in day * MINUTES_PER_DAY..(day + 1) * MINUTES_PER_DAY {
                x = self.step(path, minute, x).1;
            }
            path.day_starts.push(x);
        }
        let mut x = path.day_starts[first_day];
        for minute in first_day as i64 * MINUTES_PER_DAY..first {
            x = self.step(path, minute, x).1;
        }
        let mut out = Vec::with_capacity((last - first + 1) as usize);
        for minute in first..=last {
            let (m, next) = self.step(path, minute, x);
            out.push(m);
            x = next;
        }
        out
    }

    /// Every completed 1-minute candle of `[from, to)`, oldest first: the backtest's history on
    /// the simulated market (the same candles the live feed serves for those minutes). Empty
    /// before the market starts.
    pub fn history(&self, symbol: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Candle> {
        let first = Self::minute_of(from + chrono::Duration::seconds(59));
        let last = Self::minute_of(to - chrono::Duration::seconds(1));
        self.minutes(symbol, first, last)
            .into_iter()
            .map(|m| m.candle)
            .filter(|c| c.open_time >= from && c.open_time < to)
            .collect()
    }

    /// The first minute of the simulated market.
    pub fn market_start() -> DateTime<Utc> {
        DateTime::from_timestamp(EPOCH_SECS, 0).unwrap_or_default()
    }

    /// The forming candle of the minute containing `now`, as much of it as has printed.
    fn partial(minute: &Minute, now: DateTime<Utc>) -> Candle {
        let c = minute.candle;
        let elapsed = f64::from(now.second()) / 60.0 + f64::from(now.nanosecond()) / 60e9;
        let last = c.open + (c.close - c.open) * elapsed;
        let high = if minute.high_at <= elapsed {
            c.high
        } else {
            c.open.max(last)
        };
        let low = if minute.low_at <= elapsed {
            c.low
        } else {
            c.open.min(last)
        };
        Candle {
            high,
            low,
            close: last,
            volume: c.volume * elapsed,
            ..c
        }
    }

    fn minute_of(at: DateTime<Utc>) -> i64 {
        (at.timestamp() - EPOCH_SECS).div_euclid(60)
    }

    /// Completed minutes `first..now` plus the forming minute.
    fn candles_until(&self, symbol: &str, first: i64, now: DateTime<Utc>) -> Vec<Candle> {
        let current = Self::minute_of(now);
        let minutes = self.minutes(symbol, first, current);
        let mut candles: Vec<Candle> = minutes.iter().map(|m| m.candle).collect();
        if let (Some(last), Some(minute)) = (candles.last_mut(), minutes.last()) {
            *last = Self::partial(minute, now);
        }
        candles
    }

    fn quote(&self, request: &QuoteRequest, now: DateTime<Utc>) -> Result<Quote, FeedError> {
        let current = Self::minute_of(now);
        if current < 0 {
            return Err(FeedError::NoData(
                "the simulated market starts on 2025-01-01".into(),
            ));
        }
        let day = self.candles_until(&request.symbol, current - MINUTES_PER_DAY, now);
        let last = day
            .last()
            .copied()
            .ok_or_else(|| FeedError::NoData(request.symbol.clone()))?;
        let (high, low, window) = match request.window {
            None => (last.close, last.close, Vec::new()),
            Some(w) => {
                // A window longer than a day is clipped to the last day.
                let first = Self::minute_of(w.read_from()).max(current - MINUTES_PER_DAY);
                let first_time = EPOCH_SECS + first * 60;
                let window: Vec<Candle> = day
                    .iter()
                    .copied()
                    .filter(|c| c.open_time.timestamp() >= first_time)
                    .collect();
                let (high, low) = range_since(&window, last.close, w.since, w.not_before);
                (high, low, window)
            }
        };
        Ok(Quote {
            minute_candles: window,
            ..Quote::from_candles(&request.symbol, last.close, (high, low), now, now, &day)
        })
    }
}

impl PriceFeed for SimulatedFeed {
    fn source(&self) -> &'static str {
        "simulated"
    }

    async fn quotes(
        &self,
        requests: &[QuoteRequest],
        now: DateTime<Utc>,
    ) -> Vec<(String, Result<Quote, FeedError>)> {
        requests
            .iter()
            .map(|r| (r.symbol.clone(), self.quote(r, now)))
            .collect()
    }

    async fn candles(
        &self,
        symbol: &str,
        timeframe: Timeframe,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<Candle>, FeedError> {
        let per_candle = timeframe.secs() / 60;
        let current = Self::minute_of(now);
        // Whole buckets: the epoch is a UTC midnight and every timeframe divides a day, so a
        // bucket starts where the minute index is a multiple of its length.
        let bucket_start =
            current - current.rem_euclid(per_candle) - per_candle * (limit as i64 - 1);
        let minutes = self.candles_until(symbol, bucket_start, now);
        let mut candles = aggregate(&minutes, timeframe);
        let excess = candles.len().saturating_sub(limit);
        candles.drain(..excess);
        if candles.is_empty() {
            return Err(FeedError::NoData(format!("{symbol} before 2025-01-01")));
        }
        Ok(candles)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feeds::Window;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_764_000_000 + secs, 0).unwrap()
    }

    fn block<F: std::future::Future>(f: F) -> F::Output {
        actix_web::rt::System::new().block_on(f)
    }

    fn request(symbol: &str, window: Option<Window>) -> Vec<QuoteRequest> {
        vec![QuoteRequest {
            symbol: symbol.to_owned(),
            window,
        }]
    }

    #[test]
    fn the_same_seed_gives_the_same_market() {
        let a = SimulatedFeed::new(7);
        let b = SimulatedFeed::new(7);
        let qa = block(a.quotes(&request("BTCUSDT", None), at(12)));
        let qb = block(b.quotes(&request("BTCUSDT", None), at(12)));
        assert_eq!(qa, qb);
        let other = block(SimulatedFeed::new(8).quotes(&request("BTCUSDT", None), at(12)));
        assert_ne!(qa, other);
        let ca = block(a.candles("ETHUSDT", Timeframe::M5, 50, at(0))).unwrap();
        let cb = block(b.candles("ETHUSDT", Timeframe::M5, 50, at(0))).unwrap();
        assert_eq!(ca, cb);
    }

    #[test]
    fn prices_stay_near_the_symbols_level_and_candles_are_valid() {
        let feed = SimulatedFeed::new(42);
        let candles = block(feed.candles("BTCUSDT", Timeframe::H1, 200, at(0))).unwrap();
        assert_eq!(candles.len(), 200);
        for c in &candles {
            assert!(Candle::new(c.open_time, c.open, c.high, c.low, c.close, c.volume).is_ok());
            assert!(c.close > 30_000.0 && c.close < 300_000.0, "{}", c.close);
            assert_eq!(c.open_time.timestamp() % 3600, 0);
        }
        let quotes = block(feed.quotes(&request("XRPUSDT", None), at(0)));
        let xrp = quotes[0].1.as_ref().unwrap();
        assert!(xrp.last_price > 0.5 && xrp.last_price < 10.0);
    }

    #[test]
    fn the_window_range_contains_the_last_price_and_covers_its_minutes() {
        let feed = SimulatedFeed::new(42);
        let window = Window {
            since: at(-600),
            not_before: at(-600),
        };
        let quotes = block(feed.quotes(&request("SOLUSDT", Some(window)), at(0)));
        let q = quotes[0].1.as_ref().unwrap();
        assert!(q.low <= q.last_price && q.last_price <= q.high);
        let minutes = block(feed.candles("SOLUSDT", Timeframe::M1, 10, at(0))).unwrap();
        let max_high = minutes.iter().map(|c| c.high).fold(0.0, f64::max);
        assert!(q.high >= max_high - 1e-9);
    }
}
