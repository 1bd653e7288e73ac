//! The real server on a free port: figures and lists come from the database, survive a
//! graceful restart and a kill -9.

use serde_json::Value;
use signaldesk::clock::now_utc;
use signaldesk::db::signals::CloseRequest;
use signaldesk::domain::ExitReason;

use crate::fake_exchange::FakeExchange;
use crate::helpers::{close_trade, SignalBuilder, TempDb, TestServer, FEE_RATE, INITIAL_BALANCE};

/// A server whose exchange lists none of the symbols: ticks run but never price a trade, so
/// what the test wrote stays exactly as written.
fn start_unpriced(db: &TempDb, exchange: &FakeExchange) -> TestServer {
    TestServer::start(&db, &[("SIGNALDESK_EXCHANGE_URL", &exchange.url)])
}

/// `/api/data` without the process-local parts (feed status, last tick).
fn data_without_status(server: &TestServer) -> Value {
    let mut data = server.get_json("/api/data");
    let stats = data["stats"].as_object_mut().unwrap();
    stats.remove("feed");
    stats.remove("last_tick_at");
    data
}

fn data_written_while_running_is_served_and_survives_restarts(db: TempDb) {
    let exchange = FakeExchange::start(&[]);
    let server = start_unpriced(&db, &exchange);
    let empty = server.get_json("/api/stats");
    assert_eq!(empty["balance"], INITIAL_BALANCE);
    assert_eq!(empty["active_trades"], 0);

    // Three signals are written to the database while the server runs; one then closes.
    let mut conn = db.conn();
    let now = now_utc();
    let btc = SignalBuilder::long("BTCUSDT").insert(&mut conn, now);
    SignalBuilder::short("ETHUSDT").insert(&mut conn, now);
    SignalBuilder::long("SOLUSDT").insert(&mut conn, now);
    close_trade(
        &mut conn,
        btc.signal_id(),
        &CloseRequest {
            exit_price: 110.0,
            exit_reason: ExitReason::TakeProfit,
            fee_rate: FEE_RATE,
            closed_at: now_utc(),
        },
    )
    .unwrap();
    let pnl = 10.0 - 0.1 - 0.11;

    let before = data_without_status(&server);
    let stats = &before["stats"];
    assert_eq!(stats["active_trades"], 2);
    assert_eq!(stats["completed_trades"], 1);
    assert_eq!(stats["signals_today"], 3);
    assert_eq!(stats["wins_today"], 1);
    assert_eq!(stats["win_rate"], 100.0);
    assert!((stats["balance"].as_f64().unwrap() - (INITIAL_BALANCE + pnl)).abs() < 1e-9);
    assert!((stats["total_pnl"].as_f64().unwrap() - pnl).abs() < 1e-9);
    assert_eq!(before["signals_today"].as_array().unwrap().len(), 3);
    assert_eq!(before["active_trades"].as_array().unwrap().len(), 2);
    assert_eq!(before["completed_trades"][0]["symbol"], "BTCUSDT");
    assert_eq!(before["completed_trades"][0]["exit_reason"], "TAKE_PROFIT");
    assert_eq!(before["journal"][0]["outcome"], "WIN");
    // A signal carries every column by name, times as RFC 3339 UTC.
    let signal = before["active_trades"][0].as_object().unwrap();
    for column in [
        "id",
        "symbol",
        "direction",
        "status",
        "entry_price",
        "stop_loss",
        "take_profit",
        "quantity",
        "risk_amount",
        "confidence",
        "strategy",
        "timeframe",
        "external_id",
        "reasons",
        "notes",
        "current_price",
        "unrealized_pnl",
        "max_favorable_price",
        "max_adverse_price",
        "exit_price",
        "exit_reason",
        "pnl",
        "fees",
        "created_at",
        "closed_at",
        "updated_at",
    ] {
        assert!(signal.contains_key(column), "missing {column}");
    }
    assert!(signal["created_at"].as_str().unwrap().ends_with('Z'));

    assert!(
        server.stop().success(),
        "SIGTERM is a graceful, successful exit"
    );
    let restarted = start_unpriced(&db, &exchange);
    assert_eq!(data_without_status(&restarted), before);
    let stats = restarted.get_json("/api/stats");
    assert_eq!(stats["active_trades"], 2);
    assert!((stats["balance"].as_f64().unwrap() - (INITIAL_BALANCE + pnl)).abs() < 1e-9);

    restarted.kill();
    let after_kill = start_unpriced(&db, &exchange);
    assert_eq!(data_without_status(&after_kill), before);
}

fn stats_and_health_answer_with_the_documented_fields(db: TempDb) {
    let exchange = FakeExchange::start(&[]);
    let server = start_unpriced(&db, &exchange);

    let stats = server.get_json("/api/stats");
    for field in [
        "balance",
        "initial_balance",
        "equity",
        "unrealized_pnl",
        "realized_pnl_today",
        "total_pnl",
        "active_trades",
        "completed_trades",
        "signals_today",
        "scans_today",
        "wins_today",
        "losses_today",
        "win_rate",
        "feed",
        "last_tick_at",
    ] {
        assert!(stats.get(field).is_some(), "/api/stats lacks {field}");
    }
    for field in ["source", "status", "last_update", "error"] {
        assert!(stats["feed"].get(field).is_some(), "feed lacks {field}");
    }
    let health = server.get_json("/api/health");
    assert_eq!(health["db"]["status"], "ok");
    assert_eq!(health["version"], env!("CARGO_PKG_VERSION"));
    assert!(health["uptime_secs"].is_u64());
    assert!(health.get("last_tick_at").is_some());

    let missing = server.get("/api/nothing-here");
    assert_eq!(missing.status(), 404);
    let body: Value = missing.json().unwrap();
    assert_eq!(body["field"], Value::Null);
    assert!(body["error"]
        .as_str()
        .unwrap()
        .contains("/api/nothing-here"));
}

crate::on_both_backends!(
    data_written_while_running_is_served_and_survives_restarts,
    stats_and_health_answer_with_the_documented_fields,
);
