//! The backtest on the committed fixture (5 days of the simulated market, seed 42, in Binance's
//! kline CSV format): stable figures, trades that follow the live engine's rules and books that
//! pass `signaldesk check`, and the CLI's CSV and JSON.

use std::path::{Path, PathBuf};

use signaldesk::backtest::{run, BacktestSpec};
use signaldesk::db::signals::list_signals;
use signaldesk::domain::market::Timeframe;
use signaldesk::domain::rules::TradingRules;
use signaldesk::domain::{Direction, ExitReason, SignalStatus};
use signaldesk::feeds::replay::read_klines;

use crate::helpers::{binary, run_cli};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/backtest")
}

fn spec(database: Option<String>) -> (Vec<signaldesk::domain::market::Candle>, BacktestSpec) {
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
