//! `/trades/{id}`: one trade with a candlestick chart of its span marking entry, stop, targets,
//! exits and MFE/MAE (DESIGN.md §11; a level chart when no candle is stored), every exit and
//! stop move (DESIGN.md §10), its management settings, its journal entry with editable
//! notes and tags, and a manual close while it is open.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::format::{date_time_secs, money, number, price, quantity, share, signed_money, tone};
use super::views::{JournalRow, TradeRow};
use super::{html, local_path, require_form_session, see_other, session_of, Layout, PageError};
use crate::db::models::{SignalId, SignalRow, StopMoveRow, TradeExitRow};
use crate::db::overview;
use crate::domain::StopReason;
use crate::web::api::lists::{clean_tags, save_journal_notes, NOTES_LIMIT};
use crate::web::api::signals::close_now;
use crate::web::{ApiError, AppState};

pub mod chart;
use chart::candles::CandleChart;
use chart::TradeChart;

/// One exit in the page's list.
pub struct ExitLine {
    pub number: usize,
    pub time: String,
    pub reason: String,
    pub price: String,
    pub quantity: String,
    pub fee: String,
    pub pnl: String,
    pub tone: &'static str,
    pub balance_after: String,
}

/// The sums under the exits: what the trade booked so far.
pub struct ExitTotals {
    pub quantity: String,
    pub fee: String,
    pub pnl: String,
    pub tone: &'static str,
}

impl ExitTotals {
    fn of(exits: &[TradeExitRow]) -> ExitTotals {
        let pnl = exits.iter().map(|e| e.pnl).sum();
        ExitTotals {
            quantity: quantity(exits.iter().map(|e| e.quantity).sum()),
            fee: money(exits.iter().map(|e| e.fee).sum()),
            pnl: signed_money(pnl),
            tone: tone(pnl),
        }
    }
}

/// One stop move in the page's list.
pub struct StopMoveLine {
    pub time: String,
    pub old_stop: String,
    pub new_stop: String,
    pub reason: String,
}

/// One partial target and whether it has been filled.
pub struct TargetLine {
    pub number: usize,
    pub price: String,
    /// Of the original quantity.
    pub share: String,
    pub quantity: String,
    pub is_filled: bool,
}

/// The management settings as sentences (DESIGN.md §10).
pub struct ManagementView {
    pub targets: Vec<TargetLine>,
    pub breakeven: String,
    pub trailing: String,
}

impl ManagementView {
    fn new(s: &SignalRow, moves: &[StopMoveRow]) -> ManagementView {
        let filled = usize::try_from(s.targets_hit).unwrap_or(0);
        let targets = s
            .targets()
            .iter()
            .enumerate()
            .map(|(i, t)| TargetLine {
                number: i + 1,
                price: price(t.price),
                share: share(t.fraction),
                quantity: quantity(t.fraction * s.quantity),
                is_filled: i < filled,
            })
            .collect();
        let moved_by = |reason: StopReason| moves.iter().any(|m| m.reason == reason);
        let breakeven = match s.breakeven_at_r {
            Some(r) => format!(
                "at {}R the stop moves to the entry {}{}",
                number(r, 2),
                price(s.entry_price),
                if moved_by(StopReason::Breakeven) {
                    " (done)"
                } else {
                    ""
                }
            ),
            None => "off".to_owned(),
        };
        let trailing = match s.trailing_stop_pct {
            Some(pct) => {
                let from = if s.trailing_activate_at_r > 0.0 {
                    format!(
                        "once the trade is {}R ahead",
                        number(s.trailing_activate_at_r, 2)
                    )
                } else {
                    "from the start".to_owned()
                };
                format!(
                    "{}% behind the best price, {from}{}",
                    number(pct, 4),
                    if moved_by(StopReason::Trailing) {
                        " (active)"
                    } else {
                        ""
                    }
                )
            }
            None => "off".to_owned(),
        };
        ManagementView {
            targets,
            breakeven,
            trailing,
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
    pub initial_stop: String,
    /// The candlestick chart of the trade's span from the stored candles (DESIGN.md §11).
    pub candle_chart: Option<CandleChart>,
    /// The level chart, drawn when no candle is stored for the trade (old trades, a feed that
    /// was down, the replay feed).
    pub chart: TradeChart,
    pub exits: Vec<ExitLine>,
    pub exit_totals: ExitTotals,
    pub stop_moves: Vec<StopMoveLine>,
    pub management: ManagementView,
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
    let history = state
        .with_conn(move |conn| {
            overview::trade_with_candles(conn, id, |h| {
                chart::candles::window(&h.signal, &h.exits, &h.stop_moves)
            })
            .map_err(|e| match e {
                diesel::result::Error::NotFound => {
                    ApiError::NotFound(format!("there is no trade {id}"))
                }
                other => other.into(),
            })
        })
        .await?;
    let (
        overview::TradeHistory {
            signal,
            journal: entry,
            exits,
            stop_moves,
        },
        candles,
    ) = history;
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
        initial_stop: price(signal.initial_stop_loss),
        candle_chart: CandleChart::new(&signal, &exits, &stop_moves, &candles),
        chart: TradeChart::new(&signal, &exits, &stop_moves),
        exits: exits
            .iter()
            .enumerate()
            .map(|(i, e)| ExitLine {
                number: i + 1,
                time: date_time_secs(e.created_at),
                reason: e.reason.to_string(),
                price: price(e.price),
                quantity: quantity(e.quantity),
                fee: money(e.fee),
                pnl: signed_money(e.pnl),
                tone: tone(e.pnl),
                balance_after: money(e.balance_after),
            })
            .collect(),
        exit_totals: ExitTotals::of(&exits),
        stop_moves: stop_moves
            .iter()
            .map(|m| StopMoveLine {
                time: date_time_secs(m.created_at),
                old_stop: price(m.old_stop),
                new_stop: price(m.new_stop),
                reason: m.reason.to_string(),
            })
            .collect(),
        management: ManagementView::new(&signal, &stop_moves),
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
    close_now(&state, id, None).await?;
    Ok(see_other(&format!("/trades/{}", id.0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::models::StopMoveRow;
    use chart::tests::scaled_out;

    #[test]
    fn the_management_settings_read_as_sentences() {
        let (s, _, moves) = scaled_out();
        let view = ManagementView::new(&s, &moves[..1]);
        let targets: Vec<_> = view
            .targets
            .iter()
            .map(|t| {
                (
                    t.number,
                    t.price.as_str(),
                    t.share.as_str(),
                    t.quantity.as_str(),
                    t.is_filled,
                )
            })
            .collect();
        assert_eq!(
            targets,
            [
                (1, "103.00", "30%", "6", true),
                (2, "106.00", "30%", "6", true)
            ]
        );
        assert_eq!(
            view.breakeven, "off",
            "the fixture has no breakeven setting"
        );
        assert_eq!(view.trailing, "off");

        let mut managed = s.clone();
        managed.targets_hit = 1;
        managed.breakeven_at_r = Some(1.0);
        managed.trailing_stop_pct = Some(2.5);
        managed.trailing_activate_at_r = 1.2;
        let view = ManagementView::new(&managed, &moves[..1]);
        assert!(view.targets[0].is_filled && !view.targets[1].is_filled);
        assert_eq!(
            view.breakeven,
            "at 1R the stop moves to the entry 100.00 (done)"
        );
        assert_eq!(
            view.trailing,
            "2.5% behind the best price, once the trade is 1.2R ahead"
        );
        let view = ManagementView::new(&managed, &moves);
        assert_eq!(
            view.trailing,
            "2.5% behind the best price, once the trade is 1.2R ahead (active)"
        );
        managed.trailing_activate_at_r = 0.0;
        let none: [StopMoveRow; 0] = [];
        let view = ManagementView::new(&managed, &none);
        assert_eq!(view.breakeven, "at 1R the stop moves to the entry 100.00");
        assert_eq!(view.trailing, "2.5% behind the best price, from the start");
    }
}
