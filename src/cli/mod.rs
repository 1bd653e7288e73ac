//! The command line (DESIGN.md §6, §9): `serve` (the default), `migrate`, `check`,
//! `backup <file>`, `backtest`, `export`, `reset`, `convert-db --to <url>`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod convert;
mod history;

use clap::{Args, Parser, Subcommand};

use crate::app::App;
use crate::config::{self, Config};
use crate::db;
use crate::domain::management::{ManagementDefaults, TargetSpec};

#[derive(Debug, Parser)]
#[command(
    name = "signaldesk",
    version,
    about = "Crypto trading signals and paper trading"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Configuration file [default: ./signaldesk.toml when present]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// SQLite database file (DATABASE_URL)
    #[arg(long, global = true, value_name = "PATH")]
    pub database_url: Option<String>,
    /// Any configuration key, e.g. --set fee_rate=0.2% (repeatable; overrides file and env)
    #[arg(long = "set", global = true, value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server, the paper-trading engine and the scanner (the default)
    Serve(ServeArgs),
    /// Apply pending database migrations and exit
    Migrate,
    /// Check the database invariants; exit 1 on any violation
    Check,
    /// Recompute every derived table (the analytics rollups) from the raw rows, in one
    /// transaction
    Rebuild,
    /// Write a consistent copy of the (possibly live) database to FILE
    Backup {
        /// Target file; must not exist yet
        file: PathBuf,
    },
    /// Backtest the ict strategy with the paper-trading rules over historical 1-minute klines
    Backtest(BacktestArgs),
    /// Export signals, the journal or daily stats as CSV or JSON
    Export(ExportArgs),
    /// Start a fresh paper account (backs the database up to a timestamped file first)
    Reset {
        /// Really delete every signal, journal entry and daily row
        #[arg(long)]
        yes: bool,
    },
    /// Send one test message to every SIGNALDESK_NOTIFY target and report each result; exit 1
    /// naming the targets that failed
    NotifyTest,
    /// Copy the whole account into an empty database of either backend, then check the copy
    ConvertDb {
        /// The target: a SQLite file path or a postgres:// URL, holding no account yet
        #[arg(long, value_name = "DATABASE_URL")]
        to: String,
    },
}

#[derive(Debug, Args)]
pub struct BacktestArgs {
    /// Exchange symbol, e.g. BTCUSDT
    #[arg(long)]
    pub symbol: String,
    /// Strategy timeframe [default: SIGNALDESK_TIMEFRAME]
    #[arg(long)]
    pub timeframe: Option<String>,
    /// First day or RFC 3339 time [default: the first candle]
    #[arg(long)]
    pub from: Option<String>,
    /// Last day (inclusive) or RFC 3339 time (exclusive) [default: the last candle]
    #[arg(long)]
    pub to: Option<String>,
    /// Folder of <SYMBOL>-1m.csv kline files [default: SIGNALDESK_REPLAY_DIR]
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Where the candles come from: simulated (offline, the simulated market), bybit or binance
    /// (the exchange's history), replay (the kline files) [default: --data, then SIGNALDESK_FEED]
    #[arg(long, value_name = "FEED")]
    pub feed: Option<String>,
    /// Keep the backtest's trades in this new SQLite file (default: in memory)
    #[arg(long, value_name = "FILE")]
    pub database: Option<PathBuf>,
    /// Write the trades as CSV to FILE
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Write the report with every analytics figure as one self-contained HTML file
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub management: ManagementArgs,
}

/// A list of partial targets; an alias, so clap takes the flag once rather than as a list.
type Targets = Vec<TargetSpec>;
/// A setting that may be `off`; an alias, so clap takes the flag's value as required.
type OffOr = Option<f64>;

/// The trade management of a backtest's trades (DESIGN.md §10): each flag overrides its
/// configuration key (`SIGNALDESK_TAKE_PROFITS`, …) and takes the same values.
#[derive(Debug, Default, Args)]
pub struct ManagementArgs {
    /// Partial take-profits, e.g. 1R:50% or 1R:30%,2R:30%, or off
    /// [default: SIGNALDESK_TAKE_PROFITS]
    #[arg(
        long,
        value_name = "TARGETS",
        allow_hyphen_values = true,
        value_parser = config::take_profits_value
    )]
    pub take_profits: Option<Targets>,
    /// Move the stop to the entry at this many R, or off [default: SIGNALDESK_BREAKEVEN_AT_R]
    #[arg(
        long,
        value_name = "R",
        allow_negative_numbers = true,
        value_parser = config::breakeven_at_r_value
    )]
    pub breakeven_at_r: Option<OffOr>,
    /// Trail the stop this many percent behind the best price, in (0, 50), or off
    /// [default: SIGNALDESK_TRAILING_STOP_PCT]
    #[arg(
        long,
        value_name = "PCT",
        allow_negative_numbers = true,
        value_parser = config::trailing_stop_pct_value
    )]
    pub trailing_stop_pct: Option<OffOr>,
    /// Start trailing once the trade is this many R in profit
    /// [default: SIGNALDESK_TRAILING_ACTIVATE_AT_R]
    #[arg(
        long,
        value_name = "R",
        allow_negative_numbers = true,
        value_parser = config::trailing_activate_at_r_value
    )]
    pub trailing_activate_at_r: Option<f64>,
}

impl ManagementArgs {
    /// The configuration's defaults with the flags given laid over them.
    pub fn over(&self, defaults: &ManagementDefaults) -> ManagementDefaults {
        ManagementDefaults {
            take_profits: self
                .take_profits
                .clone()
                .unwrap_or_else(|| defaults.take_profits.clone()),
            breakeven_at_r: self.breakeven_at_r.unwrap_or(defaults.breakeven_at_r),
            trailing_stop_pct: self.trailing_stop_pct.unwrap_or(defaults.trailing_stop_pct),
            trailing_activate_at_r: self
                .trailing_activate_at_r
                .unwrap_or(defaults.trailing_activate_at_r),
        }
    }
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// signals, journal or daily
    #[arg(long)]
    pub what: String,
    /// csv or json
    #[arg(long, default_value = "csv")]
    pub format: String,
    /// First day or RFC 3339 time (signals: created_at, journal: closed_at, daily: date)
    #[arg(long)]
    pub from: Option<String>,
    /// Last day (inclusive) or RFC 3339 time (exclusive)
    #[arg(long)]
    pub to: Option<String>,
    /// Write to FILE instead of standard output
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Default, Args)]
pub struct ServeArgs {
    /// Listen address host:port (SIGNALDESK_BIND)
    #[arg(long)]
    pub bind: Option<String>,
    /// Price feed: bybit, binance, simulated, replay (SIGNALDESK_FEED)
    #[arg(long)]
    pub feed: Option<String>,
}

/// Exit codes: 0 success, 1 a failed check or a runtime failure, 2 bad configuration or usage.
pub fn run(cli: Cli) -> ExitCode {
    let command = cli.command.unwrap_or(Command::Serve(ServeArgs::default()));
    let config = match load_config(&cli.global, &command) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("signaldesk: {message}");
            return ExitCode::from(2);
        }
    };
    let result = match command {
        Command::Serve(_) => serve(config),
        Command::Migrate => migrate(&config),
        Command::Check => return check(&config),
        Command::Rebuild => rebuild(&config),
        Command::Backup { file } => backup(&config, &file),
        Command::Backtest(args) => history::backtest(&config, &args),
        Command::Export(args) => history::export(&config, &args),
        Command::Reset { yes } => history::reset(&config, yes),
        Command::ConvertDb { to } => convert::convert_db(&config, &to),
        Command::NotifyTest => notify_test(&config),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("signaldesk: {message}");
            ExitCode::FAILURE
        }
    }
}

fn load_config(global: &GlobalArgs, command: &Command) -> Result<Config, String> {
    let mut flags = Vec::new();
    for pair in &global.set {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| format!("--set expects KEY=VALUE, got `{pair}`"))?;
        flags.push((key.trim().to_owned(), value.trim().to_owned()));
    }
    if let Some(url) = &global.database_url {
        flags.push(("database_url".to_owned(), url.clone()));
    }
    if let Command::Serve(args) = command {
        if let Some(bind) = &args.bind {
            flags.push(("bind".to_owned(), bind.clone()));
        }
        if let Some(feed) = &args.feed {
            flags.push(("feed".to_owned(), feed.clone()));
        }
    }
    Config::load(global.config.as_deref(), &flags).map_err(|e| e.to_string())
}

fn serve(config: Config) -> Result<(), String> {
    log::info!(
        "signaldesk {} starting with\n{config}",
        env!("CARGO_PKG_VERSION")
    );
    actix_web::rt::System::new().block_on(async move {
        let app = App::build(config).await.map_err(|e| e.to_string())?;
        // A stable line on stdout, so scripts and tests learn the port when binding port 0.
        println!("signaldesk listening on http://{}", app.addr());
        log::info!("listening on http://{}", app.addr());
        app.run_until_stopped().await.map_err(|e| e.to_string())
    })
}

/// `signaldesk notify-test`: one message to each target, straight away (not through the outbox),
/// each result on its own line.
fn notify_test(config: &Config) -> Result<(), String> {
    use crate::notify::deliver::{Deliverer, TIMEOUT};
    if config.notify.is_empty() {
        return Err("SIGNALDESK_NOTIFY names no target: nothing to test".to_owned());
    }
    let deliverer = Deliverer::new(&config.telegram_api_url, TIMEOUT)?;
    let note = crate::notify::Note {
        event: "notify_test".to_owned(),
        title: "🔔 signaldesk test message".to_owned(),
        lines: vec![format!(
            "signaldesk {} reaches this target: trades and alerts will arrive here",
            env!("CARGO_PKG_VERSION")
        )],
        url: config.public_url.clone(),
        data: serde_json::json!({}),
    };
    let results = actix_web::rt::System::new().block_on(async {
        let sends = config
            .notify
            .iter()
            .map(|target| deliverer.send(target, &note));
        futures_util::future::join_all(sends).await
    });
    let mut failed = Vec::new();
    for (target, result) in config.notify.iter().zip(results) {
        match result {
            Ok(()) => println!("ok      {}", target.masked()),
            Err(failure) => {
                println!("FAILED  {}: {}", target.masked(), failure.error());
                failed.push(target.masked());
            }
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("could not notify {}", failed.join(", ")))
    }
}

fn migrate(config: &Config) -> Result<(), String> {
    let mut conn = db::connect(&config.database_url).map_err(|e| e.to_string())?;
    let applied = db::run_migrations(&mut conn).map_err(|e| e.to_string())?;
    if applied.is_empty() {
        println!(
            "database {} is up to date",
            db::redact(&config.database_url)
        );
    } else {
        println!(
            "applied migrations to {}: {}",
            db::redact(&config.database_url),
            applied.join(", ")
        );
    }
    Ok(())
}

/// Open an existing database; never creates a SQLite file.
fn open_existing(config: &Config) -> Result<db::Conn, String> {
    let path = db::sqlite_path(&config.database_url);
    if db::Backend::of(&config.database_url) == db::Backend::Sqlite && !Path::new(path).exists() {
        return Err(format!(
            "no database at {path}; run `signaldesk migrate` or `signaldesk serve` first"
        ));
    }
    db::connect(&config.database_url).map_err(|e| e.to_string())
}

/// `signaldesk rebuild`: the rollups recomputed from the closed trades in one write
/// transaction, with a progress bar when stderr is a terminal.
fn rebuild(config: &Config) -> Result<(), String> {
    use std::io::{IsTerminal, Write};
    let mut conn = open_existing(config)?;
    if db::has_pending_migrations(&mut conn).map_err(|e| e.to_string())? {
        return Err("the database has pending migrations; run `signaldesk migrate` first".into());
    }
    let terminal = std::io::stderr().is_terminal();
    let started = std::time::Instant::now();
    let mut trades = 0;
    let progress = |done: usize, total: usize| {
        trades = done;
        if terminal {
            let width = 30;
            let filled = if total == 0 {
                width
            } else {
                done * width / total.max(1)
            };
            eprint!(
                "\rrebuilding rollups [{}{}] {done}/{total} closed trades",
                "#".repeat(filled.min(width)),
                ".".repeat(width - filled.min(width))
            );
            let _ = std::io::stderr().flush();
        }
    };
    let rows = db::write_tx(&mut conn, |conn| {
        db::analytics::rebuild(conn, crate::clock::now_utc(), progress)
    })
    .map_err(|e| format!("rebuild failed, nothing changed: {e}"))?;
    if terminal {
        eprintln!();
    }
    println!(
        "rebuilt analytics_rollups: {rows} rows from {trades} closed trades in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn check(config: &Config) -> ExitCode {
    let mut conn = match open_existing(config) {
        Ok(conn) => conn,
        Err(message) => {
            eprintln!("signaldesk: {message}");
            return ExitCode::FAILURE;
        }
    };
    match db::has_pending_migrations(&mut conn) {
        Ok(false) => println!("ok    migrations applied"),
        Ok(true) => {
            println!("FAIL  migrations applied: pending migrations; run `signaldesk migrate`");
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("signaldesk: cannot read the migration state: {e}");
            return ExitCode::FAILURE;
        }
    }
    match db::daily_stats::initial_balance(&mut conn, config.initial_balance) {
        Ok(started) if (started - config.initial_balance).abs() > 1e-9 => println!(
            "note  the account started at {started}; SIGNALDESK_INITIAL_BALANCE ({}) only applies to a fresh account",
            config.initial_balance
        ),
        _ => {}
    }
    let findings = match db::check::run_checks(&mut conn, config.initial_balance) {
        Ok(findings) => findings,
        Err(e) => {
            eprintln!("signaldesk: check failed to run: {e}");
            return ExitCode::FAILURE;
        }
    };
    let failed = print_findings(&findings);
    if failed == 0 {
        println!("all {} invariants hold", findings.len() + 1);
        ExitCode::SUCCESS
    } else {
        println!("{failed} invariant(s) violated");
        ExitCode::FAILURE
    }
}

/// One line per invariant, `ok` or `FAIL` with what was measured; returns how many failed.
fn print_findings(findings: &[db::check::Finding]) -> usize {
    for finding in findings {
        let mark = if finding.ok { "ok  " } else { "FAIL" };
        println!("{mark}  {}: {}", finding.name, finding.detail);
    }
    findings.iter().filter(|f| !f.ok).count()
}

fn backup(config: &Config, file: &Path) -> Result<(), String> {
    let mut conn = open_existing(config)?;
    db::backup(&mut conn, file).map_err(|e| e.to_string())?;
    println!(
        "backed up {} to {}",
        db::redact(&config.database_url),
        file.display()
    );
    Ok(())
}
