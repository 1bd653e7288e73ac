//! Trade management (DESIGN.md §10) in the running engine: the real server against the fake
//! exchange, trades opened through `POST /api/signals` with partial targets, breakeven and a
//! trailing stop, prices moved through each level. Every exit's price, quantity, fee and pnl is
//! computed here by hand and compared with `GET /api/signals/{id}`, the balance with
//! `/api/stats` after every exit; `kill -9` between two exits books each exit exactly once.

use serde_json::{json, Value};

use crate::fake_exchange::FakeExchange;
use crate::helpers::{assert_check_passes, wait_until, TempDb, TestServer, INITIAL_BALANCE};

const FEE: f64 = 0.001;
const SLIP: f64 = 0.0005;

fn assert_close(got: f64, want: f64, what: &str) {
    assert!(
        (got - want).abs() <= 1e-9 * want.abs().max(1.0),
        "{what}: {got} != {want}"
    );
}

fn num(value: &Value, key: &str) -> f64 {
    value[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} in {value}"))
}

/// The real server against `exchange` with the `feed` (bybit or binance), no cooldown.
fn start(db: &TempDb, exchange: &FakeExchange, feed: &str) -> TestServer {
    let server = TestServer::start(
        &db,
        &[
            ("SIGNALDESK_FEED", feed),
            ("SIGNALDESK_EXCHANGE_URL", &exchange.url),
            ("SIGNALDESK_SYMBOLS", "BTCUSDT,ETHUSDT"),
            ("SIGNALDESK_COOLDOWN_MINUTES", "0"),
        ],
    );
    server.wait_for_stats("a fresh price", |s| s["feed"]["status"] == "ok");
    server
}

/// A trade as opened, and what each of its exits books, by hand (DESIGN.md §4, §10): the exit
/// fill's fee plus the entry fee's share of the part, and the price move less that fee.
struct ByHand {
    id: i64,
    sign: f64,
    entry: f64,
    quantity: f64,
}

impl ByHand {
    /// Opened at `market` (slippage against the trader) with its stop `stop`, risking 1 % of
    /// `balance`.
    fn opened(signal: &Value, market: f64, stop: f64, balance: f64) -> ByHand {
        let sign = if signal["direction"] == "LONG" {
            1.0
        } else {
            -1.0
        };
        let entry = market * (1.0 + sign * SLIP);
        let quantity = balance * 0.01 / (entry - stop).abs();
        assert_close(num(signal, "entry_price"), entry, "the entry fill");
        assert_close(
            num(signal, "quantity"),
            quantity,
            "the quantity risking 1 %",
        );
        assert_close(num(signal, "initial_stop_loss"), stop, "the initial stop");
        ByHand {
            id: signal["id"].as_i64().unwrap(),
            sign,
            entry,
            quantity,
        }
    }

    /// (fee, pnl) of an exit of `part` at `price`.
    fn exit(&self, price: f64, part: f64) -> (f64, f64) {
        let entry_fee = self.entry * self.quantity * FEE;
        let fee = price * part * FEE + entry_fee * part / self.quantity;
        (fee, (price - self.entry) * part * self.sign - fee)
    }

    /// A market fill at `price`: slippage against the trader.
    fn market(&self, price: f64) -> f64 {
        price * (1.0 - self.sign * SLIP)
    }

    fn detail(&self, server: &TestServer) -> Value {
        server.get_json(&format!("/api/signals/{}", self.id))
    }

    /// The detail once the tick has priced the trade at `last` (or closed it) with `exits`
    /// exits and `moves` stop moves.
    fn wait(&self, server: &TestServer, last: f64, exits: usize, moves: usize) -> Value {
        wait_until(
            &format!(
                "trade {} at {last}: {exits} exits, {moves} stop moves",
                self.id
            ),
            || {
                let d = self.detail(server);
                let priced = d["status"] == "CLOSED" || d["current_price"].as_f64() == Some(last);
                let counted = d["exits"].as_array()?.len() == exits
                    && d["stop_moves"].as_array()?.len() == moves;
                (priced && counted).then_some(d)
            },
        )
    }
}

/// Exit `i` of `detail` is `reason`, `part` at `price`, with the fee and pnl by hand; returns its
/// pnl.
fn assert_exit(
    trade: &ByHand,
    detail: &Value,
    i: usize,
    reason: &str,
    price: f64,
    part: f64,
) -> f64 {
    let exit = &detail["exits"][i];
    let (fee, pnl) = trade.exit(price, part);
    assert_eq!(exit["reason"], reason, "{exit}");
    assert_close(num(exit, "price"), price, "exit price");
    assert_close(num(exit, "quantity"), part, "exit quantity");
    assert_close(num(exit, "fee"), fee, "exit fee");
    assert_close(num(exit, "pnl"), pnl, "exit pnl");
    pnl
}

/// Stop move `i` of `detail`.
fn assert_move(detail: &Value, i: usize, old: f64, new: f64, reason: &str) {
    let moved = &detail["stop_moves"][i];
    assert_eq!(moved["reason"], reason, "{moved}");
    assert_close(num(moved, "old_stop"), old, "old stop");
    assert_close(num(moved, "new_stop"), new, "new stop");
    assert_close(num(detail, "stop_loss"), new, "the stop in force");
    assert_eq!(detail["stop_moved_by"], reason);
}

/// The balance on `/api/stats` is the initial one plus `booked`, and so is the last exit's
/// `balance_after`.
fn assert_balance(server: &TestServer, detail: &Value, booked: f64) {
    let stats = server.get_json("/api/stats");
    assert_close(
        num(&stats, "balance"),
        INITIAL_BALANCE + booked,
        "the balance after the exit",
    );
    let last = detail["exits"].as_array().unwrap().last().unwrap();
    assert_close(
        num(last, "balance_after"),
        INITIAL_BALANCE + booked,
        "the exit's balance_after",
    );
}

fn open(server: &TestServer, body: Value) -> Value {
    let (status, signal) = server.post("/api/signals", &body);
    assert_eq!(status, 201, "{signal}");
    signal
}

fn a_long_and_a_short_scale_out_move_their_stops_and_stop_out(db: TempDb, feed: &str) {
    let exchange = FakeExchange::start(&[("BTCUSDT", 100.0), ("ETHUSDT", 200.0)]);
    let server = start(&db, &exchange, feed);

    // LONG from 100.05: R = 5.05. 30 % at 105 and at 112, breakeven at 1R (105.10), a 5 %
    // trailing stop from 2R (110.15).
    let long = open(
        &server,
        json!({"symbol": "BTCUSDT", "direction": "LONG", "stop_loss": 95, "take_profit": 125,
               "take_profits": [{"price": 105, "fraction": 0.3}, {"price": 112, "fraction": 0.3}],
               "breakeven_at_r": 1, "trailing_stop_pct": 5, "trailing_activate_at_r": 2}),
    );
    // SHORT from 199.9: R = 10.1. Half at 190, breakeven at 1R (189.8), a 3 % trailing stop
    // from 2R (179.7), never reached.
    let short = open(
        &server,
        json!({"symbol": "ETHUSDT", "direction": "SHORT", "stop_loss": 210, "take_profit": 170,
               "take_profits": [{"price": 190, "fraction": 0.5}],
               "breakeven_at_r": 1, "trailing_stop_pct": 3, "trailing_activate_at_r": 2}),
    );
    let long = ByHand::opened(&long, 100.0, 95.0, INITIAL_BALANCE);
    let short = ByHand::opened(&short, 200.0, 210.0, INITIAL_BALANCE);
    let detail = long.detail(&server);
    assert_eq!(
        detail["take_profits"],
        json!([{"price": 105.0, "fraction": 0.3}, {"price": 112.0, "fraction": 0.3}])
    );
    let mut booked = 0.0;

    // LONG 1: the first target, a limit fill at 105; 0.98R moves no stop.
    exchange.set_price("BTCUSDT", 105.0);
    let d = long.wait(&server, 105.0, 1, 0);
    booked += assert_exit(
        &long,
        &d,
        0,
        "PARTIAL_TAKE_PROFIT",
        105.0,
        0.3 * long.quantity,
    );
    assert_close(num(&d, "remaining_quantity"), 0.7 * long.quantity, "left");
    assert_close(num(&d, "realized_pnl"), booked, "realized so far");
    assert_eq!(
        (d["status"].as_str(), d["targets_hit"].as_i64()),
        (Some("ACTIVE"), Some(1))
    );
    assert_balance(&server, &d, booked);

    // LONG 2: 106 is 1.18R: the stop moves to the entry.
    exchange.set_price("BTCUSDT", 106.0);
    let d = long.wait(&server, 106.0, 1, 1);
    assert_move(&d, 0, 95.0, long.entry, "BREAKEVEN");

    // LONG 3: the second target at 112, 2.37R: the trail takes over, 5 % under 112.
    exchange.set_price("BTCUSDT", 112.0);
    let d = long.wait(&server, 112.0, 2, 2);
    booked += assert_exit(
        &long,
        &d,
        1,
        "PARTIAL_TAKE_PROFIT",
        112.0,
        0.3 * long.quantity,
    );
    assert_move(&d, 1, long.entry, 112.0 * (1.0 - 5.0 / 100.0), "TRAILING");
    assert_close(num(&d, "remaining_quantity"), 0.4 * long.quantity, "left");
    assert_balance(&server, &d, booked);

    // LONG 4: the trail follows the best price up to 115, and stays there when price eases.
    exchange.set_price("BTCUSDT", 115.0);
    long.wait(&server, 115.0, 2, 3);
    exchange.set_price("BTCUSDT", 110.0);
    let d = long.wait(&server, 110.0, 2, 3);
    let trail = 115.0 * (1.0 - 5.0 / 100.0);
    assert_move(&d, 2, 112.0 * (1.0 - 5.0 / 100.0), trail, "TRAILING");
    assert_eq!(d["status"], "ACTIVE");

    // LONG 5: a wick to 109 touches the trailing stop at 109.25 while the last price stays at
    // 110: the rest leaves at the stop, sold (slippage).
    exchange.wick("BTCUSDT", 110.0, 109.0);
    let d = long.wait(&server, 110.0, 3, 3);
    booked += assert_exit(
        &long,
        &d,
        2,
        "TRAILING_STOP",
        long.market(trail),
        0.4 * long.quantity,
    );
    assert_eq!(d["status"], "CLOSED");
    assert_eq!(d["exit_reason"], "TRAILING_STOP");
    assert_close(num(&d, "remaining_quantity"), 0.0, "nothing left");
    let long_pnl: f64 = (0..3).map(|i| num(&d["exits"][i], "pnl")).sum();
    assert_close(num(&d, "pnl"), long_pnl, "pnl = Σ exits");
    let average = 0.3 * 105.0 + 0.3 * 112.0 + 0.4 * long.market(trail);
    assert_close(num(&d, "exit_price"), average, "the average exit");
    assert_balance(&server, &d, booked);

    // SHORT 1: the target at 190, 0.98R: no stop move yet.
    exchange.set_price("ETHUSDT", 190.0);
    let d = short.wait(&server, 190.0, 1, 0);
    booked += assert_exit(
        &short,
        &d,
        0,
        "PARTIAL_TAKE_PROFIT",
        190.0,
        0.5 * short.quantity,
    );
    assert_balance(&server, &d, booked);

    // SHORT 2: 189 is 1.08R: breakeven. The 3 % trail (194.67, tighter) is not active yet.
    exchange.set_price("ETHUSDT", 189.0);
    let d = short.wait(&server, 189.0, 1, 1);
    assert_move(&d, 0, 210.0, short.entry, "BREAKEVEN");

    // SHORT 3: back up; a wick to 200.5 with the last price at 195 touches the breakeven stop:
    // the rest is bought back at the stop, plus slippage.
    exchange.set_price("ETHUSDT", 195.0);
    short.wait(&server, 195.0, 1, 1);
    exchange.wick("ETHUSDT", 200.5, 195.0);
    let d = short.wait(&server, 195.0, 2, 1);
    booked += assert_exit(
        &short,
        &d,
        1,
        "BREAKEVEN_STOP",
        short.market(short.entry),
        0.5 * short.quantity,
    );
    assert_eq!(
        (d["status"].as_str(), d["exit_reason"].as_str()),
        (Some("CLOSED"), Some("BREAKEVEN_STOP"))
    );
    assert_balance(&server, &d, booked);

    // Nothing more happens to either, and the journal has one entry a trade, from its exits.
    server.wait_ticks(2);
    assert_eq!(long.detail(&server)["exits"].as_array().unwrap().len(), 3);
    assert_eq!(short.detail(&server)["exits"].as_array().unwrap().len(), 2);
    let data = server.get_json("/api/data");
    let journal = data["journal"].as_array().unwrap();
    assert_eq!(journal.len(), 2);
    for (trade, exits) in [(&long, 3), (&short, 2)] {
        let entry = journal
            .iter()
            .find(|e| e["signal_id"].as_i64() == Some(trade.id))
            .unwrap();
        assert_eq!(entry["exit_count"], exits);
        let pnl = num(&trade.detail(&server), "pnl");
        assert_close(num(entry, "pnl"), pnl, "journal pnl");
        assert_close(
            num(entry, "r_multiple"),
            pnl / (0.01 * INITIAL_BALANCE),
            "R from the initial risk",
        );
    }
    assert_close(
        num(&data["stats"], "balance"),
        INITIAL_BALANCE + booked,
        "the final balance",
    );
    server.stop();
    assert_check_passes(&db);
}

fn managed_trades_on_bybit(db: TempDb) {
    a_long_and_a_short_scale_out_move_their_stops_and_stop_out(db, "bybit");
}

fn managed_trades_on_binance(db: TempDb) {
    a_long_and_a_short_scale_out_move_their_stops_and_stop_out(db, "binance");
}

/// A LONG from 100.05 with 30 % at 105 and at 110, breakeven at 1R, the rest at 115.
fn open_scaling_long(server: &TestServer) -> ByHand {
    let signal = open(
        server,
        json!({"symbol": "BTCUSDT", "direction": "LONG", "stop_loss": 95, "take_profit": 115,
               "take_profits": [{"price": 105, "fraction": 0.3}, {"price": 110, "fraction": 0.3}],
               "breakeven_at_r": 1}),
    );
    ByHand::opened(&signal, 100.0, 95.0, INITIAL_BALANCE)
}

/// The three exits of [`open_scaling_long`] through its targets, each booked once, by hand;
/// the balance is the initial one plus their pnl, and the journal has the trade once.
fn assert_scaled_out_once(server: &TestServer, trade: &ByHand) {
    let d = trade.detail(server);
    assert_eq!(d["exits"].as_array().unwrap().len(), 3, "{d}");
    let mut booked = 0.0;
    booked += assert_exit(
        trade,
        &d,
        0,
        "PARTIAL_TAKE_PROFIT",
        105.0,
        0.3 * trade.quantity,
    );
    booked += assert_exit(
        trade,
        &d,
        1,
        "PARTIAL_TAKE_PROFIT",
        110.0,
        0.3 * trade.quantity,
    );
    booked += assert_exit(trade, &d, 2, "TAKE_PROFIT", 115.0, 0.4 * trade.quantity);
    assert_eq!(d["stop_moves"].as_array().unwrap().len(), 1, "{d}");
    assert_move(&d, 0, 95.0, trade.entry, "BREAKEVEN");
    assert_eq!(
        (d["status"].as_str(), d["exit_reason"].as_str()),
        (Some("CLOSED"), Some("TAKE_PROFIT"))
    );
    assert_close(num(&d, "pnl"), booked, "pnl = Σ exits");
    assert_balance(server, &d, booked);
    let data = server.get_json("/api/data");
    let journal = data["journal"].as_array().unwrap();
    assert_eq!(journal.len(), 1, "the trade is journaled once");
    assert_eq!(journal[0]["exit_count"], 3);
    assert_close(num(&journal[0], "pnl"), booked, "journal pnl");
    assert_eq!(data["stats"]["completed_trades"], 1);
    assert_eq!(data["stats"]["wins_today"], 1);
}

fn kill_dash_nine_between_two_exits_books_each_exit_once(db: TempDb) {
    let exchange = FakeExchange::start(&[("BTCUSDT", 100.0), ("ETHUSDT", 200.0)]);
    let server = start(&db, &exchange, "bybit");
    let trade = open_scaling_long(&server);

    // The first target fills; the moment the API shows it, the server dies.
    exchange.set_price("BTCUSDT", 105.0);
    trade.wait(&server, 105.0, 1, 0);
    server.kill();
    assert_check_passes(&db);

    // Restarted on the same database at the same price: the filled target is not filled again.
    let server = start(&db, &exchange, "bybit");
    server.wait_ticks(2);
    let d = trade.wait(&server, 105.0, 1, 0);
    assert_eq!(d["targets_hit"], 1);
    assert_close(num(&d, "remaining_quantity"), 0.7 * trade.quantity, "left");

    // Breakeven, then the second target, and a second kill right after it.
    exchange.set_price("BTCUSDT", 107.0);
    trade.wait(&server, 107.0, 1, 1);
    exchange.set_price("BTCUSDT", 110.0);
    trade.wait(&server, 110.0, 2, 1);
    server.kill();
    assert_check_passes(&db);

    // On through the final target after the restart.
    let server = start(&db, &exchange, "bybit");
    server.wait_ticks(2);
    let d = trade.wait(&server, 110.0, 2, 1);
    assert_eq!(d["targets_hit"], 2);
    exchange.set_price("BTCUSDT", 116.0);
    trade.wait(&server, 116.0, 3, 1);
    server.wait_ticks(2);
    assert_scaled_out_once(&server, &trade);
    server.stop();
    assert_check_passes(&db);
}

fn kill_dash_nine_at_random_moments_around_the_exits_books_each_exit_once(db: TempDb) {
    let exchange = FakeExchange::start(&[("BTCUSDT", 100.0), ("ETHUSDT", 200.0)]);
    let server = start(&db, &exchange, "bybit");
    let trade = open_scaling_long(&server);
    server.stop();
    let mut seed: u64 = 0x5eed_0012;
    // Each price move, then a kill at a pseudo-random moment around the tick that books it
    // (before it, inside its transaction, or after it), then a restart that must catch up.
    for (price, exits, moves) in [(105.0, 1, 0), (107.0, 1, 1), (110.0, 2, 1), (116.0, 3, 1)] {
        let server = start(&db, &exchange, "bybit");
        exchange.set_price("BTCUSDT", price);
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        std::thread::sleep(std::time::Duration::from_millis(200 + (seed >> 33) % 1500));
        server.kill();
        assert_check_passes(&db);
        let server = start(&db, &exchange, "bybit");
        trade.wait(&server, price, exits, moves);
        server.kill();
        assert_check_passes(&db);
    }
    let server = start(&db, &exchange, "bybit");
    server.wait_ticks(2);
    assert_scaled_out_once(&server, &trade);
    server.stop();
    assert_check_passes(&db);
}

crate::on_both_backends!(
    managed_trades_on_bybit,
    managed_trades_on_binance,
    kill_dash_nine_between_two_exits_books_each_exit_once,
    kill_dash_nine_at_random_moments_around_the_exits_books_each_exit_once,
);
