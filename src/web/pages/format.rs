//! Numbers, times and charts as the pages show them. Everything here returns plain text or SVG
//! coordinates; templates escape whatever they print.

use chrono::NaiveDateTime;

/// `12,345.67`: money with thousands separators and two decimals.
pub fn money(value: f64) -> String {
    let negative = value < 0.0;
    let cents = (value.abs() * 100.0).round() as u128;
    let (whole, frac) = (cents / 100, cents % 100);
    let digits = whole.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{}{grouped}.{frac:02}", if negative { "-" } else { "" })
}

/// Money with an explicit sign: `+12.50`, `-3.00`.
pub fn signed_money(value: f64) -> String {
    if value > 0.0 {
        format!("+{}", money(value))
    } else {
        money(value)
    }
}

/// A price as every human-facing output prints it (DESIGN.md §13, issue 10).
pub use crate::domain::format::price;

/// `value` with at most `max_decimals` decimals, trailing zeros (and a bare point) trimmed:
/// `6`, `0.5`, `1.25`; `—` when not finite.
pub fn number(value: f64, max_decimals: usize) -> String {
    if !value.is_finite() {
        return "—".to_owned();
    }
    let mut text = format!("{value:.max_decimals$}");
    if text.contains('.') {
        while text.ends_with('0') {
            text.pop();
        }
        if text.ends_with('.') {
            text.pop();
        }
    }
    if text == "-0" {
        text.remove(0);
    }
    text
}

/// A quantity of coins, to a hundred-millionth: `6`, `0.125`, `0.00000001`.
pub fn quantity(value: f64) -> String {
    number(value, 8)
}

/// A fraction as a percentage: `0.3` → `30%`, `1/3` → `33.33%`.
pub fn share(fraction: f64) -> String {
    format!("{}%", number(fraction * 100.0, 2))
}

/// `+4.00%`; `—` when not finite (a zero price divides into infinity).
pub fn percent(value: f64) -> String {
    if value.is_finite() {
        format!("{value:+.2}%")
    } else {
        "—".to_owned()
    }
}

/// `4.00%` without a sign: a distance; `—` when not finite.
pub fn distance(value: f64) -> String {
    if value.is_finite() {
        format!("{value:.2}%")
    } else {
        "—".to_owned()
    }
}

/// `up`, `down` or `flat`: the CSS class of a signed figure.
pub fn tone(value: f64) -> &'static str {
    if value > 0.0 {
        "up"
    } else if value < 0.0 {
        "down"
    } else {
        "flat"
    }
}

pub fn time(at: NaiveDateTime) -> String {
    at.format("%H:%M:%S").to_string()
}

pub fn date_time(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M").to_string()
}

/// To the second: the exits and stop moves of one trade are often minutes apart.
pub fn date_time_secs(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

pub fn duration(secs: i64) -> String {
    let (h, m) = (secs / 3_600, secs % 3_600 / 60);
    if h > 0 {
        format!("{h}h {m:02}m")
    } else {
        format!("{m}m {:02}s", secs % 60)
    }
}

/// A line chart in a `width` × `height` box: the `points` attribute of an SVG polyline, and the
/// value range it spans. X is spread by index order (time order of the input).
pub struct LineChart {
    pub points: String,
    pub min: f64,
    pub max: f64,
    pub width: f64,
    pub height: f64,
}

impl LineChart {
    /// Points whose value is not finite are left out, so no coordinate is ever NaN.
    pub fn new(values: &[(NaiveDateTime, f64)], width: f64, height: f64) -> Option<LineChart> {
        let values: Vec<(NaiveDateTime, f64)> = values
            .iter()
            .copied()
            .filter(|(_, v)| v.is_finite())
            .collect();
        let (first, last) = (values.first()?.0, values.last()?.0);
        let min = values.iter().map(|v| v.1).fold(f64::INFINITY, f64::min);
        let max = values.iter().map(|v| v.1).fold(f64::NEG_INFINITY, f64::max);
        // Halved so that even balances of ±f64::MAX span a finite range.
        let half_span_y = if max > min {
            max / 2.0 - min / 2.0
        } else {
            1.0
        };
        let span_x = (last - first).num_seconds().max(1) as f64;
        let points = values
            .iter()
            .map(|(t, v)| {
                let x = if values.len() == 1 {
                    width / 2.0
                } else {
                    (*t - first).num_seconds() as f64 / span_x * width
                };
                let y = height - (v / 2.0 - min / 2.0) / half_span_y * (height - 8.0) - 4.0;
                format!("{x:.1},{y:.1}")
            })
            .collect::<Vec<_>>()
            .join(" ");
        Some(LineChart {
            points,
            min,
            max,
            width,
            height,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_groups_thousands_and_keeps_the_sign() {
        assert_eq!(money(1_234_567.891), "1,234,567.89");
        assert_eq!(money(-0.5), "-0.50");
        assert_eq!(money(999.999), "1,000.00");
        assert_eq!(signed_money(12.5), "+12.50");
        assert_eq!(signed_money(-3.0), "-3.00");
    }

    #[test]
    fn charts_and_percentages_never_print_nan() {
        let t = |h| {
            chrono::NaiveDate::from_ymd_opt(2026, 11, 25)
                .unwrap()
                .and_hms_opt(h, 0, 0)
                .unwrap()
        };
        let values = [
            (t(1), f64::NAN),
            (t(2), -f64::MAX),
            (t(3), f64::INFINITY),
            (t(4), f64::MAX),
            (t(5), 10_000.0),
        ];
        let chart = LineChart::new(&values, 600.0, 160.0).unwrap();
        for pair in chart.points.split(' ') {
            for n in pair.split(',') {
                let n: f64 = n.parse().unwrap();
                assert!(
                    n.is_finite() && (0.0..=600.0).contains(&n),
                    "{}",
                    chart.points
                );
            }
        }
        assert!(LineChart::new(&[(t(1), f64::NAN)], 600.0, 160.0).is_none());
        assert_eq!(percent(f64::INFINITY), "—");
        assert_eq!(distance(f64::NAN), "—");
        assert_eq!(percent(4.0), "+4.00%");
    }

    #[test]
    fn quantities_and_shares_drop_trailing_zeros() {
        let cases = [
            (quantity(6.0), "6", "a whole quantity"),
            (
                quantity(14.000_000_000_1),
                "14",
                "below a hundred-millionth",
            ),
            (quantity(0.125), "0.125", "a fraction of a coin"),
            (quantity(1e-8), "0.00000001", "one satoshi, not 1e-8"),
            (quantity(-0.000_000_001), "0", "no negative zero"),
            (quantity(f64::NAN), "—", "not a number"),
            (share(0.3), "30%", "a round share"),
            (share(1.0 / 3.0), "33.33%", "two decimals at most"),
            (number(2.5, 2), "2.5", "a percent setting"),
            (number(f64::INFINITY, 2), "—", "infinite"),
        ];
        for (got, want, reason) in cases {
            assert_eq!(got, want, "{reason}");
        }
    }

    #[test]
    fn durations_read_as_hours_or_minutes() {
        assert_eq!(duration(5_400), "1h 30m");
        assert_eq!(duration(75), "1m 15s");
    }
}
