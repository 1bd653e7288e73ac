//! The ICT market-structure detectors (DESIGN.md §8), each a pure function over candles sorted
//! oldest first: swing points, structure and break of structure, fair value gaps, order blocks,
//! liquidity sweeps, premium/discount and ATR.

use crate::domain::market::Candle;
use crate::domain::Direction;

/// A swing high or low: a candle whose high (low) is beyond the `strength` candles on each side.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Swing {
    pub index: usize,
    pub price: f64,
    pub is_high: bool,
}

/// Swing highs and lows, oldest first. A swing needs `strength` candles after it, so the newest
/// `strength` candles never hold one (no look-ahead).
pub fn swings(candles: &[Candle], strength: usize) -> Vec<Swing> {
    let mut out = Vec::new();
    if candles.len() < 2 * strength + 1 {
        return out;
    }
    for i in strength..candles.len() - strength {
        let around = || (i - strength..=i + strength).filter(move |j| *j != i);
        if around().all(|j| candles[j].high < candles[i].high) {
            out.push(Swing {
                index: i,
                price: candles[i].high,
                is_high: true,
            });
        }
        if around().all(|j| candles[j].low > candles[i].low) {
            out.push(Swing {
                index: i,
                price: candles[i].low,
                is_high: false,
            });
        }
    }
    out
}

/// The trend read from the last two swing highs and lows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trend {
    /// Higher highs and higher lows.
    Bullish,
    /// Lower highs and lower lows.
    Bearish,
    Ranging,
}

pub fn trend(swings: &[Swing]) -> Trend {
    let last_two = |high: bool| {
        let mut it = swings.iter().rev().filter(|s| s.is_high == high);
        Some((it.next()?.price, it.next()?.price))
    };
    match (last_two(true), last_two(false)) {
        (Some((h1, h0)), Some((l1, l0))) if h1 > h0 && l1 > l0 => Trend::Bullish,
        (Some((h1, h0)), Some((l1, l0))) if h1 < h0 && l1 < l0 => Trend::Bearish,
        _ => Trend::Ranging,
    }
}

/// A close beyond the last swing on that side: the candle that broke, and the level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakOfStructure {
    pub direction: Direction,
    pub index: usize,
    pub level: f64,
}

/// The most recent break of structure: the first close beyond a confirmed swing after it
/// formed. When both sides broke, the later break wins.
pub fn last_break(
    candles: &[Candle],
    swings: &[Swing],
    strength: usize,
) -> Option<BreakOfStructure> {
    let mut best: Option<BreakOfStructure> = None;
    for swing in swings {
        // The swing is only known `strength` candles after it.
        let from = swing.index + strength + 1;
        let broke = candles.iter().enumerate().skip(from).find(|(_, c)| {
            if swing.is_high {
                c.close > swing.price
            } else {
                c.close < swing.price
            }
        });
        if let Some((index, _)) = broke {
            let direction = if swing.is_high {
                Direction::Long
            } else {
                Direction::Short
            };
            if best.is_none_or(|b| index >= b.index) {
                best = Some(BreakOfStructure {
                    direction,
                    index,
                    level: swing.price,
                });
            }
        }
    }
    best
}

/// A price zone: a fair value gap or an order block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Zone {
    pub direction: Direction,
    /// The candle that completed the zone.
    pub index: usize,
    pub bottom: f64,
    pub top: f64,
}

impl Zone {
    pub fn contains(&self, price: f64) -> bool {
        price >= self.bottom && price <= self.top
    }
}

/// Three-candle gaps not yet filled: bullish when candle 1's high is below candle 3's low (the
/// gap between them), bearish mirrored. A gap is filled once a later candle trades through it.
pub fn fair_value_gaps(candles: &[Candle]) -> Vec<Zone> {
    let mut gaps = Vec::new();
    for i in 2..candles.len() {
        let (first, third) = (&candles[i - 2], &candles[i]);
        let zone = if first.high < third.low {
            Zone {
                direction: Direction::Long,
                index: i,
                bottom: first.high,
                top: third.low,
            }
        } else if first.low > third.high {
            Zone {
                direction: Direction::Short,
                index: i,
                bottom: third.high,
                top: first.low,
            }
        } else {
            continue;
        };
        let filled = candles[i + 1..].iter().any(|c| match zone.direction {
            Direction::Long => c.low <= zone.bottom,
            Direction::Short => c.high >= zone.top,
        });
        if !filled {
            gaps.push(zone);
        }
    }
    gaps
}

/// The order block of a break of structure: the last opposite candle before the displacement
/// that broke (for a bullish break, the last down candle), still unmitigated: no close beyond
/// its far side since. Searched at most `reach` candles back from the break.
pub fn order_block(candles: &[Candle], bos: &BreakOfStructure, reach: usize) -> Option<Zone> {
    let start = bos.index.saturating_sub(reach);
    let opposite = (start..bos.index).rev().find(|i| {
        let c = &candles[*i];
        match bos.direction {
            Direction::Long => c.close < c.open,
            Direction::Short => c.close > c.open,
        }
    })?;
    let c = &candles[opposite];
    let zone = Zone {
        direction: bos.direction,
        index: opposite,
        bottom: c.low,
        top: c.high,
    };
    let mitigated = candles[opposite + 1..]
        .iter()
        .any(|later| match bos.direction {
            Direction::Long => later.close < zone.bottom,
            Direction::Short => later.close > zone.top,
        });
    (!mitigated).then_some(zone)
}

/// A wick beyond a prior swing that closed back inside: liquidity taken.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sweep {
    /// The side the sweep favours: a sweep of a low favours a LONG.
    pub direction: Direction,
    pub index: usize,
    /// The swept swing level.
    pub level: f64,
    /// The wick's extreme.
    pub extreme: f64,
}

/// The most recent sweep within the last `recent` candles.
pub fn last_sweep(candles: &[Candle], swings: &[Swing], recent: usize) -> Option<Sweep> {
    let first = candles.len().saturating_sub(recent);
    (first..candles.len()).rev().find_map(|i| {
        let c = &candles[i];
        swings.iter().rev().filter(|s| s.index < i).find_map(|s| {
            if !s.is_high && c.low < s.price && c.close > s.price {
                Some(Sweep {
                    direction: Direction::Long,
                    index: i,
                    level: s.price,
                    extreme: c.low,
                })
            } else if s.is_high && c.high > s.price && c.close < s.price {
                Some(Sweep {
                    direction: Direction::Short,
                    index: i,
                    level: s.price,
                    extreme: c.high,
                })
            } else {
                None
            }
        })
    })
}

/// Where `price` sits in the dealing range between the last swing low and high: below the
/// midpoint is discount (`Some(Direction::Long)` favoured), above is premium.
pub fn premium_discount(swings: &[Swing], price: f64) -> Option<(Direction, f64, f64)> {
    let high = swings.iter().rev().find(|s| s.is_high)?.price;
    let low = swings.iter().rev().find(|s| !s.is_high)?.price;
    if high <= low {
        return None;
    }
    let side = if price < (high + low) / 2.0 {
        Direction::Long
    } else {
        Direction::Short
    };
    Some((side, low, high))
}

/// Wilder's average true range over `period` candles; `None` with too few candles.
pub fn atr(candles: &[Candle], period: usize) -> Option<f64> {
    if period == 0 || candles.len() <= period {
        return None;
    }
    let true_range = |i: usize| {
        let (c, prev) = (&candles[i], &candles[i - 1]);
        (c.high - c.low)
            .max((c.high - prev.close).abs())
            .max((c.low - prev.close).abs())
    };
    let mut value = (1..=period).map(true_range).sum::<f64>() / period as f64;
    for i in period + 1..candles.len() {
        value = (value * (period as f64 - 1.0) + true_range(i)) / period as f64;
    }
    Some(value)
}
