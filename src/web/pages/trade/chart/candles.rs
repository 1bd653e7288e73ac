//! The trade page's candlestick chart (DESIGN.md §11), drawn on the server in SVG user units of
//! a [`CandleChart::WIDTH`] × [`CandleChart::HEIGHT`] box: the stored 1-minute candles of the
//! trade's span and a margin, aggregated to at most [`MAX_CANDLES`] (1m, 5m, 15m, 1h, 4h, 1d
//! buckets, or whole days beyond), wicks and bodies coloured up and down, a time axis and a price
//! axis with round ticks, and over them the entry, the stop in force as a step line through its
//! moves, the final and partial targets, each exit, and the best and worst price seen (MFE,
//! MAE). Every mark carries a `<title>`, so a hover names it. Pure: rows in, finite coordinates
//! and plain text out; the template escapes the text. Without a usable stored candle there is
//! no candle chart, and the page draws the level chart of `super::TradeChart`.

use chrono::{DateTime, Duration, NaiveDateTime};

use super::{exit_markers, levels, points, spread_labels_within, stop_line, Level, Marker};
use crate::db::models::{CandleRow, SignalRow, StopMoveRow, TradeExitRow};
use crate::domain::market::{aggregate_secs, valid_price, Candle};
use crate::domain::{Direction, SignalStatus};
use crate::web::pages::format::{date_time, date_time_secs, number, price, quantity};

/// The most candles drawn: beyond it the candles are aggregated into longer ones.
pub const MAX_CANDLES: i64 = 300;

/// Bucket lengths tried in turn, in seconds: the first that fits the chart in [`MAX_CANDLES`].
const BUCKETS: [(i64, &str); 6] = [
    (60, "1m"),
    (300, "5m"),
    (900, "15m"),
    (3_600, "1h"),
    (14_400, "4h"),
    (86_400, "1d"),
];

/// Time-axis steps tried in turn, in seconds: the first that gives at most [`TIME_TICKS`].
const TIME_STEPS: [i64; 17] = [
    60, 120, 300, 600, 900, 1_800, 3_600, 7_200, 10_800, 21_600, 43_200, 86_400, 172_800, 604_800,
    1_209_600, 2_592_000, 7_776_000,
];
const TIME_TICKS: i64 = 8;

/// The time drawn either side of the trade's span: a tenth of it, from 5 minutes to the hour
/// that the candles are kept around every trade (`db::candles::SPAN_MARGIN`).
pub fn margin(span: Duration) -> Duration {
    (span / 10).clamp(Duration::minutes(5), Duration::hours(1))
}

/// Where the trade's span ends on the chart: its close, or the last tick that priced it, and
/// never before its last exit or stop move.
fn span_end(s: &SignalRow, exits: &[TradeExitRow], moves: &[StopMoveRow]) -> NaiveDateTime {
    let end = s.closed_at.unwrap_or(s.updated_at).max(s.created_at);
    exits
        .iter()
        .map(|e| e.created_at)
        .chain(moves.iter().map(|m| m.created_at))
        .fold(end, NaiveDateTime::max)
}

/// The time range the chart shows, and so the candles to read: the trade's span and a
/// [`margin`] either side.
pub fn window(
    s: &SignalRow,
    exits: &[TradeExitRow],
    moves: &[StopMoveRow],
) -> (NaiveDateTime, NaiveDateTime) {
    let end = span_end(s, exits, moves);
    let pad = margin(end - s.created_at);
    (s.created_at - pad, end + pad)
}

/// One drawn candle: its wick from `wick_top` to `wick_bottom` at `center`, its body from
/// `body_top`, `body_height` tall (at least a pixel for a doji), `body_width` wide.
pub struct CandleMark {
    pub center: f64,
    pub body_x: f64,
    pub body_width: f64,
    pub body_top: f64,
    pub body_height: f64,
    pub wick_top: f64,
    pub wick_bottom: f64,
    /// `up` (close ≥ open) or `down`.
    pub class: &'static str,
    pub title: String,
}

/// A tick on an axis: its position (x for time, y for price) and label.
pub struct Tick {
    pub at: f64,
    pub label: String,
}

/// The chart, ready for the template.
pub struct CandleChart {
    pub candles: Vec<CandleMark>,
    /// The bucket each drawn candle spans: `1m`, `5m`, …, `3d`.
    pub bucket: String,
    pub time_ticks: Vec<Tick>,
    pub price_ticks: Vec<Tick>,
    /// The trade's span, shaded.
    pub span_x: f64,
    pub span_width: f64,
    /// Final target, partial targets, entry: lines across the chart, labelled on the left.
    pub levels: Vec<Level>,
    pub entry: Marker,
    /// The stop in force: from the initial stop, a step at each move, to the stop now.
    pub stop_path: String,
    pub stop_title: String,
    pub stop_moves: Vec<Marker>,
    pub exits: Vec<Marker>,
    /// The best and the worst price seen while open, where a candle first reached them.
    pub extremes: Vec<Marker>,
    /// What the caption says of the candles: how many, of what bucket, and how much of the
    /// window they cover when minutes are missing.
    pub caption: String,
}

/// Time to X: the window maps onto the plot; times outside clamp to its edges.
struct TimeScale {
    from: NaiveDateTime,
    span_ms: f64,
}

impl TimeScale {
    fn x(&self, at: NaiveDateTime) -> f64 {
        let part = (at - self.from).num_milliseconds() as f64 / self.span_ms;
        let part = if part.is_finite() {
            part.clamp(0.0, 1.0)
        } else {
            0.0
        };
        CandleChart::LEFT + part * (CandleChart::RIGHT - CandleChart::LEFT)
    }

    fn px_per_sec(&self) -> f64 {
        (CandleChart::RIGHT - CandleChart::LEFT) / (self.span_ms / 1_000.0)
    }
}

/// Price to Y over `low..high` (prices a trade can have, so finite and far from overflow);
/// anything else, a hostile stored level, lands on the nearer edge.
struct PriceScale {
    low: f64,
    high: f64,
}

impl PriceScale {
    fn spanning(prices: impl Iterator<Item = f64>) -> Option<PriceScale> {
        let (low, high) = prices
            .filter(|p| valid_price("price", *p).is_ok())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
                (lo.min(p), hi.max(p))
            });
        if low > high {
            return None;
        }
        let pad = ((high - low) * 0.06).max(high * 1e-4);
        Some(PriceScale {
            low: (low - pad).max(0.0),
            high: high + pad,
        })
    }

    fn y(&self, p: f64) -> f64 {
        let (top, bottom) = (CandleChart::TOP, CandleChart::BOTTOM);
        let part = (p - self.low) / (self.high - self.low);
        if part.is_finite() {
            bottom - part.clamp(0.0, 1.0) * (bottom - top)
        } else if p > self.low {
            top
        } else {
            bottom
        }
    }
}

/// A round step for about `count` ticks over `span`: 1, 2, 2.5 or 5 times a power of ten.
fn nice_step(span: f64, count: f64) -> f64 {
    let raw = span / count;
    let magnitude = 10f64.powf(raw.log10().floor());
    let norm = raw / magnitude;
    let nice = [1.0, 2.0, 2.5, 5.0]
        .into_iter()
        .find(|n| norm <= *n)
        .unwrap_or(10.0);
    nice * magnitude
}

/// The price ticks of `scale`: round values inside it, each labelled with as many decimals as
/// the step needs.
fn price_ticks(scale: &PriceScale) -> Vec<Tick> {
    let step = nice_step(scale.high - scale.low, 8.0);
    if !(step.is_finite() && step > 0.0) {
        return Vec::new();
    }
    let decimals = (-step.log10().floor()).max(0.0) as usize + usize::from(step_needs_extra(step));
    let decimals = decimals.min(12);
    let first = (scale.low / step).ceil();
    (0..20)
        .map(|i| (first + f64::from(i)) * step)
        .take_while(|p| *p <= scale.high)
        .map(|p| Tick {
            at: scale.y(p),
            label: number(p, decimals),
        })
        .collect()
}

/// Whether a step such as 0.25 or 2.5 needs a decimal more than its power of ten gives.
fn step_needs_extra(step: f64) -> bool {
    let magnitude = 10f64.powf(step.log10().floor());
    ((step / magnitude) - 2.5).abs() < 1e-9
}

/// The time ticks over the window: whole multiples of a round step (UTC), `HH:MM` with the date
/// where a day begins (and on the first tick), dates alone for steps of a day or more.
fn time_ticks(time: &TimeScale, from: NaiveDateTime, to: NaiveDateTime) -> Vec<Tick> {
    let span = (to - from).num_seconds().max(1);
    let step = TIME_STEPS
        .into_iter()
        .find(|s| span / s <= TIME_TICKS)
        .unwrap_or(span / TIME_TICKS + 1);
    let start = from.and_utc().timestamp().div_euclid(step) * step + step;
    let mut ticks = Vec::new();
    let mut previous_day = None;
    for i in 0..=TIME_TICKS {
        let Some(at) = DateTime::from_timestamp(start + i * step, 0).map(|t| t.naive_utc()) else {
            break;
        };
        if at > to {
            break;
        }
        let day = at.date();
        let label = if step >= 86_400 {
            at.format("%Y-%m-%d").to_string()
        } else if previous_day != Some(day) {
            at.format("%m-%d %H:%M").to_string()
        } else {
            at.format("%H:%M").to_string()
        };
        previous_day = Some(day);
        ticks.push(Tick {
            at: time.x(at),
            label,
        });
    }
    ticks
}

/// The bucket for a window of `span_secs`: the first of [`BUCKETS`] that fits the window in
/// [`MAX_CANDLES`], or as many whole days as it takes.
fn bucket_for(span_secs: i64) -> (i64, String) {
    BUCKETS
        .into_iter()
        .find(|(secs, _)| span_secs.div_euclid(*secs) < MAX_CANDLES)
        .map(|(secs, name)| (secs, name.to_owned()))
        .unwrap_or_else(|| {
            let days = span_secs / (86_400 * MAX_CANDLES) + 1;
            (days * 86_400, format!("{days}d"))
        })
}

/// The usable stored candles, oldest first: each as `Candle::new` accepts it (rows that
/// bypassed the table's checks are left out), grouped into `step`-second buckets aligned to
/// the epoch (first open, highest high, lowest low, last close, summed volume).
fn aggregate(rows: &[CandleRow], step: i64) -> Vec<Candle> {
    let usable: Vec<Candle> = rows
        .iter()
        .filter_map(|row| {
            Candle::new(
                row.open_time.and_utc(),
                row.open,
                row.high,
                row.low,
                row.close,
                row.volume,
            )
            .ok()
        })
        .collect();
    aggregate_secs(&usable, step)
}

impl CandleChart {
    pub const WIDTH: f64 = 960.0;
    pub const HEIGHT: f64 = 380.0;
    /// The plot: the left margin holds the level labels, the right one the price ticks, the
    /// bottom one the time ticks.
    pub const LEFT: f64 = 140.0;
    pub const RIGHT: f64 = Self::WIDTH - 72.0;
    pub const TOP: f64 = 12.0;
    pub const BOTTOM: f64 = Self::HEIGHT - 34.0;

    /// The plot's edges and size, for the template's axes and grid.
    pub fn left(&self) -> f64 {
        Self::LEFT
    }

    pub fn right(&self) -> f64 {
        Self::RIGHT
    }

    pub fn top(&self) -> f64 {
        Self::TOP
    }

    pub fn bottom(&self) -> f64 {
        Self::BOTTOM
    }

    /// The chart of trade `s` over its stored 1-minute `candles` (as read for [`window`]), or
    /// `None` when none of them is usable.
    pub fn new(
        s: &SignalRow,
        exits: &[TradeExitRow],
        moves: &[StopMoveRow],
        candles: &[CandleRow],
    ) -> Option<CandleChart> {
        let (from, to) = window(s, exits, moves);
        let span_secs = (to - from).num_seconds().max(60);
        let (step, bucket) = bucket_for(span_secs);
        let drawn = aggregate(candles, step);
        if drawn.is_empty() {
            return None;
        }
        let end = span_end(s, exits, moves);
        let targets = s.targets();
        let scale = PriceScale::spanning(
            drawn
                .iter()
                .flat_map(|c| [c.high, c.low])
                .chain([
                    s.entry_price,
                    s.initial_stop_loss,
                    s.stop_loss,
                    s.take_profit,
                    s.max_favorable_price,
                    s.max_adverse_price,
                ])
                .chain(targets.iter().map(|t| t.price))
                .chain(exits.iter().map(|e| e.price))
                .chain(moves.iter().flat_map(|m| [m.old_stop, m.new_stop])),
        )?;
        let y = |p: f64| scale.y(p);
        let time = TimeScale {
            from,
            span_ms: (to - from).num_milliseconds().max(1) as f64,
        };
        let x = |at: NaiveDateTime| time.x(at);

        let body_width = (step as f64 * time.px_per_sec() * 0.7).clamp(1.0, 24.0);
        let candle_marks = drawn
            .iter()
            .map(|c| {
                let open_time = c.open_time.naive_utc();
                let center = x(open_time + Duration::seconds(step / 2));
                let (top, bottom) = (y(c.open.max(c.close)), y(c.open.min(c.close)));
                CandleMark {
                    center,
                    body_x: center - body_width / 2.0,
                    body_width,
                    body_top: top,
                    body_height: (bottom - top).max(1.0),
                    wick_top: y(c.high),
                    wick_bottom: y(c.low),
                    class: if c.close >= c.open { "up" } else { "down" },
                    title: format!(
                        "{} ({bucket}) open {} high {} low {} close {} volume {}",
                        date_time(open_time),
                        price(c.open),
                        price(c.high),
                        price(c.low),
                        price(c.close),
                        number(c.volume, 4)
                    ),
                }
            })
            .collect();

        let mut levels = levels(s, &targets, y);
        spread_labels_within(&mut levels, Self::TOP + 4.0, Self::BOTTOM);

        let entry = Marker {
            x: x(s.created_at),
            y: y(s.entry_price),
            title: format!(
                "entry {} {} at {}, {}",
                s.direction,
                quantity(s.quantity),
                price(s.entry_price),
                date_time_secs(s.created_at)
            ),
            class: "entry",
        };

        let (stop, stop_moves) = stop_line(s, moves, (x(s.created_at), x(end)), x, y);
        let stop_title = format!(
            "the stop: initial {}{}",
            price(s.initial_stop_loss),
            if moves.is_empty() {
                String::new()
            } else {
                format!(
                    ", moved {} time{}, now {}",
                    moves.len(),
                    if moves.len() == 1 { "" } else { "s" },
                    price(s.stop_loss)
                )
            }
        );

        let exit_marks = exit_markers(exits, x, y);

        let extremes = extremes(s, candles, end, &x, &y);
        let caption = caption(drawn.len(), &bucket, candles, from, end);
        let (span_x, span_end_x) = (x(s.created_at), x(end));
        Some(CandleChart {
            candles: candle_marks,
            bucket,
            time_ticks: time_ticks(&time, from, to),
            price_ticks: price_ticks(&scale),
            span_x,
            span_width: (span_end_x - span_x).max(1.0),
            levels,
            entry,
            stop_path: points(&stop),
            stop_title,
            stop_moves,
            exits: exit_marks,
            extremes,
            caption,
        })
    }
}

/// The caption under the chart: `241 candles of 1m`, and when fewer than nine in ten minutes
/// from the window's start to the trade's last update are stored, how many are (minutes the
/// tick did not read: the feed was down, or the trade is older than its candles).
fn caption(
    drawn: usize,
    bucket: &str,
    candles: &[CandleRow],
    from: NaiveDateTime,
    end: NaiveDateTime,
) -> String {
    let plural = if drawn == 1 { "" } else { "s" };
    let mut text = format!("{drawn} candle{plural} of {bucket} from the stored 1-minute klines");
    let expected = (end - from).num_minutes() + 1;
    let stored = candles
        .iter()
        .filter(|c| c.open_time >= from && c.open_time <= end)
        .count() as i64;
    if stored * 10 < expected * 9 {
        text.push_str(&format!(
            "; {stored} of the {expected} minutes to the last update are stored, the rest \
             was not read"
        ));
    }
    text
}

/// The MFE and MAE marks: each at the first stored minute of the trade's span whose range
/// reached that price (the end of the span when none did), titled with the price and its
/// distance in R from the entry (R = the initial risk per unit, DESIGN.md §10).
fn extremes(
    s: &SignalRow,
    candles: &[CandleRow],
    end: NaiveDateTime,
    x: &dyn Fn(NaiveDateTime) -> f64,
    y: &dyn Fn(f64) -> f64,
) -> Vec<Marker> {
    let risk = (s.entry_price - s.initial_stop_loss).abs();
    let sign = match s.direction {
        Direction::Long => 1.0,
        Direction::Short => -1.0,
    };
    let in_r = |p: f64| {
        let r = sign * (p - s.entry_price) / risk;
        if r.is_finite() {
            format!(" ({r:+.2}R)")
        } else {
            String::new()
        }
    };
    let open = candles
        .iter()
        .filter(|c| c.open_time + Duration::minutes(1) > s.created_at && c.open_time <= end);
    let reached_above = |p: f64| open.clone().find(|c| c.high >= p).map(|c| c.open_time);
    let reached_below = |p: f64| open.clone().find(|c| c.low <= p).map(|c| c.open_time);
    let (best_at, worst_at) = match s.direction {
        Direction::Long => (
            reached_above(s.max_favorable_price),
            reached_below(s.max_adverse_price),
        ),
        Direction::Short => (
            reached_below(s.max_favorable_price),
            reached_above(s.max_adverse_price),
        ),
    };
    let seen = if s.status == SignalStatus::Active {
        "so far"
    } else {
        "while open"
    };
    [
        (s.max_favorable_price, best_at, "best", "MFE", "mfe"),
        (s.max_adverse_price, worst_at, "worst", "MAE", "mae"),
    ]
    .into_iter()
    .map(|(p, at, word, name, class)| Marker {
        x: x(at.map_or(end, |t| t.max(s.created_at))),
        y: y(p),
        title: format!("{name}: {word} price {seen} {}{}", price(p), in_r(p)),
        class,
    })
    .collect()
}

#[cfg(test)]
mod tests;
