//! How long the instances on one database go without a leader when it dies (DESIGN.md §9;
//! issue 11 target: a takeover within one lease). Three real `signaldesk serve` processes on one
//! database (a SQLite file, or a fresh PostgreSQL database with `SIGNALDESK_BENCH_DATABASE_URL`,
//! see `common`), the simulated feed, tick 1 s, so a lease of 3 s. Each round finds the leader,
//! then either:
//! - `kill -9`s it: the survivors see on this machine that its process is gone and take over at
//!   their next try; or
//! - stops it (SIGSTOP): to the others it looks exactly like a leader that died on another
//!   machine (silent, but not known dead), so they must wait for its lease to run out;
//!
//! and measures the time until a survivor holds the lease, as `/api/health` reports it. The dead
//! or stopped instance is replaced by a new one before the next round. Run with
//! `cargo bench --bench takeover`; prints min / median / max per mode.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const ROUNDS: usize = 8;
const TICK_SECS: u64 = 1;

struct Instance {
    child: Child,
    address: String,
}

impl Instance {
    fn start(url: &str, dir: &std::path::Path) -> Instance {
        let mut child = Command::new(env!("CARGO_BIN_EXE_signaldesk"))
            .arg("serve")
            .env_clear()
            .env("DATABASE_URL", url)
            .env("SIGNALDESK_BIND", "127.0.0.1:0")
            .env("SIGNALDESK_FEED", "simulated")
            .env("SIGNALDESK_SCAN", "off")
            .env("SIGNALDESK_TICK_SECS", TICK_SECS.to_string())
            .env("RUST_LOG", "error")
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start signaldesk");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let address = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(addr) = line.strip_prefix("signaldesk listening on ") {
                        break addr.trim().to_owned();
                    }
                }
                _ => panic!("signaldesk exited before listening"),
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Instance { child, address }
    }

    fn health(&self, client: &reqwest::blocking::Client) -> Option<Value> {
        client
            .get(format!("{}/api/health", self.address))
            .send()
            .ok()?
            .json()
            .ok()
    }

    fn signal(&self, signal: &str) {
        let _ = Command::new("sh")
            .args(["-c", &format!("kill -{signal} {}", self.child.id())])
            .status();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The running lease's holder as `instance` reports it.
fn holder(health: &Value) -> Option<String> {
    let leader = &health["leader"];
    (leader["expired"] == false).then(|| leader["holder"].as_str().map(str::to_owned))?
}

/// The index of the leader once every instance names the same one of them.
fn leader(instances: &[Instance], client: &reqwest::blocking::Client) -> usize {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let healths: Vec<Option<Value>> = instances.iter().map(|i| i.health(client)).collect();
        let ids: Vec<Option<String>> = healths
            .iter()
            .map(|h| {
                h.as_ref()
                    .and_then(|h| h["instance"].as_str().map(str::to_owned))
            })
            .collect();
        let holders: Vec<Option<String>> = healths
            .iter()
            .map(|h| h.as_ref().and_then(holder))
            .collect();
        if let Some(Some(first)) = holders.first() {
            if holders.iter().all(|h| h.as_ref() == Some(first)) {
                if let Some(index) = ids.iter().position(|id| id.as_ref() == Some(first)) {
                    return index;
                }
            }
        }
        assert!(Instant::now() < deadline, "no agreed leader within 30 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Milliseconds from now until one of `survivors` reports a running lease held by another than
/// `old`.
fn until_takeover(survivors: &[&Instance], old: &str, client: &reqwest::blocking::Client) -> f64 {
    let started = Instant::now();
    loop {
        for instance in survivors {
            if let Some(h) = instance.health(client).as_ref().and_then(holder) {
                if h != old {
                    return started.elapsed().as_secs_f64() * 1000.0;
                }
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no takeover within 60 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn report(mode: &str, mut ms: Vec<f64>) {
    ms.sort_by(f64::total_cmp);
    println!(
        "  {mode:<44} min {:>7.0} ms  median {:>7.0} ms  max {:>7.0} ms  ({} rounds)",
        ms[0],
        ms[ms.len() / 2],
        ms[ms.len() - 1],
        ms.len()
    );
}

fn main() {
    let db = common::BenchDb::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .expect("client");
    println!(
        "takeover on {:?}, 3 instances, tick {TICK_SECS} s, lease {} s",
        common::backend(),
        3 * TICK_SECS
    );
    let mut instances: Vec<Instance> = (0..3)
        .map(|_| Instance::start(db.url(), dir.path()))
        .collect();
    for mode in [
        "kill -9 (the same machine)",
        "SIGSTOP (as a death elsewhere looks)",
    ] {
        let mut times = Vec::with_capacity(ROUNDS);
        for _ in 0..ROUNDS {
            let index = leader(&instances, &client);
            let old = instances[index]
                .health(&client)
                .and_then(|h| h["instance"].as_str().map(str::to_owned))
                .expect("the leader's id");
            let gone = instances.remove(index);
            let survivors: Vec<&Instance> = instances.iter().collect();
            if mode.starts_with("kill") {
                // Reaped at once, as systemd or a shell would: a zombie still has its /proc entry.
                let started = Instant::now();
                drop(gone);
                until_takeover(&survivors, &old, &client);
                times.push(started.elapsed().as_secs_f64() * 1000.0);
            } else {
                gone.signal("STOP");
                times.push(until_takeover(&survivors, &old, &client));
                drop(gone);
            }
            instances.push(Instance::start(db.url(), dir.path()));
        }
        report(mode, times);
    }
}
