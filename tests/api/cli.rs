//! The CLI as a user runs it: migrate, check, backup, and configuration errors.

use diesel::prelude::*;

use crate::helpers::{at, run_cli, SignalBuilder, TempDb};

#[test]
fn migrate_then_check_on_a_new_database_exit_zero() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fresh").join("signaldesk.db");

    let (code, out, err) = run_cli(&path, &["migrate"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(path.exists(), "migrate creates the file and its folder");
    let (code, out, err) = run_cli(&path, &["check"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("all 12 invariants hold"), "{out}");
    let (code, out, _) = run_cli(&path, &["migrate"], &[]);
    assert_eq!(code, 0);
    assert!(out.contains("up to date"), "{out}");
}

fn check_exits_one_for_a_closed_signal_without_journal_entry(db: TempDb) {
    let mut conn = db.conn();
    SignalBuilder::long("BTCUSDT").insert(&mut conn, at("2026-11-25 09:00:00"));
    diesel::sql_query(
        "UPDATE signals SET status = 'CLOSED', exit_price = 100, exit_reason = 'MANUAL', \
         pnl = 0, remaining_quantity = 0, closed_at = '2026-11-25 10:00:00'",
    )
    .execute(&mut conn)
    .unwrap();

    let (code, out, err) = run_cli(&db, &["check"], &[]);

    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("FAIL  every CLOSED signal has a journal entry"),
        "{out}"
    );
}

#[test]
fn check_refuses_a_missing_database_without_creating_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data").join("nothing.db");
    let (code, _, err) = run_cli(&path, &["check"], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("no database at"), "{err}");
    assert!(!path.exists());
}

#[test]
fn backup_copies_a_database_that_checks_clean_and_holds_the_same_rows() {
    let db = TempDb::new();
    let mut conn = db.conn();
    for symbol in ["BTCUSDT", "ETHUSDT", "SOLUSDT"] {
        SignalBuilder::long(symbol).insert(&mut conn, at("2026-11-25 09:00:00"));
    }
    let target = db.dir.path().join("backups").join("copy.db");

    let (code, out, err) = run_cli(&db, &["backup", target.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{out}{err}");

    let (code, out, err) = run_cli(&target, &["check"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    let mut copy = signaldesk::db::connect(target.to_str().unwrap()).unwrap();
    let copied = signaldesk::db::signals::get_active_signals(&mut copy).unwrap();
    let original = signaldesk::db::signals::get_active_signals(&mut conn).unwrap();
    assert_eq!(copied, original);

    let (code, _, err) = run_cli(&db, &["backup", target.to_str().unwrap()], &[]);
    assert_eq!(code, 1, "never overwrites an existing file");
    assert!(err.contains("already exists"), "{err}");
}

fn a_bad_configuration_value_stops_with_a_message_naming_the_key(db: TempDb) {
    let cases = [
        ("SIGNALDESK_FEED", "kraken"),
        ("SIGNALDESK_FEE_RATE", "-1"),
        ("SIGNALDESK_TICK_SECS", "soon"),
    ];
    for (key, value) in cases {
        let (code, _, err) = run_cli(&db, &["serve"], &[(key, value)]);
        assert_eq!(code, 2, "{key}={value}: {err}");
        assert!(err.contains(key), "{key}: {err}");
    }
}

fn check_uses_the_accounts_own_initial_balance(db: TempDb) {
    let mut conn = db.conn();
    SignalBuilder::long("BTCUSDT").insert(&mut conn, at("2026-11-25 09:00:00"));
    let (code, out, err) = run_cli(&db, &["check"], &[("SIGNALDESK_INITIAL_BALANCE", "500")]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("the account started at 10000"), "{out}");
}

crate::on_both_backends!(
    check_exits_one_for_a_closed_signal_without_journal_entry,
    a_bad_configuration_value_stops_with_a_message_naming_the_key,
    check_uses_the_accounts_own_initial_balance,
);
