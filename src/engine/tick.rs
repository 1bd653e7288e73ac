//! `update_paper_trades`: one tick of the paper-trading engine as an ordinary function, so tests
//! call it with a chosen `now` and chosen quotes. Every open trade with a fresh quote is either
//! closed (take-profit, stop-loss, time exits) or has its live figures refreshed; a trade without
//! a fresh quote is left untouched and retried on the next tick. The whole tick is one immediate
//! transaction: it lands completely or not at all.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::signals::{
    close_in_transaction, get_active_signals, update_signal_pnl, CloseOutcome, CloseRequest,
    PnlUpdate,
};
use crate::domain::pnl::OpenPosition;
use crate::domain::rules::TradingRules;
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

/// What a tick did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TickOutcome {
    /// Open trades whose live figures were refreshed.
    pub updated: usize,
    pub closed: Vec<ClosedByTick>,
    /// Open trades left alone for want of a fresh quote.
    pub unpriced: usize,
}

/// Follow every ACTIVE trade to `quotes`, polled at `now` (DESIGN.md §4). A trade opened after
/// `now` waits for the next tick: these quotes are older than its entry.
pub fn update_paper_trades(
    conn: &mut SqliteConnection,
    quotes: &BTreeMap<String, Quote>,
    rules: &TradingRules,
    initial_balance: f64,
    now: NaiveDateTime,
) -> QueryResult<TickOutcome> {
    conn.immediate_transaction(|conn| {
        let mut outcome = TickOutcome::default();
        for signal in get_active_signals(conn)? {
            let Some(quote) = quotes
                .get(&signal.symbol)
                .filter(|_| signal.created_at <= now)
            else {
                outcome.unpriced += 1;
                continue;
            };
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
            update_signal_pnl(conn, signal.signal_id(), &update, now)?;
            let trade = OpenTrade {
                direction: signal.direction,
                stop_loss: signal.stop_loss,
                take_profit: signal.take_profit,
                opened_at: signal.created_at,
            };
            let Some(exit) = decide_exit(&trade, &range, rules, now) else {
                outcome.updated += 1;
                continue;
            };
            let request = CloseRequest {
                exit_price: exit.price,
                exit_reason: exit.reason,
                fee_rate: rules.fee_rate,
                closed_at: now,
            };
            if let CloseOutcome::Closed(closed) =
                close_in_transaction(conn, signal.signal_id(), &request, initial_balance)?
            {
                outcome.closed.push(ClosedByTick {
                    signal_id: closed.signal.id,
                    symbol: closed.signal.symbol.clone(),
                    reason: exit.reason,
                    exit_price: exit.price,
                    pnl: closed.journal.pnl,
                });
            }
        }
        Ok(outcome)
    })
}
