//! Round ticks for value and time axes.

use chrono::{DateTime, NaiveDateTime};

/// A value range mapped onto pixels: `lo` at `bottom`, `hi` at `top`. Works on halves so that
/// ranges spanning ±f64::MAX stay finite.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    pub lo: f64,
    pub hi: f64,
    pub from: f64,
    pub to: f64,
}

impl Scale {
    /// The pixel for `value`, clamped into `from..=to`, never NaN.
    pub fn at(&self, value: f64) -> f64 {
        let half_span = self.hi / 2.0 - self.lo / 2.0;
        let t = if half_span > 0.0 && half_span.is_finite() {
            (value / 2.0 - self.lo / 2.0) / half_span
        } else {
            0.5
        };
        let t = if t.is_finite() {
            t.clamp(0.0, 1.0)
        } else {
            0.5
        };
        self.from + (self.to - self.from) * t
    }
}

/// Round tick values (1, 2 or 5 × 10ⁿ apart) covering `min..=max`, about `count` of them, and
/// the range they span. All returned values are finite.
pub fn nice_ticks(min: f64, max: f64, count: usize) -> (Vec<f64>, f64, f64) {
    let (min, max) = if min.is_finite() && max.is_finite() && min <= max {
        (min, max)
    } else {
        (0.0, 1.0)
    };
    let (min, max) = if max > min {
        (min, max)
    } else if min == 0.0 {
        (0.0, 1.0)
    } else {
        let pad = min.abs() / 2.0;
        (min - pad, max + pad)
    };
    let half_span = max / 2.0 - min / 2.0;
    let raw = half_span / (count.max(2) as f64 / 2.0);
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    if !(step.is_finite() && step > 0.0) {
        return (vec![min, max], min, max);
    }
    let lo = (min / step).floor() * step;
    let hi = (max / step).ceil() * step;
    let (lo, hi) = (
        if lo.is_finite() { lo } else { min },
        if hi.is_finite() { hi } else { max },
    );
    let mut ticks = Vec::new();
    let mut i = 0.0;
    loop {
        let tick = lo + i * step;
        if !tick.is_finite() || tick > hi + step / 2.0 || ticks.len() > 20 {
            break;
        }
        // -0.0 and 1e-17 print as 0.
        ticks.push(if (tick / step).abs() < 1e-9 {
            0.0
        } else {
            tick
        });
        i += 1.0;
    }
    (ticks, lo, hi)
}

/// Round time ticks between `first` and `last` (epoch seconds), with their labels.
pub fn time_ticks(first: i64, last: i64) -> Vec<(i64, String)> {
    const HOUR: i64 = 3_600;
    const DAY: i64 = 24 * HOUR;
    let span = (last - first).max(1);
    let steps = [
        HOUR,
        3 * HOUR,
        6 * HOUR,
        12 * HOUR,
        DAY,
        2 * DAY,
        7 * DAY,
        14 * DAY,
        28 * DAY,
        91 * DAY,
        182 * DAY,
        364 * DAY,
    ];
    let step = steps
        .iter()
        .copied()
        .find(|s| span / s <= 6)
        .unwrap_or(span / 6 / DAY * DAY + DAY);
    let pattern = if step < DAY {
        "%m-%d %H:%M"
    } else {
        "%Y-%m-%d"
    };
    let mut at = first.div_euclid(step) * step;
    if at < first {
        at += step;
    }
    let mut ticks = Vec::new();
    while at <= last && ticks.len() < 12 {
        if let Some(t) = DateTime::from_timestamp(at, 0) {
            ticks.push((at, t.naive_utc().format(pattern).to_string()));
        }
        at += step;
    }
    ticks
}

/// Seconds since the epoch, as the time axis counts.
pub fn seconds(at: NaiveDateTime) -> i64 {
    at.and_utc().timestamp()
}
