//! Replay of historical klines from CSV files in the exchanges' public kline format
//! (`open_time,open,high,low,close,volume,close_time,…`, as in data.binance.vision), one file per
//! symbol and interval: `<SYMBOL>-<interval>.csv`. The market clock runs `speed` times faster than
//! the wall clock from the first candle on; only completed candles are ever shown, so nothing
//! leaks from the future. Replayed prices count as fresh while the data lasts; past its end the
//! price keeps its time and turns stale.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};

use super::{FeedError, PriceFeed, Quote, QuoteRequest};
use crate::domain::market::{aggregate, range_since, Candle, Timeframe};

#[derive(Debug)]
pub struct ReplayFeed {
    /// 1-minute candles per symbol, oldest first.
    minutes: HashMap<String, Vec<Candle>>,
    /// Other intervals that have their own file.
    other: HashMap<(String, Timeframe), Vec<Candle>>,
    speed: f64,
    market_start: DateTime<Utc>,
    wall_start: DateTime<Utc>,
}

/// Read one kline CSV: an optional header line, then one candle per line. Open times in
/// milliseconds, or microseconds as in Binance's files since 2025.
pub fn read_klines(path: &Path, symbol: &str) -> Result<Vec<Candle>, FeedError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| FeedError::NoData(format!("cannot read {}: {e}", path.display())))?;
    let mut candles = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let bad = |what: String| {
            FeedError::Malformed(format!("{}:{}: {what}", path.display(), index + 1))
        };
        let Ok(open_time) = fields[0].parse::<i64>() else {
            if index == 0 {
                continue; // header
            }
            return Err(bad(format!("open time {:?} is not a number", fields[0])));
        };
        if fields.len() < 6 {
            return Err(bad(
                "expected open_time,open,high,low,close,volume".to_owned()
            ));
        }
        let number = |i: usize| {
            fields[i]
                .parse::<f64>()
                .map_err(|_| bad(format!("{:?} is not a number", fields[i])))
        };
        let millis = if open_time > 100_000_000_000_000 {
            open_time / 1_000
        } else {
            open_time
        };
        let at = DateTime::from_timestamp_millis(millis)
            .ok_or_else(|| bad(format!("{open_time} is not a time")))?;
        let candle = Candle::new(
            at,
            number(1)?,
            number(2)?,
            number(3)?,
            number(4)?,
            number(5)?,
        )
        .map_err(|source| FeedError::BadData {
            symbol: symbol.to_owned(),
            source,
        })
        .map_err(|e| bad(e.to_string()))?;
        candles.push(candle);
    }
    candles.sort_by_key(|c| c.open_time);
    candles.dedup_by_key(|c| c.open_time);
    Ok(candles)
}

fn file_of(dir: &Path, symbol: &str, timeframe: Timeframe) -> PathBuf {
    dir.join(format!("{symbol}-{}.csv", timeframe.as_str()))
}

impl ReplayFeed {
    /// Load every symbol's `-1m.csv` (required) and any other interval files; the replay starts
    /// at the earliest candle when the wall clock reads `wall_start`.
    pub fn open(
        dir: &Path,
        symbols: &[String],
        speed: f64,
        wall_start: DateTime<Utc>,
    ) -> Result<Self, FeedError> {
        let mut minutes = HashMap::new();
        let mut other = HashMap::new();
        for symbol in symbols {
            let path = file_of(dir, symbol, Timeframe::M1);
            let candles = read_klines(&path, symbol)?;
            if candles.is_empty() {
                return Err(FeedError::NoData(format!(
                    "{} has no candles",
                    path.display()
                )));
            }
            minutes.insert(symbol.clone(), candles);
            for timeframe in Timeframe::ALL.into_iter().skip(1) {
                let path = file_of(dir, symbol, timeframe);
                if path.exists() {
                    other.insert((symbol.clone(), timeframe), read_klines(&path, symbol)?);
                }
            }
        }
        let market_start = minutes
            .values()
            .filter_map(|c| c.first())
            .map(|c| c.open_time)
            .min()
            .ok_or_else(|| FeedError::NoData("no symbols to replay".to_owned()))?;
        Ok(ReplayFeed {
            minutes,
            other,
            speed,
            market_start,
            wall_start,
        })
    }

    /// The market time shown at wall time `now`.
    pub fn market_time(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let elapsed_ms = (now - self.wall_start).num_milliseconds().max(0) as f64;
        self.market_start + Duration::milliseconds((elapsed_ms * self.speed) as i64)
    }

    /// The wall time at which the market reaches `market`.
    fn wall_time(&self, market: DateTime<Utc>) -> DateTime<Utc> {
        let market_ms = (market - self.market_start).num_milliseconds() as f64;
        self.wall_start + Duration::milliseconds((market_ms / self.speed) as i64)
    }

    /// Candles completed by market time `market`.
    fn completed(candles: &[Candle], step: Duration, market: DateTime<Utc>) -> &[Candle] {
        let done = candles.partition_point(|c| c.open_time + step <= market);
        &candles[..done]
    }

    fn quote(&self, request: &QuoteRequest, now: DateTime<Utc>) -> Result<Quote, FeedError> {
        let series = self
            .minutes
            .get(&request.symbol)
            .ok_or_else(|| FeedError::UnknownSymbol(request.symbol.clone()))?;
        let minute = Duration::minutes(1);
        let market_now = self.market_time(now);
        let done = Self::completed(series, minute, market_now);
        let last = done
            .last()
            .ok_or_else(|| FeedError::NoData(format!("{} has not started yet", request.symbol)))?;
        let price_market_time = last.open_time + minute;
        // Fresh while the data lasts; after its end the last price keeps its own time.
        let ended = done.len() == series.len() && market_now > price_market_time + minute;
        let price_time = if ended {
            self.wall_time(price_market_time)
        } else {
            now
        };
        let (high, low) = match request.window {
            None => (last.close, last.close),
            Some(w) => {
                let since = self.market_time(w.since);
                let first = done.partition_point(|c| c.open_time + minute <= since);
                range_since(
                    &done[first..],
                    last.close,
                    since,
                    self.market_time(w.not_before),
                )
            }
        };
        let day_start =
            done.partition_point(|c| c.open_time + Duration::days(1) <= price_market_time);
        let day = &done[day_start..];
        Ok(Quote::from_candles(
            &request.symbol,
            last.close,
            (high, low),
            price_time,
            price_market_time,
            day,
        ))
    }
}

impl PriceFeed for ReplayFeed {
    fn source(&self) -> &'static str {
        "replay"
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
        let market_now = self.market_time(now);
        let step = Duration::seconds(timeframe.secs());
        let mut candles = match self.other.get(&(symbol.to_owned(), timeframe)) {
            Some(own) => Self::completed(own, step, market_now).to_vec(),
            None => {
                let series = self
                    .minutes
                    .get(symbol)
                    .ok_or_else(|| FeedError::UnknownSymbol(symbol.to_owned()))?;
                let done = Self::completed(series, Duration::minutes(1), market_now);
                let reach = Duration::seconds(timeframe.secs() * (limit as i64 + 1));
                let first = done.partition_point(|c| c.open_time + reach < market_now);
                let mut buckets = aggregate(&done[first..], timeframe);
                // Only whole buckets: drop the one still forming.
                if buckets
                    .last()
                    .is_some_and(|b| b.open_time + step > market_now)
                {
                    buckets.pop();
                }
                buckets
            }
        };
        let excess = candles.len().saturating_sub(limit);
        candles.drain(..excess);
        Ok(candles)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feeds::Window;

    fn fixture_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/replay")
    }

    fn block<F: std::future::Future>(f: F) -> F::Output {
        actix_web::rt::System::new().block_on(f)
    }

    fn wall(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    fn feed() -> ReplayFeed {
        ReplayFeed::open(&fixture_dir(), &["BTCUSDT".to_owned()], 60.0, wall(0)).unwrap()
    }

    fn quote(feed: &ReplayFeed, window: Option<Window>, now: DateTime<Utc>) -> Quote {
        let request = [QuoteRequest {
            symbol: "BTCUSDT".to_owned(),
            window,
        }];
        block(feed.quotes(&request, now)).remove(0).1.unwrap()
    }

    #[test]
    fn the_fixture_reads_with_its_header_and_microsecond_times() {
        let candles = read_klines(&fixture_dir().join("BTCUSDT-1m.csv"), "BTCUSDT").unwrap();
        assert_eq!(candles.len(), 30);
        assert_eq!(
            candles[0].open_time.to_rfc3339(),
            "2025-03-01T00:00:00+00:00"
        );
        assert_eq!(candles[0].open, 84_300.0);
    }

    #[test]
    fn the_market_moves_sixty_times_faster_and_shows_only_completed_candles() {
        let feed = feed();
        // 5 wall seconds at speed 60 = 5 market minutes: candles 0..4 are complete.
        let q = quote(&feed, None, wall(5));
        let candles = read_klines(&fixture_dir().join("BTCUSDT-1m.csv"), "BTCUSDT").unwrap();
        assert_eq!(q.last_price, candles[4].close);
        assert_eq!(q.market_time, candles[5].open_time);
        assert_eq!(
            q.price_time,
            wall(5),
            "replayed prices are fresh while the data lasts"
        );
    }

    #[test]
    fn a_window_sees_the_wick_of_a_minute_between_two_polls() {
        let feed = feed();
        let candles = read_klines(&fixture_dir().join("BTCUSDT-1m.csv"), "BTCUSDT").unwrap();
        let window = Window {
            since: wall(10),
            not_before: wall(0),
        };
        let q = quote(&feed, Some(window), wall(15));
        let expected_low = candles[10..15]
            .iter()
            .map(|c| c.low)
            .fold(f64::MAX, f64::min);
        assert_eq!(q.low, expected_low);
        assert!(q.low < q.last_price);
    }

    #[test]
    fn past_the_end_the_price_turns_stale() {
        let feed = feed();
        let q = quote(&feed, None, wall(120));
        assert!(q.price_time < wall(40), "{}", q.price_time);
    }

    #[test]
    fn candles_of_a_longer_interval_are_built_from_minutes() {
        let feed = feed();
        let five = block(feed.candles("BTCUSDT", Timeframe::M5, 10, wall(30))).unwrap();
        assert_eq!(five.len(), 6);
        assert_eq!(five[0].open_time.timestamp() % 300, 0);
    }

    #[test]
    fn a_missing_file_names_the_path() {
        let err =
            ReplayFeed::open(&fixture_dir(), &["NOPEUSDT".to_owned()], 60.0, wall(0)).unwrap_err();
        assert!(err.to_string().contains("NOPEUSDT-1m.csv"), "{err}");
    }
}
