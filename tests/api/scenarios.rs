//! The engine attacked from outside, as the acceptance checker does it: the real binary against
//! the fake exchange crashing, spiking, lagging and failing, with restarts and `kill -9` in
//! between. After each scenario every §2 invariant holds (`signaldesk check` exits 0).

use chrono::{Duration, Utc};
use serde_json::json;
use signaldesk::db::models::SignalId;
use signaldesk::db::quotes;
use signaldesk::db::signals::get_signal;
use signaldesk::domain::{ExitReason, SignalStatus};

use crate::fake_exchange::{FakeExchange, Mode};
use crate::faults::{health, open, start};
use crate::helpers::{assert_check_passes, wait_until, SignalBuilder, TempDb};

const SLIP: f64 = 0.0005;

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

fn a_short_through_a_lasting_spike_up_stops_out_at_the_gap_price(db: TempDb) {
    let exchange = FakeExchange::start(&[("BTCUSDT", 100.0), ("ETHUSDT", 2_000.0)]);
    let server = start(&db, &exchange, &[]);
    server.wait_for_stats("a fresh price", |s| s["feed"]["status"] == "ok");
    let id = open(&server, "BTCUSDT", "SHORT", 105.0, 90.0);
    server.wait_ticks(1);

    exchange.candle("BTCUSDT", now_ms(), (100.0, 250.0, 100.0, 250.0), now_ms());
    exchange.set_price("BTCUSDT", 250.0);
    server.wait_for_stats("the stop", |s| s["completed_trades"] == 1);

    let row = get_signal(&mut db.conn(), id).unwrap();
    assert_eq!(row.exit_reason, Some(ExitReason::StopLoss));
    let gap_fill = 250.0 * (1.0 + SLIP);
    assert!(
        (row.exit_price.unwrap() - gap_fill).abs() < 1e-9,
        "{:?}",
        row.exit_price
    );
    assert!(row.pnl.unwrap() < -(250.0 - 105.0) * row.quantity);
    server.kill();
    assert_check_passes(&db);
}

fn a_crash_while_the_exchange_lags_stops_the_trade_out_at_the_gap_price(db: TempDb) {
    let exchange = FakeExchange::start(&[("BTCUSDT", 50_000.0), ("ETHUSDT", 2_000.0)]);
    exchange.set_lag(20);
    let server = start(&db, &exchange, &[]);
    server.wait_for_stats("a fresh price", |s| s["feed"]["status"] == "ok");
    let opened = Utc::now().naive_utc() - Duration::minutes(10);
    let trade = SignalBuilder::long("BTCUSDT")
        .levels(50_000.0, 49_000.0, 60_000.0)
        .insert(&mut db.conn(), opened);
    wait_until("the trade to be priced", || {
        let row = get_signal(&mut db.conn(), trade.signal_id()).unwrap();
        (row.updated_at != trade.updated_at).then_some(())
    });

    exchange.candle(
        "BTCUSDT",
        now_ms(),
        (50_000.0, 50_000.0, 20_000.0, 20_000.0),
        now_ms(),
    );
    exchange.set_price("BTCUSDT", 20_000.0);
    let row = wait_until("the stop", || {
        let row = get_signal(&mut db.conn(), trade.signal_id()).unwrap();
        (row.status == SignalStatus::Closed).then_some(row)
    });
    assert_eq!(row.exit_reason, Some(ExitReason::StopLoss));
    assert!(
        (row.exit_price.unwrap() - 20_000.0 * (1.0 - SLIP)).abs() < 1e-6,
        "{row:?}"
    );
    assert!(row.closed_at.unwrap() >= row.created_at);
    server.kill();
    assert_check_passes(&db);
}

/// One poll only: the server ticks once at start and then not for an hour.
const ONE_POLL: (&str, &str) = ("SIGNALDESK_TICK_SECS", "3600");

/// Start a server that polls once, wait for that poll to refuse a jump, and kill it.
fn refuse_once_and_kill(db: &TempDb, exchange: &FakeExchange) {
    let server = start(db, exchange, &[ONE_POLL]);
    wait_until("the jump to be refused", || {
        let (_, body) = health(&server);
        body["feed"]["error"]
            .as_str()?
            .contains("implausible")
            .then_some(())
    });
    server.kill();
}

/// A server that has priced a LONG at 100 (stop 95), killed.
fn long_at_100(db: &TempDb, exchange: &FakeExchange) -> SignalId {
    let server = start(db, exchange, &[]);
    server.wait_for_stats("a fresh price", |s| s["feed"]["status"] == "ok");
    let id = open(&server, "BTCUSDT", "LONG", 95.0, 110.0);
    server.wait_ticks(1);
    server.kill();
    id
}

fn a_one_poll_glitch_then_kill_9_never_reaches_the_trade_after_the_restart(db: TempDb) {
    let exchange = FakeExchange::start(&[("BTCUSDT", 100.0), ("ETHUSDT", 2_000.0)]);
    let id = long_at_100(&db, &exchange);
    exchange.set_price("BTCUSDT", 10.0);
    refuse_once_and_kill(&db, &exchange);
    let stored = quotes::get(&mut db.conn(), "BTCUSDT").unwrap().unwrap();
    assert_eq!((stored.price, stored.pending_price), (100.0, Some(10.0)));

    exchange.set_price("BTCUSDT", 101.0);
    let server = start(&db, &exchange, &[]);
    server.wait_for_stats("the normal price", |s| s["feed"]["status"] == "ok");
    server.wait_ticks(1);
    let row = get_signal(&mut db.conn(), id).unwrap();
    assert_eq!(row.status, SignalStatus::Active, "{row:?}");
    assert!(row.max_adverse_price >= 95.0, "{row:?}");
    let stored = quotes::get(&mut db.conn(), "BTCUSDT").unwrap().unwrap();
    assert_eq!((stored.price, stored.pending_price), (101.0, None));
    server.kill();
    assert_check_passes(&db);
}

fn a_crash_refused_just_before_a_kill_9_is_booked_on_the_first_poll_after_the_restart(db: TempDb) {
    let exchange = FakeExchange::start(&[("BTCUSDT", 100.0), ("ETHUSDT", 2_000.0)]);
    let id = long_at_100(&db, &exchange);
    exchange.set_price("BTCUSDT", 10.0);
    refuse_once_and_kill(&db, &exchange);

    let server = start(&db, &exchange, &[ONE_POLL]);
    let row = wait_until("the stop", || {
        let row = get_signal(&mut db.conn(), id).unwrap();
        (row.status == SignalStatus::Closed).then_some(row)
    });
    assert_eq!(row.exit_reason, Some(ExitReason::StopLoss));
    assert!(
        (row.exit_price.unwrap() - 10.0 * (1.0 - SLIP)).abs() < 1e-9,
        "{row:?}"
    );
    server.kill();
    assert_check_passes(&db);
}

fn a_close_time_missed_across_a_kill_9_closes_at_the_first_tick_after_the_restart(db: TempDb) {
    let exchange = FakeExchange::start(&[("BTCUSDT", 100.0), ("ETHUSDT", 2_000.0)]);
    let server = start(&db, &exchange, &[]);
    server.wait_ticks(1);
    let conn = &mut db.conn();
    let now = Utc::now().naive_utc();
    let daily = SignalBuilder::long("BTCUSDT").insert(conn, now - Duration::minutes(20));
    let held = SignalBuilder::short("ETHUSDT")
        .levels(2_000.0, 2_100.0, 1_800.0)
        .insert(conn, now - Duration::hours(1));
    server.wait_ticks(2);
    server.kill();

    // While it was down, the 30-minute hold of one trade passed...
    let server = start(&db, &exchange, &[("SIGNALDESK_MAX_HOLD_HOURS", "0.5")]);
    server.wait_for_stats("the hold limit", |s| s["active_trades"] == 1);
    server.kill();
    // ...and the daily close (10 minutes ago) of the other.
    let close_time = (Utc::now() - Duration::minutes(10))
        .format("%H:%M")
        .to_string();
    let server = start(&db, &exchange, &[("SIGNALDESK_EOD_CLOSE_UTC", &close_time)]);
    server.wait_for_stats("the daily close", |s| s["active_trades"] == 0);

    let daily = get_signal(&mut db.conn(), daily.signal_id()).unwrap();
    assert_eq!(daily.exit_reason, Some(ExitReason::EndOfDay));
    let held = get_signal(&mut db.conn(), held.signal_id()).unwrap();
    assert_eq!(held.exit_reason, Some(ExitReason::MaxDuration));
    server.kill();
    assert_check_passes(&db);
}

fn a_broken_symbol_never_stops_the_others(db: TempDb) {
    let exchange =
        FakeExchange::start(&[("BTCUSDT", 100.0), ("ETHUSDT", 2_000.0), ("SOLUSDT", 150.0)]);
    let server = start(
        &db,
        &exchange,
        &[("SIGNALDESK_SYMBOLS", "BTCUSDT,ETHUSDT,SOLUSDT")],
    );
    server.wait_for_stats("fresh prices", |s| s["feed"]["status"] == "ok");
    let broken = open(&server, "BTCUSDT", "LONG", 95.0, 110.0);
    let crashed = open(&server, "SOLUSDT", "LONG", 140.0, 170.0);
    let fine = open(&server, "ETHUSDT", "SHORT", 2_100.0, 1_900.0);
    server.wait_ticks(1);

    // BTC's exchange sends a candle whose open lies outside its own range; SOL crashes by
    // 90 % in one poll; ETH reaches its target.
    exchange.candle("BTCUSDT", now_ms(), (100.0, 99.0, 90.0, 95.0), now_ms());
    exchange.set_price("SOLUSDT", 15.0);
    exchange.set_price("ETHUSDT", 1_890.0);
    server.wait_for_stats("the target", |s| s["completed_trades"] == 1);
    let (_, body) = health(&server);
    assert_eq!(body["feed"]["status"], "degraded", "{body}");

    // SOL's crash lasts: the next poll books it; BTC stays untouched while its data is bad.
    server.wait_for_stats("the crash", |s| s["completed_trades"] == 2);
    let conn = &mut db.conn();
    assert_eq!(
        get_signal(conn, fine).unwrap().exit_reason,
        Some(ExitReason::TakeProfit)
    );
    let crashed = get_signal(conn, crashed).unwrap();
    assert_eq!(crashed.exit_reason, Some(ExitReason::StopLoss));
    assert!((crashed.exit_price.unwrap() - 15.0 * (1.0 - SLIP)).abs() < 1e-9);
    assert_eq!(
        get_signal(conn, broken).unwrap().status,
        SignalStatus::Active
    );
    server.kill();
    assert_check_passes(&db);
}
fn an_exchange_that_times_out_is_a_feed_outage_not_a_stall(db: TempDb) {
    let exchange = FakeExchange::start(&[("BTCUSDT", 100.0), ("ETHUSDT", 2_000.0)]);
    let server = start(&db, &exchange, &[("SIGNALDESK_TICK_SECS", "2")]);
    server.wait_for_stats("a fresh price", |s| s["feed"]["status"] == "ok");
    open(&server, "BTCUSDT", "LONG", 95.0, 110.0);

    exchange.set_mode(Mode::Timeout);
    let (_, before) = health(&server);
    let ticks = before["engine"]["ticks"].as_u64().unwrap();
    // Through two whole ticks of the outage, health says the feed is down, never a stall.
    wait_until("two ticks of the outage", || {
        let (status, body) = health(&server);
        assert_eq!(body["stalled"], false, "{body}");
        assert_eq!(status, 200, "{body}");
        (body["engine"]["ticks"].as_u64()? >= ticks + 2 && body["feed"]["status"] == "down")
            .then_some(())
    });
    let (_, body) = health(&server);
    assert_eq!(body["engine"]["failed_ticks"], 0, "{body}");
}

fn a_candle_stamped_at_the_end_of_time_fails_its_symbol_not_the_tick(db: TempDb) {
    let exchange = FakeExchange::start(&[("BTCUSDT", 100.0), ("ETHUSDT", 2_000.0)]);
    let server = start(&db, &exchange, &[]);
    server.wait_for_stats("a fresh price", |s| s["feed"]["status"] == "ok");
    let broken = open(&server, "BTCUSDT", "LONG", 95.0, 110.0);
    let fine = open(&server, "ETHUSDT", "LONG", 1_900.0, 2_200.0);
    server.wait_ticks(1);

    let end_of_time = chrono::DateTime::<Utc>::MAX_UTC.timestamp_millis();
    exchange.candle(
        "BTCUSDT",
        end_of_time,
        (100.0, 100.0, 100.0, 100.0),
        now_ms(),
    );
    exchange.set_price("ETHUSDT", 2_300.0);
    server.wait_for_stats("the target", |s| s["completed_trades"] == 1);

    let (status, body) = health(&server);
    assert_eq!(
        (status, &body["engine"]["failed_ticks"]),
        (200, &json!(0)),
        "{body}"
    );
    let error = body["feed"]["error"].as_str().unwrap_or_default();
    assert!(error.starts_with("BTCUSDT: malformed"), "{body}");
    let conn = &mut db.conn();
    assert_eq!(
        get_signal(conn, fine).unwrap().exit_reason,
        Some(ExitReason::TakeProfit)
    );
    assert_eq!(
        get_signal(conn, broken).unwrap().status,
        SignalStatus::Active
    );
    server.kill();
    assert_check_passes(&db);
}

fn a_candle_stamped_after_the_price_it_came_with_never_closes_a_trade(db: TempDb) {
    let exchange = FakeExchange::start(&[("BTCUSDT", 100.0), ("ETHUSDT", 2_000.0)]);
    let server = start(&db, &exchange, &[]);
    server.wait_for_stats("a fresh price", |s| s["feed"]["status"] == "ok");
    let long = open(&server, "BTCUSDT", "LONG", 95.0, 110.0);
    let short = open(&server, "ETHUSDT", "SHORT", 2_100.0, 1_900.0);
    server.wait_ticks(1);

    // Minutes an hour from now, through both stops: no order has filled there yet.
    let later = now_ms() + 3_600_000;
    exchange.candle("BTCUSDT", later, (90.0, 90.0, 90.0, 90.0), now_ms());
    exchange.candle(
        "ETHUSDT",
        later,
        (2_150.0, 2_150.0, 2_150.0, 2_150.0),
        now_ms(),
    );
    server.wait_ticks(3);

    let conn = &mut db.conn();
    for id in [long, short] {
        let row = get_signal(conn, id).unwrap();
        assert_eq!(row.status, SignalStatus::Active, "{row:?}");
    }
    server.kill();
    assert_check_passes(&db);
}

fn a_scanner_against_an_exchange_that_times_out_is_not_stalled(db: TempDb) {
    let exchange = FakeExchange::start(&[("BTCUSDT", 100.0), ("ETHUSDT", 2_000.0)]);
    exchange.set_mode(Mode::Timeout);
    let server = start(
        &db,
        &exchange,
        &[
            ("SIGNALDESK_SCAN", "on"),
            ("SIGNALDESK_SCAN_SECS", "2"),
            ("SIGNALDESK_TICK_SECS", "2"),
        ],
    );
    // Through two whole scans of the outage, each symbol's scan says why; none is a stall.
    let body = wait_until("two scans of the outage", || {
        let (status, body) = health(&server);
        assert_eq!(body["stalled"], false, "{body}");
        assert_eq!(status, 200, "{body}");
        (body["scanner"]["scans"].as_u64()? >= 2).then_some(body)
    });
    assert_eq!(body["scanner"]["failed_scans"], 0, "{body}");
    let results = body["scanner"]["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{body}");
    for result in results {
        let said = result["result"].as_str().unwrap();
        assert!(said.starts_with("error: timed out"), "{body}");
    }
}

fn a_lasting_absurd_price_is_bad_data_never_a_booking(db: TempDb) {
    let exchange = FakeExchange::start(&[("BTCUSDT", 100.0), ("ETHUSDT", 2_000.0)]);
    let server = start(&db, &exchange, &[]);
    server.wait_for_stats("a fresh price", |s| s["feed"]["status"] == "ok");
    let short = open(&server, "BTCUSDT", "SHORT", 105.0, 90.0);
    let long = open(&server, "ETHUSDT", "LONG", 1_900.0, 2_200.0);
    server.wait_ticks(1);

    // Finite and positive, and held for many polls: the SHORT's stop would fill near the
    // largest double, its pnl and fees overflow to infinity and the balance with them.
    exchange.set_price("BTCUSDT", 1.7e308);
    exchange.set_price("ETHUSDT", 5e-324);
    server.wait_ticks(3);
    let (_, body) = health(&server);
    assert_eq!(body["feed"]["status"], "down", "{body}");
    let conn = &mut db.conn();
    for id in [short, long] {
        assert_eq!(get_signal(conn, id).unwrap().status, SignalStatus::Active);
    }

    exchange.set_price("BTCUSDT", 106.0);
    exchange.set_price("ETHUSDT", 2_000.0);
    server.wait_for_stats("the stop", |s| s["completed_trades"] == 1);
    let stats = server.get_json("/api/stats");
    assert!(
        stats["balance"].as_f64().is_some_and(f64::is_finite),
        "{stats}"
    );
    server.kill();
    assert_check_passes(&db);
}

crate::on_both_backends!(
    a_short_through_a_lasting_spike_up_stops_out_at_the_gap_price,
    a_crash_while_the_exchange_lags_stops_the_trade_out_at_the_gap_price,
    a_one_poll_glitch_then_kill_9_never_reaches_the_trade_after_the_restart,
    a_crash_refused_just_before_a_kill_9_is_booked_on_the_first_poll_after_the_restart,
    a_close_time_missed_across_a_kill_9_closes_at_the_first_tick_after_the_restart,
    a_broken_symbol_never_stops_the_others,
    an_exchange_that_times_out_is_a_feed_outage_not_a_stall,
    a_candle_stamped_at_the_end_of_time_fails_its_symbol_not_the_tick,
    a_candle_stamped_after_the_price_it_came_with_never_closes_a_trade,
    a_scanner_against_an_exchange_that_times_out_is_not_stalled,
    a_lasting_absurd_price_is_bad_data_never_a_booking,
);
