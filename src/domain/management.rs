//! Trade management (DESIGN.md §10) as pure functions: partial take-profits, breakeven and
//! trailing stops, and the exits of one price interval. The live tick (`engine::tick`) and the
//! backtest both call [`step`], so a backtest books exactly as the live engine does.
//!
//! Within one interval the rules are pessimistic and never look ahead:
//! 1. the stop in force at the start of the interval is checked first; touched, it closes all
//!    that is left at the worse of the stop and the last price, as a market order;
//! 2. then the partial targets and the final target, in price order, each a limit fill at its
//!    own level (a gap through several targets books each at its level);
//! 3. then the time exits (`max_hold_hours`, `eod_close_utc`) at market;
//! 4. a trade still open then moves its stop (breakeven, trailing) from the best price seen,
//!    this interval's included; the new stop applies from the next interval.

use chrono::{Duration, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::format::price;
use super::rules::TradingRules;
use super::trading::{excursions, exit_fill, Levels, PriceRange, RuleError};
use super::{Direction, ExitReason, StopReason};

/// At most this many partial targets per trade.
pub const MAX_TARGETS: usize = 5;

/// The widest trailing distance, in percent (exclusive): beyond it a "trailing" stop is no stop.
pub const MAX_TRAILING_PCT: f64 = 50.0;

/// A remainder smaller than this share of the quantity closes with the exit before it: no dust
/// positions from rounding.
const DUST: f64 = 1e-9;

/// A partial target of a trade: when reached, `fraction` of the quantity opened closes at
/// `price` (a limit fill).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PartialTarget {
    pub price: f64,
    pub fraction: f64,
}

/// A partial target as the configuration gives it, `1R:50%`: at `r` times the initial risk from
/// the entry, `fraction` of the quantity.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TargetSpec {
    pub r: f64,
    pub fraction: f64,
}

impl TargetSpec {
    /// `1R:50%,2R:30%` (also `1.5r:0.25`): targets in increasing R, fractions summing below 1, at
    /// most [`MAX_TARGETS`]; `off` or an empty text for none.
    pub fn parse_list(text: &str) -> Result<Vec<TargetSpec>, String> {
        let text = text.trim();
        if text.is_empty() || text.eq_ignore_ascii_case("off") {
            return Ok(Vec::new());
        }
        let mut specs = Vec::new();
        for part in text.split(',') {
            let part = part.trim();
            let (r, fraction) = part
                .split_once(':')
                .ok_or_else(|| format!("`{part}` is not a target like 1R:50%"))?;
            let r = r
                .trim()
                .strip_suffix(['R', 'r'])
                .and_then(|r| r.trim().parse::<f64>().ok())
                .filter(|r| r.is_finite() && *r > 0.0)
                .ok_or_else(|| format!("`{part}`: the distance must be a positive R like 1R"))?;
            let fraction = fraction.trim();
            let fraction = match fraction.strip_suffix('%') {
                Some(pct) => pct.trim().parse::<f64>().map(|p| p / 100.0),
                None => fraction.parse::<f64>(),
            }
            .ok()
            .filter(|f| f.is_finite() && *f > 0.0 && *f < 1.0)
            .ok_or_else(|| {
                format!("`{part}`: the part must be a fraction above 0 and below 1, like 50%")
            })?;
            specs.push(TargetSpec { r, fraction });
        }
        if specs.len() > MAX_TARGETS {
            return Err(format!(
                "at most {MAX_TARGETS} targets, not {}",
                specs.len()
            ));
        }
        if specs.windows(2).any(|w| w[1].r <= w[0].r) {
            return Err("targets must be in increasing R".to_owned());
        }
        let sum: f64 = specs.iter().map(|s| s.fraction).sum();
        if sum >= 1.0 - DUST {
            return Err(format!(
                "the parts sum to {}%: they must leave something for the final take_profit",
                sum * 100.0
            ));
        }
        Ok(specs)
    }
}

/// The configuration's management defaults (`SIGNALDESK_TAKE_PROFITS`, …), applied to a signal
/// that does not carry its own settings. All off by default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ManagementDefaults {
    pub take_profits: Vec<TargetSpec>,
    pub breakeven_at_r: Option<f64>,
    /// Percent: 2.0 trails 2 % behind the best price.
    pub trailing_stop_pct: Option<f64>,
    pub trailing_activate_at_r: f64,
}

/// A signal's own settings as a request gives them; `None` takes the configuration's default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ManagementRequest {
    pub take_profits: Option<Vec<PartialTarget>>,
    /// `Some(None)`: off, whatever the default.
    pub breakeven_at_r: Option<Option<f64>>,
    pub trailing_stop_pct: Option<Option<f64>>,
    pub trailing_activate_at_r: Option<f64>,
}

/// A trade's management settings, valid for its levels: made by [`Management::for_levels`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Management {
    /// Strictly between the entry and the take-profit, in price order; fractions sum below 1.
    pub take_profits: Vec<PartialTarget>,
    pub breakeven_at_r: Option<f64>,
    /// Percent, in (0, 50).
    pub trailing_stop_pct: Option<f64>,
    pub trailing_activate_at_r: f64,
}

fn rule(field: &'static str, message: String) -> RuleError {
    RuleError { field, message }
}

impl Management {
    /// The settings of a new trade with `levels`: the request's own where it gives them, checked
    /// (the error names the field), else the defaults. A default target that does not lie
    /// strictly between the entry and the take-profit (`1R` beyond a target at 0.8R) is left
    /// out: the defaults fit themselves to each trade.
    pub fn for_levels(
        levels: &Levels,
        request: &ManagementRequest,
        defaults: &ManagementDefaults,
    ) -> Result<Management, RuleError> {
        let risk = (levels.entry() - levels.stop_loss()).abs();
        let sign = levels.direction().sign();
        let take_profits = match &request.take_profits {
            Some(targets) => check_targets(levels, targets)?,
            None => defaults
                .take_profits
                .iter()
                .map(|spec| PartialTarget {
                    price: levels.entry() + sign * spec.r * risk,
                    fraction: spec.fraction,
                })
                .filter(|t| strictly_between(levels, t.price))
                .collect(),
        };
        let breakeven_at_r = match request.breakeven_at_r {
            Some(Some(r)) if !(r.is_finite() && r > 0.0) => {
                return Err(rule(
                    "breakeven_at_r",
                    format!("breakeven_at_r {r:?} must be a number above 0 (in R)"),
                ))
            }
            Some(value) => value,
            None => defaults.breakeven_at_r,
        };
        let trailing_stop_pct = match request.trailing_stop_pct {
            Some(Some(pct)) if !(pct.is_finite() && pct > 0.0 && pct < MAX_TRAILING_PCT) => {
                return Err(rule(
                    "trailing_stop_pct",
                    format!(
                        "trailing_stop_pct {pct:?} must be above 0 and below {MAX_TRAILING_PCT} (percent)"
                    ),
                ))
            }
            Some(value) => value,
            None => defaults.trailing_stop_pct,
        };
        let trailing_activate_at_r = match request.trailing_activate_at_r {
            Some(r) if !(r.is_finite() && r >= 0.0) => {
                return Err(rule(
                    "trailing_activate_at_r",
                    format!("trailing_activate_at_r {r:?} must be a number, 0 or above (in R)"),
                ))
            }
            Some(r) => r,
            None => defaults.trailing_activate_at_r,
        };
        Ok(Management {
            take_profits,
            breakeven_at_r,
            trailing_stop_pct,
            trailing_activate_at_r,
        })
    }
}

fn strictly_between(levels: &Levels, target: f64) -> bool {
    match levels.direction() {
        Direction::Long => levels.entry() < target && target < levels.take_profit(),
        Direction::Short => levels.take_profit() < target && target < levels.entry(),
    }
}

fn check_targets(
    levels: &Levels,
    targets: &[PartialTarget],
) -> Result<Vec<PartialTarget>, RuleError> {
    const FIELD: &str = "take_profits";
    if targets.len() > MAX_TARGETS {
        return Err(rule(
            FIELD,
            format!(
                "take_profits has {} targets; at most {MAX_TARGETS}",
                targets.len()
            ),
        ));
    }
    let (side, order) = match levels.direction() {
        Direction::Long => ("above", "increasing"),
        Direction::Short => ("below", "decreasing"),
    };
    let mut previous: Option<f64> = None;
    for (i, target) in targets.iter().enumerate() {
        if !(target.fraction.is_finite() && target.fraction > 0.0 && target.fraction < 1.0) {
            return Err(rule(
                FIELD,
                format!(
                    "take_profits[{i}].fraction {:?} must be above 0 and below 1",
                    target.fraction
                ),
            ));
        }
        if !(target.price.is_finite() && strictly_between(levels, target.price)) {
            return Err(rule(
                FIELD,
                format!(
                    "take_profits[{i}].price {:?} must lie strictly between the entry fill {} and take_profit {}",
                    target.price,
                    price(levels.entry()),
                    price(levels.take_profit())
                ),
            ));
        }
        if let Some(before) = previous {
            let in_order = (target.price - before) * levels.direction().sign() > 0.0;
            if !in_order {
                return Err(rule(
                    FIELD,
                    format!(
                        "take_profits[{i}].price {:?} is not {side} take_profits[{}].price {before:?}: targets go in {order} price order",
                        target.price,
                        i - 1
                    ),
                ));
            }
        }
        previous = Some(target.price);
    }
    let sum: f64 = targets.iter().map(|t| t.fraction).sum();
    if sum >= 1.0 - DUST {
        return Err(rule(
            FIELD,
            format!(
                "the fractions of take_profits sum to {sum}; they must sum below 1, leaving the rest for take_profit"
            ),
        ));
    }
    Ok(targets.to_vec())
}

/// An open trade as the management rules see it.
#[derive(Debug, Clone, PartialEq)]
pub struct ManagedTrade {
    pub direction: Direction,
    pub entry_price: f64,
    /// The quantity opened.
    pub quantity: f64,
    /// What is still open.
    pub remaining: f64,
    /// R is measured from it.
    pub initial_stop: f64,
    /// The stop in force.
    pub stop: f64,
    /// What moved the stop last (`None`: it is the initial stop).
    pub stop_moved_by: Option<StopReason>,
    pub take_profit: f64,
    pub management: Management,
    /// How many of `management.take_profits` have filled.
    pub targets_hit: usize,
    /// Best and worst price seen while open.
    pub favorable: f64,
    pub adverse: f64,
    pub opened_at: NaiveDateTime,
}

impl ManagedTrade {
    /// The initial risk per unit, |entry − initial stop|.
    pub fn risk_per_unit(&self) -> f64 {
        (self.entry_price - self.initial_stop).abs()
    }

    /// Whether `level` is touched by a range reaching `high` and `low` from the trade's side: a
    /// target above (LONG) or below (SHORT) the entry.
    fn target_touched(&self, level: f64, range: &PriceRange) -> bool {
        match self.direction {
            Direction::Long => range.high >= level,
            Direction::Short => range.low <= level,
        }
    }

    fn stop_touched(&self, range: &PriceRange) -> bool {
        match self.direction {
            Direction::Long => range.low <= self.stop,
            Direction::Short => range.high >= self.stop,
        }
    }

    /// Whether `candidate` is a tighter stop than `than` (further in the trade's favour).
    fn tighter(&self, candidate: f64, than: f64) -> bool {
        (candidate - than) * self.direction.sign() > 0.0
    }
}

/// One exit the rules decided: `quantity` leaves at `price` (slippage already applied).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fill {
    pub reason: ExitReason,
    pub price: f64,
    pub quantity: f64,
}

/// A change of the stop in force.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StopMove {
    pub old_stop: f64,
    pub new_stop: f64,
    pub reason: StopReason,
}

/// What one interval does to a trade.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// In the order they fill; the last one closes the trade when `remaining` is 0.
    pub exits: Vec<Fill>,
    /// What is left open after the exits.
    pub remaining: f64,
    /// Partial targets filled, this interval's included.
    pub targets_hit: usize,
    /// The stop for the next interval, when it moved (never on a trade that closed).
    pub stop_move: Option<StopMove>,
    pub favorable: f64,
    pub adverse: f64,
}

impl Step {
    pub fn closes(&self) -> bool {
        self.remaining <= 0.0
    }
}

/// The rules of DESIGN.md §10 for one interval whose prices are `range`, ending at `now` (see
/// the module's documentation for the order).
pub fn step(
    trade: &ManagedTrade,
    range: &PriceRange,
    rules: &TradingRules,
    now: NaiveDateTime,
) -> Step {
    let (favorable, adverse) = excursions(trade.direction, trade.favorable, trade.adverse, range);
    let mut exits = Vec::new();
    let mut remaining = trade.remaining;
    let mut targets_hit = trade.targets_hit;
    let mut take = |reason: ExitReason, price: f64, wanted: f64, remaining: &mut f64| {
        let quantity = if *remaining - wanted <= DUST * trade.quantity {
            *remaining
        } else {
            wanted
        };
        *remaining -= quantity;
        if *remaining <= DUST * trade.quantity {
            *remaining = 0.0;
        }
        exits.push(Fill {
            reason,
            price,
            quantity,
        });
    };
    if trade.stop_touched(range) {
        // A gap through the stop fills at the worse price.
        let through = match trade.direction {
            Direction::Long => trade.stop.min(range.last),
            Direction::Short => trade.stop.max(range.last),
        };
        take(
            StopReason::exit_reason(trade.stop_moved_by),
            exit_fill(trade.direction, through, rules.slippage),
            remaining,
            &mut remaining,
        );
    } else {
        for target in trade.management.take_profits.iter().skip(targets_hit) {
            if remaining <= 0.0 || !trade.target_touched(target.price, range) {
                break;
            }
            targets_hit += 1;
            take(
                ExitReason::PartialTakeProfit,
                target.price,
                (target.fraction * trade.quantity).min(remaining),
                &mut remaining,
            );
        }
        if remaining > 0.0 && trade.target_touched(trade.take_profit, range) {
            take(
                ExitReason::TakeProfit,
                trade.take_profit,
                remaining,
                &mut remaining,
            );
        }
        if remaining > 0.0 {
            if let Some(reason) = time_exit(trade.opened_at, rules, now) {
                take(
                    reason,
                    exit_fill(trade.direction, range.last, rules.slippage),
                    remaining,
                    &mut remaining,
                );
            }
        }
    }
    let stop_move = (remaining > 0.0)
        .then(|| next_stop(trade, favorable))
        .flatten();
    Step {
        exits,
        remaining,
        targets_hit,
        stop_move,
        favorable,
        adverse,
    }
}

/// The time exit due at `now` for a trade opened at `opened_at`, if any. A close time
/// (`eod_close_utc`) or a `max_hold_hours` missed while the server was down is due at the first
/// interval after it.
fn time_exit(
    opened_at: NaiveDateTime,
    rules: &TradingRules,
    now: NaiveDateTime,
) -> Option<ExitReason> {
    if let Some(hours) = rules.max_hold_hours {
        let limit = Duration::milliseconds((hours * 3_600_000.0) as i64);
        if now - opened_at >= limit {
            return Some(ExitReason::MaxDuration);
        }
    }
    if let Some(eod) = rules.eod_close_utc {
        // The latest daily close at or before `now`, yesterday's when today's is still ahead.
        let today_close = now.date().and_time(eod);
        let last_close = if now >= today_close {
            today_close
        } else {
            today_close - Duration::days(1)
        };
        if opened_at < last_close {
            return Some(ExitReason::EndOfDay);
        }
    }
    None
}

/// Where breakeven and the trailing stop put the stop once the best price is `favorable`, when
/// that is tighter than the stop in force: a stop never loosens. When both apply, the tighter
/// wins; on a tie, breakeven.
fn next_stop(trade: &ManagedTrade, favorable: f64) -> Option<StopMove> {
    let risk = trade.risk_per_unit();
    let gain = (favorable - trade.entry_price) * trade.direction.sign();
    let mut best: Option<(f64, StopReason)> = None;
    let mut consider = |level: f64, reason: StopReason| {
        let beats_best = best.is_none_or(|(b, _)| trade.tighter(level, b));
        if trade.tighter(level, trade.stop) && beats_best {
            best = Some((level, reason));
        }
    };
    if let Some(at_r) = trade.management.breakeven_at_r {
        if gain >= at_r * risk {
            consider(trade.entry_price, StopReason::Breakeven);
        }
    }
    if let Some(pct) = trade.management.trailing_stop_pct {
        if gain >= trade.management.trailing_activate_at_r * risk {
            let level = favorable * (1.0 - trade.direction.sign() * pct / 100.0);
            consider(level, StopReason::Trailing);
        }
    }
    best.map(|(new_stop, reason)| StopMove {
        old_stop: trade.stop,
        new_stop,
        reason,
    })
}

/// A stop moved by hand to `new_stop` (`POST /api/signals/{id}/stop`): only in the trade's
/// favour, and short of the last price `last` (a stop beyond it would fill at once: close the
/// trade instead). The error names `stop_loss`.
pub fn manual_stop(trade: &ManagedTrade, new_stop: f64, last: f64) -> Result<StopMove, RuleError> {
    let field = "stop_loss";
    if !(new_stop.is_finite() && new_stop > 0.0) {
        return Err(rule(field, format!("{field} must be a positive number")));
    }
    let (moves, beyond) = match trade.direction {
        Direction::Long => ("up", "at or above"),
        Direction::Short => ("down", "at or below"),
    };
    if !trade.tighter(new_stop, trade.stop) {
        return Err(rule(
            field,
            format!(
                "{field} {new_stop:?} is not in the trade's favour: a {} stop only moves {moves} from {}",
                trade.direction,
                price(trade.stop)
            ),
        ));
    }
    if !trade.tighter(last, new_stop) {
        return Err(rule(
            field,
            format!(
                "{field} {new_stop:?} is {beyond} the last price {}: it would fill at once; close the trade instead",
                price(last)
            ),
        ));
    }
    Ok(StopMove {
        old_stop: trade.stop,
        new_stop,
        reason: StopReason::Manual,
    })
}

/// The quantity of a manual partial close of `fraction` of what is left (`None`: all of it). A
/// fraction must be above 0 and at most 1; the error names `fraction`.
pub fn manual_part(remaining: f64, quantity: f64, fraction: Option<f64>) -> Result<f64, RuleError> {
    let Some(fraction) = fraction else {
        return Ok(remaining);
    };
    if !(fraction.is_finite() && fraction > 0.0 && fraction <= 1.0) {
        return Err(rule(
            "fraction",
            format!(
                "fraction {fraction:?} must be above 0 and at most 1 (of the remaining position)"
            ),
        ));
    }
    let part = remaining * fraction;
    Ok(if remaining - part <= DUST * quantity {
        remaining
    } else {
        part
    })
}

#[cfg(test)]
mod tests;
