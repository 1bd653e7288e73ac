use chrono::NaiveDate;

use super::*;

fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").expect("time")
}

fn trade(id: i32, pnl: f64) -> ClosedTrade {
    ClosedTrade {
        journal_id: id,
        signal_id: id,
        symbol: "BTCUSDT".into(),
        direction: Direction::Long,
        strategy: "ict".into(),
        timeframe: Some("5m".into()),
        confidence: 0.75,
        exit_reason: ExitReason::TakeProfit,
        outcome: if pnl > 0.0 {
            Outcome::Win
        } else if pnl < 0.0 {
            Outcome::Loss
        } else {
            Outcome::Breakeven
        },
        pnl,
        r_multiple: pnl / 10.0,
        opened_at: at("2026-03-02 13:30:00"),
        closed_at: at("2026-03-02 15:00:00"),
        duration_secs: 5_400,
        tags: " a-plus, ,news ".into(),
    }
}

fn fold(trades: &[ClosedTrade]) -> Rollup {
    trades
        .iter()
        .fold(Rollup::default(), |acc, t| acc.then(&Rollup::of(t)))
}

/// The streaks of a sequence counted the slow way.
fn longest(pnls: &[f64], win: bool) -> i64 {
    let (mut best, mut run) = (0, 0);
    for p in pnls {
        if (win && *p > 0.0) || (!win && *p < 0.0) {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}

#[test]
fn rollups_merge_in_any_grouping_to_the_same_streaks_and_sums() {
    // A fixed, irregular sequence with breakevens breaking both kinds of run.
    let pnls = [
        5.0, 3.0, -2.0, -1.0, -4.0, 0.0, 7.0, 7.0, 7.0, 7.0, -1.0, 2.0, 0.0, -3.0, -3.0, 1.0,
    ];
    let trades: Vec<ClosedTrade> = pnls
        .iter()
        .enumerate()
        .map(|(i, p)| trade(i as i32 + 1, *p))
        .collect();
    let whole = fold(&trades);
    assert_eq!(whole.win_max, longest(&pnls, true));
    assert_eq!(whole.loss_max, longest(&pnls, false));
    assert_eq!((whole.win_max, whole.loss_max), (4, 3));
    assert_eq!((whole.win_first, whole.win_last), (2, 1));
    assert_eq!((whole.loss_first, whole.loss_last), (0, 0));
    assert_eq!(whole.trades, 16);
    assert_eq!((whole.wins, whole.losses), (8, 6));
    // Every split into two parts merges to the whole.
    for cut in 0..=trades.len() {
        let merged = fold(&trades[..cut]).then(&fold(&trades[cut..]));
        assert!(merged.agrees_with(&whole), "cut at {cut}: {merged:?}");
    }
    // So does a split into three.
    for a in 0..=trades.len() {
        for b in a..=trades.len() {
            let merged = fold(&trades[..a])
                .then(&fold(&trades[a..b]))
                .then(&fold(&trades[b..]));
            assert!(merged.agrees_with(&whole), "cuts {a}, {b}");
        }
    }
}

#[test]
fn a_run_of_only_wins_spans_the_merge() {
    let trades: Vec<ClosedTrade> = (1..=5).map(|i| trade(i, 1.0)).collect();
    let r = fold(&trades[..2]).then(&fold(&trades[2..]));
    assert_eq!((r.win_first, r.win_last, r.win_max), (5, 5, 5));
    assert_eq!((r.loss_first, r.loss_last, r.loss_max), (0, 0, 0));
}

#[test]
fn figures_follow_their_formulas() {
    let trades = [
        trade(1, 30.0),
        trade(2, -10.0),
        trade(3, -20.0),
        trade(4, 0.0),
    ];
    let f = Figures::of(&fold(&trades));
    assert_eq!((f.trades, f.wins, f.losses, f.breakevens), (4, 1, 2, 1));
    assert_eq!(f.win_rate, Some(100.0 / 3.0));
    assert_eq!(f.total_pnl, 0.0);
    assert_eq!(f.expectancy, Some(0.0));
    assert_eq!(f.profit_factor, Some(1.0));
    assert_eq!(f.average_win, Some(30.0));
    assert_eq!(f.average_loss, Some(-15.0));
    assert_eq!(f.payoff_ratio, Some(2.0));
    assert_eq!(f.average_hold_secs, Some(5_400.0));
    let none = Figures::of(&Rollup::default());
    assert_eq!(
        (
            none.win_rate,
            none.expectancy,
            none.profit_factor,
            none.payoff_ratio
        ),
        (None, None, None, None)
    );
    // Without a loss there is no profit factor (not infinity).
    assert_eq!(Figures::of(&fold(&[trade(1, 5.0)])).profit_factor, None);
}

#[test]
fn buckets_of_a_trade() {
    let t = trade(1, 5.0);
    assert_eq!(buckets(&t, Dimension::All), [""]);
    assert_eq!(buckets(&t, Dimension::Tag), ["a-plus", "news"]);
    // 2026-03-02 is a Monday.
    assert_eq!(buckets(&t, Dimension::Weekday), ["0"]);
    assert_eq!(buckets(&t, Dimension::Hour), ["13"]);
    assert_eq!(buckets(&t, Dimension::Confidence), ["7"]);
    assert_eq!(buckets(&t, Dimension::RBin), ["1"]);
    assert_eq!(buckets(&t, Dimension::Hold), ["3"]);
    assert_eq!(bucket_label(Dimension::Weekday, "0"), "Monday");
    assert_eq!(bucket_label(Dimension::Confidence, "7"), "0.7–0.8");
    assert_eq!(bucket_label(Dimension::Hold, "3"), "1–4h");
    assert_eq!(bucket_label(Dimension::RBin, "-3"), "-1.5R to -1.0R");
    assert_eq!(bucket_label(Dimension::RBin, "-20"), "<-9.5R");
    assert_eq!(bucket_label(Dimension::RBin, "19"), "≥+9.5R");
    for d in Dimension::ALL {
        assert_eq!(Dimension::parse(d.as_str()), Some(d));
    }
}

#[test]
fn bins_at_their_edges() {
    // (value, bin, why)
    let cases = [
        (0.0, 0, "0 opens [0, 0.5)"),
        (0.4999, 0, "below 0.5"),
        (0.5, 1, "0.5 opens the next bin"),
        (-0.0001, -1, "just below zero is [-0.5, 0)"),
        (-1.0, -2, "-1R opens [-1, -0.5)"),
        (-1.04, -3, "a stop with fees is in [-1.5, -1)"),
        (-250.0, R_BIN_MIN, "far tail folds into the lowest bin"),
        (1e9, R_BIN_MAX, "far tail folds into the highest bin"),
        (f64::NAN, 0, "NaN never panics"),
    ];
    for (value, bin, why) in cases {
        assert_eq!(r_bin(value), bin, "{why}");
    }
    assert_eq!(hold_bin(0), 0);
    assert_eq!(hold_bin(299), 0);
    assert_eq!(hold_bin(300), 1);
    assert_eq!(hold_bin(86_399), 5);
    assert_eq!(hold_bin(86_400), 6);
    assert_eq!(hold_bin(100 * 86_400), 8);
    let below = |x: f64| f64::from_bits(x.to_bits() - 1);
    let cases = [
        (1.0, 9, "1.0 joins 0.9–1.0"),
        (0.6, 6, "an edge opens its bucket"),
        (0.0, 0, "zero"),
        (0.1 + 0.2, 3, "0.30000000000000004 is above 0.3"),
        (
            0.3 * 3.0,
            8,
            "0.8999999999999999 is below 0.9, though × 10 rounds to 9",
        ),
        (below(0.7), 6, "a hair below an edge"),
        (below(0.1), 0, "a hair below the first edge"),
        (f64::NAN, 0, "NaN never panics"),
        (-0.5, 0, "below zero folds into the first bucket"),
        (7.0, 9, "above one folds into the last"),
    ];
    for (value, bucket, why) in cases {
        assert_eq!(confidence_bucket(value), bucket, "{why}");
    }
}

#[test]
fn equity_drawdown_and_ratios_over_calendar_days() {
    let day = |d: u32| NaiveDate::from_ymd_opt(2026, 1, d).expect("day");
    let closes = [(day(2), 2, 100.0), (day(3), 1, -300.0), (day(6), 1, 250.0)];
    let curve = equity_curve(day(1), day(8), 1_000.0, &closes);
    assert_eq!(
        curve.len(),
        8,
        "every calendar day, with or without a close"
    );
    let equity: Vec<f64> = curve.iter().map(|d| d.equity).collect();
    assert_eq!(
        equity,
        [1000.0, 1100.0, 800.0, 800.0, 800.0, 1050.0, 1050.0, 1050.0]
    );
    assert_eq!(curve[2].drawdown, -300.0);
    assert_eq!(curve[1].daily_return, Some(0.1));
    assert_eq!(curve[2].daily_return, Some(-300.0 / 1100.0));
    let dd = max_drawdown(1_000.0, &curve);
    assert_eq!(dd.amount, 300.0);
    assert_eq!(dd.pct, 300.0 / 1100.0 * 100.0);
    assert_eq!((dd.peak, dd.trough), (Some(day(2)), Some(day(3))));
    assert_eq!(dd.recovered, None, "1050 never regains 1100");
    assert_eq!(dd.days, 6, "from the peak to the range's end");

    let returns: Vec<f64> = curve.iter().filter_map(|d| d.daily_return).collect();
    let n = returns.len() as f64;
    let mean = returns.iter().sum::<f64>() / n;
    let sd = (returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let down = (returns.iter().map(|r| r.min(0.0).powi(2)).sum::<f64>() / n).sqrt();
    let (sharpe, sortino) = sharpe_sortino(&curve);
    assert_eq!(sharpe, Some(mean / sd * 365f64.sqrt()));
    assert_eq!(sortino, Some(mean / down * 365f64.sqrt()));

    let flat = equity_curve(day(1), day(3), 1_000.0, &[]);
    assert_eq!(sharpe_sortino(&flat), (None, None));
    assert_eq!(max_drawdown(1_000.0, &flat).amount, 0.0);
}

#[test]
fn a_recovered_drawdown_lasts_until_the_equity_is_back() {
    let day = |d: u32| NaiveDate::from_ymd_opt(2026, 1, d).expect("day");
    let closes = [(day(1), 1, -50.0), (day(3), 1, 20.0), (day(4), 1, 40.0)];
    let curve = equity_curve(day(1), day(5), 100.0, &closes);
    let dd = max_drawdown(100.0, &curve);
    assert_eq!(dd.amount, 50.0);
    assert_eq!(dd.pct, 50.0);
    assert_eq!(
        dd.peak,
        Some(day(1)),
        "the start's balance is the first peak"
    );
    assert_eq!(dd.recovered, Some(day(4)));
    assert_eq!(dd.days, 3);
}

#[test]
fn excursions_in_r() {
    assert_eq!(
        excursion(Direction::Long, 100.0, 95.0, 110.0, 97.5),
        Some((-0.5, 2.0))
    );
    assert_eq!(
        excursion(Direction::Short, 100.0, 105.0, 90.0, 101.0),
        Some((-0.2, 2.0))
    );
    assert_eq!(excursion(Direction::Long, 100.0, 100.0, 110.0, 90.0), None);
    assert_eq!(median(&[]), None);
    assert_eq!(median(&[1.0, 2.0, 9.0]), Some(2.0));
    assert_eq!(median(&[1.0, 2.0, 3.0, 9.0]), Some(2.5));
}

#[test]
fn fine_bins_agree_with_their_ranges() {
    // The median reads a fine bin's trades by its range: every R lies in its bin's range.
    let values = [
        0.0,
        0.29,
        -0.29,
        0.03125,
        -0.03125,
        -1.0,
        -1.04,
        2.999,
        1.0 / 3.0,
        -0.92,
        7.5,
        -9.99,
    ];
    for r in values {
        let (low, high) = r_fine_range(r_fine(r));
        assert!(low.is_none_or(|low| low <= r), "{r} below its bin");
        assert!(high.is_none_or(|high| r < high), "{r} above its bin");
    }
    for r in values {
        assert_eq!(
            r_fine_coarse(r_fine(r)),
            r_bin(r),
            "{r}: its fine bin is in its bin"
        );
    }
    assert_eq!(r_fine(1.0 / 128.0), 1, "an edge opens its bin");
    assert_eq!(r_fine(-0.0001), -1);
    assert_eq!(r_fine(-1e9), r_fine(-10.0), "the low tail folds");
    assert_eq!(r_fine_range(r_fine(-1e9)).0, None);
    assert_eq!(r_fine_range(r_fine(1e9)).1, None);
    assert_eq!(r_fine(f64::NAN), 0, "NaN never panics");
    assert_eq!(Dimension::RFine.column("-130"), "r_fine/-3");
    assert_eq!(
        Dimension::of_column("r_fine/-3", "-130"),
        Some(Dimension::RFine)
    );
    assert_eq!(
        Dimension::of_column("r_fine/-2", "-130"),
        None,
        "a bin under another"
    );
    assert_eq!(
        Dimension::of_column("symbol", "BTCUSDT"),
        Some(Dimension::Symbol)
    );
    assert_eq!(Dimension::of_column("symbol/1", "BTCUSDT"), None);
}

#[test]
fn plus_adds_without_streaks_and_keeps_the_r_range() {
    let trades = [trade(1, 20.0), trade(2, -5.0), trade(3, 10.0)];
    let ordered = fold(&trades);
    let unordered = trades
        .iter()
        .rev()
        .fold(Rollup::default(), |acc, t| acc.plus(&Rollup::of(t)));
    assert_eq!(unordered.trades, 3);
    assert_eq!(unordered.pnl, ordered.pnl);
    assert_eq!((unordered.r_min, unordered.r_max), (-0.5, 2.0));
    assert_eq!((ordered.r_min, ordered.r_max), (-0.5, 2.0));
    assert_eq!((unordered.win_max, unordered.loss_max), (0, 0));
    assert_eq!(ordered.win_max, 1);
    let empty = Rollup::default();
    assert_eq!(
        empty.then(&ordered),
        ordered,
        "nothing before keeps the range"
    );
    assert_eq!(
        ordered.then(&empty),
        ordered,
        "nothing after keeps the range"
    );
}
