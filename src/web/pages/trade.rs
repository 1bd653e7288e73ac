//! `/trades/{id}`: one trade with a price chart marking entry, stop, target and exit, its
//! journal entry with editable notes and tags, and a manual close while it is open.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::format::{money, price};
use super::views::{JournalRow, TradeRow};
use super::{html, local_path, require_form_session, see_other, session_of, Layout, PageError};
use crate::db::models::{SignalId, SignalRow};
use crate::db::{journal, signals};
use crate::web::api::lists::{clean_tags, save_journal_notes, NOTES_LIMIT};
use crate::web::api::signals::close_now;
use crate::web::{ApiError, AppState};

/// A horizontal level on the chart.
pub struct Level {
    pub label: &'static str,
    pub price: String,
    pub y: f64,
    pub class: &'static str,
}

/// The trade's chart, in SVG user units of a 640 × 260 box.
pub struct TradeChart {
    pub levels: Vec<Level>,
    /// Entry → exit (or current price), the path the trade took as far as it is stored.
    pub path: String,
    pub exit_x: f64,
    pub exit_y: f64,
    pub exit_label: String,
    /// The band between the worst and best price seen while open.
    pub band_top: f64,
    pub band_height: f64,
}

impl TradeChart {
    const WIDTH: f64 = 640.0;
    const HEIGHT: f64 = 260.0;

    fn new(s: &SignalRow) -> TradeChart {
        let end_price = s.exit_price.unwrap_or(s.current_price);
        let prices = [
            s.entry_price,
            s.stop_loss,
            s.take_profit,
            end_price,
            s.max_favorable_price,
            s.max_adverse_price,
        ];
        let low = prices.iter().copied().fold(f64::INFINITY, f64::min);
        let high = prices.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let pad = (high - low).max(high * 1e-6) * 0.08;
        let (low, high) = (low - pad, high + pad);
        let y = |p: f64| Self::HEIGHT - (p - low) / (high - low) * Self::HEIGHT;
        let (x0, x1) = (90.0, Self::WIDTH - 20.0);
        let (top, bottom) = (
            y(s.max_favorable_price.max(s.max_adverse_price)),
            y(s.max_favorable_price.min(s.max_adverse_price)),
        );
        TradeChart {
            levels: vec![
                Level {
                    label: "target",
                    price: price(s.take_profit),
                    y: y(s.take_profit),
                    class: "up",
                },
                Level {
                    label: "entry",
                    price: price(s.entry_price),
                    y: y(s.entry_price),
                    class: "flat",
                },
                Level {
                    label: "stop",
                    price: price(s.stop_loss),
                    y: y(s.stop_loss),
                    class: "down",
                },
            ],
            path: format!(
                "{x0:.1},{:.1} {x1:.1},{:.1}",
                y(s.entry_price),
                y(end_price)
            ),
            exit_x: x1,
            exit_y: y(end_price),
            exit_label: match s.exit_price {
                Some(exit) => format!("exit {}", price(exit)),
                None => format!("now {}", price(s.current_price)),
            },
            band_top: top,
            band_height: (bottom - top).max(1.0),
        }
    }
}

#[derive(Template)]
#[template(path = "trades/show.html")]
pub struct TradePage {
    pub layout: Layout,
    pub trade: TradeRow,
    pub quantity: String,
    pub risk: String,
    pub fees: String,
    pub reasons: String,
    pub notes: String,
    pub timeframe: String,
    pub external_id: String,
    pub best: String,
    pub worst: String,
    pub chart: TradeChart,
    pub journal: Option<JournalRow>,
}

fn trade_id(raw: &str) -> Result<SignalId, PageError> {
    raw.parse::<i32>()
        .ok()
        .filter(|id| *id > 0)
        .map(SignalId)
        .ok_or_else(|| PageError(ApiError::NotFound(format!("there is no trade {raw}"))))
}

pub async fn trade_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let id = trade_id(&path)?;
    let session = session_of(&req, &state).await;
    let (signal, entry) = state
        .with_conn(move |conn| {
            let signal = signals::get_signal(conn, id).map_err(|e| match e {
                diesel::result::Error::NotFound => {
                    ApiError::NotFound(format!("there is no trade {id}"))
                }
                other => other.into(),
            })?;
            let entry = journal::for_signal(conn, id.0)?;
            Ok((signal, entry))
        })
        .await?;
    let page = TradePage {
        layout: Layout::new(
            format!("Trade {} {}", signal.id, signal.symbol),
            "",
            session.as_ref(),
        ),
        trade: TradeRow::new(&signal),
        quantity: format!("{:.8}", signal.quantity),
        risk: money(signal.risk_amount),
        fees: money(signal.fees),
        reasons: signal.reasons.clone(),
        notes: signal.notes.clone().unwrap_or_default(),
        timeframe: signal.timeframe.clone().unwrap_or_default(),
        external_id: signal.external_id.clone().unwrap_or_default(),
        best: price(signal.max_favorable_price),
        worst: price(signal.max_adverse_price),
        chart: TradeChart::new(&signal),
        journal: entry.as_ref().map(JournalRow::new),
    };
    html(&page)
}

#[derive(Deserialize)]
pub struct NotesForm {
    csrf: String,
    notes: String,
    tags: String,
    next: Option<String>,
}

/// `POST /journal/{id}`: save notes and tags from a form, then back to where the form was.
pub async fn save_notes_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<NotesForm>,
) -> Result<HttpResponse, PageError> {
    require_form_session(&req, &state, &form.csrf).await?;
    let id = path
        .parse::<i32>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            PageError(ApiError::NotFound(format!(
                "there is no journal entry {path}"
            )))
        })?;
    if form.notes.chars().count() > NOTES_LIMIT {
        return Err(PageError(ApiError::validation(
            "notes",
            format!("notes are at most {NOTES_LIMIT} characters"),
        )));
    }
    let tags = clean_tags(form.tags.split(','))?;
    let entry = save_journal_notes(&state, id, Some(form.notes.clone()), Some(tags)).await?;
    let back = format!("/trades/{}", entry.signal_id);
    Ok(see_other(&local_path(form.next.as_deref(), &back)))
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

/// `POST /trades/{id}/close`: the manual close of the trade page.
pub async fn close_trade_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    require_form_session(&req, &state, &form.csrf).await?;
    let id = trade_id(&path)?;
    close_now(&state, id).await?;
    Ok(see_other(&format!("/trades/{}", id.0)))
}
