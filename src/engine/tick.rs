//! `update_paper_trades`: one tick of the paper-trading engine as an ordinary function, so tests
//! call it with a chosen `now` and chosen quotes. Every open trade with a fresh quote is either
//! closed (take-profit, stop-loss, time exits) or has its live figures refreshed; a trade without
//! a fresh quote is left untouched and retried on the next tick. The tick is one immediate
//! transaction and each trade's booking is isolated (a savepoint around a trade's exits; the
//! refreshes in batches, a savepoint each, and a batch that fails is written again one trade at
//! a time): a trade that cannot be booked (a constraint fails, say) is
//! rolled back alone, reported, and retried on the next tick, while every other trade is booked.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::QueryResult;

use super::market::{guard_quotes, Guarded};
use crate::db::candles;
use crate::db::exits::{
    exit_in_transaction, managed, position_of, record_stop_moves, Books, ExitOutcome, ExitRequest,
    Part,
};
use crate::db::leases::{self, Fence};
use crate::db::models::{SignalId, SignalRow};
use crate::db::signals::{
    get_active_signals, update_signals_pnl, PnlRefresh, PnlUpdate, PNL_BATCH,
};
use crate::db::{savepoint, write_tx, Conn};
use crate::domain::management::{step, Step, StopMove};
use crate::domain::market::{Candle, Timeframe};
use crate::domain::rules::TradingRules;
use crate::domain::time::truncate_to_micros;
use crate::domain::trading::{exit_fill, PriceRange};
use crate::domain::ExitReason;
use crate::feeds::Quote;
use crate::notify::{Outbox, Queued};

/// One closed trade of a tick.
#[derive(Debug, Clone, PartialEq)]
pub struct ClosedByTick {
    pub signal_id: i32,
    pub symbol: String,
    /// The reason of its last exit.
    pub reason: ExitReason,
    /// The quantity-weighted average of its exits.
    pub exit_price: f64,
    /// Σ pnl of its exits.
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
    /// Exits that left part of a trade open (partial targets).
    pub partial_exits: usize,
    /// Stops moved by breakeven or a trailing stop.
    pub stops_moved: usize,
    /// Open trades left alone for want of a fresh quote.
    pub unpriced: usize,
    /// Open trades whose booking failed, each rolled back alone.
    pub failed: Vec<TradeFailure>,
    /// 1-minute candles stored from the poll (DESIGN.md §11).
    pub candles_stored: usize,
}

/// Follow every ACTIVE trade to `quotes`, polled at `now` (DESIGN.md §4), in one immediate
/// transaction. Announces nothing: the tests' and backtests' entry (the live tick
/// is [`book_poll_as_leader`]).
pub fn update_paper_trades(
    conn: &mut Conn,
    quotes: &BTreeMap<String, Quote>,
    rules: &TradingRules,
    initial_balance: f64,
    now: NaiveDateTime,
) -> QueryResult<TickOutcome> {
    write_tx(conn, |conn| {
        let books = Books {
            rules,
            initial_balance,
            outbox: &Outbox::off(),
        };
        follow_trades(conn, quotes, &books, now)
    })
}

/// A tick's write (DESIGN.md §9): in one immediate transaction, store the polled quotes the
/// glitch guard accepts (`market::guard_quotes`), follow every open trade to them, and store the
/// candles they were read from. The live
/// tick runs it fenced by the leader's lease ([`book_poll_as_leader`]).
pub fn book_poll(
    conn: &mut Conn,
    polled: BTreeMap<String, Quote>,
    books: &Books,
    now: NaiveDateTime,
) -> QueryResult<(Guarded, TickOutcome)> {
    write_tx(conn, |conn| {
        let guarded = guard_quotes(conn, polled, now)?;
        let mut outcome = follow_trades(conn, &guarded.accepted, books, now)?;
        outcome.candles_stored = store_candles(conn, &guarded.accepted);
        Ok((guarded, outcome))
    })
}

/// Store the 1-minute candles the accepted quotes were read from (DESIGN.md §11), in the tick's
/// transaction, every symbol in the same statements, in a savepoint: a write that fails is
/// logged and undone alone, and costs the trades nothing. A symbol whose poll failed, or whose
/// price the glitch guard held back, has no accepted quote and stores nothing; the next tick
/// reads those minutes again. Returns the candles stored.
fn store_candles(conn: &mut Conn, accepted: &BTreeMap<String, Quote>) -> usize {
    let batch: Vec<(&str, &[Candle])> = accepted
        .values()
        .filter(|q| !q.minute_candles.is_empty())
        .map(|q| (q.symbol.as_str(), q.minute_candles.as_slice()))
        .collect();
    if batch.is_empty() {
        return 0;
    }
    match savepoint(conn, |conn| candles::upsert(conn, Timeframe::M1, &batch)) {
        Ok(upserted) => upserted.stored,
        Err(e) => {
            log::warn!("could not store this tick's candles, the trades are booked: {e}");
            0
        }
    }
}

/// [`book_poll`] as the leader holding `fence` (DESIGN.md §9): in the same transaction, renew the
/// lease for `lease` first, and write nothing (`None`) when it is no longer this leader's, so a
/// leader that was paused or cut off past its lease books nothing when it wakes.
pub fn book_poll_as_leader(
    conn: &mut Conn,
    fence: &Fence,
    lease: std::time::Duration,
    polled: BTreeMap<String, Quote>,
    books: &Books,
    now: NaiveDateTime,
) -> QueryResult<Option<(Guarded, TickOutcome)>> {
    write_tx(conn, |conn| {
        if !leases::renew(conn, fence, lease)? {
            return Ok(None);
        }
        let guarded = guard_quotes(conn, polled, now)?;
        let mut outcome = follow_trades(conn, &guarded.accepted, books, now)?;
        outcome.candles_stored = store_candles(conn, &guarded.accepted);
        Ok(Some((guarded, outcome)))
    })
}

/// [`update_paper_trades`] inside a write transaction the caller holds. Each trade is priced at
/// the time of the data that priced it (its quote's time, never later than `now`): its
/// `updated_at` says how far the market has been read for it, so the next tick's candles start
/// there and a wick seen late by a lagging feed is still caught. A trade opened after that time
/// waits for the next tick: these quotes are older than its entry.
///
/// The range since the last tick is one interval of DESIGN.md §10 (`domain::management::step`):
/// its exits are booked one after the other, each with its pnl, in one savepoint per trade; a
/// trade with no exit has its live figures and its next stop written in a batch.
pub fn follow_trades(
    conn: &mut Conn,
    quotes: &BTreeMap<String, Quote>,
    books: &Books,
    now: NaiveDateTime,
) -> QueryResult<TickOutcome> {
    let rules = books.rules;
    let mut outcome = TickOutcome::default();
    let active = get_active_signals(conn)?;
    let mut refreshes = Vec::with_capacity(active.len());
    let mut notes_queued = Vec::new();
    for signal in &active {
        let Some((quote, priced_at)) = quotes
            .get(&signal.symbol)
            .map(|q| (q, truncate_to_micros(q.price_time.naive_utc().min(now))))
            .filter(|(_, priced_at)| signal.created_at <= *priced_at)
        else {
            outcome.unpriced += 1;
            continue;
        };
        let range = PriceRange {
            last: quote.last_price,
            high: quote.high,
            low: quote.low,
        };
        let step = step(&managed(signal), &range, rules, priced_at);
        let refresh = refresh_of(signal, &step, &range, rules, priced_at);
        if step.exits.is_empty() {
            refreshes.push((signal, refresh, step.stop_move));
            continue;
        }
        // A savepoint: a failure rolls back this trade's whole booking only.
        let booked = savepoint(conn, |conn| {
            book_exits(conn, signal, &step, refresh, books, priced_at)
        });
        // A trade's notifications count once its booking stands; the tick queues them all at
        // the end, in its transaction, in one statement.
        let booked = booked.map(|(closed, notes)| {
            notes_queued.extend(notes);
            closed
        });
        match booked {
            Ok(Some(closed)) => {
                outcome.partial_exits += step.exits.len() - 1;
                outcome.closed.push(closed);
            }
            Ok(None) => {
                outcome.partial_exits += step.exits.len();
                outcome.stops_moved += usize::from(step.stop_move.is_some());
                outcome.updated += 1;
            }
            Err(e) => outcome.failed.push(failure(signal, &e)),
        }
    }
    // The refreshes, one statement per batch instead of one per trade (on PostgreSQL a round
    // trip each), with the stop moves they carry. A batch that fails wrote nothing; its trades
    // are then refreshed one at a time, so only the trade that cannot be written is left out.
    for batch in refreshes.chunks(PNL_BATCH) {
        let rows: Vec<PnlRefresh> = batch.iter().map(|(_, refresh, _)| *refresh).collect();
        let moves: Vec<(SignalId, StopMove)> = batch
            .iter()
            .filter_map(|(signal, _, change)| change.map(|c| (signal.signal_id(), c)))
            .collect();
        let written = savepoint(conn, |conn| {
            update_signals_pnl(conn, &rows)?;
            record_stop_moves(conn, &moves, now)
        });
        if written.is_ok() {
            outcome.updated += batch.len();
            outcome.stops_moved += moves.len();
            continue;
        }
        for (signal, refresh, change) in batch {
            match savepoint(conn, |conn| refresh_one(conn, signal, refresh, change, now)) {
                Ok(()) => {
                    outcome.updated += 1;
                    outcome.stops_moved += usize::from(change.is_some());
                }
                Err(e) => outcome.failed.push(failure(signal, &e)),
            }
        }
    }
    books.outbox.queue_all(conn, &notes_queued)?;
    // In id order, as the trades were judged.
    outcome.failed.sort_by_key(|f| f.signal_id);
    Ok(outcome)
}

/// One trade's refresh and stop move, written alone.
fn refresh_one(
    conn: &mut Conn,
    signal: &SignalRow,
    refresh: &PnlRefresh,
    change: &Option<StopMove>,
    at: NaiveDateTime,
) -> QueryResult<()> {
    update_signals_pnl(conn, std::slice::from_ref(refresh))?;
    if let Some(change) = change {
        record_stop_moves(conn, &[(signal.signal_id(), *change)], at)?;
    }
    Ok(())
}

/// The report of a trade whose booking failed with `error`.
fn failure(signal: &SignalRow, error: &diesel::result::Error) -> TradeFailure {
    TradeFailure {
        signal_id: signal.id,
        symbol: signal.symbol.clone(),
        error: error.to_string(),
    }
}

/// A trade's live figures and management state after `step`: what is left of it priced at
/// market now (slippage and its share of both fees included), the best and worst prices, the
/// stop for the next interval.
fn refresh_of(
    signal: &SignalRow,
    step: &Step,
    range: &PriceRange,
    rules: &TradingRules,
    priced_at: NaiveDateTime,
) -> PnlRefresh {
    let exit_now = exit_fill(signal.direction, range.last, rules.slippage);
    let (stop_loss, stop_moved_by) = match step.stop_move {
        Some(change) => (change.new_stop, Some(change.reason)),
        None => (signal.stop_loss, signal.stop_moved_by),
    };
    PnlRefresh {
        signal_id: signal.signal_id(),
        update: PnlUpdate {
            current_price: range.last,
            unrealized_pnl: position_of(signal).unrealized_pnl(
                step.remaining,
                exit_now,
                rules.fee_rate,
            ),
            max_favorable_price: step.favorable,
            max_adverse_price: step.adverse,
        },
        stop_loss,
        stop_moved_by,
        targets_hit: i32::try_from(step.targets_hit).unwrap_or(i32::MAX),
        priced_at,
    }
}

/// Book the exits of `step`, in order, each with its pnl (the last one closing the trade), then
/// for a trade still open its refresh and stop move. Returns the close when the trade closed,
/// and the notifications its exits announce (queued by the caller).
fn book_exits(
    conn: &mut Conn,
    signal: &SignalRow,
    step: &Step,
    refresh: PnlRefresh,
    books: &Books,
    at: NaiveDateTime,
) -> QueryResult<(Option<ClosedByTick>, Vec<Queued>)> {
    let mut notes = Vec::new();
    // A trade that closes keeps the excursions of the interval that closed it: its live figures
    // go first. One left open gets them after its exits (an exit scales the live pnl down to
    // what is left; the refresh is already for what is left).
    if step.closes() {
        update_signals_pnl(conn, std::slice::from_ref(&refresh))?;
    }
    let last = step.exits.len() - 1;
    for (i, fill) in step.exits.iter().enumerate() {
        let part = if i == last && step.closes() {
            Part::All
        } else {
            Part::Quantity(fill.quantity)
        };
        let request = ExitRequest {
            reason: fill.reason,
            price: fill.price,
            part,
            fee_rate: books.rules.fee_rate,
            at,
        };
        let booked =
            match exit_in_transaction(conn, signal.signal_id(), &request, books.initial_balance)? {
                ExitOutcome::Booked(booked) => booked,
                ExitOutcome::NotActive(_) => return Ok((None, notes)),
            };
        // The last partial exit of an interval that moves the stop says where it went.
        let stop_move = step.stop_move.filter(|_| i == last && !step.closes());
        notes.extend(books.outbox.exit_notes(conn, &booked, stop_move.as_ref())?);
        if let Some(journal) = booked.journal {
            let closed = ClosedByTick {
                signal_id: signal.id,
                symbol: signal.symbol.clone(),
                reason: fill.reason,
                exit_price: journal.exit_price,
                pnl: journal.pnl,
            };
            return Ok((Some(closed), notes));
        }
    }
    update_signals_pnl(conn, std::slice::from_ref(&refresh))?;
    if let Some(change) = step.stop_move {
        record_stop_moves(conn, &[(signal.signal_id(), change)], at)?;
    }
    Ok((None, notes))
}
