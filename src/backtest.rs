//! `signaldesk backtest` (DESIGN.md §8): the `ict` strategy and the paper-trading rules of §4
//! replayed candle by candle over historical 1-minute klines, into a separate SQLite database
//! (in memory by default). Signals open through `db::intake::open_signal` and are followed by
//! `engine::tick::update_paper_trades` — the live engine's own code — on every 1-minute candle
//! while a trade is open, so the backtest's trades follow exactly the live rules: one candle is
//! one interval of DESIGN.md §10 (the stop in force first, then the targets in price order; a
//! stop moved by breakeven or trailing applies from the next candle), on the range the live
//! engine reads from that candle. The trade management settings are the rules' defaults
//! (the configuration's keys, or `--take-profits`, `--breakeven-at-r`, `--trailing-stop-pct`,
//! `--trailing-activate-at-r`), and the report says which they were.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;

use crate::db::analytics::AnalyticsQuery;
use crate::db::intake::{open_signal, IntakeError, SignalRequest};
use crate::db::models::JournalEntryRow;
use crate::db::signals::AddOutcome;
use crate::db::Conn;
use crate::db::{self, DbError};
use crate::domain::analytics::Report;
use crate::domain::management::{ManagementDefaults, ManagementRequest, TargetSpec};
use crate::domain::market::{aggregate, Candle, Timeframe};
use crate::domain::rules::TradingRules;
use crate::domain::strategy::ict;
use crate::domain::trading::PriceRange;
use crate::domain::Symbol;
use crate::domain::{ExitReason, Outcome};
use crate::engine::scanner::CANDLES;
use crate::engine::tick::update_paper_trades;
use crate::feeds::Quote;
use crate::notify::Outbox;

/// What to backtest.
#[derive(Debug, Clone)]
pub struct BacktestSpec {
    pub symbol: Symbol,
    pub timeframe: Timeframe,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub rules: TradingRules,
    pub initial_balance: f64,
    /// SQLite file for the results (must not exist); `None` keeps them in memory.
    pub database: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("database: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("{0}")]
    Input(String),
}

/// The figures of a backtest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BacktestReport {
    pub symbol: String,
    pub timeframe: &'static str,
    pub candles: usize,
    pub signals: usize,
    pub trades: usize,
    pub wins: usize,
    pub losses: usize,
    /// Percent of decided trades.
    pub win_rate: f64,
    pub total_pnl: f64,
    pub total_pnl_pct: f64,
    pub final_balance: f64,
    /// Largest peak-to-trough fall of the balance, quote currency and percent of the peak.
    pub max_drawdown: f64,
    pub max_drawdown_pct: f64,
    /// Gross profit ÷ gross loss; `None` without a losing trade.
    pub profit_factor: Option<f64>,
    /// Annualised (√365) mean ÷ standard deviation of daily returns.
    pub sharpe: f64,
    pub average_r: f64,
    /// Trades still open at the end, not counted above.
    pub open_at_end: usize,
    /// The trade management every trade had (DESIGN.md §10).
    pub management: ManagementReport,
    /// Partial take-profits the closed trades booked before their last exit.
    pub partial_exits: usize,
    /// Stops the closed trades moved (breakeven and trailing).
    pub stop_moves: usize,
    #[serde(skip)]
    pub journal: Vec<JournalEntryRow>,
    /// The analytics of the backtest's closed trades (DESIGN.md §11), as `/analytics` shows
    /// them for the live account: what `--html` writes.
    #[serde(skip)]
    pub analytics: Report,
}

/// The management settings of a backtest, as its configuration and flags gave them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ManagementReport {
    /// Partial targets in R from the entry, with the share of the quantity each closes.
    pub take_profits: Vec<TargetSpec>,
    /// `None`: off.
    pub breakeven_at_r: Option<f64>,
    /// Percent; `None`: off.
    pub trailing_stop_pct: Option<f64>,
    pub trailing_activate_at_r: f64,
}

impl From<&ManagementDefaults> for ManagementReport {
    fn from(m: &ManagementDefaults) -> Self {
        ManagementReport {
            take_profits: m.take_profits.clone(),
            breakeven_at_r: m.breakeven_at_r,
            trailing_stop_pct: m.trailing_stop_pct,
            trailing_activate_at_r: m.trailing_activate_at_r,
        }
    }
}

/// The minute's range as the live engine reads a candle (`domain::market::range_since`): its
/// [`Candle::trusted_range`], a wick far beyond its own body cut back to the body.
fn minute_range(candle: &Candle) -> PriceRange {
    let (high, low) = candle.trusted_range();
    PriceRange {
        last: candle.close,
        high,
        low,
    }
}

fn quote(symbol: &str, candle: &Candle, at: DateTime<Utc>) -> BTreeMap<String, Quote> {
    let range = minute_range(candle);
    let q = Quote {
        symbol: symbol.to_owned(),
        last_price: range.last,
        high: range.high,
        low: range.low,
        price_time: at,
        market_time: at,
        change_24h_pct: None,
        high_24h: None,
        low_24h: None,
        volume_24h: None,
        minute_candles: Vec::new(),
    };
    BTreeMap::from([(symbol.to_owned(), q)])
}

/// Run the backtest over `minutes` (1-minute candles, oldest first); `progress(done, total)` is
/// called every few thousand candles.
pub fn run(
    minutes: &[Candle],
    spec: &BacktestSpec,
    mut progress: impl FnMut(usize, usize),
) -> Result<BacktestReport, BacktestError> {
    let url = spec
        .database
        .clone()
        .unwrap_or_else(|| ":memory:".to_owned());
    if spec.database.is_some() && std::path::Path::new(&url).exists() {
        return Err(BacktestError::Input(format!(
            "{url} already exists; choose a new file"
        )));
    }
    let mut conn = db::connect(&url)?;
    db::run_migrations(&mut conn)?;
    let minutes: Vec<Candle> = minutes
        .iter()
        .filter(|c| c.open_time >= spec.from && c.open_time < spec.to)
        .copied()
        .collect();
    if minutes.is_empty() {
        return Err(BacktestError::Input(
            "no 1-minute candles in the period".to_owned(),
        ));
    }
    let ltf = aggregate(&minutes, spec.timeframe);
    let htf = aggregate(&minutes, Timeframe::H1);
    let tf_step = Duration::seconds(spec.timeframe.secs());
    let hour = Duration::hours(1);
    let (mut ltf_done, mut htf_done) = (0usize, 0usize);
    // How many trades are open: the database holds them, this only says whether to tick.
    let mut open = 0usize;
    let mut signals = 0usize;
    let minute = Duration::minutes(1);
    for (i, candle) in minutes.iter().enumerate() {
        let closes_at = candle.open_time + minute;
        let naive_close = closes_at.naive_utc();
        if open > 0 {
            let outcome = update_paper_trades(
                &mut conn,
                &quote(spec.symbol.as_str(), candle, closes_at),
                &spec.rules,
                spec.initial_balance,
                naive_close,
            )?;
            if let Some(failed) = outcome.failed.first() {
                return Err(BacktestError::Input(format!(
                    "trade #{} could not be booked: {}",
                    failed.signal_id, failed.error
                )));
            }
            open -= outcome.closed.len();
        }
        while ltf_done < ltf.len() && ltf[ltf_done].open_time + tf_step <= closes_at {
            ltf_done += 1;
        }
        while htf_done < htf.len() && htf[htf_done].open_time + hour <= closes_at {
            htf_done += 1;
        }
        let completes_ltf = ltf_done > 0 && ltf[ltf_done - 1].open_time + tf_step == closes_at;
        if completes_ltf {
            let window = &ltf[ltf_done.saturating_sub(CANDLES)..ltf_done];
            let bias = &htf[htf_done.saturating_sub(CANDLES)..htf_done];
            if let Some(setup) = ict(
                window,
                bias,
                spec.timeframe.as_str(),
                Timeframe::H1.as_str(),
            ) {
                let request = SignalRequest {
                    symbol: spec.symbol.clone(),
                    direction: setup.direction,
                    stop_loss: setup.stop_loss,
                    take_profit: setup.take_profit,
                    confidence: setup.confidence,
                    strategy: "ict".to_owned(),
                    timeframe: Some(spec.timeframe.as_str().to_owned()),
                    external_id: Some(format!(
                        "ict:{}:{}:{}",
                        spec.symbol,
                        spec.timeframe.as_str(),
                        setup.zone_time
                    )),
                    reasons: setup.reasons,
                    notes: None,
                    management: ManagementRequest::default(),
                };
                match open_signal(
                    &mut conn,
                    &request,
                    candle.close,
                    &spec.rules,
                    spec.initial_balance,
                    &Outbox::off(),
                    naive_close,
                ) {
                    Ok(AddOutcome::Created(_)) => {
                        signals += 1;
                        open += 1;
                    }
                    Ok(AddOutcome::Existing(_))
                    | Err(IntakeError::Refused(_))
                    | Err(IntakeError::Invalid(_)) => {}
                    Err(IntakeError::Db(e)) => return Err(e.into()),
                }
            }
        }
        if i % 8_192 == 0 {
            progress(i, minutes.len());
        }
    }
    progress(minutes.len(), minutes.len());
    report(&mut conn, spec, minutes.len(), signals, open)
}

fn report(
    conn: &mut Conn,
    spec: &BacktestSpec,
    candles: usize,
    signals: usize,
    open_at_end: usize,
) -> Result<BacktestReport, BacktestError> {
    let journal: Vec<JournalEntryRow> = db::journal::all_entries(conn)?;
    // WIN and LOSS as the journal says them (`domain::pnl::outcome_of`).
    let wins = journal.iter().filter(|e| e.outcome == Outcome::Win).count();
    let losses = journal
        .iter()
        .filter(|e| e.outcome == Outcome::Loss)
        .count();
    let gross_win: f64 = journal.iter().filter(|e| e.pnl > 0.0).map(|e| e.pnl).sum();
    let gross_loss: f64 = -journal
        .iter()
        .filter(|e| e.pnl < 0.0)
        .map(|e| e.pnl)
        .sum::<f64>();
    let total_pnl: f64 = journal.iter().map(|e| e.pnl).sum();
    let (mut peak, mut max_drawdown, mut max_drawdown_pct) = (spec.initial_balance, 0.0f64, 0.0f64);
    for entry in &journal {
        peak = peak.max(entry.balance_after);
        let fall = peak - entry.balance_after;
        if fall > max_drawdown {
            max_drawdown = fall;
            max_drawdown_pct = fall / peak * 100.0;
        }
    }
    // Daily returns over every calendar day of the period, a day without a close returning 0.
    let mut by_day: BTreeMap<NaiveDate, f64> = BTreeMap::new();
    for entry in &journal {
        *by_day.entry(entry.closed_at.date()).or_insert(0.0) += entry.pnl;
    }
    let mut returns = Vec::new();
    let mut balance = spec.initial_balance;
    let mut day = spec.from.date_naive();
    let last_day = (spec.to - Duration::seconds(1)).date_naive();
    while day <= last_day {
        let pnl = by_day.get(&day).copied().unwrap_or(0.0);
        if balance > 0.0 {
            returns.push(pnl / balance);
        }
        balance += pnl;
        day += Duration::days(1);
    }
    let sharpe = if returns.len() >= 2 {
        let mean = returns.iter().sum::<f64>() / returns.len() as f64;
        let var =
            returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (returns.len() - 1) as f64;
        if var > 0.0 {
            mean / var.sqrt() * 365f64.sqrt()
        } else {
            0.0
        }
    } else {
        0.0
    };
    // Exits and stop moves of the closed trades, as the figures above count only those.
    let closed: BTreeSet<i32> = journal.iter().map(|e| e.signal_id).collect();
    let partial_exits = db::exits::all_exits(conn)?
        .iter()
        .filter(|e| e.reason == ExitReason::PartialTakeProfit && closed.contains(&e.signal_id))
        .count();
    let stop_moves = db::exits::all_stop_moves(conn)?
        .iter()
        .filter(|m| closed.contains(&m.signal_id))
        .count();
    let first_day = spec.from.date_naive();
    let query = AnalyticsQuery {
        from: first_day,
        to: last_day,
        strategy: None,
        symbol: None,
        direction: None,
        tag: None,
        days: Some((first_day, last_day)),
    };
    let analytics = db::analytics::report(conn, &query, spec.initial_balance, last_day)?;
    let decided = wins + losses;
    Ok(BacktestReport {
        symbol: spec.symbol.to_string(),
        timeframe: spec.timeframe.as_str(),
        candles,
        signals,
        trades: journal.len(),
        wins,
        losses,
        win_rate: if decided > 0 {
            wins as f64 / decided as f64 * 100.0
        } else {
            0.0
        },
        total_pnl,
        total_pnl_pct: total_pnl / spec.initial_balance * 100.0,
        final_balance: spec.initial_balance + total_pnl,
        max_drawdown,
        max_drawdown_pct,
        profit_factor: (gross_loss > 0.0).then(|| gross_win / gross_loss),
        sharpe,
        average_r: if journal.is_empty() {
            0.0
        } else {
            journal.iter().map(|e| e.r_multiple).sum::<f64>() / journal.len() as f64
        },
        open_at_end,
        management: ManagementReport::from(&spec.rules.management),
        partial_exits,
        stop_moves,
        journal,
        analytics,
    })
}

/// The trades as CSV, one row per closed trade.
pub fn trades_csv(report: &BacktestReport) -> String {
    let mut out = String::from(
        "signal_id,symbol,direction,opened_at,closed_at,entry_price,exit_price,quantity,exit_reason,outcome,pnl,pnl_pct,r_multiple,balance_after\n",
    );
    for e in &report.journal {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            e.signal_id,
            e.symbol,
            e.direction,
            e.opened_at,
            e.closed_at,
            e.entry_price,
            e.exit_price,
            e.quantity,
            e.exit_reason,
            e.outcome,
            e.pnl,
            e.pnl_pct,
            e.r_multiple,
            e.balance_after
        ));
    }
    out
}
