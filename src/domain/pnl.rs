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

/// What one exit books: part or all of a position leaving at `price` (DESIGN.md §10).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExitFigures {
    /// Fee of the exit fill alone.
    pub exit_fee: f64,
    /// The exit fill's fee plus the entry fee's share of this exit's quantity: the exits of a
    /// trade sum to its fees.
    pub fee: f64,
    /// Price move × quantity − `fee`: final when booked, and the exits of a trade sum to its pnl.
    pub pnl: f64,
}

/// What a closed trade's journal entry says of its pnl (the sum of its exits).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TradeResult {
    /// `pnl` as a percentage of the entry notional.
    pub pnl_pct: f64,
    /// `pnl` in units of the initial risk (`risk_amount`); 0 when nothing was at risk.
    pub r_multiple: f64,
    pub outcome: Outcome,
}

/// An open trade as the exit arithmetic needs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OpenPosition {
    pub direction: Direction,
    pub entry_price: f64,
    /// The quantity opened.
    pub quantity: f64,
    /// Fee paid on entry, for the whole quantity.
    pub entry_fee: f64,
    /// Quote currency lost at the initial stop, before fees.
    pub risk_amount: f64,
}

impl OpenPosition {
    /// The figures of `quantity` leaving at `price`: the entry fee is attributed to the exits pro
    /// rata to their quantity, so a part's pnl is final when it is booked.
    pub fn exit(&self, price: f64, quantity: f64, fee_rate: f64) -> ExitFigures {
        let exit_fee = fill_fee(price, quantity, fee_rate);
        let entry_share = if self.quantity > 0.0 {
            self.entry_fee * quantity / self.quantity
        } else {
            0.0
        };
        let fee = exit_fee + entry_share;
        ExitFigures {
            exit_fee,
            fee,
            pnl: gross_pnl(self.direction, self.entry_price, price, quantity) - fee,
        }
    }

    /// PnL if `remaining` were closed at `price` now, its share of the entry fee included.
    pub fn unrealized_pnl(&self, remaining: f64, price: f64, fee_rate: f64) -> f64 {
        self.exit(price, remaining, fee_rate).pnl
    }

    /// The journal's figures of a trade whose exits booked `pnl` in all.
    pub fn result(&self, pnl: f64) -> TradeResult {
        let notional = self.entry_price * self.quantity;
        TradeResult {
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

    fn close(p: &OpenPosition, price: f64, fee_rate: f64) -> (ExitFigures, TradeResult) {
        let exit = p.exit(price, p.quantity, fee_rate);
        (exit, p.result(exit.pnl))
    }

    #[test]
    fn long_winner_books_price_move_minus_both_fees() {
        let (exit, result) = close(&position(Direction::Long, 0.001), 110.0, 0.001);
        // gross 20, fees 0.2 + 0.22
        assert!((exit.fee - 0.42).abs() < 1e-12);
        assert!((exit.exit_fee - 0.22).abs() < 1e-12);
        assert!((exit.pnl - 19.58).abs() < 1e-12);
        assert!((result.r_multiple - 1.958).abs() < 1e-12);
        assert!((result.pnl_pct - 9.79).abs() < 1e-12);
        assert_eq!(result.outcome, Outcome::Win);
    }

    #[test]
    fn short_profits_when_price_falls() {
        let (exit, result) = close(&position(Direction::Short, 0.001), 95.0, 0.001);
        // gross +10, fees 0.2 + 0.19
        assert!((exit.pnl - 9.61).abs() < 1e-12);
        assert_eq!(result.outcome, Outcome::Win);
    }

    #[test]
    fn short_loses_when_price_rises() {
        let (exit, result) = close(&position(Direction::Short, 0.0), 105.0, 0.0);
        assert!((exit.pnl + 10.0).abs() < 1e-12);
        assert!((result.r_multiple + 1.0).abs() < 1e-12);
        assert_eq!(result.outcome, Outcome::Loss);
    }

    #[test]
    fn close_at_entry_without_fees_is_breakeven_and_with_fees_a_loss() {
        assert_eq!(
            close(&position(Direction::Long, 0.0), 100.0, 0.0).1.outcome,
            Outcome::Breakeven
        );
        let (exit, result) = close(&position(Direction::Long, 0.001), 100.0, 0.001);
        assert_eq!(result.outcome, Outcome::Loss);
        assert!((exit.pnl + 0.4).abs() < 1e-12);
    }

    #[test]
    fn zero_risk_gives_zero_r_multiple_not_infinity() {
        let mut p = position(Direction::Long, 0.0);
        p.risk_amount = 0.0;
        assert_eq!(p.result(40.0).r_multiple, 0.0);
    }

    #[test]
    fn parts_carry_the_entry_fee_pro_rata_and_sum_to_the_whole() {
        let p = position(Direction::Long, 0.001);
        // Half at 110, half at 105: gross 10 + 5; entry fee 0.2 split 0.1 / 0.1.
        let first = p.exit(110.0, 1.0, 0.001);
        let second = p.exit(105.0, 1.0, 0.001);
        assert!((first.fee - (0.11 + 0.1)).abs() < 1e-12);
        assert!((first.pnl - (10.0 - 0.21)).abs() < 1e-12);
        assert!((second.pnl - (5.0 - 0.205)).abs() < 1e-12);
        // The same as one exit of the whole at the average price 107.5.
        let whole = p.exit(107.5, 2.0, 0.001);
        assert!((first.pnl + second.pnl - whole.pnl).abs() < 1e-12);
        assert!((first.fee + second.fee - whole.fee).abs() < 1e-12);
        assert!((p.unrealized_pnl(1.0, 105.0, 0.001) - second.pnl).abs() < 1e-12);
    }
}
