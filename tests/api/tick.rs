//! `update_paper_trades` called directly with chosen quotes and a chosen `now`.

use std::collections::BTreeMap;

use signaldesk::db::check::run_checks;
use signaldesk::db::daily_stats;
use signaldesk::db::signals::{get_active_signals, get_signal, insert_signal, PNL_BATCH};
use signaldesk::domain::rules::TradingRules;
use signaldesk::domain::{ExitReason, SignalStatus};
use signaldesk::engine::tick::update_paper_trades;
use signaldesk::feeds::Quote;

use signaldesk::db::Backend;

use crate::helpers::{at, day, SignalBuilder, TempDb, INITIAL_BALANCE};

/// A journal row for `signal_id` that should not exist (a hand edit, an import gone wrong): it
/// makes that trade's close fail on UNIQUE(signal_id).
pub fn stray_journal_row(conn: &mut signaldesk::db::Conn, signal_id: i32) {
    use diesel::RunQueryDsl;
    diesel::sql_query(format!(
        "INSERT INTO journal_entries (signal_id, symbol, direction, entry_price, exit_price, \
         quantity, pnl, pnl_pct, r_multiple, outcome, exit_reason, opened_at, closed_at, \
         duration_secs, balance_after, created_at, updated_at) VALUES ({signal_id}, 'X', \
         'LONG', 1, 1, 1, 0, 0, 0, 'BREAKEVEN', 'MANUAL', '2026-01-01 00:00:00', \
         '2026-01-01 00:00:00', 0, 0, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
    ))
    .execute(conn)
    .expect("stray journal row");
}

fn quotes(list: &[(&str, f64, f64, f64)], when: &str) -> BTreeMap<String, Quote> {
    list.iter()
        .map(|(symbol, last, high, low)| {
            let time = at(when).and_utc();
            let quote = Quote {
                symbol: symbol.to_string(),
                last_price: *last,
                high: *high,
                low: *low,
                price_time: time,
                market_time: time,
                change_24h_pct: None,
                high_24h: None,
                low_24h: None,
                volume_24h: None,
                minute_candles: Vec::new(),
            };
            (symbol.to_string(), quote)
        })
        .collect()
}

fn a_tick_refreshes_closes_and_leaves_unpriced_trades_alone(db: TempDb) {
    let mut conn = db.conn();
    let rules = TradingRules::defaults_for(INITIAL_BALANCE);
    let open = SignalBuilder::long("BTCUSDT").insert(&mut conn, at("2026-11-25 09:00:00"));
    let both = SignalBuilder::short("ETHUSDT").insert(&mut conn, at("2026-11-25 09:00:00"));
    let unpriced = SignalBuilder::long("SOLUSDT").insert(&mut conn, at("2026-11-25 09:00:00"));
    let too_new = SignalBuilder::long("XRPUSDT").insert(&mut conn, at("2026-11-25 09:00:10"));

    let outcome = update_paper_trades(
        &mut conn,
        &quotes(
            &[
                ("BTCUSDT", 103.0, 104.0, 98.0),
                ("ETHUSDT", 100.0, 106.0, 89.0), // touched both its stop and its target
                ("XRPUSDT", 50.0, 50.0, 50.0),   // polled before that trade opened
            ],
            "2026-11-25 09:00:05",
        ),
        &rules,
        INITIAL_BALANCE,
        at("2026-11-25 09:00:05"),
    )
    .unwrap();

    assert_eq!((outcome.updated, outcome.unpriced), (1, 2));
    assert_eq!(outcome.closed.len(), 1);
    let refreshed = get_signal(&mut conn, open.signal_id()).unwrap();
    assert_eq!(refreshed.current_price, 103.0);
    assert_eq!(
        (refreshed.max_favorable_price, refreshed.max_adverse_price),
        (104.0, 98.0)
    );
    let expected_unrealized =
        (103.0 * (1.0 - rules.slippage) - 100.0) - 0.1 - 103.0 * (1.0 - rules.slippage) * 0.001;
    assert!((refreshed.unrealized_pnl - expected_unrealized).abs() < 1e-9);
    assert_eq!(refreshed.updated_at, at("2026-11-25 09:00:05"));
    let closed = get_signal(&mut conn, both.signal_id()).unwrap();
    assert_eq!(closed.exit_reason, Some(ExitReason::StopLoss), "stop first");
    assert_eq!(closed.max_adverse_price, 106.0);
    for untouched in [unpriced, too_new] {
        let row = get_signal(&mut conn, untouched.signal_id()).unwrap();
        assert_eq!(row, untouched);
    }
    let stats = daily_stats::for_date(&mut conn, day("2026-11-25"))
        .unwrap()
        .unwrap();
    assert_eq!((stats.trades_closed, stats.losses), (1, 1));
    assert!(run_checks(&mut conn, INITIAL_BALANCE)
        .unwrap()
        .iter()
        .all(|f| f.ok));
}

fn time_exits_close_at_market_on_their_day(db: TempDb) {
    let mut conn = db.conn();
    let mut rules = TradingRules::defaults_for(INITIAL_BALANCE);
    rules.max_hold_hours = Some(4.0);
    let trade = SignalBuilder::long("BTCUSDT").insert(&mut conn, at("2026-11-25 22:00:00"));

    let early = update_paper_trades(
        &mut conn,
        &quotes(&[("BTCUSDT", 101.0, 101.0, 101.0)], "2026-11-26 01:59:59"),
        &rules,
        INITIAL_BALANCE,
        at("2026-11-26 01:59:59"),
    )
    .unwrap();
    assert!(early.closed.is_empty());
    let due = update_paper_trades(
        &mut conn,
        &quotes(&[("BTCUSDT", 101.0, 101.0, 101.0)], "2026-11-26 02:00:00"),
        &rules,
        INITIAL_BALANCE,
        at("2026-11-26 02:00:00"),
    )
    .unwrap();
    assert_eq!(due.closed[0].reason, ExitReason::MaxDuration);
    let row = get_signal(&mut conn, trade.signal_id()).unwrap();
    assert_eq!(row.status, SignalStatus::Closed);
    // Booked on the day it closed, which starts from the previous day's balance.
    let next_day = daily_stats::for_date(&mut conn, day("2026-11-26"))
        .unwrap()
        .unwrap();
    assert_eq!(next_day.trades_closed, 1);
    assert_eq!(next_day.starting_balance, INITIAL_BALANCE);
    assert!(run_checks(&mut conn, INITIAL_BALANCE)
        .unwrap()
        .iter()
        .all(|f| f.ok));
}

fn a_trade_that_cannot_be_booked_is_skipped_and_every_other_trade_is_booked(db: TempDb) {
    let mut conn = db.conn();
    let rules = TradingRules::defaults_for(INITIAL_BALANCE);
    let broken = SignalBuilder::long("BTCUSDT").insert(&mut conn, at("2026-11-25 09:00:00"));
    let fine = SignalBuilder::long("ETHUSDT").insert(&mut conn, at("2026-11-25 09:00:00"));
    stray_journal_row(&mut conn, broken.id);

    let outcome = update_paper_trades(
        &mut conn,
        &quotes(
            &[
                ("BTCUSDT", 111.0, 111.0, 100.0),
                ("ETHUSDT", 111.0, 111.0, 100.0),
            ],
            "2026-11-25 09:00:05",
        ),
        &rules,
        INITIAL_BALANCE,
        at("2026-11-25 09:00:05"),
    )
    .expect("the tick itself succeeds");

    assert_eq!(outcome.closed.len(), 1);
    assert_eq!(outcome.closed[0].signal_id, fine.id);
    assert_eq!(outcome.failed.len(), 1);
    assert_eq!(outcome.failed[0].signal_id, broken.id);
    assert!(
        outcome.failed[0].error.to_lowercase().contains("unique"),
        "{outcome:?}"
    );
    // Rolled back alone: not even its live figures moved.
    assert_eq!(get_signal(&mut conn, broken.signal_id()).unwrap(), broken);
    let closed = get_signal(&mut conn, fine.signal_id()).unwrap();
    assert_eq!(closed.exit_reason, Some(ExitReason::TakeProfit));
    let stats = daily_stats::for_date(&mut conn, day("2026-11-25"))
        .unwrap()
        .unwrap();
    assert_eq!(stats.trades_closed, 1);
}

fn a_trade_is_priced_up_to_the_time_of_the_quote_that_priced_it(db: TempDb) {
    let mut conn = db.conn();
    let rules = TradingRules::defaults_for(INITIAL_BALANCE);
    let open = SignalBuilder::long("BTCUSDT").insert(&mut conn, at("2026-11-25 09:00:00"));
    let stopped = SignalBuilder::long("ETHUSDT").insert(&mut conn, at("2026-11-25 09:00:00"));

    // Polled at 09:01:00, but the exchange's data is 20 s behind.
    let outcome = update_paper_trades(
        &mut conn,
        &quotes(
            &[
                ("BTCUSDT", 101.0, 101.0, 99.0),
                ("ETHUSDT", 94.0, 100.0, 94.0),
            ],
            "2026-11-25 09:00:40",
        ),
        &rules,
        INITIAL_BALANCE,
        at("2026-11-25 09:01:00"),
    )
    .unwrap();

    assert_eq!((outcome.updated, outcome.closed.len()), (1, 1));
    let row = get_signal(&mut conn, open.signal_id()).unwrap();
    assert_eq!(
        row.updated_at,
        at("2026-11-25 09:00:40"),
        "the next tick reads the market from the quote's time, not the poll's"
    );
    let closed = get_signal(&mut conn, stopped.signal_id()).unwrap();
    assert_eq!(closed.closed_at, Some(at("2026-11-25 09:00:40")));
}

fn a_daily_close_missed_while_the_server_was_down_closes_at_the_first_tick(db: TempDb) {
    let mut conn = db.conn();
    let mut rules = TradingRules::defaults_for(INITIAL_BALANCE);
    rules.eod_close_utc = chrono::NaiveTime::from_hms_opt(21, 0, 0);
    let before = SignalBuilder::long("BTCUSDT").insert(&mut conn, at("2026-11-25 10:00:00"));
    let after = SignalBuilder::long("ETHUSDT").insert(&mut conn, at("2026-11-25 22:00:00"));

    // Down from 20:00 to 02:00: the 21:00 close was missed.
    let outcome = update_paper_trades(
        &mut conn,
        &quotes(
            &[
                ("BTCUSDT", 101.0, 101.0, 99.0),
                ("ETHUSDT", 101.0, 101.0, 99.0),
            ],
            "2026-11-26 02:00:00",
        ),
        &rules,
        INITIAL_BALANCE,
        at("2026-11-26 02:00:00"),
    )
    .unwrap();

    assert_eq!(outcome.closed.len(), 1);
    assert_eq!(outcome.closed[0].signal_id, before.id);
    assert_eq!(outcome.closed[0].reason, ExitReason::EndOfDay);
    let waiting = get_signal(&mut conn, after.signal_id()).unwrap();
    assert_eq!(
        waiting.status,
        SignalStatus::Active,
        "opened after the missed close"
    );
}

/// A trigger that makes every update of signal `id` fail, in the backend's own dialect.
fn refuse_updates_of(db: &TempDb, conn: &mut signaldesk::db::Conn, id: i32) {
    use diesel::connection::SimpleConnection;
    let sql = match db.backend() {
        Backend::Sqlite => format!(
            "CREATE TRIGGER refuse BEFORE UPDATE ON signals WHEN OLD.id = {id} \
             BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END;"
        ),
        Backend::Postgres => format!(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'refused by a trigger'; END $$; \
             CREATE TRIGGER refuse BEFORE UPDATE ON signals FOR EACH ROW \
             WHEN (OLD.id = {id}) EXECUTE FUNCTION refuse();"
        ),
    };
    conn.batch_execute(&sql).unwrap();
}

fn a_refresh_that_fails_is_skipped_and_the_rest_of_the_tick_commits(db: TempDb) {
    let mut conn = db.conn();
    let rules = TradingRules::defaults_for(INITIAL_BALANCE);
    let broken = SignalBuilder::long("BTCUSDT").insert(&mut conn, at("2026-11-25 09:00:00"));
    let fine = SignalBuilder::long("ETHUSDT").insert(&mut conn, at("2026-11-25 09:00:00"));
    refuse_updates_of(&db, &mut conn, broken.id);

    let outcome = update_paper_trades(
        &mut conn,
        &quotes(
            &[
                ("BTCUSDT", 101.0, 102.0, 99.0),
                ("ETHUSDT", 101.0, 102.0, 99.0),
            ],
            "2026-11-25 09:00:05",
        ),
        &rules,
        INITIAL_BALANCE,
        at("2026-11-25 09:00:05"),
    )
    .expect("the tick itself succeeds");

    assert_eq!(outcome.updated, 1);
    assert_eq!(outcome.failed.len(), 1, "{outcome:?}");
    assert!(outcome.failed[0].error.contains("refused by a trigger"));
    assert_eq!(get_signal(&mut conn, broken.signal_id()).unwrap(), broken);
    let refreshed = get_signal(&mut conn, fine.signal_id()).unwrap();
    assert_eq!(refreshed.current_price, 101.0);
}

/// `count` LONG BTCUSDT trades opened at 09:00, in one write transaction; their ids.
fn open_many(conn: &mut signaldesk::db::Conn, count: usize) -> Vec<i32> {
    signaldesk::db::write_tx(conn, |conn| {
        (0..count)
            .map(|_| {
                let row = SignalBuilder::long("BTCUSDT").build(at("2026-11-25 09:00:00"));
                match insert_signal(conn, &row, INITIAL_BALANCE)? {
                    signaldesk::db::signals::AddOutcome::Created(row) => Ok(row.id),
                    existing => panic!("{existing:?}"),
                }
            })
            .collect::<diesel::QueryResult<Vec<i32>>>()
    })
    .expect("open the trades")
}

/// The live figures a tick writes.
fn live_figures(row: &signaldesk::db::models::SignalRow) -> (f64, f64, f64, f64, String) {
    (
        row.current_price,
        row.unrealized_pnl,
        row.max_favorable_price,
        row.max_adverse_price,
        row.updated_at.to_string(),
    )
}

fn a_tick_refreshes_more_trades_than_one_statement_writes(db: TempDb) {
    let mut conn = db.conn();
    let rules = TradingRules::defaults_for(INITIAL_BALANCE);
    let mut ids = open_many(&mut conn, PNL_BATCH);
    // A close among the refreshes, then a second and a third batch.
    let closing = SignalBuilder::long("ETHUSDT").insert(&mut conn, at("2026-11-25 09:00:00"));
    ids.extend(open_many(&mut conn, PNL_BATCH + 1));

    let outcome = update_paper_trades(
        &mut conn,
        &quotes(
            &[
                ("BTCUSDT", 103.0, 104.0, 98.0),
                ("ETHUSDT", 111.0, 111.0, 100.0),
            ],
            "2026-11-25 09:00:05",
        ),
        &rules,
        INITIAL_BALANCE,
        at("2026-11-25 09:00:05"),
    )
    .unwrap();

    assert_eq!(outcome.updated, ids.len());
    assert_eq!(outcome.closed.len(), 1);
    assert_eq!(outcome.closed[0].signal_id, closing.id);
    assert!(outcome.failed.is_empty(), "{outcome:?}");
    let open = get_active_signals(&mut conn).unwrap();
    assert_eq!(open.iter().map(|r| r.id).collect::<Vec<_>>(), ids);
    let expected_unrealized =
        (103.0 * (1.0 - rules.slippage) - 100.0) - 0.1 - 103.0 * (1.0 - rules.slippage) * 0.001;
    for row in &open {
        assert_eq!(
            (
                row.current_price,
                row.max_favorable_price,
                row.max_adverse_price
            ),
            (103.0, 104.0, 98.0),
            "trade {}",
            row.id
        );
        assert!((row.unrealized_pnl - expected_unrealized).abs() < 1e-9);
        assert_eq!(row.updated_at, at("2026-11-25 09:00:05"));
    }
    assert!(run_checks(&mut conn, INITIAL_BALANCE)
        .unwrap()
        .iter()
        .all(|f| f.ok));
}

fn a_refresh_that_fails_in_a_large_tick_leaves_out_only_its_trade(db: TempDb) {
    let mut conn = db.conn();
    let rules = TradingRules::defaults_for(INITIAL_BALANCE);
    let ids = open_many(&mut conn, 2 * PNL_BATCH + 1);
    // In the second batch: that batch is written again trade by trade, the others are not.
    let broken_id = ids[PNL_BATCH + 7];
    let broken = get_signal(&mut conn, signaldesk::db::models::SignalId(broken_id)).unwrap();
    refuse_updates_of(&db, &mut conn, broken_id);

    let outcome = update_paper_trades(
        &mut conn,
        &quotes(&[("BTCUSDT", 101.0, 102.0, 99.0)], "2026-11-25 09:00:05"),
        &rules,
        INITIAL_BALANCE,
        at("2026-11-25 09:00:05"),
    )
    .expect("the tick itself succeeds");

    assert_eq!(outcome.updated, ids.len() - 1);
    assert_eq!(outcome.failed.len(), 1, "{:?}", outcome.failed);
    assert_eq!(outcome.failed[0].signal_id, broken_id);
    assert!(outcome.failed[0].error.contains("refused by a trigger"));
    assert_eq!(get_signal(&mut conn, broken.signal_id()).unwrap(), broken);
    // Every other trade got the same figures, whether its batch was written at once or trade
    // by trade.
    let open = get_active_signals(&mut conn).unwrap();
    let refreshed: Vec<_> = open.iter().filter(|r| r.id != broken_id).collect();
    assert_eq!(refreshed.len(), ids.len() - 1);
    let first = live_figures(refreshed[0]);
    assert_eq!(first.0, 101.0);
    assert_eq!(first.4, at("2026-11-25 09:00:05").to_string());
    for row in refreshed {
        assert_eq!(live_figures(row), first, "trade {}", row.id);
    }
}

crate::on_both_backends!(
    a_tick_refreshes_closes_and_leaves_unpriced_trades_alone,
    time_exits_close_at_market_on_their_day,
    a_trade_that_cannot_be_booked_is_skipped_and_every_other_trade_is_booked,
    a_trade_is_priced_up_to_the_time_of_the_quote_that_priced_it,
    a_refresh_that_fails_is_skipped_and_the_rest_of_the_tick_commits,
    a_daily_close_missed_while_the_server_was_down_closes_at_the_first_tick,
    a_tick_refreshes_more_trades_than_one_statement_writes,
    a_refresh_that_fails_in_a_large_tick_leaves_out_only_its_trade,
);
