//! Bars, scatter and calendar: finite coordinates whatever the input, a `<title>` on every bar,
//! point and day, labelled axes, a zero line exactly when the values cross zero.

use chrono::NaiveDate;

use super::super::*;
use super::{coordinates, count};
use crate::domain::analytics::CalendarDay;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// The frame every chart has, and every coordinate finite and within `0..=max`.
fn assert_drawn(svg: &str, label: &str, max: f64) {
    assert!(svg.starts_with("<svg "), "{svg}");
    assert!(svg.ends_with("</svg>"), "{svg}");
    assert!(svg.contains("viewBox=\"0 0 "), "{svg}");
    // The calendar has a size of its own, as wide as its viewBox; CSS lets it shrink.
    let own_size = svg.starts_with("<svg class=\"chart calendar\"");
    assert!(own_size || svg.contains("width=\"100%\""), "{svg}");
    assert!(svg.contains("role=\"img\""), "{svg}");
    assert!(svg.contains(&format!("aria-label=\"{label}\"")), "{svg}");
    for n in coordinates(svg) {
        assert!((0.0..=max).contains(&n), "{n} in {svg}");
    }
    for attr in [" width=\"", " height=\""] {
        for piece in svg.split(attr).skip(1) {
            let value = &piece[..piece.find('"').unwrap()];
            if value == "100%" {
                continue;
            }
            let n: f64 = value.parse().unwrap_or_else(|_| panic!("{attr}{value}"));
            assert!(n.is_finite() && (0.0..=max).contains(&n), "{attr}{value}");
        }
    }
    assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
}

const HOSTILE: [f64; 8] = [
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::MAX,
    -f64::MAX,
    1e308,
    -1e-308,
    3.0,
];

#[test]
fn a_histogram_titles_every_bar_and_names_its_axes() {
    let bars = [
        Bar::new("-1.0R", 2.0).note("trades"),
        Bar::new("-0.5R", 0.0).note("trades"),
        Bar::new("+0.0R", 7.0).note("trades"),
        Bar::new("+0.5R", 3.0).note("trades"),
    ];
    let svg = histogram("R multiples", "R multiple (0.5 R bins)", &bars, Unit::Count).to_string();
    assert_drawn(&svg, "R multiples", 640.0);
    assert_eq!(count(&svg, "<rect class=\"chart-bar"), 4, "{svg}");
    assert_eq!(count(&svg, "<title>"), 4, "{svg}");
    assert!(svg.contains("<title>+0.0R: 7 trades</title>"), "{svg}");
    assert!(
        svg.contains(">R multiple (0.5 R bins)</text>"),
        "x axis named: {svg}"
    );
    assert!(svg.contains(">+0.5R</text>"), "bins labelled: {svg}");
    assert!(
        svg.contains(">0</text>") && svg.contains(">8</text>"),
        "count ticks: {svg}"
    );
    assert!(!svg.contains(">0.5</text>"), "whole counts only: {svg}");
    assert!(
        !svg.contains("chart-zero"),
        "counts do not cross zero: {svg}"
    );
    // The tallest bar is the 7, seven times the height of... at least taller than the 2.
    let heights: Vec<f64> = svg
        .split("<rect class=\"chart-bar")
        .skip(1)
        .map(|r| {
            let h = &r[r.find(" height=\"").unwrap() + 9..];
            h[..h.find('"').unwrap()].parse().unwrap()
        })
        .collect();
    assert!(
        heights[2] > heights[0] * 3.0 && heights[0] > heights[1],
        "{heights:?}"
    );
}

#[test]
fn a_histogram_of_many_bins_thins_its_labels_not_its_bars() {
    let bars: Vec<Bar> = (0..40)
        .map(|i| {
            Bar::new(
                format!("{:+.1}R to {:+.1}R", i as f64 / 2.0, i as f64 / 2.0 + 0.5),
                1.0,
            )
        })
        .collect();
    let svg = histogram("Many", "R", &bars, Unit::Count).to_string();
    assert_drawn(&svg, "Many", 640.0);
    assert_eq!(count(&svg, "<title>"), 40);
    let labels = count(&svg, "R to ");
    assert!(labels - 40 < 12, "labels thinned: {labels}");
}

#[test]
fn breakdown_bars_take_the_sign_of_their_value_and_a_zero_line_iff_one_is_negative() {
    let bars = [
        Bar::new("BTCUSDT", 120.5).note("(12 trades)"),
        Bar::new("ETHUSDT", -40.0),
        Bar::new("SOLUSDT", 0.0),
    ];
    let svg = breakdown("PnL by symbol", "PnL (USDT)", &bars, Unit::Money).to_string();
    assert_drawn(&svg, "PnL by symbol", 640.0);
    assert_eq!(count(&svg, "<title>"), 3, "{svg}");
    assert!(
        svg.contains("<title>BTCUSDT: 120.50 (12 trades)</title>"),
        "{svg}"
    );
    assert_eq!(count(&svg, "chart-bar up"), 1, "{svg}");
    assert_eq!(count(&svg, "chart-bar down"), 1, "{svg}");
    assert_eq!(count(&svg, "chart-bar flat"), 1, "{svg}");
    assert_eq!(count(&svg, "chart-zero"), 1, "{svg}");
    assert!(
        svg.contains(">PnL (USDT)</text>") && svg.contains(">ETHUSDT</text>"),
        "{svg}"
    );
    assert!(svg.contains(">0.00</text>"), "a zero tick: {svg}");

    let gains = [Bar::new("a", 1.0), Bar::new("b", 2.0)];
    let svg = breakdown("Gains", "PnL", &gains, Unit::Money).to_string();
    assert!(!svg.contains("chart-zero"), "all positive: {svg}");
    let losses = [Bar::new("a", -1.0), Bar::new("b", -2.0)];
    let svg = breakdown("Losses", "PnL", &losses, Unit::Money).to_string();
    assert_eq!(count(&svg, "chart-zero"), 1, "all negative: {svg}");
}

#[test]
fn a_long_breakdown_keeps_the_best_and_the_worst_and_says_how_many_it_left_out() {
    let bars: Vec<Bar> = (0..100)
        .map(|i| Bar::new(format!("tag-{i}"), 50.0 - i as f64))
        .collect();
    let svg = breakdown("Tags", "PnL", &bars, Unit::Money).to_string();
    assert_eq!(count(&svg, "<title>"), bars::MAX_ROWS, "{svg}");
    assert!(
        svg.contains(">tag-0</text>") && svg.contains(">tag-99</text>"),
        "{svg}"
    );
    assert!(!svg.contains(">tag-50</text>"), "{svg}");
    assert!(svg.contains(format!("… {} more between", 100 - bars::MAX_ROWS).as_str()));
    let long = [Bar::new("x".repeat(200), 1.0)];
    let svg = breakdown("Long", "PnL", &long, Unit::Money).to_string();
    assert_drawn(&svg, "Long", 640.0);
    assert!(svg.contains("x…</text>"), "a long label is cut: {svg}");
}

#[test]
fn bars_survive_hostile_values() {
    let bars: Vec<Bar> = HOSTILE
        .iter()
        .enumerate()
        .map(|(i, v)| Bar::new(format!("b{i}"), *v))
        .collect();
    for (svg, unit) in [
        (histogram("H", "x", &bars, Unit::Money), Unit::Money),
        (breakdown("H", "x", &bars, Unit::Money), Unit::Money),
        (histogram("H", "x", &bars, Unit::Count), Unit::Count),
        (breakdown("H", "x", &bars, Unit::R), Unit::R),
    ] {
        let svg = svg.to_string();
        assert_drawn(&svg, "H", 1_000.0);
        assert_eq!(
            count(&svg, "<title>"),
            5,
            "the finite ones, {unit:?}: {svg}"
        );
    }
    for bars in [&[][..], &[Bar::new("nan", f64::NAN)][..]] {
        for svg in [
            histogram("E", "x", bars, Unit::Count),
            breakdown("E", "x", bars, Unit::Money),
        ] {
            let svg = svg.to_string();
            assert_drawn(&svg, "E", 640.0);
            assert!(svg.contains(">No data</text>"), "{svg}");
        }
    }
    let one = histogram("One", "x", &[Bar::new("only", 1e308)], Unit::Money).to_string();
    assert_drawn(&one, "One", 640.0);
    assert_eq!(count(&one, "<title>"), 1);
}

fn excursion(x: f64, y: f64, class: &'static str) -> Point {
    Point {
        x,
        y,
        class,
        title: format!("#1 <BTC>: MAE {x}, MFE {y}"),
    }
}

const AXES: Axes<'static> = Axes {
    x_name: "MAE (R)",
    x_unit: Unit::R,
    y_name: "MFE (R)",
    y_unit: Unit::R,
};

#[test]
fn a_scatter_titles_every_point_and_draws_zero_lines_only_across_zero() {
    let points = [
        excursion(-0.5, 2.0, "win"),
        excursion(-1.0, 0.2, "loss"),
        excursion(-0.1, 0.0, "breakeven"),
    ];
    let legend = [("win", "win"), ("loss", "loss")];
    let svg = scatter("MAE / MFE", AXES, &points, &legend).to_string();
    assert_drawn(&svg, "MAE / MFE", 640.0);
    assert_eq!(count(&svg, "<title>"), 3, "{svg}");
    assert!(
        svg.contains("<title>#1 &lt;BTC&gt;: MAE -0.5, MFE 2</title>"),
        "escaped: {svg}"
    );
    assert_eq!(
        count(&svg, "chart-dot win"),
        2,
        "a point and its swatch: {svg}"
    );
    assert!(
        svg.contains(">MAE (R)</text>") && svg.contains(">MFE (R)</text>"),
        "{svg}"
    );
    assert!(
        svg.contains(">-1R</text>") && svg.contains(">2R</text>"),
        "R ticks: {svg}"
    );
    assert!(
        !svg.contains("chart-zero"),
        "MAE ≤ 0 and MFE ≥ 0 meet at the corner: {svg}"
    );

    let crossing = [excursion(-1.0, -1.0, "loss"), excursion(1.0, 1.0, "win")];
    let svg = scatter("Both", AXES, &crossing, &[]).to_string();
    assert_eq!(count(&svg, "chart-zero"), 2, "{svg}");
}

#[test]
fn a_scatter_survives_hostile_values() {
    let mut points = Vec::new();
    for x in HOSTILE {
        for y in HOSTILE {
            points.push(excursion(x, y, "win"));
        }
    }
    let svg = scatter("H", AXES, &points, &[("win", "win")]).to_string();
    assert_drawn(&svg, "H", 640.0);
    assert_eq!(count(&svg, "<title>"), 25, "5 × 5 finite pairs: {svg}");
    for points in [&[][..], &[excursion(f64::NAN, 1.0, "win")][..]] {
        let svg = scatter("E", AXES, points, &[]).to_string();
        assert_drawn(&svg, "E", 640.0);
        assert!(svg.contains(">No data</text>"), "{svg}");
    }
    let one = scatter("One", AXES, &[excursion(0.0, 0.0, "breakeven")], &[]).to_string();
    assert_drawn(&one, "One", 640.0);
    assert_eq!(count(&one, "<title>"), 1);
}

fn calendar_day(date: NaiveDate, trades: i64, pnl: f64) -> CalendarDay {
    CalendarDay { date, trades, pnl }
}

#[test]
fn a_calendar_shades_each_day_by_its_pnl_with_weekdays_and_months_labelled() {
    let first = day(2026, 1, 28);
    let days: Vec<CalendarDay> = (0..40)
        .map(|i| {
            let date = first + chrono::Duration::days(i);
            match i {
                0 => calendar_day(date, 3, 400.0),
                1 => calendar_day(date, 1, 100.0),
                2 => calendar_day(date, 2, -400.0),
                3 => calendar_day(date, 1, 0.0),
                _ => calendar_day(date, 0, 0.0),
            }
        })
        .collect();
    let svg = calendar("Daily pnl", &days).to_string();
    assert_drawn(&svg, "Daily pnl", 760.0);
    assert_eq!(
        count(&svg, "<rect class=\"cal cal-"),
        40 + 9,
        "days and the legend: {svg}"
    );
    assert_eq!(count(&svg, "<title>"), 40 + 9);
    assert!(
        svg.contains("<title>2026-01-28: 3 trades, +400.00</title>"),
        "{svg}"
    );
    assert!(
        svg.contains("<title>2026-01-29: 1 trade, +100.00</title>"),
        "{svg}"
    );
    assert!(
        svg.contains("<title>2026-02-02: no closed trade</title>"),
        "{svg}"
    );
    let cell = |date: &str| {
        let at = svg.find(&format!("<title>{date}:")).unwrap();
        let rect = &svg[svg[..at].rfind("<rect").unwrap()..at];
        rect[rect.find("cal cal-").unwrap() + 4..rect.find("\" x=").unwrap()].to_owned()
    };
    assert_eq!(cell("2026-01-28"), "cal-up-4", "the largest day");
    assert_eq!(cell("2026-01-29"), "cal-up-1", "a quarter of it");
    assert_eq!(cell("2026-01-30"), "cal-down-4");
    assert_eq!(cell("2026-01-31"), "cal-flat", "traded, no pnl");
    assert_eq!(cell("2026-02-01"), "cal-none");
    assert!(
        svg.contains(">Feb</text>") && !svg.contains(">Jan"),
        "Feb 1 is in the band's first week: Jan would run into it: {svg}"
    );
    assert!(svg.contains(">Mar</text>"), "{svg}");
    assert!(svg.contains(">2026</text>"), "the band's year: {svg}");

    // From the middle of a month: that month, then each month's first week.
    let months = |from: NaiveDate, days: i64| {
        let days: Vec<CalendarDay> = (0..days)
            .map(|i| calendar_day(from + chrono::Duration::days(i), 0, 0.0))
            .collect();
        calendar("Months", &days).to_string()
    };
    let labels = months(day(2026, 8, 14), 110);
    for month in ["2026", "Aug", "Sep", "Oct", "Nov", "Dec"] {
        assert!(
            labels.contains(&format!(">{month}</text>")),
            "{month} in {labels}"
        );
    }
    // A new year within a band.
    let labels = months(day(2026, 11, 20), 90);
    for month in ["2026", "Dec", "Jan 2027"] {
        assert!(
            labels.contains(&format!(">{month}</text>")),
            "{month} in {labels}"
        );
    }
    assert!(
        svg.contains(">Mon</text>") && svg.contains(">Sun</text>"),
        "{svg}"
    );
    // Wednesday 2026-01-28 sits two rows below Monday, in the first column.
    let at = |date: &str, attr: &str| -> f64 {
        let t = svg.find(&format!("<title>{date}:")).unwrap();
        let rect = &svg[svg[..t].rfind("<rect").unwrap()..t];
        let v = &rect[rect.find(attr).unwrap() + attr.len()..];
        v[..v.find('"').unwrap()].parse().unwrap()
    };
    assert_eq!(at("2026-01-28", " y=\"") - at("2026-02-02", " y=\""), 26.0);
    assert_eq!(
        at("2026-02-02", " x=\"") - at("2026-02-01", " x=\""),
        13.0,
        "Monday starts a week"
    );
}

#[test]
fn a_calendar_survives_hostile_days() {
    let base = day(2026, 3, 1);
    let days: Vec<CalendarDay> = HOSTILE
        .iter()
        .enumerate()
        .map(|(i, p)| calendar_day(base + chrono::Duration::days(i as i64), 1, *p))
        .collect();
    let svg = calendar("H", &days).to_string();
    assert_drawn(&svg, "H", 760.0);
    assert_eq!(count(&svg, "<title>"), 8 + 9);
    assert!(
        svg.contains("<title>2026-03-01: 1 trade, —</title>"),
        "{svg}"
    );

    let svg = calendar("Empty", &[]).to_string();
    assert_drawn(&svg, "Empty", 760.0);
    assert!(svg.contains(">No data</text>"));

    // Dates at the ends of the calendar, far apart: only the latest ten years are drawn.
    let extremes = [
        calendar_day(NaiveDate::MIN, 1, 1.0),
        calendar_day(NaiveDate::MAX, 1, -1.0),
        calendar_day(NaiveDate::MAX, 2, 5.0),
    ];
    let svg = calendar("Far", &extremes).to_string();
    assert_drawn(&svg, "Far", 2_000.0);
    assert_eq!(count(&svg, "<title>"), 2 + 9, "{svg}");
    let one = calendar("One", &[calendar_day(base, 1, 2.0)]).to_string();
    assert_drawn(&one, "One", 760.0);
    assert!(one.contains("cal-up-4"), "{one}");
}

#[test]
fn ten_years_of_days_stack_ten_bands() {
    let first = day(2017, 1, 2);
    let days: Vec<CalendarDay> = (0..3_650)
        .map(|i| calendar_day(first + chrono::Duration::days(i), 1, (i % 7) as f64 - 3.0))
        .collect();
    let svg = calendar("Decade", &days).to_string();
    assert_drawn(&svg, "Decade", 1_300.0);
    assert_eq!(count(&svg, "<title>"), 3_650 + 9);
    assert_eq!(count(&svg, ">Mon</text>"), 10, "one band a year");
}

#[test]
fn a_daily_series_titles_its_points_with_the_date_alone() {
    let points = [
        (day(2026, 3, 1), 10_000.0),
        (day(2026, 3, 2), 9_800.0),
        (day(2026, 3, 3), f64::NAN),
    ];
    let svg = daily("Equity", &points, Unit::Money).to_string();
    assert_drawn(&svg, "Equity", 640.0);
    assert_eq!(count(&svg, "<title>"), 2, "{svg}");
    assert!(svg.contains("<title>2026-03-02: 9,800.00</title>"), "{svg}");
    let dd = [(day(2026, 3, 1), 0.0), (day(2026, 3, 2), -200.0)];
    let svg = daily_drawdown("Drawdown", &dd, Unit::Money).to_string();
    assert_eq!(count(&svg, "chart-area-down"), 1, "{svg}");
    assert!(svg.contains("<title>2026-03-02: -200.00</title>"), "{svg}");
    let one = daily("One", &[(day(2026, 3, 1), 1.0)], Unit::Money).to_string();
    assert!(one.contains(">2026-03-01</text>"), "{one}");
}
