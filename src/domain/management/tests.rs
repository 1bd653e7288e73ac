//! The rules of DESIGN.md §10, case by case, each with its reason.

use chrono::{NaiveDate, NaiveTime};

use super::*;
use crate::domain::trading::Levels;

const SLIP: f64 = 0.0005;

fn rules() -> TradingRules {
    TradingRules::defaults_for(10_000.0)
}

fn t(h: u32, m: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 25)
        .unwrap()
        .and_hms_opt(h, m, 0)
        .unwrap()
}

/// LONG 20 at 100, stop 95 (R = 5 per unit), target 110; SHORT mirrored (stop 105, target 90).
fn trade(direction: Direction) -> ManagedTrade {
    let (stop, target) = match direction {
        Direction::Long => (95.0, 110.0),
        Direction::Short => (105.0, 90.0),
    };
    ManagedTrade {
        direction,
        entry_price: 100.0,
        quantity: 20.0,
        remaining: 20.0,
        initial_stop: stop,
        stop,
        stop_moved_by: None,
        take_profit: target,
        management: Management::default(),
        targets_hit: 0,
        favorable: 100.0,
        adverse: 100.0,
        opened_at: t(9, 0),
    }
}

fn long() -> ManagedTrade {
    trade(Direction::Long)
}

fn short() -> ManagedTrade {
    trade(Direction::Short)
}

fn targets(list: &[(f64, f64)]) -> Vec<PartialTarget> {
    list.iter()
        .map(|&(price, fraction)| PartialTarget { price, fraction })
        .collect()
}

fn with_targets(mut trade: ManagedTrade, list: &[(f64, f64)]) -> ManagedTrade {
    trade.management.take_profits = targets(list);
    trade
}

fn with_breakeven(mut trade: ManagedTrade, at_r: f64) -> ManagedTrade {
    trade.management.breakeven_at_r = Some(at_r);
    trade
}

fn with_trailing(mut trade: ManagedTrade, pct: f64, activate_at_r: f64) -> ManagedTrade {
    trade.management.trailing_stop_pct = Some(pct);
    trade.management.trailing_activate_at_r = activate_at_r;
    trade
}

fn with_stop(mut trade: ManagedTrade, stop: f64, by: Option<StopReason>) -> ManagedTrade {
    trade.stop = stop;
    trade.stop_moved_by = by;
    trade
}

fn range(last: f64, high: f64, low: f64) -> PriceRange {
    PriceRange { last, high, low }
}

type Exits = &'static [(ExitReason, f64, f64)];

struct Case {
    reason: &'static str,
    trade: ManagedTrade,
    range: PriceRange,
    rules: TradingRules,
    now: NaiveDateTime,
    exits: Vec<(ExitReason, f64, f64)>,
    stop: Option<(f64, StopReason)>,
}

fn case(
    reason: &'static str,
    trade: ManagedTrade,
    range: PriceRange,
    exits: Exits,
    stop: Option<(f64, StopReason)>,
) -> Case {
    Case {
        reason,
        trade,
        range,
        rules: rules(),
        now: t(10, 0),
        exits: exits.to_vec(),
        stop,
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(1.0)
}

fn check(c: &Case) {
    let got = step(&c.trade, &c.range, &c.rules, c.now);
    let exits: Vec<(ExitReason, f64, f64)> = got
        .exits
        .iter()
        .map(|f| (f.reason, f.price, f.quantity))
        .collect();
    let same_exits = exits.len() == c.exits.len()
        && exits
            .iter()
            .zip(&c.exits)
            .all(|(g, w)| g.0 == w.0 && close(g.1, w.1) && close(g.2, w.2));
    assert!(
        same_exits,
        "{}: exits {exits:?}, want {:?}",
        c.reason, c.exits
    );
    let exited: f64 = exits.iter().map(|e| e.2).sum();
    assert!(
        close(got.remaining, c.trade.remaining - exited),
        "{}: remaining {} after {exited} of {}",
        c.reason,
        got.remaining,
        c.trade.remaining
    );
    let moved = got.stop_move.map(|m| (m.new_stop, m.reason));
    let same_stop = match (moved, c.stop) {
        (None, None) => true,
        (Some(g), Some(w)) => close(g.0, w.0) && g.1 == w.1,
        _ => false,
    };
    assert!(
        same_stop,
        "{}: stop move {moved:?}, want {:?}",
        c.reason, c.stop
    );
    if let Some(m) = got.stop_move {
        assert!(!got.closes(), "{}: a closed trade moves no stop", c.reason);
        assert_eq!(m.old_stop, c.trade.stop, "{}", c.reason);
        assert!(
            (m.new_stop - m.old_stop) * c.trade.direction.sign() > 0.0,
            "{}: a stop only tightens",
            c.reason
        );
    }
}

#[test]
fn stops_and_targets_fill_as_the_rules_say() {
    use ExitReason::*;
    use StopReason::*;
    let sold = |p: f64| p * (1.0 - SLIP);
    let bought = |p: f64| p * (1.0 + SLIP);
    let cases = vec![
        case(
            "long stop touched by the low: all at the stop, as a market sell",
            long(),
            range(97.0, 99.0, 94.9),
            &[],
            None,
        ),
        case(
            "long target touched by a wick: all at the level, a limit fill",
            long(),
            range(108.0, 110.5, 101.0),
            &[(TakeProfit, 110.0, 20.0)],
            None,
        ),
        case(
            "short target touched by a wick",
            short(),
            range(91.0, 95.0, 89.9),
            &[(TakeProfit, 90.0, 20.0)],
            None,
        ),
        case(
            "short inside its levels: nothing",
            short(),
            range(100.0, 104.0, 91.0),
            &[],
            None,
        ),
        case(
            "long with both levels touched: the stop wins",
            long(),
            range(100.0, 111.0, 94.0),
            &[],
            None,
        ),
        case(
            "short with both levels touched: the stop wins",
            short(),
            range(100.0, 106.0, 89.0),
            &[],
            None,
        ),
        case(
            "one partial target touched: its fraction of the quantity at its level",
            with_targets(long(), &[(105.0, 0.5)]),
            range(104.0, 105.5, 101.0),
            &[(PartialTakeProfit, 105.0, 10.0)],
            None,
        ),
        case(
            "a gap through two partial targets and the final one: each at its own level",
            with_targets(long(), &[(103.0, 0.3), (106.0, 0.3)]),
            range(111.0, 112.0, 101.0),
            &[
                (PartialTakeProfit, 103.0, 6.0),
                (PartialTakeProfit, 106.0, 6.0),
                (TakeProfit, 110.0, 8.0),
            ],
            None,
        ),
        case(
            "short: targets below the entry, in falling price order",
            with_targets(short(), &[(97.0, 0.25), (94.0, 0.25)]),
            range(95.0, 99.0, 93.5),
            &[
                (PartialTakeProfit, 97.0, 5.0),
                (PartialTakeProfit, 94.0, 5.0),
            ],
            None,
        ),
        case(
            "a partial target already filled is not filled again",
            ManagedTrade {
                targets_hit: 1,
                remaining: 10.0,
                ..with_targets(long(), &[(105.0, 0.5)])
            },
            range(106.0, 107.0, 104.0),
            &[],
            None,
        ),
        case(
            "stop and a partial target in one interval: the stop, for all that is left",
            ManagedTrade {
                remaining: 14.0,
                targets_hit: 1,
                ..with_targets(long(), &[(103.0, 0.3), (106.0, 0.3)])
            },
            range(96.0, 107.0, 94.0),
            &[],
            None,
        ),
        case(
            "breakeven at 1R: the stop moves to the entry once the best price is 1R away",
            with_breakeven(long(), 1.0),
            range(103.0, 105.0, 99.0),
            &[],
            Some((100.0, Breakeven)),
        ),
        case(
            "breakeven not reached at 0.98R",
            with_breakeven(long(), 1.0),
            range(103.0, 104.9, 99.0),
            &[],
            None,
        ),
        case(
            "short breakeven",
            with_breakeven(short(), 1.0),
            range(97.0, 101.0, 95.0),
            &[],
            Some((100.0, Breakeven)),
        ),
        case(
            "a stop moved by breakeven exits as BREAKEVEN_STOP",
            with_stop(long(), 100.0, Some(Breakeven)),
            range(100.5, 102.0, 99.8),
            &[],
            None,
        ),
        case(
            "trailing 2 % from the start: the stop follows the best price",
            with_trailing(long(), 2.0, 0.0),
            range(103.0, 104.0, 101.0),
            &[],
            Some((104.0 * 0.98, Trailing)),
        ),
        case(
            "short trailing 2 %",
            with_trailing(short(), 2.0, 0.0),
            range(97.0, 99.0, 96.0),
            &[],
            Some((96.0 * 1.02, Trailing)),
        ),
        case(
            "trailing never loosens the stop",
            with_stop(with_trailing(long(), 2.0, 0.0), 102.0, Some(Trailing)),
            range(102.5, 103.0, 102.1),
            &[],
            None,
        ),
        case(
            "trailing waits for its activation at 1R",
            with_trailing(long(), 2.0, 1.0),
            range(103.0, 104.0, 101.0),
            &[],
            None,
        ),
        case(
            "trailing active past 1R",
            with_trailing(long(), 2.0, 1.0),
            range(105.0, 106.0, 101.0),
            &[],
            Some((106.0 * 0.98, Trailing)),
        ),
        case(
            "breakeven and trailing both apply: the tighter stop wins",
            with_trailing(with_breakeven(long(), 1.0), 2.0, 0.0),
            range(104.0, 105.0, 101.0),
            &[],
            Some((105.0 * 0.98, Trailing)),
        ),
        case(
            "breakeven tighter than a wide trail wins",
            with_trailing(with_breakeven(long(), 1.0), 10.0, 0.0),
            range(104.0, 106.0, 101.0),
            &[],
            Some((100.0, Breakeven)),
        ),
        case(
            "breakeven never loosens a trailing stop beyond the entry",
            with_stop(with_breakeven(long(), 1.0), 102.0, Some(Trailing)),
            range(104.0, 106.0, 103.0),
            &[],
            None,
        ),
        case(
            "a partial target and breakeven in one interval: the exit, then the move",
            with_breakeven(with_targets(long(), &[(105.0, 0.5)]), 1.0),
            range(104.0, 105.0, 101.0),
            &[(PartialTakeProfit, 105.0, 10.0)],
            Some((100.0, Breakeven)),
        ),
        case(
            "a closed trade moves no stop",
            with_trailing(long(), 2.0, 0.0),
            range(110.0, 111.0, 104.0),
            &[(TakeProfit, 110.0, 20.0)],
            None,
        ),
    ];
    // Stop exits: the price depends on the stop's level, direction and gap.
    let mut cases = cases;
    cases[0].exits = vec![(StopLoss, sold(95.0), 20.0)];
    cases[4].exits = vec![(StopLoss, sold(95.0), 20.0)];
    cases[5].exits = vec![(StopLoss, bought(105.0), 20.0)];
    cases[10].exits = vec![(StopLoss, sold(95.0), 14.0)];
    cases[14].exits = vec![(BreakevenStop, sold(100.0), 20.0)];
    cases.extend([
        case(
            "a gap through a long stop fills at the last price, not the level",
            long(),
            range(90.0, 91.0, 89.0),
            &[],
            None,
        ),
        case(
            "a gap through a short stop fills at the last price",
            short(),
            range(112.0, 113.0, 111.0),
            &[],
            None,
        ),
        case(
            "a trailing stop exits as TRAILING_STOP",
            with_stop(long(), 103.0, Some(Trailing)),
            range(104.0, 105.0, 102.9),
            &[],
            None,
        ),
        case(
            "a stop moved by hand exits as STOP_LOSS",
            with_stop(short(), 101.0, Some(StopReason::Manual)),
            range(100.0, 101.5, 99.0),
            &[],
            None,
        ),
        case(
            "a stop moved during an interval applies from the next one: this low is only \
              below the new stop",
            with_breakeven(long(), 1.0),
            range(100.0, 105.0, 99.0),
            &[],
            Some((100.0, Breakeven)),
        ),
    ]);
    let n = cases.len();
    cases[n - 5].exits = vec![(StopLoss, sold(90.0), 20.0)];
    cases[n - 4].exits = vec![(StopLoss, bought(112.0), 20.0)];
    cases[n - 3].exits = vec![(TrailingStop, sold(103.0), 20.0)];
    cases[n - 2].exits = vec![(StopLoss, bought(101.0), 20.0)];
    for c in &cases {
        check(c);
    }
}

#[test]
fn time_exits_close_what_is_left_at_market() {
    use ExitReason::*;
    let mut max_hold = rules();
    max_hold.max_hold_hours = Some(4.0);
    let mut eod = rules();
    eod.eod_close_utc = NaiveTime::from_hms_opt(20, 45, 0);
    let next_morning = t(2, 0) + Duration::days(1);
    let at = |mut c: Case, rules: &TradingRules, now: NaiveDateTime| {
        c.rules = rules.clone();
        c.now = now;
        c
    };
    let sold = |p: f64| p * (1.0 - SLIP);
    let mut cases = vec![
        at(
            case(
                "max_hold_hours reached",
                long(),
                range(100.0, 101.0, 99.0),
                &[],
                None,
            ),
            &max_hold,
            t(13, 0),
        ),
        at(
            case(
                "one minute before max_hold_hours",
                long(),
                range(100.0, 101.0, 99.0),
                &[],
                None,
            ),
            &max_hold,
            t(12, 59),
        ),
        at(
            case(
                "before the close time",
                long(),
                range(100.0, 101.0, 99.0),
                &[],
                None,
            ),
            &eod,
            t(20, 44),
        ),
        at(
            case(
                "at the close time",
                long(),
                range(100.0, 101.0, 99.0),
                &[],
                None,
            ),
            &eod,
            t(20, 45),
        ),
        at(
            case(
                "a close time missed while down closes at the first interval after it",
                long(),
                range(100.0, 101.0, 99.0),
                &[],
                None,
            ),
            &eod,
            next_morning,
        ),
        at(
            case(
                "a trade opened after the missed close waits for the next one",
                ManagedTrade {
                    opened_at: t(21, 0),
                    ..long()
                },
                range(100.0, 101.0, 99.0),
                &[],
                None,
            ),
            &eod,
            next_morning,
        ),
        at(
            case(
                "max_hold_hours missed while down",
                long(),
                range(100.0, 101.0, 99.0),
                &[],
                None,
            ),
            &max_hold,
            next_morning,
        ),
        at(
            case(
                "a partial target, then the time exit for the rest",
                with_targets(long(), &[(101.0, 0.25)]),
                range(100.0, 101.0, 99.0),
                &[],
                None,
            ),
            &max_hold,
            t(13, 0),
        ),
    ];
    cases[0].exits = vec![(MaxDuration, sold(100.0), 20.0)];
    cases[3].exits = vec![(EndOfDay, sold(100.0), 20.0)];
    cases[4].exits = vec![(EndOfDay, sold(100.0), 20.0)];
    cases[6].exits = vec![(MaxDuration, sold(100.0), 20.0)];
    cases[7].exits = vec![
        (PartialTakeProfit, 101.0, 5.0),
        (MaxDuration, sold(100.0), 15.0),
    ];
    for c in &cases {
        check(c);
    }
}

#[test]
fn a_partial_never_exceeds_what_is_left() {
    // A manual close took 15 of 20; the 50 % target (10) can only take the 5 left, and that
    // closes the trade.
    let trade = ManagedTrade {
        remaining: 5.0,
        ..with_targets(long(), &[(105.0, 0.5)])
    };
    let got = step(&trade, &range(105.0, 105.0, 104.0), &rules(), t(10, 0));
    assert_eq!(got.exits.len(), 1);
    assert!(close(got.exits[0].quantity, 5.0));
    assert!(got.closes());
}

#[test]
fn excursions_include_the_interval() {
    let got = step(&long(), &range(102.0, 104.0, 98.0), &rules(), t(10, 0));
    assert_eq!((got.favorable, got.adverse), (104.0, 98.0));
    let got = step(&short(), &range(99.0, 101.0, 97.0), &rules(), t(10, 0));
    assert_eq!((got.favorable, got.adverse), (97.0, 101.0));
}

fn levels(direction: Direction) -> Levels {
    match direction {
        Direction::Long => Levels::new(direction, 100.0, 95.0, 110.0).unwrap(),
        Direction::Short => Levels::new(direction, 100.0, 105.0, 90.0).unwrap(),
    }
}

#[test]
fn a_request_s_settings_are_checked_against_its_levels() {
    let none = ManagementDefaults::default();
    let with = |list: &[(f64, f64)]| ManagementRequest {
        take_profits: Some(targets(list)),
        ..ManagementRequest::default()
    };
    let cases: Vec<(Direction, ManagementRequest, Option<&str>, &str)> = vec![
        (
            Direction::Long,
            with(&[(103.0, 0.3), (106.0, 0.3)]),
            None,
            "two targets in order",
        ),
        (
            Direction::Short,
            with(&[(97.0, 0.3), (94.0, 0.3)]),
            None,
            "short targets falling",
        ),
        (
            Direction::Long,
            with(&[(106.0, 0.3), (103.0, 0.3)]),
            Some("take_profits"),
            "out of order",
        ),
        (
            Direction::Short,
            with(&[(94.0, 0.3), (97.0, 0.3)]),
            Some("take_profits"),
            "short out of order",
        ),
        (
            Direction::Long,
            with(&[(103.0, 0.3), (103.0, 0.3)]),
            Some("take_profits"),
            "two at one price",
        ),
        (
            Direction::Long,
            with(&[(110.0, 0.3)]),
            Some("take_profits"),
            "at take_profit",
        ),
        (
            Direction::Long,
            with(&[(111.0, 0.3)]),
            Some("take_profits"),
            "beyond take_profit",
        ),
        (
            Direction::Long,
            with(&[(100.0, 0.3)]),
            Some("take_profits"),
            "at the entry",
        ),
        (
            Direction::Short,
            with(&[(101.0, 0.3)]),
            Some("take_profits"),
            "short above entry",
        ),
        (
            Direction::Long,
            with(&[(103.0, 0.5), (106.0, 0.5)]),
            Some("take_profits"),
            "fractions summing to 1",
        ),
        (
            Direction::Long,
            with(&[(103.0, 0.0)]),
            Some("take_profits"),
            "a zero fraction",
        ),
        (
            Direction::Long,
            with(&[(103.0, -0.2)]),
            Some("take_profits"),
            "a negative fraction",
        ),
        (
            Direction::Long,
            with(&[
                (101.0, 0.1),
                (102.0, 0.1),
                (103.0, 0.1),
                (104.0, 0.1),
                (105.0, 0.1),
                (106.0, 0.1),
            ]),
            Some("take_profits"),
            "six targets",
        ),
        (
            Direction::Long,
            with(&[
                (101.0, 0.1),
                (102.0, 0.1),
                (103.0, 0.1),
                (104.0, 0.1),
                (105.0, 0.1),
            ]),
            None,
            "five targets",
        ),
        (
            Direction::Long,
            ManagementRequest {
                trailing_stop_pct: Some(Some(0.0)),
                ..ManagementRequest::default()
            },
            Some("trailing_stop_pct"),
            "a zero trail",
        ),
        (
            Direction::Long,
            ManagementRequest {
                trailing_stop_pct: Some(Some(50.0)),
                ..ManagementRequest::default()
            },
            Some("trailing_stop_pct"),
            "a 50 % trail",
        ),
        (
            Direction::Long,
            ManagementRequest {
                trailing_stop_pct: Some(Some(49.9)),
                ..ManagementRequest::default()
            },
            None,
            "a 49.9 % trail",
        ),
        (
            Direction::Long,
            ManagementRequest {
                breakeven_at_r: Some(Some(0.0)),
                ..ManagementRequest::default()
            },
            Some("breakeven_at_r"),
            "breakeven at 0R",
        ),
        (
            Direction::Long,
            ManagementRequest {
                trailing_activate_at_r: Some(-1.0),
                ..ManagementRequest::default()
            },
            Some("trailing_activate_at_r"),
            "a negative activation",
        ),
    ];
    for (direction, request, field, reason) in cases {
        let got = Management::for_levels(&levels(direction), &request, &none);
        assert_eq!(
            got.as_ref().err().map(|e| e.field),
            field,
            "{reason}: {got:?}"
        );
    }
}

#[test]
fn defaults_fit_themselves_to_each_trade_and_a_request_overrides_them() {
    let defaults = ManagementDefaults {
        take_profits: TargetSpec::parse_list("1R:30%,3R:30%").unwrap(),
        breakeven_at_r: Some(1.0),
        trailing_stop_pct: Some(2.0),
        trailing_activate_at_r: 1.5,
    };
    let got = Management::for_levels(
        &levels(Direction::Long),
        &ManagementRequest::default(),
        &defaults,
    )
    .unwrap();
    // 1R = 105; 3R = 115 lies beyond the target 110 and is left out.
    assert_eq!(got.take_profits, targets(&[(105.0, 0.3)]));
    assert_eq!(got.breakeven_at_r, Some(1.0));
    assert_eq!(got.trailing_stop_pct, Some(2.0));
    assert_eq!(got.trailing_activate_at_r, 1.5);
    let short = Management::for_levels(
        &levels(Direction::Short),
        &ManagementRequest::default(),
        &defaults,
    )
    .unwrap();
    assert_eq!(short.take_profits, targets(&[(95.0, 0.3)]));
    let off = ManagementRequest {
        take_profits: Some(Vec::new()),
        breakeven_at_r: Some(None),
        trailing_stop_pct: Some(None),
        trailing_activate_at_r: None,
    };
    let got = Management::for_levels(&levels(Direction::Long), &off, &defaults).unwrap();
    assert_eq!(
        (
            got.take_profits.len(),
            got.breakeven_at_r,
            got.trailing_stop_pct
        ),
        (0, None, None)
    );
}

#[test]
fn target_lists_parse_as_the_configuration_writes_them() {
    assert_eq!(
        TargetSpec::parse_list("1R:50%").unwrap(),
        vec![TargetSpec {
            r: 1.0,
            fraction: 0.5
        }]
    );
    assert_eq!(
        TargetSpec::parse_list(" 1r:0.3, 2.5R:30% ").unwrap(),
        vec![
            TargetSpec {
                r: 1.0,
                fraction: 0.3
            },
            TargetSpec {
                r: 2.5,
                fraction: 0.3
            }
        ]
    );
    assert_eq!(TargetSpec::parse_list("off").unwrap(), vec![]);
    assert_eq!(TargetSpec::parse_list("").unwrap(), vec![]);
    for bad in [
        "1:50%",
        "1R",
        "0R:50%",
        "1R:100%",
        "1R:0%",
        "2R:30%,1R:30%",
        "1R:60%,2R:40%",
        "1R:10%,2R:10%,3R:10%,4R:10%,5R:10%,6R:10%",
        "xR:5%",
    ] {
        assert!(TargetSpec::parse_list(bad).is_err(), "{bad}");
    }
}

#[test]
fn a_stop_moves_by_hand_only_in_the_trade_s_favour_and_short_of_the_price() {
    let cases = [
        (long(), 97.0, 103.0, true, "up from 95, below the price"),
        (long(), 94.0, 103.0, false, "down: looser"),
        (long(), 95.0, 103.0, false, "where it is"),
        (long(), 103.0, 103.0, false, "at the price"),
        (long(), 101.0, 100.5, false, "above the price"),
        (short(), 102.0, 99.0, true, "down from 105, above the price"),
        (short(), 106.0, 99.0, false, "up: looser"),
        (short(), 98.0, 99.0, false, "below the price"),
        (long(), f64::NAN, 103.0, false, "not a number"),
    ];
    for (trade, stop, last, ok, reason) in cases {
        let got = manual_stop(&trade, stop, last);
        assert_eq!(got.is_ok(), ok, "{reason}: {got:?}");
        if let Ok(m) = got {
            assert_eq!(
                (m.old_stop, m.new_stop, m.reason),
                (trade.stop, stop, StopReason::Manual)
            );
        } else {
            assert_eq!(got.unwrap_err().field, "stop_loss", "{reason}");
        }
    }
}

#[test]
fn a_manual_part_is_a_fraction_of_what_is_left() {
    assert_eq!(manual_part(10.0, 20.0, None), Ok(10.0));
    assert_eq!(manual_part(10.0, 20.0, Some(0.5)), Ok(5.0));
    assert_eq!(manual_part(10.0, 20.0, Some(1.0)), Ok(10.0));
    for bad in [0.0, -0.5, 1.5, f64::NAN] {
        assert_eq!(
            manual_part(10.0, 20.0, Some(bad)).unwrap_err().field,
            "fraction",
            "{bad}"
        );
    }
}
