//! The database a bench measures: a SQLite file in a temporary folder (the default), or, when
//! `SIGNALDESK_BENCH_DATABASE_URL` names a PostgreSQL server (the URL of a role that may create
//! databases, e.g. `postgres://signaldesk:signaldesk@127.0.0.1:5432/postgres`), a fresh database
//! created on that server for one measurement and dropped after it (`signaldesk_bench_<pid>_<n>`;
//! a bench killed half-way leaves it behind, to drop by hand).

use diesel::connection::SimpleConnection;
use signaldesk::db::{self, Backend};

/// The environment variable that switches a bench to PostgreSQL.
pub const DATABASE_URL_VAR: &str = "SIGNALDESK_BENCH_DATABASE_URL";

/// A database made for one measurement, removed on drop.
pub struct BenchDb {
    url: String,
    /// Keeps the SQLite file's folder alive.
    _dir: Option<tempfile::TempDir>,
    /// The PostgreSQL server's admin URL and the database's name, dropped on drop.
    postgres: Option<(String, String)>,
}

/// The PostgreSQL server of `SIGNALDESK_BENCH_DATABASE_URL`, if set; a URL that is not
/// PostgreSQL's stops the bench rather than measuring the wrong backend.
fn postgres_server() -> Option<String> {
    let url = std::env::var(DATABASE_URL_VAR)
        .ok()
        .filter(|u| !u.trim().is_empty())?;
    assert!(
        Backend::of(&url) == Backend::Postgres,
        "{DATABASE_URL_VAR} must be a postgres:// URL (unset, the bench runs on SQLite)"
    );
    Some(url)
}

/// The backend the bench measures, for its header line.
pub fn backend() -> Backend {
    if postgres_server().is_some() {
        Backend::Postgres
    } else {
        Backend::Sqlite
    }
}

impl BenchDb {
    /// An empty database (not migrated yet) on the backend the environment picks.
    pub fn new() -> BenchDb {
        match postgres_server() {
            None => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = dir.path().join("bench.db").to_string_lossy().into_owned();
                BenchDb {
                    url,
                    _dir: Some(dir),
                    postgres: None,
                }
            }
            Some(admin_url) => {
                static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
                let name = format!(
                    "signaldesk_bench_{}_{}",
                    std::process::id(),
                    NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
                );
                let mut admin = db::connect(&admin_url).expect("connect to the PostgreSQL server");
                admin
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("create the bench database");
                BenchDb {
                    url: db::with_database(&admin_url, &name),
                    _dir: None,
                    postgres: Some((admin_url, name)),
                }
            }
        }
    }

    /// The `DATABASE_URL` of this database.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for BenchDb {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = &self.postgres {
            let dropped = db::connect(admin_url).and_then(|mut admin| {
                admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .map_err(db::DbError::from)
            });
            if let Err(e) = dropped {
                eprintln!("could not drop the bench database {name}: {e}");
            }
        }
    }
}
