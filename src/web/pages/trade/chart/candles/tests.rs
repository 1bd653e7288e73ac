use super::*;
use crate::domain::{ExitReason, StopReason};
use crate::web::pages::trade::chart::tests::{exit, moved, row, scaled_out, time};

/// 1-minute candles of BTCUSDT from `start`, `n` of them, rising 0.25 a minute around 100.
fn minutes(start: NaiveDateTime, n: i64) -> Vec<CandleRow> {
    (0..n)
        .map(|i| {
            let open = 100.0 + (i % 40) as f64 * 0.25;
            let close = if i % 3 == 0 { open - 0.5 } else { open + 0.5 };
            CandleRow {
                symbol: "BTCUSDT".to_owned(),
                timeframe: "1m".to_owned(),
                open_time: start + Duration::minutes(i),
                open,
                high: open.max(close) + 0.75,
                low: open.min(close) - 0.75,
                close,
                volume: 2.0,
            }
        })
        .collect()
}

/// The stored candles of the window of `s`.
fn candles_for(s: &SignalRow, exits: &[TradeExitRow], moves: &[StopMoveRow]) -> Vec<CandleRow> {
    let (from, to) = window(s, exits, moves);
    minutes(from, (to - from).num_minutes() + 1)
}

fn coordinates(chart: &CandleChart) -> Vec<f64> {
    let mut all = vec![chart.span_x, chart.span_width];
    for c in &chart.candles {
        all.extend([
            c.center,
            c.body_x,
            c.body_width,
            c.body_top,
            c.body_height,
            c.wick_top,
            c.wick_bottom,
        ]);
    }
    for tick in chart.time_ticks.iter().chain(&chart.price_ticks) {
        all.push(tick.at);
    }
    for level in &chart.levels {
        all.extend([level.y, level.label_y]);
    }
    for m in std::iter::once(&chart.entry)
        .chain(&chart.stop_moves)
        .chain(&chart.exits)
        .chain(&chart.extremes)
    {
        all.extend([m.x, m.y]);
    }
    for pair in chart.stop_path.split(' ') {
        let (x, y) = pair.split_once(',').unwrap();
        all.extend([x.parse::<f64>().unwrap(), y.parse::<f64>().unwrap()]);
    }
    all
}

#[test]
fn the_window_is_the_span_with_a_margin_of_a_tenth_from_five_minutes_to_an_hour() {
    let cases = [
        (Duration::minutes(10), Duration::minutes(5), "a short trade"),
        (Duration::hours(2), Duration::minutes(12), "two hours"),
        (
            Duration::days(30),
            Duration::hours(1),
            "a month: the hour kept",
        ),
        (Duration::zero(), Duration::minutes(5), "closed at once"),
    ];
    for (span, pad, reason) in cases {
        let mut s = row(100.0, 95.0, 110.0, 101.0);
        s.updated_at = s.created_at + span;
        assert_eq!(
            window(&s, &[], &[]),
            (s.created_at - pad, s.updated_at + pad),
            "{reason}"
        );
    }
    let (s, exits, moves) = scaled_out();
    let mut late = exits.clone();
    late.push(exit(time(30), ExitReason::Manual, 104.0, 1.0));
    assert_eq!(
        window(&s, &late, &moves).1,
        time(30) + Duration::minutes(5),
        "an exit after the last update still shows"
    );
}

#[test]
fn the_bucket_is_the_shortest_that_keeps_the_chart_within_300_candles() {
    let cases = [
        (20 * 60, "1m"),
        (299 * 60, "1m"),
        (6 * 3_600, "5m"),
        (2 * 86_400, "15m"),
        (10 * 86_400, "1h"),
        (40 * 86_400, "4h"),
        (200 * 86_400, "1d"),
        (400 * 86_400, "2d"),
        (5_000 * 86_400, "17d"),
    ];
    for (span, name) in cases {
        let (secs, bucket) = bucket_for(span);
        assert_eq!(bucket, name, "{span} s");
        assert!(span / secs < MAX_CANDLES, "{span} s in {bucket}");
    }
}

#[test]
fn aggregation_takes_the_first_open_the_extremes_the_last_close_and_the_summed_volume() {
    let mut rows = minutes(time(0), 10);
    // A row that bypassed the table's checks is left out.
    rows[4].high = f64::NAN;
    let five = aggregate(&rows, 300);
    assert_eq!(five.len(), 2);
    let first = &rows[..4];
    assert_eq!(five[0].open_time.naive_utc(), time(0));
    assert_eq!(five[0].open, first[0].open);
    assert_eq!(five[0].close, first[3].close);
    assert_eq!(
        five[0].high,
        first.iter().map(|c| c.high).fold(f64::MIN, f64::max)
    );
    assert_eq!(
        five[0].low,
        first.iter().map(|c| c.low).fold(f64::MAX, f64::min)
    );
    assert_eq!(five[0].volume, 8.0, "four usable minutes");
    assert_eq!(five[1].open_time.naive_utc(), time(5));
    assert_eq!((five[1].open, five[1].close), (rows[5].open, rows[9].close));
    assert_eq!(five[1].volume, 10.0);
}

#[test]
fn a_trade_of_minutes_draws_each_stored_minute_with_its_ohlc_in_its_title() {
    let (s, exits, moves) = scaled_out();
    let stored = candles_for(&s, &exits, &moves);
    let chart = CandleChart::new(&s, &exits, &moves, &stored).expect("a chart");
    assert_eq!(chart.bucket, "1m");
    assert_eq!(chart.candles.len(), stored.len());
    let first = &chart.candles[0];
    let c = &stored[0];
    assert_eq!(
        first.title,
        format!(
            "{} (1m) open {} high {} low {} close {} volume 2",
            date_time(c.open_time),
            price(c.open),
            price(c.high),
            price(c.low),
            price(c.close)
        )
    );
    assert_eq!(first.class, if c.close >= c.open { "up" } else { "down" });
    for (mark, c) in chart.candles.iter().zip(&stored) {
        assert!(mark.wick_top <= mark.body_top, "the wick reaches the high");
        assert!(mark.body_top + mark.body_height <= mark.wick_bottom + 1.0);
        assert_eq!(mark.class == "up", c.close >= c.open);
    }
    assert!(chart
        .candles
        .windows(2)
        .all(|pair| pair[0].center < pair[1].center));
}

#[test]
fn a_long_span_is_aggregated_to_at_most_300_candles() {
    let mut s = row(100.0, 95.0, 110.0, 101.0);
    s.updated_at = s.created_at + Duration::days(10);
    let stored = candles_for(&s, &[], &[]);
    assert!(stored.len() > 14_000);
    let chart = CandleChart::new(&s, &[], &[], &stored).unwrap();
    assert_eq!(chart.bucket, "1h");
    assert!(
        chart.candles.len() <= 300 && chart.candles.len() >= 240,
        "{}",
        chart.candles.len()
    );
}

#[test]
fn the_entry_stops_targets_exits_and_extremes_are_marked_with_titles() {
    let (s, exits, moves) = scaled_out();
    let chart = CandleChart::new(&s, &exits, &moves, &candles_for(&s, &exits, &moves)).unwrap();
    let labels: Vec<&str> = chart.levels.iter().map(|l| l.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "target",
            "TP1 30%",
            "TP2 30%",
            "entry",
            "initial stop",
            "stop"
        ]
    );
    let (from, to) = window(&s, &exits, &moves);
    let x = |at: NaiveDateTime| {
        CandleChart::LEFT
            + (at - from).num_milliseconds() as f64 / (to - from).num_milliseconds() as f64
                * (CandleChart::RIGHT - CandleChart::LEFT)
    };
    assert!((chart.entry.x - x(s.created_at)).abs() < 1e-9);
    assert_eq!(
        chart.entry.title,
        "entry LONG 20 at 100.00, 2026-11-25 09:00:00"
    );
    assert_eq!(chart.exits.len(), 2);
    assert!((chart.exits[1].x - x(time(3))).abs() < 1e-9);
    assert_eq!(
        chart.exits[0].title,
        "exit 1: PARTIAL_TAKE_PROFIT 6 at 103.00, pnl +18.00, 2026-11-25 09:01:00"
    );
    assert_eq!(chart.stop_moves.len(), 2);
    assert_eq!(
        chart.stop_moves[0].title,
        "stop 95.00 → 100.00 (BREAKEVEN), 2026-11-25 09:02:00"
    );
    assert_eq!(
        chart.stop_title,
        "the stop: initial 95.00, moved 2 times, now 104.86"
    );
    // A step line: the initial stop, two points per move, the stop now at the end.
    assert_eq!(chart.stop_path.split(' ').count(), 1 + 2 * 2 + 1);
    let entry_y = chart.levels[3].y;
    assert!(
        chart.levels[0].y < entry_y && entry_y < chart.levels[4].y,
        "target above the entry above the initial stop of a long"
    );
    let titles: Vec<&str> = chart.extremes.iter().map(|m| m.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "MFE: best price so far 107.00 (+1.40R)",
            "MAE: worst price so far 100.00 (+0.00R)"
        ]
    );
    assert!(chart.extremes[0].y < chart.extremes[1].y);
    assert!(chart.span_x > CandleChart::LEFT && chart.span_width > 0.0);
}

#[test]
fn price_ticks_are_round_and_time_ticks_read_as_clock_times() {
    let (s, exits, moves) = scaled_out();
    let chart = CandleChart::new(&s, &exits, &moves, &candles_for(&s, &exits, &moves)).unwrap();
    assert!(chart.price_ticks.len() >= 3, "{}", chart.price_ticks.len());
    let values: Vec<f64> = chart
        .price_ticks
        .iter()
        .map(|t| t.label.parse().unwrap())
        .collect();
    let step = values[1] - values[0];
    assert!([1.0, 2.0, 2.5, 5.0].contains(&step), "{values:?}");
    assert!(values.windows(2).all(|p| (p[1] - p[0] - step).abs() < 1e-9));
    assert!(chart
        .price_ticks
        .windows(2)
        .all(|p| p[1].at < p[0].at && p[1].at >= CandleChart::TOP));
    // 08:55 to 09:09: ticks every two minutes, the first with its date.
    let labels: Vec<&str> = chart.time_ticks.iter().map(|t| t.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "11-25 08:56",
            "08:58",
            "09:00",
            "09:02",
            "09:04",
            "09:06",
            "09:08"
        ]
    );
}

#[test]
fn without_a_usable_candle_there_is_no_candle_chart() {
    let (s, exits, moves) = scaled_out();
    assert!(CandleChart::new(&s, &exits, &moves, &[]).is_none());
    let mut broken = candles_for(&s, &exits, &moves);
    for c in &mut broken {
        c.low = -1.0;
    }
    assert!(CandleChart::new(&s, &exits, &moves, &broken).is_none());
}

#[test]
fn the_chart_stays_inside_its_box_for_any_stored_row() {
    let ordinary = || row(100.0, 95.0, 110.0, 102.0);
    let mut hostile_levels = row(100.0, 5e-324, 1.7e308, f64::NAN);
    hostile_levels.take_profits = r#"[{"price":1e308,"fraction":0.5}]"#.into();
    hostile_levels.max_favorable_price = f64::INFINITY;
    hostile_levels.max_adverse_price = -1.0;
    let far = chrono::NaiveDate::from_ymd_opt(9999, 12, 31)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    let hostile_exits = vec![
        exit(
            time(0) - Duration::days(1),
            ExitReason::Manual,
            f64::NAN,
            1.0,
        ),
        exit(time(2), ExitReason::StopLoss, f64::INFINITY, f64::NAN),
    ];
    let hostile_moves = vec![moved(
        time(1),
        f64::NEG_INFINITY,
        f64::MAX,
        StopReason::Manual,
    )];
    let mut far_exits = hostile_exits.clone();
    far_exits.push(exit(far, ExitReason::Manual, 100.0, 1.0));
    let mut penny = row(0.0024, 0.0023, 0.0026, 0.002496);
    penny.max_favorable_price = 0.0025;
    let penny_candles: Vec<CandleRow> = candles_for(&penny, &[], &[])
        .into_iter()
        .map(|c| CandleRow {
            open: c.open / 40_000.0,
            high: c.high / 40_000.0,
            low: c.low / 40_000.0,
            close: c.close / 40_000.0,
            ..c
        })
        .collect();
    let (scaled, scaled_exits, scaled_moves) = scaled_out();
    let cases = [
        (ordinary(), vec![], vec![], None, "an ordinary trade"),
        (hostile_levels, vec![], vec![], None, "levels out of range"),
        (
            ordinary(),
            hostile_exits,
            hostile_moves,
            None,
            "exits and moves out of range",
        ),
        (
            ordinary(),
            far_exits,
            vec![],
            Some(minutes(time(0) - Duration::minutes(5), 30)),
            "an exit in the year 9999",
        ),
        (penny, vec![], vec![], Some(penny_candles), "a small coin"),
        (
            scaled,
            scaled_exits,
            scaled_moves,
            None,
            "a trade scaled out",
        ),
    ];
    for (signal, exits, moves, stored, reason) in cases {
        let stored = stored.unwrap_or_else(|| candles_for(&signal, &exits, &moves));
        let chart = CandleChart::new(&signal, &exits, &moves, &stored)
            .unwrap_or_else(|| panic!("{reason}: no chart"));
        for value in coordinates(&chart) {
            assert!(
                value.is_finite() && (0.0..=CandleChart::WIDTH).contains(&value),
                "{reason}: {value}"
            );
        }
        for mark in &chart.candles {
            assert!(mark.wick_bottom <= CandleChart::BOTTOM, "{reason}");
            assert!(mark.wick_top >= CandleChart::TOP, "{reason}");
        }
        assert!(chart.candles.len() <= MAX_CANDLES as usize, "{reason}");
        assert_eq!(
            chart.exits.len(),
            exits.len(),
            "{reason}: one mark per exit"
        );
        assert_eq!(chart.stop_moves.len(), moves.len(), "{reason}");
        assert_eq!(chart.extremes.len(), 2, "{reason}");
    }
}

#[test]
fn the_caption_counts_the_candles_and_says_when_minutes_are_missing() {
    let (s, exits, moves) = scaled_out();
    let full = candles_for(&s, &exits, &moves);
    let chart = CandleChart::new(&s, &exits, &moves, &full).unwrap();
    assert_eq!(
        chart.caption,
        "15 candles of 1m from the stored 1-minute klines"
    );
    let one = &full[9..10];
    let chart = CandleChart::new(&s, &exits, &moves, one).unwrap();
    assert_eq!(
        chart.caption,
        "1 candle of 1m from the stored 1-minute klines; 1 of the 10 minutes to the last update \
         are stored, the rest was not read"
    );
}
