//! What the outbox queues (DESIGN.md §12), on both backends, in process: a tick's partial exit
//! and the stop move after it, the close with its exits and stop moves, account_blown, the daily
//! summary, the feed's health; each row in the transaction of the change, rolled back with it.

use std::collections::BTreeMap;

use diesel::prelude::*;
use signaldesk::db::exits::Books;
use signaldesk::db::intake::exit_at_market;
use signaldesk::db::models::SignalId;
use signaldesk::db::notifications::NotificationRow;
use signaldesk::db::schema::notifications as n;
use signaldesk::db::signals::{close_in_transaction, get_signal, CloseRequest};
use signaldesk::db::{write_tx, Conn};
use signaldesk::domain::management::Management;
use signaldesk::domain::notify::{Event, Target};
use signaldesk::domain::rules::TradingRules;
use signaldesk::domain::{ExitReason, SignalStatus};
use signaldesk::engine::tick::follow_trades;
use signaldesk::notify::{summarise_day, Note, Outbox};

use crate::helpers::{
    at, close_trade, day, quote_at, targets, SignalBuilder, TempDb, INITIAL_BALANCE,
};

fn outbox(min_balance: f64) -> Outbox {
    let targets = [
        Target::parse("webhook:http://127.0.0.1:9/hook").unwrap(),
        Target::parse("telegram:1:key:42").unwrap(),
    ];
    Outbox::new(
        &targets,
        &Event::ALL,
        Some("https://desk.example.com/"),
        min_balance,
    )
}

fn rows(conn: &mut Conn) -> Vec<NotificationRow> {
    n::table
        .order(n::id.asc())
        .select(NotificationRow::as_select())
        .load(conn)
        .unwrap()
}

fn note(row: &NotificationRow) -> Note {
    serde_json::from_str(&row.payload).unwrap()
}

fn quote(
    symbol: &str,
    prices: (f64, f64, f64),
    when: &str,
) -> BTreeMap<String, signaldesk::feeds::Quote> {
    BTreeMap::from([(symbol.to_owned(), quote_at(symbol, prices, at(when)))])
}

fn a_tick_announces_its_partial_exit_stop_move_and_close(db: TempDb) {
    let mut conn = db.conn();
    let rules = TradingRules::defaults_for(INITIAL_BALANCE);
    let outbox = outbox(rules.min_balance);
    let books = Books {
        rules: &rules,
        initial_balance: INITIAL_BALANCE,
        outbox: &outbox,
    };
    let trade = SignalBuilder::long("BTCUSDT")
        .levels(100.0, 95.0, 110.0)
        .quantity(20.0)
        .notes("<i>note</i>")
        .management(Management {
            take_profits: targets(&[(105.0, 0.5)]),
            breakeven_at_r: Some(1.0),
            trailing_stop_pct: None,
            trailing_activate_at_r: 1.0,
        })
        .insert(&mut conn, at("2026-12-03 09:00:00"));
    let tick = |conn: &mut Conn, q, when| {
        let quotes = quote("BTCUSDT", q, when);
        write_tx(conn, |conn| follow_trades(conn, &quotes, &books, at(when))).unwrap()
    };
    let first = tick(&mut conn, (105.0, 105.0, 104.0), "2026-12-03 09:01:00");
    assert_eq!((first.partial_exits, first.closed.len()), (1, 0));
    let queued = rows(&mut conn);
    assert_eq!(queued.len(), 2, "one trade_exit per target");
    assert!(queued
        .iter()
        .all(|r| r.event == "trade_exit" && r.status == "PENDING"));
    let exit = note(&queued[0]);
    assert_eq!(
        exit.url.as_deref(),
        Some(&*format!("https://desk.example.com/trades/{}", trade.id))
    );
    let text = exit.text();
    assert!(text.contains("partial exit"), "{text}");
    assert!(text.contains("Sold 10.00 at 105.00"), "{text}");
    assert!(text.contains("10.00 of 20.00 left"), "{text}");
    assert!(text.contains("stop 95.00 → 100.00 (BREAKEVEN)"), "{text}");
    assert_eq!(exit.data["stop_loss"], 100.0, "{}", exit.data);

    let second = tick(&mut conn, (110.0, 110.0, 108.0), "2026-12-03 09:02:00");
    assert_eq!(second.closed.len(), 1);
    let queued = rows(&mut conn);
    let closes: Vec<&NotificationRow> = queued
        .iter()
        .filter(|r| r.event == "trade_closed")
        .collect();
    assert_eq!(closes.len(), 2);
    assert_eq!(closes[0].dedupe_key, format!("trade_closed:{}", trade.id));
    let text = note(closes[0]).text();
    assert!(
        text.contains("closed") && text.contains("TAKE_PROFIT"),
        "{text}"
    );
    assert!(text.contains("Exits: 10.00 at 105.00"), "{text}");
    assert!(text.contains("10.00 at 110.00"), "{text}");
    assert!(
        text.contains("Stop moves: 95.00 → 100.00 (BREAKEVEN)"),
        "{text}"
    );
    assert!(
        text.contains("Notes: <i>note</i>"),
        "plain text here, escaped per target: {text}"
    );
    assert!(
        queued.iter().all(|r| !r.target.contains("key")),
        "no secret stored"
    );
}

fn a_close_and_its_notifications_commit_together_or_not_at_all(db: TempDb) {
    let mut conn = db.conn();
    let rules = TradingRules::defaults_for(INITIAL_BALANCE);
    // A minimum balance this loss crosses: the close blows the account.
    let outbox = outbox(INITIAL_BALANCE - 50.0);
    let books = Books {
        rules: &rules,
        initial_balance: INITIAL_BALANCE,
        outbox: &outbox,
    };
    let trade = SignalBuilder::long("BTCUSDT")
        .levels(100.0, 95.0, 110.0)
        .quantity(20.0)
        .insert(&mut conn, at("2026-12-03 09:00:00"));
    let id = trade.signal_id();
    // A failure after the close, in its transaction: the close and its rows are undone.
    let failed: Result<(), diesel::result::Error> = write_tx(&mut conn, |conn| {
        let request = CloseRequest {
            exit_price: 95.0,
            exit_reason: ExitReason::StopLoss,
            fee_rate: rules.fee_rate,
            closed_at: at("2026-12-03 09:05:00"),
        };
        close_in_transaction(conn, id, &request, INITIAL_BALANCE)?;
        let booked = signaldesk::db::exits::exits_of(conn, id)?;
        assert_eq!(booked.len(), 1);
        Err(diesel::result::Error::RollbackTransaction)
    });
    assert!(failed.is_err());
    let booked = exit_at_market(
        &mut conn,
        id,
        96.0,
        Some(1.0),
        &books,
        at("2026-12-03 09:06:00"),
    );
    let booked = booked.unwrap();
    assert!(booked.journal.is_some());
    let queued = rows(&mut conn);
    let events: Vec<&str> = queued.iter().map(|r| r.event.as_str()).collect();
    assert_eq!(
        events,
        [
            "trade_closed",
            "trade_closed",
            "account_blown",
            "account_blown"
        ]
    );
    let blown = note(&queued[2]).text();
    assert!(blown.contains("Account blown"), "{blown}");
    // Undone together: a manual close whose transaction fails queues nothing.
    let other = SignalBuilder::long("ETHUSDT")
        .levels(100.0, 95.0, 110.0)
        .quantity(1.0)
        .insert(&mut conn, at("2026-12-03 09:10:00"));
    let undone: Result<(), diesel::result::Error> = write_tx(&mut conn, |conn| {
        let request = CloseRequest {
            exit_price: 101.0,
            exit_reason: ExitReason::Manual,
            fee_rate: rules.fee_rate,
            closed_at: at("2026-12-03 09:11:00"),
        };
        close_in_transaction(conn, other.signal_id(), &request, INITIAL_BALANCE)?;
        let closed = signaldesk::db::exits::exits_of(conn, other.signal_id())?;
        let booked = signaldesk::db::exits::Booked {
            exit: closed[0].clone(),
            signal: get_signal(conn, other.signal_id())?,
            journal: signaldesk::db::journal::for_signal(conn, other.id)?,
            balance_after: closed[0].balance_after,
        };
        outbox.exit_booked(conn, &booked, None)?;
        assert_eq!(rows(conn).len(), 6, "queued inside the transaction");
        Err(diesel::result::Error::RollbackTransaction)
    });
    assert!(undone.is_err());
    assert_eq!(rows(&mut conn).len(), 4, "rolled back with the close");
    assert_eq!(
        get_signal(&mut conn, other.signal_id()).unwrap().status,
        SignalStatus::Active
    );
}

fn the_daily_summary_counts_the_day_before_once(db: TempDb) {
    let mut conn = db.conn();
    let outbox = outbox(100.0);
    let close = |conn: &mut Conn, id: SignalId, price: f64, when: &str| {
        let request = CloseRequest {
            exit_price: price,
            exit_reason: ExitReason::Manual,
            fee_rate: 0.0,
            closed_at: at(when),
        };
        close_trade(conn, id, &request).unwrap();
    };
    let win = SignalBuilder::long("BTCUSDT")
        .levels(100.0, 95.0, 110.0)
        .quantity(10.0)
        .insert(&mut conn, at("2026-12-02 08:00:00"));
    let loss = SignalBuilder::long("ETHUSDT")
        .levels(100.0, 95.0, 110.0)
        .quantity(10.0)
        .insert(&mut conn, at("2026-12-02 08:00:00"));
    let _open = SignalBuilder::long("SOLUSDT")
        .levels(100.0, 95.0, 110.0)
        .quantity(1.0)
        .insert(&mut conn, at("2026-12-02 08:00:00"));
    close(&mut conn, win.signal_id(), 110.0, "2026-12-02 10:00:00");
    close(&mut conn, loss.signal_id(), 95.0, "2026-12-02 11:00:00");
    let summary = summarise_day(&mut conn, day("2026-12-02"), INITIAL_BALANCE).unwrap();
    assert_eq!(
        (summary.trades, summary.wins, summary.open_trades),
        (2, 1, 1)
    );
    // Each trade paid 1.00 of entry fees: +99, then −51.
    assert!((summary.pnl - 48.0).abs() < 1e-6, "{summary:?}");
    assert!(
        (summary.r - 0.96).abs() < 1e-6,
        "0.99R − 0.51R: {summary:?}"
    );
    assert!(
        (summary.max_drawdown - 51.0).abs() < 1e-6,
        "from the high after the win: {summary:?}"
    );
    assert!((summary.balance - (INITIAL_BALANCE + 48.0)).abs() < 1e-6);
    let now = at("2026-12-03 00:05:00");
    for _ in 0..2 {
        write_tx(&mut conn, |conn| {
            outbox.daily_summary(conn, day("2026-12-02"), &summary, now)
        })
        .unwrap();
    }
    let queued = rows(&mut conn);
    assert_eq!(
        queued.len(),
        2,
        "once per target, however often it is queued"
    );
    let text = note(&queued[0]).text();
    assert!(text.contains("2026-12-02"), "{text}");
    assert!(text.contains("2 trades · 1 won · win rate 50%"), "{text}");
    assert!(text.contains("PnL +48.00 · +0.96R"), "{text}");
    assert!(text.contains("Max drawdown 51.00"), "{text}");
    assert!(outbox
        .queued(&mut conn, "daily_summary:2026-12-02")
        .unwrap());
    assert!(!outbox
        .queued(&mut conn, "daily_summary:2026-12-01")
        .unwrap());
}

fn the_feed_is_announced_when_it_goes_down_and_when_it_returns(db: TempDb) {
    let mut conn = db.conn();
    let outbox = outbox(100.0);
    let mut health = |down: bool, when: &str| {
        write_tx(&mut conn, |conn| {
            outbox.feed_health(conn, down, "bybit", down.then_some("HTTP 502"), at(when))
        })
        .unwrap()
    };
    assert_eq!(
        health(false, "2026-12-03 09:00:00"),
        0,
        "nothing to recover from"
    );
    assert_eq!(health(true, "2026-12-03 09:01:00"), 2);
    assert_eq!(
        health(true, "2026-12-03 09:02:00"),
        0,
        "announced once (and after a restart)"
    );
    assert_eq!(health(false, "2026-12-03 09:03:00"), 2);
    assert_eq!(health(false, "2026-12-03 09:04:00"), 0);
    assert_eq!(health(true, "2026-12-03 09:05:00"), 2, "the next outage");
    let events: Vec<String> = rows(&mut conn).into_iter().map(|r| r.event).collect();
    assert_eq!(
        events,
        [
            "feed_down",
            "feed_down",
            "feed_recovered",
            "feed_recovered",
            "feed_down",
            "feed_down"
        ]
    );
}

crate::on_both_backends!(
    a_tick_announces_its_partial_exit_stop_move_and_close,
    a_close_and_its_notifications_commit_together_or_not_at_all,
    the_daily_summary_counts_the_day_before_once,
    the_feed_is_announced_when_it_goes_down_and_when_it_returns,
);
