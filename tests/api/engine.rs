//! The engine driven directly, tick by tick, on a real SQLite file: the glitch guard's memory
//! lives in the database (a restart keeps it), and a tick or scan that panics or hangs is
//! counted as failed while the next one runs (DESIGN.md §13).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::Actor;
use chrono::{DateTime, Utc};
use signaldesk::config::Config;
use signaldesk::db::signals::get_signal;
use signaldesk::db::{self, quotes};
use signaldesk::domain::market::{Candle, Timeframe};
use signaldesk::domain::ExitReason;
use signaldesk::engine::actor::TickActor;
use signaldesk::engine::scanner::ScanActor;
use signaldesk::engine::{Engine, TickError};
use signaldesk::events::{Event, EventBus};
use signaldesk::feeds::{AnyFeed, FeedError, PriceFeed, Quote, QuoteRequest};
use signaldesk::status::{FeedHealth, StatusBoard};

use crate::fake_exchange::FakeExchange;
use crate::helpers::{SignalBuilder, TempDb};

fn config(db: &TempDb, exchange_url: &str) -> Arc<Config> {
    let env = [
        ("DATABASE_URL", db.url()),
        ("SIGNALDESK_FEED", "bybit".to_owned()),
        ("SIGNALDESK_EXCHANGE_URL", exchange_url.to_owned()),
        ("SIGNALDESK_SYMBOLS", "BTCUSDT".to_owned()),
        ("SIGNALDESK_TICK_SECS", "1".to_owned()),
        ("SIGNALDESK_SCAN_SECS", "1".to_owned()),
    ];
    let env = env.into_iter().map(|(k, v)| (k.to_owned(), v));
    Arc::new(Config::from_layers(None, env, &[]).expect("config"))
}

fn engine<F: PriceFeed + Send + Sync + 'static>(config: &Arc<Config>, feed: F) -> Arc<Engine<F>> {
    let pool = db::open_pool(&config.database_url, 4).expect("pool");
    let status = StatusBoard::new(feed.source());
    Arc::new(Engine::new(pool, Arc::clone(config), feed, status))
}

/// A new process on the same database: nothing carried over in memory.
fn exchange_engine(config: &Arc<Config>) -> Arc<Engine> {
    let feed = AnyFeed::from_config(config, Utc::now()).expect("feed");
    engine(config, feed)
}

fn stored_price(db: &TempDb) -> f64 {
    quotes::get(&mut db.conn(), "BTCUSDT")
        .unwrap()
        .expect("a stored quote")
        .price
}

fn the_glitch_guard_keeps_its_reference_across_a_restart(db: TempDb) {
    let exchange = FakeExchange::start(&[("BTCUSDT", 100.0)]);
    let config = config(&db, &exchange.url);
    actix_web::rt::System::new().block_on(async {
        let first = exchange_engine(&config);
        first.tick().await.unwrap();
        assert_eq!(stored_price(&db), 100.0);
        // A clean stop gives the lease up for the next process.
        first.resign();

        exchange.set_price("BTCUSDT", 10.0);
        let restarted = exchange_engine(&config);
        restarted.tick().await.unwrap();
        let feed = restarted.status.feed();
        assert_eq!(
            feed.status,
            FeedHealth::Down,
            "the first poll is checked too"
        );
        assert!(
            feed.error
                .as_deref()
                .unwrap_or_default()
                .contains("implausible"),
            "{feed:?}"
        );
        assert_eq!(stored_price(&db), 100.0, "a glitch never becomes the price");
    });
}

fn after_a_one_poll_glitch_the_normal_price_is_accepted_at_once(db: TempDb) {
    let exchange = FakeExchange::start(&[("BTCUSDT", 100.0)]);
    let config = config(&db, &exchange.url);
    actix_web::rt::System::new().block_on(async {
        let engine = exchange_engine(&config);
        engine.tick().await.unwrap();
        exchange.set_price("BTCUSDT", 10.0);
        engine.tick().await.unwrap();
        assert_eq!(engine.status.feed().status, FeedHealth::Down);

        exchange.set_price("BTCUSDT", 101.0);
        engine.tick().await.unwrap();
        assert_eq!(engine.status.feed().status, FeedHealth::Ok);
        assert_eq!(stored_price(&db), 101.0);
    });
}

fn a_move_that_lasts_is_accepted_on_the_next_poll(db: TempDb) {
    let exchange = FakeExchange::start(&[("BTCUSDT", 100.0)]);
    let config = config(&db, &exchange.url);
    actix_web::rt::System::new().block_on(async {
        let engine = exchange_engine(&config);
        engine.tick().await.unwrap();
        exchange.set_price("BTCUSDT", 40.0);
        engine.tick().await.unwrap();
        assert_eq!(stored_price(&db), 100.0);
        exchange.set_price("BTCUSDT", 39.0);
        engine.tick().await.unwrap();
        assert_eq!(engine.status.feed().status, FeedHealth::Ok);
        assert_eq!(stored_price(&db), 39.0);
    });
}

/// What a scripted feed does on its first call; every later call answers 100.
#[derive(Clone, Copy)]
enum FirstCall {
    Panic,
    Hang,
    Answer,
}

struct Scripted {
    first: FirstCall,
    calls: AtomicUsize,
}

impl Scripted {
    fn new(first: FirstCall) -> Self {
        Scripted {
            first,
            calls: AtomicUsize::new(0),
        }
    }

    async fn misbehave_once(&self) {
        if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
            match self.first {
                FirstCall::Panic => panic!("scripted feed failure"),
                FirstCall::Hang => futures_util::future::pending::<()>().await,
                FirstCall::Answer => {}
            }
        }
    }
}

impl PriceFeed for Scripted {
    fn source(&self) -> &'static str {
        "simulated"
    }

    async fn quotes(
        &self,
        requests: &[QuoteRequest],
        now: DateTime<Utc>,
    ) -> Vec<(String, Result<Quote, FeedError>)> {
        self.misbehave_once().await;
        requests
            .iter()
            .map(|r| {
                let quote = Quote::from_candles(&r.symbol, 100.0, (100.0, 100.0), now, now, &[]);
                (r.symbol.clone(), Ok(quote))
            })
            .collect()
    }

    async fn candles(
        &self,
        _symbol: &str,
        _timeframe: Timeframe,
        _limit: usize,
        _now: DateTime<Utc>,
    ) -> Result<Vec<Candle>, FeedError> {
        self.misbehave_once().await;
        Ok(Vec::new())
    }
}

/// Run the actix system until `done` holds (checked every 50 ms), at most 20 s.
async fn until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Tick `engine` every 100 ms until a tick succeeds after the scripted failure; that failure
/// must have been counted once, with an error containing `expected`.
async fn ticks_through_one_failure<F: PriceFeed + Send + Sync + 'static>(
    engine: Arc<Engine<F>>,
    expected: &str,
) {
    TickActor::new(Arc::clone(&engine))
        .every(Duration::from_millis(100))
        .start();
    until("a tick after the failure", || {
        engine.status.engine().last_ok_at.is_some()
    })
    .await;
    let status = engine.status.engine();
    assert_eq!(status.failed_ticks, 1);
    assert!(
        status
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains(expected)),
        "{status:?}"
    );
}

fn a_tick_that_panics_is_counted_and_the_next_tick_runs(db: TempDb) {
    let config = config(&db, "http://127.0.0.1:9");
    actix_web::rt::System::new().block_on(async {
        let engine = engine(&config, Scripted::new(FirstCall::Panic));
        ticks_through_one_failure(engine, "panicked: scripted feed failure").await;
        assert_eq!(stored_price(&db), 100.0, "the next tick did its work");
    });
}

fn a_tick_that_hangs_is_timed_out_and_the_next_tick_runs(db: TempDb) {
    let config = config(&db, "http://127.0.0.1:9");
    actix_web::rt::System::new().block_on(async {
        let engine = Arc::into_inner(engine(&config, Scripted::new(FirstCall::Hang)))
            .unwrap()
            .with_timeouts(Duration::from_millis(300), Duration::from_millis(300));
        ticks_through_one_failure(Arc::new(engine), "timed out").await;
    });
}

fn a_scan_that_panics_is_counted_and_the_next_scan_runs(db: TempDb) {
    let config = config(&db, "http://127.0.0.1:9");
    actix_web::rt::System::new().block_on(async {
        let engine = engine(&config, Scripted::new(FirstCall::Panic));
        // Only the leader scans.
        engine.try_lead().await.unwrap();
        ScanActor::new(Arc::clone(&engine)).start();
        until("a scan after the panic", || {
            engine.status.scan().last_scan_at.is_some()
        })
        .await;
        let scan = engine.status.scan();
        assert_eq!(scan.failed_scans, 1);
        assert!(
            scan.last_error
                .as_deref()
                .is_some_and(|e| e.contains("scripted feed failure")),
            "{scan:?}"
        );
    });
}

fn a_close_whose_tick_timed_out_while_its_write_waited_is_still_announced(db: TempDb) {
    let config = config(&db, "http://127.0.0.1:9");
    let opened = Utc::now().naive_utc() - chrono::Duration::minutes(1);
    // The scripted price, 100, is through this trade's target.
    let trade = SignalBuilder::long("BTCUSDT")
        .levels(90.0, 85.0, 95.0)
        .insert(&mut db.conn(), opened);
    actix_web::rt::System::new().block_on(async {
        let engine = Arc::into_inner(engine(&config, Scripted::new(FirstCall::Answer)))
            .unwrap()
            .with_timeouts(Duration::from_millis(300), Duration::from_millis(300));
        let engine = Arc::new(engine);
        // Every instance's streams get what the database recorded.
        let bus = EventBus::default();
        let mut events = bus.subscribe();
        bus.relay(engine.pool.clone());
        // Leading already, so the tick goes straight to its write.
        engine.try_lead().await.unwrap();

        // Another writer holds the lock past the tick's time limit: the tick gives up while its
        // write waits (for up to the 5 s busy timeout) and lands once the lock is free.
        let blocker = db.hold_write_lock();
        let result = engine.tick().await;
        assert!(matches!(result, Err(TickError::TimedOut(_))), "{result:?}");
        blocker.release();

        let announced = actix_web::rt::time::timeout(Duration::from_secs(20), async {
            loop {
                match events.recv().await {
                    Ok(Event::TradeClosed(id)) => break id,
                    Ok(_) => continue,
                    Err(e) => panic!("event bus: {e}"),
                }
            }
        })
        .await
        .expect("the close announced");
        assert_eq!(announced, trade.id);
        let row = get_signal(&mut db.conn(), trade.signal_id()).unwrap();
        assert_eq!(row.exit_reason, Some(ExitReason::TakeProfit));
    });
}

fn after_an_upgrade_the_guard_starts_from_the_last_price_each_symbol_was_traded_at(db: TempDb) {
    let mut conn = db.conn();
    // The database as it was before the quotes table (and the sessions, the instances, the
    // signals fillfactor and trade management after it).
    crate::helpers::revert_to_before(&mut conn, "20261201000001");
    let at = |text: &str| chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap();
    // Rows as that version stored them (today's intake also records an event, a later table).
    let rows = [
        SignalBuilder::long("BTCUSDT").build(at("2026-11-25 09:00:00")),
        SignalBuilder::long("BTCUSDT")
            .levels(120.0, 110.0, 130.0)
            .build(at("2026-11-26 09:00:00")),
        SignalBuilder::short("ETHUSDT").build(at("2026-11-25 10:00:00")),
    ];
    for row in &rows {
        crate::helpers::insert_as_before_management(&mut conn, row);
    }

    db::run_migrations(&mut conn).unwrap();
    let seeded: Vec<(String, f64)> = quotes::for_symbols(&mut conn, &["BTCUSDT", "ETHUSDT"])
        .unwrap()
        .into_iter()
        .map(|q| (q.symbol, q.price))
        .collect();
    assert_eq!(
        seeded,
        [("BTCUSDT".to_owned(), 120.0), ("ETHUSDT".to_owned(), 100.0)],
        "each symbol's most recently priced trade"
    );
    let btc = quotes::get(&mut conn, "BTCUSDT").unwrap().unwrap();
    assert_eq!(btc.price_time, at("2026-11-26 09:00:00"));
    assert_eq!(btc.pending_price, None);
}

crate::on_both_backends!(
    after_an_upgrade_the_guard_starts_from_the_last_price_each_symbol_was_traded_at,
    the_glitch_guard_keeps_its_reference_across_a_restart,
    after_a_one_poll_glitch_the_normal_price_is_accepted_at_once,
    a_move_that_lasts_is_accepted_on_the_next_poll,
    a_tick_that_panics_is_counted_and_the_next_tick_runs,
    a_tick_that_hangs_is_timed_out_and_the_next_tick_runs,
    a_scan_that_panics_is_counted_and_the_next_scan_runs,
    a_close_whose_tick_timed_out_while_its_write_waited_is_still_announced,
);
