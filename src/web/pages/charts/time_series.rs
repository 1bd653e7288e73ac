//! Values over time: a line (equity) or an area below zero (drawdown).

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

use super::axis::{nice_ticks, seconds, time_ticks, Scale};
use super::{coord, escape, format, no_data, open, y_grid, zero_across, Svg, Unit};

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 76.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 24.0;
const BOTTOM: f64 = 28.0;

/// A line through `points` (time, value), e.g. the equity curve. Time runs left to right on a
/// date axis, values read in `unit` on the y axis; a zero line shows when the values cross zero.
/// Points whose value is not finite are left out; with none left the chart says "No data".
pub fn time_series(title: &str, points: &[(NaiveDateTime, f64)], unit: Unit) -> Svg {
    draw(title, points, unit, false, false)
}

/// Like [`time_series`], with the area between the line and zero filled: a drawdown curve. The
/// y range always includes zero.
pub fn drawdown(title: &str, points: &[(NaiveDateTime, f64)], unit: Unit) -> Svg {
    draw(title, points, unit, true, false)
}

/// [`time_series`] of one value per day (e.g. the equity at each day's end), the hover titled
/// with the date alone.
pub fn daily(title: &str, points: &[(NaiveDate, f64)], unit: Unit) -> Svg {
    draw(title, &at_midnight(points), unit, false, true)
}

/// [`drawdown`] of one value per day.
pub fn daily_drawdown(title: &str, points: &[(NaiveDate, f64)], unit: Unit) -> Svg {
    draw(title, &at_midnight(points), unit, true, true)
}

fn at_midnight(points: &[(NaiveDate, f64)]) -> Vec<(NaiveDateTime, f64)> {
    points
        .iter()
        .map(|(d, v)| (d.and_time(NaiveTime::MIN), *v))
        .collect()
}

fn draw(title: &str, points: &[(NaiveDateTime, f64)], unit: Unit, area: bool, daily: bool) -> Svg {
    let mut points: Vec<(NaiveDateTime, f64)> = points
        .iter()
        .copied()
        .filter(|(_, v)| v.is_finite())
        .collect();
    points.sort_by_key(|(t, _)| *t);
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return no_data(title, WIDTH, HEIGHT);
    };
    let (first, last) = (seconds(first.0), seconds(last.0));
    let mut min = points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let mut max = points.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    if area {
        min = min.min(0.0);
        max = max.max(0.0);
    }
    let (ticks, lo, hi) = nice_ticks(min, max, 5);
    let y = Scale {
        lo,
        hi,
        from: HEIGHT - BOTTOM,
        to: TOP,
    };
    let span = (last - first).max(1) as f64;
    let x = |at: NaiveDateTime| {
        if last == first {
            LEFT + (WIDTH - LEFT - RIGHT) / 2.0
        } else {
            LEFT + (seconds(at) - first) as f64 / span * (WIDTH - LEFT - RIGHT)
        }
    };

    let mut svg = open(title, WIDTH, HEIGHT);
    svg.push_str("<g class=\"chart-axis chart-y\">");
    svg.push_str(&y_grid(&ticks, &y, (LEFT, WIDTH - RIGHT), unit));
    svg.push_str("</g><g class=\"chart-axis chart-x\">");
    let time_ticks = if last == first {
        let at = points[0].0;
        let label = if daily {
            at.date().to_string()
        } else {
            format::date_time(at)
        };
        vec![(first, label)]
    } else {
        time_ticks(first, last)
    };
    for (at, label) in time_ticks {
        let px = if last == first {
            LEFT + (WIDTH - LEFT - RIGHT) / 2.0
        } else {
            LEFT + (at - first) as f64 / span * (WIDTH - LEFT - RIGHT)
        };
        svg.push_str(&format!(
            "<line class=\"chart-tick\" x1=\"{px}\" x2=\"{px}\" y1=\"{b}\" y2=\"{b2}\"/>\
             <text x=\"{px}\" y=\"{ty}\" text-anchor=\"middle\">{label}</text>",
            px = coord(px),
            b = coord(HEIGHT - BOTTOM),
            b2 = coord(HEIGHT - BOTTOM + 4.0),
            ty = coord(HEIGHT - 8.0),
            label = escape(&label),
        ));
    }
    svg.push_str("</g>");
    if min < 0.0 && max >= 0.0 {
        svg.push_str(&zero_across(y.at(0.0), (LEFT, WIDTH - RIGHT)));
    }
    let line: Vec<String> = points
        .iter()
        .map(|(t, v)| format!("{},{}", coord(x(*t)), coord(y.at(*v))))
        .collect();
    if area {
        let zy = coord(y.at(0.0));
        svg.push_str(&format!(
            "<polygon class=\"chart-area-down\" points=\"{},{zy} {} {},{zy}\"/>",
            coord(x(points[0].0)),
            line.join(" "),
            coord(x(points[points.len() - 1].0)),
        ));
    }
    svg.push_str(&format!(
        "<polyline class=\"chart-line\" fill=\"none\" points=\"{}\"/>",
        line.join(" ")
    ));
    svg.push_str("<g class=\"chart-points\">");
    for (t, v) in &points {
        let at = if daily {
            t.date().to_string()
        } else {
            format::date_time(*t)
        };
        svg.push_str(&format!(
            "<circle class=\"chart-point\" cx=\"{}\" cy=\"{}\" r=\"3\"><title>{}: {}</title></circle>",
            coord(x(*t)),
            coord(y.at(*v)),
            escape(&at),
            escape(&unit.format(*v)),
        ));
    }
    svg.push_str("</g></svg>");
    Svg(svg)
}
