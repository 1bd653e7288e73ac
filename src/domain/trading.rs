//! The paper-trading rules of DESIGN.md §4 as pure functions: fills with slippage, level
//! validation, sizing, the gates, and the exit decision of each tick.

use chrono::{Duration, NaiveDateTime};

use super::format::price;
use super::rules::TradingRules;
use super::Direction;

/// A rule broken by a request: the field it concerns and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RuleError {
    pub field: &'static str,
    pub message: String,
}

fn rule(field: &'static str, message: String) -> RuleError {
    RuleError { field, message }
}

/// The price of a market fill: `price` moved by `slippage` against the trader. Opening a LONG
/// or closing a SHORT buys (pays more); opening a SHORT or closing a LONG sells (gets less).
pub fn market_fill(price: f64, slippage: f64, buying: bool) -> f64 {
    if buying {
        price * (1.0 + slippage)
    } else {
        price * (1.0 - slippage)
    }
}

/// Whether opening `direction` buys.
pub fn opens_by_buying(direction: Direction) -> bool {
    direction == Direction::Long
}

/// How far from the entry a stop or target may lie: within [entry ÷ 100, entry × 100]
/// (DESIGN.md §13). Beyond that a level is a typo or an attack (`5e-324`, `1.7e308`), and the
/// arithmetic of sizing and charts loses its meaning.
pub const LEVEL_RANGE_FACTOR: f64 = 100.0;

/// A trade's entry, stop and target, on the right sides of each other: LONG stop < entry <
/// target, SHORT mirrored, every level finite and positive, stop and target within
/// [entry ÷ 100, entry × 100]. Only [`Levels::new`] makes one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Levels {
    direction: Direction,
    entry: f64,
    stop_loss: f64,
    take_profit: f64,
}

impl Levels {
    /// Check the levels against the entry fill; the error names the offending field.
    pub fn new(
        direction: Direction,
        entry: f64,
        stop_loss: f64,
        take_profit: f64,
    ) -> Result<Levels, RuleError> {
        for (field, value) in [
            ("entry_price", entry),
            ("stop_loss", stop_loss),
            ("take_profit", take_profit),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return Err(rule(field, format!("{field} must be a positive number")));
            }
        }
        let (lowest, highest) = (entry / LEVEL_RANGE_FACTOR, entry * LEVEL_RANGE_FACTOR);
        for (field, value) in [("stop_loss", stop_loss), ("take_profit", take_profit)] {
            if !(lowest..=highest).contains(&value) {
                return Err(rule(
                    field,
                    format!(
                        "{field} {value:?} must lie within [{}, {}]: the entry fill {} ÷ 100 to × 100",
                        price(lowest),
                        price(highest),
                        price(entry)
                    ),
                ));
            }
        }
        let (stop_ok, target_ok) = match direction {
            Direction::Long => (stop_loss < entry, take_profit > entry),
            Direction::Short => (stop_loss > entry, take_profit < entry),
        };
        let (stop_side, target_side) = match direction {
            Direction::Long => ("below", "above"),
            Direction::Short => ("above", "below"),
        };
        if !stop_ok {
            return Err(rule(
                "stop_loss",
                format!(
                    "stop_loss {stop_loss:?} must be {stop_side} the entry fill {} for a {direction}",
                    price(entry)
                ),
            ));
        }
        if !target_ok {
            return Err(rule(
                "take_profit",
                format!(
                    "take_profit {take_profit:?} must be {target_side} the entry fill {} for a {direction}",
                    price(entry)
                ),
            ));
        }
        Ok(Levels {
            direction,
            entry,
            stop_loss,
            take_profit,
        })
    }

    pub fn direction(&self) -> Direction {
        self.direction
    }

    pub fn entry(&self) -> f64 {
        self.entry
    }

    pub fn stop_loss(&self) -> f64 {
        self.stop_loss
    }

    pub fn take_profit(&self) -> f64 {
        self.take_profit
    }
}

/// Position size of a new trade.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sizing {
    pub quantity: f64,
    /// Quote currency lost at the stop, before fees.
    pub risk_amount: f64,
    pub entry_fee: f64,
}

/// Risk `risk_per_trade` of the balance over the stop distance, the notional capped at
/// `max_position_pct` of the balance.
pub fn size_position(balance: f64, levels: &Levels, rules: &TradingRules) -> Sizing {
    let entry = levels.entry();
    let distance = (entry - levels.stop_loss()).abs();
    let by_risk = balance * rules.risk_per_trade / distance;
    let by_notional = balance * rules.max_position_pct / entry;
    let quantity = by_risk.min(by_notional);
    Sizing {
        quantity,
        risk_amount: quantity * distance,
        entry_fee: quantity * entry * rules.fee_rate,
    }
}

/// A gate's refusal: which gate, and the reason shown to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    /// `account_blown`, `min_confidence`, `open_position`, `max_open_trades`,
    /// `max_signals_per_day`, `cooldown` or `max_portfolio_risk`.
    pub gate: &'static str,
    pub message: String,
}

fn refuse(gate: &'static str, message: String) -> Result<(), Refusal> {
    Err(Refusal { gate, message })
}

/// What the gates look at, read from the database in the transaction that opens the trade.
#[derive(Debug, Clone, PartialEq)]
pub struct Exposure {
    pub balance: f64,
    pub open_on_symbol: u32,
    pub open_trades: u32,
    pub signals_today: u32,
    /// Σ risk_amount of the open trades.
    pub open_risk: f64,
    /// When the last trade on this symbol closed.
    pub last_close_on_symbol: Option<NaiveDateTime>,
}

/// The gates of DESIGN.md §4, in order; the refusal text names the gate.
pub fn check_gates(
    exposure: &Exposure,
    confidence: f64,
    new_risk: f64,
    rules: &TradingRules,
    now: NaiveDateTime,
) -> Result<(), Refusal> {
    if exposure.balance <= rules.min_balance {
        return refuse(
            "account_blown",
            format!(
                "Account blown: balance {:.2} is at or below min_balance {:.2}",
                exposure.balance, rules.min_balance
            ),
        );
    }
    if confidence < rules.min_confidence {
        return refuse(
            "min_confidence",
            format!(
                "Confidence {confidence} below min_confidence {}",
                rules.min_confidence
            ),
        );
    }
    if exposure.open_on_symbol >= rules.max_trades_per_symbol {
        return refuse(
            "open_position",
            if rules.max_trades_per_symbol == 1 {
                "Already have open position".to_owned()
            } else {
                format!(
                    "Already have {} open positions on this symbol (max_trades_per_symbol {})",
                    exposure.open_on_symbol, rules.max_trades_per_symbol
                )
            },
        );
    }
    if exposure.open_trades >= rules.max_open_trades {
        return refuse(
            "max_open_trades",
            format!("Max open trades reached ({})", rules.max_open_trades),
        );
    }
    if exposure.signals_today >= rules.max_signals_per_day {
        return refuse(
            "max_signals_per_day",
            format!(
                "Max signals per day reached ({})",
                rules.max_signals_per_day
            ),
        );
    }
    if let Some(closed) = exposure.last_close_on_symbol {
        let cooldown = Duration::minutes(i64::from(rules.cooldown_minutes));
        if now < closed + cooldown {
            let left = (closed + cooldown - now).num_seconds().max(1);
            return refuse("cooldown", format!(
                "Cooldown: last trade on this symbol closed {} min ago (cooldown_minutes {}, {}s left)",
                (now - closed).num_minutes(),
                rules.cooldown_minutes,
                left
            ));
        }
    }
    let portfolio_risk = (exposure.open_risk + new_risk) / exposure.balance;
    if portfolio_risk > rules.max_portfolio_risk + 1e-12 {
        return refuse(
            "max_portfolio_risk",
            format!(
                "Portfolio risk would be {:.2}% (max_portfolio_risk {:.2}%)",
                portfolio_risk * 100.0,
                rules.max_portfolio_risk * 100.0
            ),
        );
    }
    Ok(())
}

/// Prices of one interval: since the previous tick live, one candle in the backtest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriceRange {
    pub last: f64,
    pub high: f64,
    pub low: f64,
}

/// The price of leaving a `direction` trade at `price` as a market order: a LONG sells, a SHORT
/// buys back, slippage against the trader. Stops, time exits, manual closes and the unrealized
/// pnl all use it.
pub fn exit_fill(direction: Direction, price: f64, slippage: f64) -> f64 {
    market_fill(price, slippage, direction == Direction::Short)
}

/// Best and worst price seen while open, given this tick's range.
pub fn excursions(
    direction: Direction,
    favorable: f64,
    adverse: f64,
    range: &PriceRange,
) -> (f64, f64) {
    match direction {
        Direction::Long => (favorable.max(range.high), adverse.min(range.low)),
        Direction::Short => (favorable.min(range.low), adverse.max(range.high)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn rules() -> TradingRules {
        TradingRules::defaults_for(10_000.0)
    }

    fn t(h: u32, m: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 25)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
    }

    fn range(last: f64, high: f64, low: f64) -> PriceRange {
        PriceRange { last, high, low }
    }

    #[test]
    fn sizing_risks_one_percent_over_the_stop_distance() {
        let levels = Levels::new(Direction::Long, 100.0, 95.0, 110.0).unwrap();
        let s = size_position(10_000.0, &levels, &rules());
        assert!((s.quantity - 20.0).abs() < 1e-12);
        assert!((s.risk_amount - 100.0).abs() < 1e-12);
        assert!((s.entry_fee - 2.0).abs() < 1e-12);
    }

    #[test]
    fn sizing_caps_the_notional_at_max_position_pct() {
        // A 0.1 % stop would need 1 000 000 notional; the cap is 100 % of 10 000.
        let levels = Levels::new(Direction::Long, 100.0, 99.9, 110.0).unwrap();
        let s = size_position(10_000.0, &levels, &rules());
        assert!((s.quantity * 100.0 - 10_000.0).abs() < 1e-9);
        assert!((s.risk_amount - 10.0).abs() < 1e-9);
    }

    #[test]
    fn fills_move_against_the_trader() {
        assert!((market_fill(100.0, 0.0005, true) - 100.05).abs() < 1e-12);
        assert!((market_fill(100.0, 0.0005, false) - 99.95).abs() < 1e-12);
    }

    #[test]
    fn levels_must_sit_on_the_right_side_of_the_fill() {
        let cases = [
            (Direction::Long, 95.0, 110.0, None, "valid long"),
            (
                Direction::Long,
                101.0,
                110.0,
                Some("stop_loss"),
                "long stop above entry",
            ),
            (
                Direction::Long,
                95.0,
                99.0,
                Some("take_profit"),
                "long target below entry",
            ),
            (Direction::Short, 105.0, 90.0, None, "valid short"),
            (
                Direction::Short,
                95.0,
                90.0,
                Some("stop_loss"),
                "short stop below entry",
            ),
            (
                Direction::Short,
                105.0,
                101.0,
                Some("take_profit"),
                "short target above",
            ),
            (
                Direction::Long,
                f64::NAN,
                110.0,
                Some("stop_loss"),
                "NaN stop",
            ),
            (
                Direction::Long,
                95.0,
                -1.0,
                Some("take_profit"),
                "negative target",
            ),
        ];
        for (direction, stop, target, field, reason) in cases {
            let got = Levels::new(direction, 100.0, stop, target)
                .err()
                .map(|e| e.field);
            assert_eq!(got, field, "{reason}");
        }
    }

    #[test]
    fn levels_must_lie_within_a_hundredfold_of_the_fill() {
        let cases = [
            (
                Direction::Long,
                1.0,
                10_000.0,
                None,
                "both bounds are inclusive",
            ),
            (
                Direction::Short,
                10_000.0,
                1.0,
                None,
                "mirrored for a short",
            ),
            (
                Direction::Long,
                0.999,
                110.0,
                Some("stop_loss"),
                "stop below entry ÷ 100",
            ),
            (
                Direction::Long,
                5e-324,
                110.0,
                Some("stop_loss"),
                "the smallest double",
            ),
            (
                Direction::Long,
                95.0,
                10_001.0,
                Some("take_profit"),
                "target above entry × 100",
            ),
            (
                Direction::Long,
                95.0,
                1.7e308,
                Some("take_profit"),
                "a huge target",
            ),
            (
                Direction::Short,
                1.7e308,
                90.0,
                Some("stop_loss"),
                "a huge short stop",
            ),
            (
                Direction::Short,
                105.0,
                5e-324,
                Some("take_profit"),
                "a tiny short target",
            ),
            (
                Direction::Short,
                105.0,
                0.5,
                Some("take_profit"),
                "short target below entry ÷ 100",
            ),
        ];
        for (direction, stop, target, field, reason) in cases {
            let got = Levels::new(direction, 100.0, stop, target);
            assert_eq!(
                got.as_ref().err().map(|e| e.field),
                field,
                "{reason}: {got:?}"
            );
        }
        let tiny = Levels::new(Direction::Long, 0.0024, 0.0000239, 0.0026).unwrap_err();
        assert_eq!(
            tiny.message,
            "stop_loss 2.39e-5 must lie within [0.000024, 0.24]: the entry fill 0.0024 ÷ 100 to × 100"
        );
    }

    #[test]
    fn excursions_track_best_and_worst_prices() {
        let r = range(100.0, 104.0, 97.0);
        assert_eq!(excursions(Direction::Long, 102.0, 99.0, &r), (104.0, 97.0));
        assert_eq!(excursions(Direction::Short, 98.0, 101.0, &r), (97.0, 104.0));
    }

    fn exposure() -> Exposure {
        Exposure {
            balance: 10_000.0,
            open_on_symbol: 0,
            open_trades: 0,
            signals_today: 0,
            open_risk: 0.0,
            last_close_on_symbol: None,
        }
    }

    #[test]
    fn each_gate_refuses_with_its_reason() {
        let r = rules();
        let now = t(12, 0);
        let cases: Vec<(Exposure, f64, f64, &str)> = vec![
            (
                Exposure {
                    balance: 1_000.0,
                    ..exposure()
                },
                0.9,
                10.0,
                "Account blown",
            ),
            (exposure(), 0.5, 10.0, "Confidence"),
            (
                Exposure {
                    open_on_symbol: 1,
                    ..exposure()
                },
                0.9,
                10.0,
                "Already have open position",
            ),
            (
                Exposure {
                    open_trades: 5,
                    ..exposure()
                },
                0.9,
                10.0,
                "Max open trades",
            ),
            (
                Exposure {
                    signals_today: 20,
                    ..exposure()
                },
                0.9,
                10.0,
                "Max signals per day",
            ),
            (
                Exposure {
                    last_close_on_symbol: Some(t(11, 45)),
                    ..exposure()
                },
                0.9,
                10.0,
                "Cooldown",
            ),
            (
                Exposure {
                    open_risk: 450.0,
                    ..exposure()
                },
                0.9,
                100.0,
                "Portfolio risk",
            ),
        ];
        for (e, confidence, risk, reason) in cases {
            let refusal = check_gates(&e, confidence, risk, &r, now).unwrap_err();
            assert!(refusal.message.starts_with(reason), "{reason}: {refusal}");
        }
        assert_eq!(check_gates(&exposure(), 0.9, 100.0, &r, now), Ok(()));
        let after_cooldown = Exposure {
            last_close_on_symbol: Some(t(11, 30)),
            ..exposure()
        };
        assert_eq!(check_gates(&after_cooldown, 0.9, 100.0, &r, now), Ok(()));
    }
}
