//! Benchmark of one tick's write (the glitch guard and the stored quotes, then `update_paper_trades`,
//! as `engine::tick::book_poll` runs it live) with 10, 1 000 and 10 000 ACTIVE trades, in two
//! runs. Plain: prices move every tick but stay inside every trade's levels, so each tick
//! refreshes every trade (the common case). Managed (issue 12 target on SQLite: 10 000 under
//! 150 ms): every trade has two partial targets, breakeven and a 1 % trailing stop; LONG trades'
//! prices rise and SHORT trades' fall 0.1 % per tick, so every tick moves every trade's trailing
//! stop (a `stop_moves` row each, the worst case) and none closes. Prints min / median / p95 per
//! size.
//!
//! On SQLite (issue 5 targets: 1 000 under 20 ms, 10 000 under 150 ms), a file in a temporary
//! folder (WAL, `synchronous=FULL`): `cargo bench --bench tick`.
//!
//! On PostgreSQL (issue 11 targets: 1 000 under 30 ms, 10 000 under 250 ms), a fresh database per
//! size, created on the server and dropped after it: give the URL of a role that may create
//! databases,
//! `SIGNALDESK_BENCH_DATABASE_URL=postgres://signaldesk:signaldesk@127.0.0.1:5432/postgres cargo bench --bench tick`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use signaldesk::clock::now_utc;
use signaldesk::db;
use signaldesk::db::exits::Books;
use signaldesk::db::intake::{opened_signal, SignalRequest};
use signaldesk::db::signals::insert_signal;
use signaldesk::domain::management::{Management, PartialTarget};
use signaldesk::domain::notify::{Event, Target};
use signaldesk::domain::rules::TradingRules;
use signaldesk::domain::trading::Sizing;
use signaldesk::domain::{Direction, Symbol};
use signaldesk::engine::tick::book_poll;
use signaldesk::feeds::Quote;
use signaldesk::notify::Outbox;

mod common;

const SYMBOLS: usize = 50;

fn quote(symbol: &str, price: f64, at: DateTime<Utc>) -> Quote {
    Quote {
        symbol: symbol.to_owned(),
        last_price: price,
        high: price * 1.001,
        low: price * 0.999,
        price_time: at,
        market_time: at,
        change_24h_pct: None,
        high_24h: None,
        low_24h: None,
        volume_24h: None,
        minute_candles: Vec::new(),
    }
}

/// Partial targets far beyond the prices of the run, breakeven at 0.2R, a 1 % trailing stop.
fn management(direction: Direction) -> Management {
    let sign = direction.sign();
    Management {
        take_profits: vec![
            PartialTarget {
                price: 100.0 + sign * 15.0,
                fraction: 0.3,
            },
            PartialTarget {
                price: 100.0 + sign * 18.0,
                fraction: 0.3,
            },
        ],
        breakeven_at_r: Some(0.2),
        trailing_stop_pct: Some(1.0),
        trailing_activate_at_r: 0.0,
    }
}

/// A LONG on an even symbol, a SHORT on an odd one: managed trades follow their symbol's trend.
fn direction_of(trade: usize, managed: bool) -> Direction {
    let even = if managed {
        (trade % SYMBOLS) % 2 == 0
    } else {
        trade % 2 == 0
    };
    if even {
        Direction::Long
    } else {
        Direction::Short
    }
}

fn seed(conn: &mut db::Conn, open_trades: usize, managed: bool) {
    let now = now_utc();
    db::write_tx::<_, diesel::result::Error, _>(conn, |conn| {
        for i in 0..open_trades {
            let direction = direction_of(i, managed);
            let (stop, target) = match direction {
                Direction::Long => (90.0, 120.0),
                Direction::Short => (110.0, 80.0),
            };
            let request = SignalRequest {
                symbol: Symbol::parse(&format!("SYM{}USDT", i % SYMBOLS)).expect("symbol"),
                direction,
                stop_loss: stop,
                take_profit: target,
                confidence: 0.8,
                strategy: "bench".to_owned(),
                timeframe: Some("5m".to_owned()),
                external_id: None,
                reasons: "bench".to_owned(),
                notes: None,
                management: Default::default(),
            };
            let sizing = Sizing {
                quantity: 1.0,
                risk_amount: 10.0,
                entry_fee: 0.1,
            };
            let plan = if managed {
                management(direction)
            } else {
                Management::default()
            };
            insert_signal(
                conn,
                &opened_signal(&request, 100.0, &sizing, &plan, now),
                10_000.0,
            )?;
        }
        Ok(())
    })
    .expect("seed");
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let backend = match common::backend() {
        db::Backend::Sqlite => "SQLite file (WAL, synchronous=FULL)",
        db::Backend::Postgres => "PostgreSQL",
    };
    println!("the tick's write (glitch guard, quotes, update_paper_trades), {backend}");
    // SIGNALDESK_BENCH_SIZES=10000 picks sizes, SIGNALDESK_BENCH_RUNS=managed one run.
    let sizes: Vec<usize> = std::env::var("SIGNALDESK_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10, 1_000, 10_000]);
    let runs =
        std::env::var("SIGNALDESK_BENCH_RUNS").unwrap_or_else(|_| "plain,managed,notify".into());
    for run_name in runs.split(',') {
        match run_name.trim() {
            "notify" => run_notify(*sizes.iter().max().unwrap_or(&10_000)),
            name => run(name == "managed", &sizes),
        }
    }
}

fn run(managed: bool, sizes: &[usize]) {
    let rules = TradingRules::defaults_for(10_000.0);
    let books = Books {
        rules: &rules,
        initial_balance: 10_000.0,
        outbox: &Outbox::off(),
    };
    println!(
        "{}",
        if managed {
            "managed: 2 partial targets, breakeven, 1 % trailing stop moving on every trade every tick"
        } else {
            "plain: every trade refreshed"
        }
    );
    println!(
        "{:>12} {:>6} {:>10} {:>10} {:>10}",
        "open trades", "ticks", "min", "median", "p95"
    );
    for &open_trades in sizes {
        let database = common::BenchDb::new();
        let mut conn = db::connect(database.url()).expect("connect");
        db::run_migrations(&mut conn).expect("migrate");
        seed(&mut conn, open_trades, managed);
        let ticks = if open_trades >= 10_000 { 30 } else { 100 };
        let mut times = Vec::with_capacity(ticks);
        for tick in 0..ticks {
            let now = Utc::now();
            let quotes: BTreeMap<String, Quote> = (0..SYMBOLS)
                .map(|i| {
                    let symbol = format!("SYM{i}USDT");
                    let price = if !managed {
                        100.0 + (tick % 7) as f64 * 0.5
                    } else if i % 2 == 0 {
                        100.0 * 1.001f64.powi(tick as i32 + 1)
                    } else {
                        100.0 * 0.999f64.powi(tick as i32 + 1)
                    };
                    (symbol.clone(), quote(&symbol, price, now))
                })
                .collect();
            let started = Instant::now();
            let (_, outcome) = book_poll(&mut conn, quotes, &books, now_utc()).expect("tick");
            times.push(started.elapsed());
            assert_eq!(
                outcome.updated, open_trades,
                "every trade refreshed, none closed"
            );
            if managed {
                assert_eq!(outcome.stops_moved, open_trades, "every stop moved");
            }
        }
        times.sort();
        println!(
            "{:>12} {:>6} {:>8.2}ms {:>8.2}ms {:>8.2}ms",
            open_trades,
            ticks,
            times[0].as_secs_f64() * 1e3,
            percentile(&times, 0.5).as_secs_f64() * 1e3,
            percentile(&times, 0.95).as_secs_f64() * 1e3,
        );
    }
}

/// Issue 14's comparison: ticks that close trades, with the outbox off and with three targets
/// taking every event. `open_trades` trades on 50 symbols (all LONG on the even ones, SHORT on the
/// odd); tick `t` takes symbol `t` through its take-profit, closing its trades (200 of 10 000),
/// while every other trade is refreshed. With notifications on, each close queues one
/// `trade_closed` row per target in the tick's transaction, after reading the trade's exits and
/// stop moves.
fn run_notify(open_trades: usize) {
    let rules = TradingRules::defaults_for(10_000.0);
    let targets = [
        "telegram:123456:AAbench:-100123",
        "discord:https://discord.com/api/webhooks/1/bench",
        "webhook:https://hooks.example.com/bench",
    ]
    .map(|t| Target::parse(t).expect("target"));
    let on = Outbox::new(
        &targets,
        &Event::ALL,
        Some("https://desk.example.com"),
        rules.min_balance,
    );
    let off = Outbox::off();
    println!(
        "notify: ticks that close {} trades each, notifications off and on (3 targets)",
        open_trades / SYMBOLS
    );
    println!(
        "{:>12} {:>6} {:>10} {:>10} {:>10} {:>10}",
        "open trades", "ticks", "outbox", "min", "median", "p95"
    );
    let mut medians = Vec::new();
    // Twice each, alternating: the passes' own spread shows beside the difference.
    for (name, outbox) in [("off", &off), ("on", &on), ("off", &off), ("on", &on)] {
        let books = Books {
            rules: &rules,
            initial_balance: 10_000.0,
            outbox,
        };
        let database = common::BenchDb::new();
        let mut conn = db::connect(database.url()).expect("connect");
        db::run_migrations(&mut conn).expect("migrate");
        seed(&mut conn, open_trades, false);
        let ticks = 30.min(SYMBOLS);
        let mut times = Vec::with_capacity(ticks);
        let mut closed = 0;
        for tick in 0..ticks {
            let now = Utc::now();
            let quotes: BTreeMap<String, Quote> = (0..SYMBOLS)
                .map(|i| {
                    let symbol = format!("SYM{i}USDT");
                    let price = match (i == tick, i % 2 == 0) {
                        (true, true) => 121.0,
                        (true, false) => 79.0,
                        _ => 100.0 + (tick % 7) as f64 * 0.5,
                    };
                    (symbol.clone(), quote(&symbol, price, now))
                })
                .collect();
            let started = Instant::now();
            let (_, outcome) = book_poll(&mut conn, quotes, &books, now_utc()).expect("tick");
            times.push(started.elapsed());
            assert_eq!(
                outcome.closed.len(),
                open_trades / SYMBOLS,
                "one symbol's trades close"
            );
            closed += outcome.closed.len();
        }
        let queued: i64 = {
            use diesel::prelude::*;
            signaldesk::db::schema::notifications::table
                .count()
                .get_result(&mut conn)
                .expect("count")
        };
        let expected = if name == "on" {
            closed * targets.len()
        } else {
            0
        };
        assert_eq!(
            queued as usize, expected,
            "every close queued for every target"
        );
        times.sort();
        let median = percentile(&times, 0.5);
        medians.push(median);
        println!(
            "{:>12} {:>6} {:>10} {:>8.2}ms {:>8.2}ms {:>8.2}ms",
            open_trades,
            ticks,
            name,
            times[0].as_secs_f64() * 1e3,
            median.as_secs_f64() * 1e3,
            percentile(&times, 0.95).as_secs_f64() * 1e3,
        );
    }
    let mean = |a: Duration, b: Duration| (a.as_secs_f64() + b.as_secs_f64()) / 2.0;
    let (off, on) = (mean(medians[0], medians[2]), mean(medians[1], medians[3]));
    println!(
        "notifications on: mean of the medians {:+.2} ms ({:+.1} %)",
        (on - off) * 1e3,
        (on / off - 1.0) * 100.0
    );
}
