//! The backtest on the committed fixture (5 days of the simulated market, seed 42, in Binance's
//! kline CSV format): stable figures, trades that follow the live engine's rules and books that
//! pass `signaldesk check`, the CLI's CSV and JSON, trade management (DESIGN.md §10) from flags
//! and keys, and the same trades replayed through the live engine booking exactly the same.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::json;
use signaldesk::backtest::{run, BacktestSpec};
use signaldesk::db::check::run_checks;
use signaldesk::db::exits::{all_exits, all_stop_moves, managed};
use signaldesk::db::intake::{opened_signal, SignalRequest};
use signaldesk::db::models::{JournalEntryRow, SignalId, SignalRow, StopMoveRow, TradeExitRow};
use signaldesk::db::signals::{get_signal, insert_signal, list_signals, AddOutcome};
use signaldesk::db::{daily_stats, journal};
use signaldesk::domain::management::{ManagementDefaults, TargetSpec};
use signaldesk::domain::market::{range_since, Candle, Timeframe};
use signaldesk::domain::rules::TradingRules;
use signaldesk::domain::trading::Sizing;
use signaldesk::domain::{Direction, ExitReason, Outcome, SignalStatus, StopReason};
use signaldesk::engine::tick::update_paper_trades;
use signaldesk::feeds::replay::read_klines;
use signaldesk::feeds::Quote;

use crate::helpers::{binary, run_cli, TempDb};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/backtest")
}

fn spec(database: Option<String>) -> (Vec<Candle>, BacktestSpec) {
    let candles = read_klines(&fixture_dir().join("BTCUSDT-1m.csv"), "BTCUSDT").unwrap();
    let spec = BacktestSpec {
        symbol: signaldesk::domain::Symbol::parse("BTCUSDT").unwrap(),
        timeframe: Timeframe::M5,
        from: candles[0].open_time,
        to: candles.last().unwrap().open_time + chrono::Duration::minutes(1),
        rules: TradingRules::defaults_for(10_000.0),
        initial_balance: 10_000.0,
        database,
    };
    (candles, spec)
}

#[test]
fn the_fixture_gives_stable_figures() {
    let (candles, spec) = spec(None);
    let report = run(&candles, &spec, |_, _| {}).unwrap();
    assert_eq!(
        (report.candles, report.signals, report.trades),
        (7_199, 19, 19)
    );
    assert_eq!((report.wins, report.losses, report.open_at_end), (4, 15, 0));
    assert!(
        (report.total_pnl - -781.106_508_746_154_5).abs() < 1e-6,
        "{}",
        report.total_pnl
    );
    assert!((report.max_drawdown - 818.749_393_173_529_8).abs() < 1e-6);
    assert!((report.profit_factor.unwrap() - 0.157_115_039_009_585_57).abs() < 1e-9);
    assert!((report.average_r - -1.203_314_819_263_554_5).abs() < 1e-9);
    // The same candles, the same answer.
    assert_eq!(run(&candles, &spec, |_, _| {}).unwrap(), report);
}

#[test]
fn backtest_trades_follow_the_live_rules_and_pass_check() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("backtest.db");
    let (candles, spec) = spec(Some(path.to_string_lossy().into_owned()));
    let report = run(&candles, &spec, |_, _| {}).unwrap();
    let mut conn = signaldesk::db::connect(path.to_str().unwrap()).unwrap();
    let rows = list_signals(&mut conn, &Default::default(), None, 1_000).unwrap();
    assert_eq!(rows.len(), report.signals);
    for s in &rows {
        let (stop_side, target_side) = match s.direction {
            Direction::Long => (s.stop_loss < s.entry_price, s.take_profit > s.entry_price),
            Direction::Short => (s.stop_loss > s.entry_price, s.take_profit < s.entry_price),
        };
        assert!(stop_side && target_side, "levels on the wrong side: {s:?}");
        assert!(
            (s.entry_price - s.stop_loss).abs() <= s.entry_price * 0.04 * 1.001,
            "stop within 4 %"
        );
        assert!(s.reasons.contains("structure 1h"), "{}", s.reasons);
        assert_eq!(s.status, SignalStatus::Closed);
        let exit = s.exit_price.unwrap();
        match (s.exit_reason.unwrap(), s.direction) {
            (ExitReason::TakeProfit, _) => {
                assert_eq!(exit, s.take_profit, "a target fills at its level")
            }
            (ExitReason::StopLoss, Direction::Long) => {
                assert!(exit < s.stop_loss, "a stop fills at or below it, slipped")
            }
            (ExitReason::StopLoss, Direction::Short) => assert!(exit > s.stop_loss),
            (other, _) => panic!("unexpected exit {other}"),
        }
    }
    drop(conn);
    let (code, out, err) = run_cli(&path, &["check", "--set", "initial_balance=10000"], &[]);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn the_cli_prints_the_report_and_writes_the_trades() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("trades.csv");
    let output = std::process::Command::new(binary())
        .args([
            "backtest",
            "--symbol",
            "btcusdt",
            "--timeframe",
            "5m",
            "--json",
            "--data",
        ])
        .arg(fixture_dir())
        .arg("--csv")
        .arg(&csv)
        .env_clear()
        .env("RUST_LOG", "warn")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["trades"], 19);
    assert_eq!(report["wins"], 4);
    let lines = std::fs::read_to_string(&csv).unwrap();
    assert!(lines.starts_with("signal_id,symbol,direction,opened_at,closed_at,entry_price"));
    assert_eq!(lines.lines().count(), 20);

    let text = std::process::Command::new(binary())
        .args([
            "backtest",
            "--symbol",
            "BTCUSDT",
            "--from",
            "2025-06-02",
            "--to",
            "2025-06-03",
            "--data",
        ])
        .arg(fixture_dir())
        .env_clear()
        .current_dir(dir.path())
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&text.stdout);
    for line in [
        "win rate",
        "total pnl",
        "max drawdown",
        "profit factor",
        "sharpe",
        "average R",
    ] {
        assert!(printed.contains(line), "missing {line} in\n{printed}");
    }
    assert!(
        printed.contains("2025-06-02 00:00 → 2025-06-04 00:00"),
        "{printed}"
    );
}

#[test]
fn a_missing_data_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(binary())
        .args(["backtest", "--symbol", "ETHUSDT", "--data"])
        .arg(fixture_dir())
        .env_clear()
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("ETHUSDT-1m.csv"));
}

#[test]
fn without_a_kline_file_the_exchange_history_gives_the_same_backtest() {
    let exchange = crate::fake_exchange::FakeExchange::start(&[("BTCUSDT", 100_000.0)]);
    let candles = read_klines(&fixture_dir().join("BTCUSDT-1m.csv"), "BTCUSDT").unwrap();
    let rows: Vec<(i64, f64, f64, f64, f64)> = candles
        .iter()
        .map(|c| {
            (
                c.open_time.timestamp_millis(),
                c.open,
                c.high,
                c.low,
                c.close,
            )
        })
        .collect();
    exchange.set_history("BTCUSDT", "1", &rows);
    let dir = tempfile::tempdir().unwrap();
    let run_json = |extra: &[&str], env: &[(&str, &str)]| -> serde_json::Value {
        let output = std::process::Command::new(binary())
            .args([
                "backtest",
                "--symbol",
                "BTCUSDT",
                "--from",
                "2025-06-01",
                "--to",
                "2025-06-05",
                "--json",
            ])
            .args(extra)
            .env_clear()
            .envs(env.iter().copied())
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    };
    let from_exchange = run_json(
        &[],
        &[
            ("SIGNALDESK_FEED", "bybit"),
            ("SIGNALDESK_EXCHANGE_URL", &exchange.url),
        ],
    );
    let from_file = run_json(&["--data", fixture_dir().to_str().unwrap()], &[]);
    assert_eq!(from_exchange["candles"], 7_199);
    assert_eq!(from_exchange, from_file);
}

#[test]
fn a_wick_the_live_engine_cuts_back_to_its_body_never_closes_a_backtest_trade() {
    let (mut candles, spec) = spec(None);
    let before = run(&candles, &spec, |_, _| {}).unwrap();
    // A trade exposed for more than its first minute, and a print in that minute far beyond
    // the minute's own body, on the side of its stop.
    let trade = before
        .journal
        .iter()
        .find(|e| e.closed_at - e.opened_at > chrono::Duration::minutes(2))
        .expect("a trade that lasts")
        .clone();
    let minute = candles
        .iter_mut()
        .find(|c| c.open_time.naive_utc() == trade.opened_at)
        .expect("the trade's first minute");
    match trade.direction {
        Direction::Long => minute.low = minute.open.min(minute.close) * 0.4,
        Direction::Short => minute.high = minute.open.max(minute.close) * 1.6,
    }
    assert!(minute.has_glitch_wick());

    let after = run(&candles, &spec, |_, _| {}).unwrap();
    let same = after
        .journal
        .iter()
        .find(|e| e.opened_at == trade.opened_at)
        .expect("the same trade");
    assert_eq!(
        (same.exit_reason, same.closed_at, same.exit_price),
        (trade.exit_reason, trade.closed_at, trade.exit_price),
        "the live engine judges that minute by its body"
    );
}

/// `signaldesk backtest --json ARGS` run in `dir` with nothing but `env` (and `RUST_LOG=warn`)
/// in its environment.
fn run_backtest(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    std::process::Command::new(binary())
        .args(["backtest", "--json"])
        .args(args)
        .env_clear()
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .current_dir(dir)
        .output()
        .unwrap()
}

/// The JSON report of a backtest `output` that must have succeeded.
fn report_of(output: &std::process::Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// A backtest through the CLI into a new database file `name` in `dir`, with `extra` flags and
/// `env`: its JSON report and the path of the database.
fn cli_backtest(
    dir: &Path,
    name: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (serde_json::Value, PathBuf) {
    let path = dir.join(name);
    let (data, database) = (fixture_dir(), path.to_str().unwrap().to_owned());
    let flags = ["--symbol", "BTCUSDT", "--timeframe", "5m", "--data"];
    let flags = [
        &flags[..],
        &[data.to_str().unwrap(), "--database", &database],
        extra,
    ]
    .concat();
    (report_of(&run_backtest(dir, &flags, env)), path)
}

/// Every exit, stop move and journal entry of a backtest's database.
fn books_of(path: &Path) -> (Vec<TradeExitRow>, Vec<StopMoveRow>, Vec<JournalEntryRow>) {
    let mut conn = signaldesk::db::connect(path.to_str().unwrap()).unwrap();
    (
        all_exits(&mut conn).unwrap(),
        all_stop_moves(&mut conn).unwrap(),
        journal::all_entries(&mut conn).unwrap(),
    )
}

fn assert_check_passes_on(path: &Path) {
    let (code, out, err) = run_cli(path, &["check", "--set", "initial_balance=10000"], &[]);
    assert_eq!(code, 0, "{out}{err}");
}

const MANAGED: &[&str] = &[
    "--take-profits",
    "1R:50%",
    "--breakeven-at-r",
    "1",
    "--trailing-stop-pct",
    "2",
    "--trailing-activate-at-r",
    "0",
];

#[test]
fn a_managed_backtest_scales_out_moves_stops_and_passes_check() {
    let dir = tempfile::tempdir().unwrap();
    let (plain, plain_db) = cli_backtest(dir.path(), "plain.db", &[], &[]);
    let (managed, managed_db) = cli_backtest(dir.path(), "managed.db", MANAGED, &[]);
    assert_check_passes_on(&plain_db);
    assert_check_passes_on(&managed_db);

    // Without management: one exit per trade, no stop ever moved.
    assert_eq!(
        plain["management"],
        json!({"take_profits": [], "breakeven_at_r": null, "trailing_stop_pct": null,
               "trailing_activate_at_r": 0.0})
    );
    assert_eq!(plain["partial_exits"], 0);
    assert_eq!(plain["stop_moves"], 0);
    let (exits, moves, journal) = books_of(&plain_db);
    assert_eq!(exits.len(), journal.len());
    assert!(moves.is_empty());
    assert!(journal.iter().all(|e| e.exit_count == 1));

    // With it: the report says what was used and counts what it did.
    assert_eq!(
        managed["management"],
        json!({"take_profits": [{"r": 1.0, "fraction": 0.5}], "breakeven_at_r": 1.0,
               "trailing_stop_pct": 2.0, "trailing_activate_at_r": 0.0})
    );
    let (exits, moves, journal) = books_of(&managed_db);
    let mut conn = signaldesk::db::connect(managed_db.to_str().unwrap()).unwrap();
    let partials: Vec<&TradeExitRow> = exits
        .iter()
        .filter(|e| e.reason == ExitReason::PartialTakeProfit)
        .collect();
    assert!(!partials.is_empty(), "no partial exit in {exits:?}");
    assert_eq!(managed["partial_exits"], partials.len());
    assert!(!moves.is_empty(), "no stop moved");
    assert_eq!(managed["stop_moves"], moves.len());
    for exit in &partials {
        // Half of the trade, at 1R from the entry (R from the initial stop), a limit fill.
        let s = get_signal(&mut conn, SignalId(exit.signal_id)).unwrap();
        let one_r = s.entry_price + (s.entry_price - s.initial_stop_loss);
        assert!((exit.price - one_r).abs() < 1e-6 * one_r, "{exit:?} {s:?}");
        assert!((exit.quantity - s.quantity / 2.0).abs() < 1e-12 * s.quantity);
    }
    for m in &moves {
        let s = get_signal(&mut conn, SignalId(m.signal_id)).unwrap();
        assert_eq!(m.reason, StopReason::Breakeven, "{m:?}");
        assert_eq!(m.new_stop, s.entry_price, "breakeven is the entry");
        assert_eq!(m.old_stop, s.initial_stop_loss);
    }
    let exits_of_trades: usize = journal.iter().map(|e| e.exit_count as usize).sum();
    assert_eq!(exits_of_trades, exits.len());
    assert!(journal
        .iter()
        .any(|e| e.exit_reason == ExitReason::BreakevenStop));

    // Wins and losses are the journal's outcomes, whatever the last exit was: a trade that
    // banked its first half and then left at breakeven is a win when its pnl is.
    for (report, journal) in [(&plain, books_of(&plain_db).2), (&managed, journal)] {
        let count = |o: Outcome| journal.iter().filter(|e| e.outcome == o).count();
        assert_eq!(report["wins"], count(Outcome::Win));
        assert_eq!(report["losses"], count(Outcome::Loss));
        assert_eq!(report["trades"], journal.len());
    }
    let managed_journal = books_of(&managed_db).2;
    assert!(
        managed_journal
            .iter()
            .any(|e| e.outcome == Outcome::Win && e.exit_reason != ExitReason::TakeProfit),
        "a win that did not end at the take-profit"
    );
    assert_ne!(plain["total_pnl"], managed["total_pnl"]);

    // The text report names the management and the partial exits.
    let text = std::process::Command::new(binary())
        .args(["backtest", "--symbol", "BTCUSDT", "--timeframe", "5m"])
        .args(MANAGED)
        .arg("--data")
        .arg(fixture_dir())
        .env_clear()
        .current_dir(dir.path())
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&text.stdout);
    assert!(
        printed
            .contains("management       take-profits 1R:50%, breakeven at 1R, trailing 2% from 0R"),
        "{printed}"
    );
    assert!(
        printed.contains(&format!(
            "exits            {} partial take-profits",
            partials.len()
        )),
        "{printed}"
    );
    assert!(printed.contains("(2 exits)"), "{printed}");
}

#[test]
fn the_management_flags_override_the_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let configured = [
        ("SIGNALDESK_TAKE_PROFITS", "1R:50%"),
        ("SIGNALDESK_BREAKEVEN_AT_R", "1"),
        ("SIGNALDESK_TRAILING_STOP_PCT", "2%"),
    ];
    let (flags, _) = cli_backtest(dir.path(), "flags.db", MANAGED, &[]);
    let (from_config, _) = cli_backtest(dir.path(), "config.db", &[], &configured);
    assert_eq!(from_config, flags, "the keys give what the flags give");
    let (plain, _) = cli_backtest(dir.path(), "plain.db", &[], &[]);
    let (off, _) = cli_backtest(
        dir.path(),
        "off.db",
        &[
            "--take-profits",
            "off",
            "--breakeven-at-r",
            "off",
            "--trailing-stop-pct",
            "off",
        ],
        &configured,
    );
    assert_eq!(off, plain, "the flags switch the configured management off");
    // One flag over the others' configured values.
    let (wider, _) = cli_backtest(
        dir.path(),
        "wider.db",
        &["--take-profits", "1.5R:40%"],
        &configured,
    );
    assert_eq!(
        wider["management"],
        json!({"take_profits": [{"r": 1.5, "fraction": 0.4}], "breakeven_at_r": 1.0,
               "trailing_stop_pct": 2.0, "trailing_activate_at_r": 0.0})
    );
}

#[test]
fn bad_management_flags_are_refused_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str)] = &[
        ("--take-profits", "1R:150%"),
        ("--take-profits", "1R"),
        ("--take-profits", "2R:50%,1R:20%"),
        ("--take-profits", "1R:60%,2R:40%"),
        ("--take-profits", "-1R:50%"),
        (
            "--take-profits",
            "1R:10%,2R:10%,3R:10%,4R:10%,5R:10%,6R:10%",
        ),
        ("--breakeven-at-r", "0"),
        ("--breakeven-at-r", "-1"),
        ("--breakeven-at-r", "soon"),
        ("--trailing-stop-pct", "0"),
        ("--trailing-stop-pct", "50"),
        ("--trailing-stop-pct", "-2"),
        ("--trailing-stop-pct", "NaN"),
        ("--trailing-activate-at-r", "-0.5"),
        ("--trailing-activate-at-r", "off"),
    ];
    let database = dir.path().join("refused.db");
    for (flag, value) in cases {
        let output = std::process::Command::new(binary())
            .args(["backtest", "--symbol", "BTCUSDT", "--data"])
            .arg(fixture_dir())
            .arg("--database")
            .arg(&database)
            .args([flag, value])
            .env_clear()
            .current_dir(dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{flag} {value}: {stderr}");
        assert!(
            stderr.contains(&format!("'{value}' for '{flag} ")),
            "{flag} {value}: {stderr}"
        );
        assert!(output.stdout.is_empty(), "{flag} {value}: no report");
        assert!(!database.exists(), "{flag} {value}: nothing written");
    }
}

/// What a trade is as a request: the backtest's signal `s` again, with its own management.
fn request_of(s: &SignalRow) -> SignalRequest {
    SignalRequest {
        symbol: signaldesk::domain::Symbol::parse(&s.symbol).unwrap(),
        direction: s.direction,
        stop_loss: s.initial_stop_loss,
        take_profit: s.take_profit,
        confidence: s.confidence,
        strategy: s.strategy.clone(),
        timeframe: s.timeframe.clone(),
        external_id: s.external_id.clone(),
        reasons: s.reasons.clone(),
        notes: s.notes.clone(),
        management: Default::default(),
    }
}

/// A 1-minute candle as the live feed presents it to the tick at the candle's close: the last
/// price its close, the range the 1-minute candles overlapping the interval since the previous
/// tick reached (`range_since`, each candle by its trusted range).
fn live_quote(candle: &Candle) -> BTreeMap<String, Quote> {
    let closes = candle.open_time + chrono::Duration::minutes(1);
    let (high, low) = range_since(
        std::slice::from_ref(candle),
        candle.close,
        candle.open_time,
        candle.open_time,
    );
    let quote = Quote {
        symbol: "BTCUSDT".to_owned(),
        last_price: candle.close,
        high,
        low,
        price_time: closes,
        market_time: closes,
        change_24h_pct: None,
        high_24h: None,
        low_24h: None,
        volume_24h: None,
        minute_candles: Vec::new(),
    };
    BTreeMap::from([("BTCUSDT".to_owned(), quote)])
}

fn the_backtest_and_the_live_engine_agree_trade_for_trade(live: TempDb) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("backtest.db");
    let (candles, mut spec) = spec(Some(path.to_string_lossy().into_owned()));
    spec.rules.management = ManagementDefaults {
        take_profits: TargetSpec::parse_list("0.8R:30%,1.5R:30%").unwrap(),
        breakeven_at_r: Some(0.8),
        trailing_stop_pct: Some(0.5),
        trailing_activate_at_r: 0.0,
    };
    let report = run(&candles, &spec, |_, _| {}).unwrap();
    assert_eq!(report.open_at_end, 0);
    assert_check_passes_on(&path);
    let mut backtest = signaldesk::db::connect(path.to_str().unwrap()).unwrap();
    let mut trades = list_signals(&mut backtest, &Default::default(), None, 1_000).unwrap();
    trades.sort_by_key(|s| s.id);
    let (exits, moves, journal) = books_of(&path);
    // Every kind of exit and stop move is in play.
    for reason in [
        ExitReason::PartialTakeProfit,
        ExitReason::TakeProfit,
        ExitReason::StopLoss,
        ExitReason::BreakevenStop,
        ExitReason::TrailingStop,
    ] {
        assert!(exits.iter().any(|e| e.reason == reason), "no {reason} exit");
    }
    for reason in [StopReason::Breakeven, StopReason::Trailing] {
        assert!(moves.iter().any(|m| m.reason == reason), "no {reason} move");
    }

    // The live engine: the same trades opened at the same moments in a fresh database, one tick
    // at the close of every minute of the period, priced as the live feed prices it.
    let mut conn = live.conn();
    let mut opening = trades.iter().peekable();
    let minutes = candles
        .iter()
        .filter(|c| c.open_time >= spec.from && c.open_time < spec.to);
    for candle in minutes {
        let closes = (candle.open_time + chrono::Duration::minutes(1)).naive_utc();
        let outcome = update_paper_trades(
            &mut conn,
            &live_quote(candle),
            &spec.rules,
            spec.initial_balance,
            closes,
        )
        .unwrap();
        assert!(outcome.failed.is_empty(), "{:?}", outcome.failed);
        // The backtest opens a setup at the close of the candle that completed it, after that
        // minute's tick.
        while let Some(s) = opening.next_if(|s| s.created_at == closes) {
            let sizing = Sizing {
                quantity: s.quantity,
                risk_amount: s.risk_amount,
                entry_fee: s.entry_fee,
            };
            let row = opened_signal(
                &request_of(s),
                s.entry_price,
                &sizing,
                &managed(s).management,
                s.created_at,
            );
            let created = signaldesk::db::write_tx(&mut conn, |conn| {
                insert_signal(conn, &row, spec.initial_balance)
            })
            .unwrap();
            assert!(matches!(created, AddOutcome::Created(_)));
        }
    }
    assert!(opening.next().is_none(), "every trade opened");

    // The same books, trade for trade.
    let live_exits = all_exits(&mut conn).unwrap();
    let live_moves = all_stop_moves(&mut conn).unwrap();
    let live_journal = journal::all_entries(&mut conn).unwrap();
    for trade in &trades {
        let id = trade.signal_id();
        let mine = |e: &&TradeExitRow| e.signal_id == id.0;
        let booked: Vec<_> = exits.iter().filter(mine).collect();
        let replayed: Vec<_> = live_exits.iter().filter(mine).collect();
        assert_eq!(replayed, booked, "the exits of trade {id}");
        let moved = |m: &&StopMoveRow| m.signal_id == id.0;
        assert_eq!(
            live_moves.iter().filter(moved).collect::<Vec<_>>(),
            moves.iter().filter(moved).collect::<Vec<_>>(),
            "the stop moves of trade {id}"
        );
        let entry = |j: &&JournalEntryRow| j.signal_id == id.0;
        assert_eq!(
            live_journal.iter().find(entry),
            journal.iter().find(entry),
            "the journal entry of trade {id}"
        );
        assert_eq!(
            get_signal(&mut conn, id).unwrap(),
            get_signal(&mut backtest, id).unwrap(),
            "trade {id}"
        );
    }
    assert_eq!(
        (live_exits.len(), live_moves.len(), live_journal.len()),
        (exits.len(), moves.len(), journal.len())
    );
    assert_eq!(
        daily_stats::current_balance(&mut conn, spec.initial_balance).unwrap(),
        report.final_balance
    );
    let findings = run_checks(&mut conn, spec.initial_balance).unwrap();
    assert!(findings.iter().all(|f| f.ok), "{findings:?}");
}

crate::on_both_backends!(the_backtest_and_the_live_engine_agree_trade_for_trade);

/// `backtest --feed simulated`, or the simulated feed configured, runs offline on the simulated
/// market: the same candles the live feed serves, so the same trades as the library's run on
/// them, and the same answer either way.
#[test]
fn the_simulated_market_backtests_offline() {
    let dir = tempfile::tempdir().unwrap();
    let run = |extra: &[&str], env: &[(&str, &str)]| {
        let flags = ["--symbol", "ETHUSDT", "--timeframe", "5m"];
        run_backtest(dir.path(), &[&flags[..], extra].concat(), env)
    };
    let range = ["--from", "2026-03-01", "--to", "2026-03-04"];
    let explicit = run(&[&range[..], &["--feed", "simulated"]].concat(), &[]);
    let a = report_of(&explicit);
    let b = report_of(&run(&range, &[("SIGNALDESK_FEED", "simulated")]));
    assert_eq!(a["trades"], b["trades"]);
    assert_eq!(a["total_pnl"], b["total_pnl"]);

    let from = "2026-03-01T00:00:00Z".parse().unwrap();
    let to = "2026-03-05T00:00:00Z".parse().unwrap();
    let minutes = signaldesk::feeds::SimulatedFeed::new(signaldesk::feeds::SIMULATED_SEED)
        .history("ETHUSDT", from, to);
    assert_eq!(minutes.len(), 4 * 1_440);
    assert_eq!(minutes[0].open_time, from);
    let (_, mut spec) = spec(None);
    spec.symbol = signaldesk::domain::Symbol::parse("ETHUSDT").unwrap();
    spec.from = from;
    spec.to = to;
    let library = signaldesk::backtest::run(&minutes, &spec, |_, _| {}).unwrap();
    let library = serde_json::to_value(&library).unwrap();
    assert!(library["trades"].as_i64().unwrap() > 0, "{library}");
    assert_eq!(a["trades"], library["trades"]);
    assert_eq!(a["total_pnl"], library["total_pnl"]);

    let before = run(&["--feed", "simulated", "--to", "2024-12-31"], &[]);
    assert_eq!(before.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&before.stderr).contains("starts at 2025-01-01"));
    let both = run(
        &[&range[..], &["--feed", "simulated", "--data", "."]].concat(),
        &[],
    );
    assert_eq!(both.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&both.stderr).contains("--data"));
    let unknown = run(&["--feed", "kraken"], &[]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("--feed `kraken`"));
}

/// Runs `backtest --feed simulated --html FILE` over a few days of the simulated market; returns
/// the HTML and the JSON report of the same run.
pub fn simulated_backtest_html(dir: &Path) -> (PathBuf, serde_json::Value) {
    let html = dir.join("report.html");
    let flags = [
        "--symbol",
        "SOLUSDT",
        "--feed",
        "simulated",
        "--from",
        "2026-05-01",
        "--to",
        "2026-05-06",
        "--timeframe",
        "5m",
        "--html",
        html.to_str().unwrap(),
    ];
    let report = report_of(&run_backtest(dir, &flags, &[]));
    (html, report)
}

#[test]
fn the_html_report_holds_the_backtests_analytics_and_needs_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let (path, report) = simulated_backtest_html(dir.path());
    let html = std::fs::read_to_string(&path).unwrap();
    let trades = report["trades"].as_i64().unwrap();
    assert!(trades > 5, "{report}");
    assert!(
        html.contains(&format!(
            "<th scope=\"row\">Trades</th><td class=\"num \">{trades}</td>"
        )),
        "the summary counts the backtest's trades"
    );
    let rate = report["win_rate"].as_f64().unwrap();
    assert!(html.contains(&format!("{rate:.1}%")), "win rate {rate}");
    for title in [
        "Summary",
        "R-multiple distribution",
        "Hold time",
        "By strategy",
        "By symbol",
        "By direction",
        "By exit reason",
        "By weekday of entry (UTC)",
        "By hour of entry (UTC)",
        "MAE / MFE per trade",
        "Days with closes",
        "Backtest SOLUSDT · 5m",
    ] {
        assert!(html.contains(title), "missing {title}");
    }
    // The charts, inline.
    for chart in [
        "Equity at each day&#39;s end (USDT)",
        "Drawdown from the peak (USDT)",
        "PnL per day (USDT)",
        "Trades per R multiple",
        "Trades per hold time",
        "MAE against MFE per trade",
        "PnL by strategy",
        "PnL by hour of entry (UTC)",
    ] {
        assert!(
            html.contains(&format!("role=\"img\" aria-label=\"{chart}\"")),
            "no chart {chart}"
        );
    }
    assert!(html.matches("<rect class=\"chart-bar").count() as i64 >= trades.min(3));
    // Self-contained: nothing to fetch, whatever opens it.
    for external in ["<link", "<script", " src=", " href=", "url(", "@import"] {
        assert!(!html.contains(external), "{external} in the report");
    }
    assert!(html.contains("<style>") && html.contains(".analytics"));
}
