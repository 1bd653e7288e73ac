//! The `secrets` table: the server's random keys (DESIGN.md §13), created on first start and
//! shared by every process on the database. The caller brings the random bytes; this module only
//! stores and reads them.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::secrets;
use super::Conn;

/// A stored key, as `convert-db` copies it.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = secrets, check_for_backend(crate::db::MultiBackend))]
pub struct SecretRow {
    pub name: String,
    pub value: Vec<u8>,
    pub created_at: NaiveDateTime,
}

/// The name of the key that signs browser sessions and their CSRF tokens.
pub const SESSION_KEY: &str = "session";

/// The key called `key`, stored as `candidate` if there is none yet. Race-free: of two processes
/// starting at once, one insert wins and both read the winner.
pub fn get_or_create(
    conn: &mut Conn,
    key: &str,
    candidate: &[u8],
    now: NaiveDateTime,
) -> QueryResult<Vec<u8>> {
    use super::schema::secrets::dsl::*;
    let row = (name.eq(key), value.eq(candidate), created_at.eq(now));
    // "Insert unless there is one" is each backend's own syntax.
    match conn {
        Conn::Sqlite(sqlite) => diesel::insert_or_ignore_into(secrets)
            .values(row)
            .execute(sqlite)?,
        Conn::Postgres(pg) => diesel::insert_into(secrets)
            .values(row)
            .on_conflict_do_nothing()
            .execute(pg)?,
    };
    secrets.filter(name.eq(key)).select(value).first(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_key_stored_is_the_one_every_caller_gets() {
        let mut conn = Conn::establish(":memory:").unwrap();
        crate::db::run_migrations(&mut conn).unwrap();
        let now = crate::clock::now_utc();
        let first = get_or_create(&mut conn, SESSION_KEY, &[1; 32], now).unwrap();
        let second = get_or_create(&mut conn, SESSION_KEY, &[2; 32], now).unwrap();
        assert_eq!(first, vec![1; 32]);
        assert_eq!(second, first, "a second start keeps the key");
        assert!(
            get_or_create(&mut conn, "short", &[3; 8], now).is_err(),
            "a key under 32 bytes is refused"
        );
    }
}
