//! Server-rendered HTML pages (askama templates in `templates/`, one base layout). Pages work
//! without JavaScript; `static/app.js` only refreshes live figures. Every page is a handful of
//! indexed queries, read from the database on each request.

pub mod dashboard;
pub mod format;
pub mod history;
pub mod journal;
pub mod login;
pub mod trade;
mod views;

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
pub fn session_of(req: &HttpRequest, state: &AppState) -> Option<Session> {
    session::current(req, &state.config)
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
        match page.render() {
            Ok(html) => HttpResponse::build(status)
                .content_type("text/html; charset=utf-8")
                .body(html),
            Err(_) => HttpResponse::build(status).body(self.0.to_string()),
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

/// 303 to `to` after a form post.
pub fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", to))
        .finish()
}

/// Only local paths are followed after login or a form, never another site.
pub fn local_path(next: Option<&str>, default: &str) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path.to_owned()
        }
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
pub fn require_form_session(
    req: &HttpRequest,
    state: &AppState,
    csrf: &str,
) -> Result<Session, PageError> {
    let session = session_of(req, state).ok_or_else(|| {
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
