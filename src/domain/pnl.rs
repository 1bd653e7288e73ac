//! PnL arithmetic of a paper trade (DESIGN.md §4):
//! PnL = (exit − entry) × quantity × (+1 LONG, −1 SHORT) − fees, with a fee of `fee_rate` of the
//! notional on entry and again on exit.

use super::{Direction, Outcome};

/// Fee charged on one fill: `fee_rate` of its notional.
pub fn fill_fee(price: f64, quantity: f64, fee_rate: f64) -> f64 {
    price * quantity * fee_rate
}

/// Price move times size, signed by direction, before fees.
pub fn gross_pnl(direction: Direction, entry_price: f64, exit_price: f64, quantity: f64) -> f64 {
    (exit_price - entry_price) * quantity * direction.sign()
}

/// What a trade books when it closes at `exit_price`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CloseFigures {
    /// Fee of the exit fill.
    pub exit_fee: f64,
    /// Entry fee plus exit fee.
    pub fees: f64,
    /// Net of all fees.
    pub pnl: f64,
    /// `pnl` as a percentage of the entry notional.
    pub pnl_pct: f64,
    /// `pnl` in units of the risk taken (`risk_amount`); 0 when nothing was at risk.
    pub r_multiple: f64,
    pub outcome: Outcome,
}

/// An open trade as the close arithmetic needs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OpenPosition {
    pub direction: Direction,
    pub entry_price: f64,
    pub quantity: f64,
    /// Fee already paid on entry.
    pub entry_fee: f64,
    /// Quote currency lost at the stop, before fees.
    pub risk_amount: f64,
}

impl OpenPosition {
    /// The figures booked when this position is closed at `exit_price`.
    pub fn close_at(&self, exit_price: f64, fee_rate: f64) -> CloseFigures {
        let exit_fee = fill_fee(exit_price, self.quantity, fee_rate);
        let fees = self.entry_fee + exit_fee;
        let pnl = gross_pnl(self.direction, self.entry_price, exit_price, self.quantity) - fees;
        let notional = self.entry_price * self.quantity;
        CloseFigures {
            exit_fee,
            fees,
            pnl,
            pnl_pct: if notional > 0.0 {
                pnl / notional * 100.0
            } else {
                0.0
            },
            r_multiple: if self.risk_amount > 0.0 {
                pnl / self.risk_amount
            } else {
                0.0
            },
            outcome: outcome_of(pnl, notional),
        }
    }

    /// PnL if the position were closed at `price` now, both fees included.
    pub fn unrealized_pnl(&self, price: f64, fee_rate: f64) -> f64 {
        self.close_at(price, fee_rate).pnl
    }
}

/// WIN or LOSS by the sign of the net pnl; BREAKEVEN only when it is zero to rounding
/// (within 1e-9 of the notional): fees make a close at the entry price a small LOSS.
pub fn outcome_of(pnl: f64, notional: f64) -> Outcome {
    let tolerance = 1e-9 * notional.abs().max(1.0);
    if pnl > tolerance {
        Outcome::Win
    } else if pnl < -tolerance {
        Outcome::Loss
    } else {
        Outcome::Breakeven
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2 units at 100 with 10 at risk, the entry fee paid at `fee_rate`.
    fn position(direction: Direction, fee_rate: f64) -> OpenPosition {
        OpenPosition {
            direction,
            entry_price: 100.0,
            quantity: 2.0,
            entry_fee: fill_fee(100.0, 2.0, fee_rate),
            risk_amount: 10.0,
        }
    }

    #[test]
    fn long_winner_books_price_move_minus_both_fees() {
        let figures = position(Direction::Long, 0.001).close_at(110.0, 0.001);
        // gross 20, fees 0.2 + 0.22
        assert!((figures.fees - 0.42).abs() < 1e-12);
        assert!((figures.pnl - 19.58).abs() < 1e-12);
        assert!((figures.r_multiple - 1.958).abs() < 1e-12);
        assert!((figures.pnl_pct - 9.79).abs() < 1e-12);
        assert_eq!(figures.outcome, Outcome::Win);
    }

    #[test]
    fn short_profits_when_price_falls() {
        let figures = position(Direction::Short, 0.001).close_at(95.0, 0.001);
        // gross +10, fees 0.2 + 0.19
        assert!((figures.pnl - 9.61).abs() < 1e-12);
        assert_eq!(figures.outcome, Outcome::Win);
    }

    #[test]
    fn short_loses_when_price_rises() {
        let figures = position(Direction::Short, 0.0).close_at(105.0, 0.0);
        assert!((figures.pnl + 10.0).abs() < 1e-12);
        assert!((figures.r_multiple + 1.0).abs() < 1e-12);
        assert_eq!(figures.outcome, Outcome::Loss);
    }

    #[test]
    fn close_at_entry_without_fees_is_breakeven_and_with_fees_a_loss() {
        assert_eq!(
            position(Direction::Long, 0.0).close_at(100.0, 0.0).outcome,
            Outcome::Breakeven
        );
        let with_fees = position(Direction::Long, 0.001).close_at(100.0, 0.001);
        assert_eq!(with_fees.outcome, Outcome::Loss);
        assert!((with_fees.pnl + 0.4).abs() < 1e-12);
    }

    #[test]
    fn zero_risk_gives_zero_r_multiple_not_infinity() {
        let mut p = position(Direction::Long, 0.0);
        p.risk_amount = 0.0;
        assert_eq!(p.close_at(120.0, 0.0).r_multiple, 0.0);
    }
}
