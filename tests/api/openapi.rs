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
/// null when valid, else the first error. A strict case also refuses a property its object schema
/// does not list: a response must carry no field the document leaves out (every object schema of a
/// response lists all it has, DESIGN.md §13).
const JUDGE: &str = r##"
import copy, json, sys
from openapi_schema_validator import OAS30Validator
job = json.load(sys.stdin)
def closed(node):
    if isinstance(node, dict):
        if "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            closed(value)
    elif isinstance(node, list):
        for value in node:
            closed(value)
    return node
strict_components = closed(copy.deepcopy(job["components"]))
def judge(name, instance, strict):
    components = strict_components if strict else job["components"]
    schema = {"$ref": "#/components/schemas/" + name, "components": components}
    error = next(iter(OAS30Validator(schema).iter_errors(instance)), None)
    return None if error is None else error.message[:300] + " at " + "/".join(map(str, error.absolute_path))
print(json.dumps([judge(c["schema"], c["instance"], c["strict"]) for c in job["cases"]]))
"##;

/// [`JUDGE`]'s verdict on each `(schema, instance)`; `strict` for responses.
fn judge(document: &Value, cases: &[(&str, Value)], strict: bool) -> Vec<Option<String>> {
    let job = json!({
        "components": document["components"],
        "cases": cases.iter().map(|(schema, instance)| json!({"schema": schema, "instance": instance, "strict": strict})).collect::<Vec<_>>(),
    });
    serde_json::from_str(&python(JUDGE, &job.to_string(), &[])).unwrap()
}

/// `/api/journal/1` → `/api/journal/{id}`: the document's path of a request path.
fn template(route: &str) -> String {
    route
        .split('/')
        .map(|part| {
            if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
                "{id}"
            } else {
                part
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The component schema the document names for the JSON answer `status` of `method route`.
fn documented_schema(document: &Value, method: &str, route: &str, status: u16) -> String {
    let path = template(route.split('?').next().unwrap_or(route));
    let answer = &document["paths"][path.as_str()][method]["responses"][status.to_string()];
    answer["content"]["application/json"]["schema"]["$ref"]
        .as_str()
        .unwrap_or_else(|| {
            panic!("{method} {path}: {status} is documented with a schema: {answer}")
        })
        .trim_start_matches("#/components/schemas/")
        .to_owned()
}

struct Case {
    route: String,
    method: &'static str,
    schema: &'static str,
    body: Value,
}

fn case(route: &str, method: &'static str, schema: &'static str, body: Value) -> Case {
    Case {
        route: route.to_owned(),
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
        // Trade management (DESIGN.md §10); BTCUSDT fills at 100.05, its target is 110. What the
        // schema cannot say (targets between the entry and take_profit, in order, fractions
        // summing below 1) is tests/api/manage_api.rs's.
        signals(with(
            &long,
            "take_profits",
            json!([{"price": 104, "fraction": 0.5}]),
        )),
        signals(with(&long, "take_profits", json!([]))),
        signals(with(&long, "take_profits", Value::Null)),
        signals(with(
            &long,
            "take_profits",
            json!([101, 102, 103, 104, 105].map(|p| json!({"price": p, "fraction": 0.1}))),
        )),
        signals(with(&long, "breakeven_at_r", json!(1))),
        signals(with(&long, "breakeven_at_r", Value::Null)),
        signals(with(&long, "trailing_stop_pct", json!(49.9))),
        signals(with(&long, "trailing_stop_pct", Value::Null)),
        signals(with(&long, "trailing_activate_at_r", json!(0))),
        signals(with(&long, "trailing_activate_at_r", Value::Null)),
        signals(with(
            &long,
            "take_profits",
            json!([101, 102, 103, 104, 105, 106].map(|p| json!({"price": p, "fraction": 0.1}))),
        )),
        signals(with(
            &long,
            "take_profits",
            json!({"price": 104, "fraction": 0.5}),
        )),
        signals(with(&long, "take_profits", json!("104:50%"))),
        signals(with(&long, "take_profits", json!([104]))),
        signals(with(&long, "take_profits", json!([{"price": 104}]))),
        signals(with(
            &long,
            "take_profits",
            json!([{"price": 104, "fraction": 0.5, "size": 1}]),
        )),
        signals(with(
            &long,
            "take_profits",
            json!([{"price": 104, "fraction": 0}]),
        )),
        signals(with(
            &long,
            "take_profits",
            json!([{"price": 104, "fraction": 1}]),
        )),
        signals(with(
            &long,
            "take_profits",
            json!([{"price": 104, "fraction": -0.5}]),
        )),
        signals(with(
            &long,
            "take_profits",
            json!([{"price": 0, "fraction": 0.5}]),
        )),
        signals(with(
            &long,
            "take_profits",
            json!([{"price": "104", "fraction": 0.5}]),
        )),
        signals(with(
            &long,
            "take_profits",
            json!([{"price": null, "fraction": 0.5}]),
        )),
        signals(with(&long, "breakeven_at_r", json!(0))),
        signals(with(&long, "breakeven_at_r", json!("1"))),
        signals(with(&long, "trailing_stop_pct", json!(0))),
        signals(with(&long, "trailing_stop_pct", json!(50))),
        signals(with(&long, "trailing_stop_pct", json!("2"))),
        signals(with(&long, "trailing_activate_at_r", json!(-0.5))),
        signals(with(&long, "trailing_activate_at_r", json!(true))),
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
        // Its management fields, numeric strings too (ETHUSDT SHORT fills at 199.9, target 180).
        webhook(with(
            &alert,
            "take_profits",
            json!([{"price": "190", "fraction": "0.5"}]),
        )),
        webhook(with(
            &alert,
            "take_profits",
            json!([{"price": 195, "fraction": 0.25}, {"price": "185.5", "fraction": 0.25}]),
        )),
        webhook(with(&alert, "take_profits", Value::Null)),
        webhook(with(&alert, "breakeven_at_r", json!("1.5"))),
        webhook(with(&alert, "trailing_stop_pct", json!("2"))),
        webhook(with(&alert, "trailing_activate_at_r", json!("0"))),
        webhook(with(
            &alert,
            "take_profits",
            json!([{"price": "190 ", "fraction": "0.5"}]),
        )),
        webhook(with(
            &alert,
            "take_profits",
            json!([{"price": "190", "fraction": "0"}]),
        )),
        webhook(with(
            &alert,
            "take_profits",
            json!([{"price": "190", "fraction": "0.5", "id": 1}]),
        )),
        webhook(with(
            &alert,
            "take_profits",
            json!("[{\"price\": 190, \"fraction\": 0.5}]"),
        )),
        webhook(with(&alert, "breakeven_at_r", json!("0"))),
        webhook(with(&alert, "trailing_stop_pct", json!("-1"))),
        webhook(with(&alert, "trailing_activate_at_r", json!("-1"))),
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
    agree(&server, &document, &cases);

    // Moving the stop and closing part of the open BTCUSDT trade (stop 95, priced 100).
    let open = server.get_json("/api/signals?status=ACTIVE&symbol=BTCUSDT");
    let id = &open["signals"][0]["id"];
    let stop = format!("/api/signals/{id}/stop");
    let close = format!("/api/signals/{id}/close");
    let stop = |body| case(&stop, "post", "StopRequest", body);
    let close = |body| case(&close, "post", "CloseRequest", body);
    let cases = vec![
        stop(json!({"stop_loss": "96"})),
        stop(json!({"stop_loss": 0})),
        stop(json!({"stop_loss": -96})),
        stop(json!({"stop_loss": null})),
        stop(json!({})),
        stop(json!({"stop_loss": 96, "reason": "x"})),
        stop(json!([96])),
        stop(json!({"stop_loss": 96})),
        close(json!({"fraction": 0})),
        close(json!({"fraction": 1.5})),
        close(json!({"fraction": -0.5})),
        close(json!({"fraction": "x"})),
        close(json!({"fraction": "0.5"})),
        close(json!({"fraction": 0.5, "price": 1})),
        close(json!({"portion": 0.5})),
        close(json!([0.5])),
        close(json!({"fraction": 0.5})),
        close(json!({"fraction": 1})),
    ];
    agree(&server, &document, &cases);
}

/// Send each case: the server refuses (4xx) exactly what the schema refuses, never 400 what it
/// accepts, and answers only with documented statuses.
fn agree(server: &TestServer, document: &Value, cases: &[Case]) {
    let bodies: Vec<(&str, Value)> = cases.iter().map(|c| (c.schema, c.body.clone())).collect();
    for (case, verdict) in cases.iter().zip(judge(document, &bodies, false)) {
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
        let documented =
            &document["paths"][template(&case.route).as_str()][case.method]["responses"];
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
            // 409 is a gate or the trade's state refusing a body the server took as valid.
            assert!(
                (400..500).contains(&status) && status != 409,
                "{what}: the schema refuses it, the server said {status} {answer}"
            );
        }
    }
}

/// Call `method path` (with the token, and `body` when given): status and JSON answer.
fn call(server: &TestServer, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let url = format!("{}{path}", server.address);
    let request = match method {
        "get" => server.client.get(url),
        "patch" => server.client.patch(url).bearer_auth(API_TOKEN),
        _ => server.client.post(url).bearer_auth(API_TOKEN),
    };
    let request = match body {
        Some(body) => request.json(body),
        None => request,
    };
    let response = request.send().unwrap();
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

#[test]
fn responses_match_their_documented_schemas() {
    if !validator_available() {
        return;
    }
    let (_db, _exchange, server) = server();
    let document = server.get_json("/openapi.json");
    // (method, path, body, the status expected); each answer is judged by the schema the document
    // gives for that operation and status, strictly: no field it does not list.
    let mut calls: Vec<(&str, String, Option<Value>, u16)> = Vec::new();
    let long = json!({"symbol": "BTCUSDT", "direction": "LONG", "stop_loss": 95, "take_profit": 110,
                      "notes": "n", "external_id": "e-1", "timeframe": "5m"});
    calls.push(("post", "/api/signals".into(), Some(long), 201));
    calls.push(("post", "/api/signals/2/close".into(), Some(json!({})), 200));
    calls.push((
        "patch",
        "/api/journal/1".into(),
        Some(json!({"notes": "seen", "tags": ["a"]})),
        200,
    ));
    calls.push((
        "post",
        "/api/signals".into(),
        Some(json!({"symbol": "DOGEUSDT"})),
        400,
    ));
    // A managed trade (ETHUSDT SHORT fills at 199.9): its stop moved by hand, half of it closed,
    // then the rest.
    let managed = json!({"symbol": "ETHUSDT", "direction": "SHORT", "stop_loss": 210, "take_profit": 180,
                         "take_profits": [{"price": 195, "fraction": 0.3}, {"price": 190, "fraction": 0.3}],
                         "breakeven_at_r": 1, "trailing_stop_pct": 2, "trailing_activate_at_r": 0.5});
    calls.push(("post", "/api/signals".into(), Some(managed), 201));
    calls.push((
        "post",
        "/api/signals/3/stop".into(),
        Some(json!({"stop_loss": 205})),
        200,
    ));
    calls.push((
        "post",
        "/api/signals/3/stop".into(),
        Some(json!({"stop_loss": 206})),
        400,
    ));
    calls.push((
        "post",
        "/api/signals/3/close".into(),
        Some(json!({"fraction": 0.5})),
        200,
    ));
    calls.push(("get", "/api/signals/3".into(), None, 200));
    calls.push(("get", "/api/data".into(), None, 200));
    calls.push(("post", "/api/signals/3/close".into(), None, 200));
    calls.push((
        "post",
        "/api/signals/3/stop".into(),
        Some(json!({"stop_loss": 204})),
        409,
    ));
    calls.push(("post", "/api/signals/3/close".into(), None, 409));
    calls.push(("get", "/api/signals/99".into(), None, 404));
    for path in [
        "/api/stats",
        "/api/data",
        "/api/health",
        "/api/signals",
        "/api/signals/1",
        "/api/signals/3",
        "/api/journal",
        "/api/daily?from=2026-01-01",
        "/api/equity",
        "/api/equity?by=trade",
        // Every figure, the breakdowns, both histograms, the scatter, the equity and calendar;
        // from the rollups and, filtered, from the journal; an empty selection's nulls.
        "/api/analytics",
        "/api/analytics?from=2026-01-01&to=2026-12-31",
        "/api/analytics?symbol=solusdt",
        "/api/analytics?tag=a&direction=long",
        "/api/analytics?from=2026-11-25&to=2026-11-25&direction=short",
    ] {
        calls.push(("get", path.into(), None, 200));
    }
    for path in [
        "/api/analytics?from=2026-13-01",
        "/api/analytics?from=2026-11-26&to=2026-11-25",
        "/api/analytics?direction=up",
        "/api/analytics?color=red",
    ] {
        calls.push(("get", path.into(), None, 400));
    }
    let mut answered = Vec::new();
    for (method, path, body, expected) in calls {
        let (status, answer) = call(&server, method, &path, body.as_ref());
        assert_eq!(status, expected, "{method} {path}: {answer}");
        answered.push((method, path, status, answer));
    }
    assert_eq!(
        (&answered[0].3["id"], &answered[4].3["id"]),
        (&json!(2), &json!(3)),
        "the ids the paths above use"
    );

    let partial = &answered[7].3;
    assert!(partial["journal"].is_null(), "a partial close: {partial}");
    let detail = &answered[8].3;
    assert_eq!(
        (
            detail["exits"].as_array().map(Vec::len),
            detail["stop_moves"].as_array().map(Vec::len)
        ),
        (Some(1), Some(1)),
        "{detail}"
    );
    let full = &answered[10].3;
    assert_eq!(full["journal"]["exit_count"], 2, "{full}");
    // The analytics answers hold every kind of row the schema describes, and an empty one its
    // nulls.
    let analytics = |path: &str| {
        &answered
            .iter()
            .find(|(_, p, _, _)| p == path)
            .expect("asked")
            .3
    };
    let whole = analytics("/api/analytics");
    for (name, rows) in whole["breakdowns"].as_object().expect("breakdowns") {
        assert!(
            rows.as_array().is_some_and(|r| !r.is_empty()),
            "{name}: {whole}"
        );
    }
    for list in ["r_histogram", "equity", "calendar"] {
        assert!(
            whole[list].as_array().is_some_and(|l| !l.is_empty()),
            "{list}: {whole}"
        );
    }
    assert!(
        whole["scatter"]["points"]
            .as_array()
            .is_some_and(|p| !p.is_empty()),
        "{whole}"
    );
    let empty = analytics("/api/analytics?from=2026-11-25&to=2026-11-25&direction=short");
    assert_eq!(empty["summary"]["trades"], 0, "{empty}");
    assert!(empty["summary"]["win_rate"].is_null(), "{empty}");

    let answers: Vec<(String, Value)> = answered
        .iter()
        .map(|(method, path, status, answer)| {
            (
                documented_schema(&document, method, path, *status),
                answer.clone(),
            )
        })
        .collect();
    let cases: Vec<(&str, Value)> = answers
        .iter()
        .map(|(schema, answer)| (schema.as_str(), answer.clone()))
        .collect();
    for (((method, path, status, _), (schema, answer)), verdict) in answered
        .iter()
        .zip(&answers)
        .zip(judge(&document, &cases, true))
    {
        assert_eq!(
            verdict, None,
            "{method} {path} {status} by {schema}: {answer}"
        );
    }
}
