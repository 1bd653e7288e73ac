//! Today's picture for `/api/stats`, `/api/data` and the dashboard: each figure read from the
//! tables, in one read transaction so the figures and lists agree with each other. Every query
//! is an indexed lookup or range, so the cost follows today's rows, not the history.

use chrono::NaiveDate;
use diesel::dsl::count_star;
use diesel::prelude::*;
use serde::Serialize;

use super::daily_stats::{self, DayStats};
use super::journal;
use super::models::{JournalEntryRow, SignalRow};
use super::signals as signal_queries;
use super::Conn;
use crate::domain::time::day_bounds;

/// The account and today's counters.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    pub date: NaiveDate,
    pub balance: f64,
    pub initial_balance: f64,
    /// Balance plus the unrealized pnl of open trades.
    pub equity: f64,
    pub unrealized_pnl: f64,
    pub realized_pnl_today: f64,
    /// Realized pnl since the account began.
    pub total_pnl: f64,
    /// Open trades, any day.
    pub active_trades: i64,
    /// Trades closed today.
    pub completed_trades: i64,
    pub signals_today: i64,
    pub scans_today: i64,
    pub wins_today: i64,
    pub losses_today: i64,
    /// Wins ÷ (wins + losses) today, in percent; 0 before the first close.
    pub win_rate: f64,
}

/// Today's figures and lists.
#[derive(Debug, Clone, PartialEq)]
pub struct Today {
    pub figures: Figures,
    pub signals_today: Vec<SignalRow>,
    pub active_trades: Vec<SignalRow>,
    pub completed_trades: Vec<SignalRow>,
    pub journal: Vec<JournalEntryRow>,
}

fn figures_in(conn: &mut Conn, day: NaiveDate, initial_balance: f64) -> QueryResult<Figures> {
    use super::schema::signals::dsl::*;
    let stats: DayStats = daily_stats::day_stats(conn, day, initial_balance)?;
    let initial_balance = daily_stats::initial_balance(conn, initial_balance)?;
    let (open, unrealized) = signal_queries::active_summary(conn)?;
    let (start, end) = day_bounds(day);
    let created_today: i64 = signals
        .filter(created_at.ge(start).and(created_at.lt(end)))
        .select(count_star())
        .first(conn)?;
    // closed_at is set exactly when a signal is CLOSED (a CHECK constraint), so the range alone
    // counts today's closes; adding `status = ?` would tempt SQLite into the status index and a
    // scan of every closed trade ever.
    let closed_today: i64 = signals
        .filter(closed_at.ge(start).and(closed_at.lt(end)))
        .select(count_star())
        .first(conn)?;
    let decided = stats.wins + stats.losses;
    Ok(Figures {
        date: day,
        balance: stats.paper_balance,
        initial_balance,
        equity: stats.paper_balance + unrealized,
        unrealized_pnl: unrealized,
        realized_pnl_today: stats.realized_pnl,
        total_pnl: stats.total_pnl,
        active_trades: open,
        completed_trades: closed_today,
        signals_today: created_today,
        scans_today: i64::from(stats.scan_count),
        wins_today: i64::from(stats.wins),
        losses_today: i64::from(stats.losses),
        win_rate: if decided > 0 {
            f64::from(stats.wins) / f64::from(decided) * 100.0
        } else {
            0.0
        },
    })
}

/// The account figures for the UTC day `day`.
pub fn figures(conn: &mut Conn, day: NaiveDate, initial_balance: f64) -> QueryResult<Figures> {
    conn.transaction(|conn| figures_in(conn, day, initial_balance))
}

/// Figures and today's lists, one snapshot.
pub fn today(conn: &mut Conn, day: NaiveDate, initial_balance: f64) -> QueryResult<Today> {
    conn.transaction(|conn| {
        Ok(Today {
            figures: figures_in(conn, day, initial_balance)?,
            signals_today: signal_queries::get_signals_today(conn, day)?,
            active_trades: signal_queries::get_active_signals(conn)?,
            completed_trades: signal_queries::get_closed_signals_today(conn, day)?,
            journal: journal::get_journal_entries_today(conn, day)?,
        })
    })
}
