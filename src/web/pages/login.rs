//! `/login` and `/logout`: the API token opens a browser session for the HTML write actions.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::{local_path, require_form_session, see_other, session_of, Layout, PageError};
use crate::clock::now_utc;
use crate::db::sessions::{close_session, open_session};
use crate::web::auth::{check_token, record_failure, refuse_if_locked};
use crate::web::session::{logout_cookie, secure_cookies, Session};
use crate::web::{ApiError, AppState};

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub layout: Layout,
    pub next: String,
    pub error: String,
    pub writes_enabled: bool,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

fn render(
    page: &LoginPage,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse, PageError> {
    let body = page
        .render()
        .map_err(|e| ApiError::internal("rendering the login page", &e))?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .body(body))
}

pub async fn login_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, PageError> {
    let session = session_of(&req, &state).await;
    let page = LoginPage {
        layout: Layout::new("Log in", "login", session.as_ref()),
        next: local_path(query.next.as_deref(), "/"),
        error: String::new(),
        writes_enabled: state.config.api_token.is_some(),
    };
    render(&page, actix_web::http::StatusCode::OK)
}

#[derive(Deserialize)]
pub struct LoginForm {
    token: String,
    next: Option<String>,
}

/// `POST /login`: a right token opens a new session (and ends the one the browser had). A wrong
/// one counts against the address; a locked-out address gets 429 even with the right token.
pub async fn login_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, PageError> {
    let next = local_path(form.next.as_deref(), "/");
    refuse_if_locked(&req, &state.failures)?;
    if let Err(e) = check_token(Some(form.token.trim()), &state.config) {
        if matches!(e, ApiError::Unauthorized(_)) {
            record_failure(&req, &state.failures, "login token");
        }
        let status = actix_web::ResponseError::status_code(&e);
        let page = LoginPage {
            layout: Layout::new("Log in", "login", None),
            next,
            error: e.to_string(),
            writes_enabled: state.config.api_token.is_some(),
        };
        return render(&page, status);
    }
    let token = state.config.api_token.clone().unwrap_or_default();
    let (row, session) = Session::issue(&state.session_key, &token, now_utc())
        .map_err(|e| ApiError::internal("opening a session", &e))?;
    let previous = session_of(&req, &state).await;
    state
        .with_conn(move |conn| {
            if let Some(previous) = previous {
                close_session(conn, &previous.row_id())?;
            }
            Ok(open_session(conn, &row)?)
        })
        .await?;
    let mut response = see_other(&next);
    response
        .add_cookie(&session.cookie(secure_cookies(&state.config)))
        .map_err(|e| ApiError::internal("setting the session cookie", &e))?;
    Ok(response)
}

#[derive(Deserialize)]
pub struct LogoutForm {
    csrf: String,
}

/// `POST /logout`: the session's row is deleted, so its cookie is refused from now on, even if
/// a copy of it is replayed.
pub async fn logout_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<LogoutForm>,
) -> Result<HttpResponse, PageError> {
    let session = require_form_session(&req, &state, &form.csrf).await?;
    let id = session.row_id();
    state
        .with_conn(move |conn| Ok(close_session(conn, &id)?))
        .await?;
    let mut response = see_other("/");
    response
        .add_cookie(&logout_cookie(secure_cookies(&state.config)))
        .map_err(|e| ApiError::internal("clearing the session cookie", &e))?;
    Ok(response)
}
