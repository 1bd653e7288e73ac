//! The analytics of closed trades (DESIGN.md §11), as pure arithmetic: what one closed trade
//! contributes to each breakdown (its [`Dimension`] buckets), the [`Rollup`] those contributions
//! add up to — a monoid, so a day's rollup is built one close at a time, days merge into a range
//! and a recomputation from the raw rows in any grouping gives the same figures — and the
//! figures of a range (summary, breakdown rows, daily equity, drawdown, Sharpe and Sortino).
//!
//! The database keeps one [`Rollup`] per (day, dimension, bucket) (`db::analytics`); nothing here
//! does IO.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use serde::Serialize;

use super::{Direction, ExitReason, Outcome};

/// A breakdown of the closed trades. `All` is the one bucket every trade is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    All,
    Strategy,
    Symbol,
    Direction,
    ExitReason,
    Tag,
    /// Weekday of the entry, UTC.
    Weekday,
    /// Hour of the entry, UTC.
    Hour,
    Timeframe,
    /// Confidence in 0.1-wide buckets.
    Confidence,
    /// R-multiple in 0.5 R bins (the histogram).
    RBin,
    /// Hold time in [`HOLD_BINS`] (the histogram).
    Hold,
    /// R-multiple in fine bins, 1/128 R wide ([`r_fine`]), stored per 0.5 R bin
    /// ([`Dimension::column`]): where the exact median R is.
    RFine,
}

impl Dimension {
    pub const ALL: [Dimension; 13] = [
        Dimension::All,
        Dimension::Strategy,
        Dimension::Symbol,
        Dimension::Direction,
        Dimension::ExitReason,
        Dimension::Tag,
        Dimension::Weekday,
        Dimension::Hour,
        Dimension::Timeframe,
        Dimension::Confidence,
        Dimension::RBin,
        Dimension::Hold,
        Dimension::RFine,
    ];

    /// The name stored in `analytics_rollups.dimension` and used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::All => "all",
            Dimension::Strategy => "strategy",
            Dimension::Symbol => "symbol",
            Dimension::Direction => "direction",
            Dimension::ExitReason => "exit_reason",
            Dimension::Tag => "tag",
            Dimension::Weekday => "weekday",
            Dimension::Hour => "hour",
            Dimension::Timeframe => "timeframe",
            Dimension::Confidence => "confidence",
            Dimension::RBin => "r_bin",
            Dimension::Hold => "hold",
            Dimension::RFine => "r_fine",
        }
    }

    pub fn parse(text: &str) -> Option<Dimension> {
        Dimension::ALL.into_iter().find(|d| d.as_str() == text)
    }

    /// The `analytics_rollups.dimension` of a bucket: the name, but for a fine R bin the name
    /// and its 0.5 R bin (`r_fine/-3`), so the fine bins of one histogram bin are read alone.
    pub fn column(self, bucket: &str) -> std::borrow::Cow<'static, str> {
        match (self, bucket.parse::<i64>()) {
            (Dimension::RFine, Ok(fine)) => {
                format!("{}/{}", self.as_str(), r_fine_coarse(fine)).into()
            }
            _ => self.as_str().into(),
        }
    }

    /// The dimension of a stored `dimension` column and bucket; `None` when the column is not
    /// the one [`Dimension::column`] gives it.
    pub fn of_column(column: &str, bucket: &str) -> Option<Dimension> {
        let name = column.split('/').next()?;
        let dimension = Dimension::parse(name)?;
        (dimension.column(bucket) == column).then_some(dimension)
    }
}

/// One closed trade as the analytics see it: its journal entry and the signal's strategy,
/// timeframe and confidence.
#[derive(Debug, Clone, PartialEq)]
pub struct ClosedTrade {
    /// The journal entry's id: trades of one day follow each other in this order (the order
    /// they were booked), which the streaks count in.
    pub journal_id: i32,
    pub signal_id: i32,
    pub symbol: String,
    pub direction: Direction,
    pub strategy: String,
    pub timeframe: Option<String>,
    pub confidence: f64,
    pub exit_reason: ExitReason,
    pub outcome: Outcome,
    pub pnl: f64,
    pub r_multiple: f64,
    pub opened_at: NaiveDateTime,
    pub closed_at: NaiveDateTime,
    pub duration_secs: i64,
    /// Comma-separated, as the journal stores them.
    pub tags: String,
}

/// Upper edges (exclusive) of the hold-time histogram's bins, seconds, with their labels; the
/// last bin has no upper edge.
pub const HOLD_BINS: [(Option<i64>, &str); 9] = [
    (Some(5 * 60), "<5m"),
    (Some(15 * 60), "5–15m"),
    (Some(3_600), "15m–1h"),
    (Some(4 * 3_600), "1–4h"),
    (Some(12 * 3_600), "4–12h"),
    (Some(86_400), "12–24h"),
    (Some(3 * 86_400), "1–3d"),
    (Some(7 * 86_400), "3–7d"),
    (None, "≥7d"),
];

/// The R histogram's bins are 0.5 R wide, `[i/2, (i+1)/2)`; bins below [`R_BIN_MIN`] and from
/// [`R_BIN_MAX`] up are folded into those two (open-ended) bins.
pub const R_BIN_MIN: i64 = -20;
pub const R_BIN_MAX: i64 = 19;

/// The R bin of `r`.
pub fn r_bin(r: f64) -> i64 {
    let bin = (r * 2.0).floor();
    if bin.is_nan() {
        0
    } else {
        // `as` saturates; the clamp folds the tails.
        (bin as i64).clamp(R_BIN_MIN, R_BIN_MAX)
    }
}

/// The R range `[low, high)` of bin `bin`; `None` for an open end.
pub fn r_bin_range(bin: i64) -> (Option<f64>, Option<f64>) {
    let low = (bin > R_BIN_MIN).then_some(bin as f64 / 2.0);
    let high = (bin < R_BIN_MAX).then_some((bin + 1) as f64 / 2.0);
    (low, high)
}

/// The fine R bins are 1/128 R wide, `[i/128, (i+1)/128)` (exact in binary, so the bin of `r`
/// and the SQL range of a bin agree), 64 to a histogram bin; tails folded as the histogram's are.
pub const R_FINE_PER_R: i64 = 128;
const R_FINE_MIN: i64 = R_BIN_MIN * R_FINE_PER_R / 2;
const R_FINE_MAX: i64 = (R_BIN_MAX + 1) * R_FINE_PER_R / 2 - 1;

/// The fine R bin of `r`.
pub fn r_fine(r: f64) -> i64 {
    let bin = (r * R_FINE_PER_R as f64).floor();
    if bin.is_nan() {
        0
    } else {
        (bin as i64).clamp(R_FINE_MIN, R_FINE_MAX)
    }
}

/// The histogram (0.5 R) bin that holds fine bin `fine`.
pub fn r_fine_coarse(fine: i64) -> i64 {
    fine.clamp(R_FINE_MIN, R_FINE_MAX)
        .div_euclid(R_FINE_PER_R / 2)
}

/// The R range `[low, high)` of fine bin `bin`; `None` for an open end.
pub fn r_fine_range(bin: i64) -> (Option<f64>, Option<f64>) {
    let per = R_FINE_PER_R as f64;
    let low = (bin > R_FINE_MIN).then_some(bin as f64 / per);
    let high = (bin < R_FINE_MAX).then_some((bin + 1) as f64 / per);
    (low, high)
}

/// The hold-time bin (index into [`HOLD_BINS`]) of a trade held `secs` seconds.
pub fn hold_bin(secs: i64) -> usize {
    HOLD_BINS
        .iter()
        .position(|(upper, _)| upper.is_none_or(|upper| secs < upper))
        .unwrap_or(HOLD_BINS.len() - 1)
}

/// The confidence bucket of `confidence`: its lower edge in tenths, 0–9 (1.0 joins 0.9), the
/// largest k with k/10 ≤ confidence. Compared with the edges themselves: `floor(c × 10)` rounds
/// 0.8999999999999999 (0.3 × 3, below 0.9) up into 0.9–1.0.
pub fn confidence_bucket(confidence: f64) -> i64 {
    // NaN is above no edge.
    (1..=9)
        .rev()
        .find(|&k| confidence >= k as f64 / 10.0)
        .unwrap_or(0)
}

pub const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// The buckets of a trade in one dimension, as stored: zero (a trade without tags has no tag),
/// one, or one per tag.
pub fn buckets(trade: &ClosedTrade, dimension: Dimension) -> Vec<String> {
    match dimension {
        Dimension::All => vec![String::new()],
        Dimension::Strategy => vec![trade.strategy.clone()],
        Dimension::Symbol => vec![trade.symbol.clone()],
        Dimension::Direction => vec![trade.direction.as_str().to_owned()],
        Dimension::ExitReason => vec![trade.exit_reason.as_str().to_owned()],
        Dimension::Tag => tags_of(&trade.tags).map(str::to_owned).collect(),
        // Monday = 0, so the stored keys sort in the week's order.
        Dimension::Weekday => vec![trade.opened_at.weekday().num_days_from_monday().to_string()],
        Dimension::Hour => vec![format!("{:02}", trade.opened_at.hour())],
        Dimension::Timeframe => vec![trade.timeframe.clone().unwrap_or_default()],
        Dimension::Confidence => vec![confidence_bucket(trade.confidence).to_string()],
        Dimension::RBin => vec![r_bin(trade.r_multiple).to_string()],
        Dimension::Hold => vec![hold_bin(trade.duration_secs).to_string()],
        Dimension::RFine => vec![r_fine(trade.r_multiple).to_string()],
    }
}

/// The tags of a journal entry's `tags` column.
pub fn tags_of(tags: &str) -> impl Iterator<Item = &str> {
    tags.split(',').map(str::trim).filter(|t| !t.is_empty())
}

/// A bucket as a reader sees it: weekday names, confidence and R ranges, hold-time labels.
pub fn bucket_label(dimension: Dimension, bucket: &str) -> String {
    let number = bucket.parse::<i64>().ok();
    match (dimension, number) {
        (Dimension::Weekday, Some(day)) => usize::try_from(day)
            .ok()
            .and_then(|d| WEEKDAYS.get(d))
            .map_or_else(|| bucket.to_owned(), |d| (*d).to_owned()),
        (Dimension::Hour, _) => format!("{bucket}:00"),
        (Dimension::Confidence, Some(tenth)) => {
            format!(
                "{:.1}–{:.1}",
                tenth as f64 / 10.0,
                (tenth + 1) as f64 / 10.0
            )
        }
        (Dimension::RBin, Some(bin)) => match r_bin_range(bin) {
            (None, Some(high)) => format!("<{high:+.1}R"),
            (Some(low), None) => format!("≥{low:+.1}R"),
            (Some(low), Some(high)) => format!("{low:+.1}R to {high:+.1}R"),
            (None, None) => "all".to_owned(),
        },
        (Dimension::Hold, Some(bin)) => usize::try_from(bin)
            .ok()
            .and_then(|b| HOLD_BINS.get(b))
            .map_or_else(|| bucket.to_owned(), |(_, label)| (*label).to_owned()),
        (Dimension::Timeframe, _) if bucket.is_empty() => "none".to_owned(),
        _ => bucket.to_owned(),
    }
}

/// The sums of a run of closed trades, in the order they were booked. Additive figures add up;
/// the streak fields (the leading, trailing and longest run of wins and of losses) merge as
/// runs do, so `a.then(b)` is the rollup of `a`'s trades followed by `b`'s.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Rollup {
    pub trades: i64,
    pub wins: i64,
    pub losses: i64,
    pub pnl: f64,
    /// Σ pnl of the WIN trades.
    pub win_pnl: f64,
    /// Σ pnl of the LOSS trades (negative or zero).
    pub loss_pnl: f64,
    pub r_sum: f64,
    pub hold_secs: i64,
    pub win_first: i64,
    pub win_last: i64,
    pub win_max: i64,
    pub loss_first: i64,
    pub loss_last: i64,
    pub loss_max: i64,
    /// The lowest and the highest R of the trades (0 without trades).
    pub r_min: f64,
    pub r_max: f64,
}

/// Leading, trailing and longest run of one outcome.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Runs {
    pub first: i64,
    pub last: i64,
    pub max: i64,
}

impl Runs {
    /// The runs of `a` followed by `b`, `a` having `a_len` trades and `b` `b_len`.
    pub fn then(self, a_len: i64, b: Runs, b_len: i64) -> Runs {
        Runs {
            first: if self.first == a_len {
                a_len + b.first
            } else {
                self.first
            },
            last: if b.last == b_len {
                self.last + b_len
            } else {
                b.last
            },
            max: self.max.max(b.max).max(self.last + b.first),
        }
    }
}

impl Rollup {
    /// One trade.
    pub fn of(trade: &ClosedTrade) -> Rollup {
        let win = i64::from(trade.outcome == Outcome::Win);
        let loss = i64::from(trade.outcome == Outcome::Loss);
        Rollup {
            trades: 1,
            wins: win,
            losses: loss,
            pnl: trade.pnl,
            win_pnl: if win == 1 { trade.pnl } else { 0.0 },
            loss_pnl: if loss == 1 { trade.pnl } else { 0.0 },
            r_sum: trade.r_multiple,
            hold_secs: trade.duration_secs,
            win_first: win,
            win_last: win,
            win_max: win,
            loss_first: loss,
            loss_last: loss,
            loss_max: loss,
            r_min: trade.r_multiple,
            r_max: trade.r_multiple,
        }
    }

    pub fn win_runs(&self) -> Runs {
        Runs {
            first: self.win_first,
            last: self.win_last,
            max: self.win_max,
        }
    }

    pub fn loss_runs(&self) -> Runs {
        Runs {
            first: self.loss_first,
            last: self.loss_last,
            max: self.loss_max,
        }
    }

    /// `self`'s trades followed by `next`'s.
    pub fn then(&self, next: &Rollup) -> Rollup {
        let wins = self
            .win_runs()
            .then(self.trades, next.win_runs(), next.trades);
        let losses = self
            .loss_runs()
            .then(self.trades, next.loss_runs(), next.trades);
        Rollup {
            trades: self.trades + next.trades,
            wins: self.wins + next.wins,
            losses: self.losses + next.losses,
            pnl: self.pnl + next.pnl,
            win_pnl: self.win_pnl + next.win_pnl,
            loss_pnl: self.loss_pnl + next.loss_pnl,
            r_sum: self.r_sum + next.r_sum,
            hold_secs: self.hold_secs + next.hold_secs,
            win_first: wins.first,
            win_last: wins.last,
            win_max: wins.max,
            loss_first: losses.first,
            loss_last: losses.last,
            loss_max: losses.max,
            r_min: match (self.trades, next.trades) {
                (0, _) => next.r_min,
                (_, 0) => self.r_min,
                _ => self.r_min.min(next.r_min),
            },
            r_max: match (self.trades, next.trades) {
                (0, _) => next.r_max,
                (_, 0) => self.r_max,
                _ => self.r_max.max(next.r_max),
            },
        }
    }

    /// `self` and `next` added up without their order: the additive sums and the R range, the
    /// streak fields 0 (a month's rollup; streaks are read from the days).
    pub fn plus(&self, next: &Rollup) -> Rollup {
        Rollup {
            win_first: 0,
            win_last: 0,
            win_max: 0,
            loss_first: 0,
            loss_last: 0,
            loss_max: 0,
            ..self.then(next)
        }
    }

    /// Whether two rollups agree: counts exactly, money and R within 1e-9 relative (sums of the
    /// same numbers in another order may differ in the last bits).
    pub fn agrees_with(&self, other: &Rollup) -> bool {
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0);
        self.trades == other.trades
            && self.wins == other.wins
            && self.losses == other.losses
            && self.hold_secs == other.hold_secs
            && close(self.pnl, other.pnl)
            && close(self.win_pnl, other.win_pnl)
            && close(self.loss_pnl, other.loss_pnl)
            && close(self.r_sum, other.r_sum)
            && self.win_runs() == other.win_runs()
            && self.loss_runs() == other.loss_runs()
            && self.r_min == other.r_min
            && self.r_max == other.r_max
    }
}

fn ratio(num: f64, den: f64) -> Option<f64> {
    (den != 0.0).then(|| num / den)
}

/// The figures every breakdown row and the summary share.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    pub trades: i64,
    pub wins: i64,
    pub losses: i64,
    pub breakevens: i64,
    /// wins ÷ (wins + losses), percent; `None` without a decided trade.
    pub win_rate: Option<f64>,
    pub total_pnl: f64,
    /// Σ pnl ÷ trades: the expectancy in quote currency.
    pub expectancy: Option<f64>,
    /// Σ R ÷ trades: the expectancy in R, which is also the average R.
    pub expectancy_r: Option<f64>,
    pub average_r: Option<f64>,
    /// Σ pnl of wins ÷ |Σ pnl of losses|; `None` without a loss.
    pub profit_factor: Option<f64>,
    pub gross_profit: f64,
    pub gross_loss: f64,
    pub average_win: Option<f64>,
    pub average_loss: Option<f64>,
    /// average win ÷ |average loss|.
    pub payoff_ratio: Option<f64>,
    pub average_hold_secs: Option<f64>,
}

impl Figures {
    pub fn of(r: &Rollup) -> Figures {
        let trades = r.trades as f64;
        let average_win = ratio(r.win_pnl, r.wins as f64);
        let average_loss = ratio(r.loss_pnl, r.losses as f64);
        Figures {
            trades: r.trades,
            wins: r.wins,
            losses: r.losses,
            breakevens: r.trades - r.wins - r.losses,
            win_rate: ratio(r.wins as f64 * 100.0, (r.wins + r.losses) as f64),
            total_pnl: r.pnl,
            expectancy: ratio(r.pnl, trades),
            expectancy_r: ratio(r.r_sum, trades),
            average_r: ratio(r.r_sum, trades),
            profit_factor: ratio(r.win_pnl, -r.loss_pnl),
            gross_profit: r.win_pnl,
            gross_loss: r.loss_pnl,
            average_win,
            average_loss,
            payoff_ratio: match (average_win, average_loss) {
                (Some(w), Some(l)) => ratio(w, -l),
                _ => None,
            },
            average_hold_secs: ratio(r.hold_secs as f64, trades),
        }
    }
}

/// One day of the range: what closed that day and the equity at its end.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EquityDay {
    pub date: NaiveDate,
    pub trades: i64,
    pub pnl: f64,
    /// The equity at the day's end: the range's starting balance plus the pnl of the selected
    /// trades closed up to then.
    pub equity: f64,
    /// How far the equity is below its highest end-of-day value so far (≤ 0).
    pub drawdown: f64,
    /// The day's pnl ÷ the equity at the day's start; `None` when that equity is not positive.
    pub daily_return: Option<f64>,
}

/// The largest fall of the end-of-day equity from an earlier peak.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Drawdown {
    /// Quote currency, ≥ 0.
    pub amount: f64,
    /// Percent of the peak's equity.
    pub pct: f64,
    /// The peak's day: the range's start when the equity fell from its starting value.
    pub peak: Option<NaiveDate>,
    pub trough: Option<NaiveDate>,
    /// The first day the equity was back at the peak; `None` if it never was within the range.
    pub recovered: Option<NaiveDate>,
    /// Days from the peak to the recovery, or to the range's last day when not recovered.
    pub days: i64,
}

/// The equity of every day of `days` (`first..=last`, calendar days: a day without a close has
/// no pnl), starting from `starting_equity`, with the drawdown curve.
pub fn equity_curve(
    first: NaiveDate,
    last: NaiveDate,
    starting_equity: f64,
    pnl_by_day: &[(NaiveDate, i64, f64)],
) -> Vec<EquityDay> {
    let mut out = Vec::new();
    let mut equity = starting_equity;
    let mut peak = starting_equity;
    let mut closes = pnl_by_day.iter().peekable();
    let mut day = first;
    while day <= last {
        // Closes before the range (there should be none) are skipped, not counted.
        while closes.peek().is_some_and(|(d, _, _)| *d < day) {
            closes.next();
        }
        let (trades, pnl) = match closes.peek() {
            Some((d, n, p)) if *d == day => {
                closes.next();
                (*n, *p)
            }
            _ => (0, 0.0),
        };
        let daily_return = (equity > 0.0).then(|| pnl / equity);
        equity += pnl;
        peak = peak.max(equity);
        out.push(EquityDay {
            date: day,
            trades,
            pnl,
            equity,
            drawdown: equity - peak,
            daily_return,
        });
        match day.succ_opt() {
            Some(next) => day = next,
            None => break,
        }
    }
    out
}

/// The max drawdown of an equity curve that starts at `starting_equity`.
pub fn max_drawdown(starting_equity: f64, curve: &[EquityDay]) -> Drawdown {
    let mut best = Drawdown {
        amount: 0.0,
        pct: 0.0,
        peak: None,
        trough: None,
        recovered: None,
        days: 0,
    };
    let mut peak = (starting_equity, curve.first().map(|d| d.date));
    let mut best_peak_equity = starting_equity;
    for day in curve {
        if day.equity > peak.0 {
            peak = (day.equity, Some(day.date));
        }
        let fall = peak.0 - day.equity;
        if fall > best.amount {
            best.amount = fall;
            best.pct = if peak.0 > 0.0 {
                fall / peak.0 * 100.0
            } else {
                0.0
            };
            best.peak = peak.1;
            best.trough = Some(day.date);
            best_peak_equity = peak.0;
        }
    }
    if let (Some(peak_day), Some(trough)) = (best.peak, best.trough) {
        best.recovered = curve
            .iter()
            .find(|d| d.date > trough && d.equity >= best_peak_equity)
            .map(|d| d.date);
        let end = best
            .recovered
            .or(curve.last().map(|d| d.date))
            .unwrap_or(trough);
        best.days = (end - peak_day).num_days();
    }
    best
}

/// Annualised (√365) Sharpe and Sortino ratios of the daily returns: mean ÷ sample standard
/// deviation, and mean ÷ downside deviation (√(Σ min(r, 0)² ÷ n)). `None` with fewer than two
/// returns or no deviation.
pub fn sharpe_sortino(curve: &[EquityDay]) -> (Option<f64>, Option<f64>) {
    let returns: Vec<f64> = curve.iter().filter_map(|d| d.daily_return).collect();
    if returns.len() < 2 {
        return (None, None);
    }
    let n = returns.len() as f64;
    let mean = returns.iter().sum::<f64>() / n;
    let variance = returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let downside = (returns.iter().map(|r| r.min(0.0).powi(2)).sum::<f64>() / n).sqrt();
    let annual = 365f64.sqrt();
    let sharpe = (variance > 0.0).then(|| mean / variance.sqrt() * annual);
    let sortino = (downside > 0.0).then(|| mean / downside * annual);
    (sharpe, sortino)
}

/// The median of sorted values.
pub fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// A trade's excursions in R: how far the price went against it (MAE, ≤ 0) and for it (MFE,
/// ≥ 0) while open, in units of its initial risk, and the exit efficiency (realized R ÷ MFE R).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Excursion {
    pub signal_id: i32,
    pub symbol: String,
    pub outcome: Outcome,
    pub mae_r: f64,
    pub mfe_r: f64,
    pub r_multiple: f64,
    /// `None` when the MFE is zero.
    pub efficiency: Option<f64>,
}

/// The excursions of a trade from its entry, initial stop and best and worst prices.
pub fn excursion(
    direction: Direction,
    entry: f64,
    initial_stop: f64,
    favorable: f64,
    adverse: f64,
) -> Option<(f64, f64)> {
    let risk = (entry - initial_stop).abs();
    if risk.is_nan() || risk <= 0.0 {
        return None;
    }
    let sign = match direction {
        Direction::Long => 1.0,
        Direction::Short => -1.0,
    };
    // `+ 0.0` turns a negative zero into zero.
    let mfe = ((favorable - entry) * sign / risk).max(0.0) + 0.0;
    let mae = ((adverse - entry) * sign / risk).min(0.0) + 0.0;
    Some((mae, mfe))
}

/// One row of a breakdown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BreakdownRow {
    /// The stored bucket (`"0"` for Monday, `"7"` for confidence 0.7–0.8, a symbol, …).
    pub key: String,
    /// The bucket as a reader sees it.
    pub label: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// One bin of a histogram.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bin {
    pub key: String,
    pub label: String,
    /// Lower edge (R or seconds); `None` when open-ended.
    pub from: Option<f64>,
    /// Upper edge, exclusive; `None` when open-ended.
    pub to: Option<f64>,
    pub trades: i64,
}

/// The summary of a range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    #[serde(flatten)]
    pub figures: Figures,
    pub median_r: Option<f64>,
    pub longest_win_streak: i64,
    pub longest_loss_streak: i64,
    pub max_drawdown: f64,
    pub max_drawdown_pct: f64,
    pub max_drawdown_days: i64,
    pub max_drawdown_peak: Option<NaiveDate>,
    pub max_drawdown_trough: Option<NaiveDate>,
    pub max_drawdown_recovered: Option<NaiveDate>,
    pub sharpe: Option<f64>,
    pub sortino: Option<f64>,
    pub starting_equity: f64,
    pub ending_equity: f64,
    /// Calendar days the daily returns cover.
    pub days: usize,
}

/// The MAE/MFE scatter: at most a bounded number of trades, spread evenly over the range.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Scatter {
    /// Trades in the range.
    pub trades: i64,
    pub points: Vec<Excursion>,
}

/// A day of the calendar heatmap.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CalendarDay {
    pub date: NaiveDate,
    pub trades: i64,
    pub pnl: f64,
}

/// Everything `/analytics` shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub summary: Summary,
    /// Breakdowns by dimension name (`strategy`, `symbol`, …), rows by pnl, highest first —
    /// weekday, hour and confidence in their natural order. A JSON object in this order.
    #[serde(serialize_with = "breakdowns_as_object")]
    pub breakdowns: Vec<(Dimension, Vec<BreakdownRow>)>,
    pub r_histogram: Vec<Bin>,
    pub hold_histogram: Vec<Bin>,
    pub scatter: Scatter,
    pub equity: Vec<EquityDay>,
    pub calendar: Vec<CalendarDay>,
}

fn breakdowns_as_object<S: serde::Serializer>(
    breakdowns: &[(Dimension, Vec<BreakdownRow>)],
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(breakdowns.len()))?;
    for (dimension, rows) in breakdowns {
        map.serialize_entry(dimension.as_str(), rows)?;
    }
    map.end()
}

/// The breakdowns a report lists, in this order.
pub const BREAKDOWNS: [Dimension; 9] = [
    Dimension::Strategy,
    Dimension::Symbol,
    Dimension::Direction,
    Dimension::ExitReason,
    Dimension::Tag,
    Dimension::Weekday,
    Dimension::Hour,
    Dimension::Timeframe,
    Dimension::Confidence,
];

/// What a report is made of, as the database gives it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parts {
    /// The `All` rollup of each day with a close, by date.
    pub days: Vec<(NaiveDate, Rollup)>,
    /// The range's sums per (dimension, bucket) (the streak fields are not used).
    pub sums: BTreeMap<(Dimension, String), Rollup>,
    pub median_r: Option<f64>,
    pub scatter: Scatter,
    pub starting_equity: f64,
    /// The calendar days of the equity curve and the daily returns.
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
}

impl Report {
    pub fn build(parts: Parts) -> Report {
        let whole = parts
            .days
            .iter()
            .fold(Rollup::default(), |acc, (_, r)| acc.then(r));
        let closes: Vec<(NaiveDate, i64, f64)> = parts
            .days
            .iter()
            .map(|(d, r)| (*d, r.trades, r.pnl))
            .collect();
        let equity = if parts.first_day <= parts.last_day {
            equity_curve(
                parts.first_day,
                parts.last_day,
                parts.starting_equity,
                &closes,
            )
        } else {
            Vec::new()
        };
        let drawdown = max_drawdown(parts.starting_equity, &equity);
        let (sharpe, sortino) = sharpe_sortino(&equity);
        let summary = Summary {
            figures: Figures::of(&whole),
            median_r: parts.median_r,
            longest_win_streak: whole.win_max,
            longest_loss_streak: whole.loss_max,
            max_drawdown: drawdown.amount,
            max_drawdown_pct: drawdown.pct,
            max_drawdown_days: drawdown.days,
            max_drawdown_peak: drawdown.peak,
            max_drawdown_trough: drawdown.trough,
            max_drawdown_recovered: drawdown.recovered,
            sharpe,
            sortino,
            starting_equity: parts.starting_equity,
            ending_equity: equity.last().map_or(parts.starting_equity, |d| d.equity),
            days: equity.len(),
        };
        let rows_of = |dimension: Dimension| -> Vec<(String, Rollup)> {
            parts
                .sums
                .range((dimension, String::new())..)
                .take_while(|((d, _), _)| *d == dimension)
                .map(|((_, key), r)| (key.clone(), *r))
                .collect()
        };
        let breakdowns = BREAKDOWNS
            .iter()
            .map(|&dimension| {
                let mut rows: Vec<BreakdownRow> = rows_of(dimension)
                    .into_iter()
                    .map(|(key, r)| BreakdownRow {
                        label: bucket_label(dimension, &key),
                        key,
                        figures: Figures::of(&r),
                    })
                    .collect();
                match dimension {
                    Dimension::Weekday | Dimension::Hour | Dimension::Confidence => {
                        rows.sort_by_key(|r| r.key.parse::<i64>().unwrap_or(i64::MAX))
                    }
                    _ => rows.sort_by(|a, b| {
                        b.figures
                            .total_pnl
                            .total_cmp(&a.figures.total_pnl)
                            .then_with(|| a.key.cmp(&b.key))
                    }),
                }
                (dimension, rows)
            })
            .collect();
        let mut r_histogram: Vec<Bin> = rows_of(Dimension::RBin)
            .into_iter()
            .map(|(key, r)| {
                let bin = key.parse::<i64>().unwrap_or(0);
                let (from, to) = r_bin_range(bin);
                Bin {
                    label: bucket_label(Dimension::RBin, &key),
                    key,
                    from,
                    to,
                    trades: r.trades,
                }
            })
            .collect();
        r_histogram.sort_by_key(|b| b.key.parse::<i64>().unwrap_or(0));
        let hold = rows_of(Dimension::Hold);
        let hold_histogram = HOLD_BINS
            .iter()
            .enumerate()
            .map(|(i, (upper, label))| {
                let key = i.to_string();
                let trades = hold
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map_or(0, |(_, r)| r.trades);
                Bin {
                    key,
                    label: (*label).to_owned(),
                    from: Some(i.checked_sub(1).and_then(|p| HOLD_BINS[p].0).unwrap_or(0) as f64),
                    to: upper.map(|u| u as f64),
                    trades,
                }
            })
            .collect();
        let calendar = equity
            .iter()
            .map(|d| CalendarDay {
                date: d.date,
                trades: d.trades,
                pnl: d.pnl,
            })
            .collect();
        Report {
            summary,
            breakdowns,
            r_histogram,
            hold_histogram,
            scatter: parts.scatter,
            equity,
            calendar,
        }
    }
}

/// At most `limit` items of `items`, spread evenly (the first and the last always kept).
pub fn spread<T: Clone>(items: &[T], limit: usize) -> Vec<T> {
    if items.len() <= limit || limit < 2 {
        return items.iter().take(limit).cloned().collect();
    }
    let last = items.len() - 1;
    (0..limit)
        .map(|i| items[i * last / (limit - 1)].clone())
        .collect()
}

#[cfg(test)]
mod tests;
