//! Browser sessions for the HTML write actions (DESIGN.md §7): `/login` takes the API token and
//! sets an HttpOnly, SameSite=Strict cookie; every form carries a CSRF token derived from the
//! session. Both are HMAC-SHA256 of the API token, so they need no server-side store and every
//! session ends when the token changes.

use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::HttpRequest;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::Config;

pub const COOKIE: &str = "signaldesk_session";
const SESSION_DAYS: i64 = 7;

fn mac(key: &str, message: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(message.as_bytes());
    mac
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A valid session: its cookie value, from which the CSRF token derives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    value: String,
    token: String,
}

impl Session {
    /// A new session cookie value, valid for a week from `now`.
    pub fn issue(api_token: &str, now: DateTime<Utc>) -> Session {
        let expires = now.timestamp() + SESSION_DAYS * 86_400;
        let signature = hex(&mac(api_token, &format!("session|{expires}"))
            .finalize()
            .into_bytes());
        Session {
            value: format!("{expires}.{signature}"),
            token: api_token.to_owned(),
        }
    }

    /// The session of a cookie value, if it is signed with `api_token` and not expired.
    pub fn verify(value: &str, api_token: &str, now: DateTime<Utc>) -> Option<Session> {
        let (expires, signature) = value.split_once('.')?;
        let expires_at: i64 = expires.parse().ok()?;
        if expires_at <= now.timestamp() {
            return None;
        }
        mac(api_token, &format!("session|{expires}"))
            .verify_slice(&unhex(signature)?)
            .ok()?;
        Some(Session {
            value: value.to_owned(),
            token: api_token.to_owned(),
        })
    }

    /// The CSRF token every form of this session carries.
    pub fn csrf(&self) -> String {
        hex(&mac(&self.token, &format!("csrf|{}", self.value))
            .finalize()
            .into_bytes())
    }

    /// Whether `given` is this session's CSRF token (constant-time).
    pub fn csrf_matches(&self, given: &str) -> bool {
        let Some(bytes) = unhex(given) else {
            return false;
        };
        mac(&self.token, &format!("csrf|{}", self.value))
            .verify_slice(&bytes)
            .is_ok()
    }

    pub fn cookie(&self) -> Cookie<'static> {
        Cookie::build(COOKIE, self.value.clone())
            .path("/")
            .http_only(true)
            .same_site(SameSite::Strict)
            .max_age(CookieDuration::days(SESSION_DAYS))
            .finish()
    }
}

/// A cookie that ends the session.
pub fn logout_cookie() -> Cookie<'static> {
    let mut cookie = Cookie::build(COOKIE, "")
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .finish();
    cookie.make_removal();
    cookie
}

/// The request's valid session, if any.
pub fn current(req: &HttpRequest, config: &Config) -> Option<Session> {
    let token = config.api_token.as_deref()?;
    let cookie = req.cookie(COOKIE)?;
    Session::verify(cookie.value(), token, Utc::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_verifies_only_with_its_token_and_before_it_expires() {
        let now = Utc::now();
        let session = Session::issue("secret", now);
        assert!(Session::verify(&session.value, "secret", now).is_some());
        assert!(Session::verify(&session.value, "other", now).is_none());
        let later = now + chrono::Duration::days(8);
        assert!(Session::verify(&session.value, "secret", later).is_none());
        let forged = format!("{}.{}", now.timestamp() + 999_999, &session.value[11..]);
        assert!(Session::verify(&forged, "secret", now).is_none());
        assert!(Session::verify("garbage", "secret", now).is_none());
    }

    #[test]
    fn csrf_tokens_belong_to_their_session() {
        let now = Utc::now();
        let a = Session::issue("secret", now);
        let b = Session::issue("secret", now + chrono::Duration::seconds(1));
        assert!(a.csrf_matches(&a.csrf()));
        assert!(!a.csrf_matches(&b.csrf()));
        assert!(!a.csrf_matches("zz"));
    }
}
