//! The command line (DESIGN.md §6): `serve` (the default), `migrate`, `check`, `backup <file>`,
//! `backtest`, `export`, `reset`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use std::io::IsTerminal;

use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Parser, Subcommand};
use diesel::prelude::*;
use diesel_migrations::MigrationHarness;

use crate::app::App;
use crate::backtest::{trades_csv, BacktestReport, BacktestSpec};
use crate::config::{Config, TIMEFRAMES};
use crate::db;
use crate::domain::market::Timeframe;
use crate::domain::normalize_symbol;
use crate::domain::time::{day_bounds, EARLIEST, LATEST};
use crate::export::{Format, Table};
use crate::feeds::replay::read_klines;

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
    /// Keep the backtest's trades in this new SQLite file (default: in memory)
    #[arg(long, value_name = "FILE")]
    pub database: Option<PathBuf>,
    /// Write the trades as CSV to FILE
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
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
        Command::Backup { file } => backup(&config, &file),
        Command::Backtest(args) => backtest(&config, &args),
        Command::Export(args) => export(&config, &args),
        Command::Reset { yes } => reset(&config, yes),
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

fn migrate(config: &Config) -> Result<(), String> {
    let mut conn = db::connect(&config.database_url).map_err(|e| e.to_string())?;
    let applied = db::run_migrations(&mut conn).map_err(|e| e.to_string())?;
    if applied.is_empty() {
        println!("database {} is up to date", config.database_url);
    } else {
        println!(
            "applied migrations to {}: {}",
            config.database_url,
            applied.join(", ")
        );
    }
    Ok(())
}

/// Open an existing database file; never creates one.
fn open_existing(config: &Config) -> Result<db::Conn, String> {
    let path = db::sqlite_path(&config.database_url);
    if !Path::new(path).exists() {
        return Err(format!(
            "no database at {path}; run `signaldesk migrate` or `signaldesk serve` first"
        ));
    }
    db::connect(&config.database_url).map_err(|e| e.to_string())
}

fn check(config: &Config) -> ExitCode {
    let mut conn = match open_existing(config) {
        Ok(conn) => conn,
        Err(message) => {
            eprintln!("signaldesk: {message}");
            return ExitCode::FAILURE;
        }
    };
    match conn.has_pending_migration(db::MIGRATIONS) {
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
    let findings = match db::check::run_checks(&mut conn, config.initial_balance) {
        Ok(findings) => findings,
        Err(e) => {
            eprintln!("signaldesk: check failed to run: {e}");
            return ExitCode::FAILURE;
        }
    };
    for finding in &findings {
        let mark = if finding.ok { "ok  " } else { "FAIL" };
        println!("{mark}  {}: {}", finding.name, finding.detail);
    }
    let failed = findings.iter().filter(|f| !f.ok).count();
    if failed == 0 {
        println!("all {} invariants hold", findings.len() + 1);
        ExitCode::SUCCESS
    } else {
        println!("{failed} invariant(s) violated");
        ExitCode::FAILURE
    }
}

fn backup(config: &Config, file: &Path) -> Result<(), String> {
    let mut conn = open_existing(config)?;
    db::backup(&mut conn, file).map_err(|e| e.to_string())?;
    println!("backed up {} to {}", config.database_url, file.display());
    Ok(())
}

/// A `--from`/`--to` value: a date (from: its 00:00 UTC; to: inclusive) or an RFC 3339 time.
fn time_arg(name: &str, raw: &str, end_of_day: bool) -> Result<DateTime<Utc>, String> {
    if let Ok(date) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        let (start, end) = day_bounds(date);
        return Ok(if end_of_day { end } else { start }.and_utc());
    }
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("--{name} `{raw}` is not a date YYYY-MM-DD or an RFC 3339 time"))
}

fn backtest(config: &Config, args: &BacktestArgs) -> Result<(), String> {
    let symbol = normalize_symbol(&args.symbol).map_err(|e| format!("--symbol: {e}"))?;
    let timeframe = match &args.timeframe {
        Some(raw) => Timeframe::parse(raw).ok_or_else(|| {
            format!(
                "--timeframe `{raw}`: expected one of {}",
                TIMEFRAMES.join(", ")
            )
        })?,
        None => config.timeframe,
    };
    let dir = args
        .data
        .clone()
        .or_else(|| config.replay_dir.clone())
        .ok_or("no kline data: pass --data DIR or set SIGNALDESK_REPLAY_DIR to a folder of <SYMBOL>-1m.csv files")?;
    let file = dir.join(format!("{symbol}-1m.csv"));
    let minutes = read_klines(&file, &symbol).map_err(|e| e.to_string())?;
    let (Some(first), Some(last)) = (minutes.first(), minutes.last()) else {
        return Err(format!("{} has no candles", file.display()));
    };
    let from = match &args.from {
        Some(raw) => time_arg("from", raw, false)?,
        None => first.open_time,
    };
    let to = match &args.to {
        Some(raw) => time_arg("to", raw, true)?,
        None => last.open_time + chrono::Duration::minutes(1),
    };
    if from >= to {
        return Err("--from must be before --to".to_owned());
    }
    let spec = BacktestSpec {
        symbol,
        timeframe,
        from,
        to,
        rules: config.rules.clone(),
        initial_balance: config.initial_balance,
        database: args
            .database
            .as_ref()
            .map(|p| p.to_string_lossy().into_owned()),
    };
    let terminal = std::io::stderr().is_terminal();
    let started = std::time::Instant::now();
    let report = crate::backtest::run(&minutes, &spec, |done, total| {
        if terminal && total > 0 {
            let filled = done * 30 / total;
            eprint!(
                "\r  [{}{}] {:>3}% {done}/{total} candles",
                "#".repeat(filled),
                ".".repeat(30 - filled),
                done * 100 / total
            );
            if done == total {
                eprintln!();
            }
        }
    })
    .map_err(|e| e.to_string())?;
    let elapsed = started.elapsed();
    if let Some(path) = &args.csv {
        std::fs::write(path, trades_csv(&report))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        );
        return Ok(());
    }
    print_report(&report, &spec, elapsed);
    Ok(())
}

fn print_report(report: &BacktestReport, spec: &BacktestSpec, elapsed: std::time::Duration) {
    println!(
        "backtest {} {} {} → {} ({} one-minute candles in {:.2}s)",
        report.symbol,
        report.timeframe,
        spec.from.format("%Y-%m-%d %H:%M"),
        spec.to.format("%Y-%m-%d %H:%M"),
        report.candles,
        elapsed.as_secs_f64()
    );
    let shown = report.journal.len().saturating_sub(50);
    if shown > 0 {
        println!("… {shown} earlier trades (all of them with --csv FILE)");
    }
    for e in &report.journal[shown..] {
        println!(
            "  #{:<5} {:<5} {} → {}  {:>12.4} → {:>12.4}  {:<11} {:>+10.2} {:>+6.2}R",
            e.signal_id,
            e.direction.as_str(),
            e.opened_at.format("%Y-%m-%d %H:%M"),
            e.closed_at.format("%H:%M"),
            e.entry_price,
            e.exit_price,
            e.exit_reason.as_str(),
            e.pnl,
            e.r_multiple
        );
    }
    let pf = report
        .profit_factor
        .map_or("n/a (no losing trade)".to_owned(), |p| format!("{p:.2}"));
    println!("signals opened   {}", report.signals);
    println!(
        "trades closed    {} ({} still open at the end)",
        report.trades, report.open_at_end
    );
    println!(
        "win rate         {:.1}% ({} W / {} L)",
        report.win_rate, report.wins, report.losses
    );
    println!(
        "total pnl        {:+.2} ({:+.2}%), final balance {:.2}",
        report.total_pnl, report.total_pnl_pct, report.final_balance
    );
    println!(
        "max drawdown     {:.2} ({:.2}%)",
        report.max_drawdown, report.max_drawdown_pct
    );
    println!("profit factor    {pf}");
    println!("sharpe (daily)   {:.2}", report.sharpe);
    println!("average R        {:+.2}", report.average_r);
}

fn export(config: &Config, args: &ExportArgs) -> Result<(), String> {
    let table = match args.what.as_str() {
        "signals" => Table::Signals,
        "journal" => Table::Journal,
        "daily" => Table::Daily,
        other => {
            return Err(format!(
                "--what `{other}`: expected signals, journal or daily"
            ))
        }
    };
    let format = match args.format.as_str() {
        "csv" => Format::Csv,
        "json" => Format::Json,
        other => return Err(format!("--format `{other}`: expected csv or json")),
    };
    let from = match &args.from {
        Some(raw) => time_arg("from", raw, false)?.naive_utc(),
        None => EARLIEST,
    };
    let to = match &args.to {
        Some(raw) => time_arg("to", raw, true)?.naive_utc(),
        None => LATEST,
    };
    let mut conn = open_existing(config)?;
    let rows = match &args.output {
        Some(path) => {
            let file = std::fs::File::create(path)
                .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
            let mut out = std::io::BufWriter::new(file);
            crate::export::export(&mut conn, table, format, from, to, &mut out)
        }
        None => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            crate::export::export(&mut conn, table, format, from, to, &mut out)
        }
    }
    .map_err(|e| e.to_string())?;
    if let Some(path) = &args.output {
        eprintln!("exported {rows} rows to {}", path.display());
    }
    Ok(())
}

fn reset(config: &Config, yes: bool) -> Result<(), String> {
    let mut conn = open_existing(config)?;
    let path = db::sqlite_path(&config.database_url);
    let stamp = Utc::now().format("%Y%m%dT%H%M%SZ");
    let backup_path = PathBuf::from(format!("{path}.backup-{stamp}.db"));
    if !yes {
        return Err(format!(
            "reset deletes every signal, journal entry and daily row of {path} and starts a fresh account at {}; it backs the database up to {} first. Run again with --yes to do it.",
            config.initial_balance,
            backup_path.display()
        ));
    }
    db::backup(&mut conn, &backup_path).map_err(|e| e.to_string())?;
    conn.immediate_transaction(|conn| {
        diesel::sql_query("DELETE FROM journal_entries").execute(conn)?;
        diesel::sql_query("DELETE FROM signals").execute(conn)?;
        diesel::sql_query("DELETE FROM daily_stats").execute(conn)?;
        diesel::QueryResult::Ok(())
    })
    .map_err(|e| e.to_string())?;
    println!(
        "backed up {path} to {}; the paper account starts again at {}",
        backup_path.display(),
        config.initial_balance
    );
    Ok(())
}
