//! What the Bybit and Binance feeds share: one tickers request per poll for every symbol, and
//! per symbol with an open position its 1-minute klines since the previous tick, for the high and
//! low in between (DESIGN.md §3). The exchange modules only build requests and parse answers.

use chrono::{DateTime, Duration, Utc};
use futures_util::future::join_all;

use super::http::{Answer, HttpClient, RetryPolicy};
use super::{FeedError, PriceFeed, Quote, QuoteRequest};
use crate::domain::market::{range_since, valid_price, valid_time, Candle, Timeframe};

/// Most klines one request returns on both exchanges; a longer window is clipped to it.
pub const MAX_KLINES: usize = 1000;

/// The 24-hour ticker of one symbol, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Ticker {
    pub symbol: String,
    pub last_price: f64,
    /// When the exchange reported it.
    pub time: DateTime<Utc>,
    /// Percent.
    pub change_24h_pct: Option<f64>,
    pub high_24h: Option<f64>,
    pub low_24h: Option<f64>,
    pub volume_24h: Option<f64>,
}

pub type Query = Vec<(&'static str, String)>;

/// Per symbol in an answer: its ticker, or why it cannot be used (a NaN price, say).
pub type Tickers = Vec<(String, Result<Ticker, FeedError>)>;

/// One exchange's public market API: request shapes and response parsing, no IO.
pub trait Exchange: Send + Sync {
    const NAME: &'static str;

    fn tickers_request(&self, symbols: &[String]) -> (&'static str, Query);

    /// Tickers of the answer; symbols not asked for may be included and are ignored. An error
    /// fails the whole answer; a bad ticker fails only its symbol.
    fn parse_tickers(&self, answer: &Answer, received: DateTime<Utc>)
        -> Result<Tickers, FeedError>;

    /// Klines from `start` (inclusive) to `end` (inclusive), at most `limit` of them.
    fn klines_request(
        &self,
        symbol: &str,
        timeframe: Timeframe,
        start: Option<DateTime<Utc>>,
        end: Option<DateTime<Utc>>,
        limit: usize,
    ) -> (&'static str, Query);

    /// Candles of the answer, oldest first.
    fn parse_klines(&self, symbol: &str, answer: &Answer) -> Result<Vec<Candle>, FeedError>;

    /// Whether a failed multi-symbol tickers request should be retried one symbol at a time
    /// (Binance refuses the whole list for one unknown symbol).
    fn split_tickers_on(&self, _error: &FeedError) -> bool {
        false
    }
}

#[derive(Debug)]
pub struct ExchangeFeed<E> {
    exchange: E,
    http: HttpClient,
}

impl<E: Exchange> ExchangeFeed<E> {
    pub fn new(exchange: E, base_url: &str, policy: RetryPolicy) -> Result<Self, FeedError> {
        Ok(ExchangeFeed {
            exchange,
            http: HttpClient::new(base_url, policy)?,
        })
    }

    async fn fetch_tickers(&self, symbols: &[String]) -> Result<Tickers, FeedError> {
        let (path, query) = self.exchange.tickers_request(symbols);
        let answer = self.http.get(path, &query).await?;
        self.exchange.parse_tickers(&answer, Utc::now())
    }

    async fn tickers(&self, symbols: &[String]) -> Vec<(String, Result<Ticker, FeedError>)> {
        let all = match self.fetch_tickers(symbols).await {
            Ok(tickers) => Ok(tickers),
            Err(e) if symbols.len() > 1 && self.exchange.split_tickers_on(&e) => {
                let singles = join_all(symbols.iter().map(|s| async move {
                    (s.clone(), self.fetch_tickers(std::slice::from_ref(s)).await)
                }))
                .await;
                return singles
                    .into_iter()
                    .map(|(symbol, result)| {
                        let one = result.and_then(|tickers| pick(&tickers, &symbol));
                        (symbol, one)
                    })
                    .collect();
            }
            Err(e) => Err(e),
        };
        symbols
            .iter()
            .map(|symbol| {
                let one = match &all {
                    Ok(tickers) => pick(tickers, symbol),
                    Err(e) => Err(e.clone()),
                };
                (symbol.clone(), one)
            })
            .collect()
    }

    async fn klines(
        &self,
        symbol: &str,
        timeframe: Timeframe,
        start: Option<DateTime<Utc>>,
        end: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<Candle>, FeedError> {
        let limit = limit.min(MAX_KLINES);
        let (path, query) = self
            .exchange
            .klines_request(symbol, timeframe, start, end, limit);
        let answer = self.http.get(path, &query).await?;
        self.exchange.parse_klines(symbol, &answer)
    }

    async fn quote(
        &self,
        request: &QuoteRequest,
        ticker: Result<Ticker, FeedError>,
        now: DateTime<Utc>,
    ) -> Result<Quote, FeedError> {
        let ticker = ticker?;
        let (high, low, minute_candles) = match request.window {
            None => (ticker.last_price, ticker.last_price, Vec::new()),
            Some(window) => {
                let earliest = now - Duration::minutes(MAX_KLINES as i64 - 1);
                // Start one minute early: the candle that began before `since` overlaps it.
                let start = window.read_from().max(earliest) - Duration::minutes(1);
                let mut candles = self
                    .klines(
                        &request.symbol,
                        Timeframe::M1,
                        Some(start),
                        None,
                        MAX_KLINES,
                    )
                    .await?;
                // Only minutes begun by the ticker's time: the trade is priced up to that time,
                // so a later minute is read by a later tick, and one stamped ahead of the
                // exchange's own clock is no price anyone has filled at yet.
                candles.retain(|c| c.open_time <= ticker.time);
                let (high, low) =
                    range_since(&candles, ticker.last_price, window.since, window.not_before);
                (high, low, candles)
            }
        };
        Ok(Quote {
            symbol: ticker.symbol,
            last_price: ticker.last_price,
            high,
            low,
            price_time: ticker.time,
            market_time: ticker.time,
            change_24h_pct: ticker.change_24h_pct,
            high_24h: ticker.high_24h,
            low_24h: ticker.low_24h,
            volume_24h: ticker.volume_24h,
            minute_candles,
        })
    }
}

impl<E: Exchange> ExchangeFeed<E> {
    /// Every 1-minute candle of `[from, to)`, oldest first, fetched 1 000 at a time (the
    /// backtest's history when no kline file is at hand). `progress(fetched)` after each page.
    pub async fn history(
        &self,
        symbol: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        mut progress: impl FnMut(usize),
    ) -> Result<Vec<Candle>, FeedError> {
        let page = Duration::minutes(MAX_KLINES as i64);
        let mut candles: Vec<Candle> = Vec::new();
        let mut cursor = from;
        while cursor < to {
            let end = (cursor + page).min(to) - Duration::milliseconds(1);
            let batch = self
                .klines(symbol, Timeframe::M1, Some(cursor), Some(end), MAX_KLINES)
                .await?;
            candles.extend(
                batch
                    .into_iter()
                    .filter(|c| c.open_time >= cursor && c.open_time < to),
            );
            cursor = (cursor + page).min(to);
            progress(candles.len());
        }
        candles.sort_by_key(|c| c.open_time);
        candles.dedup_by_key(|c| c.open_time);
        Ok(candles)
    }
}

fn pick(tickers: &Tickers, symbol: &str) -> Result<Ticker, FeedError> {
    tickers
        .iter()
        .find(|(s, _)| s == symbol)
        .map(|(_, ticker)| ticker.clone())
        .unwrap_or_else(|| Err(FeedError::UnknownSymbol(symbol.to_owned())))
}

impl<E: Exchange> PriceFeed for ExchangeFeed<E> {
    fn source(&self) -> &'static str {
        E::NAME
    }

    async fn quotes(
        &self,
        requests: &[QuoteRequest],
        now: DateTime<Utc>,
    ) -> Vec<(String, Result<Quote, FeedError>)> {
        let symbols: Vec<String> = requests.iter().map(|r| r.symbol.clone()).collect();
        let tickers = self.tickers(&symbols).await;
        join_all(
            requests
                .iter()
                .zip(tickers)
                .map(|(request, (_, ticker))| async move {
                    (
                        request.symbol.clone(),
                        self.quote(request, ticker, now).await,
                    )
                }),
        )
        .await
    }

    async fn candles(
        &self,
        symbol: &str,
        timeframe: Timeframe,
        limit: usize,
        _now: DateTime<Utc>,
    ) -> Result<Vec<Candle>, FeedError> {
        let mut candles = self.klines(symbol, timeframe, None, None, limit).await?;
        let excess = candles.len().saturating_sub(limit);
        candles.drain(..excess);
        Ok(candles)
    }
}

/// One ticker's figures as the exchange spells them (decimal strings).
pub struct TickerText<'a> {
    pub last_price: &'a str,
    pub change_24h: &'a str,
    pub high_24h: &'a str,
    pub low_24h: &'a str,
    pub volume_24h: &'a str,
}

impl TickerText<'_> {
    /// A validated ticker: a last price that is not finite and positive fails the symbol; the
    /// display-only 24h figures are dropped when unusable. `change_to_pct` scales the exchange's
    /// change into percent (Bybit sends a fraction, Binance percent).
    pub fn parse(
        &self,
        symbol: &str,
        time: DateTime<Utc>,
        change_to_pct: f64,
    ) -> Result<Ticker, FeedError> {
        let last = decimal("last price", self.last_price)?.unwrap_or(f64::NAN);
        let last_price = valid_price("last price", last).map_err(|source| FeedError::BadData {
            symbol: symbol.to_owned(),
            source,
        })?;
        Ok(Ticker {
            symbol: symbol.to_owned(),
            last_price,
            time,
            change_24h_pct: decimal("24h change", self.change_24h)?
                .filter(|v| v.is_finite())
                .map(|v| v * change_to_pct),
            high_24h: optional_figure(decimal("24h high", self.high_24h)?),
            low_24h: optional_figure(decimal("24h low", self.low_24h)?),
            volume_24h: optional_figure(decimal("24h volume", self.volume_24h)?),
        })
    }
}

/// A candle from one kline row: its open time in ms and the decimal strings of open, high, low,
/// close and volume, validated (`domain::market::valid_price` prices, high >= low).
pub fn kline(
    symbol: &str,
    open_ms: Option<i64>,
    figures: [Option<&str>; 5],
) -> Result<Candle, FeedError> {
    const NAMES: [&str; 5] = ["open", "high", "low", "close", "volume"];
    let open_ms =
        open_ms.ok_or_else(|| FeedError::Malformed("kline row lacks its open time".to_owned()))?;
    let mut values = [0.0; 5];
    for (i, text) in figures.iter().enumerate() {
        let text =
            text.ok_or_else(|| FeedError::Malformed(format!("kline row lacks {}", NAMES[i])))?;
        values[i] = decimal(NAMES[i], text)?
            .ok_or_else(|| FeedError::Malformed(format!("kline row has an empty {}", NAMES[i])))?;
    }
    let [open, high, low, close, volume] = values;
    Candle::new(
        millis("open time", open_ms)?,
        open,
        high,
        low,
        close,
        volume,
    )
    .map_err(|source| FeedError::BadData {
        symbol: symbol.to_owned(),
        source,
    })
}

/// Parse an exchange's decimal string ("20533.13"); empty means absent.
pub fn decimal(field: &'static str, text: &str) -> Result<Option<f64>, FeedError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    text.trim()
        .parse::<f64>()
        .map(Some)
        .map_err(|_| FeedError::Malformed(format!("{field} is not a number: {text:?}")))
}

/// Milliseconds since the epoch as a UTC time, within the years the database stores
/// (`domain::market::valid_time`).
pub fn millis(field: &'static str, ms: i64) -> Result<DateTime<Utc>, FeedError> {
    DateTime::from_timestamp_millis(ms)
        .and_then(|at| valid_time(at).ok())
        .ok_or_else(|| FeedError::Malformed(format!("{field} is not a time: {ms}")))
}

/// A finite, non-negative optional figure, else absent (24h statistics are display-only).
fn optional_figure(value: Option<f64>) -> Option<f64> {
    value.filter(|v| v.is_finite() && *v >= 0.0)
}
