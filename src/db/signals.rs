//! `signals`: every signal, which is also its paper trade. Opening, the per-tick PnL refresh and
//! the close live here; the close books the journal entry, the balance and the day's stats in
//! the same transaction (DESIGN.md §4).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::query_builder::AstPass;
use diesel::sql_types::{Double, Integer, Timestamp};
use diesel::sqlite::Sqlite;

use super::batch::{Values, ValuesRow};
use super::daily_stats;
use super::exits::{self, ExitOutcome, ExitRequest, Part};
use super::models::{JournalEntryRow, NewSignal, SignalId, SignalRow};
use super::time::clamp_bound;
use super::Conn;
use crate::domain::time::day_bounds;
use crate::domain::{ExitReason, SignalStatus, StopReason};
use crate::events::Event;

/// What [`insert_signal`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum AddOutcome {
    /// A new signal was stored and counted in the day's stats.
    Created(SignalRow),
    /// A signal with the same `external_id` already exists; nothing was written.
    Existing(SignalRow),
}

/// The signal carrying a client-supplied `external_id`, if any.
pub fn find_by_external_id(conn: &mut Conn, client_id: &str) -> QueryResult<Option<SignalRow>> {
    use super::schema::signals::dsl::*;
    signals
        .filter(external_id.eq(client_id))
        .select(SignalRow::as_select())
        .first(conn)
        .optional()
}

/// Store a new ACTIVE signal and count it in its day's stats (`created_at`), inside the caller's
/// write transaction. A repeated `external_id` returns the existing signal and writes nothing.
pub fn insert_signal(
    conn: &mut Conn,
    new: &NewSignal,
    initial_balance: f64,
) -> QueryResult<AddOutcome> {
    use super::schema::signals::dsl::*;
    if let Some(client_id) = &new.external_id {
        if let Some(row) = find_by_external_id(conn, client_id)? {
            return Ok(AddOutcome::Existing(row));
        }
    }
    let row = diesel::insert_into(signals)
        .values(new)
        .returning(super::schema::signals::all_columns)
        .get_result::<SignalRow>(conn)?;
    daily_stats::count_signal(conn, initial_balance, new.created_at)?;
    super::events::record(conn, Event::SignalOpened(row.id), new.created_at)?;
    Ok(AddOutcome::Created(row))
}

/// `status = 'ACTIVE'` written as a literal: SQLite uses the partial index `signals_active_idx`
/// only for a literal term, and that index keeps open-trade queries small however long the
/// history (migration 2026-11-25-000004).
pub fn is_active() -> IsActive {
    IsActive
}

/// The expression [`is_active`] returns. diesel never keeps the prepared statement of a query
/// holding a `diesel::dsl::sql` literal (it cannot know the text is the same every time); this
/// one is, so a query using it is prepared once per connection (and, on PostgreSQL, planned
/// once) instead of on every call.
#[derive(Debug, Clone, Copy, diesel::expression::ValidGrouping, diesel::query_builder::QueryId)]
pub struct IsActive;

impl diesel::Expression for IsActive {
    type SqlType = diesel::sql_types::Bool;
}

impl<DB: diesel::backend::Backend> diesel::query_builder::QueryFragment<DB> for IsActive {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> QueryResult<()> {
        out.push_sql("signals.status = 'ACTIVE'");
        Ok(())
    }
}

impl<QS> diesel::AppearsOnTable<QS> for IsActive where
    super::schema::signals::status: diesel::AppearsOnTable<QS>
{
}

impl<QS> diesel::SelectableExpression<QS> for IsActive where
    super::schema::signals::status: diesel::SelectableExpression<QS>
{
}

/// One signal by id; `diesel::NotFound` when there is none.
pub fn get_signal(conn: &mut Conn, signal_id: SignalId) -> QueryResult<SignalRow> {
    use super::schema::signals::dsl::*;
    signals
        .find(signal_id.0)
        .select(SignalRow::as_select())
        .first(conn)
}

/// Every open trade, any day, oldest first.
pub fn get_active_signals(conn: &mut Conn) -> QueryResult<Vec<SignalRow>> {
    use super::schema::signals::dsl::*;
    signals
        .filter(is_active())
        .order(id.asc())
        .select(SignalRow::as_select())
        .load(conn)
}

/// Number of open trades and the sum of their unrealized pnl, in one indexed aggregate.
pub fn active_summary(conn: &mut Conn) -> QueryResult<(i64, f64)> {
    use super::schema::signals::dsl::*;
    use diesel::dsl::{count_star, sum};
    let (open, unrealized): (i64, Option<f64>) = signals
        .filter(is_active())
        .select((count_star(), sum(unrealized_pnl)))
        .first(conn)?;
    Ok((open, unrealized.unwrap_or(0.0)))
}

/// Per symbol with open trades: the oldest `updated_at` (the last tick that priced them) and the
/// newest `created_at` — the window the next tick must cover (DESIGN.md §3).
pub fn active_windows(conn: &mut Conn) -> QueryResult<Vec<(String, NaiveDateTime, NaiveDateTime)>> {
    use super::schema::signals::dsl::*;
    use diesel::dsl::{max, min};
    let rows: Vec<(String, Option<NaiveDateTime>, Option<NaiveDateTime>)> = signals
        .filter(is_active())
        .group_by(symbol)
        .select((symbol, min(updated_at), max(created_at)))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(s, since, opened)| Some((s, since?, opened?)))
        .collect())
}

/// Signals created on the UTC day `day`, newest first (a range on `created_at`).
pub fn get_signals_today(conn: &mut Conn, day: NaiveDate) -> QueryResult<Vec<SignalRow>> {
    use super::schema::signals::dsl::*;
    let (start, end) = day_bounds(day);
    signals
        .filter(created_at.ge(start).and(created_at.lt(end)))
        .order(id.desc())
        .select(SignalRow::as_select())
        .load(conn)
}

/// Trades closed on the UTC day `day`, whenever they opened, newest close first.
pub fn get_closed_signals_today(conn: &mut Conn, day: NaiveDate) -> QueryResult<Vec<SignalRow>> {
    use super::schema::signals::dsl::*;
    let (start, end) = day_bounds(day);
    signals
        .filter(closed_at.ge(start).and(closed_at.lt(end)))
        .order((closed_at.desc(), id.desc()))
        .select(SignalRow::as_select())
        .load(conn)
}

/// Live figures of an open trade, refreshed by every tick.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PnlUpdate {
    pub current_price: f64,
    pub unrealized_pnl: f64,
    pub max_favorable_price: f64,
    pub max_adverse_price: f64,
}

/// One open trade's refresh for [`update_signals_pnl`]: its live figures, its management state
/// (the stop for the next interval and the partial targets filled) and the time of the data that
/// priced them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PnlRefresh {
    pub signal_id: SignalId,
    pub update: PnlUpdate,
    pub stop_loss: f64,
    pub stop_moved_by: Option<StopReason>,
    pub targets_hit: i32,
    pub priced_at: NaiveDateTime,
}

/// The most trades one [`update_signals_pnl`] statement refreshes; the tick refreshes its trades
/// in batches of this size on either backend, so a batch that fails is retried trade by trade.
pub const PNL_BATCH: usize = super::batch::MAX_ROWS;

/// Refresh the live figures and management state of many open trades in one statement instead
/// of one per trade, a statement of the same text whatever the count: PostgreSQL joins the
/// trades to bound arrays (`unnest`); SQLite, which has no arrays, to a `VALUES` list padded to
/// one of a few lengths so its prepared statement is kept (`db::batch`), [`PNL_BATCH`] trades
/// per statement. A trade no longer ACTIVE is left alone. Returns the number of trades
/// refreshed. At most `PNL_BATCH` trades are one statement on either backend, so a failure
/// writes nothing of them.
///
/// Each listed trade is reached by its primary key, whatever the planner believes about the
/// number of open trades (statistics taken while few were open say "one"): joining the list to
/// the open trades by the status index would compare every open trade with every listed one.
/// SQLite is told `NOT INDEXED` (its rowid stays usable); on PostgreSQL the ACTIVE test is a
/// join term against the list, which no index on `signals` alone can answer.
pub fn update_signals_pnl(conn: &mut Conn, refreshes: &[PnlRefresh]) -> QueryResult<usize> {
    use diesel::sql_types::{Array, Nullable, Text};
    match conn {
        Conn::Postgres(conn) => diesel::sql_query(format!(
            "UPDATE signals {REFRESH_SET} FROM unnest($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             AS v ({REFRESH_COLUMNS}, status) WHERE signals.id = v.id AND signals.status = v.status"
        ))
        .bind::<Array<Integer>, _>(refreshes.iter().map(|r| r.signal_id.0).collect::<Vec<_>>())
        .bind::<Array<Double>, _>(column(refreshes, |u| u.current_price))
        .bind::<Array<Double>, _>(column(refreshes, |u| u.unrealized_pnl))
        .bind::<Array<Double>, _>(column(refreshes, |u| u.max_favorable_price))
        .bind::<Array<Double>, _>(column(refreshes, |u| u.max_adverse_price))
        .bind::<Array<Double>, _>(refreshes.iter().map(|r| r.stop_loss).collect::<Vec<_>>())
        .bind::<Array<Nullable<Text>>, _>(
            refreshes
                .iter()
                .map(|r| r.stop_moved_by.map(StopReason::as_str))
                .collect::<Vec<_>>(),
        )
        .bind::<Array<Integer>, _>(refreshes.iter().map(|r| r.targets_hit).collect::<Vec<_>>())
        .bind::<Array<Timestamp>, _>(refreshes.iter().map(|r| r.priced_at).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(vec![SignalStatus::Active.as_str(); refreshes.len()])
        .execute(conn),
        Conn::Sqlite(conn) => {
            let mut changed = 0;
            for batch in refreshes.chunks(PNL_BATCH) {
                let rows = batch.iter().map(SqliteRefresh::from).collect();
                changed +=
                    Values::new(SQLITE_REFRESH_HEAD, rows, SQLITE_REFRESH_TAIL).execute(conn)?;
            }
            Ok(changed)
        }
    }
}

/// The statement of [`update_signals_pnl`] on SQLite around its `VALUES` list (public for the
/// test of its query plan).
pub const SQLITE_REFRESH_HEAD: &str = "WITH v (id, current_price, unrealized_pnl, \
    max_favorable_price, max_adverse_price, stop_loss, stop_moved_by, targets_hit, updated_at) AS (";

/// See [`SQLITE_REFRESH_HEAD`].
pub const SQLITE_REFRESH_TAIL: &str = ") UPDATE signals NOT INDEXED SET \
    current_price = v.current_price, unrealized_pnl = v.unrealized_pnl, \
    max_favorable_price = v.max_favorable_price, max_adverse_price = v.max_adverse_price, \
    stop_loss = v.stop_loss, stop_moved_by = v.stop_moved_by, targets_hit = v.targets_hit, \
    updated_at = v.updated_at FROM v WHERE signals.id = v.id AND signals.status = 'ACTIVE'";

/// One refresh as a row of the SQLite statement's `VALUES` list.
struct SqliteRefresh(PnlRefresh);

impl From<&PnlRefresh> for SqliteRefresh {
    fn from(refresh: &PnlRefresh) -> Self {
        SqliteRefresh(*refresh)
    }
}

impl ValuesRow for SqliteRefresh {
    fn push<'b>(&'b self, out: &mut AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        use diesel::sql_types::{Nullable, Text};
        let r = &self.0;
        out.push_sql("(");
        out.push_bind_param::<Integer, _>(&r.signal_id.0)?;
        for value in [
            &r.update.current_price,
            &r.update.unrealized_pnl,
            &r.update.max_favorable_price,
            &r.update.max_adverse_price,
            &r.stop_loss,
        ] {
            out.push_sql(", ");
            out.push_bind_param::<Double, _>(value)?;
        }
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(&r.stop_moved_by)?;
        out.push_sql(", ");
        out.push_bind_param::<Integer, _>(&r.targets_hit)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&r.priced_at)?;
        out.push_sql(")");
        Ok(())
    }

    /// No signal has id 0.
    fn padding() -> Self {
        SqliteRefresh(PnlRefresh {
            signal_id: SignalId(0),
            update: PnlUpdate {
                current_price: 0.0,
                unrealized_pnl: 0.0,
                max_favorable_price: 0.0,
                max_adverse_price: 0.0,
            },
            stop_loss: 0.0,
            stop_moved_by: None,
            targets_hit: 0,
            priced_at: chrono::DateTime::UNIX_EPOCH.naive_utc(),
        })
    }
}

const REFRESH_SET: &str = "SET current_price = v.current_price, \
    unrealized_pnl = v.unrealized_pnl, max_favorable_price = v.max_favorable_price, \
    max_adverse_price = v.max_adverse_price, stop_loss = v.stop_loss, \
    stop_moved_by = v.stop_moved_by, targets_hit = v.targets_hit, updated_at = v.updated_at";

const REFRESH_COLUMNS: &str = "id, current_price, unrealized_pnl, max_favorable_price, \
    max_adverse_price, stop_loss, stop_moved_by, targets_hit, updated_at";

/// One figure of every refresh, as a bound array.
fn column(refreshes: &[PnlRefresh], figure: impl Fn(&PnlUpdate) -> f64) -> Vec<f64> {
    refreshes.iter().map(|r| figure(&r.update)).collect()
}

/// How and when a whole trade leaves the market (a manual close, a test).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CloseRequest {
    /// The fill price, slippage already applied.
    pub exit_price: f64,
    pub exit_reason: ExitReason,
    /// Fee rate of the exit fill.
    pub fee_rate: f64,
    /// Close time; the pnl is booked into this UTC day.
    pub closed_at: NaiveDateTime,
}

/// A completed close: the closed signal, its journal entry and the balance after it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClosedTrade {
    pub signal: SignalRow,
    pub journal: JournalEntryRow,
    pub balance_after: f64,
}

/// What [`close_in_transaction`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum CloseOutcome {
    Closed(Box<ClosedTrade>),
    /// The signal was not ACTIVE (already closed or cancelled): nothing was booked.
    NotActive(SignalStatus),
}

/// Close all that is left of an open trade inside the caller's write transaction: one last exit
/// (`exits::exit_in_transaction`), which closes the signal and writes its journal entry, the
/// balance and the day's stats. A signal that is not ACTIVE books nothing; `diesel::NotFound`
/// when the signal does not exist.
pub fn close_in_transaction(
    conn: &mut Conn,
    signal_id: SignalId,
    request: &CloseRequest,
    initial_balance: f64,
) -> QueryResult<CloseOutcome> {
    let exit = ExitRequest {
        reason: request.exit_reason,
        price: request.exit_price,
        part: Part::All,
        fee_rate: request.fee_rate,
        at: request.closed_at,
    };
    Ok(
        match exits::exit_in_transaction(conn, signal_id, &exit, initial_balance)? {
            ExitOutcome::Booked(booked) => {
                let booked = *booked;
                match booked.journal {
                    Some(journal) => CloseOutcome::Closed(Box::new(ClosedTrade {
                        signal: booked.signal,
                        journal,
                        balance_after: booked.balance_after,
                    })),
                    // `Part::All` always takes the last exit.
                    None => CloseOutcome::NotActive(booked.signal.status),
                }
            }
            ExitOutcome::NotActive(status) => CloseOutcome::NotActive(status),
        },
    )
}

/// Filters of `GET /api/signals`, all optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SignalFilter {
    pub status: Option<SignalStatus>,
    pub symbol: Option<String>,
    /// `created_at >= from`
    pub from: Option<NaiveDateTime>,
    /// `created_at < to`
    pub to: Option<NaiveDateTime>,
}

/// One page of signals, newest first: ids below `before_id`, at most `limit` of them. Keyset
/// paging keeps a deep page as cheap as the first.
pub fn list_signals(
    conn: &mut Conn,
    filter: &SignalFilter,
    before_id: Option<i32>,
    limit: i64,
) -> QueryResult<Vec<SignalRow>> {
    use super::schema::signals::dsl::*;
    let mut query = signals.select(SignalRow::as_select()).into_boxed();
    if let Some(wanted) = filter.status {
        query = query.filter(status.eq(wanted.as_str()));
    }
    if let Some(wanted) = &filter.symbol {
        query = query.filter(symbol.eq(wanted.clone()));
    }
    if let Some(from) = filter.from {
        query = query.filter(created_at.ge(clamp_bound(from)));
    }
    if let Some(to) = filter.to {
        query = query.filter(created_at.lt(clamp_bound(to)));
    }
    if let Some(before) = before_id {
        query = query.filter(id.lt(before));
    }
    query.order(id.desc()).limit(limit).load(conn)
}

/// Up to `limit` signals created in `[from, to)` with ids above `after`, by id: one page of a
/// keyset walk through the whole table (the export).
pub fn page_created(
    conn: &mut Conn,
    after: i32,
    from: NaiveDateTime,
    to: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<SignalRow>> {
    use super::schema::signals::dsl::*;
    signals
        .filter(id.gt(after))
        .filter(
            created_at
                .ge(clamp_bound(from))
                .and(created_at.lt(clamp_bound(to))),
        )
        .order(id.asc())
        .limit(limit)
        .select(SignalRow::as_select())
        .load(conn)
}
