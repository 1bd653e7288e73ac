//! Write access: `Authorization: Bearer <SIGNALDESK_API_TOKEN>`, the login form's token, or the
//! webhook's `token` field (its own `SIGNALDESK_WEBHOOK_TOKEN` when set). With no token configured
//! every write is refused, saying how to enable writes. Every wrong token counts against the
//! client's address ([`FailureLimiter`]); an address over the limit gets 429 whatever it sends.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use actix_web::{web, HttpRequest};
use sha2::{Digest, Sha256};

use super::limiter::{FailureLimiter, MAX_FAILURES};
use super::{ApiError, AppState};
use crate::config::Config;

/// Compare in constant time: both sides are hashed first, so neither the content nor the length
/// of the expected token shows in the time taken.
fn same_token(given: &str, expected: &str) -> bool {
    let (a, b) = (Sha256::digest(given), Sha256::digest(expected));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |diff, (x, y)| diff | (x ^ y))
        == 0
}

/// Check a presented token against the configuration.
pub fn check_token(given: Option<&str>, config: &Config) -> Result<(), ApiError> {
    let Some(expected) = config.api_token.as_deref() else {
        return Err(ApiError::Forbidden(
            "writes are disabled: set SIGNALDESK_API_TOKEN (or api_token in signaldesk.toml) and restart"
                .to_owned(),
        ));
    };
    check_against(given, expected)
}

/// Check a presented token against the one expected.
pub fn check_against(given: Option<&str>, expected: &str) -> Result<(), ApiError> {
    match given {
        None => Err(ApiError::Unauthorized(
            "missing API token: send Authorization: Bearer <token>".to_owned(),
        )),
        Some(token) if same_token(token, expected) => Ok(()),
        Some(_) => Err(ApiError::Unauthorized("invalid API token".to_owned())),
    }
}

/// The client's address for the failure limit: the TCP peer (see [`super::limiter`]).
pub fn client_address(req: &HttpRequest) -> IpAddr {
    req.peer_addr()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |addr| addr.ip())
}

fn limiter_of(req: &HttpRequest) -> Result<&FailureLimiter, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .map(|state| &state.failures)
        .ok_or_else(|| ApiError::Internal("no failure limiter in the app data".to_owned()))
}

/// 429 while the client's address is locked out, before any token is looked at.
pub fn refuse_if_locked(req: &HttpRequest, limiter: &FailureLimiter) -> Result<(), ApiError> {
    limiter
        .check(client_address(req), Instant::now())
        .map_err(|wait| {
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            ApiError::TooManyRequests {
                message: format!(
                    "too many failed attempts from this address ({MAX_FAILURES} in 15 minutes); try again in {secs} s"
                ),
                retry_after_secs: secs,
            }
        })
}

/// Count a wrong token against the client's address and log it: the address and the path,
/// never the token; the path is Debug-formatted, so it cannot forge log lines.
pub fn record_failure(req: &HttpRequest, limiter: &FailureLimiter, what: &str) {
    let addr = client_address(req);
    let recorded = limiter.record_failure(addr, Instant::now());
    log::warn!(
        "wrong {what} from {addr} on {:?} ({} of {MAX_FAILURES} allowed in 15 minutes)",
        req.path(),
        recorded.failures
    );
    if recorded.locked {
        log::warn!("{addr} is locked out for 15 minutes after {MAX_FAILURES} failed attempts");
    }
}

/// Require the bearer token of a write request: 429 while the address is locked out, 401 for a
/// missing or wrong token (a wrong one counts), 403 while writes are disabled. Only the API
/// token opens these endpoints, never the webhook token.
pub fn require_bearer(req: &HttpRequest, config: &Config) -> Result<(), ApiError> {
    let limiter = limiter_of(req)?;
    refuse_if_locked(req, limiter)?;
    let header = req.headers().get(actix_web::http::header::AUTHORIZATION);
    let given = header
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let checked = check_token(given, config);
    if matches!(checked, Err(ApiError::Unauthorized(_))) && header.is_some() {
        record_failure(req, limiter, "bearer token");
    }
    checked
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
