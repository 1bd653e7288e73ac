//! `journal_entries`: the trading journal, one entry per closed trade. Entries are written by
//! [`super::signals::close_in_transaction`] in the transaction that closes the trade.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::models::{JournalEntryRow, NewJournalEntry};
use super::time::clamp_bound;
use super::Conn;
use crate::domain::time::day_bounds;

/// Insert one journal entry. The UNIQUE `signal_id` makes a second entry for a trade fail.
pub fn add_journal_entry(conn: &mut Conn, entry: &NewJournalEntry) -> QueryResult<JournalEntryRow> {
    use super::schema::journal_entries::dsl::*;
    diesel::insert_into(journal_entries)
        .values(entry)
        .returning(super::schema::journal_entries::all_columns)
        .get_result::<JournalEntryRow>(conn)
}

/// Entries of trades closed on the UTC day `day`, newest first (a range on `closed_at`).
pub fn get_journal_entries_today(
    conn: &mut Conn,
    day: NaiveDate,
) -> QueryResult<Vec<JournalEntryRow>> {
    use super::schema::journal_entries::dsl::*;
    let (start, end) = day_bounds(day);
    journal_entries
        .filter(closed_at.ge(start).and(closed_at.lt(end)))
        .order((closed_at.desc(), id.desc()))
        .select(JournalEntryRow::as_select())
        .load(conn)
}

/// The entry of one trade, if it has been closed.
pub fn for_signal(conn: &mut Conn, trade_id: i32) -> QueryResult<Option<JournalEntryRow>> {
    use super::schema::journal_entries::dsl::*;
    journal_entries
        .filter(signal_id.eq(trade_id))
        .select(JournalEntryRow::as_select())
        .first(conn)
        .optional()
}

/// Replace the user-editable notes and tags of an entry, in one write transaction with the
/// analytics rollups of its day when the tags changed (their tag buckets).
pub fn update_notes(
    conn: &mut Conn,
    entry_id: i32,
    new_notes: Option<&str>,
    new_tags: &str,
    now: NaiveDateTime,
) -> QueryResult<JournalEntryRow> {
    use super::schema::journal_entries::dsl::*;
    super::write_tx(conn, |conn| {
        let old_tags: String = journal_entries.find(entry_id).select(tags).first(conn)?;
        let entry = diesel::update(journal_entries.find(entry_id))
            .set((notes.eq(new_notes), tags.eq(new_tags), updated_at.eq(now)))
            .returning(super::schema::journal_entries::all_columns)
            .get_result::<JournalEntryRow>(conn)?;
        if old_tags != entry.tags {
            super::analytics::refresh_days(conn, &[entry.closed_at.date()])?;
        }
        Ok(entry)
    })
}

/// Filters of `GET /api/journal` and the journal page, all optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JournalFilter {
    pub symbol: Option<String>,
    pub outcome: Option<crate::domain::Outcome>,
    /// `closed_at >= from`
    pub from: Option<NaiveDateTime>,
    /// `closed_at < to`
    pub to: Option<NaiveDateTime>,
}

/// One page of journal entries, newest first, ids below `before_id` (keyset paging).
pub fn list_entries(
    conn: &mut Conn,
    filter: &JournalFilter,
    before_id: Option<i32>,
    limit: i64,
) -> QueryResult<Vec<JournalEntryRow>> {
    use super::schema::journal_entries::dsl::*;
    let mut query = journal_entries
        .select(JournalEntryRow::as_select())
        .into_boxed();
    if let Some(wanted) = &filter.symbol {
        query = query.filter(symbol.eq(wanted.clone()));
    }
    if let Some(wanted) = filter.outcome {
        query = query.filter(outcome.eq(wanted.as_str()));
    }
    if let Some(from) = filter.from {
        query = query.filter(closed_at.ge(clamp_bound(from)));
    }
    if let Some(to) = filter.to {
        query = query.filter(closed_at.lt(clamp_bound(to)));
    }
    if let Some(before) = before_id {
        query = query.filter(id.lt(before));
    }
    query.order(id.desc()).limit(limit).load(conn)
}

/// One entry by id; `diesel::NotFound` when there is none.
pub fn get_entry(conn: &mut Conn, entry_id: i32) -> QueryResult<JournalEntryRow> {
    use super::schema::journal_entries::dsl::*;
    journal_entries
        .find(entry_id)
        .select(JournalEntryRow::as_select())
        .first(conn)
}

/// Balance after each close in `[from, to)`, oldest first, at most `limit` points (the newest).
pub fn balance_points(
    conn: &mut Conn,
    from: NaiveDateTime,
    to: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<(NaiveDateTime, f64)>> {
    use super::schema::journal_entries::dsl::*;
    let (from, to) = (clamp_bound(from), clamp_bound(to));
    let mut points: Vec<(NaiveDateTime, f64)> = journal_entries
        .filter(closed_at.ge(from).and(closed_at.lt(to)))
        .order((closed_at.desc(), id.desc()))
        .select((closed_at, balance_after))
        .limit(limit)
        .load(conn)?;
    points.reverse();
    Ok(points)
}

/// Up to `limit` journal entries closed in `[from, to)` with ids above `after`, by id: one page
/// of a keyset walk through the whole journal (the export).
pub fn page_closed(
    conn: &mut Conn,
    after: i32,
    from: NaiveDateTime,
    to: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<JournalEntryRow>> {
    use super::schema::journal_entries::dsl::*;
    journal_entries
        .filter(id.gt(after))
        .filter(
            closed_at
                .ge(clamp_bound(from))
                .and(closed_at.lt(clamp_bound(to))),
        )
        .order(id.asc())
        .limit(limit)
        .select(JournalEntryRow::as_select())
        .load(conn)
}

/// Every journal entry, in the order the trades closed (ids are given at close).
pub fn all_entries(conn: &mut Conn) -> QueryResult<Vec<JournalEntryRow>> {
    use super::schema::journal_entries::dsl::*;
    journal_entries
        .order(id.asc())
        .select(JournalEntryRow::as_select())
        .load(conn)
}
