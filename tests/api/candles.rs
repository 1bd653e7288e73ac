//! The `candles` table (DESIGN.md §11) on both backends: a batch is stored and read back as it
//! was given, the minute read again replaces the stored one, bad candles are left out, and the
//! prune keeps every trade's span (an hour either side) while deleting the rest of what is older
//! than the retention. Then the engine against the fake exchange: a tick stores the klines it
//! read for an open trade (and the hour before its open), a bad kline or a failing feed stores
//! nothing, and the leader prunes at most once an hour.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDateTime, Timelike, Utc};
use diesel::prelude::*;
use signaldesk::config::Config;
use signaldesk::db::candles::{self, Upserted};
use signaldesk::db::models::CandleRow;
use signaldesk::db::signals::CloseRequest;
use signaldesk::db::{self, leases, schema, Conn};
use signaldesk::domain::market::{Candle, Timeframe};
use signaldesk::domain::ExitReason;
use signaldesk::engine::Engine;
use signaldesk::feeds::{AnyFeed, PriceFeed};
use signaldesk::status::StatusBoard;

use crate::fake_exchange::{FakeExchange, Mode};
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
        candles::upsert(conn, Timeframe::M1, &[(symbol, list)])
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

    let stored = db::write_tx(&mut conn, |conn| {
        candles::upsert(conn, Timeframe::M1, &[("BTCUSDT", &btc), ("ETHUSDT", &eth)])
    })
    .unwrap();

    assert_eq!(stored.stored, 1_208);
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
    assert!(stored
        .skipped
        .iter()
        .all(|(symbol, time, _)| symbol == "BTCUSDT" && *time == at));
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

/// An engine on `db` reading the fake exchange, ticking BTCUSDT and ETHUSDT, with `extra`
/// settings.
fn engine(db: &TempDb, exchange: &FakeExchange, extra: &[(&str, &str)]) -> Arc<Engine> {
    let mut env = vec![
        ("DATABASE_URL".to_owned(), db.url()),
        ("SIGNALDESK_FEED".to_owned(), "bybit".to_owned()),
        ("SIGNALDESK_EXCHANGE_URL".to_owned(), exchange.url.clone()),
        (
            "SIGNALDESK_SYMBOLS".to_owned(),
            "BTCUSDT,ETHUSDT".to_owned(),
        ),
        ("SIGNALDESK_TICK_SECS".to_owned(), "1".to_owned()),
    ];
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let config = Arc::new(Config::from_layers(None, env, &[]).expect("config"));
    let feed = AnyFeed::from_config(&config, Utc::now()).expect("feed");
    let pool = db::open_pool(&config.database_url, 4).expect("pool");
    let status = StatusBoard::new(feed.source());
    Arc::new(Engine::new(pool, config, feed, status))
}

/// The start of the minute `minutes` from the start of this one (negative: before it).
fn minute(minutes: i64) -> DateTime<Utc> {
    let now = Utc::now();
    now.with_second(0).unwrap().with_nanosecond(0).unwrap() + Duration::minutes(minutes)
}

fn ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn a_tick_stores_the_klines_it_read_for_an_open_trade(db: TempDb) {
    let exchange = FakeExchange::start(&[("BTCUSDT", 100.0), ("ETHUSDT", 50.0)]);
    let opened = minute(-20);
    SignalBuilder::long("BTCUSDT").insert(&mut db.conn(), opened.naive_utc());
    let served = [
        (minute(-100), (99.0, 99.5, 98.5, 99.25)), // before the hour ahead of the open
        (minute(-70), (99.25, 99.75, 99.0, 99.5)), // in that hour: the chart's lead-in
        (minute(-10), (99.5, 101.5, 99.0, 100.75)), // while the trade is open
    ];
    for (open, ohlc) in served {
        exchange.candle("BTCUSDT", ms(open), ohlc, ms(open));
    }
    exchange.candle(
        "ETHUSDT",
        ms(minute(-10)),
        (50.0, 51.0, 49.0, 50.0),
        ms(minute(-10)),
    );

    actix_web::rt::System::new().block_on(async {
        let engine = engine(&db, &exchange, &[]);
        let outcome = engine.tick().await.unwrap();
        assert_eq!(outcome.updated, 1, "{outcome:?}");
        assert_eq!(outcome.candles_stored, 3, "{outcome:?}");
    });

    let rows = all(&mut db.conn());
    let expected: Vec<CandleRow> = served[1..]
        .iter()
        .map(|(open, ohlc)| (*open, *ohlc))
        .chain(std::iter::once((minute(0), (100.0, 100.0, 100.0, 100.0))))
        .map(|(open, (o, h, l, c))| CandleRow {
            symbol: "BTCUSDT".to_owned(),
            timeframe: "1m".to_owned(),
            open_time: open.naive_utc(),
            open: o,
            high: h,
            low: l,
            close: c,
            // The fake exchange's volume of every kline.
            volume: 10.0,
        })
        .collect();
    // The forming minute may have turned over between the stamp above and the poll.
    assert!(
        rows == expected
            || (rows[..2] == expected[..2]
                && rows.len() == 3
                && rows[2].open_time == minute(1).naive_utc()),
        "{rows:#?}"
    );
    assert!(
        rows.iter().all(|r| r.symbol == "BTCUSDT"),
        "ETHUSDT has no open trade: its klines are not read"
    );
}

fn a_bad_kline_or_a_failing_feed_stores_nothing(db: TempDb) {
    let exchange = FakeExchange::start(&[("BTCUSDT", 100.0), ("ETHUSDT", 50.0)]);
    let opened = minute(-20);
    SignalBuilder::long("BTCUSDT").insert(&mut db.conn(), opened.naive_utc());
    SignalBuilder::long("ETHUSDT")
        .levels(50.0, 45.0, 60.0)
        .insert(&mut db.conn(), opened.naive_utc());
    // BTCUSDT: a kline whose high is below its low fails the symbol's answer.
    exchange.candle(
        "BTCUSDT",
        ms(minute(-10)),
        (100.0, 99.0, 101.0, 100.0),
        ms(minute(-10)),
    );
    // ETHUSDT: a wick four times the body is left out; its neighbours are stored.
    for (i, high) in [(-12, 50.5), (-11, 200.0), (-10, 50.5)] {
        exchange.candle(
            "ETHUSDT",
            ms(minute(i)),
            (50.0, high, 49.5, 50.0),
            ms(minute(i)),
        );
    }

    actix_web::rt::System::new().block_on(async {
        let engine = engine(&db, &exchange, &[]);
        engine.tick().await.unwrap();
        let mut conn = db.conn();
        assert!(stored_times(&mut conn, "BTCUSDT", "1m").is_empty());
        let eth = stored_times(&mut conn, "ETHUSDT", "1m");
        assert_eq!(
            eth[..2],
            [minute(-12).naive_utc(), minute(-10).naive_utc()],
            "{eth:?}"
        );
        assert!(!eth.contains(&minute(-11).naive_utc()));

        // The exchange fails: nothing of this tick is stored.
        diesel::delete(schema::candles::table)
            .execute(&mut conn)
            .unwrap();
        exchange.set_mode(Mode::ServerError);
        let outcome = engine.tick().await.unwrap();
        assert_eq!(outcome.candles_stored, 0);
        assert!(all(&mut conn).is_empty());
    });
}

fn the_leader_prunes_old_candles_at_most_once_an_hour(db: TempDb) {
    let exchange = FakeExchange::start(&[("BTCUSDT", 100.0), ("ETHUSDT", 50.0)]);
    let now = signaldesk::clock::now_utc().with_nanosecond(0).unwrap();
    let mut conn = db.conn();
    let days_ago = |days: i64, hours: i64| now - Duration::days(days) + Duration::hours(hours);
    closed_between(
        &mut conn,
        "BTCUSDT",
        &days_ago(3, 0).format("%Y-%m-%d %H:%M:%S").to_string(),
        &days_ago(3, 2).format("%Y-%m-%d %H:%M:%S").to_string(),
    );
    let kept = [days_ago(3, -1), days_ago(3, 1), days_ago(3, 3)];
    let pruned = [days_ago(3, -2), days_ago(2, 0), days_ago(5, 0)];
    for time in kept.iter().chain(&pruned) {
        put_candle(&mut conn, "BTCUSDT", "1m", *time);
    }
    let recent = now - Duration::hours(20);
    put_candle(&mut conn, "ETHUSDT", "1m", recent);

    actix_web::rt::System::new().block_on(async {
        let engine = engine(&db, &exchange, &[("SIGNALDESK_CANDLE_RETENTION_DAYS", "1")]);
        engine.tick().await.unwrap();
        assert_eq!(stored_times(&mut conn, "BTCUSDT", "1m"), kept);
        assert_eq!(
            stored_times(&mut conn, "ETHUSDT", "1m"),
            [recent],
            "within the retention"
        );
        let schedule = leases::current(&mut conn, leases::CANDLE_PRUNE)
            .unwrap()
            .expect("the prune's schedule");
        assert_eq!(
            schedule.expires_at - schedule.acquired_at,
            Duration::hours(1)
        );

        // Within the hour the next tick leaves old candles alone.
        put_candle(&mut conn, "BTCUSDT", "1m", days_ago(5, 0));
        engine.tick().await.unwrap();
        assert!(stored_times(&mut conn, "BTCUSDT", "1m").contains(&days_ago(5, 0)));

        // Once the hour is over (its schedule set back, as an hour passing would), it prunes.
        diesel::update(schema::leases::table.find(leases::CANDLE_PRUNE))
            .set(schema::leases::expires_at.eq(schedule.acquired_at))
            .execute(&mut conn)
            .unwrap();
        engine.tick().await.unwrap();
        assert_eq!(stored_times(&mut conn, "BTCUSDT", "1m"), kept);
    });
}

/// The price path of [`traded_through_candles`] at minute `m` of its trade: through the first
/// target, a pullback, breakeven, the second target, and on to the final one.
fn path(m: f64) -> f64 {
    const KEYS: [(f64, f64); 9] = [
        (-40.0, 99.0),
        (0.0, 100.0),
        (40.0, 103.6),
        (70.0, 102.0),
        (90.0, 105.4),
        (120.0, 104.0),
        (150.0, 106.7),
        (180.0, 105.2),
        (200.0, 110.3),
    ];
    let noise = 0.35 * (m * 1.7).sin() + 0.2 * (m * 0.37).sin();
    let base = KEYS.windows(2).find(|k| m <= k[1].0).map_or(110.3, |k| {
        let ((t0, p0), (t1, p1)) = (k[0], k[1]);
        p0 + (p1 - p0) * ((m - t0) / (t1 - t0)).clamp(0.0, 1.0)
    });
    base + noise
}

/// A long of 20 at 100 (stop 95, target 110, 30 % at 103 and at 106, breakeven at 1R) opened at
/// `opened`, with the 1-minute candles of `symbol` from 40 minutes before to 260 after stored,
/// and the trade followed through them every five minutes as the engine would: two partial
/// exits, the stop to breakeven, the final target. Returns the closed trade.
pub(crate) fn traded_through_candles(conn: &mut Conn, symbol: &str, opened: NaiveDateTime) -> i32 {
    let series: Vec<Candle> = (-40..260)
        .map(|i| {
            let m = f64::from(i);
            let (open, close) = (path(m), path(m + 1.0));
            Candle::new(
                opened.and_utc() + Duration::minutes(i64::from(i)),
                open,
                open.max(close) + 0.12 + 0.1 * (m * 2.3).sin().abs(),
                open.min(close) - 0.12 - 0.1 * (m * 1.1).cos().abs(),
                close,
                3.0 + (m * 0.9).sin().abs() * 4.0,
            )
            .unwrap()
        })
        .collect();
    db::write_tx(conn, |conn| {
        candles::upsert(conn, Timeframe::M1, &[(symbol, &series)])
    })
    .unwrap();
    let trade = SignalBuilder::long(symbol)
        .levels(100.0, 95.0, 110.0)
        .quantity(20.0)
        .management(signaldesk::domain::management::Management {
            take_profits: crate::helpers::targets(&[(103.0, 0.3), (106.0, 0.3)]),
            breakeven_at_r: Some(1.0),
            trailing_stop_pct: None,
            trailing_activate_at_r: 0.0,
        })
        .insert(conn, opened);
    let minute_of = |c: &Candle| (c.open_time.naive_utc() - opened).num_minutes();
    for step in (5..260).step_by(5) {
        let interval: Vec<&Candle> = series
            .iter()
            .filter(|c| (step - 5..step).contains(&minute_of(c)))
            .collect();
        let high = interval.iter().map(|c| c.high).fold(f64::MIN, f64::max);
        let low = interval.iter().map(|c| c.low).fold(f64::MAX, f64::min);
        let last = interval.last().unwrap().close;
        crate::helpers::tick_once(
            conn,
            symbol,
            (last, high, low),
            opened + Duration::minutes(step),
        );
        let row = signaldesk::db::signals::get_signal(conn, trade.signal_id()).unwrap();
        if row.status == signaldesk::domain::SignalStatus::Closed {
            break;
        }
    }
    let row = signaldesk::db::signals::get_signal(conn, trade.signal_id()).unwrap();
    assert_eq!(
        (row.status, row.exit_reason, row.targets_hit),
        (
            signaldesk::domain::SignalStatus::Closed,
            Some(ExitReason::TakeProfit),
            2
        ),
        "the fixture's trade"
    );
    trade.id
}

/// The value of the attribute `name` of the first element that has it.
fn attribute<'a>(html: &'a str, name: &str) -> &'a str {
    let start = html
        .find(&format!("{name}=\""))
        .unwrap_or_else(|| panic!("no {name}"))
        + name.len()
        + 2;
    &html[start..start + html[start..].find('"').unwrap()]
}

fn the_trade_page_draws_the_stored_candles_and_marks_the_trade(db: TempDb) {
    let mut conn = db.conn();
    let opened = at("2026-11-20 09:00:00");
    let traded = traded_through_candles(&mut conn, "SOLUSDT", opened);
    // Ten days of minutes: too many to draw one by one.
    let long = SignalBuilder::long("BTCUSDT").insert(&mut conn, at("2026-11-01 00:00:00"));
    close_trade(
        &mut conn,
        long.signal_id(),
        &CloseRequest {
            exit_price: 101.0,
            exit_reason: ExitReason::Manual,
            fee_rate: FEE_RATE,
            closed_at: at("2026-11-11 00:00:00"),
        },
    )
    .unwrap();
    store(&mut conn, "BTCUSDT", &series("2026-10-31 23:00:00", 14_520));
    let bare = SignalBuilder::long("ETHUSDT").insert(&mut conn, at("2026-11-20 09:00:00"));
    let exchange = FakeExchange::start(&[]);
    let server = crate::helpers::TestServer::start(
        &db,
        &[
            ("SIGNALDESK_EXCHANGE_URL", &exchange.url),
            ("SIGNALDESK_SYMBOLS", "XRPUSDT"),
        ],
    );
    let page = |id: i32| {
        let response = server.get(&format!("/trades/{id}"));
        assert_eq!(response.status(), 200);
        response.text().unwrap()
    };

    let html = page(traded);
    // Its span (09:00 to the close at 09:xx) and a tenth of it either side, minute by minute.
    let trade =
        signaldesk::db::signals::get_signal(&mut conn, signaldesk::db::models::SignalId(traded))
            .unwrap();
    let closed = trade.closed_at.unwrap();
    let pad = Duration::seconds((closed - opened).num_seconds() / 10);
    let expected = (closed + pad - (opened - pad)).num_minutes() + 1;
    assert_eq!(attribute(&html, "data-bucket"), "1m");
    assert_eq!(attribute(&html, "data-candles"), expected.to_string());
    assert_eq!(
        html.matches("<g class=\"candle ").count() as i64,
        expected,
        "one drawn candle per stored minute of the window"
    );
    let first = candles::minute_candles(&mut conn, "SOLUSDT", opened - pad, closed + pad).unwrap();
    let c = &first[0];
    assert!(html.contains(&format!(
        "<title>{} (1m) open {} high {} low {} close {} volume ",
        c.open_time.format("%Y-%m-%d %H:%M"),
        signaldesk::domain::format::price(c.open),
        signaldesk::domain::format::price(c.high),
        signaldesk::domain::format::price(c.low),
        signaldesk::domain::format::price(c.close)
    )));
    // The marks: the entry, three exits, the breakeven move, the targets, the MFE and MAE.
    assert!(html.contains("<title>entry LONG 20 at 100.00, 2026-11-20 09:00:00</title>"));
    assert_eq!(html.matches("class=\"exit-marker ").count(), 3);
    assert_eq!(html.matches("class=\"stop-move\"").count(), 1);
    assert!(html.contains("(BREAKEVEN), 2026-11-20 "));
    for label in [
        "target 110.00",
        "TP1 30% 103.00",
        "TP2 30% 106.00",
        "initial stop 95.00",
        "stop 100.00",
    ] {
        assert!(
            html.contains(&format!(">{label}</text>")),
            "no level {label}"
        );
    }
    assert!(html.contains("<title>MFE: best price while open "));
    assert!(html.contains("<title>MAE: worst price while open "));
    assert!(html.contains(">time (UTC)</text>") && html.contains(">price</text>"));
    assert!(html.matches("class=\"tick\"").count() >= 6, "labelled axes");
    assert!(!html.contains("No candles stored for this trade"));

    let html = page(long.id);
    assert_eq!(attribute(&html, "data-bucket"), "1h");
    let drawn = html.matches("<g class=\"candle ").count();
    assert!((240..=300).contains(&drawn), "{drawn} candles");

    let html = page(bare.id);
    assert!(!html.contains("<g class=\"candle "));
    assert!(html.contains("No candles stored for this trade"));
    assert!(
        html.contains("class=\"chart trade\""),
        "the level chart instead"
    );
}

crate::on_both_backends!(
    a_batch_is_stored_as_given_and_read_back_by_range,
    the_minute_read_again_replaces_the_stored_one,
    bad_candles_are_skipped_and_the_rest_is_stored,
    the_table_refuses_a_malformed_candle_written_by_hand,
    the_prune_keeps_every_trade_span_and_deletes_the_rest_before_the_cutoff,
    a_tick_stores_the_klines_it_read_for_an_open_trade,
    a_bad_kline_or_a_failing_feed_stores_nothing,
    the_leader_prunes_old_candles_at_most_once_an_hour,
    the_trade_page_draws_the_stored_candles_and_marks_the_trade,
);
