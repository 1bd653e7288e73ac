//! The detectors and the strategy on small hand-built candles with known answers.

use chrono::DateTime;

use super::detect::*;
use super::*;

/// Candles from (open, high, low, close), five minutes apart.
fn candles(rows: &[(f64, f64, f64, f64)]) -> Vec<Candle> {
    rows.iter()
        .enumerate()
        .map(|(i, (o, h, l, c))| {
            let t = DateTime::from_timestamp(1_764_000_000 + i as i64 * 300, 0).unwrap();
            Candle::new(t, *o, *h, *l, *c, 10.0).unwrap()
        })
        .collect()
}

/// A candle around `mid` with a `spread` range.
fn flat(mid: f64, spread: f64) -> (f64, f64, f64, f64) {
    (mid, mid + spread, mid - spread, mid)
}

#[test]
fn a_v_shape_has_one_swing_low_and_no_high() {
    let c = candles(&[
        flat(105.0, 1.0),
        flat(103.0, 1.0),
        flat(100.0, 1.0),
        flat(103.0, 1.0),
        flat(105.0, 1.0),
    ]);
    let found = swings(&c, 2);
    assert_eq!(
        found,
        [Swing {
            index: 2,
            price: 99.0,
            is_high: false
        }]
    );
}

#[test]
fn the_newest_candles_never_hold_a_swing() {
    let c = candles(&[
        flat(100.0, 1.0),
        flat(101.0, 1.0),
        flat(102.0, 1.0),
        flat(103.0, 1.0),
        flat(110.0, 1.0),
    ]);
    assert!(swings(&c, 2).iter().all(|s| s.index <= 2));
}

#[test]
fn higher_highs_and_lows_are_bullish_and_lower_ones_bearish() {
    let up = [
        Swing {
            index: 1,
            price: 100.0,
            is_high: true,
        },
        Swing {
            index: 2,
            price: 95.0,
            is_high: false,
        },
        Swing {
            index: 3,
            price: 104.0,
            is_high: true,
        },
        Swing {
            index: 4,
            price: 97.0,
            is_high: false,
        },
    ];
    assert_eq!(trend(&up), Trend::Bullish);
    let down: Vec<Swing> = up
        .iter()
        .map(|s| Swing {
            price: 200.0 - s.price,
            ..*s
        })
        .collect();
    assert_eq!(trend(&down), Trend::Bearish);
    assert_eq!(trend(&up[..2]), Trend::Ranging);
}

#[test]
fn a_textbook_bullish_fvg_is_found_until_it_is_filled() {
    // Candle 1 high 101, candle 3 low 103: the gap is [101, 103].
    let mut rows = vec![
        (100.0, 101.0, 99.5, 100.8),
        (101.0, 106.0, 100.9, 105.5),
        (105.5, 107.0, 103.0, 106.5),
    ];
    let gaps = fair_value_gaps(&candles(&rows));
    assert_eq!(
        gaps,
        [Zone {
            direction: Direction::Long,
            index: 2,
            bottom: 101.0,
            top: 103.0
        }]
    );
    rows.push((106.5, 106.8, 102.0, 102.5)); // trades into the gap, not through it
    assert_eq!(fair_value_gaps(&candles(&rows)).len(), 1);
    rows.push((102.5, 102.6, 100.5, 101.0)); // through it: filled
    let left = fair_value_gaps(&candles(&rows));
    assert!(
        left.iter().all(|z| z.direction == Direction::Short),
        "{left:?}"
    );
}

#[test]
fn a_bearish_fvg_mirrors_the_bullish_one() {
    let rows = [
        (100.0, 100.5, 99.0, 99.2),
        (99.0, 99.1, 94.0, 94.5),
        (94.5, 97.0, 93.5, 94.0),
    ];
    let gaps = fair_value_gaps(&candles(&rows));
    assert_eq!(
        gaps,
        [Zone {
            direction: Direction::Short,
            index: 2,
            bottom: 97.0,
            top: 99.0
        }]
    );
}

/// Range, a swing high at 102 (index 3), a down candle, then a displacement that closes above it.
fn break_fixture() -> Vec<Candle> {
    candles(&[
        flat(100.0, 0.5),
        flat(100.5, 0.5),
        flat(101.0, 0.5),
        (101.0, 102.0, 100.8, 101.5),
        flat(100.8, 0.4),
        (100.6, 100.9, 99.8, 100.0), // the last down candle before the move
        (100.0, 101.9, 99.9, 101.8),
        (101.8, 104.5, 101.7, 104.2), // closes above 102: bullish break
        flat(104.3, 0.3),
    ])
}

#[test]
fn a_close_above_the_last_swing_high_is_a_bullish_break_of_structure() {
    let c = break_fixture();
    let s = swings(&c, 2);
    assert!(
        s.contains(&Swing {
            index: 3,
            price: 102.0,
            is_high: true
        }),
        "{s:?}"
    );
    let bos = last_break(&c, &s, 2).unwrap();
    assert_eq!(
        (bos.direction, bos.index, bos.level),
        (Direction::Long, 7, 102.0)
    );
}

#[test]
fn the_order_block_is_the_last_down_candle_before_the_break() {
    let c = break_fixture();
    let bos = last_break(&c, &swings(&c, 2), 2).unwrap();
    let block = order_block(&c, &bos, 10).unwrap();
    assert_eq!((block.index, block.bottom, block.top), (5, 99.8, 100.9));
    // A later close below the block mitigates it.
    let mut rows: Vec<(f64, f64, f64, f64)> =
        c.iter().map(|k| (k.open, k.high, k.low, k.close)).collect();
    rows.push((104.0, 104.1, 99.0, 99.5));
    let c = candles(&rows);
    assert_eq!(order_block(&c, &bos, 10), None);
}

#[test]
fn a_wick_below_a_swing_low_that_closes_back_inside_is_a_sweep() {
    let c = candles(&[
        flat(102.0, 0.5),
        flat(101.0, 0.5),
        (100.5, 100.8, 99.0, 100.2), // swing low 99
        flat(101.0, 0.5),
        flat(101.5, 0.5),
        (101.0, 101.2, 98.4, 100.6), // wick to 98.4, close back above 99
    ]);
    let sweep = last_sweep(&c, &swings(&c, 2), 20).unwrap();
    assert_eq!(
        (sweep.direction, sweep.level, sweep.extreme),
        (Direction::Long, 99.0, 98.4)
    );
}

#[test]
fn below_the_middle_of_the_dealing_range_is_discount() {
    let s = [
        Swing {
            index: 1,
            price: 90.0,
            is_high: false,
        },
        Swing {
            index: 2,
            price: 110.0,
            is_high: true,
        },
    ];
    assert_eq!(
        premium_discount(&s, 95.0),
        Some((Direction::Long, 90.0, 110.0))
    );
    assert_eq!(
        premium_discount(&s, 105.0),
        Some((Direction::Short, 90.0, 110.0))
    );
}

#[test]
fn atr_of_constant_ranges_is_that_range() {
    let c = candles(&vec![flat(100.0, 1.0); 30]);
    assert!((atr(&c, 14).unwrap() - 2.0).abs() < 1e-12);
    assert_eq!(atr(&c[..10], 14), None);
}

/// 1h candles zig-zagging upwards: higher highs and higher lows.
fn bullish_htf() -> Vec<Candle> {
    let mut rows = Vec::new();
    for leg in 0..6 {
        let base = 90.0 + leg as f64 * 2.0;
        for step in [0.0, 1.0, 2.0, 3.0, 4.0, 3.0, 2.0, 1.0] {
            rows.push(flat(base + step, 0.3));
        }
    }
    candles(&rows)
}

/// 5m candles: a range with a swing low at 98, a swing high at 101.2, a displacement that breaks
/// it leaving a gap [101.2, 103], a rally to a swing high at 110, then a retrace into the gap.
fn long_setup_ltf() -> Vec<Candle> {
    let mut rows = vec![
        flat(100.0, 0.4),
        flat(99.5, 0.4),
        flat(99.0, 0.4),
        (98.8, 99.0, 98.0, 98.5), // swing low 98
        flat(99.2, 0.4),
        flat(99.8, 0.4),
        (100.0, 101.2, 99.9, 100.9), // swing high 101.2
        flat(100.6, 0.3),
        (100.5, 100.6, 99.9, 100.1), // last down candle before the displacement
        (100.1, 101.1, 100.0, 101.0),
        (101.0, 106.0, 100.9, 105.8), // displacement: breaks 101.2
        (105.8, 107.5, 103.0, 107.0), // third candle: gap [101.1, 103]
        flat(108.0, 0.5),
        (108.5, 110.0, 108.2, 109.5), // swing high 110
        flat(108.5, 0.5),
        flat(107.0, 0.5),
        (106.5, 106.6, 104.5, 104.8),
        (104.8, 105.0, 103.4, 103.6),
    ];
    rows.push((103.6, 103.7, 102.4, 102.6)); // back inside the gap, in discount
    candles(&rows)
}

#[test]
fn the_ict_strategy_takes_a_long_in_a_bullish_fvg_in_discount() {
    let setup = ict(&long_setup_ltf(), &bullish_htf(), "5m", "1h").expect("a long setup");
    assert_eq!(setup.direction, Direction::Long);
    assert_eq!(setup.entry, 102.6);
    assert!(
        setup.stop_loss < 101.1,
        "stop beyond the zone: {}",
        setup.stop_loss
    );
    assert!(
        setup.entry - setup.stop_loss <= 102.6 * 0.04 + 1e-9,
        "at most 4 %"
    );
    let risk = setup.entry - setup.stop_loss;
    assert!(
        setup.take_profit - setup.entry >= 2.0 * risk - 1e-9,
        "R >= 2"
    );
    assert_eq!(
        setup.take_profit, 110.0,
        "the opposing swing high is beyond 2R"
    );
    assert!(
        setup
            .reasons
            .starts_with("bullish structure 1h; BOS 5m at 101.200"),
        "{}",
        setup.reasons
    );
    assert!(
        setup.reasons.contains("price in FVG 5m [101.100–103.000]"),
        "{}",
        setup.reasons
    );
    assert!(setup.confidence >= 0.6 && setup.confidence <= 1.0);
}

#[test]
fn the_strategy_is_deterministic() {
    let (ltf, htf) = (long_setup_ltf(), bullish_htf());
    let first = ict(&ltf, &htf, "5m", "1h");
    for _ in 0..10 {
        assert_eq!(ict(&ltf, &htf, "5m", "1h"), first);
    }
}

#[test]
fn a_flat_market_gives_no_signal() {
    let flat_candles = candles(&vec![flat(100.0, 0.5); 200]);
    assert_eq!(ict(&flat_candles, &flat_candles, "5m", "1h"), None);
    assert_eq!(ict(&flat_candles, &bullish_htf(), "5m", "1h"), None);
}

#[test]
fn no_long_against_a_bearish_higher_timeframe() {
    let htf: Vec<Candle> = bullish_htf()
        .iter()
        .map(|c| {
            Candle::new(
                c.open_time,
                200.0 - c.open,
                200.0 - c.low,
                200.0 - c.high,
                200.0 - c.close,
                1.0,
            )
            .unwrap()
        })
        .collect();
    assert_eq!(ict(&long_setup_ltf(), &htf, "5m", "1h"), None);
}

#[test]
fn a_short_mirrors_the_long() {
    let mirror = |c: &[Candle]| -> Vec<Candle> {
        c.iter()
            .map(|k| {
                Candle::new(
                    k.open_time,
                    300.0 - k.open,
                    300.0 - k.low,
                    300.0 - k.high,
                    300.0 - k.close,
                    1.0,
                )
                .unwrap()
            })
            .collect()
    };
    let setup = ict(
        &mirror(&long_setup_ltf()),
        &mirror(&bullish_htf()),
        "5m",
        "1h",
    )
    .expect("a short");
    assert_eq!(setup.direction, Direction::Short);
    assert!(setup.stop_loss > setup.entry && setup.take_profit < setup.entry);
    assert!(setup.reasons.starts_with("bearish structure 1h"));
}
