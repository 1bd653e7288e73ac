//! Bybit v5 public market endpoints (no key): `GET /v5/market/tickers?category=spot` for every
//! price in one request and `GET /v5/market/kline?category=spot` for candles. Errors come as
//! HTTP 200 with `retCode` ≠ 0 (https://bybit-exchange.github.io/docs/v5/error).

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::exchange::{kline, millis, Exchange, Query, TickerText, Tickers};
use super::http::{snippet, Answer};
use super::FeedError;
use crate::domain::market::{Candle, Timeframe};

#[derive(Debug, Clone, Copy, Default)]
pub struct Bybit;

/// Bybit's rate-limit code ("Too many visits").
const RATE_LIMITED: i64 = 10006;

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "retCode")]
    ret_code: i64,
    #[serde(rename = "retMsg", default)]
    ret_msg: String,
    #[serde(default)]
    result: serde_json::Value,
    time: Option<i64>,
}

#[derive(Deserialize)]
struct TickerList {
    list: Vec<RawTicker>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTicker {
    symbol: String,
    last_price: String,
    #[serde(default)]
    price24h_pcnt: String,
    #[serde(default)]
    high_price24h: String,
    #[serde(default)]
    low_price24h: String,
    #[serde(default)]
    volume24h: String,
}

#[derive(Deserialize)]
struct KlineList {
    list: Vec<Vec<String>>,
}

fn envelope(answer: &Answer) -> Result<Envelope, FeedError> {
    let parsed: Envelope = serde_json::from_slice(&answer.body).map_err(|e| {
        if answer.status.is_success() {
            FeedError::Malformed(format!("{e}: {}", snippet(&answer.body)))
        } else {
            FeedError::Http {
                status: answer.status.as_u16(),
                body: snippet(&answer.body),
            }
        }
    })?;
    match parsed.ret_code {
        0 if answer.status.is_success() => Ok(parsed),
        0 => Err(FeedError::Http {
            status: answer.status.as_u16(),
            body: snippet(&answer.body),
        }),
        RATE_LIMITED => Err(FeedError::RateLimited {
            retry_after_secs: None,
        }),
        code => Err(FeedError::Exchange {
            code,
            message: parsed.ret_msg,
        }),
    }
}

impl Bybit {
    fn interval(timeframe: Timeframe) -> &'static str {
        match timeframe {
            Timeframe::M1 => "1",
            Timeframe::M5 => "5",
            Timeframe::M15 => "15",
            Timeframe::H1 => "60",
            Timeframe::H4 => "240",
            Timeframe::D1 => "D",
        }
    }
}

impl Exchange for Bybit {
    const NAME: &'static str = "bybit";

    fn tickers_request(&self, symbols: &[String]) -> (&'static str, Query) {
        let mut query = vec![("category", "spot".to_owned())];
        if let [one] = symbols {
            query.push(("symbol", one.clone()));
        }
        ("/v5/market/tickers", query)
    }

    fn parse_tickers(
        &self,
        answer: &Answer,
        received: DateTime<Utc>,
    ) -> Result<Tickers, FeedError> {
        let envelope = envelope(answer)?;
        let time = match envelope.time {
            Some(ms) => millis("time", ms)?,
            None => received,
        };
        let list: TickerList = serde_json::from_value(envelope.result)
            .map_err(|e| FeedError::Malformed(format!("tickers result: {e}")))?;
        Ok(list
            .list
            .into_iter()
            .map(|raw| {
                let text = TickerText {
                    last_price: &raw.last_price,
                    change_24h: &raw.price24h_pcnt,
                    high_24h: &raw.high_price24h,
                    low_24h: &raw.low_price24h,
                    volume_24h: &raw.volume24h,
                };
                // Bybit sends the 24h change as a fraction (0.0068 = 0.68 %).
                let ticker = text.parse(&raw.symbol, time, 100.0);
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
            ("category", "spot".to_owned()),
            ("symbol", symbol.to_owned()),
            ("interval", Bybit::interval(timeframe).to_owned()),
            ("limit", limit.to_string()),
        ];
        if let Some(start) = start {
            query.push(("start", start.timestamp_millis().to_string()));
        }
        if let Some(end) = end {
            query.push(("end", end.timestamp_millis().to_string()));
        }
        ("/v5/market/kline", query)
    }

    fn parse_klines(&self, symbol: &str, answer: &Answer) -> Result<Vec<Candle>, FeedError> {
        let envelope = envelope(answer)?;
        let list: KlineList = serde_json::from_value(envelope.result)
            .map_err(|e| FeedError::Malformed(format!("kline result: {e}")))?;
        let mut candles = list
            .list
            .iter()
            .map(|row| {
                let open_ms = row.first().and_then(|t| t.parse::<i64>().ok());
                kline(
                    symbol,
                    open_ms,
                    [1, 2, 3, 4, 5].map(|i| row.get(i).map(String::as_str)),
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        // Bybit lists newest first.
        candles.sort_by_key(|c| c.open_time);
        Ok(candles)
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

    const TICKERS: &str = r#"{"retCode":0,"retMsg":"OK","result":{"category":"spot","list":[
        {"symbol":"BTCUSDT","bid1Price":"94999","bid1Size":"1","ask1Price":"95001","ask1Size":"1",
         "lastPrice":"95000.5","prevPrice24h":"94000","price24hPcnt":"0.0106","highPrice24h":"96000",
         "lowPrice24h":"93000","turnover24h":"1","volume24h":"12345.6","usdIndexPrice":"95000"},
        {"symbol":"JUNKUSDT","lastPrice":"NaN"}]},"retExtInfo":{},"time":1764000000000}"#;

    #[test]
    fn tickers_parse_prices_change_and_time() {
        let received = Utc::now();
        let tickers = Bybit
            .parse_tickers(&answer(200, TICKERS), received)
            .unwrap();
        assert_eq!(tickers.len(), 2);
        assert!(matches!(tickers[1], (ref s, Err(FeedError::BadData { .. })) if s == "JUNKUSDT"));
        let btc = tickers[0].1.as_ref().unwrap();
        assert_eq!(btc.symbol, "BTCUSDT");
        assert_eq!(btc.last_price, 95000.5);
        assert!((btc.change_24h_pct.unwrap() - 1.06).abs() < 1e-9);
        assert_eq!(btc.time.timestamp(), 1_764_000_000);
        assert_eq!(btc.volume_24h, Some(12345.6));
    }

    #[test]
    fn ret_code_errors_are_typed() {
        let err = Bybit
            .parse_tickers(
                &answer(
                    200,
                    r#"{"retCode":10001,"retMsg":"params error","result":{}}"#,
                ),
                Utc::now(),
            )
            .unwrap_err();
        assert_eq!(
            err,
            FeedError::Exchange {
                code: 10001,
                message: "params error".into()
            }
        );
        let limited = Bybit
            .parse_tickers(
                &answer(
                    200,
                    r#"{"retCode":10006,"retMsg":"Too many visits!","result":{}}"#,
                ),
                Utc::now(),
            )
            .unwrap_err();
        assert!(matches!(limited, FeedError::RateLimited { .. }));
    }

    #[test]
    fn garbage_and_http_errors_are_not_prices() {
        assert!(matches!(
            Bybit.parse_tickers(&answer(200, "<html>oops"), Utc::now()),
            Err(FeedError::Malformed(_))
        ));
        assert!(matches!(
            Bybit.parse_tickers(&answer(403, "forbidden"), Utc::now()),
            Err(FeedError::Http { status: 403, .. })
        ));
    }

    #[test]
    fn klines_come_back_oldest_first_and_inverted_candles_fail() {
        let body = r#"{"retCode":0,"retMsg":"OK","result":{"symbol":"BTCUSDT","category":"spot","list":[
            ["1764000060000","101","103","100","102","5","500"],
            ["1764000000000","100","102","99","101","4","400"]]},"time":1764000070000}"#;
        let candles = Bybit.parse_klines("BTCUSDT", &answer(200, body)).unwrap();
        assert_eq!(candles.len(), 2);
        assert!(candles[0].open_time < candles[1].open_time);
        assert_eq!(candles[1].high, 103.0);

        let inverted = r#"{"retCode":0,"retMsg":"OK","result":{"list":[
            ["1764000000000","100","90","110","100","4","400"]]}}"#;
        assert!(matches!(
            Bybit.parse_klines("BTCUSDT", &answer(200, inverted)),
            Err(FeedError::BadData { .. })
        ));
    }
}
