//! Numbers and times as the pages show them. Everything here returns plain text; templates escape whatever they print.

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
    fn percentages_never_print_nan() {
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
