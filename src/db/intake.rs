//! Opening and manually closing paper trades: every signal — from the API, the TradingView
//! webhook or the strategy scanner — goes through [`open_signal`], which reads the account, runs
//! the gates, sizes the position and inserts it in ONE immediate transaction, so two concurrent
//! requests can never both pass the "Already have open position" gate.

use chrono::NaiveDateTime;
use diesel::dsl::{count_star, max, sum};
use diesel::prelude::*;

use super::daily_stats;
use super::models::{NewSignal, SignalId, SignalRow};
use super::signals::{self, is_active, AddOutcome, CloseOutcome, CloseRequest};
use super::Conn;
use crate::domain::rules::TradingRules;
use crate::domain::time::day_bounds;
use crate::domain::trading::{
    check_gates, market_fill, opens_by_buying, size_position, Exposure, Levels, Refusal, RuleError,
    Sizing,
};
use crate::domain::{Direction, ExitReason, SignalStatus, Symbol};

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
/// one write transaction. A repeated `external_id` returns the existing signal before any gate
/// runs.
pub fn open_signal(
    conn: &mut Conn,
    request: &SignalRequest,
    market_price: f64,
    rules: &TradingRules,
    initial_balance: f64,
    now: NaiveDateTime,
) -> Result<AddOutcome, IntakeError> {
    super::write_tx(conn, |conn| {
        open_in_transaction(conn, request, market_price, rules, initial_balance, now)
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
    let exposure = exposure(conn, request.symbol.as_str(), initial_balance, now)?;
    let sizing = size_position(exposure.balance, &levels, rules);
    check_gates(
        &exposure,
        request.confidence,
        sizing.risk_amount,
        rules,
        now,
    )?;
    let row = opened_signal(request, levels.entry(), &sizing, now);
    Ok(signals::insert_signal(conn, &row, initial_balance)?)
}

/// The row of `request` opened at `now` at the fill `entry` with `sizing`: ACTIVE, priced at its
/// entry, the entry fee paid (the close adds the exit fee to `fees`). The levels are the
/// request's; [`open_signal`] has validated them against the fill (`Levels`) before it builds
/// the row.
pub fn opened_signal(
    request: &SignalRequest,
    entry: f64,
    sizing: &Sizing,
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
    }
}

/// Close an open trade at `market_price` (exit_reason MANUAL), slippage against the trader.
pub fn close_at_market(
    conn: &mut Conn,
    id: SignalId,
    market_price: f64,
    rules: &TradingRules,
    initial_balance: f64,
    now: NaiveDateTime,
) -> QueryResult<CloseOutcome> {
    super::write_tx(conn, |conn| {
        let open: SignalRow = signals::get_signal(conn, id)?;
        let closes_by_buying = open.direction == Direction::Short;
        let request = CloseRequest {
            exit_price: market_fill(market_price, rules.slippage, closes_by_buying),
            exit_reason: ExitReason::Manual,
            fee_rate: rules.fee_rate,
            closed_at: now,
        };
        signals::close_in_transaction(conn, id, &request, initial_balance)
    })
}
