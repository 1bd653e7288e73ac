//! The database: the only source of truth for signals, trades, the journal, the balance and the
//! daily statistics (DESIGN.md §1, §2). Owns the connection pool, each backend's settings and
//! embedded migrations (`backend`); one file per table holds its queries. Depends on `domain`, never on
//! `web` or the engine.

pub mod analytics;
mod batch;
pub mod candles;
pub mod check;
pub mod convert;
pub mod daily_stats;
pub mod events;
pub mod exits;
pub mod instances;
pub mod intake;
pub mod journal;
pub mod leases;
pub mod models;
pub mod notifications;
pub mod overview;
pub mod quotes;
pub mod schema;
pub mod secrets;
pub mod sessions;
pub mod signals;
pub mod time;
mod types;

use std::path::{Path, PathBuf};
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{self, R2D2Connection};
use diesel::sql_types::Text;
use diesel::{PgConnection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

mod backend;
pub use backend::{Backend, Conn, MultiBackend};

/// The SQLite migrations under `migrations/sqlite/`, compiled into the binary and run at start.
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
/// The PostgreSQL migrations under `migrations/postgres/`: the same tables, constraints and
/// indexes in PostgreSQL's types.
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// How long a writer waits for another writer before giving up: SQLite's "database is
/// locked", PostgreSQL's lock timeout.
const BUSY_TIMEOUT_MS: u32 = 5_000;
/// PostgreSQL ends a session that sits this long inside a transaction without a statement: an
/// instance paused (or cut off) mid-transaction would otherwise hold the write lock, and stop
/// every instance writing, until it woke. signaldesk's transactions never wait between
/// statements (a tick polls before it begins its transaction).
const IDLE_IN_TRANSACTION_MS: u32 = 15_000;

/// The PostgreSQL advisory lock every write transaction takes first, so writers run one at a
/// time as they do on SQLite (`BEGIN IMMEDIATE`): a gate read inside the transaction cannot be
/// overtaken by another instance's write.
pub const WRITE_LOCK: i64 = 0x5349_474e_4445_534b; // "SIGNDESK"
/// The PostgreSQL advisory lock held while migrations run, so instances starting at once
/// migrate one after the other.
const MIGRATION_LOCK: i64 = 0x5349_474e_4d49_4752; // "SIGNMIGR"

pub type DbPool = r2d2::Pool<Manager>;
pub type PooledConn = r2d2::PooledConnection<Manager>;

/// Failures outside a single query: opening, pooling, migrating, copying.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot create the database folder {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open database {url}: {source}")]
    Connect {
        url: String,
        source: diesel::ConnectionError,
    },
    #[error("database connection pool: {0}")]
    Pool(#[from] r2d2::PoolError),
    #[error("running migrations: {0}")]
    Migration(String),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
    #[error("{0}")]
    Refused(String),
}

/// The settings every connection gets. SQLite: foreign keys enforced, a busy timeout so a second
/// writer waits instead of failing, full fsync so a committed close survives a crash, and a page
/// cache of up to [`SQLITE_CACHE_KIB`] (SQLite's default is 2 MiB: at a million trades the
/// analytics' scatter lookups and the rollups of a year read from the OS three times slower).
/// PostgreSQL: a lock timeout of the same length, UTC as the session's time zone, and an end to
/// transactions left idle ([`IDLE_IN_TRANSACTION_MS`]).
/// Each SQLite connection's page cache, KiB: filled as pages are read, so a small database
/// never uses it; 8 pooled connections hold at most 256 MiB.
const SQLITE_CACHE_KIB: u32 = 32 * 1024;

fn configure(conn: &mut Conn) -> QueryResult<()> {
    match conn {
        Conn::Sqlite(conn) => conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}; PRAGMA foreign_keys = ON; \
             PRAGMA synchronous = FULL; PRAGMA cache_size = -{SQLITE_CACHE_KIB};"
        )),
        Conn::Postgres(conn) => conn.batch_execute(&format!(
            "SET lock_timeout = {BUSY_TIMEOUT_MS}; SET TIME ZONE 'UTC'; \
             SET idle_in_transaction_session_timeout = {IDLE_IN_TRANSACTION_MS};"
        )),
    }
}

/// The file path of a SQLite `DATABASE_URL` (`data/x.db`, `sqlite://data/x.db`, `file:data/x.db`).
pub fn sqlite_path(database_url: &str) -> &str {
    database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .or_else(|| database_url.strip_prefix("file:"))
        .unwrap_or(database_url)
}

/// A connection to the backend the URL names (no settings applied yet).
fn establish(database_url: &str) -> ConnectionResult<Conn> {
    match Backend::of(database_url) {
        Backend::Postgres => PgConnection::establish(database_url).map(Conn::Postgres),
        Backend::Sqlite => SqliteConnection::establish(sqlite_path(database_url)).map(Conn::Sqlite),
    }
}

/// Opens the pool's connections on the backend of its URL, with the signaldesk settings.
#[derive(Debug)]
pub struct Manager {
    url: String,
}

impl r2d2::ManageConnection for Manager {
    type Connection = Conn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<Conn, r2d2::Error> {
        let mut conn = establish(&self.url).map_err(r2d2::Error::ConnectionError)?;
        configure(&mut conn).map_err(r2d2::Error::QueryError)?;
        Ok(conn)
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), r2d2::Error> {
        conn.ping().map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

/// Open one connection with the signaldesk settings; for SQLite, create the file and its folder.
pub fn connect(database_url: &str) -> Result<Conn, DbError> {
    if Backend::of(database_url) == Backend::Sqlite {
        let path = sqlite_path(database_url);
        if let Some(dir) = Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(|source| DbError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
    }
    let mut conn = establish(database_url).map_err(|source| DbError::Connect {
        url: redact(database_url),
        source,
    })?;
    configure(&mut conn)?;
    if let Conn::Sqlite(sqlite) = &mut conn {
        // WAL is a property of the file: readers never block the writer, the writer never
        // blocks readers (DESIGN.md §6).
        sqlite.batch_execute("PRAGMA journal_mode = WAL;")?;
    }
    Ok(conn)
}

/// The PostgreSQL URL `url` with its database name replaced by `name`, its parameters kept:
/// another database on the same server, as the tests and benchmarks make their own.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

/// A `DATABASE_URL` fit for a log line or an error: a PostgreSQL password is masked.
pub fn redact(database_url: &str) -> String {
    let Some((scheme, rest)) = database_url.split_once("://") else {
        return database_url.to_owned();
    };
    match rest.split_once('@') {
        Some((credentials, host)) => match credentials.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:****@{host}"),
            None => database_url.to_owned(),
        },
        None => database_url.to_owned(),
    }
}

/// Run `f` in one write transaction, committed when it returns `Ok`, rolled back otherwise.
/// Writers run one at a time, so a gate read inside `f` cannot be overtaken by another writer:
/// on SQLite the transaction is `BEGIN IMMEDIATE` (the write lock taken up front, writers queue
/// behind the busy timeout); on PostgreSQL it takes the advisory lock [`WRITE_LOCK`] first.
pub fn write_tx<T, E, F>(conn: &mut Conn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut Conn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    match conn {
        // As diesel's SqliteConnection::immediate_transaction, on the connection enum.
        Conn::Sqlite(_) => begun_with(conn, "BEGIN IMMEDIATE", f),
        Conn::Postgres(_) => conn.transaction(|conn| {
            diesel::sql_query(format!("SELECT pg_advisory_xact_lock({WRITE_LOCK})"))
                .execute(conn)?;
            f(conn)
        }),
    }
}

/// Run `f` in a transaction begun with `begin` (SQL that opens a transaction, with whatever
/// mode or settings it needs), committed when `f` returns `Ok`, rolled back otherwise. The
/// connection's transaction manager tracks it, so savepoints inside work as usual.
pub(crate) fn begun_with<T, E, F>(conn: &mut Conn, begin: &str, f: F) -> Result<T, E>
where
    F: FnOnce(&mut Conn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    match conn {
        Conn::Sqlite(sqlite) => AnsiTransactionManager::begin_transaction_sql(sqlite, begin)?,
        Conn::Postgres(pg) => AnsiTransactionManager::begin_transaction_sql(pg, begin)?,
    }
    match f(conn) {
        Ok(value) => {
            <Conn as TransactionManager<Conn>>::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            <Conn as TransactionManager<Conn>>::rollback_transaction(conn)?;
            Err(e)
        }
    }
}

/// Run `f` in a savepoint of the write transaction the caller holds: an error rolls back what
/// `f` wrote, and the transaction goes on.
pub fn savepoint<T, F>(conn: &mut Conn, f: F) -> QueryResult<T>
where
    F: FnOnce(&mut Conn) -> QueryResult<T>,
{
    conn.transaction(f)
}

/// Run `f`, a single statement, inside the caller's write transaction so that its failure
/// leaves that transaction usable: SQLite undoes a failed statement by itself and goes on;
/// PostgreSQL aborts the whole transaction on any error, so there the statement runs in a
/// savepoint.
pub fn single_statement<T, F>(conn: &mut Conn, f: F) -> QueryResult<T>
where
    F: FnOnce(&mut Conn) -> QueryResult<T>,
{
    match conn.backend() {
        Backend::Sqlite => f(conn),
        Backend::Postgres => savepoint(conn, f),
    }
}

/// Apply every pending embedded migration of the connection's backend; returns the versions
/// applied. On PostgreSQL, instances starting at once take turns ([`MIGRATION_LOCK`]).
pub fn run_migrations(conn: &mut Conn) -> Result<Vec<String>, DbError> {
    fn versions<V: ToString>(
        applied: Result<Vec<V>, Box<dyn std::error::Error + Send + Sync>>,
    ) -> Result<Vec<String>, DbError> {
        applied
            .map(|versions| versions.iter().map(ToString::to_string).collect())
            .map_err(|e| DbError::Migration(e.to_string()))
    }
    let applied = match conn {
        Conn::Sqlite(conn) => versions(conn.run_pending_migrations(SQLITE_MIGRATIONS)),
        Conn::Postgres(conn) => {
            conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))?;
            let applied = versions(conn.run_pending_migrations(POSTGRES_MIGRATIONS));
            conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))?;
            applied
        }
    }?;
    build_derived_tables(conn)?;
    Ok(applied)
}

/// Fill the derived tables a migration created over existing rows (`derived_tables` marks
/// them), so a migrated database is complete whether the embedded run or `diesel migration
/// run` created them: one write transaction that checks the mark again inside, so instances
/// starting at once build them once.
fn build_derived_tables(conn: &mut Conn) -> Result<(), DbError> {
    if !analytics::needs_rebuild(conn)? {
        return Ok(());
    }
    write_tx(conn, |conn| {
        if analytics::needs_rebuild(conn)? {
            let rows = analytics::rebuild(conn, crate::clock::now_utc(), |_, _| {})?;
            log::info!("analytics rollups built from the closed trades: {rows} rows");
        }
        Ok::<_, diesel::result::Error>(())
    })?;
    Ok(())
}

/// Whether the database lacks migrations this binary embeds.
pub fn has_pending_migrations(conn: &mut Conn) -> Result<bool, DbError> {
    match conn {
        Conn::Sqlite(conn) => conn.has_pending_migration(SQLITE_MIGRATIONS),
        Conn::Postgres(conn) => conn.has_pending_migration(POSTGRES_MIGRATIONS),
    }
    .map_err(|e| DbError::Migration(e.to_string()))
}

/// A round trip to the database: `Ok` while it answers queries.
pub fn ping(conn: &mut Conn) -> QueryResult<()> {
    conn.batch_execute("SELECT 1")
}

/// Delete every signal, exit, stop move, journal entry and daily row, in one write transaction: the paper
/// account starts again (`signaldesk reset`, which backs the database up first).
pub fn delete_account(conn: &mut Conn) -> QueryResult<()> {
    write_tx(conn, |conn| {
        diesel::sql_query("DELETE FROM journal_entries").execute(conn)?;
        diesel::sql_query("DELETE FROM trade_exits").execute(conn)?;
        diesel::sql_query("DELETE FROM stop_moves").execute(conn)?;
        diesel::sql_query("DELETE FROM signals").execute(conn)?;
        diesel::sql_query("DELETE FROM daily_stats").execute(conn)?;
        diesel::sql_query("DELETE FROM analytics_rollups").execute(conn)?;
        // The streams' announcements of what was just deleted.
        diesel::sql_query("DELETE FROM events").execute(conn)?;
        Ok(())
    })
}

/// Open the database, run pending migrations, and build the connection pool.
pub fn open_pool(database_url: &str, max_size: u32) -> Result<DbPool, DbError> {
    let mut conn = connect(database_url)?;
    let applied = run_migrations(&mut conn)?;
    if !applied.is_empty() {
        log::info!("applied migrations: {}", applied.join(", "));
    }
    drop(conn);
    let manager = Manager {
        url: database_url.to_owned(),
    };
    Ok(r2d2::Pool::builder()
        .max_size(max_size)
        .connection_timeout(Duration::from_secs(10))
        .build(manager)?)
}

/// A consistent copy of the live database at `target`, taken with `VACUUM INTO` inside one
/// read transaction, so writers carry on while it runs. Refuses to overwrite an existing file.
pub fn backup(conn: &mut Conn, target: &Path) -> Result<(), DbError> {
    if target.exists() {
        return Err(DbError::Refused(format!(
            "{} already exists; choose a new file name",
            target.display()
        )));
    }
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| DbError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    let Conn::Sqlite(sqlite) = conn else {
        return Err(DbError::Refused(
            "backup copies a SQLite database; for PostgreSQL use pg_dump".to_owned(),
        ));
    };
    let target = target.to_string_lossy().into_owned();
    diesel::sql_query("VACUUM INTO ?")
        .bind::<Text, _>(target)
        .execute(sqlite)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_database_on_the_same_server_keeps_the_credentials_and_parameters() {
        assert_eq!(
            with_database("postgres://u:p@h:5432/postgres?sslmode=disable", "x"),
            "postgres://u:p@h:5432/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
    }

    #[test]
    fn a_postgres_password_never_reaches_a_log_line() {
        let cases = [
            (
                "postgres://desk:s3cret@db.example:5432/signaldesk",
                "postgres://desk:****@db.example:5432/signaldesk",
            ),
            (
                "postgres://desk@localhost/signaldesk",
                "postgres://desk@localhost/signaldesk",
            ),
            ("data/signaldesk.db", "data/signaldesk.db"),
        ];
        for (url, shown) in cases {
            assert_eq!(redact(url), shown);
            assert!(!redact(url).contains("s3cret"));
        }
    }
}
