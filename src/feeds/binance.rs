//! Binance public spot endpoints (no key): `GET /api/v3/ticker/24hr?symbols=[…]` for every
//! price in one request and `GET /api/v3/klines` for candles. Errors are HTTP 4xx with
//! `{"code": -1121, "msg": "Invalid symbol."}`; 429/418 carry `Retry-After`
//! (https://developers.binance.com/docs/binance-spot-api-docs/rest-api).

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::exchange::{kline, millis, Exchange, Query, TickerText, Tickers};
use super::http::{snippet, Answer};
use super::FeedError;
use crate::domain::market::{Candle, Timeframe};

#[derive(Debug, Clone, Copy, Default)]
pub struct Binance;

/// "Invalid symbol."
const INVALID_SYMBOL: i64 = -1121;

#[derive(Deserialize)]
struct ErrorBody {
    code: i64,
    msg: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTicker {
    symbol: String,
    last_price: String,
    #[serde(default)]
    price_change_percent: String,
    #[serde(default)]
    high_price: String,
    #[serde(default)]
    low_price: String,
    #[serde(default)]
    volume: String,
    close_time: Option<i64>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    Many(Vec<RawTicker>),
    One(RawTicker),
}

/// The body of a successful answer, or the typed error of a failed one.
fn success_body(answer: &Answer) -> Result<&[u8], FeedError> {
    if answer.status.is_success() {
        return Ok(&answer.body);
    }
    Err(match serde_json::from_slice::<ErrorBody>(&answer.body) {
        Ok(e) => FeedError::Exchange {
            code: e.code,
            message: e.msg,
        },
        Err(_) => FeedError::Http {
            status: answer.status.as_u16(),
            body: snippet(&answer.body),
        },
    })
}

impl Exchange for Binance {
    const NAME: &'static str = "binance";

    fn tickers_request(&self, symbols: &[String]) -> (&'static str, Query) {
        let query = match symbols {
            [one] => vec![("symbol", one.clone())],
            many => {
                let list: Vec<String> = many.iter().map(|s| format!("\"{s}\"")).collect();
                vec![("symbols", format!("[{}]", list.join(",")))]
            }
        };
        ("/api/v3/ticker/24hr", query)
    }

    fn parse_tickers(
        &self,
        answer: &Answer,
        received: DateTime<Utc>,
    ) -> Result<Tickers, FeedError> {
        let body = success_body(answer)?;
        let raw: OneOrMany = serde_json::from_slice(body)
            .map_err(|e| FeedError::Malformed(format!("{e}: {}", snippet(body))))?;
        let list = match raw {
            OneOrMany::Many(list) => list,
            OneOrMany::One(one) => vec![one],
        };
        Ok(list
            .into_iter()
            .map(|raw| {
                let time = match raw.close_time {
                    Some(ms) => millis("closeTime", ms),
                    None => Ok(received),
                };
                let text = TickerText {
                    last_price: &raw.last_price,
                    change_24h: &raw.price_change_percent,
                    high_24h: &raw.high_price,
                    low_24h: &raw.low_price,
                    volume_24h: &raw.volume,
                };
                // Binance sends the 24h change in percent already.
                let ticker = time.and_then(|time| text.parse(&raw.symbol, time, 1.0));
                (raw.symbol, ticker)
            })
            .collect())
    }

    fn klines_request(
        &self,
        symbol: &str,
        timeframe: Timeframe,
        start: Option<DateTime<Utc>>,
        end: Option<DateTime<Utc>>,
        limit: usize,
    ) -> (&'static str, Query) {
        let mut query = vec![
            ("symbol", symbol.to_owned()),
            ("interval", timeframe.as_str().to_owned()),
            ("limit", limit.to_string()),
        ];
        if let Some(start) = start {
            query.push(("startTime", start.timestamp_millis().to_string()));
        }
        if let Some(end) = end {
            query.push(("endTime", end.timestamp_millis().to_string()));
        }
        ("/api/v3/klines", query)
    }

    fn parse_klines(&self, symbol: &str, answer: &Answer) -> Result<Vec<Candle>, FeedError> {
        let body = success_body(answer)?;
        let rows: Vec<Vec<serde_json::Value>> = serde_json::from_slice(body)
            .map_err(|e| FeedError::Malformed(format!("{e}: {}", snippet(body))))?;
        let mut candles = rows
            .iter()
            .map(|row| {
                let open_ms = row.first().and_then(serde_json::Value::as_i64);
                kline(
                    symbol,
                    open_ms,
                    [1, 2, 3, 4, 5].map(|i| row.get(i).and_then(|v| v.as_str())),
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        candles.sort_by_key(|c| c.open_time);
        Ok(candles)
    }

    fn split_tickers_on(&self, error: &FeedError) -> bool {
        matches!(error, FeedError::Exchange { code, .. } if *code == INVALID_SYMBOL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status: StatusCode::from_u16(status).unwrap(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn tickers_parse_a_list_or_a_single_object() {
        let list = r#"[{"symbol":"ETHUSDT","priceChange":"10","priceChangePercent":"0.290",
            "lastPrice":"3500.10","highPrice":"3550","lowPrice":"3400","volume":"1000.5",
            "openTime":1763913600000,"closeTime":1764000000000,"count":10}]"#;
        let tickers = Binance
            .parse_tickers(&answer(200, list), Utc::now())
            .unwrap();
        let eth = tickers[0].1.as_ref().unwrap();
        assert_eq!(eth.last_price, 3500.10);
        assert_eq!(eth.change_24h_pct, Some(0.29));
        assert_eq!(eth.time.timestamp(), 1_764_000_000);
        let one = r#"{"symbol":"ETHUSDT","lastPrice":"3500.10","closeTime":1764000000000}"#;
        assert_eq!(
            Binance
                .parse_tickers(&answer(200, one), Utc::now())
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn error_json_is_typed_and_invalid_symbol_splits_the_request() {
        let err = Binance
            .parse_tickers(
                &answer(400, r#"{"code":-1121,"msg":"Invalid symbol."}"#),
                Utc::now(),
            )
            .unwrap_err();
        assert_eq!(
            err,
            FeedError::Exchange {
                code: -1121,
                message: "Invalid symbol.".into()
            }
        );
        assert!(Binance.split_tickers_on(&err));
        assert!(matches!(
            Binance.parse_tickers(&answer(502, "bad gateway"), Utc::now()),
            Err(FeedError::Http { status: 502, .. })
        ));
    }

    #[test]
    fn zero_or_nan_prices_fail_their_symbol() {
        let body = r#"[{"symbol":"BTCUSDT","lastPrice":"0.00000000","closeTime":1764000000000},
                      {"symbol":"ETHUSDT","lastPrice":"NaN","closeTime":1764000000000}]"#;
        let tickers = Binance
            .parse_tickers(&answer(200, body), Utc::now())
            .unwrap();
        assert!(tickers
            .iter()
            .all(|(_, t)| matches!(t, Err(FeedError::BadData { .. }))));
    }

    #[test]
    fn klines_parse_mixed_arrays() {
        let body = r#"[[1764000000000,"100.0","102.0","99.0","101.0","4.0",1764000059999,"400",3,"2","200","0"]]"#;
        let candles = Binance.parse_klines("BTCUSDT", &answer(200, body)).unwrap();
        assert_eq!(candles[0].low, 99.0);
        assert_eq!(candles[0].open_time.timestamp(), 1_764_000_000);
    }
}
