//! DESIGN.md §13 from outside: the real server refuses what an attacker would try (short tokens,
//! open redirects, guessing, replayed sessions, foreign Host names, slow bodies, too many event
//! streams) and every response carries the security headers.

use crate::helpers::{run_cli, TempDb, TestServer, API_TOKEN};

#[test]
fn tokens_shorter_than_16_characters_stop_the_start_naming_the_key() {
    let db = TempDb::new();
    for key in ["SIGNALDESK_API_TOKEN", "SIGNALDESK_WEBHOOK_TOKEN"] {
        let (code, _, err) = run_cli(&db.path, &["serve"], &[(key, "2c")]);
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

#[test]
fn login_follows_only_same_site_paths() {
    let db = TempDb::new();
    let server = TestServer::start(&db.path, &[]);
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
