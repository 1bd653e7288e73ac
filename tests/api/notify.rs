//! Notifications (DESIGN.md §12) end to end: the real server sends to local fake Telegram,
//! Discord and webhook receivers speaking the real services' JSON. Every open and close arrives
//! at every target, literally; rate limits, outages and timeouts delay a message but never lose
//! it; a message the targets keep refusing is given up as FAILED and shown; a kill -9 between a
//! close and its delivery loses nothing; two instances never both send one message.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use signaldesk::db::notifications::{self, NotificationRow};
use signaldesk::db::schema::notifications as n;

use crate::fake_exchange::FakeExchange;
use crate::fake_notify::{FakeNotify, Mode, Service};
use crate::helpers::{run_cli, TempDb, TestServer};

const PUBLIC_URL: &str = "https://desk.example.com";
/// Notes a trader may well type, and that break naive HTML or markdown.
const NOTES: &str = "<b>breakout</b> & \"retest\" *bold* _x_ @everyone `code` </a> 5 > 3";

fn start(
    db: &TempDb,
    exchange: &FakeExchange,
    fake: &FakeNotify,
    env: &[(&str, &str)],
) -> TestServer {
    let targets = fake.targets("a");
    let mut all: Vec<(&str, &str)> = vec![
        ("SIGNALDESK_EXCHANGE_URL", &exchange.url),
        ("SIGNALDESK_SYMBOLS", "BTCUSDT"),
        ("SIGNALDESK_COOLDOWN_MINUTES", "0"),
        ("SIGNALDESK_MAX_TRADES_PER_SYMBOL", "50"),
        ("SIGNALDESK_MAX_OPEN_TRADES", "200"),
        ("SIGNALDESK_MAX_SIGNALS_PER_DAY", "1000"),
        ("SIGNALDESK_MAX_PORTFOLIO_RISK", "100%"),
        ("SIGNALDESK_NOTIFY", &targets),
        ("SIGNALDESK_TELEGRAM_API_URL", &fake.url),
        ("SIGNALDESK_PUBLIC_URL", PUBLIC_URL),
        (
            "SIGNALDESK_NOTIFY_EVENTS",
            "signal_opened,trade_exit,trade_closed",
        ),
    ];
    all.extend_from_slice(env);
    TestServer::start(db, &all)
}

/// Poll `check` every 50 ms for up to `secs`.
fn wait_for<T>(what: &str, secs: u64, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn open(server: &TestServer, notes: &str) -> i64 {
    // The first tick stores the price a signal opens at.
    let (status, body) = wait_for("a fresh price", 20, || {
        let (status, body) = server.post(
            "/api/signals",
            &json!({"symbol": "BTCUSDT", "direction": "LONG", "stop_loss": 95.0,
                    "take_profit": 110.0, "notes": notes}),
        );
        (status != 503).then_some((status, body))
    });
    assert_eq!(status, 201, "{body}");
    body["id"].as_i64().expect("id")
}

fn close(server: &TestServer, id: i64, body: Value) {
    let (status, answer) = server.post(&format!("/api/signals/{id}/close"), &body);
    assert_eq!(status, 200, "{answer}");
}

fn rows(db: &TempDb) -> Vec<NotificationRow> {
    use diesel::prelude::*;
    let mut conn = db.conn();
    n::table
        .order(n::id.asc())
        .select(NotificationRow::as_select())
        .load(&mut conn)
        .expect("notifications")
}

/// The delivered messages of `service` whose event (and signal) is `event` (`data.signal_id`).
fn arrived(fake: &FakeNotify, service: Service, event: &str, id: i64) -> Vec<String> {
    fake.delivered(service)
        .into_iter()
        .filter(|d| match service {
            Service::Webhook => d.body["event"] == event && d.body["data"]["signal_id"] == id,
            _ => d.text.contains(&format!("(#{id})")) && d.text.contains(event_word(event)),
        })
        .map(|d| d.text)
        .collect()
}

fn event_word(event: &str) -> &'static str {
    match event {
        "signal_opened" => " opened ",
        "trade_exit" => " partial exit ",
        _ => " closed ",
    }
}

const ALL: [Service; 3] = [Service::Telegram, Service::Discord, Service::Webhook];

fn every_open_and_close_arrives_at_every_target_literally(db: TempDb) {
    let exchange = FakeExchange::start(&[("BTCUSDT", 100.0)]);
    let fake = FakeNotify::start();
    let server = start(&db, &exchange, &fake, &[]);
    let id = open(&server, NOTES);
    close(&server, id, json!({"fraction": 0.5}));
    exchange.set_price("BTCUSDT", 104.0);
    server.wait_ticks(2);
    close(&server, id, json!({}));
    for service in ALL {
        for event in ["signal_opened", "trade_exit", "trade_closed"] {
            let texts = wait_for(&format!("{event} at {service:?}"), 20, || {
                let got = arrived(&fake, service, event, id);
                (!got.is_empty()).then_some(got)
            });
            assert_eq!(texts.len(), 1, "{service:?} {event}: {texts:?}");
            let text = &texts[0];
            assert!(text.contains("BTCUSDT LONG"), "{service:?}: {text}");
            assert!(
                text.contains(&format!("{PUBLIC_URL}/trades/{id}")),
                "{service:?} links the trade: {text}"
            );
            if event != "trade_exit" {
                // The notes arrive exactly as typed: no markup added, none lost.
                assert!(text.contains(NOTES), "{service:?} {event}: {text}");
            }
        }
        let closed = &arrived(&fake, service, "trade_closed", id)[0];
        assert!(closed.contains("Entry 100"), "{closed}");
        assert!(closed.contains("PnL +"), "{closed}");
        assert!(closed.contains("R"), "{closed}");
        assert!(closed.contains("Balance 10"), "{closed}");
        assert!(closed.contains("Exits: "), "both exits listed: {closed}");
    }
    // What Telegram received parsed as its HTML, and Discord mentions nobody.
    for request in fake.requests(Service::Telegram) {
        assert_eq!(request.body["parse_mode"], "HTML");
        assert_eq!(request.status, 200);
    }
    for request in fake.requests(Service::Discord) {
        assert_eq!(request.body["allowed_mentions"]["parse"], json!([]));
    }
    let webhook = &fake.delivered(Service::Webhook)[0].body;
    assert_eq!(webhook["data"]["notes"], NOTES);
    // Booked in the outbox: each SENT once, no secret stored.
    let rows = wait_for("every row sent", 10, || {
        let rows = rows(&db);
        rows.iter().all(|r| r.status == "SENT").then_some(rows)
    });
    assert_eq!(rows.len(), 9, "3 events × 3 targets");
    for row in &rows {
        assert!(
            !row.target.contains("s3cret") && !row.target.contains("AAfake"),
            "{}",
            row.target
        );
        assert!(!row.payload.contains("s3cret"));
    }
    let health = server.get_json("/api/health");
    let outbox = &health["notifications"];
    assert_eq!(
        (
            outbox["pending"].as_i64(),
            outbox["sent"].as_i64(),
            outbox["failed"].as_i64()
        ),
        (Some(0), Some(9), Some(0)),
        "{outbox}"
    );
    assert_eq!(outbox["targets"].as_array().map(Vec::len), Some(3));
    let metrics = server.get("/metrics").text().unwrap();
    let telegram =
        "signaldesk_notifications{target=\"telegram:123456:****:-100777\",status=\"sent\"} 3";
    assert!(metrics.contains(telegram), "{metrics}");
}

fn rate_limits_outages_and_timeouts_delay_a_message_but_never_lose_it() {
    let db = TempDb::sqlite();
    let exchange = FakeExchange::start(&[("BTCUSDT", 100.0)]);
    let fake = FakeNotify::start();
    // Telegram asks for 8 s (longer than the first backoff, 2.5–5 s); Discord fails twice with 502 then rate-limits with Retry-After 1;
    // the webhook times out once (past the sender's 10 s).
    fake.queue(Service::Telegram, &[Mode::RateLimited(8)]);
    fake.queue(
        Service::Discord,
        &[Mode::ServerError, Mode::ServerError, Mode::RateLimited(1)],
    );
    fake.queue(Service::Webhook, &[Mode::Timeout]);
    let server = start(
        &db,
        &exchange,
        &fake,
        &[("SIGNALDESK_NOTIFY_EVENTS", "signal_opened")],
    );
    let id = open(&server, "plain");
    for service in ALL {
        wait_for(&format!("the message at {service:?}"), 40, || {
            (!arrived(&fake, service, "signal_opened", id).is_empty()).then_some(())
        });
        assert_eq!(arrived(&fake, service, "signal_opened", id).len(), 1);
    }
    let telegram = fake.requests(Service::Telegram);
    assert_eq!(telegram.len(), 2, "one 429, one delivery");
    let waited = telegram[1].at - telegram[0].at;
    assert!(
        waited >= Duration::from_millis(7_900),
        "Telegram's retry_after honoured: {waited:?}"
    );
    let discord = fake.requests(Service::Discord);
    let statuses: Vec<u16> = discord.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [502, 502, 429, 200]);
    // Exponential backoff with jitter: 2.5–5 s, then 5–10 s.
    let first = discord[1].at - discord[0].at;
    let second = discord[2].at - discord[1].at;
    assert!(
        first >= Duration::from_millis(2_400) && first <= Duration::from_secs(6),
        "{first:?}"
    );
    assert!(
        second >= Duration::from_millis(4_900) && second <= Duration::from_secs(11),
        "{second:?}"
    );
    let rows = wait_for("every row sent", 10, || {
        let rows = rows(&db);
        rows.iter().all(|r| r.status == "SENT").then_some(rows)
    });
    let attempts: Vec<(String, i32)> = rows
        .iter()
        .map(|r| (r.target.clone(), r.attempts))
        .collect();
    assert_eq!(
        attempts.iter().map(|(_, a)| a).collect::<Vec<_>>(),
        [&2, &4, &2],
        "telegram, discord, webhook, as configured: {attempts:?}"
    );
    assert!(rows.iter().any(|r| r
        .last_error
        .as_deref()
        .is_some_and(|e| e.contains("timed out"))));
    drop(server);
}

fn a_message_refused_or_failing_too_often_is_failed_and_shown() {
    let db = TempDb::sqlite();
    let exchange = FakeExchange::start(&[("BTCUSDT", 100.0)]);
    let fake = FakeNotify::start();
    fake.set(Service::Webhook, Mode::ServerError);
    fake.set(Service::Discord, Mode::NotFound);
    // Should Telegram ever refuse the HTML, the message goes out as plain text.
    fake.queue(Service::Telegram, &[Mode::ParseError]);
    let server = start(
        &db,
        &exchange,
        &fake,
        &[
            ("SIGNALDESK_NOTIFY_EVENTS", "signal_opened"),
            ("SIGNALDESK_NOTIFY_MAX_ATTEMPTS", "2"),
        ],
    );
    let id = open(&server, "plain");
    wait_for("Telegram's message", 20, || {
        (!arrived(&fake, Service::Telegram, "signal_opened", id).is_empty()).then_some(())
    });
    let telegram = fake.requests(Service::Telegram);
    let statuses: Vec<u16> = telegram.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [400, 200]);
    assert_eq!(
        telegram[1].body.get("parse_mode"),
        None,
        "{}",
        telegram[1].body
    );
    let plain = &arrived(&fake, Service::Telegram, "signal_opened", id)[0];
    assert!(plain.contains("Notes: plain"), "{plain}");
    let health = wait_for("both others FAILED", 20, || {
        let health = server.get_json("/api/health");
        (health["notifications"]["failed"] == 2).then_some(health)
    });
    let outbox = &health["notifications"];
    assert_eq!(outbox["pending"], 0, "{outbox}");
    assert_eq!(outbox["sent"], 1, "{outbox}");
    assert!(outbox["last_error"].as_str().is_some(), "{outbox}");
    // A refusal (404) is final at once; a 500 is retried until the attempts are used up.
    assert_eq!(fake.requests(Service::Discord).len(), 1);
    assert_eq!(fake.requests(Service::Webhook).len(), 2);
    let by_kind = |kind: &str| {
        rows(&db)
            .into_iter()
            .find(|r| r.target.starts_with(kind))
            .expect("row")
    };
    let discord = by_kind("discord:");
    assert_eq!((discord.status.as_str(), discord.attempts), ("FAILED", 1));
    assert!(discord
        .last_error
        .unwrap()
        .contains("HTTP 404: Unknown Webhook"));
    let webhook = by_kind("webhook:");
    assert_eq!((webhook.status.as_str(), webhook.attempts), ("FAILED", 2));
    assert!(webhook.last_error.unwrap().contains("HTTP 500"));
    let metrics = server.get("/metrics").text().unwrap();
    assert!(
        metrics.lines().any(
            |l| l.starts_with("signaldesk_notifications{target=\"webhook:")
                && l.ends_with("status=\"failed\"} 1")
        ),
        "{metrics}"
    );
    let page = server.get("/").text().unwrap();
    assert!(
        page.contains("id=\"notify-failing\""),
        "the dashboard shows failing targets"
    );
    assert!(page.contains(&discord.target), "{}", discord.target);
    assert!(!page.contains("d1sc0rd-s3cret"));
}

fn a_kill_between_a_close_and_its_delivery_loses_nothing(db: TempDb) {
    let exchange = FakeExchange::start(&[("BTCUSDT", 100.0)]);
    let fake = FakeNotify::start();
    let server = start(
        &db,
        &exchange,
        &fake,
        &[("SIGNALDESK_NOTIFY_EVENTS", "trade_closed,leader_changed")],
    );
    let id = open(&server, NOTES);
    wait_for("the first leader's message sent", 20, || {
        let rows = rows(&db);
        (rows.len() == 3 && rows.iter().all(|r| r.status == "SENT")).then_some(())
    });
    // Every target down: the close commits with its rows, which cannot go out.
    for service in ALL {
        fake.set(service, Mode::ServerError);
    }
    close(&server, id, json!({}));
    wait_for("a failed attempt at every target", 20, || {
        let closes: Vec<NotificationRow> = rows(&db)
            .into_iter()
            .filter(|r| r.event == "trade_closed")
            .collect();
        (closes.len() == 3
            && closes
                .iter()
                .all(|r| r.attempts >= 1 && r.status == "PENDING"))
        .then_some(())
    });
    server.kill();
    for service in ALL {
        fake.set(service, Mode::Ok);
    }
    let _server = start(
        &db,
        &exchange,
        &fake,
        &[("SIGNALDESK_NOTIFY_EVENTS", "trade_closed,leader_changed")],
    );
    for service in ALL {
        let texts = wait_for(
            &format!("the close at {service:?} after the restart"),
            30,
            || {
                let got = arrived(&fake, service, "trade_closed", id);
                (!got.is_empty()).then_some(got)
            },
        );
        assert_eq!(texts.len(), 1, "{service:?}: {texts:?}");
        assert!(texts[0].contains(NOTES), "{}", texts[0]);
    }
    // The restarted instance took the lead at the next epoch, and said so.
    let epochs = wait_for("the new leader's message", 20, || {
        let mut epochs: Vec<i64> = fake
            .delivered(Service::Webhook)
            .iter()
            .filter(|d| d.body["event"] == "leader_changed")
            .filter_map(|d| d.body["data"]["epoch"].as_i64())
            .collect();
        epochs.sort_unstable();
        (epochs.len() >= 2).then_some(epochs)
    });
    assert_eq!(epochs.len(), 2, "{epochs:?}");
    assert!(epochs[1] > epochs[0], "{epochs:?}");
    wait_for("every row SENT", 10, || {
        rows(&db).iter().all(|r| r.status == "SENT").then_some(())
    });
}

fn two_instances_never_send_one_message_twice(db: TempDb) {
    let exchange = FakeExchange::start(&[("BTCUSDT", 100.0)]);
    let fake = FakeNotify::start();
    let events = ("SIGNALDESK_NOTIFY_EVENTS", "signal_opened,trade_closed");
    let first = start(&db, &exchange, &fake, &[events]);
    let second = start(&db, &exchange, &fake, &[events]);
    let mut ids = Vec::new();
    for i in 0..4 {
        let server = if i % 2 == 0 { &first } else { &second };
        let id = open(server, &format!("trade {i}"));
        close(server, id, json!({}));
        ids.push(id);
    }
    for service in ALL {
        for &id in &ids {
            for event in ["signal_opened", "trade_closed"] {
                wait_for(&format!("{event} #{id} at {service:?}"), 20, || {
                    (!arrived(&fake, service, event, id).is_empty()).then_some(())
                });
            }
        }
    }
    // Give a second sender every chance to send again.
    std::thread::sleep(Duration::from_secs(2));
    for service in ALL {
        for &id in &ids {
            for event in ["signal_opened", "trade_closed"] {
                assert_eq!(
                    arrived(&fake, service, event, id).len(),
                    1,
                    "{service:?} {event} #{id}"
                );
            }
        }
        assert_eq!(fake.requests(Service::Webhook).len(), 8);
    }
}

crate::on_both_backends!(
    every_open_and_close_arrives_at_every_target_literally,
    a_kill_between_a_close_and_its_delivery_loses_nothing,
    two_instances_never_send_one_message_twice,
);

#[test]
fn rate_limits_and_outages_delay_but_never_lose() {
    rate_limits_outages_and_timeouts_delay_a_message_but_never_lose_it();
}

#[test]
fn refusals_and_used_up_attempts_are_failed_and_shown() {
    a_message_refused_or_failing_too_often_is_failed_and_shown();
}

#[test]
fn notify_test_reports_each_target_and_names_the_failed() {
    let db = TempDb::sqlite();
    let fake = FakeNotify::start();
    let targets = fake.targets("a");
    let env = [
        ("SIGNALDESK_NOTIFY", targets.as_str()),
        ("SIGNALDESK_TELEGRAM_API_URL", fake.url.as_str()),
    ];
    let (code, out, err) = run_cli(&db, &["notify-test"], &env);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("ok ")).count(),
        3,
        "{out}"
    );
    for service in ALL {
        let got = fake.delivered(service);
        assert_eq!(got.len(), 1, "{service:?}");
        assert!(
            got[0].text.contains("signaldesk test message"),
            "{}",
            got[0].text
        );
    }
    fake.set(Service::Discord, Mode::NotFound);
    fake.set(Service::Telegram, Mode::RateLimited(30));
    let (code, out, err) = run_cli(&db, &["notify-test"], &env);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("ok      webhook:"), "{out}");
    assert!(
        out.contains("FAILED  discord:") && out.contains("HTTP 404"),
        "{out}"
    );
    assert!(
        out.contains("FAILED  telegram:123456:****:-100777: HTTP 429"),
        "{out}"
    );
    assert!(
        err.contains("discord:") && err.contains("telegram:"),
        "{err}"
    );
    assert!(!out.contains("s3cret") && !err.contains("s3cret") && !out.contains("AAfake"));
    let (code, _, err) = run_cli(&db, &["notify-test"], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("SIGNALDESK_NOTIFY"), "{err}");
}

#[test]
fn the_outbox_skips_nothing_and_sends_in_order() {
    // The repository's contract at the level the sender uses it.
    let db = TempDb::sqlite();
    let mut conn = db.conn();
    let now = crate::helpers::at("2026-12-03 10:00:00");
    let event = signaldesk::domain::notify::Event::SignalOpened;
    for key in ["a", "b", "c"] {
        notifications::enqueue(&mut conn, &["t".into()], event, key, "{}", now).unwrap();
    }
    let mut sent = Vec::new();
    while let Some(head) = notifications::due(&mut conn, now).unwrap().pop() {
        notifications::mark_sent(&mut conn, head.id, now).unwrap();
        sent.push(head.dedupe_key);
    }
    assert_eq!(sent, ["a", "b", "c"]);
}
