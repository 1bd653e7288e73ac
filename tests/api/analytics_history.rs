//! The varied history `tests/api/analytics.rs` asks the analytics of, booked through the real
//! close paths: ticks of the engine (with partial exits, breakeven, a trailing stop and the
//! time exits), manual closes and tag edits, on chosen times.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use signaldesk::db::models::SignalId;
use signaldesk::db::signals::{get_signal, AddOutcome, CloseRequest};
use signaldesk::db::{journal, Conn};
use signaldesk::domain::management::Management;
use signaldesk::domain::rules::TradingRules;
use signaldesk::domain::{Direction, ExitReason};

use crate::helpers::{close_trade, insert, targets, tick_with, SignalBuilder, INITIAL_BALANCE};

/// Units of every seeded trade: a 5-point stop risks 100, 1 % of the balance.
const QUANTITY: f64 = 20.0;

/// A trade to open: `Open::long("BTCUSDT").by("ict", Some("5m"), 0.6).at(conn, when)`.
struct Open {
    symbol: &'static str,
    direction: Direction,
    levels: (f64, f64, f64),
    strategy: &'static str,
    timeframe: Option<&'static str>,
    confidence: f64,
    management: Management,
    fees: bool,
}

impl Open {
    fn long(symbol: &'static str) -> Open {
        Open {
            symbol,
            direction: Direction::Long,
            levels: (100.0, 95.0, 110.0),
            strategy: "ict",
            timeframe: Some("5m"),
            confidence: 0.8,
            management: Management::default(),
            fees: true,
        }
    }

    fn short(symbol: &'static str) -> Open {
        Open {
            direction: Direction::Short,
            levels: (100.0, 105.0, 90.0),
            ..Open::long(symbol)
        }
    }

    fn by(
        mut self,
        strategy: &'static str,
        timeframe: Option<&'static str>,
        confidence: f64,
    ) -> Open {
        self.strategy = strategy;
        self.timeframe = timeframe;
        self.confidence = confidence;
        self
    }

    fn levels(mut self, entry: f64, stop: f64, target: f64) -> Open {
        self.levels = (entry, stop, target);
        self
    }

    fn managed(mut self, management: Management) -> Open {
        self.management = management;
        self
    }

    /// No entry fee: closed by hand without an exit fee, the pnl is the price move exactly.
    fn without_fees(mut self) -> Open {
        self.fees = false;
        self
    }

    fn at(self, conn: &mut Conn, when: NaiveDateTime) -> SignalId {
        let (entry, stop, target) = self.levels;
        let builder = match self.direction {
            Direction::Long => SignalBuilder::long(self.symbol),
            Direction::Short => SignalBuilder::short(self.symbol),
        };
        let mut row = builder
            .levels(entry, stop, target)
            .quantity(QUANTITY)
            .management(self.management)
            .build(when);
        row.strategy = self.strategy.to_owned();
        row.timeframe = self.timeframe.map(str::to_owned);
        row.confidence = self.confidence;
        if !self.fees {
            (row.entry_fee, row.fees, row.unrealized_pnl) = (0.0, 0.0, 0.0);
        }
        match insert(conn, &row).expect("insert a signal") {
            AddOutcome::Created(row) => row.signal_id(),
            AddOutcome::Existing(row) => panic!("signal {} exists", row.id),
        }
    }
}

fn rules() -> TradingRules {
    TradingRules::defaults_for(INITIAL_BALANCE)
}

fn manual(conn: &mut Conn, id: SignalId, price: f64, fee_rate: f64, when: NaiveDateTime) {
    close_trade(
        conn,
        id,
        &CloseRequest {
            exit_price: price,
            exit_reason: ExitReason::Manual,
            fee_rate,
            closed_at: when,
        },
    )
    .expect("close by hand");
}

fn assert_reason(conn: &mut Conn, id: SignalId, reason: ExitReason) {
    let row = get_signal(conn, id).expect("the signal");
    assert_eq!(row.exit_reason, Some(reason), "trade {}", id.0);
}

/// The next value of a small deterministic generator.
fn next(seed: &mut u64) -> u64 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    *seed >> 33
}

/// The first day of the seeded history: 100 days before today, so that every close lies in the
/// past and the default range (a year to today) holds them all.
pub fn first_day() -> NaiveDate {
    chrono::Utc::now().date_naive() - Duration::days(100)
}

/// A varied history from [`first_day`]: four strategies, five symbols, both directions, every
/// exit reason, partial exits booked on another day than the close, days with several closes
/// and gaps of days with none, a loss streak broken by a breakeven, trades across midnight and
/// on hour and day edges, holds on every hold-bin edge, R on bin edges and beyond ±9.5,
/// confidences on bucket edges (and a hair below one), then tags. Returns the first day.
pub fn seed(conn: &mut Conn) -> NaiveDate {
    let base = first_day();
    let t = |day: i64, time: &str| {
        (base + Duration::days(day))
            .and_time(NaiveTime::parse_from_str(time, "%H:%M:%S").expect("time"))
    };
    let plain = rules();
    let below = |x: f64| f64::from_bits(x.to_bits() - 1);

    // Day 0: a win held 4:59, a loss held exactly 5:00 opened on the hour, a loss opened a
    // second before it.
    let id = Open::long("BTCUSDT")
        .by("ict", Some("5m"), 0.6)
        .at(conn, t(0, "09:00:00"));
    tick_with(
        conn,
        "BTCUSDT",
        (110.5, 110.5, 100.0),
        t(0, "09:04:59"),
        &plain,
    );
    assert_reason(conn, id, ExitReason::TakeProfit);
    let id = Open::short("ETHUSDT")
        .by("api", Some("15m"), 0.7)
        .at(conn, t(0, "10:00:00"));
    tick_with(
        conn,
        "ETHUSDT",
        (105.5, 105.5, 100.0),
        t(0, "10:05:00"),
        &plain,
    );
    assert_reason(conn, id, ExitReason::StopLoss);
    let id = Open::long("SOLUSDT")
        .by("webhook", None, 0.9)
        .at(conn, t(0, "09:59:59"));
    tick_with(
        conn,
        "SOLUSDT",
        (94.5, 100.0, 94.5),
        t(0, "11:00:00"),
        &plain,
    );
    assert_reason(conn, id, ExitReason::StopLoss);

    // Day 2 → 3: across midnight. Day 3: a manual loss of exactly −0.5 R, four losses, a
    // breakeven, a loss, a win closed a second before midnight.
    let id = Open::short("BTCUSDT")
        .by("ict", Some("1h"), 1.0)
        .at(conn, t(2, "23:50:00"));
    tick_with(
        conn,
        "BTCUSDT",
        (89.5, 100.0, 89.5),
        t(3, "00:10:00"),
        &plain,
    );
    assert_reason(conn, id, ExitReason::TakeProfit);
    let id = Open::long("ETHUSDT")
        .by("api", Some("5m"), 0.1 + 0.2)
        .without_fees()
        .at(conn, t(3, "00:00:00"));
    manual(conn, id, 97.5, 0.0, t(3, "00:59:59"));
    let id = Open::long("SOLUSDT")
        .by("ict", Some("5m"), below(0.7))
        .at(conn, t(3, "01:00:00"));
    tick_with(
        conn,
        "SOLUSDT",
        (94.5, 100.0, 94.5),
        t(3, "02:00:00"),
        &plain,
    );
    assert_reason(conn, id, ExitReason::StopLoss);
    let id = Open::short("XRPUSDT")
        .by("webhook", Some("4h"), 0.65)
        .at(conn, t(3, "03:00:00"));
    tick_with(
        conn,
        "XRPUSDT",
        (105.5, 105.5, 100.0),
        t(3, "04:00:00"),
        &plain,
    );
    assert_reason(conn, id, ExitReason::StopLoss);
    let id = Open::long("BTCUSDT")
        .by("test", Some("5m"), 0.8)
        .at(conn, t(3, "05:00:00"));
    tick_with(
        conn,
        "BTCUSDT",
        (94.5, 100.0, 94.5),
        t(3, "06:00:00"),
        &plain,
    );
    assert_reason(conn, id, ExitReason::StopLoss);
    let id = Open::long("ETHUSDT")
        .by("api", Some("5m"), 0.8)
        .without_fees()
        .at(conn, t(3, "06:30:00"));
    manual(conn, id, 100.0, 0.0, t(3, "07:00:00"));
    let id = Open::short("SOLUSDT")
        .by("ict", Some("15m"), 0.3 * 3.0)
        .at(conn, t(3, "08:00:00"));
    tick_with(
        conn,
        "SOLUSDT",
        (105.5, 105.5, 100.0),
        t(3, "09:00:00"),
        &plain,
    );
    assert_reason(conn, id, ExitReason::StopLoss);
    let id = Open::long("XRPUSDT")
        .by("ict", Some("15m"), 0.6)
        .at(conn, t(3, "10:00:00"));
    tick_with(
        conn,
        "XRPUSDT",
        (110.5, 110.5, 100.0),
        t(3, "23:59:59"),
        &plain,
    );
    assert_reason(conn, id, ExitReason::TakeProfit);

    // Days 4–9: nothing. Day 10: a partial exit and breakeven, the rest stopped at the entry
    // the next day; a short trailed out.
    let scale_out = Management {
        take_profits: targets(&[(103.0, 0.5)]),
        breakeven_at_r: Some(1.0),
        ..Management::default()
    };
    let id = Open::long("BTCUSDT")
        .by("ict", Some("5m"), 0.75)
        .managed(scale_out.clone())
        .at(conn, t(10, "12:00:00"));
    tick_with(
        conn,
        "BTCUSDT",
        (105.5, 106.0, 101.0),
        t(10, "13:00:00"),
        &plain,
    );
    tick_with(
        conn,
        "BTCUSDT",
        (99.0, 101.0, 99.0),
        t(11, "09:00:00"),
        &plain,
    );
    assert_reason(conn, id, ExitReason::BreakevenStop);
    let trailed = Management {
        trailing_stop_pct: Some(2.0),
        trailing_activate_at_r: 1.0,
        ..Management::default()
    };
    let id = Open::short("ETHUSDT")
        .levels(100.0, 105.0, 80.0)
        .by("webhook", Some("1h"), 0.85)
        .managed(trailed)
        .at(conn, t(10, "14:00:00"));
    tick_with(
        conn,
        "ETHUSDT",
        (93.0, 94.0, 93.0),
        t(10, "15:00:00"),
        &plain,
    );
    tick_with(
        conn,
        "ETHUSDT",
        (95.5, 95.5, 94.0),
        t(10, "16:00:00"),
        &plain,
    );
    assert_reason(conn, id, ExitReason::TrailingStop);

    // Day 11: a partial exit; the rest reaches the target on day 13.
    let partial = Management {
        take_profits: targets(&[(103.0, 0.5)]),
        ..Management::default()
    };
    let scaled = Open::long("SOLUSDT")
        .by("api", Some("15m"), 0.95)
        .managed(partial)
        .at(conn, t(11, "10:00:00"));
    tick_with(
        conn,
        "SOLUSDT",
        (103.5, 104.0, 101.0),
        t(11, "11:00:00"),
        &plain,
    );

    // Day 12: the time exits.
    let mut eod = rules();
    eod.eod_close_utc = NaiveTime::from_hms_opt(20, 0, 0);
    let id = Open::long("XRPUSDT")
        .by("test", None, 0.62)
        .at(conn, t(12, "15:00:00"));
    tick_with(
        conn,
        "XRPUSDT",
        (100.5, 101.0, 99.5),
        t(12, "20:00:00"),
        &eod,
    );
    assert_reason(conn, id, ExitReason::EndOfDay);
    let mut max_hold = rules();
    max_hold.max_hold_hours = Some(4.0);
    let id = Open::short("BTCUSDT")
        .by("test", Some("1h"), 0.7)
        .at(conn, t(12, "09:00:00"));
    tick_with(
        conn,
        "BTCUSDT",
        (99.8, 100.2, 99.5),
        t(12, "13:00:00"),
        &max_hold,
    );
    assert_reason(conn, id, ExitReason::MaxDuration);

    // Day 13: the scaled trade's target; R of exactly +9.5, beyond −9.5 and exactly −9.5.
    tick_with(
        conn,
        "SOLUSDT",
        (110.5, 110.5, 103.0),
        t(13, "12:00:00"),
        &plain,
    );
    assert_reason(conn, scaled, ExitReason::TakeProfit);
    let id = Open::long("ETHUSDT")
        .by("api", Some("5m"), 0.9)
        .without_fees()
        .at(conn, t(13, "10:00:00"));
    manual(conn, id, 147.5, 0.0, t(13, "11:00:00"));
    let id = Open::short("ADAUSDT")
        .by("webhook", Some("5m"), 0.8)
        .at(conn, t(13, "10:30:00"));
    manual(conn, id, 152.5, 0.001, t(13, "12:30:00"));
    let id = Open::long("XRPUSDT")
        .by("ict", Some("4h"), 0.7)
        .without_fees()
        .at(conn, t(13, "13:00:00"));
    manual(conn, id, 52.5, 0.0, t(13, "14:00:00"));

    // Holds of exactly 7 days, 3 days, 12 h, 1 day, 4 h, 1 h and 15 min.
    let long_hold = Open::long("BTCUSDT")
        .by("ict", Some("1h"), 0.8)
        .at(conn, t(14, "00:00:00"));
    let id = Open::short("ETHUSDT")
        .by("api", Some("1h"), 0.8)
        .at(conn, t(15, "12:00:00"));
    tick_with(
        conn,
        "ETHUSDT",
        (105.5, 105.5, 100.0),
        t(18, "12:00:00"),
        &plain,
    );
    assert_reason(conn, id, ExitReason::StopLoss);
    let id = Open::long("SOLUSDT")
        .by("ict", None, 0.6)
        .at(conn, t(16, "00:00:00"));
    tick_with(
        conn,
        "SOLUSDT",
        (110.5, 110.5, 100.0),
        t(16, "12:00:00"),
        &plain,
    );
    assert_reason(conn, id, ExitReason::TakeProfit);
    let id = Open::short("XRPUSDT")
        .by("webhook", Some("15m"), 0.7)
        .at(conn, t(17, "06:00:00"));
    tick_with(
        conn,
        "XRPUSDT",
        (89.5, 100.0, 89.5),
        t(18, "06:00:00"),
        &plain,
    );
    assert_reason(conn, id, ExitReason::TakeProfit);
    let id = Open::long("ADAUSDT")
        .by("test", Some("5m"), 0.9)
        .at(conn, t(19, "08:00:00"));
    tick_with(
        conn,
        "ADAUSDT",
        (94.5, 100.0, 94.5),
        t(19, "12:00:00"),
        &plain,
    );
    assert_reason(conn, id, ExitReason::StopLoss);
    let id = Open::short("ADAUSDT")
        .by("ict", Some("5m"), 0.8)
        .at(conn, t(20, "08:00:00"));
    tick_with(
        conn,
        "ADAUSDT",
        (89.5, 100.0, 89.5),
        t(20, "09:00:00"),
        &plain,
    );
    assert_reason(conn, id, ExitReason::TakeProfit);
    let id = Open::long("ADAUSDT")
        .by("api", Some("15m"), 1.0)
        .at(conn, t(20, "10:00:00"));
    tick_with(
        conn,
        "ADAUSDT",
        (110.5, 110.5, 100.0),
        t(20, "10:15:00"),
        &plain,
    );
    assert_reason(conn, id, ExitReason::TakeProfit);
    tick_with(
        conn,
        "BTCUSDT",
        (110.5, 110.5, 100.0),
        t(21, "00:00:00"),
        &plain,
    );
    assert_reason(conn, long_hold, ExitReason::TakeProfit);

    // Days 22–94: trades one after the other, some minutes to days apart, closed at the target,
    // at the stop or by hand anywhere between, each seen once in between.
    let symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "ADAUSDT"];
    let strategies = ["ict", "api", "webhook", "test"];
    let timeframes = [Some("5m"), Some("15m"), Some("1h"), None];
    let confidences = [
        0.55,
        0.6,
        0.62,
        0.7,
        0.75,
        0.8,
        0.85,
        0.9,
        0.95,
        1.0,
        0.3 * 3.0,
    ];
    let holds = [60, 400, 2_000, 7_200, 30_000, 60_000, 150_000, 400_000];
    let gaps = [300, 3_600, 6 * 3_600, 20 * 3_600, 2 * 86_400];
    let mut seed = 0x5eed_a11c_u64;
    let mut now = t(22, "07:13:00");
    while now < t(94, "00:00:00") {
        let mut pick = |n: usize| next(&mut seed) as usize % n;
        let symbol = symbols[pick(5)];
        let long = pick(2) == 0;
        let risk = 2.0 + pick(7) as f64;
        let reward = risk * (1.5 + pick(6) as f64 * 0.5);
        let sign = if long { 1.0 } else { -1.0 };
        let (stop, target) = (100.0 - sign * risk, 100.0 + sign * reward);
        let open = if long {
            Open::long(symbol)
        } else {
            Open::short(symbol)
        };
        let id = open
            .levels(100.0, stop, target)
            .by(
                strategies[pick(4)],
                timeframes[pick(4)],
                confidences[pick(11)],
            )
            .at(conn, now);
        let hold = holds[pick(8)] + pick(600) as i64;
        // Seen once halfway, short of both levels; then out at the target, the stop, or by hand.
        let reach = (pick(10) + 1) as f64 / 11.0;
        let (high, low) = if long {
            (100.0 + reward * reach, 100.0 - risk * reach)
        } else {
            (100.0 + risk * reach, 100.0 - reward * reach)
        };
        tick_with(
            conn,
            symbol,
            (100.0, high, low),
            now + Duration::seconds(hold / 2),
            &plain,
        );
        let end = now + Duration::seconds(hold);
        let through = |level: f64, by: f64| {
            let price = level + by;
            (price, price.max(100.0), price.min(100.0))
        };
        match pick(3) {
            0 => {
                tick_with(conn, symbol, through(target, sign * 0.5), end, &plain);
            }
            1 => {
                tick_with(conn, symbol, through(stop, -sign * 0.5), end, &plain);
            }
            _ => {
                let price = 100.0 + sign * risk * (pick(400) as f64 / 100.0 - 1.5);
                manual(conn, id, price, 0.001, end);
            }
        }
        let row = get_signal(conn, id).expect("the trade");
        assert!(row.closed_at.is_some(), "trade {} closed", id.0);
        now = end + Duration::seconds(gaps[pick(5)] + pick(900) as i64);
    }

    // Tags: some entries one, some several (with spaces, as a hand edit may store them), one a
    // tag that only starts like another.
    let entries = journal::all_entries(conn).expect("journal");
    for (i, entry) in entries.iter().enumerate() {
        let mut tags = Vec::new();
        if i % 3 == 0 {
            tags.push("breakout");
        }
        if i % 4 == 1 {
            tags.push(" news");
            tags.push(" breakout ");
        }
        if i % 5 == 2 {
            tags.push("a+");
        }
        if i % 7 == 3 {
            tags.push("breakouts");
        }
        if !tags.is_empty() {
            journal::update_notes(conn, entry.id, None, &tags.join(","), t(95, "12:00:00"))
                .expect("tag an entry");
        }
    }
    base
}
