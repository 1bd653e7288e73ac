//! The leader's lease and fencing (DESIGN.md §9) on the repository: one holder at a time, a
//! takeover once the lease runs out, and a leader that lost it writes nothing.

use signaldesk::db::exits::Books;
use signaldesk::notify::Outbox;
use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use signaldesk::db::leases::{self, Claim, Fence, LEADER};
use signaldesk::db::signals::{get_active_signals, get_signal};
use signaldesk::db::{journal, quotes};
use signaldesk::domain::rules::TradingRules;
use signaldesk::domain::SignalStatus;
use signaldesk::engine::tick::book_poll_as_leader;
use signaldesk::feeds::Quote;

use crate::helpers::{SignalBuilder, TempDb, INITIAL_BALANCE};

const SHORT: Duration = Duration::from_millis(400);

fn leader(claim: Claim) -> Fence {
    match claim {
        Claim::Leader { fence, .. } => fence,
        Claim::Follower { lease, .. } => panic!("{} holds the lease", lease.holder),
    }
}

fn quote(symbol: &str, price: f64) -> Quote {
    let now = Utc::now();
    Quote {
        symbol: symbol.to_owned(),
        last_price: price,
        high: price,
        low: price,
        price_time: now,
        market_time: now,
        change_24h_pct: None,
        high_24h: None,
        low_24h: None,
        volume_24h: None,
        minute_candles: Vec::new(),
    }
}

fn one_holder_at_a_time_and_a_takeover_once_the_lease_runs_out(db: TempDb) {
    let mut conn = db.conn();
    let a = leader(leases::claim(&mut conn, LEADER, "a", SHORT).unwrap());
    assert_eq!(a.epoch, 1);
    match leases::claim(&mut conn, LEADER, "b", SHORT).unwrap() {
        Claim::Follower { lease, .. } => assert_eq!(lease.holder, "a"),
        other => panic!("b took a running lease: {other:?}"),
    }
    // Renewed by its holder: same epoch.
    assert_eq!(
        leader(leases::claim(&mut conn, LEADER, "a", SHORT).unwrap()),
        a
    );
    std::thread::sleep(SHORT + Duration::from_millis(100));
    let b = leader(leases::claim(&mut conn, LEADER, "b", SHORT).unwrap());
    assert_eq!(b.epoch, 2, "a takeover is a new epoch");
    assert!(!leases::holds(&mut conn, LEADER, &a).unwrap());
    assert!(leases::holds(&mut conn, LEADER, &b).unwrap());
    // The old leader's fenced write does not run.
    let wrote = leases::fenced(&mut conn, &a, |_| Ok::<_, diesel::result::Error>(())).unwrap();
    assert_eq!(wrote, None);
    assert!(!leases::renew(&mut conn, &a, SHORT).unwrap());
}

fn a_clean_stop_hands_the_lease_over_at_once(db: TempDb) {
    let mut conn = db.conn();
    leader(leases::claim(&mut conn, LEADER, "a", Duration::from_secs(3600)).unwrap());
    leases::release(&mut conn, LEADER, "a").unwrap();
    let b = leader(leases::claim(&mut conn, LEADER, "b", SHORT).unwrap());
    assert_eq!(b.epoch, 2);
}

fn a_leader_paused_past_its_lease_books_nothing_when_it_wakes(db: TempDb) {
    let mut conn = db.conn();
    let opened = Utc::now().naive_utc() - chrono::Duration::minutes(1);
    let trade = SignalBuilder::long("BTCUSDT")
        .levels(100.0, 95.0, 110.0)
        .insert(&mut conn, opened);
    let rules = TradingRules::defaults_for(INITIAL_BALANCE);
    let a = leader(leases::claim(&mut conn, LEADER, "a", SHORT).unwrap());
    // `a` polled a price through the target, then stopped (SIGSTOP, a stall, a partition)
    // past its lease; `b` took over meanwhile.
    let polled = BTreeMap::from([("BTCUSDT".to_owned(), quote("BTCUSDT", 111.0))]);
    std::thread::sleep(SHORT + Duration::from_millis(100));
    let b = leader(leases::claim(&mut conn, LEADER, "b", SHORT).unwrap());

    let now = Utc::now().naive_utc();
    let woke =
        book_poll_as_leader(&mut conn, &a, SHORT, polled.clone(), &books(&rules), now).unwrap();
    assert!(woke.is_none(), "the paused leader's tick was refused");
    let row = get_signal(&mut conn, trade.signal_id()).unwrap();
    assert_eq!(row.status, SignalStatus::Active, "nothing closed");
    assert_eq!(row.current_price, 100.0, "nothing refreshed");
    assert!(journal::for_signal(&mut conn, trade.id).unwrap().is_none());
    assert!(
        quotes::get(&mut conn, "BTCUSDT").unwrap().is_none(),
        "no quote stored"
    );

    // The new leader books the same poll.
    let booked = book_poll_as_leader(&mut conn, &b, SHORT, polled, &books(&rules), now)
        .unwrap()
        .expect("the leader books");
    assert_eq!(booked.1.closed.len(), 1);
    assert!(get_active_signals(&mut conn).unwrap().is_empty());
}

fn a_leader_whose_lease_ran_out_books_nothing_even_when_nobody_took_over(db: TempDb) {
    let mut conn = db.conn();
    let opened = Utc::now().naive_utc() - chrono::Duration::minutes(1);
    let trade = SignalBuilder::long("BTCUSDT")
        .levels(100.0, 95.0, 110.0)
        .insert(&mut conn, opened);
    let a = leader(leases::claim(&mut conn, LEADER, "a", SHORT).unwrap());
    std::thread::sleep(SHORT + Duration::from_millis(100));
    // Its prices are as old as its pause: they are not booked.
    let polled = BTreeMap::from([("BTCUSDT".to_owned(), quote("BTCUSDT", 111.0))]);
    let woke = book_poll_as_leader(
        &mut conn,
        &a,
        SHORT,
        polled,
        &books(&TradingRules::defaults_for(INITIAL_BALANCE)),
        Utc::now().naive_utc(),
    )
    .unwrap();
    assert!(woke.is_none());
    assert_eq!(
        get_signal(&mut conn, trade.signal_id()).unwrap().status,
        SignalStatus::Active
    );
    // Claiming again starts a new term: the old epoch's writes stay fenced out.
    let again = leader(leases::claim(&mut conn, LEADER, "a", SHORT).unwrap());
    assert_eq!(again.epoch, 2);
    assert!(!leases::holds(&mut conn, LEADER, &a).unwrap());
}

fn claims_racing_from_many_threads_elect_one_leader(db: TempDb) {
    let url = db.url();
    let winners: Vec<Option<i64>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let url = url.clone();
                scope.spawn(move || {
                    let mut conn = signaldesk::db::connect(&url).unwrap();
                    match leases::claim(
                        &mut conn,
                        LEADER,
                        &format!("i{i}"),
                        Duration::from_secs(60),
                    )
                    .unwrap()
                    {
                        Claim::Leader { fence, .. } => Some(fence.epoch),
                        Claim::Follower { .. } => None,
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        winners.iter().flatten().count(),
        1,
        "exactly one leader: {winners:?}"
    );
}

crate::on_both_backends!(
    one_holder_at_a_time_and_a_takeover_once_the_lease_runs_out,
    a_clean_stop_hands_the_lease_over_at_once,
    a_leader_paused_past_its_lease_books_nothing_when_it_wakes,
    a_leader_whose_lease_ran_out_books_nothing_even_when_nobody_took_over,
    claims_racing_from_many_threads_elect_one_leader,
);

/// The books of these tests: no notification targets.
fn books(rules: &TradingRules) -> Books<'_> {
    const OFF: &Outbox = &Outbox::off();
    Books {
        rules,
        initial_balance: INITIAL_BALANCE,
        outbox: OFF,
    }
}
