//! Today's picture for `/api/stats`, `/api/data` and the dashboard: each figure read from the
//! tables, in one read transaction (one snapshot on either backend) so the figures and lists
//! agree with each other. Every query is an indexed lookup or range, so the cost follows today's
//! rows, not the history.

use chrono::NaiveDate;
use diesel::dsl::count_star;
use diesel::prelude::*;
use serde::Serialize;

use super::candles;
use super::daily_stats::{self, DayStats};
use super::exits;
use super::journal;
use super::models::{CandleRow, JournalEntryRow, SignalId, SignalRow, StopMoveRow, TradeExitRow};
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

/// The first opening balance, open trades, their unrealized pnl, today's signals and closes; a
/// scalar subquery answers NULL when it finds nothing.
type Counters = (
    Option<f64>,
    Option<i64>,
    Option<f64>,
    Option<i64>,
    Option<i64>,
);

fn figures_in(conn: &mut Conn, day: NaiveDate, initial_balance: f64) -> QueryResult<Figures> {
    use super::schema::daily_stats::dsl as days;
    use super::schema::signals::dsl::*;
    let stats: DayStats = daily_stats::day_stats(conn, day, initial_balance)?;
    let (start, end) = day_bounds(day);
    // The counters in one statement (one round trip on PostgreSQL), each an indexed lookup as
    // it would be on its own: the account's first opening balance (`daily_stats::initial_balance`),
    // the open trades and their unrealized pnl (`signals::active_summary`), today's signals and
    // today's closes. closed_at is set exactly when a signal is CLOSED (a CHECK constraint), so
    // the range alone counts today's closes; adding `status = ?` would tempt SQLite into the
    // status index and a scan of every closed trade ever.
    let (first_balance, open, unrealized, created_today, closed_today): Counters =
        diesel::select((
            days::daily_stats
                .order(days::date.asc())
                .select(days::starting_balance)
                .limit(1)
                .single_value(),
            signals
                .filter(signal_queries::is_active())
                .select(count_star())
                .single_value(),
            signals
                .filter(signal_queries::is_active())
                .select(diesel::dsl::sum(unrealized_pnl))
                .single_value(),
            signals
                .filter(created_at.ge(start).and(created_at.lt(end)))
                .select(count_star())
                .single_value(),
            signals
                .filter(closed_at.ge(start).and(closed_at.lt(end)))
                .select(count_star())
                .single_value(),
        ))
        .get_result(conn)?;
    let initial_balance = first_balance.unwrap_or(initial_balance);
    let open = open.unwrap_or(0);
    let unrealized = unrealized.unwrap_or(0.0);
    let created_today = created_today.unwrap_or(0);
    let closed_today = closed_today.unwrap_or(0);
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

/// Run `f`, the overview's reads, in one read transaction, so every statement sees the same
/// snapshot. SQLite's transaction gives that; PostgreSQL's default isolation (READ COMMITTED)
/// would give each statement its own, so there the transaction is REPEATABLE READ, READ ONLY.
/// It also uses generic plans: every overview query is an index lookup or a day's range, but
/// PostgreSQL's generic plan guesses a range covers 0.5 % of the table (5 000 rows of 1 000 000)
/// and so would plan each call afresh, a tenth of a millisecond per query here, to arrive at
/// the same index scan. Inside a transaction the caller already holds, `f` runs in a savepoint
/// of it.
pub(super) fn snapshot<T>(
    conn: &mut Conn,
    f: impl FnOnce(&mut Conn) -> QueryResult<T>,
) -> QueryResult<T> {
    use diesel::connection::{AnsiTransactionManager, TransactionManager as _};
    let Conn::Postgres(pg) = conn else {
        return conn.transaction(f);
    };
    if AnsiTransactionManager::transaction_manager_status_mut(pg)
        .transaction_depth()?
        .is_some()
    {
        return conn.transaction(f);
    }
    // One round trip, as a plain BEGIN.
    super::begun_with(
        conn,
        "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; \
         SET LOCAL plan_cache_mode = force_generic_plan",
        f,
    )
}

/// The account figures for the UTC day `day`, one snapshot.
pub fn figures(conn: &mut Conn, day: NaiveDate, initial_balance: f64) -> QueryResult<Figures> {
    snapshot(conn, |conn| figures_in(conn, day, initial_balance))
}

/// Figures and today's lists, one snapshot.
pub fn today(conn: &mut Conn, day: NaiveDate, initial_balance: f64) -> QueryResult<Today> {
    snapshot(conn, |conn| {
        Ok(Today {
            figures: figures_in(conn, day, initial_balance)?,
            signals_today: signal_queries::get_signals_today(conn, day)?,
            active_trades: signal_queries::get_active_signals(conn)?,
            completed_trades: signal_queries::get_closed_signals_today(conn, day)?,
            journal: journal::get_journal_entries_today(conn, day)?,
        })
    })
}

/// One trade with everything that happened to it: the trade page's reads.
#[derive(Debug, Clone, PartialEq)]
pub struct TradeHistory {
    pub signal: SignalRow,
    /// Written by the last exit.
    pub journal: Option<JournalEntryRow>,
    /// Oldest first.
    pub exits: Vec<TradeExitRow>,
    /// Oldest first.
    pub stop_moves: Vec<StopMoveRow>,
}

/// Trade `id`, its journal entry, exits and stop moves, one snapshot: read one by one, an exit
/// booked in between would show a remaining quantity the listed exits disagree with.
/// `diesel::NotFound` when there is no such signal.
pub fn trade(conn: &mut Conn, id: SignalId) -> QueryResult<TradeHistory> {
    snapshot(conn, |conn| {
        Ok(TradeHistory {
            signal: signal_queries::get_signal(conn, id)?,
            journal: journal::for_signal(conn, id.0)?,
            exits: exits::exits_of(conn, id)?,
            stop_moves: exits::stop_moves_of(conn, id)?,
        })
    })
}

/// Trade `id` as [`trade`] reads it, and the stored 1-minute candles of its symbol within the
/// time range `window` picks from it (the trade page's chart: its span and a margin), in the
/// same snapshot, so the candles and the exits drawn over them agree.
pub fn trade_with_candles(
    conn: &mut Conn,
    id: SignalId,
    window: impl FnOnce(&TradeHistory) -> (chrono::NaiveDateTime, chrono::NaiveDateTime),
) -> QueryResult<(TradeHistory, Vec<CandleRow>)> {
    snapshot(conn, |conn| {
        let history = TradeHistory {
            signal: signal_queries::get_signal(conn, id)?,
            journal: journal::for_signal(conn, id.0)?,
            exits: exits::exits_of(conn, id)?,
            stop_moves: exits::stop_moves_of(conn, id)?,
        };
        let (from, to) = window(&history);
        let candles = candles::minute_candles(conn, &history.signal.symbol, from, to)?;
        Ok((history, candles))
    })
}
