//! `update_paper_trades`: one tick of the paper-trading engine as an ordinary function, so tests
//! call it with a chosen `now` and chosen quotes. Every open trade with a fresh quote is either
//! closed (take-profit, stop-loss, time exits) or has its live figures refreshed; a trade without
//! a fresh quote is left untouched and retried on the next tick. The tick is one immediate
//! transaction and each trade's booking is isolated (a savepoint around a close; the refreshes
//! in batches, one statement each, `db::single_statement`, and a batch that fails is written
//! again one trade per statement): a trade that cannot be booked (a constraint fails, say) is
//! rolled back alone, reported, and retried on the next tick, while every other trade is booked.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::QueryResult;

use super::market::{guard_quotes, Guarded};
use crate::db::leases::{self, Fence};
use crate::db::models::SignalRow;
use crate::db::signals::{
    close_in_transaction, get_active_signals, update_signal_pnl, update_signals_pnl, CloseOutcome,
    CloseRequest, PnlRefresh, PnlUpdate, PNL_BATCH,
};
use crate::db::{savepoint, single_statement, write_tx, Conn};
use crate::domain::pnl::OpenPosition;
use crate::domain::rules::TradingRules;
use crate::domain::time::truncate_to_micros;
use crate::domain::trading::{decide_exit, excursions, market_fill, Exit, OpenTrade, PriceRange};
use crate::domain::{Direction, ExitReason};
use crate::feeds::Quote;

/// One closed trade of a tick.
#[derive(Debug, Clone, PartialEq)]
pub struct ClosedByTick {
    pub signal_id: i32,
    pub symbol: String,
    pub reason: ExitReason,
    pub exit_price: f64,
    pub pnl: f64,
}

/// A trade the tick could not book; nothing of it was written and the next tick tries again.
#[derive(Debug, Clone, PartialEq)]
pub struct TradeFailure {
    pub signal_id: i32,
    pub symbol: String,
    pub error: String,
}

/// What a tick did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TickOutcome {
    /// Open trades whose live figures were refreshed.
    pub updated: usize,
    pub closed: Vec<ClosedByTick>,
    /// Open trades left alone for want of a fresh quote.
    pub unpriced: usize,
    /// Open trades whose booking failed, each rolled back alone.
    pub failed: Vec<TradeFailure>,
}

/// Follow every ACTIVE trade to `quotes`, polled at `now` (DESIGN.md §4), in one immediate
/// transaction.
pub fn update_paper_trades(
    conn: &mut Conn,
    quotes: &BTreeMap<String, Quote>,
    rules: &TradingRules,
    initial_balance: f64,
    now: NaiveDateTime,
) -> QueryResult<TickOutcome> {
    write_tx(conn, |conn| {
        follow_trades(conn, quotes, rules, initial_balance, now)
    })
}

/// A tick's write (DESIGN.md §9): in one immediate transaction, store the polled quotes the
/// glitch guard accepts (`market::guard_quotes`) and follow every open trade to them. The live
/// tick runs it fenced by the leader's lease ([`book_poll_as_leader`]).
pub fn book_poll(
    conn: &mut Conn,
    polled: BTreeMap<String, Quote>,
    rules: &TradingRules,
    initial_balance: f64,
    now: NaiveDateTime,
) -> QueryResult<(Guarded, TickOutcome)> {
    write_tx(conn, |conn| {
        let guarded = guard_quotes(conn, polled, now)?;
        let outcome = follow_trades(conn, &guarded.accepted, rules, initial_balance, now)?;
        Ok((guarded, outcome))
    })
}

/// [`book_poll`] as the leader holding `fence` (DESIGN.md §9): in the same transaction, renew the
/// lease for `lease` first, and write nothing (`None`) when it is no longer this leader's, so a
/// leader that was paused or cut off past its lease books nothing when it wakes.
pub fn book_poll_as_leader(
    conn: &mut Conn,
    fence: &Fence,
    lease: std::time::Duration,
    polled: BTreeMap<String, Quote>,
    rules: &TradingRules,
    initial_balance: f64,
    now: NaiveDateTime,
) -> QueryResult<Option<(Guarded, TickOutcome)>> {
    write_tx(conn, |conn| {
        if !leases::renew(conn, fence, lease)? {
            return Ok(None);
        }
        let guarded = guard_quotes(conn, polled, now)?;
        let outcome = follow_trades(conn, &guarded.accepted, rules, initial_balance, now)?;
        Ok(Some((guarded, outcome)))
    })
}

/// [`update_paper_trades`] inside a write transaction the caller holds. Each trade is priced at
/// the time of the data that priced it (its quote's time, never later than `now`): its
/// `updated_at` says how far the market has been read for it, so the next tick's candles start
/// there and a wick seen late by a lagging feed is still caught. A trade opened after that time
/// waits for the next tick: these quotes are older than its entry.
pub fn follow_trades(
    conn: &mut Conn,
    quotes: &BTreeMap<String, Quote>,
    rules: &TradingRules,
    initial_balance: f64,
    now: NaiveDateTime,
) -> QueryResult<TickOutcome> {
    let mut outcome = TickOutcome::default();
    let active = get_active_signals(conn)?;
    let mut refreshes = Vec::with_capacity(active.len());
    for signal in &active {
        let Some((quote, priced_at)) = quotes
            .get(&signal.symbol)
            .map(|q| (q, truncate_to_micros(q.price_time.naive_utc().min(now))))
            .filter(|(_, priced_at)| signal.created_at <= *priced_at)
        else {
            outcome.unpriced += 1;
            continue;
        };
        let (update, exit) = judge_trade(signal, quote, rules, priced_at);
        let Some(exit) = exit else {
            let signal_id = signal.signal_id();
            refreshes.push((
                signal,
                PnlRefresh {
                    signal_id,
                    update,
                    priced_at,
                },
            ));
            continue;
        };
        // A savepoint: a failure rolls back this trade's whole booking only.
        let closed = savepoint(conn, |conn| {
            update_signal_pnl(conn, signal.signal_id(), &update, priced_at)?;
            close_trade(conn, signal, exit, rules, initial_balance, priced_at)
        });
        match closed {
            Ok(Some(closed)) => outcome.closed.push(closed),
            Ok(None) => outcome.updated += 1,
            Err(e) => outcome.failed.push(failure(signal, &e)),
        }
    }
    // The refreshes, one statement per batch instead of one per trade (on PostgreSQL a round
    // trip each). A batch that fails wrote nothing; its trades are then refreshed one statement
    // each, so only the trade that cannot be written is left out.
    for batch in refreshes.chunks(PNL_BATCH) {
        let rows: Vec<PnlRefresh> = batch.iter().map(|(_, refresh)| *refresh).collect();
        if single_statement(conn, |conn| update_signals_pnl(conn, &rows)).is_ok() {
            outcome.updated += batch.len();
            continue;
        }
        for (signal, refresh) in batch {
            match single_statement(conn, |conn| {
                update_signal_pnl(conn, refresh.signal_id, &refresh.update, refresh.priced_at)
            }) {
                Ok(_) => outcome.updated += 1,
                Err(e) => outcome.failed.push(failure(signal, &e)),
            }
        }
    }
    // In id order, as the trades were judged.
    outcome.failed.sort_by_key(|f| f.signal_id);
    Ok(outcome)
}

/// The report of a trade whose booking failed with `error`.
fn failure(signal: &SignalRow, error: &diesel::result::Error) -> TradeFailure {
    TradeFailure {
        signal_id: signal.id,
        symbol: signal.symbol.clone(),
        error: error.to_string(),
    }
}

/// One trade's live figures at `quote`, and the exit the rules decide at `at`, if any.
fn judge_trade(
    signal: &SignalRow,
    quote: &Quote,
    rules: &TradingRules,
    at: NaiveDateTime,
) -> (PnlUpdate, Option<Exit>) {
    let range = PriceRange {
        last: quote.last_price,
        high: quote.high,
        low: quote.low,
    };
    let (favorable, adverse) = excursions(
        signal.direction,
        signal.max_favorable_price,
        signal.max_adverse_price,
        &range,
    );
    let position = OpenPosition {
        direction: signal.direction,
        entry_price: signal.entry_price,
        quantity: signal.quantity,
        entry_fee: signal.fees,
        risk_amount: signal.risk_amount,
    };
    // What closing at market now would book: slippage and both fees included.
    let exit_now = market_fill(
        range.last,
        rules.slippage,
        signal.direction == Direction::Short,
    );
    let update = PnlUpdate {
        current_price: range.last,
        unrealized_pnl: position.unrealized_pnl(exit_now, rules.fee_rate),
        max_favorable_price: favorable,
        max_adverse_price: adverse,
    };
    let trade = OpenTrade {
        direction: signal.direction,
        stop_loss: signal.stop_loss,
        take_profit: signal.take_profit,
        opened_at: signal.created_at,
    };
    (update, decide_exit(&trade, &range, rules, at))
}

/// Book `exit` of one trade: the signal, its journal entry, the balance and the day's stats.
fn close_trade(
    conn: &mut Conn,
    signal: &SignalRow,
    exit: Exit,
    rules: &TradingRules,
    initial_balance: f64,
    at: NaiveDateTime,
) -> QueryResult<Option<ClosedByTick>> {
    let request = CloseRequest {
        exit_price: exit.price,
        exit_reason: exit.reason,
        fee_rate: rules.fee_rate,
        closed_at: at,
    };
    Ok(
        match close_in_transaction(conn, signal.signal_id(), &request, initial_balance)? {
            CloseOutcome::Closed(closed) => Some(ClosedByTick {
                signal_id: closed.signal.id,
                symbol: closed.signal.symbol.clone(),
                reason: exit.reason,
                exit_price: exit.price,
                pnl: closed.journal.pnl,
            }),
            CloseOutcome::NotActive(_) => None,
        },
    )
}
