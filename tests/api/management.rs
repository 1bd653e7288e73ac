//! Trade management (DESIGN.md §10) through `update_paper_trades` on real databases: every exit's
//! price, quantity, fee and pnl computed here by hand and compared with the rows, the balance and
//! the day's stats after every exit, the stop moves, the journal and `check`.

use diesel::prelude::*;
use signaldesk::db::check::run_checks;
use signaldesk::db::exits::{exits_of, stop_moves_of};
use signaldesk::db::models::{SignalRow, TradeExitRow};
use signaldesk::db::signals::get_signal;
use signaldesk::db::{self, daily_stats, journal};
use signaldesk::domain::management::Management;
use signaldesk::domain::{ExitReason, Outcome, SignalStatus, StopReason};
use signaldesk::engine::tick::TickOutcome;

use crate::helpers::{at, day, targets, SignalBuilder, TempDb, FEE_RATE, INITIAL_BALANCE};

const SLIPPAGE: f64 = 0.0005;

fn assert_close(got: f64, want: f64, what: &str) {
    assert!(
        (got - want).abs() <= 1e-9 * want.abs().max(1.0),
        "{what}: {got} != {want}"
    );
}

fn tick(conn: &mut db::Conn, symbol: &str, prices: (f64, f64, f64), when: &str) -> TickOutcome {
    crate::helpers::tick_once(conn, symbol, prices, at(when))
}

/// What an exit of `quantity` of a 20-unit trade opened at 100 books at `price` (DESIGN.md §10):
/// the exit fill's fee plus the entry fee's share, and the price move less that fee.
fn by_hand(sign: f64, price: f64, quantity: f64) -> (f64, f64) {
    let entry_fee = 100.0 * 20.0 * FEE_RATE;
    let fee = price * quantity * FEE_RATE + entry_fee * quantity / 20.0;
    (fee, (price - 100.0) * quantity * sign - fee)
}

fn assert_exit(exit: &TradeExitRow, reason: ExitReason, price: f64, quantity: f64, sign: f64) {
    let (fee, pnl) = by_hand(sign, price, quantity);
    assert_eq!(exit.reason, reason);
    assert_close(exit.price, price, "exit price");
    assert_close(exit.quantity, quantity, "exit quantity");
    assert_close(exit.fee, fee, "exit fee");
    assert_close(exit.pnl, pnl, "exit pnl");
}

fn balance_and_day(conn: &mut db::Conn, date: &str) -> (f64, f64) {
    let balance = daily_stats::current_balance(conn, INITIAL_BALANCE).unwrap();
    let today = daily_stats::for_date(conn, day(date)).unwrap().unwrap();
    assert_close(
        today.paper_balance,
        balance,
        "the day's balance is the balance",
    );
    (balance, today.realized_pnl)
}

fn assert_checks(db: &TempDb) {
    let findings = run_checks(&mut db.conn(), INITIAL_BALANCE).unwrap();
    let failed: Vec<_> = findings.iter().filter(|f| !f.ok).collect();
    assert!(failed.is_empty(), "{failed:?}");
}

fn managed_long(conn: &mut db::Conn) -> SignalRow {
    SignalBuilder::long("BTCUSDT")
        .levels(100.0, 95.0, 110.0)
        .quantity(20.0)
        .management(Management {
            take_profits: targets(&[(103.0, 0.3), (106.0, 0.3)]),
            breakeven_at_r: Some(1.0),
            trailing_stop_pct: Some(2.0),
            trailing_activate_at_r: 1.2,
        })
        .insert(conn, at("2026-11-25 09:00:00"))
}

fn a_long_scales_out_moves_to_breakeven_then_trails_out(db: TempDb) {
    let mut conn = db.conn();
    let trade = managed_long(&mut conn);
    let id = trade.signal_id();

    // 1: the first target (30 % of 20 at 103); 0.8R of excursion moves no stop.
    let outcome = tick(
        &mut conn,
        "BTCUSDT",
        (103.5, 104.0, 101.0),
        "2026-11-25 09:01:00",
    );
    assert_eq!((outcome.partial_exits, outcome.stops_moved), (1, 0));
    let exits = exits_of(&mut conn, id).unwrap();
    assert_eq!(exits.len(), 1);
    assert_exit(&exits[0], ExitReason::PartialTakeProfit, 103.0, 6.0, 1.0);
    let first = exits[0].pnl;
    let (balance, realized) = balance_and_day(&mut conn, "2026-11-25");
    assert_close(
        balance,
        INITIAL_BALANCE + first,
        "balance after the first exit",
    );
    assert_close(realized, first, "the day's realized pnl");
    assert_close(exits[0].balance_after, balance, "the exit's balance_after");
    let row = get_signal(&mut conn, id).unwrap();
    assert_eq!((row.status, row.targets_hit), (SignalStatus::Active, 1));
    assert_close(row.remaining_quantity, 14.0, "remaining");
    assert_close(row.realized_pnl, first, "realized");
    // What is left, priced at market: 14 sold at 103.5 less slippage, its fees' share.
    let market = 103.5 * (1.0 - SLIPPAGE);
    let (fee, pnl) = by_hand(1.0, market, 14.0);
    assert_close(row.unrealized_pnl, pnl, "unrealized pnl of the rest");
    assert_close(row.fees, 2.0 + 103.0 * 6.0 * FEE_RATE, "fees paid so far");
    assert!(fee > 0.0);
    assert_checks(&db);

    // 2: 1.1R of excursion: breakeven. This interval's low (103) is above the old stop.
    let outcome = tick(
        &mut conn,
        "BTCUSDT",
        (105.0, 105.5, 103.0),
        "2026-11-25 09:02:00",
    );
    assert_eq!((outcome.partial_exits, outcome.stops_moved), (0, 1));
    let row = get_signal(&mut conn, id).unwrap();
    assert_eq!(
        (row.stop_loss, row.stop_moved_by, row.initial_stop_loss),
        (100.0, Some(StopReason::Breakeven), 95.0)
    );

    // 3: the second target at 106, and 1.4R: the trail (2 % under 107) passes breakeven.
    let outcome = tick(
        &mut conn,
        "BTCUSDT",
        (107.0, 107.0, 105.5),
        "2026-11-25 09:03:00",
    );
    assert_eq!((outcome.partial_exits, outcome.stops_moved), (1, 1));
    let exits = exits_of(&mut conn, id).unwrap();
    assert_exit(&exits[1], ExitReason::PartialTakeProfit, 106.0, 6.0, 1.0);
    let row = get_signal(&mut conn, id).unwrap();
    assert_close(row.stop_loss, 107.0 * 0.98, "trailing stop");
    assert_eq!(row.stop_moved_by, Some(StopReason::Trailing));
    let (balance, _) = balance_and_day(&mut conn, "2026-11-25");
    assert_close(
        balance,
        INITIAL_BALANCE + first + exits[1].pnl,
        "balance after two exits",
    );

    // 4: the trailing stop, gapped through: the rest at the worse last price, sold.
    let outcome = tick(
        &mut conn,
        "BTCUSDT",
        (104.2, 105.0, 104.0),
        "2026-11-25 09:04:00",
    );
    assert_eq!(outcome.closed.len(), 1);
    assert_eq!(outcome.closed[0].reason, ExitReason::TrailingStop);
    let exits = exits_of(&mut conn, id).unwrap();
    assert_eq!(exits.len(), 3);
    assert_exit(
        &exits[2],
        ExitReason::TrailingStop,
        104.2 * (1.0 - SLIPPAGE),
        8.0,
        1.0,
    );
    let total: f64 = exits.iter().map(|e| e.pnl).sum();
    let row = get_signal(&mut conn, id).unwrap();
    assert_eq!(row.status, SignalStatus::Closed);
    assert_eq!(row.exit_reason, Some(ExitReason::TrailingStop));
    assert_close(row.pnl.unwrap(), total, "pnl = Σ exits");
    assert_close(row.remaining_quantity, 0.0, "nothing left");
    let average = (103.0 * 6.0 + 106.0 * 6.0 + 104.2 * (1.0 - SLIPPAGE) * 8.0) / 20.0;
    assert_close(row.exit_price.unwrap(), average, "the average exit");
    let entry = journal::for_signal(&mut conn, trade.id).unwrap().unwrap();
    assert_eq!((entry.exit_count, entry.outcome), (3, Outcome::Win));
    assert_close(entry.pnl, total, "journal pnl");
    // R from the initial risk: 5 per unit × 20.
    assert_close(entry.r_multiple, total / 100.0, "r_multiple");
    assert_close(entry.quantity, 20.0, "journal quantity");
    let (balance, realized) = balance_and_day(&mut conn, "2026-11-25");
    assert_close(balance, INITIAL_BALANCE + total, "final balance");
    assert_close(realized, total, "the day's realized pnl");
    assert_close(entry.balance_after, balance, "journal balance_after");
    let today = daily_stats::for_date(&mut conn, day("2026-11-25"))
        .unwrap()
        .unwrap();
    assert_eq!(
        (today.trades_closed, today.wins),
        (1, 1),
        "one trade, counted once"
    );
    let moves = stop_moves_of(&mut conn, id).unwrap();
    let moves: Vec<(f64, f64, StopReason)> = moves
        .iter()
        .map(|m| (m.old_stop, m.new_stop, m.reason))
        .collect();
    assert_eq!(
        moves,
        [
            (95.0, 100.0, StopReason::Breakeven),
            (100.0, 107.0 * 0.98, StopReason::Trailing)
        ]
    );
    assert_checks(&db);
}

fn a_short_gapping_through_every_target_books_each_at_its_level(db: TempDb) {
    let mut conn = db.conn();
    let trade = SignalBuilder::short("ETHUSDT")
        .levels(100.0, 105.0, 90.0)
        .quantity(20.0)
        .management(Management {
            take_profits: targets(&[(97.0, 0.25), (94.0, 0.25)]),
            ..Management::default()
        })
        .insert(&mut conn, at("2026-11-25 09:00:00"));
    let outcome = tick(
        &mut conn,
        "ETHUSDT",
        (89.0, 99.0, 88.5),
        "2026-11-25 09:01:00",
    );
    assert_eq!(outcome.closed.len(), 1);
    assert_eq!(outcome.partial_exits, 2);
    let exits = exits_of(&mut conn, trade.signal_id()).unwrap();
    assert_exit(&exits[0], ExitReason::PartialTakeProfit, 97.0, 5.0, -1.0);
    assert_exit(&exits[1], ExitReason::PartialTakeProfit, 94.0, 5.0, -1.0);
    assert_exit(&exits[2], ExitReason::TakeProfit, 90.0, 10.0, -1.0);
    let balances: Vec<f64> = exits.iter().map(|e| e.balance_after).collect();
    let mut running = INITIAL_BALANCE;
    for (exit, balance) in exits.iter().zip(balances) {
        running += exit.pnl;
        assert_close(balance, running, "each exit's balance_after");
    }
    assert_checks(&db);
}

fn a_stop_touched_with_a_target_takes_the_whole_rest_at_the_stop(db: TempDb) {
    let mut conn = db.conn();
    let trade = managed_long(&mut conn);
    tick(
        &mut conn,
        "BTCUSDT",
        (101.0, 107.0, 94.0),
        "2026-11-25 09:01:00",
    );
    let exits = exits_of(&mut conn, trade.signal_id()).unwrap();
    assert_eq!(exits.len(), 1, "{exits:?}");
    assert_exit(
        &exits[0],
        ExitReason::StopLoss,
        95.0 * (1.0 - SLIPPAGE),
        20.0,
        1.0,
    );
    assert_checks(&db);
}

fn trades_closed_before_the_upgrade_get_their_one_exit(db: TempDb) {
    let mut conn = db.conn();
    let closed = SignalBuilder::long("BTCUSDT").insert(&mut conn, at("2026-11-25 09:00:00"));
    SignalBuilder::short("ETHUSDT").insert(&mut conn, at("2026-11-25 09:00:00"));
    tick(
        &mut conn,
        "BTCUSDT",
        (110.0, 110.5, 101.0),
        "2026-11-25 10:00:00",
    );
    let before = get_signal(&mut conn, closed.signal_id()).unwrap();
    // Down to the schema before trade management, and up again: the backfill.
    crate::helpers::revert_to_before(&mut conn, "20261204000001");
    db::run_migrations(&mut conn).unwrap();
    assert_checks(&db);
    let after = get_signal(&mut conn, closed.signal_id()).unwrap();
    assert_eq!(
        (
            after.initial_stop_loss,
            after.remaining_quantity,
            after.realized_pnl
        ),
        (before.stop_loss, 0.0, before.pnl.unwrap())
    );
    assert_close(
        after.entry_fee,
        before.entry_fee,
        "the entry fee, from the fees",
    );
    let exits = exits_of(&mut conn, closed.signal_id()).unwrap();
    assert_eq!(exits.len(), 1);
    assert_eq!(
        (exits[0].reason, exits[0].price, exits[0].pnl, exits[0].fee),
        (
            ExitReason::TakeProfit,
            110.0,
            before.pnl.unwrap(),
            before.fees
        )
    );
    let open: Vec<(f64, f64)> = {
        use signaldesk::db::schema::signals::dsl::*;
        signals
            .filter(status.eq("ACTIVE"))
            .select((remaining_quantity, quantity))
            .load(&mut conn)
            .unwrap()
    };
    assert_eq!(
        open,
        [(1.0, 1.0)],
        "an open trade keeps all of its quantity"
    );
}

crate::on_both_backends!(
    a_long_scales_out_moves_to_breakeven_then_trails_out,
    a_short_gapping_through_every_target_books_each_at_its_level,
    a_stop_touched_with_a_target_takes_the_whole_rest_at_the_stop,
    trades_closed_before_the_upgrade_get_their_one_exit,
);
