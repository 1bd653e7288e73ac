//! The analytics rollups across kill -9 (DESIGN.md §11): the real server closes many trades over
//! several ticks and is killed at pseudo-random moments around them; after every kill
//! `signaldesk check` passes (every rollup equals its recomputation from the raw rows), and once
//! the closes are booked `/api/analytics` equals the recomputation of `recompute`.

use chrono::Duration;
use signaldesk::db::signals::get_active_signals;

use crate::fake_exchange::FakeExchange;
use crate::helpers::{
    assert_check_passes, wait_until, SignalBuilder, TempDb, TestServer, INITIAL_BALANCE,
};
use crate::recompute::{assert_matches, server_today, Filter};

const SYMBOLS: [&str; 3] = ["BTCUSDT", "ETHUSDT", "SOLUSDT"];

/// Per symbol: longs with targets at 101…112 and shorts with stops at 101…106, all entered at 100.
const LONGS: i64 = 12;
const SHORTS: i64 = 6;

/// The trades a price of `price` has closed on one symbol: each long whose target and each short
/// whose stop lies at or below it.
fn closed_at(price: f64) -> i64 {
    let reached = |n: i64| (1..=n).filter(|k| 100.0 + *k as f64 <= price).count() as i64;
    reached(LONGS) + reached(SHORTS)
}

fn wait_for_open(db: &TempDb, open: i64) {
    wait_until(&format!("{open} open trades"), || {
        let now = get_active_signals(&mut db.conn())
            .expect("open trades")
            .len() as i64;
        (now == open).then_some(())
    });
}

fn kill_dash_nine_during_closes_keeps_the_rollups_and_the_analytics_exact(db: TempDb) {
    let exchange =
        FakeExchange::start(&[("BTCUSDT", 100.0), ("ETHUSDT", 100.0), ("SOLUSDT", 100.0)]);
    let opened = signaldesk::clock::now_utc() - Duration::minutes(1);
    {
        let mut conn = db.conn();
        for symbol in SYMBOLS {
            for k in 1..=LONGS {
                SignalBuilder::long(symbol)
                    .levels(100.0, 90.0, 100.0 + k as f64)
                    .quantity(k as f64)
                    .insert(&mut conn, opened);
            }
            for k in 1..=SHORTS {
                SignalBuilder::short(symbol)
                    .levels(100.0, 100.0 + k as f64, 80.0)
                    .quantity(3.0)
                    .insert(&mut conn, opened);
            }
        }
    }
    let total = (LONGS + SHORTS) * SYMBOLS.len() as i64;
    let symbols = SYMBOLS.join(",");
    let env = [
        ("SIGNALDESK_EXCHANGE_URL", exchange.url.as_str()),
        ("SIGNALDESK_SYMBOLS", symbols.as_str()),
    ];
    let compare = |server: &TestServer| {
        let today = server_today(server);
        let mut conn = db.conn();
        let whole = Filter::range(today - Duration::days(2), today);
        for filter in [
            whole.clone(),
            Filter {
                symbol: Some("ETHUSDT".to_owned()),
                ..whole.clone()
            },
            Filter {
                direction: Some("SHORT".to_owned()),
                ..whole.clone()
            },
        ] {
            assert_matches(server, &mut conn, &filter, today, INITIAL_BALANCE);
        }
    };

    let mut seed: u64 = 0x5eed_0013;
    let mut pause = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        std::thread::sleep(std::time::Duration::from_millis((seed >> 33) % 900));
    };
    let mut step = 0;
    for round in 1..=5 {
        // Two or three price steps up, each a pseudo-random pause after the last, then a kill:
        // before the ticks that book them, between them, inside one's transaction, or after.
        let server = TestServer::start(&db, &env);
        for _ in 0..(2 + round % 2) {
            step += 1;
            for symbol in SYMBOLS {
                exchange.set_price(symbol, 100.0 + step as f64 + 0.5);
            }
            pause();
        }
        server.kill();
        let price = 100.0 + step as f64 + 0.5;
        let open = get_active_signals(&mut db.conn())
            .expect("open trades")
            .len() as i64;
        eprintln!(
            "round {round}: killed with {open} open, {} once the price is booked",
            total - closed_at(price) * SYMBOLS.len() as i64
        );
        assert_check_passes(&db);
        // Restarted at that price: once its closes are booked, nothing more can close.
        let server = TestServer::start(&db, &env);
        wait_for_open(&db, total - closed_at(price) * SYMBOLS.len() as i64);
        compare(&server);
        server.kill();
        assert_check_passes(&db);
    }
    let server = TestServer::start(&db, &env);
    wait_for_open(&db, 0);
    compare(&server);
    let report = server.get_json(&Filter::default().path());
    assert_eq!(report["summary"]["trades"], total, "{}", report["summary"]);
    server.stop();
    assert_check_passes(&db);
}

crate::on_both_backends!(kill_dash_nine_during_closes_keeps_the_rollups_and_the_analytics_exact);
