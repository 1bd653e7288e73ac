//! HTTP: the JSON API (and, in later issues, the pages). Handlers parse the request, call one
//! `db::` function through `web::block`, and answer; no SQL and no trading state here. Depends on
//! `domain`, `db` and the read-only [`StatusBoard`]; nothing depends on `web`.

pub mod api;
pub mod auth;
pub mod connections;
pub mod error;
pub mod limiter;
pub mod pages;
pub mod security;
pub mod session;

use std::sync::Arc;
use std::time::Instant;

use actix_web::{web, HttpRequest, HttpResponse};

use crate::config::Config;
use crate::db::{Conn, DbPool};
use crate::events::EventBus;
use crate::status::StatusBoard;
pub use error::ApiError;

/// What every handler can reach. Holds no trading state: lists and figures are queries.
pub struct AppState {
    pub pool: DbPool,
    pub config: Arc<Config>,
    pub status: StatusBoard,
    pub events: EventBus,
    pub started_at: Instant,
    /// The names a `Host` header may carry (DESIGN.md §13).
    pub hosts: security::AllowedHosts,
    /// Failed tokens per client address (in memory, bounded: see `limiter`).
    pub failures: limiter::FailureLimiter,
    /// Signs sessions and CSRF tokens; from the `secrets` table.
    pub session_key: session::SessionKey,
    /// Open `/api/events` streams, at most `max_event_streams`.
    pub event_streams: api::events::StreamSlots,
    /// What changes announce, and to whom (DESIGN.md §12).
    pub outbox: Arc<crate::notify::Outbox>,
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

/// The stylesheet and script compiled into the binary: the only files served under `/static/`
/// (DESIGN.md §13), so nothing on disk, in the working directory or the source tree, is ever
/// served, and the pages keep their look wherever the binary runs.
const EMBEDDED_STATIC: &[(&str, &str, &str)] = &[
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../../static/style.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/app.js"),
    ),
];

async fn embedded_static(path: web::Path<String>) -> Result<HttpResponse, pages::PageError> {
    let (_, content_type, body) = EMBEDDED_STATIC
        .iter()
        .find(|(name, _, _)| *name == path.as_str())
        .ok_or_else(|| pages::PageError(ApiError::NotFound(format!("no file /static/{path}"))))?;
    Ok(HttpResponse::Ok()
        .content_type(*content_type)
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(*body))
}

/// Every route, in one place.
pub fn routes(cfg: &mut web::ServiceConfig) {
    use pages::{analytics, dashboard, history, journal, login, trade};
    cfg.app_data(json_config())
        .app_data(form_config())
        .app_data(query_config())
        .app_data(path_config())
        .service(
            web::scope("/api")
                .service(api_resource("/health", "GET").route(read().to(api::health::get_health)))
                .service(api_resource("/stats", "GET").route(read().to(api::overview::get_stats)))
                .service(api_resource("/data", "GET").route(read().to(api::overview::get_data)))
                .service(
                    api_resource("/signals", "GET, POST")
                        .route(read().to(api::lists::list_signals))
                        .route(web::post().to(api::signals::create_signal)),
                )
                .service(
                    api_resource("/signals/{id}", "GET")
                        .route(read().to(api::signals::get_signal_by_id)),
                )
                .service(
                    api_resource("/signals/{id}/close", "POST")
                        .route(web::post().to(api::signals::close_signal_now)),
                )
                .service(
                    api_resource("/signals/{id}/stop", "POST")
                        .route(web::post().to(api::signals::move_stop_now)),
                )
                .service(
                    api_resource("/webhook/tradingview", "POST")
                        .route(web::post().to(api::webhook::tradingview_webhook)),
                )
                .service(api_resource("/journal", "GET").route(read().to(api::lists::list_journal)))
                .service(
                    api_resource("/journal/{id}", "PATCH")
                        .route(web::patch().to(api::lists::patch_journal)),
                )
                .service(api_resource("/daily", "GET").route(read().to(api::lists::list_daily)))
                .service(
                    api_resource("/analytics", "GET")
                        .route(read().to(api::analytics::get_analytics)),
                )
                .service(api_resource("/equity", "GET").route(read().to(api::lists::get_equity)))
                .service(api_resource("/events", "GET").route(read().to(api::events::get_events)))
                .default_service(web::to(not_found)),
        )
        .service(api_resource("/metrics", "GET").route(read().to(api::metrics::get_metrics)))
        .service(api_resource("/openapi.json", "GET").route(read().to(api::openapi::get_openapi)))
        .service(page_resource("/", "GET, HEAD").route(read().to(dashboard::dashboard_page)))
        .service(page_resource("/trades/{id}", "GET, HEAD").route(read().to(trade::trade_page)))
        .service(
            page_resource("/trades/{id}/close", "POST")
                .route(web::post().to(trade::close_trade_form)),
        )
        .service(page_resource("/journal", "GET, HEAD").route(read().to(journal::journal_page)))
        .service(
            page_resource("/journal/{id}", "POST").route(web::post().to(trade::save_notes_form)),
        )
        .service(page_resource("/history", "GET, HEAD").route(read().to(history::history_page)))
        .service(
            page_resource("/analytics", "GET, HEAD").route(read().to(analytics::analytics_page)),
        )
        .service(
            page_resource("/login", "GET, HEAD, POST")
                .route(read().to(login::login_page))
                .route(web::post().to(login::login_submit)),
        )
        .service(page_resource("/logout", "POST").route(web::post().to(login::logout_submit)))
        .service(page_resource("/static/{file}", "GET, HEAD").route(read().to(embedded_static)))
        .default_service(web::to(pages::not_found_page));
}

/// Form bodies: 64 KiB, errors as pages.
fn form_config() -> web::FormConfig {
    web::FormConfig::default()
        .limit(64 * 1024)
        .error_handler(|err, _req| {
            pages::PageError(ApiError::Validation {
                field: None,
                message: format!("invalid form: {err}"),
            })
            .into()
        })
}

/// GET, and HEAD answered as GET without the body (actix drops it), as HTTP asks of every
/// resource that has GET.
fn read() -> actix_web::Route {
    web::route().guard(actix_web::guard::Any(actix_web::guard::Get()).or(actix_web::guard::Head()))
}

/// A page whose wrong-method requests get a 405 page with the `Allow` header.
fn page_resource(path: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(move |req: HttpRequest| async move {
        let mut response = actix_web::ResponseError::error_response(&pages::PageError(
            ApiError::MethodNotAllowed(format!(
                "{} is not allowed on {}; allowed: {allow}",
                req.method(),
                req.path()
            )),
        ));
        response.headers_mut().insert(
            actix_web::http::header::ALLOW,
            actix_web::http::header::HeaderValue::from_static(allow),
        );
        response
    }))
}

/// An API resource whose wrong-method requests get 405, with the `Allow` header, in the API's
/// error shape. HEAD is served wherever GET is (see [`read`]).
fn api_resource(path: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(move |req: HttpRequest| async move {
        method_not_allowed(req, allow)
    }))
}

fn method_not_allowed(req: HttpRequest, allow: &'static str) -> HttpResponse {
    let error = ApiError::MethodNotAllowed(format!(
        "{} is not allowed on {}; allowed: {allow}",
        req.method(),
        req.path()
    ));
    let mut response = actix_web::ResponseError::error_response(&error);
    response.headers_mut().insert(
        actix_web::http::header::ALLOW,
        actix_web::http::header::HeaderValue::from_static(allow),
    );
    response
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

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test;

    #[actix_web::test]
    async fn embedded_static_files_serve_with_their_types() {
        let app = test::init_service(
            actix_web::App::new().route("/static/{file}", web::get().to(embedded_static)),
        )
        .await;
        let css = test::call_service(
            &app,
            test::TestRequest::get()
                .uri("/static/style.css")
                .to_request(),
        )
        .await;
        assert_eq!(css.status(), 200);
        assert_eq!(
            css.headers().get("content-type").unwrap(),
            "text/css; charset=utf-8"
        );
        let body = test::read_body(css).await;
        assert_eq!(body, include_str!("../../static/style.css").as_bytes());
        let missing = test::call_service(
            &app,
            test::TestRequest::get().uri("/static/none.js").to_request(),
        )
        .await;
        assert_eq!(missing.status(), 404);
    }
}
