//! Several instances on one database (DESIGN.md §9): real server processes sharing one
//! PostgreSQL database (or one SQLite file), one leader among them, a takeover when it is killed
//! or paused, and every instance serving the same trading state and events.

use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use signaldesk::db::models::SignalId;
use signaldesk::db::signals::get_signal;
use signaldesk::db::{journal, quotes};
use signaldesk::domain::SignalStatus;

use crate::fake_exchange::FakeExchange;
use crate::helpers::{assert_check_passes, wait_until, TempDb, TestServer};

const SYMBOLS: [(&str, f64); 3] = [("BTCUSDT", 100.0), ("ETHUSDT", 200.0), ("SOLUSDT", 50.0)];

fn start(db: &TempDb, exchange: &FakeExchange) -> TestServer {
    TestServer::start(
        db,
        &[
            ("SIGNALDESK_EXCHANGE_URL", &exchange.url),
            ("SIGNALDESK_SYMBOLS", "BTCUSDT,ETHUSDT,SOLUSDT"),
            ("SIGNALDESK_COOLDOWN_MINUTES", "0"),
            ("SIGNALDESK_MAX_TRADES_PER_SYMBOL", "50"),
            ("SIGNALDESK_MAX_OPEN_TRADES", "200"),
            ("SIGNALDESK_MAX_SIGNALS_PER_DAY", "1000"),
            ("SIGNALDESK_MAX_PORTFOLIO_RISK", "100%"),
        ],
    )
}

fn instance(server: &TestServer) -> String {
    server.get_json("/api/health")["instance"]
        .as_str()
        .expect("instance id")
        .to_owned()
}

/// The leader every one of `servers` names, once they agree on one of them with a running
/// lease; its index.
fn agreed_leader(servers: &[TestServer], not: Option<&str>) -> usize {
    let ids: Vec<String> = servers.iter().map(instance).collect();
    wait_until("the instances to agree on a leader", || {
        let holders: Vec<Value> = servers
            .iter()
            .map(|s| s.get("/api/health").json::<Value>().ok())
            .collect::<Option<Vec<_>>>()?
            .into_iter()
            .map(|h| h["leader"].clone())
            .collect();
        let first = &holders[0];
        let holder = first["holder"].as_str()?;
        let agreed = holders
            .iter()
            .all(|l| l["holder"] == first["holder"] && l["expired"] == false);
        let leader = ids.iter().position(|id| id == holder)?;
        (agreed && Some(holder) != not).then_some(leader)
    })
}

fn is_leader_metric(server: &TestServer) -> u8 {
    let metrics = server.get("/metrics").text().unwrap();
    let line = metrics
        .lines()
        .find(|l| l.starts_with("signaldesk_is_leader "))
        .expect("signaldesk_is_leader");
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

/// The events of `server`'s `/api/events`, line by line, read on a thread.
fn events(server: &TestServer) -> mpsc::Receiver<String> {
    let client = reqwest::blocking::Client::builder().build().unwrap();
    let response = client
        .get(format!("{}/api/events", server.address))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(response).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Wait (at most 20 s) for an `event` whose data's `signal.id` (or `id`) is `id`.
fn wait_event(stream: &mpsc::Receiver<String>, event: &str, id: i64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut current = String::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = stream
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no {event} for #{id} within 20 s"));
        if let Some(name) = line.strip_prefix("event: ") {
            current = name.to_owned();
        } else if let Some(data) = line.strip_prefix("data: ") {
            if current == event {
                let data: Value = serde_json::from_str(data).unwrap();
                let got = data["signal"]["id"].as_i64().or(data["id"].as_i64());
                if got == Some(id) {
                    return;
                }
            }
        }
    }
}

fn open(server: &TestServer, symbol: &str, price: f64) -> (u16, Value) {
    server.post(
        "/api/signals",
        &json!({"symbol": symbol, "direction": "LONG",
                "stop_loss": price * 0.95, "take_profit": price * 1.05}),
    )
}

fn journal_entries(db: &TempDb, id: i64) -> usize {
    let mut conn = db.conn();
    let all = journal::all_entries(&mut conn).unwrap();
    all.iter().filter(|e| i64::from(e.signal_id) == id).count()
}

fn three_instances_share_one_leader_and_a_killed_leader_is_replaced(db: TempDb) {
    let exchange = FakeExchange::start(&SYMBOLS);
    let mut servers: Vec<TestServer> = (0..3).map(|_| start(&db, &exchange)).collect();
    let leader = agreed_leader(&servers, None);
    let leaders: Vec<u8> = servers.iter().map(is_leader_metric).collect();
    assert_eq!(
        leaders.iter().map(|&l| u32::from(l)).sum::<u32>(),
        1,
        "{leaders:?}"
    );
    assert_eq!(leaders[leader], 1);
    let health = servers[0].get_json("/api/health");
    assert_eq!(health["instances"].as_array().unwrap().len(), 3, "{health}");
    let leader_id = instance(&servers[leader]);
    let page = servers[(leader + 1) % 3].get("/").text().unwrap();
    assert!(
        page.contains(&format!("{leader_id} (this is ")),
        "a follower's dashboard names the leader"
    );

    // A signal posted on a follower is priced from the stored quotes, streamed by another
    // follower, and closed by the leader.
    let (a, b) = match leader {
        0 => (1, 2),
        1 => (0, 2),
        _ => (0, 1),
    };
    servers[a].wait_for_stats("a fresh price", |s| s["feed"]["status"] == "ok");
    let stream = events(&servers[b]);
    let (status, opened) = open(&servers[a], "BTCUSDT", 100.0);
    assert_eq!(status, 201, "{opened}");
    let id = opened["id"].as_i64().unwrap();
    let entry = opened["entry_price"].as_f64().unwrap();
    assert!(
        (entry - 100.05).abs() < 1e-9,
        "priced from the quote: {entry}"
    );
    wait_event(&stream, "signal_opened", id);
    exchange.set_price("BTCUSDT", 106.0);
    wait_event(&stream, "trade_closed", id);
    assert_eq!(journal_entries(&db, id), 1);
    let stats = servers[b].get_json("/api/stats");
    assert_eq!(
        stats["feed"]["status"], "ok",
        "a follower shows the leader's feed"
    );
    assert!(stats["last_tick_at"].is_string());

    // kill -9 the leader: another instance takes over and trading goes on.
    let old = instance(&servers[leader]);
    let killed_at = Instant::now();
    servers.remove(leader).kill();
    let next = agreed_leader(&servers, Some(&old));
    eprintln!(
        "takeover after the leader's kill -9: {} ms",
        killed_at.elapsed().as_millis()
    );
    let (status, opened) = open(&servers[1 - next], "ETHUSDT", 200.0);
    assert_eq!(status, 201, "{opened}");
    let id = opened["id"].as_i64().unwrap();
    exchange.set_price("ETHUSDT", 189.0);
    wait_until("the stop after the takeover", || {
        let row = get_signal(&mut db.conn(), SignalId(id as i32)).ok()?;
        (row.status == SignalStatus::Closed).then_some(())
    });
    assert_eq!(journal_entries(&db, id), 1);
    drop(servers);
    assert_check_passes(&db);
}

fn a_paused_leader_is_replaced_and_books_nothing_when_it_wakes(db: TempDb) {
    let exchange = FakeExchange::start(&SYMBOLS);
    let servers: Vec<TestServer> = (0..3).map(|_| start(&db, &exchange)).collect();
    let leader = agreed_leader(&servers, None);
    let follower = (leader + 1) % 3;
    servers[follower].wait_for_stats("a fresh price", |s| s["feed"]["status"] == "ok");
    let (status, opened) = open(&servers[follower], "SOLUSDT", 50.0);
    assert_eq!(status, 201, "{opened}");
    let id = opened["id"].as_i64().unwrap();

    // Pause the leader (its process lives on, so only its lease running out frees the lease),
    // then move the price through the target. A pause that lands inside the leader's write
    // transaction holds the database's write lock, and no instance can write until it ends
    // (SQLite), or until PostgreSQL ends the idle transaction: then the test pauses it again
    // at another moment.
    let paused = instance(&servers[leader]);
    let others: Vec<&TestServer> = servers
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != leader)
        .map(|(_, s)| s)
        .collect();
    let mut taken_over = false;
    for _attempt in 0..3 {
        servers[leader].signal("STOP");
        let deadline = Instant::now() + Duration::from_secs(8);
        while Instant::now() < deadline {
            let holder = others[0]
                .get("/api/health")
                .json::<Value>()
                .ok()
                .and_then(|h| h["leader"]["holder"].as_str().map(str::to_owned));
            if holder.is_some_and(|h| h != paused) {
                taken_over = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        if taken_over {
            break;
        }
        servers[leader].signal("CONT");
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(taken_over, "no takeover while the leader was paused");
    exchange.set_price("SOLUSDT", 53.0);
    wait_until("the target, booked by the new leader", || {
        let row = get_signal(&mut db.conn(), SignalId(id as i32)).ok()?;
        (row.status == SignalStatus::Closed).then_some(())
    });

    // Wake it: it finds the lease gone and books nothing, while the new leader goes on.
    servers[leader].signal("CONT");
    wait_until("the woken instance to know it follows", || {
        let health = servers[leader].get("/api/health").json::<Value>().ok()?;
        (health["leader"]["holder"] != paused.as_str() && is_leader_metric(&servers[leader]) == 0)
            .then_some(())
    });
    others[0].wait_ticks(3);
    assert_eq!(journal_entries(&db, id), 1, "closed once");
    let (status, opened) = open(&servers[leader], "BTCUSDT", 100.0);
    assert_eq!(
        status, 201,
        "the woken instance still takes signals: {opened}"
    );
    let second = opened["id"].as_i64().unwrap();
    exchange.set_price("BTCUSDT", 94.0);
    wait_until("the stop", || {
        let row = get_signal(&mut db.conn(), SignalId(second as i32)).ok()?;
        (row.status == SignalStatus::Closed).then_some(())
    });
    assert_eq!(journal_entries(&db, second), 1);
    drop(servers);
    assert_check_passes(&db);
}

fn leaders_killed_again_and_again_while_a_client_trades_lose_nothing(db: TempDb) {
    let exchange = FakeExchange::start(&SYMBOLS);
    let mut servers: Vec<TestServer> = (0..3).map(|_| start(&db, &exchange)).collect();
    servers[0].wait_for_stats("a fresh price", |s| s["feed"]["status"] == "ok");
    let mut seed: u64 = 0x1ead;
    let mut next = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        seed >> 33
    };
    let mut acknowledged: Vec<i64> = Vec::new();
    for round in 0..4 {
        let leader = agreed_leader(&servers, None);
        for (symbol, base) in SYMBOLS {
            exchange.set_price(symbol, base);
        }
        // Stored by a poll that began after the change (not one already under way).
        let since = chrono::Utc::now().naive_utc();
        wait_until("the leader to store the new prices", || {
            let mut conn = db.conn();
            SYMBOLS
                .iter()
                .all(|(symbol, base)| {
                    quotes::get(&mut conn, symbol)
                        .ok()
                        .flatten()
                        .is_some_and(|q| q.price == *base && q.updated_at > since)
                })
                .then_some(())
        });
        for _ in 0..6 {
            let (symbol, base) = SYMBOLS[next() as usize % SYMBOLS.len()];
            let on = next() as usize % servers.len();
            let (status, body) = open(&servers[on], symbol, base);
            assert!(
                status == 201 || status == 503,
                "round {round}: {status} {body}"
            );
            if status == 201 {
                acknowledged.push(body["id"].as_i64().unwrap());
            }
        }
        // Every price through its target, and the leader killed around the closing ticks.
        for (symbol, base) in SYMBOLS {
            exchange.set_price(symbol, base * 1.06);
        }
        std::thread::sleep(Duration::from_millis(200 + next() % 1500));
        servers.remove(leader).kill();
        servers.push(start(&db, &exchange));
        assert_check_passes(&db);
    }
    agreed_leader(&servers, None);
    wait_until("every trade closed", || {
        let stats = servers[0].get_json("/api/stats");
        (stats["active_trades"] == 0).then_some(())
    });
    assert!(!acknowledged.is_empty());
    for id in &acknowledged {
        let row = get_signal(&mut db.conn(), SignalId(*id as i32)).expect("acknowledged kept");
        assert_eq!(row.status, SignalStatus::Closed);
        assert_eq!(journal_entries(&db, *id), 1, "#{id} closed once");
    }
    drop(servers);
    assert_check_passes(&db);
}

crate::on_both_backends!(
    three_instances_share_one_leader_and_a_killed_leader_is_replaced,
    a_paused_leader_is_replaced_and_books_nothing_when_it_wakes,
    leaders_killed_again_and_again_while_a_client_trades_lose_nothing,
);
