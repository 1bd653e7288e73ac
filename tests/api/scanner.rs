//! The strategy scanner in the real server: klines from the fake exchange that form a textbook
//! bullish setup open one `ict` signal through the intake, and only one however often it scans.

use signaldesk::db::signals::get_active_signals;

use crate::fake_exchange::FakeExchange;
use crate::helpers::{TempDb, TestServer};

fn flat(mid: f64, spread: f64) -> (f64, f64, f64, f64) {
    (mid, mid + spread, mid - spread, mid)
}

/// 1h candles zig-zagging upwards: higher highs and higher lows.
fn bullish_hours() -> Vec<(f64, f64, f64, f64)> {
    let mut rows = Vec::new();
    for leg in 0..6 {
        let base = 90.0 + leg as f64 * 2.0;
        for step in [0.0, 1.0, 2.0, 3.0, 4.0, 3.0, 2.0, 1.0] {
            rows.push(flat(base + step, 0.3));
        }
    }
    rows
}

/// 5m candles: a swing low at 98, a swing high at 101.2 broken by a displacement that leaves a
/// gap [101.1, 103], a rally to 110, then a retrace into the gap.
fn setup_five_minutes() -> Vec<(f64, f64, f64, f64)> {
    vec![
        flat(100.0, 0.4),
        flat(99.5, 0.4),
        flat(99.0, 0.4),
        (98.8, 99.0, 98.0, 98.5),
        flat(99.2, 0.4),
        flat(99.8, 0.4),
        (100.0, 101.2, 99.9, 100.9),
        flat(100.6, 0.3),
        (100.5, 100.6, 99.9, 100.1),
        (100.1, 101.1, 100.0, 101.0),
        (101.0, 106.0, 100.9, 105.8),
        (105.8, 107.5, 103.0, 107.0),
        flat(108.0, 0.5),
        (108.5, 110.0, 108.2, 109.5),
        flat(108.5, 0.5),
        flat(107.0, 0.5),
        (106.5, 106.6, 104.5, 104.8),
        (104.8, 105.0, 103.4, 103.6),
        (103.6, 103.7, 102.4, 102.6),
    ]
}

fn a_setup_in_the_klines_opens_one_ict_signal(db: TempDb) {
    let exchange = FakeExchange::start(&[("BTCUSDT", 102.6)]);
    exchange.set_series("BTCUSDT", "5", 300, &setup_five_minutes());
    exchange.set_series("BTCUSDT", "60", 3_600, &bullish_hours());
    let server = TestServer::start(
        &db,
        &[
            ("SIGNALDESK_EXCHANGE_URL", &exchange.url),
            ("SIGNALDESK_SYMBOLS", "BTCUSDT"),
            ("SIGNALDESK_SCAN", "on"),
            ("SIGNALDESK_SCAN_SECS", "1"),
            ("SIGNALDESK_TIMEFRAME", "5m"),
        ],
    );

    let stats = server.wait_for_stats("a scanner signal", |s| s["signals_today"] == 1);
    let signals = get_active_signals(&mut db.conn()).unwrap();
    assert_eq!(signals.len(), 1);
    let signal = &signals[0];
    assert_eq!(
        (signal.strategy.as_str(), signal.timeframe.as_deref()),
        ("ict", Some("5m"))
    );
    assert_eq!(signal.direction, signaldesk::domain::Direction::Long);
    assert!(
        signal.stop_loss < 101.1 && signal.take_profit == 110.0,
        "{signal:?}"
    );
    assert!(
        signal.reasons.contains("price in FVG 5m [101.100–103.000]"),
        "{}",
        signal.reasons
    );
    assert!(signal
        .external_id
        .as_deref()
        .unwrap()
        .starts_with("ict:BTCUSDT:5m:"));
    assert!(stats["scans_today"].as_i64().unwrap() >= 1);

    // More scans see the same zone: still one signal, and the scanner says why.
    server.wait_for_stats("two more scans", |s| {
        s["scans_today"].as_i64().unwrap() >= stats["scans_today"].as_i64().unwrap() + 2
    });
    assert_eq!(server.get_json("/api/stats")["signals_today"], 1);
    let health = server.get_json("/api/health");
    let result = health["scanner"]["results"][0]["result"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        result == "already opened" || result.starts_with("refused: Already have open position"),
        "{result}"
    );
}

/// The scanner's signals carry the configuration's trade management (DESIGN.md §10).
fn a_scanner_signal_takes_the_configured_trade_management(db: TempDb) {
    let exchange = FakeExchange::start(&[("BTCUSDT", 102.6)]);
    exchange.set_series("BTCUSDT", "5", 300, &setup_five_minutes());
    exchange.set_series("BTCUSDT", "60", 3_600, &bullish_hours());
    let server = TestServer::start(
        &db,
        &[
            ("SIGNALDESK_EXCHANGE_URL", &exchange.url),
            ("SIGNALDESK_SYMBOLS", "BTCUSDT"),
            ("SIGNALDESK_SCAN", "on"),
            ("SIGNALDESK_SCAN_SECS", "1"),
            ("SIGNALDESK_TIMEFRAME", "5m"),
            ("SIGNALDESK_TAKE_PROFITS", "1R:50%"),
            ("SIGNALDESK_BREAKEVEN_AT_R", "1"),
            ("SIGNALDESK_TRAILING_STOP_PCT", "2"),
            ("SIGNALDESK_TRAILING_ACTIVATE_AT_R", "1.5"),
        ],
    );
    server.wait_for_stats("a scanner signal", |s| s["signals_today"] == 1);
    let signals = get_active_signals(&mut db.conn()).unwrap();
    let signal = &signals[0];
    let risk = signal.entry_price - signal.initial_stop_loss;
    let targets = signal.targets();
    assert_eq!(targets.len(), 1, "{signal:?}");
    assert!(
        (targets[0].price - (signal.entry_price + risk)).abs() < 1e-9,
        "1R from the entry: {targets:?}"
    );
    assert_eq!(targets[0].fraction, 0.5);
    assert_eq!(
        (
            signal.breakeven_at_r,
            signal.trailing_stop_pct,
            signal.trailing_activate_at_r
        ),
        (Some(1.0), Some(2.0), 1.5)
    );
}

crate::on_both_backends!(
    a_setup_in_the_klines_opens_one_ict_signal,
    a_scanner_signal_takes_the_configured_trade_management,
);
