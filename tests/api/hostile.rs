//! What a hostile client or page tries beyond tests/api/security.rs, against the real server:
//! compressed bodies that would inflate a thousandfold, HEAD requests on the event stream, posts
//! from other ports of this host, token guesses hidden behind body errors, repeated parameters,
//! a copy of the database turned into a session, one address holding every connection.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use diesel::prelude::*;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use signaldesk::db::journal;
use signaldesk::db::schema::{secrets, sessions};
use signaldesk::db::signals::CloseRequest;
use signaldesk::domain::ExitReason;

use crate::helpers::{
    close_trade, wait_until, SignalBuilder, TempDb, TestServer, API_TOKEN, FEE_RATE,
};

/// The real server on the simulated feed: these tests never need an exchange.
fn start(db: &TempDb, env: &[(&str, &str)]) -> TestServer {
    let mut env = env.to_vec();
    env.push(("SIGNALDESK_FEED", "simulated"));
    TestServer::start(&db, &env)
}

fn port_of(server: &TestServer) -> String {
    server.address.rsplit(':').next().unwrap().to_owned()
}

/// A client that opens a new connection for every request and follows no redirect.
fn fresh_connections() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// `data` as a zlib stream (`Content-Encoding: deflate`) of stored, uncompressed blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = data.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        out.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for byte in data {
        a = (a + u32::from(*byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

fn compressed_bodies_are_refused_before_they_are_inflated(db: TempDb) {
    let server = start(&db, &[]);
    let client = fresh_connections();
    let url = |path: &str| format!("{}{path}", server.address);
    let alert = json!({"token": "wrong-token-0123456789", "symbol": "BTCUSDT"}).to_string();
    let deflated = client
        .post(url("/api/webhook/tradingview"))
        .header("Content-Encoding", "deflate")
        .body(zlib_stored(alert.as_bytes()))
        .send()
        .unwrap();
    assert_eq!(deflated.status(), 415, "a deflated alert is not read");
    assert_eq!(
        deflated.headers().get("accept-encoding").unwrap(),
        "identity"
    );
    assert!(deflated.headers().contains_key("content-security-policy"));
    let body: Value = deflated.json().unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("Content-Encoding"),
        "{body}"
    );
    assert!(body["field"].is_null(), "{body}");
    for (path, coding) in [
        ("/api/signals", "gzip"),
        ("/api/journal/1", "GZIP"),
        ("/login", "identity, gzip"),
    ] {
        let request = if path == "/api/journal/1" {
            client.patch(url(path))
        } else {
            client.post(url(path))
        };
        let response = request
            .bearer_auth(API_TOKEN)
            .header("Content-Encoding", coding)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(vec![0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff, 3, 0])
            .send()
            .unwrap();
        assert_eq!(response.status(), 415, "{path} {coding}");
    }
    // An identity coding is no coding; a refused body counted nothing against the address.
    let plain = client
        .post(url("/api/webhook/tradingview"))
        .header("Content-Encoding", "identity")
        .body(json!({"token": API_TOKEN}).to_string())
        .send()
        .unwrap();
    assert_eq!(
        plain.status(),
        400,
        "past the token check: a field is missing"
    );
}

fn head_on_the_event_stream_holds_no_stream_open(db: TempDb) {
    let server = start(&db, &[("SIGNALDESK_MAX_EVENT_STREAMS", "2")]);
    let client = fresh_connections();
    let url = format!("{}/api/events", server.address);
    for i in 0..5 {
        let head = client.head(&url).send().unwrap();
        assert_eq!(head.status(), 200, "HEAD {i}");
        assert_eq!(
            head.headers().get("content-type").unwrap(),
            "text/event-stream"
        );
        assert!(head.headers().contains_key("x-frame-options"));
    }
    let first = client.get(&url).send().unwrap();
    let second = client.get(&url).send().unwrap();
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200),
        "both slots free"
    );
    assert_eq!(
        client.head(&url).send().unwrap().status(),
        503,
        "HEAD answers what GET would"
    );
    // A raw HEAD is answered in full and its connection closes, as the client asked.
    drop((first, second));
    let mut stream = TcpStream::connect(server.address.trim_start_matches("http://")).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"HEAD /api/events HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .expect("the server closes the connection after the head");
    assert!(answer.starts_with("HTTP/1.1 "), "{answer}");
}

fn pages_on_other_ports_of_this_host_cannot_post(db: TempDb) {
    let server = start(&db, &[]);
    let client = fresh_connections();
    let port = port_of(&server);
    let login = |headers: &[(&str, String)], token: &str| {
        let mut request = client
            .post(format!("{}/login", server.address))
            .form(&[("token", token)]);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        request.send().unwrap().status().as_u16()
    };
    let other_port = if port == "1" { "2" } else { "1" };
    for _ in 0..12 {
        for headers in [
            vec![
                ("Origin", format!("http://localhost:{other_port}")),
                ("Host", format!("localhost:{port}")),
            ],
            vec![("Origin", format!("http://127.0.0.1:{other_port}"))],
            vec![("Sec-Fetch-Site", "same-site".to_owned())],
            vec![
                ("Origin", format!("http://127.0.0.1:{port}")),
                ("Sec-Fetch-Site", "same-site".to_owned()),
            ],
        ] {
            assert_eq!(
                login(&headers, "wrong-token-0123456789"),
                403,
                "{headers:?}"
            );
        }
        let webhook = client
            .post(format!("{}/api/webhook/tradingview", server.address))
            .header("Origin", format!("http://127.0.0.1:{other_port}"))
            .body(json!({"token": "wrong-token-0123456789"}).to_string())
            .send()
            .unwrap();
        assert_eq!(webhook.status(), 403);
    }
    // This server's own pages still post, and none of the refused posts counted.
    let own = vec![
        ("Origin", format!("http://127.0.0.1:{port}")),
        ("Sec-Fetch-Site", "same-origin".to_owned()),
    ];
    assert_eq!(login(&own, API_TOKEN), 303);
    let own_name = vec![
        ("Origin", format!("http://localhost:{port}")),
        ("Host", format!("localhost:{port}")),
    ];
    assert_eq!(login(&own_name, API_TOKEN), 303);
}

fn tokens_are_checked_before_the_body_is_read(db: TempDb) {
    let server = start(&db, &[]);
    let client = fresh_connections();
    let url = |path: &str| format!("{}{path}", server.address);
    let send = |path: &str, token: Option<&str>, body: &str| {
        let mut request = if path.starts_with("/api/journal") {
            client.patch(url(path))
        } else {
            client.post(url(path))
        };
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request
            .body(body.to_owned())
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    for path in ["/api/signals", "/api/journal/1"] {
        assert_eq!(send(path, None, "not json"), 401, "{path}");
        assert_eq!(send(path, None, r#"{"unknown": 1}"#), 401, "{path}");
        assert_eq!(send(path, Some(API_TOKEN), "not json"), 400, "{path}");
    }
    for _ in 0..10 {
        assert_eq!(
            send("/api/signals", Some("wrong-token-0123456789"), "{"),
            401
        );
    }
    for path in ["/api/signals", "/api/journal/1"] {
        assert_eq!(send(path, Some(API_TOKEN), "not json"), 429, "{path}");
    }
}

fn repeated_query_parameters_are_refused(db: TempDb) {
    let server = start(&db, &[]);
    for path in [
        "/api/signals?status=active&status=closed",
        "/api/journal?limit=1&limit=500",
        "/api/daily?from=2026-01-01&from=2026-02-01",
        "/api/equity?by=day&by=trade",
    ] {
        let response = server.get(path);
        assert_eq!(response.status(), 400, "{path}");
        let body: Value = response.json().unwrap();
        let name = path.split(['?', '=']).nth(1).unwrap();
        assert_eq!(body["field"], name, "{path}: {body}");
    }
    for path in ["/journal?symbol=BTCUSDT&symbol=ETHUSDT", "/history?to=&to="] {
        assert_eq!(server.get(path).status(), 400, "{path}");
    }
    assert_eq!(
        server.get("/api/signals?status=active&limit=5").status(),
        200
    );
}

/// HMAC-SHA256 of length-prefixed `parts` under `key`, in hex: how the server signs sessions.
fn mac_hex(key: &[u8], parts: &[&str]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    for part in parts {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part.as_bytes());
    }
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn a_copy_of_the_database_opens_no_session(db: TempDb) {
    let mut conn = db.conn();
    let now = signaldesk::clock::now_utc();
    let signal = SignalBuilder::long("BTCUSDT").insert(&mut conn, now);
    let close = CloseRequest {
        exit_price: 110.0,
        exit_reason: ExitReason::TakeProfit,
        fee_rate: FEE_RATE,
        closed_at: now,
    };
    close_trade(&mut conn, signal.signal_id(), &close).unwrap();
    let server = start(&db, &[]);
    let login = fresh_connections()
        .post(format!("{}/login", server.address))
        .form(&[("token", API_TOKEN)])
        .send()
        .unwrap();
    assert_eq!(login.status(), 303);

    // Whoever reads a backup gets the key and the session rows, and signs a cookie with them.
    let key: Vec<u8> = secrets::table
        .select(secrets::value)
        .first(&mut conn)
        .unwrap();
    let (row_id, fingerprint): (String, String) = sessions::table
        .select((sessions::id, sessions::token_fingerprint))
        .first(&mut conn)
        .unwrap();
    let cookie = format!(
        "signaldesk_session={row_id}.{}",
        mac_hex(&key, &["session", &row_id, &fingerprint])
    );
    let csrf = mac_hex(&key, &["csrf", &row_id]);
    let save = fresh_connections()
        .post(format!("{}/journal/1", server.address))
        .header("Cookie", cookie)
        .form(&[("csrf", csrf.as_str()), ("notes", "forged"), ("tags", "")])
        .send()
        .unwrap();
    assert_eq!(save.status(), 403, "the row holds no usable session id");
    let entry = journal::get_entry(&mut conn, 1).unwrap();
    assert_eq!(entry.notes, None);
}

#[test]
fn one_address_cannot_hold_every_connection() {
    use signaldesk::web::connections::PER_CLIENT;
    let db = TempDb::new();
    let server = start(&db, &[]);
    let socket = server.address.trim_start_matches("http://").to_owned();
    // Heads that never end, from one address, more of them than it may hold.
    let extra = 8;
    let mut held: Vec<TcpStream> = (0..PER_CLIENT + extra)
        .map(|_| {
            let mut stream = TcpStream::connect(&socket).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(30)))
                .unwrap();
            stream
                .write_all(b"GET /api/health HTTP/1.1\r\nHost: localhost\r\n")
                .unwrap();
            stream
        })
        .collect();
    // The ones over the limit are shut down unread; the others wait for their heads' timeout
    // (408). Without the limit every one of them gets the 408.
    let mut shut_unread = 0;
    for stream in &mut held {
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        if answer.is_empty() {
            shut_unread += 1;
        } else {
            assert!(answer.starts_with(b"HTTP/1.1 408"), "{answer:?}");
        }
    }
    assert_eq!(shut_unread, extra);
    drop(held);
    let health = wait_until("the address's connections to be released", || {
        server
            .client
            .get(format!("{}/api/health", server.address))
            .send()
            .ok()
    });
    assert_eq!(health.status(), 200);
}

crate::on_both_backends!(
    compressed_bodies_are_refused_before_they_are_inflated,
    head_on_the_event_stream_holds_no_stream_open,
    pages_on_other_ports_of_this_host_cannot_post,
    tokens_are_checked_before_the_body_is_read,
    repeated_query_parameters_are_refused,
    a_copy_of_the_database_opens_no_session,
);
