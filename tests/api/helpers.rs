//! Shared test fixtures: temporary databases, a signal builder, and the real `signaldesk`
//! binary started on a free port.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::{NaiveDate, NaiveDateTime};
use signaldesk::db::signals::{add_signal, AddOutcome, SignalDraft};
use signaldesk::db::{self, models::SignalRow, Conn};
use signaldesk::domain::pnl::fill_fee;
use signaldesk::domain::Direction;
use tempfile::TempDir;

pub const INITIAL_BALANCE: f64 = 10_000.0;
pub const API_TOKEN: &str = "test-token-0123456789";
pub const FEE_RATE: f64 = 0.001;

/// A migrated SQLite file in its own temporary folder, removed on drop.
pub struct TempDb {
    pub dir: TempDir,
    pub path: PathBuf,
}

impl TempDb {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("data").join("signaldesk.db");
        let db = TempDb { dir, path };
        let mut conn = db.conn();
        db::run_migrations(&mut conn).expect("migrations");
        db
    }

    pub fn url(&self) -> String {
        self.path.to_string_lossy().into_owned()
    }

    /// A fresh connection with the production settings.
    pub fn conn(&self) -> Conn {
        db::connect(&self.url()).expect("connect")
    }
}

/// `YYYY-MM-DD HH:MM:SS` in UTC.
pub fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").expect("timestamp")
}

pub fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
}

/// Builds valid signal drafts: `SignalBuilder::long("BTCUSDT").entry(100.0).stop(95.0)`.
pub struct SignalBuilder(SignalDraft);

impl SignalBuilder {
    fn new(symbol: &str, direction: Direction, entry: f64, stop: f64, target: f64) -> Self {
        SignalBuilder(SignalDraft {
            symbol: symbol.to_owned(),
            direction,
            entry_price: entry,
            stop_loss: stop,
            take_profit: target,
            quantity: 1.0,
            risk_amount: (entry - stop).abs(),
            confidence: 0.8,
            strategy: "test".to_owned(),
            timeframe: Some("5m".to_owned()),
            external_id: None,
            reasons: "fixture".to_owned(),
            notes: None,
            entry_fee: fill_fee(entry, 1.0, FEE_RATE),
        })
    }

    pub fn long(symbol: &str) -> Self {
        SignalBuilder::new(symbol, Direction::Long, 100.0, 95.0, 110.0)
    }

    pub fn short(symbol: &str) -> Self {
        SignalBuilder::new(symbol, Direction::Short, 100.0, 105.0, 90.0)
    }

    pub fn levels(mut self, entry: f64, stop: f64, target: f64) -> Self {
        self.0.entry_price = entry;
        self.0.stop_loss = stop;
        self.0.take_profit = target;
        self.0.risk_amount = (entry - stop).abs() * self.0.quantity;
        self.0.entry_fee = fill_fee(entry, self.0.quantity, FEE_RATE);
        self
    }

    pub fn quantity(mut self, quantity: f64) -> Self {
        self.0.quantity = quantity;
        self.0.risk_amount = (self.0.entry_price - self.0.stop_loss).abs() * quantity;
        self.0.entry_fee = fill_fee(self.0.entry_price, quantity, FEE_RATE);
        self
    }

    pub fn external_id(mut self, id: &str) -> Self {
        self.0.external_id = Some(id.to_owned());
        self
    }

    pub fn notes(mut self, notes: &str) -> Self {
        self.0.notes = Some(notes.to_owned());
        self
    }

    pub fn build(self) -> SignalDraft {
        self.0
    }

    /// Store it at `now` and return the new row.
    pub fn insert(self, conn: &mut Conn, now: NaiveDateTime) -> SignalRow {
        match add_signal(conn, &self.0, INITIAL_BALANCE, now).expect("add_signal") {
            AddOutcome::Created(row) => row,
            AddOutcome::Existing(row) => panic!("expected a new signal, got existing {}", row.id),
        }
    }
}

/// Poll `check` every 50 ms until it returns a value; panics after 20 s naming `what`.
pub fn wait_until<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The path of the binary under test, built by cargo for this test run.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_signaldesk")
}

/// Run a CLI subcommand against `db`; returns (exit code, stdout, stderr).
pub fn run_cli(db_path: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let output = Command::new(binary())
        .args(args)
        .env_clear()
        .env("DATABASE_URL", db_path)
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .current_dir(
            db_path
                .parent()
                .and_then(Path::parent)
                .unwrap_or(Path::new(".")),
        )
        .output()
        .expect("run signaldesk");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `signaldesk check` on `db` exits 0: every invariant holds.
pub fn assert_check_passes(db: &TempDb) {
    let (code, out, err) = run_cli(&db.path, &["check"], &[]);
    assert_eq!(code, 0, "check failed:\n{out}{err}");
}

/// The real server as a child process on a free port, with a temporary database.
pub struct TestServer {
    child: Child,
    pub address: String,
    pub client: reqwest::blocking::Client,
}

impl TestServer {
    /// Start `signaldesk serve` on port 0 and wait for its "listening on" line.
    pub fn start(db_path: &Path, env: &[(&str, &str)]) -> Self {
        TestServer::start_with_stderr(db_path, env, Stdio::inherit())
    }

    /// `start`, with the server's log (stderr) sent to `stderr`, e.g. a file to read back.
    pub fn start_with_stderr(db_path: &Path, env: &[(&str, &str)], stderr: Stdio) -> Self {
        let mut child = Command::new(binary())
            .arg("serve")
            .env_clear()
            .env("DATABASE_URL", db_path)
            .env("SIGNALDESK_BIND", "127.0.0.1:0")
            .env("SIGNALDESK_SCAN", "off")
            .env("SIGNALDESK_FEED", "bybit")
            .env("SIGNALDESK_TICK_SECS", "1")
            .env("SIGNALDESK_API_TOKEN", API_TOKEN)
            .env("SIGNALDESK_INITIAL_BALANCE", INITIAL_BALANCE.to_string())
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .current_dir(
                db_path
                    .parent()
                    .and_then(Path::parent)
                    .unwrap_or(Path::new(".")),
            )
            .stdout(Stdio::piped())
            .stderr(stderr)
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
                _ => {
                    let status = child.wait().expect("wait");
                    panic!("signaldesk exited before listening: {status}");
                }
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client");
        TestServer {
            child,
            address,
            client,
        }
    }

    pub fn get(&self, path: &str) -> reqwest::blocking::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .expect("request")
    }

    /// POST `body` with the bearer token; returns status and JSON body.
    pub fn post(&self, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.address))
            .bearer_auth(API_TOKEN)
            .json(body)
            .send()
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().unwrap_or(serde_json::Value::Null))
    }

    /// Poll `/api/stats` until `ready` holds for it (at most 20 s).
    pub fn wait_for_stats(
        &self,
        what: &str,
        ready: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        wait_until(what, || {
            let stats = self.get_json("/api/stats");
            ready(&stats).then_some(stats)
        })
    }

    /// Wait until at least `n` more ticks have finished after this call.
    pub fn wait_ticks(&self, n: usize) {
        let first = self.get_json("/api/health")["last_tick_at"].clone();
        let mut seen = vec![first];
        wait_until("ticks", || {
            let tick = self.get_json("/api/health")["last_tick_at"].clone();
            if seen.last() != Some(&tick) {
                seen.push(tick);
            }
            (seen.len() > n).then_some(())
        });
    }

    pub fn get_json(&self, path: &str) -> serde_json::Value {
        let response = self.get(path);
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().expect("json body")
    }

    /// SIGTERM, then wait for the graceful exit; returns how the process ended.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        // The shell's builtin kill: no procps package needed.
        let _ = Command::new("sh")
            .args(["-c", &format!("kill -TERM {pid}")])
            .status();
        self.child.wait().expect("wait for signaldesk")
    }

    /// SIGKILL: the process gets no chance to clean up.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
