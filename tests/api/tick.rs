//! `update_paper_trades` called directly with chosen quotes and a chosen `now`.

use std::collections::BTreeMap;

use signaldesk::db::check::run_checks;
use signaldesk::db::daily_stats;
use signaldesk::db::signals::get_signal;
use signaldesk::domain::rules::TradingRules;
use signaldesk::domain::{ExitReason, SignalStatus};
use signaldesk::engine::tick::update_paper_trades;
use signaldesk::feeds::Quote;

use crate::helpers::{at, day, SignalBuilder, TempDb, INITIAL_BALANCE};

fn quotes(list: &[(&str, f64, f64, f64)], when: &str) -> BTreeMap<String, Quote> {
    list.iter()
        .map(|(symbol, last, high, low)| {
            let time = at(when).and_utc();
            let quote = Quote {
                symbol: symbol.to_string(),
                last_price: *last,
                high: *high,
                low: *low,
                price_time: time,
                market_time: time,
                change_24h_pct: None,
                high_24h: None,
                low_24h: None,
                volume_24h: None,
            };
            (symbol.to_string(), quote)
        })
        .collect()
}

#[test]
fn a_tick_refreshes_closes_and_leaves_unpriced_trades_alone() {
    let db = TempDb::new();
    let mut conn = db.conn();
    let rules = TradingRules::defaults_for(INITIAL_BALANCE);
    let open = SignalBuilder::long("BTCUSDT").insert(&mut conn, at("2026-11-25 09:00:00"));
    let both = SignalBuilder::short("ETHUSDT").insert(&mut conn, at("2026-11-25 09:00:00"));
    let unpriced = SignalBuilder::long("SOLUSDT").insert(&mut conn, at("2026-11-25 09:00:00"));
    let too_new = SignalBuilder::long("XRPUSDT").insert(&mut conn, at("2026-11-25 09:00:10"));

    let outcome = update_paper_trades(
        &mut conn,
        &quotes(
            &[
                ("BTCUSDT", 103.0, 104.0, 98.0),
                ("ETHUSDT", 100.0, 106.0, 89.0), // touched both its stop and its target
                ("XRPUSDT", 50.0, 50.0, 50.0),   // polled before that trade opened
            ],
            "2026-11-25 09:00:05",
        ),
        &rules,
        INITIAL_BALANCE,
        at("2026-11-25 09:00:05"),
    )
    .unwrap();

    assert_eq!((outcome.updated, outcome.unpriced), (1, 2));
    assert_eq!(outcome.closed.len(), 1);
    let refreshed = get_signal(&mut conn, open.signal_id()).unwrap();
    assert_eq!(refreshed.current_price, 103.0);
    assert_eq!(
        (refreshed.max_favorable_price, refreshed.max_adverse_price),
        (104.0, 98.0)
    );
    let expected_unrealized =
        (103.0 * (1.0 - rules.slippage) - 100.0) - 0.1 - 103.0 * (1.0 - rules.slippage) * 0.001;
    assert!((refreshed.unrealized_pnl - expected_unrealized).abs() < 1e-9);
    assert_eq!(refreshed.updated_at, at("2026-11-25 09:00:05"));
    let closed = get_signal(&mut conn, both.signal_id()).unwrap();
    assert_eq!(closed.exit_reason, Some(ExitReason::StopLoss), "stop first");
    assert_eq!(closed.max_adverse_price, 106.0);
    for untouched in [unpriced, too_new] {
        let row = get_signal(&mut conn, untouched.signal_id()).unwrap();
        assert_eq!(row, untouched);
    }
    let stats = daily_stats::for_date(&mut conn, day("2026-11-25"))
        .unwrap()
        .unwrap();
    assert_eq!((stats.trades_closed, stats.losses), (1, 1));
    assert!(run_checks(&mut conn, INITIAL_BALANCE)
        .unwrap()
        .iter()
        .all(|f| f.ok));
}

#[test]
fn time_exits_close_at_market_on_their_day() {
    let db = TempDb::new();
    let mut conn = db.conn();
    let mut rules = TradingRules::defaults_for(INITIAL_BALANCE);
    rules.max_hold_hours = Some(4.0);
    let trade = SignalBuilder::long("BTCUSDT").insert(&mut conn, at("2026-11-25 22:00:00"));

    let early = update_paper_trades(
        &mut conn,
        &quotes(&[("BTCUSDT", 101.0, 101.0, 101.0)], "2026-11-26 01:59:59"),
        &rules,
        INITIAL_BALANCE,
        at("2026-11-26 01:59:59"),
    )
    .unwrap();
    assert!(early.closed.is_empty());
    let due = update_paper_trades(
        &mut conn,
        &quotes(&[("BTCUSDT", 101.0, 101.0, 101.0)], "2026-11-26 02:00:00"),
        &rules,
        INITIAL_BALANCE,
        at("2026-11-26 02:00:00"),
    )
    .unwrap();
    assert_eq!(due.closed[0].reason, ExitReason::MaxDuration);
    let row = get_signal(&mut conn, trade.signal_id()).unwrap();
    assert_eq!(row.status, SignalStatus::Closed);
    // Booked on the day it closed, which starts from the previous day's balance.
    let next_day = daily_stats::for_date(&mut conn, day("2026-11-26"))
        .unwrap()
        .unwrap();
    assert_eq!(next_day.trades_closed, 1);
    assert_eq!(next_day.starting_balance, INITIAL_BALANCE);
    assert!(run_checks(&mut conn, INITIAL_BALANCE)
        .unwrap()
        .iter()
        .all(|f| f.ok));
}
