//! `POST /api/webhook/tradingview`: a TradingView alert. TradingView cannot send headers, so the
//! token is the body's `token` field (DESIGN.md §7). The token is checked before anything else
//! in the body, so an unauthenticated caller learns nothing about the fields (DESIGN.md §13):
//! `SIGNALDESK_WEBHOOK_TOKEN` when set (it opens only this endpoint), else the API token. Then the
//! same rules and answers as `POST /api/signals`.

use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use super::super::auth::{check_against, record_failure, refuse_if_locked};
use super::super::{ApiError, AppState};
use super::body::Body;
use super::signals::{
    confidence_field, level_fields, management_fields, open_at_market, symbol_field,
};
use crate::db::intake::SignalRequest;
use crate::domain::Direction;

/// The one answer for a body without the right token, whatever else is wrong with it.
fn unauthorized() -> ApiError {
    ApiError::Unauthorized(
        "missing or invalid token: TradingView sends it as the `token` field of the alert's JSON message"
            .to_owned(),
    )
}

pub async fn tradingview_webhook(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    refuse_if_locked(&req, &state.failures)?;
    let config = &state.config;
    let expected = config
        .webhook_token
        .as_deref()
        .or(config.api_token.as_deref())
        .ok_or_else(|| {
            ApiError::Forbidden(
                "the webhook is disabled: set SIGNALDESK_WEBHOOK_TOKEN (or SIGNALDESK_API_TOKEN) and restart"
                    .to_owned(),
            )
        })?;
    // Any content type: TradingView posts text/plain.
    let value = match serde_json::from_slice::<Value>(&body) {
        Ok(value @ Value::Object(_)) => value,
        _ => return Err(unauthorized()),
    };
    let token = value.get("token").and_then(Value::as_str);
    if check_against(token, expected).is_err() {
        if token.is_some() {
            record_failure(&req, &state.failures, "webhook token");
        }
        return Err(unauthorized());
    }
    let body = Body::parse_lenient(
        value,
        &[
            "token",
            "symbol",
            "action",
            "stop_loss",
            "take_profit",
            "confidence",
            "id",
            "timeframe",
            "notes",
            "take_profits",
            "breakeven_at_r",
            "trailing_stop_pct",
            "trailing_activate_at_r",
        ],
    )?;
    let symbol = symbol_field(&body)?;
    let direction = match body
        .required_str("action", 16)?
        .trim()
        .to_ascii_lowercase()
        .as_str()
    {
        "buy" | "long" => Direction::Long,
        "sell" | "short" => Direction::Short,
        other => {
            return Err(ApiError::validation(
                "action",
                format!("action `{other}` must be buy or sell"),
            ))
        }
    };
    let (stop_loss, take_profit) = level_fields(&body)?;
    let request = SignalRequest {
        symbol,
        direction,
        stop_loss,
        take_profit,
        confidence: confidence_field(&body)?,
        strategy: "webhook".to_owned(),
        timeframe: body.optional_str("timeframe", 16)?,
        external_id: body.optional_str("id", 128)?,
        reasons: "webhook signal".to_owned(),
        notes: body.optional_str("notes", 2_000)?,
        management: management_fields(&body)?,
    };
    open_at_market(&state, request).await
}
