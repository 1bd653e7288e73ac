//! The JSON list endpoints, metrics, OpenAPI and events against the real server: fields, filters,
//! keyset paging edges, auth, and bad input answered with 4xx and nothing written.

use std::io::Read;

use serde_json::{json, Value};
use signaldesk::db::signals::CloseRequest;
use signaldesk::domain::ExitReason;

use crate::fake_exchange::FakeExchange;
use crate::helpers::{
    at, close_trade, SignalBuilder, TempDb, TestServer, API_TOKEN, FEE_RATE, INITIAL_BALANCE,
};

/// Eight signals over two days: BTC, ETH and SOL, five closed (three wins).
fn seeded(db: TempDb) -> (TempDb, FakeExchange, TestServer) {
    let mut conn = db.conn();
    let plan = [
        (
            "BTCUSDT",
            "2026-11-24 09:00:00",
            Some((110.0, ExitReason::TakeProfit)),
        ),
        (
            "ETHUSDT",
            "2026-11-24 10:00:00",
            Some((95.0, ExitReason::StopLoss)),
        ),
        (
            "SOLUSDT",
            "2026-11-24 11:00:00",
            Some((110.0, ExitReason::TakeProfit)),
        ),
        (
            "BTCUSDT",
            "2026-11-25 09:00:00",
            Some((94.0, ExitReason::StopLoss)),
        ),
        (
            "ETHUSDT",
            "2026-11-25 10:00:00",
            Some((110.0, ExitReason::TakeProfit)),
        ),
        ("SOLUSDT", "2026-11-25 11:00:00", None),
        ("BTCUSDT", "2026-11-25 12:00:00", None),
        ("ETHUSDT", "2026-11-25 13:00:00", None),
    ];
    for (symbol, opened, close) in plan {
        let row = SignalBuilder::long(symbol).insert(&mut conn, at(opened));
        if let Some((price, reason)) = close {
            let closed_at = at(opened) + chrono::Duration::minutes(30);
            let request = CloseRequest {
                exit_price: price,
                exit_reason: reason,
                fee_rate: FEE_RATE,
                closed_at,
            };
            close_trade(&mut conn, row.signal_id(), &request).unwrap();
        }
    }
    let exchange = FakeExchange::start(&[]);
    let server = TestServer::start(&db, &[("SIGNALDESK_EXCHANGE_URL", &exchange.url)]);
    (db, exchange, server)
}

fn ids(page: &Value, key: &str) -> Vec<i64> {
    page[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect()
}

fn status_and_field(server: &TestServer, path: &str) -> (u16, Value) {
    let response = server.get(path);
    let status = response.status().as_u16();
    let body: Value = response.json().unwrap_or(Value::Null);
    (status, body["field"].clone())
}

fn signals_page_newest_first_and_the_cursor_walks_every_row_once(db: TempDb) {
    let (_db, _exchange, server) = seeded(db);
    let all = server.get_json("/api/signals");
    assert_eq!(ids(&all, "signals"), [8, 7, 6, 5, 4, 3, 2, 1]);
    assert_eq!(all["next_before_id"], Value::Null);

    let mut seen = Vec::new();
    let mut path = "/api/signals?limit=3".to_owned();
    loop {
        let page = server.get_json(&path);
        seen.extend(ids(&page, "signals"));
        match page["next_before_id"].as_i64() {
            Some(cursor) => path = format!("/api/signals?limit=3&before_id={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, [8, 7, 6, 5, 4, 3, 2, 1]);
    // A page that ends exactly at the last row says so.
    let exact = server.get_json("/api/signals?limit=4&before_id=5");
    assert_eq!(ids(&exact, "signals"), [4, 3, 2, 1]);
    assert_eq!(exact["next_before_id"], Value::Null);
    assert!(ids(&server.get_json("/api/signals?before_id=1"), "signals").is_empty());
}

fn signal_filters_combine(db: TempDb) {
    let (_db, _exchange, server) = seeded(db);
    assert_eq!(
        ids(&server.get_json("/api/signals?status=closed"), "signals"),
        [5, 4, 3, 2, 1]
    );
    assert_eq!(
        ids(&server.get_json("/api/signals?symbol=btcusdt"), "signals"),
        [7, 4, 1]
    );
    assert_eq!(
        ids(
            &server.get_json("/api/signals?status=ACTIVE&symbol=ETHUSDT"),
            "signals"
        ),
        [8]
    );
    assert_eq!(
        ids(&server.get_json("/api/signals?from=2026-11-25"), "signals"),
        [8, 7, 6, 5, 4]
    );
    assert_eq!(
        ids(&server.get_json("/api/signals?to=2026-11-24"), "signals"),
        [3, 2, 1]
    );
    assert_eq!(
        ids(
            &server.get_json("/api/signals?from=2026-11-25T10:00:00Z&to=2026-11-25T12:00:00Z"),
            "signals"
        ),
        [6, 5]
    );
    let one = server.get_json("/api/signals/4");
    assert_eq!(
        (one["symbol"].as_str(), one["exit_reason"].as_str()),
        (Some("BTCUSDT"), Some("STOP_LOSS"))
    );
}

fn bad_query_parameters_are_400_naming_them(db: TempDb) {
    let (_db, _exchange, server) = seeded(db);
    let cases = [
        ("/api/signals?limit=0", "limit"),
        ("/api/signals?limit=501", "limit"),
        ("/api/signals?limit=ten", "limit"),
        ("/api/signals?before_id=-3", "before_id"),
        ("/api/signals?status=OPEN", "status"),
        ("/api/signals?symbol=BTC-USD", "symbol"),
        ("/api/signals?from=yesterday", "from"),
        ("/api/signals?sort=asc", "sort"),
        ("/api/journal?outcome=GOOD", "outcome"),
        ("/api/journal?to=2026-13-45", "to"),
        ("/api/daily?from=2026-11-30&to=2026-11-01", "from"),
        ("/api/equity?by=hour", "by"),
        ("/api/daily?to=-262000-01-01", "to"),
        ("/api/daily?from=0001-01-01", "from"),
        ("/api/signals?from=+200000-01-01", "from"),
        ("/api/equity?to=10000-01-01", "to"),
        ("/api/equity?to=9999-12-31T23:59:59.9999999Z", "to"),
        ("/api/signals/abc", "id"),
    ];
    for (path, field) in cases {
        let (status, got) = status_and_field(&server, path);
        assert_eq!((status, got.as_str()), (400, Some(field)), "{path}");
    }
    assert_eq!(status_and_field(&server, "/api/signals/999").0, 404);
    let wrong_method = server
        .client
        .delete(format!("{}/api/signals", server.address))
        .send()
        .unwrap();
    assert_eq!(wrong_method.status(), 405);
    assert_eq!(wrong_method.headers()["allow"], "GET, POST");
    let body: Value = wrong_method.json().unwrap();
    assert_eq!(
        body["error"],
        "DELETE is not allowed on /api/signals; allowed: GET, POST"
    );
    assert_eq!(body["field"], Value::Null);
}

fn journal_pages_filters_and_edits(db: TempDb) {
    let (db, _exchange, server) = seeded(db);
    let all = server.get_json("/api/journal");
    assert_eq!(ids(&all, "entries"), [5, 4, 3, 2, 1]);
    assert_eq!(
        ids(&server.get_json("/api/journal?outcome=loss"), "entries"),
        [4, 2]
    );
    assert_eq!(
        ids(&server.get_json("/api/journal?symbol=SOLUSDT"), "entries"),
        [3]
    );
    let first = server.get_json("/api/journal?limit=2");
    assert_eq!(ids(&first, "entries"), [5, 4]);
    assert_eq!(first["next_before_id"], 4);

    let patch = |body: Value, token: Option<&str>| {
        let mut request = server
            .client
            .patch(format!("{}/api/journal/2", server.address))
            .json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().unwrap();
        let status = response.status().as_u16();
        (status, response.json::<Value>().unwrap_or(Value::Null))
    };
    let (status, entry) = patch(
        json!({"notes": "late entry", "tags": ["fomo", " news ", "fomo"]}),
        Some(API_TOKEN),
    );
    assert_eq!(status, 200, "{entry}");
    assert_eq!(
        (entry["notes"].as_str(), entry["tags"].as_str()),
        (Some("late entry"), Some("fomo,news"))
    );
    let (status, entry) = patch(json!({"tags": "a, b"}), Some(API_TOKEN));
    assert_eq!(status, 200);
    assert_eq!(
        (entry["notes"].as_str(), entry["tags"].as_str()),
        (Some("late entry"), Some("a,b"))
    );

    let before = signaldesk::db::journal::get_entry(&mut db.conn(), 2).unwrap();
    for (body, token, expected, field) in [
        (json!({"notes": "x"}), None, 401, None),
        (json!({"notes": "x"}), Some("wrong"), 401, None),
        (json!({"mood": "x"}), Some(API_TOKEN), 400, Some("mood")),
        (json!({"notes": 5}), Some(API_TOKEN), 400, Some("notes")),
        (
            json!({"tags": {"a": 1}}),
            Some(API_TOKEN),
            400,
            Some("tags"),
        ),
        (
            json!({"notes": "n".repeat(5_001)}),
            Some(API_TOKEN),
            400,
            Some("notes"),
        ),
        (json!({}), Some(API_TOKEN), 400, None),
    ] {
        let (status, answer) = patch(body.clone(), token);
        assert_eq!(status, expected, "{body}: {answer}");
        assert_eq!(answer["field"].as_str(), field, "{body}: {answer}");
    }
    assert_eq!(
        signaldesk::db::journal::get_entry(&mut db.conn(), 2).unwrap(),
        before,
        "nothing written"
    );
    let missing = server
        .client
        .patch(format!("{}/api/journal/99", server.address))
        .bearer_auth(API_TOKEN)
        .json(&json!({"notes": "x"}))
        .send()
        .unwrap();
    assert_eq!(missing.status(), 404);
}

fn daily_and_equity_follow_the_balance(db: TempDb) {
    let (_db, _exchange, server) = seeded(db);
    let daily = server.get_json("/api/daily?from=2026-11-24&to=2026-11-25");
    let days = daily["days"].as_array().unwrap();
    assert_eq!(days.len(), 2);
    assert_eq!(days[0]["date"], "2026-11-24");
    assert_eq!(days[0]["trades_closed"], 3);
    assert_eq!(days[1]["starting_balance"], days[0]["paper_balance"]);

    let by_day = server.get_json("/api/equity?from=2026-11-24&to=2026-11-25");
    let points = by_day["points"].as_array().unwrap();
    assert_eq!(points[0]["balance"], INITIAL_BALANCE);
    assert_eq!(points.last().unwrap()["balance"], days[1]["paper_balance"]);
    let by_trade = server.get_json("/api/equity?by=trade");
    let trades = by_trade["points"].as_array().unwrap();
    assert_eq!(trades.len(), 5);
    assert!(trades[0]["time"]
        .as_str()
        .unwrap()
        .starts_with("2026-11-24T09:30:00"));
}

fn metrics_openapi_and_events_answer(db: TempDb) {
    let (_db, _exchange, server) = seeded(db);
    server.get_json("/api/stats");
    let metrics = server.get("/metrics").text().unwrap();
    for name in [
        "signaldesk_balance ",
        "signaldesk_open_trades 3",
        "signaldesk_ticks_total",
        "signaldesk_tick_duration_seconds_bucket{le=\"+Inf\"}",
        "signaldesk_feed_errors_total{source=\"bybit\"}",
        "signaldesk_http_requests_total{route=\"/api/stats\",status=\"200\"}",
    ] {
        assert!(metrics.contains(name), "missing {name} in\n{metrics}");
    }
    let openapi = server.get_json("/openapi.json");
    assert_eq!(openapi["openapi"], "3.0.3");
    for path in [
        "/api/health",
        "/api/stats",
        "/api/data",
        "/api/signals",
        "/api/signals/{id}",
        "/api/signals/{id}/close",
        "/api/webhook/tradingview",
        "/api/journal",
        "/api/journal/{id}",
        "/api/daily",
        "/api/equity",
        "/api/events",
        "/metrics",
    ] {
        assert!(openapi["paths"].get(path).is_some(), "openapi lacks {path}");
    }

    let mut events = server.get("/api/events");
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    let mut first = [0u8; 64];
    let read = events.read(&mut first).unwrap();
    assert!(String::from_utf8_lossy(&first[..read]).starts_with("event: stats\ndata: {"));
}

fn oversized_and_malformed_bodies_are_refused(db: TempDb) {
    let (db, _exchange, server) = seeded(db);
    let big = json!({"notes": "x".repeat(70_000)});
    let response = server
        .client
        .post(format!("{}/api/signals", server.address))
        .bearer_auth(API_TOKEN)
        .json(&big)
        .send()
        .unwrap();
    assert_eq!(response.status(), 413);
    let body: Value = response.json().unwrap();
    assert!(body["error"].as_str().unwrap().contains("64 KiB"));
    let garbled = server
        .client
        .post(format!("{}/api/signals", server.address))
        .bearer_auth(API_TOKEN)
        .body("{not json")
        .send()
        .unwrap();
    assert_eq!(garbled.status(), 400);
    let not_object = server.post("/api/signals", &json!([1, 2]));
    assert_eq!(not_object.0, 400);
    let count = ids(&server.get_json("/api/signals"), "signals").len();
    assert_eq!(count, 8, "nothing written");
    drop(db);
}

crate::on_both_backends!(
    signals_page_newest_first_and_the_cursor_walks_every_row_once,
    signal_filters_combine,
    bad_query_parameters_are_400_naming_them,
    journal_pages_filters_and_edits,
    daily_and_equity_follow_the_balance,
    metrics_openapi_and_events_answer,
    oversized_and_malformed_bodies_are_refused,
);
