//! `signaldesk convert-db` (DESIGN.md §9): copy a whole account from one database into an empty
//! database of either backend, ids included, then summarise both sides so the caller can compare
//! them. The source is read in one snapshot (SQLite: one deferred read transaction; PostgreSQL:
//! REPEATABLE READ), so a live database, with a server ticking on it, gives a consistent copy; the
//! target is written in one write transaction ([`super::write_tx`]), in batches of
//! [`BATCH_ROWS`], so it holds the whole copy or nothing.
//!
//! What is copied is the list in [`copied_tables!`]'s one invocation below: the account
//! (`signals`, `journal_entries`, `daily_stats`), which must be empty in the target, and the
//! state that goes with it (`quotes` and `candles`, the market data; `secrets` — the session
//! key, so the copied `sessions` stay valid — and `sessions`), whose rows in the target are
//! replaced. Per-process runtime state (`instances`, `leases`, `events`: which process runs, who
//! leads, what just happened) is not copied: it belongs to the processes running on the target
//! and starts afresh there ([`NOT_COPIED`]).

use std::path::PathBuf;

use diesel::prelude::*;
use diesel::sql_types::Text;

use super::models::{
    CandleRow, DailyStatsRow, JournalEntryRow, QuoteRow, SignalRow, StopMoveRow, TradeExitRow,
};
use super::secrets::SecretRow;
use super::sessions::SessionRow;
use super::{Backend, Conn, DbError};

/// Rows per INSERT: few statements for a large account, and few enough bound values for SQLite
/// (at most 32 766 per statement: 500 rows of up to 65 columns; signals has 26).
pub const BATCH_ROWS: i64 = 500;

/// Tables that hold per-process runtime state and are deliberately not copied.
pub const NOT_COPIED: &[&str] = &[
    "instances",
    "leases",
    "events",
    // The outbox: what the source announced is delivered by the source's sender; copied, a
    // pending message would go out twice.
    "notifications",
    // Derived data: rebuilt on the target from the copied rows, in the copy's transaction.
    "analytics_rollups",
    "derived_tables",
];

/// Whether the target must hold no rows of a table, or has them replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetRows {
    /// Part of the account: the target must be empty, or nothing is written.
    MustBeEmpty,
    /// State that goes with the account (quotes, keys, logins): the target's rows are deleted
    /// and the source's copied in the same transaction.
    Replaced,
}

/// Copy one table from `source` to `target` in key order, `BATCH_ROWS` at a time: `load` reads
/// the page after the given row, `insert` writes a page. Returns the rows copied.
fn copy_table<R>(
    source: &mut Conn,
    target: &mut Conn,
    mut load: impl FnMut(&mut Conn, Option<&R>) -> QueryResult<Vec<R>>,
    insert: impl Fn(&mut Conn, &[R]) -> QueryResult<usize>,
) -> QueryResult<i64> {
    let mut copied = 0_i64;
    let mut last: Option<R> = None;
    loop {
        let rows = load(source, last.as_ref())?;
        if rows.is_empty() {
            return Ok(copied);
        }
        insert(target, &rows)?;
        copied += i64::try_from(rows.len()).unwrap_or(i64::MAX);
        let full = rows.len() as i64 == BATCH_ROWS;
        last = rows.into_iter().last();
        if !full {
            return Ok(copied);
        }
    }
}

/// A page's order and its "after the last row" filter, by one key column or by a composite
/// primary key of three (`candles`), compared column by column.
macro_rules! keyset {
    (order $t:ident, ($a:ident, $b:ident, $c:ident)) => {
        ($t::$a.asc(), $t::$b.asc(), $t::$c.asc())
    };
    (order $t:ident, $key:ident) => {
        $t::$key.asc()
    };
    (after $t:ident, $row:ident, ($a:ident, $b:ident, $c:ident)) => {
        $t::$a
            .gt($row.$a.clone())
            .or($t::$a.eq($row.$a.clone()).and($t::$b.gt($row.$b.clone())))
            .or($t::$a
                .eq($row.$a.clone())
                .and($t::$b.eq($row.$b.clone()))
                .and($t::$c.gt($row.$c)))
    };
    (after $t:ident, $row:ident, $key:ident) => {
        $t::$key.gt($row.$key.clone())
    };
}

/// The copy list: `table: RowStruct by key_column, TargetRows;` — parents before children
/// (foreign keys are checked as each batch lands). The row struct must select every column
/// (a test holds each one to its table's columns); a table is one line here.
macro_rules! copied_tables {
    ($($table:ident: $row:ident by $key:tt, $target_rows:ident;)+) => {
        /// The tables `convert-db` copies, in copy order, and what it expects of the target.
        pub const COPIED_TABLES: &[(&str, TargetRows)] =
            &[$((stringify!($table), TargetRows::$target_rows)),+];

        /// Rows of every copied table, in copy order.
        pub fn count_rows(conn: &mut Conn) -> QueryResult<Vec<(&'static str, i64)>> {
            Ok(vec![$((
                stringify!($table),
                super::schema::$table::table.count().get_result::<i64>(conn)?,
            )),+])
        }

        /// Delete the target's rows of the tables whose rows the copy replaces.
        fn clear_replaced(conn: &mut Conn) -> QueryResult<()> {
            $(if TargetRows::$target_rows == TargetRows::Replaced {
                diesel::delete(super::schema::$table::table).execute(conn)?;
            })+
            Ok(())
        }

        fn copy_tables(
            source: &mut Conn,
            target: &mut Conn,
        ) -> QueryResult<Vec<(&'static str, i64)>> {
            let mut copied = Vec::new();
            $({
                use super::schema::$table::dsl as t;
                let rows = copy_table::<$row>(
                    source,
                    target,
                    |conn, after| {
                        let mut page = t::$table
                            .select($row::as_select())
                            .order(keyset!(order t, $key))
                            .limit(BATCH_ROWS)
                            .into_boxed();
                        if let Some(after) = after {
                            page = page.filter(keyset!(after t, after, $key));
                        }
                        page.load(conn)
                    },
                    // A many-row INSERT is each backend's own statement (diesel has none for
                    // the connection enum).
                    |conn, rows| match conn {
                        Conn::Sqlite(conn) => {
                            diesel::insert_into(t::$table).values(rows).execute(conn)
                        }
                        Conn::Postgres(conn) => {
                            diesel::insert_into(t::$table).values(rows).execute(conn)
                        }
                    },
                )?;
                log::info!("copied {rows} rows of {}", stringify!($table));
                copied.push((stringify!($table), rows));
            })+
            Ok(copied)
        }

        /// For each copied table: the SQL selecting its row struct and the SQL selecting every
        /// column, which must be the same.
        #[cfg(test)]
        fn row_struct_selects() -> Vec<(&'static str, String, String)> {
            use diesel::sqlite::Sqlite;
            vec![$((
                stringify!($table),
                diesel::debug_query::<Sqlite, _>(
                    &super::schema::$table::table.select($row::as_select()),
                )
                .to_string(),
                diesel::debug_query::<Sqlite, _>(
                    &super::schema::$table::table.select(super::schema::$table::all_columns),
                )
                .to_string(),
            )),+]
        }
    };
}

copied_tables! {
    signals: SignalRow by id, MustBeEmpty;
    journal_entries: JournalEntryRow by id, MustBeEmpty;
    trade_exits: TradeExitRow by id, MustBeEmpty;
    stop_moves: StopMoveRow by id, MustBeEmpty;
    daily_stats: DailyStatsRow by id, MustBeEmpty;
    quotes: QuoteRow by symbol, Replaced;
    candles: CandleRow by (symbol, timeframe, open_time), Replaced;
    secrets: SecretRow by name, Replaced;
    sessions: SessionRow by id, Replaced;
}

/// What both sides are compared on after a copy.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Rows of every copied table, in copy order.
    pub rows: Vec<(&'static str, i64)>,
    /// The latest daily_stats row's paper_balance (the account's balance), if there is a day.
    pub balance: Option<f64>,
    /// Σ journal_entries.pnl.
    pub journal_pnl: f64,
    pub active_signals: i64,
    pub closed_signals: i64,
}

/// The figures of [`Summary`], read in the caller's transaction.
pub fn summary(conn: &mut Conn) -> QueryResult<Summary> {
    let rows = count_rows(conn)?;
    let balance = super::daily_stats::latest(conn)?.map(|day| day.paper_balance);
    let journal_pnl: Option<f64> = {
        use super::schema::journal_entries::dsl::*;
        journal_entries.select(diesel::dsl::sum(pnl)).first(conn)?
    };
    let (active_signals, closed_signals) = {
        use super::schema::signals::dsl::*;
        (
            signals
                .filter(status.eq("ACTIVE"))
                .count()
                .get_result::<i64>(conn)?,
            signals
                .filter(status.eq("CLOSED"))
                .count()
                .get_result::<i64>(conn)?,
        )
    };
    Ok(Summary {
        rows,
        balance,
        journal_pnl: journal_pnl.unwrap_or(0.0),
        active_signals,
        closed_signals,
    })
}

/// One figure of both sides and whether they agree.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub what: String,
    pub source: String,
    pub target: String,
    pub ok: bool,
}

/// Sums agree within 1e-9 relative: SQLite and PostgreSQL may add the same values in a different
/// order. Balances are stored values and agree exactly.
fn sum_eq(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Every figure of `source` next to the same figure of `target`.
pub fn compare(source: &Summary, target: &Summary) -> Vec<Comparison> {
    let mut comparisons: Vec<Comparison> = source
        .rows
        .iter()
        .map(|(table, n)| {
            let copied = target
                .rows
                .iter()
                .find(|(t, _)| t == table)
                .map(|(_, n)| *n);
            Comparison {
                what: format!("{table} rows"),
                source: n.to_string(),
                target: copied.map_or_else(|| "missing".to_owned(), |n| n.to_string()),
                ok: copied == Some(*n),
            }
        })
        .collect();
    let show = |balance: Option<f64>| balance.map_or_else(|| "none".to_owned(), |b| b.to_string());
    comparisons.push(Comparison {
        what: "balance (latest daily_stats)".to_owned(),
        source: show(source.balance),
        target: show(target.balance),
        ok: source.balance == target.balance,
    });
    comparisons.push(Comparison {
        what: "sum of journal pnl".to_owned(),
        source: source.journal_pnl.to_string(),
        target: target.journal_pnl.to_string(),
        ok: sum_eq(source.journal_pnl, target.journal_pnl),
    });
    for (what, a, b) in [
        (
            "ACTIVE signals",
            source.active_signals,
            target.active_signals,
        ),
        (
            "CLOSED signals",
            source.closed_signals,
            target.closed_signals,
        ),
    ] {
        comparisons.push(Comparison {
            what: what.to_owned(),
            source: a.to_string(),
            target: b.to_string(),
            ok: a == b,
        });
    }
    comparisons
}

#[derive(QueryableByName)]
struct Identity {
    #[diesel(sql_type = Text)]
    text: String,
}

/// What names a database whatever URL reached it: SQLite's main file, canonicalised; for
/// PostgreSQL the server (its start time and port) and the database's oid.
fn identity(conn: &mut Conn) -> Result<String, DbError> {
    let sql = match conn.backend() {
        Backend::Sqlite => "SELECT file AS text FROM pragma_database_list WHERE name = 'main'",
        Backend::Postgres => {
            "SELECT pg_postmaster_start_time()::text || ' ' || \
             coalesce(inet_server_port()::text, 'socket') || ' ' || d.oid::text AS text \
             FROM pg_database d WHERE d.datname = current_database()"
        }
    };
    let text = diesel::sql_query(sql).get_result::<Identity>(conn)?.text;
    Ok(match conn.backend() {
        Backend::Sqlite => std::fs::canonicalize(&text)
            .unwrap_or_else(|_| PathBuf::from(&text))
            .to_string_lossy()
            .into_owned(),
        Backend::Postgres => text,
    })
}

/// Whether two connections reach the same database.
pub fn same_database(a: &mut Conn, b: &mut Conn) -> Result<bool, DbError> {
    Ok(a.backend() == b.backend() && identity(a)? == identity(b)?)
}

/// What [`copy_account`] copied, and both sides' figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Copied {
    /// Rows copied per table, in copy order.
    pub tables: Vec<(&'static str, i64)>,
    /// The source's figures, read in the snapshot that was copied.
    pub source: Summary,
    /// The target's figures, read after the commit.
    pub target: Summary,
}

/// Copy every table of [`COPIED_TABLES`] from `source` to the migrated `target`, ids included.
/// Refuses (`DbError::Refused`, naming the target as `target_name`) and writes nothing when the
/// target is the source or already holds an account. On PostgreSQL the id sequences continue
/// after the copied ids.
pub fn copy_account(
    source: &mut Conn,
    target: &mut Conn,
    target_name: &str,
) -> Result<Copied, DbError> {
    if same_database(source, target)? {
        return Err(DbError::Refused(format!(
            "{target_name} is the database being converted; choose another target"
        )));
    }
    source.transaction(|source| {
        if source.backend() == Backend::Postgres {
            // One snapshot for every page of every table, as SQLite's read transaction gives.
            diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(source)?;
        }
        let source_summary = summary(source)?;
        let tables = super::write_tx(target, |target| {
            refuse_an_account(target, target_name)?;
            clear_replaced(target)?;
            let tables = copy_tables(source, target)?;
            super::analytics::rebuild(target, crate::clock::now_utc(), |_, _| {})?;
            if target.backend() == Backend::Postgres {
                continue_sequences(target)?;
            }
            Ok::<_, DbError>(tables)
        })?;
        let target_summary = summary(target)?;
        Ok(Copied {
            tables,
            source: source_summary,
            target: target_summary,
        })
    })
}

/// Refuse a target that holds rows of the account.
fn refuse_an_account(target: &mut Conn, target_name: &str) -> Result<(), DbError> {
    let held: Vec<String> = count_rows(target)?
        .into_iter()
        .filter(|(table, n)| {
            *n > 0
                && COPIED_TABLES
                    .iter()
                    .any(|(t, rows)| t == table && *rows == TargetRows::MustBeEmpty)
        })
        .map(|(table, n)| format!("{n} {} in {table}", if n == 1 { "row" } else { "rows" }))
        .collect();
    if held.is_empty() {
        return Ok(());
    }
    Err(DbError::Refused(format!(
        "the target {target_name} is not empty ({}); convert-db only copies into an empty database, so nothing was written",
        held.join(", ")
    )))
}

#[derive(QueryableByName)]
struct SequenceColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

/// After inserting explicit ids, move each copied table's identity (or serial) sequence past
/// its largest id, so the next insert does not collide with a copied row.
fn continue_sequences(target: &mut Conn) -> QueryResult<()> {
    let columns: Vec<SequenceColumn> = diesel::sql_query(
        "SELECT table_name::text AS table_name, column_name::text AS column_name \
         FROM information_schema.columns \
         WHERE table_schema = current_schema() \
           AND (is_identity = 'YES' OR column_default LIKE 'nextval(%') \
         ORDER BY table_name, column_name",
    )
    .load(target)?;
    for column in columns {
        if !COPIED_TABLES.iter().any(|(t, _)| *t == column.table_name) {
            continue;
        }
        // The names come from the catalogue, not from input; quoted as identifiers anyway.
        let table = column.table_name.replace('"', "\"\"");
        let id = column.column_name.replace('"', "\"\"");
        diesel::sql_query(format!(
            "SELECT setval(pg_get_serial_sequence($1, $2), \
             coalesce((SELECT max(\"{id}\") FROM \"{table}\"), 0) + 1, false)"
        ))
        .bind::<Text, _>(format!("\"{table}\""))
        .bind::<Text, _>(&column.column_name)
        .execute(target)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_copied_row_struct_selects_every_column_of_its_table() {
        for (table, row_struct, all_columns) in row_struct_selects() {
            assert_eq!(row_struct, all_columns, "{table}");
        }
    }

    #[test]
    fn every_table_is_either_copied_or_named_as_not_copied() {
        let mut conn = Conn::establish(":memory:").unwrap();
        crate::db::run_migrations(&mut conn).unwrap();
        let tables: Vec<String> = diesel::sql_query(
            "SELECT name AS text FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name <> '__diesel_schema_migrations' ORDER BY name",
        )
        .load::<Identity>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|t| t.text)
        .collect();
        for table in &tables {
            assert!(
                COPIED_TABLES.iter().any(|(t, _)| t == table)
                    || NOT_COPIED.contains(&table.as_str()),
                "{table}: add it to copied_tables! in src/db/convert.rs, or to NOT_COPIED"
            );
        }
    }

    #[test]
    fn parents_are_copied_before_their_children() {
        let position = |name: &str| COPIED_TABLES.iter().position(|(t, _)| *t == name);
        assert!(position("signals") < position("journal_entries"));
    }

    #[test]
    fn a_difference_in_any_figure_is_reported() {
        let source = Summary {
            rows: vec![("signals", 3), ("journal_entries", 1)],
            balance: Some(10_050.0),
            journal_pnl: 50.0,
            active_signals: 2,
            closed_signals: 1,
        };
        assert!(compare(&source, &source.clone()).iter().all(|c| c.ok));
        let mut target = source.clone();
        target.rows[1].1 = 0;
        target.balance = Some(10_000.0);
        let failed: Vec<String> = compare(&source, &target)
            .into_iter()
            .filter(|c| !c.ok)
            .map(|c| c.what)
            .collect();
        assert_eq!(
            failed,
            ["journal_entries rows", "balance (latest daily_stats)"]
        );
    }
}
