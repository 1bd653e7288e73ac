//! DESIGN.md §13 from outside: the real server refuses what an attacker would try (short tokens,
//! open redirects, guessing, replayed sessions, foreign Host names, slow bodies, too many event
//! streams) and every response carries the security headers.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::Duration;

use diesel::prelude::*;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use signaldesk::db::journal;
use signaldesk::db::schema::{secrets, sessions};
use signaldesk::db::signals::CloseRequest;
use signaldesk::domain::ExitReason;

use crate::fake_exchange::FakeExchange;
use crate::helpers::{
    close_trade, run_cli, wait_until, SignalBuilder, TempDb, TestServer, API_TOKEN, FEE_RATE,
};

/// The real server on the simulated feed: these tests never need an exchange.
fn start(db: &TempDb, env: &[(&str, &str)]) -> TestServer {
    let mut env = env.to_vec();
    env.push(("SIGNALDESK_FEED", "simulated"));
    TestServer::start(&db, &env)
}

fn tokens_shorter_than_16_characters_stop_the_start_naming_the_key(db: TempDb) {
    for key in ["SIGNALDESK_API_TOKEN", "SIGNALDESK_WEBHOOK_TOKEN"] {
        let (code, _, err) = run_cli(&db, &["serve"], &[(key, "2c")]);
        assert_eq!(code, 2, "{key}: {err}");
        assert!(err.contains(key), "{key}: {err}");
        assert!(err.contains("at least 16 characters"), "{key}: {err}");
        assert!(!err.contains("\"2c\""), "the token is not shown: {err}");
    }
}

fn no_redirects() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap()
}

/// The hidden `next` of the login page.
fn next_field(html: &str) -> String {
    let start = html.find("name=\"next\" value=\"").expect("a next field") + 19;
    let len = html[start..].find('"').unwrap();
    html[start..start + len].to_owned()
}

fn login_follows_only_same_site_paths(db: TempDb) {
    let server = start(&db, &[]);
    let client = no_redirects();
    let long = format!("/{}", "a".repeat(5_000));
    let cases: &[(&str, &str)] = &[
        ("/\t/evil.com", "/"),
        ("/\n/evil.com", "/"),
        ("/\r\nSet-Cookie: x=1", "/"),
        ("//evil.com", "/"),
        ("/\\evil.com", "/"),
        ("https://evil.com/", "/"),
        ("/caf\u{e9}", "/"),
        (&long, "/"),
        (
            "/journal?symbol=BTCUSDT&x=%25zz",
            "/journal?symbol=BTCUSDT&x=%25zz",
        ),
    ];
    for (next, expected) in cases {
        let response = client
            .post(format!("{}/login", server.address))
            .form(&[("token", API_TOKEN), ("next", next)])
            .send()
            .unwrap();
        assert_eq!(response.status(), 303, "{next:?}");
        assert_eq!(response.headers()["location"], *expected, "{next:?}");
    }
    // The page's hidden field carries the same decision, so the form round-trips it.
    for (query, expected) in [
        ("next=%2F%09%2Fevil.com", "/"),
        ("next=%2F%0A%2Fevil.com", "/"),
        ("next=%FF%FE", "/"),
        (
            "next=/history%3Ffrom%3D2026-01-01",
            "/history?from=2026-01-01",
        ),
    ] {
        let response = client
            .get(format!("{}/login?{query}", server.address))
            .send()
            .unwrap();
        assert_eq!(response.status(), 200, "{query}");
        assert_eq!(next_field(&response.text().unwrap()), expected, "{query}");
    }
}

/// `host:port` of a server's `http://` address.
fn socket_of(server: &TestServer) -> String {
    server.address.trim_start_matches("http://").to_owned()
}

/// Send raw bytes on a new connection and read the answer until the server closes it.
fn raw(server: &TestServer, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(socket_of(server)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

fn status_of(answer: &str) -> u16 {
    answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {answer:?}"))
}

const SECURITY_HEADERS: &[(&str, &str)] = &[
    (
        "content-security-policy",
        "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("x-frame-options", "DENY"),
];

fn every_response_carries_the_security_headers(db: TempDb) {
    let server = start(&db, &[]);
    let client = no_redirects();
    let url = |path: &str| format!("{}{path}", server.address);
    let requests = [
        ("page", client.get(url("/"))),
        ("login page", client.get(url("/login"))),
        ("json", client.get(url("/api/stats"))),
        ("metrics", client.get(url("/metrics"))),
        ("openapi", client.get(url("/openapi.json"))),
        ("static css", client.get(url("/static/style.css"))),
        ("static js", client.get(url("/static/app.js"))),
        ("missing static", client.get(url("/static/none.css"))),
        ("page 404", client.get(url("/no-such-page"))),
        ("api 404", client.get(url("/api/nope"))),
        ("api 405", client.delete(url("/api/stats"))),
        ("401", client.post(url("/api/signals")).body("{}")),
        ("400", client.get(url("/api/signals?limit=x"))),
        (
            "foreign host",
            client
                .get(url("/api/data"))
                .header("Host", "attacker.example"),
        ),
        ("event stream", client.get(url("/api/events"))),
    ];
    for (what, request) in requests {
        let response = request.send().unwrap();
        for (name, value) in SECURITY_HEADERS {
            assert_eq!(
                response.headers().get(*name).map(|v| v.to_str().unwrap()),
                Some(*value),
                "{what} ({}): {name}",
                response.status()
            );
        }
    }
}

fn foreign_host_names_are_refused(db: TempDb) {
    let server = start(&db, &[("SIGNALDESK_ALLOWED_HOSTS", "desk.example.org")]);
    let port = socket_of(&server).rsplit(':').next().unwrap().to_owned();
    let get = |host: Option<&str>, version: &str| {
        let host = host.map_or(String::new(), |h| format!("Host: {h}\r\n"));
        raw(
            &server,
            format!("GET /api/data {version}\r\n{host}Connection: close\r\n\r\n").as_bytes(),
        )
    };
    for host in [
        "attacker.example".to_owned(),
        format!("attacker.example:{port}"),
        "localhost.attacker.example".to_owned(),
        "127.0.0.1.nip.io".to_owned(),
        "exa mple".to_owned(),
    ] {
        let answer = get(Some(&host), "HTTP/1.1");
        assert_eq!(status_of(&answer), 400, "{host}: {answer}");
        assert!(answer.contains("x-frame-options"), "{host}: {answer}");
        let body = &answer[answer.find("\r\n\r\n").unwrap() + 4..];
        let json: serde_json::Value = serde_json::from_str(body).expect(body);
        assert!(json["error"].as_str().unwrap().contains("Host"), "{json}");
        assert!(json["field"].is_null());
    }
    for host in [
        format!("127.0.0.1:{port}"),
        "localhost".to_owned(),
        format!("localhost:{port}"),
        "LocalHost:1".to_owned(),
        format!("[::1]:{port}"),
        "desk.example.org".to_owned(),
        format!("desk.example.org:{port}"),
    ] {
        let answer = get(Some(&host), "HTTP/1.1");
        assert_eq!(status_of(&answer), 200, "{host}: {answer}");
    }
    assert_eq!(
        status_of(&get(None, "HTTP/1.1")),
        400,
        "HTTP/1.1 needs Host"
    );
    assert_eq!(
        status_of(&get(None, "HTTP/1.0")),
        200,
        "HTTP/1.0 may omit it"
    );
    let absolute = raw(
        &server,
        b"GET http://attacker.example/api/data HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(
        status_of(&absolute),
        400,
        "an absolute URI names the host too"
    );
    assert!(
        absolute.contains("is not a name of this server"),
        "{absolute}"
    );
    let two = raw(
        &server,
        b"GET /api/data HTTP/1.1\r\nHost: localhost\r\nHost: attacker.example\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status_of(&two), 400, "two Host headers");
}

fn a_body_that_does_not_arrive_in_10_seconds_is_a_408(db: TempDb) {
    let server = start(&db, &[]);
    let answer = raw(
        &server,
        format!(
            "POST /api/signals HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {API_TOKEN}\r\n\
             Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"symbol\""
        )
        .as_bytes(),
    );
    assert_eq!(status_of(&answer), 408, "{answer}");
    assert!(answer.contains("\"field\":null"), "{answer}");
    assert!(answer.contains("within 10 s"), "{answer}");
}

fn event_streams_are_capped_and_slow_clients_do_not_starve_the_server(db: TempDb) {
    let server = start(&db, &[("SIGNALDESK_MAX_EVENT_STREAMS", "3")]);
    let events = || {
        server
            .client
            .get(format!("{}/api/events", server.address))
            .send()
            .unwrap()
    };
    let mut open: Vec<_> = (0..3).map(|_| events()).collect();
    assert!(open.iter().all(|r| r.status() == 200));
    let refused: Vec<_> = (0..3).map(|_| events()).collect();
    for response in refused {
        assert_eq!(response.status(), 503);
        let body: serde_json::Value = response.json().unwrap();
        assert!(body["error"]
            .as_str()
            .unwrap()
            .contains("SIGNALDESK_MAX_EVENT_STREAMS"));
    }
    // Slow clients on top: heads without their bodies, and connections that say nothing.
    let slow: Vec<TcpStream> = (0..100)
        .map(|i| {
            let mut stream = TcpStream::connect(socket_of(&server)).unwrap();
            if i % 2 == 0 {
                stream
                    .write_all(b"POST /api/signals HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n{")
                    .unwrap();
            }
            stream
        })
        .collect();
    let health = server.get("/api/health");
    assert_eq!(health.status(), 200, "health answers beside them");
    assert_eq!(server.get("/api/stats").status(), 200);

    // A stream's slot is free again once its client goes away.
    drop(open.pop());
    let reopened = wait_until("a freed event stream slot", || {
        let response = events();
        (response.status() == 200).then_some(response)
    });
    assert_eq!(reopened.status(), 200);
    drop(slow);
}

fn static_files_come_only_from_the_binary(db: TempDb) {
    // The server's working directory is the temp folder: a static/ folder there is not served.
    let folder = db.dir.path().join("static");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("evil.html"), "<script>alert(1)</script>").unwrap();
    std::fs::write(folder.join("style.css"), "body { display: none }").unwrap();
    let server = start(&db, &[]);
    assert_eq!(server.get("/static/evil.html").status(), 404);
    let css = server.get("/static/style.css");
    assert_eq!(css.status(), 200);
    assert_eq!(
        css.text().unwrap(),
        include_str!("../../static/style.css"),
        "the embedded stylesheet"
    );
    for path in [
        "/static/../Cargo.toml",
        "/static/%2e%2e/Cargo.toml",
        "/static/",
    ] {
        assert_eq!(server.get(path).status(), 404, "{path}");
    }
}

/// Log in through the form; returns the `name=value` of the session cookie and its whole
/// `Set-Cookie` header.
fn log_in(server: &TestServer) -> (String, String) {
    let response = no_redirects()
        .post(format!("{}/login", server.address))
        .form(&[("token", API_TOKEN), ("next", "/")])
        .send()
        .unwrap();
    assert_eq!(response.status(), 303);
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    (set_cookie.split(';').next().unwrap().to_owned(), set_cookie)
}

fn csrf_of(server: &TestServer, cookie: &str) -> String {
    let html = server
        .client
        .get(format!("{}/journal", server.address))
        .header("Cookie", cookie)
        .send()
        .unwrap()
        .text()
        .unwrap();
    let start = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    html[start..start + 64].to_owned()
}

/// A journal entry (id 1) to write notes to.
fn with_journal_entry(db: &TempDb) {
    let mut conn = db.conn();
    let now = signaldesk::clock::now_utc();
    let row = SignalBuilder::long("BTCUSDT").insert(&mut conn, now);
    let request = CloseRequest {
        exit_price: 110.0,
        exit_reason: ExitReason::TakeProfit,
        fee_rate: FEE_RATE,
        closed_at: now,
    };
    close_trade(&mut conn, row.signal_id(), &request).unwrap();
}

fn save_note(server: &TestServer, cookie: &str, csrf: &str, notes: &str) -> u16 {
    no_redirects()
        .post(format!("{}/journal/1", server.address))
        .header("Cookie", cookie)
        .form(&[("csrf", csrf), ("notes", notes), ("tags", "")])
        .send()
        .unwrap()
        .status()
        .as_u16()
}

fn logout_ends_the_session_on_the_server(db: TempDb) {
    with_journal_entry(&db);
    let server = start(&db, &[]);
    let (cookie, _) = log_in(&server);
    let csrf = csrf_of(&server, &cookie);
    assert_eq!(save_note(&server, &cookie, &csrf, "before logout"), 303);
    let logout = no_redirects()
        .post(format!("{}/logout", server.address))
        .header("Cookie", &cookie)
        .form(&[("csrf", &csrf)])
        .send()
        .unwrap();
    assert_eq!(logout.status(), 303);

    // The attacker kept a copy of the cookie and the form's CSRF token.
    assert_eq!(save_note(&server, &cookie, &csrf, "replayed"), 403);
    let entry = journal::get_entry(&mut db.conn(), 1).unwrap();
    assert_eq!(entry.notes.as_deref(), Some("before logout"));
    let left: i64 = sessions::table.count().get_result(&mut db.conn()).unwrap();
    assert_eq!(left, 0, "the session row is gone");
}

fn a_changed_api_token_ends_every_session(db: TempDb) {
    with_journal_entry(&db);
    let server = start(&db, &[]);
    let (cookie, _) = log_in(&server);
    let csrf = csrf_of(&server, &cookie);
    drop(server);
    let restarted = start(&db, &[("SIGNALDESK_API_TOKEN", "another-token-0123456789")]);
    assert_eq!(save_note(&restarted, &cookie, &csrf, "old session"), 403);
    drop(restarted);
    let same_token = start(&db, &[]);
    assert_eq!(
        save_note(&same_token, &cookie, &csrf, "same token again"),
        303,
        "a restart alone keeps sessions: they live in the database"
    );
}

fn sessions_are_signed_with_a_random_key_from_the_database_not_the_token(db: TempDb) {
    with_journal_entry(&db);
    // Two servers starting at once on one new database end with one key.
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| start(&db, &[]));
        let b = s.spawn(|| start(&db, &[]));
        (a.join().unwrap(), b.join().unwrap())
    });
    let keys: Vec<Vec<u8>> = secrets::table
        .select(secrets::value)
        .load(&mut db.conn())
        .unwrap();
    assert_eq!(keys.len(), 1, "one key");
    assert_eq!(keys[0].len(), 32);
    assert_ne!(keys[0], API_TOKEN.as_bytes(), "not the token");
    let (cookie, _) = log_in(&a);
    let csrf = csrf_of(&a, &cookie);
    assert_eq!(save_note(&b, &cookie, &csrf, "on the other server"), 303);

    // A cookie made the old way, with the API token as the HMAC key, is not a session.
    let expires = chrono::Utc::now().timestamp() + 3_600;
    let mut mac = Hmac::<Sha256>::new_from_slice(API_TOKEN.as_bytes()).unwrap();
    mac.update(format!("session|{expires}").as_bytes());
    let signature: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let forged = format!("signaldesk_session={expires}.{signature}");
    let mut mac = Hmac::<Sha256>::new_from_slice(API_TOKEN.as_bytes()).unwrap();
    mac.update(format!("csrf|{expires}.{signature}").as_bytes());
    let forged_csrf: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    assert_eq!(save_note(&a, &forged, &forged_csrf, "forged"), 403);
}

fn session_cookies_are_secure_behind_https(db: TempDb) {
    let server = start(
        &db,
        &[("SIGNALDESK_PUBLIC_URL", "https://desk.example.org")],
    );
    let (_, set_cookie) = log_in(&server);
    for flag in ["HttpOnly", "SameSite=Strict", "Secure"] {
        assert!(set_cookie.contains(flag), "{flag}: {set_cookie}");
    }
    let plain = start(&TempDb::new(), &[]);
    let (_, set_cookie) = log_in(&plain);
    assert!(!set_cookie.contains("Secure"), "plain http: {set_cookie}");
}

/// Every way of presenting a secret, with a wrong one; returns the status.
fn wrong_attempt(server: &TestServer, kind: usize, token: &str) -> u16 {
    let url = |path: &str| format!("{}{path}", server.address);
    let client = no_redirects();
    let request = match kind % 3 {
        0 => client.post(url("/login")).form(&[("token", token)]),
        // A header value cannot carry control characters.
        1 => client
            .post(url("/api/signals"))
            .bearer_auth(token.replace(|c: char| c.is_control(), ""))
            .json(&json!({})),
        _ => client
            .post(url("/api/webhook/tradingview"))
            .body(json!({"token": token}).to_string()),
    };
    request.send().unwrap().status().as_u16()
}

fn ten_failed_secrets_lock_the_address_out_even_with_the_right_token(db: TempDb) {
    let log_path = db.dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let env = [("SIGNALDESK_FEED", "simulated"), ("RUST_LOG", "warn")];
    let server = TestServer::start_with_stderr(&db, &env, Stdio::from(log));
    let guess = "wrong-guess-\n\u{1b}[31mFAKE LOG LINE";
    // Logins, bearer and webhook tokens share one record per address.
    for attempt in 0..10 {
        assert_eq!(
            wrong_attempt(&server, attempt, guess),
            401,
            "attempt {attempt}"
        );
    }
    for kind in 0..3 {
        assert_eq!(wrong_attempt(&server, kind, guess), 429, "kind {kind}");
    }
    let client = no_redirects();
    let login = client
        .post(format!("{}/login", server.address))
        .form(&[("token", API_TOKEN)])
        .send()
        .unwrap();
    assert_eq!(login.status(), 429, "the right token is refused too");
    assert!(login.headers().get("set-cookie").is_none());
    let retry: u64 = login.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "Retry-After {retry}");
    let bearer = client
        .post(format!("{}/api/signals", server.address))
        .bearer_auth(API_TOKEN)
        .json(&json!({"symbol": "BTCUSDT"}))
        .send()
        .unwrap();
    assert_eq!(bearer.status(), 429);
    assert!(bearer.headers().contains_key("retry-after"));
    let body: serde_json::Value = bearer.json().unwrap();
    assert!(body["error"]
        .as_str()
        .unwrap()
        .contains("too many failed attempts"));
    assert!(body["field"].is_null());
    assert_eq!(server.get("/api/stats").status(), 200, "reads stay open");

    drop(server);
    let log = std::fs::read_to_string(&log_path).unwrap();
    let failures = log.lines().filter(|l| l.contains("wrong ")).count();
    assert_eq!(failures, 10, "each failure is logged: {log}");
    assert!(log.contains("127.0.0.1"), "with the address: {log}");
    assert!(log.contains("locked out"), "{log}");
    assert!(!log.contains("wrong-guess"), "never the token: {log}");
    assert!(!log.contains("FAKE LOG LINE"), "{log}");
    assert!(!log.contains(API_TOKEN), "{log}");
}

fn successful_requests_do_not_count_and_missing_tokens_are_not_guesses(db: TempDb) {
    let server = start(&db, &[]);
    for _ in 0..15 {
        log_in(&server);
        let unauthenticated = server
            .client
            .post(format!("{}/api/signals", server.address))
            .json(&json!({}))
            .send()
            .unwrap();
        assert_eq!(unauthenticated.status(), 401);
    }
    assert_eq!(wrong_attempt(&server, 0, "wrong-guess-0123456789"), 401);
}

const WEBHOOK_TOKEN: &str = "hook-token-0123456789";

fn the_webhook_token_opens_only_the_webhook_and_is_checked_before_the_body(db: TempDb) {
    with_journal_entry(&db);
    let exchange = FakeExchange::start(&[("ETHUSDT", 100.0)]);
    let server = TestServer::start(
        &db,
        &[
            ("SIGNALDESK_EXCHANGE_URL", &exchange.url),
            ("SIGNALDESK_SYMBOLS", "ETHUSDT"),
            ("SIGNALDESK_WEBHOOK_TOKEN", WEBHOOK_TOKEN),
        ],
    );
    let client = no_redirects();
    let webhook = |body: String| {
        let response = client
            .post(format!("{}/api/webhook/tradingview", server.address))
            .header("Content-Type", "text/plain")
            .body(body)
            .send()
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json::<serde_json::Value>().unwrap())
    };
    // Without the token nothing about the fields is said.
    for body in [
        "not json".to_owned(),
        "[1, 2]".to_owned(),
        json!({"nope": 1}).to_string(),
        json!({"symbol": 5, "action": "hold"}).to_string(),
        json!({"token": 5, "symbol": "ETHUSDT"}).to_string(),
        json!({"token": API_TOKEN, "symbol": "ETHUSDT", "action": "buy",
               "stop_loss": 95, "take_profit": 110})
        .to_string(),
    ] {
        let (status, answer) = webhook(body.clone());
        assert_eq!(status, 401, "{body}: {answer}");
        assert!(answer["field"].is_null(), "{body}: {answer}");
        let error = answer["error"].as_str().unwrap();
        assert!(
            !error.contains("symbol") && !error.contains("nope"),
            "{error}"
        );
    }
    // The webhook token opens nothing else.
    let url = |path: &str| format!("{}{path}", server.address);
    let bearer = [
        client
            .post(url("/api/signals"))
            .json(&json!({"symbol": "ETHUSDT",
            "direction": "LONG", "stop_loss": 95, "take_profit": 110})),
        client.post(url("/api/signals/1/close")).json(&json!({})),
        client
            .post(url("/api/signals/1/stop"))
            .json(&json!({"stop_loss": 96})),
        client
            .patch(url("/api/journal/1"))
            .json(&json!({"notes": "x"})),
    ];
    for request in bearer {
        let response = request.bearer_auth(WEBHOOK_TOKEN).send().unwrap();
        assert_eq!(response.status(), 401);
    }
    let login = client
        .post(url("/login"))
        .form(&[("token", WEBHOOK_TOKEN)])
        .send()
        .unwrap();
    assert_eq!(login.status(), 401);
    assert!(login.headers().get("set-cookie").is_none());

    server.wait_ticks(1);
    let (status, created) = webhook(
        json!({"token": WEBHOOK_TOKEN, "symbol": "BYBIT:ETHUSDT", "action": "buy",
               "stop_loss": "95", "take_profit": "110"})
        .to_string(),
    );
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["strategy"], "webhook");
    let (status, answer) =
        webhook(json!({"token": WEBHOOK_TOKEN, "symbol": "ETHUSDT"}).to_string());
    assert_eq!(
        status, 400,
        "after the token, fields are validated: {answer}"
    );
    assert_eq!(answer["field"], "action");
}

fn the_start_log_says_when_the_webhook_accepts_the_api_token(db: TempDb) {
    let log_path = db.dir.path().join("server.log");
    for (webhook_token, said) in [(None, true), (Some(WEBHOOK_TOKEN), false)] {
        let mut env = vec![("SIGNALDESK_FEED", "simulated"), ("RUST_LOG", "info")];
        if let Some(token) = webhook_token {
            env.push(("SIGNALDESK_WEBHOOK_TOKEN", token));
        }
        let log = std::fs::File::create(&log_path).unwrap();
        let server = TestServer::start_with_stderr(&db, &env, Stdio::from(log));
        drop(server);
        let log = std::fs::read_to_string(&log_path).unwrap();
        assert_eq!(
            log.contains("the TradingView webhook accepts the API token"),
            said,
            "{log}"
        );
        assert!(
            log.contains("api_token = ****"),
            "the effective configuration: {log}"
        );
        assert!(
            !log.contains(API_TOKEN) && !log.contains(WEBHOOK_TOKEN),
            "{log}"
        );
    }
}

fn head_is_get_without_a_body_and_other_methods_are_405_with_allow(db: TempDb) {
    let server = start(&db, &[]);
    for path in [
        "/",
        "/journal",
        "/history",
        "/login",
        "/static/style.css",
        "/api/stats",
    ] {
        let answer = raw(
            &server,
            format!("HEAD {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        );
        assert_eq!(status_of(&answer), 200, "HEAD {path}: {answer}");
        assert!(answer.ends_with("\r\n\r\n"), "no body: {answer}");
        assert!(answer.contains("x-frame-options: DENY"), "{answer}");
    }
    let client = no_redirects();
    for (method, path, allow) in [
        ("OPTIONS", "/", "GET, HEAD"),
        ("PUT", "/login", "GET, HEAD, POST"),
        ("POST", "/journal", "GET, HEAD"),
        ("GET", "/logout", "POST"),
        ("DELETE", "/trades/1/close", "POST"),
        ("OPTIONS", "/api/stats", "GET"),
    ] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = client
            .request(method.clone(), format!("{}{path}", server.address))
            .send()
            .unwrap();
        assert_eq!(response.status(), 405, "{method} {path}");
        assert_eq!(response.headers()["allow"], allow, "{method} {path}");
    }
}

fn unsafe_requests_from_other_sites_are_refused_before_they_count(db: TempDb) {
    let server = start(&db, &[]);
    let client = no_redirects();
    let url = |path: &str| format!("{}{path}", server.address);
    // A page elsewhere posting wrong tokens from its visitors' browsers (simple requests: no
    // CORS preflight) would lock those visitors out; it is refused before any token is read.
    for i in 0..12 {
        let (name, value) = match i % 3 {
            0 => ("Origin", "https://evil.example"),
            1 => ("Origin", "null"),
            _ => ("Sec-Fetch-Site", "cross-site"),
        };
        let login = client
            .post(url("/login"))
            .header(name, value)
            .form(&[("token", "wrong-guess-0123456789")])
            .send()
            .unwrap();
        assert_eq!(login.status(), 403, "{name}: {value}");
        let webhook = client
            .post(url("/api/webhook/tradingview"))
            .header(name, value)
            .header("Content-Type", "text/plain")
            .body(json!({"token": "wrong-guess-0123456789"}).to_string())
            .send()
            .unwrap();
        assert_eq!(webhook.status(), 403, "{name}: {value}");
    }
    let same_site = client
        .post(url("/login"))
        .header("Origin", server.address.as_str())
        .header("Sec-Fetch-Site", "same-origin")
        .form(&[("token", API_TOKEN)])
        .send()
        .unwrap();
    assert_eq!(
        same_site.status(),
        303,
        "not locked out, and our own pages may post"
    );
    let read = client
        .get(url("/api/stats"))
        .header("Origin", "https://evil.example")
        .send()
        .unwrap();
    assert_eq!(
        read.status(),
        200,
        "reads are not refused (no CORS headers: unreadable)"
    );
    assert!(read.headers().get("access-control-allow-origin").is_none());
}

fn a_client_that_half_closes_its_connection_still_gets_its_answer(db: TempDb) {
    let server = start(&db, &[]);
    let mut stream = TcpStream::connect(socket_of(&server)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"GET /api/health HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.0 200"), "{answer:?}");
}

crate::on_both_backends!(
    tokens_shorter_than_16_characters_stop_the_start_naming_the_key,
    login_follows_only_same_site_paths,
    every_response_carries_the_security_headers,
    foreign_host_names_are_refused,
    a_body_that_does_not_arrive_in_10_seconds_is_a_408,
    event_streams_are_capped_and_slow_clients_do_not_starve_the_server,
    static_files_come_only_from_the_binary,
    logout_ends_the_session_on_the_server,
    a_changed_api_token_ends_every_session,
    sessions_are_signed_with_a_random_key_from_the_database_not_the_token,
    session_cookies_are_secure_behind_https,
    ten_failed_secrets_lock_the_address_out_even_with_the_right_token,
    successful_requests_do_not_count_and_missing_tokens_are_not_guesses,
    the_webhook_token_opens_only_the_webhook_and_is_checked_before_the_body,
    the_start_log_says_when_the_webhook_accepts_the_api_token,
    head_is_get_without_a_body_and_other_methods_are_405_with_allow,
    unsafe_requests_from_other_sites_are_refused_before_they_count,
    a_client_that_half_closes_its_connection_still_gets_its_answer,
);
