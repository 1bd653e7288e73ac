//! `candles`: the candles the tick read for symbols with open trades (DESIGN.md §11), stored in
//! the tick's own transaction so the trade page draws the market each trade lived through.
//! Every candle is validated again on the way in (`domain::market::Candle::new`, and a wick the
//! glitch guard would cut): a bad one is skipped and logged, never stored. Candles within a
//! trade's span, an hour either side, are kept; the leader prunes the others once they are older
//! than `SIGNALDESK_CANDLE_RETENTION_DAYS` ([`prune`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::query_builder::AstPass;
use diesel::sql_types::{Double, Text, Timestamp};
use diesel::sqlite::Sqlite;

use super::batch::{Values, ValuesRow, MAX_ROWS};
use super::models::CandleRow;
use super::time::{clamp_bound, LATEST};
use super::Conn;
use crate::domain::market::{Candle, Timeframe};
use crate::domain::time::truncate_to_micros;

/// How far either side of a trade's span its candles are kept: the chart's margin.
pub const SPAN_MARGIN: Duration = Duration::hours(1);

/// What [`upsert`] did with a batch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Upserted {
    /// Candles written (new, or replacing the stored one of the same minute).
    pub stored: usize,
    /// Candles left out: symbol, open time, why.
    pub skipped: Vec<(String, DateTime<Utc>, String)>,
}

/// Why `candle` must not be stored, if it must not: it fails `Candle::new` (its fields are
/// public, so a caller could build one that does), or it carries a wick the glitch guard cuts
/// (`Candle::trusted_range`), a print no order could have filled at.
fn rejection(candle: &Candle) -> Option<String> {
    let checked = Candle::new(
        candle.open_time,
        candle.open,
        candle.high,
        candle.low,
        candle.close,
        candle.volume,
    );
    match checked {
        Err(e) => Some(e.to_string()),
        Ok(c) if c.has_glitch_wick() => {
            Some("a wick far beyond its body, which the glitch guard cuts".to_owned())
        }
        Ok(_) => None,
    }
}

/// Store each symbol's `candles` at `timeframe` inside the caller's write transaction, every
/// symbol in the same statements, one per [`MAX_ROWS`] candles on either backend; a candle
/// already stored for the same open time is replaced (the minute that was still forming when it
/// was last read). Bad candles are skipped and logged ([`rejection`]); of two candles of a
/// symbol with the same open time the later wins.
pub fn upsert(
    conn: &mut Conn,
    timeframe: Timeframe,
    batch: &[(&str, &[Candle])],
) -> QueryResult<Upserted> {
    let mut outcome = Upserted::default();
    let mut rows: BTreeMap<(&str, NaiveDateTime), CandleRow> = BTreeMap::new();
    for (symbol, candles) in batch {
        for candle in *candles {
            if let Some(why) = rejection(candle) {
                log::warn!(
                    "candle {symbol} {} at {} not stored: {why}",
                    timeframe.as_str(),
                    candle.open_time
                );
                outcome
                    .skipped
                    .push(((*symbol).to_owned(), candle.open_time, why));
                continue;
            }
            let open_time = truncate_to_micros(candle.open_time.naive_utc());
            let row = CandleRow {
                symbol: (*symbol).to_owned(),
                timeframe: timeframe.as_str().to_owned(),
                open_time,
                open: candle.open,
                high: candle.high,
                low: candle.low,
                close: candle.close,
                volume: candle.volume,
            };
            rows.insert((symbol, open_time), row);
        }
    }
    let rows: Vec<CandleRow> = rows.into_values().collect();
    for chunk in rows.chunks(MAX_ROWS) {
        write_batch(conn, chunk)?;
        outcome.stored += chunk.len();
    }
    Ok(outcome)
}

/// One upsert statement: PostgreSQL inserts from bound arrays (`unnest`), SQLite from a `VALUES`
/// list padded to one of a few lengths (`db::batch`). The rows have distinct keys: PostgreSQL
/// refuses to update one row twice in a statement.
fn write_batch(conn: &mut Conn, rows: &[CandleRow]) -> QueryResult<usize> {
    use diesel::sql_types::Array;
    match conn {
        Conn::Postgres(conn) => diesel::sql_query(format!(
            "INSERT INTO candles ({COLUMNS}) \
             SELECT * FROM unnest($1, $2, $3, $4, $5, $6, $7, $8) AS v ({COLUMNS}) \
             {ON_CONFLICT}"
        ))
        .bind::<Array<Text>, _>(rows.iter().map(|r| r.symbol.as_str()).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(
            rows.iter()
                .map(|r| r.timeframe.as_str())
                .collect::<Vec<_>>(),
        )
        .bind::<Array<Timestamp>, _>(rows.iter().map(|r| r.open_time).collect::<Vec<_>>())
        .bind::<Array<Double>, _>(rows.iter().map(|r| r.open).collect::<Vec<_>>())
        .bind::<Array<Double>, _>(rows.iter().map(|r| r.high).collect::<Vec<_>>())
        .bind::<Array<Double>, _>(rows.iter().map(|r| r.low).collect::<Vec<_>>())
        .bind::<Array<Double>, _>(rows.iter().map(|r| r.close).collect::<Vec<_>>())
        .bind::<Array<Double>, _>(rows.iter().map(|r| r.volume).collect::<Vec<_>>())
        .execute(conn),
        Conn::Sqlite(conn) => {
            let rows = rows.iter().cloned().map(SqliteCandle).collect();
            Values::new(SQLITE_HEAD, rows, SQLITE_TAIL).execute(conn)
        }
    }
}

const COLUMNS: &str = "symbol, timeframe, open_time, open, high, low, close, volume";

const ON_CONFLICT: &str = "ON CONFLICT (symbol, timeframe, open_time) DO UPDATE SET \
    open = excluded.open, high = excluded.high, low = excluded.low, close = excluded.close, \
    volume = excluded.volume";

const SQLITE_HEAD: &str =
    "WITH v (symbol, timeframe, open_time, open, high, low, close, volume) AS (";

/// The `WHERE` leaves the padding out, and settles SQLite's reading of `ON CONFLICT` after a
/// `SELECT` (without it `ON` would start a join constraint).
const SQLITE_TAIL: &str = ") INSERT INTO candles (symbol, timeframe, open_time, open, high, low, \
    close, volume) SELECT symbol, timeframe, open_time, open, high, low, close, volume FROM v \
    WHERE v.symbol <> '' ON CONFLICT (symbol, timeframe, open_time) DO UPDATE SET \
    open = excluded.open, high = excluded.high, low = excluded.low, close = excluded.close, \
    volume = excluded.volume";

/// One candle as a row of the SQLite statement's `VALUES` list.
struct SqliteCandle(CandleRow);

impl ValuesRow for SqliteCandle {
    fn push<'b>(&'b self, out: &mut AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        let r = &self.0;
        out.push_sql("(");
        out.push_bind_param::<Text, _>(&r.symbol)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&r.timeframe)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&r.open_time)?;
        for value in [&r.open, &r.high, &r.low, &r.close, &r.volume] {
            out.push_sql(", ");
            out.push_bind_param::<Double, _>(value)?;
        }
        out.push_sql(")");
        Ok(())
    }

    /// No symbol is empty (a CHECK constraint); the statement's `WHERE` drops it.
    fn padding() -> Self {
        SqliteCandle(CandleRow {
            symbol: String::new(),
            timeframe: String::new(),
            open_time: DateTime::UNIX_EPOCH.naive_utc(),
            open: 0.0,
            high: 0.0,
            low: 0.0,
            close: 0.0,
            volume: 0.0,
        })
    }
}

/// The stored candles of `wanted` at `timeframe` opening within `[from, to]`, oldest first.
pub fn between(
    conn: &mut Conn,
    wanted: &str,
    timeframe: Timeframe,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<CandleRow>> {
    use super::schema::candles::dsl as c;
    c::candles
        .filter(c::symbol.eq(wanted))
        .filter(c::timeframe.eq(timeframe.as_str()))
        .filter(c::open_time.ge(clamp_bound(from)))
        .filter(c::open_time.le(clamp_bound(to)))
        .order(c::open_time.asc())
        .select(CandleRow::as_select())
        .load(conn)
}

/// The stored 1-minute candles of `wanted` within `[from, to]`, oldest first.
pub fn minute_candles(
    conn: &mut Conn,
    wanted: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<CandleRow>> {
    between(conn, wanted, Timeframe::M1, from, to)
}

#[derive(QueryableByName)]
struct SymbolName {
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    symbol: Option<String>,
}

/// The symbols that have candles, each found by one probe of the primary key (a skip scan
/// written out, since neither backend does it for `DISTINCT` on its own).
fn symbols(conn: &mut Conn) -> QueryResult<Vec<String>> {
    let found: Vec<SymbolName> = diesel::sql_query(
        "WITH RECURSIVE s (symbol) AS ( \
             SELECT MIN(symbol) FROM candles \
             UNION ALL \
             SELECT (SELECT MIN(c.symbol) FROM candles c WHERE c.symbol > s.symbol) \
             FROM s WHERE s.symbol IS NOT NULL) \
         SELECT symbol FROM s WHERE symbol IS NOT NULL",
    )
    .load(conn)?;
    Ok(found.into_iter().filter_map(|s| s.symbol).collect())
}

/// The spans of `wanted`'s trades (opened − margin .. closed + margin; an open trade's runs on)
/// that reach into `[from, to)`, merged and in time order.
fn kept_spans(
    conn: &mut Conn,
    wanted: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<(NaiveDateTime, NaiveDateTime)>> {
    use super::schema::signals::dsl as s;
    let reach_from = clamp_bound(from - SPAN_MARGIN);
    let reach_to = clamp_bound(to + SPAN_MARGIN);
    // Closed trades by (symbol, closed_at); open ones by the index of open trades.
    let closed: Vec<(NaiveDateTime, Option<NaiveDateTime>)> = s::signals
        .filter(s::symbol.eq(wanted))
        .filter(s::closed_at.ge(reach_from))
        .filter(s::created_at.lt(reach_to))
        .select((s::created_at, s::closed_at))
        .load(conn)?;
    let open: Vec<(NaiveDateTime, Option<NaiveDateTime>)> = s::signals
        .filter(super::signals::is_active())
        .filter(s::symbol.eq(wanted))
        .filter(s::created_at.lt(reach_to))
        .select((s::created_at, s::closed_at))
        .load(conn)?;
    let mut spans: Vec<(NaiveDateTime, NaiveDateTime)> = closed
        .into_iter()
        .chain(open)
        .map(|(opened, closed)| {
            let start = opened - SPAN_MARGIN;
            // A candle at the very end is kept: the gap after the span starts just after it.
            let end = closed.map_or(LATEST, |c| c + SPAN_MARGIN + Duration::microseconds(1));
            (start, end.max(start))
        })
        .collect();
    spans.sort();
    let mut merged: Vec<(NaiveDateTime, NaiveDateTime)> = Vec::with_capacity(spans.len());
    for (start, end) in spans {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    Ok(merged)
}

/// The parts of `[from, to)` outside every span of `kept` (merged, in order).
fn gaps(
    kept: &[(NaiveDateTime, NaiveDateTime)],
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Vec<(NaiveDateTime, NaiveDateTime)> {
    let mut out = Vec::new();
    let mut cursor = from;
    for &(start, end) in kept {
        if start > cursor {
            out.push((cursor, start.min(to)));
        }
        cursor = cursor.max(end);
        if cursor >= to {
            break;
        }
    }
    if cursor < to {
        out.push((cursor, to));
    }
    out.retain(|(a, b)| a < b);
    out
}

/// Delete, inside the caller's write transaction, every candle that opened before `cutoff` and
/// lies outside every trade's span ([`SPAN_MARGIN`] either side of it; an open trade keeps all
/// since an hour before its open). Per symbol: its oldest candle bounds the trades read (by
/// `(symbol, closed_at)`), and each gap between their spans is one range delete on the primary
/// key. Returns the number of candles deleted.
pub fn prune(conn: &mut Conn, cutoff: NaiveDateTime) -> QueryResult<usize> {
    use super::schema::candles::dsl as c;
    let timeframes: Vec<&str> = Timeframe::ALL.iter().map(|t| t.as_str()).collect();
    let cutoff = clamp_bound(cutoff);
    let mut deleted = 0;
    for wanted in symbols(conn)? {
        let oldest: Option<NaiveDateTime> = c::candles
            .filter(c::symbol.eq(&wanted))
            .filter(c::timeframe.eq_any(&timeframes))
            .select(diesel::dsl::min(c::open_time))
            .first(conn)?;
        let Some(oldest) = oldest.filter(|o| *o < cutoff) else {
            continue;
        };
        let kept = kept_spans(conn, &wanted, oldest, cutoff)?;
        for (from, to) in gaps(&kept, oldest, cutoff) {
            deleted += diesel::delete(
                c::candles
                    .filter(c::symbol.eq(&wanted))
                    .filter(c::timeframe.eq_any(&timeframes))
                    .filter(c::open_time.ge(from))
                    .filter(c::open_time.lt(to)),
            )
            .execute(conn)?;
        }
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(hour: u32) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 25)
            .unwrap()
            .and_hms_opt(hour, 0, 0)
            .unwrap()
    }

    #[test]
    fn the_gaps_are_what_no_span_covers() {
        let kept = [(t(2), t(4)), (t(6), t(7))];
        assert_eq!(
            gaps(&kept, t(0), t(10)),
            [(t(0), t(2)), (t(4), t(6)), (t(7), t(10))]
        );
        assert_eq!(gaps(&kept, t(3), t(6)), [(t(4), t(6))], "inside the range");
        assert_eq!(gaps(&kept, t(2), t(4)), [], "all kept");
        assert_eq!(gaps(&[], t(0), t(1)), [(t(0), t(1))], "no trade");
        assert_eq!(
            gaps(&[(t(0), LATEST)], t(1), t(5)),
            [],
            "an open trade keeps all"
        );
    }

    #[test]
    fn a_bad_or_glitched_candle_is_rejected_and_a_good_one_is_not() {
        let at = DateTime::from_timestamp(1_764_000_000, 0).unwrap();
        let candle = |open, high, low, close, volume| Candle {
            open_time: at,
            open,
            high,
            low,
            close,
            volume,
        };
        let cases = [
            (candle(100.0, 101.0, 99.0, 100.5, 3.0), true, "ordinary"),
            (candle(100.0, 99.0, 101.0, 100.5, 3.0), false, "inverted"),
            (candle(f64::NAN, 101.0, 99.0, 100.5, 3.0), false, "NaN open"),
            (candle(100.0, 101.0, 0.0, 100.5, 3.0), false, "zero low"),
            (candle(100.0, 101.0, 99.0, 100.5, -1.0), false, "volume < 0"),
            (
                candle(100.0, 101.0, 99.0, 100.5, f64::INFINITY),
                false,
                "infinite volume",
            ),
            (
                candle(100.0, 400.0, 99.0, 100.5, 3.0),
                false,
                "a glitch wick",
            ),
            (
                candle(100.0, 102.0, 99.0, 103.0, 3.0),
                false,
                "close > high",
            ),
        ];
        for (candle, ok, reason) in cases {
            assert_eq!(rejection(&candle).is_none(), ok, "{reason}");
        }
    }
}
