//! The exchange clients against the local fake exchange: real sockets, the real response shapes,
//! and every failure mode. No test reaches the internet.

use std::time::Duration;

use chrono::Utc;
use signaldesk::feeds::http::RetryPolicy;
use signaldesk::feeds::{
    poll, Binance, Bybit, Exchange, ExchangeFeed, FeedError, FeedPoll, QuoteRequest, Window,
};
use signaldesk::status::FeedHealth;

use crate::fake_exchange::{FakeExchange, Mode};

fn policy() -> RetryPolicy {
    RetryPolicy {
        attempts: 2,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(500),
        timeout: Duration::from_millis(700),
    }
}

fn poll_once<E: Exchange>(
    feed: &ExchangeFeed<E>,
    symbols: &[&str],
    window_secs: Option<i64>,
) -> FeedPoll {
    let now = Utc::now();
    let requests: Vec<QuoteRequest> = symbols
        .iter()
        .map(|s| QuoteRequest {
            symbol: s.to_string(),
            window: window_secs.map(|secs| Window {
                since: now - chrono::Duration::seconds(secs),
                not_before: now - chrono::Duration::seconds(secs),
            }),
        })
        .collect();
    actix_web::rt::System::new().block_on(poll(feed, &requests, now, 30))
}

fn bybit(exchange: &FakeExchange) -> ExchangeFeed<Bybit> {
    ExchangeFeed::new(Bybit, &exchange.url, policy()).unwrap()
}

fn binance(exchange: &FakeExchange) -> ExchangeFeed<Binance> {
    ExchangeFeed::new(Binance, &exchange.url, policy()).unwrap()
}

#[test]
fn bybit_prices_and_wicks_between_ticks_come_through() {
    let exchange = FakeExchange::start(&[("BTCUSDT", 100.0), ("ETHUSDT", 2000.0)]);
    exchange.wick("BTCUSDT", 104.0, 97.0);
    let feed = bybit(&exchange);

    let polled = poll_once(&feed, &["BTCUSDT", "ETHUSDT"], Some(10));

    assert_eq!(polled.health(), FeedHealth::Ok);
    let btc = &polled.quotes["BTCUSDT"];
    assert_eq!((btc.last_price, btc.high, btc.low), (100.0, 104.0, 97.0));
    assert!((btc.change_24h_pct.unwrap() - 1.25).abs() < 1e-9);
    let eth = &polled.quotes["ETHUSDT"];
    assert_eq!(
        (eth.last_price, eth.high, eth.low),
        (2000.0, 2000.0, 2000.0)
    );
}

#[test]
fn binance_prices_and_wicks_come_through_and_an_unknown_symbol_fails_alone() {
    let exchange = FakeExchange::start(&[("BTCUSDT", 100.0)]);
    exchange.wick("BTCUSDT", 101.0, 90.0);
    let feed = binance(&exchange);

    let polled = poll_once(&feed, &["BTCUSDT", "NOPEUSDT"], Some(10));

    let btc = &polled.quotes["BTCUSDT"];
    assert_eq!((btc.last_price, btc.high, btc.low), (100.0, 101.0, 90.0));
    assert!(polled.failures.contains_key("NOPEUSDT"), "{polled:?}");
    assert_eq!(polled.health(), FeedHealth::Degraded);
}

#[test]
fn every_failure_mode_yields_no_price_and_the_feed_recovers_by_itself() {
    let exchange = FakeExchange::start(&[("BTCUSDT", 100.0)]);
    let feeds: (ExchangeFeed<Bybit>, ExchangeFeed<Binance>) =
        (bybit(&exchange), binance(&exchange));
    type IsExpected = fn(&FeedError) -> bool;
    let cases: [(Mode, IsExpected); 6] = [
        (Mode::ExchangeError, |e| {
            matches!(e, FeedError::Exchange { .. })
        }),
        (Mode::Garbage, |e| matches!(e, FeedError::Malformed(_))),
        (Mode::NaN, |e| matches!(e, FeedError::BadData { .. })),
        (Mode::Timeout, |e| matches!(e, FeedError::Timeout(_))),
        (Mode::ServerError, |e| {
            matches!(e, FeedError::Http { status: 500, .. })
        }),
        (Mode::Stale, |e| matches!(e, FeedError::Stale { .. })),
    ];
    for (mode, expected) in cases {
        exchange.set_mode(mode);
        for polled in [
            poll_once(&feeds.0, &["BTCUSDT"], Some(10)),
            poll_once(&feeds.1, &["BTCUSDT"], Some(10)),
        ] {
            assert!(
                polled.quotes.is_empty(),
                "{mode:?} yielded a price: {polled:?}"
            );
            let error = &polled.failures["BTCUSDT"];
            assert!(expected(error), "{mode:?} gave {error:?}");
            assert_eq!(polled.health(), FeedHealth::Down);
        }
    }
    exchange.set_mode(Mode::Ok);
    assert_eq!(
        poll_once(&feeds.0, &["BTCUSDT"], Some(10)).health(),
        FeedHealth::Ok
    );
    assert_eq!(
        poll_once(&feeds.1, &["BTCUSDT"], Some(10)).health(),
        FeedHealth::Ok
    );
}

#[test]
fn server_errors_are_retried_before_giving_up() {
    let exchange = FakeExchange::start(&[("BTCUSDT", 100.0)]);
    exchange.set_mode(Mode::ServerError);
    let before = exchange.requests();
    poll_once(&bybit(&exchange), &["BTCUSDT"], None);
    assert_eq!(
        exchange.requests() - before,
        2,
        "two attempts by the policy"
    );
}

#[test]
fn a_429_blocks_requests_until_retry_after_has_passed() {
    let exchange = FakeExchange::start(&[("BTCUSDT", 100.0)]);
    let feed = bybit(&exchange);
    exchange.set_mode(Mode::RateLimited(1));

    let limited = poll_once(&feed, &["BTCUSDT"], None);
    assert_eq!(
        limited.failures["BTCUSDT"],
        FeedError::RateLimited {
            retry_after_secs: Some(1)
        }
    );
    exchange.set_mode(Mode::Ok);
    let asked = exchange.requests();
    let blocked = poll_once(&feed, &["BTCUSDT"], None);
    assert!(matches!(
        blocked.failures["BTCUSDT"],
        FeedError::RateLimited { .. }
    ));
    assert_eq!(
        exchange.requests(),
        asked,
        "no request while Retry-After runs"
    );

    // Waiting out Retry-After is the behaviour under test.
    std::thread::sleep(Duration::from_millis(1_100));
    assert_eq!(
        poll_once(&feed, &["BTCUSDT"], None).health(),
        FeedHealth::Ok
    );
}

#[test]
fn the_server_runs_on_the_replay_feed_and_shows_the_market_time() {
    let db = crate::helpers::TempDb::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/replay");
    let server = crate::helpers::TestServer::start(
        &db,
        &[
            ("SIGNALDESK_FEED", "replay"),
            ("SIGNALDESK_REPLAY_DIR", dir.to_str().unwrap()),
            ("SIGNALDESK_SYMBOLS", "BTCUSDT"),
        ],
    );
    server.wait_for_stats("replayed prices", |s| s["feed"]["status"] == "ok");
    let data = server.get_json("/api/data");
    let price = &data["prices"][0];
    assert_eq!(price["symbol"], "BTCUSDT");
    assert!(
        price["market_time"]
            .as_str()
            .unwrap()
            .starts_with("2025-03-01T00:"),
        "{price}"
    );
    assert_ne!(price["market_time"], price["price_time"]);
    assert_eq!(price["stale"], false);
    let html = server.get("/").text().unwrap();
    assert!(
        html.contains("market 2025-03-01"),
        "the dashboard shows the market time"
    );
}

#[test]
fn an_absurd_retry_after_is_clamped_to_an_hour_and_never_panics() {
    let exchange = FakeExchange::start(&[("BTCUSDT", 100.0)]);
    let feed = bybit(&exchange);
    exchange.set_mode(Mode::RateLimited(u64::MAX));

    let limited = poll_once(&feed, &["BTCUSDT"], None);

    assert_eq!(
        limited.failures["BTCUSDT"],
        FeedError::RateLimited {
            retry_after_secs: Some(3_600)
        }
    );
    exchange.set_mode(Mode::Ok);
    let asked = exchange.requests();
    let blocked = poll_once(&feed, &["BTCUSDT"], None);
    assert!(matches!(
        blocked.failures["BTCUSDT"],
        FeedError::RateLimited {
            retry_after_secs: Some(secs)
        } if secs > 3_590 && secs <= 3_600
    ));
    assert_eq!(exchange.requests(), asked, "blocked for the clamped hour");
}
