//! Rows as the pages show them: figures formatted, tones chosen, distances computed.

use chrono::NaiveDateTime;

use super::format::{
    date_time, distance, duration, money, percent, price, quantity, signed_money, tone,
};
use crate::db::models::{JournalEntryRow, SignalRow};
use crate::domain::{Direction, SignalStatus, StopReason};

/// How a table marks a stop that is no longer the initial one (DESIGN.md §10).
pub fn stop_mark(moved_by: Option<StopReason>) -> &'static str {
    match moved_by {
        None => "",
        Some(StopReason::Breakeven) => "BE",
        Some(StopReason::Trailing) => "trailing",
        Some(StopReason::Manual) => "manual",
    }
}

/// A signal / paper trade in a table.
pub struct TradeRow {
    pub id: i32,
    pub symbol: String,
    pub direction: String,
    pub status: String,
    pub entry: String,
    /// The stop in force (the last one of a closed trade).
    pub stop: String,
    /// `BE`, `trailing` or `manual` once the stop moved; empty while it is the initial stop.
    pub stop_mark: &'static str,
    pub target: String,
    pub current: String,
    /// What is left of the original quantity: `14 / 20`.
    pub remaining: String,
    /// Pnl booked by the exits so far (all of it once closed).
    pub realized: String,
    pub realized_tone: &'static str,
    /// Live pnl of what is left while open, booked pnl once closed.
    pub pnl: String,
    pub tone: &'static str,
    /// How far price may move against the trade before the stop, in percent of price.
    pub to_stop: String,
    /// How far price must move to reach the target, in percent of price.
    pub to_target: String,
    pub opened: String,
    pub closed: String,
    pub exit_reason: String,
    pub exit_price: String,
    pub confidence: String,
    pub strategy: String,
    pub is_active: bool,
}

impl TradeRow {
    pub fn new(s: &SignalRow) -> TradeRow {
        let pnl = s.pnl.unwrap_or(s.unrealized_pnl);
        let (to_stop, to_target) = match s.direction {
            Direction::Long => (
                (s.current_price - s.stop_loss) / s.current_price * 100.0,
                (s.take_profit - s.current_price) / s.current_price * 100.0,
            ),
            Direction::Short => (
                (s.stop_loss - s.current_price) / s.current_price * 100.0,
                (s.current_price - s.take_profit) / s.current_price * 100.0,
            ),
        };
        TradeRow {
            id: s.id,
            symbol: s.symbol.clone(),
            direction: s.direction.to_string(),
            status: s.status.to_string(),
            entry: price(s.entry_price),
            stop: price(s.stop_loss),
            stop_mark: stop_mark(s.stop_moved_by),
            target: price(s.take_profit),
            current: price(s.current_price),
            remaining: format!(
                "{} / {}",
                quantity(s.remaining_quantity),
                quantity(s.quantity)
            ),
            realized: signed_money(s.realized_pnl),
            realized_tone: tone(s.realized_pnl),
            pnl: signed_money(pnl),
            tone: tone(pnl),
            to_stop: distance(to_stop),
            to_target: distance(to_target),
            opened: date_time(s.created_at),
            closed: s.closed_at.map(date_time).unwrap_or_default(),
            exit_reason: s.exit_reason.map(|r| r.to_string()).unwrap_or_default(),
            exit_price: s.exit_price.map(price).unwrap_or_default(),
            confidence: format!("{:.0}%", s.confidence * 100.0),
            strategy: s.strategy.clone(),
            is_active: s.status == SignalStatus::Active,
        }
    }
}

/// A journal entry in a table or form.
pub struct JournalRow {
    pub id: i32,
    pub signal_id: i32,
    pub symbol: String,
    pub direction: String,
    pub outcome: String,
    pub exit_reason: String,
    pub entry: String,
    pub exit: String,
    pub pnl: String,
    pub pnl_pct: String,
    pub tone: &'static str,
    pub r_multiple: String,
    pub closed: String,
    pub duration: String,
    pub balance_after: String,
    /// How many exits closed the trade (partial ones included).
    pub exits: i32,
    pub notes: String,
    pub tags: String,
}

impl JournalRow {
    pub fn new(e: &JournalEntryRow) -> JournalRow {
        JournalRow {
            id: e.id,
            signal_id: e.signal_id,
            symbol: e.symbol.clone(),
            direction: e.direction.to_string(),
            outcome: e.outcome.to_string(),
            exit_reason: e.exit_reason.to_string(),
            entry: price(e.entry_price),
            exit: price(e.exit_price),
            pnl: signed_money(e.pnl),
            pnl_pct: percent(e.pnl_pct),
            tone: tone(e.pnl),
            r_multiple: format!("{:+.2}R", e.r_multiple),
            closed: date_time(e.closed_at),
            duration: duration(e.duration_secs),
            balance_after: money(e.balance_after),
            exits: e.exit_count,
            notes: e.notes.clone().unwrap_or_default(),
            tags: e.tags.clone(),
        }
    }
}

/// A trading session and whether it is open at `now` (UTC hours, half-open).
pub struct SessionRow {
    pub name: &'static str,
    pub hours: &'static str,
    pub open: bool,
}

pub fn sessions(now: NaiveDateTime) -> Vec<SessionRow> {
    use chrono::Timelike;
    let h = now.hour();
    vec![
        SessionRow {
            name: "Asia",
            hours: "23:00–08:00",
            open: !(8..23).contains(&h),
        },
        SessionRow {
            name: "London",
            hours: "08:00–16:00",
            open: (8..16).contains(&h),
        },
        SessionRow {
            name: "New York",
            hours: "13:00–22:00",
            open: (13..22).contains(&h),
        },
    ]
}
