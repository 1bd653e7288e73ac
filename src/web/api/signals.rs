//! `POST /api/signals`, `GET /api/signals/{id}`, `POST /api/signals/{id}/close` and
//! `POST /api/signals/{id}/stop` (DESIGN.md §5, §7, §10). Opening goes through `db::intake::open_signal`, the one path every signal takes.

use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::Value;

use super::super::auth::require_bearer;
use super::super::{ApiError, AppState};
use super::body::{json_value, Body};
use crate::clock::now_utc;
use crate::db::exits::{Booked, Books};
use crate::db::intake::{
    exit_at_market, manual_quantity, move_stop_by_hand, open_signal, IntakeError, ManualError,
    SignalRequest,
};
use crate::db::models::{
    JournalEntryRow, QuoteRow, SignalId, SignalRow, StopMoveRow, TradeExitRow,
};
use crate::db::quotes;
use crate::db::signals::{get_signal, AddOutcome};
use crate::domain::format::price;
use crate::domain::management::{ManagementRequest, PartialTarget, MAX_TARGETS};
use crate::domain::{Direction, SignalStatus, Symbol};

const TEXT_LIMIT: usize = 2_000;
const ID_LIMIT: usize = 128;

/// `symbol`: `BTCUSDT`, `btcusdt` or `BINANCE:BTCUSDT`, nothing around it (the OpenAPI pattern
/// says the same). Whether it is on the watch-list is [`open_at_market`]'s first check.
pub(super) fn symbol_field(body: &Body) -> Result<Symbol, ApiError> {
    let raw = body.required_str("symbol", 64)?;
    if raw.trim() != raw {
        return Err(ApiError::validation(
            "symbol",
            format!("symbol `{raw}` has spaces around it"),
        ));
    }
    Symbol::parse(&raw).map_err(|message| ApiError::validation("symbol", message))
}

/// A symbol off the watch-list is a 400 naming `symbol` (DESIGN.md §13), before any price is
/// looked up: a symbol just removed from SIGNALDESK_SYMBOLS must not open from an old price.
fn require_watched(state: &AppState, symbol: &Symbol) -> Result<(), ApiError> {
    if state.config.symbols.contains(symbol) {
        return Ok(());
    }
    let watched: Vec<&str> = state.config.symbols.iter().map(Symbol::as_str).collect();
    Err(ApiError::validation(
        "symbol",
        format!(
            "{symbol} is not on the watch-list ({}); add it to SIGNALDESK_SYMBOLS to trade it",
            watched.join(", ")
        ),
    ))
}

pub(super) fn level_fields(body: &Body) -> Result<(f64, f64), ApiError> {
    let stop_loss = body.required_number("stop_loss")?;
    let take_profit = body.required_number("take_profit")?;
    for (field, value) in [("stop_loss", stop_loss), ("take_profit", take_profit)] {
        if value <= 0.0 {
            return Err(ApiError::validation(
                field,
                format!("{field} must be above 0"),
            ));
        }
    }
    Ok((stop_loss, take_profit))
}

pub(super) fn confidence_field(body: &Body) -> Result<f64, ApiError> {
    let confidence = body.optional_number("confidence")?.unwrap_or(1.0);
    if (0.0..=1.0).contains(&confidence) {
        Ok(confidence)
    } else {
        Err(ApiError::validation(
            "confidence",
            "confidence must be between 0 and 1",
        ))
    }
}

/// The management fields of a signal body (DESIGN.md §10), all optional: absent takes the
/// configuration's default, `null` turns a setting off, `[]` means no partial targets.
/// `take_profits` is a list of at most 5 `{"price", "fraction"}` objects; where they must lie is
/// checked against the entry fill when the trade opens (`Management::for_levels`).
pub(super) fn management_fields(body: &Body) -> Result<ManagementRequest, ApiError> {
    const FIELD: &str = "take_profits";
    let take_profits = match body.raw(FIELD) {
        None => None,
        Some(Value::Null) => Some(Vec::new()),
        Some(Value::Array(items)) => {
            if items.len() > MAX_TARGETS {
                return Err(ApiError::validation(
                    FIELD,
                    format!(
                        "take_profits has {} targets; at most {MAX_TARGETS}",
                        items.len()
                    ),
                ));
            }
            let mut targets = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                if !item.is_object() {
                    return Err(ApiError::validation(
                        FIELD,
                        format!(
                            "take_profits[{i}] must be an object {{\"price\": p, \"fraction\": f}}"
                        ),
                    ));
                }
                let target = Body::nested(item.clone(), &["price", "fraction"], body)
                    .and_then(|t| Ok((t.required_number("price")?, t.required_number("fraction")?)))
                    .map_err(|e| match e {
                        ApiError::Validation { message, .. } => {
                            ApiError::validation(FIELD, format!("take_profits[{i}]: {message}"))
                        }
                        other => other,
                    })?;
                targets.push(PartialTarget {
                    price: target.0,
                    fraction: target.1,
                });
            }
            Some(targets)
        }
        Some(_) => {
            return Err(ApiError::validation(
                FIELD,
                "take_profits must be a list of {\"price\", \"fraction\"} objects",
            ))
        }
    };
    let switchable = |field: &str| -> Result<Option<Option<f64>>, ApiError> {
        Ok(match body.raw(field) {
            None => None,
            Some(Value::Null) => Some(None),
            Some(_) => Some(body.optional_number(field)?),
        })
    };
    Ok(ManagementRequest {
        take_profits,
        breakeven_at_r: switchable("breakeven_at_r")?,
        trailing_stop_pct: switchable("trailing_stop_pct")?,
        trailing_activate_at_r: body.optional_number("trailing_activate_at_r")?,
    })
}

fn parse_create(value: Value) -> Result<SignalRequest, ApiError> {
    let body = Body::parse(
        value,
        &[
            "symbol",
            "direction",
            "stop_loss",
            "take_profit",
            "confidence",
            "timeframe",
            "notes",
            "external_id",
            "take_profits",
            "breakeven_at_r",
            "trailing_stop_pct",
            "trailing_activate_at_r",
        ],
    )?;
    let symbol = symbol_field(&body)?;
    let direction = body
        .required_str("direction", 16)?
        .parse::<Direction>()
        .map_err(|e| ApiError::validation("direction", e.to_string()))?;
    let (stop_loss, take_profit) = level_fields(&body)?;
    Ok(SignalRequest {
        symbol,
        direction,
        stop_loss,
        take_profit,
        confidence: confidence_field(&body)?,
        strategy: "api".to_owned(),
        timeframe: body.optional_str("timeframe", 16)?,
        external_id: body.optional_str("external_id", ID_LIMIT)?,
        reasons: "api signal".to_owned(),
        notes: body.optional_str("notes", TEXT_LIMIT)?,
        management: management_fields(&body)?,
    })
}

/// Open a signal at the current price: 201 new, 200 repeated external_id, 400 a symbol off the
/// watch-list or levels, 409 gate, 503 no fresh price.
pub(super) async fn open_at_market(
    state: &AppState,
    request: SignalRequest,
) -> Result<HttpResponse, ApiError> {
    require_watched(state, &request.symbol)?;
    let config = state.config.clone();
    let outbox = state.outbox.clone();
    let no_fresh_price = no_price(state, request.symbol.as_str());
    let result = state
        .with_conn(move |conn| {
            let now = now_utc();
            let quote =
                fresh_quote(conn, request.symbol.as_str(), now, &config)?.ok_or(no_fresh_price)?;
            Ok(open_signal(
                conn,
                &request,
                quote.price,
                &config.rules,
                config.initial_balance,
                &outbox,
                now,
            ))
        })
        .await?;
    match result {
        Ok(AddOutcome::Created(row)) => {
            log::info!(
                "opened #{} {} {} at {} ({})",
                row.id,
                row.symbol,
                row.direction,
                price(row.entry_price),
                row.strategy
            );
            Ok(HttpResponse::Created().json(row))
        }
        Ok(AddOutcome::Existing(row)) => Ok(HttpResponse::Ok().json(row)),
        Err(IntakeError::Invalid(rule)) => Err(ApiError::validation(rule.field, rule.message)),
        Err(IntakeError::Refused(refusal)) => {
            log::info!("signal refused by {}: {}", refusal.gate, refusal.message);
            state.status.count_refusal(refusal.gate);
            Err(ApiError::Conflict(refusal.message))
        }
        Err(IntakeError::Db(e)) => Err(e.into()),
    }
}

/// The stored quote of `symbol` if it is fresh at `now` (DESIGN.md §9: every instance prices
/// from the database).
fn fresh_quote(
    conn: &mut crate::db::Conn,
    symbol: &str,
    now: chrono::NaiveDateTime,
    config: &crate::config::Config,
) -> Result<Option<QuoteRow>, ApiError> {
    Ok(quotes::get(conn, symbol)?.filter(|q| q.is_fresh(now, config.stale_secs)))
}

fn no_price(state: &AppState, symbol: &str) -> ApiError {
    let feed = state.status.feed();
    let watched = state.config.symbols.iter().any(|s| s.as_str() == symbol);
    let hint = if watched {
        format!(
            "feed {} is {:?}{}",
            feed.source,
            feed.status,
            feed.error.map(|e| format!(": {e}")).unwrap_or_default()
        )
        .to_lowercase()
    } else {
        "it is not in SIGNALDESK_SYMBOLS".to_owned()
    };
    ApiError::Unavailable(format!("no fresh price for {symbol}: {hint}"))
}

/// `POST /api/signals`: the token first, then the body.
pub async fn create_signal(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    require_bearer(&req, &state.config)?;
    let request = parse_create(json_value(&body)?)?;
    open_at_market(&state, request).await
}

fn signal_id(raw: &str) -> Result<SignalId, ApiError> {
    raw.parse::<i32>()
        .ok()
        .filter(|id| *id > 0)
        .map(SignalId)
        .ok_or_else(|| ApiError::validation("id", format!("`{raw}` is not a signal id")))
}

/// One signal, or 404 naming it.
pub async fn find_signal(state: &AppState, id: SignalId) -> Result<SignalRow, ApiError> {
    state
        .with_conn(move |conn| {
            get_signal(conn, id).map_err(|e| match e {
                diesel::result::Error::NotFound => {
                    ApiError::NotFound(format!("signal {id} not found"))
                }
                other => other.into(),
            })
        })
        .await
}

/// A signal with every exit and stop move it had: `GET /api/signals/{id}` and the answer of a
/// stop move.
#[derive(Serialize)]
pub struct SignalDetail {
    #[serde(flatten)]
    pub signal: SignalRow,
    pub exits: Vec<TradeExitRow>,
    pub stop_moves: Vec<StopMoveRow>,
}

/// One signal with its exits and stop moves, read in one snapshot (`db::overview::trade`), or
/// 404 naming it.
pub async fn signal_detail(state: &AppState, id: SignalId) -> Result<SignalDetail, ApiError> {
    state
        .with_conn(move |conn| {
            let trade = crate::db::overview::trade(conn, id).map_err(|e| match e {
                diesel::result::Error::NotFound => {
                    ApiError::NotFound(format!("signal {id} not found"))
                }
                other => other.into(),
            })?;
            Ok(SignalDetail {
                signal: trade.signal,
                exits: trade.exits,
                stop_moves: trade.stop_moves,
            })
        })
        .await
}

/// `GET /api/signals/{id}`: the signal, its exits and its stop moves.
pub async fn get_signal_by_id(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<web::Json<SignalDetail>, ApiError> {
    let id = signal_id(&path)?;
    Ok(web::Json(signal_detail(&state, id).await?))
}

/// The answer of `POST /api/signals/{id}/close`.
#[derive(Serialize)]
struct ExitResponse {
    /// The signal after the exit: CLOSED when it took all that was left.
    signal: SignalRow,
    exit: TradeExitRow,
    /// The journal entry, when the exit closed the trade; `null` after a partial close.
    journal: Option<JournalEntryRow>,
    balance_after: f64,
}

/// The error of a manual exit or stop move.
fn manual_error(id: SignalId, e: ManualError) -> ApiError {
    match e {
        ManualError::Invalid(rule) => ApiError::validation(rule.field, rule.message),
        ManualError::NotActive(status) => {
            ApiError::Conflict(format!("signal {id} is {status}, not ACTIVE"))
        }
        ManualError::Db(diesel::result::Error::NotFound) => {
            ApiError::NotFound(format!("signal {id} not found"))
        }
        ManualError::Db(e) => e.into(),
    }
}

/// Close `fraction` of what is left of trade `id` (all of it for `None`) at the current price,
/// exit_reason MANUAL: 400 a bad fraction, 404 unknown, 409 not ACTIVE, 503 without a fresh
/// price. Shared by the API and the trade page's form.
pub async fn close_now(
    state: &AppState,
    id: SignalId,
    fraction: Option<f64>,
) -> Result<Booked, ApiError> {
    let current = find_signal(state, id).await?;
    if current.status != SignalStatus::Active {
        return Err(ApiError::Conflict(format!(
            "signal {id} is {}, not ACTIVE",
            current.status
        )));
    }
    // The fraction is checked before the price is looked up: a bad request is a 400 even while
    // the feed is down.
    manual_quantity(&current, fraction)
        .map_err(|rule| ApiError::validation(rule.field, rule.message))?;
    let config = state.config.clone();
    let outbox = state.outbox.clone();
    let no_fresh_price = no_price(state, &current.symbol);
    let booked = state
        .with_conn(move |conn| {
            let now = now_utc();
            let quote = fresh_quote(conn, &current.symbol, now, &config)?.ok_or(no_fresh_price)?;
            exit_at_market(
                conn,
                id,
                quote.price,
                fraction,
                &Books {
                    rules: &config.rules,
                    initial_balance: config.initial_balance,
                    outbox: &outbox,
                },
                now,
            )
            .map_err(|e| manual_error(id, e))
        })
        .await?;
    log::info!(
        "{} #{} {} MANUAL {} at {} pnl {:.4}",
        if booked.journal.is_some() {
            "closed"
        } else {
            "reduced"
        },
        booked.signal.id,
        booked.signal.symbol,
        booked.exit.quantity,
        price(booked.exit.price),
        booked.exit.pnl
    );
    Ok(booked)
}

/// The JSON of a body that may be left out: an empty (or blank) body reads as `{}`, so a
/// missing field is named like any other.
fn json_or_empty(body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        Ok(Value::Object(serde_json::Map::new()))
    } else {
        json_value(body)
    }
}

/// `POST /api/signals/{id}/close`: close at the current price, exit_reason MANUAL; an optional
/// `{"fraction": f}` closes that part of the remaining position.
pub async fn close_signal_now(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    require_bearer(&req, &state.config)?;
    let id = signal_id(&path)?;
    let fraction =
        Body::parse(json_or_empty(&body)?, &["fraction"])?.optional_number("fraction")?;
    let booked = close_now(&state, id, fraction).await?;
    Ok(HttpResponse::Ok().json(ExitResponse {
        signal: booked.signal,
        exit: booked.exit,
        journal: booked.journal,
        balance_after: booked.balance_after,
    }))
}

/// `POST /api/signals/{id}/stop`: move the stop by hand, `{"stop_loss": x}`, only in the trade's
/// favour and short of the current price (a `stop_moves` row with reason MANUAL): 200 with the
/// signal, its exits and stop moves; 400 naming `stop_loss`; 404; 409 not ACTIVE.
pub async fn move_stop_now(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    require_bearer(&req, &state.config)?;
    let id = signal_id(&path)?;
    let body = Body::parse(json_or_empty(&body)?, &["stop_loss"])?;
    let new_stop = body.required_number("stop_loss")?;
    let current = find_signal(&state, id).await?;
    let config = state.config.clone();
    let moved = state
        .with_conn(move |conn| {
            let now = now_utc();
            let last = fresh_quote(conn, &current.symbol, now, &config)?.map(|q| q.price);
            move_stop_by_hand(conn, id, new_stop, last, now).map_err(|e| manual_error(id, e))
        })
        .await?;
    log::info!(
        "moved the stop of #{} {} by hand from {} to {}",
        moved.0.id,
        moved.0.symbol,
        price(moved.1.old_stop),
        price(moved.1.new_stop)
    );
    Ok(HttpResponse::Ok().json(signal_detail(&state, id).await?))
}
