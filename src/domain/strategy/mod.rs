//! Strategies: pure functions from candles to an optional trade setup (DESIGN.md §8). No IO, no
//! clock, no randomness: the same candles always give the same answer, so the scanner and the
//! backtest run exactly the same rules and the tests pin them on hand-built candles.

pub mod detect;

use crate::domain::market::Candle;
use crate::domain::Direction;
use detect::{
    atr, fair_value_gaps, last_break, last_sweep, order_block, premium_discount, swings, trend,
    Trend, Zone,
};

/// Candles of confirmation on each side of a swing point.
const SWING_STRENGTH: usize = 2;
/// How far back from a break the order block is searched.
const ORDER_BLOCK_REACH: usize = 10;
/// A sweep counts for this many recent candles.
const SWEEP_RECENT: usize = 20;
const ATR_PERIOD: usize = 14;
/// The stop is never further than this from the entry.
const MAX_STOP_FRACTION: f64 = 0.04;
/// The target is at least this many R away.
const MIN_REWARD_R: f64 = 2.0;

/// Weights of the confluences; the confidence is their sum (at most 1).
const WEIGHT_BIAS: f64 = 0.30;
const WEIGHT_DISCOUNT: f64 = 0.10;
const WEIGHT_FVG: f64 = 0.20;
const WEIGHT_ORDER_BLOCK: f64 = 0.20;
const WEIGHT_BOS: f64 = 0.10;
const WEIGHT_SWEEP: f64 = 0.10;

/// A trade the strategy would take at the last close.
#[derive(Debug, Clone, PartialEq)]
pub struct Setup {
    pub direction: Direction,
    /// The last close: the reference the levels were built from.
    pub entry: f64,
    pub stop_loss: f64,
    pub take_profit: f64,
    pub confidence: f64,
    /// Each confluence with its levels, `; `-separated.
    pub reasons: String,
    /// Open time (unix seconds) of the candle that formed the zone: the same zone never makes
    /// two signals (it keys the signal's external_id).
    pub zone_time: i64,
}

/// A price with precision that suits its size, for reasons text.
fn level(price: f64) -> String {
    let decimals = match price.abs() {
        p if p >= 1_000.0 => 2,
        p if p >= 10.0 => 3,
        p if p >= 1.0 => 4,
        _ => 6,
    };
    format!("{price:.decimals$}")
}

fn side(direction: Direction) -> (&'static str, &'static str) {
    match direction {
        Direction::Long => ("bullish", "discount"),
        Direction::Short => ("bearish", "premium"),
    }
}

/// The `ict` strategy: `ltf` candles of the scanner timeframe (labelled `ltf_label`, e.g. `5m`),
/// `htf` candles of the bias timeframe (1h); both oldest first, completed candles only.
///
/// A LONG fires when the higher timeframe is bullish and the last close trades back into an
/// unfilled bullish FVG or order block in the discount half of the dealing range (mirrored for a
/// SHORT). Stop beyond the zone or the swept swing, widened to at least 1 × ATR(14) and at most
/// 4 % from entry; target the opposing swing if that is ≥ 2R, else 2R.
pub fn ict(ltf: &[Candle], htf: &[Candle], ltf_label: &str, htf_label: &str) -> Option<Setup> {
    let last = ltf.last()?;
    let price = last.close;
    let range = atr(ltf, ATR_PERIOD)?;
    let direction = match trend(&swings(htf, SWING_STRENGTH)) {
        Trend::Bullish => Direction::Long,
        Trend::Bearish => Direction::Short,
        Trend::Ranging => return None,
    };
    let (bias_word, half_word) = side(direction);
    let ltf_swings = swings(ltf, SWING_STRENGTH);
    let (favoured, range_low, range_high) = premium_discount(&ltf_swings, price)?;
    if favoured != direction {
        return None;
    }
    let fvg = fair_value_gaps(ltf)
        .into_iter()
        .rev()
        .find(|z| z.direction == direction && z.index + 1 < ltf.len() && z.contains(price));
    let bos = last_break(ltf, &ltf_swings, SWING_STRENGTH).filter(|b| b.direction == direction);
    let block = bos
        .and_then(|b| order_block(ltf, &b, ORDER_BLOCK_REACH))
        .filter(|z| z.contains(price));
    let zones: Vec<Zone> = fvg.into_iter().chain(block).collect();
    let zone_time = zones
        .iter()
        .map(|z| ltf[z.index].open_time.timestamp())
        .min()?;
    let sweep = last_sweep(ltf, &ltf_swings, SWEEP_RECENT).filter(|s| s.direction == direction);

    // Stop beyond every zone and the swept wick, then kept between 1 ATR and 4 %.
    let beyond = zones
        .iter()
        .map(|z| match direction {
            Direction::Long => z.bottom,
            Direction::Short => z.top,
        })
        .chain(sweep.map(|s| s.extreme));
    let structural = match direction {
        Direction::Long => beyond.fold(f64::INFINITY, f64::min),
        Direction::Short => beyond.fold(f64::NEG_INFINITY, f64::max),
    };
    let distance = (price - structural)
        .abs()
        .max(range)
        .min(price * MAX_STOP_FRACTION);
    if !(distance.is_finite() && distance > 0.0) {
        return None;
    }
    let sign = direction.sign();
    let stop_loss = price - sign * distance;
    let two_r = price + sign * MIN_REWARD_R * distance;
    // The opposing liquidity: the nearest swing beyond the entry on the target side.
    let opposing = ltf_swings
        .iter()
        .filter(|s| s.is_high == (direction == Direction::Long))
        .map(|s| s.price)
        .filter(|p| (p - price) * sign > 0.0)
        .min_by(|a, b| ((a - price).abs()).total_cmp(&(b - price).abs()));
    let take_profit = match opposing {
        Some(target) if (target - price) * sign >= MIN_REWARD_R * distance => target,
        _ => two_r,
    };
    if stop_loss <= 0.0 || take_profit <= 0.0 {
        return None;
    }

    let mut confidence = WEIGHT_BIAS + WEIGHT_DISCOUNT;
    let mut reasons = vec![format!("{bias_word} structure {htf_label}")];
    if let Some(b) = bos {
        confidence += WEIGHT_BOS;
        reasons.push(format!("BOS {ltf_label} at {}", level(b.level)));
    }
    if let Some(z) = fvg {
        confidence += WEIGHT_FVG;
        reasons.push(format!(
            "price in FVG {ltf_label} [{}–{}]",
            level(z.bottom),
            level(z.top)
        ));
    }
    if let Some(z) = block {
        confidence += WEIGHT_ORDER_BLOCK;
        reasons.push(format!(
            "order block {ltf_label} [{}–{}]",
            level(z.bottom),
            level(z.top)
        ));
    }
    if let Some(s) = sweep {
        confidence += WEIGHT_SWEEP;
        reasons.push(format!("liquidity sweep of {}", level(s.level)));
    }
    reasons.push(format!(
        "{half_word} of range [{}–{}]",
        level(range_low),
        level(range_high)
    ));
    Some(Setup {
        direction,
        entry: price,
        stop_loss,
        take_profit,
        confidence: confidence.min(1.0),
        reasons: reasons.join("; "),
        zone_time,
    })
}

#[cfg(test)]
mod tests;
