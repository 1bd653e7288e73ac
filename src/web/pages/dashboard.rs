//! `/`: the dashboard. Balance, equity, today's figures, open trades with live pnl and distance to
//! stop and target, today's signals, closes and journal, the equity curve, trading sessions, the
//! price strip, feed status and last tick.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::Duration;

use super::format::{money, percent, price, signed_money, tone};
use super::views::{sessions, JournalRow, SessionRow, TradeRow};
use super::{html, session_of, Layout, PageError};
use crate::clock::now_utc;
use crate::db::{daily_stats, journal, overview};
use crate::status::EngineView;
use crate::web::api::lists::daily_equity;
use crate::web::api::overview::watched_quotes;
use crate::web::AppState;

pub struct PriceCell {
    pub symbol: String,
    pub price: String,
    pub change: String,
    pub tone: &'static str,
    pub stale: bool,
    /// The market's time of the price when it is not now (the replay feed).
    pub market_time: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    pub layout: Layout,
    pub date: String,
    pub balance: String,
    pub equity: String,
    pub unrealized: String,
    pub unrealized_tone: &'static str,
    pub today_pnl: String,
    pub today_tone: &'static str,
    pub total_pnl: String,
    pub total_tone: &'static str,
    pub win_rate: String,
    pub wins: i64,
    pub losses: i64,
    pub scans: i64,
    pub signals_count: i64,
    pub blown: bool,
    pub min_balance: String,
    pub prices: Vec<PriceCell>,
    pub open_trades: Vec<TradeRow>,
    pub signals_today: Vec<TradeRow>,
    pub closed_today: Vec<TradeRow>,
    pub journal: Vec<JournalRow>,
    pub equity_chart: Option<super::charts::Svg>,
    pub sessions: Vec<SessionRow>,
    pub feed_source: String,
    pub feed_status: String,
    pub feed_error: String,
    pub feed_update: String,
    pub last_tick: String,
    /// Which instance leads (DESIGN.md §9), and whether it is this one.
    pub leader: String,
    /// Notification targets whose messages are not getting through (DESIGN.md §12).
    pub failing_targets: Vec<FailingTarget>,
}

pub struct FailingTarget {
    pub target: String,
    pub state: String,
    pub error: String,
}

pub async fn dashboard_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let session = session_of(&req, &state).await;
    let now = now_utc();
    let initial = state.config.initial_balance;
    let config = state.config.clone();
    let board = state.status.clone();
    let (today, days, closes, quotes, view) = state
        .with_conn(move |conn| {
            let today = overview::today(conn, now.date(), initial)?;
            let days = daily_stats::list(conn, now.date() - Duration::days(29), now.date())?;
            let start = crate::domain::time::day_bounds(now.date()).0;
            let closes = journal::balance_points(conn, start, now + Duration::seconds(1), 500)?;
            let view = EngineView::read(conn, &board)?;
            let outbox = crate::db::notifications::summary(conn)?;
            Ok((
                today,
                days,
                closes,
                watched_quotes(conn, &config)?,
                (view, outbox),
            ))
        })
        .await?;
    let (view, outbox) = view;
    // A target is failing while a message to it is retrying, or when one was given up.
    let failing_targets: Vec<FailingTarget> = outbox
        .into_iter()
        .filter(|t| t.retrying > 0 || t.failed > 0)
        .map(|t| FailingTarget {
            state: match (t.retrying, t.failed) {
                (0, failed) => format!("{failed} given up"),
                (retrying, 0) => format!("{retrying} retrying"),
                (retrying, failed) => format!("{retrying} retrying, {failed} given up"),
            },
            target: t.target,
            error: t.last_error.unwrap_or_default(),
        })
        .collect();

    // The last 30 days by day, then today's closes one by one.
    let mut curve: Vec<(chrono::NaiveDateTime, f64)> = daily_equity(&days, now)
        .into_iter()
        .map(|p| (p.time, p.balance))
        .filter(|(t, _)| *t <= crate::domain::time::day_bounds(now.date()).0)
        .collect();
    curve.extend(closes);
    curve.push((now, today.figures.balance));

    let me = &state.status.identity().id;
    let leader = match &view.leader {
        Some(lease) if lease.expires_at <= view.now => {
            format!("none (lease of {} ran out)", lease.holder)
        }
        Some(lease) if &lease.holder == me => format!("{} (this instance)", lease.holder),
        Some(lease) => format!("{} (this is {me})", lease.holder),
        None => "none yet".to_owned(),
    };
    let EngineView { feed, engine, .. } = view;
    let prices = state
        .config
        .symbols
        .iter()
        .map(
            |symbol| match quotes.iter().find(|q| q.symbol == symbol.as_str()) {
                Some(q) => PriceCell {
                    symbol: symbol.to_string(),
                    price: price(q.price),
                    change: q.change_24h_pct.map(percent).unwrap_or_default(),
                    tone: tone(q.change_24h_pct.unwrap_or(0.0)),
                    stale: !q.is_fresh(now_utc(), state.config.stale_secs),
                    market_time: if q.market_time == q.price_time {
                        String::new()
                    } else {
                        q.market_time.format("%Y-%m-%d %H:%M UTC").to_string()
                    },
                },
                None => PriceCell {
                    symbol: symbol.to_string(),
                    price: "—".to_owned(),
                    change: String::new(),
                    tone: "flat",
                    stale: true,
                    market_time: String::new(),
                },
            },
        )
        .collect();
    let f = &today.figures;
    let page = DashboardPage {
        layout: Layout::new("Dashboard", "dashboard", session.as_ref()),
        date: f.date.to_string(),
        balance: money(f.balance),
        equity: money(f.equity),
        unrealized: signed_money(f.unrealized_pnl),
        unrealized_tone: tone(f.unrealized_pnl),
        today_pnl: signed_money(f.realized_pnl_today),
        today_tone: tone(f.realized_pnl_today),
        total_pnl: signed_money(f.total_pnl),
        total_tone: tone(f.total_pnl),
        win_rate: format!("{:.1}%", f.win_rate),
        wins: f.wins_today,
        losses: f.losses_today,
        scans: f.scans_today,
        signals_count: f.signals_today,
        blown: f.balance <= state.config.rules.min_balance,
        min_balance: money(state.config.rules.min_balance),
        failing_targets,
        prices,
        open_trades: today.active_trades.iter().map(TradeRow::new).collect(),
        signals_today: today.signals_today.iter().map(TradeRow::new).collect(),
        closed_today: today.completed_trades.iter().map(TradeRow::new).collect(),
        journal: today.journal.iter().map(JournalRow::new).collect(),
        equity_chart: super::charts::equity_chart(&curve),
        sessions: sessions(now),
        feed_source: feed.source.clone(),
        feed_status: format!("{:?}", feed.status).to_lowercase(),
        feed_error: feed.error.clone().unwrap_or_default(),
        feed_update: feed
            .last_update
            .map(|t| t.format("%H:%M:%S UTC").to_string())
            .unwrap_or_else(|| "never".to_owned()),
        last_tick: engine
            .last_tick_at
            .map(|t| {
                format!(
                    "{} ({:.1} ms)",
                    t.format("%H:%M:%S UTC"),
                    engine.last_tick_ms.unwrap_or(0.0)
                )
            })
            .unwrap_or_else(|| "not yet".to_owned()),
        leader,
    };
    html(&page)
}
