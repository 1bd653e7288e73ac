//! The `sessions` table: one row per browser login (DESIGN.md §13). A row is what makes a signed
//! cookie valid: logout deletes it, expiry ends it, and expired rows are pruned when the next
//! session opens. Knows nothing about cookies or HTTP.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::sessions;
use super::Conn;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub id: String,
    pub token_fingerprint: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

/// Store a new session, pruning the expired ones in the same transaction.
pub fn open_session(conn: &mut Conn, row: &SessionRow) -> QueryResult<()> {
    use super::schema::sessions::dsl::*;
    super::write_tx(conn, |conn| {
        diesel::delete(sessions.filter(expires_at.le(row.created_at))).execute(conn)?;
        diesel::insert_into(sessions).values(row).execute(conn)?;
        Ok(())
    })
}

/// The session `session_id`, if it exists and has not expired at `now`.
pub fn live_session(
    conn: &mut Conn,
    session_id: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<SessionRow>> {
    use super::schema::sessions::dsl::*;
    sessions
        .filter(id.eq(session_id))
        .filter(expires_at.gt(now))
        .select(SessionRow::as_select())
        .first(conn)
        .optional()
}

/// End a session (logout); true if it existed.
pub fn close_session(conn: &mut Conn, session_id: &str) -> QueryResult<bool> {
    use super::schema::sessions::dsl::*;
    Ok(diesel::delete(sessions.filter(id.eq(session_id))).execute(conn)? > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn row(session_id: char, created: NaiveDateTime, days: i64) -> SessionRow {
        SessionRow {
            id: session_id.to_string().repeat(64),
            token_fingerprint: "f".to_owned(),
            created_at: created,
            expires_at: created + Duration::days(days),
        }
    }

    #[test]
    fn sessions_live_until_they_expire_or_close() {
        let mut conn = Conn::establish(":memory:").unwrap();
        crate::db::run_migrations(&mut conn).unwrap();
        let now = crate::clock::now_utc();
        let a = row('a', now, 7);
        open_session(&mut conn, &a).unwrap();
        assert_eq!(
            live_session(&mut conn, &a.id, now).unwrap(),
            Some(a.clone())
        );
        let later = now + Duration::days(8);
        assert_eq!(live_session(&mut conn, &a.id, later).unwrap(), None);
        assert!(close_session(&mut conn, &a.id).unwrap());
        assert_eq!(live_session(&mut conn, &a.id, now).unwrap(), None);
        assert!(!close_session(&mut conn, &a.id).unwrap());
    }

    #[test]
    fn opening_a_session_prunes_the_expired_ones() {
        let mut conn = Conn::establish(":memory:").unwrap();
        crate::db::run_migrations(&mut conn).unwrap();
        let now = crate::clock::now_utc();
        open_session(&mut conn, &row('a', now - Duration::days(10), 7)).unwrap();
        open_session(&mut conn, &row('b', now - Duration::days(1), 7)).unwrap();
        open_session(&mut conn, &row('c', now, 7)).unwrap();
        let left: Vec<String> = sessions::table
            .select(sessions::id)
            .order(sessions::id)
            .load(&mut conn)
            .unwrap();
        assert_eq!(left, ["b".repeat(64), "c".repeat(64)]);
    }
}
