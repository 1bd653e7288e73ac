//! Row structs of the tables: `*Row` is read (and inserted whole, id included, by `convert-db`),
//! `New*` is inserted. JSON is derived here so a signal in the API carries every column by its
//! column name (DESIGN.md §7), with times as RFC 3339 UTC strings.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use super::schema::{
    candles, daily_stats, journal_entries, quotes, signals, stop_moves, trade_exits,
};
use crate::domain::management::PartialTarget;
use crate::domain::{Direction, ExitReason, Outcome, SignalStatus, StopReason};

/// Serialise stored UTC timestamps as RFC 3339 (`2026-11-25T10:00:00.123456Z`).
pub mod rfc3339 {
    use chrono::{NaiveDateTime, SecondsFormat};
    use serde::Serializer;

    pub fn format(at: &NaiveDateTime) -> String {
        at.and_utc().to_rfc3339_opts(SecondsFormat::AutoSi, true)
    }

    pub fn serialize<S: Serializer>(at: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(at))
    }

    pub mod option {
        use super::*;

        pub fn serialize<S: Serializer>(
            at: &Option<NaiveDateTime>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match at {
                Some(at) => s.serialize_str(&format(at)),
                None => s.serialize_none(),
            }
        }
    }
}

/// Typed id of a signal (and of its paper trade).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct SignalId(pub i32);

impl std::fmt::Display for SignalId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = signals, check_for_backend(crate::db::MultiBackend))]
#[diesel(treat_none_as_default_value = false)]
pub struct SignalRow {
    pub id: i32,
    pub symbol: String,
    pub direction: Direction,
    pub status: SignalStatus,
    pub entry_price: f64,
    pub stop_loss: f64,
    pub take_profit: f64,
    pub quantity: f64,
    pub risk_amount: f64,
    pub confidence: f64,
    pub strategy: String,
    pub timeframe: Option<String>,
    pub external_id: Option<String>,
    pub reasons: String,
    pub notes: Option<String>,
    pub current_price: f64,
    pub unrealized_pnl: f64,
    pub max_favorable_price: f64,
    pub max_adverse_price: f64,
    pub exit_price: Option<f64>,
    pub exit_reason: Option<ExitReason>,
    pub pnl: Option<f64>,
    pub fees: f64,
    #[serde(with = "rfc3339")]
    pub created_at: NaiveDateTime,
    #[serde(with = "rfc3339::option")]
    pub closed_at: Option<NaiveDateTime>,
    #[serde(with = "rfc3339")]
    pub updated_at: NaiveDateTime,
    /// The stop the trade opened with: its risk and R are measured from it (DESIGN.md §10).
    pub initial_stop_loss: f64,
    /// What is still open: `quantity` less every exit's quantity.
    pub remaining_quantity: f64,
    /// Σ pnl of the exits booked so far.
    pub realized_pnl: f64,
    /// The partial targets, a JSON list of `{"price", "fraction"}`; a JSON array in the API.
    #[serde(serialize_with = "targets_json")]
    pub take_profits: String,
    pub breakeven_at_r: Option<f64>,
    /// Percent.
    pub trailing_stop_pct: Option<f64>,
    pub trailing_activate_at_r: f64,
    /// How many of `take_profits` have filled.
    pub targets_hit: i32,
    /// What moved `stop_loss` last; `None` while it is the initial stop.
    pub stop_moved_by: Option<StopReason>,
    /// The fee paid on entry (`fees` adds every exit fill's fee to it); each exit carries its
    /// share.
    pub entry_fee: f64,
}

/// The stored JSON of partial targets as a list: empty when the text does not read as one (it
/// always does: only [`targets_text`] writes it).
pub fn parse_targets(text: &str) -> Vec<PartialTarget> {
    if text == "[]" {
        return Vec::new();
    }
    serde_json::from_str(text).unwrap_or_default()
}

/// The stored JSON of `targets`.
pub fn targets_text(targets: &[PartialTarget]) -> String {
    serde_json::to_string(targets).unwrap_or_else(|_| "[]".to_owned())
}

fn targets_json<S: serde::Serializer>(text: &str, s: S) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&parse_targets(text), s)
}

impl SignalRow {
    pub fn signal_id(&self) -> SignalId {
        SignalId(self.id)
    }

    /// The partial targets of `take_profits`.
    pub fn targets(&self) -> Vec<PartialTarget> {
        parse_targets(&self.take_profits)
    }
}

/// A signal as it is opened. `fees` holds the entry fee until the close adds the exit fee.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = signals)]
pub struct NewSignal {
    pub symbol: String,
    pub direction: &'static str,
    pub status: &'static str,
    pub entry_price: f64,
    pub stop_loss: f64,
    pub take_profit: f64,
    pub quantity: f64,
    pub risk_amount: f64,
    pub confidence: f64,
    pub strategy: String,
    pub timeframe: Option<String>,
    pub external_id: Option<String>,
    pub reasons: String,
    pub notes: Option<String>,
    pub current_price: f64,
    pub unrealized_pnl: f64,
    pub max_favorable_price: f64,
    pub max_adverse_price: f64,
    pub fees: f64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub initial_stop_loss: f64,
    pub remaining_quantity: f64,
    pub take_profits: String,
    pub breakeven_at_r: Option<f64>,
    pub trailing_stop_pct: Option<f64>,
    pub trailing_activate_at_r: f64,
    pub entry_fee: f64,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = journal_entries, check_for_backend(crate::db::MultiBackend))]
#[diesel(treat_none_as_default_value = false)]
pub struct JournalEntryRow {
    pub id: i32,
    pub signal_id: i32,
    pub symbol: String,
    pub direction: Direction,
    pub entry_price: f64,
    pub exit_price: f64,
    pub quantity: f64,
    pub pnl: f64,
    pub pnl_pct: f64,
    pub r_multiple: f64,
    pub outcome: Outcome,
    pub exit_reason: ExitReason,
    #[serde(with = "rfc3339")]
    pub opened_at: NaiveDateTime,
    #[serde(with = "rfc3339")]
    pub closed_at: NaiveDateTime,
    pub duration_secs: i64,
    pub balance_after: f64,
    pub notes: Option<String>,
    pub tags: String,
    #[serde(with = "rfc3339")]
    pub created_at: NaiveDateTime,
    #[serde(with = "rfc3339")]
    pub updated_at: NaiveDateTime,
    /// How many exits the trade took.
    pub exit_count: i32,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = journal_entries)]
pub struct NewJournalEntry {
    pub signal_id: i32,
    pub symbol: String,
    pub direction: &'static str,
    pub entry_price: f64,
    pub exit_price: f64,
    pub quantity: f64,
    pub pnl: f64,
    pub pnl_pct: f64,
    pub r_multiple: f64,
    pub outcome: &'static str,
    pub exit_reason: &'static str,
    pub opened_at: NaiveDateTime,
    pub closed_at: NaiveDateTime,
    pub duration_secs: i64,
    pub balance_after: f64,
    pub notes: Option<String>,
    pub tags: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub exit_count: i32,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = daily_stats, check_for_backend(crate::db::MultiBackend))]
#[diesel(treat_none_as_default_value = false)]
pub struct DailyStatsRow {
    pub id: i32,
    pub date: NaiveDate,
    pub scan_count: i32,
    pub signals_generated: i32,
    pub trades_closed: i32,
    pub wins: i32,
    pub losses: i32,
    pub starting_balance: f64,
    pub paper_balance: f64,
    pub realized_pnl: f64,
    pub total_pnl: f64,
    #[serde(with = "rfc3339")]
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = daily_stats)]
pub struct NewDailyStats {
    pub date: NaiveDate,
    pub starting_balance: f64,
    pub paper_balance: f64,
    pub total_pnl: f64,
    pub updated_at: NaiveDateTime,
}

/// One stored candle (DESIGN.md §11): `timeframe` is `1m`, `5m`, … (`domain::market::Timeframe`),
/// `open_time` the start of its interval in UTC.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = candles, check_for_backend(crate::db::MultiBackend))]
pub struct CandleRow {
    pub symbol: String,
    pub timeframe: String,
    #[serde(with = "rfc3339")]
    pub open_time: NaiveDateTime,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
}

/// The latest accepted quote of a symbol (DESIGN.md §9).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = quotes, check_for_backend(crate::db::MultiBackend))]
#[diesel(treat_none_as_default_value = false)]
pub struct QuoteRow {
    pub symbol: String,
    pub price: f64,
    pub high_24h: Option<f64>,
    pub low_24h: Option<f64>,
    pub change_24h_pct: Option<f64>,
    pub volume_24h: Option<f64>,
    /// When the price was current (wall clock); freshness is measured from here.
    #[serde(with = "rfc3339")]
    pub price_time: NaiveDateTime,
    /// The market's time of the price; differs from price_time only for the replay feed.
    #[serde(with = "rfc3339")]
    pub market_time: NaiveDateTime,
    /// A jump the glitch guard refused, waiting for the next poll to confirm it.
    pub pending_price: Option<f64>,
    #[serde(with = "rfc3339::option")]
    pub pending_time: Option<NaiveDateTime>,
    #[serde(with = "rfc3339")]
    pub updated_at: NaiveDateTime,
}

impl QuoteRow {
    /// Whether the price is no older than `stale_secs` at `now`.
    pub fn is_fresh(&self, now: NaiveDateTime, stale_secs: u64) -> bool {
        (now - self.price_time).num_seconds() <= i64::try_from(stale_secs).unwrap_or(i64::MAX)
    }
}

/// One exit of a trade (DESIGN.md §10).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = trade_exits, check_for_backend(crate::db::MultiBackend))]
#[diesel(treat_none_as_default_value = false)]
pub struct TradeExitRow {
    pub id: i32,
    pub signal_id: i32,
    pub reason: ExitReason,
    /// The fill price, slippage applied to a market exit.
    pub price: f64,
    pub quantity: f64,
    /// The exit fill's fee plus the entry fee's share of `quantity`.
    pub fee: f64,
    /// Price move × quantity − fee.
    pub pnl: f64,
    /// The account balance once this exit was booked.
    pub balance_after: f64,
    #[serde(with = "rfc3339")]
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = trade_exits)]
pub struct NewTradeExit {
    pub signal_id: i32,
    pub reason: &'static str,
    pub price: f64,
    pub quantity: f64,
    pub fee: f64,
    pub pnl: f64,
    pub balance_after: f64,
    pub created_at: NaiveDateTime,
}

/// One change of a trade's stop (DESIGN.md §10).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = stop_moves, check_for_backend(crate::db::MultiBackend))]
#[diesel(treat_none_as_default_value = false)]
pub struct StopMoveRow {
    pub id: i32,
    pub signal_id: i32,
    pub old_stop: f64,
    pub new_stop: f64,
    pub reason: StopReason,
    #[serde(with = "rfc3339")]
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = stop_moves)]
pub struct NewStopMove {
    pub signal_id: i32,
    pub old_stop: f64,
    pub new_stop: f64,
    pub reason: &'static str,
    pub created_at: NaiveDateTime,
}
