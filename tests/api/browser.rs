//! A real headless Chromium, driven over the W3C WebDriver protocol by Debian's chromedriver:
//! every page of a seeded database loads with the expected figures, a journal note is edited
//! through the form, a managed trade's exits and stop moves show on its page, the dashboard and
//! the journal, and screenshots land in `target/screenshots/` for review.
//!
//! `.ci/run` installs chromium and chromium-driver and sets SIGNALDESK_REQUIRE_BROWSER=1, so CI
//! never skips this test; elsewhere it is skipped (with a message) when the browser is missing.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use signaldesk::db::journal;
use signaldesk::db::signals::CloseRequest;
use signaldesk::domain::ExitReason;

use crate::candles::traded_through_candles;
use crate::fake_exchange::FakeExchange;
use crate::helpers::{
    close_trade, wait_until, SignalBuilder, TempDb, TestServer, API_TOKEN, FEE_RATE,
};
use crate::pages::{scaled_out_long, scaled_out_to_target, ten_minutes_ago};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::blocking::Client,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn start() -> Option<Browser> {
        if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
            let required = std::env::var("SIGNALDESK_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
            assert!(
                !required,
                "{CHROMIUM} or {CHROMEDRIVER} is missing: apt-get install chromium chromium-driver"
            );
            eprintln!("SKIPPED browser test: install chromium and chromium-driver to run it");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        wait_until("chromedriver", || {
            http.get(format!("{base}/status"))
                .send()
                .ok()
                .and_then(|r| r.json::<Value>().ok())
                .filter(|v| v["value"]["ready"] == true)
        });
        let profile = tempfile::tempdir().unwrap();
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1280,1000",
                format!("--user-data-dir={}", profile.path().display())]}}}});
        let created: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .unwrap()
            .json()
            .unwrap();
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {created}"))
            .to_owned();
        Some(Browser {
            driver,
            base,
            session,
            http,
            _profile: profile,
        })
    }

    fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut request = self.http.request(method, url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request.send().unwrap().json().unwrap();
        assert!(
            answer["value"].get("error").is_none(),
            "WebDriver {path}: {answer}"
        );
        answer["value"].clone()
    }

    /// Run `js` in the page and return its value.
    fn script(&self, js: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": js, "args": []})),
        )
    }

    fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url})));
    }

    fn source(&self) -> String {
        self.call(reqwest::Method::GET, "/source", None)
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn find(&self, css: &str) -> String {
        let found = self.call(
            reqwest::Method::POST,
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        found[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {found}"))
            .to_owned()
    }

    fn text(&self, css: &str) -> String {
        let element = self.find(css);
        let text = self.call(
            reqwest::Method::GET,
            &format!("/element/{element}/text"),
            None,
        );
        text.as_str().unwrap().to_owned()
    }

    fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css);
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/clear"),
            Some(json!({})),
        );
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            Some(json!({"text": text})),
        );
    }

    fn click(&self, css: &str) {
        let element = self.find(css);
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            Some(json!({})),
        );
    }

    fn resize(&self, width: u32, height: u32) {
        self.call(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        );
    }

    fn screenshot(&self, name: &str) -> PathBuf {
        let encoded = self.call(reqwest::Method::GET, "/screenshot", None);
        let png = base64_decode(encoded.as_str().unwrap());
        assert!(png.starts_with(b"\x89PNG"), "{name} is not a PNG");
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.session))
            .send();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let clean: Vec<u8> = text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
        .collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let bits = chunk.iter().enumerate().fold(0u32, |acc, (i, c)| {
            acc | (u32::from(value(*c)) << (18 - 6 * i))
        });
        let bytes = bits.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}

#[test]
fn every_page_renders_in_a_real_browser_and_a_note_is_edited_through_the_form() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let db = TempDb::new();
    let mut conn = db.conn();
    let now = signaldesk::clock::now_utc();
    let winner = SignalBuilder::long("BTCUSDT")
        .quantity(5.0)
        .insert(&mut conn, now);
    let request = CloseRequest {
        exit_price: 110.0,
        exit_reason: ExitReason::TakeProfit,
        fee_rate: FEE_RATE,
        closed_at: now,
    };
    close_trade(&mut conn, winner.signal_id(), &request).unwrap();
    SignalBuilder::short("ETHUSDT").insert(&mut conn, now);
    let exchange = FakeExchange::start(&[("ETHUSDT", 98.0), ("BTCUSDT", 104.0)]);
    let server = TestServer::start(
        &db,
        &[
            ("SIGNALDESK_EXCHANGE_URL", &exchange.url),
            ("SIGNALDESK_SYMBOLS", "BTCUSDT,ETHUSDT"),
        ],
    );
    server.wait_ticks(1);
    let stats = server.get_json("/api/stats");
    let balance = stats["balance"].as_f64().unwrap();

    browser.goto(&format!("{}/", server.address));
    let shown = browser.text("[data-stat=balance]").replace(',', "");
    assert_eq!(shown, format!("{balance:.2}"), "dashboard balance");
    assert!(
        browser.text("[data-price=ETHUSDT]").starts_with("98.0"),
        "price strip"
    );
    assert!(
        browser.source().contains("/trades/2"),
        "the open trade is listed"
    );
    // The stylesheet and the live script load under the Content-Security-Policy (a blocked one
    // is never fetched).
    let loaded = browser.script(
        "return performance.getEntriesByType('resource').map(e => new URL(e.name).pathname)",
    );
    for file in ["/static/style.css", "/static/app.js"] {
        assert!(
            loaded.as_array().unwrap().contains(&json!(file)),
            "{file} not loaded: {loaded}"
        );
    }
    browser.screenshot("dashboard");
    browser.resize(390, 844);
    browser.screenshot("dashboard-phone");
    browser.resize(1280, 1000);

    for (path, name, expected) in [
        ("/trades/1", "trade", "Trade 1 · BTCUSDT"),
        ("/journal", "journal", "TAKE_PROFIT"),
        ("/history", "history", "By symbol"),
        ("/login", "login", "API token"),
        ("/no-such-page", "not-found", "404"),
    ] {
        browser.goto(&format!("{}{path}", server.address));
        wait_until(&format!("{path} showing {expected}"), || {
            browser.source().contains(expected).then_some(())
        });
        browser.screenshot(name);
    }

    // Log in through the form, then edit the journal note of trade 1 through its form.
    browser.goto(&format!("{}/login?next=/trades/1", server.address));
    browser.type_into("input[name=token]", API_TOKEN);
    browser.click("form.login button[type=submit]");
    // A click that submits a form returns once the navigation started; wait for the new page.
    wait_until("the note form after logging in", || {
        browser.source().contains("Save notes").then_some(())
    });
    browser.type_into("textarea[name=notes]", "Took profit as planned <3");
    browser.type_into("input[name=tags]", "plan, patience");
    browser.click("form.notes button[type=submit]");
    wait_until("the saved note", || {
        let saved = browser
            .source()
            .contains("Took profit as planned &lt;3</textarea>");
        saved.then_some(())
    });
    browser.screenshot("trade-note-saved");
    let entry = journal::for_signal(&mut db.conn(), 1).unwrap().unwrap();
    assert_eq!(entry.notes.as_deref(), Some("Took profit as planned <3"));
    assert_eq!(entry.tags, "plan,patience");
}

#[test]
fn a_managed_trade_shows_its_exits_and_stop_moves_in_a_real_browser() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let db = TempDb::new();
    let mut conn = db.conn();
    let opened = ten_minutes_ago();
    let open = scaled_out_long(&mut conn, "SOLUSDT", opened);
    let closed = scaled_out_to_target(&mut conn, "ADAUSDT", opened + chrono::Duration::minutes(4));
    let exchange = FakeExchange::start(&[("SOLUSDT", 105.0)]);
    let server = TestServer::start(
        &db,
        &[
            ("SIGNALDESK_EXCHANGE_URL", &exchange.url),
            ("SIGNALDESK_SYMBOLS", "SOLUSDT"),
        ],
    );
    let texts = |css: &str| {
        let found = browser.script(&format!(
            "return Array.from(document.querySelectorAll({css:?})).map(e => e.textContent.trim())"
        ));
        found
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect::<Vec<String>>()
    };

    browser.goto(&format!("{}/trades/{}", server.address, open.id));
    wait_until("the exits", || {
        browser
            .source()
            .contains("PARTIAL_TAKE_PROFIT")
            .then_some(())
    });
    // One marker per exit on the chart, each naming its exit.
    let markers = texts("svg.chart .exit-marker > title");
    assert_eq!(markers.len(), 2, "{markers:?}");
    assert!(markers[0].starts_with("exit 1: PARTIAL_TAKE_PROFIT 6 at 103.00, pnl +16.78"));
    assert!(markers[1].starts_with("exit 2: PARTIAL_TAKE_PROFIT 6 at 106.00, pnl +34.76"));
    let moves = texts("svg.chart .stop-move > title");
    assert_eq!(moves.len(), 1);
    assert!(
        moves[0].starts_with("stop 95.00 → 100.00 (BREAKEVEN)"),
        "{moves:?}"
    );
    // The lists as the browser shows them.
    assert_eq!(texts("table.exits tbody tr").len(), 2);
    assert!(browser.text("#exit-2").contains("106.00"));
    assert!(browser.text("#exit-2").contains("+34.76"));
    assert!(browser.text("#stop-move-1").contains("95.00 → 100.00"));
    assert_eq!(browser.text("[data-fact=remaining]"), "8 / 20");
    assert_eq!(browser.text("[data-fact=realized]"), "+51.55");
    assert_eq!(browser.text("[data-fact=stop]"), "100.00 BE");
    assert_eq!(browser.text("[data-fact=initial_stop]"), "95.00");
    browser.screenshot("trade-managed");
    browser.script("document.querySelector('table.exits').scrollIntoView(); return null");
    browser.screenshot("trade-managed-lists");
    // On a phone the page scrolls down, not sideways: wide tables scroll in their own box.
    browser.resize(390, 844);
    let overflow = browser.script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
    );
    assert_eq!(overflow, json!(0), "the trade page is wider than a phone");
    browser.screenshot("trade-managed-phone");
    browser.resize(1280, 1000);

    browser.goto(&format!("{}/", server.address));
    let row = format!("tr[data-trade=\"{}\"]", open.id);
    assert_eq!(browser.text(&format!("{row} td.size")), "8 / 20");
    assert_eq!(browser.text(&format!("{row} td.realized")), "+51.55");
    assert_eq!(browser.text(&format!("{row} td.stop")), "100.00 BE");
    browser.screenshot("dashboard-managed");

    browser.goto(&format!("{}/journal", server.address));
    let entry = journal::for_signal(&mut db.conn(), closed.id)
        .unwrap()
        .unwrap();
    assert_eq!(browser.text(&format!("#entry-{} td.exits", entry.id)), "3");
    browser.screenshot("journal-exits");
}

#[test]
fn a_trade_chart_draws_its_candles_and_marks_in_a_real_browser() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let db = TempDb::new();
    let opened = signaldesk::clock::now_utc() - chrono::Duration::hours(6);
    let opened = opened
        .date()
        .and_hms_opt(chrono::Timelike::hour(&opened), 0, 0)
        .unwrap();
    let id = traded_through_candles(&mut db.conn(), "SOLUSDT", opened);
    let exchange = FakeExchange::start(&[]);
    let server = TestServer::start(
        &db,
        &[
            ("SIGNALDESK_EXCHANGE_URL", &exchange.url),
            ("SIGNALDESK_SYMBOLS", "XRPUSDT"),
        ],
    );

    browser.goto(&format!("{}/trades/{id}", server.address));
    let drawn = browser.script(
        "const svg = document.querySelector('svg.chart.candles'); \
         return svg ? [Number(svg.dataset.candles), svg.querySelectorAll('g.candle').length, \
           svg.querySelectorAll('g.candle > title').length, svg.getBoundingClientRect().width] : null",
    );
    let drawn = drawn.as_array().expect("a candlestick chart");
    assert!(drawn[0].as_f64().unwrap() >= 200.0, "{drawn:?}");
    assert_eq!(drawn[0], drawn[1], "every candle drawn: {drawn:?}");
    assert_eq!(drawn[1], drawn[2], "every candle titled: {drawn:?}");
    assert!(drawn[3].as_f64().unwrap() > 900.0, "full width: {drawn:?}");
    // Up and down candles in their own colours, the wick and the body of each drawn.
    let colours = browser.script(
        "const fill = c => getComputedStyle(document.querySelector(c)).fill; \
         const body = document.querySelector('g.candle rect').getBoundingClientRect(); \
         return [fill('g.candle.up rect'), fill('g.candle.down rect'), body.width, body.height]",
    );
    let colours = colours.as_array().unwrap();
    assert_ne!(colours[0], colours[1], "{colours:?}");
    assert!(colours[2].as_f64().unwrap() >= 1.0 && colours[3].as_f64().unwrap() >= 1.0);
    let titles = |css: &str| {
        browser
            .script(&format!(
                "return Array.from(document.querySelectorAll({css:?})).map(e => e.textContent)"
            ))
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect::<Vec<String>>()
    };
    let exits = titles("svg.chart.candles .exit-marker > title");
    assert_eq!(exits.len(), 3, "{exits:?}");
    assert!(exits[2].starts_with("exit 3: TAKE_PROFIT"), "{exits:?}");
    assert_eq!(titles("svg.chart.candles .stop-move > title").len(), 1);
    let extremes = titles("svg.chart.candles .extreme > title");
    assert!(
        extremes[0].starts_with("MFE: best price while open"),
        "{extremes:?}"
    );
    assert!(
        extremes[1].starts_with("MAE: worst price while open"),
        "{extremes:?}"
    );
    assert!(titles("svg.chart.candles .entry > title")[0].starts_with("entry LONG 20 at 100.00"));
    assert!(
        titles("svg.chart.candles text.tick").len() >= 6,
        "labelled axes"
    );
    browser.screenshot("trade-candles");

    // On a phone the chart scrolls in its own box; the page does not scroll sideways.
    browser.resize(390, 844);
    let overflow = browser.script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
    );
    assert_eq!(overflow, json!(0), "the trade page is wider than a phone");
    browser.screenshot("trade-candles-phone");
}

#[test]
fn the_analytics_page_reads_on_a_desktop_and_a_phone_in_a_real_browser() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let db = TempDb::new();
    let base = crate::analytics_history::seed(&mut db.conn());
    let exchange = FakeExchange::start(&[]);
    let server = TestServer::start(
        &db,
        &[
            ("SIGNALDESK_EXCHANGE_URL", &exchange.url),
            ("SIGNALDESK_SYMBOLS", "XRPUSDT"),
        ],
    );
    let from = base - chrono::Duration::days(10);
    browser.goto(&format!("{}/analytics?from={from}", server.address));
    let shown = browser.script(
        "return [document.querySelectorAll('section.breakdown table').length, \
           document.querySelector('table.summary').getBoundingClientRect().height, \
           Array.from(document.querySelectorAll('.chart-bar.count')) \
             .map(r => Math.round(r.getBoundingClientRect().height)), \
           document.querySelector('nav a[aria-current=page]').textContent]",
    );
    let shown = shown.as_array().expect("figures");
    assert_eq!(shown[0], json!(9), "nine breakdowns: {shown:?}");
    assert!(shown[1].as_f64().unwrap() > 100.0, "{shown:?}");
    // Columns as tall as their counts: the histogram's largest bin is a tall column, an empty
    // bin a sliver of it.
    let bars: Vec<i64> = shown[2]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_i64().unwrap())
        .collect();
    assert!(bars.len() >= 10, "histogram bars: {bars:?}");
    let (narrowest, widest) = (bars.iter().min().unwrap(), bars.iter().max().unwrap());
    assert!(*widest > 100 && *narrowest * 5 < *widest, "{bars:?}");
    assert_eq!(shown[3], json!("Analytics"));
    let charts = analytics_charts(&browser);
    for name in [
        "Equity at each day's end (USDT)",
        "Drawdown from the peak (USDT)",
        "PnL per day (USDT)",
        "Trades per R multiple",
        "Trades per hold time",
        "MAE against MFE per trade",
        "PnL by symbol",
        "PnL by weekday of entry (UTC)",
    ] {
        let (width, height) = charts
            .iter()
            .find(|(label, ..)| label == name)
            .map(|(_, w, h)| (*w, *h))
            .unwrap_or_else(|| panic!("no chart {name} in {charts:?}"));
        // The calendar is as wide as its weeks (16 here), the others as their column.
        let least = if name == "PnL per day (USDT)" {
            200
        } else {
            300
        };
        assert!(width > least && height > 100, "{name}: {width} × {height}");
    }
    assert!(
        charts.len() >= 6 + 7,
        "the breakdowns have charts: {charts:?}"
    );
    // Hover titles say what a mark is worth.
    let titles = browser.script(
        "return ['.cal-days rect', '.chart-dots circle', '.chart-points circle', '.chart-bars rect'] \
           .map(s => Array.from(document.querySelectorAll(s)) \
             .map(e => e.querySelector('title').textContent))",
    );
    let titles: Vec<Vec<String>> = serde_json::from_value(titles).unwrap();
    assert!(titles.iter().all(|list| !list.is_empty()), "{titles:?}");
    assert!(titles[0]
        .iter()
        .any(|t| t.contains(" trades, ") || t.contains(" trade, ")));
    assert!(
        titles[1][0].starts_with('#') && titles[1][0].contains("MAE"),
        "{titles:?}"
    );
    browser.screenshot("analytics");

    // The filters work from the form, without JavaScript of the page's own.
    browser.type_into("input[name=symbol]", "btcusdt");
    browser.click("form.filters button");
    // The click returns once the navigation started; wait for the new page.
    wait_until("the filtered analytics", || {
        browser.source().contains("value=\"BTCUSDT\"").then_some(())
    });
    let url = browser.script("return location.search");
    assert!(url.as_str().unwrap().contains("symbol=btcusdt"), "{url}");
    browser.screenshot("analytics-filtered");

    browser.resize(1280, 7000);
    browser.screenshot("analytics-full");

    browser.resize(390, 844);
    let overflow = browser.script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
    );
    assert_eq!(
        overflow,
        json!(0),
        "the analytics page is wider than a phone"
    );
    // Every chart fits the phone (the calendar scrolls sideways in its own box if it must) and
    // is drawn; the calendar's days stay cells, not dots.
    for (name, width, height) in analytics_charts(&browser) {
        assert!(height > 50, "{name}: {width} × {height} on a phone");
        if name != "PnL per day (USDT)" {
            assert!(
                (200..=390).contains(&width),
                "{name}: {width} wide on a phone"
            );
        }
    }
    let cell = browser.script(
        "return Math.round(document.querySelector('.cal-days rect').getBoundingClientRect().width)",
    );
    assert_eq!(cell, json!(11), "a day of the calendar on a phone");
    browser.screenshot("analytics-phone");
    browser.resize(390, 9000);
    browser.screenshot("analytics-phone-full");
}

/// The charts of the analytics page: aria-label, rendered width and height in CSS pixels.
fn analytics_charts(browser: &Browser) -> Vec<(String, i64, i64)> {
    let charts = browser.script(
        "return Array.from(document.querySelectorAll('.analytics svg.chart')).map(s => { \
           const b = s.getBoundingClientRect(); \
           return [s.getAttribute('aria-label'), Math.round(b.width), Math.round(b.height)]; })",
    );
    serde_json::from_value(charts).expect("charts")
}

#[test]
fn a_backtest_report_opens_from_disk_in_a_real_browser() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (path, report) = crate::backtest::simulated_backtest_html(dir.path());
    browser.goto(&format!("file://{}", path.display()));
    let shown = browser.script(
        "return [document.title, \
           document.querySelector('table.summary td').textContent, \
           getComputedStyle(document.querySelector('.chart-bar.count')).fill, \
           document.querySelectorAll('section.breakdown').length]",
    );
    let shown = shown.as_array().expect("the report");
    assert!(shown[0].as_str().unwrap().starts_with("Backtest SOLUSDT"));
    assert_eq!(shown[1], json!(report["trades"].to_string()));
    assert_eq!(
        shown[2],
        json!("rgb(76, 123, 217)"),
        "the inline stylesheet applies"
    );
    assert_eq!(shown[3], json!(9));
    browser.screenshot("backtest-report");
}
