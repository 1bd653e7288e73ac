//! Market data as the rules see it: validated candles, timeframes, and the high/low range a
//! trade was exposed to between two ticks (DESIGN.md §3).

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

/// Market data that must never reach a trade.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MarketDataError {
    #[error("{what} is {value}, not a price between 1e-12 and 1e12")]
    BadPrice { what: &'static str, value: f64 },
    #[error("candle at {open_time} has high {high} below low {low}")]
    InvertedCandle {
        open_time: DateTime<Utc>,
        high: f64,
        low: f64,
    },
    #[error("candle at {open_time} has open or close outside its high/low")]
    OutsideRange { open_time: DateTime<Utc> },
    #[error("volume {0} is not a finite non-negative number")]
    BadVolume(f64),
    #[error("time {0} lies outside 1970-01-01..=9999-12-31")]
    BadTime(DateTime<Utc>),
}

/// The first market time taken as real: 1970-01-01, the Unix epoch the exchanges count from.
const FIRST_MARKET_TIME: i64 = 0;
/// The last: 9999-12-31 23:59:59, the last year a stored time can hold.
const LAST_MARKET_TIME: i64 = 253_402_300_799;

/// A market time that may be used: from 1970 to 9999, the years signaldesk stores and compares.
/// Beyond them the time arithmetic on a candle (its end, its day) overflows, and a far-future
/// candle would sit in every window.
pub fn valid_time(at: DateTime<Utc>) -> Result<DateTime<Utc>, MarketDataError> {
    if (FIRST_MARKET_TIME..=LAST_MARKET_TIME).contains(&at.timestamp()) {
        Ok(at)
    } else {
        Err(MarketDataError::BadTime(at))
    }
}

/// The lowest price taken as real: three orders of magnitude below the smallest tick any
/// exchange quotes (1e-9).
pub const MIN_PRICE: f64 = 1e-12;
/// The highest price taken as real: three orders of magnitude above bitcoin in the weakest
/// quote currency. Between the two, sizing and PnL arithmetic stays far from overflow; a
/// "price" of 1.7e308 that lasts would book an infinite loss (issue 10's hostile exchange).
pub const MAX_PRICE: f64 = 1e12;

/// A price that may be used: finite, and within [`MIN_PRICE`]..=[`MAX_PRICE`].
pub fn valid_price(what: &'static str, value: f64) -> Result<f64, MarketDataError> {
    if (MIN_PRICE..=MAX_PRICE).contains(&value) {
        Ok(value)
    } else {
        Err(MarketDataError::BadPrice { what, value })
    }
}

/// Candle intervals the feeds and the scanner use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Timeframe {
    #[serde(rename = "1m")]
    M1,
    #[serde(rename = "5m")]
    M5,
    #[serde(rename = "15m")]
    M15,
    #[serde(rename = "1h")]
    H1,
    #[serde(rename = "4h")]
    H4,
    #[serde(rename = "1d")]
    D1,
}

impl Timeframe {
    pub const ALL: [Timeframe; 6] = [
        Timeframe::M1,
        Timeframe::M5,
        Timeframe::M15,
        Timeframe::H1,
        Timeframe::H4,
        Timeframe::D1,
    ];

    /// `1m`, `5m`, …: Binance's interval names and the replay file suffix.
    pub fn as_str(self) -> &'static str {
        match self {
            Timeframe::M1 => "1m",
            Timeframe::M5 => "5m",
            Timeframe::M15 => "15m",
            Timeframe::H1 => "1h",
            Timeframe::H4 => "4h",
            Timeframe::D1 => "1d",
        }
    }

    /// Length of one candle in seconds.
    pub fn secs(self) -> i64 {
        match self {
            Timeframe::M1 => 60,
            Timeframe::M5 => 300,
            Timeframe::M15 => 900,
            Timeframe::H1 => 3_600,
            Timeframe::H4 => 14_400,
            Timeframe::D1 => 86_400,
        }
    }

    pub fn parse(s: &str) -> Option<Timeframe> {
        Timeframe::ALL.into_iter().find(|tf| tf.as_str() == s)
    }
}

/// One OHLCV candle; `Candle::new` guarantees a [`valid_time`], [`valid_price`]s and
/// low ≤ open, close ≤ high.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Candle {
    pub open_time: DateTime<Utc>,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
}

impl Candle {
    pub fn new(
        open_time: DateTime<Utc>,
        open: f64,
        high: f64,
        low: f64,
        close: f64,
        volume: f64,
    ) -> Result<Candle, MarketDataError> {
        let open_time = valid_time(open_time)?;
        let open = valid_price("open", open)?;
        let high = valid_price("high", high)?;
        let low = valid_price("low", low)?;
        let close = valid_price("close", close)?;
        if high < low {
            return Err(MarketDataError::InvertedCandle {
                open_time,
                high,
                low,
            });
        }
        if open > high || open < low || close > high || close < low {
            return Err(MarketDataError::OutsideRange { open_time });
        }
        if !(volume.is_finite() && volume >= 0.0) {
            return Err(MarketDataError::BadVolume(volume));
        }
        Ok(Candle {
            open_time,
            open,
            high,
            low,
            close,
            volume,
        })
    }
}

/// Group candles (sorted oldest first) into `timeframe` buckets aligned to UTC epoch multiples.
pub fn aggregate(candles: &[Candle], timeframe: Timeframe) -> Vec<Candle> {
    aggregate_secs(candles, timeframe.secs())
}

/// [`aggregate`] into buckets of `step` seconds (> 0), any multiple of a minute: first open,
/// highest high, lowest low, last close, summed volume.
pub fn aggregate_secs(candles: &[Candle], step: i64) -> Vec<Candle> {
    let mut out: Vec<Candle> = Vec::new();
    for candle in candles {
        let bucket = candle.open_time.timestamp().div_euclid(step) * step;
        match out.last_mut() {
            Some(last) if last.open_time.timestamp() == bucket => {
                last.high = last.high.max(candle.high);
                last.low = last.low.min(candle.low);
                last.close = candle.close;
                last.volume += candle.volume;
            }
            _ => out.push(Candle {
                open_time: DateTime::from_timestamp(bucket, 0).unwrap_or(candle.open_time),
                ..*candle
            }),
        }
    }
    out
}

/// The largest move taken as real between two polls of a symbol, and between a candle's body
/// and its wick; beyond it a price is a glitch (the original system's ±50 % guard).
pub const MAX_JUMP: f64 = 0.5;

/// Whether `price` lies more than [`MAX_JUMP`] away from `reference`.
pub fn jumps(price: f64, reference: f64) -> bool {
    (price / reference - 1.0).abs() > MAX_JUMP
}

/// What the glitch guard makes of a polled last price.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum JumpCheck {
    /// A price to follow trades with.
    Accepted,
    /// A jump beyond [`MAX_JUMP`] from `reference`, the last accepted price: held back until the
    /// next poll confirms it.
    Refused { reference: f64 },
}

/// The glitch guard on a symbol's last price. A price within [`MAX_JUMP`] of the last accepted
/// one (`accepted`) is accepted. A jump beyond it is refused once and becomes `pending`; the next
/// poll confirms it when it lies within [`MAX_JUMP`] of the pending price, so a move that lasts is
/// accepted on the next poll, a one-poll print never reaches a trade, and a return to the
/// accepted price after such a print is accepted at once. Without an accepted price yet (a new
/// symbol) the first price is accepted.
pub fn check_jump(price: f64, accepted: Option<f64>, pending: Option<f64>) -> JumpCheck {
    match accepted {
        Some(reference) if jumps(price, reference) => match pending {
            Some(pending) if !jumps(price, pending) => JumpCheck::Accepted,
            _ => JumpCheck::Refused { reference },
        },
        _ => JumpCheck::Accepted,
    }
}

impl Candle {
    /// The candle's high and low, with a wick more than [`MAX_JUMP`] beyond the candle's own body
    /// (its open and close) cut back to the body: judged against prices of its own minute, such a
    /// print is a glitch no order could have filled at. A real crash moves the body, which is kept.
    pub fn trusted_range(&self) -> (f64, f64) {
        let top = self.open.max(self.close);
        let bottom = self.open.min(self.close);
        let high = if jumps(self.high, top) {
            top
        } else {
            self.high
        };
        let low = if jumps(self.low, bottom) {
            bottom
        } else {
            self.low
        };
        (high, low)
    }

    /// Whether [`Candle::trusted_range`] cuts a wick of this candle.
    pub fn has_glitch_wick(&self) -> bool {
        self.trusted_range() != (self.high, self.low)
    }
}

/// The high and low a position saw since the previous tick: the 1-minute candles that overlap
/// `[since, now]`, ignoring any that began before `not_before` (the trade's open), together with
/// the last price — so a wick between two ticks is not missed (DESIGN.md §3). Each candle counts
/// with its [`Candle::trusted_range`].
pub fn range_since(
    minute_candles: &[Candle],
    last_price: f64,
    since: DateTime<Utc>,
    not_before: DateTime<Utc>,
) -> (f64, f64) {
    let minute = Duration::seconds(60);
    minute_candles
        .iter()
        .filter(|c| c.open_time + minute > since && c.open_time >= not_before)
        .fold((last_price, last_price), |(high, low), c| {
            let (c_high, c_low) = c.trusted_range();
            (high.max(c_high), low.min(c_low))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_764_000_000 + secs, 0).unwrap()
    }

    fn candle(secs: i64, high: f64, low: f64) -> Candle {
        Candle::new(t(secs), low, high, low, high, 1.0).unwrap()
    }

    #[test]
    fn candles_reject_bad_prices_and_inverted_ranges() {
        assert!(Candle::new(t(0), f64::NAN, 2.0, 1.0, 1.5, 1.0).is_err());
        assert!(Candle::new(t(0), 1.0, f64::INFINITY, 1.0, 1.5, 1.0).is_err());
        assert!(Candle::new(t(0), 1.0, 2.0, 0.0, 1.5, 1.0).is_err());
        assert!(Candle::new(t(0), -1.0, 2.0, 1.0, 1.5, 1.0).is_err());
        assert!(matches!(
            Candle::new(t(0), 1.5, 1.0, 2.0, 1.5, 1.0),
            Err(MarketDataError::InvertedCandle { .. })
        ));
        assert!(Candle::new(t(0), 3.0, 2.0, 1.0, 1.5, 1.0).is_err());
        assert!(Candle::new(t(0), 1.5, 2.0, 1.0, 1.5, -3.0).is_err());
        assert!(Candle::new(t(0), 1.5, 2.0, 1.0, 1.5, 0.0).is_ok());
    }

    #[test]
    fn a_wick_inside_the_interval_widens_the_range() {
        let candles = [candle(0, 101.0, 99.0), candle(60, 108.0, 100.0)];
        // Previous tick at +30s: both candles overlap it.
        assert_eq!(range_since(&candles, 102.0, t(30), t(0)), (108.0, 99.0));
    }

    #[test]
    fn candles_that_ended_before_the_previous_tick_are_ignored() {
        let candles = [candle(0, 150.0, 50.0), candle(60, 103.0, 101.0)];
        assert_eq!(range_since(&candles, 102.0, t(60), t(0)), (103.0, 101.0));
    }

    #[test]
    fn candles_that_began_before_the_trade_opened_are_ignored() {
        let candles = [candle(0, 150.0, 50.0), candle(60, 103.0, 101.0)];
        assert_eq!(range_since(&candles, 102.0, t(30), t(30)), (103.0, 101.0));
    }

    #[test]
    fn a_price_is_finite_and_within_the_plausible_range() {
        let cases = [
            (94_120.5, true, "bitcoin"),
            (1e-9, true, "the smallest memecoin tick"),
            (MIN_PRICE, true, "the lower bound"),
            (MAX_PRICE, true, "the upper bound"),
            (0.0, false, "zero"),
            (-1.0, false, "negative"),
            (f64::NAN, false, "NaN"),
            (f64::INFINITY, false, "infinite"),
            (5e-324, false, "the smallest double: sizing divides by it"),
            (1.7e308, false, "nearly the largest double: pnl overflows"),
        ];
        for (value, ok, reason) in cases {
            assert_eq!(valid_price("price", value).is_ok(), ok, "{reason}");
        }
    }

    #[test]
    fn a_candle_outside_the_storable_years_is_bad_data() {
        let far = DateTime::<Utc>::MAX_UTC;
        assert_eq!(
            Candle::new(far, 1.0, 1.0, 1.0, 1.0, 1.0),
            Err(MarketDataError::BadTime(far))
        );
        let before_1970 = t(0) - Duration::days(365 * 60);
        assert!(Candle::new(before_1970, 1.0, 1.0, 1.0, 1.0, 1.0).is_err());
        assert!(Candle::new(t(0), 1.0, 1.0, 1.0, 1.0, 1.0).is_ok());
    }

    #[test]
    fn a_crash_inside_one_candle_is_kept_whole() {
        // The body itself fell from 50 000 to 20 000: a real move, whatever its size.
        let crash = Candle::new(t(0), 50_000.0, 50_000.0, 19_900.0, 20_000.0, 1.0).unwrap();
        assert_eq!(crash.trusted_range(), (50_000.0, 19_900.0));
        assert!(!crash.has_glitch_wick());
        assert_eq!(
            range_since(&[crash], 20_000.0, t(0), t(0)),
            (50_000.0, 19_900.0)
        );
    }

    #[test]
    fn a_wick_far_beyond_its_own_body_is_cut_back_to_the_body() {
        let spike = Candle::new(t(0), 100.0, 400.0, 99.0, 101.0, 1.0).unwrap();
        assert_eq!(spike.trusted_range(), (101.0, 99.0));
        let dip = Candle::new(t(0), 100.0, 101.0, 0.01, 100.5, 1.0).unwrap();
        assert_eq!(dip.trusted_range(), (101.0, 100.0));
        assert!(spike.has_glitch_wick() && dip.has_glitch_wick());
        // A long but believable wick stays.
        let wick = Candle::new(t(0), 100.0, 140.0, 70.0, 100.0, 1.0).unwrap();
        assert_eq!(wick.trusted_range(), (140.0, 70.0));
        assert_eq!(range_since(&[spike], 100.0, t(0), t(0)), (101.0, 99.0));
    }

    #[test]
    fn the_guard_refuses_a_jump_once_and_accepts_it_when_the_next_poll_confirms_it() {
        let cases = [
            (100.0, None, None, true, "the first price of a symbol"),
            (140.0, Some(100.0), None, true, "a move within half"),
            (40.0, Some(100.0), None, false, "a crash on its first poll"),
            (41.0, Some(100.0), Some(40.0), true, "the crash confirmed"),
            (
                100.0,
                Some(100.0),
                Some(10.0),
                true,
                "back after a one-poll print",
            ),
            (
                1_000.0,
                Some(100.0),
                Some(10.0),
                false,
                "another, unconfirmed print",
            ),
        ];
        for (price, accepted, pending, ok, reason) in cases {
            let verdict = check_jump(price, accepted, pending);
            assert_eq!(verdict == JumpCheck::Accepted, ok, "{reason}: {verdict:?}");
        }
    }

    #[test]
    fn without_candles_the_range_is_the_last_price() {
        assert_eq!(range_since(&[], 102.0, t(0), t(0)), (102.0, 102.0));
    }

    #[test]
    fn aggregation_buckets_on_epoch_multiples() {
        let minutes: Vec<Candle> = (0..10)
            .map(|i| {
                let base = 100.0 + i as f64;
                Candle::new(
                    DateTime::from_timestamp(1_764_000_000 + i * 60, 0).unwrap(),
                    base,
                    base + 1.0,
                    base - 1.0,
                    base + 0.5,
                    2.0,
                )
                .unwrap()
            })
            .collect();
        let five = aggregate(&minutes, Timeframe::M5);
        assert_eq!(five.len(), 2);
        assert_eq!(five[0].open_time.timestamp() % 300, 0);
        assert_eq!(
            (five[0].open, five[0].high, five[0].low),
            (100.0, 105.0, 99.0)
        );
        assert_eq!(five[0].close, 104.5);
        assert_eq!(five[0].volume, 10.0);
        assert_eq!(five[1].low, 104.0);
    }
}
