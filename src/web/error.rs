//! Every JSON error is `{"error": "<what is wrong>", "field": "<name>" | null}` with a 4xx/5xx
//! status (DESIGN.md §5). Internal causes go to the log with their whole chain; the client gets a
//! generic message.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::db::DbError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Bad input: 400 naming the field.
    #[error("{message}")]
    Validation {
        field: Option<String>,
        message: String,
    },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    /// A gate refused the request: 409.
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The body did not arrive in time: 408.
    #[error("{0}")]
    RequestTimeout(String),
    /// The body is compressed (a `Content-Encoding` other than identity): 415.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Too many failed attempts from this address: 429 with `Retry-After`.
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after_secs: u64,
    },
    /// A dependency (feed, database) cannot serve now: 503.
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(String),
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    field: Option<&'a str>,
}

impl ApiError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Validation {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// A failure whose cause is logged, not shown.
    pub fn internal(context: &str, cause: &dyn std::error::Error) -> Self {
        let mut chain = format!("{context}: {cause}");
        let mut source = cause.source();
        while let Some(inner) = source {
            chain.push_str(&format!(": {inner}"));
            source = inner.source();
        }
        ApiError::Internal(chain)
    }

    /// The wait a 429 tells the client, in whole seconds.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            ApiError::TooManyRequests {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            ApiError::Validation { field, .. } => field.as_deref(),
            _ => None,
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::NotFound => ApiError::NotFound("not found".to_owned()),
            other => ApiError::internal("database query", &other),
        }
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Query(q) => q.into(),
            DbError::Pool(p) => ApiError::Unavailable(format!("database unavailable: {p}")),
            other => ApiError::internal("database", &other),
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::internal("blocking pool", &e)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Validation { .. } => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(chain) = self {
            log::error!("{chain}");
        }
        let message = self.to_string();
        let mut response = HttpResponse::build(self.status_code());
        if let Some(secs) = self.retry_after_secs() {
            response.insert_header((actix_web::http::header::RETRY_AFTER, secs.to_string()));
        }
        if let ApiError::UnsupportedMediaType(_) = self {
            // RFC 9110 §15.5.16: say which content codings would have been accepted.
            response.insert_header((actix_web::http::header::ACCEPT_ENCODING, "identity"));
        }
        response.json(ErrorBody {
            error: &message,
            field: self.field(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;

    async fn body_of(error: ApiError) -> (u16, String) {
        let response = error.error_response();
        let status = response.status().as_u16();
        let bytes = to_bytes(response.into_body()).await.unwrap();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    #[actix_web::test]
    async fn each_error_renders_its_status_and_exact_body() {
        let cases = [
            (
                ApiError::validation("stop_loss", "stop_loss must be below the entry for a LONG"),
                400,
                r#"{"error":"stop_loss must be below the entry for a LONG","field":"stop_loss"}"#,
            ),
            (
                ApiError::NotFound("signal 7 not found".into()),
                404,
                r#"{"error":"signal 7 not found","field":null}"#,
            ),
            (
                ApiError::Conflict("Already have open position".into()),
                409,
                r#"{"error":"Already have open position","field":null}"#,
            ),
            (
                ApiError::Unavailable("no fresh price".into()),
                503,
                r#"{"error":"no fresh price","field":null}"#,
            ),
            (
                ApiError::RequestTimeout("the request body did not arrive within 10 s".into()),
                408,
                r#"{"error":"the request body did not arrive within 10 s","field":null}"#,
            ),
            (
                ApiError::UnsupportedMediaType("compressed bodies are refused".into()),
                415,
                r#"{"error":"compressed bodies are refused","field":null}"#,
            ),
            (
                ApiError::TooManyRequests {
                    message: "too many failed attempts".into(),
                    retry_after_secs: 60,
                },
                429,
                r#"{"error":"too many failed attempts","field":null}"#,
            ),
            (
                ApiError::Internal("secret cause".into()),
                500,
                r#"{"error":"internal error","field":null}"#,
            ),
        ];
        for (error, status, body) in cases {
            assert_eq!(body_of(error).await, (status, body.to_owned()));
        }
    }

    #[actix_web::test]
    async fn too_many_requests_says_when_to_retry() {
        let response = ApiError::TooManyRequests {
            message: "wait".into(),
            retry_after_secs: 42,
        }
        .error_response();
        assert_eq!(response.headers().get("retry-after").unwrap(), "42");
    }

    #[actix_web::test]
    async fn diesel_not_found_is_a_404() {
        let (status, _) = body_of(diesel::result::Error::NotFound.into()).await;
        assert_eq!(status, 404);
    }
}
