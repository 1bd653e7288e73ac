//! The two backends behind one connection type (DESIGN.md §9): SQLite, the embedded default (a
//! file path), and PostgreSQL (`postgres://` or `postgresql://`), chosen by the `DATABASE_URL`'s
//! scheme. Queries are written once against [`Conn`] (diesel's `MultiConnection`: the SQL types
//! both backends share, `RETURNING`, no `ON CONFLICT`); what differs between the backends —
//! connection settings, write locking, migrations, a few SQL functions — is matched here and in
//! the query fns, never outside `db/`.

/// A connection to either backend.
#[derive(diesel::MultiConnection)]
pub enum Conn {
    Postgres(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// Which backend a `DATABASE_URL` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// `postgres://…` and `postgresql://…` are PostgreSQL; anything else is a SQLite path.
    pub fn of(database_url: &str) -> Backend {
        let lower = database_url.trim_start().to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl Conn {
    /// The backend of this connection.
    pub fn backend(&self) -> Backend {
        match self {
            Conn::Postgres(_) => Backend::Postgres,
            Conn::Sqlite(_) => Backend::Sqlite,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_picks_the_backend() {
        let cases = [
            ("postgres://u:p@localhost/signaldesk", Backend::Postgres),
            ("postgresql://localhost/signaldesk", Backend::Postgres),
            ("POSTGRES://localhost/x", Backend::Postgres),
            ("data/signaldesk.db", Backend::Sqlite),
            ("sqlite://data/signaldesk.db", Backend::Sqlite),
            ("postgres.db", Backend::Sqlite),
            (":memory:", Backend::Sqlite),
        ];
        for (url, backend) in cases {
            assert_eq!(Backend::of(url), backend, "{url}");
        }
    }
}
