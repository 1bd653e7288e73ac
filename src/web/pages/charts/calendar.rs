//! The pnl calendar: a heatmap of days, GitHub style — a column per week (Monday first), a row
//! per weekday, each day green or red by the sign of its pnl and darker the larger it is, months
//! labelled above. A year per band; longer ranges stack bands.

use chrono::{Datelike, Duration, NaiveDate};

use super::{coord, escape, format, Svg};
use crate::domain::analytics::CalendarDay;

const CELL: f64 = 11.0;
const STEP: f64 = 13.0;
const LEFT: f64 = 32.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 24.0;
/// Month labels above each band.
const MONTHS: f64 = 14.0;
const BAND_GAP: f64 = 10.0;
/// Weeks per band: a year.
pub const BAND_WEEKS: i64 = 53;
/// The most weeks drawn (the API's longest range, ten years): only the latest are kept.
pub const MAX_WEEKS: i64 = BAND_WEEKS * 10;
/// Shades of each sign.
const LEVELS: u32 = 4;
const LEGEND: f64 = 22.0;
/// The width of a character of a month label, at most.
const LABEL_CHAR: f64 = 6.5;
/// The fewest weeks a band is wide: room for the legend.
const MIN_WEEKS: i64 = 18;

/// The width of a band of `weeks` weeks.
fn width(weeks: i64) -> f64 {
    LEFT + weeks.clamp(MIN_WEEKS, BAND_WEEKS) as f64 * STEP + RIGHT
}

/// The heatmap of `days` (each day of the range, with or without closes). A day without trades
/// is a plain cell; a day with trades is shaded by its pnl against the largest absolute daily
/// pnl: `cal-up-1`…`cal-up-4`, `cal-down-1`…`cal-down-4`, `cal-flat` for zero or a pnl that is
/// not finite. Every day carries a `<title>` (date, trades, pnl). Nothing to draw: "No data".
pub fn calendar(title: &str, days: &[CalendarDay]) -> Svg {
    let mut days: Vec<&CalendarDay> = days.iter().collect();
    days.sort_by_key(|d| d.date);
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        let height = TOP + MONTHS + 7.0 * STEP + LEGEND;
        let mut svg = open(title, width(MIN_WEEKS), height);
        svg.push_str(&format!(
            "<text class=\"chart-empty\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">No data</text></svg>",
            coord(width(MIN_WEEKS) / 2.0),
            coord(height / 2.0)
        ));
        return Svg(svg);
    };
    // Checked: a week before the earliest date there is does not exist.
    let monday = |d: NaiveDate| {
        d.checked_sub_signed(Duration::days(i64::from(
            d.weekday().num_days_from_monday(),
        )))
        .unwrap_or(d)
    };
    let last_week = monday(last.date);
    let mut start = monday(first.date);
    if (last_week - start).num_days() / 7 >= MAX_WEEKS {
        start = last_week
            .checked_sub_signed(Duration::weeks(MAX_WEEKS - 1))
            .unwrap_or(start);
    }
    days.retain(|d| d.date >= start);
    let weeks = (last_week - start).num_days() / 7 + 1;
    let bands = (weeks + BAND_WEEKS - 1) / BAND_WEEKS;
    let band_height = MONTHS + 7.0 * STEP + BAND_GAP;
    let height = TOP + bands as f64 * band_height + LEGEND;
    let largest = days
        .iter()
        .filter(|d| d.trades > 0)
        .map(|d| d.pnl.abs())
        .filter(|p| p.is_finite())
        .fold(0.0, f64::max);
    // Where a day is: its band, column and row.
    let place = |date: NaiveDate| {
        let week = (date - start).num_days().div_euclid(7);
        let band = week / BAND_WEEKS;
        let x = LEFT + (week % BAND_WEEKS) as f64 * STEP;
        let band_top = TOP + band as f64 * band_height + MONTHS;
        let y = band_top + f64::from(date.weekday().num_days_from_monday()) * STEP;
        (band, x, y)
    };

    let mut svg = open(title, width(weeks), height);
    svg.push_str("<g class=\"chart-axis cal-labels\">");
    for band in 0..bands {
        let band_top = TOP + band as f64 * band_height + MONTHS;
        for (row, name) in [(0.0, "Mon"), (2.0, "Wed"), (4.0, "Fri"), (6.0, "Sun")] {
            svg.push_str(&format!(
                "<text x=\"{x}\" y=\"{y}\" text-anchor=\"end\" dominant-baseline=\"middle\">{name}</text>",
                x = coord(LEFT - 4.0),
                y = coord(band_top + row * STEP + CELL / 2.0),
            ));
        }
    }
    // A month's label stands over the week holding its first day. A band that starts within a
    // month gets that month's label too, unless the next month's would run into it. The band's
    // year stands left of its months, and a January within a band carries its year. A label that
    // would run into the one before is left out.
    let label_width = |text: &str| text.chars().count() as f64 * LABEL_CHAR + 4.0;
    let candidates: Vec<(i64, f64, NaiveDate)> = days
        .iter()
        .enumerate()
        .filter(|(i, d)| {
            d.date.day() == 1 || *i == 0 || place(days[i - 1].date).0 != place(d.date).0
        })
        .map(|(_, d)| {
            let (band, x, _) = place(d.date);
            (band, x, d.date)
        })
        .collect();
    // Each band's first day is a candidate: its year.
    for (i, (band, _, date)) in candidates.iter().enumerate() {
        if i == 0 || candidates[i - 1].0 != *band {
            svg.push_str(&format!(
                "<text x=\"{x}\" y=\"{y}\" text-anchor=\"end\">{year}</text>",
                x = coord(LEFT - 4.0),
                y = coord(TOP + *band as f64 * band_height + MONTHS - 4.0),
                year = date.year(),
            ));
        }
    }
    // `labelled` is the band of the last label and where it ends.
    let mut labelled: Option<(i64, f64)> = None;
    for (i, (band, x, date)) in candidates.iter().enumerate() {
        let first_of_band = labelled.is_none_or(|(b, _)| b != *band);
        let pattern = if date.month() == 1 && !first_of_band {
            "%b %Y"
        } else {
            "%b"
        };
        let label = date.format(pattern).to_string();
        let end = x + label_width(&label);
        let crowded = date.day() != 1
            && candidates
                .get(i + 1)
                .is_some_and(|(b, next_x, _)| b == band && *next_x < end);
        let room = labelled.is_none_or(|(b, last_end)| b != *band || *x >= last_end);
        if crowded || !room {
            continue;
        }
        labelled = Some((*band, end));
        svg.push_str(&format!(
            "<text x=\"{x}\" y=\"{y}\">{label}</text>",
            x = coord(*x),
            y = coord(TOP + *band as f64 * band_height + MONTHS - 4.0),
            label = escape(&label),
        ));
    }
    svg.push_str("</g><g class=\"cal-days\">");
    for day in &days {
        let (_, x, y) = place(day.date);
        let pnl = if day.pnl.is_finite() {
            format::signed_money(day.pnl)
        } else {
            "—".to_owned()
        };
        let text = match day.trades {
            0 => format!("{}: no closed trade", day.date),
            1 => format!("{}: 1 trade, {pnl}", day.date),
            n => format!("{}: {n} trades, {pnl}", day.date),
        };
        svg.push_str(&format!(
            "<rect class=\"cal {class}\" x=\"{x}\" y=\"{y}\" width=\"{c}\" height=\"{c}\" rx=\"2\"><title>{t}</title></rect>",
            class = shade(day, largest),
            x = coord(x),
            y = coord(y),
            c = coord(CELL),
            t = escape(&text),
        ));
    }
    svg.push_str("</g>");
    svg.push_str(&legend(height - 8.0, largest));
    svg.push_str("</svg>");
    Svg(svg)
}

/// The opening tag. Unlike the other charts the calendar has a size of its own, as many pixels
/// as its viewBox (a year is 729 wide), so a short range is not blown up to the page's width and
/// a year's days stay cells, not dots, on a phone: the page lets it scroll sideways there.
fn open(title: &str, width: f64, height: f64) -> String {
    let title = escape(title);
    format!(
        "<svg class=\"chart calendar\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" \
         role=\"img\" aria-label=\"{title}\" xmlns=\"http://www.w3.org/2000/svg\">\
         <text class=\"chart-title\" x=\"4\" y=\"14\">{title}</text>",
        w = coord(width),
        h = coord(height),
    )
}

/// The class of a day's cell.
fn shade(day: &CalendarDay, largest: f64) -> String {
    if day.trades <= 0 {
        return "cal-none".to_owned();
    }
    if !day.pnl.is_finite() || day.pnl == 0.0 || largest <= 0.0 {
        return "cal-flat".to_owned();
    }
    let level = (day.pnl.abs() / largest * f64::from(LEVELS))
        .ceil()
        .clamp(1.0, f64::from(LEVELS)) as u32;
    let sign = if day.pnl > 0.0 { "up" } else { "down" };
    format!("cal-{sign}-{level}")
}

/// `Loss ■■■■ ■ ■■■■ Profit`, each swatch titled with the pnl it stands for.
fn legend(baseline: f64, largest: f64) -> String {
    let mut out = String::from("<g class=\"cal-legend\">");
    let mut x = LEFT;
    out.push_str(&format!(
        "<text x=\"{}\" y=\"{}\">Loss</text>",
        coord(x),
        coord(baseline)
    ));
    x += 32.0;
    let band = |level: u32| {
        let low = largest * f64::from(level - 1) / f64::from(LEVELS);
        let high = largest * f64::from(level) / f64::from(LEVELS);
        (format::money(low), format::money(high))
    };
    let mut swatch = |class: String, title: String, x: &mut f64| {
        out.push_str(&format!(
            "<rect class=\"cal {class}\" x=\"{}\" y=\"{}\" width=\"{c}\" height=\"{c}\" rx=\"2\"><title>{}</title></rect>",
            coord(*x),
            coord(baseline - CELL + 1.0),
            escape(&title),
            c = coord(CELL),
        ));
        *x += STEP;
    };
    for level in (1..=LEVELS).rev() {
        let (low, high) = band(level);
        swatch(
            format!("cal-down-{level}"),
            format!("a loss of {low} to {high}"),
            &mut x,
        );
    }
    swatch("cal-none".to_owned(), "no closed trade".to_owned(), &mut x);
    for level in 1..=LEVELS {
        let (low, high) = band(level);
        swatch(
            format!("cal-up-{level}"),
            format!("a profit of {low} to {high}"),
            &mut x,
        );
    }
    out.push_str(&format!(
        "<text x=\"{}\" y=\"{}\">Profit</text></g>",
        coord(x + 4.0),
        coord(baseline)
    ));
    out
}
