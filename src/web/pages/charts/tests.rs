use chrono::{NaiveDate, NaiveDateTime};

use super::*;

fn at(day: u32, hour: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, day)
        .unwrap()
        .and_hms_opt(hour, 0, 0)
        .unwrap()
}

/// Every number in a coordinate attribute of `svg`, which must all parse and be finite.
fn coordinates(svg: &str) -> Vec<f64> {
    let mut found = Vec::new();
    for attr in [
        " x=\"",
        " y=\"",
        " x1=\"",
        " x2=\"",
        " y1=\"",
        " y2=\"",
        " cx=\"",
        " cy=\"",
        " points=\"",
    ] {
        for piece in svg.split(attr).skip(1) {
            let value = &piece[..piece.find('"').unwrap()];
            for n in value.split([' ', ',']).filter(|n| !n.is_empty()) {
                let n: f64 = n
                    .parse()
                    .unwrap_or_else(|_| panic!("{attr}{value} in {svg}"));
                assert!(n.is_finite(), "{attr}{value}");
                found.push(n);
            }
        }
    }
    found
}

fn count(svg: &str, needle: &str) -> usize {
    svg.matches(needle).count()
}

fn assert_frame(svg: &str, label: &str) {
    assert!(svg.starts_with("<svg "), "{svg}");
    assert!(svg.ends_with("</svg>"), "{svg}");
    assert!(svg.contains("viewBox=\"0 0 "), "{svg}");
    assert!(svg.contains("width=\"100%\""), "{svg}");
    assert!(svg.contains("role=\"img\""), "{svg}");
    assert!(
        svg.contains(&format!("aria-label=\"{label}\"")),
        "{label} in {svg}"
    );
    for n in coordinates(svg) {
        assert!((-1.0..=1000.0).contains(&n), "{n} in {svg}");
    }
}

#[test]
fn time_series_draws_a_titled_point_per_value_with_labelled_axes() {
    let points = [
        (at(1, 0), 10_000.0),
        (at(8, 0), 10_250.5),
        (at(15, 0), 9_900.0),
    ];
    let svg = time_series("Equity", &points, Unit::Money).to_string();
    assert_frame(&svg, "Equity");
    assert_eq!(count(&svg, "<circle"), 3, "{svg}");
    assert_eq!(count(&svg, "<title>"), 3, "{svg}");
    assert!(
        svg.contains("<title>2026-11-08 00:00: 10,250.50</title>"),
        "{svg}"
    );
    assert!(
        svg.contains(">10,000.00</text>"),
        "a round money tick: {svg}"
    );
    assert!(svg.contains(">2026-11-05</text>"), "a date tick: {svg}");
    assert!(
        !svg.contains("chart-zero"),
        "all positive, no zero line: {svg}"
    );
    assert!(!svg.contains("chart-area-down"), "{svg}");
}

#[test]
fn a_zero_line_shows_only_when_values_cross_zero() {
    let crossing = [(at(1, 0), -2.0), (at(2, 0), 3.0)];
    let svg = time_series("R", &crossing, Unit::R).to_string();
    assert_eq!(count(&svg, "chart-zero"), 1, "{svg}");
    assert!(
        svg.contains(">2R</text>") || svg.contains(">1R</text>"),
        "{svg}"
    );

    let dd = [(at(1, 0), 0.0), (at(2, 0), -150.0), (at(3, 0), -20.0)];
    let svg = drawdown("Drawdown", &dd, Unit::Money).to_string();
    assert_frame(&svg, "Drawdown");
    assert_eq!(count(&svg, "chart-zero"), 1, "{svg}");
    assert_eq!(count(&svg, "chart-area-down"), 1, "{svg}");
    assert_eq!(count(&svg, "<title>"), 3, "{svg}");

    let flat = [(at(1, 0), 0.0), (at(2, 0), 0.0)];
    let svg = drawdown("No drawdown", &flat, Unit::Money).to_string();
    assert!(!svg.contains("chart-zero"), "never below zero: {svg}");
}

#[test]
fn hostile_values_give_finite_coordinates_or_no_data() {
    let hostile = [
        (at(1, 0), f64::NAN),
        (at(1, 1), -f64::MAX),
        (at(1, 2), f64::INFINITY),
        (at(1, 3), f64::MAX),
        (at(1, 4), 1e308),
        (at(1, 5), f64::NEG_INFINITY),
        (at(1, 6), 10_000.0),
    ];
    for svg in [
        time_series("Hostile", &hostile, Unit::Money),
        drawdown("Hostile", &hostile, Unit::Money),
    ] {
        let svg = svg.to_string();
        assert_frame(&svg, "Hostile");
        assert_eq!(count(&svg, "<title>"), 4, "the finite ones: {svg}");
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
    }

    let one = time_series("One", &[(at(3, 12), 5.0)], Unit::Count).to_string();
    assert_frame(&one, "One");
    assert_eq!(count(&one, "<title>"), 1, "{one}");
    assert!(one.contains(">2026-11-03 12:00</text>"), "{one}");

    for points in [&[][..], &[(at(1, 0), f64::NAN)][..]] {
        let empty = time_series("Empty", points, Unit::Money).to_string();
        assert_frame(&empty, "Empty");
        assert!(empty.contains(">No data</text>"), "{empty}");
    }
}

#[test]
fn titles_are_escaped() {
    let svg = time_series("<b>&\"x'", &[(at(1, 0), 1.0)], Unit::Count).to_string();
    assert!(
        svg.contains("aria-label=\"&lt;b&gt;&amp;&quot;x&#39;\""),
        "{svg}"
    );
    assert!(!svg.contains("<b>"), "{svg}");
}

#[test]
fn askama_prints_an_svg_unescaped() {
    #[derive(askama::Template)]
    #[template(source = "<div>{{ chart }}</div>", ext = "html")]
    struct Page {
        chart: Svg,
    }
    let chart = time_series("A & B", &[(at(1, 0), 1.0)], Unit::Count);
    let html = askama::Template::render(&Page {
        chart: chart.clone(),
    })
    .unwrap();
    assert_eq!(html, format!("<div>{chart}</div>"));
}
