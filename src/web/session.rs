//! Browser sessions for the HTML write actions (DESIGN.md §7, §13): `/login` takes the API token
//! and sets an HttpOnly, SameSite=Strict cookie (`Secure` when `SIGNALDESK_PUBLIC_URL` is https);
//! every form carries a CSRF token derived from the session.
//!
//! The cookie is `<id>.<mac>`: a random session id and an HMAC-SHA256 over it and a fingerprint
//! of the API token, keyed with the server's random session key (the `secrets` table, created on
//! first start), never with the token itself. A cookie is valid only while its `sessions` row
//! lives, so a session ends when it is logged out (the row is deleted), when it expires (7 days),
//! when the API token changes (the fingerprint no longer matches) or when the key is replaced.
//! The key is read once, at start ([`SessionKey`]): deleting its row takes effect at the next
//! start; deleting `sessions` rows ends those sessions at once. A row's id is the SHA-256 of
//! the cookie's id, so the database alone (a backup, say) yields no cookie.

use std::sync::Arc;

use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::HttpRequest;
use chrono::NaiveDateTime;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::AppState;
use crate::clock::now_utc;
use crate::config::Config;
use crate::db::sessions::{live_session, SessionRow};

pub const COOKIE: &str = "signaldesk_session";
const SESSION_DAYS: i64 = 7;
/// Bytes of a session id and of the session key.
const RANDOM_BYTES: usize = 32;
/// Hex characters of a session id and of a MAC.
const HEX_LEN: usize = 2 * RANDOM_BYTES;

/// The server's session key, read from the database at start. Never printed.
#[derive(Clone)]
pub struct SessionKey(Arc<[u8]>);

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(****)")
    }
}

/// The operating system's random number generator failed.
#[derive(Debug, thiserror::Error)]
#[error("the system random number generator failed: {0}")]
pub struct RandomError(getrandom::Error);

/// Random bytes from the operating system's CSPRNG.
pub fn random_bytes() -> Result<[u8; RANDOM_BYTES], RandomError> {
    let mut bytes = [0; RANDOM_BYTES];
    getrandom::fill(&mut bytes).map_err(RandomError)?;
    Ok(bytes)
}

impl SessionKey {
    pub fn new(bytes: &[u8]) -> SessionKey {
        SessionKey(Arc::from(bytes))
    }

    /// The MAC of `parts`, each length-prefixed so no two lists share a message.
    fn mac(&self, parts: &[&str]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        mac
    }

    fn mac_hex(&self, parts: &[&str]) -> String {
        hex(&self.mac(parts).finalize().into_bytes())
    }

    /// Whether `given` (hex) is the MAC of `parts`, compared in constant time.
    fn mac_matches(&self, parts: &[&str], given: &str) -> bool {
        unhex(given).is_some_and(|bytes| self.mac(parts).verify_slice(&bytes).is_ok())
    }

    /// What a session stores of the API token: a keyed MAC, not the token.
    fn fingerprint(&self, api_token: &str) -> String {
        self.mac_hex(&["api-token", api_token])
    }
}

/// The `sessions` row id of a cookie's session id.
fn row_id_of(id: &str) -> String {
    hex(&Sha256::digest(id.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Exactly `HEX_LEN` lower-case hex digits, nothing else (`u8::from_str_radix` alone would take
/// `+f` or upper case).
fn unhex(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    if text.len() != HEX_LEN {
        return None;
    }
    text.as_bytes()
        .chunks(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

/// A live session: its cookie value and CSRF token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    id: String,
    value: String,
    csrf: String,
}

impl Session {
    fn new(key: &SessionKey, id: String, fingerprint: &str) -> Session {
        let value = format!("{id}.{}", key.mac_hex(&["session", &id, fingerprint]));
        let csrf = key.mac_hex(&["csrf", &id]);
        Session { id, value, csrf }
    }

    /// A new session for `api_token` opened at `now`: the row to store, and the session.
    pub fn issue(
        key: &SessionKey,
        api_token: &str,
        now: NaiveDateTime,
    ) -> Result<(SessionRow, Session), RandomError> {
        let id = hex(&random_bytes()?);
        let fingerprint = key.fingerprint(api_token);
        let session = Session::new(key, id, &fingerprint);
        let row = SessionRow {
            id: session.row_id(),
            token_fingerprint: fingerprint,
            created_at: now,
            expires_at: now + chrono::Duration::days(SESSION_DAYS),
        };
        Ok((row, session))
    }

    /// The session id of a cookie value whose MAC is right for `api_token`.
    pub fn id_of_cookie(key: &SessionKey, value: &str, api_token: &str) -> Option<String> {
        let (id, mac) = value.split_once('.')?;
        unhex(id)?;
        let fingerprint = key.fingerprint(api_token);
        key.mac_matches(&["session", id, &fingerprint], mac)
            .then(|| id.to_owned())
    }

    /// The id of its `sessions` row: the SHA-256 of the cookie's id, not the id itself, so a
    /// copy of the database (a backup, say), which holds the session key too, cannot be turned
    /// into a cookie.
    pub fn row_id(&self) -> String {
        row_id_of(&self.id)
    }

    /// The CSRF token every form of this session carries.
    pub fn csrf(&self) -> String {
        self.csrf.clone()
    }

    /// Whether `given` is this session's CSRF token (constant-time).
    pub fn csrf_matches(&self, given: &str) -> bool {
        match (unhex(given), unhex(&self.csrf)) {
            (Some(given), Some(expected)) => {
                given
                    .iter()
                    .zip(&expected)
                    .fold(0u8, |diff, (a, b)| diff | (a ^ b))
                    == 0
            }
            _ => false,
        }
    }

    pub fn cookie(&self, secure: bool) -> Cookie<'static> {
        Cookie::build(COOKIE, self.value.clone())
            .path("/")
            .http_only(true)
            .secure(secure)
            .same_site(SameSite::Strict)
            .max_age(CookieDuration::days(SESSION_DAYS))
            .finish()
    }
}

/// Whether cookies are `Secure`: when users reach the server over https (DESIGN.md §13).
pub fn secure_cookies(config: &Config) -> bool {
    config
        .public_url
        .as_deref()
        .is_some_and(|url| url.starts_with("https://"))
}

/// A cookie that ends the session in the browser (the server ends it by deleting its row).
pub fn logout_cookie(secure: bool) -> Cookie<'static> {
    let mut cookie = Cookie::build(COOKIE, "")
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .finish();
    cookie.make_removal();
    cookie
}

/// The request's live session, if any: a cookie signed with the server's key for the current
/// API token, whose row exists and has not expired.
pub async fn current(req: &HttpRequest, state: &AppState) -> Option<Session> {
    let token = state.config.api_token.clone()?;
    let cookie = req.cookie(COOKIE)?;
    let key = state.session_key.clone();
    let id = Session::id_of_cookie(&key, cookie.value(), &token)?;
    let lookup = row_id_of(&id);
    let row = state
        .with_conn(move |conn| Ok(live_session(conn, &lookup, now_utc())?))
        .await;
    match row {
        Ok(Some(row)) if row.token_fingerprint == key.fingerprint(&token) => {
            Some(Session::new(&key, id, &row.token_fingerprint))
        }
        Ok(_) => None,
        Err(e) => {
            log::warn!("reading a session: {e}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SessionKey {
        SessionKey::new(&[7; 32])
    }

    #[test]
    fn a_cookie_verifies_only_with_its_key_and_token() {
        let now = now_utc();
        let (row, session) = Session::issue(&key(), "token-0123456789ab", now).unwrap();
        assert_eq!(row.expires_at - row.created_at, chrono::Duration::days(7));
        let id = Session::id_of_cookie(&key(), &session.value, "token-0123456789ab")
            .expect("a valid cookie");
        assert_eq!(row_id_of(&id), row.id, "the row holds the id's hash");
        assert!(!session.value.contains(&row.id), "not the id itself");
        assert_eq!(
            Session::id_of_cookie(&key(), &session.value, "other-token-0123456"),
            None,
            "a changed API token"
        );
        let other_key = SessionKey::new(&[8; 32]);
        assert_eq!(
            Session::id_of_cookie(&other_key, &session.value, "token-0123456789ab"),
            None,
            "another key"
        );
        let (_, other) = Session::issue(&key(), "token-0123456789ab", now).unwrap();
        let swapped = format!("{}.{}", &other.value[..64], &session.value[65..]);
        assert_eq!(
            Session::id_of_cookie(&key(), &swapped, "token-0123456789ab"),
            None,
            "a MAC belongs to its id"
        );
    }

    #[test]
    fn cookies_and_csrf_tokens_are_parsed_strictly() {
        let (_, session) = Session::issue(&key(), "token-0123456789ab", now_utc()).unwrap();
        let value = &session.value;
        let upper = format!("{}.{}", &value[..64], value[65..].to_uppercase());
        let plus = format!("{}.+{}", &value[..64], &value[66..]);
        for (bad, reason) in [
            (upper.as_str(), "upper-case hex"),
            (plus.as_str(), "a sign from_str_radix would take"),
            (&value[..value.len() - 2], "short"),
            ("garbage", "garbage"),
            ("", "empty"),
        ] {
            assert_eq!(
                Session::id_of_cookie(&key(), bad, "token-0123456789ab"),
                None,
                "{reason}"
            );
        }
        assert!(session.csrf_matches(&session.csrf()));
        let plus_csrf = format!("+{}", &session.csrf()[1..]);
        assert!(
            !session.csrf_matches(&plus_csrf),
            "a sign in the CSRF token"
        );
        assert!(!session.csrf_matches(&session.csrf().to_uppercase()));
        assert!(!session.csrf_matches("zz"));
        assert!(!session.csrf_matches(""));
    }

    #[test]
    fn csrf_tokens_belong_to_their_session() {
        let now = now_utc();
        let (_, a) = Session::issue(&key(), "token-0123456789ab", now).unwrap();
        let (_, b) = Session::issue(&key(), "token-0123456789ab", now).unwrap();
        assert_ne!(a.row_id(), b.row_id(), "ids are random");
        assert!(!a.csrf_matches(&b.csrf()));
    }

    #[test]
    fn cookies_are_secure_behind_https() {
        let (_, session) = Session::issue(&key(), "token-0123456789ab", now_utc()).unwrap();
        let cookie = session.cookie(true).to_string();
        for flag in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
            assert!(cookie.contains(flag), "{cookie}");
        }
        assert!(!session.cookie(false).to_string().contains("Secure"));
        assert!(logout_cookie(true).to_string().contains("Secure"));
        let env = |url: &str| {
            Config::from_layers(
                None,
                vec![("SIGNALDESK_PUBLIC_URL".to_owned(), url.to_owned())],
                &[],
            )
            .unwrap()
        };
        assert!(secure_cookies(&env("https://desk.example.com")));
        assert!(!secure_cookies(&env("http://desk.lan:8080")));
    }
}
