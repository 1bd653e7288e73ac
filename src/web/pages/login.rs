//! `/login` and `/logout`: the API token opens a browser session for the HTML write actions.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::Utc;
use serde::Deserialize;

use super::{local_path, require_form_session, see_other, session_of, Layout, PageError};
use crate::web::auth::check_token;
use crate::web::session::{logout_cookie, Session};
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
    let session = session_of(&req, &state);
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

pub async fn login_submit(
    state: web::Data<AppState>,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, PageError> {
    let next = local_path(form.next.as_deref(), "/");
    match check_token(Some(form.token.trim()), &state.config) {
        Ok(()) => {
            let token = state.config.api_token.as_deref().unwrap_or_default();
            let session = Session::issue(token, Utc::now());
            let mut response = see_other(&next);
            response
                .add_cookie(&session.cookie())
                .map_err(|e| ApiError::internal("setting the session cookie", &e))?;
            Ok(response)
        }
        Err(e) => {
            let status = actix_web::ResponseError::status_code(&e);
            let page = LoginPage {
                layout: Layout::new("Log in", "login", None),
                next,
                error: e.to_string(),
                writes_enabled: state.config.api_token.is_some(),
            };
            render(&page, status)
        }
    }
}

#[derive(Deserialize)]
pub struct LogoutForm {
    csrf: String,
}

pub async fn logout_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<LogoutForm>,
) -> Result<HttpResponse, PageError> {
    require_form_session(&req, &state, &form.csrf)?;
    let mut response = see_other("/");
    response
        .add_cookie(&logout_cookie())
        .map_err(|e| ApiError::internal("clearing the session cookie", &e))?;
    Ok(response)
}
