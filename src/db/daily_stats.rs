//! `daily_stats`: one row per UTC day. The latest row's `paper_balance` is the account's
//! balance; a new day's row starts from the previous row's closing balance, never from a default
//! (the original reset the balance to $100 on a missed day, ORIGINAL.md §4).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use super::models::{DailyStatsRow, NewDailyStats};
use super::Conn;
use crate::domain::Outcome;

/// The latest day's row, which holds the current balance; `None` for a brand-new account.
pub fn latest(conn: &mut Conn) -> QueryResult<Option<DailyStatsRow>> {
    use super::schema::daily_stats::dsl::*;
    daily_stats
        .order(date.desc())
        .select(DailyStatsRow::as_select())
        .first(conn)
        .optional()
}

/// The row of one day, if it exists.
pub fn for_date(conn: &mut Conn, day: NaiveDate) -> QueryResult<Option<DailyStatsRow>> {
    use super::schema::daily_stats::dsl::*;
    daily_stats
        .filter(date.eq(day))
        .select(DailyStatsRow::as_select())
        .first(conn)
        .optional()
}

/// The account's first day, `None` before it has one.
pub fn first_day(conn: &mut Conn) -> QueryResult<Option<NaiveDate>> {
    use super::schema::daily_stats::dsl::*;
    daily_stats
        .order(date.asc())
        .select(date)
        .first(conn)
        .optional()
}

/// The balance the account started with: the first day's opening balance, as recorded when the
/// account was created; `configured` for an account without any day yet.
pub fn initial_balance(conn: &mut Conn, configured: f64) -> QueryResult<f64> {
    use super::schema::daily_stats::dsl::*;
    let first: Option<f64> = daily_stats
        .order(date.asc())
        .select(starting_balance)
        .first(conn)
        .optional()?;
    Ok(first.unwrap_or(configured))
}

/// The current paper balance: the latest row's, or the initial balance before any row exists.
pub fn current_balance(conn: &mut Conn, initial_balance: f64) -> QueryResult<f64> {
    Ok(latest(conn)?.map_or(initial_balance, |row| row.paper_balance))
}

/// The row of `day`, created when missing from the latest earlier day's closing balance and total
/// pnl (or `initial_balance` when the account has no row yet). Call inside a write transaction.
pub fn ensure_day(
    conn: &mut Conn,
    day: NaiveDate,
    initial_balance: f64,
    now: NaiveDateTime,
) -> QueryResult<DailyStatsRow> {
    use super::schema::daily_stats::dsl::*;
    if let Some(row) = for_date(conn, day)? {
        return Ok(row);
    }
    let previous: Option<DailyStatsRow> = daily_stats
        .filter(date.lt(day))
        .order(date.desc())
        .select(DailyStatsRow::as_select())
        .first(conn)
        .optional()?;
    let (balance, carried_total_pnl) = previous.map_or((initial_balance, 0.0), |row| {
        (row.paper_balance, row.total_pnl)
    });
    diesel::insert_into(daily_stats)
        .values(NewDailyStats {
            date: day,
            starting_balance: balance,
            paper_balance: balance,
            total_pnl: carried_total_pnl,
            updated_at: now,
        })
        .returning(super::schema::daily_stats::all_columns)
        .get_result::<DailyStatsRow>(conn)
}

/// Count one strategy scan on `now`'s day, inside the caller's write transaction (the
/// scanner's, fenced by the leader's lease).
pub fn record_scan(conn: &mut Conn, initial_balance: f64, now: NaiveDateTime) -> QueryResult<()> {
    use super::schema::daily_stats::dsl::*;
    let row = ensure_day(conn, now.date(), initial_balance, now)?;
    diesel::update(daily_stats.find(row.id))
        .set((scan_count.eq(scan_count + 1), updated_at.eq(now)))
        .execute(conn)
        .map(drop)
}

/// Count one new signal on `now`'s day. Part of the transaction that inserts it.
pub(super) fn count_signal(
    conn: &mut Conn,
    initial_balance: f64,
    now: NaiveDateTime,
) -> QueryResult<()> {
    use super::schema::daily_stats::dsl::*;
    let row = ensure_day(conn, now.date(), initial_balance, now)?;
    diesel::update(daily_stats.find(row.id))
        .set((
            signals_generated.eq(signals_generated + 1),
            updated_at.eq(now),
        ))
        .execute(conn)
        .map(drop)
}

/// Book one exit's pnl into `now`'s day: balance, realized and total pnl (DESIGN.md §10: each
/// exit in the transaction of that exit). Returns the account balance after the booking.
///
/// An exit can land on a day that is no longer the latest (a tick polled at 23:59:59 writes
/// after another write opened the next day's row); the later days then carry the pnl forward
/// too, so each day still starts from the previous day's close.
pub(super) fn book_pnl(
    conn: &mut Conn,
    exit_pnl: f64,
    initial_balance: f64,
    now: NaiveDateTime,
) -> QueryResult<f64> {
    use super::schema::daily_stats::dsl::*;
    let row = ensure_day(conn, now.date(), initial_balance, now)?;
    diesel::update(daily_stats.find(row.id))
        .set((
            realized_pnl.eq(realized_pnl + exit_pnl),
            total_pnl.eq(total_pnl + exit_pnl),
            paper_balance.eq(paper_balance + exit_pnl),
            updated_at.eq(now),
        ))
        .execute(conn)?;
    diesel::update(daily_stats.filter(date.gt(row.date)))
        .set((
            starting_balance.eq(starting_balance + exit_pnl),
            paper_balance.eq(paper_balance + exit_pnl),
            total_pnl.eq(total_pnl + exit_pnl),
        ))
        .execute(conn)?;
    current_balance(conn, initial_balance)
}

/// Count a trade that closed on `now`'s day, by the outcome of its whole pnl: trades_closed and
/// wins or losses. Part of the transaction of its last exit.
pub(super) fn count_close(
    conn: &mut Conn,
    outcome: Outcome,
    initial_balance: f64,
    now: NaiveDateTime,
) -> QueryResult<()> {
    use super::schema::daily_stats::dsl::*;
    let row = ensure_day(conn, now.date(), initial_balance, now)?;
    let (win, loss) = match outcome {
        Outcome::Win => (1, 0),
        Outcome::Loss => (0, 1),
        Outcome::Breakeven => (0, 0),
    };
    diesel::update(daily_stats.find(row.id))
        .set((
            trades_closed.eq(trades_closed + 1),
            wins.eq(wins + win),
            losses.eq(losses + loss),
            updated_at.eq(now),
        ))
        .execute(conn)
        .map(drop)
}

/// One day's figures as a reader sees them: the stored row, or for a day that has no row yet an
/// empty day starting from the latest balance. Never writes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayStats {
    pub date: NaiveDate,
    pub scan_count: i32,
    pub signals_generated: i32,
    pub trades_closed: i32,
    pub wins: i32,
    pub losses: i32,
    pub starting_balance: f64,
    pub paper_balance: f64,
    pub realized_pnl: f64,
    pub total_pnl: f64,
}

impl From<DailyStatsRow> for DayStats {
    fn from(row: DailyStatsRow) -> Self {
        DayStats {
            date: row.date,
            scan_count: row.scan_count,
            signals_generated: row.signals_generated,
            trades_closed: row.trades_closed,
            wins: row.wins,
            losses: row.losses,
            starting_balance: row.starting_balance,
            paper_balance: row.paper_balance,
            realized_pnl: row.realized_pnl,
            total_pnl: row.total_pnl,
        }
    }
}

/// Today's figures (see [`DayStats`]).
pub fn day_stats(conn: &mut Conn, day: NaiveDate, initial_balance: f64) -> QueryResult<DayStats> {
    if let Some(row) = for_date(conn, day)? {
        return Ok(row.into());
    }
    let (balance, carried_total_pnl) = latest(conn)?.map_or((initial_balance, 0.0), |row| {
        (row.paper_balance, row.total_pnl)
    });
    Ok(DayStats {
        date: day,
        scan_count: 0,
        signals_generated: 0,
        trades_closed: 0,
        wins: 0,
        losses: 0,
        starting_balance: balance,
        paper_balance: balance,
        realized_pnl: 0.0,
        total_pnl: carried_total_pnl,
    })
}

/// Rows from `from` to `to` inclusive, oldest first.
pub fn list(conn: &mut Conn, from: NaiveDate, to: NaiveDate) -> QueryResult<Vec<DailyStatsRow>> {
    use super::schema::daily_stats::dsl::*;
    daily_stats
        .filter(date.ge(from).and(date.le(to)))
        .order(date.asc())
        .select(DailyStatsRow::as_select())
        .load(conn)
}

/// Up to `limit` day rows of `[first_day, last_day]` with ids above `after`, by id: one page of
/// a keyset walk (the export).
pub fn page_of_days(
    conn: &mut Conn,
    after: i32,
    first_day: NaiveDate,
    last_day: NaiveDate,
    limit: i64,
) -> QueryResult<Vec<DailyStatsRow>> {
    use super::schema::daily_stats::dsl::*;
    daily_stats
        .filter(id.gt(after))
        .filter(date.ge(first_day).and(date.le(last_day)))
        .order(id.asc())
        .limit(limit)
        .select(DailyStatsRow::as_select())
        .load(conn)
}
