//! HTTP: the JSON API (and, in later issues, the pages). Handlers parse the request, call one
//! `db::` function through `web::block`, and answer; no SQL and no trading state here. Depends on
//! `domain`, `db` and the read-only [`StatusBoard`]; nothing depends on `web`.

pub mod api;
pub mod auth;
pub mod error;

use std::sync::Arc;
use std::time::Instant;

use actix_web::{web, HttpRequest, HttpResponse};

use crate::config::Config;
use crate::db::{Conn, DbPool};
use crate::status::StatusBoard;
pub use error::ApiError;

/// What every handler can reach. Holds no trading state: lists and figures are queries.
pub struct AppState {
    pub pool: DbPool,
    pub config: Arc<Config>,
    pub status: StatusBoard,
    pub started_at: Instant,
}

impl AppState {
    /// Run a blocking database function on the blocking pool with a pooled connection.
    pub async fn with_conn<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut Conn) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        web::block(move || {
            let mut conn = pool
                .get()
                .map_err(|e| ApiError::Unavailable(format!("database unavailable: {e}")))?;
            f(&mut conn)
        })
        .await?
    }
}

/// Every route, in one place.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(json_config())
        .app_data(query_config())
        .app_data(path_config())
        .service(
            web::scope("/api")
                .route("/health", web::get().to(api::health::get_health))
                .route("/stats", web::get().to(api::overview::get_stats))
                .route("/data", web::get().to(api::overview::get_data))
                .route("/signals", web::post().to(api::signals::create_signal))
                .route(
                    "/signals/{id}",
                    web::get().to(api::signals::get_signal_by_id),
                )
                .route(
                    "/signals/{id}/close",
                    web::post().to(api::signals::close_signal_now),
                )
                .route(
                    "/webhook/tradingview",
                    web::post().to(api::webhook::tradingview_webhook),
                )
                .default_service(web::to(not_found)),
        );
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(format!(
        "no route for {} {}",
        req.method(),
        req.path()
    )))
}

/// Body limit 64 KiB (413) and JSON errors in the API's shape (DESIGN.md §7).
fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(64 * 1024)
        // TradingView posts alerts as text/plain; the body is parsed as JSON whatever its type.
        .content_type_required(false)
        .error_handler(|err, _req| {
            use actix_web::error::JsonPayloadError;
            let api = match &err {
                JsonPayloadError::OverflowKnownLength { .. }
                | JsonPayloadError::Overflow { .. } => {
                    ApiError::PayloadTooLarge("request body is larger than 64 KiB".to_owned())
                }
                JsonPayloadError::ContentType => ApiError::Validation {
                    field: None,
                    message: "expected Content-Type: application/json".to_owned(),
                },
                JsonPayloadError::Deserialize(e) => ApiError::Validation {
                    field: field_of_serde_error(&e.to_string()),
                    message: format!("invalid JSON body: {e}"),
                },
                other => ApiError::Validation {
                    field: None,
                    message: format!("invalid JSON body: {other}"),
                },
            };
            api.into()
        })
}

fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req| {
        let message = err.to_string();
        ApiError::Validation {
            field: field_of_serde_error(&message),
            message: format!("invalid query: {message}"),
        }
        .into()
    })
}

fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, _req| {
        ApiError::Validation {
            field: Some("id".to_owned()),
            message: format!("invalid path: {err}"),
        }
        .into()
    })
}

/// serde names the offending field in backticks: "unknown field `foo`", "missing field `bar`".
fn field_of_serde_error(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(message[start..start + len].to_owned())
}
