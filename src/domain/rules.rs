//! The configurable trading rules of DESIGN.md §4, as plain numbers. Fractions are stored as
//! fractions (`0.01` is 1 %).

use chrono::NaiveTime;

use super::management::ManagementDefaults;

/// Sizing, costs, gates and time exits. Defaults are DESIGN.md §4's.
#[derive(Debug, Clone, PartialEq)]
pub struct TradingRules {
    /// Fraction of the balance risked per trade (stop distance × quantity).
    pub risk_per_trade: f64,
    /// Cap on a position's notional as a fraction of the balance.
    pub max_position_pct: f64,
    /// Fee on each fill as a fraction of its notional.
    pub fee_rate: f64,
    /// Adverse price move on market fills, as a fraction of the price.
    pub slippage: f64,
    pub max_trades_per_symbol: u32,
    pub max_open_trades: u32,
    pub max_signals_per_day: u32,
    /// Minutes after a trade on a symbol closes before another may open on it.
    pub cooldown_minutes: u32,
    pub min_confidence: f64,
    /// Cap on Σ risk_amount of open trades as a fraction of the balance.
    pub max_portfolio_risk: f64,
    /// At or below this balance (quote currency) the account is blown: no new trades.
    pub min_balance: f64,
    /// Close every open trade at this UTC time of day; `None` = off.
    pub eod_close_utc: Option<NaiveTime>,
    /// Close a trade after it has been open this many hours; `None` = off.
    pub max_hold_hours: Option<f64>,
    /// Partial take-profits, breakeven and trailing stops for a signal that does not carry its
    /// own (DESIGN.md §10); all off by default.
    pub management: ManagementDefaults,
}

impl TradingRules {
    /// The DESIGN.md §4 defaults for an account starting at `initial_balance`.
    pub fn defaults_for(initial_balance: f64) -> Self {
        TradingRules {
            risk_per_trade: 0.01,
            max_position_pct: 1.0,
            fee_rate: 0.001,
            slippage: 0.0005,
            max_trades_per_symbol: 1,
            max_open_trades: 5,
            max_signals_per_day: 20,
            cooldown_minutes: 30,
            min_confidence: 0.6,
            max_portfolio_risk: 0.05,
            min_balance: initial_balance * 0.1,
            eod_close_utc: None,
            max_hold_hours: None,
            management: ManagementDefaults::default(),
        }
    }
}
