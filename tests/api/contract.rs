//! The contract's sharp edges (issue 10), each measured from outside as a user meets it: range
//! ends at the last representable day, CSV exports of empty tables, strict JSON numbers, the
//! watch-list, level bounds and prices that keep their digits.

use serde_json::{json, Value};
use signaldesk::db::signals::CloseRequest;
use signaldesk::domain::ExitReason;

use crate::fake_exchange::FakeExchange;
use crate::helpers::{
    at, close_trade, run_cli, SignalBuilder, TempDb, TestServer, API_TOKEN, FEE_RATE,
};

/// Two trades closed on 2026-11-24 and 2026-11-25, one still open.
fn history(db: TempDb) -> TempDb {
    let mut conn = db.conn();
    for (opened, exit) in [
        ("2026-11-24 09:00:00", 110.0),
        ("2026-11-25 09:00:00", 95.0),
    ] {
        let row = SignalBuilder::long("BTCUSDT").insert(&mut conn, at(opened));
        let request = CloseRequest {
            exit_price: exit,
            exit_reason: ExitReason::Manual,
            fee_rate: FEE_RATE,
            closed_at: at(opened) + chrono::Duration::hours(1),
        };
        close_trade(&mut conn, row.signal_id(), &request).unwrap();
    }
    SignalBuilder::short("ETHUSDT").insert(&mut conn, at("2026-11-25 12:00:00"));
    db
}

fn count(page: &Value, key: &str) -> usize {
    page[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} in {page}"))
        .len()
}

fn the_last_representable_day_ends_a_range_on_every_endpoint_and_page(db: TempDb) {
    let db = history(db);
    let exchange = FakeExchange::start(&[]);
    let server = TestServer::start(&db, &[("SIGNALDESK_EXCHANGE_URL", &exchange.url)]);
    // The day before always worked; the last day must find the same rows.
    let mut counts = Vec::new();
    for to in ["9999-12-30", "9999-12-31"] {
        let range = format!("from=2026-01-01&to={to}");
        let signals = server.get_json(&format!("/api/signals?{range}"));
        let journal = server.get_json(&format!("/api/journal?{range}"));
        // The server adds today's daily row at start: at least the two trading days.
        let daily = server.get_json(&format!("/api/daily?{range}"));
        let by_day = server.get_json(&format!("/api/equity?{range}"));
        let by_trade = server.get_json(&format!("/api/equity?by=trade&{range}"));
        let found = [
            count(&signals, "signals"),
            count(&journal, "entries"),
            count(&daily, "days"),
            count(&by_day, "points"),
            count(&by_trade, "points"),
        ];
        assert!(found[..2] == [3, 2] && found[2] >= 2, "to {to}: {found:?}");
        assert!(found[3] > found[2] && found[4] == 2, "to {to}: {found:?}");
        counts.push(found);

        let history = server.get(&format!("/history?{range}")).text().unwrap();
        assert!(
            history.contains("<td>BTCUSDT</td>") && !history.contains("No closed trades"),
            "/history to {to} shows the trades:\n{history}"
        );
        assert!(history.contains("<td>2026-11-25</td>"), "/history to {to}");
        let journal_page = server.get(&format!("/journal?{range}")).text().unwrap();
        for id in [1, 2] {
            assert!(
                journal_page.contains(&format!("href=\"/trades/{id}\"")),
                "/journal to {to} lists trade {id}"
            );
        }
    }
    assert_eq!(counts[0], counts[1]);
    // An RFC 3339 end inside the last day works the same way.
    let late = server.get_json("/api/signals?to=9999-12-31T12:00:00Z");
    assert_eq!(count(&late, "signals"), 3);
}

fn export_to_the_last_representable_day_exports_everything(db: TempDb) {
    let db = history(db);
    for what in ["signals", "journal", "daily"] {
        let (code, all, err) = run_cli(&db, &["export", "--what", what], &[]);
        assert_eq!(code, 0, "{err}");
        for to in ["9999-12-31", "9999-12-31T23:59:59Z"] {
            let (code, bounded, err) = run_cli(
                &db,
                &["export", "--what", what, "--from", "2026-01-01", "--to", to],
                &[],
            );
            assert_eq!(code, 0, "{err}");
            assert_eq!(bounded, all, "--what {what} --to {to}");
        }
        assert!(all.lines().count() >= 3, "--what {what}: header and rows");
    }
}

fn csv_export_of_no_rows_still_prints_the_header(db: TempDb) {
    let full = history(db.another());
    for what in ["signals", "journal", "daily"] {
        let (code, empty, err) = run_cli(&db, &["export", "--what", what], &[]);
        assert_eq!(code, 0, "{err}");
        let (_, seeded, _) = run_cli(&full, &["export", "--what", what], &[]);
        let header = seeded.lines().next().unwrap();
        assert!(header.starts_with("id,"), "{what}: {header}");
        assert_eq!(
            empty,
            format!("{header}\n"),
            "--what {what} on an empty table"
        );
        // A range that matches nothing prints it too.
        let (_, none, _) = run_cli(
            &full,
            &["export", "--what", what, "--from", "2030-01-01"],
            &[],
        );
        assert_eq!(none, format!("{header}\n"), "--what {what} with no match");
        let (_, json_none, _) = run_cli(
            &full,
            &[
                "export",
                "--what",
                what,
                "--format",
                "json",
                "--from",
                "2030-01-01",
            ],
            &[],
        );
        assert_eq!(json_none, "[]\n");
    }
}

fn pages_show_a_small_coins_prices_with_their_digits(db: TempDb) {
    let mut conn = db.conn();
    let opened = at("2026-11-25 09:00:00");
    let moves = [
        (0.0024, 0.0023, 0.0026, 0.002496),
        (0.0000024, 0.0000023, 0.0000026, 0.000002496),
    ];
    for (entry, stop, target, exit) in moves {
        let row = SignalBuilder::long("PEPEUSDT")
            .levels(entry, stop, target)
            .quantity(1_000_000.0)
            .insert(&mut conn, opened);
        let request = CloseRequest {
            exit_price: exit,
            exit_reason: ExitReason::Manual,
            fee_rate: FEE_RATE,
            closed_at: opened + chrono::Duration::hours(1),
        };
        close_trade(&mut conn, row.signal_id(), &request).unwrap();
    }
    let exchange = FakeExchange::start(&[]);
    let server = TestServer::start(&db, &[("SIGNALDESK_EXCHANGE_URL", &exchange.url)]);

    let journal = server
        .get("/journal?from=2026-11-25&to=2026-11-25")
        .text()
        .unwrap();
    assert!(journal.contains("0.0024 → 0.002496"), "{journal}");
    assert!(journal.contains("0.0000024 → 0.000002496"), "{journal}");
    let trade = server.get("/trades/1").text().unwrap();
    for shown in ["0.0024", "0.0023", "0.0026", "exit 0.002496"] {
        assert!(
            trade.contains(&format!("{shown}<")),
            "trade page lacks {shown}:\n{trade}"
        );
    }
    let small = server.get("/trades/2").text().unwrap();
    assert!(small.contains("exit 0.000002496<"), "{small}");
}

/// A server whose watch-list is BTCUSDT (priced 100) and ETHUSDT (no price yet).
fn priced_server(db: &TempDb, exchange: &FakeExchange) -> TestServer {
    let server = TestServer::start(
        &db,
        &[
            ("SIGNALDESK_EXCHANGE_URL", &exchange.url),
            ("SIGNALDESK_SYMBOLS", "BTCUSDT,ETHUSDT"),
        ],
    );
    server.wait_for_stats("a fresh BTCUSDT price", |s| {
        s["feed"]["last_update"].is_string()
    });
    server
}

fn webhook(server: &TestServer, body: &Value) -> (u16, Value) {
    let response = server
        .client
        .post(format!("{}/api/webhook/tradingview", server.address))
        .header("Content-Type", "text/plain")
        .body(body.to_string())
        .send()
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

fn alert(fields: Value) -> Value {
    let mut body = json!({"token": API_TOKEN, "symbol": "BINANCE:BTCUSDT", "action": "buy",
                          "stop_loss": 95, "take_profit": 110});
    for (key, value) in fields.as_object().unwrap() {
        body[key] = value.clone();
    }
    body
}

fn api_signal(fields: Value) -> Value {
    let mut body =
        json!({"symbol": "BTCUSDT", "direction": "LONG", "stop_loss": 95, "take_profit": 110});
    for (key, value) in fields.as_object().unwrap() {
        body[key] = value.clone();
    }
    body
}

fn levels_beyond_a_hundredfold_of_the_entry_are_400_naming_the_field(db: TempDb) {
    let exchange = FakeExchange::start(&[("BTCUSDT", 100.0)]);
    let server = priced_server(&db, &exchange);
    let cases = [
        (
            json!({"stop_loss": 5e-324}),
            "stop_loss",
            "the smallest double",
        ),
        (json!({"stop_loss": 0.5}), "stop_loss", "below entry ÷ 100"),
        (
            json!({"take_profit": 1.7e308}),
            "take_profit",
            "a huge target",
        ),
        (
            json!({"take_profit": 10_100.0}),
            "take_profit",
            "above entry × 100",
        ),
    ];
    for (fields, field, reason) in &cases {
        let (status, answer) = server.post("/api/signals", &api_signal(fields.clone()));
        assert_eq!(
            (status, answer["field"].as_str()),
            (400, Some(*field)),
            "{reason}: {answer}"
        );
        let (status, answer) = webhook(&server, &alert(fields.clone()));
        assert_eq!(
            (status, answer["field"].as_str()),
            (400, Some(*field)),
            "webhook {reason}: {answer}"
        );
    }
    let (status, answer) = webhook(&server, &alert(json!({"stop_loss": "5e-324"})));
    assert_eq!(
        (status, answer["field"].as_str()),
        (400, Some("stop_loss")),
        "{answer}"
    );
    assert_eq!(
        count(&server.get_json("/api/signals"), "signals"),
        0,
        "nothing written"
    );
}

fn the_trade_page_draws_rows_stored_before_the_level_bounds(db: TempDb) {
    let mut conn = db.conn();
    let opened = at("2026-11-25 09:00:00");
    SignalBuilder::long("BTCUSDT")
        .levels(100.0, 5e-324, 1.7e308)
        .insert(&mut conn, opened);
    SignalBuilder::short("ETHUSDT")
        .levels(100.0, f64::MAX, f64::MIN_POSITIVE)
        .insert(&mut conn, opened);
    let exchange = FakeExchange::start(&[]);
    let server = TestServer::start(&db, &[("SIGNALDESK_EXCHANGE_URL", &exchange.url)]);
    for id in [1, 2] {
        let response = server.get(&format!("/trades/{id}"));
        assert_eq!(response.status(), 200);
        let page = response.text().unwrap();
        let svg = &page[page.find("<svg").unwrap()..page.find("</svg>").unwrap()];
        for bad in ["NaN", "inf"] {
            assert!(!svg.contains(bad), "trade {id} draws {bad}:\n{svg}");
        }
    }
}

fn json_api_numbers_are_json_numbers_but_the_webhook_takes_strings(db: TempDb) {
    let exchange = FakeExchange::start(&[("BTCUSDT", 100.0)]);
    let server = priced_server(&db, &exchange);
    let cases = [
        (json!({"stop_loss": "95"}), "stop_loss"),
        (json!({"take_profit": "110"}), "take_profit"),
        (json!({"confidence": "0.9"}), "confidence"),
        (json!({"stop_loss": true}), "stop_loss"),
    ];
    for (fields, field) in cases {
        let (status, answer) = server.post("/api/signals", &api_signal(fields.clone()));
        assert_eq!(
            (status, answer["field"].as_str()),
            (400, Some(field)),
            "{fields} → {answer}"
        );
    }
    assert_eq!(
        count(&server.get_json("/api/signals"), "signals"),
        0,
        "nothing written"
    );

    // TradingView sends its placeholders as strings; in JSON number syntax they count.
    for (fields, field) in [
        (json!({"stop_loss": " 95"}), "stop_loss"),
        (json!({"take_profit": "110 USDT"}), "take_profit"),
        (json!({"confidence": "NaN"}), "confidence"),
    ] {
        let (status, answer) = webhook(&server, &alert(fields.clone()));
        assert_eq!(
            (status, answer["field"].as_str()),
            (400, Some(field)),
            "{fields} → {answer}"
        );
    }
    let strings = alert(json!({"stop_loss": "95.5", "take_profit": "110", "confidence": "0.9"}));
    let (status, created) = webhook(&server, &strings);
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["stop_loss"], 95.5);
    assert_eq!(created["confidence"], 0.9);
}

fn a_symbol_off_the_watch_list_is_400_before_any_price_is_looked_up(db: TempDb) {
    // The exchange prices SOLUSDT too, but it is not on the watch-list.
    let exchange = FakeExchange::start(&[("BTCUSDT", 100.0), ("SOLUSDT", 50.0)]);
    let server = priced_server(&db, &exchange);
    for symbol in ["SOLUSDT", "DOGEUSDT", "BINANCE:SOLUSDT"] {
        let body = api_signal(json!({"symbol": symbol, "stop_loss": 45, "take_profit": 60}));
        let (status, answer) = server.post("/api/signals", &body);
        assert_eq!(
            (status, answer["field"].as_str()),
            (400, Some("symbol")),
            "{symbol}: {answer}"
        );
        assert!(
            answer["error"]
                .as_str()
                .unwrap()
                .contains("BTCUSDT, ETHUSDT"),
            "the error names the watch-list: {answer}"
        );
        let (status, answer) = webhook(
            &server,
            &alert(json!({"symbol": symbol, "stop_loss": 45, "take_profit": 60})),
        );
        assert_eq!(
            (status, answer["field"].as_str()),
            (400, Some("symbol")),
            "webhook {symbol}: {answer}"
        );
    }
    for symbol in [" BTCUSDT", "BTC USDT", ":BTCUSDT", "A:B:BTCUSDT"] {
        let (status, answer) = server.post("/api/signals", &api_signal(json!({"symbol": symbol})));
        assert_eq!(
            (status, answer["field"].as_str()),
            (400, Some("symbol")),
            "{symbol:?}: {answer}"
        );
    }
    // On the watch-list without a price: 503, the only case that is.
    let (status, answer) = server.post(
        "/api/signals",
        &api_signal(json!({"symbol": "ETHUSDT", "stop_loss": 190, "take_profit": 220})),
    );
    assert_eq!(
        (status, answer["field"].clone()),
        (503, Value::Null),
        "{answer}"
    );
    assert_eq!(
        count(&server.get_json("/api/signals"), "signals"),
        0,
        "nothing written"
    );
    // The forms the server normalises.
    let (status, created) = server.post("/api/signals", &api_signal(json!({"symbol": "btcusdt"})));
    assert_eq!(
        (status, created["symbol"].as_str()),
        (201, Some("BTCUSDT")),
        "{created}"
    );
    let (status, answer) = webhook(&server, &alert(json!({"symbol": "BYBIT:btcUSDT"})));
    assert_eq!(
        status, 409,
        "on the watch-list, refused by the open-position gate: {answer}"
    );
}

fn the_api_takes_directions_as_documented(db: TempDb) {
    let exchange = FakeExchange::start(&[("BTCUSDT", 100.0)]);
    let server = priced_server(&db, &exchange);
    for direction in ["long", " LONG", "Long", "BUY"] {
        let (status, answer) =
            server.post("/api/signals", &api_signal(json!({"direction": direction})));
        assert_eq!(
            (status, answer["field"].as_str()),
            (400, Some("direction")),
            "{direction:?}: {answer}"
        );
    }
    let (status, answer) = server.post("/api/signals", &api_signal(json!({})));
    assert_eq!(status, 201, "{answer}");
}

crate::on_both_backends!(
    the_last_representable_day_ends_a_range_on_every_endpoint_and_page,
    export_to_the_last_representable_day_exports_everything,
    csv_export_of_no_rows_still_prints_the_header,
    pages_show_a_small_coins_prices_with_their_digits,
    levels_beyond_a_hundredfold_of_the_entry_are_400_naming_the_field,
    the_trade_page_draws_rows_stored_before_the_level_bounds,
    json_api_numbers_are_json_numbers_but_the_webhook_takes_strings,
    a_symbol_off_the_watch_list_is_400_before_any_price_is_looked_up,
    the_api_takes_directions_as_documented,
);
