//! `GET /openapi.json`: an OpenAPI 3.0 description of the JSON API, written by hand beside the
//! handlers it describes.

use actix_web::HttpResponse;
use serde_json::{json, Value};

fn error_response(description: &str) -> Value {
    json!({"description": description,
           "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

fn query(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema})
}

fn paging(filters: Vec<Value>) -> Vec<Value> {
    let mut params = filters;
    params.push(query(
        "from",
        "date (its 00:00 UTC) or RFC 3339 time, inclusive",
        json!({"type": "string"}),
    ));
    params.push(query(
        "to",
        "date (inclusive) or RFC 3339 time (exclusive)",
        json!({"type": "string"}),
    ));
    params.push(query(
        "limit",
        "page size",
        json!({"type": "integer", "minimum": 1, "maximum": 500, "default": 100}),
    ));
    params.push(query(
        "before_id",
        "keyset cursor: next_before_id of the previous page",
        json!({"type": "integer", "minimum": 1}),
    ));
    params
}

fn id_param() -> Value {
    json!({"name": "id", "in": "path", "required": true,
           "schema": {"type": "integer", "minimum": 1, "maximum": i32::MAX}})
}

/// `BTCUSDT`, `btcusdt` or `BINANCE:BTCUSDT`.
fn symbol_schema() -> Value {
    json!({"type": "string", "pattern": "^([A-Za-z0-9_]+:)?[A-Za-z0-9]{4,20}$", "example": "BTCUSDT"})
}

/// A price: strictly positive.
fn level() -> Value {
    json!({"type": "number", "minimum": 0, "exclusiveMinimum": true})
}

fn number(description: &str) -> Value {
    json!({"type": "number", "description": description})
}

fn document() -> Value {
    let signal_ref = json!({"$ref": "#/components/schemas/Signal"});
    let signal_body = json!({"content": {"application/json": {"schema": signal_ref}}});
    json!({
      "openapi": "3.0.3",
      "info": {"title": "signaldesk", "version": env!("CARGO_PKG_VERSION"),
               "description": "Crypto trading signals and paper trading. Read endpoints are open; write endpoints need `Authorization: Bearer <SIGNALDESK_API_TOKEN>`. Errors are always {error, field}. Times are RFC 3339 UTC."},
      "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
          "Error": {"type": "object", "required": ["error", "field"], "properties": {
            "error": {"type": "string"}, "field": {"type": "string", "nullable": true}}},
          "Signal": {"type": "object", "description": "A signal, which is also its paper trade: every column of the signals table.", "properties": {
            "id": {"type": "integer"}, "symbol": {"type": "string", "example": "BTCUSDT"},
            "direction": {"type": "string", "enum": ["LONG", "SHORT"]},
            "status": {"type": "string", "enum": ["ACTIVE", "CLOSED", "CANCELLED"]},
            "entry_price": number("fill price, slippage included"), "stop_loss": number("stop level"),
            "take_profit": number("target level"), "quantity": number("base units"),
            "risk_amount": number("quote lost at the stop, before fees"), "confidence": number("0 to 1"),
            "strategy": {"type": "string"}, "timeframe": {"type": "string", "nullable": true},
            "external_id": {"type": "string", "nullable": true}, "reasons": {"type": "string"},
            "notes": {"type": "string", "nullable": true}, "current_price": number("last price seen"),
            "unrealized_pnl": number("what closing at market now would book"),
            "max_favorable_price": number("best price while open"), "max_adverse_price": number("worst price while open"),
            "exit_price": {"type": "number", "nullable": true},
            "exit_reason": {"type": "string", "nullable": true, "enum": ["TAKE_PROFIT", "STOP_LOSS", "MANUAL", "END_OF_DAY", "MAX_DURATION"]},
            "pnl": {"type": "number", "nullable": true}, "fees": number("entry fee, plus the exit fee once closed"),
            "created_at": {"type": "string", "format": "date-time"},
            "closed_at": {"type": "string", "format": "date-time", "nullable": true},
            "updated_at": {"type": "string", "format": "date-time"}}},
          "JournalEntry": {"type": "object", "properties": {
            "id": {"type": "integer"}, "signal_id": {"type": "integer"}, "symbol": {"type": "string"},
            "direction": {"type": "string"}, "entry_price": {"type": "number"}, "exit_price": {"type": "number"},
            "quantity": {"type": "number"}, "pnl": {"type": "number"}, "pnl_pct": number("percent of the entry notional"),
            "r_multiple": number("pnl / risk_amount"), "outcome": {"type": "string", "enum": ["WIN", "LOSS", "BREAKEVEN"]},
            "exit_reason": {"type": "string"}, "opened_at": {"type": "string", "format": "date-time"},
            "closed_at": {"type": "string", "format": "date-time"}, "duration_secs": {"type": "integer"},
            "balance_after": {"type": "number"}, "notes": {"type": "string", "nullable": true},
            "tags": {"type": "string", "description": "comma separated"},
            "created_at": {"type": "string", "format": "date-time"}, "updated_at": {"type": "string", "format": "date-time"}}},
          "DailyStats": {"type": "object", "properties": {
            "date": {"type": "string", "format": "date"}, "scan_count": {"type": "integer"},
            "signals_generated": {"type": "integer"}, "trades_closed": {"type": "integer"},
            "wins": {"type": "integer"}, "losses": {"type": "integer"}, "starting_balance": {"type": "number"},
            "paper_balance": {"type": "number"}, "realized_pnl": {"type": "number"}, "total_pnl": {"type": "number"}}},
          "Feed": {"type": "object", "properties": {
            "source": {"type": "string"}, "status": {"type": "string", "enum": ["ok", "degraded", "down"]},
            "last_update": {"type": "string", "format": "date-time", "nullable": true},
            "error": {"type": "string", "nullable": true}}},
          "Stats": {"type": "object", "properties": {
            "date": {"type": "string", "format": "date"}, "balance": {"type": "number"},
            "initial_balance": {"type": "number"}, "equity": {"type": "number"}, "unrealized_pnl": {"type": "number"},
            "realized_pnl_today": {"type": "number"}, "total_pnl": {"type": "number"},
            "active_trades": {"type": "integer"}, "completed_trades": {"type": "integer", "description": "closed today"},
            "signals_today": {"type": "integer"}, "scans_today": {"type": "integer"},
            "wins_today": {"type": "integer"}, "losses_today": {"type": "integer"},
            "win_rate": number("percent, today"), "account_blown": {"type": "boolean"},
            "feed": {"$ref": "#/components/schemas/Feed"},
            "last_tick_at": {"type": "string", "format": "date-time", "nullable": true}}},
          "NewSignal": {"type": "object", "additionalProperties": false,
            "required": ["symbol", "direction", "stop_loss", "take_profit"], "properties": {
            "symbol": symbol_schema(), "direction": {"type": "string", "enum": ["LONG", "SHORT"]},
            "stop_loss": level(), "take_profit": level(),
            "confidence": {"type": "number", "minimum": 0, "maximum": 1, "default": 1},
            "timeframe": {"type": "string"}, "notes": {"type": "string", "maxLength": 2000},
            "external_id": {"type": "string", "maxLength": 128}}},
          "TradingViewAlert": {"type": "object", "additionalProperties": false,
            "required": ["token", "symbol", "action", "stop_loss", "take_profit"], "properties": {
            "token": {"type": "string"}, "symbol": symbol_schema(),
            "action": {"type": "string", "enum": ["buy", "sell"]},
            "stop_loss": level(), "take_profit": level(),
            "confidence": {"type": "number", "minimum": 0, "maximum": 1}, "id": {"type": "string"},
            "timeframe": {"type": "string"}, "notes": {"type": "string"}}}
        }
      },
      "paths": {
        "/api/health": {"get": {"summary": "Database, feed and engine health", "responses": {
          "200": {"description": "database reachable"}, "503": {"description": "database down"}}}},
        "/api/stats": {"get": {"summary": "Account and today's figures", "responses": {
          "200": {"description": "figures", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Stats"}}}}}}},
        "/api/data": {"get": {"summary": "Stats and today's lists: signals_today, active_trades, completed_trades, journal",
          "responses": {"200": {"description": "today"}}}},
        "/api/signals": {
          "get": {"summary": "Signals, newest first, keyset paging",
            "parameters": paging(vec![
              query("status", "ACTIVE, CLOSED or CANCELLED", json!({"type": "string", "enum": ["ACTIVE", "CLOSED", "CANCELLED"]})),
              query("symbol", "exchange symbol", symbol_schema())]),
            "responses": {"200": {"description": "{signals, next_before_id}"}, "400": error_response("bad parameter")}},
          "post": {"summary": "Open a signal as a paper trade at the current price", "security": [{"bearer": []}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewSignal"}}}},
            "responses": {"201": {"description": "opened", "content": signal_body["content"].clone()},
              "200": {"description": "repeated external_id: the existing signal"},
              "400": error_response("invalid field"), "401": error_response("missing or wrong token"),
              "403": error_response("writes disabled"), "409": error_response("refused by a gate"),
              "413": error_response("body over 64 KiB"), "503": error_response("no fresh price")}}},
        "/api/signals/{id}": {"get": {"summary": "One signal", "parameters": [id_param()],
          "responses": {"200": signal_body, "404": error_response("no such signal")}}},
        "/api/signals/{id}/close": {"post": {"summary": "Close at the current price (MANUAL)", "security": [{"bearer": []}],
          "parameters": [id_param()],
          "responses": {"200": {"description": "{signal, journal, balance_after}"}, "404": error_response("no such signal"),
            "409": error_response("not ACTIVE"), "503": error_response("no fresh price")}}},
        "/api/webhook/tradingview": {"post": {"summary": "TradingView alert (token in the body)",
          "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TradingViewAlert"}}}},
          "responses": {"201": {"description": "opened"}, "200": {"description": "repeated id"},
            "400": error_response("invalid field"), "401": error_response("wrong token"), "409": error_response("refused by a gate"),
            "503": error_response("no fresh price")}}},
        "/api/journal": {"get": {"summary": "Journal entries, newest first, keyset paging",
          "parameters": paging(vec![
            query("symbol", "exchange symbol", symbol_schema()),
            query("outcome", "WIN, LOSS or BREAKEVEN", json!({"type": "string", "enum": ["WIN", "LOSS", "BREAKEVEN"]}))]),
          "responses": {"200": {"description": "{entries, next_before_id}"}, "400": error_response("bad parameter")}}},
        "/api/journal/{id}": {"patch": {"summary": "Edit notes and tags", "security": [{"bearer": []}], "parameters": [id_param()],
          "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false, "minProperties": 1, "properties": {
            "notes": {"type": "string", "maxLength": 5000},
            "tags": {"oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}]}}}}}},
          "responses": {"200": {"description": "the entry", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JournalEntry"}}}},
            "400": error_response("invalid field"), "404": error_response("no such entry")}}},
        "/api/daily": {"get": {"summary": "Daily statistics, dates inclusive (default the last 90 days)",
          "parameters": [query("from", "date", json!({"type": "string", "format": "date"})), query("to", "date", json!({"type": "string", "format": "date"}))],
          "responses": {"200": {"description": "{days: [DailyStats]}"}}}},
        "/api/equity": {"get": {"summary": "Balance over time",
          "parameters": [query("by", "day (default) or trade", json!({"type": "string", "enum": ["day", "trade"]})),
            query("from", "date or time", json!({"type": "string"})), query("to", "date or time", json!({"type": "string"}))],
          "responses": {"200": {"description": "{by, points: [{time, balance}]}"}}}},
        "/api/events": {"get": {"summary": "Server-Sent Events: stats after every tick, signal_opened, trade_closed",
          "responses": {"200": {"description": "text/event-stream"}}}},
        "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "text/plain"}}}}
      }
    })
}

/// Every operation can answer 400 (bad parameter or body), 404 and 405, in the error shape;
/// secured ones 401 and 403, ones with a body 413.
fn with_error_responses(mut doc: Value) -> Value {
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for operations in paths.values_mut().filter_map(Value::as_object_mut) {
            for operation in operations.values_mut() {
                let secured = operation.get("security").is_some();
                let has_body = operation.get("requestBody").is_some();
                let Some(responses) = operation
                    .get_mut("responses")
                    .and_then(Value::as_object_mut)
                else {
                    continue;
                };
                let mut add = |code: &str, what: &str| {
                    responses
                        .entry(code)
                        .or_insert_with(|| error_response(what));
                };
                add("400", "a bad parameter or body, naming the field");
                add("404", "no such resource");
                add("405", "method not allowed (see the Allow header)");
                if secured {
                    add("401", "missing or wrong token");
                    add("403", "writes disabled: SIGNALDESK_API_TOKEN is unset");
                }
                if has_body {
                    add("413", "body over 64 KiB");
                }
            }
        }
    }
    doc
}

pub async fn get_openapi() -> HttpResponse {
    HttpResponse::Ok().json(with_error_responses(document()))
}
