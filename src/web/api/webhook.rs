//! `POST /api/webhook/tradingview`: a TradingView alert. TradingView cannot send headers, so the
//! token is the body's `token` field (DESIGN.md §7). Same rules and answers as `POST /api/signals`.

use actix_web::{web, HttpResponse};
use serde_json::Value;

use super::super::auth::check_token;
use super::super::{ApiError, AppState};
use super::body::Body;
use super::signals::{confidence_field, level_fields, open_at_market, symbol_field, SignalFields};
use crate::domain::Direction;

pub async fn tradingview_webhook(
    state: web::Data<AppState>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let body = Body::parse_lenient(
        body.into_inner(),
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
        ],
    )?;
    let token = body.optional_str("token", 512)?;
    check_token(token.as_deref(), &state.config).map_err(|e| match e {
        ApiError::Unauthorized(message) => ApiError::Unauthorized(format!(
            "{} (TradingView sends it as the `token` field of the alert message)",
            message.replace("send Authorization: Bearer <token>", "add \"token\": \"…\"")
        )),
        other => other,
    })?;
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
    let fields = SignalFields {
        symbol,
        direction,
        stop_loss,
        take_profit,
        confidence: confidence_field(&body)?,
        timeframe: body.optional_str("timeframe", 16)?,
        notes: body.optional_str("notes", 2_000)?,
        external_id: body.optional_str("id", 128)?,
    };
    open_at_market(&state, fields, "webhook").await
}
