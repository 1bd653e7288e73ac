//! The invariants of DESIGN.md §2, checked against the database by `signaldesk check` and by the
//! tests. Each check reads; none repairs.

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Nullable, Text};

use super::models::DailyStatsRow;
use super::{Backend, Conn};

/// One invariant and whether the database keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub name: &'static str,
    pub ok: bool,
    /// What was measured, or what is wrong.
    pub detail: String,
}

impl Finding {
    fn new(name: &'static str, ok: bool, detail: String) -> Self {
        Finding { name, ok, detail }
    }
}

/// Money compared within 1e-6 relative (DESIGN.md §2).
fn money_eq(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Total {
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = Nullable<Double>)]
    sum: Option<f64>,
}

#[derive(QueryableByName)]
struct DayCount {
    #[diesel(sql_type = Text)]
    day: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    text: String,
}

fn count(conn: &mut Conn, sql: &str) -> QueryResult<i64> {
    diesel::sql_query(sql)
        .get_result::<Count>(conn)
        .map(|c| c.n)
}

/// The storage's own consistency: SQLite's `quick_check` and foreign keys; on PostgreSQL, which
/// enforces foreign keys itself, that no constraint is left unvalidated.
fn integrity(conn: &mut Conn) -> QueryResult<Finding> {
    Ok(match conn.backend() {
        Backend::Sqlite => {
            let integrity: Vec<String> =
                diesel::sql_query("SELECT quick_check AS text FROM pragma_quick_check")
                    .load::<Line>(conn)?
                    .into_iter()
                    .map(|l| l.text)
                    .collect();
            let foreign = count(conn, "SELECT COUNT(*) AS n FROM pragma_foreign_key_check")?;
            Finding::new(
                "SQLite integrity and foreign keys",
                integrity == ["ok"] && foreign == 0,
                format!(
                    "quick_check: {}; {foreign} foreign key violations",
                    integrity.join("; ")
                ),
            )
        }
        Backend::Postgres => {
            let unvalidated = count(
                conn,
                "SELECT COUNT(*) AS n FROM pg_constraint c \
                 JOIN pg_namespace n ON n.oid = c.connamespace \
                 WHERE n.nspname = current_schema() AND NOT c.convalidated",
            )?;
            Finding::new(
                "PostgreSQL constraints validated",
                unvalidated == 0,
                format!("{unvalidated} constraints not validated"),
            )
        }
    })
}

/// The stored candles (DESIGN.md §11) as `domain::market::Candle::new` accepts them: prices
/// within 1e-12..=1e12, the open and close inside the high/low, a finite volume that is not
/// negative, a timeframe signaldesk knows. The table's CHECK constraints say the same; this
/// catches rows that bypassed them (a file edited with the constraints off, an old copy).
fn candles(conn: &mut Conn) -> QueryResult<Finding> {
    let total = count(conn, "SELECT COUNT(*) AS n FROM candles")?;
    let bad = count(
        conn,
        "SELECT COUNT(*) AS n FROM candles WHERE NOT (\
         low >= 1e-12 AND high <= 1e12 AND low <= open AND low <= close \
         AND open <= high AND close <= high \
         AND volume >= 0 AND volume <= 1.7976931348623157e308 \
         AND timeframe IN ('1m', '5m', '15m', '1h', '4h', '1d'))",
    )?;
    Ok(Finding::new(
        "candles: low > 0, open and close within low..high, a finite volume",
        bad == 0,
        format!("{total} candles, {bad} malformed"),
    ))
}

/// The analytics rollups (derived data, DESIGN.md §11) against a recomputation from the closed
/// trades: every (day, dimension, bucket) the same counts, streaks, and money within 1e-9.
fn rollups(conn: &mut Conn) -> QueryResult<Finding> {
    let name = "analytics rollups = recomputation from the closed trades";
    if super::analytics::needs_rebuild(conn)? {
        return Ok(Finding::new(
            name,
            false,
            "the rollups were never built: run `signaldesk rebuild`".to_owned(),
        ));
    }
    let wrong = super::analytics::verify(conn)?;
    let detail = match wrong.first() {
        None => "every rollup matches".to_owned(),
        Some(((span, day, dim, bucket), stored, raw)) => format!(
            "{} rollups disagree, first {} {day} {} {bucket:?}: stored {stored:?}, recomputed {raw:?}; \
             `signaldesk rebuild` recomputes them",
            wrong.len(),
            span.as_str(),
            dim.as_str()
        ),
    };
    Ok(Finding::new(name, wrong.is_empty(), detail))
}

/// Run every invariant inside one read transaction, so they all see the same snapshot. The
/// initial balance is the account's own (its first day's opening balance); `configured` serves
/// only an account that has no day yet.
pub fn run_checks(conn: &mut Conn, configured: f64) -> QueryResult<Vec<Finding>> {
    conn.transaction(|conn| {
        if conn.backend() == Backend::Postgres {
            // One snapshot for every statement, as SQLite's read transaction gives.
            diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ").execute(conn)?;
        }
        let mut findings = Vec::new();
        let initial_balance = super::daily_stats::initial_balance(conn, configured)?;

        let closed: Total = diesel::sql_query(
            "SELECT COUNT(*) AS n, SUM(pnl) AS sum FROM signals WHERE status = 'CLOSED'",
        )
        .get_result(conn)?;
        let exited: Total =
            diesel::sql_query("SELECT COUNT(*) AS n, SUM(pnl) AS sum FROM trade_exits")
                .get_result(conn)?;
        let exits_pnl = exited.sum.unwrap_or(0.0);
        let days: Vec<DailyStatsRow> = {
            use super::schema::daily_stats::dsl::*;
            daily_stats
                .order(date.asc())
                .select(DailyStatsRow::as_select())
                .load(conn)?
        };
        let balance = days.last().map_or(initial_balance, |d| d.paper_balance);
        let expected = initial_balance + exits_pnl;
        findings.push(Finding::new(
            "balance = initial_balance + sum of every exit's pnl",
            money_eq(balance, expected),
            format!(
                "balance {balance:.8}, initial {initial_balance:.8} + pnl of {} exits {exits_pnl:.8} = {expected:.8}",
                exited.n
            ),
        ));

        // 1e-6 relative, as money_eq, in SQL both backends speak.
        let differs = |a: &str, b: &str| {
            format!(
                "abs(({a}) - ({b})) > 1e-6 * (CASE WHEN abs({a}) > 1.0 THEN abs({a}) ELSE 1.0 END)"
            )
        };
        #[derive(QueryableByName)]
        struct Id {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            id: i32,
        }
        let unsummed: Vec<i32> = diesel::sql_query(format!(
            "SELECT s.id FROM signals s LEFT JOIN (SELECT signal_id, SUM(pnl) AS pnl, \
             SUM(quantity) AS quantity FROM trade_exits GROUP BY signal_id) x \
             ON x.signal_id = s.id \
             WHERE (s.status = 'CLOSED' AND (x.pnl IS NULL OR {})) \
                OR {} \
                OR s.remaining_quantity < 0 \
                OR {} \
             ORDER BY s.id",
            differs("s.pnl", "x.pnl"),
            differs("s.realized_pnl", "COALESCE(x.pnl, 0.0)"),
            differs("s.remaining_quantity", "s.quantity - COALESCE(x.quantity, 0.0)"),
        ))
        .load::<Id>(conn)?
        .into_iter()
        .map(|row| row.id)
        .collect();
        findings.push(Finding::new(
            "each signal's exits: a CLOSED signal's pnl = Σ its exits; realized_pnl = Σ its exits; remaining_quantity = quantity − Σ exited ≥ 0",
            unsummed.is_empty(),
            format!(
                "{} exits; {} signals disagree with their exits{}",
                exited.n,
                unsummed.len(),
                if unsummed.is_empty() {
                    String::new()
                } else {
                    let ids: Vec<String> = unsummed.iter().take(10).map(i32::to_string).collect();
                    format!(" (ids {})", ids.join(", "))
                }
            ),
        ));

        let missing = count(
            conn,
            "SELECT COUNT(*) AS n FROM signals s WHERE s.status = 'CLOSED' \
             AND NOT EXISTS (SELECT 1 FROM journal_entries j WHERE j.signal_id = s.id)",
        )?;
        findings.push(Finding::new(
            "every CLOSED signal has a journal entry",
            missing == 0,
            format!("{} closed, {missing} without a journal entry", closed.n),
        ));

        let stray = count(
            conn,
            "SELECT COUNT(*) AS n FROM journal_entries j JOIN signals s ON s.id = j.signal_id \
             WHERE s.status <> 'CLOSED'",
        )?;
        findings.push(Finding::new(
            "no journal entry for a signal that is not CLOSED",
            stray == 0,
            format!("{stray} journal entries for ACTIVE or CANCELLED signals"),
        ));

        let mismatched = count(
            conn,
            &format!(
                "SELECT COUNT(*) AS n FROM journal_entries j JOIN signals s ON s.id = j.signal_id \
                 WHERE {} OR j.exit_count <> \
                   (SELECT COUNT(*) FROM trade_exits x WHERE x.signal_id = s.id)",
                differs("j.pnl", "s.pnl")
            ),
        )?;
        let booked_trades: i64 = days.iter().map(|d| i64::from(d.trades_closed)).sum();
        let booked_pnl: f64 = days.iter().map(|d| d.realized_pnl).sum();
        findings.push(Finding::new(
            "each close booked exactly once, each exit's pnl once",
            mismatched == 0 && booked_trades == closed.n && money_eq(booked_pnl, exits_pnl),
            format!(
                "daily_stats booked {booked_trades} closes and {booked_pnl:.8} pnl; signals hold {} closes and their exits {exits_pnl:.8}; {mismatched} journal entries disagree with their signal or its exit count",
                closed.n
            ),
        ));

        let backend = conn.backend();
        let day_of = |column: &str| match backend {
            Backend::Sqlite => format!("substr({column}, 1, 10)"),
            Backend::Postgres => format!("to_char({column}, 'YYYY-MM-DD')"),
        };
        #[derive(QueryableByName)]
        struct DayPnl {
            #[diesel(sql_type = Text)]
            day: String,
            #[diesel(sql_type = Double)]
            pnl: f64,
        }
        let exit_days: BTreeMap<String, f64> = diesel::sql_query(format!(
            "SELECT {} AS day, SUM(pnl) AS pnl FROM trade_exits GROUP BY 1",
            day_of("created_at")
        ))
        .load::<DayPnl>(conn)?
        .into_iter()
        .map(|d| (d.day, d.pnl))
        .collect();
        let wrong_pnl_days: Vec<String> = days
            .iter()
            .filter(|d| {
                let booked = exit_days.get(&d.date.to_string()).copied().unwrap_or(0.0);
                !money_eq(d.realized_pnl, booked)
            })
            .map(|d| d.date.to_string())
            .chain(
                exit_days
                    .keys()
                    .filter(|day| !days.iter().any(|d| d.date.to_string() == **day))
                    .cloned(),
            )
            .collect();
        findings.push(Finding::new(
            "daily_stats.realized_pnl = Σ pnl of that day's exits",
            wrong_pnl_days.is_empty(),
            if wrong_pnl_days.is_empty() {
                format!("{} days with exits agree", exit_days.len())
            } else {
                format!("days that disagree: {}", wrong_pnl_days.join(", "))
            },
        ));

        let created: BTreeMap<String, i64> = diesel::sql_query(format!(
            "SELECT {} AS day, COUNT(*) AS n FROM signals GROUP BY 1",
            day_of("created_at")
        ))
        .load::<DayCount>(conn)?
        .into_iter()
        .map(|d| (d.day, d.n))
        .collect();
        let mut counted: BTreeMap<String, i64> = days
            .iter()
            .map(|d| (d.date.to_string(), i64::from(d.signals_generated)))
            .collect();
        counted.retain(|_, n| *n != 0);
        let wrong_days: Vec<String> = created
            .keys()
            .chain(counted.keys())
            .filter(|day| created.get(*day) != counted.get(*day))
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        findings.push(Finding::new(
            "daily_stats.signals_generated = signals created that day",
            wrong_days.is_empty(),
            if wrong_days.is_empty() {
                format!("{} days with signals agree", created.len())
            } else {
                format!("days that disagree: {}", wrong_days.join(", "))
            },
        ));

        let mut chain_breaks = Vec::new();
        let mut previous_close = initial_balance;
        for day in &days {
            if !money_eq(day.starting_balance, previous_close)
                || !money_eq(day.paper_balance, day.starting_balance + day.realized_pnl)
            {
                chain_breaks.push(day.date.to_string());
            }
            previous_close = day.paper_balance;
        }
        findings.push(Finding::new(
            "each day starts from the previous day's closing balance",
            chain_breaks.is_empty(),
            if chain_breaks.is_empty() {
                format!("{} days chained from {initial_balance}", days.len())
            } else {
                format!("days that break the chain: {}", chain_breaks.join(", "))
            },
        ));

        findings.push(candles(conn)?);
        findings.push(rollups(conn)?);
        findings.push(integrity(conn)?);

        Ok(findings)
    })
}
