//! How a price reads wherever a person reads it: the pages, the backtest report and the log.
//! One function, so a coin at 0.0024 never shows as "0.0024 → 0.0024" for a trade that moved
//! 4 % in one place while another shows its digits (issue 10). Machine output (JSON, CSV) keeps
//! the full `f64` instead.

/// Significant digits a price below 1 000 keeps.
const SIGNIFICANT_DIGITS: i32 = 6;
/// Decimals never dropped below (`3.00`), nor grown past (far below any traded price).
const MIN_DECIMALS: i32 = 2;
const MAX_DECIMALS: i32 = 16;

/// A price with at least six significant digits, never in scientific notation, trailing zeros
/// trimmed down to two decimals: `94120.46`, `2.18345`, `0.002496`, `0.00000001`. From 1 000 up
/// prices carry their usual two decimals (still six digits or more). Not finite: `—`.
pub fn price(value: f64) -> String {
    if !value.is_finite() {
        return "—".to_owned();
    }
    let magnitude = value.abs();
    let decimals = if magnitude >= 1_000.0 || magnitude == 0.0 {
        MIN_DECIMALS
    } else {
        // 0.0024 has its first digit at 10^-3: 6 significant digits need 8 decimals.
        let exponent = magnitude.log10().floor() as i32;
        (SIGNIFICANT_DIGITS - 1 - exponent).clamp(MIN_DECIMALS, MAX_DECIMALS)
    };
    let mut text = format!("{value:.prec$}", prec = decimals as usize);
    let keep = text.len() - (decimals - MIN_DECIMALS) as usize;
    while text.len() > keep && text.ends_with('0') {
        text.pop();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_read_as_a_trader_expects() {
        let cases = [
            (
                94_120.456,
                "94120.46",
                "large prices keep their usual two decimals",
            ),
            (1_000.0, "1000.00", "the two decimals stay when zero"),
            (999.999_96, "1000.00", "rounding up to 1 000"),
            (2.18345, "2.18345", "six significant digits"),
            (3.0, "3.00", "at least two decimals"),
            (100.05, "100.05", "trailing zeros trimmed"),
            (0.123_456_7, "0.123457", "rounded to six digits"),
            (0.0024, "0.0024", "a small coin"),
            (0.002_496, "0.002496", "a 4 % move of it still shows"),
            (0.000_024, "0.000024", "smaller still"),
            (0.000_024_96, "0.00002496", "and its 4 % move"),
            (1e-8, "0.00000001", "one satoshi, not 1e-8"),
            (
                1.234_567_89e-8,
                "0.0000000123457",
                "digits of a satoshi price",
            ),
            (0.0, "0.00", "zero"),
            (-2.5, "-2.50", "the sign"),
            (f64::NAN, "—", "not a number"),
            (f64::INFINITY, "—", "infinite"),
        ];
        for (value, expected, reason) in cases {
            assert_eq!(price(value), expected, "{reason}");
        }
    }

    #[test]
    fn every_price_from_1e_minus_8_to_1e6_keeps_six_digits_without_an_exponent() {
        let mantissas = [1.0, 1.000_001, 1.234_567, 2.496, 5.0, 9.999_99, 9.999_999_9];
        for exponent in -8..=6 {
            for mantissa in mantissas {
                let value = mantissa * 10f64.powi(exponent);
                let text = price(value);
                assert!(
                    text.chars().all(|c| c.is_ascii_digit() || c == '.'),
                    "{value:e} → {text}"
                );
                let decimals = text.split('.').nth(1).map_or(0, str::len);
                assert!(decimals >= 2, "{value:e} → {text}: two decimals at least");
                let back: f64 = text.parse().unwrap();
                let error = (back - value).abs() / value;
                assert!(error <= 5e-6, "{value:e} → {text}: off by {error:e}");
            }
        }
    }

    #[test]
    fn a_4_percent_move_always_shows() {
        for exponent in -8..=6 {
            let entry = 2.4 * 10f64.powi(exponent);
            assert_ne!(price(entry), price(entry * 1.04), "at {entry:e}");
            assert_ne!(price(entry), price(entry * 1.0001), "0.01 % at {entry:e}");
        }
    }
}
