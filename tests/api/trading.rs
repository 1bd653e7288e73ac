//! Paper trading end to end: the real server, a fake exchange, and the database. Walks the
//! original plan's checklist, wicks, feed outages, concurrent intake and kill -9 mid-tick.

use serde_json::{json, Value};
use signaldesk::db::signals::{get_active_signals, get_signal};
use signaldesk::db::{journal, models::SignalId};
use signaldesk::domain::{ExitReason, SignalStatus};

use crate::fake_exchange::{FakeExchange, Mode};
use crate::helpers::{assert_check_passes, TempDb, TestServer, INITIAL_BALANCE};

const FEE: f64 = 0.001;
const SLIP: f64 = 0.0005;

fn start(db: &TempDb, exchange: &FakeExchange) -> TestServer {
    let server = TestServer::start(
        &db,
        &[
            ("SIGNALDESK_EXCHANGE_URL", &exchange.url),
            ("SIGNALDESK_SYMBOLS", "BTCUSDT,ETHUSDT,SOLUSDT"),
            ("SIGNALDESK_COOLDOWN_MINUTES", "0"),
        ],
    );
    server.wait_for_stats("a fresh price", |s| s["feed"]["status"] == "ok");
    server
}

fn signal(symbol: &str, direction: &str, stop: f64, target: f64) -> Value {
    json!({"symbol": symbol, "direction": direction, "stop_loss": stop, "take_profit": target})
}

fn assert_close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= 1e-9 * b.abs().max(1.0),
        "{what}: {a} != {b}"
    );
}

fn the_original_plans_checklist_holds(db: TempDb) {
    // Start fresh.
    let exchange =
        FakeExchange::start(&[("BTCUSDT", 100.0), ("ETHUSDT", 200.0), ("SOLUSDT", 50.0)]);
    let server = start(&db, &exchange);

    // Open 3 signals.
    let (s1, btc) = server.post("/api/signals", &signal("BTCUSDT", "LONG", 95.0, 110.0));
    let (s2, eth) = server.post("/api/signals", &signal("ethusdt", "SHORT", 210.0, 180.0));
    let (s3, sol) = server.post("/api/signals", &signal("SOLUSDT", "LONG", 45.0, 60.0));
    assert_eq!((s1, s2, s3), (201, 201, 201), "{btc} {eth} {sol}");
    assert_close(
        btc["entry_price"].as_f64().unwrap(),
        100.0 * (1.0 + SLIP),
        "LONG fills above",
    );
    assert_close(
        eth["entry_price"].as_f64().unwrap(),
        200.0 * (1.0 - SLIP),
        "SHORT fills below",
    );

    // See them in the database.
    let mut conn = db.conn();
    assert_eq!(get_active_signals(&mut conn).unwrap().len(), 3);

    // Restart; see them on /api/data.
    server.stop();
    let server = start(&db, &exchange);
    let data = server.get_json("/api/data");
    assert_eq!(data["active_trades"].as_array().unwrap().len(), 3);
    let btc_price = &data["prices"][0];
    assert_eq!(
        (btc_price["symbol"].as_str(), btc_price["price"].as_f64()),
        (Some("BTCUSDT"), Some(100.0))
    );
    assert_eq!(btc_price["stale"], false);
    assert_eq!(data["stats"]["signals_today"], 3);

    // Move prices: BTC through its target, ETH through its stop.
    exchange.set_price("BTCUSDT", 111.0);
    exchange.set_price("ETHUSDT", 212.0);
    server.wait_for_stats("two closes", |s| s["completed_trades"] == 2);

    // Verify the closes.
    let btc_row = get_signal(&mut conn, SignalId(btc["id"].as_i64().unwrap() as i32)).unwrap();
    assert_eq!(btc_row.status, SignalStatus::Closed);
    assert_eq!(btc_row.exit_reason, Some(ExitReason::TakeProfit));
    assert_eq!(
        btc_row.exit_price,
        Some(110.0),
        "a take-profit fills at its level"
    );
    let eth_row = get_signal(&mut conn, SignalId(eth["id"].as_i64().unwrap() as i32)).unwrap();
    assert_eq!(eth_row.exit_reason, Some(ExitReason::StopLoss));
    let eth_exit = 212.0 * (1.0 + SLIP);
    assert_close(
        eth_row.exit_price.unwrap(),
        eth_exit,
        "a gapped stop fills at the worse price",
    );

    // The fee and slippage arithmetic.
    let btc_pnl = (110.0 - btc_row.entry_price) * btc_row.quantity
        - FEE * btc_row.quantity * (btc_row.entry_price + 110.0);
    let eth_pnl = (eth_row.entry_price - eth_exit) * eth_row.quantity
        - FEE * eth_row.quantity * (eth_row.entry_price + eth_exit);
    assert_close(btc_row.pnl.unwrap(), btc_pnl, "BTC pnl");
    assert_close(eth_row.pnl.unwrap(), eth_pnl, "ETH pnl");
    assert_close(
        btc_row.risk_amount,
        INITIAL_BALANCE * 0.01,
        "risk 1% of the balance",
    );

    // The balance and the journal.
    let stats = server.get_json("/api/stats");
    assert_close(
        stats["balance"].as_f64().unwrap(),
        INITIAL_BALANCE + btc_pnl + eth_pnl,
        "balance",
    );
    assert_eq!(
        (stats["wins_today"].clone(), stats["losses_today"].clone()),
        (json!(1), json!(1))
    );
    let today = chrono::Utc::now().date_naive();
    let entries = journal::get_journal_entries_today(&mut conn, today).unwrap();
    assert_eq!(entries.len(), 2);
    assert!(entries
        .iter()
        .any(|e| e.exit_reason == ExitReason::TakeProfit));

    // Restart again; all of it is still there.
    let before = server.get_json("/api/data");
    server.stop();
    let server = start(&db, &exchange);
    let after = server.get_json("/api/data");
    assert_eq!(after["completed_trades"], before["completed_trades"]);
    assert_eq!(after["journal"], before["journal"]);
    assert_eq!(after["stats"]["balance"], before["stats"]["balance"]);
    assert_eq!(after["active_trades"].as_array().unwrap().len(), 1);
    server.stop();
    assert_check_passes(&db);
}

fn a_wick_between_two_ticks_closes_the_trade(db: TempDb) {
    let exchange =
        FakeExchange::start(&[("BTCUSDT", 100.0), ("ETHUSDT", 200.0), ("SOLUSDT", 50.0)]);
    let server = start(&db, &exchange);
    let (status, btc) = server.post("/api/signals", &signal("BTCUSDT", "LONG", 95.0, 110.0));
    assert_eq!(status, 201, "{btc}");
    server.wait_ticks(1);

    // The last price never leaves 100; only a 1-minute candle dips to 94.
    exchange.wick("BTCUSDT", 100.5, 94.0);
    server.wait_for_stats("the wick close", |s| s["completed_trades"] == 1);

    let mut conn = db.conn();
    let row = get_signal(&mut conn, SignalId(btc["id"].as_i64().unwrap() as i32)).unwrap();
    assert_eq!(row.exit_reason, Some(ExitReason::StopLoss));
    assert_close(
        row.exit_price.unwrap(),
        95.0 * (1.0 - SLIP),
        "fills at the stop, slipped",
    );
    assert_eq!(row.max_adverse_price, 94.0);
}

fn nothing_closes_while_the_feed_is_failing(db: TempDb) {
    let exchange =
        FakeExchange::start(&[("BTCUSDT", 100.0), ("ETHUSDT", 200.0), ("SOLUSDT", 50.0)]);
    let server = start(&db, &exchange);
    let (_, btc) = server.post("/api/signals", &signal("BTCUSDT", "LONG", 95.0, 110.0));
    let id = SignalId(btc["id"].as_i64().unwrap() as i32);
    server.wait_ticks(1);
    let priced = get_signal(&mut db.conn(), id).unwrap();
    assert_eq!(priced.current_price, 100.0);

    for mode in [
        Mode::Garbage,
        Mode::NaN,
        Mode::Stale,
        Mode::ExchangeError,
        Mode::ServerError,
    ] {
        exchange.set_mode(mode);
        exchange.set_price("BTCUSDT", 50.0); // far through the stop, but never a valid price
        let stats = server.wait_for_stats("the feed to report the failure", |s| {
            s["feed"]["status"] == "down"
        });
        assert!(
            stats["feed"]["error"].as_str().unwrap().contains("BTCUSDT"),
            "{stats}"
        );
        server.wait_ticks(2);
        let health = server.get_json("/api/health");
        assert_eq!(health["status"], "degraded", "{mode:?}: {health}");
        let row = get_signal(&mut db.conn(), id).unwrap();
        assert_eq!(
            row.status,
            SignalStatus::Active,
            "{mode:?} closed the trade"
        );
        assert_eq!(row.current_price, 100.0, "{mode:?} moved the live price");
        exchange.set_price("BTCUSDT", 100.0);
        exchange.set_mode(Mode::Ok);
        server.wait_for_stats("recovery", |s| s["feed"]["status"] == "ok");
    }
    exchange.set_price("BTCUSDT", 94.0);
    server.wait_for_stats("the close after recovery", |s| s["completed_trades"] == 1);
}

fn intake_answers_as_documented(db: TempDb) {
    let exchange =
        FakeExchange::start(&[("BTCUSDT", 100.0), ("ETHUSDT", 200.0), ("SOLUSDT", 50.0)]);
    let server = start(&db, &exchange);

    let cases: Vec<(Value, u16, Option<&str>)> = vec![
        (
            json!({"direction": "LONG", "stop_loss": 95, "take_profit": 110}),
            400,
            Some("symbol"),
        ),
        (
            json!({"symbol": "BTC/USDT", "direction": "LONG", "stop_loss": 95, "take_profit": 110}),
            400,
            Some("symbol"),
        ),
        (
            json!({"symbol": "BTCUSDT", "direction": "UP", "stop_loss": 95, "take_profit": 110}),
            400,
            Some("direction"),
        ),
        (
            json!({"symbol": "BTCUSDT", "direction": "LONG", "stop_loss": 101, "take_profit": 110}),
            400,
            Some("stop_loss"),
        ),
        (
            json!({"symbol": "BTCUSDT", "direction": "LONG", "stop_loss": 95, "take_profit": 99}),
            400,
            Some("take_profit"),
        ),
        (
            json!({"symbol": "BTCUSDT", "direction": "LONG", "stop_loss": "x", "take_profit": 110}),
            400,
            Some("stop_loss"),
        ),
        (
            json!({"symbol": "BTCUSDT", "direction": "LONG", "stop_loss": 95, "take_profit": 110, "confidence": 2}),
            400,
            Some("confidence"),
        ),
        (
            json!({"symbol": "BTCUSDT", "direction": "LONG", "stop_loss": 95, "take_profit": 110, "size": 1}),
            400,
            Some("size"),
        ),
        (
            json!({"symbol": "BTCUSDT", "direction": "LONG", "stop_loss": 95, "take_profit": 110, "confidence": 0.1}),
            409,
            None,
        ),
        (
            json!({"symbol": "XRPUSDT", "direction": "LONG", "stop_loss": 1, "take_profit": 3}),
            400,
            Some("symbol"),
        ),
    ];
    for (body, status, field) in cases {
        let (got, answer) = server.post("/api/signals", &body);
        assert_eq!(got, status, "{body} → {answer}");
        assert_eq!(answer["field"].as_str(), field, "{body} → {answer}");
    }
    assert!(
        get_active_signals(&mut db.conn()).unwrap().is_empty(),
        "nothing written"
    );

    let body = json!({"symbol": "BTCUSDT", "direction": "LONG", "stop_loss": 95, "take_profit": 110, "external_id": "abc"});
    let (first, created) = server.post("/api/signals", &body);
    let (again, existing) = server.post("/api/signals", &body);
    assert_eq!((first, again), (201, 200));
    assert_eq!(created["id"], existing["id"]);
    let (refused, answer) = server.post("/api/signals", &signal("BTCUSDT", "LONG", 95.0, 110.0));
    assert_eq!(refused, 409);
    assert_eq!(answer["error"], "Already have open position");

    let webhook = json!({"token": crate::helpers::API_TOKEN, "symbol": "BYBIT:ETHUSDT", "action": "sell",
                         "stop_loss": "210", "take_profit": "180", "id": "tv-1"});
    let response = server
        .client
        .post(format!("{}/api/webhook/tradingview", server.address))
        .header("Content-Type", "text/plain")
        .body(webhook.to_string())
        .send()
        .unwrap();
    assert_eq!(response.status(), 201);
    let created: Value = response.json().unwrap();
    assert_eq!(
        (created["direction"].as_str(), created["strategy"].as_str()),
        (Some("SHORT"), Some("webhook"))
    );
    let wrong = server
        .client
        .post(format!("{}/api/webhook/tradingview", server.address))
        .json(&json!({"token": "nope", "symbol": "SOLUSDT", "action": "buy", "stop_loss": 45, "take_profit": 60}))
        .send()
        .unwrap();
    assert_eq!(wrong.status(), 401);

    let unauthorised = server
        .client
        .post(format!("{}/api/signals", server.address))
        .json(&signal("SOLUSDT", "LONG", 45.0, 60.0))
        .send()
        .unwrap();
    assert_eq!(unauthorised.status(), 401);

    let id = created["id"].as_i64().unwrap();
    let (closed, answer) = server.post(&format!("/api/signals/{id}/close"), &json!({}));
    assert_eq!(closed, 200, "{answer}");
    assert_eq!(answer["signal"]["exit_reason"], "MANUAL");
    assert_close(
        answer["signal"]["exit_price"].as_f64().unwrap(),
        200.0 * (1.0 + SLIP),
        "buys back above",
    );
    let (twice, _) = server.post(&format!("/api/signals/{id}/close"), &json!({}));
    assert_eq!(twice, 409);
    let (missing, _) = server.post("/api/signals/9999/close", &json!({}));
    assert_eq!(missing, 404);
    assert_eq!(server.get(&format!("/api/signals/{id}")).status(), 200);
    server.stop();
    assert_check_passes(&db);
}

fn concurrent_posts_never_open_two_positions_on_one_symbol(db: TempDb) {
    let exchange =
        FakeExchange::start(&[("BTCUSDT", 100.0), ("ETHUSDT", 200.0), ("SOLUSDT", 50.0)]);
    let server = start(&db, &exchange);
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..12)
            .map(|_| {
                scope.spawn(|| {
                    server
                        .post("/api/signals", &signal("BTCUSDT", "LONG", 95.0, 110.0))
                        .0
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        11,
        "{statuses:?}"
    );
    assert_eq!(get_active_signals(&mut db.conn()).unwrap().len(), 1);
}

fn kill_dash_nine_at_random_moments_never_breaks_the_books(db: TempDb) {
    let exchange =
        FakeExchange::start(&[("BTCUSDT", 100.0), ("ETHUSDT", 200.0), ("SOLUSDT", 50.0)]);
    let mut seed: u64 = 0x5eed;
    for _round in 0..6 {
        let server = start(&db, &exchange);
        for (symbol, price) in [("BTCUSDT", 100.0), ("ETHUSDT", 200.0), ("SOLUSDT", 50.0)] {
            exchange.set_price(symbol, price);
            server.post(
                "/api/signals",
                &signal(symbol, "LONG", price * 0.95, price * 1.10),
            );
        }
        // Push every price through its target, then kill at a pseudo-random moment around the
        // ticks that close them.
        for (symbol, price) in [("BTCUSDT", 111.0), ("ETHUSDT", 222.0), ("SOLUSDT", 55.5)] {
            exchange.set_price(symbol, price);
        }
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let delay_ms = 200 + (seed >> 33) % 1500;
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        server.kill();
        assert_check_passes(&db);
    }
    let server = start(&db, &exchange);
    server.wait_for_stats("every trade closed", |s| s["active_trades"] == 0);
    server.stop();
    assert_check_passes(&db);
}

fn a_one_tick_price_glitch_never_closes_a_trade(db: TempDb) {
    let exchange =
        FakeExchange::start(&[("BTCUSDT", 100.0), ("ETHUSDT", 200.0), ("SOLUSDT", 50.0)]);
    let server = start(&db, &exchange);
    let (_, btc) = server.post("/api/signals", &signal("BTCUSDT", "LONG", 95.0, 110.0));
    let id = SignalId(btc["id"].as_i64().unwrap() as i32);
    server.wait_ticks(1);

    exchange.set_price("BTCUSDT", 1.0); // a bogus print, 99 % below the last one
    let stats = server.wait_for_stats("the glitch to be reported", |s| {
        s["feed"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("implausible"))
    });
    assert_eq!(stats["feed"]["status"], "degraded");
    exchange.set_price("BTCUSDT", 100.0);
    server.wait_for_stats("recovery", |s| s["feed"]["status"] == "ok");
    let row = get_signal(&mut db.conn(), id).unwrap();
    assert_eq!(
        row.status,
        SignalStatus::Active,
        "the glitch closed the trade"
    );
    assert_eq!(
        row.max_adverse_price, 100.0,
        "the glitch reached the trade's figures"
    );

    exchange.set_price("BTCUSDT", 94.0); // a real move through the stop
    server.wait_for_stats("the stop", |s| s["completed_trades"] == 1);
}

crate::on_both_backends!(
    the_original_plans_checklist_holds,
    a_wick_between_two_ticks_closes_the_trade,
    nothing_closes_while_the_feed_is_failing,
    intake_answers_as_documented,
    concurrent_posts_never_open_two_positions_on_one_symbol,
    kill_dash_nine_at_random_moments_never_breaks_the_books,
    a_one_tick_price_glitch_never_closes_a_trade,
);
