//! Latency of `/`, `/api/data`, `/api/stats` and a deep `/api/signals` page against databases with
//! 1 000, 100 000 and 1 000 000 closed signals (issue 6 target: latency independent of history
//! size, p50 under 2 ms for `/api/data` at 1 000 000; issue 11: the same on PostgreSQL).
//!
//! On SQLite, a file in a temporary folder: `cargo bench --bench pages`. On PostgreSQL, a fresh
//! database per size, created on the server and dropped after it: give the URL of a role that
//! may create databases,
//! `SIGNALDESK_BENCH_DATABASE_URL=postgres://signaldesk:signaldesk@127.0.0.1:5432/postgres cargo bench --bench pages`.
//!
//! The fixture generator fills the database with SQL in one transaction (SQLite: a recursive
//! CTE; PostgreSQL: `generate_series`): N closed trades over the year before today (symbols,
//! strategies, timeframes, confidences, tags, R values and hold times varied) with their journal
//! entries and a consistent daily_stats chain, then today's activity (open trades, closes)
//! through the real repository functions, then `signaldesk rebuild`'s recomputation of the
//! analytics rollups (issue 13: `/history`, `/analytics`, `/api/analytics` and `/trades/{id}`
//! at each size; targets p50 < 20 ms at 1 000 000 and within 1.5× of 1 000). On PostgreSQL it then runs `VACUUM ANALYZE`,
//! the state autovacuum brings a freshly filled table to within a minute anyway. The real
//! server is started in-process on a free port with a feed that is never reachable, so nothing
//! changes during the measurement; requests are sequential over one keep-alive connection.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use signaldesk::app::App;
use signaldesk::clock::now_utc;
use signaldesk::config::Config;
use signaldesk::db;
use signaldesk::db::intake::{opened_signal, SignalRequest};
use signaldesk::db::signals::{close_in_transaction, insert_signal, CloseRequest};
use signaldesk::domain::trading::Sizing;
use signaldesk::domain::{Direction, ExitReason, Symbol};

mod common;

const INITIAL: f64 = 10_000.0;
/// The generated history covers the year before today: every trade is in `/api/analytics`'s
/// default range (DESIGN.md §11), the heaviest case for it.
const HISTORY_DAYS: i64 = 365;

/// Fill `url` with `closed` historical trades and today's activity.
fn generate(url: &str, closed: u64) {
    let mut conn = db::connect(url).expect("connect");
    db::run_migrations(&mut conn).expect("migrate");
    match conn.backend() {
        db::Backend::Sqlite => generate_sqlite_history(&mut conn, closed),
        db::Backend::Postgres => generate_postgres_history(&mut conn, closed),
    }
    generate_today(&mut conn);
    let started = Instant::now();
    db::write_tx(&mut conn, |conn| {
        db::analytics::rebuild(conn, now_utc(), |_, _| {})
    })
    .expect("rebuild the rollups");
    eprintln!(
        "rebuilt the rollups of {closed} trades in {:.1}s",
        started.elapsed().as_secs_f64()
    );
}

/// `closed` trades over the year before today, their journal and daily stats, on SQLite.
fn generate_sqlite_history(conn: &mut db::Conn, closed: u64) {
    let seconds_per_trade = HISTORY_DAYS as f64 * 86_400.0 / closed as f64;
    conn.batch_execute(&format!(
        "BEGIN;
         WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {closed}),
         t AS (SELECT n,
                 CASE n % 4 WHEN 0 THEN 'BTCUSDT' WHEN 1 THEN 'ETHUSDT' WHEN 2 THEN 'SOLUSDT' ELSE 'XRPUSDT' END AS symbol,
                 n % 2 = 0 AS long,
                 CASE n % 3 WHEN 0 THEN 'ict' WHEN 1 THEN 'webhook' ELSE 'api' END AS strategy,
                 CASE n % 3 WHEN 0 THEN '5m' WHEN 1 THEN '15m' ELSE '1h' END AS timeframe,
                 0.05 + (n % 10) / 10.0 AS confidence,
                 -- R: wins spread over 0.5–3 R, losses over -0.9 to -1.02 R (the stop and its slippage).
                 CASE WHEN n % 5 < 2 THEN 0.5 + (n * 7 % 101) / 40.0 ELSE -(0.9 + (n % 13) / 100.0) END AS r,
                 60 + n * 37 % 20000 AS hold,
                 datetime(date('now', '-{HISTORY_DAYS} days'), '+' || CAST(n * {seconds_per_trade} AS INTEGER) || ' seconds') AS opened
               FROM seq)
         INSERT INTO signals (symbol, direction, status, entry_price, stop_loss, take_profit, quantity,
             risk_amount, confidence, strategy, timeframe, reasons, current_price, unrealized_pnl,
             max_favorable_price, max_adverse_price, exit_price, exit_reason, pnl, fees, created_at,
             closed_at, updated_at, initial_stop_loss, remaining_quantity, realized_pnl, entry_fee)
         SELECT symbol, CASE WHEN long THEN 'LONG' ELSE 'SHORT' END, 'CLOSED', 100.0,
             CASE WHEN long THEN 95.0 ELSE 105.0 END, CASE WHEN long THEN 115.0 ELSE 85.0 END, 1.0,
             5.0, confidence, strategy, timeframe, 'fixture',
             0, 0,
             CASE WHEN long THEN 100.0 + 5.0 * max(r, 0) + n % 5 ELSE 100.0 - 5.0 * max(r, 0) - n % 5 END,
             CASE WHEN long THEN 100.0 - 5.0 * max(-r, 0.2) ELSE 100.0 + 5.0 * max(-r, 0.2) END,
             CASE WHEN long THEN 100.0 + 5.0 * r ELSE 100.0 - 5.0 * r END,
             CASE WHEN r > 0 THEN 'TAKE_PROFIT' ELSE 'STOP_LOSS' END,
             5.0 * r, 0.2, opened,
             datetime(opened, '+' || hold || ' seconds'), datetime(opened, '+' || hold || ' seconds'),
             CASE WHEN long THEN 95.0 ELSE 105.0 END, 0, 5.0 * r, 0.1
         FROM t;
         UPDATE signals SET current_price = exit_price;
         INSERT INTO journal_entries (signal_id, symbol, direction, entry_price, exit_price, quantity,
             pnl, pnl_pct, r_multiple, outcome, exit_reason, opened_at, closed_at, duration_secs,
             balance_after, tags, created_at, updated_at)
         SELECT id, symbol, direction, entry_price, exit_price, quantity, pnl, pnl, pnl / 5.0,
             CASE WHEN pnl > 0 THEN 'WIN' ELSE 'LOSS' END, exit_reason, created_at, closed_at,
             strftime('%s', closed_at) - strftime('%s', created_at),
             {INITIAL} + SUM(pnl) OVER (ORDER BY closed_at, id),
             CASE id % 7 WHEN 0 THEN 'breakout' WHEN 1 THEN 'breakout,news' WHEN 2 THEN 'revenge' ELSE '' END,
             closed_at, closed_at
         FROM signals ORDER BY closed_at, id;
         INSERT INTO daily_stats (date, scan_count, signals_generated, trades_closed, wins, losses,
             starting_balance, paper_balance, realized_pnl, total_pnl, updated_at)
         SELECT day, 0, 0, trades, wins, losses, {INITIAL} + total - day_pnl, {INITIAL} + total,
             day_pnl, total, day || ' 23:59:59'
         FROM (SELECT substr(closed_at, 1, 10) AS day, COUNT(*) AS trades, SUM(pnl > 0) AS wins,
                      SUM(pnl < 0) AS losses, SUM(pnl) AS day_pnl,
                      SUM(SUM(pnl)) OVER (ORDER BY substr(closed_at, 1, 10)) AS total
               FROM signals GROUP BY day);
         CREATE TEMP TABLE created AS
             SELECT substr(created_at, 1, 10) AS day, COUNT(*) AS n FROM signals GROUP BY day;
         CREATE UNIQUE INDEX temp.created_day ON created (day);
         UPDATE daily_stats SET signals_generated =
             coalesce((SELECT n FROM created WHERE created.day = daily_stats.date), 0);
         COMMIT;"
    ))
    .expect("generate history");

    // SIGNALDESK_BENCH_ANALYZE=1: measure with planner statistics, as after a user's ANALYZE.
    if std::env::var("SIGNALDESK_BENCH_ANALYZE").is_ok_and(|v| v == "1") {
        conn.batch_execute("ANALYZE;").expect("analyze");
    }
}

/// The same history as [`generate_sqlite_history`], on PostgreSQL, then `VACUUM ANALYZE`.
fn generate_postgres_history(conn: &mut db::Conn, closed: u64) {
    let seconds_per_trade = HISTORY_DAYS as f64 * 86_400.0 / closed as f64;
    conn.batch_execute(&format!(
        "BEGIN;
         INSERT INTO signals (symbol, direction, status, entry_price, stop_loss, take_profit, quantity,
             risk_amount, confidence, strategy, timeframe, reasons, current_price, unrealized_pnl,
             max_favorable_price, max_adverse_price, exit_price, exit_reason, pnl, fees, created_at,
             closed_at, updated_at, initial_stop_loss, remaining_quantity, realized_pnl, entry_fee)
         SELECT symbol, CASE WHEN is_long THEN 'LONG' ELSE 'SHORT' END, 'CLOSED', 100.0,
             CASE WHEN is_long THEN 95.0 ELSE 105.0 END, CASE WHEN is_long THEN 115.0 ELSE 85.0 END,
             1.0, 5.0, confidence, strategy, timeframe, 'fixture',
             exit, 0,
             CASE WHEN is_long THEN 100.0 + 5.0 * greatest(r, 0) + n % 5 ELSE 100.0 - 5.0 * greatest(r, 0) - n % 5 END,
             CASE WHEN is_long THEN 100.0 - 5.0 * greatest(-r, 0.2) ELSE 100.0 + 5.0 * greatest(-r, 0.2) END,
             exit, CASE WHEN r > 0 THEN 'TAKE_PROFIT' ELSE 'STOP_LOSS' END,
             5.0 * r, 0.2, opened,
             opened + make_interval(secs => hold), opened + make_interval(secs => hold),
             CASE WHEN is_long THEN 95.0 ELSE 105.0 END, 0, 5.0 * r, 0.1
         FROM (SELECT n, is_long, r, hold, opened, symbol, strategy, timeframe, confidence,
                 CASE WHEN is_long THEN 100.0 + 5.0 * r ELSE 100.0 - 5.0 * r END AS exit
               FROM (SELECT n,
                 CASE n % 4 WHEN 0 THEN 'BTCUSDT' WHEN 1 THEN 'ETHUSDT' WHEN 2 THEN 'SOLUSDT' ELSE 'XRPUSDT' END AS symbol,
                 n % 2 = 0 AS is_long,
                 CASE n % 3 WHEN 0 THEN 'ict' WHEN 1 THEN 'webhook' ELSE 'api' END AS strategy,
                 CASE n % 3 WHEN 0 THEN '5m' WHEN 1 THEN '15m' ELSE '1h' END AS timeframe,
                 0.05 + (n % 10) / 10.0 AS confidence,
                 CASE WHEN n % 5 < 2 THEN 0.5 + (n * 7 % 101) / 40.0 ELSE -(0.9 + (n % 13) / 100.0) END::float8 AS r,
                 60 + n * 37 % 20000 AS hold,
                 (current_date - {HISTORY_DAYS})::timestamp
                     + make_interval(secs => floor(n * {seconds_per_trade}::float8)) AS opened
               FROM generate_series(1::bigint, {closed}::bigint) AS n) u) t
         ORDER BY n;
         INSERT INTO journal_entries (signal_id, symbol, direction, entry_price, exit_price, quantity,
             pnl, pnl_pct, r_multiple, outcome, exit_reason, opened_at, closed_at, duration_secs,
             balance_after, tags, created_at, updated_at)
         SELECT id, symbol, direction, entry_price, exit_price, quantity, pnl, pnl, pnl / 5.0,
             CASE WHEN pnl > 0 THEN 'WIN' ELSE 'LOSS' END, exit_reason, created_at, closed_at,
             extract(epoch FROM closed_at - created_at)::bigint,
             {INITIAL} + SUM(pnl) OVER (ORDER BY closed_at, id),
             CASE id % 7 WHEN 0 THEN 'breakout' WHEN 1 THEN 'breakout,news' WHEN 2 THEN 'revenge' ELSE '' END,
             closed_at, closed_at
         FROM signals ORDER BY closed_at, id;
         INSERT INTO daily_stats (date, scan_count, signals_generated, trades_closed, wins, losses,
             starting_balance, paper_balance, realized_pnl, total_pnl, updated_at)
         SELECT d.day, 0, coalesce(c.n, 0), d.trades, d.wins, d.losses,
             {INITIAL} + d.total - d.day_pnl, {INITIAL} + d.total, d.day_pnl, d.total,
             d.day + time '23:59:59'
         FROM (SELECT closed_at::date AS day, COUNT(*)::int AS trades,
                      (COUNT(*) FILTER (WHERE pnl > 0))::int AS wins,
                      (COUNT(*) FILTER (WHERE pnl < 0))::int AS losses, SUM(pnl) AS day_pnl,
                      SUM(SUM(pnl)) OVER (ORDER BY closed_at::date) AS total
               FROM signals GROUP BY closed_at::date) d
         LEFT JOIN (SELECT created_at::date AS day, COUNT(*)::int AS n
                    FROM signals GROUP BY created_at::date) c ON c.day = d.day
         ORDER BY d.day;
         COMMIT;"
    ))
    .expect("generate history");
    conn.batch_execute("VACUUM ANALYZE signals, journal_entries, daily_stats")
        .expect("vacuum analyze");
}

/// Today: 12 signals, 8 of them closed, through the repository.
fn generate_today(conn: &mut db::Conn) {
    let now = now_utc();
    for i in 0..12 {
        let request = SignalRequest {
            symbol: Symbol::parse(["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"][i % 4]).unwrap(),
            direction: Direction::Long,
            stop_loss: 95.0,
            take_profit: 110.0,
            confidence: 0.8,
            strategy: "bench".to_owned(),
            timeframe: Some("5m".to_owned()),
            external_id: None,
            reasons: "today".to_owned(),
            notes: None,
            management: Default::default(),
        };
        let sizing = Sizing {
            quantity: 1.0,
            risk_amount: 5.0,
            entry_fee: 0.1,
        };
        let row = opened_signal(&request, 100.0, &sizing, &Default::default(), now);
        db::write_tx(conn, |conn| {
            let db::signals::AddOutcome::Created(row) = insert_signal(conn, &row, INITIAL)? else {
                unreachable!()
            };
            if i < 8 {
                let request = CloseRequest {
                    exit_price: 104.0,
                    exit_reason: ExitReason::Manual,
                    fee_rate: 0.001,
                    closed_at: now,
                };
                close_in_transaction(conn, row.signal_id(), &request, INITIAL)?;
            }
            diesel::QueryResult::Ok(())
        })
        .unwrap();
    }
}

fn start_server(url: &str) -> String {
    let mut flags: Vec<(String, String)> = [
        ("database_url", url),
        ("bind", "127.0.0.1:0"),
        // The simulated market prices POST /api/signals; one tick at start, then none.
        ("feed", "simulated"),
        ("tick_secs", "3600"),
        ("api_token", "bench-token-0123456789"),
        ("scan", "off"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    flags.push(("initial_balance".to_owned(), INITIAL.to_string()));
    let config = Config::from_layers(None, Vec::new(), &flags).expect("config");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let app = App::build(config).await.expect("start");
            tx.send(app.addr()).unwrap();
            app.run_until_stopped().await.unwrap();
        });
    });
    format!("http://{}", rx.recv().unwrap())
}

fn measure(client: &reqwest::blocking::Client, url: &str, runs: usize) -> (Duration, Duration) {
    measure_with(runs, || {
        let response = client.get(url).send().unwrap();
        assert!(
            response.status().is_success(),
            "{url}: {}",
            response.status()
        );
        response.bytes().unwrap();
    })
}

/// p50 and p95 of `runs` calls after 30 warm-up calls.
fn measure_with(runs: usize, mut request: impl FnMut()) -> (Duration, Duration) {
    for _ in 0..30 {
        request();
    }
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            request();
            started.elapsed()
        })
        .collect();
    times.sort();
    (times[runs / 2], times[runs * 95 / 100])
}

fn main() {
    let client = reqwest::blocking::Client::new();
    println!(
        "{}",
        match common::backend() {
            db::Backend::Sqlite => "SQLite file (WAL, synchronous=FULL)",
            db::Backend::Postgres => "PostgreSQL",
        }
    );
    println!(
        "{:>10} {:<44} {:>9} {:>9}",
        "closed", "endpoint", "p50", "p95"
    );
    // SIGNALDESK_BENCH_SIZES=1000,100000 picks sizes; the default is the three.
    let sizes: Vec<u64> = std::env::var("SIGNALDESK_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 100_000, 1_000_000]);
    for closed in sizes {
        let database = common::BenchDb::new();
        let url = database.url().to_owned();
        let started = Instant::now();
        generate(&url, closed);
        eprintln!(
            "generated {closed} closed signals in {:.1}s",
            started.elapsed().as_secs_f64()
        );
        let base = start_server(&url);
        // Wait for the first tick: it prices the watch-list for the POSTs.
        while client
            .get(format!("{base}/api/health"))
            .send()
            .unwrap()
            .json::<serde_json::Value>()
            .unwrap()["last_tick_at"]
            .is_null()
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        let deep = closed / 2;
        for path in [
            "/".to_owned(),
            "/api/data".to_owned(),
            "/api/stats".to_owned(),
            format!("/api/signals?before_id={deep}&limit=100"),
            format!("/api/signals?status=CLOSED&symbol=BTCUSDT&before_id={deep}&limit=100"),
        ] {
            let (p50, p95) = measure(&client, &format!("{base}{path}"), 300);
            println!(
                "{closed:>10} {path:<44} {:>7.3}ms {:>7.3}ms",
                p50.as_secs_f64() * 1e3,
                p95.as_secs_f64() * 1e3
            );
        }
        // The intake's whole transaction (exposure, gates, refusal) on every POST after the
        // first, which opens the position the others are refused for.
        // Levels far from the price, within the hundredfold bounds the intake accepts.
        let price = client
            .get(format!("{base}/api/data"))
            .send()
            .unwrap()
            .json::<serde_json::Value>()
            .unwrap()["prices"][0]["price"]
            .as_f64()
            .expect("a BTCUSDT price after the first tick");
        let body = serde_json::json!({"symbol": "BTCUSDT", "direction": "LONG",
            "stop_loss": price / 2.0, "take_profit": price * 2.0});
        let post = || {
            let response = client
                .post(format!("{base}/api/signals"))
                .bearer_auth("bench-token-0123456789")
                .json(&body)
                .send()
                .unwrap();
            let status = response.status().as_u16();
            response.bytes().unwrap();
            assert!(
                status == 201 || status == 409,
                "POST /api/signals: {status}"
            );
        };
        let (p50, p95) = measure_with(300, post);
        println!(
            "{closed:>10} {:<44} {:>7.3}ms {:>7.3}ms",
            "POST /api/signals (409: open position)",
            p50.as_secs_f64() * 1e3,
            p95.as_secs_f64() * 1e3
        );
        // History and analytics (issue 13), after the POSTs: a slow one must not age the price
        // the intake needs.
        for path in [
            "/history".to_owned(),
            "/analytics".to_owned(),
            "/api/analytics".to_owned(),
            "/api/analytics?symbol=BTCUSDT".to_owned(),
            format!("/trades/{deep}"),
        ] {
            let runs = if path.contains('?') { 50 } else { 300 };
            let (p50, p95) = measure(&client, &format!("{base}{path}"), runs);
            println!(
                "{closed:>10} {path:<44} {:>7.3}ms {:>7.3}ms",
                p50.as_secs_f64() * 1e3,
                p95.as_secs_f64() * 1e3
            );
        }
    }
}
