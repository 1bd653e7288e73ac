//! A local fake exchange speaking Bybit's v5 and Binance's v3 public market JSON, on a real
//! socket, with switchable failure modes. Tests set prices and 1-minute wick candles; the feed
//! under test reads them exactly as it would read the real exchanges.

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use chrono::Utc;
use serde_json::{json, Value};

/// How the fake answers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    Ok,
    /// Bybit retCode 10001 / Binance {"code": -1121}.
    ExchangeError,
    /// HTML instead of JSON.
    Garbage,
    /// lastPrice "NaN".
    NaN,
    /// Answers after 30 s.
    Timeout,
    /// 429 with Retry-After.
    RateLimited(u64),
    /// 500.
    ServerError,
    /// Prices stamped 10 minutes in the past.
    Stale,
}

#[derive(Debug, Clone, Copy)]
struct FakeCandle {
    open_ms: i64,
    open: f64,
    high: f64,
    low: f64,
    close: f64,
    /// When the exchange learnt of it: a lagging exchange serves it only `lag` later.
    happened_ms: i64,
}

#[derive(Debug)]
struct Market {
    prices: BTreeMap<String, f64>,
    candles: BTreeMap<String, Vec<FakeCandle>>,
    /// Whole kline series by (symbol, Bybit interval: "5", "60", …), served as they are.
    series: BTreeMap<(String, String), Vec<FakeCandle>>,
    mode: Mode,
    /// How far behind the real time the exchange's data is (ticker time and klines).
    lag_ms: i64,
    requests: u64,
}

pub struct FakeExchange {
    pub url: String,
    market: Arc<Mutex<Market>>,
    stop: actix_web::dev::ServerHandle,
}

impl FakeExchange {
    /// Start on a free port, serving `prices`.
    pub fn start(prices: &[(&str, f64)]) -> Self {
        let market = Arc::new(Mutex::new(Market {
            prices: prices.iter().map(|(s, p)| (s.to_string(), *p)).collect(),
            candles: BTreeMap::new(),
            series: BTreeMap::new(),
            mode: Mode::Ok,
            lag_ms: 0,
            requests: 0,
        }));
        let (tx, rx) = mpsc::channel();
        let shared = Arc::clone(&market);
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let data = web::Data::new(shared);
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(data.clone())
                        .route("/v5/market/tickers", web::get().to(bybit_tickers))
                        .route("/v5/market/kline", web::get().to(bybit_kline))
                        .route("/api/v3/ticker/24hr", web::get().to(binance_tickers))
                        .route("/api/v3/klines", web::get().to(binance_klines))
                })
                .workers(2)
                .shutdown_timeout(0)
                .bind("127.0.0.1:0")
                .expect("bind fake exchange");
                let port = server.addrs()[0].port();
                let server = server.run();
                tx.send((port, server.handle())).expect("send port");
                let _ = server.await;
            });
        });
        let (port, stop) = rx.recv().expect("fake exchange started");
        FakeExchange {
            url: format!("http://127.0.0.1:{port}"),
            market,
            stop,
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Market) -> T) -> T {
        f(&mut self.market.lock().unwrap())
    }

    pub fn set_price(&self, symbol: &str, price: f64) {
        self.with(|m| {
            m.prices.insert(symbol.to_owned(), price);
        });
    }

    /// A 1-minute candle stamped now (after any trade already open) reaching `high` and `low`
    /// while the last price stays where it is: a wick between two ticks.
    pub fn wick(&self, symbol: &str, high: f64, low: f64) {
        let price = self.with(|m| m.prices[symbol]);
        let now = Utc::now().timestamp_millis();
        self.candle(symbol, now, (price, high, low, price), now);
    }

    /// A 1-minute candle (open, high, low, close) opening at `open_ms`, which the exchange learnt
    /// of at `happened_ms` (a lagging exchange serves it from `happened_ms + lag` on).
    pub fn candle(&self, symbol: &str, open_ms: i64, ohlc: (f64, f64, f64, f64), happened_ms: i64) {
        let (open, high, low, close) = ohlc;
        self.with(|m| {
            m.candles
                .entry(symbol.to_owned())
                .or_default()
                .push(FakeCandle {
                    open_ms,
                    open,
                    high,
                    low,
                    close,
                    happened_ms,
                });
        });
    }

    /// Serve data `secs` behind the real time: tickers stamped that much earlier, and klines
    /// without what happened since.
    pub fn set_lag(&self, secs: i64) {
        self.with(|m| m.lag_ms = secs * 1_000);
    }

    /// Serve `rows` (open, high, low, close), consecutive candles of `interval_secs` ending with
    /// the last completed one, for Bybit's kline `interval` (e.g. "5", "60").
    pub fn set_series(
        &self,
        symbol: &str,
        interval: &str,
        interval_secs: i64,
        rows: &[(f64, f64, f64, f64)],
    ) {
        let step = interval_secs * 1_000;
        let now = Utc::now().timestamp_millis();
        let last_open = now - now.rem_euclid(step) - step;
        let first_open = last_open - step * (rows.len() as i64 - 1);
        let timed: Vec<(i64, f64, f64, f64, f64)> = rows
            .iter()
            .enumerate()
            .map(|(i, (open, high, low, close))| {
                (first_open + step * i as i64, *open, *high, *low, *close)
            })
            .collect();
        self.set_history(symbol, interval, &timed);
    }

    /// Serve these 1-minute candles (open time ms, open, high, low, close) as `interval` klines,
    /// honouring start, end and limit as the exchanges do.
    pub fn set_history(&self, symbol: &str, interval: &str, rows: &[(i64, f64, f64, f64, f64)]) {
        let series = rows
            .iter()
            .map(|(open_ms, open, high, low, close)| FakeCandle {
                open_ms: *open_ms,
                open: *open,
                high: *high,
                low: *low,
                close: *close,
                happened_ms: *open_ms,
            })
            .collect();
        self.with(|m| {
            m.series
                .insert((symbol.to_owned(), interval.to_owned()), series);
        });
    }

    pub fn set_mode(&self, mode: Mode) {
        self.with(|m| m.mode = mode);
    }

    pub fn requests(&self) -> u64 {
        self.with(|m| m.requests)
    }
}

impl Drop for FakeExchange {
    fn drop(&mut self) {
        drop(self.stop.stop(false));
    }
}

type Shared = web::Data<Arc<Mutex<Market>>>;

fn query(req: &HttpRequest) -> BTreeMap<String, String> {
    web::Query::<BTreeMap<String, String>>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .unwrap_or_default()
}

/// Common failure modes; `None` means answer normally.
async fn failure(market: &Shared, bybit: bool) -> Option<HttpResponse> {
    let mode = {
        let mut m = market.lock().unwrap();
        m.requests += 1;
        m.mode
    };
    match mode {
        Mode::Ok | Mode::NaN | Mode::Stale => None,
        Mode::ExchangeError if bybit => Some(HttpResponse::Ok().json(
            json!({"retCode": 10001, "retMsg": "params error: symbol invalid", "result": {}, "retExtInfo": {}, "time": Utc::now().timestamp_millis()}),
        )),
        Mode::ExchangeError => Some(
            HttpResponse::BadRequest().json(json!({"code": -1121, "msg": "Invalid symbol."})),
        ),
        Mode::Garbage => Some(
            HttpResponse::Ok()
                .content_type("text/html")
                .body("<html><body>502 Bad Gateway</body></html>"),
        ),
        Mode::Timeout => {
            actix_web::rt::time::sleep(Duration::from_secs(30)).await;
            Some(HttpResponse::Ok().finish())
        }
        Mode::RateLimited(secs) => Some(
            HttpResponse::TooManyRequests()
                .insert_header(("Retry-After", secs.to_string()))
                .json(json!({"code": -1003, "msg": "Too many requests."})),
        ),
        Mode::ServerError => Some(HttpResponse::InternalServerError().body("oops")),
    }
}

fn price_text(market: &Market, price: f64) -> String {
    if market.mode == Mode::NaN {
        "NaN".to_owned()
    } else {
        price.to_string()
    }
}

fn stamp(market: &Market) -> i64 {
    let now = Utc::now().timestamp_millis() - market.lag_ms;
    if market.mode == Mode::Stale {
        now - 600_000
    } else {
        now
    }
}

/// The minute candles of `symbol` from `start_ms` on, with the current minute's flat candle.
fn candles_from(market: &Market, symbol: &str, start_ms: i64) -> Vec<FakeCandle> {
    let price = market.prices.get(symbol).copied().unwrap_or(1.0);
    let now = stamp(market);
    let mut out: Vec<FakeCandle> = market
        .candles
        .get(symbol)
        .map(|c| {
            c.iter()
                .filter(|c| c.open_ms >= start_ms && c.happened_ms <= now)
                .copied()
                .collect()
        })
        .unwrap_or_default();
    out.push(FakeCandle {
        open_ms: now - now.rem_euclid(60_000),
        open: price,
        high: price,
        low: price,
        close: price,
        happened_ms: now,
    });
    out
}

async fn bybit_tickers(market: Shared, req: HttpRequest) -> HttpResponse {
    if let Some(failed) = failure(&market, true).await {
        return failed;
    }
    let m = market.lock().unwrap();
    let only = query(&req).get("symbol").cloned();
    let list: Vec<Value> = m
        .prices
        .iter()
        .filter(|(s, _)| only.as_ref().is_none_or(|o| o == *s))
        .map(|(symbol, price)| {
            json!({"symbol": symbol, "bid1Price": price.to_string(), "bid1Size": "1",
                   "ask1Price": price.to_string(), "ask1Size": "1",
                   "lastPrice": price_text(&m, *price), "prevPrice24h": price.to_string(),
                   "price24hPcnt": "0.0125", "highPrice24h": (price * 1.02).to_string(),
                   "lowPrice24h": (price * 0.98).to_string(), "turnover24h": "1000000",
                   "volume24h": "1234.5", "usdIndexPrice": price.to_string()})
        })
        .collect();
    HttpResponse::Ok().json(json!({"retCode": 0, "retMsg": "OK",
        "result": {"category": "spot", "list": list}, "retExtInfo": {}, "time": stamp(&m)}))
}

async fn bybit_kline(market: Shared, req: HttpRequest) -> HttpResponse {
    if let Some(failed) = failure(&market, true).await {
        return failed;
    }
    let q = query(&req);
    let m = market.lock().unwrap();
    let symbol = q.get("symbol").cloned().unwrap_or_default();
    let start = q.get("start").and_then(|s| s.parse().ok()).unwrap_or(0);
    let interval = q.get("interval").cloned().unwrap_or_default();
    let end: i64 = q
        .get("end")
        .and_then(|s| s.parse().ok())
        .unwrap_or(i64::MAX);
    let limit: usize = q.get("limit").and_then(|s| s.parse().ok()).unwrap_or(200);
    let candles = match m.series.get(&(symbol.clone(), interval)) {
        // Bybit answers the newest `limit` candles of [start, end].
        Some(series) => {
            let inside: Vec<FakeCandle> = series
                .iter()
                .filter(|c| c.open_ms >= start && c.open_ms <= end)
                .copied()
                .collect();
            inside[inside.len().saturating_sub(limit)..].to_vec()
        }
        None => candles_from(&m, &symbol, start),
    };
    let mut rows: Vec<Value> = candles
        .iter()
        .map(|c| {
            json!([
                c.open_ms.to_string(),
                c.open.to_string(),
                c.high.to_string(),
                c.low.to_string(),
                price_text(&m, c.close),
                "10",
                "1000"
            ])
        })
        .collect();
    rows.reverse(); // Bybit lists newest first
    HttpResponse::Ok().json(json!({"retCode": 0, "retMsg": "OK",
        "result": {"symbol": symbol, "category": "spot", "list": rows}, "retExtInfo": {}, "time": stamp(&m)}))
}

async fn binance_tickers(market: Shared, req: HttpRequest) -> HttpResponse {
    if let Some(failed) = failure(&market, false).await {
        return failed;
    }
    let q = query(&req);
    let m = market.lock().unwrap();
    let wanted: Vec<String> = match (q.get("symbol"), q.get("symbols")) {
        (Some(one), _) => vec![one.clone()],
        (None, Some(list)) => serde_json::from_str(list).unwrap_or_default(),
        (None, None) => m.prices.keys().cloned().collect(),
    };
    if let Some(unknown) = wanted.iter().find(|s| !m.prices.contains_key(*s)) {
        let _ = unknown;
        return HttpResponse::BadRequest().json(json!({"code": -1121, "msg": "Invalid symbol."}));
    }
    let tickers: Vec<Value> = wanted
        .iter()
        .map(|symbol| {
            let price = m.prices[symbol];
            json!({"symbol": symbol, "priceChange": "1.0", "priceChangePercent": "1.250",
                   "weightedAvgPrice": price.to_string(), "prevClosePrice": price.to_string(),
                   "lastPrice": price_text(&m, price), "lastQty": "1", "bidPrice": price.to_string(),
                   "bidQty": "1", "askPrice": price.to_string(), "askQty": "1",
                   "openPrice": price.to_string(), "highPrice": (price * 1.02).to_string(),
                   "lowPrice": (price * 0.98).to_string(), "volume": "1234.5", "quoteVolume": "1",
                   "openTime": stamp(&m) - 86_400_000, "closeTime": stamp(&m), "firstId": 1,
                   "lastId": 2, "count": 2})
        })
        .collect();
    if q.contains_key("symbol") {
        HttpResponse::Ok().json(&tickers[0])
    } else {
        HttpResponse::Ok().json(tickers)
    }
}

async fn binance_klines(market: Shared, req: HttpRequest) -> HttpResponse {
    if let Some(failed) = failure(&market, false).await {
        return failed;
    }
    let q = query(&req);
    let m = market.lock().unwrap();
    let symbol = q.get("symbol").cloned().unwrap_or_default();
    let start = q.get("startTime").and_then(|s| s.parse().ok()).unwrap_or(0);
    let rows: Vec<Value> = candles_from(&m, &symbol, start)
        .iter()
        .map(|c| {
            json!([
                c.open_ms,
                c.open.to_string(),
                c.high.to_string(),
                c.low.to_string(),
                price_text(&m, c.close),
                "10",
                c.open_ms + 59_999,
                "1000",
                5,
                "5",
                "500",
                "0"
            ])
        })
        .collect();
    HttpResponse::Ok().json(rows)
}
