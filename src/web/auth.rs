//! Write access: `Authorization: Bearer <SIGNALDESK_API_TOKEN>` (or the webhook's `token`
//! field). With no token configured every write is refused, saying how to enable writes.

use actix_web::HttpRequest;

use super::ApiError;
use crate::config::Config;

/// Compare without an early exit, so the time taken does not reveal how much matched.
fn same_token(given: &str, expected: &str) -> bool {
    let (a, b) = (given.as_bytes(), expected.as_bytes());
    let mut diff = a.len() ^ b.len();
    for (i, byte) in b.iter().enumerate() {
        diff |= usize::from(a.get(i).copied().unwrap_or(0) ^ byte);
    }
    diff == 0
}

/// Check a presented token against the configuration.
pub fn check_token(given: Option<&str>, config: &Config) -> Result<(), ApiError> {
    let Some(expected) = config.api_token.as_deref() else {
        return Err(ApiError::Forbidden(
            "writes are disabled: set SIGNALDESK_API_TOKEN (or api_token in signaldesk.toml) and restart"
                .to_owned(),
        ));
    };
    match given {
        None => Err(ApiError::Unauthorized(
            "missing API token: send Authorization: Bearer <token>".to_owned(),
        )),
        Some(token) if same_token(token, expected) => Ok(()),
        Some(_) => Err(ApiError::Unauthorized("invalid API token".to_owned())),
    }
}

/// Require the bearer token of a write request.
pub fn require_bearer(req: &HttpRequest, config: &Config) -> Result<(), ApiError> {
    let given = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    check_token(given, config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_exactly() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abd", "abc"));
        assert!(!same_token("ab", "abc"));
        assert!(!same_token("abcd", "abc"));
        assert!(!same_token("", "abc"));
    }
}
