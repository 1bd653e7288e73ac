//! `GET /api/analytics` (DESIGN.md §11) on a varied history booked through the real close paths
//! (ticks with and without trade management and time exits, manual closes, tag edits): every
//! figure of every answer — summary, breakdown rows, both histograms, the scatter, the equity
//! curve and the calendar — recomputed from the raw rows by `recompute` and compared, for each
//! filter and after a tag edit through the API; and every bad parameter refused with a 400
//! naming it, writing nothing.

use chrono::Duration;
use diesel::sql_types::{BigInt, Double};
use diesel::{QueryableByName, RunQueryDsl};
use serde_json::{json, Value};
use signaldesk::db::{journal, Conn};

use crate::analytics_history::seed;
use crate::fake_exchange::FakeExchange;
use crate::helpers::{assert_check_passes, TempDb, TestServer, API_TOKEN, INITIAL_BALANCE};
use crate::recompute::{assert_matches, server_today, Filter};

/// The real server on `db` against a fake exchange. Nothing is open, so its ticks book nothing.
pub fn serve(db: &TempDb, exchange: &FakeExchange) -> TestServer {
    TestServer::start(
        db,
        &[
            ("SIGNALDESK_EXCHANGE_URL", exchange.url.as_str()),
            ("SIGNALDESK_SYMBOLS", "BTCUSDT"),
        ],
    )
}

fn text(s: &str) -> Option<String> {
    Some(s.to_owned())
}

/// The seeded history is as varied as it claims: the comparisons below are not vacuous.
fn assert_varied(report: &Value) {
    let keys = |rows: &Value| -> Vec<String> {
        let mut keys: Vec<String> = rows
            .as_array()
            .expect("rows")
            .iter()
            .map(|r| r["key"].as_str().expect("key").to_owned())
            .collect();
        keys.sort();
        keys
    };
    let breakdowns = &report["breakdowns"];
    assert_eq!(
        keys(&breakdowns["exit_reason"]),
        [
            "BREAKEVEN_STOP",
            "END_OF_DAY",
            "MANUAL",
            "MAX_DURATION",
            "STOP_LOSS",
            "TAKE_PROFIT",
            "TRAILING_STOP"
        ]
    );
    assert_eq!(
        keys(&breakdowns["strategy"]),
        ["api", "ict", "test", "webhook"]
    );
    assert_eq!(keys(&breakdowns["direction"]), ["LONG", "SHORT"]);
    assert_eq!(keys(&breakdowns["symbol"]).len(), 5);
    assert_eq!(
        keys(&breakdowns["tag"]),
        ["a+", "breakout", "breakouts", "news"]
    );
    assert_eq!(keys(&breakdowns["weekday"]).len(), 7);
    assert!(keys(&breakdowns["confidence"]).len() >= 6);
    let bins = keys(&report["r_histogram"]);
    assert!(
        bins.contains(&"-20".to_owned()) && bins.contains(&"19".to_owned()),
        "{bins:?}"
    );
    for bin in report["hold_histogram"].as_array().expect("bins") {
        assert!(
            bin["trades"].as_i64() > Some(0),
            "every hold bin is used: {bin}"
        );
    }
    let summary = &report["summary"];
    assert!(
        summary["longest_loss_streak"].as_i64() >= Some(4),
        "{summary}"
    );
    assert!(summary["breakevens"].as_i64() >= Some(1), "{summary}");
    assert!(summary["max_drawdown"].as_f64() > Some(0.0), "{summary}");
    let days = report["calendar"].as_array().expect("calendar");
    assert!(days.iter().any(|d| d["trades"] == 0));
    assert!(days.iter().any(|d| d["trades"].as_i64() >= Some(5)));
}

fn patch_tags(server: &TestServer, entry: i32, tags: Value) {
    let response = server
        .client
        .patch(format!("{}/api/journal/{entry}", server.address))
        .bearer_auth(API_TOKEN)
        .json(&json!({ "tags": tags }))
        .send()
        .expect("PATCH");
    assert_eq!(response.status().as_u16(), 200, "{:?}", response.text());
}

fn every_figure_matches_a_recomputation_from_the_raw_rows(db: TempDb) {
    let mut conn = db.conn();
    let base = seed(&mut conn);
    assert_check_passes(&db);
    let exchange = FakeExchange::start(&[("BTCUSDT", 100.0)]);
    let server = serve(&db, &exchange);
    let today = server_today(&server);
    let d = |n: i64| base + Duration::days(n);
    let mut check =
        |filter: Filter| assert_matches(&server, &mut conn, &filter, today, INITIAL_BALANCE);

    let whole = check(Filter::range(d(-10), today));
    assert_varied(&whole);
    check(Filter::default());
    for (from, to) in [
        (d(3), d(11)),
        (d(11), d(13)),
        // After day 11's partial exit, before the rest closes on day 13: the partial is in the
        // close, not in the starting equity.
        (d(12), d(13)),
        (d(13), today),
        (d(3), d(3)),
        (d(5), d(5)),
        (d(-40), d(-1)),
        (d(60), today + Duration::days(30)),
        (today + Duration::days(1), today + Duration::days(10)),
    ] {
        check(Filter::range(from, to));
    }
    let all = Filter::range(d(-10), today);
    for filter in [
        Filter {
            strategy: text("ict"),
            ..all.clone()
        },
        Filter {
            strategy: text("nope"),
            ..all.clone()
        },
        Filter {
            symbol: text("btcusdt"),
            ..all.clone()
        },
        Filter {
            symbol: text("DOGEUSDT"),
            ..all.clone()
        },
        Filter {
            tag: text("breakout"),
            ..all.clone()
        },
        Filter {
            tag: text("news"),
            ..all.clone()
        },
        Filter {
            tag: text("a+"),
            ..all.clone()
        },
        Filter {
            tag: text("break"),
            ..all.clone()
        },
        Filter {
            direction: text("short"),
            ..all.clone()
        },
        Filter {
            direction: text("Long"),
            strategy: text("api"),
            ..all.clone()
        },
        Filter {
            symbol: text("ETHUSDT"),
            ..Filter::range(d(10), d(20))
        },
        Filter {
            tag: text("breakout"),
            direction: text("LONG"),
            ..Filter::range(d(0), d(50))
        },
        Filter {
            strategy: text("webhook"),
            ..Filter::range(d(3), d(3))
        },
        Filter {
            strategy: text("ict"),
            ..Filter::default()
        },
    ] {
        check(filter);
    }

    // A tag edit through the API moves the trade between the tag buckets at once.
    let entries = journal::all_entries(&mut conn).expect("journal");
    let tagged = entries
        .iter()
        .find(|e| e.tags.contains("news"))
        .expect("a tagged entry");
    patch_tags(&server, entries[4].id, json!(["breakout", "scalp"]));
    patch_tags(&server, tagged.id, json!(""));
    let mut check =
        |filter: Filter| assert_matches(&server, &mut conn, &filter, today, INITIAL_BALANCE);
    for filter in [
        all.clone(),
        Filter {
            tag: text("breakout"),
            ..all.clone()
        },
        Filter {
            tag: text("scalp"),
            ..all.clone()
        },
        Filter {
            tag: text("news"),
            ..all.clone()
        },
        Filter::range(d(3), d(3)),
    ] {
        check(filter);
    }
    server.stop();
    assert_check_passes(&db);
}

#[derive(QueryableByName)]
struct Fingerprint {
    #[diesel(sql_type = BigInt)]
    rows: i64,
    #[diesel(sql_type = Double)]
    sum: f64,
}

/// Row count and a sum over the columns of every table a request could write (not `events`,
/// which the engine's own housekeeping prunes while the server runs).
fn fingerprint(conn: &mut Conn) -> Vec<(String, i64, f64)> {
    [
        (
            "signals",
            "COALESCE(pnl, 0) + current_price + unrealized_pnl + id",
        ),
        (
            "journal_entries",
            "pnl + LENGTH(tags) + LENGTH(COALESCE(notes, ''))",
        ),
        ("trade_exits", "pnl + quantity"),
        (
            "daily_stats",
            "paper_balance + trades_closed + signals_generated",
        ),
        ("analytics_rollups", "pnl + trades + r_sum + hold_secs"),
    ]
    .iter()
    .map(|(table, sum)| {
        let f: Fingerprint = diesel::sql_query(format!(
            "SELECT CAST(COUNT(*) AS BIGINT) AS rows, \
             CAST(COALESCE(SUM({sum}), 0) AS DOUBLE PRECISION) AS sum FROM {table}"
        ))
        .get_result(conn)
        .expect("fingerprint");
        ((*table).to_owned(), f.rows, f.sum)
    })
    .collect()
}

fn bad_parameters_are_refused_naming_the_parameter_and_write_nothing(db: TempDb) {
    let mut conn = db.conn();
    seed(&mut conn);
    let exchange = FakeExchange::start(&[("BTCUSDT", 100.0)]);
    let server = serve(&db, &exchange);
    let today = server_today(&server);
    let before = fingerprint(&mut conn);
    let long = |n: usize| "x".repeat(n);
    let cases: Vec<(String, &str)> = vec![
        ("from=2026-13-01".into(), "from"),
        ("from=2026-02-30".into(), "from"),
        ("from=1969-12-31".into(), "from"),
        ("to=yesterday".into(), "to"),
        ("to=10000-01-01".into(), "to"),
        ("from=2026-01-05&to=2026-01-04".into(), "from"),
        (
            format!("from={}&to={today}", today - Duration::days(3_660)),
            "from",
        ),
        (format!("from={}", today - Duration::days(3_660)), "from"),
        ("from=2026-01-01&from=2026-01-02".into(), "from"),
        ("bogus=1".into(), "bogus"),
        ("From=2026-01-01".into(), "From"),
        ("direction=up".into(), "direction"),
        ("direction=LONGER".into(), "direction"),
        (format!("strategy={}", long(65)), "strategy"),
        (format!("symbol={}", long(33)), "symbol"),
        (format!("tag={}", long(33)), "tag"),
    ];
    for (query, field) in &cases {
        let response = server.get(&format!("/api/analytics?{query}"));
        assert_eq!(response.status().as_u16(), 400, "{query}");
        let body: Value = response.json().expect("a JSON error");
        let object = body.as_object().expect("an object");
        let mut keys: Vec<&String> = object.keys().collect();
        keys.sort();
        assert_eq!(keys, ["error", "field"], "{query}: {body}");
        assert_eq!(body["field"], *field, "{query}: {body}");
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{query}: {body}"
        );
    }
    // The longest range is 3 660 days, both ends counted.
    let longest = format!(
        "/api/analytics?from={}&to={today}",
        today - Duration::days(3_659)
    );
    assert_eq!(server.get(&longest).status().as_u16(), 200);
    assert_eq!(
        fingerprint(&mut conn),
        before,
        "a request wrote to the database"
    );
    server.stop();
    assert_check_passes(&db);
}

crate::on_both_backends!(
    every_figure_matches_a_recomputation_from_the_raw_rows,
    bad_parameters_are_refused_naming_the_parameter_and_write_nothing,
);
