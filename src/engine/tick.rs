//! `update_paper_trades`: one tick of the paper-trading engine as an ordinary function, so tests
//! call it with a chosen `now` and chosen quotes. Every open trade with a fresh quote is either
//! closed (take-profit, stop-loss, time exits) or has its live figures refreshed; a trade without
//! a fresh quote is left untouched and retried on the next tick. The tick is one immediate
//! transaction and each trade is booked in a savepoint of its own: a trade that cannot be booked
//! (a constraint fails, say) is rolled back alone, reported, and retried on the next tick, while
//! every other trade is booked.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::models::SignalRow;
use crate::db::signals::{
    close_in_transaction, get_active_signals, update_signal_pnl, CloseOutcome, CloseRequest,
    PnlUpdate,
};
use crate::domain::pnl::OpenPosition;
use crate::domain::rules::TradingRules;
use crate::domain::time::truncate_to_micros;
use crate::domain::trading::{decide_exit, excursions, market_fill, OpenTrade, PriceRange};
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
    conn: &mut SqliteConnection,
    quotes: &BTreeMap<String, Quote>,
    rules: &TradingRules,
    initial_balance: f64,
    now: NaiveDateTime,
) -> QueryResult<TickOutcome> {
    conn.immediate_transaction(|conn| follow_trades(conn, quotes, rules, initial_balance, now))
}

/// [`update_paper_trades`] inside a write transaction the caller holds. Each trade is priced at
/// the time of the data that priced it (its quote's time, never later than `now`): its
/// `updated_at` says how far the market has been read for it, so the next tick's candles start
/// there and a wick seen late by a lagging feed is still caught. A trade opened after that time
/// waits for the next tick: these quotes are older than its entry.
pub fn follow_trades(
    conn: &mut SqliteConnection,
    quotes: &BTreeMap<String, Quote>,
    rules: &TradingRules,
    initial_balance: f64,
    now: NaiveDateTime,
) -> QueryResult<TickOutcome> {
    let mut outcome = TickOutcome::default();
    for signal in get_active_signals(conn)? {
        let Some((quote, priced_at)) = quotes
            .get(&signal.symbol)
            .map(|q| (q, truncate_to_micros(q.price_time.naive_utc().min(now))))
            .filter(|(_, priced_at)| signal.created_at <= *priced_at)
        else {
            outcome.unpriced += 1;
            continue;
        };
        // A savepoint: a failure rolls back this trade only.
        let followed = conn.transaction(|conn| {
            follow_trade(conn, &signal, quote, rules, initial_balance, priced_at)
        });
        match followed {
            Ok(Some(closed)) => outcome.closed.push(closed),
            Ok(None) => outcome.updated += 1,
            Err(e) => outcome.failed.push(TradeFailure {
                signal_id: signal.id,
                symbol: signal.symbol.clone(),
                error: e.to_string(),
            }),
        }
    }
    Ok(outcome)
}

/// Refresh one trade's live figures, then close it if an exit rule says so.
fn follow_trade(
    conn: &mut SqliteConnection,
    signal: &SignalRow,
    quote: &Quote,
    rules: &TradingRules,
    initial_balance: f64,
    at: NaiveDateTime,
) -> QueryResult<Option<ClosedByTick>> {
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
    update_signal_pnl(conn, signal.signal_id(), &update, at)?;
    let trade = OpenTrade {
        direction: signal.direction,
        stop_loss: signal.stop_loss,
        take_profit: signal.take_profit,
        opened_at: signal.created_at,
    };
    let Some(exit) = decide_exit(&trade, &range, rules, at) else {
        return Ok(None);
    };
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
