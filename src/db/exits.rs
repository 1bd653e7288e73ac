//! `trade_exits` and `stop_moves` (DESIGN.md §10): every exit of a trade, partial or final, and
//! every change of its stop. An exit books its pnl into the balance and the day's stats in the
//! caller's transaction; the last one closes the signal and writes its journal entry.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::query_builder::AstPass;
use diesel::sqlite::Sqlite;

use super::batch::{Values, ValuesRow};
use super::models::{
    JournalEntryRow, NewJournalEntry, NewStopMove, NewTradeExit, SignalId, SignalRow, StopMoveRow,
    TradeExitRow,
};
use super::signals::get_signal;
use super::{daily_stats, journal, Conn};
use crate::domain::analytics::ClosedTrade;
use crate::domain::management::{ManagedTrade, Management, StopMove};
use crate::domain::pnl::OpenPosition;
use crate::domain::rules::TradingRules;
use crate::domain::{ExitReason, SignalStatus};
use crate::events::Event;
use crate::notify::Outbox;

/// What booking a trade's exits takes: the rules (fees, slippage, management), the account's
/// initial balance, and the outbox that announces them (DESIGN.md §12).
#[derive(Debug, Clone, Copy)]
pub struct Books<'a> {
    pub rules: &'a TradingRules,
    pub initial_balance: f64,
    pub outbox: &'a Outbox,
}

/// How much of a trade an exit takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Part {
    /// All that is left: the last exit.
    All,
    /// This quantity, at most what is left; a remainder below a billionth of the quantity goes
    /// with it.
    Quantity(f64),
}

/// One exit to book.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExitRequest {
    pub reason: ExitReason,
    /// The fill price, slippage already applied.
    pub price: f64,
    pub part: Part,
    /// Fee rate of the exit fill.
    pub fee_rate: f64,
    /// The pnl is booked into this UTC day.
    pub at: NaiveDateTime,
}

/// A booked exit.
#[derive(Debug, Clone, PartialEq)]
pub struct Booked {
    pub exit: TradeExitRow,
    /// The signal after the exit: CLOSED when it was the last.
    pub signal: SignalRow,
    /// The journal entry, written by the last exit.
    pub journal: Option<JournalEntryRow>,
    pub balance_after: f64,
}

/// What [`exit_in_transaction`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum ExitOutcome {
    Booked(Box<Booked>),
    /// The signal was not ACTIVE: nothing was booked.
    NotActive(SignalStatus),
}

/// The position of a signal as the exit arithmetic sees it.
pub fn position_of(signal: &SignalRow) -> OpenPosition {
    OpenPosition {
        direction: signal.direction,
        entry_price: signal.entry_price,
        quantity: signal.quantity,
        entry_fee: signal.entry_fee,
        risk_amount: signal.risk_amount,
    }
}

/// An open signal as the management rules see it.
pub fn managed(signal: &SignalRow) -> ManagedTrade {
    ManagedTrade {
        direction: signal.direction,
        entry_price: signal.entry_price,
        quantity: signal.quantity,
        remaining: signal.remaining_quantity,
        initial_stop: signal.initial_stop_loss,
        stop: signal.stop_loss,
        stop_moved_by: signal.stop_moved_by,
        take_profit: signal.take_profit,
        management: Management {
            take_profits: signal.targets(),
            breakeven_at_r: signal.breakeven_at_r,
            trailing_stop_pct: signal.trailing_stop_pct,
            trailing_activate_at_r: signal.trailing_activate_at_r,
        },
        targets_hit: usize::try_from(signal.targets_hit).unwrap_or(0),
        favorable: signal.max_favorable_price,
        adverse: signal.max_adverse_price,
        opened_at: signal.created_at,
    }
}

/// Book one exit of an open trade inside the caller's write transaction: the `trade_exits` row,
/// the pnl into the balance and the day's stats, the signal's remaining quantity, realized pnl
/// and fees. The last exit (all that is left) also closes the signal — exit price the
/// quantity-weighted average of its exits, pnl their sum, the reason its own — writes the
/// journal entry (r_multiple from the initial risk) and counts the close in the day's stats.
/// All of it lands with the caller's commit or none of it does. A signal that is not ACTIVE
/// books nothing; `diesel::NotFound` when it does not exist.
pub fn exit_in_transaction(
    conn: &mut Conn,
    trade: SignalId,
    request: &ExitRequest,
    initial_balance: f64,
) -> QueryResult<ExitOutcome> {
    use super::schema::signals::dsl::*;
    let open = get_signal(conn, trade)?;
    if open.status != SignalStatus::Active {
        return Ok(ExitOutcome::NotActive(open.status));
    }
    let left = open.remaining_quantity;
    let part = match request.part {
        Part::All => left,
        Part::Quantity(q) if left - q <= 1e-9 * open.quantity => left,
        Part::Quantity(q) => q.max(0.0),
    };
    let last = part >= left;
    let position = position_of(&open);
    let figures = position.exit(request.price, part, request.fee_rate);
    let at = request.at;
    let balance_after = daily_stats::book_pnl(conn, figures.pnl, initial_balance, at)?;
    let exit: TradeExitRow = diesel::insert_into(super::schema::trade_exits::table)
        .values(NewTradeExit {
            signal_id: open.id,
            reason: request.reason.as_str(),
            price: request.price,
            quantity: part,
            fee: figures.fee,
            pnl: figures.pnl,
            balance_after,
            created_at: at,
        })
        .returning(super::schema::trade_exits::all_columns)
        .get_result(conn)?;
    let booked = open.realized_pnl + figures.pnl;
    let paid = open.fees + figures.exit_fee;
    let still_open = signals
        .find(open.id)
        .filter(status.eq(SignalStatus::Active.as_str()));
    if !last {
        let remains = left - part;
        let signal: SignalRow = diesel::update(still_open)
            .set((
                remaining_quantity.eq(remains),
                realized_pnl.eq(booked),
                fees.eq(paid),
                // The live figure is linear in the quantity: the part that left takes its share.
                unrealized_pnl.eq(open.unrealized_pnl * remains / left),
            ))
            .returning(super::schema::signals::all_columns)
            .get_result(conn)?;
        return Ok(ExitOutcome::Booked(Box::new(Booked {
            exit,
            signal,
            journal: None,
            balance_after,
        })));
    }
    let (exits, average_price) = {
        use super::schema::trade_exits::dsl as e;
        let parts: Vec<(f64, f64)> = e::trade_exits
            .filter(e::signal_id.eq(open.id))
            .select((e::price, e::quantity))
            .load(conn)?;
        let quantity_out: f64 = parts.iter().map(|(_, q)| q).sum();
        let value: f64 = parts.iter().map(|(p, q)| p * q).sum();
        // One exit (or several at one price) is its own price, exactly.
        let same = parts.windows(2).all(|w| w[0].0 == w[1].0);
        let average = match parts.first() {
            Some((first, _)) if same => *first,
            _ => value / quantity_out,
        };
        (parts.len(), average)
    };
    let result = position.result(booked);
    let closed: SignalRow = diesel::update(still_open)
        .set((
            status.eq(SignalStatus::Closed.as_str()),
            remaining_quantity.eq(0.0),
            realized_pnl.eq(booked),
            exit_price.eq(average_price),
            exit_reason.eq(request.reason.as_str()),
            fees.eq(paid),
            pnl.eq(booked),
            current_price.eq(request.price),
            unrealized_pnl.eq(0.0),
            closed_at.eq(at),
            updated_at.eq(at),
        ))
        .returning(super::schema::signals::all_columns)
        .get_result(conn)?;
    daily_stats::count_close(conn, result.outcome, initial_balance, at)?;
    let journal = journal::add_journal_entry(
        conn,
        &NewJournalEntry {
            signal_id: closed.id,
            symbol: closed.symbol.clone(),
            direction: closed.direction.as_str(),
            entry_price: closed.entry_price,
            exit_price: average_price,
            quantity: closed.quantity,
            pnl: booked,
            pnl_pct: result.pnl_pct,
            r_multiple: result.r_multiple,
            outcome: result.outcome.as_str(),
            exit_reason: request.reason.as_str(),
            opened_at: closed.created_at,
            closed_at: at,
            duration_secs: (at - closed.created_at).num_seconds().max(0),
            balance_after,
            notes: closed.notes.clone(),
            tags: String::new(),
            created_at: at,
            updated_at: at,
            exit_count: i32::try_from(exits).unwrap_or(i32::MAX),
        },
    )?;
    super::analytics::record_close(conn, &closed_trade(&closed, &journal))?;
    super::events::record(conn, Event::TradeClosed(closed.id), at)?;
    Ok(ExitOutcome::Booked(Box::new(Booked {
        exit,
        signal: closed,
        journal: Some(journal),
        balance_after,
    })))
}

/// A closed trade as the analytics rollups see it: its journal entry and its signal.
pub fn closed_trade(signal: &SignalRow, journal: &JournalEntryRow) -> ClosedTrade {
    ClosedTrade {
        journal_id: journal.id,
        signal_id: signal.id,
        symbol: journal.symbol.clone(),
        direction: journal.direction,
        strategy: signal.strategy.clone(),
        timeframe: signal.timeframe.clone(),
        confidence: signal.confidence,
        exit_reason: journal.exit_reason,
        outcome: journal.outcome,
        pnl: journal.pnl,
        r_multiple: journal.r_multiple,
        opened_at: journal.opened_at,
        closed_at: journal.closed_at,
        duration_secs: journal.duration_secs,
        tags: journal.tags.clone(),
    }
}

/// Move an open trade's stop inside the caller's write transaction: `stop_loss` and
/// `stop_moved_by`, and the `stop_moves` row. Returns false (and writes nothing) when the trade
/// is no longer ACTIVE or its stop is no longer `change.old_stop`.
pub fn move_stop(
    conn: &mut Conn,
    trade: SignalId,
    change: &StopMove,
    at: NaiveDateTime,
) -> QueryResult<bool> {
    use super::schema::signals::dsl::*;
    let changed = diesel::update(
        signals
            .find(trade.0)
            .filter(status.eq(SignalStatus::Active.as_str()))
            .filter(stop_loss.eq(change.old_stop)),
    )
    .set((
        stop_loss.eq(change.new_stop),
        stop_moved_by.eq(Some(change.reason)),
    ))
    .execute(conn)?;
    if changed == 1 {
        record_stop_moves(conn, &[(trade, *change)], at)?;
    }
    Ok(changed == 1)
}

/// The most stop moves one INSERT writes.
const MOVES_PER_INSERT: usize = super::batch::MAX_ROWS;

/// One stop move as a row of the SQLite INSERT's `VALUES` list.
struct SqliteStopMove(SignalId, StopMove, NaiveDateTime);

impl ValuesRow for SqliteStopMove {
    fn push<'b>(&'b self, out: &mut AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        use diesel::sql_types::{Double, Integer, Text, Timestamp};
        out.push_sql("(");
        out.push_bind_param::<Integer, _>(&self.0 .0)?;
        out.push_sql(", ");
        out.push_bind_param::<Double, _>(&self.1.old_stop)?;
        out.push_sql(", ");
        out.push_bind_param::<Double, _>(&self.1.new_stop)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&self.1.reason)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&self.2)?;
        out.push_sql(")");
        Ok(())
    }

    /// No signal has id 0: the INSERT leaves it out.
    fn padding() -> Self {
        SqliteStopMove(
            SignalId(0),
            StopMove {
                old_stop: 1.0,
                new_stop: 1.0,
                reason: crate::domain::StopReason::Manual,
            },
            chrono::DateTime::UNIX_EPOCH.naive_utc(),
        )
    }
}

/// Write `stop_moves` rows for stops already moved on their signals, many per statement (the
/// tick moves many trailing stops at once): on SQLite a padded `VALUES` list (`db::batch`).
pub fn record_stop_moves(
    conn: &mut Conn,
    moves: &[(SignalId, StopMove)],
    at: NaiveDateTime,
) -> QueryResult<()> {
    for batch in moves.chunks(MOVES_PER_INSERT) {
        match conn {
            Conn::Sqlite(conn) => {
                let rows = batch
                    .iter()
                    .map(|(id, m)| SqliteStopMove(*id, *m, at))
                    .collect();
                Values::new(
                    "INSERT INTO stop_moves (signal_id, old_stop, new_stop, reason, created_at) \
                     SELECT column1, column2, column3, column4, column5 FROM (",
                    rows,
                    ") WHERE column1 > 0",
                )
                .execute(conn)?
            }
            // MultiConnection writes one row per INSERT; PostgreSQL's own connection many.
            Conn::Postgres(conn) => {
                let rows: Vec<NewStopMove> = batch
                    .iter()
                    .map(|(id, m)| NewStopMove {
                        signal_id: id.0,
                        old_stop: m.old_stop,
                        new_stop: m.new_stop,
                        reason: m.reason.as_str(),
                        created_at: at,
                    })
                    .collect();
                diesel::insert_into(super::schema::stop_moves::table)
                    .values(&rows)
                    .execute(conn)?
            }
        };
    }
    Ok(())
}

/// Every exit of a trade, in the order they were booked.
pub fn exits_of(conn: &mut Conn, trade: SignalId) -> QueryResult<Vec<TradeExitRow>> {
    use super::schema::trade_exits::dsl::*;
    trade_exits
        .filter(signal_id.eq(trade.0))
        .order(super::schema::trade_exits::id.asc())
        .select(TradeExitRow::as_select())
        .load(conn)
}

/// Every exit of every trade, oldest first (a backtest's report counts them).
pub fn all_exits(conn: &mut Conn) -> QueryResult<Vec<TradeExitRow>> {
    use super::schema::trade_exits::dsl::*;
    trade_exits
        .order(id.asc())
        .select(TradeExitRow::as_select())
        .load(conn)
}

/// Every stop move of every trade, oldest first.
pub fn all_stop_moves(conn: &mut Conn) -> QueryResult<Vec<StopMoveRow>> {
    use super::schema::stop_moves::dsl::*;
    stop_moves
        .order(id.asc())
        .select(StopMoveRow::as_select())
        .load(conn)
}

/// Every stop move of a trade, oldest first.
pub fn stop_moves_of(conn: &mut Conn, trade: SignalId) -> QueryResult<Vec<StopMoveRow>> {
    use super::schema::stop_moves::dsl::*;
    stop_moves
        .filter(signal_id.eq(trade.0))
        .order(super::schema::stop_moves::id.asc())
        .select(StopMoveRow::as_select())
        .load(conn)
}
