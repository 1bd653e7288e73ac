//! `/history`: daily statistics, the equity curve and per-symbol results (trades, win rate, pnl,
//! average R) over a date range, the last 90 days by default.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::Duration;

use super::format::{money, signed_money, tone};
use super::{html, session_of, Layout, PageError};
use crate::clock::now_utc;
use crate::db::{analytics, daily_stats};
use crate::domain::analytics::Dimension;
use crate::web::api::lists::daily_equity;
use crate::web::api::params::Params;
use crate::web::{ApiError, AppState};

pub struct DayRow {
    pub date: String,
    pub scans: i32,
    pub signals: i32,
    pub closed: i32,
    pub wins: i32,
    pub losses: i32,
    pub start: String,
    pub end: String,
    pub pnl: String,
    pub tone: &'static str,
}

pub struct SymbolRow {
    pub symbol: String,
    pub trades: i64,
    pub win_rate: String,
    pub pnl: String,
    pub tone: &'static str,
    pub average_r: String,
}

#[derive(Template)]
#[template(path = "history.html")]
pub struct HistoryPage {
    pub layout: Layout,
    pub from: String,
    pub to: String,
    pub days: Vec<DayRow>,
    pub symbols: Vec<SymbolRow>,
    pub equity_chart: Option<super::charts::Svg>,
}

pub async fn history_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let session = session_of(&req, &state).await;
    let params = Params::parse(req.query_string(), &["from", "to"])?;
    let now = now_utc();
    let to = params.date("to")?.unwrap_or(now.date());
    let from = params.date("from")?.unwrap_or(to - Duration::days(89));
    if from > to {
        return Err(PageError(ApiError::validation("from", "from is after to")));
    }
    let (days, results) = state
        .with_conn(move |conn| {
            let days = daily_stats::list(conn, from, to)?;
            let results = analytics::breakdown(conn, Dimension::Symbol, from, to)?;
            Ok((days, results))
        })
        .await?;
    let curve: Vec<_> = daily_equity(&days, now)
        .into_iter()
        .map(|p| (p.time, p.balance))
        .collect();
    let page = HistoryPage {
        layout: Layout::new("History", "history", session.as_ref()),
        from: from.to_string(),
        to: to.to_string(),
        days: days
            .iter()
            .rev()
            .map(|d| DayRow {
                date: d.date.to_string(),
                scans: d.scan_count,
                signals: d.signals_generated,
                closed: d.trades_closed,
                wins: d.wins,
                losses: d.losses,
                start: money(d.starting_balance),
                end: money(d.paper_balance),
                pnl: signed_money(d.realized_pnl),
                tone: tone(d.realized_pnl),
            })
            .collect(),
        symbols: results
            .iter()
            .map(|(symbol, r)| SymbolRow {
                symbol: symbol.clone(),
                trades: r.trades,
                win_rate: if r.wins + r.losses > 0 {
                    format!("{:.1}%", r.wins as f64 / (r.wins + r.losses) as f64 * 100.0)
                } else {
                    "—".to_owned()
                },
                pnl: signed_money(r.pnl),
                tone: tone(r.pnl),
                average_r: format!("{:+.2}R", r.r_sum / r.trades.max(1) as f64),
            })
            .collect(),
        equity_chart: super::charts::equity_chart(&curve),
    };
    html(&page)
}
