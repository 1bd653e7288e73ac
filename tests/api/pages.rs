//! The HTML pages over HTTP: figures equal the database's, user text is escaped, every write
//! from the browser needs a session from /login and the form's CSRF token, and a managed
//! trade's exits and stop moves show on its page, the dashboard and the journal.

use chrono::{Duration, NaiveDateTime, Timelike};
use serde_json::json;
use signaldesk::db::journal;
use signaldesk::db::models::SignalRow;
use signaldesk::db::signals::{get_signal, CloseRequest};
use signaldesk::db::Conn;
use signaldesk::domain::management::Management;
use signaldesk::domain::{ExitReason, SignalStatus, StopReason};

use crate::fake_exchange::FakeExchange;
use crate::helpers::{
    close_trade, targets, SignalBuilder, TempDb, TestServer, API_TOKEN, FEE_RATE,
};

fn no_redirects() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A server with one open trade (id 2) and one closed (id 1, journal entry 1) today.
fn with_trades(db: TempDb) -> (TempDb, FakeExchange, TestServer) {
    let mut conn = db.conn();
    let now = signaldesk::clock::now_utc();
    let closed = SignalBuilder::long("BTCUSDT")
        .notes("<script>alert('signal')</script>")
        .insert(&mut conn, now);
    let request = CloseRequest {
        exit_price: 110.0,
        exit_reason: ExitReason::TakeProfit,
        fee_rate: FEE_RATE,
        closed_at: now,
    };
    close_trade(&mut conn, closed.signal_id(), &request).unwrap();
    SignalBuilder::short("ETHUSDT").insert(&mut conn, now);
    let exchange = FakeExchange::start(&[("ETHUSDT", 100.0)]);
    let server = TestServer::start(
        &db,
        &[
            ("SIGNALDESK_EXCHANGE_URL", &exchange.url),
            ("SIGNALDESK_SYMBOLS", "ETHUSDT,BTCUSDT"),
        ],
    );
    (db, exchange, server)
}

/// Log in through the form; returns the session cookie header value.
fn log_in(server: &TestServer) -> String {
    let response = no_redirects()
        .post(format!("{}/login", server.address))
        .form(&[("token", API_TOKEN), ("next", "/journal")])
        .send()
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/journal");
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    cookie.split(';').next().unwrap().to_owned()
}

fn page(server: &TestServer, path: &str, cookie: Option<&str>) -> (u16, String) {
    let mut request = server.client.get(format!("{}{path}", server.address));
    if let Some(cookie) = cookie {
        request = request.header("Cookie", cookie);
    }
    let response = request.send().unwrap();
    (response.status().as_u16(), response.text().unwrap())
}

fn csrf_of(html: &str) -> String {
    let start = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    html[start..start + 64].to_owned()
}

fn pages_show_the_databases_figures(db: TempDb) {
    let (_db, _exchange, server) = with_trades(db);
    let stats = server.get_json("/api/stats");
    let (status, dashboard) = page(&server, "/", None);
    assert_eq!(status, 200);
    let balance = stats["balance"].as_f64().unwrap();
    let shown = format!("{:.2}", balance);
    let grouped = format!(
        "{},{}",
        &shown[..shown.len() - 6],
        &shown[shown.len() - 6..]
    );
    assert!(
        dashboard.contains(&grouped),
        "balance {grouped} not on the dashboard"
    );
    for text in [
        "Open trades",
        "ETHUSDT",
        "Closed today",
        "TAKE_PROFIT",
        "Today&#39;s journal",
        "London",
        "<svg",
    ] {
        assert!(
            dashboard.contains(text) || dashboard.contains(&text.replace("&#39;", "'")),
            "dashboard lacks {text}"
        );
    }
    let (status, trade) = page(&server, "/trades/1", None);
    assert_eq!(status, 200);
    for text in ["Trade 1 · BTCUSDT", "target 110.00", "exit 110.00", "WIN"] {
        assert!(trade.contains(text), "trade page lacks {text}");
    }
    let (status, history) = page(&server, "/history", None);
    assert_eq!(status, 200);
    assert!(
        history.contains("BTCUSDT") && history.contains("100.0%"),
        "per-symbol results"
    );
    let (status, journal_page) = page(&server, "/journal?outcome=WIN", None);
    assert_eq!(status, 200);
    assert!(journal_page.contains("/trades/1"));
    assert!(!page(&server, "/journal?outcome=LOSS", None)
        .1
        .contains("/trades/1"));
}

fn user_text_is_escaped_on_every_page(db: TempDb) {
    let (_db, _exchange, server) = with_trades(db);
    let response = server
        .client
        .patch(format!("{}/api/journal/1", server.address))
        .bearer_auth(API_TOKEN)
        .json(&json!({"notes": "<script>alert('note')</script>", "tags": ["<b>bold</b>"]}))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    for path in ["/", "/trades/1", "/journal"] {
        let (_, html) = page(&server, path, None);
        assert!(
            !html.contains("<script>alert"),
            "{path} renders a script tag"
        );
        assert!(!html.contains("<b>bold"), "{path} renders a tag");
    }
    let (_, trade) = page(&server, "/trades/1", None);
    assert!(
        trade.contains("&#60;script&#62;alert(&#39;note&#39;)"),
        "escaped note shown"
    );
}

fn missing_pages_are_friendly_404s(db: TempDb) {
    let (_db, _exchange, server) = with_trades(db);
    for path in ["/nope", "/trades/999", "/trades/abc"] {
        let (status, html) = page(&server, path, None);
        assert_eq!(status, 404, "{path}");
        assert!(html.contains("Back to the dashboard"), "{path}");
    }
    let (status, html) = page(&server, "/journal?outcome=maybe", None);
    assert_eq!(status, 400);
    assert!(html.contains("outcome"));
}

fn browser_writes_need_a_session_and_its_csrf_token(db: TempDb) {
    let (db, _exchange, server) = with_trades(db);
    let client = no_redirects();
    let post = |path: &str, cookie: Option<&str>, form: &[(&str, &str)]| {
        let mut request = client.post(format!("{}{path}", server.address)).form(form);
        if let Some(cookie) = cookie {
            request = request.header("Cookie", cookie);
        }
        request.send().unwrap().status().as_u16()
    };
    let wrong = client
        .post(format!("{}/login", server.address))
        .form(&[("token", "guess")])
        .send()
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().get("set-cookie").is_none());

    let before = journal::get_entry(&mut db.conn(), 1).unwrap();
    let form = [
        ("csrf", "0".repeat(64)),
        ("notes", "n".to_owned()),
        ("tags", String::new()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(post("/journal/1", None, &form), 403, "no session");
    let cookie = log_in(&server);
    assert_eq!(post("/journal/1", Some(&cookie), &form), 403, "wrong csrf");
    assert_eq!(
        journal::get_entry(&mut db.conn(), 1).unwrap(),
        before,
        "nothing written"
    );

    let (_, html) = page(&server, "/trades/1", Some(&cookie));
    let csrf = csrf_of(&html);
    let saved = post(
        "/journal/1",
        Some(&cookie),
        &[
            ("csrf", &csrf),
            ("notes", "Held to target"),
            ("tags", "plan, a+"),
            ("next", "https://evil.example/"),
        ],
    );
    assert_eq!(saved, 303);
    let entry = journal::get_entry(&mut db.conn(), 1).unwrap();
    assert_eq!(
        (entry.notes.as_deref(), entry.tags.as_str()),
        (Some("Held to target"), "plan,a+")
    );

    server.wait_ticks(1); // a fresh ETHUSDT price for the manual close
    assert_eq!(post("/trades/2/close", None, &[("csrf", &csrf)]), 403);
    assert_eq!(
        post("/trades/2/close", Some(&cookie), &[("csrf", &csrf)]),
        303
    );
    let closed =
        signaldesk::db::signals::get_signal(&mut db.conn(), signaldesk::db::models::SignalId(2))
            .unwrap();
    assert_eq!(closed.exit_reason, Some(ExitReason::Manual));
    assert_eq!(post("/logout", Some(&cookie), &[("csrf", &csrf)]), 303);
}

fn tick(conn: &mut Conn, symbol: &str, prices: (f64, f64, f64), when: NaiveDateTime) {
    crate::helpers::tick_once(conn, symbol, prices, when);
}

/// Ten minutes ago, to the second.
pub(crate) fn ten_minutes_ago() -> NaiveDateTime {
    let now = signaldesk::clock::now_utc() - Duration::minutes(10);
    now.with_nanosecond(0).unwrap()
}

/// A long of 20 at 100 (stop 95, target 110, 30 % at 103 and at 106, breakeven at 1R) opened at
/// `opened` and followed through the engine: the first target a minute later, breakeven the
/// next, the second target the next. Still open: 8 left, stop at 100. Computed by hand (fees
/// 0.1 % a fill, the entry fee of 2.00 shared pro rata): the exits book +16.78 (fee 1.22) and
/// +34.76 (fee 1.24).
pub(crate) fn scaled_out_long(conn: &mut Conn, symbol: &str, opened: NaiveDateTime) -> SignalRow {
    let trade = SignalBuilder::long(symbol)
        .levels(100.0, 95.0, 110.0)
        .quantity(20.0)
        .management(Management {
            take_profits: targets(&[(103.0, 0.3), (106.0, 0.3)]),
            breakeven_at_r: Some(1.0),
            trailing_stop_pct: None,
            trailing_activate_at_r: 0.0,
        })
        .insert(conn, opened);
    let minute = |n| opened + Duration::minutes(n);
    tick(conn, symbol, (103.5, 104.0, 101.0), minute(1));
    tick(conn, symbol, (105.0, 105.5, 103.0), minute(2));
    tick(conn, symbol, (107.0, 107.0, 105.5), minute(3));
    let row = get_signal(conn, trade.signal_id()).unwrap();
    assert_eq!(
        (
            row.status,
            row.stop_loss,
            row.stop_moved_by,
            row.targets_hit
        ),
        (SignalStatus::Active, 100.0, Some(StopReason::Breakeven), 2),
        "the fixture's trade"
    );
    row
}

/// A long of 20 at 100 with a quarter at 103 and a quarter at 106, followed through the engine
/// to its final target: three exits, closed.
pub(crate) fn scaled_out_to_target(
    conn: &mut Conn,
    symbol: &str,
    opened: NaiveDateTime,
) -> SignalRow {
    let trade = SignalBuilder::long(symbol)
        .levels(100.0, 95.0, 110.0)
        .quantity(20.0)
        .management(Management {
            take_profits: targets(&[(103.0, 0.25), (106.0, 0.25)]),
            ..Management::default()
        })
        .insert(conn, opened);
    let minute = |n| opened + Duration::minutes(n);
    tick(conn, symbol, (103.5, 104.0, 101.0), minute(1));
    tick(conn, symbol, (106.5, 107.0, 104.0), minute(2));
    tick(conn, symbol, (110.5, 111.0, 106.0), minute(3));
    let row = get_signal(conn, trade.signal_id()).unwrap();
    assert_eq!(
        (row.status, row.exit_reason),
        (SignalStatus::Closed, Some(ExitReason::TakeProfit)),
        "the fixture's trade"
    );
    row
}

/// The text of each cell (`<td>`/`<th>`, tags stripped) of the first row that starts with
/// `row_start` (e.g. `<tr id="exit-1">`).
fn cells(html: &str, row_start: &str) -> Vec<String> {
    let start = html
        .find(row_start)
        .unwrap_or_else(|| panic!("no row {row_start}"));
    let row = &html[start..start + html[start..].find("</tr>").expect("a closed row")];
    row.split("<td")
        .skip(1)
        .map(|cell| {
            let cell = &cell[cell.find('>').unwrap() + 1..];
            let cell = &cell[..cell.find("</td>").unwrap_or(cell.len())];
            let mut text = String::new();
            let mut in_tag = false;
            for c in cell.chars() {
                match c {
                    '<' => in_tag = true,
                    '>' => in_tag = false,
                    c if !in_tag => text.push(c),
                    _ => {}
                }
            }
            text.split_whitespace().collect::<Vec<_>>().join(" ")
        })
        .collect()
}

fn stamp(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// A server over three trades: 1 scaled out twice with its stop at breakeven (open, SOLUSDT),
/// 2 closed at its target after two partial exits (ADAUSDT), 3 a plain open long (SOLUSDT).
fn with_managed_trades(db: TempDb) -> (TempDb, FakeExchange, TestServer, NaiveDateTime) {
    let mut conn = db.conn();
    let opened = ten_minutes_ago();
    scaled_out_long(&mut conn, "SOLUSDT", opened);
    scaled_out_to_target(&mut conn, "ADAUSDT", opened + Duration::minutes(4));
    SignalBuilder::long("SOLUSDT").insert(&mut conn, opened + Duration::minutes(8));
    // 105 moves nothing: the stop is 100 (95 for trade 3), the next target 110.
    let exchange = FakeExchange::start(&[("SOLUSDT", 105.0)]);
    let server = TestServer::start(
        &db,
        &[
            ("SIGNALDESK_EXCHANGE_URL", &exchange.url),
            ("SIGNALDESK_SYMBOLS", "SOLUSDT"),
        ],
    );
    (db, exchange, server, opened)
}

fn a_trade_page_lists_every_exit_and_stop_move_and_charts_them(db: TempDb) {
    let (_db, _exchange, server, opened) = with_managed_trades(db);
    let minute = |n| stamp(opened + Duration::minutes(n));
    let (status, html) = page(&server, "/trades/1", None);
    assert_eq!(status, 200);

    // Each exit as booked, computed by hand (see scaled_out_long).
    assert_eq!(
        cells(&html, "<tr id=\"exit-1\">"),
        [
            "1",
            &minute(1),
            "PARTIAL_TAKE_PROFIT",
            "103.00",
            "6",
            "1.22",
            "+16.78",
            "10,016.78"
        ]
    );
    assert_eq!(
        cells(&html, "<tr id=\"exit-2\">"),
        [
            "2",
            &minute(3),
            "PARTIAL_TAKE_PROFIT",
            "106.00",
            "6",
            "1.24",
            "+34.76",
            "10,051.55"
        ]
    );
    assert!(!html.contains("<tr id=\"exit-3\">"), "two exits only");
    assert_eq!(
        cells(&html, "<tr class=\"total\">"),
        ["12", "2.45", "+51.55", ""]
    );
    // The stop move, and what is left of the trade.
    assert!(!html.contains("<tr id=\"stop-move-2\">"), "one move only");
    assert_eq!(
        cells(&html, "<tr id=\"stop-move-1\">"),
        [minute(2).as_str(), "95.00 → 100.00", "BREAKEVEN"]
    );
    for (fact, shown) in [
        ("stop", "100.00 <span class=\"badge mark\">BE</span>"),
        ("initial_stop", "95.00"),
        ("remaining", "8 / 20"),
        ("realized", "+51.55"),
        (
            "breakeven",
            "at 1R the stop moves to the entry 100.00 (done)",
        ),
        ("trailing", "off"),
    ] {
        assert!(
            html.contains(&format!("data-fact=\"{fact}\">{shown}</dd>")),
            "{fact} is not {shown}"
        );
    }
    assert_eq!(
        cells(&html, "<tr id=\"target-1\">"),
        ["TP1", "103.00", "30%", "6", "filled"]
    );
    assert_eq!(
        cells(&html, "<tr id=\"target-2\">"),
        ["TP2", "106.00", "30%", "6", "filled"]
    );

    // The chart: a marker per exit naming it, the move on the stop line, the partial targets.
    assert_eq!(html.matches("class=\"exit-marker ").count(), 2);
    for title in [
        format!(
            "exit 1: PARTIAL_TAKE_PROFIT 6 at 103.00, pnl +16.78, {}",
            minute(1)
        ),
        format!(
            "exit 2: PARTIAL_TAKE_PROFIT 6 at 106.00, pnl +34.76, {}",
            minute(3)
        ),
        format!("stop 95.00 → 100.00 (BREAKEVEN), {}", minute(2)),
    ] {
        assert!(
            html.contains(&format!("<title>{title}</title>")),
            "the chart lacks {title}"
        );
    }
    assert_eq!(html.matches("class=\"stop-move\"").count(), 1);
    assert!(html.contains("class=\"stopline\""), "the stop's step line");
    for label in [
        "TP1 30% 103.00",
        "TP2 30% 106.00",
        "initial stop 95.00",
        "stop 100.00",
    ] {
        assert!(
            html.contains(&format!(">{label}</text>")),
            "no level {label}"
        );
    }

    // The closed trade: three exits, the average exit, the journal's count.
    let (_, closed) = page(&server, "/trades/2", None);
    assert_eq!(closed.matches("class=\"exit-marker ").count(), 3);
    assert_eq!(
        cells(&closed, "<tr id=\"exit-3\">")[2..5],
        ["TAKE_PROFIT", "110.00", "10"]
    );
    assert!(
        closed.contains(">average exit 107.25</text>"),
        "(103×5 + 106×5 + 110×10) / 20"
    );
    assert!(
        closed.contains("· 3 exits ·"),
        "the journal line counts the exits"
    );
    // A trade without management says so.
    let (_, plain) = page(&server, "/trades/3", None);
    assert!(plain.contains("No partial targets"));
    assert!(plain.contains("the stop has not moved"));
    assert!(plain.contains("No exit yet."));
    assert!(
        plain.contains("data-fact=\"stop\">95.00</dd>"),
        "no mark on an unmoved stop"
    );
}

fn the_dashboard_and_the_journal_show_what_the_exits_did(db: TempDb) {
    let (db, _exchange, server, _) = with_managed_trades(db);
    let (status, dashboard) = page(&server, "/", None);
    assert_eq!(status, 200);
    let header = &dashboard[dashboard.find("<h2>Open trades").unwrap()..];
    let header = &header[..header.find("</thead>").unwrap()];
    let columns: Vec<&str> = header
        .split("<th>")
        .skip(1)
        .map(|th| &th[..th.find("</th>").unwrap()])
        .collect();
    assert_eq!(
        columns[4..10],
        ["Stop", "Target", "Price", "Size left", "PnL", "Realized"]
    );
    let row = cells(&dashboard, "<tr data-trade=\"1\">");
    assert_eq!(
        (row[4].as_str(), row[7].as_str(), row[9].as_str()),
        ("100.00 BE", "8 / 20", "+51.55"),
        "stop (moved to breakeven), size left, realized: {row:?}"
    );
    let plain = cells(&dashboard, "<tr data-trade=\"3\">");
    assert_eq!(
        (plain[4].as_str(), plain[7].as_str(), plain[9].as_str()),
        ("95.00", "1 / 1", "0.00"),
        "an unmanaged trade: {plain:?}"
    );

    let entry = journal::for_signal(&mut db.conn(), 2).unwrap().unwrap();
    assert_eq!(entry.exit_count, 3);
    let (status, journal_page) = page(&server, "/journal", None);
    assert_eq!(status, 200);
    assert!(journal_page.contains("<th>Exits</th>"));
    let row = &journal_page[journal_page
        .find(&format!("<tr id=\"entry-{}\">", entry.id))
        .expect("the entry")..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("<td class=\"num exits\">3</td>"), "{row}");
}

crate::on_both_backends!(
    a_trade_page_lists_every_exit_and_stop_move_and_charts_them,
    the_dashboard_and_the_journal_show_what_the_exits_did,
    pages_show_the_databases_figures,
    user_text_is_escaped_on_every_page,
    missing_pages_are_friendly_404s,
    browser_writes_need_a_session_and_its_csrf_token,
);
