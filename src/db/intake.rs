//! Opening and manually closing paper trades: every signal — from the API, the TradingView
//! webhook or the strategy scanner — goes through [`open_signal`], which reads the account, runs
//! the gates, sizes the position and inserts it in ONE immediate transaction, so two concurrent
//! requests can never both pass the "Already have open position" gate.

use chrono::NaiveDateTime;
use diesel::dsl::{count_star, max, sum};
use diesel::prelude::*;

use super::daily_stats;
use super::exits::{self, Booked, Books, ExitOutcome, ExitRequest, Part};
use super::models::{targets_text, NewSignal, SignalId, SignalRow};
use super::signals::{self, is_active, AddOutcome};
use super::Conn;
use crate::domain::management::{
    manual_part, manual_stop, Management, ManagementRequest, StopMove,
};
use crate::domain::rules::TradingRules;
use crate::domain::time::day_bounds;
use crate::domain::trading::{
    check_gates, exit_fill, market_fill, opens_by_buying, size_position, Exposure, Levels, Refusal,
    RuleError, Sizing,
};
use crate::domain::{Direction, ExitReason, SignalStatus, Symbol};
use crate::notify::Outbox;

/// A validated request for a new signal; the entry comes from the market.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalRequest {
    pub symbol: Symbol,
    pub direction: Direction,
    pub stop_loss: f64,
    pub take_profit: f64,
    pub confidence: f64,
    pub strategy: String,
    pub timeframe: Option<String>,
    pub external_id: Option<String>,
    pub reasons: String,
    pub notes: Option<String>,
    /// The signal's own partial targets, breakeven and trailing stop; what it leaves out comes
    /// from the configuration's defaults (DESIGN.md §10).
    pub management: ManagementRequest,
}

/// Why a signal was not opened.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The levels do not fit the fill: 400 naming the field.
    #[error(transparent)]
    Invalid(#[from] RuleError),
    /// A gate refused it: 409 with the gate's reason.
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// The figures the gates need, read inside the opening transaction.
pub fn exposure(
    conn: &mut Conn,
    trade_symbol: &str,
    initial_balance: f64,
    now: NaiveDateTime,
) -> QueryResult<Exposure> {
    use super::schema::signals::dsl::*;
    let balance = daily_stats::current_balance(conn, initial_balance)?;
    let on_symbol: i64 = signals
        .filter(symbol.eq(trade_symbol))
        .filter(is_active())
        .select(count_star())
        .first(conn)?;
    let (open, open_risk): (i64, Option<f64>) = signals
        .filter(is_active())
        .select((count_star(), sum(risk_amount)))
        .first(conn)?;
    let (start, end) = day_bounds(now.date());
    let today: i64 = signals
        .filter(created_at.ge(start).and(created_at.lt(end)))
        .select(count_star())
        .first(conn)?;
    // closed_at is set exactly on CLOSED trades (a CHECK constraint): the (symbol, closed_at)
    // index answers this with one probe.
    let last_close: Option<NaiveDateTime> = signals
        .filter(symbol.eq(trade_symbol))
        .select(max(closed_at))
        .first(conn)?;
    let count = |n: i64| u32::try_from(n).unwrap_or(u32::MAX);
    Ok(Exposure {
        balance,
        open_on_symbol: count(on_symbol),
        open_trades: count(open),
        signals_today: count(today),
        open_risk: open_risk.unwrap_or(0.0),
        last_close_on_symbol: last_close,
    })
}

/// Open `request` as a paper trade at `market_price` moved by slippage against the trader, in
/// one write transaction, with its `signal_opened` notifications from `outbox`. A repeated
/// `external_id` returns the existing signal before any gate runs.
pub fn open_signal(
    conn: &mut Conn,
    request: &SignalRequest,
    market_price: f64,
    rules: &TradingRules,
    initial_balance: f64,
    outbox: &Outbox,
    now: NaiveDateTime,
) -> Result<AddOutcome, IntakeError> {
    super::write_tx(conn, |conn| {
        open_in_transaction(
            conn,
            request,
            market_price,
            rules,
            initial_balance,
            outbox,
            now,
        )
    })
}

/// [`open_signal`] inside a write transaction the caller holds (the scanner's, fenced by the
/// leader's lease).
pub fn open_in_transaction(
    conn: &mut Conn,
    request: &SignalRequest,
    market_price: f64,
    rules: &TradingRules,
    initial_balance: f64,
    outbox: &Outbox,
    now: NaiveDateTime,
) -> Result<AddOutcome, IntakeError> {
    if let Some(client_id) = &request.external_id {
        if let Some(existing) = signals::find_by_external_id(conn, client_id)? {
            return Ok(AddOutcome::Existing(existing));
        }
    }
    let entry = market_fill(
        market_price,
        rules.slippage,
        opens_by_buying(request.direction),
    );
    let levels = Levels::new(
        request.direction,
        entry,
        request.stop_loss,
        request.take_profit,
    )?;
    let management = Management::for_levels(&levels, &request.management, &rules.management)?;
    let exposure = exposure(conn, request.symbol.as_str(), initial_balance, now)?;
    let sizing = size_position(exposure.balance, &levels, rules);
    let management = fit_to_quantity(
        management,
        sizing.quantity,
        request.management.take_profits.is_some(),
    )?;
    check_gates(
        &exposure,
        request.confidence,
        sizing.risk_amount,
        rules,
        now,
    )?;
    let row = opened_signal(request, levels.entry(), &sizing, &management, now);
    let added = signals::insert_signal(conn, &row, initial_balance)?;
    if let AddOutcome::Created(signal) = &added {
        outbox.signal_opened(conn, signal)?;
    }
    Ok(added)
}

/// `management` for a trade of `quantity`: a partial target whose part of it is 0 (a fraction
/// so small that `fraction × quantity` rounds to nothing) could never be booked, as an exit takes
/// a positive quantity. The signal's `own` targets are then refused (400 naming `take_profits`);
/// a default target is left out, as the defaults fit themselves to each trade.
fn fit_to_quantity(
    mut management: Management,
    quantity: f64,
    own: bool,
) -> Result<Management, RuleError> {
    let closes_something = |fraction: f64| fraction * quantity > 0.0;
    if own {
        if let Some((i, target)) = management
            .take_profits
            .iter()
            .enumerate()
            .find(|(_, t)| !closes_something(t.fraction))
        {
            return Err(RuleError {
                field: "take_profits",
                message: format!(
                    "take_profits[{i}].fraction {:?} of {quantity} units closes nothing; use a larger fraction",
                    target.fraction
                ),
            });
        }
    } else {
        management
            .take_profits
            .retain(|t| closes_something(t.fraction));
    }
    Ok(management)
}

/// The row of `request` opened at `now` at the fill `entry` with `sizing` and `management`:
/// ACTIVE, priced at its entry, all of it open, the entry fee paid (each exit adds its fill's
/// fee to `fees`). The levels are the request's; [`open_signal`] has validated them against the
/// fill (`Levels`, `Management::for_levels`) before it builds the row.
pub fn opened_signal(
    request: &SignalRequest,
    entry: f64,
    sizing: &Sizing,
    management: &Management,
    now: NaiveDateTime,
) -> NewSignal {
    NewSignal {
        symbol: request.symbol.to_string(),
        direction: request.direction.as_str(),
        status: SignalStatus::Active.as_str(),
        entry_price: entry,
        stop_loss: request.stop_loss,
        take_profit: request.take_profit,
        quantity: sizing.quantity,
        risk_amount: sizing.risk_amount,
        confidence: request.confidence,
        strategy: request.strategy.clone(),
        timeframe: request.timeframe.clone(),
        external_id: request.external_id.clone(),
        reasons: request.reasons.clone(),
        notes: request.notes.clone(),
        current_price: entry,
        unrealized_pnl: -sizing.entry_fee,
        max_favorable_price: entry,
        max_adverse_price: entry,
        fees: sizing.entry_fee,
        created_at: now,
        updated_at: now,
        initial_stop_loss: request.stop_loss,
        remaining_quantity: sizing.quantity,
        take_profits: targets_text(&management.take_profits),
        breakeven_at_r: management.breakeven_at_r,
        trailing_stop_pct: management.trailing_stop_pct,
        trailing_activate_at_r: management.trailing_activate_at_r,
        entry_fee: sizing.entry_fee,
    }
}

/// Why a manual exit or stop move was not booked.
#[derive(Debug, thiserror::Error)]
pub enum ManualError {
    /// A field of the request breaks a rule: 400 naming it.
    #[error(transparent)]
    Invalid(#[from] RuleError),
    /// The trade is not ACTIVE: 409.
    #[error("the signal is {0}, not ACTIVE")]
    NotActive(SignalStatus),
    /// `diesel::NotFound` for an unknown id.
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// The quantity a manual exit of `fraction` of what is left of `open` takes (all of it for
/// `None`), by [`manual_part`]; a fraction so small that its part rounds to 0 is refused too
/// (400 naming `fraction`): an exit takes a positive quantity.
pub fn manual_quantity(open: &SignalRow, fraction: Option<f64>) -> Result<f64, RuleError> {
    let quantity = manual_part(open.remaining_quantity, open.quantity, fraction)?;
    if quantity > 0.0 {
        Ok(quantity)
    } else {
        Err(RuleError {
            field: "fraction",
            message: format!(
                "fraction {:?} of the remaining {} units closes nothing; use a larger fraction",
                fraction.unwrap_or(1.0),
                open.remaining_quantity
            ),
        })
    }
}

/// Close `fraction` of what is left of an open trade (all of it for `None`) at `market_price`,
/// exit_reason MANUAL, slippage against the trader, in one write transaction. The last exit
/// closes the trade.
pub fn exit_at_market(
    conn: &mut Conn,
    id: SignalId,
    market_price: f64,
    fraction: Option<f64>,
    books: &Books,
    now: NaiveDateTime,
) -> Result<Booked, ManualError> {
    let rules = books.rules;
    super::write_tx(conn, |conn| {
        let open: SignalRow = signals::get_signal(conn, id)?;
        if open.status != SignalStatus::Active {
            return Err(ManualError::NotActive(open.status));
        }
        let quantity = manual_quantity(&open, fraction)?;
        let request = ExitRequest {
            reason: ExitReason::Manual,
            price: exit_fill(open.direction, market_price, rules.slippage),
            part: Part::Quantity(quantity),
            fee_rate: rules.fee_rate,
            at: now,
        };
        match exits::exit_in_transaction(conn, id, &request, books.initial_balance)? {
            ExitOutcome::Booked(booked) => {
                books.outbox.exit_booked(conn, &booked, None)?;
                Ok(*booked)
            }
            ExitOutcome::NotActive(status) => Err(ManualError::NotActive(status)),
        }
    })
}

/// Move an open trade's stop by hand to `new_stop` (DESIGN.md §10), in one write transaction:
/// only in the trade's favour and short of `last_price` (the fresh price, else the trade's
/// last) and of the target, recorded in `stop_moves` as MANUAL. Returns the trade after the
/// move.
pub fn move_stop_by_hand(
    conn: &mut Conn,
    id: SignalId,
    new_stop: f64,
    last_price: Option<f64>,
    now: NaiveDateTime,
) -> Result<(SignalRow, StopMove), ManualError> {
    super::write_tx(conn, |conn| {
        let open: SignalRow = signals::get_signal(conn, id)?;
        if open.status != SignalStatus::Active {
            return Err(ManualError::NotActive(open.status));
        }
        let change = manual_stop(
            &exits::managed(&open),
            new_stop,
            last_price.unwrap_or(open.current_price),
        )?;
        // Short of the price is short of the target while the tick books the target as it is
        // reached; a trade left open beyond it (a booking failure) must not take a stop at or
        // beyond it, which the levels CHECK refuses.
        let short_of_target = match open.direction {
            Direction::Long => new_stop < open.take_profit,
            Direction::Short => new_stop > open.take_profit,
        };
        if !short_of_target {
            return Err(ManualError::Invalid(RuleError {
                field: "stop_loss",
                message: format!(
                    "stop_loss {new_stop:?} is at or beyond take_profit {}: close the trade instead",
                    crate::domain::format::price(open.take_profit)
                ),
            }));
        }
        if !exits::move_stop(conn, id, &change, now)? {
            return Err(ManualError::Db(diesel::result::Error::RollbackTransaction));
        }
        Ok((signals::get_signal(conn, id)?, change))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::management::PartialTarget;

    fn with_targets(fractions: &[f64]) -> Management {
        Management {
            take_profits: fractions
                .iter()
                .enumerate()
                .map(|(i, &fraction)| PartialTarget {
                    price: 101.0 + i as f64,
                    fraction,
                })
                .collect(),
            ..Management::default()
        }
    }

    #[test]
    fn a_target_whose_part_rounds_to_nothing_is_refused_or_left_out() {
        // 0.1 × the smallest double is 0: no exit could ever take it.
        let (tiny, quantity) = (f64::from_bits(1), 0.1);
        assert_eq!(tiny * quantity, 0.0);
        let error = fit_to_quantity(with_targets(&[0.25, tiny]), quantity, true).unwrap_err();
        assert_eq!(error.field, "take_profits");
        assert!(error.message.contains("take_profits[1]"), "{error}");
        let fitted = fit_to_quantity(with_targets(&[0.25, tiny]), quantity, false).unwrap();
        assert_eq!(fitted, with_targets(&[0.25]), "a default is left out");
        // On a large enough quantity the same fraction still closes something.
        let kept = fit_to_quantity(with_targets(&[tiny]), 1e6, true).unwrap();
        assert_eq!(kept.take_profits.len(), 1);
    }
}
