//! The analytics rollups as derived data (DESIGN.md §11): kept by every close and tag edit,
//! built by the migration over existing trades, checked by `signaldesk check` and recomputed
//! by `signaldesk rebuild`.

use diesel::prelude::*;
use signaldesk::db::{self, analytics, journal};
use signaldesk::domain::analytics::{Dimension, Rollup};
use signaldesk::domain::ExitReason;

use crate::helpers::{
    at, close_trade, day, run_cli, tick_once, SignalBuilder, TempDb, INITIAL_BALANCE,
};
use signaldesk::db::signals::CloseRequest;

/// A few days of trades: tick closes at target and stop, manual closes, on two symbols.
fn history(conn: &mut db::Conn) {
    for day in 1..=4 {
        let open = at(&format!("2026-11-{:02} 09:00:00", day + 10));
        SignalBuilder::long("BTCUSDT").insert(conn, open);
        SignalBuilder::short("ETHUSDT").insert(conn, open);
        let later = open + chrono::Duration::hours(day);
        // BTC wins on even days, loses on odd ones; ETH the other way round.
        let (btc, eth) = if day % 2 == 0 {
            ((110.0, 111.0, 99.0), (106.0, 106.0, 100.0))
        } else {
            ((94.0, 101.0, 94.0), (89.0, 100.0, 89.0))
        };
        tick_once(conn, "BTCUSDT", btc, later);
        tick_once(conn, "ETHUSDT", eth, later);
    }
    let open = at("2026-11-16 09:00:00");
    let manual = SignalBuilder::long("SOLUSDT").insert(conn, open);
    close_trade(
        conn,
        manual.signal_id(),
        &CloseRequest {
            exit_price: 100.0,
            exit_reason: ExitReason::Manual,
            fee_rate: 0.001,
            closed_at: open + chrono::Duration::minutes(3),
        },
    )
    .unwrap();
}

fn stored(conn: &mut db::Conn) -> std::collections::BTreeMap<analytics::Key, Rollup> {
    analytics::stored(conn).unwrap()
}

fn assert_same(
    a: &std::collections::BTreeMap<analytics::Key, Rollup>,
    b: &std::collections::BTreeMap<analytics::Key, Rollup>,
) {
    assert_eq!(a.len(), b.len(), "{a:#?}\n{b:#?}");
    for ((key, x), (other, y)) in a.iter().zip(b) {
        assert_eq!(key, other);
        assert!(x.agrees_with(y), "{key:?}: {x:?} vs {y:?}");
    }
}

/// The unfiltered report of the closes of `from..=to`, read on 2026-12-31.
fn unfiltered(
    conn: &mut db::Conn,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> signaldesk::domain::analytics::Report {
    let query = analytics::AnalyticsQuery {
        from,
        to,
        strategy: None,
        symbol: None,
        direction: None,
        tag: None,
        days: None,
    };
    analytics::read_report(conn, &query, INITIAL_BALANCE, day("2026-12-31")).unwrap()
}

fn closes_keep_the_rollups_equal_to_a_recomputation(db: TempDb) {
    let mut conn = db.conn();
    history(&mut conn);
    let kept = stored(&mut conn);
    let recomputed = analytics::recompute(&mut conn, |_, _| {}).unwrap().rollups;
    assert_same(&kept, &recomputed);
    // Nine closes: 4 BTC, 4 ETH, 1 SOL; the All rows of the days sum to them, and so does the
    // month's.
    let all = |span: analytics::Span| -> i64 {
        kept.iter()
            .filter(|((s, _, d, _), _)| *s == span && *d == Dimension::All)
            .map(|(_, r)| r.trades)
            .sum()
    };
    assert_eq!(all(analytics::Span::Day), 9);
    assert_eq!(all(analytics::Span::Month), 9);
    assert!(analytics::verify(&mut conn).unwrap().is_empty());
    crate::helpers::assert_check_passes(&db);

    // A tag edit moves the trade into its tag buckets, in the edit's transaction.
    let entry = journal::all_entries(&mut conn).unwrap().remove(0);
    journal::update_notes(
        &mut conn,
        entry.id,
        None,
        "breakout,a+",
        at("2026-11-20 10:00:00"),
    )
    .unwrap();
    let tagged: Vec<(analytics::Span, String)> = stored(&mut conn)
        .keys()
        .filter(|(_, _, d, _)| *d == Dimension::Tag)
        .map(|(s, _, _, b)| (*s, b.clone()))
        .collect();
    let (day, month) = (analytics::Span::Day, analytics::Span::Month);
    assert_eq!(
        tagged,
        [
            (day, "a+".to_owned()),
            (day, "breakout".to_owned()),
            (month, "a+".to_owned()),
            (month, "breakout".to_owned())
        ]
    );
    crate::helpers::assert_check_passes(&db);
    journal::update_notes(&mut conn, entry.id, None, "", at("2026-11-20 10:01:00")).unwrap();
    assert!(!stored(&mut conn)
        .keys()
        .any(|(_, _, d, _)| *d == Dimension::Tag));
    crate::helpers::assert_check_passes(&db);
}

fn check_names_a_wrong_rollup_and_rebuild_repairs_it(db: TempDb) {
    let mut conn = db.conn();
    history(&mut conn);
    let before = stored(&mut conn);
    diesel::sql_query(
        "UPDATE analytics_rollups SET pnl = pnl + 1 WHERE dimension = 'symbol' AND bucket = 'ETHUSDT'",
    )
    .execute(&mut conn)
    .unwrap();
    diesel::sql_query("DELETE FROM analytics_rollups WHERE dimension = 'hour'")
        .execute(&mut conn)
        .unwrap();
    let (code, out, err) = run_cli(&db, &["check"], &[]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("FAIL  analytics rollups = recomputation from the closed trades"),
        "{out}"
    );
    assert!(
        out.contains("signaldesk rebuild"),
        "the message says how to repair: {out}"
    );

    let (code, out, err) = run_cli(&db, &["rebuild"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("from 9 closed trades"), "{out}");
    assert_same(&stored(&mut conn), &before);
    crate::helpers::assert_check_passes(&db);
}

fn the_migration_builds_the_rollups_of_existing_trades(db: TempDb) {
    let mut conn = db.conn();
    history(&mut conn);
    let before = stored(&mut conn);
    assert!(!before.is_empty());
    crate::helpers::revert_to_before(&mut conn, "20261205000002");
    db::run_migrations(&mut conn).unwrap();
    assert!(!analytics::needs_rebuild(&mut conn).unwrap());
    assert_same(&stored(&mut conn), &before);
    crate::helpers::assert_check_passes(&db);
}

/// `diesel migration run` leaves the table marked unbuilt; check says so, and the next start
/// (any embedded migration run) builds it.
fn an_unbuilt_table_is_reported_then_built_at_start(db: TempDb) {
    let mut conn = db.conn();
    history(&mut conn);
    diesel::sql_query("DELETE FROM analytics_rollups")
        .execute(&mut conn)
        .unwrap();
    diesel::sql_query("UPDATE derived_tables SET rebuilt_at = NULL")
        .execute(&mut conn)
        .unwrap();
    let (code, out, _) = run_cli(&db, &["check"], &[]);
    assert_eq!(code, 1);
    assert!(out.contains("never built"), "{out}");
    let (code, out, err) = run_cli(&db, &["migrate"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    crate::helpers::assert_check_passes(&db);
}

/// A trade closes at its quote's time and the trades of a tick are booked one after the other,
/// so journal ids are not always in closing order: the scatter still shows every trade of the
/// range, not only those booked between the range's first and last close.
fn the_scatter_holds_every_trade_booked_out_of_closing_order(db: TempDb) {
    let mut conn = db.conn();
    let open = at("2026-11-10 09:00:00");
    let eth = SignalBuilder::long("ETHUSDT").insert(&mut conn, open);
    let btc = SignalBuilder::long("BTCUSDT").insert(&mut conn, open);
    let sol = SignalBuilder::long("SOLUSDT").insert(&mut conn, open);
    // Booked ETH (closed 11:00), BTC (09:30), SOL (10:00): SOL's id lies outside the ids of
    // the first and the last close.
    tick_once(
        &mut conn,
        "ETHUSDT",
        (110.5, 110.5, 100.0),
        at("2026-11-10 11:00:00"),
    );
    tick_once(
        &mut conn,
        "BTCUSDT",
        (110.5, 110.5, 100.0),
        at("2026-11-10 09:30:00"),
    );
    tick_once(
        &mut conn,
        "SOLUSDT",
        (110.5, 110.5, 100.0),
        at("2026-11-10 10:00:00"),
    );
    let report = unfiltered(&mut conn, day("2026-11-10"), day("2026-11-10"));
    assert_eq!(report.scatter.trades, 3);
    let mut shown: Vec<i32> = report.scatter.points.iter().map(|p| p.signal_id).collect();
    shown.sort_unstable();
    assert_eq!(shown, [eth.id, btc.id, sol.id]);
}

/// The exact median R from the rollups, however the middle trades lie: in a fine bin whose trades
/// share one R (read from the rollups alone), in one whose trades differ (that bin's trades read
/// in R order), the two middles of an even count in different bins, a range of whole months
/// and one with days at its ends — each against the journal's R values sorted.
fn the_median_is_exact_wherever_the_middle_trades_lie(db: TempDb) {
    let mut conn = db.conn();
    let mut book = |day: &str, exits: &[f64]| {
        for (i, exit) in exits.iter().enumerate() {
            let open = at(&format!("2026-11-{day} {:02}:00:00", 8 + i));
            let trade = SignalBuilder::long("BTCUSDT").insert(&mut conn, open);
            close_trade(
                &mut conn,
                trade.signal_id(),
                &CloseRequest {
                    exit_price: *exit,
                    exit_reason: ExitReason::Manual,
                    fee_rate: 0.001,
                    closed_at: open + chrono::Duration::minutes(30),
                },
            )
            .unwrap();
        }
    };
    // Three equal wins; four wins a fraction of a point apart (one fine bin, four R values);
    // two equal losses.
    book("03", &[104.0, 104.0, 104.0]);
    book("04", &[101.004, 101.001, 101.003, 101.002]);
    book("05", &[97.0, 97.0]);
    let entries = journal::all_entries(&mut conn).unwrap();
    let mut fine: Vec<i64> = entries
        .iter()
        .filter(|e| e.closed_at.date() == day("2026-11-04"))
        .map(|e| signaldesk::domain::analytics::r_fine(e.r_multiple))
        .collect();
    fine.dedup();
    assert_eq!(fine.len(), 1, "the four wins share a fine bin");
    for (from, to) in [
        ("2026-11-03", "2026-11-03"),
        ("2026-11-04", "2026-11-04"),
        ("2026-11-03", "2026-11-05"),
        ("2026-11-04", "2026-11-05"),
        ("2026-11-03", "2026-11-04"),
        ("2026-11-01", "2026-11-30"),
        ("2026-10-15", "2026-12-10"),
        ("2026-11-06", "2026-11-30"),
    ] {
        let (from, to) = (day(from), day(to));
        let mut rs: Vec<f64> = entries
            .iter()
            .filter(|e| (from..=to).contains(&e.closed_at.date()))
            .map(|e| e.r_multiple)
            .collect();
        rs.sort_by(f64::total_cmp);
        let expected = match rs.len() {
            0 => None,
            n if n % 2 == 1 => Some(rs[n / 2]),
            n => Some((rs[n / 2 - 1] + rs[n / 2]) / 2.0),
        };
        let report = unfiltered(&mut conn, from, to);
        assert_eq!(report.summary.median_r, expected, "{from}..={to}");
    }
}

crate::on_both_backends!(
    closes_keep_the_rollups_equal_to_a_recomputation,
    the_scatter_holds_every_trade_booked_out_of_closing_order,
    check_names_a_wrong_rollup_and_rebuild_repairs_it,
    the_migration_builds_the_rollups_of_existing_trades,
    an_unbuilt_table_is_reported_then_built_at_start,
    the_median_is_exact_wherever_the_middle_trades_lie,
);
