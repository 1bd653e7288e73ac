//! `/journal`: every journal entry, filterable by symbol, outcome and date range, newest first,
//! paginated with the same keyset cursor as the API; notes and tags editable in place.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::views::JournalRow;
use super::{html, session_of, Layout, PageError};
use crate::db::journal;
use crate::web::api::lists::journal_filter;
use crate::web::api::params::{next_cursor, Params};
use crate::web::AppState;

const PAGE_SIZE: i64 = 50;

#[derive(Template)]
#[template(path = "journal.html")]
pub struct JournalPage {
    pub layout: Layout,
    pub rows: Vec<JournalRow>,
    pub symbol: String,
    pub outcome: String,
    pub from: String,
    pub to: String,
    /// Query string of the next page, empty on the last page.
    pub next_query: String,
    /// This page's own path and query, where the notes forms return.
    pub here: String,
}

pub async fn journal_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let session = session_of(&req, &state).await;
    let params = Params::parse(
        req.query_string(),
        &["symbol", "outcome", "from", "to", "before_id"],
    )?;
    let filter = journal_filter(&params)?;
    let before_id = params.before_id()?;
    let mut entries = state
        .with_conn(move |conn| {
            Ok(journal::list_entries(
                conn,
                &filter,
                before_id,
                PAGE_SIZE + 1,
            )?)
        })
        .await?;
    let next = next_cursor(&mut entries, PAGE_SIZE, |e| e.id);
    let keep = |name: &str| params.text(name).unwrap_or_default().to_owned();
    let (symbol, outcome, from, to) = (keep("symbol"), keep("outcome"), keep("from"), keep("to"));
    let base: Vec<(&str, &str)> = [
        ("symbol", symbol.as_str()),
        ("outcome", outcome.as_str()),
        ("from", from.as_str()),
        ("to", to.as_str()),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .collect();
    let encode = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect::<Vec<_>>()
            .join("&")
    };
    let next_query = next
        .map(|id| {
            let cursor = id.to_string();
            let mut pairs = base.clone();
            pairs.push(("before_id", cursor.as_str()));
            encode(&pairs)
        })
        .unwrap_or_default();
    let here = if req.query_string().is_empty() {
        "/journal".to_owned()
    } else {
        format!("/journal?{}", req.query_string())
    };
    let page = JournalPage {
        layout: Layout::new("Journal", "journal", session.as_ref()),
        rows: entries.iter().map(JournalRow::new).collect(),
        symbol,
        outcome,
        from,
        to,
        next_query,
        here,
    };
    html(&page)
}

/// Percent-encode a query value.
fn urlencode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b':' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
