//! `/openapi.json` as the real server serves it: a valid OpenAPI 3 document (checked by the
//! reference validator, `openapi-spec-validator`), and one that says what the server accepts
//! (each request body is judged by the document's schema and by the server, and they agree).
//!
//! The validator is Python (`pip install openapi-spec-validator`, which brings
//! `openapi-schema-validator`). `.ci/run` installs it and sets
//! SIGNALDESK_REQUIRE_OPENAPI_VALIDATOR=1, so CI never skips these tests; elsewhere they are
//! skipped, with a message, when it is missing.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{json, Value};
use signaldesk::db::signals::CloseRequest;
use signaldesk::domain::ExitReason;

use crate::fake_exchange::FakeExchange;
use crate::helpers::{at, close_trade, SignalBuilder, TempDb, TestServer, API_TOKEN, FEE_RATE};

const PYTHON: &str = "python3";

/// Whether the validator can run; panics when it must and cannot.
fn validator_available() -> bool {
    let found = Command::new(PYTHON)
        .args([
            "-c",
            "import openapi_spec_validator, openapi_schema_validator",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        let required =
            std::env::var("SIGNALDESK_REQUIRE_OPENAPI_VALIDATOR").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "openapi-spec-validator is missing: pip install openapi-spec-validator"
        );
        eprintln!("SKIPPED OpenAPI validation: pip install openapi-spec-validator to run it");
    }
    found
}

/// A server watching BTCUSDT and ETHUSDT (both priced), with one closed trade (journal entry 1).
fn server() -> (TempDb, FakeExchange, TestServer) {
    let db = TempDb::new();
    let mut conn = db.conn();
    let opened = at("2026-11-25 09:00:00");
    let row = SignalBuilder::long("SOLUSDT").insert(&mut conn, opened);
    let close = CloseRequest {
        exit_price: 110.0,
        exit_reason: ExitReason::TakeProfit,
        fee_rate: FEE_RATE,
        closed_at: opened + chrono::Duration::hours(1),
    };
    close_trade(&mut conn, row.signal_id(), &close).unwrap();
    let exchange = FakeExchange::start(&[("BTCUSDT", 100.0), ("ETHUSDT", 200.0)]);
    let server = TestServer::start(
        &db,
        &[
            ("SIGNALDESK_EXCHANGE_URL", &exchange.url),
            ("SIGNALDESK_SYMBOLS", "BTCUSDT,ETHUSDT"),
        ],
    );
    server.wait_for_stats("fresh prices", |s| s["feed"]["status"] == "ok");
    (db, exchange, server)
}

/// Run `script` with `input` on stdin; its stdout, or a panic with its stderr.
fn python(script: &str, input: &str, args: &[&str]) -> String {
    let mut child = Command::new(PYTHON)
        .arg("-c")
        .arg(script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python3");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn the_served_document_is_valid_openapi_3() {
    if !validator_available() {
        return;
    }
    let (db, _exchange, server) = server();
    let response = server.get("/openapi.json");
    assert_eq!(response.status(), 200);
    let document: Value = response.json().unwrap();
    let file = db.dir.path().join("openapi.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&document).unwrap()).unwrap();
    let output = Command::new(PYTHON)
        .args(["-m", "openapi_spec_validator", "--errors", "all"])
        .arg(&file)
        .output()
        .expect("run openapi-spec-validator");
    assert!(
        output.status.success(),
        "openapi-spec-validator refuses /openapi.json:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(document["openapi"], "3.0.3");
    let symbol = &document["components"]["schemas"]["NewSignal"]["properties"]["symbol"];
    assert!(
        symbol["description"]
            .as_str()
            .unwrap()
            .contains("BTCUSDT, ETHUSDT"),
        "the watch-list of this server: {symbol}"
    );
}

/// Judge each instance by the named component schema (references resolved in the document):
/// null when valid, else the first error.
const JUDGE: &str = r##"
import json, sys
from openapi_schema_validator import OAS30Validator
job = json.load(sys.stdin)
def judge(name, instance):
    schema = {"$ref": "#/components/schemas/" + name, "components": job["components"]}
    error = next(iter(OAS30Validator(schema).iter_errors(instance)), None)
    return None if error is None else error.message[:300] + " at " + "/".join(map(str, error.absolute_path))
print(json.dumps([judge(c["schema"], c["instance"]) for c in job["cases"]]))
"##;

/// [`JUDGE`]'s verdict on each `(schema, instance)`.
fn judge(document: &Value, cases: &[(&str, Value)]) -> Vec<Option<String>> {
    let job = json!({
        "components": document["components"],
        "cases": cases.iter().map(|(schema, instance)| json!({"schema": schema, "instance": instance})).collect::<Vec<_>>(),
    });
    serde_json::from_str(&python(JUDGE, &job.to_string(), &[])).unwrap()
}

struct Case {
    route: &'static str,
    method: &'static str,
    schema: &'static str,
    body: Value,
}

fn case(route: &'static str, method: &'static str, schema: &'static str, body: Value) -> Case {
    Case {
        route,
        method,
        schema,
        body,
    }
}

#[test]
fn request_schemas_and_the_server_agree_on_what_is_accepted() {
    if !validator_available() {
        return;
    }
    let (_db, _exchange, server) = server();
    let document = server.get_json("/openapi.json");
    let long =
        json!({"symbol": "BTCUSDT", "direction": "LONG", "stop_loss": 95, "take_profit": 110});
    let with = |base: &Value, key: &str, value: Value| {
        let mut body = base.clone();
        if value.is_null() && key.starts_with('-') {
            body.as_object_mut().unwrap().remove(&key[1..]);
        } else {
            body[key] = value;
        }
        body
    };
    let alert = json!({"token": API_TOKEN, "symbol": "BINANCE:ETHUSDT", "action": "sell",
                       "stop_loss": "210", "take_profit": "180"});
    let signals = |body| case("/api/signals", "post", "NewSignal", body);
    let webhook = |body| case("/api/webhook/tradingview", "post", "TradingViewAlert", body);
    let journal = |body| case("/api/journal/1", "patch", "JournalEdit", body);
    let cases = vec![
        // Accepted (opened, or refused by a gate): the schema says valid.
        signals(long.clone()),
        signals(with(&long, "symbol", json!("btcusdt"))),
        signals(with(&long, "symbol", json!("BYBIT:BtcUsdt"))),
        signals(with(&long, "confidence", Value::Null)),
        signals(with(&long, "notes", json!("x".repeat(2_000)))),
        signals(with(&long, "timeframe", json!("5m"))),
        // Refused with a 400: the schema says invalid.
        signals(with(&long, "stop_loss", json!("95"))),
        signals(with(&long, "confidence", json!("1"))),
        signals(with(&long, "confidence", json!(1.5))),
        signals(with(&long, "symbol", json!("DOGEUSDT"))),
        signals(with(&long, "symbol", json!(" BTCUSDT"))),
        signals(with(&long, "symbol", json!("A:B:BTCUSDT"))),
        signals(with(&long, "direction", json!("long"))),
        signals(with(&long, "size", json!(1))),
        signals(with(&long, "-take_profit", Value::Null)),
        signals(with(&long, "stop_loss", json!(0))),
        signals(with(&long, "notes", json!("x".repeat(2_001)))),
        signals(with(&long, "timeframe", json!("x".repeat(17)))),
        signals(json!([1, 2])),
        // The webhook takes numeric strings in JSON number syntax.
        webhook(alert.clone()),
        webhook(
            json!({"token": API_TOKEN, "symbol": "btcusdt", "action": " BUY ",
                       "stop_loss": 95, "take_profit": "110"}),
        ),
        webhook(with(&alert, "confidence", json!("0.9"))),
        webhook(with(&alert, "stop_loss", json!(210.5))),
        webhook(with(&alert, "token", json!("wrong"))),
        webhook(with(&alert, "stop_loss", json!("+210"))),
        webhook(with(&alert, "stop_loss", json!("210 "))),
        webhook(with(&alert, "take_profit", json!("0"))),
        webhook(with(&alert, "action", json!("hold"))),
        webhook(with(&alert, "symbol", json!("BINANCE:DOGEUSDT"))),
        webhook(with(&alert, "-token", Value::Null)),
        // Journal edits.
        journal(json!({"notes": "fine"})),
        journal(json!({"tags": ["a", "b", "a"]})),
        journal(json!({"tags": "a, b"})),
        journal(json!({"notes": null, "tags": "x"})),
        journal(json!({})),
        journal(json!({"notes": null})),
        journal(json!({"tags": 5})),
        journal(json!({"tags": [1]})),
        journal(json!({"tags": (0..21).map(|i| i.to_string()).collect::<Vec<_>>()})),
        journal(json!({"tags": ["x".repeat(33)]})),
        journal(json!({"notes": "x".repeat(5_001)})),
        journal(json!({"mood": "good"})),
    ];
    let bodies: Vec<(&str, Value)> = cases.iter().map(|c| (c.schema, c.body.clone())).collect();
    for (case, verdict) in cases.iter().zip(judge(&document, &bodies)) {
        let schema_valid = verdict.is_none();
        let url = format!("{}{}", server.address, case.route);
        let request = match case.method {
            "patch" => server.client.patch(url).bearer_auth(API_TOKEN),
            _ if case.route.contains("webhook") => server.client.post(url),
            _ => server.client.post(url).bearer_auth(API_TOKEN),
        };
        let response = request.json(&case.body).send().unwrap();
        let status = response.status().as_u16();
        let answer: Value = response.json().unwrap_or(Value::Null);
        let what = format!("{} {} {}", case.method, case.route, case.body);
        let documented = &document["paths"][case.route.replace("/1", "/{id}").as_str()]
            [case.method]["responses"];
        assert!(
            documented.get(status.to_string()).is_some(),
            "{what}: {status} is not documented"
        );
        if schema_valid {
            assert_ne!(
                status, 400,
                "{what}: the schema accepts it, the server said {answer}"
            );
        } else {
            assert!(
                (400..500).contains(&status),
                "{what}: the schema refuses it, the server said {status} {answer}"
            );
        }
    }
}

#[test]
fn responses_match_their_documented_schemas() {
    if !validator_available() {
        return;
    }
    let (_db, _exchange, server) = server();
    let document = server.get_json("/openapi.json");
    let long = json!({"symbol": "BTCUSDT", "direction": "LONG", "stop_loss": 95, "take_profit": 110,
                      "notes": "n", "external_id": "e-1", "timeframe": "5m"});
    let (status, opened) = server.post("/api/signals", &long);
    assert_eq!(status, 201, "{opened}");
    let (status, closed) = server.post(&format!("/api/signals/{}/close", opened["id"]), &json!({}));
    assert_eq!(status, 200, "{closed}");
    let edited = server
        .client
        .patch(format!("{}/api/journal/1", server.address))
        .bearer_auth(API_TOKEN)
        .json(&json!({"notes": "seen", "tags": ["a"]}))
        .send()
        .unwrap()
        .json::<Value>()
        .unwrap();
    let (_, refused) = server.post("/api/signals", &json!({"symbol": "DOGEUSDT"}));
    let mut answers = vec![
        ("Signal", opened),
        ("ClosedTrade", closed),
        ("JournalEntry", edited),
        ("Error", refused),
    ];
    for (schema, path) in [
        ("Stats", "/api/stats"),
        ("Data", "/api/data"),
        ("Health", "/api/health"),
        ("SignalPage", "/api/signals"),
        ("Signal", "/api/signals/1"),
        ("JournalPage", "/api/journal"),
        ("DailyPage", "/api/daily?from=2026-01-01"),
        ("Equity", "/api/equity"),
        ("Equity", "/api/equity?by=trade"),
    ] {
        answers.push((schema, server.get_json(path)));
    }
    for ((schema, answer), verdict) in answers.iter().zip(judge(&document, &answers)) {
        assert_eq!(verdict, None, "{schema}: {answer}");
    }
}
