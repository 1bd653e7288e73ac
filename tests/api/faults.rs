//! The engine's fault paths end to end (DESIGN.md §13): the real server against a fake exchange
//! that crashes a price, lags, spikes, and answers absurd waits; a database that refuses the
//! tick's write; a trade that cannot be booked. Trading must never stall while the pages look
//! healthy, and `/api/health` must say when it does.

use chrono::Utc;
use serde_json::{json, Value};
use signaldesk::db::models::SignalId;
use signaldesk::db::signals::get_signal;
use signaldesk::domain::{ExitReason, SignalStatus};

use crate::fake_exchange::{FakeExchange, Mode};
use crate::helpers::{assert_check_passes, wait_until, SignalBuilder, TempDb, TestServer};
use crate::tick::stray_journal_row;

const SLIP: f64 = 0.0005;

/// The real server against `exchange`, watching BTCUSDT and ETHUSDT, no cooldown.
pub fn start(db: &TempDb, exchange: &FakeExchange, env: &[(&str, &str)]) -> TestServer {
    let mut all = vec![
        ("SIGNALDESK_EXCHANGE_URL", exchange.url.as_str()),
        ("SIGNALDESK_SYMBOLS", "BTCUSDT,ETHUSDT"),
        ("SIGNALDESK_COOLDOWN_MINUTES", "0"),
    ];
    all.extend_from_slice(env);
    TestServer::start(&db, &all)
}

fn signal(symbol: &str, stop: f64, target: f64) -> Value {
    json!({"symbol": symbol, "direction": "LONG", "stop_loss": stop, "take_profit": target})
}

/// `/api/health`, whatever its status.
pub fn health(server: &TestServer) -> (u16, Value) {
    let response = server.get("/api/health");
    let status = response.status().as_u16();
    (status, response.json().expect("health is JSON"))
}

/// Open a trade through the API; 201 or the test fails.
pub fn open(
    server: &TestServer,
    symbol: &str,
    direction: &str,
    stop: f64,
    target: f64,
) -> SignalId {
    let body = json!({"symbol": symbol, "direction": direction, "stop_loss": stop,
                      "take_profit": target});
    let (status, body) = server.post("/api/signals", &body);
    assert_eq!(status, 201, "{body}");
    SignalId(body["id"].as_i64().unwrap() as i32)
}

fn a_lasting_crash_stops_the_trade_out_at_the_gap_price_on_the_next_poll(db: TempDb) {
    let exchange = FakeExchange::start(&[("BTCUSDT", 50_000.0), ("ETHUSDT", 2_000.0)]);
    let server = start(&db, &exchange, &[]);
    server.wait_for_stats("a fresh price", |s| s["feed"]["status"] == "ok");
    let id = open(&server, "BTCUSDT", "LONG", 49_000.0, 60_000.0);
    server.wait_ticks(1);

    // 50 000 → 20 000 inside one minute after the entry, and it holds: that candle's high stays
    // in every later window until the trade is priced past it.
    let now = Utc::now().timestamp_millis();
    exchange.candle(
        "BTCUSDT",
        now,
        (50_000.0, 50_000.0, 20_000.0, 20_000.0),
        now,
    );
    exchange.set_price("BTCUSDT", 20_000.0);
    server.wait_for_stats("the stop", |s| s["completed_trades"] == 1);

    let row = get_signal(&mut db.conn(), id).unwrap();
    assert_eq!(row.exit_reason, Some(ExitReason::StopLoss));
    let gap_fill = 20_000.0 * (1.0 - SLIP);
    assert!(
        (row.exit_price.unwrap() - gap_fill).abs() < 1e-6,
        "filled at the gap price, not the stop: {:?}",
        row.exit_price
    );
    // The new price is the price now: a new signal opens from it.
    let (status, body) = server.post("/api/signals", &signal("BTCUSDT", 19_000.0, 25_000.0));
    assert_eq!(status, 201, "{body}");
    assert!((body["entry_price"].as_f64().unwrap() - 20_000.0 * (1.0 + SLIP)).abs() < 1e-6);
    server.stop();
    assert_check_passes(&db);
}

fn a_spike_far_beyond_its_own_candle_after_entry_never_freezes_the_trade(db: TempDb) {
    let exchange = FakeExchange::start(&[("BTCUSDT", 100.0), ("ETHUSDT", 2_000.0)]);
    let server = start(&db, &exchange, &[]);
    server.wait_for_stats("a fresh price", |s| s["feed"]["status"] == "ok");
    let id = open(&server, "BTCUSDT", "LONG", 95.0, 110.0);
    server.wait_ticks(1);

    // A print 4x above a candle that opened and closed at 100: no order fills there.
    let now = Utc::now().timestamp_millis();
    exchange.candle("BTCUSDT", now, (100.0, 400.0, 100.0, 100.0), now);
    server.wait_ticks(2);
    let (_, body) = health(&server);
    assert_eq!(body["feed"]["status"], "ok", "{body}");
    let row = get_signal(&mut db.conn(), id).unwrap();
    assert_eq!(
        row.status,
        SignalStatus::Active,
        "the spike is no target hit"
    );
    assert!(row.max_favorable_price < 101.0, "{row:?}");

    exchange.set_price("BTCUSDT", 111.0);
    server.wait_for_stats("the target", |s| s["completed_trades"] == 1);
    let row = get_signal(&mut db.conn(), id).unwrap();
    assert_eq!(row.exit_reason, Some(ExitReason::TakeProfit));
}

fn a_wick_a_lagging_exchange_reports_late_is_still_caught(db: TempDb) {
    let exchange = FakeExchange::start(&[("BTCUSDT", 100.0), ("ETHUSDT", 2_000.0)]);
    // Everything the exchange says is 20 s old: still fresh under the 30 s limit.
    exchange.set_lag(20);
    let server = start(&db, &exchange, &[]);
    server.wait_for_stats("a fresh price", |s| s["feed"]["status"] == "ok");
    let opened = Utc::now().naive_utc() - chrono::Duration::minutes(10);
    let trade = SignalBuilder::long("BTCUSDT").insert(&mut db.conn(), opened);
    wait_until("the trade to be priced", || {
        let row = get_signal(&mut db.conn(), trade.signal_id()).unwrap();
        (row.updated_at != trade.updated_at).then_some(())
    });

    // A wick through the stop 6 s ago, in a candle that ended 1 s ago. The lagging exchange
    // serves it 14 s from now, when the candle has long ended: only a trade priced up to the
    // time of its data (20 s behind the poll) still reads that candle.
    let now = Utc::now().timestamp_millis();
    exchange.candle(
        "BTCUSDT",
        now - 61_000,
        (100.0, 100.0, 90.0, 100.0),
        now - 6_000,
    );
    server.wait_for_stats("the stop", |s| s["completed_trades"] == 1);
    let row = get_signal(&mut db.conn(), trade.signal_id()).unwrap();
    assert_eq!(row.exit_reason, Some(ExitReason::StopLoss));
}

fn an_absurd_retry_after_never_stops_the_ticks(db: TempDb) {
    let exchange = FakeExchange::start(&[("BTCUSDT", 100.0), ("ETHUSDT", 2_000.0)]);
    exchange.set_mode(Mode::RateLimited(u64::MAX));
    let server = start(&db, &exchange, &[]);

    server.wait_ticks(3);
    let (status, body) = health(&server);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["stalled"], false);
    assert_eq!(body["engine"]["failed_ticks"], 0, "{body}");
    // Blocked for the clamped hour, and said so.
    let error = body["feed"]["error"].as_str().unwrap_or_default();
    let wait: u64 = error
        .split("retry after ")
        .nth(1)
        .and_then(|rest| rest.split('s').next())
        .and_then(|secs| secs.parse().ok())
        .unwrap_or_else(|| panic!("no wait in {body}"));
    assert!((3_500..=3_600).contains(&wait), "{body}");
}

fn health_is_down_while_ticks_cannot_write_and_recovers_after(db: TempDb) {
    let exchange = FakeExchange::start(&[("BTCUSDT", 100.0), ("ETHUSDT", 2_000.0)]);
    let server = start(&db, &exchange, &[]);
    server.wait_ticks(1);

    // Another process holds the write lock: every tick's write waits out the busy timeout and
    // fails, while reads (and so the pages) keep answering.
    let blocker = db.hold_write_lock();
    let stalled = wait_until("health to say the ticks stalled", || {
        let (status, body) = health(&server);
        (status == 503 && body["stalled"] == true).then_some(body)
    });
    assert_eq!(stalled["status"], "down");
    assert_eq!(stalled["engine"]["stalled"], true);
    assert_eq!(stalled["db"]["status"], "ok", "reads still work");
    wait_until("the failed tick to be counted", || {
        let (_, body) = health(&server);
        // SQLite: "database is locked"; PostgreSQL: "canceling statement due to lock timeout".
        body["engine"]["last_error"]
            .as_str()?
            .contains("lock")
            .then_some(())
    });
    let metrics = server.get("/metrics").text().unwrap();
    assert!(metrics.contains("signaldesk_stalled 1"), "{metrics}");

    blocker.release();
    wait_until("ticks to resume", || {
        let (status, body) = health(&server);
        (status == 200 && body["stalled"] == false).then_some(())
    });
}

fn a_trade_that_cannot_be_booked_is_reported_and_the_others_still_close(db: TempDb) {
    let exchange = FakeExchange::start(&[("BTCUSDT", 100.0), ("ETHUSDT", 2_000.0)]);
    let server = start(&db, &exchange, &[]);
    server.wait_for_stats("a fresh price", |s| s["feed"]["status"] == "ok");
    let broken = open(&server, "BTCUSDT", "LONG", 95.0, 110.0);
    let fine = open(&server, "ETHUSDT", "LONG", 1_900.0, 2_200.0);
    stray_journal_row(&mut db.conn(), broken.0);

    exchange.set_price("BTCUSDT", 111.0);
    exchange.set_price("ETHUSDT", 2_222.0);
    server.wait_for_stats("the bookable trade", |s| s["completed_trades"] == 1);
    let body = wait_until("the failure in health", || {
        let (_, body) = health(&server);
        (!body["engine"]["booking_failures"].as_array()?.is_empty()).then_some(body)
    });
    assert_eq!(body["status"], "degraded");
    let failure = &body["engine"]["booking_failures"][0];
    assert_eq!(failure["signal_id"], broken.0, "{body}");
    assert!(
        failure["error"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("unique"),
        "{body}"
    );
    let closed = get_signal(&mut db.conn(), fine).unwrap();
    assert_eq!(closed.exit_reason, Some(ExitReason::TakeProfit));
    let stuck = get_signal(&mut db.conn(), broken).unwrap();
    assert_eq!(stuck.status, SignalStatus::Active);
    let metrics = server.get("/metrics").text().unwrap();
    assert!(
        !metrics.contains("signaldesk_booking_failures_total 0"),
        "{metrics}"
    );
}

crate::on_both_backends!(
    a_lasting_crash_stops_the_trade_out_at_the_gap_price_on_the_next_poll,
    a_spike_far_beyond_its_own_candle_after_entry_never_freezes_the_trade,
    a_wick_a_lagging_exchange_reports_late_is_still_caught,
    an_absurd_retry_after_never_stops_the_ticks,
    health_is_down_while_ticks_cannot_write_and_recovers_after,
    a_trade_that_cannot_be_booked_is_reported_and_the_others_still_close,
);
