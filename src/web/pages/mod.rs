//! Server-rendered HTML pages (askama templates in `templates/`, one base layout). Pages work
//! without JavaScript; `static/app.js` only refreshes live figures. Every page is a handful of
//! indexed queries, read from the database on each request.

pub mod analytics;
pub mod charts;
pub mod dashboard;
pub mod format;
pub mod history;
pub mod journal;
pub mod login;
pub mod trade;
mod views;

use actix_web::http::header::{HeaderValue, LOCATION};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use askama::Template;

use super::session::{self, Session};
use super::{ApiError, AppState};

/// What the base layout needs.
pub struct Layout {
    pub title: String,
    /// Which nav entry is current: `dashboard`, `journal`, `history`, `login` or ``.
    pub nav: &'static str,
    pub logged_in: bool,
    /// This session's CSRF token, for every form; empty when logged out.
    pub csrf: String,
    pub version: &'static str,
}

impl Layout {
    pub fn new(title: impl Into<String>, nav: &'static str, session: Option<&Session>) -> Layout {
        Layout {
            title: title.into(),
            nav,
            logged_in: session.is_some(),
            csrf: session.map(Session::csrf).unwrap_or_default(),
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// The session of a page request.
pub async fn session_of(req: &HttpRequest, state: &AppState) -> Option<Session> {
    session::current(req, state).await
}

/// An error shown as a page with the same status as its JSON twin.
#[derive(Debug)]
pub struct PageError(pub ApiError);

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<E: Into<ApiError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    status: u16,
    reason: String,
    message: String,
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.0.status_code()
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(chain) = &self.0 {
            log::error!("{chain}");
        }
        let status = self.status_code();
        let page = ErrorPage {
            layout: Layout::new(status.to_string(), "", None),
            status: status.as_u16(),
            reason: status.canonical_reason().unwrap_or("Error").to_owned(),
            message: self.0.to_string(),
        };
        let mut response = HttpResponse::build(status);
        if let Some(secs) = self.0.retry_after_secs() {
            response.insert_header((actix_web::http::header::RETRY_AFTER, secs.to_string()));
        }
        match page.render() {
            Ok(html) => response.content_type("text/html; charset=utf-8").body(html),
            Err(_) => response.body(self.0.to_string()),
        }
    }
}

/// A rendered page, 200.
pub fn html(page: &impl Template) -> Result<HttpResponse, PageError> {
    let body = page
        .render()
        .map_err(|e| ApiError::internal("rendering a page", &e))?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .body(body))
}

/// 303 to `to` after a form post. `to` is a [`local_path`] or one of ours; anything that is not
/// a valid header value goes to `/` rather than failing the response.
pub fn see_other(to: &str) -> HttpResponse {
    let location = HeaderValue::from_str(to).unwrap_or_else(|_| HeaderValue::from_static("/"));
    HttpResponse::SeeOther()
        .insert_header((LOCATION, location))
        .finish()
}

/// The longest `next` followed; a longer one is not a link of ours.
const MAX_NEXT_LEN: usize = 2_048;

/// Only a same-site path is followed after login or a form (DESIGN.md §13): it starts with one
/// `/` and holds only visible ASCII, so no scheme, no host (`//evil`), no backslash (browsers read
/// `/\evil` as `//evil`) and no control characters (browsers drop tabs and newlines, turning
/// `/\t/evil` into `//evil`). Anything else is `default`.
pub fn local_path(next: Option<&str>, default: &str) -> String {
    let is_local = |path: &str| {
        path.len() <= MAX_NEXT_LEN
            && path.starts_with('/')
            && !path[1..].starts_with('/')
            && path.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
    };
    match next {
        Some(path) if is_local(path) => path.to_owned(),
        _ => default.to_owned(),
    }
}

/// The HTML 404 of every path outside `/api`.
pub async fn not_found_page(req: HttpRequest) -> Result<HttpResponse, PageError> {
    Err(PageError(ApiError::NotFound(format!(
        "there is no page at {}",
        req.path()
    ))))
}

/// A form post from the browser: a valid session and its CSRF token, else 403.
pub async fn require_form_session(
    req: &HttpRequest,
    state: &AppState,
    csrf: &str,
) -> Result<Session, PageError> {
    let session = session_of(req, state).await.ok_or_else(|| {
        PageError(ApiError::Forbidden(
            "log in first: this action needs a session (see /login)".to_owned(),
        ))
    })?;
    if !session.csrf_matches(csrf) {
        return Err(PageError(ApiError::Forbidden(
            "the form's CSRF token is missing or stale; reload the page and try again".to_owned(),
        )));
    }
    Ok(session)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_same_site_paths_are_followed() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "/journal?symbol=BTCUSDT&page=2",
                "/journal?symbol=BTCUSDT&page=2",
                "a path",
            ),
            ("/trades/1#notes", "/trades/1#notes", "a fragment"),
            (
                "/a%2F%2Fb%25",
                "/a%2F%2Fb%25",
                "percent-sequences stay encoded",
            ),
            ("/", "/", "the root"),
            ("//evil.com", "/", "a host"),
            ("/\\evil.com", "/", "a backslash read as a slash"),
            ("/x\\y", "/", "any backslash"),
            ("/\t/evil.com", "/", "a tab browsers drop"),
            ("/\n/evil.com", "/", "a newline"),
            ("/\r\nSet-Cookie: a=b", "/", "header injection"),
            ("/ x", "/", "a space"),
            ("/\u{7f}", "/", "DEL"),
            ("/caf\u{e9}", "/", "non-ASCII"),
            ("https://evil.com/", "/", "a scheme"),
            ("javascript:alert(1)", "/", "a script URL"),
            ("evil.com", "/", "a relative name"),
            ("", "/", "empty"),
        ];
        for (next, expected, reason) in cases {
            assert_eq!(local_path(Some(next), "/"), *expected, "{reason}");
        }
        let long = format!("/{}", "a".repeat(MAX_NEXT_LEN));
        assert_eq!(local_path(Some(&long), "/"), "/", "too long");
        assert_eq!(local_path(None, "/trades/1"), "/trades/1", "no next");
    }

    #[test]
    fn see_other_never_fails_on_a_bad_location() {
        let response = see_other("/\nx");
        assert_eq!(response.status(), 303);
        assert_eq!(response.headers().get(LOCATION).unwrap(), "/");
    }
}
