//! `POST /api/signals`, `GET /api/signals/{id}`, `POST /api/signals/{id}/close` (DESIGN.md §5,
//! §7). Opening goes through `db::intake::open_signal`, the one path every signal takes.

use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::Value;

use super::super::auth::require_bearer;
use super::super::{ApiError, AppState};
use super::body::{json_value, Body};
use crate::clock::now_utc;
use crate::db::intake::{close_at_market, open_signal, IntakeError, SignalRequest};
use crate::db::models::{JournalEntryRow, QuoteRow, SignalId, SignalRow};
use crate::db::quotes;
use crate::db::signals::{get_signal, AddOutcome, CloseOutcome, ClosedTrade};
use crate::domain::format::price;
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

/// `GET /api/signals/{id}`
pub async fn get_signal_by_id(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<web::Json<SignalRow>, ApiError> {
    let id = signal_id(&path)?;
    Ok(web::Json(find_signal(&state, id).await?))
}

#[derive(Serialize)]
struct ClosedResponse {
    signal: SignalRow,
    journal: JournalEntryRow,
    balance_after: f64,
}

/// Close trade `id` at the current price (exit_reason MANUAL): 404 unknown, 409 not ACTIVE, 503
/// without a fresh price. Shared by the API and the trade page's form.
pub async fn close_now(state: &AppState, id: SignalId) -> Result<ClosedTrade, ApiError> {
    let current = find_signal(state, id).await?;
    if current.status != SignalStatus::Active {
        return Err(ApiError::Conflict(format!(
            "signal {id} is {}, not ACTIVE",
            current.status
        )));
    }
    let config = state.config.clone();
    let no_fresh_price = no_price(state, &current.symbol);
    let outcome = state
        .with_conn(move |conn| {
            let now = now_utc();
            let quote = fresh_quote(conn, &current.symbol, now, &config)?.ok_or(no_fresh_price)?;
            Ok(close_at_market(
                conn,
                id,
                quote.price,
                &config.rules,
                config.initial_balance,
                now,
            )?)
        })
        .await?;
    match outcome {
        CloseOutcome::Closed(closed) => {
            log::info!(
                "closed #{} {} MANUAL at {} pnl {:.4}",
                closed.signal.id,
                closed.signal.symbol,
                price(closed.journal.exit_price),
                closed.journal.pnl
            );
            Ok(*closed)
        }
        CloseOutcome::NotActive(status) => Err(ApiError::Conflict(format!(
            "signal {id} is {status}, not ACTIVE"
        ))),
    }
}

/// `POST /api/signals/{id}/close`: close at the current price, exit_reason MANUAL.
pub async fn close_signal_now(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    require_bearer(&req, &state.config)?;
    let id = signal_id(&path)?;
    let closed = close_now(&state, id).await?;
    Ok(HttpResponse::Ok().json(ClosedResponse {
        signal: closed.signal,
        journal: closed.journal,
        balance_after: closed.balance_after,
    }))
}
