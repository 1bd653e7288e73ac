//! Shared test fixtures: temporary databases, a signal builder, and the real `signaldesk`
//! binary started on a free port.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::QueryResult;
use signaldesk::db::intake::{opened_signal, SignalRequest};
use signaldesk::db::models::{NewSignal, SignalId, SignalRow};
use signaldesk::db::signals::{
    close_in_transaction, insert_signal, AddOutcome, CloseOutcome, CloseRequest,
};
use signaldesk::db::{self, Backend, Conn};
use signaldesk::domain::management::Management;
use signaldesk::domain::pnl::fill_fee;
use signaldesk::domain::trading::Sizing;
use signaldesk::domain::{Direction, Symbol};
use tempfile::TempDir;

pub const INITIAL_BALANCE: f64 = 10_000.0;
pub const API_TOKEN: &str = "test-token-0123456789";
pub const FEE_RATE: f64 = 0.001;

/// A migrated database of either backend, with a temporary working folder, removed on drop:
/// a SQLite file in that folder, or a fresh PostgreSQL database on the test server
/// (`SIGNALDESK_TEST_POSTGRES_URL`, the URL of a role that may create databases).
pub struct TempDb {
    pub dir: TempDir,
    url: String,
    postgres: Option<PgDatabase>,
}

/// A PostgreSQL database made for one test, dropped with it.
struct PgDatabase {
    admin_url: String,
    name: String,
}

/// The PostgreSQL server the tests may create databases on, if one is configured.
fn postgres_admin_url() -> Option<String> {
    let url = std::env::var("SIGNALDESK_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() && std::env::var("SIGNALDESK_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
        panic!("SIGNALDESK_REQUIRE_POSTGRES=1 but SIGNALDESK_TEST_POSTGRES_URL is not set");
    }
    url
}

impl TempDb {
    /// A migrated SQLite file.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = dir
            .path()
            .join("data")
            .join("signaldesk.db")
            .to_string_lossy()
            .into_owned();
        TempDb::migrated(TempDb {
            dir,
            url,
            postgres: None,
        })
    }

    /// A migrated SQLite file (the name beside [`TempDb::postgres`]).
    pub fn sqlite() -> Self {
        TempDb::new()
    }

    /// A migrated, empty PostgreSQL database, or `None` (with a message) when no test server is
    /// configured; with `SIGNALDESK_REQUIRE_POSTGRES=1` a missing server fails the test.
    pub fn postgres() -> Option<Self> {
        let Some(admin_url) = postgres_admin_url() else {
            eprintln!(
                "skipped: the PostgreSQL half of this test needs SIGNALDESK_TEST_POSTGRES_URL"
            );
            return None;
        };
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let name = format!(
            "sd_test_{}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst),
            chrono::Utc::now().timestamp_subsec_micros()
        );
        let mut admin = db::connect(&admin_url).expect("connect to the PostgreSQL test server");
        diesel::connection::SimpleConnection::batch_execute(
            &mut admin,
            &format!("CREATE DATABASE {name}"),
        )
        .expect("create a test database");
        let dir = tempfile::tempdir().expect("temp dir");
        let url = db::with_database(&admin_url, &name);
        Some(TempDb::migrated(TempDb {
            dir,
            url,
            postgres: Some(PgDatabase { admin_url, name }),
        }))
    }

    /// Another fresh database on the same backend.
    pub fn another(&self) -> TempDb {
        match self.backend() {
            Backend::Sqlite => TempDb::sqlite(),
            Backend::Postgres => TempDb::postgres().expect("the PostgreSQL test server"),
        }
    }

    fn migrated(db: TempDb) -> TempDb {
        let mut conn = db.conn();
        db::run_migrations(&mut conn).expect("migrations");
        db
    }

    /// The `DATABASE_URL` of this database.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    pub fn backend(&self) -> Backend {
        Backend::of(&self.url)
    }

    /// A fresh connection with the production settings.
    pub fn conn(&self) -> Conn {
        db::connect(&self.url()).expect("connect")
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        if let Some(pg) = &self.postgres {
            if let Ok(mut admin) = db::connect(&pg.admin_url) {
                let _ = diesel::connection::SimpleConnection::batch_execute(
                    &mut admin,
                    &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", pg.name),
                );
            }
        }
    }
}

/// Another process's writer holding the database's write lock until [`WriteLock::release`]:
/// every write transaction waits behind it (and gives up after the busy or lock timeout), while
/// reads go on.
pub struct WriteLock(Conn);

impl TempDb {
    pub fn hold_write_lock(&self) -> WriteLock {
        let mut conn = self.conn();
        let sql = match self.backend() {
            Backend::Sqlite => "BEGIN IMMEDIATE".to_owned(),
            Backend::Postgres => format!("SELECT pg_advisory_lock({})", db::WRITE_LOCK),
        };
        diesel::connection::SimpleConnection::batch_execute(&mut conn, &sql)
            .expect("take the write lock");
        WriteLock(conn)
    }
}

impl WriteLock {
    pub fn release(mut self) {
        let sql = match self.0.backend() {
            Backend::Sqlite => "ROLLBACK".to_owned(),
            Backend::Postgres => format!("SELECT pg_advisory_unlock({})", db::WRITE_LOCK),
        };
        diesel::connection::SimpleConnection::batch_execute(&mut self.0, &sql)
            .expect("release the write lock");
    }
}

/// What a server or CLI run needs of a database: its `DATABASE_URL` and a working folder.
pub trait Database {
    fn database_url(&self) -> String;
    fn workdir(&self) -> PathBuf;
}

impl Database for TempDb {
    fn database_url(&self) -> String {
        self.url()
    }

    fn workdir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}

impl<T: Database + ?Sized> Database for &T {
    fn database_url(&self) -> String {
        (**self).database_url()
    }

    fn workdir(&self) -> PathBuf {
        (**self).workdir()
    }
}

/// A SQLite file given by its path; its folder's parent is the working folder.
impl Database for Path {
    fn database_url(&self) -> String {
        self.to_string_lossy().into_owned()
    }

    fn workdir(&self) -> PathBuf {
        self.parent()
            .and_then(Path::parent)
            .unwrap_or(Path::new("."))
            .to_path_buf()
    }
}

impl Database for PathBuf {
    fn database_url(&self) -> String {
        self.as_path().database_url()
    }

    fn workdir(&self) -> PathBuf {
        self.as_path().workdir()
    }
}

/// For each named fn taking a `TempDb`, two tests: `name::sqlite` runs it on a migrated SQLite
/// file, `name::postgres` on a fresh PostgreSQL database (skipped with a message when no test
/// server is configured, see [`TempDb::postgres`]).
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[test]
            fn sqlite() {
                super::$name($crate::helpers::TempDb::sqlite());
            }

            #[test]
            fn postgres() {
                if let Some(db) = $crate::helpers::TempDb::postgres() {
                    super::$name(db);
                }
            }
        }
    )+};
}

/// `YYYY-MM-DD HH:MM:SS` in UTC.
pub fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").expect("timestamp")
}

pub fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
}

/// Builds valid signals, stored through the same row shape the intake stores:
/// `SignalBuilder::long("BTCUSDT").levels(100.0, 95.0, 110.0).quantity(2.0).insert(conn, now)`.
pub struct SignalBuilder {
    request: SignalRequest,
    entry: f64,
    quantity: f64,
    management: Management,
}

impl SignalBuilder {
    fn new(symbol: &str, direction: Direction, entry: f64, stop: f64, target: f64) -> Self {
        SignalBuilder {
            request: SignalRequest {
                symbol: Symbol::parse(symbol).expect("a fixture symbol"),
                direction,
                stop_loss: stop,
                take_profit: target,
                confidence: 0.8,
                strategy: "test".to_owned(),
                timeframe: Some("5m".to_owned()),
                external_id: None,
                reasons: "fixture".to_owned(),
                notes: None,
                management: Default::default(),
            },
            entry,
            quantity: 1.0,
            management: Management::default(),
        }
    }

    pub fn long(symbol: &str) -> Self {
        SignalBuilder::new(symbol, Direction::Long, 100.0, 95.0, 110.0)
    }

    pub fn short(symbol: &str) -> Self {
        SignalBuilder::new(symbol, Direction::Short, 100.0, 105.0, 90.0)
    }

    pub fn levels(mut self, entry: f64, stop: f64, target: f64) -> Self {
        self.entry = entry;
        self.request.stop_loss = stop;
        self.request.take_profit = target;
        self
    }

    pub fn quantity(mut self, quantity: f64) -> Self {
        self.quantity = quantity;
        self
    }

    pub fn external_id(mut self, id: &str) -> Self {
        self.request.external_id = Some(id.to_owned());
        self
    }

    /// Partial targets, breakeven and trailing stop as stored (not checked against the levels).
    pub fn management(mut self, management: Management) -> Self {
        self.management = management;
        self
    }

    pub fn notes(mut self, notes: &str) -> Self {
        self.request.notes = Some(notes.to_owned());
        self
    }

    /// The row as the intake would store it, opened at `now` (the levels are not checked: a test
    /// may store what an older version let through).
    pub fn build(self, now: NaiveDateTime) -> NewSignal {
        let sizing = Sizing {
            quantity: self.quantity,
            risk_amount: (self.entry - self.request.stop_loss).abs() * self.quantity,
            entry_fee: fill_fee(self.entry, self.quantity, FEE_RATE),
        };
        opened_signal(&self.request, self.entry, &sizing, &self.management, now)
    }

    /// Store it at `now` and return the new row.
    pub fn insert(self, conn: &mut Conn, now: NaiveDateTime) -> SignalRow {
        match insert(conn, &self.build(now)).expect("insert_signal") {
            AddOutcome::Created(row) => row,
            AddOutcome::Existing(row) => panic!("expected a new signal, got existing {}", row.id),
        }
    }
}

/// Store `row` in its own write transaction, as the intake does inside its own.
pub fn insert(conn: &mut Conn, row: &NewSignal) -> QueryResult<AddOutcome> {
    db::write_tx(conn, |conn| insert_signal(conn, row, INITIAL_BALANCE))
}

/// Close trade `id` in its own write transaction, as the tick and a manual close do inside
/// theirs.
pub fn close_trade(
    conn: &mut Conn,
    id: SignalId,
    request: &CloseRequest,
) -> QueryResult<CloseOutcome> {
    db::write_tx(conn, |conn| {
        close_in_transaction(conn, id, request, INITIAL_BALANCE)
    })
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
pub fn run_cli(
    db: &(impl Database + ?Sized),
    args: &[&str],
    env: &[(&str, &str)],
) -> (i32, String, String) {
    let output = Command::new(binary())
        .args(args)
        .env_clear()
        .env("DATABASE_URL", db.database_url())
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .current_dir(db.workdir())
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
    let (code, out, err) = run_cli(db, &["check"], &[]);
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
    pub fn start(db: &(impl Database + ?Sized), env: &[(&str, &str)]) -> Self {
        TestServer::start_with_stderr(db, env, Stdio::inherit())
    }

    /// `start`, with the server's log (stderr) sent to `stderr`, e.g. a file to read back.
    pub fn start_with_stderr(
        db: &(impl Database + ?Sized),
        env: &[(&str, &str)],
        stderr: Stdio,
    ) -> Self {
        let mut child = Command::new(binary())
            .arg("serve")
            .env_clear()
            .env("DATABASE_URL", db.database_url())
            .env("SIGNALDESK_BIND", "127.0.0.1:0")
            .env("SIGNALDESK_SCAN", "off")
            .env("SIGNALDESK_FEED", "bybit")
            .env("SIGNALDESK_TICK_SECS", "1")
            .env("SIGNALDESK_API_TOKEN", API_TOKEN)
            .env("SIGNALDESK_INITIAL_BALANCE", INITIAL_BALANCE.to_string())
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .current_dir(db.workdir())
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

    /// Send `signal` (`STOP`, `CONT`, …) to the process.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.id().to_string();
        let sent = Command::new("sh")
            .args(["-c", &format!("kill -{signal} {pid}")])
            .status()
            .expect("kill");
        assert!(sent.success(), "kill -{signal} {pid}");
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

/// Store `row` with the columns `signals` had before trade management (migration
/// 2026-12-04-000001): what a test that reverts to an older schema can write.
pub fn insert_as_before_management(conn: &mut Conn, row: &NewSignal) {
    use diesel::sql_types::{Double, Nullable, Text, Timestamp};
    use diesel::RunQueryDsl;
    diesel::sql_query(
        "INSERT INTO signals (symbol, direction, status, entry_price, stop_loss, take_profit, \
         quantity, risk_amount, confidence, strategy, timeframe, external_id, reasons, notes, \
         current_price, unrealized_pnl, max_favorable_price, max_adverse_price, fees, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
         $16, $17, $18, $19, $20, $21)",
    )
    .bind::<Text, _>(&row.symbol)
    .bind::<Text, _>(row.direction)
    .bind::<Text, _>(row.status)
    .bind::<Double, _>(row.entry_price)
    .bind::<Double, _>(row.stop_loss)
    .bind::<Double, _>(row.take_profit)
    .bind::<Double, _>(row.quantity)
    .bind::<Double, _>(row.risk_amount)
    .bind::<Double, _>(row.confidence)
    .bind::<Text, _>(&row.strategy)
    .bind::<Nullable<Text>, _>(&row.timeframe)
    .bind::<Nullable<Text>, _>(&row.external_id)
    .bind::<Text, _>(&row.reasons)
    .bind::<Nullable<Text>, _>(&row.notes)
    .bind::<Double, _>(row.current_price)
    .bind::<Double, _>(row.unrealized_pnl)
    .bind::<Double, _>(row.max_favorable_price)
    .bind::<Double, _>(row.max_adverse_price)
    .bind::<Double, _>(row.fees)
    .bind::<Timestamp, _>(row.created_at)
    .bind::<Timestamp, _>(row.updated_at)
    .execute(conn)
    .expect("insert with the old columns");
}

/// Follow `symbol`'s open trades to one quote (last, high, low) polled at `when`, as a tick does,
/// with the default rules; every trade must book.
pub fn tick_once(
    conn: &mut Conn,
    symbol: &str,
    quote: (f64, f64, f64),
    when: NaiveDateTime,
) -> signaldesk::engine::tick::TickOutcome {
    let rules = signaldesk::domain::rules::TradingRules::defaults_for(INITIAL_BALANCE);
    tick_with(conn, symbol, quote, when, &rules)
}

/// [`tick_once`] under `rules`.
pub fn tick_with(
    conn: &mut Conn,
    symbol: &str,
    (last, high, low): (f64, f64, f64),
    when: NaiveDateTime,
    rules: &signaldesk::domain::rules::TradingRules,
) -> signaldesk::engine::tick::TickOutcome {
    let quote = quote_at(symbol, (last, high, low), when);
    let outcome = signaldesk::engine::tick::update_paper_trades(
        conn,
        &std::collections::BTreeMap::from([(symbol.to_owned(), quote)]),
        rules,
        INITIAL_BALANCE,
        when,
    )
    .expect("tick");
    assert!(outcome.failed.is_empty(), "{:?}", outcome.failed);
    outcome
}

/// A polled quote (last, high, low) of `symbol` at `when`, without candles.
pub fn quote_at(
    symbol: &str,
    (last, high, low): (f64, f64, f64),
    when: NaiveDateTime,
) -> signaldesk::feeds::Quote {
    let time = when.and_utc();
    signaldesk::feeds::Quote {
        symbol: symbol.to_owned(),
        last_price: last,
        high,
        low,
        price_time: time,
        market_time: time,
        change_24h_pct: None,
        high_24h: None,
        low_24h: None,
        volume_24h: None,
        minute_candles: Vec::new(),
    }
}

/// Partial targets from (price, fraction) pairs.
pub fn targets(list: &[(f64, f64)]) -> Vec<signaldesk::domain::management::PartialTarget> {
    list.iter()
        .map(|&(price, fraction)| signaldesk::domain::management::PartialTarget { price, fraction })
        .collect()
}

/// Revert migrations, newest first, until `version` (e.g. `"20261204000001"`) and every later one
/// are undone: the schema as it was before that migration, however many came after it.
pub fn revert_to_before(conn: &mut Conn, version: &str) {
    use diesel_migrations::MigrationHarness;
    loop {
        let applied: Vec<String> = match conn {
            Conn::Sqlite(c) => c.applied_migrations(),
            Conn::Postgres(c) => c.applied_migrations(),
        }
        .expect("applied migrations")
        .iter()
        .map(ToString::to_string)
        .collect();
        if !applied.iter().any(|v| v.as_str() >= version) {
            return;
        }
        match conn {
            Conn::Sqlite(c) => c.revert_last_migration(db::SQLITE_MIGRATIONS),
            Conn::Postgres(c) => c.revert_last_migration(db::POSTGRES_MIGRATIONS),
        }
        .expect("revert a migration");
    }
}
