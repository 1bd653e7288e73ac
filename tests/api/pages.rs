//! The HTML pages over HTTP: figures equal the database's, user text is escaped, and every write
//! from the browser needs a session from /login and the form's CSRF token.

use serde_json::json;
use signaldesk::db::journal;
use signaldesk::db::signals::CloseRequest;
use signaldesk::domain::ExitReason;

use crate::fake_exchange::FakeExchange;
use crate::helpers::{close_trade, SignalBuilder, TempDb, TestServer, API_TOKEN, FEE_RATE};

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

crate::on_both_backends!(
    pages_show_the_databases_figures,
    user_text_is_escaped_on_every_page,
    missing_pages_are_friendly_404s,
    browser_writes_need_a_session_and_its_csrf_token,
);
