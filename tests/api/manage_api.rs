//! Trade management through the HTTP API (DESIGN.md §7, §10), on the real server with the fake
//! exchange: the management fields of `POST /api/signals` and the webhook (validated, 400 naming
//! the field with nothing written; stored; the configured defaults), `GET /api/signals/{id}` with
//! its exits and stop moves, `POST /api/signals/{id}/stop`, and a partial
//! `POST /api/signals/{id}/close` whose exits are computed here by hand.

use diesel::prelude::*;
use serde_json::{json, Value};
use signaldesk::db::exits::{exits_of, stop_moves_of};
use signaldesk::db::intake::{move_stop_by_hand, ManualError};
use signaldesk::db::models::SignalId;
use signaldesk::db::schema;
use signaldesk::db::signals::get_signal;
use signaldesk::domain::{ExitReason, SignalStatus, StopReason};

use crate::fake_exchange::FakeExchange;
use crate::helpers::{
    assert_check_passes, at, wait_until, SignalBuilder, TempDb, TestServer, API_TOKEN, FEE_RATE,
    INITIAL_BALANCE,
};

const SLIPPAGE: f64 = 0.0005;

/// A LONG fills at the price moved up by slippage, a SHORT moved down.
fn long_fill(price: f64) -> f64 {
    price * (1.0 + SLIPPAGE)
}

fn short_fill(price: f64) -> f64 {
    price * (1.0 - SLIPPAGE)
}

fn assert_close(got: f64, want: f64, what: &str) {
    assert!(
        (got - want).abs() <= 1e-9 * want.abs().max(1.0),
        "{what}: {got} != {want}"
    );
}

fn number(value: &Value, what: &str) -> f64 {
    value
        .as_f64()
        .unwrap_or_else(|| panic!("{what} is a number: {value}"))
}

/// The server on `exchange`, its watch-list BTCUSDT, ETHUSDT, SOLUSDT and XRPUSDT, once every
/// price is in.
fn start(db: &TempDb, exchange: &FakeExchange, env: &[(&str, &str)]) -> TestServer {
    let mut all = vec![
        ("SIGNALDESK_EXCHANGE_URL", exchange.url.as_str()),
        ("SIGNALDESK_SYMBOLS", "BTCUSDT,ETHUSDT,SOLUSDT,XRPUSDT"),
        ("SIGNALDESK_COOLDOWN_MINUTES", "0"),
    ];
    all.extend_from_slice(env);
    let server = TestServer::start(db, &all);
    server.wait_for_stats("fresh prices", |s| s["feed"]["status"] == "ok");
    server
}

fn exchange() -> FakeExchange {
    FakeExchange::start(&[
        ("BTCUSDT", 100.0),
        ("ETHUSDT", 200.0),
        ("SOLUSDT", 50.0),
        ("XRPUSDT", 10.0),
    ])
}

/// `base` with `fields` set.
fn with(base: Value, fields: &Value) -> Value {
    let mut body = base;
    for (key, value) in fields.as_object().expect("fields are an object") {
        body[key] = value.clone();
    }
    body
}

/// A BTCUSDT LONG (fills at 100.05, stop 95, target 110) with `fields`.
fn btc_long(fields: Value) -> Value {
    with(
        json!({"symbol": "BTCUSDT", "direction": "LONG", "stop_loss": 95, "take_profit": 110}),
        &fields,
    )
}

/// An ETHUSDT SHORT (fills at 199.9, stop 210, target 180) with `fields`.
fn eth_short(fields: Value) -> Value {
    with(
        json!({"symbol": "ETHUSDT", "direction": "SHORT", "stop_loss": 210, "take_profit": 180}),
        &fields,
    )
}

/// `body` as a TradingView alert: `direction` becomes `action`, the token goes in.
fn as_alert(body: &Value) -> Value {
    let mut alert = body.clone();
    let map = alert.as_object_mut().unwrap();
    let direction = map.remove("direction").unwrap();
    map.insert(
        "action".to_owned(),
        json!(if direction == "LONG" { "buy" } else { "sell" }),
    );
    map.insert("token".to_owned(), json!(API_TOKEN));
    alert
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

/// POST `body` (raw bytes, none when `None`) to `path`, with the token when `token`.
fn post_raw(server: &TestServer, path: &str, body: Option<&str>, token: bool) -> (u16, Value) {
    let mut request = server.client.post(format!("{}{path}", server.address));
    if token {
        request = request.bearer_auth(API_TOKEN);
    }
    if let Some(body) = body {
        request = request
            .header("Content-Type", "application/json")
            .body(body.to_owned());
    }
    let response = request.send().unwrap();
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

fn rows(db: &TempDb) -> (i64, i64, i64) {
    let mut conn = db.conn();
    let signals = schema::signals::table
        .count()
        .get_result(&mut conn)
        .unwrap();
    let exits = schema::trade_exits::table
        .count()
        .get_result(&mut conn)
        .unwrap();
    let moves = schema::stop_moves::table
        .count()
        .get_result(&mut conn)
        .unwrap();
    (signals, exits, moves)
}

fn id_of(signal: &Value) -> SignalId {
    SignalId(i32::try_from(signal["id"].as_i64().expect("an id")).unwrap())
}

fn targets(list: &[(f64, f64)]) -> Value {
    Value::Array(
        list.iter()
            .map(|(price, fraction)| json!({"price": price, "fraction": fraction}))
            .collect(),
    )
}

fn bad_management_is_400_naming_the_field_and_nothing_is_written(db: TempDb) {
    let exchange = exchange();
    let server = start(&db, &exchange, &[]);
    let entry = long_fill(100.0);
    let six: Vec<(f64, f64)> = (1..=6).map(|i| (100.0 + f64::from(i), 0.1)).collect();
    // (body, the field named, why)
    let cases = vec![
        (
            btc_long(json!({"take_profits": targets(&[(104.0, 0.3), (102.0, 0.3)])})),
            "take_profits",
            "targets out of order",
        ),
        (
            btc_long(json!({"take_profits": targets(&[(104.0, 0.3), (104.0, 0.3)])})),
            "take_profits",
            "two targets at one price",
        ),
        (
            btc_long(json!({"take_profits": targets(&[(111.0, 0.5)])})),
            "take_profits",
            "a target beyond take_profit",
        ),
        (
            btc_long(json!({"take_profits": targets(&[(110.0, 0.5)])})),
            "take_profits",
            "a target at take_profit",
        ),
        (
            btc_long(json!({"take_profits": targets(&[(entry, 0.5)])})),
            "take_profits",
            "a target at the entry fill",
        ),
        (
            btc_long(json!({"take_profits": targets(&[(100.0, 0.5)])})),
            "take_profits",
            "a target at the market price, below the fill",
        ),
        (
            btc_long(json!({"take_profits": targets(&[(94.0, 0.5)])})),
            "take_profits",
            "a target beyond the stop",
        ),
        (
            btc_long(json!({"take_profits": targets(&[(103.0, 0.5), (105.0, 0.5)])})),
            "take_profits",
            "fractions summing to 1",
        ),
        (
            btc_long(json!({"take_profits": targets(&[(103.0, 0.7), (105.0, 0.6)])})),
            "take_profits",
            "fractions summing above 1",
        ),
        (
            btc_long(json!({"take_profits": targets(&[(104.0, 1.0)])})),
            "take_profits",
            "one fraction of 1",
        ),
        (
            btc_long(json!({"take_profits": targets(&[(104.0, 0.0)])})),
            "take_profits",
            "a zero fraction",
        ),
        (
            btc_long(json!({"take_profits": targets(&[(104.0, -0.25)])})),
            "take_profits",
            "a negative fraction",
        ),
        (
            btc_long(json!({"take_profits": targets(&six)})),
            "take_profits",
            "six targets",
        ),
        (
            btc_long(json!({"take_profits": {"price": 104, "fraction": 0.5}})),
            "take_profits",
            "an object, not a list",
        ),
        (
            btc_long(json!({"take_profits": "1R:50%"})),
            "take_profits",
            "a string, not a list",
        ),
        (
            btc_long(json!({"take_profits": 104})),
            "take_profits",
            "a number, not a list",
        ),
        (
            btc_long(json!({"take_profits": [104]})),
            "take_profits",
            "an item that is not an object",
        ),
        (
            btc_long(json!({"take_profits": [[104, 0.5]]})),
            "take_profits",
            "an item that is a list",
        ),
        (
            btc_long(json!({"take_profits": [{"price": 104, "fraction": 0.5, "size": 1}]})),
            "take_profits",
            "an unknown key in an item",
        ),
        (
            btc_long(json!({"take_profits": [{"price": 104}]})),
            "take_profits",
            "an item without its fraction",
        ),
        (
            btc_long(json!({"take_profits": [{"price": null, "fraction": 0.5}]})),
            "take_profits",
            "an item with a null price",
        ),
        (
            btc_long(json!({"trailing_stop_pct": 0})),
            "trailing_stop_pct",
            "a trailing distance of 0",
        ),
        (
            btc_long(json!({"trailing_stop_pct": -2})),
            "trailing_stop_pct",
            "a negative trailing distance",
        ),
        (
            btc_long(json!({"trailing_stop_pct": 50})),
            "trailing_stop_pct",
            "a trailing distance of 50 %",
        ),
        (
            btc_long(json!({"trailing_stop_pct": 80})),
            "trailing_stop_pct",
            "a trailing distance above 50 %",
        ),
        (
            btc_long(json!({"breakeven_at_r": 0})),
            "breakeven_at_r",
            "breakeven at 0 R",
        ),
        (
            btc_long(json!({"breakeven_at_r": -1})),
            "breakeven_at_r",
            "breakeven at a negative R",
        ),
        (
            btc_long(json!({"breakeven_at_r": true})),
            "breakeven_at_r",
            "breakeven not a number",
        ),
        (
            btc_long(json!({"trailing_activate_at_r": -0.5})),
            "trailing_activate_at_r",
            "activation at a negative R",
        ),
        (
            btc_long(json!({"trailing_activate_at_r": [1]})),
            "trailing_activate_at_r",
            "activation not a number",
        ),
        (
            eth_short(json!({"take_profits": targets(&[(190.0, 0.3), (195.0, 0.3)])})),
            "take_profits",
            "SHORT targets in increasing order",
        ),
        (
            eth_short(json!({"take_profits": targets(&[(205.0, 0.5)])})),
            "take_profits",
            "a SHORT target above the entry",
        ),
        (
            eth_short(json!({"take_profits": targets(&[(175.0, 0.5)])})),
            "take_profits",
            "a SHORT target beyond take_profit",
        ),
    ];
    for (body, field, why) in &cases {
        let (status, answer) = server.post("/api/signals", body);
        assert_eq!(
            (status, answer["field"].as_str()),
            (400, Some(*field)),
            "{why}: {answer}"
        );
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(
            error.contains(field) && !error.contains("body"),
            "{why}: the error says what is wrong with {field}: {answer}"
        );
        let (status, answer) = webhook(&server, &as_alert(body));
        assert_eq!(
            (status, answer["field"].as_str()),
            (400, Some(*field)),
            "webhook, {why}: {answer}"
        );
    }
    // The JSON API takes JSON numbers only; the webhook also takes numeric strings, so what is
    // wrong with these there is the value, not the type.
    for (fields, field) in [
        (
            json!({"take_profits": [{"price": "104", "fraction": 0.5}]}),
            "take_profits",
        ),
        (json!({"breakeven_at_r": "1"}), "breakeven_at_r"),
        (json!({"trailing_stop_pct": "2"}), "trailing_stop_pct"),
        (
            json!({"trailing_activate_at_r": "0"}),
            "trailing_activate_at_r",
        ),
    ] {
        let (status, answer) = server.post("/api/signals", &btc_long(fields.clone()));
        assert_eq!(
            (status, answer["field"].as_str()),
            (400, Some(field)),
            "{fields}: {answer}"
        );
    }
    for (fields, field) in [
        (
            json!({"take_profits": [{"price": "104", "fraction": "0"}]}),
            "take_profits",
        ),
        (
            json!({"take_profits": [{"price": "104", "fraction": "0.5 "}]}),
            "take_profits",
        ),
        (
            json!({"take_profits": [{"price": "111", "fraction": "0.5"}]}),
            "take_profits",
        ),
        (json!({"breakeven_at_r": "0"}), "breakeven_at_r"),
        (json!({"breakeven_at_r": "one"}), "breakeven_at_r"),
        (json!({"trailing_stop_pct": "50"}), "trailing_stop_pct"),
        (
            json!({"trailing_activate_at_r": "-1"}),
            "trailing_activate_at_r",
        ),
    ] {
        let (status, answer) = webhook(&server, &as_alert(&btc_long(fields.clone())));
        assert_eq!(
            (status, answer["field"].as_str()),
            (400, Some(field)),
            "webhook {fields}: {answer}"
        );
    }
    assert_eq!(rows(&db), (0, 0, 0), "nothing written");
    assert_eq!(server.get_json("/api/stats")["signals_today"], 0);

    // The same fields, well formed: the webhook reads its numeric strings leniently.
    let good = json!({"take_profits": [{"price": "104", "fraction": "0.25"}, {"price": 107.5, "fraction": "0.5"}],
                      "breakeven_at_r": "1.5", "trailing_stop_pct": "2.5", "trailing_activate_at_r": "0.5"});
    let (status, created) = webhook(&server, &as_alert(&btc_long(good)));
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        created["take_profits"],
        targets(&[(104.0, 0.25), (107.5, 0.5)])
    );
    assert_eq!(
        (
            &created["breakeven_at_r"],
            &created["trailing_stop_pct"],
            &created["trailing_activate_at_r"]
        ),
        (&json!(1.5), &json!(2.5), &json!(0.5))
    );
    let stored = get_signal(&mut db.conn(), id_of(&created)).unwrap();
    assert_eq!(stored.targets().len(), 2);
    assert_eq!(stored.breakeven_at_r, Some(1.5));
    server.stop();
    assert_check_passes(&db);
}

fn management_takes_the_configured_defaults_unless_the_signal_says_otherwise(db: TempDb) {
    let exchange = exchange();
    let server = start(
        &db,
        &exchange,
        &[
            ("SIGNALDESK_TAKE_PROFITS", "1R:50%"),
            ("SIGNALDESK_BREAKEVEN_AT_R", "1"),
            ("SIGNALDESK_TRAILING_STOP_PCT", "2"),
            ("SIGNALDESK_TRAILING_ACTIVATE_AT_R", "0.5"),
        ],
    );
    // Nothing said: the defaults, the 1R target placed from this trade's fill and stop.
    let (status, defaults) = server.post("/api/signals", &btc_long(json!({})));
    assert_eq!(status, 201, "{defaults}");
    let entry = long_fill(100.0);
    let one_r = entry + (entry - 95.0);
    assert_eq!(defaults["take_profits"].as_array().map(Vec::len), Some(1));
    assert_close(
        number(&defaults["take_profits"][0]["price"], "the 1R target"),
        one_r,
        "1R from the fill",
    );
    assert_eq!(defaults["take_profits"][0]["fraction"], 0.5);
    assert_eq!(
        (
            &defaults["breakeven_at_r"],
            &defaults["trailing_stop_pct"],
            &defaults["trailing_activate_at_r"]
        ),
        (&json!(1.0), &json!(2.0), &json!(0.5))
    );
    assert_eq!(
        (
            &defaults["initial_stop_loss"],
            &defaults["remaining_quantity"],
            &defaults["realized_pnl"],
            &defaults["targets_hit"],
            &defaults["stop_moved_by"]
        ),
        (
            &json!(95.0),
            &defaults["quantity"],
            &json!(0.0),
            &json!(0),
            &Value::Null
        )
    );
    assert_close(
        number(&defaults["entry_fee"], "entry_fee"),
        entry * number(&defaults["quantity"], "quantity") * FEE_RATE,
        "the entry fee",
    );

    // null and [] turn them off; a null trailing_activate_at_r is absent: the default.
    let off = json!({"take_profits": null, "breakeven_at_r": null, "trailing_stop_pct": null,
                     "trailing_activate_at_r": null});
    let (status, none) = server.post("/api/signals", &eth_short(off));
    assert_eq!(status, 201, "{none}");
    assert_eq!(
        (
            &none["take_profits"],
            &none["breakeven_at_r"],
            &none["trailing_stop_pct"],
            &none["trailing_activate_at_r"]
        ),
        (&json!([]), &Value::Null, &Value::Null, &json!(0.5))
    );
    let sol = json!({"symbol": "SOLUSDT", "direction": "LONG", "stop_loss": 45, "take_profit": 60,
                     "take_profits": []});
    let (status, empty) = server.post("/api/signals", &sol);
    assert_eq!(status, 201, "{empty}");
    assert_eq!(empty["take_profits"], json!([]));
    assert_eq!(empty["breakeven_at_r"], 1.0, "the other defaults stay");

    // A signal's own settings win.
    let own = json!({"symbol": "XRPUSDT", "direction": "LONG", "stop_loss": 9, "take_profit": 13,
                     "take_profits": targets(&[(11.0, 0.25), (12.0, 0.25)]),
                     "breakeven_at_r": 0.5, "trailing_stop_pct": 1.5, "trailing_activate_at_r": 0});
    let (status, mine) = server.post("/api/signals", &own);
    assert_eq!(status, 201, "{mine}");
    assert_eq!(mine["take_profits"], targets(&[(11.0, 0.25), (12.0, 0.25)]));
    assert_eq!(
        (
            &mine["breakeven_at_r"],
            &mine["trailing_stop_pct"],
            &mine["trailing_activate_at_r"]
        ),
        (&json!(0.5), &json!(1.5), &json!(0.0))
    );

    // Stored as answered: the database row and GET /api/signals/{id}, with no exits or moves yet
    // (the live figures move with the ticks; the settings do not).
    let mut conn = db.conn();
    let settings = [
        "take_profits",
        "breakeven_at_r",
        "trailing_stop_pct",
        "trailing_activate_at_r",
        "initial_stop_loss",
        "stop_loss",
        "targets_hit",
        "stop_moved_by",
        "entry_fee",
        "quantity",
        "entry_price",
    ];
    for created in [&defaults, &none, &empty, &mine] {
        let id = id_of(created);
        // Through the text the server sends, so both sides parse the same digits.
        let row = get_signal(&mut conn, id).unwrap();
        let stored: Value = serde_json::from_str(&serde_json::to_string(&row).unwrap()).unwrap();
        let detail = server.get_json(&format!("/api/signals/{id}"));
        for key in settings {
            assert_eq!(stored[key], created[key], "#{id} {key} as stored");
            assert_eq!(detail[key], created[key], "#{id} {key} in GET");
        }
        assert_eq!(
            (&detail["exits"], &detail["stop_moves"]),
            (&json!([]), &json!([])),
            "{detail}"
        );
    }
    server.stop();
    assert_check_passes(&db);
}

fn a_stop_moves_by_hand_only_in_the_trades_favour(db: TempDb) {
    let exchange = exchange();
    let server = start(&db, &exchange, &[]);
    let (_, long) = server.post("/api/signals", &btc_long(json!({})));
    let (_, short) = server.post("/api/signals", &eth_short(json!({})));
    let long_stop = format!("/api/signals/{}/stop", long["id"]);
    let short_stop = format!("/api/signals/{}/stop", short["id"]);

    // The token first, whatever the body.
    for body in [r#"{"stop_loss": 97}"#, "not json"] {
        let (status, answer) = post_raw(&server, &long_stop, Some(body), false);
        assert_eq!(status, 401, "{answer}");
    }
    let wrong = server
        .client
        .post(format!("{}{long_stop}", server.address))
        .bearer_auth("wrong-token-0123456789")
        .json(&json!({"stop_loss": 97}))
        .send()
        .unwrap();
    assert_eq!(wrong.status(), 401);

    // The LONG's stop is 95 and BTCUSDT is at 100.
    let refused = [
        (json!({"stop_loss": 94}), "stop_loss", "a looser stop"),
        (json!({"stop_loss": 95}), "stop_loss", "the same stop"),
        (
            json!({"stop_loss": 100}),
            "stop_loss",
            "at the current price",
        ),
        (
            json!({"stop_loss": 101}),
            "stop_loss",
            "beyond the current price",
        ),
        (json!({"stop_loss": 0}), "stop_loss", "zero"),
        (json!({"stop_loss": -97}), "stop_loss", "negative"),
        (json!({"stop_loss": "97"}), "stop_loss", "a string"),
        (json!({"stop_loss": true}), "stop_loss", "a boolean"),
        (json!({"stop_loss": null}), "stop_loss", "null"),
        (json!({}), "stop_loss", "missing"),
        (
            json!({"stop_loss": 97, "reason": "x"}),
            "reason",
            "an unknown field",
        ),
    ];
    for (body, field, why) in &refused {
        let (status, answer) = server.post(&long_stop, body);
        assert_eq!(
            (status, answer["field"].as_str()),
            (400, Some(*field)),
            "{why}: {answer}"
        );
    }
    let (status, answer) = post_raw(&server, &long_stop, None, true);
    assert_eq!(
        (status, answer["field"].as_str()),
        (400, Some("stop_loss")),
        "no body: {answer}"
    );
    let (status, answer) = post_raw(&server, &long_stop, Some("[97]"), true);
    assert_eq!(status, 400, "{answer}");
    // The SHORT's stop is 210 and ETHUSDT is at 200.
    for stop in [211.0, 210.0, 200.0, 199.0] {
        let (status, answer) = server.post(&short_stop, &json!({"stop_loss": stop}));
        assert_eq!(
            (status, answer["field"].as_str()),
            (400, Some("stop_loss")),
            "SHORT stop {stop}: {answer}"
        );
    }
    assert_eq!(rows(&db), (2, 0, 0), "no stop moved");
    assert_eq!(
        get_signal(&mut db.conn(), id_of(&long)).unwrap().stop_loss,
        95.0
    );

    // Tighter and short of the price: moved, and recorded.
    let (status, moved) = server.post(&long_stop, &json!({"stop_loss": 97}));
    assert_eq!(status, 200, "{moved}");
    assert_eq!(
        (
            &moved["stop_loss"],
            &moved["initial_stop_loss"],
            &moved["stop_moved_by"],
            &moved["status"]
        ),
        (
            &json!(97.0),
            &json!(95.0),
            &json!("MANUAL"),
            &json!("ACTIVE")
        )
    );
    assert_eq!(moved["exits"], json!([]));
    let moves = moved["stop_moves"].as_array().unwrap();
    assert_eq!(moves.len(), 1, "{moved}");
    assert_eq!(
        (
            &moves[0]["old_stop"],
            &moves[0]["new_stop"],
            &moves[0]["reason"],
            &moves[0]["signal_id"]
        ),
        (&json!(95.0), &json!(97.0), &json!("MANUAL"), &long["id"])
    );
    // Now 97 is the stop to beat.
    let (status, answer) = server.post(&long_stop, &json!({"stop_loss": 96}));
    assert_eq!(
        (status, answer["field"].as_str()),
        (400, Some("stop_loss")),
        "{answer}"
    );
    let (status, moved) = server.post(&long_stop, &json!({"stop_loss": 98.5}));
    assert_eq!(status, 200, "{moved}");
    let (status, short_moved) = server.post(&short_stop, &json!({"stop_loss": 205}));
    assert_eq!(status, 200, "{short_moved}");
    assert_eq!(short_moved["stop_loss"], 205.0);

    let detail = server.get_json(&format!("/api/signals/{}", long["id"]));
    assert_eq!(
        (&detail["stop_moves"], &detail["stop_loss"]),
        (&moved["stop_moves"], &json!(98.5)),
        "GET lists the same stop moves"
    );
    let stored = stop_moves_of(&mut db.conn(), id_of(&long)).unwrap();
    let path: Vec<(f64, f64, StopReason)> = stored
        .iter()
        .map(|m| (m.old_stop, m.new_stop, m.reason))
        .collect();
    assert_eq!(
        path,
        [
            (95.0, 97.0, StopReason::Manual),
            (97.0, 98.5, StopReason::Manual)
        ]
    );
    assert_eq!(rows(&db), (2, 0, 3));

    // The moved stop is the one the engine keeps: a drop to 98 closes the LONG there (a gap
    // through 98.5 fills at the worse price, slipped), booked as a stop-loss.
    exchange.set_price("BTCUSDT", 98.0);
    server.wait_for_stats("the stop to close the LONG", |s| s["completed_trades"] == 1);
    let closed = get_signal(&mut db.conn(), id_of(&long)).unwrap();
    assert_eq!(closed.exit_reason, Some(ExitReason::StopLoss));
    assert_close(
        closed.exit_price.unwrap(),
        short_fill(98.0),
        "the stop's fill",
    );

    // A closed trade's stop does not move; an unknown id is 404, a bad one 400 naming it.
    let (status, answer) = server.post(&long_stop, &json!({"stop_loss": 99}));
    assert_eq!(status, 409, "{answer}");
    let (status, answer) = server.post("/api/signals/999/stop", &json!({"stop_loss": 99}));
    assert_eq!(status, 404, "{answer}");
    let (status, answer) = server.post("/api/signals/abc/stop", &json!({"stop_loss": 99}));
    assert_eq!(
        (status, answer["field"].as_str()),
        (400, Some("id")),
        "{answer}"
    );
    server.stop();
    assert_check_passes(&db);
}

/// What a manual exit of `quantity` of `signal` at the market price `market` books (DESIGN.md
/// §10): the fill moved by slippage against the trader, its fee plus the entry fee's share, and
/// the price move less that fee.
fn by_hand(signal: &Value, market: f64, quantity: f64) -> (f64, f64, f64) {
    let long = signal["direction"] == "LONG";
    let fill = if long {
        short_fill(market)
    } else {
        long_fill(market)
    };
    let entry = number(&signal["entry_price"], "entry_price");
    let fee = fill * quantity * FEE_RATE
        + number(&signal["entry_fee"], "entry_fee") * quantity
            / number(&signal["quantity"], "quantity");
    let sign = if long { 1.0 } else { -1.0 };
    (fill, fee, (fill - entry) * quantity * sign - fee)
}

fn assert_exit(exit: &Value, (price, fee, pnl): (f64, f64, f64), quantity: f64, balance: f64) {
    assert_eq!(exit["reason"], "MANUAL", "{exit}");
    assert_close(number(&exit["price"], "price"), price, "exit price");
    assert_close(
        number(&exit["quantity"], "quantity"),
        quantity,
        "exit quantity",
    );
    assert_close(number(&exit["fee"], "fee"), fee, "exit fee");
    assert_close(number(&exit["pnl"], "pnl"), pnl, "exit pnl");
    assert_close(
        number(&exit["balance_after"], "balance_after"),
        balance,
        "balance after the exit",
    );
}

/// Wait until the server's stored price of `symbol` is `price`.
fn wait_for_price(server: &TestServer, symbol: &str, price: f64) {
    wait_until(&format!("{symbol} at {price}"), || {
        let data = server.get_json("/api/data");
        data["prices"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["symbol"] == symbol && p["price"] == price)
            .then_some(())
    });
}

fn a_manual_close_takes_a_fraction_then_the_rest(db: TempDb) {
    let exchange = exchange();
    let server = start(&db, &exchange, &[]);
    let (_, long) = server.post("/api/signals", &btc_long(json!({})));
    let (_, short) = server.post("/api/signals", &eth_short(json!({})));
    let close = format!("/api/signals/{}/close", long["id"]);
    let quantity = number(&long["quantity"], "quantity");

    // A bad fraction is a 400 naming it, and books nothing.
    for body in [
        json!({"fraction": 0}),
        json!({"fraction": 1.5}),
        json!({"fraction": -0.5}),
        json!({"fraction": "x"}),
        json!({"fraction": "0.5"}),
        json!({"fraction": true}),
    ] {
        let (status, answer) = server.post(&close, &body);
        assert_eq!(
            (status, answer["field"].as_str()),
            (400, Some("fraction")),
            "{body}: {answer}"
        );
    }
    let (status, answer) = server.post(&close, &json!({"portion": 0.5}));
    assert_eq!(
        (status, answer["field"].as_str()),
        (400, Some("portion")),
        "{answer}"
    );
    let (status, answer) = post_raw(&server, &close, Some("half"), true);
    assert_eq!(status, 400, "not JSON: {answer}");
    let (status, _) = post_raw(&server, &close, Some(r#"{"fraction": 0.5}"#), false);
    assert_eq!(status, 401, "the token first");
    assert_eq!(rows(&db), (2, 0, 0), "nothing booked");

    // Half of it at 100: a MANUAL exit, the trade still open with the other half.
    let mut balance = INITIAL_BALANCE;
    let first = by_hand(&long, 100.0, quantity * 0.5);
    balance += first.2;
    let (status, half) = server.post(&close, &json!({"fraction": 0.5}));
    assert_eq!(status, 200, "{half}");
    assert_exit(&half["exit"], first, quantity * 0.5, balance);
    assert!(
        half["journal"].is_null(),
        "a partial close has no journal: {half}"
    );
    assert_close(
        number(&half["balance_after"], "balance_after"),
        balance,
        "balance_after",
    );
    let open = &half["signal"];
    assert_eq!(open["status"], "ACTIVE");
    assert_close(
        number(&open["remaining_quantity"], "remaining"),
        quantity * 0.5,
        "half remains",
    );
    assert_close(
        number(&open["realized_pnl"], "realized"),
        first.2,
        "realized so far",
    );
    assert_eq!(open["exit_price"], Value::Null);
    assert_close(
        number(&server.get_json("/api/stats")["balance"], "balance"),
        balance,
        "the balance moved by the exit's pnl",
    );

    // The rest at 102, with no body: the trade closes, its journal sums the two exits.
    exchange.set_price("BTCUSDT", 102.0);
    wait_for_price(&server, "BTCUSDT", 102.0);
    let second = by_hand(&long, 102.0, quantity * 0.5);
    balance += second.2;
    let (status, rest) = post_raw(&server, &close, None, true);
    assert_eq!(status, 200, "{rest}");
    assert_exit(&rest["exit"], second, quantity * 0.5, balance);
    let journal = &rest["journal"];
    assert_eq!(journal["exit_count"], 2, "{journal}");
    assert_eq!(journal["exit_reason"], "MANUAL");
    let total = first.2 + second.2;
    assert_close(
        number(&journal["pnl"], "journal pnl"),
        total,
        "pnl = Σ exits",
    );
    assert_close(
        number(&journal["exit_price"], "journal exit"),
        (first.0 + second.0) / 2.0,
        "the average of two equal parts",
    );
    assert_close(
        number(&journal["r_multiple"], "r"),
        total / number(&long["risk_amount"], "risk"),
        "R from the initial risk",
    );
    assert_close(
        number(&journal["balance_after"], "journal balance"),
        balance,
        "journal balance",
    );
    let closed = &rest["signal"];
    assert_eq!(
        (
            &closed["status"],
            &closed["exit_reason"],
            &closed["remaining_quantity"]
        ),
        (&json!("CLOSED"), &json!("MANUAL"), &json!(0.0))
    );
    assert_close(
        number(&closed["pnl"], "pnl"),
        total,
        "the signal's pnl = Σ exits",
    );
    assert_close(
        number(&server.get_json("/api/stats")["balance"], "balance"),
        balance,
        "balance = initial + Σ exits",
    );

    // GET lists both exits as booked; the database holds the same.
    let detail = server.get_json(&format!("/api/signals/{}", long["id"]));
    assert_eq!(
        detail["exits"],
        json!([half["exit"], rest["exit"]]),
        "{detail}"
    );
    assert_eq!(detail["stop_moves"], json!([]));
    let stored = exits_of(&mut db.conn(), id_of(&long)).unwrap();
    assert_eq!(stored.len(), 2);
    assert!(stored.iter().all(|e| e.reason == ExitReason::Manual));
    let (status, answer) = server.post(&close, &json!({"fraction": 0.5}));
    assert_eq!(status, 409, "closed already: {answer}");

    // The SHORT: a quarter at 200 (a SHORT buys back above the price), then an empty body takes
    // the rest, as before a close took a fraction.
    let close = format!("/api/signals/{}/close", short["id"]);
    let quantity = number(&short["quantity"], "quantity");
    let quarter = by_hand(&short, 200.0, quantity * 0.25);
    balance += quarter.2;
    let (status, part) = server.post(&close, &json!({"fraction": 0.25}));
    assert_eq!(status, 200, "{part}");
    assert_exit(&part["exit"], quarter, quantity * 0.25, balance);
    let rest = by_hand(&short, 200.0, quantity * 0.75);
    balance += rest.2;
    let (status, all) = post_raw(&server, &close, Some(""), true);
    assert_eq!(status, 200, "{all}");
    assert_exit(&all["exit"], rest, quantity * 0.75, balance);
    assert_eq!(all["journal"]["exit_count"], 2);
    assert_close(
        number(&all["journal"]["pnl"], "pnl"),
        quarter.2 + rest.2,
        "pnl = Σ exits",
    );
    assert_eq!(
        get_signal(&mut db.conn(), id_of(&short)).unwrap().status,
        SignalStatus::Closed
    );
    assert_eq!(rows(&db), (2, 4, 0));
    server.stop();
    assert_check_passes(&db);
}

fn a_close_without_a_fraction_closes_everything_as_before(db: TempDb) {
    let exchange = exchange();
    let server = start(&db, &exchange, &[]);
    let mut balance = INITIAL_BALANCE;
    // No body, an empty JSON object, a blank body and a null fraction: each closes all of its
    // trade in one exit.
    let bodies: [Option<&str>; 4] = [None, Some("{}"), Some(" \n"), Some(r#"{"fraction": null}"#)];
    let symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"];
    let mut opened = Vec::new();
    for symbol in symbols {
        let price = match symbol {
            "BTCUSDT" => 100.0,
            "ETHUSDT" => 200.0,
            "SOLUSDT" => 50.0,
            _ => 10.0,
        };
        let body = json!({"symbol": symbol, "direction": "LONG", "stop_loss": price * 0.95,
                          "take_profit": price * 1.1});
        let (status, signal) = server.post("/api/signals", &body);
        assert_eq!(status, 201, "{signal}");
        opened.push((signal, price));
    }
    for ((signal, price), body) in opened.iter().zip(bodies) {
        let quantity = number(&signal["quantity"], "quantity");
        let figures = by_hand(signal, *price, quantity);
        balance += figures.2;
        let (status, closed) = post_raw(
            &server,
            &format!("/api/signals/{}/close", signal["id"]),
            body,
            true,
        );
        assert_eq!(status, 200, "{body:?}: {closed}");
        assert_exit(&closed["exit"], figures, quantity, balance);
        assert_eq!(closed["signal"]["status"], "CLOSED", "{body:?}");
        assert_eq!(closed["journal"]["exit_count"], 1, "{body:?}");
        assert_close(
            number(&closed["journal"]["pnl"], "pnl"),
            figures.2,
            "one exit",
        );
    }
    assert_eq!(rows(&db), (4, 4, 0));
    server.stop();
    assert_check_passes(&db);
}

fn a_fraction_too_small_to_close_anything_is_400(db: TempDb) {
    let exchange = exchange();
    exchange.set_price("XRPUSDT", 10_000.0);
    let server = start(&db, &exchange, &[]);
    wait_for_price(&server, "XRPUSDT", 10_000.0);
    // Risking 1 % of 10 000 on 1 005 a unit: about 0.1 units, of which the smallest double is 0.
    let xrp = json!({"symbol": "XRPUSDT", "direction": "LONG", "stop_loss": 9_000, "take_profit": 12_000});
    let tiny = with(
        xrp.clone(),
        &json!({"take_profits": [{"price": 11_000, "fraction": 5e-324}]}),
    );
    let (status, answer) = server.post("/api/signals", &tiny);
    assert_eq!(
        (status, answer["field"].as_str()),
        (400, Some("take_profits")),
        "a target that would close nothing: {answer}"
    );
    let alert = with(
        as_alert(&xrp),
        &json!({"take_profits": [{"price": "11000", "fraction": "5e-324"}]}),
    );
    let (status, answer) = webhook(&server, &alert);
    assert_eq!(
        (status, answer["field"].as_str()),
        (400, Some("take_profits")),
        "webhook: {answer}"
    );
    assert_eq!(rows(&db), (0, 0, 0), "nothing written");

    let (status, open) = server.post("/api/signals", &xrp);
    assert_eq!(status, 201, "{open}");
    assert!(number(&open["quantity"], "quantity") < 0.5, "{open}");
    let close = format!("/api/signals/{}/close", open["id"]);
    let (status, answer) = server.post(&close, &json!({"fraction": 5e-324}));
    assert_eq!(
        (status, answer["field"].as_str()),
        (400, Some("fraction")),
        "a part that closes nothing: {answer}"
    );
    assert_eq!(rows(&db), (1, 0, 0), "nothing booked");
    let (status, answer) = server.post(&close, &json!({"fraction": 0.5}));
    assert_eq!(status, 200, "{answer}");
    server.stop();
    assert_check_passes(&db);
}

/// While a trade is still open with the price beyond its target (its booking failed, say), a
/// manual stop short of that price may still be at or beyond the target: refused, 400 naming
/// `stop_loss`, never the levels CHECK (a 500).
fn a_stop_never_moves_to_or_beyond_the_target(db: TempDb) {
    let mut conn = db.conn();
    let opened = at("2026-11-25 09:00:00");
    let long = SignalBuilder::long("BTCUSDT")
        .levels(100.0, 95.0, 110.0)
        .insert(&mut conn, opened);
    let short = SignalBuilder::short("ETHUSDT")
        .levels(100.0, 105.0, 90.0)
        .insert(&mut conn, opened);
    let now = opened + chrono::Duration::minutes(5);
    for (trade, stop, last) in [
        (&long, 110.0, 111.0),
        (&long, 110.5, 111.0),
        (&short, 90.0, 89.0),
        (&short, 89.5, 89.0),
    ] {
        match move_stop_by_hand(&mut conn, trade.signal_id(), stop, Some(last), now) {
            Err(ManualError::Invalid(rule)) => assert_eq!(rule.field, "stop_loss", "{rule}"),
            other => panic!("#{} stop {stop} at price {last}: {other:?}", trade.id),
        }
    }
    let (moved, _) = move_stop_by_hand(&mut conn, long.signal_id(), 109.0, Some(111.0), now)
        .expect("short of the target");
    assert_eq!(moved.stop_loss, 109.0);
    assert_eq!(rows(&db), (2, 0, 1));
    assert_check_passes(&db);
}

fn get_lists_the_exits_and_stop_moves_the_engine_books(db: TempDb) {
    let exchange = exchange();
    let server = start(&db, &exchange, &[]);
    // Half at 103; the stop to the entry at 0.5 R (2.525 above the fill).
    let body = btc_long(json!({"take_profits": targets(&[(103.0, 0.5)]), "breakeven_at_r": 0.5}));
    let (status, opened) = server.post("/api/signals", &body);
    assert_eq!(status, 201, "{opened}");
    let path = format!("/api/signals/{}", opened["id"]);
    let entry = number(&opened["entry_price"], "entry_price");
    let quantity = number(&opened["quantity"], "quantity");
    let entry_fee = number(&opened["entry_fee"], "entry_fee");
    let half = quantity * 0.5;

    exchange.set_price("BTCUSDT", 104.0);
    let detail = wait_until("the target and the breakeven move", || {
        let detail = server.get_json(&path);
        (detail["targets_hit"] == 1 && detail["stop_moved_by"] == "BREAKEVEN").then_some(detail)
    });
    let exits = detail["exits"].as_array().unwrap();
    assert_eq!(exits.len(), 1, "{detail}");
    let target_fee = 103.0 * half * FEE_RATE + entry_fee * half / quantity;
    let target_pnl = (103.0 - entry) * half - target_fee;
    assert_eq!(exits[0]["reason"], "PARTIAL_TAKE_PROFIT");
    assert_close(
        number(&exits[0]["price"], "price"),
        103.0,
        "a limit fill at the target",
    );
    assert_close(
        number(&exits[0]["quantity"], "quantity"),
        half,
        "half of it",
    );
    assert_close(
        number(&exits[0]["pnl"], "pnl"),
        target_pnl,
        "the target's pnl",
    );
    assert_eq!(
        detail["stop_moves"],
        json!([{"id": 1, "signal_id": opened["id"], "old_stop": 95.0, "new_stop": entry,
                "reason": "BREAKEVEN", "created_at": detail["stop_moves"][0]["created_at"]}])
    );
    assert_eq!(detail["stop_loss"], entry);
    assert_close(
        number(&detail["remaining_quantity"], "remaining"),
        half,
        "half open",
    );

    // Back through the entry: the rest leaves at the breakeven stop (gapped to 99, slipped).
    exchange.set_price("BTCUSDT", 99.0);
    server.wait_for_stats("the breakeven stop", |s| s["completed_trades"] == 1);
    let detail = server.get_json(&path);
    let exits = detail["exits"].as_array().unwrap();
    assert_eq!(exits.len(), 2, "{detail}");
    let fill = short_fill(99.0);
    let stop_pnl = (fill - entry) * half - (fill * half * FEE_RATE + entry_fee * half / quantity);
    assert_eq!(exits[1]["reason"], "BREAKEVEN_STOP");
    assert_close(number(&exits[1]["price"], "price"), fill, "the stop's fill");
    assert_close(number(&exits[1]["pnl"], "pnl"), stop_pnl, "the stop's pnl");
    assert_eq!(
        (&detail["status"], &detail["exit_reason"]),
        (&json!("CLOSED"), &json!("BREAKEVEN_STOP"))
    );
    assert_close(
        number(&detail["pnl"], "pnl"),
        target_pnl + stop_pnl,
        "pnl = Σ exits",
    );
    let journal = server.get_json("/api/journal");
    assert_eq!(journal["entries"][0]["exit_count"], 2, "{journal}");
    server.stop();
    assert_check_passes(&db);
}

crate::on_both_backends!(
    bad_management_is_400_naming_the_field_and_nothing_is_written,
    management_takes_the_configured_defaults_unless_the_signal_says_otherwise,
    a_stop_moves_by_hand_only_in_the_trades_favour,
    a_manual_close_takes_a_fraction_then_the_rest,
    a_close_without_a_fraction_closes_everything_as_before,
    a_fraction_too_small_to_close_anything_is_400,
    a_stop_never_moves_to_or_beyond_the_target,
    get_lists_the_exits_and_stop_moves_the_engine_books,
);
