//! The `candles` table (DESIGN.md §11) on both backends: a batch is stored and read back as it
//! was given, the minute read again replaces the stored one, bad candles are left out, and the
//! prune keeps every trade's span (an hour either side) while deleting the rest of what is older
//! than the retention.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use signaldesk::db::candles::{self, Upserted};
use signaldesk::db::models::CandleRow;
use signaldesk::db::signals::CloseRequest;
use signaldesk::db::{self, schema, Conn};
use signaldesk::domain::market::{Candle, Timeframe};
use signaldesk::domain::ExitReason;

use crate::helpers::{at, close_trade, SignalBuilder, TempDb, FEE_RATE};

fn utc(text: &str) -> DateTime<Utc> {
    at(text).and_utc()
}

/// `n` consecutive 1-minute candles from `start`, each a little different.
fn series(start: &str, n: i64) -> Vec<Candle> {
    (0..n)
        .map(|i| {
            let open = 100.0 + (i % 11) as f64 * 0.5;
            Candle::new(
                utc(start) + Duration::minutes(i),
                open,
                open + 1.25,
                open - 0.75,
                open + 0.5,
                (i + 1) as f64 * 0.1,
            )
            .unwrap()
        })
        .collect()
}

fn store(conn: &mut Conn, symbol: &str, list: &[Candle]) -> Upserted {
    db::write_tx(conn, |conn| {
        candles::upsert(conn, symbol, Timeframe::M1, list)
    })
    .unwrap()
}

fn all(conn: &mut Conn) -> Vec<CandleRow> {
    use schema::candles::dsl::*;
    candles
        .order((symbol, timeframe, open_time))
        .select(CandleRow::as_select())
        .load(conn)
        .unwrap()
}

fn row_of(symbol: &str, c: &Candle) -> CandleRow {
    CandleRow {
        symbol: symbol.to_owned(),
        timeframe: "1m".to_owned(),
        open_time: c.open_time.naive_utc(),
        open: c.open,
        high: c.high,
        low: c.low,
        close: c.close,
        volume: c.volume,
    }
}

fn a_batch_is_stored_as_given_and_read_back_by_range(db: TempDb) {
    let mut conn = db.conn();
    // More than one statement's worth (1 000 rows), and a few that pad the last one.
    let btc = series("2026-11-25 00:00:00", 1_203);
    let eth = series("2026-11-25 00:00:00", 5);

    let stored = store(&mut conn, "BTCUSDT", &btc);
    store(&mut conn, "ETHUSDT", &eth);

    assert_eq!(stored.stored, 1_203);
    assert!(stored.skipped.is_empty());
    let rows = all(&mut conn);
    assert_eq!(rows.len(), 1_208, "the padding rows are never stored");
    let expected: Vec<CandleRow> = btc.iter().map(|c| row_of("BTCUSDT", c)).collect();
    assert_eq!(&rows[..1_203], expected.as_slice());
    let hour = candles::minute_candles(
        &mut conn,
        "BTCUSDT",
        at("2026-11-25 01:00:00"),
        at("2026-11-25 01:59:00"),
    )
    .unwrap();
    assert_eq!(hour.as_slice(), &expected[60..120], "both bounds inclusive");
    let none = candles::minute_candles(
        &mut conn,
        "SOLUSDT",
        at("2026-11-25 00:00:00"),
        at("2026-11-26 00:00:00"),
    )
    .unwrap();
    assert!(none.is_empty());
}

fn the_minute_read_again_replaces_the_stored_one(db: TempDb) {
    let mut conn = db.conn();
    let first = series("2026-11-25 09:00:00", 3);
    store(&mut conn, "BTCUSDT", &first);
    // The last minute was still forming: read again, it has grown.
    let grown = Candle::new(first[2].open_time, first[2].open, 120.0, 90.0, 95.0, 42.0).unwrap();
    let next = series("2026-11-25 09:03:00", 1);

    let stored = store(&mut conn, "BTCUSDT", &[grown, next[0], grown]);

    assert_eq!(
        stored.stored, 2,
        "the same minute twice in a batch is one row"
    );
    let rows = all(&mut conn);
    assert_eq!(
        rows,
        [
            row_of("BTCUSDT", &first[0]),
            row_of("BTCUSDT", &first[1]),
            row_of("BTCUSDT", &grown),
            row_of("BTCUSDT", &next[0]),
        ]
    );
}

fn bad_candles_are_skipped_and_the_rest_is_stored(db: TempDb) {
    let mut conn = db.conn();
    let good = series("2026-11-25 09:00:00", 3);
    let at = good[1].open_time;
    // Built past the constructor, as a careless caller could.
    let bad = [
        Candle {
            high: 90.0,
            ..good[1]
        },
        Candle {
            close: f64::NAN,
            ..good[1]
        },
        Candle {
            volume: -1.0,
            ..good[1]
        },
        Candle {
            high: 1e300,
            ..good[1]
        },
        // A wick four times the body: the glitch guard cuts it, so it is no price.
        Candle {
            high: 400.0,
            ..good[1]
        },
    ];
    let mut batch = vec![good[0]];
    batch.extend(bad);
    batch.push(good[2]);

    let stored = store(&mut conn, "BTCUSDT", &batch);

    assert_eq!(stored.stored, 2);
    assert_eq!(stored.skipped.len(), 5);
    assert!(stored.skipped.iter().all(|(time, _)| *time == at));
    assert_eq!(
        all(&mut conn),
        [row_of("BTCUSDT", &good[0]), row_of("BTCUSDT", &good[2])]
    );
}

fn the_table_refuses_a_malformed_candle_written_by_hand(db: TempDb) {
    let mut conn = db.conn();
    for values in [
        "'BTCUSDT', '1m', '2026-11-25 09:00:00', 100, 99, 101, 100, 1",
        "'BTCUSDT', '1m', '2026-11-25 09:00:00', 100, 101, 0, 100, 1",
        "'BTCUSDT', '1m', '2026-11-25 09:00:00', 100, 101, 99, 100, -1",
        "'btcusdt', '1m', '2026-11-25 09:00:00', 100, 101, 99, 100, 1",
        "'BTCUSDT', '2m', '2026-11-25 09:00:00', 100, 101, 99, 100, 1",
    ] {
        let written = diesel::sql_query(format!(
            "INSERT INTO candles (symbol, timeframe, open_time, open, high, low, close, volume) \
             VALUES ({values})"
        ))
        .execute(&mut conn);
        assert!(written.is_err(), "{values}");
    }
    assert!(all(&mut conn).is_empty());
}

/// A candle written straight into the table, as an old copy or a hand edit would hold it.
pub fn put_candle(conn: &mut Conn, symbol: &str, timeframe: &str, open_time: NaiveDateTime) {
    diesel::sql_query(format!(
        "INSERT INTO candles (symbol, timeframe, open_time, open, high, low, close, volume) \
         VALUES ('{symbol}', '{timeframe}', '{}', 100, 101, 99, 100.5, 3)",
        open_time.format("%Y-%m-%d %H:%M:%S")
    ))
    .execute(conn)
    .unwrap();
}

/// The open times of the stored candles of `symbol` at `timeframe`.
pub fn stored_times(conn: &mut Conn, symbol: &str, timeframe: &str) -> Vec<NaiveDateTime> {
    use schema::candles::dsl as c;
    c::candles
        .filter(c::symbol.eq(symbol))
        .filter(c::timeframe.eq(timeframe))
        .order(c::open_time)
        .select(c::open_time)
        .load(conn)
        .unwrap()
}

fn closed_between(conn: &mut Conn, symbol: &str, opened: &str, closed: &str) {
    let trade = SignalBuilder::long(symbol).insert(conn, at(opened));
    close_trade(
        conn,
        trade.signal_id(),
        &CloseRequest {
            exit_price: 101.0,
            exit_reason: ExitReason::Manual,
            fee_rate: FEE_RATE,
            closed_at: at(closed),
        },
    )
    .unwrap();
}

fn the_prune_keeps_every_trade_span_and_deletes_the_rest_before_the_cutoff(db: TempDb) {
    let mut conn = db.conn();
    closed_between(
        &mut conn,
        "BTCUSDT",
        "2026-11-01 10:00:00",
        "2026-11-01 12:00:00",
    );
    // Two trades whose spans (with their hours) touch: one kept stretch.
    closed_between(
        &mut conn,
        "BTCUSDT",
        "2026-11-03 10:00:00",
        "2026-11-03 11:00:00",
    );
    closed_between(
        &mut conn,
        "BTCUSDT",
        "2026-11-03 13:00:00",
        "2026-11-03 14:00:00",
    );
    SignalBuilder::long("BTCUSDT").insert(&mut conn, at("2026-11-10 10:00:00"));
    // A cancelled signal never traded: it keeps nothing.
    let cancelled = SignalBuilder::long("SOLUSDT").insert(&mut conn, at("2026-11-02 10:00:00"));
    diesel::update(schema::signals::table.find(cancelled.id))
        .set(schema::signals::status.eq("CANCELLED"))
        .execute(&mut conn)
        .unwrap();
    let btc = [
        (
            "2026-11-01 08:00:00",
            false,
            "two hours before the first trade",
        ),
        ("2026-11-01 08:59:00", false, "just outside its hour"),
        ("2026-11-01 09:00:00", true, "an hour before it opened"),
        ("2026-11-01 11:00:00", true, "while it was open"),
        ("2026-11-01 13:00:00", true, "an hour after it closed"),
        ("2026-11-01 13:01:00", false, "just after that hour"),
        ("2026-11-02 12:00:00", false, "between two trades"),
        (
            "2026-11-03 12:00:00",
            true,
            "between two trades an hour apart",
        ),
        ("2026-11-05 00:00:00", false, "no trade then"),
        ("2026-11-10 09:30:00", true, "the hour before an open trade"),
        ("2026-11-12 00:00:00", true, "while a trade is open"),
        ("2026-11-20 00:00:00", true, "newer than the cutoff"),
    ];
    for (time, _, _) in btc {
        put_candle(&mut conn, "BTCUSDT", "1m", at(time));
    }
    put_candle(&mut conn, "BTCUSDT", "5m", at("2026-11-02 12:00:00"));
    put_candle(&mut conn, "BTCUSDT", "5m", at("2026-11-01 11:00:00"));
    for time in ["2026-11-02 10:00:00", "2026-11-14 23:59:00"] {
        put_candle(&mut conn, "SOLUSDT", "1m", at(time));
    }
    put_candle(&mut conn, "SOLUSDT", "1m", at("2026-11-15 00:00:00"));

    let deleted = db::write_tx(&mut conn, |conn| {
        candles::prune(conn, at("2026-11-15 00:00:00"))
    })
    .unwrap();

    let kept: Vec<NaiveDateTime> = btc
        .iter()
        .filter(|(_, keep, _)| *keep)
        .map(|(time, _, _)| at(time))
        .collect();
    assert_eq!(
        stored_times(&mut conn, "BTCUSDT", "1m"),
        kept,
        "{:?}",
        btc.iter()
            .filter(|(_, keep, _)| !keep)
            .map(|(_, _, why)| why)
            .collect::<Vec<_>>()
    );
    assert_eq!(
        stored_times(&mut conn, "BTCUSDT", "5m"),
        [at("2026-11-01 11:00:00")],
        "every timeframe"
    );
    assert_eq!(
        stored_times(&mut conn, "SOLUSDT", "1m"),
        [at("2026-11-15 00:00:00")],
        "a symbol without trades keeps what is newer than the cutoff"
    );
    assert_eq!(deleted, 5 + 1 + 2);

    let again = db::write_tx(&mut conn, |conn| {
        candles::prune(conn, at("2026-11-15 00:00:00"))
    })
    .unwrap();
    assert_eq!(again, 0, "a second prune finds nothing more");
}

crate::on_both_backends!(
    a_batch_is_stored_as_given_and_read_back_by_range,
    the_minute_read_again_replaces_the_stored_one,
    bad_candles_are_skipped_and_the_rest_is_stored,
    the_table_refuses_a_malformed_candle_written_by_hand,
    the_prune_keeps_every_trade_span_and_deletes_the_rest_before_the_cutoff,
);
