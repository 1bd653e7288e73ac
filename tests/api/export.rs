//! `signaldesk export` and `signaldesk reset` as a user runs them.

use serde_json::Value;
use signaldesk::db::signals::{get_active_signals, CloseRequest};
use signaldesk::db::{journal, overview};
use signaldesk::domain::ExitReason;

use crate::helpers::{
    at, close_trade, day, run_cli, SignalBuilder, TempDb, FEE_RATE, INITIAL_BALANCE,
};

/// Three closed trades over two days, notes with a comma, quotes and a line break; one open.
fn seeded(db: TempDb) -> TempDb {
    let mut conn = db.conn();
    for (i, opened) in [
        "2026-11-23 10:00:00",
        "2026-11-24 10:00:00",
        "2026-11-24 12:00:00",
    ]
    .iter()
    .enumerate()
    {
        let row = SignalBuilder::long("BTCUSDT")
            .notes("breakout, \"clean\"\nsecond line")
            .insert(&mut conn, at(opened));
        let request = CloseRequest {
            exit_price: [110.0, 95.0, 104.0][i],
            exit_reason: [
                ExitReason::TakeProfit,
                ExitReason::StopLoss,
                ExitReason::Manual,
            ][i],
            fee_rate: FEE_RATE,
            closed_at: at(opened) + chrono::Duration::hours(1),
        };
        close_trade(&mut conn, row.signal_id(), &request).unwrap();
    }
    SignalBuilder::short("ETHUSDT").insert(&mut conn, at("2026-11-24 15:00:00"));
    db
}

/// Rows of a CSV text with quoted cells (RFC 4180).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut cell) = (Vec::new(), Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => cell.push(c),
        }
    }
    rows
}

fn journal_csv_round_trips_with_the_tables_column_names(db: TempDb) {
    let db = seeded(db);
    let (code, out, err) = run_cli(
        &db,
        &["export", "--what", "journal", "--format", "csv"],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let rows = parse_csv(&out);
    let header = &rows[0];
    assert_eq!(header[..4], ["id", "signal_id", "symbol", "direction"]);
    assert!(
        header.contains(&"r_multiple".to_owned()) && header.contains(&"balance_after".to_owned())
    );
    let entries = journal::list_entries(&mut db.conn(), &Default::default(), None, 100).unwrap();
    assert_eq!(rows.len() - 1, entries.len());
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    for (row, entry) in rows[1..].iter().zip(entries.iter().rev()) {
        assert_eq!(row[col("id")], entry.id.to_string());
        assert_eq!(row[col("pnl")].parse::<f64>().unwrap(), entry.pnl);
        assert_eq!(row[col("notes")], "breakout, \"clean\"\nsecond line");
        assert_eq!(row[col("outcome")], entry.outcome.as_str());
    }
}

fn signals_json_round_trips_and_filters_by_date(db: TempDb) {
    let db = seeded(db);
    let out_file = db.dir.path().join("signals.json");
    let (code, _, err) = run_cli(
        &db,
        &[
            "export",
            "--what",
            "signals",
            "--format",
            "json",
            "--output",
            out_file.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("exported 4 rows"), "{err}");
    let exported: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
    let stored =
        signaldesk::db::signals::list_signals(&mut db.conn(), &Default::default(), None, 100)
            .unwrap();
    let mut expected: Vec<Value> = stored
        .iter()
        .map(|s| serde_json::to_value(s).unwrap())
        .collect();
    expected.reverse();
    assert_eq!(exported, expected);

    let (_, one_day, _) = run_cli(
        &db,
        &[
            "export",
            "--what",
            "signals",
            "--format",
            "json",
            "--from",
            "2026-11-24",
            "--to",
            "2026-11-24",
        ],
        &[],
    );
    let ids: Vec<i64> = serde_json::from_str::<Vec<Value>>(&one_day)
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [2, 3, 4]);
    let (_, daily, _) = run_cli(&db, &["export", "--what", "daily"], &[]);
    assert_eq!(parse_csv(&daily).len(), 3, "header and two days");
    let (code, _, err) = run_cli(&db, &["export", "--what", "trades"], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("--what `trades`"), "{err}");
}

#[test]
fn reset_backs_up_then_starts_a_fresh_account() {
    let db = seeded(TempDb::new());
    let (code, _, err) = run_cli(&db, &["reset"], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("--yes"), "{err}");
    assert_eq!(
        get_active_signals(&mut db.conn()).unwrap().len(),
        1,
        "nothing deleted"
    );

    let (code, out, err) = run_cli(&db, &["reset", "--yes"], &[]);
    assert_eq!(code, 0, "{err}");
    let backup = out
        .split(" to ")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let mut copy = signaldesk::db::connect(&backup).unwrap();
    assert_eq!(
        get_active_signals(&mut copy).unwrap().len(),
        1,
        "the backup holds the old account"
    );
    let figures = overview::figures(&mut db.conn(), day("2026-11-25"), INITIAL_BALANCE).unwrap();
    assert_eq!(
        (
            figures.balance,
            figures.active_trades,
            figures.signals_today
        ),
        (INITIAL_BALANCE, 0, 0)
    );
    let (code, out, _) = run_cli(&db, &["check"], &[]);
    assert_eq!(code, 0, "{out}");
}

crate::on_both_backends!(
    journal_csv_round_trips_with_the_tables_column_names,
    signals_json_round_trips_and_filters_by_date,
);
