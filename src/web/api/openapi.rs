//! `GET /openapi.json`: an OpenAPI 3.0 description of the JSON API, written by hand beside the
//! handlers it describes and built per request from the configuration (the watch-list is the
//! `symbol` pattern). It must stay valid OpenAPI and say what the server really does: the
//! integration tests run `openapi-spec-validator` on the served document and check the
//! server's answers against it (DESIGN.md §13).

mod schemas;

use actix_web::{web, HttpResponse};
use serde_json::{json, Map, Value};

use super::super::AppState;
use crate::domain::Symbol;

const HOST: &str = "a Host header that is not the bind address, localhost, 127.0.0.1, [::1] or a name in SIGNALDESK_ALLOWED_HOSTS (DNS rebinding)";

fn error(description: &str) -> Value {
    json!({"description": description,
           "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

fn ok(description: &str, schema: &str) -> Value {
    json!({"description": description, "content": {"application/json": {
        "schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
}

/// The answers of an operation, by kind of input it takes.
#[derive(Clone, Copy, PartialEq)]
enum Input {
    /// No parameters: a 400 can only be the Host check.
    Nothing,
    /// Query or path parameters.
    Params,
    /// A JSON body (and perhaps a path id).
    Body,
}

/// The error answers every operation shares: 400 (what it reads, or the Host), 500, and 503
/// when the database cannot be reached.
fn common(input: Input, reads_db: bool) -> Vec<(&'static str, Value)> {
    let bad = match input {
        Input::Nothing => HOST.to_owned(),
        Input::Params => format!(
            "a bad or unknown parameter, named in `field`; or {HOST}"
        ),
        Input::Body => format!(
            "an invalid or unknown body field, named in `field` (a symbol off the watch-list, a level out of bounds, a string where a number belongs, a missing field), a body that is not a JSON object; or {HOST}"
        ),
    };
    let mut answers = vec![("400", error(&bad))];
    if reads_db {
        answers.push((
            "500",
            error("an internal error: the cause is logged, not shown"),
        ));
        answers.push(("503", error("the database cannot be reached")));
    }
    answers
}

/// A body's extra answers: too slow, too large, compressed.
fn body_limits() -> Vec<(&'static str, Value)> {
    let mut compressed = error(
        "the body has a Content-Encoding other than identity: bodies are accepted only uncompressed",
    );
    compressed["headers"] = json!({"Accept-Encoding": {
        "description": "`identity`: the only content coding accepted",
        "schema": {"type": "string", "enum": ["identity"]}}});
    vec![
        ("408", error("the body did not arrive within 10 s")),
        ("413", error("the body is over 64 KiB")),
        ("415", compressed),
    ]
}

/// The answers of an endpoint that checks a token.
fn token_checks(webhook: bool) -> Vec<(&'static str, Value)> {
    let (missing, disabled) = if webhook {
        (
            "missing or wrong `token` field",
            "no token is configured: set SIGNALDESK_WEBHOOK_TOKEN or SIGNALDESK_API_TOKEN",
        )
    } else {
        (
            "missing or wrong `Authorization: Bearer` token",
            "writes are disabled: SIGNALDESK_API_TOKEN is unset",
        )
    };
    let mut limited = error(
        "10 failed tokens or logins from this address within 15 minutes: refused until the window passes",
    );
    limited["headers"] = json!({"Retry-After": {
        "description": "seconds until this address may try again",
        "schema": {"type": "integer", "minimum": 1}}});
    vec![
        ("401", error(missing)),
        ("403", error(disabled)),
        ("429", limited),
    ]
}

fn operation(
    id: &str,
    summary: &str,
    parameters: Vec<Value>,
    body: Option<Value>,
    answers: Vec<(&'static str, Value)>,
) -> Value {
    let mut responses = Map::new();
    for (code, answer) in answers {
        responses.insert(code.to_owned(), answer);
    }
    let mut op = json!({"operationId": id, "summary": summary, "responses": responses});
    if !parameters.is_empty() {
        op["parameters"] = Value::Array(parameters);
    }
    if let Some(body) = body {
        op["requestBody"] = body;
    }
    op
}

fn bearer(mut op: Value) -> Value {
    op["security"] = json!([{"bearer": []}]);
    op
}

fn json_body(schema: &str, also_text: bool) -> Value {
    let media = json!({"schema": {"$ref": format!("#/components/schemas/{schema}")}});
    let mut content = json!({"application/json": media});
    if also_text {
        content["text/plain"] = media;
    }
    json!({"required": true, "content": content})
}

/// A JSON body that may also be left out (or empty).
fn optional_json_body(schema: &str) -> Value {
    let mut body = json_body(schema, false);
    body["required"] = Value::Bool(false);
    body
}

/// A query parameter. `params::Params` reads an empty value (`?to=`, as an HTML form sends an
/// empty field) as absent, so every one allows it.
fn query(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "allowEmptyValue": true,
           "description": format!("{description}; empty means absent"), "schema": schema})
}

/// Years 1970 to 9999, as `params::within_range` allows.
const YEAR: &str = "(19[7-9][0-9]|[2-9][0-9]{3})";

fn date_schema() -> Value {
    json!({"type": "string", "format": "date", "pattern": format!("^{YEAR}-[0-9]{{2}}-[0-9]{{2}}$"), "example": "2026-11-25"})
}

/// `from`/`to` as `params::Params::from_time`/`to_time` read them: a date or an RFC 3339 time
/// (a space for the `T` and no offset, meaning UTC, are read too).
fn time_range() -> Vec<Value> {
    let time = json!({"type": "string", "format": "date-time",
        "pattern": format!("^{YEAR}-[0-9]{{2}}-[0-9]{{2}}[Tt][0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}(\\.[0-9]+)?([Zz]|[+-][0-9]{{2}}:[0-9]{{2}})$"),
        "example": "2026-11-25T10:00:00Z"});
    let schema = json!({"anyOf": [date_schema(), time]});
    vec![
        query(
            "from",
            "a date YYYY-MM-DD (its 00:00 UTC) or an RFC 3339 time, inclusive; 1970-01-01 to 9999-12-31",
            schema.clone(),
        ),
        query(
            "to",
            "a date YYYY-MM-DD (inclusive: up to the next 00:00 UTC) or an RFC 3339 time (exclusive); 1970-01-01 to 9999-12-31",
            schema,
        ),
    ]
}

fn paging(filters: Vec<Value>) -> Vec<Value> {
    let mut params = filters;
    params.extend(time_range());
    params.push(query(
        "limit",
        "page size",
        json!({"type": "integer", "minimum": 1, "maximum": super::params::MAX_LIMIT, "default": super::params::DEFAULT_LIMIT}),
    ));
    params.push(query(
        "before_id",
        "keyset cursor: next_before_id of the previous page",
        json!({"type": "integer", "minimum": 1, "maximum": i32::MAX}),
    ));
    params
}

fn id_param(what: &str) -> Value {
    json!({"name": "id", "in": "path", "required": true, "description": format!("{what} id; not a positive integer: 400 naming `id`"),
           "schema": {"type": "integer", "minimum": 1, "maximum": i32::MAX}, "example": 1})
}

fn with(
    mut base: Vec<(&'static str, Value)>,
    more: Vec<(&'static str, Value)>,
) -> Vec<(&'static str, Value)> {
    base.extend(more);
    base
}

fn paths() -> Value {
    let signal_created = [
        ("201", ok("opened: the new signal", "Signal")),
        ("200", ok("a repeated external_id (or alert id): the existing signal, nothing opened", "Signal")),
        ("409", error("refused by a gate; `error` is the gate's reason, e.g. `Already have open position`")),
    ];
    let open = |webhook: bool| {
        let mut answers = with(common(Input::Body, true), body_limits());
        answers.extend(token_checks(webhook));
        answers.extend(signal_created.clone());
        // The database's 503 and the price's 503 share the code.
        answers.retain(|(code, _)| *code != "503");
        answers.push(("503", error("no fresh price for this watch-list symbol (see the feed in /api/health), or the database cannot be reached")));
        answers
    };
    json!({
        "/api/health": {"get": operation(
            "get_health",
            "Database, feed and engine health", vec![], None,
            with(common(Input::Nothing, false), vec![
                ("200", ok("ok, or degraded: the feed is not ok or a trade cannot be booked", "Health")),
                ("503", ok("down: the database cannot be reached, or trading has stalled", "Health"))]))},
        "/api/stats": {"get": operation(
            "get_stats",
            "Account and today's figures", vec![], None,
            with(common(Input::Nothing, true), vec![("200", ok("the figures", "Stats"))]))},
        "/api/data": {"get": operation(
            "get_data",
            "Stats, the watch-list's prices and today's lists", vec![], None,
            with(common(Input::Nothing, true), vec![("200", ok("today", "Data"))]))},
        "/api/signals": {
            "get": operation(
                "list_signals",
                "Signals, newest first, keyset paging",
                paging(vec![
                    query("status", "ACTIVE, CLOSED or CANCELLED, any case", json!({"type": "string", "enum": ["ACTIVE", "CLOSED", "CANCELLED"]})),
                    query("symbol", "exchange symbol", schemas::any_symbol())]),
                None,
                with(common(Input::Params, true), vec![("200", ok("a page", "SignalPage"))])),
            "post": bearer(operation(
                "create_signal",
                "Open a signal as a paper trade at the current price (slippage against the trader), through the same gates as every signal",
                vec![], Some(json_body("NewSignal", false)), open(false)))},
        "/api/signals/{id}": {"get": operation(
            "get_signal",
            "One signal with its exits and stop moves", vec![id_param("signal")], None,
            with(common(Input::Params, true), vec![
                ("200", ok("the signal, its exits and its stop moves", "SignalDetail")), ("404", error("no such signal"))]))},
        "/api/signals/{id}/close": {"post": bearer(operation(
            "close_signal",
            "Close an open trade at the current price (exit_reason MANUAL, slippage against the trader): all that is left, or with {\"fraction\": f} that part of it",
            vec![id_param("signal")], Some(optional_json_body("CloseRequest")),
            {
                let mut answers = with(common(Input::Body, true), body_limits());
                answers.extend(token_checks(false));
                answers.retain(|(code, _)| *code != "503");
                answers.extend([
                    ("200", ok("the exit; the trade is CLOSED, with its journal entry, when it took all that was left", "ClosedTrade")),
                    ("404", error("no such signal")),
                    ("409", error("the signal is not ACTIVE")),
                    ("503", error("no fresh price for its symbol, or the database cannot be reached"))]);
                answers
            }))},
        "/api/signals/{id}/stop": {"post": bearer(operation(
            "move_stop",
            "Move an open trade's stop by hand, only in the trade's favour and short of the current price (a stop_moves row with reason MANUAL)",
            vec![id_param("signal")], Some(json_body("StopRequest", false)),
            {
                let mut answers = with(common(Input::Body, true), body_limits());
                answers.extend(token_checks(false));
                answers.extend([
                    ("200", ok("moved: the signal, its exits and its stop moves", "SignalDetail")),
                    ("404", error("no such signal")),
                    ("409", error("the signal is not ACTIVE"))]);
                answers
            }))},
        "/api/webhook/tradingview": {"post": operation(
            "tradingview_webhook",
            "A TradingView alert: the same rules and answers as POST /api/signals; the token is the body's `token` field (any Content-Type)",
            vec![], Some(json_body("TradingViewAlert", true)), open(true))},
        "/api/journal": {"get": operation(
            "list_journal",
            "Journal entries, newest first, keyset paging",
            paging(vec![
                query("symbol", "exchange symbol", schemas::any_symbol()),
                query("outcome", "WIN, LOSS or BREAKEVEN, any case", json!({"type": "string", "enum": ["WIN", "LOSS", "BREAKEVEN"]}))]),
            None,
            with(common(Input::Params, true), vec![("200", ok("a page", "JournalPage"))]))},
        "/api/journal/{id}": {"patch": bearer(operation(
            "patch_journal",
            "Edit the notes and tags of a journal entry",
            vec![id_param("journal entry")], Some(json_body("JournalEdit", false)),
            {
                let mut answers = with(common(Input::Body, true), body_limits());
                answers.extend(token_checks(false));
                answers.extend([("200", ok("the entry", "JournalEntry")), ("404", error("no such entry"))]);
                answers
            }))},
        "/api/daily": {"get": operation(
            "list_daily",
            "Daily statistics, dates inclusive (default: the 90 days up to to, or today)",
            vec![
                query("from", "first date, 1970-01-01 to 9999-12-31, not after to (else 400)", date_schema()),
                query("to", "last date (default today), 1970-01-01 to 9999-12-31", date_schema())],
            None,
            with(common(Input::Params, true), vec![("200", ok("the days", "DailyPage"))]))},
        "/api/analytics": {"get": operation(
            "get_analytics",
            "Analytics of the closed trades of a date range (DESIGN.md §11): summary, breakdowns, R and hold-time histograms, the MAE/MFE scatter, the daily equity and the calendar, every figure read from the database",
            vec![
                query("from", &format!("first day of the close, 1970-01-01 to 9999-12-31 (default: to − 364 days); after to, or a range of more than {} days, is a 400 naming `from`", super::analytics::MAX_DAYS), date_schema()),
                query("to", "last day of the close, inclusive, 1970-01-01 to 9999-12-31 (default today)", date_schema()),
                query("strategy", "only this strategy (exact)", json!({"type": "string", "maxLength": 64})),
                query("symbol", "only this symbol, any case", json!({"type": "string", "maxLength": 32})),
                query("tag", "only trades carrying this whole tag", json!({"type": "string", "maxLength": 32})),
                query("direction", "LONG or SHORT, any case", json!({"type": "string", "pattern": "^\\s*([Ll][Oo][Nn][Gg]|[Ss][Hh][Oo][Rr][Tt])\\s*$"}))],
            None,
            with(common(Input::Params, true), vec![("200", ok("the analytics", "Analytics"))]))},
        "/api/equity": {"get": operation(
            "get_equity",
            "Balance over time",
            {
                let mut params = vec![query("by", "day: each day's opening and closing balance; trade: after each close (the newest 5 000)", json!({"type": "string", "enum": ["day", "trade"], "default": "day"}))];
                params.extend(time_range());
                params
            },
            None,
            with(common(Input::Params, true), vec![("200", ok("the points", "Equity"))]))},
        "/api/events": {"get": operation(
            "get_events",
            "Server-Sent Events: `stats` (the /api/stats body) on connect and after every tick, `signal_opened` (the signal), `trade_closed` ({signal, journal})",
            vec![], None,
            with(common(Input::Nothing, false), vec![
                ("200", json!({"description": "the event stream", "content": {"text/event-stream": {"schema": {"type": "string"}}}})),
                ("503", error("SIGNALDESK_MAX_EVENT_STREAMS streams are open already"))]))},
        "/metrics": {"get": operation(
            "get_metrics",
            "Prometheus metrics", vec![], None,
            with(common(Input::Nothing, true), vec![
                ("200", json!({"description": "Prometheus text format", "content": {"text/plain": {"schema": {"type": "string"}}}}))]))},
        "/openapi.json": {"get": operation(
            "get_openapi",
            "This document", vec![], None,
            with(common(Input::Nothing, false), vec![
                ("200", json!({"description": "OpenAPI 3.0", "content": {"application/json": {"schema": {"type": "object"}}}}))]))}
    })
}

/// The whole document for a server watching `symbols`.
pub fn document(symbols: &[Symbol]) -> Value {
    json!({
      "openapi": "3.0.3",
      "info": {"title": "signaldesk", "version": env!("CARGO_PKG_VERSION"),
               "description": "Crypto trading signals and paper trading. Read endpoints are open; write endpoints need `Authorization: Bearer <SIGNALDESK_API_TOKEN>`; the TradingView webhook takes its token in the body. Errors are always {error, field}. Times are RFC 3339 UTC; money and prices are JSON numbers, and request numbers must be JSON numbers (the webhook alone also takes numeric strings). A method a path does not have is a 405 with an Allow header; a path that does not exist under /api is a 404, both in the error shape."},
      "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "SIGNALDESK_API_TOKEN"}},
        "responses": {
          "MethodNotAllowed": {"description": "the path has no such method",
            "headers": {"Allow": {"description": "the methods it has", "schema": {"type": "string"}}},
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
        "schemas": schemas::all(symbols)
      },
      "paths": paths()
    })
}

pub async fn get_openapi(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(document(&state.config.symbols))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk<'a>(value: &'a Value, path: String, out: &mut Vec<(String, &'a Value)>) {
        out.push((path.clone(), value));
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    walk(v, format!("{path}/{k}"), out);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(v, format!("{path}/{i}"), out);
                }
            }
            _ => {}
        }
    }

    #[test]
    fn every_operation_is_named_and_described_and_every_ref_resolves() {
        let doc = document(&[Symbol::parse("BTCUSDT").unwrap()]);
        let mut nodes = Vec::new();
        walk(&doc, String::new(), &mut nodes);
        for (path, node) in &nodes {
            if let Some(reference) = node.get("$ref").and_then(Value::as_str) {
                let pointer = reference.trim_start_matches('#');
                assert!(
                    doc.pointer(pointer).is_some(),
                    "{path}: {reference} resolves"
                );
            }
        }
        let mut ids = std::collections::BTreeSet::new();
        for (route, operations) in doc["paths"].as_object().unwrap() {
            for (method, op) in operations.as_object().unwrap() {
                let id = op["operationId"].as_str().unwrap_or_default();
                assert!(
                    ids.insert(id.to_owned()),
                    "{method} {route}: a unique operationId"
                );
                let responses = op["responses"].as_object().unwrap();
                assert!(
                    responses.contains_key("400"),
                    "{method} {route}: the Host check"
                );
                for (code, answer) in responses {
                    assert!(
                        answer["description"].is_string(),
                        "{method} {route} {code} has a description"
                    );
                }
            }
        }
    }

    #[test]
    fn every_token_check_documents_429_with_retry_after() {
        let doc = document(&[Symbol::parse("BTCUSDT").unwrap()]);
        for (route, method) in [
            ("/api/signals", "post"),
            ("/api/signals/{id}/close", "post"),
            ("/api/signals/{id}/stop", "post"),
            ("/api/webhook/tradingview", "post"),
            ("/api/journal/{id}", "patch"),
        ] {
            let answer = &doc["paths"][route][method]["responses"]["429"];
            assert!(
                answer["headers"]["Retry-After"].is_object(),
                "{method} {route}"
            );
        }
    }
}
