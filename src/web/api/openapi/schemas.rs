//! The component schemas of `/openapi.json`: request bodies exactly as `body.rs`, `signals.rs`,
//! `webhook.rs` and `lists.rs` read them, responses exactly as the row structs serialise. The
//! watch-list comes from the running configuration, so `symbol` lists what this server trades.

use serde_json::{json, Value};

use super::super::body::NUMERIC_STRING_PATTERN;
use crate::domain::management::{MAX_TARGETS, MAX_TRAILING_PCT};
use crate::domain::trading::LEVEL_RANGE_FACTOR;
use crate::domain::{ExitReason, StopReason, Symbol};

/// A numeric string that is above zero (the webhook's levels): [`NUMERIC_STRING_PATTERN`] without
/// zero and negatives.
const POSITIVE_NUMERIC_STRING_PATTERN: &str =
    r"^(0\.[0-9]*[1-9][0-9]*|[1-9][0-9]*(\.[0-9]+)?)([eE][+-]?[0-9]+)?$";

/// A numeric string that is 0 or above: [`NUMERIC_STRING_PATTERN`] without negatives.
const NON_NEGATIVE_NUMERIC_STRING_PATTERN: &str = r"^(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$";

/// `[Bb][Tt][Cc]…`: a word in any case, for patterns (ECMA-262 has no inline flags).
fn any_case(word: &str) -> String {
    word.chars()
        .map(|c| {
            if c.is_ascii_alphabetic() {
                format!("[{}{}]", c.to_ascii_uppercase(), c.to_ascii_lowercase())
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// `symbol` of a new signal: one of the watch-list, in any case, with an optional `EXCHANGE:`
/// prefix (TradingView's `{{exchange}}:{{ticker}}`), as `signals::symbol_field` and
/// `Symbol::parse` read it.
pub fn watched_symbol(symbols: &[Symbol]) -> Value {
    let names: Vec<&str> = symbols.iter().map(Symbol::as_str).collect();
    let alternatives: Vec<String> = names.iter().map(|s| any_case(s)).collect();
    json!({
        "type": "string",
        "maxLength": 64,
        "pattern": format!("^([A-Za-z0-9_]+:)?({})$", alternatives.join("|")),
        "example": names.first().copied().unwrap_or("BTCUSDT"),
        "description": format!(
            "One of the watch-list (SIGNALDESK_SYMBOLS): {}. Any case, with an optional `EXCHANGE:` prefix (letters, digits, `_`) that is dropped: `btcusdt` and `BINANCE:BTCUSDT` mean BTCUSDT. Anything else is a 400 naming `symbol`.",
            names.join(", ")
        )
    })
}

/// A symbol filter: any exchange symbol (closed trades may be on symbols no longer watched).
pub fn any_symbol() -> Value {
    json!({"type": "string", "pattern": "^([A-Za-z0-9_]+:)?[A-Za-z0-9]{4,20}$", "example": "BTCUSDT",
           "description": "4 to 20 letters and digits, any case, optional `EXCHANGE:` prefix"})
}

fn level_description(field: &str) -> String {
    let f = LEVEL_RANGE_FACTOR;
    format!(
        "{field}: above 0, on the trade's side of the entry fill (LONG: stop below, target above; SHORT mirrored) and within [entry ÷ {f}, entry × {f}], the entry being the current price moved by slippage against the trader; otherwise a 400 naming `{field}`"
    )
}

fn level(field: &str) -> Value {
    json!({"type": "number", "minimum": 0, "exclusiveMinimum": true,
           "description": level_description(field)})
}

/// The webhook's numbers: a JSON number or a string in JSON number syntax.
fn number_or_string(number: Value, string_pattern: &str, description: String) -> Value {
    json!({"description": description, "anyOf": [
        number,
        {"type": "string", "pattern": string_pattern}
    ]})
}

fn text(max_chars: usize, description: &str) -> Value {
    json!({"type": "string", "maxLength": max_chars, "nullable": true, "description": description})
}

/// OpenAPI 3.0's `nullable` only counts beside a `type`, so each branch of an `anyOf` says it.
fn nullable(mut schema: Value) -> Value {
    schema["nullable"] = Value::Bool(true);
    schema
}

fn confidence() -> Value {
    json!({"type": "number", "minimum": 0, "maximum": 1})
}

fn time() -> Value {
    json!({"type": "string", "format": "date-time", "example": "2026-11-25T10:00:00.123456Z"})
}

fn nullable_time() -> Value {
    json!({"type": "string", "format": "date-time", "nullable": true})
}

fn number(description: &str) -> Value {
    json!({"type": "number", "description": description})
}

fn nullable_number(description: &str) -> Value {
    json!({"type": "number", "nullable": true, "description": description})
}

fn integer() -> Value {
    json!({"type": "integer"})
}

fn direction() -> Value {
    json!({"type": "string", "enum": ["LONG", "SHORT"]})
}

/// Every exit reason, as the stored words (DESIGN.md §10).
fn exit_reasons() -> Vec<Value> {
    ExitReason::ALL.iter().map(|r| json!(r.as_str())).collect()
}

/// Every reason a stop moves.
fn stop_reasons() -> Vec<Value> {
    StopReason::ALL.iter().map(|r| json!(r.as_str())).collect()
}

/// A nullable enum lists null too, or validators refuse the null (OpenAPI 3.0.3).
fn nullable_enum(mut words: Vec<Value>, description: &str) -> Value {
    words.push(Value::Null);
    json!({"type": "string", "nullable": true, "enum": words, "description": description})
}

/// An object whose every property is required (every column is always present, null or not).
fn row(description: &str, properties: Value) -> Value {
    let required: Vec<String> = properties
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    json!({"type": "object", "description": description, "required": required, "properties": properties})
}

fn list_of(schema: &str) -> Value {
    json!({"type": "array", "items": {"$ref": format!("#/components/schemas/{schema}")}})
}

/// A partial target as a signal carries it.
fn partial_target() -> Value {
    row(
        "A partial target: when reached, `fraction` of the quantity opened closes at `price` (a limit fill).",
        json!({"price": number("strictly between the entry and take_profit"),
               "fraction": {"type": "number", "minimum": 0, "exclusiveMinimum": true,
                            "maximum": 1, "exclusiveMaximum": true,
                            "description": "of the quantity opened"}}),
    )
}

/// Every column of the signals table.
fn signal_properties() -> Value {
    json!({
        "id": integer(), "symbol": {"type": "string", "example": "BTCUSDT"},
        "direction": direction(),
        "status": {"type": "string", "enum": ["ACTIVE", "CLOSED", "CANCELLED"]},
        "entry_price": number("fill price, slippage included"),
        "stop_loss": number("the stop in force: initial_stop_loss until a breakeven, trailing or manual move"),
        "take_profit": number("the final target level"), "quantity": number("base units opened"),
        "risk_amount": number("quote lost at the initial stop, before fees"),
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "strategy": {"type": "string", "description": "ict, api, webhook, …"},
        "timeframe": {"type": "string", "nullable": true},
        "external_id": {"type": "string", "nullable": true},
        "reasons": {"type": "string"}, "notes": {"type": "string", "nullable": true},
        "current_price": number("last price seen"),
        "unrealized_pnl": number("what closing the remaining quantity at market now would book"),
        "max_favorable_price": number("best price while open"),
        "max_adverse_price": number("worst price while open"),
        "exit_price": nullable_number("set on close: the quantity-weighted average of the exits"),
        "exit_reason": nullable_enum(exit_reasons(), "set on close: the last exit's reason"),
        "pnl": nullable_number("set on close: the sum of the exits' pnl, fees included"),
        "fees": number("the entry fee plus the fee of every exit fill so far"),
        "created_at": time(), "closed_at": nullable_time(), "updated_at": time(),
        "initial_stop_loss": number("the stop the trade opened with: risk and R are measured from it"),
        "remaining_quantity": {"type": "number", "minimum": 0,
                               "description": "what is still open: quantity less every exit's quantity; 0 once closed"},
        "realized_pnl": number("the sum of the pnl of the exits booked so far"),
        "take_profits": {"type": "array", "maxItems": MAX_TARGETS,
                         "items": {"$ref": "#/components/schemas/PartialTarget"},
                         "description": "the partial targets in price order; [] when none"},
        "breakeven_at_r": nullable_number("at this many R of favourable excursion the stop moves to the entry; null: off"),
        "trailing_stop_pct": nullable_number("percent: the stop trails the best price by this much once activated; null: off"),
        "trailing_activate_at_r": {"type": "number", "minimum": 0,
                                   "description": "the trailing stop starts at this many R of favourable excursion"},
        "targets_hit": {"type": "integer", "minimum": 0, "description": "how many of take_profits have filled"},
        "stop_moved_by": nullable_enum(stop_reasons(), "what moved stop_loss last; null while it is the initial stop"),
        "entry_fee": number("the fee paid on entry; each exit carries its share, pro rata to its quantity")
    })
}

fn signal() -> Value {
    row(
        "A signal, which is also its paper trade: every column of the signals table.",
        signal_properties(),
    )
}

/// `GET /api/signals/{id}`: the signal's columns, its exits and its stop moves.
fn signal_detail() -> Value {
    let mut properties = signal_properties();
    properties["exits"] = json!({"type": "array", "items": {"$ref": "#/components/schemas/TradeExit"},
                                 "description": "every exit, partial or final, in the order booked"});
    properties["stop_moves"] = json!({"type": "array", "items": {"$ref": "#/components/schemas/StopMove"},
                                      "description": "every change of the stop, oldest first"});
    row(
        "A signal (every column of the signals table) with every exit and stop move it had.",
        properties,
    )
}

fn trade_exit() -> Value {
    row(
        "One exit of a trade (a trade_exits row): its pnl was booked into the balance when it was written.",
        json!({
            "id": integer(), "signal_id": integer(),
            "reason": {"type": "string", "enum": exit_reasons()},
            "price": number("the fill price, slippage applied to a market exit"),
            "quantity": number("base units"),
            "fee": number("the exit fill's fee plus the entry fee's share of this quantity"),
            "pnl": number("price move × quantity − fee"),
            "balance_after": number("the paper balance once this exit was booked"),
            "created_at": time()
        }),
    )
}

fn stop_move() -> Value {
    row(
        "One change of a trade's stop (a stop_moves row); a stop only ever moves in the trade's favour.",
        json!({
            "id": integer(), "signal_id": integer(),
            "old_stop": number("the stop before"), "new_stop": number("the stop after"),
            "reason": {"type": "string", "enum": stop_reasons()},
            "created_at": time()
        }),
    )
}

fn journal_entry() -> Value {
    row(
        "A journal entry, written when a trade closes (its last exit).",
        json!({
            "id": integer(), "signal_id": integer(), "symbol": {"type": "string"},
            "direction": direction(), "entry_price": number("fill"),
            "exit_price": number("the quantity-weighted average of the exits"),
            "quantity": number("base units opened"),
            "pnl": number("the sum of the exits' pnl, fees included"),
            "pnl_pct": number("percent of the entry notional"),
            "r_multiple": number("pnl / the initial risk"),
            "outcome": {"type": "string", "enum": ["WIN", "LOSS", "BREAKEVEN"]},
            "exit_reason": {"type": "string", "enum": exit_reasons(), "description": "the last exit's reason"},
            "exit_count": {"type": "integer", "minimum": 1, "description": "how many exits the trade took"},
            "opened_at": time(), "closed_at": time(), "duration_secs": integer(),
            "balance_after": number("paper balance after this close"),
            "notes": {"type": "string", "nullable": true},
            "tags": {"type": "string", "description": "comma separated, empty when none"},
            "created_at": time(), "updated_at": time()
        }),
    )
}

/// The journal entry of a manual exit: null after a partial one.
fn closing_journal() -> Value {
    let mut entry = nullable(journal_entry());
    entry["description"] =
        json!("the journal entry when the exit closed the trade; null after a partial close");
    entry
}

fn daily_stats() -> Value {
    row(
        "One UTC day.",
        json!({
            "id": integer(), "date": {"type": "string", "format": "date"},
            "scan_count": integer(), "signals_generated": integer(), "trades_closed": integer(),
            "wins": integer(), "losses": integer(), "starting_balance": number("opening balance"),
            "paper_balance": number("balance at the end of (so far in) the day"),
            "realized_pnl": number("that day"), "total_pnl": number("since the account began"),
            "updated_at": time()
        }),
    )
}

fn feed() -> Value {
    json!({"type": "object", "required": ["source", "status", "last_update", "error"], "properties": {
        "source": {"type": "string", "enum": ["bybit", "binance", "simulated", "replay"]},
        "status": {"type": "string", "enum": ["ok", "degraded", "down"]},
        "last_update": nullable_time(), "error": {"type": "string", "nullable": true}}})
}

fn stats() -> Value {
    row(
        "The account and today's (UTC) figures.",
        json!({
            "date": {"type": "string", "format": "date"}, "balance": number("paper balance"),
            "initial_balance": number("the account's start"),
            "equity": number("balance + unrealized_pnl"), "unrealized_pnl": number("open trades"),
            "realized_pnl_today": number("closed today"), "total_pnl": number("since the start"),
            "active_trades": integer(),
            "completed_trades": {"type": "integer", "description": "closed today"},
            "signals_today": integer(), "scans_today": integer(), "wins_today": integer(),
            "losses_today": integer(), "win_rate": number("percent of today's decided closes"),
            "account_blown": {"type": "boolean"},
            "feed": {"$ref": "#/components/schemas/Feed"}, "last_tick_at": nullable_time()
        }),
    )
}

fn price() -> Value {
    row(
        "The last price of a watch-list symbol.",
        json!({
            "symbol": {"type": "string"}, "price": nullable_number("null before the first"),
            "change_24h_pct": nullable_number("percent"), "high_24h": nullable_number(""),
            "low_24h": nullable_number(""), "volume_24h": nullable_number("base units"),
            "price_time": nullable_time(), "market_time": nullable_time(),
            "stale": {"type": "boolean", "description": "older than SIGNALDESK_STALE_SECS, or none"}
        }),
    )
}

/// The management fields of a signal body (DESIGN.md §10), as `signals::management_fields` and
/// `Management::for_levels` read them; `lenient` for the webhook, whose numbers may be numeric
/// strings. Absent takes the configuration's default.
fn management_fields(lenient: bool) -> Vec<(&'static str, Value)> {
    // A number, or on the webhook a number or a numeric string matching `pattern`.
    let number = |schema: Value, pattern: &str, description: &str| {
        if lenient {
            number_or_string(schema, pattern, description.to_owned())
        } else {
            let mut schema = schema;
            schema["description"] = json!(description);
            schema
        }
    };
    // The same, null allowed.
    let nullable_number = |schema: Value, pattern: &str, description: &str| {
        if lenient {
            json!({"description": description, "anyOf": [
                nullable(schema),
                {"type": "string", "pattern": pattern, "nullable": true}]})
        } else {
            let mut schema = nullable(schema);
            schema["description"] = json!(description);
            schema
        }
    };
    let above_zero = json!({"type": "number", "minimum": 0, "exclusiveMinimum": true});
    let target = json!({"type": "object", "additionalProperties": false,
        "required": ["price", "fraction"],
        "properties": {
            "price": number(above_zero.clone(), POSITIVE_NUMERIC_STRING_PATTERN,
                "strictly between the entry fill and take_profit, each target beyond the one before (LONG increasing, SHORT decreasing)"),
            "fraction": number(
                json!({"type": "number", "minimum": 0, "exclusiveMinimum": true, "maximum": 1, "exclusiveMaximum": true}),
                POSITIVE_NUMERIC_STRING_PATTERN,
                "above 0 and below 1: this part of the quantity opened closes at price; the fractions sum below 1")}});
    vec![
        (
            "take_profits",
            json!({"type": "array", "nullable": true, "maxItems": MAX_TARGETS, "items": target,
                   "description": format!("partial targets before the final take_profit, at most {MAX_TARGETS} (a limit fill, fees charged, when reached); the rest closes at take_profit or the stop. Absent: the configured SIGNALDESK_TAKE_PROFITS; null or []: none. A target out of place or order, or fractions summing to 1 or more: a 400 naming `take_profits`")}),
        ),
        (
            "breakeven_at_r",
            nullable_number(above_zero.clone(), POSITIVE_NUMERIC_STRING_PATTERN,
                "above 0: at this many R (R = |entry − stop_loss|) of favourable excursion the stop moves to the entry. Absent: SIGNALDESK_BREAKEVEN_AT_R; null: off"),
        ),
        (
            "trailing_stop_pct",
            nullable_number(
                json!({"type": "number", "minimum": 0, "exclusiveMinimum": true, "maximum": MAX_TRAILING_PCT, "exclusiveMaximum": true}),
                POSITIVE_NUMERIC_STRING_PATTERN,
                &format!("percent, above 0 and below {MAX_TRAILING_PCT}: the stop follows the best price seen at this distance once activated, only in the trade's favour. Absent: SIGNALDESK_TRAILING_STOP_PCT; null: off")),
        ),
        (
            "trailing_activate_at_r",
            nullable_number(json!({"type": "number", "minimum": 0}), NON_NEGATIVE_NUMERIC_STRING_PATTERN,
                "0 or above: the trailing stop starts at this many R of favourable excursion. Absent or null: SIGNALDESK_TRAILING_ACTIVATE_AT_R (0 unless set)"),
        ),
    ]
}

/// `properties` with the management fields added.
fn with_management(mut properties: Value, lenient: bool) -> Value {
    for (name, schema) in management_fields(lenient) {
        properties[name] = schema;
    }
    properties
}

fn request_bodies(symbols: &[Symbol]) -> Vec<(&'static str, Value)> {
    let positive_string = |field: &str| {
        number_or_string(
            level(field),
            POSITIVE_NUMERIC_STRING_PATTERN,
            level_description(field),
        )
    };
    let tags_list = json!({"type": "array", "maxItems": super::super::lists::MAX_TAGS,
                           "items": {"type": "string", "maxLength": 32}});
    let tags_text = json!({"type": "string", "description": "comma separated"});
    vec![
        (
            "NewSignal",
            json!({"type": "object", "additionalProperties": false,
            "required": ["symbol", "direction", "stop_loss", "take_profit"],
            "description": "Numbers are JSON numbers (a numeric string is a 400). null counts as absent, but turns breakeven_at_r, trailing_stop_pct and take_profits off.",
            "properties": with_management(json!({
                "symbol": watched_symbol(symbols), "direction": direction(),
                "stop_loss": level("stop_loss"), "take_profit": level("take_profit"),
                "confidence": {"type": "number", "minimum": 0, "maximum": 1, "default": 1, "nullable": true},
                "timeframe": text(16, "the candles it was seen on"),
                "notes": text(2_000, "free text, copied into the journal on close"),
                "external_id": text(128, "your id: a repeat returns the existing signal (200)")}), false)}),
        ),
        (
            "TradingViewAlert",
            json!({"type": "object", "additionalProperties": false,
            "required": ["token", "symbol", "action", "stop_loss", "take_profit"],
            "description": "A TradingView alert message. TradingView sends no headers, so the token is a field. Numbers may be JSON numbers or strings in JSON number syntax (TradingView's placeholders). null counts as absent, but turns breakeven_at_r, trailing_stop_pct and take_profits off.",
            "properties": with_management(json!({
                "token": {"type": "string", "maxLength": 512, "description": "SIGNALDESK_WEBHOOK_TOKEN, or the API token while that is unset; wrong or missing: 401"},
                "symbol": watched_symbol(symbols),
                "action": {"type": "string", "pattern": format!(r"^\s*({}|{}|{}|{})\s*$", any_case("buy"), any_case("sell"), any_case("long"), any_case("short")),
                           "description": "buy or long → LONG, sell or short → SHORT; any case"},
                "stop_loss": positive_string("stop_loss"), "take_profit": positive_string("take_profit"),
                "confidence": {"description": "0 to 1, default 1", "anyOf": [
                    nullable(confidence()),
                    {"type": "string", "pattern": NUMERIC_STRING_PATTERN, "nullable": true}]},
                "id": text(128, "alert id → external_id: a repeat returns the existing signal"),
                "timeframe": text(16, "e.g. {{interval}}"), "notes": text(2_000, "free text")}), true)}),
        ),
        (
            "CloseRequest",
            json!({"type": "object", "additionalProperties": false,
            "description": "Optional: no body, an empty body or {} closes all that is left.",
            "properties": {
                "fraction": {"type": "number", "minimum": 0, "exclusiveMinimum": true, "maximum": 1, "nullable": true,
                             "description": "above 0 and at most 1: this part of the remaining quantity closes at market; absent, null or 1: all of it, which closes the trade"}}}),
        ),
        (
            "StopRequest",
            json!({"type": "object", "additionalProperties": false, "required": ["stop_loss"],
            "properties": {
                "stop_loss": {"type": "number", "minimum": 0, "exclusiveMinimum": true,
                              "description": "the new stop: tighter than the stop in force (LONG above it, SHORT below it) and short of the current price (LONG below it, SHORT above it; the trade's last price while the feed has none); otherwise a 400 naming `stop_loss`"}}}),
        ),
        (
            "JournalEdit",
            json!({"type": "object", "additionalProperties": false,
            "description": "Send notes, tags or both (null counts as absent).",
            "properties": {
                "notes": {"type": "string", "maxLength": 5_000, "nullable": true, "description": "blank clears them"},
                "tags": {"description": "a list or a comma-separated string; trimmed, empty ones and repeats dropped, at most 20 of at most 32 characters",
                         "anyOf": [nullable(tags_list.clone()), nullable(tags_text.clone())]}},
            "anyOf": [
                {"required": ["notes"], "properties": {"notes": {"type": "string"}}},
                {"required": ["tags"], "properties": {"tags": {"anyOf": [tags_list, tags_text]}}}]}),
        ),
    ]
}

fn nullable_text(description: &str) -> Value {
    json!({"type": "string", "nullable": true, "description": description})
}

fn health() -> Value {
    let booking_failure = row(
        "An open trade the last tick could not book; rolled back alone and retried every tick.",
        json!({
            "signal_id": integer(), "symbol": {"type": "string"},
            "error": {"type": "string"},
            "since": time(),
            "attempts": {"type": "integer", "minimum": 1, "description": "ticks in a row that failed to book it"}}),
    );
    let scan_result = row(
        "What one symbol's last scan came to.",
        json!({"symbol": {"type": "string"},
               "result": {"type": "string", "description": "`no setup`, `opened #12`, `already opened`, `refused: …`, `invalid: …` or `error: …`"}}),
    );
    let leader = row(
        "The leader's lease (DESIGN.md §9): the instance that alone ticks and scans; null before \
         any instance took it.",
        json!({"holder": {"type": "string", "description": "the leader's instance id"},
               "expired": {"type": "boolean", "description": "the holder stopped renewing it; another instance takes over"},
               "expires_at": time(), "acquired_at": time(),
               "epoch": {"type": "integer", "minimum": 1, "description": "counts the changes of holder"}}),
    );
    let counts = json!({
        "pending": {"type": "integer", "minimum": 0, "description": "waiting to be sent (retrying ones included)"},
        "sent": {"type": "integer", "minimum": 0},
        "failed": {"type": "integer", "minimum": 0, "description": "given up: refused by the target, or SIGNALDESK_NOTIFY_MAX_ATTEMPTS used up"},
        "retrying": {"type": "integer", "minimum": 0, "description": "pending and failed at least once: the target is failing now"},
        "last_error": nullable_text("the latest delivery error (a status and the target's own message; never a secret)")});
    let mut target_props = counts.clone();
    target_props["target"] = json!({"type": "string",
        "description": "the target's masked name: telegram:<bot id>:****:<chat id>, or the URL's scheme and host with a fingerprint of the rest"});
    let notify_target = row("One notification target's outbox.", target_props);
    let mut outbox_props = counts;
    outbox_props["targets"] = json!({"type": "array", "items": notify_target});
    let notifications = row(
        "The notification outbox (DESIGN.md §12), from the database: the same on every instance.",
        outbox_props,
    );
    let instance = row(
        "One instance on this database.",
        json!({"id": {"type": "string"}, "hostname": {"type": "string"}, "pid": integer(),
               "is_leader": {"type": "boolean"}, "started_at": time(), "heartbeat_at": time()}),
    );
    row(
        "How the server is doing. `down` (with 503) when the database does not answer or trading \
         has stalled: no tick (with the scanner on: no scan) ran to its end for three of its \
         intervals. The engine's figures are those of the instance that ticked last (the leader), \
         the same on every instance.",
        json!({
            "status": {"type": "string", "enum": ["ok", "degraded", "down"],
                       "description": "degraded: the feed is not ok, or a trade cannot be booked"},
            "stalled": {"type": "boolean"},
            "version": {"type": "string"}, "uptime_secs": integer(),
            "db": row("", json!({"status": {"type": "string", "enum": ["ok", "down"]},
                                 "error": nullable_text("what failed (the cause is in the server log)")})),
            "feed": {"$ref": "#/components/schemas/Feed"},
            "last_tick_at": nullable_time(),
            "last_tick_ms": nullable_number("duration of the last tick"),
            "engine": row("The update_paper_trades ticks since start.", json!({
                "stalled": {"type": "boolean"},
                "last_ok_at": nullable_time(),
                "ticks": integer(), "failed_ticks": integer(),
                "last_error": nullable_text("why the last failed tick failed: an error, a panic or a timeout"),
                "booking_failures": {"type": "array", "items": booking_failure}})),
            "scanner": row("The strategy scanner.", json!({
                "enabled": {"type": "boolean"}, "stalled": {"type": "boolean"},
                "last_scan_at": nullable_time(),
                "scans": integer(), "failed_scans": integer(),
                "last_error": nullable_text("why the last failed scan failed: a panic or a timeout"),
                "results": {"type": "array", "items": scan_result}})),
            "instance": {"type": "string", "description": "this instance's id"},
            "leader": nullable(leader),
            "instances": {"type": "array", "items": instance,
                          "description": "every instance on this database, the latest heartbeat first"},
            "notifications": notifications}),
    )
}

fn nullable_date(description: &str) -> Value {
    json!({"type": "string", "format": "date", "nullable": true, "description": description})
}

fn date(description: &str) -> Value {
    json!({"type": "string", "format": "date", "description": description})
}

fn count(description: &str) -> Value {
    json!({"type": "integer", "minimum": 0, "description": description})
}

/// What the analytics summary and every breakdown row share (`domain::analytics::Figures`),
/// with the README's formulas; null where a figure is undefined.
fn figure_properties() -> Value {
    json!({
        "trades": count("closed trades"),
        "wins": count("outcome WIN: net pnl above 0"),
        "losses": count("outcome LOSS: net pnl below 0"),
        "breakevens": count("outcome BREAKEVEN: net pnl 0"),
        "win_rate": nullable_number("wins ÷ (wins + losses) × 100; null without a win or a loss"),
        "total_pnl": number("Σ pnl, fees included"),
        "expectancy": nullable_number("Σ pnl ÷ trades (quote); null without a trade"),
        "expectancy_r": nullable_number("Σ R ÷ trades, R = pnl ÷ the initial risk; null without a trade"),
        "average_r": nullable_number("Σ R ÷ trades (the same as expectancy_r); null without a trade"),
        "profit_factor": nullable_number("gross_profit ÷ −gross_loss; null without a loss"),
        "gross_profit": number("Σ pnl of the wins"),
        "gross_loss": json!({"type": "number", "maximum": 0, "description": "Σ pnl of the losses"}),
        "average_win": nullable_number("gross_profit ÷ wins; null without a win"),
        "average_loss": nullable_number("gross_loss ÷ losses (negative); null without a loss"),
        "payoff_ratio": nullable_number("average_win ÷ −average_loss; null without a win or a loss"),
        "average_hold_secs": nullable_number("Σ (closed_at − opened_at) in whole seconds ÷ trades; null without a trade")
    })
}

fn with_figures(more: Value) -> Value {
    let mut properties = figure_properties();
    if let (Some(all), Some(more)) = (properties.as_object_mut(), more.as_object()) {
        all.extend(more.clone());
    }
    properties
}

/// `GET /api/analytics` (DESIGN.md §11, the README's "Analytics" section), as
/// `web::api::analytics::AnalyticsAnswer` serialises.
fn analytics_schemas() -> Vec<(&'static str, Value)> {
    let bucket = json!({"type": "string", "description": "the stored bucket: a strategy, a symbol, LONG or SHORT, an exit reason, a tag, the weekday 0 (Monday) to 6, the hour 00 to 23, a timeframe (empty for none), the confidence's tenth 0 to 9"});
    let breakdowns: serde_json::Map<String, Value> = [
        ("strategy", "by strategy, highest pnl first"),
        ("symbol", "by symbol, highest pnl first"),
        ("direction", "by direction, highest pnl first"),
        (
            "exit_reason",
            "by the last exit's reason, highest pnl first",
        ),
        (
            "tag",
            "by tag (a trade with several tags is in each), highest pnl first",
        ),
        ("weekday", "by weekday of the entry (UTC), Monday first"),
        ("hour", "by hour of the entry (UTC), in order"),
        ("timeframe", "by timeframe, highest pnl first"),
        (
            "confidence",
            "by confidence bucket 0.1 wide (1.0 joins 0.9–1.0), in order",
        ),
    ]
    .into_iter()
    .map(|(name, description)| {
        (
            name.to_owned(),
            json!({"type": "array", "description": description,
                   "items": {"$ref": "#/components/schemas/AnalyticsRow"}}),
        )
    })
    .collect();
    vec![
        (
            "Analytics",
            row(
                "The closed trades of a date range (by the UTC day of the close; a trade counts once, with its whole pnl and R, on the day its last exit closed it), narrowed by the filters.",
                json!({
                    "from": date("the first day of the range, as understood"),
                    "to": date("the last day of the range, as understood"),
                    "strategy": nullable_text("the strategy filter; null: none"),
                    "symbol": nullable_text("the symbol filter, upper case; null: none"),
                    "direction": nullable_enum(vec![json!("LONG"), json!("SHORT")], "the direction filter; null: none"),
                    "tag": nullable_text("the tag filter; null: none"),
                    "summary": {"$ref": "#/components/schemas/AnalyticsSummary"},
                    "breakdowns": row("Each breakdown's rows: only buckets with a trade.", Value::Object(breakdowns)),
                    "r_histogram": {"type": "array", "items": {"$ref": "#/components/schemas/AnalyticsBin"},
                                    "description": "0.5 R bins [from, to) holding a trade, lowest first; below −9.5 R and from 9.5 R up folded into the two open-ended end bins"},
                    "hold_histogram": {"type": "array", "items": {"$ref": "#/components/schemas/AnalyticsBin"},
                                       "description": "the nine hold-time bins in seconds, <5m to ≥7d, each listed"},
                    "scatter": row("The MAE/MFE scatter.", json!({
                        "trades": count("the trades of the range"),
                        "points": {"type": "array", "maxItems": 500, "items": {"$ref": "#/components/schemas/Excursion"},
                                   "description": "every trade of the range up to 500, else 500 spread evenly over it; a trade without an initial risk has no point"}})),
                    "equity": {"type": "array", "items": {"$ref": "#/components/schemas/EquityDay"},
                               "description": "one point per calendar day from the later of from and the account's first day to the earlier of to and today"},
                    "calendar": {"type": "array", "items": {"$ref": "#/components/schemas/CalendarDay"},
                                 "description": "the days of the equity curve"}
                }),
            ),
        ),
        (
            "AnalyticsSummary",
            row(
                "The figures of the whole selection.",
                with_figures(json!({
                    "median_r": nullable_number("the exact median R (the mean of the two middle ones for an even count); null without a trade"),
                    "longest_win_streak": count("consecutive WIN trades in closing order (UTC day, then booking order); a breakeven ends a streak"),
                    "longest_loss_streak": count("consecutive LOSS trades in closing order; a breakeven ends a streak"),
                    "max_drawdown": json!({"type": "number", "minimum": 0, "description": "the largest fall of the end-of-day equity below its running peak (the starting equity the first peak), quote"}),
                    "max_drawdown_pct": json!({"type": "number", "minimum": 0, "description": "that fall in percent of its peak"}),
                    "max_drawdown_days": count("days from the peak's day to the day the equity was back at it, or to the range's end"),
                    "max_drawdown_peak": nullable_date("the peak's day (the range's first day for the starting equity); null without a fall"),
                    "max_drawdown_trough": nullable_date("the day of the lowest point; null without a fall"),
                    "max_drawdown_recovered": nullable_date("the first day the equity was back at the peak; null if it was not within the range"),
                    "sharpe": nullable_number("mean ÷ sample standard deviation of the daily returns × √365; null with fewer than two returns or no deviation"),
                    "sortino": nullable_number("mean ÷ √(Σ min(r, 0)² ÷ n) of the daily returns × √365; null with fewer than two returns or no losing day"),
                    "starting_equity": number("the balance at the range's start: the closing balance of the last day before it (the account's initial balance before its first day)"),
                    "ending_equity": number("starting_equity + Σ pnl of the selected trades closed by the last day of the curve"),
                    "days": count("calendar days of the equity curve")
                })),
            ),
        ),
        (
            "AnalyticsRow",
            row(
                "One bucket of a breakdown.",
                with_figures(json!({"key": bucket, "label": {"type": "string", "description": "the bucket as a reader sees it (Monday, 09:00, 0.7–0.8, none, …)"}})),
            ),
        ),
        (
            "AnalyticsBin",
            row(
                "One bin of a histogram: R for r_histogram, seconds for hold_histogram.",
                json!({
                    "key": {"type": "string", "description": "r_histogram: k of [k ÷ 2, (k + 1) ÷ 2), −20 to 19; hold_histogram: 0 to 8"},
                    "label": {"type": "string", "description": "e.g. +0.5R to +1.0R, <-9.5R, 15m–1h"},
                    "from": nullable_number("the lower edge, inclusive; null when open-ended"),
                    "to": nullable_number("the upper edge, exclusive; null when open-ended"),
                    "trades": count("trades in the bin")
                }),
            ),
        ),
        (
            "Excursion",
            row(
                "A trade's excursions while open, in R of its initial risk (|entry − initial stop|).",
                json!({
                    "signal_id": integer(), "symbol": {"type": "string"},
                    "outcome": {"type": "string", "enum": ["WIN", "LOSS", "BREAKEVEN"]},
                    "mae_r": {"type": "number", "maximum": 0, "description": "the worst excursion (MAE)"},
                    "mfe_r": {"type": "number", "minimum": 0, "description": "the best excursion (MFE)"},
                    "r_multiple": number("the realized R"),
                    "efficiency": nullable_number("r_multiple ÷ mfe_r; null when mfe_r is 0")
                }),
            ),
        ),
        (
            "EquityDay",
            row(
                "One calendar day of the equity curve.",
                json!({
                    "date": date("the UTC day"),
                    "trades": count("selected trades closed that day"),
                    "pnl": number("their pnl"),
                    "equity": number("starting_equity + Σ pnl of the selected trades closed up to the day's end"),
                    "drawdown": json!({"type": "number", "maximum": 0, "description": "equity − its running peak (the starting equity included)"}),
                    "daily_return": nullable_number("pnl ÷ the equity at the day's start; null when that equity is 0 or below")
                }),
            ),
        ),
        (
            "CalendarDay",
            row(
                "One day of the calendar heatmap.",
                json!({"date": date("the UTC day"), "trades": count("selected trades closed that day"), "pnl": number("their pnl")}),
            ),
        ),
    ]
}

/// Every schema of `components.schemas`.
pub fn all(symbols: &[Symbol]) -> Value {
    let mut schemas = serde_json::Map::new();
    let responses = [
        (
            "Error",
            json!({"type": "object", "required": ["error", "field"], "properties": {
            "error": {"type": "string", "description": "what is wrong"},
            "field": {"type": "string", "nullable": true, "description": "the field or parameter at fault"}}}),
        ),
        ("Signal", signal()),
        ("SignalDetail", signal_detail()),
        ("PartialTarget", partial_target()),
        ("TradeExit", trade_exit()),
        ("StopMove", stop_move()),
        ("JournalEntry", journal_entry()),
        ("DailyStats", daily_stats()),
        ("Feed", feed()),
        ("Stats", stats()),
        ("Price", price()),
        (
            "Data",
            row(
                "Today's figures and lists (UTC day).",
                json!({
            "stats": {"$ref": "#/components/schemas/Stats"}, "prices": list_of("Price"),
            "signals_today": list_of("Signal"), "active_trades": list_of("Signal"),
            "completed_trades": list_of("Signal"), "journal": list_of("JournalEntry")}),
            ),
        ),
        (
            "SignalPage",
            row(
                "Newest first.",
                json!({"signals": list_of("Signal"),
            "next_before_id": {"type": "integer", "nullable": true, "description": "pass as before_id for the next page; null on the last"}}),
            ),
        ),
        (
            "JournalPage",
            row(
                "Newest first.",
                json!({"entries": list_of("JournalEntry"),
            "next_before_id": {"type": "integer", "nullable": true, "description": "pass as before_id for the next page; null on the last"}}),
            ),
        ),
        (
            "DailyPage",
            row("Oldest first.", json!({"days": list_of("DailyStats")})),
        ),
        (
            "Equity",
            row(
                "Balance over time, oldest first.",
                json!({
            "by": {"type": "string", "enum": ["day", "trade"]},
            "points": {"type": "array", "items": row("", json!({"time": time(), "balance": number("")}))}}),
            ),
        ),
        (
            "ClosedTrade",
            row(
                "A manual exit: all that was left (the trade closes) or a fraction of it.",
                json!({
            "signal": {"$ref": "#/components/schemas/Signal"},
            "exit": {"$ref": "#/components/schemas/TradeExit"},
            "journal": closing_journal(),
            "balance_after": number("paper balance after the exit")}),
            ),
        ),
        ("Health", health()),
    ];
    for (name, schema) in responses
        .into_iter()
        .chain(analytics_schemas())
        .chain(request_bodies(symbols))
    {
        schemas.insert(name.to_owned(), schema);
    }
    Value::Object(schemas)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_symbol_pattern_spells_each_watched_symbol_in_any_case() {
        let symbols = [
            Symbol::parse("BTCUSDT").unwrap(),
            Symbol::parse("1INCHUSDT").unwrap(),
        ];
        let schema = watched_symbol(&symbols);
        assert_eq!(
            schema["pattern"],
            "^([A-Za-z0-9_]+:)?([Bb][Tt][Cc][Uu][Ss][Dd][Tt]|1[Ii][Nn][Cc][Hh][Uu][Ss][Dd][Tt])$"
        );
    }
}
