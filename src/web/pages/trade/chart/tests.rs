use super::*;
use crate::domain::{Direction, ExitReason, StopReason};

pub(crate) fn time(minute: u32) -> NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 25)
        .unwrap()
        .and_hms_opt(9, minute, 0)
        .unwrap()
}

pub(crate) fn row(entry: f64, stop: f64, target: f64, current: f64) -> SignalRow {
    let at = time(0);
    SignalRow {
        id: 1,
        symbol: "BTCUSDT".to_owned(),
        direction: Direction::Long,
        status: SignalStatus::Active,
        entry_price: entry,
        stop_loss: stop,
        take_profit: target,
        quantity: 1.0,
        risk_amount: 1.0,
        confidence: 1.0,
        strategy: "api".to_owned(),
        timeframe: None,
        external_id: None,
        reasons: String::new(),
        notes: None,
        current_price: current,
        unrealized_pnl: 0.0,
        max_favorable_price: current.max(entry),
        max_adverse_price: current.min(entry),
        exit_price: None,
        exit_reason: None,
        pnl: None,
        fees: 0.0,
        created_at: at,
        closed_at: None,
        updated_at: at,
        initial_stop_loss: stop,
        remaining_quantity: 1.0,
        realized_pnl: 0.0,
        take_profits: "[]".to_owned(),
        breakeven_at_r: None,
        trailing_stop_pct: None,
        trailing_activate_at_r: 0.0,
        targets_hit: 0,
        stop_moved_by: None,
        entry_fee: 0.0,
    }
}

pub(crate) fn exit(
    at: NaiveDateTime,
    reason: ExitReason,
    price: f64,
    quantity: f64,
) -> TradeExitRow {
    TradeExitRow {
        id: 1,
        signal_id: 1,
        reason,
        price,
        quantity,
        fee: 0.0,
        pnl: (price - 100.0) * quantity,
        balance_after: 10_000.0,
        created_at: at,
    }
}

pub(crate) fn moved(
    at: NaiveDateTime,
    old_stop: f64,
    new_stop: f64,
    reason: StopReason,
) -> StopMoveRow {
    StopMoveRow {
        id: 1,
        signal_id: 1,
        old_stop,
        new_stop,
        reason,
        created_at: at,
    }
}

/// The long of tests/api/management.rs: 20 at 100, stop 95, target 110, 30 % at 103 and at
/// 106; breakeven at 09:02, both targets filled (09:01, 09:03), the trail at 09:03, last priced
/// at 09:04.
pub(crate) fn scaled_out() -> (SignalRow, Vec<TradeExitRow>, Vec<StopMoveRow>) {
    let mut s = row(100.0, 104.86, 110.0, 105.0);
    s.initial_stop_loss = 95.0;
    s.quantity = 20.0;
    s.remaining_quantity = 8.0;
    s.take_profits = r#"[{"price":103.0,"fraction":0.3},{"price":106.0,"fraction":0.3}]"#.into();
    s.targets_hit = 2;
    s.stop_moved_by = Some(StopReason::Trailing);
    s.max_favorable_price = 107.0;
    s.max_adverse_price = 100.0;
    s.updated_at = time(4);
    let exits = vec![
        exit(time(1), ExitReason::PartialTakeProfit, 103.0, 6.0),
        exit(time(3), ExitReason::PartialTakeProfit, 106.0, 6.0),
    ];
    let moves = vec![
        moved(time(2), 95.0, 100.0, StopReason::Breakeven),
        moved(time(3), 100.0, 104.86, StopReason::Trailing),
    ];
    (s, exits, moves)
}

fn parse_points(points: &str) -> Vec<(f64, f64)> {
    points
        .split(' ')
        .map(|pair| {
            let (x, y) = pair.split_once(',').unwrap();
            (x.parse().unwrap(), y.parse().unwrap())
        })
        .collect()
}

fn coordinates(chart: &TradeChart) -> Vec<f64> {
    let mut all: Vec<f64> = chart.levels.iter().flat_map(|l| [l.y, l.label_y]).collect();
    for marker in chart
        .exits
        .iter()
        .chain(&chart.stop_moves)
        .chain(&chart.end)
    {
        all.extend([marker.x, marker.y]);
    }
    all.extend([
        chart.end_label_x,
        chart.end_label_y,
        chart.band_top,
        chart.band_height,
    ]);
    for (x, y) in parse_points(&chart.path)
        .into_iter()
        .chain(parse_points(&chart.stop_path))
    {
        all.extend([x, y]);
    }
    all
}

fn level_y(chart: &TradeChart, label: &str) -> f64 {
    chart
        .levels
        .iter()
        .find(|l| l.label == label)
        .unwrap_or_else(|| panic!("no level {label}"))
        .y
}

fn near(a: (f64, f64), b: (f64, f64)) -> bool {
    // The path strings carry one decimal.
    (a.0 - b.0).abs() <= 0.05 && (a.1 - b.1).abs() <= 0.05
}

#[test]
fn the_chart_stays_inside_its_box_for_any_stored_row() {
    let ordinary = || row(100.0, 95.0, 110.0, 102.0);
    let mut closed_before_opened = ordinary();
    closed_before_opened.status = SignalStatus::Closed;
    closed_before_opened.exit_price = Some(f64::NAN);
    closed_before_opened.closed_at = Some(time(0) - chrono::Duration::days(400));
    let mut bad_targets = ordinary();
    bad_targets.take_profits =
        r#"[{"price":1e308,"fraction":0.5},{"price":-1e308,"fraction":2}]"#.into();
    bad_targets.targets_hit = -3;
    let far = chrono::NaiveDate::from_ymd_opt(9999, 12, 31)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    let hostile_exits = vec![
        exit(
            time(0) - chrono::Duration::days(1),
            ExitReason::Manual,
            f64::NAN,
            1.0,
        ),
        exit(far, ExitReason::StopLoss, f64::INFINITY, f64::NAN),
        exit(time(1), ExitReason::TakeProfit, -f64::MAX, 1.0),
    ];
    let hostile_moves = vec![
        moved(time(0), f64::NEG_INFINITY, f64::MAX, StopReason::Manual),
        moved(far, 5e-324, f64::NAN, StopReason::Trailing),
    ];
    let (scaled, scaled_exits, scaled_moves) = scaled_out();
    let cases = [
        (ordinary(), vec![], vec![], "an ordinary trade"),
        (
            row(100.0, 5e-324, 1.7e308, 100.0),
            vec![],
            vec![],
            "levels from before the bounds",
        ),
        (
            row(100.0, -f64::MAX, f64::MAX, 100.0),
            vec![],
            vec![],
            "the extremes of a double",
        ),
        (
            row(100.0, 95.0, f64::INFINITY, 100.0),
            vec![],
            vec![],
            "an infinite target",
        ),
        (
            row(100.0, f64::NEG_INFINITY, 110.0, f64::NAN),
            vec![],
            vec![],
            "no finite stop or price",
        ),
        (
            row(f64::NAN, f64::NAN, f64::NAN, f64::NAN),
            vec![],
            vec![],
            "nothing finite at all",
        ),
        (row(0.0, 0.0, 0.0, 0.0), vec![], vec![], "all zero"),
        (
            row(0.0024, 0.0023, 0.0026, 0.002496),
            vec![],
            vec![],
            "a small coin",
        ),
        (scaled, scaled_exits, scaled_moves, "a trade scaled out"),
        (
            ordinary(),
            hostile_exits,
            hostile_moves,
            "exits and moves out of range",
        ),
        (
            closed_before_opened,
            vec![],
            vec![],
            "closed before it opened",
        ),
        (bad_targets, vec![], vec![], "partial targets out of range"),
    ];
    for (signal, exits, moves, reason) in cases {
        let chart = TradeChart::new(&signal, &exits, &moves);
        for value in coordinates(&chart) {
            assert!(
                value.is_finite() && (0.0..=TradeChart::WIDTH).contains(&value),
                "{reason}: {value} in {:?}",
                coordinates(&chart)
            );
        }
        for level in &chart.levels {
            assert!(level.y <= TradeChart::HEIGHT, "{reason}: {}", level.y);
            assert!(
                level.label_y <= TradeChart::HEIGHT,
                "{reason}: {}",
                level.label_y
            );
        }
        for marker in chart.exits.iter().chain(&chart.stop_moves) {
            assert!(marker.y <= TradeChart::HEIGHT, "{reason}: {}", marker.y);
            assert!(
                (TradeChart::LEFT..=TradeChart::RIGHT).contains(&marker.x),
                "{reason}: a marker outside the time axis at {}",
                marker.x
            );
        }
        assert_eq!(
            chart.exits.len(),
            exits.len(),
            "{reason}: one marker per exit"
        );
        assert_eq!(
            chart.stop_moves.len(),
            moves.len(),
            "{reason}: one per move"
        );
    }
}

#[test]
fn levels_keep_their_order_on_the_chart() {
    let chart = TradeChart::new(&row(100.0, 95.0, 110.0, 102.0), &[], &[]);
    let y = |label: &str| level_y(&chart, label);
    assert!(y("target") < y("entry") && y("entry") < y("stop"));
    assert!(
        y("target") > 0.0 && y("stop") < TradeChart::HEIGHT,
        "padding"
    );
    assert!(
        chart.levels.iter().all(|l| l.label != "initial stop"),
        "no second stop line while the stop never moved"
    );
}

#[test]
fn partial_targets_are_levels_between_the_entry_and_the_target() {
    let (s, exits, moves) = scaled_out();
    let chart = TradeChart::new(&s, &exits, &moves);
    let y = |label: &str| level_y(&chart, label);
    assert!(
        y("target") < y("TP2 30%"),
        "the second below the final target"
    );
    assert!(y("TP2 30%") < y("TP1 30%"), "in price order");
    assert!(y("TP1 30%") < y("entry"), "above the entry of a long");
    // The trail (104.86) is above the entry, the initial stop below it.
    assert!(y("TP2 30%") < y("stop") && y("stop") < y("TP1 30%"));
    assert!(y("entry") < y("initial stop"));
    let tp1 = chart.levels.iter().find(|l| l.label == "TP1 30%").unwrap();
    assert_eq!(
        (tp1.price.as_str(), tp1.class),
        ("103.00", "up partial filled")
    );
    let mut open = s.clone();
    open.targets_hit = 1;
    let chart = TradeChart::new(&open, &exits, &moves);
    let tp2 = chart.levels.iter().find(|l| l.label == "TP2 30%").unwrap();
    assert_eq!(tp2.class, "up partial", "not filled yet");
}

#[test]
fn each_exit_is_marked_at_its_price_and_time() {
    let (s, exits, moves) = scaled_out();
    let chart = TradeChart::new(&s, &exits, &moves);
    // Opened 09:00, last priced 09:04: 09:01 is a quarter of the time axis, 09:03 three.
    let width = TradeChart::RIGHT - TradeChart::LEFT;
    let at = |part: f64| TradeChart::LEFT + part * width;
    assert_eq!(chart.exits.len(), 2);
    assert_eq!(
        (chart.exits[0].x, chart.exits[0].y),
        (at(0.25), level_y(&chart, "TP1 30%"))
    );
    assert_eq!(
        (chart.exits[1].x, chart.exits[1].y),
        (at(0.75), level_y(&chart, "TP2 30%"))
    );
    assert_eq!(
        chart.exits[0].title,
        "exit 1: PARTIAL_TAKE_PROFIT 6 at 103.00, pnl +18.00, 2026-11-25 09:01:00"
    );
    assert_eq!(chart.exits[0].class, "up");
    // The path: entry, each exit, the current price now.
    let path = parse_points(&chart.path);
    let end = chart
        .end
        .as_ref()
        .expect("an open trade marks its price now");
    let expected = [
        (TradeChart::LEFT, level_y(&chart, "entry")),
        (chart.exits[0].x, chart.exits[0].y),
        (chart.exits[1].x, chart.exits[1].y),
        (TradeChart::RIGHT, end.y),
    ];
    assert_eq!(path.len(), expected.len(), "{}", chart.path);
    for (got, want) in path.iter().zip(expected) {
        assert!(near(*got, want), "{got:?} != {want:?} in {}", chart.path);
    }
    assert_eq!(chart.end_label, "now 105.00");
}

#[test]
fn the_stop_line_steps_from_the_initial_stop_through_each_move() {
    let (s, exits, moves) = scaled_out();
    let chart = TradeChart::new(&s, &exits, &moves);
    let width = TradeChart::RIGHT - TradeChart::LEFT;
    let at = |part: f64| TradeChart::LEFT + part * width;
    let (initial, breakeven, trail) = (
        level_y(&chart, "initial stop"),
        level_y(&chart, "entry"),
        level_y(&chart, "stop"),
    );
    let expected = [
        (TradeChart::LEFT, initial),
        (at(0.5), initial),
        (at(0.5), breakeven),
        (at(0.75), breakeven),
        (at(0.75), trail),
        (TradeChart::RIGHT, trail),
    ];
    let line = parse_points(&chart.stop_path);
    assert_eq!(line.len(), expected.len(), "{}", chart.stop_path);
    for (got, want) in line.iter().zip(expected) {
        assert!(
            near(*got, want),
            "{got:?} != {want:?} in {}",
            chart.stop_path
        );
    }
    assert_eq!(chart.stop_moves.len(), 2);
    assert_eq!(
        (chart.stop_moves[1].x, chart.stop_moves[1].y),
        (at(0.75), trail)
    );
    assert_eq!(
        chart.stop_moves[0].title,
        "stop 95.00 → 100.00 (BREAKEVEN), 2026-11-25 09:02:00"
    );
}

#[test]
fn a_closed_trade_ends_at_its_last_exit() {
    let (mut s, mut exits, moves) = scaled_out();
    s.status = SignalStatus::Closed;
    s.remaining_quantity = 0.0;
    s.closed_at = Some(time(5));
    s.exit_price = Some(104.5);
    exits.push(exit(time(5), ExitReason::TrailingStop, 104.8, 8.0));
    let chart = TradeChart::new(&s, &exits, &moves);
    assert!(chart.end.is_none(), "the last exit is the end");
    let path = parse_points(&chart.path);
    assert_eq!(path.len(), 4, "entry and three exits: {}", chart.path);
    let last = chart.exits.last().unwrap();
    assert!(near(path[3], (last.x, last.y)));
    assert_eq!(last.x, TradeChart::RIGHT, "closed at the last exit");
    assert_eq!(chart.end_label, "average exit 104.50");
    let line = parse_points(&chart.stop_path);
    assert_eq!(
        line.last().unwrap().0,
        TradeChart::RIGHT,
        "the stop ends at the close"
    );

    // A trade stored without exit rows still shows its exit.
    let mut legacy = row(100.0, 95.0, 110.0, 110.0);
    legacy.status = SignalStatus::Closed;
    legacy.exit_price = Some(110.0);
    legacy.closed_at = Some(time(30));
    let chart = TradeChart::new(&legacy, &[], &[]);
    assert_eq!(chart.end.as_ref().unwrap().title, "exit 110.00");
    assert_eq!(chart.end_label, "exit 110.00");
}

#[test]
fn labels_never_overlap_even_when_levels_do() {
    let (mut s, exits, moves) = scaled_out();
    // After breakeven the stop is the entry's line; five targets a cent apart.
    s.stop_loss = 100.0;
    s.take_profits = (1..=5)
        .map(|i| {
            format!(
                r#"{{"price":{},"fraction":0.1}}"#,
                103.0 + f64::from(i) * 0.01
            )
        })
        .collect::<Vec<_>>()
        .join(",");
    s.take_profits = format!("[{}]", s.take_profits);
    let chart = TradeChart::new(&s, &exits, &moves);
    assert_eq!(
        chart.levels.len(),
        9,
        "target, five partials, entry, two stops"
    );
    let mut baselines: Vec<f64> = chart.levels.iter().map(|l| l.label_y).collect();
    baselines.sort_by(f64::total_cmp);
    for pair in baselines.windows(2) {
        assert!(
            pair[1] - pair[0] >= TradeChart::LABEL_GAP - 1e-9,
            "{baselines:?}"
        );
    }
    assert!(baselines[0] >= 12.0 && baselines[8] <= TradeChart::HEIGHT);
}
