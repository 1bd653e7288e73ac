//! `events`: what any instance did, in commit order, for every instance's `/api/events`
//! (DESIGN.md §9). A signal's opening and a trade's close are recorded in their own write
//! transaction, a tick right after it; writers take turns (`write_tx`), so ids are assigned in
//! commit order and a reader that asks for the ids above the last it saw misses none. Rows carry
//! only ids: the stream reads the payload when it sends it.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::events;
use super::Conn;
use crate::events::Event;

#[derive(Insertable)]
#[diesel(table_name = events)]
struct NewEvent<'a> {
    kind: &'a str,
    signal_id: Option<i32>,
    created_at: NaiveDateTime,
}

/// Record `event`, inside the caller's write transaction.
pub fn record(conn: &mut Conn, event: Event, at: NaiveDateTime) -> QueryResult<()> {
    let (kind, signal_id) = match event {
        Event::Tick => ("tick", None),
        Event::SignalOpened(id) => ("signal_opened", Some(id)),
        Event::TradeClosed(id) => ("trade_closed", Some(id)),
    };
    diesel::insert_into(events::table)
        .values(NewEvent {
            kind,
            signal_id,
            created_at: at,
        })
        .execute(conn)?;
    Ok(())
}

/// The id of the latest event, 0 when there is none yet.
pub fn latest_id(conn: &mut Conn) -> QueryResult<i32> {
    events::table
        .select(diesel::dsl::max(events::id))
        .first::<Option<i32>>(conn)
        .map(Option::unwrap_or_default)
}

/// Up to `limit` events after id `after`, oldest first, each with its id.
pub fn after(conn: &mut Conn, after: i32, limit: i64) -> QueryResult<Vec<(i32, Event)>> {
    let rows: Vec<(i32, String, Option<i32>)> = events::table
        .filter(events::id.gt(after))
        .order(events::id.asc())
        .limit(limit)
        .select((events::id, events::kind, events::signal_id))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, kind, signal_id)| {
            let event = match (kind.as_str(), signal_id) {
                ("signal_opened", Some(signal)) => Event::SignalOpened(signal),
                ("trade_closed", Some(signal)) => Event::TradeClosed(signal),
                ("tick", _) => Event::Tick,
                _ => return None,
            };
            Some((id, event))
        })
        .collect())
}

/// Forget events recorded before `before`: streams only ever ask for recent ones.
pub fn prune(conn: &mut Conn, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(events::table.filter(events::created_at.lt(before))).execute(conn)
}
