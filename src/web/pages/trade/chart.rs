//! The trade page's chart, drawn on the server in SVG user units of a 640 × 260 box: the levels
//! (final and partial targets, entry, initial and current stop), the path from the entry through
//! each exit to the current price, a marker per exit at its price and time, the stop in force as
//! a step line through its moves (DESIGN.md §10), and the band between the worst and best price
//! seen. Pure: rows in, finite coordinates and plain text out; the template escapes the text.

use chrono::NaiveDateTime;

use crate::db::models::{SignalRow, StopMoveRow, TradeExitRow};
use crate::domain::management::PartialTarget;
use crate::domain::SignalStatus;
use crate::web::pages::format::{date_time_secs, price, quantity, share, signed_money, tone};

/// A horizontal level across the chart, labelled in the left margin.
pub struct Level {
    pub label: String,
    pub price: String,
    pub y: f64,
    /// The label's baseline: beside `y`, moved apart from the other labels so none overlap
    /// (after a breakeven move the stop and the entry are one line).
    pub label_y: f64,
    pub class: &'static str,
}

/// A point on the chart with a tooltip (an SVG `<title>`) saying what it marks.
pub struct Marker {
    pub x: f64,
    pub y: f64,
    pub title: String,
    pub class: &'static str,
}

/// The trade's chart. X is time, from the entry to the close (or the last update of an open
/// trade); Y is price.
pub struct TradeChart {
    pub levels: Vec<Level>,
    /// Entry → each exit → the current price: the path the trade took as far as it is stored.
    pub path: String,
    /// The stop in force: from the initial stop, a step at each move, to the stop now.
    pub stop_path: String,
    /// One per exit, oldest first.
    pub exits: Vec<Marker>,
    /// One per stop move at its new stop, oldest first.
    pub stop_moves: Vec<Marker>,
    /// The current price of an open trade, or the exit of a closed one stored without exit rows.
    pub end: Option<Marker>,
    pub end_label: String,
    /// Where `end_label` ends (`text-anchor="end"`), left of the path's last point.
    pub end_label_x: f64,
    pub end_label_y: f64,
    /// The band between the worst and best price seen while open.
    pub band_top: f64,
    pub band_height: f64,
}

/// Price to Y. Every value maps into the box, whatever the row holds: rows stored before the
/// level bounds (issue 10), or hand-edited ones, may carry 5e-324, 1.7e308 or infinity, and one
/// `y="NaN"` breaks the whole drawing.
struct PriceScale {
    mid: f64,
    half: f64,
}

impl PriceScale {
    fn spanning(prices: &[f64]) -> PriceScale {
        let finite = || prices.iter().copied().filter(|p| p.is_finite());
        let low = finite().fold(f64::INFINITY, f64::min);
        let high = finite().fold(f64::NEG_INFINITY, f64::max);
        let (low, high) = if low <= high { (low, high) } else { (0.0, 1.0) };
        // Halves keep the arithmetic finite even from -f64::MAX to f64::MAX; 8 % of the span is
        // left free above and below.
        let half_span = (high / 2.0 - low / 2.0)
            .max(high.abs() * 5e-7)
            .max(f64::MIN_POSITIVE);
        PriceScale {
            mid: low / 2.0 + high / 2.0,
            half: half_span * 1.16,
        }
    }

    fn y(&self, p: f64) -> f64 {
        let height = TradeChart::HEIGHT;
        let y = height / 2.0 - (p / 2.0 - self.mid / 2.0) / self.half * height;
        if y.is_finite() {
            y.clamp(0.0, height)
        } else if p > self.mid {
            0.0
        } else {
            height
        }
    }
}

/// Time to X, from the entry (`LEFT`) to the end (`RIGHT`); times outside clamp to the ends.
struct TimeScale {
    start: NaiveDateTime,
    span_ms: f64,
}

impl TimeScale {
    fn x(&self, at: NaiveDateTime) -> f64 {
        let (left, right) = (TradeChart::LEFT, TradeChart::RIGHT);
        if self.span_ms > 0.0 {
            let part = (at - self.start).num_milliseconds() as f64 / self.span_ms;
            left + part.clamp(0.0, 1.0) * (right - left)
        } else {
            // Everything happened in the same instant as the entry.
            right
        }
    }
}

fn points(list: &[(f64, f64)]) -> String {
    list.iter()
        .map(|(x, y)| format!("{x:.1},{y:.1}"))
        .collect::<Vec<_>>()
        .join(" ")
}

impl TradeChart {
    pub const WIDTH: f64 = 640.0;
    pub const HEIGHT: f64 = 260.0;
    /// Where time begins: the margin on the left holds the level labels.
    const LEFT: f64 = 90.0;
    const RIGHT: f64 = Self::WIDTH - 20.0;
    /// The least distance between two label baselines (12 px text).
    pub const LABEL_GAP: f64 = 13.0;

    pub fn new(s: &SignalRow, exits: &[TradeExitRow], moves: &[StopMoveRow]) -> TradeChart {
        let is_open = s.status == SignalStatus::Active;
        let end_price = if is_open {
            s.current_price
        } else {
            s.exit_price.unwrap_or(s.current_price)
        };
        let targets = s.targets();
        let mut prices = vec![
            s.entry_price,
            s.stop_loss,
            s.initial_stop_loss,
            s.take_profit,
            end_price,
            s.max_favorable_price,
            s.max_adverse_price,
        ];
        prices.extend(targets.iter().map(|t| t.price));
        prices.extend(exits.iter().map(|e| e.price));
        prices.extend(moves.iter().flat_map(|m| [m.old_stop, m.new_stop]));
        let scale = PriceScale::spanning(&prices);
        let y = |p: f64| scale.y(p);

        let last_event = exits
            .iter()
            .map(|e| e.created_at)
            .chain(moves.iter().map(|m| m.created_at))
            .max();
        let end_time = s.closed_at.unwrap_or(s.updated_at).max(s.created_at);
        let end_time = last_event.map_or(end_time, |t| t.max(end_time));
        let time = TimeScale {
            start: s.created_at,
            span_ms: (end_time - s.created_at).num_milliseconds() as f64,
        };
        let (left, right) = (Self::LEFT, Self::RIGHT);

        let mut levels = levels(s, &targets, y);
        spread_labels(&mut levels);

        let exit_markers = exit_markers(exits, |at| time.x(at), y);

        let mut path = vec![(left, y(s.entry_price))];
        path.extend(exit_markers.iter().map(|m| (m.x, m.y)));
        let end = if is_open || exits.is_empty() {
            let word = if is_open { "now" } else { "exit" };
            Some(Marker {
                x: right,
                y: y(end_price),
                title: format!("{word} {}", price(end_price)),
                class: "exit",
            })
        } else {
            None
        };
        if let Some(end) = &end {
            path.push((end.x, end.y));
        }
        let end_label = match &end {
            Some(end) => end.title.clone(),
            None if exits.len() == 1 => format!("exit {}", price(end_price)),
            None => format!("average exit {}", price(end_price)),
        };
        let (last_x, last_y) = path.last().copied().unwrap_or((right, y(end_price)));

        let (stop, stop_markers) = stop_line(s, moves, (left, right), |at| time.x(at), y);

        let (top, bottom) = (
            y(s.max_favorable_price.max(s.max_adverse_price)),
            y(s.max_favorable_price.min(s.max_adverse_price)),
        );
        TradeChart {
            levels,
            path: points(&path),
            stop_path: points(&stop),
            exits: exit_markers,
            stop_moves: stop_markers,
            end,
            end_label,
            end_label_x: (last_x - 10.0).max(Self::LEFT + 60.0),
            end_label_y: (last_y - 8.0).clamp(12.0, Self::HEIGHT - 2.0),
            band_top: top,
            band_height: (bottom - top).max(1.0),
        }
    }
}

/// The horizontal levels of trade `s`, labels not yet spread: the final target, each partial
/// target (`targets`, marked once filled), the entry, the initial stop once the stop has moved,
/// and the stop in force.
pub(super) fn levels(
    s: &SignalRow,
    targets: &[PartialTarget],
    y: impl Fn(f64) -> f64,
) -> Vec<Level> {
    let level = |label: String, at: f64, class: &'static str| Level {
        label,
        price: price(at),
        y: y(at),
        label_y: 0.0,
        class,
    };
    let mut levels = vec![level("target".to_owned(), s.take_profit, "up")];
    let filled = usize::try_from(s.targets_hit).unwrap_or(0);
    for (i, t) in targets.iter().enumerate() {
        let class = if i < filled {
            "up partial filled"
        } else {
            "up partial"
        };
        levels.push(level(
            format!("TP{} {}", i + 1, share(t.fraction)),
            t.price,
            class,
        ));
    }
    levels.push(level("entry".to_owned(), s.entry_price, "flat"));
    if s.initial_stop_loss != s.stop_loss {
        levels.push(level(
            "initial stop".to_owned(),
            s.initial_stop_loss,
            "down initial",
        ));
    }
    levels.push(level("stop".to_owned(), s.stop_loss, "down"));
    levels
}

/// A marker per exit at its time and price, titled with its reason, size, price and pnl.
pub(super) fn exit_markers(
    exits: &[TradeExitRow],
    x: impl Fn(NaiveDateTime) -> f64,
    y: impl Fn(f64) -> f64,
) -> Vec<Marker> {
    exits
        .iter()
        .enumerate()
        .map(|(i, e)| Marker {
            x: x(e.created_at),
            y: y(e.price),
            title: format!(
                "exit {}: {} {} at {}, pnl {}, {}",
                i + 1,
                e.reason,
                quantity(e.quantity),
                price(e.price),
                signed_money(e.pnl),
                date_time_secs(e.created_at)
            ),
            class: tone(e.pnl),
        })
        .collect()
}

/// The stop in force as a step line from `from_x` to `to_x` (the initial stop, a step at each
/// move, the stop now), and a marker per move at its new stop.
pub(super) fn stop_line(
    s: &SignalRow,
    moves: &[StopMoveRow],
    (from_x, to_x): (f64, f64),
    x: impl Fn(NaiveDateTime) -> f64,
    y: impl Fn(f64) -> f64,
) -> (Vec<(f64, f64)>, Vec<Marker>) {
    let mut line = vec![(from_x, y(s.initial_stop_loss))];
    let markers = moves
        .iter()
        .map(|m| {
            let at = x(m.created_at);
            line.push((at, y(m.old_stop)));
            line.push((at, y(m.new_stop)));
            Marker {
                x: at,
                y: y(m.new_stop),
                title: format!(
                    "stop {} → {} ({}), {}",
                    price(m.old_stop),
                    price(m.new_stop),
                    m.reason,
                    date_time_secs(m.created_at)
                ),
                class: "stop-move",
            }
        })
        .collect();
    line.push((to_x, y(s.stop_loss)));
    (line, markers)
}

/// Give each level a label baseline beside its line, at least [`TradeChart::LABEL_GAP`] from
/// the next, inside the box.
fn spread_labels(levels: &mut [Level]) {
    spread_labels_within(levels, 12.0, TradeChart::HEIGHT - 2.0);
}

/// [`spread_labels`] between the baselines `first` and `last`.
pub(super) fn spread_labels_within(levels: &mut [Level], first: f64, last: f64) {
    let mut order: Vec<usize> = (0..levels.len()).collect();
    order.sort_by(|a, b| levels[*a].y.total_cmp(&levels[*b].y));
    let mut previous = f64::NEG_INFINITY;
    for &i in &order {
        let wanted = (levels[i].y + 4.0).max(first);
        levels[i].label_y = wanted.max(previous + TradeChart::LABEL_GAP);
        previous = levels[i].label_y;
    }
    let mut next = f64::INFINITY;
    for &i in order.iter().rev() {
        levels[i].label_y = levels[i]
            .label_y
            .min(last)
            .min(next - TradeChart::LABEL_GAP)
            .max(first);
        next = levels[i].label_y;
    }
}

pub mod candles;

#[cfg(test)]
pub(super) mod tests;
