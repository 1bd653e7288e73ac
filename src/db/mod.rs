//! The database: the only source of truth for signals, trades, the journal, the balance and the
//! daily statistics (DESIGN.md §1, §2). Owns the connection pool, the SQLite settings and the
//! embedded migrations; one file per table holds its queries. Depends on `domain`, never on
//! `web` or the engine.

pub mod check;
pub mod daily_stats;
pub mod intake;
pub mod journal;
pub mod models;
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

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ConnectionManager, CustomizeConnection, PooledConnection};
use diesel::sql_types::Text;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

/// The one connection type every query takes; the backend behind it is `db`'s business.
pub use diesel::SqliteConnection as Conn;

/// The SQLite migrations under `migrations/sqlite/`, compiled into the binary and run at start.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// How long a writer waits for another writer before giving up with "database is locked".
const BUSY_TIMEOUT_MS: u32 = 5_000;

pub type DbPool = r2d2::Pool<ConnectionManager<Conn>>;
pub type PooledConn = PooledConnection<ConnectionManager<Conn>>;

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

/// The settings every connection gets: foreign keys enforced, a busy timeout so a reader or a
/// second writer waits instead of failing, and full fsync so a committed close survives a crash.
fn configure(conn: &mut Conn) -> QueryResult<()> {
    conn.batch_execute(&format!(
        "PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}; PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;"
    ))
}

#[derive(Debug)]
struct ConnectionSettings;

impl CustomizeConnection<Conn, r2d2::Error> for ConnectionSettings {
    fn on_acquire(&self, conn: &mut Conn) -> Result<(), r2d2::Error> {
        configure(conn).map_err(r2d2::Error::QueryError)
    }
}

/// The file path of a `DATABASE_URL` (`data/x.db`, `sqlite://data/x.db` or `file:data/x.db`).
pub fn sqlite_path(database_url: &str) -> &str {
    database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .or_else(|| database_url.strip_prefix("file:"))
        .unwrap_or(database_url)
}

/// Open one connection with the signaldesk settings, creating the file and its folder.
pub fn connect(database_url: &str) -> Result<Conn, DbError> {
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
    let mut conn = Conn::establish(path).map_err(|source| DbError::Connect {
        url: database_url.to_owned(),
        source,
    })?;
    configure(&mut conn)?;
    // WAL is a property of the file: readers never block the writer, the writer never blocks
    // readers (DESIGN.md §6).
    conn.batch_execute("PRAGMA journal_mode = WAL;")?;
    Ok(conn)
}

/// Run `f` in one write transaction, committed when it returns `Ok`, rolled back otherwise. On
/// SQLite it is `BEGIN IMMEDIATE`: the write lock is taken up front, so concurrent writers queue
/// (behind the busy timeout) and a gate read inside `f` cannot be overtaken by another writer.
pub fn write_tx<T, E, F>(conn: &mut Conn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut Conn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    conn.immediate_transaction(f)
}

/// Run `f` in a savepoint of the write transaction the caller holds: an error rolls back what
/// `f` wrote, and the transaction goes on.
pub fn savepoint<T, F>(conn: &mut Conn, f: F) -> QueryResult<T>
where
    F: FnOnce(&mut Conn) -> QueryResult<T>,
{
    conn.transaction(f)
}

/// Apply every pending embedded migration; returns the versions applied.
pub fn run_migrations(conn: &mut Conn) -> Result<Vec<String>, DbError> {
    conn.run_pending_migrations(MIGRATIONS)
        .map(|versions| versions.iter().map(ToString::to_string).collect())
        .map_err(|e| DbError::Migration(e.to_string()))
}

/// Whether the database lacks migrations this binary embeds.
pub fn has_pending_migrations(conn: &mut Conn) -> Result<bool, DbError> {
    conn.has_pending_migration(MIGRATIONS)
        .map_err(|e| DbError::Migration(e.to_string()))
}

/// A round trip to the database: `Ok` while it answers queries.
pub fn ping(conn: &mut Conn) -> QueryResult<()> {
    conn.batch_execute("SELECT 1")
}

/// Delete every signal, journal entry and daily row, in one write transaction: the paper
/// account starts again (`signaldesk reset`, which backs the database up first).
pub fn delete_account(conn: &mut Conn) -> QueryResult<()> {
    write_tx(conn, |conn| {
        diesel::sql_query("DELETE FROM journal_entries").execute(conn)?;
        diesel::sql_query("DELETE FROM signals").execute(conn)?;
        diesel::sql_query("DELETE FROM daily_stats").execute(conn)?;
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
    let manager = ConnectionManager::<Conn>::new(sqlite_path(database_url));
    Ok(r2d2::Pool::builder()
        .max_size(max_size)
        .connection_timeout(Duration::from_secs(10))
        .connection_customizer(Box::new(ConnectionSettings))
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
    let target = target.to_string_lossy().into_owned();
    diesel::sql_query("VACUUM INTO ?")
        .bind::<Text, _>(target)
        .execute(conn)?;
    Ok(())
}
