//! `signaldesk convert-db --to <DATABASE_URL>` as a user runs it: a populated account copied to
//! PostgreSQL and to SQLite, row for row, ids included, new trades numbered after the copied
//! ones; a target holding an account, the source itself and bad URLs refused with nothing
//! written; and a live database, with a server ticking and trading on it, copied consistently.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use diesel::prelude::*;
use serde_json::json;
use signaldesk::db::models::{CandleRow, DailyStatsRow, JournalEntryRow, QuoteRow, SignalRow};
use signaldesk::db::secrets::{self, SecretRow, SESSION_KEY};
use signaldesk::db::sessions::{self, SessionRow};
use signaldesk::db::signals::{close_in_transaction, insert_signal, CloseRequest};
use signaldesk::db::{self, candles, journal, quotes, schema, Conn};
use signaldesk::domain::market::{Candle, Timeframe};
use signaldesk::domain::ExitReason;

use crate::fake_exchange::FakeExchange;
use crate::helpers::{
    assert_check_passes, at, close_trade, run_cli, Database, SignalBuilder, TempDb, TestServer,
    FEE_RATE, INITIAL_BALANCE,
};

/// Every row of every copied table, each table in key order.
#[derive(Debug, PartialEq)]
struct Tables {
    signals: Vec<SignalRow>,
    journal: Vec<JournalEntryRow>,
    days: Vec<DailyStatsRow>,
    quotes: Vec<QuoteRow>,
    candles: Vec<CandleRow>,
    secrets: Vec<SecretRow>,
    sessions: Vec<SessionRow>,
}

fn tables(conn: &mut Conn) -> Tables {
    Tables {
        signals: schema::signals::table
            .order(schema::signals::id)
            .select(SignalRow::as_select())
            .load(conn)
            .unwrap(),
        journal: schema::journal_entries::table
            .order(schema::journal_entries::id)
            .select(JournalEntryRow::as_select())
            .load(conn)
            .unwrap(),
        days: schema::daily_stats::table
            .order(schema::daily_stats::id)
            .select(DailyStatsRow::as_select())
            .load(conn)
            .unwrap(),
        quotes: schema::quotes::table
            .order(schema::quotes::symbol)
            .select(QuoteRow::as_select())
            .load(conn)
            .unwrap(),
        candles: schema::candles::table
            .order((
                schema::candles::symbol,
                schema::candles::timeframe,
                schema::candles::open_time,
            ))
            .select(CandleRow::as_select())
            .load(conn)
            .unwrap(),
        secrets: schema::secrets::table
            .order(schema::secrets::name)
            .select(SecretRow::as_select())
            .load(conn)
            .unwrap(),
        sessions: schema::sessions::table
            .order(schema::sessions::id)
            .select(SessionRow::as_select())
            .load(conn)
            .unwrap(),
    }
}

fn assert_same_rows(source: &mut Conn, target: &mut Conn) {
    let (source, target) = (tables(source), tables(target));
    assert_eq!(target.signals, source.signals, "signals");
    assert_eq!(target.journal, source.journal, "journal_entries");
    assert_eq!(target.days, source.days, "daily_stats");
    assert_eq!(target.quotes, source.quotes, "quotes");
    assert_eq!(target.candles, source.candles, "candles");
    assert_eq!(target.secrets, source.secrets, "secrets");
    assert_eq!(target.sessions, source.sessions, "sessions");
}

/// The largest ids of the populated account.
struct Account {
    last_signal_id: i32,
    last_journal_id: i32,
}

fn close_at(exit_price: f64, exit_reason: ExitReason, closed_at: &str) -> CloseRequest {
    CloseRequest {
        exit_price,
        exit_reason,
        fee_rate: FEE_RATE,
        closed_at: at(closed_at),
    }
}

/// An account worth copying: closed trades over three days (a win, a loss, a SHORT, one closed a
/// day after it opened), journal notes and tags, open trades with notes and an external id, a
/// cancelled signal, quotes (one with a pending jump), candles (more than a copy batch, over two
/// symbols), the session key and a login.
fn populate(conn: &mut Conn) -> Account {
    let win = SignalBuilder::long("BTCUSDT")
        .notes("breakout; \"quoted\" & <b>marked</b>")
        .insert(conn, at("2026-11-20 09:00:00.123456"));
    close_trade(
        conn,
        win.signal_id(),
        &close_at(110.0, ExitReason::TakeProfit, "2026-11-20 15:30:00.654321"),
    )
    .unwrap();
    let loss = SignalBuilder::short("ETHUSDT")
        .quantity(2.5)
        .insert(conn, at("2026-11-21 10:00:00"));
    close_trade(
        conn,
        loss.signal_id(),
        &close_at(105.0, ExitReason::StopLoss, "2026-11-22 01:00:00"),
    )
    .unwrap();
    let manual = SignalBuilder::long("SOLUSDT")
        .levels(50.0, 45.0, 60.0)
        .insert(conn, at("2026-11-23 08:00:00"));
    close_trade(
        conn,
        manual.signal_id(),
        &close_at(52.5, ExitReason::Manual, "2026-11-23 12:00:00"),
    )
    .unwrap();
    let noted = journal::for_signal(conn, win.id).unwrap().unwrap();
    journal::update_notes(
        conn,
        noted.id,
        Some("took profit at the level\nsecond line, ünïcödé"),
        "breakout,trend",
        at("2026-11-24 18:00:00"),
    )
    .unwrap();

    let cancelled = SignalBuilder::long("XRPUSDT")
        .levels(2.0, 1.9, 2.2)
        .insert(conn, at("2026-11-23 09:00:00"));
    diesel::update(schema::signals::table.find(cancelled.id))
        .set(schema::signals::status.eq("CANCELLED"))
        .execute(conn)
        .unwrap();
    SignalBuilder::long("BTCUSDT")
        .external_id("tv-alert-42")
        .notes("from TradingView")
        .insert(conn, at("2026-11-24 09:00:00"));
    let open = SignalBuilder::short("ETHUSDT").insert(conn, at("2026-11-24 10:00:00"));

    for (symbol, price) in [("BTCUSDT", 100.0), ("ETHUSDT", 100.0), ("XRPUSDT", 2.0)] {
        let time = at("2026-11-24 10:00:05.5");
        db::write_tx(conn, |conn| {
            quotes::store(
                conn,
                &QuoteRow {
                    symbol: symbol.to_owned(),
                    price,
                    high_24h: Some(price * 1.01),
                    low_24h: Some(price * 0.99),
                    change_24h_pct: Some(-0.25),
                    volume_24h: None,
                    price_time: time,
                    market_time: time,
                    pending_price: None,
                    pending_time: None,
                    updated_at: time,
                },
            )
        })
        .unwrap();
    }
    quotes::set_pending(conn, "ETHUSDT", 130.0, at("2026-11-24 10:00:06")).unwrap();
    for (symbol, minutes) in [("BTCUSDT", 700), ("ETHUSDT", 400)] {
        let start = at("2026-11-24 09:00:00").and_utc();
        let series: Vec<Candle> = (0..minutes)
            .map(|i| {
                let open = 100.0 + f64::from(i % 7) * 0.25;
                let open_time = start + chrono::Duration::minutes(i64::from(i));
                Candle::new(open_time, open, open + 0.5, open - 0.5, open + 0.125, 1.5).unwrap()
            })
            .collect();
        db::write_tx(conn, |conn| {
            candles::upsert(conn, Timeframe::M1, &[(symbol, &series)])
        })
        .unwrap();
    }
    secrets::get_or_create(conn, SESSION_KEY, &[7; 32], at("2026-11-20 08:00:00")).unwrap();
    sessions::open_session(
        conn,
        &SessionRow {
            id: "a".repeat(64),
            token_fingerprint: "fingerprint".to_owned(),
            created_at: at("2099-01-01 00:00:00"),
            expires_at: at("2099-01-08 00:00:00"),
        },
    )
    .unwrap();

    let account = Account {
        last_signal_id: open.id,
        last_journal_id: journal::all_entries(conn)
            .unwrap()
            .iter()
            .map(|e| e.id)
            .max()
            .unwrap(),
    };
    let populated = tables(conn);
    assert_eq!(
        (
            populated.signals.len(),
            populated.journal.len(),
            populated.days.len(),
            populated.quotes.len(),
            populated.candles.len(),
            populated.secrets.len(),
            populated.sessions.len(),
        ),
        (6, 3, 5, 3, 1_100, 1, 1),
        "the fixture fills every copied table"
    );
    account
}

fn convert(source: &(impl Database + ?Sized), to: &str) -> (i32, String, String) {
    run_cli(source, &["convert-db", "--to", to], &[])
}

fn assert_converted(result: (i32, String, String)) -> String {
    let (code, out, err) = result;
    assert_eq!(code, 0, "convert-db failed:\n{out}{err}");
    assert!(out.contains("converted: "), "{out}");
    assert!(!out.contains("FAIL"), "{out}");
    out
}

/// The three exports as JSON, which carry every column of their tables.
fn exports(db: &(impl Database + ?Sized)) -> Vec<String> {
    ["signals", "journal", "daily"]
        .into_iter()
        .map(|what| {
            let (code, out, err) =
                run_cli(db, &["export", "--what", what, "--format", "json"], &[]);
            assert_eq!(code, 0, "export {what}: {err}");
            out
        })
        .collect()
}

/// On the converted database, the real server opens a new trade as the next signal id, the tick
/// closes it as the next journal entry, and `check` still passes.
fn new_trades_follow_the_copied_ids(target: &(impl Database + ?Sized), account: &Account) {
    let exchange = FakeExchange::start(&[
        ("BTCUSDT", 100.0),
        ("ETHUSDT", 100.0),
        ("SOLUSDT", 50.0),
        ("XRPUSDT", 2.0),
    ]);
    let server = TestServer::start(
        target,
        &[
            ("SIGNALDESK_EXCHANGE_URL", &exchange.url),
            ("SIGNALDESK_SYMBOLS", "BTCUSDT,ETHUSDT,XRPUSDT"),
            ("SIGNALDESK_COOLDOWN_MINUTES", "0"),
        ],
    );
    server.wait_for_stats("a fresh price", |s| s["feed"]["status"] == "ok");
    let (status, opened) = server.post(
        "/api/signals",
        &json!({"symbol": "XRPUSDT", "direction": "LONG", "stop_loss": 1.9, "take_profit": 2.2}),
    );
    assert_eq!(status, 201, "{opened}");
    assert_eq!(opened["id"], account.last_signal_id + 1);

    exchange.set_price("XRPUSDT", 2.25);
    let mut conn = db::connect(&target.database_url()).unwrap();
    let id = account.last_signal_id + 1;
    let entry = crate::helpers::wait_until("the new trade's close", || {
        journal::for_signal(&mut conn, id).unwrap()
    });
    assert_eq!(entry.id, account.last_journal_id + 1);
    server.stop();
    let (code, out, err) = run_cli(target, &["check"], &[]);
    assert_eq!(code, 0, "check after new trades:\n{out}{err}");
}

/// A new SQLite file for a target, in its own folder.
fn new_sqlite_target() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("converted").join("signaldesk.db");
    (dir, path)
}

fn converting_to_postgres_copies_every_row_and_new_ids_follow(db: TempDb) {
    let Some(target) = TempDb::postgres() else {
        return;
    };
    let account = populate(&mut db.conn());

    let out = assert_converted(convert(&db, &target.url()));

    assert!(
        !out.contains(":signaldesk@"),
        "the password is masked: {out}"
    );
    assert!(out.contains("copied  signals"), "{out}");
    assert_same_rows(&mut db.conn(), &mut target.conn());
    assert_eq!(exports(&target), exports(&db));
    assert_check_passes(&target);
    new_trades_follow_the_copied_ids(&target, &account);
}

fn converting_to_a_new_sqlite_file_copies_every_row_and_new_ids_follow(db: TempDb) {
    let (_dir, path) = new_sqlite_target();
    let account = populate(&mut db.conn());

    assert_converted(convert(&db, path.to_str().unwrap()));

    let mut target = db::connect(path.to_str().unwrap()).unwrap();
    assert_same_rows(&mut db.conn(), &mut target);
    assert_eq!(exports(&path), exports(&db));
    let (code, out, err) = run_cli(&path, &["check"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    new_trades_follow_the_copied_ids(&path, &account);
}

fn a_target_holding_an_account_is_refused_and_left_as_it_was(db: TempDb) {
    populate(&mut db.conn());
    let target = db.another();
    let mut conn = target.conn();
    SignalBuilder::long("ADAUSDT").insert(&mut conn, at("2026-11-25 09:00:00"));
    let before = tables(&mut conn);

    let (code, out, err) = convert(&db, &target.url());

    assert_eq!(code, 1, "{out}{err}");
    let shown = db::redact(&target.url());
    assert!(
        err.contains(&format!("the target {shown} is not empty")),
        "{err}"
    );
    assert!(
        err.contains("(1 row in signals, 1 row in daily_stats)"),
        "{err}"
    );
    assert!(err.contains("nothing was written"), "{err}");
    assert!(
        !err.contains(":signaldesk@"),
        "the password is masked: {err}"
    );
    assert_eq!(
        tables(&mut conn),
        before,
        "no row of the target changed, none was added"
    );
}

fn converting_a_database_into_itself_is_refused(db: TempDb) {
    populate(&mut db.conn());
    let before = tables(&mut db.conn());
    let mut spellings = vec![db.url()];
    if db.backend() == db::Backend::Sqlite {
        // The same file by another path.
        let path = PathBuf::from(db.url());
        let dir = path.parent().unwrap();
        spellings.push(
            dir.join("..")
                .join(dir.file_name().unwrap())
                .join(path.file_name().unwrap())
                .to_string_lossy()
                .into_owned(),
        );
        spellings.push(format!("sqlite://{}", db.url()));
    } else {
        spellings.push(db.url().replace("127.0.0.1", "localhost"));
    }

    for to in spellings {
        let (code, out, err) = convert(&db, &to);
        assert_eq!(code, 1, "{to}: {out}{err}");
        assert!(
            err.contains("is the database being converted"),
            "{to}: {err}"
        );
    }
    assert_eq!(tables(&mut db.conn()), before);
}

#[test]
fn bad_target_urls_are_refused_with_a_clear_message() {
    let db = TempDb::sqlite();
    populate(&mut db.conn());

    let (code, _, err) = convert(&db, "mysql://desk:s3cret@localhost/signaldesk");
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(
            "unsupported scheme `mysql`; expected a SQLite file path or a postgres:// URL"
        ),
        "{err}"
    );
    assert!(!err.contains("s3cret"), "{err}");
    assert_eq!(
        std::fs::read_dir(db.dir.path()).unwrap().count(),
        1,
        "nothing beside the source's folder was created"
    );

    let (code, _, err) = convert(&db, "");
    assert_eq!(code, 1);
    assert!(
        err.contains("--to: expected a SQLite file path or a postgres:// URL"),
        "{err}"
    );

    // Nothing listens on port 1.
    let (code, _, err) = convert(&db, "postgres://desk:s3cret@127.0.0.1:1/signaldesk");
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("cannot open database postgres://desk:****@127.0.0.1:1/signaldesk"),
        "{err}"
    );
    assert!(!err.contains("s3cret"), "{err}");

    let (code, _, err) = run_cli(&db, &["convert-db"], &[]);
    assert_eq!(code, 2, "--to is required: {err}");
    assert!(err.contains("--to"), "{err}");
}

#[test]
fn a_missing_source_is_refused_without_creating_anything() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("data").join("nothing.db");
    let (_target_dir, target) = new_sqlite_target();

    let (code, _, err) = convert(&source, target.to_str().unwrap());

    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no database at"), "{err}");
    assert!(!source.exists());
    assert!(!target.exists());
}

/// Seed `n` closed trades over three past days in one write transaction: a history long enough
/// that a copy takes a while.
fn seed_history(conn: &mut Conn, n: usize) {
    db::write_tx(conn, |conn| {
        for i in 0..n {
            let day = 10 + i * 3 / n;
            let opened = at(&format!(
                "2026-11-{day} 09:{:02}:{:02}",
                i / 60 % 60,
                i % 60
            ));
            let row = SignalBuilder::long("SOLUSDT")
                .levels(50.0, 45.0, 60.0)
                .build(opened);
            let signaldesk::db::signals::AddOutcome::Created(signal) =
                insert_signal(conn, &row, INITIAL_BALANCE)?
            else {
                unreachable!("no external id")
            };
            let (exit, reason) = if i % 2 == 0 {
                (60.0, ExitReason::TakeProfit)
            } else {
                (45.0, ExitReason::StopLoss)
            };
            let request = CloseRequest {
                exit_price: exit,
                exit_reason: reason,
                fee_rate: FEE_RATE,
                closed_at: opened + chrono::Duration::minutes(30),
            };
            close_in_transaction(conn, signal.signal_id(), &request, INITIAL_BALANCE)?;
        }
        Ok::<_, diesel::result::Error>(())
    })
    .unwrap();
}

/// Convert the SQLite database while its server ticks and a client opens and closes trades on
/// it without pause: the copy is one snapshot, so every figure agrees with the source's at that
/// moment and the target checks clean.
fn a_live_database_converts_to_a_copy_that_checks_clean(to: &(impl Database + ?Sized)) {
    let db = TempDb::sqlite();
    seed_history(&mut db.conn(), 3_000);
    let exchange = FakeExchange::start(&[("BTCUSDT", 100.0), ("ETHUSDT", 200.0)]);
    let server = TestServer::start(
        &db,
        &[
            ("SIGNALDESK_EXCHANGE_URL", &exchange.url),
            ("SIGNALDESK_SYMBOLS", "BTCUSDT,ETHUSDT"),
            ("SIGNALDESK_COOLDOWN_MINUTES", "0"),
            ("SIGNALDESK_MAX_SIGNALS_PER_DAY", "100000"),
        ],
    );
    server.wait_for_stats("a fresh price", |s| s["feed"]["status"] == "ok");
    let (status, eth) = server.post(
        "/api/signals",
        &json!({"symbol": "ETHUSDT", "direction": "LONG", "stop_loss": 150.0, "take_profit": 300.0}),
    );
    assert_eq!(status, 201, "{eth}");

    let stop = Arc::new(AtomicBool::new(false));
    let trades = Arc::new(AtomicUsize::new(0));
    let trader = {
        let (stop, trades) = (stop.clone(), trades.clone());
        let (address, client) = (server.address.clone(), server.client.clone());
        std::thread::spawn(move || {
            let post = |path: &str, body: serde_json::Value| {
                let response = client
                    .post(format!("{address}{path}"))
                    .bearer_auth(crate::helpers::API_TOKEN)
                    .json(&body)
                    .send()
                    .unwrap();
                let status = response.status().as_u16();
                (status, response.json::<serde_json::Value>().unwrap())
            };
            while !stop.load(Ordering::SeqCst) {
                let (status, opened) = post(
                    "/api/signals",
                    json!({"symbol": "BTCUSDT", "direction": "LONG", "stop_loss": 90.0, "take_profit": 120.0}),
                );
                assert_eq!(status, 201, "{opened}");
                let (status, closed) =
                    post(&format!("/api/signals/{}/close", opened["id"]), json!({}));
                assert_eq!(status, 200, "{closed}");
                trades.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    crate::helpers::wait_until("the first trades", || {
        (trades.load(Ordering::SeqCst) >= 3).then_some(())
    });
    // The ticks move the open ETH trade while the copy runs.
    exchange.set_price("ETHUSDT", 201.0);

    let before = trades.load(Ordering::SeqCst);
    let result = convert(&db, &to.database_url());
    let during = trades.load(Ordering::SeqCst) - before;
    stop.store(true, Ordering::SeqCst);
    trader.join().unwrap();
    server.stop();

    eprintln!("{during} trades opened and closed while the copy ran");
    let out = assert_converted(result);
    assert!(out.contains("ok    CLOSED signals"), "{out}");
    let (code, out, err) = run_cli(to, &["check"], &[]);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn a_live_sqlite_database_converts_to_a_sqlite_copy_that_checks_clean() {
    let (_dir, path) = new_sqlite_target();
    a_live_database_converts_to_a_copy_that_checks_clean(&path);
}

#[test]
fn a_live_sqlite_database_converts_to_a_postgres_copy_that_checks_clean() {
    if let Some(target) = TempDb::postgres() {
        a_live_database_converts_to_a_copy_that_checks_clean(&target);
    }
}

crate::on_both_backends!(
    converting_to_postgres_copies_every_row_and_new_ids_follow,
    converting_to_a_new_sqlite_file_copies_every_row_and_new_ids_follow,
    a_target_holding_an_account_is_refused_and_left_as_it_was,
    converting_a_database_into_itself_is_refused,
);
