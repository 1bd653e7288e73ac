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

    /// Every coordinate is finite and inside the box whatever the row holds: rows stored before
    /// the level bounds (issue 10), or hand-edited ones, may carry 5e-324, 1.7e308 or infinity,
    /// and one `y="NaN"` breaks the whole drawing.
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
        let finite = || prices.iter().copied().filter(|p| p.is_finite());
        let low = finite().fold(f64::INFINITY, f64::min);
        let high = finite().fold(f64::NEG_INFINITY, f64::max);
        let (low, high) = if low <= high { (low, high) } else { (0.0, 1.0) };
        // Halves keep the arithmetic finite even from -f64::MAX to f64::MAX; 8 % of the span is
        // left free above and below.
        let half_span = (high / 2.0 - low / 2.0)
            .max(high.abs() * 5e-7)
            .max(f64::MIN_POSITIVE);
        let (mid, half) = (low / 2.0 + high / 2.0, half_span * 1.16);
        let y = |p: f64| {
            let y = Self::HEIGHT / 2.0 - (p / 2.0 - mid / 2.0) / half * Self::HEIGHT;
            if y.is_finite() {
                y.clamp(0.0, Self::HEIGHT)
            } else if p > mid {
                0.0
            } else {
                Self::HEIGHT
            }
        };
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
    close_now(&state, id, None).await?;
    Ok(see_other(&format!("/trades/{}", id.0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Direction, SignalStatus};

    fn row(entry: f64, stop: f64, target: f64, current: f64) -> SignalRow {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 11, 25)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap();
        SignalRow {
            id: 1,
            symbol: "BTCUSDT".to_owned(),
            direction: Direction::Long,
            status: SignalStatus::Active,
            entry_price: entry,
            stop_loss: stop,
            take_profit: target,
            quantity: 1.0,
            risk_amount: 1.0,
            confidence: 1.0,
            strategy: "api".to_owned(),
            timeframe: None,
            external_id: None,
            reasons: String::new(),
            notes: None,
            current_price: current,
            unrealized_pnl: 0.0,
            max_favorable_price: current.max(entry),
            max_adverse_price: current.min(entry),
            exit_price: None,
            exit_reason: None,
            pnl: None,
            fees: 0.0,
            created_at: at,
            closed_at: None,
            updated_at: at,
            initial_stop_loss: stop,
            remaining_quantity: 1.0,
            realized_pnl: 0.0,
            take_profits: "[]".to_owned(),
            breakeven_at_r: None,
            trailing_stop_pct: None,
            trailing_activate_at_r: 0.0,
            targets_hit: 0,
            stop_moved_by: None,
            entry_fee: 0.0,
        }
    }

    fn coordinates(chart: &TradeChart) -> Vec<f64> {
        let mut all: Vec<f64> = chart.levels.iter().map(|l| l.y).collect();
        all.extend([
            chart.exit_x,
            chart.exit_y,
            chart.band_top,
            chart.band_height,
        ]);
        for pair in chart.path.split(' ') {
            all.extend(pair.split(',').map(|n| n.parse::<f64>().unwrap()));
        }
        all
    }

    #[test]
    fn the_chart_stays_inside_its_box_for_any_stored_row() {
        let cases = [
            (row(100.0, 95.0, 110.0, 102.0), "an ordinary trade"),
            (
                row(100.0, 5e-324, 1.7e308, 100.0),
                "levels from before the bounds",
            ),
            (
                row(100.0, -f64::MAX, f64::MAX, 100.0),
                "the extremes of a double",
            ),
            (row(100.0, 95.0, f64::INFINITY, 100.0), "an infinite target"),
            (
                row(100.0, f64::NEG_INFINITY, 110.0, f64::NAN),
                "no finite stop or price",
            ),
            (
                row(f64::NAN, f64::NAN, f64::NAN, f64::NAN),
                "nothing finite at all",
            ),
            (row(0.0, 0.0, 0.0, 0.0), "all zero"),
            (row(0.0024, 0.0023, 0.0026, 0.002496), "a small coin"),
        ];
        for (signal, reason) in cases {
            let chart = TradeChart::new(&signal);
            for value in coordinates(&chart) {
                assert!(
                    value.is_finite() && (0.0..=TradeChart::WIDTH).contains(&value),
                    "{reason}: {value} in {:?}",
                    coordinates(&chart)
                );
            }
            for level in &chart.levels {
                assert!(level.y <= TradeChart::HEIGHT, "{reason}: {}", level.y);
            }
        }
    }

    #[test]
    fn levels_keep_their_order_on_the_chart() {
        let chart = TradeChart::new(&row(100.0, 95.0, 110.0, 102.0));
        let y = |label: &str| chart.levels.iter().find(|l| l.label == label).unwrap().y;
        assert!(y("target") < y("entry") && y("entry") < y("stop"));
        assert!(
            y("target") > 0.0 && y("stop") < TradeChart::HEIGHT,
            "padding"
        );
    }
}
