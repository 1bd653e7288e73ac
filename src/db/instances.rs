//! `instances`: the running instances and the engine's status (DESIGN.md §9). Every instance
//! keeps its row's heartbeat; the leader writes what its last tick and scan found (the feed, the
//! trades it could not book, the scan's results) there after each. Every instance's health,
//! stats and dashboard read the engine's status from here, so they agree whichever instance
//! answers. The lists are JSON text; `status.rs` turns rows into its types.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::instances;
use super::Conn;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(
    table_name = instances,
    check_for_backend(crate::db::MultiBackend),
    treat_none_as_null = true
)]
pub struct InstanceRow {
    pub id: String,
    pub hostname: String,
    pub pid: i32,
    pub started_at: NaiveDateTime,
    pub heartbeat_at: NaiveDateTime,
    pub is_leader: bool,
    pub last_tick_at: Option<NaiveDateTime>,
    pub last_tick_ms: Option<f64>,
    pub last_ok_at: Option<NaiveDateTime>,
    pub tick_error: Option<String>,
    pub ticks: i64,
    pub failed_ticks: i64,
    pub feed_source: String,
    /// `ok`, `degraded` or `down`.
    pub feed_status: String,
    pub feed_error: Option<String>,
    pub feed_updated_at: Option<NaiveDateTime>,
    /// JSON array of the trades the last tick could not book.
    pub booking_failures: String,
    pub booking_failures_total: i64,
    pub scanned_at: Option<NaiveDateTime>,
    pub scans: i64,
    pub failed_scans: i64,
    pub scan_error: Option<String>,
    /// JSON array of the last scan's result per symbol.
    pub scan_results: String,
}

/// Write `row` whole: this instance's heartbeat and status. Update, then insert when the row is
/// missing (the first write, or after a leader pruned it), inside the caller's write transaction.
pub fn store(conn: &mut Conn, row: &InstanceRow) -> QueryResult<()> {
    let changed = diesel::update(instances::table.find(&row.id))
        .set(row)
        .execute(conn)?;
    if changed == 0 {
        diesel::insert_into(instances::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

/// Mark who leads: `leader` alone has `is_leader`.
pub fn set_leader(conn: &mut Conn, leader: &str) -> QueryResult<()> {
    diesel::update(instances::table)
        .set(instances::is_leader.eq(instances::id.eq(leader)))
        .execute(conn)?;
    Ok(())
}

/// Every instance's row, the most recent heartbeat first.
pub fn all(conn: &mut Conn) -> QueryResult<Vec<InstanceRow>> {
    instances::table
        .order((instances::heartbeat_at.desc(), instances::id.asc()))
        .select(InstanceRow::as_select())
        .load(conn)
}

/// The engine's status as the instance that ticked last saw it (normally the leader).
pub fn last_ticked(conn: &mut Conn) -> QueryResult<Option<InstanceRow>> {
    instances::table
        .filter(instances::last_tick_at.is_not_null())
        .order((instances::last_tick_at.desc(), instances::id.asc()))
        .select(InstanceRow::as_select())
        .first(conn)
        .optional()
}

/// Forget instances whose heartbeat stopped before `before` (they died without a clean stop).
pub fn prune(conn: &mut Conn, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(instances::table.filter(instances::heartbeat_at.lt(before))).execute(conn)
}

/// Remove instance `id`'s row (its clean stop).
pub fn remove(conn: &mut Conn, id: &str) -> QueryResult<()> {
    diesel::delete(instances::table.find(id)).execute(conn)?;
    Ok(())
}
