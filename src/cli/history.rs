//! The commands that read or rewrite the account's history: `backtest`, `export`, `reset`.

use std::io::IsTerminal;
use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Timelike, Utc};

use super::{open_existing, BacktestArgs, ExportArgs};
use crate::backtest::{trades_csv, BacktestReport, BacktestSpec, ManagementReport};
use crate::config::{target_list, Config, FeedKind, TIMEFRAMES};
use crate::db;
use crate::db::models::JournalEntryRow;
use crate::db::time::{EARLIEST, LATEST};
use crate::domain::format::price;
use crate::domain::market::Timeframe;
use crate::domain::time::day_bounds;
use crate::domain::Symbol;
use crate::export::{Format, Table};
use crate::feeds::replay::read_klines;
use crate::feeds::{AnyFeed, SimulatedFeed, SIMULATED_SEED};

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

pub fn backtest(config: &Config, args: &BacktestArgs) -> Result<(), String> {
    let symbol = Symbol::parse(&args.symbol).map_err(|e| format!("--symbol: {e}"))?;
    let timeframe = match &args.timeframe {
        Some(raw) => Timeframe::parse(raw).ok_or_else(|| {
            format!(
                "--timeframe `{raw}`: expected one of {}",
                TIMEFRAMES.join(", ")
            )
        })?,
        None => config.timeframe,
    };
    let from_arg = args
        .from
        .as_deref()
        .map(|raw| time_arg("from", raw, false))
        .transpose()?;
    let to_arg = args
        .to
        .as_deref()
        .map(|raw| time_arg("to", raw, true))
        .transpose()?;
    let minutes = match source(config, args)? {
        Source::Files(dir) => {
            let file = dir.join(format!("{symbol}-1m.csv"));
            read_klines(&file, symbol.as_str()).map_err(|e| e.to_string())?
        }
        Source::Simulated => {
            // The simulated market up to the last whole minute, the last 30 days by default.
            let now = Utc::now();
            let now = now - chrono::Duration::seconds(i64::from(now.second()));
            let to = to_arg.unwrap_or(now).min(now);
            let from = from_arg.unwrap_or(to - chrono::Duration::days(30));
            let start = SimulatedFeed::market_start();
            if to <= start {
                return Err(format!(
                    "the simulated market starts at {}; pick --from and --to after it",
                    start.format("%Y-%m-%d")
                ));
            }
            SimulatedFeed::new(SIMULATED_SEED).history(symbol.as_str(), from.max(start), to)
        }
        Source::Exchange(exchange) => {
            // The exchange's history, the last 30 days unless told otherwise.
            let now = Utc::now();
            let to = to_arg.unwrap_or(now - chrono::Duration::seconds(i64::from(now.second())));
            let from = from_arg.unwrap_or(to - chrono::Duration::days(30));
            fetch_history(&exchange, symbol.as_str(), from, to)?
        }
    };
    let (Some(first), Some(last)) = (minutes.first(), minutes.last()) else {
        return Err(format!("no candles for {symbol}"));
    };
    let from = from_arg.unwrap_or(first.open_time);
    let to = to_arg.unwrap_or(last.open_time + chrono::Duration::minutes(1));
    if from >= to {
        return Err("--from must be before --to".to_owned());
    }
    let mut rules = config.rules.clone();
    rules.management = args.management.over(&config.rules.management);
    let spec = BacktestSpec {
        symbol,
        timeframe,
        from,
        to,
        rules,
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
    if let Some(path) = &args.html {
        let html = crate::web::pages::analytics::backtest_html(
            &report,
            &spec,
            management_line(&report.management),
        )
        .map_err(|e| format!("cannot render the HTML report: {e}"))?;
        std::fs::write(path, html).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
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

/// Where a backtest's candles come from.
enum Source {
    /// A folder of `<SYMBOL>-1m.csv` kline files.
    Files(PathBuf),
    Simulated,
    /// The configuration with the exchange feed to read the history from.
    Exchange(Box<Config>),
}

/// `--data` (with `--feed replay` or none), else `--feed`, else the replay folder, else the
/// configured feed.
fn source(config: &Config, args: &BacktestArgs) -> Result<Source, String> {
    let feed = args
        .feed
        .as_deref()
        .map(|raw| FeedKind::parse(raw).map_err(|e| format!("--feed `{raw}`: {e}")))
        .transpose()?;
    if let Some(dir) = &args.data {
        return match feed {
            None | Some(FeedKind::Replay) => Ok(Source::Files(dir.clone())),
            Some(other) => Err(format!(
                "--data reads kline files; it cannot be combined with --feed {}",
                other.as_str()
            )),
        };
    }
    let kind = match (feed, &config.replay_dir) {
        (Some(kind), _) => kind,
        (None, Some(_)) => FeedKind::Replay,
        (None, None) => config.feed,
    };
    match kind {
        FeedKind::Replay => config.replay_dir.clone().map(Source::Files).ok_or_else(|| {
            "no kline data: pass --data DIR or set SIGNALDESK_REPLAY_DIR to a folder of \
             <SYMBOL>-1m.csv files, or use --feed simulated, bybit or binance"
                .to_owned()
        }),
        FeedKind::Simulated => Ok(Source::Simulated),
        FeedKind::Bybit | FeedKind::Binance => {
            let mut exchange = config.clone();
            if exchange.exchange_url.as_deref() == config.feed.default_exchange_url() {
                exchange.exchange_url = kind.default_exchange_url().map(str::to_owned);
            }
            exchange.feed = kind;
            Ok(Source::Exchange(Box::new(exchange)))
        }
    }
}

/// 1-minute candles of `[from, to)` from the configured exchange, 1 000 a request.
fn fetch_history(
    config: &Config,
    symbol: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<crate::domain::market::Candle>, String> {
    let feed = AnyFeed::from_config(config, Utc::now()).map_err(|e| e.to_string())?;
    let terminal = std::io::stderr().is_terminal();
    let progress = |fetched: usize| {
        if terminal {
            eprint!(
                "\r  fetched {fetched} candles from {}",
                config.feed.as_str()
            );
        }
    };
    let fetched = actix_web::rt::System::new().block_on(async {
        match &feed {
            AnyFeed::Bybit(exchange) => exchange.history(symbol, from, to, progress).await,
            AnyFeed::Binance(exchange) => exchange.history(symbol, from, to, progress).await,
            _ => Err(crate::feeds::FeedError::NoData(
                "only the bybit and binance feeds have a history".to_owned(),
            )),
        }
    });
    if terminal {
        eprintln!();
    }
    fetched.map_err(|e| {
        format!(
            "fetching {symbol} history from {}: {e}",
            config.feed.as_str()
        )
    })
}

/// One closed trade of the report; prices with their significant digits (issue 10). A trade
/// that left in several exits shows their average price, its last exit's reason and how many
/// exits it took.
fn trade_line(e: &JournalEntryRow) -> String {
    let exits = if e.exit_count > 1 {
        format!("  ({} exits)", e.exit_count)
    } else {
        String::new()
    };
    format!(
        "  #{:<5} {:<5} {} → {}  {:>12} → {:>12}  {:<15} {:>+10.2} {:>+6.2}R{exits}",
        e.signal_id,
        e.direction.as_str(),
        e.opened_at.format("%Y-%m-%d %H:%M"),
        e.closed_at.format("%H:%M"),
        price(e.entry_price),
        price(e.exit_price),
        e.exit_reason.as_str(),
        e.pnl,
        e.r_multiple
    )
}

/// The management line of the report: `off`, or each setting in force.
fn management_line(m: &ManagementReport) -> String {
    let mut parts = Vec::new();
    if !m.take_profits.is_empty() {
        parts.push(format!("take-profits {}", target_list(&m.take_profits)));
    }
    if let Some(r) = m.breakeven_at_r {
        parts.push(format!("breakeven at {r}R"));
    }
    if let Some(pct) = m.trailing_stop_pct {
        parts.push(format!(
            "trailing {pct}% from {}R",
            m.trailing_activate_at_r
        ));
    }
    if parts.is_empty() {
        "off".to_owned()
    } else {
        parts.join(", ")
    }
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
        println!("{}", trade_line(e));
    }
    let pf = report
        .profit_factor
        .map_or("n/a (no losing trade)".to_owned(), |p| format!("{p:.2}"));
    println!("management       {}", management_line(&report.management));
    println!("signals opened   {}", report.signals);
    println!(
        "trades closed    {} ({} still open at the end)",
        report.trades, report.open_at_end
    );
    println!(
        "exits            {} partial take-profits, {} stop moves",
        report.partial_exits, report.stop_moves
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

pub fn export(config: &Config, args: &ExportArgs) -> Result<(), String> {
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

pub fn reset(config: &Config, yes: bool) -> Result<(), String> {
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
    db::delete_account(&mut conn).map_err(|e| e.to_string())?;
    println!(
        "backed up {path} to {}; the paper account starts again at {}",
        backup_path.display(),
        config.initial_balance
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Direction, ExitReason, Outcome};

    #[test]
    fn a_report_line_shows_a_small_coins_move() {
        let opened = NaiveDate::from_ymd_opt(2026, 11, 25)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap();
        let entry = JournalEntryRow {
            id: 1,
            signal_id: 7,
            symbol: "PEPEUSDT".to_owned(),
            direction: Direction::Long,
            entry_price: 0.0024,
            exit_price: 0.002496,
            quantity: 40_000.0,
            pnl: 3.84,
            pnl_pct: 4.0,
            r_multiple: 2.0,
            outcome: Outcome::Win,
            exit_reason: ExitReason::TakeProfit,
            opened_at: opened,
            closed_at: opened + chrono::Duration::hours(1),
            duration_secs: 3_600,
            balance_after: 10_003.84,
            notes: None,
            tags: String::new(),
            created_at: opened,
            updated_at: opened,
            exit_count: 1,
        };
        let line = trade_line(&entry);
        assert!(line.contains("0.0024 →     0.002496"), "{line}");
        assert!(line.contains("+3.84"), "{line}");
    }
}
