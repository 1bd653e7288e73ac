//! The repository against real temporary SQLite files: the close transaction, the daily
//! balance chain, "today" windows and the invariants.

use diesel::prelude::*;
use diesel::sql_types::Text;
use signaldesk::db::check::run_checks;
use signaldesk::db::signals::{
    get_active_signals, get_closed_signals_today, get_signal, get_signals_today,
    update_signals_pnl, AddOutcome, CloseOutcome, CloseRequest, PnlRefresh, PnlUpdate,
};
use signaldesk::db::{daily_stats, journal, overview};
use signaldesk::domain::{ExitReason, Outcome, SignalStatus};

use crate::helpers::{
    at, close_trade, day, insert, SignalBuilder, TempDb, FEE_RATE, INITIAL_BALANCE,
};

fn close_at(price: f64, reason: ExitReason, when: &str) -> CloseRequest {
    CloseRequest {
        exit_price: price,
        exit_reason: reason,
        fee_rate: FEE_RATE,
        closed_at: at(when),
    }
}

fn assert_close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-9, "{a} != {b}");
}

fn assert_invariants_hold(db: &TempDb) {
    let findings = run_checks(&mut db.conn(), INITIAL_BALANCE).unwrap();
    let failed: Vec<_> = findings.iter().filter(|f| !f.ok).collect();
    assert!(failed.is_empty(), "violated: {failed:#?}");
}

fn closing_a_trade_books_signal_journal_and_balance_in_one_go(db: TempDb) {
    let mut conn = db.conn();
    let signal = SignalBuilder::long("BTCUSDT")
        .levels(100.0, 95.0, 110.0)
        .quantity(2.0)
        .notes("breakout retest")
        .insert(&mut conn, at("2026-11-25 09:00:00"));

    let outcome = close_trade(
        &mut conn,
        signal.signal_id(),
        &close_at(110.0, ExitReason::TakeProfit, "2026-11-25 10:30:00"),
    )
    .unwrap();

    let CloseOutcome::Closed(closed) = outcome else {
        panic!("expected a close, got {outcome:?}")
    };
    // gross (110 − 100) × 2 = 20; fees 0.2 on entry + 0.22 on exit
    let pnl = 20.0 - 0.42;
    let row = get_signal(&mut conn, signal.signal_id()).unwrap();
    assert_eq!(row.status, SignalStatus::Closed);
    assert_eq!(row.exit_price, Some(110.0));
    assert_eq!(row.exit_reason, Some(ExitReason::TakeProfit));
    assert_close(row.fees, 0.42);
    assert_close(row.pnl.unwrap(), pnl);
    assert_eq!(row.closed_at, Some(at("2026-11-25 10:30:00")));

    let entry = journal::for_signal(&mut conn, signal.id).unwrap().unwrap();
    assert_eq!(entry, closed.journal);
    assert_eq!(entry.outcome, Outcome::Win);
    assert_eq!(entry.duration_secs, 5_400);
    assert_close(entry.r_multiple, pnl / 10.0);
    assert_close(entry.pnl_pct, pnl / 200.0 * 100.0);
    assert_close(entry.balance_after, INITIAL_BALANCE + pnl);
    assert_eq!(entry.notes.as_deref(), Some("breakout retest"));

    let stats = daily_stats::for_date(&mut conn, day("2026-11-25"))
        .unwrap()
        .unwrap();
    assert_eq!((stats.trades_closed, stats.wins, stats.losses), (1, 1, 0));
    assert_eq!(stats.signals_generated, 1);
    assert_close(stats.paper_balance, INITIAL_BALANCE + pnl);
    assert_close(stats.realized_pnl, pnl);
    assert_close(stats.total_pnl, pnl);
    assert_invariants_hold(&db);
}

fn a_second_close_books_nothing_and_says_why(db: TempDb) {
    let mut conn = db.conn();
    let signal = SignalBuilder::short("ETHUSDT").insert(&mut conn, at("2026-11-25 09:00:00"));
    let first = close_trade(
        &mut conn,
        signal.signal_id(),
        &close_at(105.0, ExitReason::StopLoss, "2026-11-25 09:05:00"),
    )
    .unwrap();
    assert!(matches!(first, CloseOutcome::Closed(_)));
    let balance = daily_stats::current_balance(&mut conn, INITIAL_BALANCE).unwrap();

    let second = close_trade(
        &mut conn,
        signal.signal_id(),
        &close_at(90.0, ExitReason::TakeProfit, "2026-11-25 09:06:00"),
    )
    .unwrap();

    assert_eq!(second, CloseOutcome::NotActive(SignalStatus::Closed));
    assert_eq!(
        daily_stats::current_balance(&mut conn, INITIAL_BALANCE).unwrap(),
        balance
    );
    let row = get_signal(&mut conn, signal.signal_id()).unwrap();
    assert_eq!(row.exit_reason, Some(ExitReason::StopLoss));
    let stats = daily_stats::for_date(&mut conn, day("2026-11-25"))
        .unwrap()
        .unwrap();
    assert_eq!((stats.trades_closed, stats.losses), (1, 1));
    assert_eq!(
        journal::get_journal_entries_today(&mut conn, day("2026-11-25"))
            .unwrap()
            .len(),
        1
    );
    assert_invariants_hold(&db);
}

fn closing_an_unknown_signal_is_not_found_and_writes_nothing(db: TempDb) {
    let mut conn = db.conn();
    let result = close_trade(
        &mut conn,
        signaldesk::db::models::SignalId(404),
        &close_at(1.0, ExitReason::Manual, "2026-11-25 09:00:00"),
    );
    assert_eq!(result, Err(diesel::result::Error::NotFound));
    assert_eq!(daily_stats::latest(&mut conn).unwrap(), None);
}

fn balance_is_carried_across_utc_midnight_and_across_missed_days(db: TempDb) {
    let mut conn = db.conn();
    let winner = SignalBuilder::long("BTCUSDT").insert(&mut conn, at("2026-11-24 22:00:00"));
    close_trade(
        &mut conn,
        winner.signal_id(),
        &close_at(110.0, ExitReason::TakeProfit, "2026-11-24 23:59:59.999999"),
    )
    .unwrap();
    let day1 = daily_stats::for_date(&mut conn, day("2026-11-24"))
        .unwrap()
        .unwrap();
    let overnight = SignalBuilder::long("SOLUSDT").insert(&mut conn, at("2026-11-24 23:00:00"));

    // Closes just after midnight: the new day's row must start from the previous close.
    close_trade(
        &mut conn,
        overnight.signal_id(),
        &close_at(95.0, ExitReason::StopLoss, "2026-11-25 00:00:00"),
    )
    .unwrap();

    let day2 = daily_stats::for_date(&mut conn, day("2026-11-25"))
        .unwrap()
        .unwrap();
    assert_close(day2.starting_balance, day1.paper_balance);
    assert_ne!(day2.starting_balance, INITIAL_BALANCE);
    assert_close(day2.total_pnl, day1.total_pnl + day2.realized_pnl);
    assert_eq!(day2.signals_generated, 0);
    assert_eq!((day2.trades_closed, day2.losses), (1, 1));

    // Nothing runs on the 26th and 27th; the 28th starts from the 25th's close.
    let late = SignalBuilder::short("XRPUSDT").insert(&mut conn, at("2026-11-28 08:00:00"));
    let day4 = daily_stats::for_date(&mut conn, day("2026-11-28"))
        .unwrap()
        .unwrap();
    assert_close(day4.starting_balance, day2.paper_balance);
    assert_eq!(day4.signals_generated, 1);
    assert_eq!(late.status, SignalStatus::Active);
    assert_invariants_hold(&db);
}

fn today_starts_at_midnight_utc_exactly(db: TempDb) {
    let mut conn = db.conn();
    let yesterday =
        SignalBuilder::long("BTCUSDT").insert(&mut conn, at("2026-11-24 23:59:59.999999"));
    let today = SignalBuilder::long("ETHUSDT").insert(&mut conn, at("2026-11-25 00:00:00"));
    close_trade(
        &mut conn,
        yesterday.signal_id(),
        &close_at(100.0, ExitReason::Manual, "2026-11-25 00:00:00"),
    )
    .unwrap();

    let created: Vec<i32> = get_signals_today(&mut conn, day("2026-11-25"))
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(created, [today.id]);
    let created_before: Vec<i32> = get_signals_today(&mut conn, day("2026-11-24"))
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(created_before, [yesterday.id]);
    let closed: Vec<i32> = get_closed_signals_today(&mut conn, day("2026-11-25"))
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(closed, [yesterday.id]);
    assert!(get_closed_signals_today(&mut conn, day("2026-11-24"))
        .unwrap()
        .is_empty());
    assert_eq!(
        journal::get_journal_entries_today(&mut conn, day("2026-11-25"))
            .unwrap()
            .len(),
        1
    );
    let active: Vec<i32> = get_active_signals(&mut conn)
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(active, [today.id]);
    let figures = overview::figures(&mut conn, day("2026-11-25"), INITIAL_BALANCE).unwrap();
    assert_eq!(
        (
            figures.signals_today,
            figures.completed_trades,
            figures.active_trades
        ),
        (1, 1, 1)
    );
    assert_invariants_hold(&db);
}

fn a_repeated_external_id_returns_the_existing_signal_and_counts_once(db: TempDb) {
    let mut conn = db.conn();
    let now = at("2026-11-25 12:00:00");
    let row = SignalBuilder::long("BTCUSDT")
        .external_id("tv-42")
        .build(now);
    let AddOutcome::Created(first) = insert(&mut conn, &row).unwrap() else {
        panic!("first add must create")
    };
    let again = insert(&mut conn, &row).unwrap();
    assert_eq!(again, AddOutcome::Existing(first));
    let stats = daily_stats::for_date(&mut conn, now.date())
        .unwrap()
        .unwrap();
    assert_eq!(stats.signals_generated, 1);
    assert_invariants_hold(&db);
}

fn pnl_refresh_touches_only_open_trades(db: TempDb) {
    let mut conn = db.conn();
    let signal = SignalBuilder::long("BTCUSDT").insert(&mut conn, at("2026-11-25 09:00:00"));
    let update = PnlUpdate {
        current_price: 103.0,
        unrealized_pnl: 2.797,
        max_favorable_price: 104.0,
        max_adverse_price: 99.0,
    };
    let refresh = |when: &str| PnlRefresh {
        signal_id: signal.signal_id(),
        update,
        stop_loss: signal.stop_loss,
        stop_moved_by: None,
        targets_hit: 0,
        priced_at: at(when),
    };
    assert_eq!(
        update_signals_pnl(&mut conn, &[refresh("2026-11-25 09:01:00")]).unwrap(),
        1
    );
    let row = get_signal(&mut conn, signal.signal_id()).unwrap();
    assert_eq!(
        (
            row.current_price,
            row.max_favorable_price,
            row.max_adverse_price
        ),
        (103.0, 104.0, 99.0)
    );
    close_trade(
        &mut conn,
        signal.signal_id(),
        &close_at(104.0, ExitReason::Manual, "2026-11-25 09:02:00"),
    )
    .unwrap();
    assert_eq!(
        update_signals_pnl(&mut conn, &[refresh("2026-11-25 09:03:00")]).unwrap(),
        0
    );
    let closed = get_signal(&mut conn, signal.signal_id()).unwrap();
    assert_eq!(closed.current_price, 104.0);
    assert_eq!(closed.unrealized_pnl, 0.0);
}

fn the_database_refuses_levels_on_the_wrong_side(db: TempDb) {
    let mut conn = db.conn();
    // A SHORT carrying a LONG's levels: the original stored this and closed it at once.
    let mut row = SignalBuilder::short("BTCUSDT").build(at("2026-11-25 09:00:00"));
    row.stop_loss = 95.0;
    row.take_profit = 110.0;
    let result = insert(&mut conn, &row);
    assert!(
        matches!(
            result,
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::CheckViolation,
                _
            ))
        ),
        "{result:?}"
    );
    assert_eq!(daily_stats::latest(&mut conn).unwrap(), None);
}

fn check_finds_a_closed_signal_without_its_journal_entry_and_a_drifted_balance(db: TempDb) {
    let mut conn = db.conn();
    let signal = SignalBuilder::long("BTCUSDT").insert(&mut conn, at("2026-11-25 09:00:00"));
    close_trade(
        &mut conn,
        signal.signal_id(),
        &close_at(110.0, ExitReason::TakeProfit, "2026-11-25 09:30:00"),
    )
    .unwrap();
    assert_invariants_hold(&db);

    diesel::sql_query("DELETE FROM journal_entries")
        .execute(&mut conn)
        .unwrap();
    diesel::sql_query("UPDATE daily_stats SET paper_balance = paper_balance + 1")
        .execute(&mut conn)
        .unwrap();

    let findings = run_checks(&mut conn, INITIAL_BALANCE).unwrap();
    let failed: Vec<&str> = findings.iter().filter(|f| !f.ok).map(|f| f.name).collect();
    assert!(
        failed.contains(&"every CLOSED signal has a journal entry"),
        "{failed:?}"
    );
    assert!(
        failed.contains(&"balance = initial_balance + sum of every exit's pnl"),
        "{failed:?}"
    );
}

fn check_finds_a_miscounted_day(db: TempDb) {
    let mut conn = db.conn();
    SignalBuilder::long("BTCUSDT").insert(&mut conn, at("2026-11-25 09:00:00"));
    diesel::sql_query("UPDATE daily_stats SET signals_generated = 3")
        .execute(&mut conn)
        .unwrap();
    let findings = run_checks(&mut conn, INITIAL_BALANCE).unwrap();
    let counted = findings
        .iter()
        .find(|f| f.name.starts_with("daily_stats.signals_generated"))
        .unwrap();
    assert!(!counted.ok);
    assert!(counted.detail.contains("2026-11-25"), "{}", counted.detail);
}

#[derive(QueryableByName)]
struct PlanRow {
    #[diesel(sql_type = Text)]
    detail: String,
}

fn plan(conn: &mut signaldesk::db::Conn, sql: &str) -> String {
    diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
        .load::<PlanRow>(conn)
        .unwrap()
        .into_iter()
        .map(|r| r.detail)
        .collect::<Vec<_>>()
        .join(" | ")
}

#[test]
fn today_and_active_queries_use_indexes() {
    let db = TempDb::new();
    let mut conn = db.conn();
    let cases = [
        (
            "SELECT * FROM signals WHERE created_at >= '2026-11-25 00:00:00' AND created_at < '2026-11-26 00:00:00' ORDER BY id DESC",
            "signals_created_at_idx",
        ),
        (
            "SELECT * FROM signals WHERE closed_at >= '2026-11-25 00:00:00' AND closed_at < '2026-11-26 00:00:00'",
            "signals_closed_at_idx",
        ),
        ("SELECT * FROM signals WHERE status = 'ACTIVE'", "signals_status_idx"),
        (
            "SELECT * FROM signals WHERE symbol = 'BTCUSDT' AND status = 'ACTIVE'",
            "signals_symbol_status_idx",
        ),
        (
            "SELECT * FROM journal_entries WHERE closed_at >= '2026-11-25 00:00:00' AND closed_at < '2026-11-26 00:00:00'",
            "journal_entries_closed_at_idx",
        ),
        (
            "SELECT * FROM daily_stats ORDER BY date DESC LIMIT 1",
            "sqlite_autoindex_daily_stats_1",
        ),
        (
            "SELECT max(closed_at) FROM signals WHERE symbol = 'BTCUSDT'",
            "signals_symbol_closed_at_idx",
        ),
    ];
    for (sql, index) in cases {
        let detail = plan(&mut conn, sql);
        assert!(detail.contains(index), "{sql}\n  plan: {detail}");
    }
}

/// A SQLite file with 20 000 closed trades, analyzed while every trade was closed ("status = ?"
/// then looks like the whole table), and one open trade.
fn analyzed_history() -> (TempDb, signaldesk::db::Conn) {
    let db = TempDb::new();
    let mut conn = db.conn();
    diesel::sql_query(
        "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 20000)
         INSERT INTO signals (symbol, direction, status, entry_price, stop_loss, take_profit,
             quantity, risk_amount, confidence, strategy, reasons, current_price,
             max_favorable_price, max_adverse_price, exit_price, exit_reason, pnl, initial_stop_loss,
             remaining_quantity, entry_fee, created_at, closed_at, updated_at)
         SELECT CASE n % 4 WHEN 0 THEN 'BTCUSDT' WHEN 1 THEN 'ETHUSDT' WHEN 2 THEN 'SOLUSDT'
                    ELSE 'XRPUSDT' END,
             'LONG', 'CLOSED', 100, 95, 110, 1, 5, 0.8, 'x', '', 100, 100, 100, 110,
             'TAKE_PROFIT', 9.8, 95, 0, 0.1, datetime('2024-01-01', '+' || (n * 600) || ' seconds'),
             datetime('2024-01-01', '+' || (n * 600 + 60) || ' seconds'),
             datetime('2024-01-01', '+' || (n * 600 + 60) || ' seconds')
         FROM seq",
    )
    .execute(&mut conn)
    .unwrap();
    diesel::sql_query("ANALYZE").execute(&mut conn).unwrap();
    SignalBuilder::long("BTCUSDT").insert(&mut conn, at("2026-11-25 09:00:00"));
    (db, conn)
}

#[test]
fn open_trade_queries_keep_their_index_after_analyze() {
    let (_db, mut conn) = analyzed_history();
    for sql in [
        "SELECT COUNT(*), SUM(unrealized_pnl) FROM signals WHERE signals.status = 'ACTIVE'",
        "SELECT * FROM signals WHERE signals.status = 'ACTIVE' ORDER BY id",
        "SELECT symbol, MIN(updated_at), MAX(created_at) FROM signals WHERE signals.status = 'ACTIVE' GROUP BY symbol",
    ] {
        let detail = plan(&mut conn, sql);
        // Either index reaches only the open trades; a scan of the table (or of the whole status
        // index) would read every closed trade too.
        let only_open = detail.contains("signals_active_idx")
            || detail.contains("USING INDEX signals_status_idx (status=?)");
        assert!(only_open, "{sql}\n  plan: {detail}");
    }
}

#[test]
fn the_batched_refresh_finds_each_trade_by_its_id_after_analyze() {
    let (_db, mut conn) = analyzed_history();
    // `signals::update_signals_pnl` on SQLite: each listed trade found by its id, not every open
    // trade compared with every listed one.
    use signaldesk::db::signals::{SQLITE_REFRESH_HEAD, SQLITE_REFRESH_TAIL};
    let refresh = plan(
        &mut conn,
        &format!(
            "{SQLITE_REFRESH_HEAD} VALUES (20001, 101.0, 0.5, 102.0, 99.0, 96.0, NULL, 0, \
             '2026-11-25 09:00:05'), (20002, 101.0, 0.5, 102.0, 99.0, 96.0, 'TRAILING', 1, \
             '2026-11-25 09:00:05'){SQLITE_REFRESH_TAIL}"
        ),
    );
    assert!(
        refresh.contains("SCAN v") && refresh.contains("SEARCH signals USING INTEGER PRIMARY KEY"),
        "plan: {refresh}"
    );
}

#[derive(QueryableByName)]
struct PgPlanRow {
    #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
    line: String,
}

#[test]
fn the_batched_refresh_finds_each_trade_by_its_id_on_postgres() {
    let Some(db) = TempDb::postgres() else {
        return;
    };
    let mut conn = db.conn();
    // Statistics taken while every trade was closed, then 2 000 trades opened: the planner
    // believes about one trade is open.
    let fill =
        |status: &str, from: i32, to: i32| {
            format!(
            "INSERT INTO signals (symbol, direction, status, entry_price, stop_loss, take_profit, \
             quantity, risk_amount, confidence, strategy, reasons, current_price, \
             max_favorable_price, max_adverse_price, exit_price, exit_reason, pnl, \
             initial_stop_loss, remaining_quantity, entry_fee, created_at, closed_at, updated_at) \
             SELECT 'BTCUSDT', 'LONG', '{status}', 100, 95, 110, 1, 5, 0.8, 'x', '', 100, 100, \
             100, {exit}, {reason}, {pnl}, 95, {remaining}, 0.1, '2024-01-01', {closed}, \
             '2024-01-01' \
             FROM generate_series({from}, {to})",
            exit = if status == "CLOSED" { "110" } else { "NULL" },
            reason = if status == "CLOSED" { "'TAKE_PROFIT'" } else { "NULL" },
            pnl = if status == "CLOSED" { "9.8" } else { "NULL" },
            closed = if status == "CLOSED" { "'2024-01-02'" } else { "NULL" },
            remaining = if status == "CLOSED" { "0" } else { "1" },
        )
        };
    diesel::sql_query(fill("CLOSED", 1, 20_000))
        .execute(&mut conn)
        .unwrap();
    diesel::sql_query("ANALYZE signals")
        .execute(&mut conn)
        .unwrap();
    diesel::sql_query(fill("ACTIVE", 1, 2_000))
        .execute(&mut conn)
        .unwrap();
    let ids: Vec<String> = (20_001..=22_000).map(|id| id.to_string()).collect();
    let list = |value: &str| vec![value; ids.len()].join(",");
    // `signals::update_signals_pnl` on PostgreSQL, its arrays written out.
    let sql = format!(
        "EXPLAIN UPDATE signals SET current_price = v.current_price, \
         unrealized_pnl = v.unrealized_pnl, max_favorable_price = v.max_favorable_price, \
         max_adverse_price = v.max_adverse_price, updated_at = v.updated_at \
         FROM unnest('{{{ids}}}'::integer[], '{{{f}}}'::float8[], '{{{f}}}'::float8[], \
         '{{{f}}}'::float8[], '{{{f}}}'::float8[], '{{{t}}}'::timestamp[], '{{{s}}}'::text[]) \
         AS v (id, current_price, unrealized_pnl, max_favorable_price, max_adverse_price, \
         updated_at, status) WHERE signals.id = v.id AND signals.status = v.status",
        ids = ids.join(","),
        f = list("101.5"),
        t = list("\"2026-11-25 09:00:05\""),
        s = list("ACTIVE"),
    );
    let plan: Vec<String> = diesel::sql_query(sql)
        .load::<PgPlanRow>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|row| row.line)
        .collect();
    let plan = plan.join("\n");
    // Joined by id (index lookups or one hash join), never driven by the planner's count of
    // open trades: believing "one", it may loop over them and compare each with the whole list.
    assert!(!plan.contains("signals_status_idx"), "{plan}");
    assert!(!plan.contains("signals_active_idx"), "{plan}");
    assert!(
        plan.contains("v.id = signals.id") || plan.contains("id = v.id"),
        "{plan}"
    );
}

#[test]
fn the_overview_counters_stay_indexed_after_analyze() {
    let (_db, mut conn) = analyzed_history();
    // The overview's counters, one statement (`overview::figures`): no subquery scans the
    // trades beyond the open ones (the partial index holds only those).
    let counters = plan(
        &mut conn,
        "SELECT (SELECT starting_balance FROM daily_stats ORDER BY date ASC LIMIT 1), \
         (SELECT COUNT(*) FROM signals WHERE signals.status = 'ACTIVE'), \
         (SELECT SUM(unrealized_pnl) FROM signals WHERE signals.status = 'ACTIVE'), \
         (SELECT COUNT(*) FROM signals WHERE created_at >= '2026-11-25 00:00:00' \
             AND created_at < '2026-11-26 00:00:00'), \
         (SELECT COUNT(*) FROM signals WHERE closed_at >= '2026-11-25 00:00:00' \
             AND closed_at < '2026-11-26 00:00:00')",
    );
    for step in counters.split(" | ") {
        assert!(
            !step.starts_with("SCAN signals") || step.contains("signals_active_idx"),
            "{step}\n  plan: {counters}"
        );
    }
    for index in [
        "signals_created_at_idx",
        "signals_closed_at_idx",
        "sqlite_autoindex_daily_stats_1",
    ] {
        assert!(counters.contains(index), "{index}\n  plan: {counters}");
    }
}

fn a_close_booked_on_an_earlier_day_carries_into_the_later_days(db: TempDb) {
    let mut conn = db.conn();
    let trade = SignalBuilder::long("BTCUSDT").insert(&mut conn, at("2026-11-24 20:00:00"));
    // Another write opens the 25th's row before the tick that polled at 23:59:59 writes.
    SignalBuilder::long("ETHUSDT").insert(&mut conn, at("2026-11-25 00:00:00.050"));
    let CloseOutcome::Closed(closed) = close_trade(
        &mut conn,
        trade.signal_id(),
        &close_at(110.0, ExitReason::TakeProfit, "2026-11-24 23:59:59"),
    )
    .unwrap() else {
        panic!("closes")
    };
    let day1 = daily_stats::for_date(&mut conn, day("2026-11-24"))
        .unwrap()
        .unwrap();
    let day2 = daily_stats::for_date(&mut conn, day("2026-11-25"))
        .unwrap()
        .unwrap();
    assert_eq!(day1.trades_closed, 1);
    assert_close(day2.starting_balance, day1.paper_balance);
    assert_close(day2.paper_balance, INITIAL_BALANCE + closed.journal.pnl);
    assert_close(closed.balance_after, day2.paper_balance);
    assert_invariants_hold(&db);
}

crate::on_both_backends!(
    closing_a_trade_books_signal_journal_and_balance_in_one_go,
    a_second_close_books_nothing_and_says_why,
    closing_an_unknown_signal_is_not_found_and_writes_nothing,
    balance_is_carried_across_utc_midnight_and_across_missed_days,
    today_starts_at_midnight_utc_exactly,
    a_repeated_external_id_returns_the_existing_signal_and_counts_once,
    pnl_refresh_touches_only_open_trades,
    the_database_refuses_levels_on_the_wrong_side,
    check_finds_a_closed_signal_without_its_journal_entry_and_a_drifted_balance,
    check_finds_a_miscounted_day,
    a_close_booked_on_an_earlier_day_carries_into_the_later_days,
);
