//! Backtest speed (issue 7 target: a year of 1-minute candles, 525 600, for one symbol in under
//! 2 s in release mode). The year comes from the deterministic simulated market, so every run
//! measures the same candles. Run with `cargo bench --bench backtest`.

use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use signaldesk::backtest::{run, BacktestSpec};
use signaldesk::domain::market::Timeframe;
use signaldesk::domain::rules::TradingRules;
use signaldesk::feeds::{PriceFeed, SimulatedFeed};

fn main() {
    let minutes_in_year = 525_600;
    let end = DateTime::<Utc>::from_timestamp(1_767_225_600, 0).unwrap(); // 2026-01-01
    let feed = SimulatedFeed::new(42);
    let generated = Instant::now();
    let candles = actix_web::rt::System::new()
        .block_on(feed.candles("BTCUSDT", Timeframe::M1, minutes_in_year, end))
        .expect("simulated year");
    eprintln!(
        "generated {} candles in {:.2}s",
        candles.len(),
        generated.elapsed().as_secs_f64()
    );
    for timeframe in [Timeframe::M5, Timeframe::M15] {
        let spec = BacktestSpec {
            symbol: signaldesk::domain::Symbol::parse("BTCUSDT").unwrap(),
            timeframe,
            from: end - Duration::days(365),
            to: end,
            rules: TradingRules::defaults_for(10_000.0),
            initial_balance: 10_000.0,
            database: None,
        };
        let mut times = Vec::new();
        let mut last = None;
        for _ in 0..3 {
            let started = Instant::now();
            let report = run(&candles, &spec, |_, _| {}).expect("backtest");
            times.push(started.elapsed().as_secs_f64());
            last = Some(report);
        }
        times.sort_by(f64::total_cmp);
        let report = last.unwrap();
        println!(
            "backtest {} {}: {} candles, {} trades, win rate {:.1}%, pnl {:+.2} — best {:.3}s, median {:.3}s",
            report.symbol,
            report.timeframe,
            report.candles,
            report.trades,
            report.win_rate,
            report.total_pnl,
            times[0],
            times[1]
        );
    }
}
