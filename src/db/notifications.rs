//! The notification outbox (DESIGN.md §12): [`enqueue`] writes a notification's rows, one per
//! target, inside the caller's transaction — the one that makes the change it announces; the
//! sender takes each target's oldest pending row when it is due ([`due`]) and books the outcome
//! ([`mark_sent`], [`mark_failed`]). A row's `target` is the target's masked name: no secret is
//! stored.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::notifications;
use super::Conn;
use crate::domain::notify::Event;

pub const PENDING: &str = "PENDING";
pub const SENT: &str = "SENT";
pub const FAILED: &str = "FAILED";

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = notifications, check_for_backend(crate::db::MultiBackend))]
pub struct NotificationRow {
    pub id: i32,
    pub target: String,
    pub event: String,
    pub dedupe_key: String,
    pub payload: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
}

/// Queue `event` (named `dedupe_key`, e.g. `trade_closed:42`) with `payload` for each of
/// `targets`, due at once; a target that already has this `dedupe_key` keeps its row. Returns the
/// rows written.
pub fn enqueue(
    conn: &mut Conn,
    targets: &[String],
    event: Event,
    dedupe_key: &str,
    payload: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let rows: Vec<NewNotification> = targets
        .iter()
        .map(|target| NewNotification {
            target: target.clone(),
            event,
            dedupe_key: dedupe_key.to_owned(),
            payload: payload.to_owned(),
            at: now,
        })
        .collect();
    enqueue_rows(conn, &rows)
}

/// One row for [`enqueue_rows`].
#[derive(Debug, Clone)]
pub struct NewNotification {
    pub target: String,
    pub event: Event,
    pub dedupe_key: String,
    pub payload: String,
    pub at: NaiveDateTime,
}

/// Queue `rows` (due at once) in one statement; a (target, dedupe_key) already queued keeps its
/// row. Returns the rows written.
pub fn enqueue_rows(conn: &mut Conn, rows: &[NewNotification]) -> QueryResult<usize> {
    use notifications::dsl as n;
    if rows.is_empty() {
        return Ok(0);
    }
    let values: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                n::target.eq(&r.target),
                n::event.eq(r.event.as_str()),
                n::dedupe_key.eq(&r.dedupe_key),
                n::payload.eq(&r.payload),
                n::status.eq(PENDING),
                n::attempts.eq(0),
                n::next_attempt_at.eq(r.at),
                n::created_at.eq(r.at),
            )
        })
        .collect();
    // "Insert unless there is one" is each backend's own syntax.
    match conn {
        Conn::Sqlite(sqlite) => diesel::insert_or_ignore_into(n::notifications)
            .values(&values)
            .execute(sqlite),
        Conn::Postgres(pg) => diesel::insert_into(n::notifications)
            .values(&values)
            .on_conflict_do_nothing()
            .execute(pg),
    }
}

/// Each target's oldest pending notification, when it is due at `now`: a target's messages go
/// out in the order they were queued, a later one waiting while an earlier one backs off.
pub fn due(conn: &mut Conn, now: NaiveDateTime) -> QueryResult<Vec<NotificationRow>> {
    use notifications::dsl as n;
    let heads: Vec<Option<i32>> = n::notifications
        .filter(n::status.eq(PENDING))
        .group_by(n::target)
        .select(diesel::dsl::min(n::id))
        .load(conn)?;
    let heads: Vec<i32> = heads.into_iter().flatten().collect();
    n::notifications
        .filter(n::id.eq_any(heads))
        .filter(n::next_attempt_at.le(now))
        .order(n::id.asc())
        .select(NotificationRow::as_select())
        .load(conn)
}

/// Claim rows `ids` for delivery: none is due again before `until` (the sender's claim, past
/// the longest a delivery takes), so no other sender takes them meanwhile.
pub fn claim(conn: &mut Conn, ids: &[i32], until: NaiveDateTime) -> QueryResult<usize> {
    use notifications::dsl as n;
    if ids.is_empty() {
        return Ok(0);
    }
    diesel::update(
        n::notifications
            .filter(n::id.eq_any(ids))
            .filter(n::status.eq(PENDING)),
    )
    .set(n::next_attempt_at.eq(until))
    .execute(conn)
}

/// Whether `dedupe_key` was queued for `target` (the UNIQUE index answers it).
pub fn queued(conn: &mut Conn, target: &str, dedupe_key: &str) -> QueryResult<bool> {
    use notifications::dsl as n;
    diesel::select(diesel::dsl::exists(
        n::notifications
            .filter(n::target.eq(target))
            .filter(n::dedupe_key.eq(dedupe_key)),
    ))
    .get_result(conn)
}

/// The latest of `events` queued for any target, if one was.
pub fn latest_of(conn: &mut Conn, events: &[Event]) -> QueryResult<Option<String>> {
    use notifications::dsl as n;
    let names: Vec<&str> = events.iter().map(|e| e.as_str()).collect();
    n::notifications
        .filter(n::event.eq_any(names))
        .order(n::id.desc())
        .select(n::event)
        .first(conn)
        .optional()
}

/// Notification `id` was delivered.
pub fn mark_sent(conn: &mut Conn, id: i32, now: NaiveDateTime) -> QueryResult<()> {
    use notifications::dsl as n;
    diesel::update(n::notifications.find(id).filter(n::status.eq(PENDING)))
        .set((
            n::status.eq(SENT),
            n::attempts.eq(n::attempts + 1),
            n::sent_at.eq(Some(now)),
        ))
        .execute(conn)
        .map(drop)
}

/// Delivery of `id` failed with `error`: tried again at `retry_at`, or `FAILED` when `None`
/// (its attempts are used up, or the target refuses it for good).
pub fn mark_failed(
    conn: &mut Conn,
    id: i32,
    error: &str,
    retry_at: Option<NaiveDateTime>,
) -> QueryResult<()> {
    use notifications::dsl as n;
    let pending = n::notifications.find(id).filter(n::status.eq(PENDING));
    let error = Some(error.chars().take(500).collect::<String>());
    match retry_at {
        Some(at) => diesel::update(pending)
            .set((
                n::attempts.eq(n::attempts + 1),
                n::next_attempt_at.eq(at),
                n::last_error.eq(error),
            ))
            .execute(conn),
        None => diesel::update(pending)
            .set((
                n::status.eq(FAILED),
                n::attempts.eq(n::attempts + 1),
                n::last_error.eq(error),
            ))
            .execute(conn),
    }
    .map(drop)
}

/// One target's outbox, for `/api/health` and `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetSummary {
    pub target: String,
    pub pending: i64,
    pub sent: i64,
    pub failed: i64,
    /// Pending rows that have failed at least once: the target is failing right now.
    pub retrying: i64,
    /// The last error of the most recent row that has one.
    pub last_error: Option<String>,
    /// That row's id: which target's error is the latest of all.
    pub last_error_id: Option<i32>,
}

/// Every target's counts by status and its latest error, by target.
pub fn summary(conn: &mut Conn) -> QueryResult<Vec<TargetSummary>> {
    use notifications::dsl as n;
    let counts: Vec<(String, String, i64)> = n::notifications
        .group_by((n::target, n::status))
        .select((n::target, n::status, diesel::dsl::count_star()))
        .order((n::target.asc(), n::status.asc()))
        .load(conn)?;
    let retrying: Vec<(String, i64)> = n::notifications
        .filter(n::status.eq(PENDING))
        .filter(n::attempts.gt(0))
        .group_by(n::target)
        .select((n::target, diesel::dsl::count_star()))
        .load(conn)?;
    let mut out: Vec<TargetSummary> = Vec::new();
    for (target, status, count) in counts {
        if out.last().is_none_or(|s| s.target != target) {
            let last: Option<(i32, Option<String>)> = n::notifications
                .filter(n::target.eq(&target))
                .filter(n::last_error.is_not_null())
                .order(n::id.desc())
                .select((n::id, n::last_error))
                .first(conn)
                .optional()?;
            out.push(TargetSummary {
                target: target.clone(),
                last_error_id: last.as_ref().map(|(id, _)| *id),
                last_error: last.and_then(|(_, error)| error),
                ..TargetSummary::default()
            });
        }
        if let Some(s) = out.last_mut() {
            match status.as_str() {
                PENDING => s.pending = count,
                SENT => s.sent = count,
                _ => s.failed = count,
            }
        }
    }
    for (target, count) in retrying {
        if let Some(s) = out.iter_mut().find(|s| s.target == target) {
            s.retrying = count;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::Connection;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    fn conn() -> Conn {
        let mut conn = Conn::establish(":memory:").unwrap();
        crate::db::run_migrations(&mut conn).unwrap();
        conn
    }

    #[test]
    fn a_dedupe_key_is_queued_once_per_target() {
        let mut conn = conn();
        let targets = [
            "telegram:****:1".to_owned(),
            "webhook:http://a/****".to_owned(),
        ];
        let now = at("2026-12-02 10:00:00");
        let first = enqueue(
            &mut conn,
            &targets,
            Event::TradeClosed,
            "trade_closed:7",
            "{}",
            now,
        );
        assert_eq!(first.unwrap(), 2);
        let again = enqueue(
            &mut conn,
            &targets,
            Event::TradeClosed,
            "trade_closed:7",
            "{}",
            now,
        );
        assert_eq!(
            again.unwrap(),
            0,
            "a retried transaction queues nothing twice"
        );
        assert_eq!(due(&mut conn, now).unwrap().len(), 2);
    }

    #[test]
    fn a_target_sends_in_order_and_a_failure_holds_its_later_rows() {
        let mut conn = conn();
        let (a, b) = ("a".to_owned(), "b".to_owned());
        let now = at("2026-12-02 10:00:00");
        for key in ["k1", "k2"] {
            enqueue(
                &mut conn,
                &[a.clone(), b.clone()],
                Event::SignalOpened,
                key,
                key,
                now,
            )
            .unwrap();
        }
        let heads = due(&mut conn, now).unwrap();
        let shown: Vec<(&str, &str)> = heads
            .iter()
            .map(|r| (r.target.as_str(), r.dedupe_key.as_str()))
            .collect();
        assert_eq!(shown, [("a", "k1"), ("b", "k1")]);
        // a's first fails and backs off a minute; b's is sent.
        let later = at("2026-12-02 10:01:00");
        mark_failed(&mut conn, heads[0].id, "HTTP 502", Some(later)).unwrap();
        mark_sent(&mut conn, heads[1].id, now).unwrap();
        let heads = due(&mut conn, now).unwrap();
        let shown: Vec<(&str, &str)> = heads
            .iter()
            .map(|r| (r.target.as_str(), r.dedupe_key.as_str()))
            .collect();
        assert_eq!(shown, [("b", "k2")], "a's k2 waits behind its k1");
        let retried = due(&mut conn, later).unwrap();
        assert_eq!(retried[0].dedupe_key, "k1");
        assert_eq!(retried[0].attempts, 1);
        // Given up: FAILED with its error, and a's next row goes out.
        mark_failed(&mut conn, retried[0].id, "HTTP 400: chat not found", None).unwrap();
        let heads = due(&mut conn, later).unwrap();
        assert_eq!(heads[0].target, "a");
        assert_eq!(heads[0].dedupe_key, "k2");
        let counts = summary(&mut conn).unwrap();
        assert_eq!(
            counts[0],
            TargetSummary {
                target: "a".into(),
                pending: 1,
                sent: 0,
                failed: 1,
                retrying: 0,
                last_error: Some("HTTP 400: chat not found".into()),
                last_error_id: Some(retried[0].id),
            }
        );
        assert_eq!((counts[1].sent, counts[1].pending), (1, 1));
        // A row already settled is not settled again.
        mark_sent(&mut conn, retried[0].id, later).unwrap();
        assert_eq!(summary(&mut conn).unwrap()[0].failed, 1);
    }
}
