//! `GET /api/stats` and `GET /api/data` (DESIGN.md §5): today's figures and lists, read from the
//! database on every request.

use actix_web::web;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::super::{ApiError, AppState};
use crate::clock::now_utc;
use crate::db::models::{JournalEntryRow, SignalRow};
use crate::db::overview::{self, Figures};
use crate::status::FeedStatus;

#[derive(Serialize)]
pub struct StatsResponse {
    #[serde(flatten)]
    pub figures: Figures,
    /// Balance at or below `min_balance`: no new trades.
    pub account_blown: bool,
    pub feed: FeedStatus,
    pub last_tick_at: Option<DateTime<Utc>>,
}

#[derive(Serialize)]
pub struct DataResponse {
    stats: StatsResponse,
    signals_today: Vec<SignalRow>,
    active_trades: Vec<SignalRow>,
    completed_trades: Vec<SignalRow>,
    journal: Vec<JournalEntryRow>,
}

fn stats_response(state: &AppState, figures: Figures) -> StatsResponse {
    StatsResponse {
        account_blown: figures.balance <= state.config.rules.min_balance,
        figures,
        feed: state.status.feed(),
        last_tick_at: state.status.engine().last_tick_at,
    }
}

/// The `/api/stats` body, read now.
pub async fn current_stats(state: &AppState) -> Result<StatsResponse, ApiError> {
    let initial = state.config.initial_balance;
    let today = now_utc().date();
    let figures = state
        .with_conn(move |conn| Ok(overview::figures(conn, today, initial)?))
        .await?;
    Ok(stats_response(state, figures))
}

pub async fn get_stats(state: web::Data<AppState>) -> Result<web::Json<StatsResponse>, ApiError> {
    Ok(web::Json(current_stats(&state).await?))
}

pub async fn get_data(state: web::Data<AppState>) -> Result<web::Json<DataResponse>, ApiError> {
    let initial = state.config.initial_balance;
    let day = now_utc().date();
    let today = state
        .with_conn(move |conn| Ok(overview::today(conn, day, initial)?))
        .await?;
    Ok(web::Json(DataResponse {
        stats: stats_response(&state, today.figures),
        signals_today: today.signals_today,
        active_trades: today.active_trades,
        completed_trades: today.completed_trades,
        journal: today.journal,
    }))
}
