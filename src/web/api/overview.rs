//! `GET /api/stats` and `GET /api/data` (DESIGN.md §5): today's figures and lists, read from the
//! database on every request.

use actix_web::web;
use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::db::models::QuoteRow;
use crate::db::{quotes, Conn};
use serde::Serialize;

use super::super::{ApiError, AppState};
use crate::clock::now_utc;
use crate::db::models::{JournalEntryRow, SignalRow};
use crate::db::overview::{self, Figures};
use crate::status::{EngineView, FeedStatus};

#[derive(Serialize)]
pub struct StatsResponse {
    #[serde(flatten)]
    pub figures: Figures,
    /// Balance at or below `min_balance`: no new trades.
    pub account_blown: bool,
    pub feed: FeedStatus,
    pub last_tick_at: Option<DateTime<Utc>>,
}

/// The watch-list's last price, for the price strip (as the original's `/api/data` had).
#[derive(Serialize)]
pub struct PriceResponse {
    symbol: String,
    price: Option<f64>,
    change_24h_pct: Option<f64>,
    high_24h: Option<f64>,
    low_24h: Option<f64>,
    volume_24h: Option<f64>,
    /// When the price was current (wall clock).
    price_time: Option<DateTime<Utc>>,
    /// The market's time of the price; differs from price_time only for the replay feed.
    market_time: Option<DateTime<Utc>>,
    /// Older than SIGNALDESK_STALE_SECS (or never received).
    stale: bool,
}

#[derive(Serialize)]
pub struct DataResponse {
    stats: StatsResponse,
    prices: Vec<PriceResponse>,
    signals_today: Vec<SignalRow>,
    active_trades: Vec<SignalRow>,
    completed_trades: Vec<SignalRow>,
    journal: Vec<JournalEntryRow>,
}

fn stats_response(
    state: &AppState,
    figures: Figures,
    (feed, last_tick_at): (FeedStatus, Option<DateTime<Utc>>),
) -> StatsResponse {
    StatsResponse {
        account_blown: figures.balance <= state.config.rules.min_balance,
        figures,
        feed,
        last_tick_at,
    }
}

/// The stored quotes of the watch-list, for the price strip.
pub fn watched_quotes(conn: &mut Conn, config: &Config) -> Result<Vec<QuoteRow>, ApiError> {
    let symbols: Vec<&str> = config.symbols.iter().map(|s| s.as_str()).collect();
    Ok(quotes::for_symbols(conn, &symbols)?)
}

/// The `/api/stats` body, read now.
pub async fn current_stats(state: &AppState) -> Result<StatsResponse, ApiError> {
    let initial = state.config.initial_balance;
    let today = now_utc().date();
    let board = state.status.clone();
    let (figures, engine) = state
        .with_conn(move |conn| {
            Ok((
                overview::figures(conn, today, initial)?,
                EngineView::feed_and_tick(conn, &board)?,
            ))
        })
        .await?;
    Ok(stats_response(state, figures, engine))
}

pub async fn get_stats(state: web::Data<AppState>) -> Result<web::Json<StatsResponse>, ApiError> {
    Ok(web::Json(current_stats(&state).await?))
}

pub async fn get_data(state: web::Data<AppState>) -> Result<web::Json<DataResponse>, ApiError> {
    let initial = state.config.initial_balance;
    let now = now_utc();
    let config = state.config.clone();
    let board = state.status.clone();
    let (today, quotes, engine) = state
        .with_conn(move |conn| {
            let today = overview::today(conn, now.date(), initial)?;
            let engine = EngineView::feed_and_tick(conn, &board)?;
            Ok((today, watched_quotes(conn, &config)?, engine))
        })
        .await?;
    let prices = state
        .config
        .symbols
        .iter()
        .map(|symbol| {
            let quote = quotes.iter().find(|q| q.symbol == symbol.as_str());
            PriceResponse {
                symbol: symbol.to_string(),
                price: quote.map(|q| q.price),
                change_24h_pct: quote.and_then(|q| q.change_24h_pct),
                high_24h: quote.and_then(|q| q.high_24h),
                low_24h: quote.and_then(|q| q.low_24h),
                volume_24h: quote.and_then(|q| q.volume_24h),
                price_time: quote.map(|q| q.price_time.and_utc()),
                market_time: quote.map(|q| q.market_time.and_utc()),
                stale: quote.is_none_or(|q| !q.is_fresh(now, state.config.stale_secs)),
            }
        })
        .collect();
    Ok(web::Json(DataResponse {
        stats: stats_response(&state, today.figures, engine),
        prices,
        signals_today: today.signals_today,
        active_trades: today.active_trades,
        completed_trades: today.completed_trades,
        journal: today.journal,
    }))
}
